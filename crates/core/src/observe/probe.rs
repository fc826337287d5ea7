//! Parts of a process that are only seen by asking: the monitoring system (does it answer?)
//! and, on an agent, the spool (does the bot take what waits there?). Asked every
//! [`EVERY`], reported to the process' [`Health`] and as metrics.

use super::health::Health;
use super::names;
use hagios_domain::plural;
use hagios_monitor::Monitor;
use hagios_spool::Spool;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How often the probes ask.
const EVERY: Duration = Duration::from_secs(10);
/// Records older than this in an agent's spool mean the bot does not take them.
const SPOOL_STUCK: Duration = Duration::from_secs(60);

/// Asks `monitor` for its state every [`EVERY`] until `shutdown` turns true.
pub fn monitoring(monitor: Arc<dyn Monitor>, health: Health, shutdown: watch::Receiver<bool>) -> JoinHandle<()> {
    every(EVERY, shutdown, move || {
        let (monitor, health) = (monitor.clone(), health.clone());
        async move {
            match monitor.snapshot().await {
                Ok(_) => health.ok("monitoring"),
                Err(e) => health.failing("monitoring", e),
            }
        }
    })
}

/// Looks at what waits in `spool` every [`EVERY`]: the spool gauges, and `part` fails while its
/// oldest record is older than [`SPOOL_STUCK`].
pub fn spool(spool: Arc<Spool>, part: &'static str, health: Health, shutdown: watch::Receiver<bool>) -> JoinHandle<()> {
    every(EVERY, shutdown, move || {
        let (spool, health) = (spool.clone(), health.clone());
        async move {
            let pending = tokio::task::spawn_blocking(move || spool.pending()).await.expect("spool scan task");
            let Ok(pending) = pending else { return };
            let oldest = record_gauges("main", &pending);
            match oldest.filter(|age| *age > SPOOL_STUCK) {
                Some(age) => health.failing(
                    part,
                    format!("the spool holds {}, the oldest for {}s", plural(pending.len(), "record"), age.as_secs()),
                ),
                None => health.ok(part),
            }
        }
    })
}

/// Sets the gauges of the spool `name` holding `pending`; returns the oldest record's age.
pub fn record_gauges(name: &str, pending: &[hagios_spool::RecordId]) -> Option<Duration> {
    let oldest =
        pending.first().and_then(|id| id.written_at()).and_then(|at| SystemTime::now().duration_since(at).ok());
    metrics::gauge!(names::SPOOL_RECORDS, "spool" => name.to_owned()).set(pending.len() as f64);
    metrics::gauge!(names::SPOOL_OLDEST, "spool" => name.to_owned()).set(oldest.map_or(0.0, |age| age.as_secs_f64()));
    oldest
}

/// Runs `probe` now and then every `interval` until `shutdown` turns true.
pub(super) fn every<F>(
    interval: Duration,
    mut shutdown: watch::Receiver<bool>,
    mut probe: impl FnMut() -> F + Send + 'static,
) -> JoinHandle<()>
where
    F: std::future::Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        while !*shutdown.borrow() {
            probe().await;
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = shutdown.changed() => {}
            }
        }
    })
}
