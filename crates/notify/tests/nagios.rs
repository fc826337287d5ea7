//! `hagios-notify` under a real Nagios 4 set up as Debian ships it (`enable_environment_macros=0`),
//! with the service notification command of contrib/nagios/hagios.cfg as it stands (form B: the
//! macros as flags, through Nagios' /bin/sh).

use hagios_domain::{Notification, NotificationType, ObjectRef, State};
use hagios_spool::Spool;
use hagios_testkit::{wait_until, NagiosInstance, NagiosOptions};
use std::path::Path;
use std::time::Duration;

const CONTRIB: &str = include_str!("../../../contrib/nagios/hagios.cfg");
const INSTALLED_BINARY: &str = "/usr/bin/hagios-notify";
const INSTALLED_SPOOL: &str = "/var/spool/hagios";
const WAIT: Duration = Duration::from_secs(30);

/// The `command_line` of the first (uncommented) definition of `name` in the contrib snippet,
/// pointed at the binary under test and at `spool`.
fn contrib_command_line(name: &str, spool: &Path) -> String {
    let mut lines =
        CONTRIB.lines().skip_while(|line| line.split_whitespace().collect::<Vec<_>>() != ["command_name", name]);
    let line = lines.nth(1).unwrap_or_else(|| panic!("no command {name} in contrib/nagios/hagios.cfg"));
    let command_line = line.trim().strip_prefix("command_line").expect("command_line follows command_name").trim();
    assert!(command_line.starts_with(INSTALLED_BINARY), "{command_line}");
    command_line.replacen(INSTALLED_BINARY, env!("CARGO_BIN_EXE_hagios-notify"), 1).replacen(
        INSTALLED_SPOOL,
        &spool.display().to_string(),
        1,
    )
}

/// Waits for the `count`th record and returns it.
fn wait_for_record(spool: &Spool, count: usize, nagios: &NagiosInstance) -> Notification {
    let id =
        wait_until(WAIT, || spool.pending().ok().filter(|ids| ids.len() >= count).map(|ids| ids[count - 1].clone()))
            .unwrap_or_else(|| panic!("no record {count} in the spool; Nagios log:\n{}", nagios.log()));
    spool.read(&id).unwrap()
}

#[test]
fn debian_macros_off_with_the_contrib_command_spools_problem_and_acknowledgement() {
    let spool_dir = tempfile::tempdir().unwrap();
    let options = NagiosOptions {
        notify_command: Some(contrib_command_line("notify-service-by-hagios", spool_dir.path())),
        without_environment_macros: true,
        ..NagiosOptions::default()
    };
    let Some(nagios) = NagiosInstance::start(options) else { return };
    let spool = Spool::open(spool_dir.path()).unwrap();

    // Output that starts with a dash, as plugins' numbers do: a value, not a flag.
    nagios.submit_service_result("web01", "HTTP", 2, "-1 connections - CRITICAL");
    let problem = wait_for_record(&spool, 1, &nagios);
    assert_eq!((problem.kind, problem.state), (NotificationType::Problem, State::Critical));
    assert_eq!(problem.object, ObjectRef::service("web01", "HTTP"));
    assert_eq!((problem.output.as_str(), problem.author.as_deref()), ("-1 connections - CRITICAL", None));
    assert!(problem.macros.is_empty(), "no NAGIOS_* environment with macros off: {:?}", problem.macros);

    nagios.submit_raw("ACKNOWLEDGE_SVC_PROBLEM;web01;HTTP;1;1;0;alice;looking at it");
    let acknowledgement = wait_for_record(&spool, 2, &nagios);
    assert_eq!(acknowledgement.kind, NotificationType::Acknowledgement);
    assert_eq!(acknowledgement.object, ObjectRef::service("web01", "HTTP"));
    assert_eq!(
        (acknowledgement.author.as_deref(), acknowledgement.comment.as_deref()),
        (Some("alice"), Some("looking at it"))
    );
}
