#!/usr/bin/env bash
# Command latency end to end (docs/PERFORMANCE.md): RUNS commands typed into hagios run's
# terminal chat against a real private Nagios 4 writing status.dat every INTERVAL seconds, each
# timed until its final word ("confirmed by Nagios"), split into hagios' own time and Nagios'.
# Release build.
#   bench/command-latency.sh [RUNS] [INTERVAL]     defaults 40 and 1 (Debian ships 10)
set -euo pipefail
cd "$(dirname "$0")/.."
HAGIOS_LATENCY_RUNS="${1:-40}" HAGIOS_LATENCY_STATUS_INTERVAL="${2:-1}" HAGIOS_REQUIRE_REAL=1 cargo bench -q -p hagios --bench command_latency
