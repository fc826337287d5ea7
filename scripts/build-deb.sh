#!/usr/bin/env bash
# Builds the Debian package target/debian/hagios_VERSION_amd64.deb (docs/debian.md): the release
# `hagios`, the static `hagios-notify` (`cargo build-notify`), then cargo-deb with the metadata of
# crates/hagios/Cargo.toml, told not to build (it would build `hagios` alone, and dynamically).
# Arguments go to cargo-deb (e.g. `--output DIR`). Prints the package's path on stdout.
# Needs cargo-deb (scripts/install-deps.sh --tests installs the version the metadata is written for).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! cargo deb --version >/dev/null 2>&1; then
    echo "build-deb: cargo-deb is missing: scripts/install-deps.sh --tests" >&2
    exit 1
fi
cargo build --release -p hagios --bin hagios
cargo build-notify
cargo deb -p hagios --no-build "$@"
