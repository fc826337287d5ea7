//! Fan-out stage, when one process posts to several chat platforms: every record of the spool is
//! put under its own id into one spool per platform (a hard link: the record is not written
//! again), then removed. Each platform's pipeline then holds, groups, retries and quarantines on
//! its own, so an outage of one platform holds up none of the others.

use hagios_spool::{Spool, SpoolError};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Where the platforms' spools live, inside the spool directory beside `new/`.
const PLATFORMS: &str = "platforms";
/// Records handed on with one sync of each spool's `new/`: amortizes the syncs in a storm, and
/// small enough that the platforms start delivering the first records soon.
const BATCH: usize = 256;

pub struct FanOut {
    spool: Arc<Spool>,
    platforms: Vec<Arc<Spool>>,
}

impl FanOut {
    /// The fan-out from `spool` to a spool for each of `platforms`, and those spools in the same
    /// order. Platform spools left from an earlier configuration are handed back first.
    pub fn open(spool: Arc<Spool>, platforms: &[&str]) -> Result<(FanOut, Vec<Arc<Spool>>), SpoolError> {
        return_leftovers(&spool, platforms)?;
        let platforms = platforms
            .iter()
            .map(|platform| Spool::open(platform_dir(spool.dir(), platform)).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((FanOut { spool, platforms: platforms.clone() }, platforms))
    }

    /// Copies records out every `poll_interval` until `shutdown` turns true.
    pub async fn run(self, poll_interval: Duration, mut shutdown: watch::Receiver<bool>) {
        let fan_out = Arc::new(self);
        while !*shutdown.borrow() {
            let pass = Arc::clone(&fan_out);
            match tokio::task::spawn_blocking(move || pass.pass()).await.expect("fan-out task") {
                Ok(()) => {}
                Err(e) => tracing::warn!(error = %e, "cannot hand notifications to the chat platforms; retrying"),
            }
            tokio::select! {
                _ = tokio::time::sleep(poll_interval) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    /// Hands every pending record to every platform, oldest first, in batches. A record is
    /// removed only once every platform has it; a crash before that copies it again under the
    /// same id, which replaces a pending copy and is recognised by the dedupe where it was
    /// delivered already.
    /// An unreadable record is handed on too: each platform's pipeline quarantines it in its own
    /// `bad/`, as it would any record it cannot read.
    fn pass(&self) -> Result<(), SpoolError> {
        for batch in self.spool.pending()?.chunks(BATCH) {
            for platform in &self.platforms {
                platform.link_from(&self.spool, batch)?;
            }
            self.spool.remove_all(batch)?;
        }
        Ok(())
    }
}

/// Every spool a record of `spool` waits in before it reaches chat on `platforms`: `spool`, and
/// with several platforms, each platform's.
pub fn waiting_spools(spool: &Arc<Spool>, platforms: &[&str]) -> Result<Vec<Arc<Spool>>, SpoolError> {
    let mut spools = vec![Arc::clone(spool)];
    if platforms.len() > 1 {
        for platform in platforms {
            spools.push(Arc::new(Spool::open(platform_dir(spool.dir(), platform))?));
        }
    }
    Ok(spools)
}

fn platform_dir(spool: &Path, platform: &str) -> PathBuf {
    spool.join(PLATFORMS).join(platform)
}

/// Moves what waits in the spools of platforms not among `platforms` (a platform dropped from
/// the configuration, or all of them when back to one platform) into the spool again: delivered
/// to the platforms in use, such a record meets the dedupe there; otherwise it is delivered.
/// Quarantined records stay where they are.
pub fn return_leftovers(spool: &Spool, platforms: &[&str]) -> Result<(), SpoolError> {
    let root = spool.dir().join(PLATFORMS);
    let Ok(entries) = std::fs::read_dir(&root) else { return Ok(()) };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if platforms.iter().any(|platform| name == *platform) || !entry.path().is_dir() {
            continue;
        }
        let leftover = Spool::open(entry.path())?;
        let pending = leftover.pending()?;
        spool.link_from(&leftover, &pending)?;
        leftover.remove_all(&pending)?;
        if !pending.is_empty() {
            tracing::info!(from = %entry.path().display(), records = pending.len(), "took back notifications of a platform no longer configured");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hagios_domain::{Notification, NotificationType, State};
    use hagios_spool::RecordId;

    fn notification(host: &str) -> Notification {
        crate::pipeline::group_tests::notification(host, "HTTP", NotificationType::Problem, State::Critical)
    }

    fn hosts(spool: &Spool) -> Vec<String> {
        spool.pending().unwrap().iter().map(|id| spool.read(id).unwrap().object.host).collect()
    }

    #[test]
    fn every_platform_gets_every_record_in_order_under_the_same_id() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Arc::new(Spool::open(dir.path()).unwrap());
        let ids: Vec<RecordId> = ["a", "b", "c"].iter().map(|host| spool.write(notification(host)).unwrap()).collect();
        let (fan_out, platforms) = FanOut::open(Arc::clone(&spool), &["slack", "matrix"]).unwrap();
        fan_out.pass().unwrap();
        assert!(spool.pending().unwrap().is_empty());
        for platform in &platforms {
            assert_eq!(platform.pending().unwrap(), ids);
            assert_eq!(hosts(platform), ["a", "b", "c"]);
        }
        // A crash before the removal copies the record again: the same id, not a second record.
        spool.write_as(&ids[0], notification("a")).unwrap();
        fan_out.pass().unwrap();
        assert_eq!(platforms[0].pending().unwrap(), ids);
    }

    #[test]
    fn a_platform_no_longer_configured_hands_its_records_back() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Arc::new(Spool::open(dir.path()).unwrap());
        spool.write(notification("a")).unwrap();
        let (fan_out, _) = FanOut::open(Arc::clone(&spool), &["slack", "matrix"]).unwrap();
        fan_out.pass().unwrap();
        let (_, platforms) = FanOut::open(Arc::clone(&spool), &["slack"]).unwrap();
        assert_eq!(hosts(&platforms[0]), ["a"], "slack's copy stays");
        assert_eq!(hosts(&spool), ["a"], "matrix's copy is back in the spool");
        return_leftovers(&spool, &[]).unwrap();
        assert_eq!(spool.pending().unwrap().len(), 1, "slack's copy joins it under the same id");
    }
}
