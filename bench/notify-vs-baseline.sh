#!/usr/bin/env bash
# The per-notification path against the original design's (bench/baseline/, benchmarks only) and
# against the floor, all in one hyperfine run with the same NAGIOS_* environment of a real service
# notification:
#   - floor: fork + exec  — an empty static program (bench/floor/empty.rs), built like hagios-notify;
#   - floor: + durable write — the same program writing one 4 KiB record with the spool's fsyncs
#     (bench/floor/durable_write.rs): the least any notify command that keeps its promise can cost;
#   - hagios-notify        — the small static binary Nagios runs (cargo build-notify);
#   - hagios notify        — the same code through the full `hagios` binary;
#   - baseline             — starts Python, builds the JSON and sends it over TLS to a listener on
#     loopback (self-signed certificate made here).
# Every spool is on disk (/var/tmp), so the fsyncs are real.
# Usage: bench/notify-vs-baseline.sh [RUNS]   (needs hyperfine, openssl, /usr/bin/python3)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-300}
python=/usr/bin/python3 # the system interpreter Nagios would run, not a version-manager shim
cargo build --release -q -p hagios
cargo -q build-notify
spools=$(mktemp -d /var/tmp/hagios-bench-spool.XXXXXX)
work=$(mktemp -d)
listener=
cleanup() {
    if [ -n "$listener" ]; then kill "$listener" 2>/dev/null || true; wait "$listener" 2>/dev/null || true; fi
    rm -rf "$spools" "$work"
}
trap cleanup EXIT
# The floor programs get hagios-notify's build: release optimisation, static glibc, no debug info.
for floor in empty durable_write; do
    rustc --edition 2021 -C opt-level=3 -C target-feature=+crt-static -C strip=debuginfo \
        -o "$work/$floor" "bench/floor/$floor.rs"
done
mkdir -p "$spools/floor/tmp" "$spools/floor/new"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost \
    -addext subjectAltName=DNS:localhost -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
"$python" bench/baseline/listener.py "$work/port" "$work/cert.pem" "$work/key.pem" "$work/count" &
listener=$!
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
port=$(cat "$work/port")
mapfile -t environment < <(grep '^NAGIOS_' crates/notify/tests/fixtures/service-problem.env)
echo "${#environment[@]} NAGIOS_* variables, $runs runs each, spools on $(df --output=fstype "$spools" | tail -1)," \
    "$("$python" --version), listener on 127.0.0.1:$port"
env "${environment[@]}" hyperfine --warmup 20 --runs "$runs" -N --style none \
    --export-json "$work/results.json" \
    --command-name "floor: fork + exec (empty static program)" "$work/empty" \
    --command-name "floor: + durable write (4 KiB, fsync, rename, fsync)" "$work/durable_write $spools/floor" \
    --command-name "hagios-notify" "$PWD/target/release/hagios-notify --spool $spools/small" \
    --command-name "hagios notify" "$PWD/target/release/hagios notify --spool $spools/full" \
    --command-name "baseline: python3 + JSON + TLS" \
    "$python $PWD/bench/baseline/notify_client.py 127.0.0.1 $port $work/cert.pem" >/dev/null
kill "$listener"
wait "$listener" || true
listener=
count() { find "$1" -type f | wc -l; }
python3 - "$work/results.json" "$(count "$spools/floor/new") records written" \
    "$(count "$spools/small/new") records spooled" "$(count "$spools/full/new") records spooled" \
    "$(cat "$work/count") notifications received" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
empty, floor, small, full, baseline = results
delivered = ["", *sys.argv[2:]]
ms = lambda seconds: f"{seconds * 1000:.2f} ms"
cpu = lambda result: result["user"] + result["system"]
for result, outcome in zip(results, delivered):
    print(f"{result['command']}: median {ms(result['median'])}, mean {ms(result['mean'])} ± {ms(result['stddev'])}, "
          f"min {ms(result['min'])}, max {ms(result['max'])}, user+sys {ms(cpu(result))}, "
          f"{len(result['times'])} runs{', ' + outcome if outcome else ''}")
for result in (small, full):
    print(f"baseline / {result['command']}: median {baseline['median'] / result['median']:.1f}x, "
          f"user+sys {cpu(baseline) / cpu(result):.1f}x; "
          f"{result['command']} / floor with durable write: median {result['median'] / floor['median']:.2f}x")
PY
