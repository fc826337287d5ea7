//! Per-site quotas at the bot: how many records and bytes of one site may wait there for chat,
//! so that a compromised agent cannot fill the bot's disk. Over its quota a site's notifications
//! are answered `OverQuota` (its agent keeps them and offers them again later), and chat hears of
//! it once: the bot writes a notice into its own spool, which the pipeline delivers like any
//! notification. Only a site that has gone [`CALM`] without a refusal gets another notice when
//! it fills its quota again (a long storm that fills it again and again is one episode).
//!
//! What waits is counted from the spools themselves (the bot's spool and, with several chat
//! platforms, each platform's; with several bots, the inbox they share: [`Waiting`]), where a site's records are the ones in its namespace
//! ([`RecordId::of_site`]). Scanning is not free, so between scans the count is the last scan
//! plus what was stored since — never less than the truth, as delivery only takes away — and
//! the spools are scanned again only when that estimate reaches a quota, at most once a second.

use hagios_domain::{Notification, NotificationType, ObjectRef, State};
use hagios_spool::{RecordId, Spool, SpoolError};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The shortest time between two scans of the spools.
const RESCAN_INTERVAL: Duration = Duration::from_secs(1);
/// How long a site that filled its quota must go without a refusal before filling it again is
/// news: well beyond the longest pause an agent makes between offers.
pub const CALM: Duration = Duration::from_secs(600);
/// The object of the quota notices, a service of no real host: what fills up is the bot.
pub const NOTICE_HOST: &str = "hagios";
pub const NOTICE_SERVICE: &str = "link quota";
const MIB: u64 = 1024 * 1024;

/// A place records wait at the bot besides its spools: the inbox several bots share.
pub trait Waiting: Send + Sync {
    /// Every record waiting there with its size in bytes. Blocks.
    fn waiting(&self) -> Result<Vec<(String, u64)>, String>;
}

/// Why the quotas could not be counted.
#[derive(Debug, thiserror::Error)]
pub enum QuotaError {
    #[error(transparent)]
    Spool(#[from] SpoolError),
    #[error("cannot count what waits in the shared inbox: {0}")]
    Inbox(String),
}

/// How much of one site may wait at the bot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub records: u64,
    pub bytes: u64,
}

/// What of one site waits at the bot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub records: u64,
    pub bytes: u64,
}

impl Usage {
    fn reaches(&self, quota: &Quota) -> bool {
        self.records >= quota.records || self.bytes >= quota.bytes
    }
}

/// What becomes of a site's next record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Store it.
    Store,
    /// Refuse it. `newly_full`: the first refusal since the site went [`CALM`] without one.
    Refuse { usage: Usage, newly_full: bool },
}

/// The quotas of every site, shared by the bot's connections.
pub struct Quotas {
    quota: Quota,
    spools: Vec<Arc<Spool>>,
    elsewhere: Option<Arc<dyn Waiting>>,
    calm: Duration,
    accounts: Mutex<Accounts>,
}

#[derive(Default)]
struct Accounts {
    /// Per site: the last scan plus what was stored since.
    usage: HashMap<String, Usage>,
    scanned: Option<Instant>,
    /// When each site was last refused.
    refused: HashMap<String, Instant>,
}

impl Quotas {
    /// `quota` for every site, counted over `spools`: every spool a record waits in at the bot.
    pub fn new(quota: Quota, spools: Vec<Arc<Spool>>) -> Self {
        Quotas { quota, spools, elsewhere: None, calm: CALM, accounts: Mutex::default() }
    }

    /// The same, counting what waits in `elsewhere` too.
    pub fn counting(self, elsewhere: Arc<dyn Waiting>) -> Self {
        Quotas { elsewhere: Some(elsewhere), ..self }
    }

    /// The same with another time a site must go without a refusal before it is noticed again.
    pub fn with_calm(self, calm: Duration) -> Self {
        Quotas { calm, ..self }
    }

    /// Whether `site` may store one more record. Blocks: it may scan the spools.
    pub fn admit(&self, site: &str) -> Result<Admission, QuotaError> {
        let mut accounts = self.accounts.lock().expect("quota lock");
        let stale = accounts.scanned.is_none_or(|at| at.elapsed() >= RESCAN_INTERVAL);
        let below_quota = |accounts: &Accounts| {
            let usage = accounts.usage.get(site).copied().unwrap_or_default();
            (!usage.reaches(&self.quota)).then_some(()).ok_or(usage)
        };
        if accounts.scanned.is_none() || (below_quota(&accounts).is_err() && stale) {
            accounts.usage = self.scan()?;
            accounts.scanned = Some(Instant::now());
        }
        match below_quota(&accounts) {
            Ok(()) => Ok(Admission::Store),
            Err(usage) => {
                let last = accounts.refused.insert(site.to_owned(), Instant::now());
                let newly_full = last.is_none_or(|last| last.elapsed() >= self.calm);
                Ok(Admission::Refuse { usage, newly_full })
            }
        }
    }

    /// Counts a record of `bytes` that `site` just stored.
    pub fn stored(&self, site: &str, bytes: u64) {
        let mut accounts = self.accounts.lock().expect("quota lock");
        let usage = accounts.usage.entry(site.to_owned()).or_default();
        usage.records += 1;
        usage.bytes += bytes;
    }

    /// The notice chat gets when `site` fills its quota (`usage` is what waits). A CUSTOM
    /// notification of `site` about [`NOTICE_HOST`]!`NOTICE_SERVICE`: it opens no incident, so it
    /// is posted as one message on its own (never grouped or threaded), routed like that site's
    /// notifications — without a `[[route]]` that takes it, to the default channel.
    pub fn notice(&self, site: &str, usage: Usage) -> Notification {
        let quota = self.quota;
        Notification {
            id: String::new(),
            site: site.to_owned(),
            kind: NotificationType::Custom,
            object: ObjectRef::service(NOTICE_HOST, NOTICE_SERVICE),
            state: State::Warning,
            output: format!(
                "site `{site}` has {} notifications ({}) waiting for chat at the bot, its quota ([bot] \
                 quota_records = {}, quota_mib = {}): the bot takes no more from it until chat catches up. Its agent \
                 keeps them and sends them later; nothing is lost. If the site is not in an alert storm, its agent \
                 may be compromised (see SECURITY.md).",
                usage.records,
                size(usage.bytes),
                quota.records,
                quota.bytes / MIB,
            ),
            long_output: String::new(),
            author: None,
            comment: None,
            time: SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_secs() as i64),
            hostgroups: Vec::new(),
            contact: None,
            macros: Default::default(),
        }
    }

    /// What waits of each site now. A record in several spools (handed on to each chat platform
    /// as a hard link), or in a spool and the inbox (the leader's copy), counts once.
    fn scan(&self) -> Result<HashMap<String, Usage>, QuotaError> {
        let mut waiting = Vec::new();
        for spool in &self.spools {
            waiting.extend(spool.waiting()?);
        }
        if let Some(elsewhere) = &self.elsewhere {
            for (id, bytes) in elsewhere.waiting().map_err(QuotaError::Inbox)? {
                // The shared inbox holds what bots' own sources forwarded too (ids of no site).
                if let Ok(id) = id.parse::<RecordId>() {
                    waiting.push((id, bytes));
                }
            }
        }
        let mut seen: HashSet<RecordId> = HashSet::new();
        let mut usage: HashMap<String, Usage> = HashMap::new();
        for (id, bytes) in waiting {
            let Some(site) = id.site() else { continue };
            let site = site.to_owned();
            if seen.insert(id) {
                let site_usage = usage.entry(site).or_default();
                site_usage.records += 1;
                site_usage.bytes += bytes;
            }
        }
        Ok(usage)
    }
}

/// `bytes` for people: KiB below a MiB, else MiB, rounded up.
fn size(bytes: u64) -> String {
    match bytes < MIB {
        true => format!("{} KiB", bytes.div_ceil(1024)),
        false => format!("{} MiB", bytes.div_ceil(MIB)),
    }
}

impl Quota {
    /// `records` and `mib` as `[bot]` gives them.
    pub fn of(records: u64, mib: u64) -> Quota {
        Quota { records, bytes: mib.saturating_mul(MIB) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Record `n` of `site`, and a notification to store under it.
    fn record(site: &str, n: u64) -> (RecordId, Notification) {
        let id: RecordId = format!("{n:020}-0000000001-000000").parse().unwrap();
        let quotas = Quotas::new(Quota::of(1, 1), Vec::new());
        (id.of_site(site).unwrap(), quotas.notice(site, Usage::default()))
    }

    #[test]
    fn a_site_is_refused_at_its_quota_and_noticed_once_per_episode() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Arc::new(Spool::open(dir.path()).unwrap());
        let quotas =
            Quotas::new(Quota { records: 4, bytes: u64::MAX }, vec![Arc::clone(&spool)]).with_calm(RESCAN_INTERVAL * 2);
        let mut east = Vec::new();
        for n in 0..4 {
            assert_eq!(quotas.admit("east").unwrap(), Admission::Store);
            let (id, notification) = record("east", n);
            quotas.stored("east", spool.write_as(&id, notification).unwrap());
            east.push(id);
        }
        let Admission::Refuse { usage, newly_full: true } = quotas.admit("east").unwrap() else {
            panic!("not refused")
        };
        assert_eq!(usage.records, 4);
        assert!(matches!(quotas.admit("east").unwrap(), Admission::Refuse { newly_full: false, .. }));
        assert_eq!(quotas.admit("west").unwrap(), Admission::Store, "west has its own quota");
        // Records the bot wrote itself count for no site.
        spool.write(quotas.notice("east", usage)).unwrap();

        // Chat catches up; until the next scan the estimate still says full.
        spool.remove_all(&east).unwrap();
        assert!(matches!(quotas.admit("east").unwrap(), Admission::Refuse { newly_full: false, .. }));
        std::thread::sleep(RESCAN_INTERVAL);
        for (n, id) in east.iter().enumerate() {
            assert_eq!(quotas.admit("east").unwrap(), Admission::Store);
            quotas.stored("east", spool.write_as(id, record("east", n as u64).1).unwrap());
        }
        // Full again soon after: the same episode, no second notice.
        assert!(matches!(quotas.admit("east").unwrap(), Admission::Refuse { newly_full: false, .. }));
        spool.remove_all(&east).unwrap();
        std::thread::sleep(RESCAN_INTERVAL * 2);
        for (n, id) in east.iter().enumerate() {
            assert_eq!(quotas.admit("east").unwrap(), Admission::Store);
            quotas.stored("east", spool.write_as(id, record("east", n as u64).1).unwrap());
        }
        // Full again after a calm: news again.
        assert!(matches!(quotas.admit("east").unwrap(), Admission::Refuse { newly_full: true, .. }));
    }

    #[test]
    fn bytes_count_once_per_record_across_spools() {
        let (main, platform) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (main, platform) =
            (Arc::new(Spool::open(main.path()).unwrap()), Arc::new(Spool::open(platform.path()).unwrap()));
        let (id, notification) = record("east", 1);
        let bytes = main.write_as(&id, notification).unwrap();
        platform.link_from(&main, std::slice::from_ref(&id)).unwrap();
        let quotas = Quotas::new(Quota { records: 10, bytes: 2 * bytes }, vec![main, platform]);
        assert_eq!(quotas.scan().unwrap()["east"], Usage { records: 1, bytes });
        assert_eq!(quotas.admit("east").unwrap(), Admission::Store);
        quotas.stored("east", bytes);
        assert!(matches!(quotas.admit("east").unwrap(), Admission::Refuse { newly_full: true, .. }));
    }

    #[test]
    fn the_notice_says_what_happened_and_what_to_do() {
        let quotas = Quotas::new(Quota::of(20_000, 256), Vec::new());
        let notice = quotas.notice("east", Usage { records: 20_000, bytes: 3 * MIB + 1 });
        assert_eq!(
            (notice.kind, notice.state, notice.site.as_str()),
            (NotificationType::Custom, State::Warning, "east")
        );
        assert!(!notice.kind.opens_incident(), "posted on its own, never grouped");
        assert!(notice.output.contains("20000 notifications (4 MiB)"), "{}", notice.output);
        assert!(quotas.notice("east", Usage { records: 3, bytes: 2000 }).output.contains("3 notifications (2 KiB)"));
        assert!(notice.output.contains("quota_records = 20000, quota_mib = 256"), "{}", notice.output);
        assert!(notice.output.contains("nothing is lost"), "{}", notice.output);
    }

    /// An inbox several bots share, as a list.
    struct SharedInbox(Vec<(String, u64)>);

    impl Waiting for SharedInbox {
        fn waiting(&self) -> Result<Vec<(String, u64)>, String> {
            Ok(self.0.clone())
        }
    }

    #[test]
    fn what_waits_in_the_shared_inbox_counts_once_beside_the_spool() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Arc::new(Spool::open(dir.path()).unwrap());
        let (mirrored, notification) = record("east", 1);
        let bytes = spool.write_as(&mirrored, notification).unwrap();
        let inbox = SharedInbox(vec![
            (mirrored.to_string(), bytes),
            (record("east", 2).0.to_string(), 100),
            (record("west", 3).0.to_string(), 100),
            ("01796495339656569025-0000013192-000000".into(), 100),
        ]);
        let quotas = Quotas::new(Quota { records: 2, bytes: u64::MAX }, vec![spool]).counting(Arc::new(inbox));
        let usage = quotas.scan().unwrap();
        assert_eq!(usage["east"], Usage { records: 2, bytes: bytes + 100 }, "the leader's copy counts once");
        assert_eq!(usage["west"].records, 1);
        assert_eq!(usage.len(), 2, "a bot's own record belongs to no site: {usage:?}");
        assert!(matches!(quotas.admit("east").unwrap(), Admission::Refuse { newly_full: true, .. }));
        assert_eq!(quotas.admit("west").unwrap(), Admission::Store);
    }
}
