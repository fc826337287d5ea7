//! `hagios-notify` as Nagios runs it: the built binary, with the environment of a real Nagios
//! 4.4.6 notification or with the flags of contrib/nagios/hagios.cfg (Debian's
//! `enable_environment_macros=0`), its exit codes, and the record it leaves in the spool.

use hagios_domain::{Notification, NotificationType, ObjectRef, State};
use hagios_spool::Spool;
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::Path;
use std::process::{Command, Output};

mod support;
use support::{nagios_environment, stderr, HOST_PROBLEM, SERVICE_PROBLEM};

/// The binary with a clean environment, so nothing from the test runner leaks in.
fn hagios_notify() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hagios-notify"));
    command.env_clear();
    command
}

/// The one record in the spool, after checking that the command printed its id.
fn the_record(spool_dir: &Path, output: &Output) -> Notification {
    assert!(output.status.success(), "exit {:?}: {}", output.status.code(), stderr(output));
    let spool = Spool::open(spool_dir).unwrap();
    let pending = spool.pending().unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), pending[0].as_str(), "prints the record id");
    spool.read(&pending[0]).unwrap()
}

#[test]
fn a_service_problem_from_the_environment_is_spooled() {
    let spool_dir = tempfile::tempdir().unwrap();
    let output = hagios_notify()
        .envs(nagios_environment(SERVICE_PROBLEM))
        .env("HAGIOS_SPOOL", spool_dir.path())
        .env("HAGIOS_SITE", "dc1")
        .output()
        .unwrap();

    let notification = the_record(spool_dir.path(), &output);
    assert_eq!(notification.object, ObjectRef::service("web01", "HTTP"));
    assert_eq!((notification.kind, notification.state), (NotificationType::Problem, State::Critical));
    assert_eq!((notification.site.as_str(), notification.time), ("dc1", 1_795_551_281));
    assert_eq!(notification.output, "CRITICAL - connection refused");
    assert_eq!(notification.macros.get("SERVICEPERFDATA").map(String::as_str), Some("time=0.1s"));
}

/// The arguments contrib/nagios/hagios.cfg passes in form B, as /bin/sh hands them over after
/// Nagios expanded the macros of an acknowledged service problem.
#[test]
fn a_service_acknowledgement_from_the_contrib_flags_is_spooled() {
    let spool_dir = tempfile::tempdir().unwrap();
    let output = hagios_notify()
        .arg("--spool")
        .arg(spool_dir.path())
        .args(["--type", "ACKNOWLEDGEMENT", "--host", "web01", "--service", "HTTP Load", "--state", "CRITICAL"])
        .args(["--output", "-1 connections (below 0)", "--long-output", r"first\nsecond"])
        .args(["--author", "alice", "--comment", "looking at it", "--time", "1795551281"])
        .output()
        .unwrap();

    let notification = the_record(spool_dir.path(), &output);
    assert_eq!(notification.kind, NotificationType::Acknowledgement);
    assert_eq!((notification.object, notification.state), (ObjectRef::service("web01", "HTTP Load"), State::Critical));
    assert_eq!(
        (notification.output.as_str(), notification.long_output.as_str()),
        ("-1 connections (below 0)", "first\nsecond")
    );
    assert_eq!(
        (notification.author.as_deref(), notification.comment.as_deref()),
        (Some("alice"), Some("looking at it"))
    );
    assert_eq!((notification.site.as_str(), notification.time), ("local", 1_795_551_281));
}

#[test]
fn a_host_problem_from_flags_with_empty_service_macros_is_spooled() {
    let spool_dir = tempfile::tempdir().unwrap();
    let output = hagios_notify()
        .env("HAGIOS_SPOOL", spool_dir.path())
        .args(["--type=PROBLEM", "--host=db01", "--service=", "--state=DOWN", "--output=DOWN - no ping"])
        .args(["--author", "", "--comment", "", "--site", "dc2"])
        .output()
        .unwrap();

    let notification = the_record(spool_dir.path(), &output);
    assert_eq!((notification.object, notification.state), (ObjectRef::host("db01"), State::Down));
    assert_eq!((notification.author, notification.site.as_str()), (None, "dc2"));
}

#[test]
fn plugin_output_that_is_not_utf8_is_spooled_not_refused() {
    let spool_dir = tempfile::tempdir().unwrap();
    let output = hagios_notify()
        .envs(nagios_environment(HOST_PROBLEM))
        .arg("--spool")
        .arg(spool_dir.path())
        .arg("--output")
        .arg(OsString::from_vec(b"DOWN - temp\xe9rature".to_vec()))
        .output()
        .unwrap();

    assert_eq!(the_record(spool_dir.path(), &output).output, "DOWN - temp\u{fffd}rature");
}

#[test]
fn unusable_input_exits_2_and_spools_nothing() {
    let spool_dir = tempfile::tempdir().unwrap();
    let refused = |arguments: &[&str], environment: Vec<(String, String)>| {
        let output =
            hagios_notify().envs(environment).env("HAGIOS_SPOOL", spool_dir.path()).args(arguments).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{arguments:?}: {}", stderr(&output));
        assert!(stderr(&output).starts_with("hagios-notify: "), "{}", stderr(&output));
        assert_eq!(stderr(&output).lines().count(), 1, "one line for Nagios' log: {}", stderr(&output));
        stderr(&output)
    };

    assert!(refused(&["--type", "PROBLEM"], Vec::new()).contains("no host"));
    let bad_state = refused(&["--state", "SIDEWAYS"], nagios_environment(HOST_PROBLEM));
    assert!(bad_state.contains("unknown state \"SIDEWAYS\""), "{bad_state}");
    assert!(refused(&["--hots", "web01"], Vec::new()).contains("unexpected argument \"--hots\""));
    assert!(refused(&["--host"], Vec::new()).contains("--host needs a value"));

    assert_eq!(Spool::open(spool_dir.path()).unwrap().pending().unwrap(), []);
}

#[test]
fn help_and_version_exit_0() {
    let help = hagios_notify().arg("--help").output().unwrap();
    assert!(help.status.success());
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("Usage: hagios-notify") && help.contains("--long-output L"), "{help}");

    let version = hagios_notify().arg("--version").output().unwrap();
    assert!(version.status.success());
    assert_eq!(String::from_utf8_lossy(&version.stdout).trim(), concat!("hagios-notify ", env!("CARGO_PKG_VERSION")));
}

#[test]
fn a_spool_that_cannot_be_made_exits_1_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let not_a_folder = dir.path().join("file");
    std::fs::write(&not_a_folder, "").unwrap();
    let spool_dir = not_a_folder.join("spool");

    let output =
        hagios_notify().envs(nagios_environment(SERVICE_PROBLEM)).arg("--spool").arg(&spool_dir).output().unwrap();

    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let message = stderr(&output);
    assert!(message.starts_with("hagios-notify: not spooled: cannot create "), "{message}");
    assert!(message.contains(&spool_dir.display().to_string()), "{message}");
    assert_eq!(message.lines().count(), 1, "one line for Nagios' log: {message}");
}
