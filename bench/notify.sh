#!/usr/bin/env bash
# Whole-process cost of one notification as Nagios makes it: the full NAGIOS_* environment of a
# real service notification (captured from Nagios 4.4.6), one durable spool record per run, for
# `hagios-notify` (the small static binary the contrib snippets run) and `hagios notify` (the same
# code in the full binary). Spool on disk (the real case, fsyncs included) and on tmpfs (CPU only).
# Usage: bench/notify.sh [RUNS]   (needs hyperfine: apt-get install hyperfine)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-500}
cargo build --release -q -p hagios
cargo -q build-notify
disk=$(mktemp -d /var/tmp/hagios-bench-spool.XXXXXX)
memory=$(mktemp -d /dev/shm/hagios-bench-spool.XXXXXX)
results=$(mktemp -d)
trap 'rm -rf "$disk" "$memory" "$results"' EXIT
mapfile -t environment < <(grep '^NAGIOS_' crates/notify/tests/fixtures/service-problem.env)
echo "${#environment[@]} NAGIOS_* variables, $runs runs each"
for spool in "$disk" "$memory"; do
    fstype=$(df --output=fstype "$spool" | tail -1)
    env "${environment[@]}" hyperfine --warmup 20 --runs "$runs" -N --style none --export-json "$results/$fstype.json" \
        --command-name "hagios-notify, spool on $fstype" "$PWD/target/release/hagios-notify --spool $spool/small" \
        --command-name "hagios notify, spool on $fstype" "$PWD/target/release/hagios notify --spool $spool/full" \
        >/dev/null
    python3 - "$results/$fstype.json" "$(find "$spool/small/new" -type f | wc -l)" \
        "$(find "$spool/full/new" -type f | wc -l)" <<'PY'
import json, sys
ms = lambda seconds: f"{seconds * 1000:.2f} ms"
for result, spooled in zip(json.load(open(sys.argv[1]))["results"], sys.argv[2:]):
    print(f"{result['command']}: median {ms(result['median'])}, mean {ms(result['mean'])} ± {ms(result['stddev'])}, "
          f"min {ms(result['min'])}, max {ms(result['max'])}, {len(result['times'])} runs, {spooled} records spooled")
PY
done
