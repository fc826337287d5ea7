//! Hosts from chat on Nagios end to end: `host add` / `host remove` typed on the terminal of
//! `hagios run`, confirmed with `yes`, written into the managed folder of a real, private Nagios,
//! reloaded and shown by `status`; a bad template comes back with the checker's report.

mod common;

use common::{nagios_section, write_config, Daemon as Bot, HAGIOS};
use hagios_testkit::{NagiosInstance, NagiosOptions};
use std::process::Command;

#[test]
fn hosts_are_added_shown_and_removed_from_chat() {
    let dir = tempfile::tempdir().expect("temp dir");
    let Some(nagios) = NagiosInstance::start(NagiosOptions { managed_dir: true, ..Default::default() }) else {
        return;
    };
    let managed = format!(
        "managed_dir = \"{}\"\nnagios_binary = \"{}\"\nreload_timeout = \"30s\"\n",
        nagios.managed_dir().display(),
        nagios.binary().display(),
    );
    let backend = nagios_section(&nagios) + &managed;
    let config = write_config(dir.path(), &backend, "[terminal]\nuser = \"oncall\"", "oncall");
    let mut bot = Bot::start("run", &config);
    // The terminal handles lines concurrently: each `yes` waits until its request was answered.

    bot.type_line("host add web07 127.0.0.7 hagios-host");
    bot.wait_for_text("add host web07 (127.0.0.7, template hagios-host)");
    assert!(!nagios.managed_dir().join("web07.cfg").exists(), "nothing before yes");
    bot.type_line("yes");
    bot.wait_for_text(
        "added host web07 — confirmed by Nagios (host web07 added; objects.cache and status.dat show it)",
    );
    bot.type_line("status web07");
    bot.wait_for_text("web07 is PENDING (checked never)");
    bot.wait_for_text("address: 127.0.0.7 · contact groups: testers");

    bot.type_line("host add web08 127.0.0.8 hagios-hots");
    bot.wait_for_text("add host web08 (127.0.0.8, template hagios-hots) in Nagios; nothing happens until you reply");
    bot.type_line("yes");
    bot.wait_for_text(
        "could not add host web08 (127.0.0.8, template hagios-hots): refused: host `web08` was not added",
    );
    bot.wait_for_text("uses template 'hagios-hots', which is not defined");
    bot.wait_for_text("did you mean 'hagios-host'?");
    assert!(!nagios.managed_dir().join("web08.cfg").exists(), "rolled back");

    bot.type_line("host remove web01");
    bot.wait_for_text("remove host web01 and its 3 services");
    bot.type_line("yes");
    bot.wait_for_text("host `web01` was not added from chat");
    bot.type_line("host remove web07");
    bot.wait_for_text("remove host web07 and its 0 services");
    bot.type_line("yes");
    bot.wait_for_text(
        "removed host web07 — confirmed by Nagios (host web07 removed; objects.cache and status.dat show it)",
    );
    assert!(!nagios.managed_dir().join("web07.cfg").exists());
    assert!(nagios.is_running());

    let output = Command::new(HAGIOS).args(["audit", "--config"]).arg(&config).output().expect("hagios audit");
    let audit = String::from_utf8_lossy(&output.stdout);
    assert!(audit.contains("-> confirmed: host web07 added"), "{audit}");
    assert!(audit.contains("-> failed: refused: host `web08` was not added"), "{audit}");
    assert!(audit.contains("-> confirmed: host web07 removed"), "{audit}");
}
