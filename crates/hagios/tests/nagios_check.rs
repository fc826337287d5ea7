//! `hagios nagios check`: exit codes and the `file:line: error:` output people read.

use std::path::Path;
use std::process::{Command, Output};

const OBJECTS: &str = "\
define timeperiod {
    timeperiod_name 24x7
    alias           Always
}
define command {
    command_name check_dummy
    command_line /bin/true
}
define host {
    name               generic-host
    register           0
    max_check_attempts 3
    check_command      check_dummy
}
define host {
    use       generic-host
    host_name web1
}
";

fn write_config(dir: &Path, extra_objects: &str) -> std::path::PathBuf {
    std::fs::write(dir.join("objects.cfg"), format!("{OBJECTS}{extra_objects}")).unwrap();
    let main = dir.join("nagios.cfg");
    std::fs::write(&main, "# main\ncfg_file=objects.cfg\n").unwrap();
    main
}

fn run(main: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hagios")).args(["nagios", "check"]).arg(main).output().unwrap()
}

#[test]
fn valid_configuration_exits_0_with_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(&write_config(dir.path(), ""));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("1 host, 0 services in 1 object file; 0 errors, 0 warnings: OK"), "{stdout}");
}

#[test]
fn errors_exit_1_with_file_line_chain_and_suggestion() {
    let dir = tempfile::tempdir().unwrap();
    let extra = "define host {\n    use       generic-host\n    host_name web2\n    check_period 24x8\n}\n\
                 define host {\n    use       generic-hots\n    host_name web3\n}\n";
    let output = run(&write_config(dir.path(), extra));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    let objects = dir.path().join("objects.cfg");
    let period = format!(
        "{}:22: error: host 'web2': check_period names timeperiod '24x8', which is not defined\n    did you mean '24x7'?",
        objects.display()
    );
    assert!(stdout.contains(&period), "{stdout}");
    let template = format!(
        "{}:25: error: host 'web3' uses template 'generic-hots', which is not defined\n    did you mean 'generic-host'?",
        objects.display()
    );
    assert!(stdout.contains(&template), "{stdout}");
    assert!(stdout.contains("2 errors, 0 warnings: Nagios would refuse this configuration"), "{stdout}");
}

#[test]
fn unreadable_main_configuration_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(&dir.path().join("missing.cfg"));
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot read the main Nagios configuration"));
}
