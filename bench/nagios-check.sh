#!/usr/bin/env bash
# `hagios nagios check` against `nagios4 -v` on the same large configuration (10,000 hosts,
# 100,000 services, templates, 101 host groups), side by side: wall time (hyperfine) and peak
# memory (/usr/bin/time -v). Both must find the configuration valid.
# Usage: bench/nagios-check.sh [explicit|hostgroup] [RUNS]   (needs nagios4-core, hyperfine, python3)
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-explicit}
runs=${2:-10}
nagios=${NAGIOS_BIN:-/usr/sbin/nagios4}
cargo build --release -q -p hagios
hagios=$PWD/target/release/hagios
dir=$(mktemp -d /var/tmp/hagios-bench-nagios.XXXXXX)
trap 'rm -rf "$dir"' EXIT
python3 bench/gen-big-nagios.py "$dir/objects" 10000 10 "$mode"
echo '$USER1$=/usr/lib/nagios/plugins' > "$dir/resource.cfg"
cat > "$dir/nagios.cfg" <<CFG
log_file=$dir/nagios.log
cfg_dir=$dir/objects
resource_file=$dir/resource.cfg
status_file=$dir/status.dat
lock_file=$dir/nagios.lock
temp_file=$dir/nagios.tmp
check_result_path=$dir
nagios_user=root
nagios_group=root
illegal_macro_output_chars=\`~\$&|'"<>
CFG
echo "configuration: $mode, $(du -sh "$dir/objects" | cut -f1) of object files"
"$hagios" nagios check "$dir/nagios.cfg" | tail -1
"$nagios" -v "$dir/nagios.cfg" | grep -E 'Total (Warnings|Errors)'
hyperfine --warmup 2 --runs "$runs" -N --style none --export-json "$dir/times.json" \
    --command-name "hagios nagios check" "$hagios nagios check $dir/nagios.cfg" \
    --command-name "nagios4 -v" "$nagios -v $dir/nagios.cfg" >/dev/null
python3 - "$dir/times.json" <<'PY'
import json, statistics, sys
results = json.load(open(sys.argv[1]))["results"]
ms = lambda seconds: f"{seconds * 1000:.0f} ms"
for r in results:
    print(f"{r['command']}: median {ms(r['median'])}, mean {ms(r['mean'])} ± {ms(r['stddev'])}, min {ms(r['min'])}, "
          f"CPU (user+sys) {ms(r['user'] + r['system'])}, {len(r['times'])} runs")
ours, theirs = results
print(f"nagios4 -v / hagios: median {theirs['median'] / ours['median']:.1f}x, min {theirs['min'] / ours['min']:.1f}x, "
      f"CPU {(theirs['user'] + theirs['system']) / (ours['user'] + ours['system']):.1f}x")
PY
for command in "$hagios nagios check" "$nagios -v"; do
    rss=$(/usr/bin/time -v $command "$dir/nagios.cfg" 2>&1 >/dev/null | awk -F': ' '/Maximum resident/ {print $2}')
    echo "$command: peak RSS $((rss / 1024)) MB"
done
