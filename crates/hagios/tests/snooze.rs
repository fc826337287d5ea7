//! Holds end to end against a real, private Nagios: `snooze` typed on the terminal chat holds
//! Nagios' notifications in the spool (through a kill -9), `unsnooze` posts what still matters
//! exactly once and drops a problem that recovered while held; a `[[mute]]` window holds too.

mod common;

use common::{count_alerts, Daemon as Bot};

fn wait_spooled(site: &common::NagiosSite, count: usize) {
    common::wait_spooled(&site.spool, count);
}

#[test]
fn a_snoozed_problem_waits_through_a_crash_and_is_posted_once_when_unsnoozed() {
    let Some(site) = common::start_site("[terminal]\nuser = \"oncall\"", "oncall") else { return };
    let mut bot = Bot::start("run", &site.config);
    bot.type_line("snooze web01 HTTP 1h");
    bot.wait_for_text("snoozed web01!HTTP until");
    bot.type_line("snooze web01 Disk 1h");
    bot.wait_for_text("snoozed web01!Disk until");

    site.nagios.submit_service_result("web01", "HTTP", 2, "CRITICAL - snoozed outage");
    wait_spooled(&site, 1);
    // The spool is drained in order: once a later alert is posted, the snoozed one was looked at.
    site.nagios.submit_service_result("db01", "MySQL", 2, "CRITICAL - not snoozed");
    bot.wait_for_message("PROBLEM db01!MySQL is CRITICAL");
    assert_eq!(count_alerts(&bot.screen(), "PROBLEM web01!HTTP"), 0, "{}", bot.screen());
    wait_spooled(&site, 1);

    // A problem that comes and goes while snoozed.
    site.nagios.submit_service_result("web01", "Disk", 2, "CRITICAL - disk full");
    wait_spooled(&site, 2);
    site.nagios.submit_service_result("web01", "Disk", 0, "OK - disk cleaned");
    wait_spooled(&site, 3);
    let before_crash = bot.kill();

    let mut bot = Bot::start("run", &site.config);
    site.nagios.submit_service_result("db01", "Load", 2, "CRITICAL - load 99");
    bot.wait_for_message("PROBLEM db01!Load is CRITICAL");
    wait_spooled(&site, 3);
    bot.type_line("snoozes");
    bot.wait_for_text("2 snoozed:");

    bot.type_line("unsnooze web01 Disk");
    bot.wait_for_text("unsnoozed web01!Disk");
    wait_spooled(&site, 1);
    bot.type_line("unsnooze web01 HTTP");
    bot.wait_for_text("unsnoozed web01!HTTP");
    bot.wait_for_message("PROBLEM web01!HTTP is CRITICAL");
    wait_spooled(&site, 0);

    let everything = format!("{before_crash}{}", bot.screen());
    assert_eq!(count_alerts(&everything, "PROBLEM web01!HTTP is CRITICAL"), 1, "{everything}");
    let disk = count_alerts(&everything, "PROBLEM web01!Disk") + count_alerts(&everything, "RECOVERY web01!Disk");
    assert_eq!(disk, 0, "recovered while held: {everything}");
    let audit = common::audit(&site.config);
    assert!(audit.contains(r#"allowed unsnooze "unsnooze web01 HTTP" -> unsnoozed web01!HTTP"#), "audited: {audit}");
}

#[test]
fn a_mute_window_holds_matching_notifications_only() {
    // A window covering the whole week for db01: its problems wait, web01's are posted.
    let chat = "[terminal]\nuser = \"oncall\"\n\n[[mute]]\nname = \"db maintenance\"\ntimes = [\"00:00-24:00\"]\n\
                timezone = \"UTC\"\nhosts = [\"db01\"]\n";
    let Some(site) = common::start_site(chat, "oncall") else { return };
    let bot = Bot::start("run", &site.config);
    site.nagios.submit_service_result("db01", "MySQL", 2, "CRITICAL - muted by window");
    wait_spooled(&site, 1);
    site.nagios.submit_service_result("web01", "HTTP", 2, "CRITICAL - not muted");
    bot.wait_for_message("PROBLEM web01!HTTP is CRITICAL");
    wait_spooled(&site, 1);
    assert_eq!(count_alerts(&bot.screen(), "PROBLEM db01"), 0, "{}", bot.screen());
}
