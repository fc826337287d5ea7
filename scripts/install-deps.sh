#!/usr/bin/env bash
# Installs the Debian packages hagios' demo and tests run against (a real Nagios Core 4 and Icinga 2,
# Prometheus scraping /metrics, PostgreSQL 15 for the store and the two-bot tests), and python3-venv (the Matrix tests install Synapse from PyPI into a venv),
# when they are missing. Needs root or sudo; does nothing when everything is there.
set -euo pipefail

packages=(nagios4-core monitoring-plugins-basic icinga2-bin icinga2-common curl python3-venv prometheus postgresql)
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
