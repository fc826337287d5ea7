//! The spool: a durable, Maildir-like queue of notifications on the local disk, between
//! `hagios notify` (forked by Nagios, must finish fast) and the delivery pipeline.
//!
//! Layout under the spool directory:
//! - `tmp/` — records being written; anything left here is the garbage of a crashed writer.
//! - `new/` — durable records waiting for delivery, one JSON file each, named by [`RecordId`].
//! - `bad/` — quarantined records that can never be delivered, each with a `.reason` file.
//!
//! A record only ever appears in `new/` complete and on disk: it is written and fsynced in `tmp/`,
//! renamed into `new/` (atomic within one filesystem), and `new/` itself is fsynced.
//!
//! Nagios (writing) and hagios (reading, removing) usually share the spool through a group: see
//! [`access`] for the modes and group of what the spool creates.

mod access;
mod error;
mod record_id;

pub use error::SpoolError;
pub use record_id::{InvalidRecordId, RecordId};

use hagios_domain::Notification;
use record_id::RECORD_EXTENSION;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

#[derive(Debug, Clone)]
pub struct Spool {
    root: PathBuf,
    tmp: PathBuf,
    new: PathBuf,
    bad: PathBuf,
}

impl Spool {
    /// Opens the spool at `dir`, creating it and its folders when missing: group-writable and
    /// setgid whatever the umask, with the group of the folder they are created in.
    pub fn open(dir: impl AsRef<Path>) -> Result<Spool, SpoolError> {
        let root = dir.as_ref().to_path_buf();
        let spool = Spool { tmp: root.join("tmp"), new: root.join("new"), bad: root.join("bad"), root };
        for folder in [&spool.root, &spool.tmp, &spool.new, &spool.bad] {
            access::ensure_folder(folder)?;
        }
        Ok(spool)
    }

    pub fn dir(&self) -> &Path {
        &self.root
    }

    /// Makes `notification` durable and returns its record id. The spool assigns the id: it
    /// replaces `notification.id` and is the idempotency key of delivery from now on.
    ///
    /// When this fails (a full disk, say) nothing is left in `new/`.
    pub fn write(&self, notification: Notification) -> Result<RecordId, SpoolError> {
        let id = RecordId::next();
        self.write_as(&id, notification)?;
        Ok(id)
    }

    /// Makes `notification` durable under an id another spool gave it (the agent's, in a split
    /// deployment), so that it keeps one idempotency key end to end: writing the same id again
    /// replaces the pending record, and a delivered one is recognised by the pipeline's dedupe.
    /// Returns the record's size in bytes.
    pub fn write_as(&self, id: &RecordId, mut notification: Notification) -> Result<u64, SpoolError> {
        notification.id = id.to_string();
        let bytes = serde_json::to_vec(&notification).map_err(|e| SpoolError::Encode(e.to_string()))?;
        self.put(id, &bytes)?;
        // Should only this sync fail, the record may still be delivered although the caller hears
        // "failed"; that is the safe side, since Nagios never sends the same notification again.
        sync_dir(&self.new)?;
        Ok(bytes.len() as u64)
    }

    /// Puts the records `ids` of `from` into this spool under the same ids, with one sync of
    /// `new/` at the end; the fan-out stage hands records to each chat platform's spool this way.
    /// They are hard links where the filesystem allows — nothing is written, the records are
    /// durable already, and nobody changes a record in place — else copies. A record already here
    /// stays as it is (the same record, handed on before); one gone from `from` is skipped.
    pub fn link_from(&self, from: &Spool, ids: &[RecordId]) -> Result<(), SpoolError> {
        for id in ids {
            let (source, target) = (from.new.join(id.file_name()), self.new.join(id.file_name()));
            match fs::hard_link(&source, &target) {
                Ok(()) => {}
                Err(e) if matches!(e.kind(), io::ErrorKind::AlreadyExists | io::ErrorKind::NotFound) => {}
                // Another filesystem, or hard links not allowed (`fs.protected_hardlinks`).
                Err(_) => match fs::read(&source) {
                    Ok(bytes) => self.put(id, &bytes)?,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(SpoolError::io("read", &source, e)),
                },
            }
        }
        sync_dir(&self.new)
    }

    /// Writes and fsyncs `bytes` in `tmp/`, then moves them into `new/` as record `id`; the
    /// caller syncs `new/`.
    fn put(&self, id: &RecordId, bytes: &[u8]) -> Result<(), SpoolError> {
        let staged = self.tmp.join(id.file_name());
        let queued = self.new.join(id.file_name());
        let moved = write_synced(&staged, bytes)
            .and_then(|()| fs::rename(&staged, &queued).map_err(|e| SpoolError::io("move", &queued, e)));
        if let Err(e) = moved {
            // Best effort: a leftover would only be swept later, and the original error matters more.
            let _ = fs::remove_file(&staged);
            return Err(e);
        }
        Ok(())
    }

    /// The records waiting for delivery, oldest first. Files whose names are not record ids are
    /// left alone (an operator's editor backup, say).
    pub fn pending(&self) -> Result<Vec<RecordId>, SpoolError> {
        list_records(&self.new)
    }

    /// The records waiting for delivery with their sizes in bytes, in no particular order. A
    /// record removed while it is listed is left out.
    pub fn waiting(&self) -> Result<Vec<(RecordId, u64)>, SpoolError> {
        let mut sizes = Vec::new();
        for id in self.pending()? {
            let path = self.new.join(id.file_name());
            match fs::metadata(&path) {
                Ok(metadata) => sizes.push((id, metadata.len())),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(SpoolError::io("inspect", &path, e)),
            }
        }
        Ok(sizes)
    }

    /// The quarantined records, oldest first.
    pub fn quarantined(&self) -> Result<Vec<RecordId>, SpoolError> {
        list_records(&self.bad)
    }

    pub fn read(&self, id: &RecordId) -> Result<Notification, SpoolError> {
        let path = self.new.join(id.file_name());
        let bytes = fs::read(&path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => SpoolError::Missing(id.clone()),
            _ => SpoolError::io("read", &path, e),
        })?;
        serde_json::from_slice(&bytes).map_err(|e| SpoolError::Corrupt { id: id.clone(), reason: e.to_string() })
    }

    /// Drops a delivered record. Removing a record that is already gone is not an error.
    pub fn remove(&self, id: &RecordId) -> Result<(), SpoolError> {
        let path = self.new.join(id.file_name());
        match fs::remove_file(&path) {
            Ok(()) => sync_dir(&self.new),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(SpoolError::io("remove", &path, e)),
        }
    }

    /// Drops many delivered records with one directory sync (a group delivery carries thousands
    /// in a storm). Records already gone are skipped.
    pub fn remove_all(&self, ids: &[RecordId]) -> Result<(), SpoolError> {
        for id in ids {
            let path = self.new.join(id.file_name());
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(SpoolError::io("remove", &path, e)),
            }
        }
        sync_dir(&self.new)
    }

    /// Moves a record that can never be delivered to `bad/`, with `reason` in `bad/<id>.reason`
    /// for the operator. A record that is already gone has nothing to quarantine.
    pub fn quarantine(&self, id: &RecordId, reason: &str) -> Result<(), SpoolError> {
        let from = self.new.join(id.file_name());
        let to = self.bad.join(id.file_name());
        match fs::rename(&from, &to) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(SpoolError::io("move", &to, e)),
        }
        write_synced(&self.bad.join(format!("{id}.reason")), format!("{reason}\n").as_bytes())?;
        sync_dir(&self.bad)?;
        sync_dir(&self.new)
    }

    /// Deletes files in `tmp/` older than `max_age`: a writer that crashed before the rename
    /// left them, and no reader will ever look at them. Returns how many were removed.
    pub fn sweep_tmp(&self, max_age: Duration) -> Result<usize, SpoolError> {
        let entries = fs::read_dir(&self.tmp).map_err(|e| SpoolError::io("list", &self.tmp, e))?;
        let now = SystemTime::now();
        let mut removed = 0;
        for entry in entries {
            let entry = entry.map_err(|e| SpoolError::io("list", &self.tmp, e))?;
            let path = entry.path();
            let modified =
                entry.metadata().and_then(|m| m.modified()).map_err(|e| SpoolError::io("inspect", &path, e))?;
            // A timestamp in the future (clock skew) reads as "not old", never as garbage.
            let stale = now.duration_since(modified).is_ok_and(|age| age > max_age);
            if stale {
                match fs::remove_file(&path) {
                    Ok(()) => removed += 1,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(SpoolError::io("remove", &path, e)),
                }
            }
        }
        Ok(removed)
    }
}

/// Creates `path` (which must not exist yet) with `bytes`, readable and writable by the spool's
/// group, and fsyncs it.
fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), SpoolError> {
    let mut file =
        OpenOptions::new().write(true).create_new(true).open(path).map_err(|e| SpoolError::io("write", path, e))?;
    access::share_file(&file)
        .and_then(|()| file.write_all(bytes))
        .and_then(|()| file.sync_all())
        .map_err(|e| SpoolError::io("write", path, e))
}

/// Makes the directory's entries (a rename into it, a removal) durable.
fn sync_dir(dir: &Path) -> Result<(), SpoolError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| SpoolError::io("sync", dir, e))
}

fn list_records(dir: &Path) -> Result<Vec<RecordId>, SpoolError> {
    let entries = fs::read_dir(dir).map_err(|e| SpoolError::io("list", dir, e))?;
    let mut ids = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| SpoolError::io("list", dir, e))?;
        let name = entry.file_name();
        let id = name
            .to_str()
            .and_then(|name| name.strip_suffix(RECORD_EXTENSION))
            .and_then(|stem| stem.strip_suffix('.'))
            .and_then(|stem| stem.parse::<RecordId>().ok());
        ids.extend(id);
    }
    ids.sort();
    Ok(ids)
}
