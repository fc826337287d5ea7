//! `hagios notify` as Nagios runs it: the built binary, the environment of a real Nagios 4.4.6
//! notification, exit codes, and the record it leaves in the spool.

use hagios_domain::{NotificationType, ObjectRef, State};
use hagios_spool::Spool;
use std::process::Command;

#[path = "../../notify/tests/support/mod.rs"]
mod support;
use support::{nagios_environment, stderr, HOST_PROBLEM, SERVICE_PROBLEM};

/// The binary with a clean environment, so nothing from the test runner leaks in.
fn hagios_notify() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hagios"));
    command.env_clear().arg("notify");
    command
}

#[test]
fn a_service_problem_from_the_environment_is_spooled() {
    let spool_dir = tempfile::tempdir().unwrap();
    let output = hagios_notify()
        .envs(nagios_environment(SERVICE_PROBLEM))
        .env("HAGIOS_SPOOL", spool_dir.path())
        .output()
        .unwrap();
    assert!(output.status.success(), "exit {:?}: {}", output.status.code(), stderr(&output));

    let spool = Spool::open(spool_dir.path()).unwrap();
    let pending = spool.pending().unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), pending[0].as_str(), "prints the record id");
    let notification = spool.read(&pending[0]).unwrap();
    assert_eq!(notification.object, ObjectRef::service("web01", "HTTP"));
    assert_eq!((notification.kind, notification.state), (NotificationType::Problem, State::Critical));
    assert_eq!(notification.id, pending[0].as_str());
    assert_eq!(notification.time, 1_795_551_281);
}

#[test]
fn a_host_problem_from_flags_is_spooled() {
    let spool_dir = tempfile::tempdir().unwrap();
    let output = hagios_notify()
        .arg("--spool")
        .arg(spool_dir.path())
        .args(["--type", "PROBLEM", "--host", "db01", "--service", "", "--state", "DOWN"])
        .args(["--output", "DOWN - no ping", "--long-output", r"first\nsecond", "--time", "1795551281"])
        .args(["--site", "dc2"])
        .output()
        .unwrap();
    assert!(output.status.success(), "exit {:?}: {}", output.status.code(), stderr(&output));

    let spool = Spool::open(spool_dir.path()).unwrap();
    let notification = spool.read(&spool.pending().unwrap()[0]).unwrap();
    assert_eq!((notification.object, notification.state), (ObjectRef::host("db01"), State::Down));
    assert_eq!((notification.long_output.as_str(), notification.site.as_str()), ("first\nsecond", "dc2"));
}

/// Everything after `notify` reaches hagios-notify's parser untouched: values that look like
/// flags, and `--help`.
#[test]
fn arguments_pass_through_to_the_notify_command() {
    let spool_dir = tempfile::tempdir().unwrap();
    let output = hagios_notify()
        .env("HAGIOS_SPOOL", spool_dir.path())
        .args(["--type", "PROBLEM", "--host", "web01", "--service", "Temp", "--state", "CRITICAL"])
        .args(["--output", "-40 degrees", "--long-output", "--help"])
        .output()
        .unwrap();
    assert!(output.status.success(), "exit {:?}: {}", output.status.code(), stderr(&output));
    let spool = Spool::open(spool_dir.path()).unwrap();
    let notification = spool.read(&spool.pending().unwrap()[0]).unwrap();
    assert_eq!((notification.output.as_str(), notification.long_output.as_str()), ("-40 degrees", "--help"));

    let help = hagios_notify().arg("--help").output().unwrap();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("Usage: hagios notify [--spool DIR]"));
}

#[test]
fn unusable_input_exits_2_and_spools_nothing() {
    let spool_dir = tempfile::tempdir().unwrap();
    let no_host = hagios_notify().env("HAGIOS_SPOOL", spool_dir.path()).args(["--type", "PROBLEM"]).output().unwrap();
    assert_eq!(no_host.status.code(), Some(2));
    assert!(stderr(&no_host).contains("no host"), "{}", stderr(&no_host));

    let bad_state = hagios_notify()
        .envs(nagios_environment(HOST_PROBLEM))
        .env("HAGIOS_SPOOL", spool_dir.path())
        .args(["--state", "SIDEWAYS"])
        .output()
        .unwrap();
    assert_eq!(bad_state.status.code(), Some(2));
    assert!(stderr(&bad_state).contains("unknown state \"SIDEWAYS\""), "{}", stderr(&bad_state));

    assert_eq!(Spool::open(spool_dir.path()).unwrap().pending().unwrap(), []);
}

#[test]
fn a_spool_the_user_cannot_write_exits_1_naming_the_path() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o500)).unwrap();
    let spool_dir = dir.path().join("spool");

    // root ignores permissions, so as root the command runs as nobody, like an unprivileged Nagios.
    let mut command = if is_root() {
        let mut setpriv = Command::new("setpriv");
        setpriv.env_clear().args(["--reuid=65534", "--regid=65534", "--clear-groups"]);
        setpriv.arg(env!("CARGO_BIN_EXE_hagios")).arg("notify");
        setpriv
    } else {
        hagios_notify()
    };
    let output = command.envs(nagios_environment(SERVICE_PROBLEM)).env("HAGIOS_SPOOL", &spool_dir).output().unwrap();

    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let message = stderr(&output);
    assert!(message.contains(&spool_dir.display().to_string()), "{message}");
    assert!(message.contains("permission denied"), "{message}");
    assert_eq!(message.lines().count(), 1, "one line for Nagios' log: {message}");
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}
