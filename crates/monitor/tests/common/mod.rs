//! What the Nagios and Icinga tests share: a Nagios monitor of a test instance as an operator
//! would configure it (nagios.cfg named, nothing overridden), waiting for state, reading outcomes;
//! acknowledgements that notify, for the hostile ones aimed at a shell notification command.

#![allow(dead_code)] // each test file uses its own part

use hagios_domain::{Action, ObjectRef, Outcome, Snapshot, State};
use hagios_monitor::nagios::{NagiosConfig, NagiosMonitor};
use hagios_monitor::{Monitor, MonitorError};
use hagios_testkit::NagiosInstance;
use std::sync::Arc;
use std::time::Duration;

/// Generous bound for a test instance to show a change it was sent directly.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// The `[nagios]` section for `nagios`, its nagios.cfg named as `main_config`.
pub fn config_of(nagios: &NagiosInstance) -> NagiosConfig {
    NagiosConfig {
        site: Some("test".into()),
        main_config: nagios.config_file().to_path_buf(),
        ..NagiosConfig::at(nagios.command_file(), nagios.status_file(), nagios.object_cache_file())
    }
}

pub fn monitor_of(nagios: &NagiosInstance) -> NagiosMonitor {
    NagiosMonitor::new(config_of(nagios))
}

pub async fn wait_for(monitor: &NagiosMonitor, mut accept: impl FnMut(&Snapshot) -> bool) -> Arc<Snapshot> {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if let Ok(snapshot) = monitor.snapshot().await {
            if accept(&snapshot) {
                return snapshot;
            }
        }
        assert!(tokio::time::Instant::now() < deadline, "Nagios state did not change within {PATIENCE:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// What a confirmed outcome says was done; it must also say how Nagios showed it.
pub fn confirmed(outcome: Result<Outcome, MonitorError>) -> String {
    match outcome {
        Ok(Outcome::Confirmed(detail)) => {
            let (what, how) = detail.split_once("; ").unwrap_or_else(|| panic!("no evidence named: {detail}"));
            assert!(how.contains("shows"), "{detail}");
            what.to_owned()
        }
        other => panic!("expected a confirmed outcome, got {other:?}"),
    }
}

pub async fn make_critical(nagios: &NagiosInstance, monitor: &NagiosMonitor, host: &str, service: &str) {
    nagios.submit_service_result(host, service, 2, "CRITICAL - test failure");
    wait_for(monitor, |snapshot| snapshot.service(host, service).is_some_and(|view| view.state == State::Critical))
        .await;
}

/// An acknowledgement of `target` that sends an ACKNOWLEDGEMENT notification.
pub fn notifying_ack(target: ObjectRef, comment: &str) -> Action {
    Action::Acknowledge {
        target,
        comment: comment.to_owned(),
        sticky: false,
        notify: true,
        persistent: false,
        expire: None,
    }
}
