//! Nagios' state as a cached [`Snapshot`]: status.dat is re-read only when its stamp (inode,
//! size, mtime) changes, objects.cache only when its own stamp changes, so polling is cheap.
//! Each rewrite of status.dat also teaches how often Nagios writes it (its `created=` stamps).

use crate::MonitorError;
use hagios_domain::{Inventory, Snapshot};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// Identifies one version of a file; Nagios replaces status.dat by rename every second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileStamp {
    inode: u64,
    len: u64,
    modified: SystemTime,
}

impl FileStamp {
    fn of(path: &Path) -> std::io::Result<Self> {
        let meta = fs::metadata(path)?;
        Ok(Self { inode: meta.ino(), len: meta.len(), modified: meta.modified()? })
    }
}

#[derive(Default)]
struct Cached {
    status: Option<(FileStamp, Arc<Snapshot>)>,
    inventory: Option<(FileStamp, Arc<Inventory>)>,
    /// The shortest gap between two `created=` stamps read so far, in seconds: a gap spanning
    /// rewrites nobody read is longer, so the shortest one seen is the cadence.
    shortest_gap: Option<i64>,
}

/// Loads and caches the snapshot of one Nagios instance. Blocking: call from a blocking context.
pub(crate) struct StateCache {
    status_file: PathBuf,
    object_cache_file: PathBuf,
    cached: Mutex<Cached>,
}

impl StateCache {
    pub(crate) fn new(status_file: PathBuf, object_cache_file: PathBuf) -> Self {
        Self { status_file, object_cache_file, cached: Mutex::new(Cached::default()) }
    }

    /// The current snapshot, re-parsed only from files that changed since the last call.
    pub(crate) fn load(&self) -> Result<Arc<Snapshot>, MonitorError> {
        // A panic while holding the lock leaves only a stale cache behind, which the stamps fix.
        let mut cached = self.cached.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let stamp = FileStamp::of(&self.status_file).map_err(|err| self.status_unreadable(err))?;
        let inventory = self.inventory(&mut cached)?;
        if let Some((known, snapshot)) = &cached.status {
            if *known == stamp && Arc::ptr_eq(&snapshot.inventory, &inventory) {
                return Ok(Arc::clone(snapshot));
            }
        }
        let text = fs::read_to_string(&self.status_file).map_err(|err| self.status_unreadable(err))?;
        let status = hagios_parsers::nagios::status::parse(&text)
            .map_err(|err| MonitorError::State(format!("{}: {err}", self.status_file.display())))?;
        if let Some((_, previous)) = &cached.status {
            let gap = status.created - previous.status.created;
            if gap > 0 && cached.shortest_gap.is_none_or(|shortest| gap < shortest) {
                cached.shortest_gap = Some(gap);
            }
        }
        let snapshot = Arc::new(Snapshot { status, inventory });
        cached.status = Some((stamp, Arc::clone(&snapshot)));
        Ok(snapshot)
    }

    /// How often Nagios rewrites status.dat, as far as the rewrites read so far show.
    pub(crate) fn learned_interval(&self) -> Option<Duration> {
        let cached = self.cached.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        cached.shortest_gap.and_then(|gap| u64::try_from(gap).ok()).map(Duration::from_secs)
    }

    /// [`Self::load`] on a blocking thread, for async callers.
    pub(crate) async fn load_async(cache: Arc<Self>) -> Result<Arc<Snapshot>, MonitorError> {
        tokio::task::spawn_blocking(move || cache.load())
            .await
            .map_err(|err| MonitorError::State(format!("the state reader task failed: {err}")))?
    }

    fn inventory(&self, cached: &mut Cached) -> Result<Arc<Inventory>, MonitorError> {
        let path = &self.object_cache_file;
        let unreadable = |err: std::io::Error| {
            MonitorError::State(format!("cannot read {} ({err}); check object_cache_file", path.display()))
        };
        let stamp = FileStamp::of(path).map_err(unreadable)?;
        if let Some((known, inventory)) = &cached.inventory {
            if *known == stamp {
                return Ok(Arc::clone(inventory));
            }
        }
        let text = fs::read_to_string(path).map_err(unreadable)?;
        let inventory = hagios_parsers::nagios::objects::parse(&text)
            .map_err(|err| MonitorError::State(format!("{}: {err}", path.display())))?;
        let inventory = Arc::new(inventory);
        cached.inventory = Some((stamp, Arc::clone(&inventory)));
        Ok(inventory)
    }

    /// Nagios deletes status.dat when it stops, so a missing file means it is not running.
    fn status_unreadable(&self, err: std::io::Error) -> MonitorError {
        if err.kind() == std::io::ErrorKind::NotFound {
            MonitorError::NotRunning { system: "Nagios", detail: format!("no {}", self.status_file.display()) }
        } else {
            MonitorError::State(format!("cannot read {} ({err}); check status_file", self.status_file.display()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OBJECTS: &str = "define host {\n\thost_name\tweb01\n\talias\tweb01\n\taddress\t127.0.0.1\n\t}\n\n";

    fn status(created: i64) -> String {
        format!(
            "info {{\n\tcreated={created}\n\tversion=4.4.6\n\t}}\n\n\
             hoststatus {{\n\thost_name=web01\n\tcurrent_state=0\n\tplugin_output=UP\n\thas_been_checked=1\n\t\
             last_check={created}\n\tlast_state_change=1\n\tproblem_has_been_acknowledged=0\n\t\
             scheduled_downtime_depth=0\n\tnotifications_enabled=1\n\t}}\n\n"
        )
    }

    #[test]
    fn files_are_re_read_only_when_they_change() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (status_file, object_cache_file) = (dir.path().join("status.dat"), dir.path().join("objects.cache"));
        fs::write(&status_file, status(100)).expect("status written");
        fs::write(&object_cache_file, OBJECTS).expect("objects written");
        let cache = StateCache::new(status_file.clone(), object_cache_file);

        let first = cache.load().expect("loaded");
        assert_eq!(first.status.created, 100);
        assert!(first.has_host("web01"));
        assert!(Arc::ptr_eq(&first, &cache.load().expect("cached")), "unchanged files are not re-parsed");

        // Nagios replaces status.dat by rename, which gives it a new inode.
        let next = dir.path().join("status.next");
        fs::write(&next, status(101)).expect("written");
        fs::rename(&next, &status_file).expect("renamed");
        let second = cache.load().expect("reloaded");
        assert_eq!(second.status.created, 101);
        assert!(Arc::ptr_eq(&first.inventory, &second.inventory), "objects.cache did not change");
    }

    #[test]
    fn the_cadence_is_the_shortest_gap_between_rewrites_read() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (status_file, object_cache_file) = (dir.path().join("status.dat"), dir.path().join("objects.cache"));
        fs::write(&object_cache_file, OBJECTS).expect("objects written");
        let cache = StateCache::new(status_file.clone(), object_cache_file);
        let rewrite = |created: i64| {
            let next = dir.path().join("status.next");
            fs::write(&next, status(created)).expect("written");
            fs::rename(&next, &status_file).expect("renamed");
            cache.load().expect("loaded");
        };
        rewrite(100);
        assert_eq!(cache.learned_interval(), None, "one write shows no cadence");
        rewrite(130);
        assert_eq!(cache.learned_interval(), Some(Duration::from_secs(30)), "rewrites in between were not read");
        rewrite(140);
        rewrite(150);
        assert_eq!(cache.learned_interval(), Some(Duration::from_secs(10)));
    }

    #[test]
    fn a_missing_status_file_means_nagios_is_not_running() {
        let dir = tempfile::tempdir().expect("temp dir");
        let cache = StateCache::new(dir.path().join("status.dat"), dir.path().join("objects.cache"));
        assert!(matches!(cache.load(), Err(MonitorError::NotRunning { .. })));
    }

    #[test]
    fn an_unparsable_status_file_is_a_state_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (status_file, object_cache_file) = (dir.path().join("status.dat"), dir.path().join("objects.cache"));
        fs::write(&status_file, "hoststatus {\n\thost_name=web01\n").expect("written");
        fs::write(&object_cache_file, OBJECTS).expect("written");
        let err = StateCache::new(status_file, object_cache_file).load().expect_err("truncated file");
        assert!(matches!(err, MonitorError::State(_)), "{err:?}");
    }
}
