#!/usr/bin/env bash
# Installs what hagios' demo and tests run against, when it is missing: the Debian packages of a
# real Nagios Core 4 and Icinga 2, Prometheus scraping /metrics, and python3-venv (the Matrix
# tests install Synapse from PyPI into a venv). With --tests also what only the tests need:
# cargo-deb, which builds the Debian package (docs/debian.md), lintian, which checks it, and
# what its test uses to install and verify it (adduser for its postinst, systemd-analyze).
# Needs root or sudo for the Debian packages; does nothing when everything is there.
set -euo pipefail

packages=(nagios4-core monitoring-plugins-basic icinga2-bin icinga2-common curl python3-venv prometheus)
if [ "${1:-}" = --tests ]; then
    packages+=(lintian adduser systemd)
    # Pinned: the package's metadata (crates/hagios/Cargo.toml) is written for this version.
    CARGO_DEB_VERSION=3.8.0
    if [ "$(cargo deb --version 2>/dev/null)" != "cargo-deb $CARGO_DEB_VERSION" ]; then
        echo "install-deps: installing cargo-deb $CARGO_DEB_VERSION" >&2
        cargo install --quiet --locked cargo-deb --version "$CARGO_DEB_VERSION"
    fi
fi

missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then as_root=(); elif command -v sudo >/dev/null; then as_root=(sudo); else
    echo "install-deps: need root or sudo to install: ${missing[*]}" >&2
    exit 1
fi
echo "install-deps: installing ${missing[*]}" >&2
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
