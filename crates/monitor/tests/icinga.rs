//! The Icinga 2 backend against a real, private Icinga 2 (hagios-testkit): every action changes
//! Icinga's own state (checked through the API as the test's admin user) and comes back
//! confirmed with the same wording as on Nagios; logins and refusals say what to do.

mod common;

use common::notifying_ack;
use hagios_domain::free_text::{clean_author, clean_text};
use hagios_domain::{Action, DowntimeSpan, DowntimeTarget, ObjectRef, Outcome, State};
use hagios_monitor::icinga::client::Credentials;
use hagios_monitor::icinga::events::notifications_enabled;
use hagios_monitor::icinga::{IcingaConfig, IcingaMonitor};
use hagios_monitor::{Monitor, MonitorError};
use hagios_testkit::{IcingaInstance, IcingaOptions, Quoting, ShellCapture};
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(15);
/// Icinga sends notifications from a timer; a quarter of its events arrive seconds late.
const SLOW_NOTIFICATION: Duration = Duration::from_secs(30);

fn config(icinga: &IcingaInstance) -> IcingaConfig {
    IcingaConfig {
        site: "test".into(),
        confirm_timeout: PATIENCE,
        ..IcingaConfig::at(icinga.url(), Some(icinga.ca_file()))
    }
}

fn password(icinga: &IcingaInstance) -> Credentials {
    Credentials::Password { user: icinga.api_user().into(), password: icinga.api_password().into() }
}

fn monitor_of(icinga: &IcingaInstance) -> IcingaMonitor {
    IcingaMonitor::new(config(icinga), password(icinga)).expect("client set up")
}

fn confirmed(outcome: Result<Outcome, MonitorError>) -> String {
    match outcome {
        Ok(Outcome::Confirmed(detail)) => detail,
        other => panic!("expected a confirmed outcome, got {other:?}"),
    }
}

fn start() -> Option<(IcingaInstance, IcingaMonitor)> {
    let icinga = IcingaInstance::start(IcingaOptions::default())?;
    let monitor = monitor_of(&icinga);
    Some((icinga, monitor))
}

#[tokio::test(flavor = "multi_thread")]
async fn snapshot_lists_the_fixture_with_states_and_groups() {
    let Some((icinga, monitor)) = start() else { return };
    icinga.process_check_result("db01", Some("MySQL"), 2, "CRITICAL - gone\nsecond line");
    let snapshot = monitor.snapshot().await.expect("snapshot");
    let mysql = snapshot.service("db01", "MySQL").expect("db01!MySQL");
    assert_eq!(
        (mysql.state, mysql.output.as_str(), mysql.long_output.as_str()),
        (State::Critical, "CRITICAL - gone", "second line")
    );
    assert_eq!(snapshot.host("web01").map(|host| host.state), Some(State::Up));
    assert!(snapshot.has_service("web01", "HTTP Load"));
    assert_eq!(snapshot.hostgroups_of("web01"), ["web"]);
    assert_eq!(snapshot.inventory.hosts["db01"].address, "127.0.0.2");
}

#[tokio::test(flavor = "multi_thread")]
async fn acknowledgement_with_expiry_is_confirmed_and_removed() {
    let Some((icinga, monitor)) = start() else { return };
    icinga.process_check_result("web01", Some("HTTP Load"), 2, "CRITICAL - slow");
    let target = ObjectRef::service("web01", "HTTP Load");
    let expire = hagios_domain::unix_now() + 3600;
    let ack = Action::Acknowledge {
        target: target.clone(),
        comment: "looking; \"quotes\" && $macros$".into(),
        sticky: true,
        notify: false,
        persistent: false,
        expire: Some(expire),
    };
    assert_eq!(confirmed(monitor.execute(&ack, "alice").await), "acknowledged web01!HTTP Load");
    let attrs = icinga.object_attrs("web01", Some("HTTP Load"));
    assert_eq!(attrs["acknowledgement"], 2.0, "sticky");
    assert_eq!(attrs["acknowledgement_expiry"], expire as f64);
    let comments = icinga.query("comments", &serde_json::json!({"attrs": ["author", "text", "entry_type"]}));
    assert!(comments
        .iter()
        .any(|c| c["attrs"]["text"] == "looking, ”quotes” ＆＆ ＄macros＄" && c["attrs"]["author"] == "alice"));

    let unack = Action::RemoveAcknowledgement { target };
    assert_eq!(confirmed(monitor.execute(&unack, "alice").await), "acknowledgement removed from web01!HTTP Load");
    assert_eq!(icinga.object_attrs("web01", Some("HTTP Load"))["acknowledgement"], 0.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn acknowledging_an_ok_object_is_refused_with_icingas_reason() {
    let Some((_icinga, monitor)) = start() else { return };
    let ack = Action::Acknowledge {
        target: ObjectRef::host("db01"),
        comment: "x".into(),
        sticky: false,
        notify: false,
        persistent: false,
        expire: None,
    };
    let err = monitor.execute(&ack, "alice").await.expect_err("db01 is UP");
    assert!(matches!(&err, MonitorError::Refused(reason) if reason.contains("UP")), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn downtimes_for_host_service_and_host_with_services_are_scheduled_and_cancelled() {
    let Some((icinga, monitor)) = start() else { return };
    let now = hagios_domain::unix_now();
    let span = DowntimeSpan { start: now, end: now + 3600, fixed: true, duration: 3600 };
    let targets = [
        (DowntimeTarget::Host("web01".into()), "web01", 1),
        (DowntimeTarget::Service { host: "web01".into(), service: "HTTP".into() }, "web01!HTTP", 1),
        (DowntimeTarget::HostAndServices("db01".into()), "db01", 3),
    ];
    for (target, shown, created) in targets {
        let before = icinga.query("downtimes", &serde_json::json!({"attrs": ["legacy_id"]})).len();
        let schedule = Action::ScheduleDowntime { target, span, comment: "maintenance".into() };
        let detail = confirmed(monitor.execute(&schedule, "bob").await);
        let id: u64 = detail
            .strip_prefix("downtime #")
            .and_then(|rest| rest.strip_suffix(&format!(" scheduled for {shown}")))
            .and_then(|id| id.parse().ok())
            .unwrap_or_else(|| panic!("unexpected confirmation {detail:?}"));
        let after = icinga.query("downtimes", &serde_json::json!({"attrs": ["legacy_id"]})).len();
        assert_eq!(after - before, created, "downtimes created for {shown}");
        let snapshot = monitor.snapshot().await.expect("snapshot");
        let listed = snapshot.status.downtimes.iter().find(|downtime| downtime.id == id).expect("listed by id");
        let name = listed.name.as_deref().unwrap_or_default();
        assert!(name.starts_with(&format!("{shown}!")), "Icinga's name {name:?} for {shown}");

        let cancel = Action::DeleteDowntime { id };
        assert_eq!(confirmed(monitor.execute(&cancel, "bob").await), format!("downtime #{id} cancelled"));
    }
    assert!(icinga.wait_for_attrs("web01", None, PATIENCE, |attrs| attrs["downtime_depth"] == 0.0).is_some());
    let unknown = monitor.execute(&Action::DeleteDowntime { id: 999_999 }, "bob").await;
    assert!(matches!(unknown, Err(MonitorError::UnknownObject { kind: "downtime", .. })), "{unknown:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn recheck_is_forced_and_shows_the_new_result() {
    let Some((icinga, monitor)) = start() else { return };
    icinga.set_check_state("db01", Some("Load"), 1, "WARNING - load 9");
    let recheck = Action::Recheck { target: ObjectRef::service("db01", "Load") };
    assert_eq!(confirmed(monitor.execute(&recheck, "carol").await), "rechecked db01!Load: WARNING WARNING - load 9");
    assert_eq!(icinga.object_attrs("db01", Some("Load"))["state"], 1.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn notifications_are_disabled_and_enabled() {
    let Some((icinga, monitor)) = start() else { return };
    for target in [ObjectRef::host("web01"), ObjectRef::service("web01", "Disk")] {
        let mute = Action::DisableNotifications { target: target.clone() };
        assert_eq!(confirmed(monitor.execute(&mute, "dave").await), format!("notifications disabled for {target}"));
        assert_eq!(icinga.object_attrs(&target.host, target.service.as_deref())["enable_notifications"], false);
        let unmute = Action::EnableNotifications { target: target.clone() };
        assert_eq!(confirmed(monitor.execute(&unmute, "dave").await), format!("notifications enabled for {target}"));
        assert_eq!(icinga.object_attrs(&target.host, target.service.as_deref())["enable_notifications"], true);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_event_streams_consumer_reads_one_objects_notification_switch_as_on_nagios() {
    let Some((_icinga, monitor)) = start() else { return };
    let (host, disk) = (ObjectRef::host("web01"), ObjectRef::service("web01", "Disk"));
    let enabled = |object: ObjectRef| {
        let client = monitor.client().clone();
        async move { notifications_enabled(&client, &object).await.expect("lookup") }
    };
    assert!(enabled(host.clone()).await && enabled(disk.clone()).await);
    confirmed(monitor.execute(&Action::DisableNotifications { target: host.clone() }, "dave").await);
    assert!(!enabled(host.clone()).await);
    assert!(enabled(disk.clone()).await, "a muted host leaves its services' notifications on, as Nagios does");
    confirmed(monitor.execute(&Action::DisableNotifications { target: disk.clone() }, "dave").await);
    assert!(!enabled(disk).await);
    let gone = notifications_enabled(monitor.client(), &ObjectRef::service("web01", "No Such")).await;
    assert!(matches!(gone, Err(MonitorError::UnknownObject { .. })), "{gone:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn comments_are_stored_cleaned_as_on_nagios_and_confirmed() {
    let Some((icinga, monitor)) = start() else { return };
    let text = "it's \"fine\"; host.name == x || true $(id) \\";
    let comment = Action::AddComment { target: ObjectRef::host("db01"), comment: text.into(), persistent: true };
    let detail = confirmed(monitor.execute(&comment, "erin\\").await);
    assert!(detail.starts_with("comment #") && detail.ends_with(" added to db01"), "{detail}");
    let comments = icinga.query("comments", &serde_json::json!({"attrs": ["author", "text", "host_name"]}));
    let cleaned = "it’s ”fine”, host.name == x ｜｜ true ＄（id） ＼";
    assert!(
        comments.iter().any(|c| c["attrs"]["text"] == cleaned
            && c["attrs"]["author"] == "erin＼"
            && c["attrs"]["host_name"] == "db01"),
        "{comments:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_acknowledgements_reach_a_shell_notification_command_inert() {
    let out = ShellCapture::new();
    // A string command, as sites write it: Icinga runs it through `/bin/sh -c`.
    let notify_command = out.icinga_command("$notification.author$", "$notification.comment$");
    let Some(icinga) =
        IcingaInstance::start(IcingaOptions { notify_command: Some(notify_command), ..Default::default() })
    else {
        return;
    };
    let monitor = monitor_of(&icinga);
    let attacks = [("HTTP", "a\\", out.injected(1)), ("Disk", "a'", format!("x' {} \\", out.injected(2)))];
    for (service, author, comment) in &attacks {
        icinga.process_check_result("web01", Some(service), 2, "CRITICAL - test failure");
        confirmed(monitor.execute(&notifying_ack(ObjectRef::service("web01", *service), comment), author).await);
    }
    for (_, author, comment) in &attacks {
        let (author, comment) = (clean_author(author).expect("a usable author"), clean_text(comment));
        // Icinga single-quotes each macro value of a string command itself: inside the site's
        // own double quotes those quotes stay; inside its single quotes they cancel out, and the
        // values reach the recorder as bare words.
        let bare: Vec<&str> = std::iter::once(author.as_str()).chain(comment.split_whitespace()).collect();
        // Icinga sends notifications from a timer, some seconds after the change.
        out.assert_called(Quoting::Double, &[format!("'{author}'"), format!("'{comment}'")], SLOW_NOTIFICATION);
        out.assert_called(Quoting::Single, &bare, SLOW_NOTIFICATION);
    }
    assert_eq!(out.markers_made(), Vec::<std::path::PathBuf>::new(), "injected commands ran");
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_objects_get_a_suggestion_and_reach_nothing() {
    let Some((_icinga, monitor)) = start() else { return };
    let recheck = Action::Recheck { target: ObjectRef::service("web01", "HTTP Lod") };
    let err = monitor.execute(&recheck, "x").await.expect_err("no such service");
    assert_eq!(err.to_string(), "unknown service `web01!HTTP Lod` (did you mean `web01!HTTP Load`?)");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_password_an_unknown_ca_and_a_stopped_icinga_give_clear_errors() {
    let Some((mut icinga, monitor)) = start() else { return };
    let wrong = Credentials::Password { user: "hagios".into(), password: "wrong".into() };
    let bad = IcingaMonitor::new(config(&icinga), wrong).expect("client set up");
    let err = bad.snapshot().await.expect_err("401");
    assert!(err.to_string().contains("rejected hagios' login (401)"), "{err}");
    assert!(!err.retryable());

    let untrusted = IcingaConfig { ca_file: None, ..config(&icinga) };
    let err = IcingaMonitor::new(untrusted, password(&icinga))
        .expect("client set up")
        .snapshot()
        .await
        .expect_err("unknown CA");
    assert!(err.to_string().contains("set [icinga] ca_file"), "{err}");

    icinga.stop();
    let err = monitor.snapshot().await.expect_err("stopped");
    assert!(matches!(err, MonitorError::NotRunning { system: "Icinga 2", .. }), "{err}");
    assert!(err.retryable());
}

#[tokio::test(flavor = "multi_thread")]
async fn client_certificate_login_works_without_a_password() {
    let Some((icinga, _)) = start() else { return };
    let (cert_file, key_file) = icinga.client_certificate();
    let monitor =
        IcingaMonitor::new(config(&icinga), Credentials::ClientCertificate { cert_file, key_file }).expect("client");
    let snapshot = monitor.snapshot().await.expect("logged in by certificate");
    assert!(snapshot.has_host("web01"));
}

#[tokio::test(flavor = "multi_thread")]
async fn hosts_are_added_from_a_template_and_removed_with_their_services() {
    let Some((icinga, monitor)) = start() else { return };
    let add = Action::AddHost { name: "web02".into(), address: "192.0.2.7".into(), template: "hagios-host".into() };
    assert_eq!(confirmed(monitor.execute(&add, "alice").await), "host web02 added");
    let attrs = icinga.object_attrs("web02", None);
    assert_eq!((attrs["address"].as_str(), attrs["templates"][1].as_str()), (Some("192.0.2.7"), Some("hagios-host")));

    let again = monitor.execute(&add, "alice").await.expect_err("exists");
    assert_eq!(again.to_string(), "refused: host `web02` already exists; `status web02` shows it");
    // The backend applies the domain's rule for host fields itself: it never trusts the bot.
    for address in ["1.2.3.4$(id)", "a'b", "a\\b", "a|b", "a&b", "a<b", "a>b", "a`id`"] {
        let hostile = Action::AddHost { name: "web04".into(), address: address.into(), template: "hagios-host".into() };
        let err = monitor.execute(&hostile, "alice").await.expect_err(address);
        assert!(err.to_string().starts_with("refused: the address contains"), "{address:?}: {err}");
    }
    assert!(icinga.object_attrs("web04", None).is_null(), "nothing was created");
    let bad_template = Action::AddHost { name: "web03".into(), address: "x".into(), template: "no-such".into() };
    let err = monitor.execute(&bad_template, "alice").await.expect_err("unknown template");
    assert!(err.to_string().contains("use a host template defined in Icinga 2"), "{err}");

    // A service on the new host: the removal cascades to it.
    let service = serde_json::json!({"templates": ["hagios-service"], "attrs": {"check_command": "dummy"}});
    icinga.api_ok("PUT", "/v1/objects/services/web02!Ping", Some(&service));
    let remove = Action::RemoveHost { name: "web02".into() };
    assert_eq!(confirmed(monitor.execute(&remove, "alice").await), "host web02 removed");
    assert!(icinga.object_attrs("web02", None).is_null());
    assert!(icinga.object_attrs("web02", Some("Ping")).is_null());

    let from_files = monitor.execute(&Action::RemoveHost { name: "db01".into() }, "alice").await.expect_err("static");
    assert!(from_files.to_string().contains("only hosts added through the API"), "{from_files}");

    let readonly = Credentials::Password { user: "readonly".into(), password: icinga.api_password().into() };
    let readonly = IcingaMonitor::new(config(&icinga), readonly).expect("client");
    let err = readonly.execute(&Action::RemoveHost { name: "web01".into() }, "alice").await.expect_err("no permission");
    assert!(err.to_string().contains("the Icinga 2 API user may not delete hosts (404)"), "{err}");
    let add = Action::AddHost { name: "web09".into(), address: "192.0.2.9".into(), template: "hagios-host".into() };
    let err = readonly.execute(&add, "alice").await.expect_err("no permission");
    assert!(err.to_string().contains("hagios-permissions.conf"), "{err}");
}

mod events {
    use super::*;
    use hagios_domain::{Notification, NotificationType, Snapshot};
    use hagios_monitor::icinga::events::{EventStream, Reconnect, StreamItem};
    use std::sync::Arc;
    use tokio::sync::{mpsc, watch};

    /// Icinga delivers about a quarter of events 4–5 s late (an inbox timer), so waits are long.
    const EVENT_PATIENCE: Duration = Duration::from_secs(20);

    fn stream(icinga: &IcingaInstance, monitor: &IcingaMonitor) -> (mpsc::Receiver<StreamItem>, watch::Sender<bool>) {
        let (sink, items) = mpsc::channel(64);
        let (stop, shutdown) = watch::channel(false);
        let stream = EventStream {
            client: monitor.client().clone(),
            site: "test".into(),
            queue: format!("hagios-test-{}", icinga.url()),
            reconnect: Reconnect { first: Duration::from_millis(200), max: Duration::from_secs(1) },
        };
        tokio::spawn(stream.run(sink, shutdown));
        (items, stop)
    }

    async fn next_connected(items: &mut mpsc::Receiver<StreamItem>) -> Arc<Snapshot> {
        loop {
            match tokio::time::timeout(EVENT_PATIENCE, items.recv()).await.expect("stream connects").expect("open") {
                StreamItem::Connected(snapshot) => return snapshot,
                StreamItem::Notification(_) | StreamItem::StateChange(_) => {}
            }
        }
    }

    async fn next_notification(items: &mut mpsc::Receiver<StreamItem>, kind: NotificationType) -> Notification {
        loop {
            let item = tokio::time::timeout(EVENT_PATIENCE, items.recv())
                .await
                .unwrap_or_else(|_| panic!("no {kind} event within {EVENT_PATIENCE:?}"))
                .expect("open");
            let notification = match item {
                StreamItem::Notification(notification) => *notification,
                StreamItem::StateChange(change) => change.notification,
                StreamItem::Connected(_) => continue,
            };
            if notification.kind == kind {
                return notification;
            }
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn problems_acks_and_downtimes_arrive_and_a_restart_reconnects_with_a_fresh_snapshot() {
        let Some((mut icinga, monitor)) = start() else { return };
        let (mut items, _stop) = stream(&icinga, &monitor);
        next_connected(&mut items).await;

        icinga.process_check_result("web01", Some("HTTP"), 2, "CRITICAL - refused");
        let problem = next_notification(&mut items, NotificationType::Problem).await;
        assert_eq!((problem.object, problem.state), (ObjectRef::service("web01", "HTTP"), State::Critical));
        assert_eq!(problem.output, "CRITICAL - refused");

        let ack = Action::Acknowledge {
            target: ObjectRef::service("web01", "HTTP"),
            comment: "on it".into(),
            sticky: false,
            notify: true,
            persistent: false,
            expire: None,
        };
        confirmed(monitor.execute(&ack, "alice").await);
        let acked = next_notification(&mut items, NotificationType::Acknowledgement).await;
        assert_eq!((acked.author.as_deref(), acked.comment.as_deref()), (Some("alice"), Some("on it")));
        confirmed(
            monitor
                .execute(&Action::RemoveAcknowledgement { target: ObjectRef::service("web01", "HTTP") }, "alice")
                .await,
        );
        let cleared = next_notification(&mut items, NotificationType::Custom).await;
        assert_eq!(cleared.comment.as_deref(), Some("acknowledgement removed"));
        confirmed(monitor.execute(&ack, "alice").await);

        let now = hagios_domain::unix_now();
        let span = DowntimeSpan { start: now, end: now + 600, fixed: true, duration: 600 };
        let downtime =
            Action::ScheduleDowntime { target: DowntimeTarget::Host("db01".into()), span, comment: "patching".into() };
        let id = confirmed(monitor.execute(&downtime, "bob").await);
        assert_eq!(
            next_notification(&mut items, NotificationType::DowntimeStart).await.object,
            ObjectRef::host("db01")
        );
        let id: u64 = id.trim_start_matches("downtime #").split(' ').next().and_then(|id| id.parse().ok()).expect("id");
        confirmed(monitor.execute(&Action::DeleteDowntime { id }, "bob").await);
        next_notification(&mut items, NotificationType::DowntimeCancelled).await;

        // Icinga restarts: the stream reconnects and announces itself with the current state.
        icinga.process_check_result("db01", Some("MySQL"), 2, "CRITICAL - before restart");
        icinga.restart();
        let snapshot = next_connected(&mut items).await;
        assert_eq!(snapshot.service("db01", "MySQL").map(|view| view.state), Some(State::Critical));
        assert!(snapshot.service("web01", "HTTP").is_some_and(|view| view.acknowledged));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn commands_at_the_same_time_share_one_state_read_and_a_confirmed_action_shows_at_once() {
    let Some((icinga, monitor)) = start() else { return };
    icinga.process_check_result("db01", Some("MySQL"), 2, "CRITICAL - gone");
    let monitor = std::sync::Arc::new(monitor);
    let mut readers = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let monitor = std::sync::Arc::clone(&monitor);
        readers.spawn(async move { monitor.snapshot().await.map(|snapshot| snapshot.status.created) });
    }
    while let Some(read) = readers.join_next().await {
        read.expect("reader").expect("snapshot");
    }
    assert_eq!(monitor.state_reads(), 1, "50 readers at once cost one read of the objects API");

    let mysql = ObjectRef::service("db01", "MySQL");
    let ack = Action::Acknowledge {
        target: mysql.clone(),
        comment: "on it".into(),
        sticky: true,
        notify: false,
        persistent: false,
        expire: None,
    };
    confirmed(monitor.execute(&ack, "alice").await);
    // Right after "confirmed", within the cache's second, the state shown is the confirmed one.
    let snapshot = monitor.snapshot().await.expect("snapshot");
    assert_eq!(snapshot.status.object(&mysql).map(|status| status.acknowledged), Some(true));
}
