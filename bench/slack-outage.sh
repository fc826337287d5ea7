#!/usr/bin/env bash
# The long Slack outage run (issue "Proof", docs/RELIABILITY.md): hagios run against a real
# private Nagios and the fake Slack, which answers every Web API call with 429, then with 500,
# then hangs up Socket Mode and refuses it — each for SECONDS while ALERTS alerts per outage are
# raised. It is the CI test crates/hagios/tests/slack_outage.rs with longer outages; it fails
# unless every alert is in Slack exactly once afterwards and the bot hears chat again.
#   bench/slack-outage.sh [SECONDS] [ALERTS]     defaults: 120 50
set -euo pipefail
cd "$(dirname "$0")/.."
export HAGIOS_OUTAGE_SECS="${1:-120}" HAGIOS_OUTAGE_ALERTS="${2:-50}" HAGIOS_REQUIRE_REAL=1
cargo test -q -p hagios --test slack_outage --no-run
start=$(date +%s)
cargo test -q -p hagios --test slack_outage -- --nocapture 2>&1 | grep -E '^outage|test result|panicked'
echo "slack outage: finished in $(( $(date +%s) - start )) s"
