#!/usr/bin/env bash
# The test command: installs the real Nagios the integration tests start (and the Debian package
# tools), then runs every test.
# Set HAGIOS_REQUIRE_REAL=1 (CI does) to make a missing Nagios a failure instead of a skip.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh --tests
exec cargo test --workspace --all-targets "$@"
