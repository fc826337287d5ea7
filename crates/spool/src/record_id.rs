//! Names of spool records: unique, and sorting by name sorts by arrival time; a record a site
//! sent over the link carries that site's name as well, so sites cannot reach each other's records.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The name of one spool record, also the notification's idempotency key:
/// `{unix_nanos:020}-{pid:010}-{counter:06}`.
///
/// Unique without a random source: two writers alive at the same time never share a pid, one
/// process never repeats its counter, and a recycled pid would also need the very same nanosecond
/// timestamp as the earlier writer. The zero padding makes the string order the arrival order
/// (as far as the wall clock is monotonic; a clock step back only reorders, never collides).
///
/// At the bot, a record an agent sent is stored as `{agent's id}.{site}` ([`RecordId::of_site`]):
/// ids an agent chooses live in its site's namespace, so one site can neither replace another
/// site's record nor make the dedupe take it for delivered, and the same record sent again by the
/// same site still gets the same id. The site comes last so that names still sort by time.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RecordId(String);

/// Per-process sequence, so one process writing twice within a clock tick gets two names.
static SEQUENCE: AtomicU64 = AtomicU64::new(0);

impl RecordId {
    /// A fresh id, as [`crate::Spool::write`] gives a record: for a record made somewhere else
    /// than a spool (a notice the bot writes into its inbox).
    pub fn next() -> Self {
        // A clock before 1970 is broken, but still must not stop a notification: the pid and
        // sequence keep the name unique.
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let sequence = SEQUENCE.fetch_add(1, Ordering::Relaxed);
        RecordId(format!("{nanos:020}-{:010}-{sequence:06}", std::process::id()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// When the record was written, from its name; `None` for a name that does not say.
    pub fn written_at(&self) -> Option<SystemTime> {
        let nanos: u64 = self.0.split('-').next()?.parse().ok()?;
        UNIX_EPOCH.checked_add(std::time::Duration::from_nanos(nanos))
    }

    /// This record, sent by `site` (a site name: 1 to 63 lowercase letters, digits and dashes),
    /// in that site's namespace. Refuses an id that is in a namespace already.
    pub fn of_site(&self, site: &str) -> Result<RecordId, InvalidRecordId> {
        let qualified = format!("{}{SITE_SEPARATOR}{site}", self.0);
        if self.site().is_none() && site_name(site) {
            Ok(RecordId(qualified))
        } else {
            Err(InvalidRecordId(qualified))
        }
    }

    /// The site whose namespace the record is in; `None` for a record written here.
    pub fn site(&self) -> Option<&str> {
        self.0.split_once(SITE_SEPARATOR).map(|(_, site)| site)
    }

    /// The record's file name inside `new/`, `tmp/` and `bad/`.
    pub(crate) fn file_name(&self) -> String {
        format!("{}.{RECORD_EXTENSION}", self.0)
    }
}

pub(crate) const RECORD_EXTENSION: &str = "json";
const SITE_SEPARATOR: char = '.';
/// A DNS label's length, as an agent certificate's name.
const MAX_SITE_BYTES: usize = 63;

/// The text is not a spool record name (which also keeps path separators out of file names).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a spool record id (expected NANOS-PID-SEQUENCE, all digits, optionally followed by .SITE)")]
pub struct InvalidRecordId(pub String);

impl FromStr for RecordId {
    type Err = InvalidRecordId;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (local, site) = match text.split_once(SITE_SEPARATOR) {
            Some((local, site)) => (local, Some(site)),
            None => (text, None),
        };
        let parts: Vec<&str> = local.split('-').collect();
        let well_formed =
            parts.len() == 3 && parts.iter().all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()));
        if well_formed && site.is_none_or(site_name) {
            Ok(RecordId(text.to_owned()))
        } else {
            Err(InvalidRecordId(text.to_owned()))
        }
    }
}

/// Lowercase letters, digits and inner dashes, as `hagios certs` names an agent: safe in a file
/// name, a URL path and a log line.
fn site_name(site: &str) -> bool {
    (1..=MAX_SITE_BYTES).contains(&site.len())
        && site.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !site.starts_with('-')
        && !site.ends_with('-')
}

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_sort_in_creation_order() {
        let ids: Vec<RecordId> = (0..1000).map(|_| RecordId::next()).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted, ids);
    }

    #[test]
    fn ids_parse_back_and_reject_anything_else() {
        let id = RecordId::next();
        assert_eq!(id.as_str().parse::<RecordId>(), Ok(id));
        for bad in ["", "1-2", "1-2-3-4", "../1-2-3", "1-2-x", "1--3", "1-2-3.", "1-2-3.East", "1-2-3.a/b", "1-2-3.a.b"]
        {
            assert!(bad.parse::<RecordId>().is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn a_site_gets_its_own_namespace_that_sorts_by_time_and_parses_back() {
        let id = RecordId::next();
        let east = id.of_site("east").unwrap();
        assert_eq!(east.as_str(), format!("{id}.east"));
        assert_eq!((east.site(), id.site()), (Some("east"), None));
        assert_ne!(east, id.of_site("west").unwrap(), "two sites sending one id get two records");
        assert_eq!(east.as_str().parse::<RecordId>(), Ok(east.clone()));
        assert_eq!(east.written_at(), id.written_at());
        let later = RecordId::next().of_site("a").unwrap();
        assert!(east < later, "the site comes after the time");
        for bad in ["EAST", "", "-x", "a.b", "a/b", "e\u{1b}[2J", &"x".repeat(64)] {
            assert!(id.of_site(bad).is_err(), "{bad:?} accepted as a site");
        }
        assert!(east.of_site("west").is_err(), "a namespaced id cannot be namespaced again");
    }

    #[test]
    fn an_id_says_when_it_was_written() {
        let before = SystemTime::now();
        let written = RecordId::next().written_at().expect("a time");
        assert!(written >= before - std::time::Duration::from_millis(1) && written <= SystemTime::now());
        let old: RecordId = "00000000001000000000-0000000001-000000".parse().unwrap();
        assert_eq!(old.written_at(), Some(UNIX_EPOCH + std::time::Duration::from_secs(1)));
    }
}
