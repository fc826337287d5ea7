//! The whole contrib setup against Debian 12's packaged Nagios layout, in a private copy: its
//! nagios.cfg settings (status.dat every 10 s, environment macros off, external commands on),
//! Nagios running as `nagios`, its state folder `nagios:www-data` 0750 with the FIFO's `rw/`
//! group `www-data` — and hagios as an unprivileged user in the groups contrib/nagios/README.md
//! names, `nagios` and `www-data`. A notification reaches chat and an ack is confirmed.
//! Needs root (to run Nagios as `nagios` and hagios as another user), as CI runs.

mod common;

use common::{contrib_snippet, write_config, Daemon};
use hagios_testkit::{NagiosInstance, NagiosOptions};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

/// The user hagios runs as: not root, not `nagios`, and in Debian's two groups only for this run.
const HAGIOS_USER: [&str; 3] = ["--reuid=nobody", "--regid=nogroup", "--groups=nagios,www-data"];

/// A service that notifies the `hagios` contact, as README step 3 has the operator add it.
const CHAT_SERVICE: &str = "
define service {
    use                 hagios-service
    host_name           web01
    service_description Apt
    contacts            hagios
}
";

/// `install ARGS…`, as contrib/nagios/README.md has the operator type it.
fn install(args: &[&str], path: &Path) {
    let status = Command::new("install").args(args).arg(path).status().expect("run install");
    assert!(status.success(), "install {args:?} {}", path.display());
}

/// Owner, group and mode (permission and setgid bits) of `path`, as `ls -l` names them.
fn owners_and_mode(path: &Path) -> (String, String, u32) {
    let meta = std::fs::symlink_metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let name = |database: &str, id: u32| {
        let output = Command::new("getent").args([database, &id.to_string()]).output().expect("getent");
        String::from_utf8_lossy(&output.stdout).split(':').next().unwrap_or_default().to_owned()
    };
    (name("passwd", meta.uid()), name("group", meta.gid()), meta.permissions().mode() & 0o7777)
}

#[test]
fn the_contrib_setup_works_on_debians_packaged_layout_with_hagios_in_nagios_and_www_data() {
    if !common::root_or_skip("run Nagios as `nagios` and hagios as another user") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    // hagios' own folder (its state database), open to others like /var/spool so that Nagios
    // reaches the spool in it, made as contrib/nagios/README.md step 2 says.
    let home = dir.path().join("hagios");
    install(&["-d", "-o", "nobody", "-g", "nogroup", "-m", "0755"], &home);
    let spool = home.join("spool");
    install(&["-d", "-o", "nagios", "-g", "nagios", "-m", "2770"], &spool);

    let options = NagiosOptions::debian(contrib_snippet(&spool) + CHAT_SERVICE);
    let Some(nagios) = NagiosInstance::start(options) else { return };
    let state = nagios.status_file().parent().expect("the state folder");
    assert_eq!(owners_and_mode(state), ("nagios".into(), "www-data".into(), 0o750));
    let rw = nagios.command_file().parent().expect("rw/");
    assert_eq!(owners_and_mode(rw), ("nagios".into(), "www-data".into(), 0o2710));
    assert_eq!(owners_and_mode(nagios.command_file()), ("nagios".into(), "www-data".into(), 0o660));
    let main = std::fs::read_to_string(nagios.config_file()).expect("nagios.cfg");
    for setting in [
        "status_update_interval=10",
        "enable_environment_macros=0",
        "check_external_commands=1",
        "nagios_user=nagios",
        "nagios_group=nagios",
    ] {
        assert!(main.lines().any(|line| line == setting), "{setting} in nagios.cfg");
    }

    let config = write_config(&home, &nagios.hagios_section(), "[terminal]\nuser = \"oncall\"", "oncall");
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644)).expect("chmod hagios.toml");
    let mut bot = Daemon::start_as(&HAGIOS_USER, "run", &config);

    nagios.submit_service_result("web01", "Apt", 2, "CRITICAL - 3 security updates");
    let alert = bot.wait_for_message("PROBLEM web01!Apt is CRITICAL");
    bot.type_line(&format!("#{alert} ack on it"));
    bot.wait_for_text("acknowledged web01!Apt — confirmed by Nagios");
    common::wait_for_service_ack(&nagios, "web01", "Apt");
    // Whichever of Nagios and hagios made it, new/ is the spool's group's, so both may use it.
    let (_, group, mode) = owners_and_mode(&spool.join("new"));
    assert_eq!((group.as_str(), mode), ("nagios", 0o2770));
}
