#!/usr/bin/env bash
# `hagios notify` against the original design's notify path (bench/baseline/, benchmarks only),
# side by side in one hyperfine run with the same NAGIOS_* environment of a real service
# notification. hagios writes one durable record to a spool on disk; the baseline starts Python,
# builds the JSON and sends it over TLS to a listener on loopback (self-signed cert made here).
# Usage: bench/notify-vs-baseline.sh [RUNS]   (needs hyperfine, openssl, /usr/bin/python3)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-300}
python=/usr/bin/python3 # the system interpreter Nagios would run, not a version-manager shim
cargo build --release -q -p hagios
spool=$(mktemp -d /var/tmp/hagios-bench-spool.XXXXXX)
work=$(mktemp -d)
listener=
cleanup() {
    if [ -n "$listener" ]; then kill "$listener" 2>/dev/null || true; wait "$listener" 2>/dev/null || true; fi
    rm -rf "$spool" "$work"
}
trap cleanup EXIT
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost \
    -addext subjectAltName=DNS:localhost -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
"$python" bench/baseline/listener.py "$work/port" "$work/cert.pem" "$work/key.pem" "$work/count" &
listener=$!
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
port=$(cat "$work/port")
mapfile -t environment < <(grep '^NAGIOS_' crates/hagios/tests/fixtures/service-problem.env)
echo "${#environment[@]} NAGIOS_* variables, $runs runs each, $("$python" --version), listener on 127.0.0.1:$port"
env "${environment[@]}" hyperfine --warmup 20 --runs "$runs" -N --style none \
    --export-json "$work/results.json" \
    --command-name "hagios notify (spool on $(df --output=fstype "$spool" | tail -1))" \
    "$PWD/target/release/hagios notify --spool $spool" \
    --command-name "baseline: python3 + JSON + TLS" \
    "$python $PWD/bench/baseline/notify_client.py 127.0.0.1 $port $work/cert.pem" >/dev/null
kill "$listener"
wait "$listener" || true
listener=
python3 - "$work/results.json" "$(find "$spool/new" -type f | wc -l)" "$(cat "$work/count")" <<'PY'
import json, sys
hagios, baseline = json.load(open(sys.argv[1]))["results"]
ms = lambda seconds: f"{seconds * 1000:.2f} ms"
for result, delivered in ((hagios, f"{sys.argv[2]} records spooled"), (baseline, f"{sys.argv[3]} notifications received")):
    print(f"{result['command']}: median {ms(result['median'])}, mean {ms(result['mean'])} ± {ms(result['stddev'])}, "
          f"min {ms(result['min'])}, max {ms(result['max'])}, user+sys {ms(result['user'] + result['system'])}, "
          f"{len(result['times'])} runs, {delivered}")
print(f"baseline / hagios: median {baseline['median'] / hagios['median']:.1f}x, "
      f"user+sys {(baseline['user'] + baseline['system']) / (hagios['user'] + hagios['system']):.1f}x")
PY
