//! Writes the self-contained configuration of a private Nagios instance: main config, resource
//! file, helper scripts (state-file driven checks, environment-dumping notifier) and the fixture
//! objects every test relies on.

use crate::layout::{Layout, DEBIAN_USER};
use crate::NagiosOptions;
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Checks run once at start-up and then only when forced or fed passively: in seconds, because
/// the generated config sets `interval_length=1`.
const CHECK_INTERVAL_SECONDS: u32 = 86_400;

/// What Debian's nagios.cfg strips from the output, acknowledgement and notification macros.
const DEBIAN_ILLEGAL_MACRO_OUTPUT_CHARS: &str = "`~$&|'\"<>";

/// Initial checks are spread over this many seconds; small so the fixture is checked quickly.
const INITIAL_CHECK_SPREAD_SECONDS: u32 = 2;

/// The fixture objects: hosts web01 (in hostgroup web) and db01, services web01!HTTP, web01!Disk,
/// web01!"HTTP Load", db01!MySQL and db01!Load.
const FIXTURE_OBJECTS: &str = "\
define hostgroup {
    hostgroup_name  web
    alias           Web servers
}
define host {
    use         hagios-host
    host_name   web01
    alias       Web server 01
    address     127.0.0.1
    hostgroups  web
}
define host {
    use         hagios-host
    host_name   db01
    alias       Database server 01
    address     127.0.0.2
}
define service {
    use                 hagios-service
    host_name           web01
    service_description HTTP
}
define service {
    use                 hagios-service
    host_name           web01
    service_description Disk
}
define service {
    use                 hagios-service
    host_name           web01
    service_description HTTP Load
}
define service {
    use                 hagios-service
    host_name           db01
    service_description MySQL
}
define service {
    use                 hagios-service
    host_name           db01
    service_description Load
}
";

/// Writes every file the instance needs. `options.notify_command` is a Nagios command line (so a
/// literal `$` is written `$$`); `None` uses the bundled environment-dumping script.
pub(crate) fn write(layout: &Layout, options: &NagiosOptions) -> io::Result<()> {
    for dir in [
        layout.etc.join("objects"),
        layout.var.join("rw"),
        layout.var.join("spool/checkresults"),
        layout.var.join("tmp"),
        layout.var.join("archives"),
        layout.libexec.clone(),
        layout.check_state_dir.clone(),
        layout.notifications_dir.clone(),
    ] {
        fs::create_dir_all(dir)?;
    }
    write_script(&layout.libexec.join("check_state.sh"), &check_state_script(layout))?;
    write_script(&layout.libexec.join("notify.sh"), &notify_script(layout))?;
    fs::write(layout.etc.join("resource.cfg"), format!("$USER1$={}\n", layout.libexec.display()))?;
    let mut main = main_config(layout, options);
    // Nagios refuses an empty value; left out, it strips nothing.
    match options.illegal_macro_output_chars.as_deref().unwrap_or(DEBIAN_ILLEGAL_MACRO_OUTPUT_CHARS) {
        "" => {}
        chars => main.push_str(&format!("illegal_macro_output_chars={chars}\n")),
    }
    if options.managed_dir {
        fs::create_dir_all(&layout.managed_dir)?;
        main.push_str(&format!("cfg_dir={}\n", layout.managed_dir.display()));
    }
    fs::write(&layout.config_file, main)?;
    let notify_command = options.notify_command.as_deref().unwrap_or("$USER1$/notify.sh");
    fs::write(layout.etc.join("objects/base.cfg"), base_objects(notify_command))?;
    fs::write(layout.etc.join("objects/fixture.cfg"), FIXTURE_OBJECTS)?;
    fs::write(layout.extra_objects_file(), &options.extra_objects)
}

fn write_script(path: &Path, body: &str) -> io::Result<()> {
    fs::write(path, body)?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755))
}

/// `check_state.sh HOST KEY` prints and exits with what `check-state/HOST/KEY` says ("<code> <text>");
/// without that file the object is OK/UP.
fn check_state_script(layout: &Layout) -> String {
    format!(
        "#!/bin/sh\n\
         f='{dir}'/\"$1\"/\"$2\"\n\
         if [ -r \"$f\" ]; then read -r rc text < \"$f\"; else rc=0; text='OK - default test state'; fi\n\
         printf '%s\\n' \"$text\"\n\
         exit \"$rc\"\n",
        dir = layout.check_state_dir.display()
    )
}

/// Dumps the `NAGIOS_*` environment NUL-separated into one file per notification (renamed into
/// place, so readers never see half a dump).
fn notify_script(layout: &Layout) -> String {
    format!(
        "#!/bin/sh\n\
         f='{dir}'/\"$(date +%s.%N)-$$.env\"\n\
         env -0 | grep -z '^NAGIOS_' > \"$f.tmp\"\n\
         mv \"$f.tmp\" \"$f\"\n",
        dir = layout.notifications_dir.display()
    )
}

fn main_config(layout: &Layout, options: &NagiosOptions) -> String {
    let environment_macros = u8::from(!options.without_environment_macros);
    let status_update_interval = options.status_update_interval.unwrap_or(1);
    let (user, group) = if options.debian_ownership {
        (DEBIAN_USER.to_owned(), DEBIAN_USER.to_owned())
    } else {
        (rustix::process::geteuid().as_raw().to_string(), rustix::process::getegid().as_raw().to_string())
    };
    format!(
        "# generated by hagios-testkit: a private, throw-away Nagios instance
cfg_dir={objects}
resource_file={etc}/resource.cfg
log_file={log}
log_archive_path={var}/archives
log_rotation_method=n
use_syslog=0
log_notifications=1
log_service_retries=1
log_host_retries=1
log_event_handlers=1
log_initial_states=1
log_current_states=1
log_external_commands=1
log_passive_checks=1
object_cache_file={objects_cache}
precached_object_file={var}/objects.precache
status_file={status}
status_update_interval={status_update_interval}
temp_file={var}/nagios.tmp
temp_path={var}/tmp
lock_file={lock}
check_result_path={var}/spool/checkresults
state_retention_file={var}/retention.dat
retain_state_information=0
use_retained_program_state=0
use_retained_scheduling_info=0
debug_file={var}/nagios.debug
debug_level=0
query_socket={query_socket}
nagios_user={user}
nagios_group={group}
check_external_commands=1
command_file={command_file}
enable_environment_macros={environment_macros}
enable_notifications=1
enable_event_handlers=0
execute_service_checks=1
execute_host_checks=1
accept_passive_service_checks=1
accept_passive_host_checks=1
passive_host_checks_are_soft=0
check_for_updates=0
bare_update_check=0
interval_length=1
max_service_check_spread={spread}
max_host_check_spread={spread}
service_inter_check_delay_method=s
host_inter_check_delay_method=s
service_interleave_factor=s
max_concurrent_checks=0
check_result_reaper_frequency=1
cached_host_check_horizon=0
cached_service_check_horizon=0
enable_predictive_host_dependency_checks=0
enable_predictive_service_dependency_checks=0
auto_reschedule_checks=0
service_check_timeout=30
host_check_timeout=30
notification_timeout=30
process_performance_data=0
obsess_over_services=0
obsess_over_hosts=0
check_service_freshness=0
check_host_freshness=0
enable_flap_detection=0
date_format=iso8601
illegal_object_name_chars=`~!$%^&*|'\"<>?,()=
admin_email=root@localhost
admin_pager=root@localhost
daemon_dumps_core=0
allow_empty_hostgroup_assignment=1
",
        objects = layout.etc.join("objects").display(),
        etc = layout.etc.display(),
        var = layout.var.display(),
        log = layout.log_file.display(),
        objects_cache = layout.object_cache_file.display(),
        status = layout.status_file.display(),
        lock = layout.lock_file.display(),
        query_socket = layout.query_socket.display(),
        command_file = layout.command_file.display(),
        spread = INITIAL_CHECK_SPREAD_SECONDS,
        environment_macros = environment_macros,
    )
}

fn base_objects(notify_command: &str) -> String {
    format!(
        "define timeperiod {{
    timeperiod_name 24x7
    alias           Always
    sunday          00:00-24:00
    monday          00:00-24:00
    tuesday         00:00-24:00
    wednesday       00:00-24:00
    thursday        00:00-24:00
    friday          00:00-24:00
    saturday        00:00-24:00
}}
define command {{
    command_name    hagios-check-service
    command_line    $USER1$/check_state.sh '$HOSTNAME$' '$SERVICEDESC$'
}}
define command {{
    command_name    hagios-check-host
    command_line    $USER1$/check_state.sh '$HOSTNAME$' .host
}}
define command {{
    command_name    hagios-notify
    command_line    {notify_command}
}}
define contact {{
    contact_name                    tester
    alias                           Test contact
    email                           root@localhost
    host_notifications_enabled      1
    service_notifications_enabled   1
    host_notification_period        24x7
    service_notification_period     24x7
    host_notification_options       d,u,r,f,s
    service_notification_options    w,u,c,r,f,s
    host_notification_commands      hagios-notify
    service_notification_commands   hagios-notify
}}
define contactgroup {{
    contactgroup_name   testers
    alias               Testers
    members             tester
}}
define host {{
    name                     hagios-host
    register                 0
    check_command            hagios-check-host
    max_check_attempts       1
    check_interval           {interval}
    retry_interval           {interval}
    check_period             24x7
    active_checks_enabled    1
    passive_checks_enabled   1
    notifications_enabled    1
    notification_interval    0
    notification_period      24x7
    notification_options     d,u,r,f,s
    first_notification_delay 0
    contact_groups           testers
    event_handler_enabled    0
    flap_detection_enabled   0
    process_perf_data        0
}}
define service {{
    name                     hagios-service
    register                 0
    check_command            hagios-check-service
    max_check_attempts       1
    check_interval           {interval}
    retry_interval           {interval}
    check_period             24x7
    active_checks_enabled    1
    passive_checks_enabled   1
    check_freshness          0
    notifications_enabled    1
    notification_interval    0
    notification_period      24x7
    notification_options     w,u,c,r,f,s
    first_notification_delay 0
    contact_groups           testers
    event_handler_enabled    0
    flap_detection_enabled   0
    process_perf_data        0
    is_volatile              0
}}
",
        interval = CHECK_INTERVAL_SECONDS,
    )
}
