//! Retention of the state database in the process that owns it (`hagios run`, `hagios bot`):
//! prunes what `[store] keep` and `keep_audit` no longer keep, once at start and then every
//! hour, on a blocking thread; `hagios store prune` does one prune at once. What goes and why
//! it is safe: crates/store/src/retention.rs.

use crate::config::StoreConfig;
use hagios_store::{PruneReport, Retention, StoreHandle};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;

/// Rows age by the hour at most before they go; more often would only repeat the scan.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// The store's retention as configured.
pub fn retention(config: &StoreConfig) -> Retention {
    Retention { keep: seconds(config.keep), keep_audit: config.keep_audit.map(seconds) }
}

fn seconds(duration: Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}

/// Prunes now and then every [`PRUNE_EVERY`] until `shutdown` turns true. A failed prune is
/// logged and tried again at the next hour: nothing depends on it but the file's size.
pub(crate) async fn run(store: StoreHandle, retention: Retention, mut shutdown: watch::Receiver<bool>) {
    let mut every = tokio::time::interval(PRUNE_EVERY);
    every.set_missed_tick_behavior(MissedTickBehavior::Delay);
    while !*shutdown.borrow() {
        tokio::select! {
            _ = every.tick() => {}
            _ = shutdown.changed() => continue,
        }
        match store.prune(retention).await {
            Ok(report) if report.is_empty() => {}
            Ok(report) => log(&report),
            Err(e) => tracing::warn!(error = %e, "could not prune the state database; trying again in an hour"),
        }
    }
}

fn log(report: &PruneReport) {
    tracing::info!(
        deliveries = report.deliveries,
        incidents = report.incidents,
        history_lines = report.history_lines,
        groups = report.groups,
        attempts = report.attempts,
        snoozes = report.snoozes,
        audit = report.audit,
        free_bytes = report.free_bytes,
        "pruned the state database; its free pages are reused by later rows"
    );
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use hagios_store::StoreHandle;
    use hagios_store::{Delivery, Retention, Store};
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn the_owner_prunes_at_start_then_every_hour_until_shutdown() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let handle = StoreHandle::open(&path).unwrap();
        let writer = Store::open(&path).unwrap();
        let delivery = |at| Delivery { channel: "C".into(), message_id: "1".into(), at };
        writer.record_delivery("today", &delivery(hagios_domain::unix_now())).unwrap();
        writer.record_delivery("long-ago", &delivery(1_000)).unwrap();
        let is_gone = || async {
            // Blocking calls on a paused clock: give the prune real time to run.
            for _ in 0..500 {
                if writer.delivered("long-ago").unwrap().is_none() {
                    return true;
                }
                tokio::task::yield_now().await;
                std::thread::sleep(Duration::from_millis(2));
            }
            false
        };

        let (shutdown_tx, shutdown) = tokio::sync::watch::channel(false);
        let retention = Retention { keep: 86_400, keep_audit: None };
        let task = tokio::spawn(super::run(handle, retention, shutdown));
        assert!(is_gone().await, "pruned at start");

        writer.record_delivery("long-ago", &delivery(1_000)).unwrap();
        tokio::time::sleep(Duration::from_secs(1800)).await;
        assert!(writer.delivered("long-ago").unwrap().is_some(), "not before the hour");
        tokio::time::sleep(Duration::from_secs(1800)).await;
        assert!(is_gone().await, "pruned an hour later");
        assert!(writer.delivered("today").unwrap().is_some());

        shutdown_tx.send_replace(true);
        task.await.unwrap();
    }

    fn problems(store_section: &str) -> Vec<String> {
        let config: Config = toml::from_str(&format!(
            "[nagios]\ncommand_file = \"/c\"\nstatus_file = \"/s\"\nobject_cache_file = \"/o\"\n[store]\n{store_section}"
        ))
        .unwrap();
        config.problems()
    }

    #[test]
    fn config_keeps_90_days_and_the_audit_log_forever_and_refuses_less_than_a_day() {
        let config: Config = toml::from_str("[store]\nkeep = \"30d\"\nkeep_audit = \"2years\"").unwrap();
        let retention = super::retention(&config.store);
        assert_eq!(retention.keep, 30 * 86_400);
        assert!(retention.keep_audit.is_some_and(|keep| keep > 2 * 365 * 86_400));
        assert_eq!(config.store.path, std::path::PathBuf::from("/var/lib/hagios/state.db"), "path keeps its default");

        let defaults = super::retention(&crate::config::StoreConfig::default());
        assert_eq!((defaults.keep, defaults.keep_audit), (90 * 86_400, None));
        assert!(problems("").is_empty(), "{:?}", problems(""));
        assert!(problems("keep = \"1d\"\nkeep_audit = \"24h\"").is_empty());

        let short = problems("keep = \"12h\"\nkeep_audit = \"1h\"");
        assert_eq!(short.len(), 2, "{short:?}");
        assert!(short[0].contains("keep = \"12h\"") && short[0].contains("at least \"1d\""), "{short:?}");
        assert!(short[1].contains("keep_audit = \"1h\"") && short[1].contains("forever"), "{short:?}");
    }
}
