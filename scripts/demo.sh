#!/usr/bin/env bash
# The README's first command: installs a real Nagios Core 4 if missing, starts a private instance
# with a small sample configuration in a folder of its own, builds hagios and runs it with the
# terminal as the chat. Within seconds a real alert arrives; type `ack web01 Disk on it` (or
# `#<id> ack on it` in its thread) and watch Nagios confirm it. Ctrl-C stops both.
#
#   HAGIOS_DEMO_DIR  where the instance lives (default /tmp/hagios-demo; reused and reset)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd -P)
./scripts/install-deps.sh

echo "demo: building hagios (release)…" >&2
cargo build --release --quiet -p hagios
hagios=$repo/target/release/hagios

dir=${HAGIOS_DEMO_DIR:-/tmp/hagios-demo}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd -P)   # Nagios wants absolute paths: its command worker changes directory
etc=$dir/etc var=$dir/var
if [ -s "$var/nagios.lock" ]; then kill "$(cat "$var/nagios.lock")" 2>/dev/null || true; sleep 1; fi
rm -rf "$var" "$dir/spool" "$dir/state.db"*
mkdir -p "$etc" "$var/rw" "$var/spool/checkresults" "$var/tmp" "$dir/spool"
user=$(id -un) group=$(id -gn)

cat > "$etc/nagios.cfg" <<CFG
cfg_file=$etc/objects.cfg
log_file=$var/nagios.log
object_cache_file=$var/objects.cache
precached_object_file=$var/objects.precache
status_file=$var/status.dat
status_update_interval=1
query_socket=$var/rw/nagios.qh
check_result_reaper_frequency=1
use_retained_scheduling_info=0
temp_file=$var/nagios.tmp
temp_path=$var/tmp
lock_file=$var/nagios.lock
check_result_path=$var/spool/checkresults
state_retention_file=$var/retention.dat
retain_state_information=0
nagios_user=$user
nagios_group=$group
check_external_commands=1
command_file=$var/rw/nagios.cmd
enable_environment_macros=1
enable_notifications=1
interval_length=1
max_service_check_spread=5
max_host_check_spread=5
log_external_commands=1
log_notifications=1
use_syslog=0
check_for_updates=0
enable_flap_detection=0
date_format=iso8601
illegal_object_name_chars=\`~!\$%^&*|'"<>?,()=
illegal_macro_output_chars=\`~\$&|'"<>
CFG

cat > "$etc/objects.cfg" <<CFG
define timeperiod {
    timeperiod_name 24x7
    alias           always
    sunday 00:00-24:00
    monday 00:00-24:00
    tuesday 00:00-24:00
    wednesday 00:00-24:00
    thursday 00:00-24:00
    friday 00:00-24:00
    saturday 00:00-24:00
}
define command {
    command_name check_dummy
    command_line /usr/lib/nagios/plugins/check_dummy \$ARG1\$ "\$ARG2\$"
}
define command {
    command_name notify-by-hagios
    command_line $hagios notify --spool $dir/spool --site demo
}
define contact {
    contact_name                  hagios
    alias                         Team chat
    host_notification_period      24x7
    service_notification_period   24x7
    host_notification_options     d,u,r,f,s
    service_notification_options  w,u,c,r,f,s
    host_notification_commands    notify-by-hagios
    service_notification_commands notify-by-hagios
}
define host {
    name                  demo-host
    register              0
    check_command         check_dummy!0!PING OK - 0.1 ms
    max_check_attempts    1
    check_interval        300
    retry_interval        60
    check_period          24x7
    notification_period   24x7
    notification_interval 0
    contacts              hagios
}
define service {
    name                  demo-service
    register              0
    max_check_attempts    1
    check_interval        300
    retry_interval        60
    check_period          24x7
    notification_period   24x7
    notification_interval 0
    contacts              hagios
}
define hostgroup {
    hostgroup_name web
    alias          Web servers
}
define host {
    use        demo-host
    host_name  web01
    alias      Web server
    address    127.0.0.1
    hostgroups web
}
define host {
    use        demo-host
    host_name  db01
    alias      Database
    address    127.0.0.2
}
define service {
    use                 demo-service
    host_name           web01
    service_description HTTP
    check_command       check_dummy!0!HTTP OK - 200 in 0.02 s
}
define service {
    use                 demo-service
    host_name           web01
    service_description Disk
    check_command       check_dummy!2!DISK CRITICAL - /var is 98% full
}
define service {
    use                 demo-service
    host_name           db01
    service_description MySQL
    check_command       check_dummy!1!MYSQL WARNING - 45 s replication lag
}
CFG

cat > "$dir/hagios.toml" <<CFG
[store]
path = "$dir/state.db"
[spool]
dir = "$dir/spool"
[nagios]
site = "demo"
command_file = "$var/rw/nagios.cmd"
status_file = "$var/status.dat"
object_cache_file = "$var/objects.cache"
[terminal]
user = "local"
[[role]]
name = "oncall"
commands = ["ack", "unack", "downtime", "recheck", "mute", "unmute", "comment"]
objects = ["*"]
[[user]]
chat_id = "local"
roles = ["oncall"]
CFG

/usr/sbin/nagios4 -v "$etc/nagios.cfg" > "$dir/verify.out" 2>&1 || { cat "$dir/verify.out" >&2; exit 1; }
/usr/sbin/nagios4 -d "$etc/nagios.cfg"
trap 'kill "$(cat "$var/nagios.lock" 2>/dev/null)" 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -p "$var/rw/nagios.cmd" ] && [ -s "$var/status.dat" ] && break; sleep 0.1; done
# Nagios spreads the first checks over minutes; check everything now so the alert comes at once.
for host in web01 db01; do
    printf '[%s] SCHEDULE_FORCED_HOST_CHECK;%s;%s\n[%s] SCHEDULE_FORCED_HOST_SVC_CHECKS;%s;%s\n' \
        "$(date +%s)" "$host" "$(date +%s)" "$(date +%s)" "$host" "$(date +%s)" > "$var/rw/nagios.cmd"
done

cat >&2 <<TXT
demo: Nagios runs in $dir (log: $var/nagios.log); hagios logs to $dir/hagios.log.
demo: an alert for web01!Disk arrives within about ten seconds (grouped per host). Try:
        problems
        ack web01 Disk on it          (or: #<alert id> ack on it)
        downtime db01 MySQL 2h upgrade
        downtimes
        help
      Ctrl-C to stop.
TXT
"$hagios" config check --config "$dir/hagios.toml" --user "$(id -un)" >&2
"$hagios" run --config "$dir/hagios.toml" 2>> "$dir/hagios.log"
