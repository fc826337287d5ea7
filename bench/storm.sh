#!/usr/bin/env bash
# Alert storm, end to end: HOSTS × SERVICES `hagios notify` processes (default 200 × 50 = 10,000,
# a real storm's shape) spool PROBLEM notifications while `hagios run` (release build) delivers
# them to the fake Slack, which refuses posts faster than one per second per channel, as Slack
# does. Reports chat API calls, the time from the first notify until every alert is reflected in
# chat (the spool is empty: a record leaves it only after its message is committed), the most
# posts any channel got within one second, alerts lost or repeated, and the bot's peak RSS.
# No Nagios is needed: the storm exercises delivery only, commands are not used.
# Usage: bench/storm.sh [HOSTS] [SERVICES] [GROUP_BY]   e.g. bench/storm.sh 200 50 '"site", "host"'
set -euo pipefail
cd "$(dirname "$0")/.."
hosts=${1:-200}
services=${2:-50}
group_by=${3:-'"site"'}
total=$((hosts * services))
cargo build --release -q -p hagios -p hagios-fakeslack --bin hagios --example fakeslack
work=$(mktemp -d /var/tmp/hagios-storm.XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

target/release/examples/fakeslack "$work" C0ALERTS C0STORM >"$work/fakeslack.url" &
fake=$!
pids+=("$fake")
until [ -s "$work/fakeslack.url" ]; do sleep 0.05; done
cat >"$work/hagios.toml" <<EOF
[store]
path = "$work/state.db"
[spool]
dir = "$work/spool"
[nagios]
command_file = "$work/nagios.cmd"
status_file = "$work/status.dat"
object_cache_file = "$work/objects.cache"
[slack]
api_url = "$(cat "$work/fakeslack.url")"
default_channel = "C0ALERTS"
[[route]]
channel = "C0STORM"
group_by = [$group_by]
group_interval = "10s"
EOF
SLACK_BOT_TOKEN=xoxb-fake-bot-token SLACK_APP_TOKEN=xapp-fake-app-token HAGIOS_LOG=warn \
    target/release/hagios run --config "$work/hagios.toml" 2>"$work/run.log" &
bot=$!
pids+=("$bot")
mkdir -p "$work/spool"
sleep 1

# The environment of a real service notification (Nagios 4.4.6), host and service replaced.
mapfile -t environment < <(grep '^NAGIOS_' crates/hagios/tests/fixtures/service-problem.env)
export SPOOL="$work/spool" HAGIOS="$PWD/target/release/hagios"
echo "storm: $total notifications ($hosts hosts × $services services), group_by = [$group_by]"
start=$(date +%s.%N)
for host in $(seq -f 'host%03g' 1 "$hosts"); do
    for service in $(seq -f 'svc%02g' 1 "$services"); do echo "$host $service"; done
done | env "${environment[@]}" xargs -n 2 -P 8 sh -c \
    'NAGIOS_HOSTNAME=$0 NAGIOS_SERVICEDESC=$1 NAGIOS_SERVICEOUTPUT="CRITICAL - $1 on $0 unreachable" exec "$HAGIOS" notify --spool "$SPOOL" >/dev/null'
spooled=$(date +%s.%N)
while [ -n "$(find "$work/spool/new" -name '*.json' -print -quit)" ]; do
    if (($(date +%s) - ${start%.*} > 900)); then echo "gave up after 15 minutes" >&2; break; fi
    sleep 0.1
done
reflected=$(date +%s.%N)
peak_rss=$(awk '/VmHWM/ {print $2 " " $3}' "/proc/$bot/status")
kill -TERM "$bot"
wait "$bot" || true
kill -TERM "$fake"
wait "$fake" || true

delivered=$(grep -oE 'host[0-9]+!svc[0-9]+ PROBLEM' "$work/messages.txt" | sort | uniq -c)
distinct=$(printf '%s\n' "$delivered" | grep -c PROBLEM || true)
repeated=$(printf '%s\n' "$delivered" | awk '$1 > 1' | grep -c PROBLEM || true)
awk -v s="$start" -v p="$spooled" -v r="$reflected" 'BEGIN {
    printf "notify processes done after %.1f s; every alert reflected in chat after %.1f s\n", p - s, r - s }'
sed 's/^/  /' "$work/report.txt"
echo "  alerts in chat: $distinct of $total, lost $((total - distinct)), shown more than once $repeated"
echo "  peak RSS of hagios run: $peak_rss"
grep -iE 'error|quarantin' "$work/run.log" | head -5 || true
