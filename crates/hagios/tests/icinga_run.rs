//! `hagios run` end to end against a real, private Icinga 2 (hagios-testkit): alerts come from
//! the API's event stream without any notification script, commands typed on the terminal change
//! Icinga (checked through its API), and a stream that was down is reconciled without losing or
//! repeating alerts.

mod common;

use common::{count_alerts, write_config, Daemon as Bot, PATIENCE};
use hagios_domain::ObjectRef;
use hagios_testkit::{wait_until, IcingaInstance, IcingaOptions};
use serde_json::json;
use std::path::PathBuf;
use std::time::Duration;

/// Icinga delivers about a quarter of its events 4–5 s late: waiting this long before counting
/// shows that late events neither duplicate nor reorder anything.
const LATE_EVENTS: Duration = Duration::from_secs(7);

struct Site {
    icinga: IcingaInstance,
    config: PathBuf,
    dir: tempfile::TempDir,
}

impl Site {
    fn start() -> Option<Site> {
        let icinga = IcingaInstance::start(IcingaOptions::default())?;
        let dir = tempfile::tempdir().expect("temp dir");
        let backend = format!(
            r#"
[icinga]
site = "test"
url = "{url}"
user = "{user}"
password_env = "TEST_ICINGA_PASSWORD"
ca_file = "{ca}"
confirm_timeout = "15s"
"#,
            url = icinga.url(),
            user = icinga.api_user(),
            ca = icinga.ca_file().display(),
        );
        let config = write_config(dir.path(), &backend, "[terminal]\nuser = \"oncall\"", "oncall");
        Some(Site { icinga, config, dir })
    }

    fn bot(&self) -> Bot {
        Bot::start_with_env("run", &self.config, &[("TEST_ICINGA_PASSWORD", self.icinga.api_password())])
    }

    /// A bot whose event stream is open: a problem raised before it started shows up through
    /// the reconciliation that follows opening the stream.
    /// Waits until the store records the open incident of `object`: the delivery is committed,
    /// so a kill -9 now falls outside the moment between the post and its commit (which the
    /// terminal, unable to look its posts up, would show again after a restart).
    fn wait_recorded(&self, object: &ObjectRef) {
        let store =
            hagios_store::Store::open(self.dir.path().join("state.db")).expect("store").for_platform("terminal");
        wait_until(PATIENCE, || store.open_incident_for("test", object).expect("incident read"))
            .unwrap_or_else(|| panic!("the store records no open incident of {object} within {PATIENCE:?}"));
    }

    fn started_bot(&self) -> Bot {
        self.icinga.process_check_result("db01", None, 1, "DOWN - before hagios started");
        let bot = self.bot();
        bot.wait_for_message("PROBLEM db01 is DOWN");
        bot
    }
}

#[test]
fn a_forced_critical_alerts_from_the_event_stream_and_an_ack_in_its_thread_reaches_icinga() {
    let Some(site) = Site::start() else { return };
    let mut bot = site.started_bot();

    site.icinga.process_check_result("web01", Some("HTTP"), 2, "CRITICAL - connection refused");
    let alert = bot.wait_for_message("PROBLEM web01!HTTP is CRITICAL");
    bot.wait_for_text("CRITICAL - connection refused");

    bot.type_line(&format!("#{alert} ack for 1h looking into it"));
    bot.wait_for_text("acknowledged web01!HTTP until ");
    bot.wait_for_text("— confirmed by Icinga 2 (acknowledged web01!HTTP)");
    let attrs = site.icinga.object_attrs("web01", Some("HTTP"));
    assert_ne!(attrs["acknowledgement"], 0.0, "{attrs}");
    assert!(attrs["acknowledgement_expiry"].as_f64().is_some_and(|expiry| expiry > 0.0), "{attrs}");
    bot.wait_for_message(&format!("in thread #{alert}] ACKNOWLEDGEMENT web01!HTTP"));
    bot.wait_for_text(&format!("[#{alert} edited]"));

    bot.type_line(&format!("#{alert} recheck"));
    bot.wait_for_text("rechecked web01!HTTP");

    // Queries read the objects API.
    bot.type_line("status web01 HTTP");
    bot.wait_for_text("CRITICAL - connection refused");
    bot.type_line("problems DOWN");
    bot.wait_for_text("DOWN - before hagios started");

    std::thread::sleep(LATE_EVENTS);
    let screen = bot.screen();
    assert_eq!(count_alerts(&screen, "PROBLEM web01!HTTP is CRITICAL"), 1, "{screen}");
    assert_eq!(count_alerts(&screen, "ACKNOWLEDGEMENT web01!HTTP"), 1, "{screen}");
}

#[test]
fn hard_state_changes_reach_chat_once_whether_or_not_icinga_notifies() {
    let Some(site) = Site::start() else { return };
    let bot = site.started_bot();
    let icinga = &site.icinga;

    // Icinga notifies nobody (its only user's notifications are off): no Notification event; the
    // StateChange alone alerts.
    let nobody = json!({"attrs": {"enable_notifications": false}});
    icinga.api_ok("POST", "/v1/objects/users/tester", Some(&nobody));
    icinga.process_check_result("web01", Some("Disk"), 2, "CRITICAL - disk full");
    bot.wait_for_message("PROBLEM web01!Disk is CRITICAL");
    let everybody = json!({"attrs": {"enable_notifications": true}});
    icinga.api_ok("POST", "/v1/objects/users/tester", Some(&everybody));

    // Notifications on: a StateChange and a Notification report the same change.
    icinga.process_check_result("web01", Some("HTTP"), 2, "CRITICAL - connection refused");
    let alert = bot.wait_for_message("PROBLEM web01!HTTP is CRITICAL");
    icinga.process_check_result("web01", Some("HTTP"), 1, "WARNING - slow answers");
    bot.wait_for_message(&format!("in thread #{alert}] PROBLEM web01!HTTP is WARNING"));
    bot.wait_for_text(&format!("[#{alert} edited] PROBLEM web01!HTTP is WARNING"));

    // Acknowledged (sticky): Icinga notifies no more, yet the open incident's thread hears of it.
    let ack = json!({
        "type": "Service", "filter": "host.name == \"web01\" && service.name == \"HTTP\"",
        "author": "test", "comment": "known", "sticky": true,
    });
    icinga.api_ok("POST", "/v1/actions/acknowledge-problem", Some(&ack));
    bot.wait_for_message(&format!("in thread #{alert}] ACKNOWLEDGEMENT web01!HTTP"));
    icinga.process_check_result("web01", Some("HTTP"), 2, "CRITICAL - worse again");
    bot.wait_for_message(&format!("in thread #{alert}] PROBLEM web01!HTTP is CRITICAL"));

    // Soft states stay out of chat: a service retrying before Icinga is sure.
    let retrying = json!({"attrs": {"max_check_attempts": 3}});
    icinga.api_ok("POST", "/v1/objects/services/db01!Load", Some(&retrying));
    icinga.process_check_result("db01", Some("Load"), 2, "CRITICAL - soft");
    icinga.process_check_result("db01", Some("Load"), 0, "OK - fine again");

    // In downtime: no new incident.
    let now = hagios_domain::unix_now();
    let downtime = json!({
        "type": "Service", "filter": "host.name == \"db01\" && service.name == \"MySQL\"",
        "start_time": now - 10, "end_time": now + 3600, "fixed": true, "author": "test", "comment": "planned",
    });
    icinga.api_ok("POST", "/v1/actions/schedule-downtime", Some(&downtime));
    icinga.wait_for_attrs("db01", Some("MySQL"), PATIENCE, |attrs| attrs["downtime_depth"].as_f64() > Some(0.0));
    icinga.process_check_result("db01", Some("MySQL"), 2, "CRITICAL - planned maintenance");

    // Something after all that, to know the events before it were handled.
    icinga.process_check_result("web01", Some("HTTP"), 0, "OK - back");
    bot.wait_for_message(&format!("in thread #{alert}] RECOVERY web01!HTTP is OK"));
    std::thread::sleep(LATE_EVENTS);
    let screen = bot.screen();
    for (alert, count) in [
        ("PROBLEM web01!Disk is CRITICAL", 1),
        ("PROBLEM web01!HTTP is CRITICAL", 2),
        (&format!("in thread #{alert}] PROBLEM web01!HTTP is CRITICAL"), 1),
        ("PROBLEM web01!HTTP is WARNING", 1),
        ("RECOVERY web01!HTTP is OK", 1),
        ("db01!Load", 0),
        ("db01!MySQL is CRITICAL", 0),
    ] {
        assert_eq!(count_alerts(&screen, alert), count, "{alert}:\n{screen}");
    }
}

#[test]
fn a_muted_object_opens_no_incident_until_unmuted_and_an_open_incident_still_hears_of_it() {
    let Some(mut site) = Site::start() else { return };
    let mut bot = site.started_bot();

    bot.type_line("mute web01 Disk");
    bot.wait_for_text("— confirmed by Icinga 2 (notifications disabled for web01!Disk)");
    site.icinga.process_check_result("web01", Some("Disk"), 2, "CRITICAL - disk full");
    // A muted host leaves its services' notifications on, as on Nagios.
    bot.type_line("mute web01");
    bot.wait_for_text("— confirmed by Icinga 2 (notifications disabled for web01)");
    site.icinga.process_check_result("web01", Some("HTTP"), 2, "CRITICAL - connection refused");
    let alert = bot.wait_for_message("PROBLEM web01!HTTP is CRITICAL");
    site.icinga.process_check_result("web01", None, 1, "DOWN - muted host");
    // Whether an object is muted is read when its change arrives, and Icinga sends some events
    // 4–5 s late: the Disk change has arrived (while muted) before anything is unmuted.
    std::thread::sleep(LATE_EVENTS);
    for muted in ["PROBLEM web01!Disk", "PROBLEM web01 is DOWN"] {
        assert_eq!(count_alerts(&bot.screen(), muted), 0, "{muted}:\n{}", bot.screen());
    }

    // Muting an object whose incident is open in chat: its recovery still closes the thread.
    bot.type_line("mute web01 HTTP");
    bot.wait_for_text("— confirmed by Icinga 2 (notifications disabled for web01!HTTP)");
    site.icinga.process_check_result("web01", Some("HTTP"), 0, "OK - back");
    bot.wait_for_message(&format!("in thread #{alert}] RECOVERY web01!HTTP is OK"));

    // Reconnecting reconciles: still muted, the CRITICAL Disk opens nothing.
    site.icinga.restart();
    site.icinga.process_check_result("db01", Some("Load"), 1, "WARNING - load 7");
    bot.wait_for_message("PROBLEM db01!Load is WARNING");

    bot.type_line("unmute web01 Disk");
    bot.wait_for_text("— confirmed by Icinga 2 (notifications enabled for web01!Disk)");
    site.icinga.process_check_result("web01", Some("Disk"), 1, "WARNING - disk 91% full");
    bot.wait_for_message("PROBLEM web01!Disk is WARNING");
    std::thread::sleep(LATE_EVENTS);
    let screen = bot.screen();
    for (alert, count) in [
        ("PROBLEM web01!Disk is CRITICAL", 0),
        ("PROBLEM web01 is DOWN", 0),
        ("PROBLEM web01!Disk is WARNING", 1),
        ("PROBLEM web01!HTTP is CRITICAL", 1),
        ("RECOVERY web01!HTTP is OK", 1),
        ("PROBLEM db01!Load is WARNING", 1),
    ] {
        assert_eq!(count_alerts(&screen, alert), count, "{alert}:\n{screen}");
    }
}

#[test]
fn what_happened_while_the_stream_was_down_is_reconciled_once() {
    let Some(mut site) = Site::start() else { return };
    let bot = site.started_bot();
    site.icinga.process_check_result("web01", Some("Disk"), 2, "CRITICAL - disk full");
    bot.wait_for_message("PROBLEM web01!Disk is CRITICAL");
    site.wait_recorded(&ObjectRef::service("web01", "Disk"));
    let before = bot.kill();

    // While hagios is down: a new problem, and the first one recovers. Icinga keeps no events.
    site.icinga.process_check_result("db01", Some("MySQL"), 2, "CRITICAL - too many connections");
    site.icinga.process_check_result("web01", Some("Disk"), 0, "OK - cleaned up");
    // A soft problem (Icinga still retrying) is no problem for chat yet.
    let retrying = json!({"attrs": {"max_check_attempts": 3}});
    site.icinga.api_ok("POST", "/v1/objects/services/web01!HTTP", Some(&retrying));
    site.icinga.process_check_result("web01", Some("HTTP"), 2, "CRITICAL - first try");

    let bot = site.bot();
    bot.wait_for_message("PROBLEM db01!MySQL is CRITICAL");
    bot.wait_for_message("RECOVERY web01!Disk is OK");

    // Icinga restarts: the stream drops and reconnects; nothing is announced again.
    site.icinga.restart();
    site.icinga.process_check_result("db01", Some("Load"), 1, "WARNING - load 7");
    bot.wait_for_message("PROBLEM db01!Load is WARNING");
    std::thread::sleep(LATE_EVENTS);
    let everything = format!("{before}{}", bot.screen());
    for alert in ["PROBLEM web01!Disk is CRITICAL", "PROBLEM db01!MySQL is CRITICAL", "RECOVERY web01!Disk is OK"] {
        assert_eq!(count_alerts(&everything, alert), 1, "{alert}:\n{everything}");
    }
    assert_eq!(count_alerts(&everything, "web01!HTTP is"), 0, "soft:\n{everything}");
}

#[test]
fn hosts_are_added_and_removed_from_chat_after_a_yes_and_audited() {
    let Some(site) = Site::start() else { return };
    let mut bot = site.bot();
    bot.type_line("host add web05 192.0.2.5 hagios-host");
    bot.wait_for_text("nothing happens until you reply `yes`");
    assert!(site.icinga.object_attrs("web05", None).is_null(), "nothing before yes");
    bot.type_line("yes");
    bot.wait_for_text("added host web05 — confirmed by Icinga 2");
    assert_eq!(site.icinga.object_attrs("web05", None)["address"], "192.0.2.5");

    bot.type_line("host add web06 192.0.2.6 no-such-template");
    bot.wait_for_text("template no-such-template) in Icinga 2");
    bot.type_line("yes");
    bot.wait_for_text("use a host template defined in Icinga 2");

    bot.type_line("host remove web05");
    bot.wait_for_text("this will remove host web05");
    bot.type_line("yes");
    bot.wait_for_text("removed host web05 — confirmed by Icinga 2");
    assert!(site.icinga.object_attrs("web05", None).is_null());

    let audit = std::process::Command::new(common::HAGIOS)
        .args(["audit", "--config"])
        .arg(&site.config)
        .output()
        .expect("hagios audit");
    let audit = String::from_utf8_lossy(&audit.stdout);
    assert!(audit.contains(r#"allowed host add "host add web05 192.0.2.5 hagios-host" -> awaiting yes"#), "{audit}");
    assert!(audit.contains(r#"allowed yes "yes" -> confirmed: host web05 added"#), "{audit}");
}

#[test]
fn a_downtime_is_listed_with_its_icinga_name_and_cancelled_by_that_name() {
    let Some(site) = Site::start() else { return };
    let mut bot = site.bot();
    bot.type_line("downtime web01 HTTP 1h deploy");
    bot.wait_for_text("scheduled for web01!HTTP");
    let downtimes = site.icinga.query("downtimes", &serde_json::json!({"attrs": ["name"]}));
    let [downtime] = downtimes.as_slice() else { panic!("one downtime: {downtimes:?}") };
    let name = downtime["name"].as_str().expect("downtime name").to_owned();
    assert!(name.starts_with("web01!HTTP!"), "{name}");

    bot.type_line("downtimes");
    bot.wait_for_text(&format!("{name} · "));
    bot.type_line(&format!("downtime cancel {name}"));
    bot.wait_for_text("cancelled downtime #");
    assert!(site.icinga.query("downtimes", &serde_json::json!({})).is_empty(), "cancelled in Icinga");
}

#[test]
fn comments_and_downtimes_made_through_the_api_join_the_incidents_thread() {
    let Some(site) = Site::start() else { return };
    let bot = site.started_bot();
    site.icinga.process_check_result("web01", Some("HTTP"), 2, "CRITICAL - connection refused");
    let alert = bot.wait_for_message("PROBLEM web01!HTTP is CRITICAL");

    // As Icinga Web adds it: a person's comment through the API.
    let body = serde_json::json!({
        "type": "Service", "filter": "host.name==\"web01\" && service.name==\"HTTP\"",
        "author": "web-user", "comment": "replaced the cable",
    });
    site.icinga.api_ok("POST", "/v1/actions/add-comment", Some(&body));
    bot.wait_for_message(&format!("in thread #{alert}] COMMENT web01!HTTP is CRITICAL"));
    bot.wait_for_text("comment (CRITICAL) by web-user: replaced the cable");
    bot.wait_for_text(&format!("[#{alert} edited]"));

    let of_http = serde_json::json!({
        "type": "Service", "filter": "host.name==\"web01\" && service.name==\"HTTP\"",
    });
    site.icinga.api_ok("POST", "/v1/actions/remove-comment", Some(&of_http));
    bot.wait_for_text("comment by web-user removed: replaced the cable");

    let start = hagios_domain::unix_now() + 3600;
    let downtime = serde_json::json!({
        "type": "Service", "filter": "host.name==\"web01\" && service.name==\"HTTP\"",
        "author": "web-user", "comment": "kernel update", "start_time": start, "end_time": start + 3600, "fixed": true,
    });
    site.icinga.api_ok("POST", "/v1/actions/schedule-downtime", Some(&downtime));
    bot.wait_for_text("downtime scheduled (CRITICAL) by web-user: kernel update");
}
