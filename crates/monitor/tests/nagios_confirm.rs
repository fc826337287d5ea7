//! The final word on a command against a real Nagios, at the lab's cadence (status.dat every
//! second) and at Debian's stock one (every 10 s): every source of evidence on its own — Nagios'
//! log, its notifications, status.dat — the steps reported on the way, "not applied" with its
//! reason, Nagios stopping meanwhile, and the cadence taken from nagios.cfg or learned.

mod common;

use common::{config_of, confirmed, make_critical, monitor_of, wait_for, PATIENCE};
use hagios_domain::{unix_now, Action, DowntimeSpan, DowntimeTarget, ObjectRef, Outcome, Step};
use hagios_monitor::cadence::{CadenceSource, LogWatch};
use hagios_monitor::nagios::{NagiosConfig, NagiosMonitor};
use hagios_monitor::{Monitor, MonitorError};
use hagios_testkit::{NagiosInstance, NagiosOptions};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tempfile::TempDir;

/// Debian's nagios4 package ships `status_update_interval=10`.
const STOCK_INTERVAL: u32 = 10;

fn at_interval(seconds: u32) -> NagiosOptions {
    NagiosOptions { status_update_interval: Some(seconds), ..Default::default() }
}

/// `execute_with`, returning the outcome and the steps reported on the way.
async fn run(monitor: &NagiosMonitor, action: &Action) -> (Result<Outcome, MonitorError>, Vec<Step>) {
    let steps = Mutex::new(Vec::new());
    let outcome = monitor.execute_with(action, "alice", &|step| steps.lock().expect("steps").push(step)).await;
    (outcome, steps.into_inner().expect("steps"))
}

fn ack(target: ObjectRef) -> Action {
    Action::Acknowledge { target, comment: "on it".into(), sticky: true, notify: true, persistent: false, expire: None }
}

fn downtime_now(target: DowntimeTarget, fixed: bool, duration: i64) -> Action {
    let span = DowntimeSpan { start: unix_now(), end: unix_now() + 3600, fixed, duration };
    Action::ScheduleDowntime { target, span, comment: "patching".into() }
}

/// A status.dat that never changes: a copy of the real one, so that a command against the real
/// Nagios can be confirmed only by the other sources of evidence.
struct Frozen {
    dir: TempDir,
}

impl Frozen {
    fn of(nagios: &NagiosInstance) -> Frozen {
        let frozen = Frozen { dir: tempfile::tempdir().expect("temp dir") };
        frozen.copy(nagios);
        frozen
    }

    /// Takes the real status.dat as it is now.
    fn copy(&self, nagios: &NagiosInstance) {
        std::fs::copy(nagios.status_file(), self.status_file()).expect("status.dat copied");
    }

    fn status_file(&self) -> PathBuf {
        self.dir.path().join("status.dat")
    }

    /// A monitor of the real Nagios that reads this copy as its status.dat, follows `log_file`
    /// and answers within [`PATIENCE`].
    fn monitor(&self, nagios: &NagiosInstance, log_file: Option<&Path>) -> NagiosMonitor {
        NagiosMonitor::new(NagiosConfig {
            status_file: self.status_file(),
            log_file: log_file.map(Path::to_path_buf),
            confirm_timeout: Some(PATIENCE),
            ..config_of(nagios)
        })
    }
}

fn detail(outcome: Result<Outcome, MonitorError>) -> Outcome {
    outcome.unwrap_or_else(|err| panic!("sent, so an outcome: {err}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_log_alone_shows_a_command_read_and_acknowledged() {
    let Some(nagios) = NagiosInstance::start(Default::default()) else { return };
    make_critical(&nagios, &monitor_of(&nagios), "web01", "HTTP").await;
    let frozen = Frozen::of(&nagios);
    let monitor = frozen.monitor(&nagios, Some(nagios.log_file()));

    let (outcome, steps) = run(&monitor, &ack(ObjectRef::service("web01", "HTTP"))).await;
    assert_eq!(
        detail(outcome),
        Outcome::Confirmed("acknowledged web01!HTTP; Nagios' log shows its acknowledgement notification".into())
    );
    assert!(matches!(steps[0], Step::Sent { answer_within: PATIENCE, .. }), "{steps:?}");
    assert_eq!(steps[1], Step::Received { how: "Nagios read it (its log shows the command)".into() });
    assert_eq!(steps.len(), 2, "{steps:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_log_alone_shows_a_downtime_started_cancelled_or_refused() {
    let Some(nagios) = NagiosInstance::start(Default::default()) else { return };
    let frozen = Frozen::of(&nagios);
    let monitor = frozen.monitor(&nagios, Some(nagios.log_file()));
    let service = DowntimeTarget::Service { host: "web01".into(), service: "Disk".into() };

    let (started, _) = run(&monitor, &downtime_now(service.clone(), true, 3600)).await;
    assert_eq!(
        detail(started),
        Outcome::Confirmed(
            "downtime scheduled for web01!Disk and started; Nagios' log shows that the downtime started".into()
        )
    );

    // The id to cancel is in the real status.dat by now.
    let real = monitor_of(&nagios);
    let snapshot = wait_for(&real, |snapshot| !snapshot.status.downtimes.is_empty()).await;
    frozen.copy(&nagios);
    let id = snapshot.status.downtimes[0].id;
    let (cancelled, _) = run(&monitor, &Action::DeleteDowntime { id }).await;
    assert_eq!(
        detail(cancelled),
        Outcome::Confirmed(format!("downtime #{id} cancelled; Nagios' log shows that the downtime was cancelled"))
    );

    // A flexible downtime that lasts no time: Nagios logs that the command failed.
    let (refused, steps) = run(&monitor, &downtime_now(service, false, 0)).await;
    match detail(refused) {
        Outcome::NotApplied(reason) => assert!(
            reason.starts_with(
                "Nagios refused it; its log says: Error: External command failed -> SCHEDULE_SVC_DOWNTIME;web01;Disk;"
            ),
            "{reason}"
        ),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(matches!(steps[..], [Step::Sent { .. }, Step::Received { .. }]), "read, then refused: {steps:?}");
}

/// Publishes what the fixture's notifier records, as the delivery pipeline's intake will.
fn publish_notifications(nagios: Arc<NagiosInstance>, monitor: &NagiosMonitor) -> tokio::task::JoinHandle<()> {
    let hub = monitor.evidence().expect("Nagios takes notifications as evidence");
    tokio::spawn(async move {
        let mut published = nagios.notifications().len();
        loop {
            let recorded = nagios.notifications();
            for environment in &recorded[published.min(recorded.len())..] {
                let flags = hagios_notify::Flags::default();
                let notification = hagios_notify::notification_from(environment.clone(), &flags, unix_now())
                    .expect("Nagios' notification parses");
                hub.publish(&notification);
            }
            published = published.max(recorded.len());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn the_monitor_s_own_notifications_alone_confirm_acks_and_downtimes() {
    let Some(nagios) = NagiosInstance::start(Default::default()) else { return };
    let nagios = Arc::new(nagios);
    make_critical(&nagios, &monitor_of(&nagios), "db01", "MySQL").await;
    let frozen = Frozen::of(&nagios);
    let monitor = frozen.monitor(&nagios, None);
    let publisher = publish_notifications(Arc::clone(&nagios), &monitor);

    let (acknowledged, steps) = run(&monitor, &ack(ObjectRef::service("db01", "MySQL"))).await;
    assert_eq!(
        detail(acknowledged),
        Outcome::Confirmed("acknowledged db01!MySQL; its acknowledgement notification shows it".into())
    );
    assert!(matches!(steps[..], [Step::Sent { .. }]), "no log, so no read step: {steps:?}");

    let (started, _) = run(&monitor, &downtime_now(DowntimeTarget::Host("db01".into()), true, 3600)).await;
    assert_eq!(
        detail(started),
        Outcome::Confirmed("downtime scheduled for db01 and started; its downtime start notification shows it".into())
    );
    publisher.abort();
}

/// Every kind of command from chat against a Nagios writing status.dat every `interval` s:
/// each ends confirmed, after a first step that names the cadence and the deadline.
async fn every_command_ends_confirmed(interval: u32) {
    let Some(nagios) = NagiosInstance::start(at_interval(interval)) else { return };
    let monitor = monitor_of(&nagios);
    let every = Duration::from_secs(interval.into());
    let within = every * 2 + Duration::from_secs(5);
    make_critical(&nagios, &monitor, "web01", "HTTP").await;

    let http = ObjectRef::service("web01", "HTTP");
    let disk = ObjectRef::service("web01", "Disk");
    let actions = [
        ack(http.clone()),
        Action::RemoveAcknowledgement { target: http.clone() },
        downtime_now(DowntimeTarget::Service { host: "web01".into(), service: "HTTP".into() }, true, 3600),
        Action::DisableNotifications { target: disk.clone() },
        Action::EnableNotifications { target: disk.clone() },
        Action::AddComment { target: disk, comment: "disk swapped".into(), persistent: false },
        Action::Recheck { target: ObjectRef::service("db01", "MySQL") },
    ];
    for action in &actions {
        let (outcome, steps) = run(&monitor, action).await;
        confirmed(outcome);
        assert_eq!(steps[0], Step::Sent { state_every: Some(every), answer_within: within }, "{action:?}");
    }
    let snapshot = wait_for(&monitor, |snapshot| !snapshot.status.downtimes.is_empty()).await;
    let (cancelled, _) = run(&monitor, &Action::DeleteDowntime { id: snapshot.status.downtimes[0].id }).await;
    confirmed(cancelled);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_command_ends_confirmed_at_the_lab_cadence() {
    every_command_ends_confirmed(1).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_command_ends_confirmed_at_debian_s_stock_cadence() {
    every_command_ends_confirmed(STOCK_INTERVAL).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn at_the_stock_cadence_an_ack_of_an_ok_service_is_not_applied_once_status_dat_shows_it() {
    let Some(nagios) = NagiosInstance::start(at_interval(STOCK_INTERVAL)) else { return };
    let monitor = monitor_of(&nagios);
    let (outcome, steps) = run(&monitor, &ack(ObjectRef::service("web01", "HTTP"))).await;
    assert_eq!(
        detail(outcome),
        Outcome::NotApplied("web01!HTTP is OK — it has no problem, and Nagios acknowledges only problems".into())
    );
    assert!(matches!(steps[..], [Step::Sent { .. }, Step::Received { .. }]), "{steps:?}");
}

/// An `unack` right after an `ack`, both sent just after a rewrite of status.dat: the status.dat
/// that both meet predates the ack, so it shows no acknowledgement, which proves nothing about
/// the unack. The unack is confirmed only by a status.dat written after Nagios read it.
#[tokio::test(flavor = "multi_thread")]
async fn at_the_stock_cadence_an_unack_right_after_an_ack_counts_only_from_a_status_dat_written_after_it() {
    let Some(nagios) = NagiosInstance::start(at_interval(STOCK_INTERVAL)) else { return };
    let monitor = monitor_of(&nagios);
    let http = ObjectRef::service("web01", "HTTP");
    make_critical(&nagios, &monitor, "web01", "HTTP").await;
    let seen = monitor.snapshot().await.expect("status.dat readable").status.created;
    let rewritten = wait_for(&monitor, |snapshot| snapshot.status.created > seen).await;
    assert!(rewritten.status.object(&http).is_some_and(|status| !status.acknowledged));

    let (acknowledged, _) = run(&monitor, &ack(http.clone())).await;
    assert_eq!(confirmed(acknowledged), "acknowledged web01!HTTP");
    let (removed, steps) = run(&monitor, &Action::RemoveAcknowledgement { target: http.clone() }).await;
    let shown = monitor.snapshot().await.expect("status.dat readable");
    assert_eq!(
        detail(removed),
        Outcome::Confirmed("acknowledgement removed from web01!HTTP; status.dat shows it".into())
    );
    assert!(matches!(steps[..], [Step::Sent { .. }, Step::Received { .. }]), "read, then confirmed: {steps:?}");
    let read = nagios
        .wait_for_log(PATIENCE, "EXTERNAL COMMAND: REMOVE_SVC_ACKNOWLEDGEMENT;web01;HTTP")
        .expect("Nagios' log shows it read the unack");
    let read_at: i64 = read
        .strip_prefix('[')
        .and_then(|rest| rest.split_once(']'))
        .and_then(|(time, _)| time.parse().ok())
        .unwrap_or_else(|| panic!("a log line starts with its time: {read}"));
    assert!(
        shown.status.created > read_at,
        "confirmed from a status.dat created at {} for an unack read at {read_at}",
        shown.status.created
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_the_log_not_applied_waits_for_a_status_dat_stamped_after_the_command() {
    let Some(nagios) = NagiosInstance::start(at_interval(STOCK_INTERVAL)) else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let monitor = NagiosMonitor::new(NagiosConfig { log_file: Some(dir.path().join("no.log")), ..config_of(&nagios) });
    let (outcome, steps) = run(&monitor, &ack(ObjectRef::service("web01", "HTTP"))).await;
    assert_eq!(
        detail(outcome),
        Outcome::NotApplied("web01!HTTP is OK — it has no problem, and Nagios acknowledges only problems".into())
    );
    assert!(matches!(steps[..], [Step::Sent { .. }]), "no log, so no read step: {steps:?}");
}

/// A fixture service whose check takes a minute once `slow` exists in the returned folder.
fn with_slow_check() -> (NagiosOptions, TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let script = dir.path().join("slow.sh");
    let flag = dir.path().join("slow");
    std::fs::write(&script, format!("#!/bin/sh\n[ -e '{}' ] && sleep 60\necho 'OK - quick'\n", flag.display()))
        .expect("script written");
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("executable");
    let objects = format!(
        "define command {{\n    command_name  slow-check\n    command_line  {}\n}}\n\
         define service {{\n    use  hagios-service\n    host_name  db01\n    service_description  Slow\n    \
         check_command  slow-check\n}}\n",
        script.display()
    );
    (NagiosOptions { extra_objects: objects, ..Default::default() }, dir)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recheck_still_running_at_the_deadline_ends_with_what_is_known() {
    let (options, slow) = with_slow_check();
    let Some(nagios) = NagiosInstance::start(options) else { return };
    std::fs::write(slow.path().join("slow"), "").expect("checks made slow");
    let monitor = monitor_of(&nagios);
    let (outcome, steps) = run(&monitor, &Action::Recheck { target: ObjectRef::service("db01", "Slow") }).await;
    assert_eq!(
        detail(outcome),
        Outcome::Unconfirmed(
            "no final word from Nagios within 7s: Nagios read it (its log); the check result is not in status.dat yet"
                .into()
        )
    );
    assert!(matches!(steps[..], [Step::Sent { .. }, Step::Received { .. }]), "{steps:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn nagios_stopping_while_a_command_waits_ends_it_not_applied() {
    let (options, slow) = with_slow_check();
    let Some(mut nagios) = NagiosInstance::start(options) else { return };
    std::fs::write(slow.path().join("slow"), "").expect("checks made slow");
    let monitor = monitor_of(&nagios);
    let (sent, sent_seen) = std::sync::mpsc::channel();
    let stopper = tokio::task::spawn_blocking(move || {
        sent_seen.recv().expect("the command was sent");
        nagios.stop();
        nagios
    });
    let recheck = Action::Recheck { target: ObjectRef::service("db01", "Slow") };
    let outcome = monitor
        .execute_with(&recheck, "alice", &|step| {
            if matches!(step, Step::Sent { .. }) {
                let _ = sent.send(());
            }
        })
        .await;
    match detail(outcome) {
        Outcome::NotApplied(reason) => {
            assert!(reason.starts_with("Nagios stopped (status.dat is gone)"), "{reason}");
            assert!(reason.ends_with("before its state showed it"), "{reason}");
        }
        other => panic!("expected not applied, got {other:?}"),
    }
    drop(stopper.await.expect("stopped"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cadence_comes_from_nagios_cfg_or_is_learned_from_status_dat() {
    let Some(stock) = NagiosInstance::start(at_interval(STOCK_INTERVAL)) else { return };
    let cadence = monitor_of(&stock).cadence();
    assert_eq!(cadence.state_every, Some(Duration::from_secs(10)));
    assert_eq!(cadence.source, CadenceSource::MainConfig(stock.config_file().to_path_buf()));
    assert_eq!((cadence.answer_within, cadence.answer_within_configured), (Duration::from_secs(25), false));
    assert_eq!(cadence.log, LogWatch::Watching(stock.log_file().to_path_buf()));
    drop(stock);

    // Without a nagios.cfg of its own (the default names another instance's status.dat), the
    // cadence is Nagios' default until status.dat's rewrites show it.
    let Some(lab) = NagiosInstance::start(Default::default()) else { return };
    let monitor = NagiosMonitor::new(NagiosConfig {
        site: Some("test".into()),
        ..NagiosConfig::at(lab.command_file(), lab.status_file(), lab.object_cache_file())
    });
    let assumed = monitor.cadence();
    assert_eq!((assumed.state_every, assumed.source), (Some(Duration::from_secs(60)), CadenceSource::Assumed));
    assert_eq!((assumed.answer_within, assumed.log), (Duration::from_secs(125), LogWatch::None));
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while monitor.cadence().source != CadenceSource::Learned {
        assert!(tokio::time::Instant::now() < deadline, "no cadence learned");
        monitor.snapshot().await.expect("readable");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let learned = monitor.cadence();
    assert_eq!((learned.state_every, learned.answer_within), (Some(Duration::from_secs(1)), Duration::from_secs(7)));
}
