#!/usr/bin/env bash
# Alert storm, end to end: HOSTS × SERVICES `hagios notify` processes (default 200 × 50 = 10,000,
# a real storm's shape) spool PROBLEM notifications while `hagios run` (release build) delivers
# them to the fake Slack, which refuses posts faster than one per second per channel, as Slack
# does. Reports chat API calls, the time from the first notify until every alert is reflected in
# chat (the spool is empty: a record leaves it only after its message is committed), the most
# posts any channel got within one second, alerts lost or repeated, and the bot's peak RSS.
# With --split the storm goes through the split deployment instead: `hagios notify` spools for a
# `hagios agent`, which sends every record over mutual TLS to a `hagios bot` (certificates made
# here by `hagios certs`), which delivers to the fake Slack; "reflected" then means both spools
# are empty, and the peak RSS of the agent and of the bot are reported.
# With --ha the split deployment has two `hagios bot`s sharing a private PostgreSQL 15 cluster
# (initdb in a temp dir, fsync on, as `nobody` when run as root; POSTGRES_BIN names another
# server's bin folder) and the agent lists both; one leads and delivers. "Reflected" then also
# means the store's inbox is empty, and the peak RSS of both bots is reported.
# No Nagios is needed: the storm exercises delivery only, commands are not used.
# Usage: bench/storm.sh [--split|--ha] [HOSTS] [SERVICES] [GROUP_BY]
#   e.g. bench/storm.sh 200 50 '"site", "host"'    bench/storm.sh --split    bench/storm.sh --ha
set -euo pipefail
cd "$(dirname "$0")/.."
split= ha= delivering=run site=local
case "${1:-}" in
--split) split=1 delivering=bot site=storm && shift ;;
--ha) split=1 ha=1 delivering=bot site=storm && shift ;;
esac
hosts=${1:-200}
services=${2:-50}
group_by=${3:-'"site"'}
total=$((hosts * services))
cargo build --release -q -p hagios -p hagios-fakeslack --bin hagios --example fakeslack
work=$(mktemp -d /var/tmp/hagios-storm.XXXXXX)
pg=
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work" ${pg:+"$pg"}
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

store_url=
if [ -n "$ha" ]; then
    pgbin=${POSTGRES_BIN:-/usr/lib/postgresql/15/bin}
    pg=$(mktemp -d /var/tmp/hagios-storm-pg.XXXXXX)
    as_owner=()
    if [ "$(id -u)" = 0 ]; then
        # PostgreSQL refuses to run as root.
        chown nobody:nogroup "$pg"
        as_owner=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
    fi
    export HAGIOS_STORE_PASSWORD=hagios-storm
    printf %s "$HAGIOS_STORE_PASSWORD" >"$pg/password"
    chmod 644 "$pg/password"
    "${as_owner[@]}" "$pgbin/initdb" -D "$pg/data" -U hagios -A trust --auth-host=scram-sha-256 --no-locale \
        -E UTF8 --pwfile="$pg/password" >/dev/null
    pgport=$(free_port)
    "${as_owner[@]}" "$pgbin/postgres" -D "$pg/data" -p "$pgport" -k "$pg" -c listen_addresses=127.0.0.1 \
        2>"$pg/server.log" &
    pids+=("$!")
    until "$pgbin/pg_isready" -q -h 127.0.0.1 -p "$pgport"; do sleep 0.1; done
    "$pgbin/createdb" -h "$pg" -p "$pgport" -U hagios hagios
    store_url="url = \"postgres://hagios@127.0.0.1:$pgport/hagios\""
    inbox() { "$pgbin/psql" -X -A -t -h "$pg" -p "$pgport" -U hagios -d hagios -c 'SELECT count(*) FROM inbox' 2>/dev/null || echo 1; }
fi

target/release/examples/fakeslack "$work" C0ALERTS C0STORM >"$work/fakeslack.url" &
fake=$!
pids+=("$fake")
until [ -s "$work/fakeslack.url" ]; do sleep 0.05; done
nagios="command_file = \"$work/nagios.cmd\"
status_file = \"$work/status.dat\"
object_cache_file = \"$work/objects.cache\""
if [ -n "$split" ]; then
    target/release/hagios certs init --dir "$work/pki" >/dev/null
    target/release/hagios certs issue --dir "$work/pki" --role bot --name localhost >/dev/null
    target/release/hagios certs issue --dir "$work/pki" --role agent --name "$site" >/dev/null
    port=$(free_port)
    bots="\"localhost:$port\""
    if [ -n "$ha" ]; then
        port2=$(free_port)
        bots="$bots, \"localhost:$port2\""
    fi
    tls() { printf '[tls]\nca = "%s"\ncert = "%s"\nkey = "%s"\n' "$work/pki/ca.crt" "$work/pki/$1.crt" "$work/pki/$1.key"; }
    cat >"$work/agent.toml" <<EOF
[spool]
dir = "$work/agent-spool"
[nagios]
site = "$site"
$nagios
[agent]
bot = [$bots]
$(tls "$site")
EOF
    chat_section="[bot]
listen = \"127.0.0.1:$port\"
$(tls localhost)"
    notify_spool="$work/agent-spool"
else
    chat_section="[nagios]
$nagios"
    notify_spool="$work/spool"
fi
# The bot's configuration; with --ha the second bot's differs in its port, spool and file.
bot_config() {
    cat <<EOF
[store]
path = "$work/state$1.db"
$store_url
[spool]
dir = "$work/spool$1"
$chat_section
[slack]
api_url = "$(cat "$work/fakeslack.url")"
default_channel = "C0ALERTS"
[[route]]
channel = "C0STORM"
group_by = [$group_by]
group_interval = "10s"
EOF
}
bot_config "" >"$work/hagios.toml"
SLACK_BOT_TOKEN=xoxb-fake-bot-token SLACK_APP_TOKEN=xapp-fake-app-token HAGIOS_LOG=warn \
    target/release/hagios "$delivering" --config "$work/hagios.toml" 2>"$work/run.log" &
bot=$!
pids+=("$bot")
if [ -n "$ha" ]; then
    bot_config 2 | sed "s/127.0.0.1:$port\"/127.0.0.1:$port2\"/" >"$work/hagios2.toml"
    SLACK_BOT_TOKEN=xoxb-fake-bot-token SLACK_APP_TOKEN=xapp-fake-app-token HAGIOS_LOG=warn \
        target/release/hagios bot --config "$work/hagios2.toml" 2>"$work/run2.log" &
    bot2=$!
    pids+=("$bot2")
fi
if [ -n "$split" ]; then
    HAGIOS_LOG=warn target/release/hagios agent --config "$work/agent.toml" 2>"$work/agent.log" &
    agent=$!
    pids+=("$agent")
fi
mkdir -p "$notify_spool"
sleep 1

# The environment of a real service notification (Nagios 4.4.6), host and service replaced.
mapfile -t environment < <(grep '^NAGIOS_' crates/notify/tests/fixtures/service-problem.env)
export SPOOL="$notify_spool" HAGIOS="$PWD/target/release/hagios" SITE="$site"
deployment=${split:+, agent → bot over mutual TLS}
[ -n "$ha" ] && deployment=", agent → two bots on PostgreSQL over mutual TLS"
echo "storm: $total notifications ($hosts hosts × $services services), group_by = [$group_by]$deployment"
start=$(date +%s.%N)
for host in $(seq -f 'host%03g' 1 "$hosts"); do
    for service in $(seq -f 'svc%02g' 1 "$services"); do echo "$host $service"; done
done | env "${environment[@]}" xargs -n 2 -P 8 sh -c \
    'NAGIOS_HOSTNAME=$0 NAGIOS_SERVICEDESC=$1 NAGIOS_SERVICEOUTPUT="CRITICAL - $1 on $0 unreachable" exec "$HAGIOS" notify --spool "$SPOOL" --site "$SITE" >/dev/null'
spooled=$(date +%s.%N)
pending() {
    [ -n "$(find "$notify_spool/new" "$work/spool/new" "$work/spool2/new" -name '*.json' -print -quit 2>/dev/null)" ] ||
        { [ -n "$ha" ] && [ "$(inbox)" != 0 ]; }
}
while pending; do
    if (($(date +%s) - ${start%.*} > 900)); then echo "gave up after 15 minutes" >&2; break; fi
    sleep 0.1
done
reflected=$(date +%s.%N)
peak_rss() { awk '/VmHWM/ {print $2 " " $3}' "/proc/$1/status"; }
bot_rss=$(peak_rss "$bot")
if [ -n "$ha" ]; then
    bot_rss="$bot_rss, of the second hagios bot: $(peak_rss "$bot2")"
    kill -TERM "$bot2"
    wait "$bot2" || true
fi
if [ -n "$split" ]; then
    agent_rss=$(peak_rss "$agent")
    kill -TERM "$agent"
    wait "$agent" || true
fi
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
echo "  peak RSS of hagios $delivering: $bot_rss${split:+, of hagios agent: ${agent_rss:-}}"
grep -iE 'error|quarantin' "$work/run.log" ${split:+"$work/agent.log"} ${ha:+"$work/run2.log"} | grep -v 'cannot read the state to mirror' | head -5 || true
