//! The Nagios backend against a real, private Nagios (hagios-testkit) at the lab's cadence
//! (status.dat every second): every action changes Nagios' own state and comes back confirmed;
//! bad input never reaches the command FIFO. `nagios_confirm.rs` has the evidence and timing.

use hagios_domain::{unix_now, Action, DowntimeSpan, DowntimeTarget, ObjectRef, Outcome};
use hagios_monitor::nagios::command::{clean_author, clean_text, MAX_TEXT_BYTES};
use hagios_monitor::nagios::{NagiosConfig, NagiosMonitor};
use hagios_monitor::{Monitor, MonitorError};
use hagios_testkit::{NagiosInstance, NagiosOptions, Quoting, ShellCapture};
use rustix::fs::{mkfifoat, Mode, OFlags, CWD};
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::Duration;

mod common;

use common::{confirmed, make_critical, monitor_of, notifying_ack, wait_for, PATIENCE};

/// A monitor of files that no Nagios may be behind, answering within `confirm_timeout`.
fn monitor(
    command_file: &Path,
    status_file: &Path,
    object_cache_file: &Path,
    confirm_timeout: Duration,
) -> NagiosMonitor {
    NagiosMonitor::new(NagiosConfig {
        site: Some("test".into()),
        confirm_timeout: Some(confirm_timeout),
        ..NagiosConfig::at(command_file, status_file, object_cache_file)
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn acknowledgement_is_confirmed_and_removed() {
    let Some(nagios) = NagiosInstance::start(Default::default()) else { return };
    let monitor = monitor_of(&nagios);
    let target = ObjectRef::service("web01", "HTTP Load");
    let ack = Action::Acknowledge {
        target: target.clone(),
        comment: "looking".into(),
        sticky: true,
        notify: true,
        persistent: false,
        expire: None,
    };
    make_critical(&nagios, &monitor, "web01", "HTTP Load").await;
    assert_eq!(confirmed(monitor.execute(&ack, "alice").await), "acknowledged web01!HTTP Load");
    assert!(nagios.log().contains("EXTERNAL COMMAND: ACKNOWLEDGE_SVC_PROBLEM;web01;HTTP Load;2;1;0;alice;looking"));

    let remove = Action::RemoveAcknowledgement { target };
    assert_eq!(confirmed(monitor.execute(&remove, "alice").await), "acknowledgement removed from web01!HTTP Load");
    let snapshot = monitor.snapshot().await.expect("snapshot");
    assert!(!snapshot.service("web01", "HTTP Load").expect("service").acknowledged);

    let expiring = Action::Acknowledge {
        target: ObjectRef::service("web01", "HTTP Load"),
        comment: String::new(),
        sticky: false,
        notify: false,
        persistent: false,
        expire: Some(unix_now() + 60),
    };
    assert!(matches!(monitor.execute(&expiring, "alice").await, Err(MonitorError::Unsupported(_))));
}

#[tokio::test(flavor = "multi_thread")]
async fn downtimes_are_scheduled_reported_by_id_and_deleted() {
    let Some(nagios) = NagiosInstance::start(Default::default()) else { return };
    let monitor = monitor_of(&nagios);
    // Starting later, so that only status.dat (which names the id) shows them scheduled.
    let span = DowntimeSpan { start: unix_now() + 600, end: unix_now() + 3600, fixed: true, duration: 3000 };
    let schedule = |target| Action::ScheduleDowntime { target, span, comment: "patching".into() };

    let detail = confirmed(monitor.execute(&schedule(DowntimeTarget::Host("db01".into())), "bob").await);
    let snapshot = monitor.snapshot().await.expect("snapshot");
    let host_downtime = snapshot.status.downtimes.iter().find(|d| d.object == ObjectRef::host("db01")).expect("listed");
    assert_eq!(detail, format!("downtime #{} scheduled for db01", host_downtime.id));
    assert_eq!((host_downtime.author.as_str(), host_downtime.comment.as_str()), ("bob", "patching"));

    let service = DowntimeTarget::Service { host: "web01".into(), service: "HTTP".into() };
    assert!(confirmed(monitor.execute(&schedule(service), "bob").await).ends_with("scheduled for web01!HTTP"));

    confirmed(monitor.execute(&schedule(DowntimeTarget::HostAndServices("web01".into())), "bob").await);
    let snapshot = wait_for(&monitor, |snapshot| {
        ["Disk", "HTTP Load"]
            .iter()
            .all(|service| snapshot.status.downtimes.iter().any(|d| d.object == ObjectRef::service("web01", *service)))
    })
    .await;
    assert!(snapshot.status.downtimes.iter().any(|d| d.object == ObjectRef::host("web01")), "host downtime too");

    let id = host_downtime.id;
    let cancelled = confirmed(monitor.execute(&Action::DeleteDowntime { id }, "bob").await);
    assert_eq!(cancelled, format!("downtime #{id} cancelled"));
    let service_downtime = snapshot.status.downtimes.iter().find(|d| d.object.is_service()).expect("service downtime");
    confirmed(monitor.execute(&Action::DeleteDowntime { id: service_downtime.id }, "bob").await);

    let unknown = monitor.execute(&Action::DeleteDowntime { id: 999_999 }, "bob").await;
    assert!(matches!(unknown, Err(MonitorError::UnknownObject { kind: "downtime", .. })), "{unknown:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn recheck_runs_the_check_now() {
    let Some(nagios) = NagiosInstance::start(Default::default()) else { return };
    let monitor = monitor_of(&nagios);
    nagios.set_check_state("db01", "MySQL", 1, "WARNING - replication lag");
    let detail =
        confirmed(monitor.execute(&Action::Recheck { target: ObjectRef::service("db01", "MySQL") }, "carol").await);
    assert_eq!(detail, "rechecked db01!MySQL: WARNING WARNING - replication lag");
    let detail = confirmed(monitor.execute(&Action::Recheck { target: ObjectRef::host("db01") }, "carol").await);
    assert!(detail.starts_with("rechecked db01: UP"), "{detail}");
}

#[tokio::test(flavor = "multi_thread")]
async fn notifications_are_disabled_and_enabled() {
    let Some(nagios) = NagiosInstance::start(Default::default()) else { return };
    let monitor = monitor_of(&nagios);
    for target in [ObjectRef::host("web01"), ObjectRef::service("db01", "Load")] {
        let disabled =
            confirmed(monitor.execute(&Action::DisableNotifications { target: target.clone() }, "dan").await);
        assert_eq!(disabled, format!("notifications disabled for {target}"));
        let enabled = confirmed(monitor.execute(&Action::EnableNotifications { target: target.clone() }, "dan").await);
        assert_eq!(enabled, format!("notifications enabled for {target}"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn comments_are_added_cleaned_and_cut() {
    let Some(nagios) = NagiosInstance::start(Default::default()) else { return };
    let monitor = monitor_of(&nagios);
    let comment = format!("first;second\n[0] SHUTDOWN_PROGRAM\r\0{}", "z".repeat(5000));
    let action = Action::AddComment { target: ObjectRef::service("web01", "HTTP Load"), comment, persistent: true };
    assert!(confirmed(monitor.execute(&action, "erin").await).ends_with("added to web01!HTTP Load"));

    let snapshot = monitor.snapshot().await.expect("snapshot");
    let stored = snapshot.status.comments.iter().find(|c| c.author == "erin").expect("comment listed");
    assert!(stored.text.starts_with("first,second [0] SHUTDOWN_PROGRAM  zzz"), "{}", stored.text);
    assert_eq!(stored.text.len(), MAX_TEXT_BYTES);
    let logged = nagios.wait_for_log(PATIENCE, "EXTERNAL COMMAND: ADD_SVC_COMMENT;web01;HTTP Load;1;erin;first,second");
    assert!(logged.is_some(), "the cleaned comment reached Nagios");
    assert!(!nagios.log().contains("SHUTDOWN_PROGRAM;"), "no injected command");

    let host_note =
        Action::AddComment { target: ObjectRef::host("db01"), comment: "disk swap".into(), persistent: false };
    assert!(confirmed(monitor.execute(&host_note, "erin").await).ends_with("added to db01"));
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_objects_are_refused_with_a_suggestion() {
    let Some(nagios) = NagiosInstance::start(Default::default()) else { return };
    let monitor = monitor_of(&nagios);
    let unknown_host = monitor.execute(&Action::Recheck { target: ObjectRef::host("web1") }, "fred").await;
    match unknown_host {
        Err(MonitorError::UnknownObject { kind: "host", suggestion, .. }) => {
            assert_eq!(suggestion.as_deref(), Some("web01"))
        }
        other => panic!("expected an unknown host, got {other:?}"),
    }
    let unknown_service =
        monitor.execute(&Action::Recheck { target: ObjectRef::service("db01", "mysql") }, "fred").await;
    match unknown_service {
        Err(MonitorError::UnknownObject { kind: "service", suggestion, .. }) => {
            assert_eq!(suggestion.as_deref(), Some("db01!MySQL"))
        }
        other => panic!("expected an unknown service, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stopped_nagios_is_reported_at_once() {
    let Some(mut nagios) = NagiosInstance::start(Default::default()) else { return };
    let monitor = monitor_of(&nagios);
    monitor.snapshot().await.expect("state readable while running");
    nagios.stop();
    let action = Action::Recheck { target: ObjectRef::host("web01") };
    let answer = tokio::time::timeout(Duration::from_secs(1), monitor.execute(&action, "gina"))
        .await
        .expect("answered without waiting");
    let err = answer.expect_err("Nagios is stopped");
    assert!(matches!(err, MonitorError::NotRunning { .. }), "{err:?}");
    assert!(err.retryable());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ack_of_an_object_that_is_fine_is_not_applied_and_says_why() {
    let Some(nagios) = NagiosInstance::start(Default::default()) else { return };
    let monitor = monitor_of(&nagios);
    let target = ObjectRef::service("web01", "HTTP");
    let ack = Action::Acknowledge {
        target,
        comment: "stale alert".into(),
        sticky: true,
        notify: false,
        persistent: false,
        expire: None,
    };
    match monitor.execute(&ack, "hana").await {
        Ok(Outcome::NotApplied(reason)) => {
            assert_eq!(reason, "web01!HTTP is OK — it has no problem, and Nagios acknowledges only problems")
        }
        other => panic!("expected a not-applied outcome with the reason, got {other:?}"),
    }
}

/// Everything readable from a FIFO opened O_RDWR|O_NONBLOCK right now.
fn drain(fifo: &mut std::fs::File) -> Vec<u8> {
    let mut received = Vec::new();
    let mut buffer = [0u8; 8192];
    while let Ok(length @ 1..) = fifo.read(&mut buffer) {
        received.extend_from_slice(&buffer[..length]);
    }
    received
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_input_never_reaches_the_fifo() {
    let Some(nagios) = NagiosInstance::start(Default::default()) else { return };
    // A copy of the real state in which one host has a name Nagios could never take in a command,
    // read by this test instead of Nagios.
    let fake = tempfile::tempdir().expect("temp dir");
    let hostile_copy = |from: &Path, name: &str| {
        let text = std::fs::read_to_string(from).expect("readable").replace("db01", "db;01");
        let to = fake.path().join(name);
        std::fs::write(&to, text).expect("written");
        to
    };
    let status_file = hostile_copy(nagios.status_file(), "status.dat");
    let object_cache_file = hostile_copy(nagios.object_cache_file(), "objects.cache");
    let command_file = fake.path().join("nagios.cmd");
    mkfifoat(CWD, &command_file, Mode::from_raw_mode(0o600)).expect("mkfifo");
    let mut reader = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(OFlags::NONBLOCK.bits() as i32)
        .open(&command_file)
        .expect("reader end");
    let monitor = monitor(&command_file, &status_file, &object_cache_file, Duration::from_millis(300));

    let hostile_host =
        monitor.execute(&Action::DisableNotifications { target: ObjectRef::host("db;01") }, "ivan").await;
    assert!(matches!(hostile_host, Err(MonitorError::Refused(_))), "{hostile_host:?}");
    let injected = ObjectRef::host("web01\n[0] SHUTDOWN_PROGRAM");
    let injected_host = monitor.execute(&Action::Recheck { target: injected }, "ivan").await;
    assert!(matches!(injected_host, Err(MonitorError::UnknownObject { .. })), "{injected_host:?}");
    for author in ["ivan;x", "ivan\n[0] SHUTDOWN_PROGRAM", "ivan\0"] {
        let note = Action::AddComment { target: ObjectRef::host("web01"), comment: "hi".into(), persistent: false };
        let refused = monitor.execute(&note, author).await;
        assert!(matches!(refused, Err(MonitorError::Refused(_))), "author {author:?}: {refused:?}");
    }
    assert_eq!(drain(&mut reader), b"", "nothing may reach the FIFO");

    let long = Action::AddComment { target: ObjectRef::host("web01"), comment: "y".repeat(10_000), persistent: false };
    let outcome = monitor.execute(&long, "ivan").await.expect("sent");
    assert!(!outcome.is_confirmed(), "nobody applies it here: {outcome:?}");
    let received = String::from_utf8(drain(&mut reader)).expect("UTF-8 line");
    assert_eq!(received.matches('\n').count(), 1, "exactly one line: {received:?}");
    let comment = received.trim_end().rsplit(';').next().expect("comment field");
    assert!(received.contains("] ADD_HOST_COMMENT;web01;0;ivan;yyy"), "{received:?}");
    assert_eq!(comment.len(), MAX_TEXT_BYTES);
}

#[tokio::test(flavor = "multi_thread")]
async fn host_changes_need_a_managed_dir_and_ack_expiry_is_unsupported_on_nagios() {
    let Some(nagios) = NagiosInstance::start(Default::default()) else { return };
    let monitor = monitor_of(&nagios);
    let add = Action::AddHost { name: "web09".into(), address: "192.0.2.9".into(), template: "x".into() };
    let err = monitor.execute(&add, "alice").await.expect_err("no managed_dir configured");
    assert!(err.to_string().starts_with("refused: hosts from chat need [nagios] managed_dir"), "{err}");
    let remove = Action::RemoveHost { name: "web01".into() };
    assert!(matches!(monitor.execute(&remove, "alice").await, Err(MonitorError::Refused(_))));
    let target = ObjectRef::host("web01");
    let ack = Action::Acknowledge {
        target,
        comment: "x".into(),
        sticky: true,
        notify: true,
        persistent: false,
        expire: Some(unix_now() + 60),
    };
    assert!(matches!(monitor.execute(&ack, "alice").await, Err(MonitorError::Unsupported(_))));
}

#[tokio::test(flavor = "multi_thread")]
async fn host_details_come_from_objects_cache_with_templates_applied() {
    let app01 = "define host {\n    use  hagios-host\n    host_name  app01\n    address  127.0.0.3\n    \
                 parents  web01,db01\n    hostgroups  web\n    contacts  tester\n}\n\
                 define service {\n    use  hagios-service\n    host_name  app01\n    service_description  App\n}\n";
    let options = hagios_testkit::NagiosOptions { extra_objects: app01.into(), ..Default::default() };
    let Some(nagios) = NagiosInstance::start(options) else { return };
    let snapshot = monitor_of(&nagios).snapshot().await.expect("snapshot");
    let app01 = &snapshot.inventory.hosts["app01"];
    assert_eq!(app01.address, "127.0.0.3");
    assert_eq!(app01.parents, ["db01", "web01"], "as Nagios writes them to objects.cache");
    assert_eq!(app01.hostgroups, ["web"]);
    assert_eq!(app01.contacts, ["tester"]);
    assert_eq!(app01.contact_groups, ["testers"], "inherited from the hagios-host template");
    assert_eq!(snapshot.inventory.hosts["db01"].contact_groups, ["testers"]);
    assert!(snapshot.inventory.hosts["db01"].parents.is_empty());
}

/// Acknowledges four problems with authors and comments that would each run `id > markerN`
/// through a notification command quoting the macros one way or the other (run by Nagios through
/// `/bin/sh -c`) were they passed on raw, on a Nagios that strips `illegal_macro_output_chars`
/// from its macros; each must arrive cleaned (and then stripped) and run nothing.
async fn hostile_acknowledgements_reach_notification_commands_inert(illegal_macro_output_chars: &str) {
    let out = ShellCapture::new();
    let options = NagiosOptions {
        notify_command: Some(out.shell_line("$NOTIFICATIONAUTHOR$", "$NOTIFICATIONCOMMENT$")),
        illegal_macro_output_chars: Some(illegal_macro_output_chars.into()),
        ..Default::default()
    };
    let Some(nagios) = NagiosInstance::start(options) else { return };
    let monitor = monitor_of(&nagios);
    let attacks = [
        (("web01", "HTTP"), "a\\", out.injected(1)),
        (("web01", "Disk"), "a'", out.injected(2)),
        (("web01", "HTTP Load"), "b", format!("x\" {}", out.injected(3))),
        (("db01", "MySQL"), "b", format!("x' {} \\", out.injected(4))),
    ];
    for ((host, service), author, comment) in &attacks {
        make_critical(&nagios, &monitor, host, service).await;
        confirmed(monitor.execute(&notifying_ack(ObjectRef::service(*host, *service), comment), author).await);
    }
    let as_handed_over = |value: String| value.replace(|c| illegal_macro_output_chars.contains(c), "");
    for (_, author, comment) in &attacks {
        let arrived =
            [as_handed_over(clean_author(author).expect("a usable author")), as_handed_over(clean_text(comment))];
        for quoting in [Quoting::Double, Quoting::Single] {
            out.assert_called(quoting, &arrived, PATIENCE);
        }
    }
    assert_eq!(out.markers_made(), Vec::<std::path::PathBuf>::new(), "injected commands ran");

    // A comment ending in a backslash reaches the FIFO (and Nagios) with a look-alike instead.
    let trailing = Action::AddComment {
        target: ObjectRef::service("web01", "HTTP"),
        comment: "breaks quoting\\".into(),
        persistent: true,
    };
    confirmed(monitor.execute(&trailing, "U0USER").await);
    let logged = nagios.wait_for_log(PATIENCE, "EXTERNAL COMMAND: ADD_SVC_COMMENT;web01;HTTP;1;U0USER;breaks quoting");
    assert_eq!(logged.as_deref().and_then(|line| line.rsplit(';').next()), Some("breaks quoting＼"), "{logged:?}");
}

/// The worst case: Nagios strips nothing, so hagios' cleaning is all that stands in the way.
#[tokio::test(flavor = "multi_thread")]
async fn hostile_acknowledgements_run_nothing_when_nagios_strips_nothing() {
    hostile_acknowledgements_reach_notification_commands_inert("").await;
}

/// Debian's nagios.cfg strips some characters itself, but not `\`.
#[tokio::test(flavor = "multi_thread")]
async fn hostile_acknowledgements_run_nothing_on_debians_settings() {
    hostile_acknowledgements_reach_notification_commands_inert("`~$&|'\"<>").await;
}
