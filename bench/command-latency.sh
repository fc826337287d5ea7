#!/usr/bin/env bash
# Command latency end to end (issue "Proof", docs/PERFORMANCE.md): RUNS commands typed into
# hagios run's terminal chat against a real private Nagios 4, each timed until "confirmed by
# Nagios", split into hagios' own time and Nagios' status.dat cadence. Release build.
#   bench/command-latency.sh [RUNS]     default 40
set -euo pipefail
cd "$(dirname "$0")/.."
HAGIOS_LATENCY_RUNS="${1:-40}" HAGIOS_REQUIRE_REAL=1 cargo bench -q -p hagios --bench command_latency
