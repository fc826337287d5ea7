#!/usr/bin/env bash
# The large chaos run (issue "Proof", docs/RELIABILITY.md): a storm of ALERTS notifications in the
# split deployment (hagios agent + hagios bot over mutual TLS, a real private Nagios, the fake
# Slack), with KILLS kill -9s of the bot and the agent at random moments. It is the CI test
# crates/hagios/tests/chaos.rs at a larger scale; it fails unless every alert is in Slack exactly once.
#   bench/chaos.sh [ALERTS] [KILLS] [SEED]     defaults: 2000 30, a fresh seed
set -euo pipefail
cd "$(dirname "$0")/.."
export HAGIOS_CHAOS_ALERTS="${1:-2000}" HAGIOS_CHAOS_KILLS="${2:-30}" HAGIOS_REQUIRE_REAL=1
[ -n "${3:-}" ] && export HAGIOS_CHAOS_SEED="$3"
cargo test -q -p hagios --test chaos --no-run
start=$(date +%s)
cargo test -q -p hagios --test chaos -- --nocapture 2>&1 | grep -E '^chaos:|test result|panicked'
echo "chaos: finished in $(( $(date +%s) - start )) s"
