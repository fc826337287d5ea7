//! What the Nagios and Icinga tests share: a Nagios monitor of a test instance as an operator
//! would configure it (nagios.cfg named, nothing overridden), waiting for state, reading outcomes;
//! a notification command written the way sites write them, and hostile acknowledgements aimed at it.

#![allow(dead_code)] // each test file uses its own part

use hagios_domain::{Action, ObjectRef, Outcome, Snapshot, State};
use hagios_monitor::nagios::{NagiosConfig, NagiosMonitor};
use hagios_monitor::{Monitor, MonitorError};
use hagios_testkit::{wait_until, NagiosInstance};
use std::path::{Path, PathBuf};
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

/// A folder for what a notification command received (`double-quoted`, `single-quoted`) and for
/// the markers an injected command would create.
pub struct NotificationOutput {
    dir: tempfile::TempDir,
    pub double: PathBuf,
    pub single: PathBuf,
}

impl NotificationOutput {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let (double, single) = (dir.path().join("double-quoted"), dir.path().join("single-quoted"));
        NotificationOutput { dir, double, single }
    }

    /// The shell line of a notification command: `author` and `comment` (macros) once in double
    /// and once in single quotes, each value between `<` and `>`.
    pub fn shell_line(&self, author: &str, comment: &str) -> String {
        format!(
            "/usr/bin/printf '<%s><%s>' \"{author}\" \"{comment}\" >> {} && \
             /usr/bin/printf '<%s><%s>' '{author}' '{comment}' >> {}",
            self.double.display(),
            self.single.display()
        )
    }

    /// Where the `n`th attack would leave its file.
    pub fn marker(&self, n: usize) -> PathBuf {
        self.dir.path().join(format!("marker{n}"))
    }

    /// `| id > MARKER #`, the command the `n`th attack tries to run.
    pub fn injected(&self, n: usize) -> String {
        format!("| id > {} #", self.marker(n).display())
    }

    /// Fails unless `file` shows `arrived` within `timeout`.
    pub fn assert_arrives(file: &Path, arrived: &str, timeout: Duration) {
        let seen = wait_until(timeout, || std::fs::read_to_string(file).ok().filter(|text| text.contains(arrived)));
        let text = std::fs::read_to_string(file);
        assert!(seen.is_some(), "{arrived:?} not in {}: {text:?}", file.display());
    }

    /// Fails when any of the first `count` attacks created its marker.
    pub fn assert_nothing_ran(&self, count: usize) {
        for n in 1..=count {
            assert!(!self.marker(n).exists(), "an injected command ran: {}", self.marker(n).display());
        }
    }
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
