#!/usr/bin/env bash
# Whole-process cost of one `hagios notify` call as Nagios makes it: the full NAGIOS_* environment
# of a real service notification (captured from Nagios 4.4.6), one durable spool record per run.
# Runs twice: spool on disk (the real case, fsync included) and on tmpfs (hagios' own CPU cost).
# Usage: bench/notify.sh [RUNS]   (needs hyperfine: apt-get install hyperfine)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-500}
cargo build --release -q -p hagios
disk=$(mktemp -d /var/tmp/hagios-bench-spool.XXXXXX)
memory=$(mktemp -d /dev/shm/hagios-bench-spool.XXXXXX)
results=$(mktemp -d)
trap 'rm -rf "$disk" "$memory" "$results"' EXIT
mapfile -t environment < <(grep '^NAGIOS_' crates/hagios/tests/fixtures/service-problem.env)
echo "hagios notify with ${#environment[@]} NAGIOS_* variables, $runs runs each"
for spool in "$disk" "$memory"; do
    fstype=$(df --output=fstype "$spool" | tail -1)
    env "${environment[@]}" hyperfine --warmup 20 --runs "$runs" -N --style none \
        --command-name "spool on $fstype" --export-json "$results/$fstype.json" \
        "$PWD/target/release/hagios notify --spool $spool" >/dev/null
    python3 - "$results/$fstype.json" "$(find "$spool/new" -type f | wc -l)" <<'PY'
import json, sys
result = json.load(open(sys.argv[1]))["results"][0]
ms = lambda seconds: f"{seconds * 1000:.2f} ms"
print(f"{result['command']}: median {ms(result['median'])}, mean {ms(result['mean'])} ± {ms(result['stddev'])}, "
      f"min {ms(result['min'])}, max {ms(result['max'])}, {len(result['times'])} runs, {sys.argv[2]} records spooled")
PY
done
