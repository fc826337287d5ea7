//! Mirroring for Nagios: acknowledgements, comments and downtimes made outside chat (the CGI,
//! another tool) that Nagios sends no notification for are found by comparing successive status.dat snapshots
//! and spooled as notifications, so that they reach the incident's thread like any other. Runs
//! next to Nagios: in `hagios run`, or in `hagios agent` in a split deployment.
//!
//! What was last compared is kept in the spool directory (`mirror-baseline.json`): after a
//! restart the first snapshot is compared with it, so changes made while hagios was not running
//! are mirrored too, and nothing is mirrored twice. Without that file (the very first start) the
//! first snapshot is the baseline.

use hagios_domain::{
    Comment, CommentKind, Downtime, Notification, NotificationType, ObjectRef, Snapshot, State, Status, MIRROR_MACRO,
};
use hagios_monitor::Monitor;
use hagios_spool::Spool;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Nagios rewrites status.dat every `status_update_interval` (at least a second).
const POLL: Duration = Duration::from_secs(1);
/// Where the baseline is kept, in the spool directory.
const BASELINE_FILE: &str = "mirror-baseline.json";

pub struct StatusMirror {
    pub monitor: Arc<dyn Monitor>,
    pub spool: Arc<Spool>,
}

impl StatusMirror {
    /// Compares each new snapshot with the one before (at first, with the baseline kept by the
    /// previous run), for as long as the process runs.
    pub async fn run(self) {
        let file = self.spool.dir().join(BASELINE_FILE);
        let mut kept = Baseline::load(&file);
        let mut previous: Option<Arc<Snapshot>> = None;
        loop {
            match self.monitor.snapshot().await {
                Ok(current) if previous.as_ref().is_some_and(|before| Arc::ptr_eq(before, &current)) => {}
                Ok(current) => {
                    match (&previous, &kept) {
                        (Some(before), _) => self.spool_changes(&before.status, &current.status),
                        (None, Some(baseline)) => {
                            self.spool_changes(&baseline.before(&current.status), &current.status)
                        }
                        (None, None) => {}
                    }
                    let baseline = Baseline::of(&current.status);
                    if kept.as_ref() != Some(&baseline) {
                        if let Err(e) = baseline.save(&file) {
                            tracing::warn!(error = %e, file = %file.display(), "cannot keep what was mirrored; a restart may miss changes made meanwhile");
                        }
                        kept = Some(baseline);
                    }
                    previous = Some(current);
                }
                Err(e) => tracing::warn!(error = %e, "cannot read the state to mirror changes made outside chat"),
            }
            tokio::time::sleep(POLL).await;
        }
    }

    fn spool_changes(&self, before: &Status, now: &Status) {
        for notification in changes(self.monitor.site(), before, now) {
            let (object, kind) = (notification.object.clone(), notification.kind);
            match self.spool.write(notification) {
                Ok(id) => tracing::info!(record = %id, %object, %kind, "mirrored a change made outside chat"),
                Err(e) => {
                    tracing::error!(error = %e, %object, %kind, "cannot spool a mirrored change; it is not shown")
                }
            }
        }
    }
}

/// What the mirror compares with, kept across restarts: the part of a snapshot [`changes`] reads
/// besides the objects themselves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Baseline {
    created: i64,
    /// Objects acknowledged, in order.
    acknowledged: Vec<ObjectRef>,
    /// People's comments (not Nagios' own).
    comments: Vec<Comment>,
    downtimes: Vec<Downtime>,
}

impl Baseline {
    fn of(status: &Status) -> Baseline {
        let hosts = status.hosts.values().filter(|view| view.acknowledged).map(|view| ObjectRef::host(&view.name));
        let services = status
            .services
            .values()
            .filter(|view| view.acknowledged)
            .map(|view| ObjectRef::service(&view.host, &view.description));
        let mut acknowledged: Vec<ObjectRef> = hosts.chain(services).collect();
        acknowledged.sort();
        Baseline {
            created: status.created,
            acknowledged,
            comments: status.comments.iter().filter(|c| c.kind == CommentKind::User).cloned().collect(),
            downtimes: status.downtimes.clone(),
        }
    }

    /// The snapshot to compare `now` with: `now`'s objects with the acknowledgements kept, and
    /// the comments and downtimes kept. An object added meanwhile counts as not acknowledged
    /// before; a change of one without an incident in chat goes nowhere (the pipeline keeps
    /// mirrored changes to open incidents' threads).
    fn before(&self, now: &Status) -> Status {
        let acknowledged = |object: ObjectRef| self.acknowledged.binary_search(&object).is_ok();
        let mut before = Status {
            created: self.created,
            comments: self.comments.clone(),
            downtimes: self.downtimes.clone(),
            ..now.clone()
        };
        for view in before.hosts.values_mut() {
            view.acknowledged = acknowledged(ObjectRef::host(&view.name));
        }
        for view in before.services.values_mut() {
            view.acknowledged = acknowledged(ObjectRef::service(&view.host, &view.description));
        }
        before
    }

    /// The baseline of the previous run, if it left one that can be read.
    fn load(file: &Path) -> Option<Baseline> {
        let read = match std::fs::read(file) {
            Ok(text) => serde_json::from_slice::<Baseline>(&text).map_err(|e| e.to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => Err(e.to_string()),
        };
        match read {
            Ok(mut baseline) => {
                // Kept sorted for lookups; a file edited by hand may not be.
                baseline.acknowledged.sort();
                Some(baseline)
            }
            Err(e) => {
                tracing::warn!(error = %e, file = %file.display(), "cannot read what was mirrored before; starting afresh");
                None
            }
        }
    }

    /// Replaces the file whole (written beside it, then renamed), so a crash leaves the old
    /// baseline or the new one.
    fn save(&self, file: &Path) -> std::io::Result<()> {
        let staged = PathBuf::from(format!("{}.new", file.display()));
        let mut out = std::fs::File::create(&staged)?;
        out.write_all(&serde_json::to_vec(self).map_err(std::io::Error::other)?)?;
        out.sync_all()?;
        std::fs::rename(&staged, file)
    }
}

/// The acknowledgements set or removed and the comments added between two snapshots, as
/// notifications. Only problems count for acknowledgements (a recovery clears them anyway);
/// comments of every object are reported and the pipeline keeps those with an open incident.
pub fn changes(site: &str, before: &Status, now: &Status) -> Vec<Notification> {
    let mut changes = Vec::new();
    let hosts = now.hosts.values().map(|view| {
        let old = before.hosts.get(&view.name).map(|old| old.acknowledged);
        (ObjectRef::host(&view.name), view.state, old, view.acknowledged)
    });
    let services = now.services.values().map(|view| {
        let old = before.services.get(&(view.host.clone(), view.description.clone())).map(|old| old.acknowledged);
        (ObjectRef::service(&view.host, &view.description), view.state, old, view.acknowledged)
    });
    for (object, state, was_acknowledged, acknowledged) in hosts.chain(services) {
        if !state.is_problem() {
            continue;
        }
        match (was_acknowledged, acknowledged) {
            (Some(false), true) => {
                let ack = now
                    .comments
                    .iter()
                    .filter(|c| c.object == object && c.kind == CommentKind::Acknowledgement)
                    .max_by_key(|c| (c.entry_time, c.id));
                let (author, text, time) = ack.map_or((None, None, now.created), |c| {
                    (Some(c.author.clone()), Some(c.text.clone()), c.entry_time)
                });
                changes.push(mirrored(site, object, NotificationType::Acknowledgement, state, author, text, time));
            }
            (Some(true), false) => {
                // Named as Icinga's AcknowledgementCleared is: Nagios has no type for it.
                let removed = Some("acknowledgement removed".to_owned());
                changes.push(mirrored(site, object, NotificationType::Custom, state, None, removed, now.created));
            }
            _ => {}
        }
    }
    let added = now
        .comments
        .iter()
        .filter(|c| c.kind == CommentKind::User && !before.comments.iter().any(|old| old.id == c.id));
    for comment in added {
        let state = state_of(now, &comment.object);
        let (author, text) = (Some(comment.author.clone()), Some(comment.text.clone()));
        let kind = NotificationType::Comment;
        changes.push(mirrored(site, comment.object.clone(), kind, state, author, text, comment.entry_time));
    }
    let removed = before
        .comments
        .iter()
        .filter(|c| c.kind == CommentKind::User && !now.comments.iter().any(|new| new.id == c.id));
    for comment in removed {
        let state = state_of(now, &comment.object);
        let text = Some(format!("comment by {} removed: {}", comment.author, comment.text));
        let kind = NotificationType::Custom;
        changes.push(mirrored(site, comment.object.clone(), kind, state, None, text, now.created));
    }
    changes.extend(downtime_changes(site, before, now));
    changes
}

/// Downtimes scheduled to start later, and downtimes deleted before they took effect: Nagios
/// notifies neither (it sends DOWNTIMESTART, DOWNTIMEEND and DOWNTIMECANCELLED for downtimes in
/// effect, and those are not repeated here).
fn downtime_changes(site: &str, before: &Status, now: &Status) -> Vec<Notification> {
    // A fixed downtime takes effect at its start; a flexible one only once a problem triggers it,
    // which shows as the object being in downtime.
    let waiting = |status: &Status, downtime: &Downtime| {
        status.created < downtime.start
            || (!downtime.fixed && !in_downtime(status, &downtime.object) && status.created < downtime.end)
    };
    let scheduled = now
        .downtimes
        .iter()
        .filter(|d| waiting(now, d) && !before.downtimes.iter().any(|old| old.id == d.id))
        .map(|d| (NotificationType::DowntimeScheduled, d, d.entry_time));
    let deleted = before
        .downtimes
        .iter()
        .filter(|d| waiting(before, d) && now.created < d.end && !now.downtimes.iter().any(|new| new.id == d.id))
        .map(|d| (NotificationType::DowntimeCancelled, d, now.created));
    scheduled
        .chain(deleted)
        .map(|(kind, d, time)| {
            let (author, comment) = (Some(d.author.clone()), Some(d.comment.clone()));
            mirrored(site, d.object.clone(), kind, state_of(now, &d.object), author, comment, time)
        })
        .collect()
}

fn in_downtime(status: &Status, object: &ObjectRef) -> bool {
    status.object(object).is_some_and(|object| object.in_downtime)
}

fn state_of(status: &Status, object: &ObjectRef) -> State {
    status.object(object).map_or(State::Unknown, |object| object.state)
}

fn mirrored(
    site: &str,
    object: ObjectRef,
    kind: NotificationType,
    state: State,
    author: Option<String>,
    comment: Option<String>,
    time: i64,
) -> Notification {
    Notification {
        id: String::new(),
        site: site.to_owned(),
        kind,
        object,
        state,
        // Empty: the parent keeps showing the check's output.
        output: String::new(),
        long_output: String::new(),
        author,
        comment,
        time,
        hostgroups: Vec::new(),
        contact: None,
        macros: [(MIRROR_MACRO.to_owned(), "status.dat".to_owned())].into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hagios_domain::{Comment, ServiceView};

    fn service(state: State, acknowledged: bool) -> ServiceView {
        ServiceView {
            host: "web01".into(),
            description: "HTTP".into(),
            state,
            output: "CRITICAL - down".into(),
            long_output: String::new(),
            has_been_checked: true,
            acknowledged,
            in_downtime: false,
            notifications_enabled: true,
            last_check: 0,
            last_state_change: 0,
        }
    }

    fn status(acknowledged: bool, comments: Vec<Comment>) -> Status {
        let mut status = Status { created: 1000, comments, ..Status::default() };
        status.services.insert(("web01".into(), "HTTP".into()), service(State::Critical, acknowledged));
        status
    }

    fn comment(id: u64, kind: CommentKind, author: &str, text: &str) -> Comment {
        let object = ObjectRef::service("web01", "HTTP");
        Comment {
            id,
            object,
            entry_time: 900 + id as i64,
            author: author.into(),
            text: text.into(),
            persistent: true,
            kind,
        }
    }

    #[test]
    fn an_acknowledgement_set_outside_chat_carries_its_author_and_comment() {
        let ack = comment(5, CommentKind::Acknowledgement, "cgi-user", "on it");
        let found = changes("s", &status(false, Vec::new()), &status(true, vec![ack]));
        let [n] = found.as_slice() else { panic!("one change: {found:?}") };
        assert_eq!((n.kind, n.state, n.time), (NotificationType::Acknowledgement, State::Critical, 905));
        assert_eq!((n.author.as_deref(), n.comment.as_deref()), (Some("cgi-user"), Some("on it")));
        assert_eq!(n.macros.get(MIRROR_MACRO).map(String::as_str), Some("status.dat"));
    }

    #[test]
    fn removals_and_user_comments_are_changes_nagios_own_comments_are_not() {
        let removed = changes("s", &status(true, Vec::new()), &status(false, Vec::new()));
        assert_eq!(removed[0].comment.as_deref(), Some("acknowledgement removed"));
        let notes = vec![
            comment(1, CommentKind::User, "bob", "replaced the disk"),
            comment(2, CommentKind::Downtime, "(Nagios Process)", "scheduled downtime"),
            comment(3, CommentKind::Flapping, "(Nagios Process)", "flapping"),
        ];
        let found = changes("s", &status(false, Vec::new()), &status(false, notes.clone()));
        let [n] = found.as_slice() else { panic!("one change: {found:?}") };
        assert_eq!(
            (n.kind, n.author.as_deref(), n.comment.as_deref()),
            (NotificationType::Comment, Some("bob"), Some("replaced the disk"))
        );
        assert!(changes("s", &status(false, notes.clone()), &status(false, notes.clone())).is_empty(), "nothing new");
        let gone = changes("s", &status(false, notes), &status(false, Vec::new()));
        let [n] = gone.as_slice() else { panic!("one change: {gone:?}") };
        assert_eq!(
            (n.kind, n.comment.as_deref()),
            (NotificationType::Custom, Some("comment by bob removed: replaced the disk"))
        );
    }

    fn downtime(id: u64, start: i64, fixed: bool) -> Downtime {
        Downtime {
            id,
            object: ObjectRef::service("web01", "HTTP"),
            entry_time: 950,
            start,
            end: start + 3600,
            fixed,
            duration: 600,
            author: "cgi-user".into(),
            comment: "kernel update".into(),
            name: None,
        }
    }

    #[test]
    fn downtimes_for_later_and_deleted_before_they_start_are_changes_running_ones_are_not() {
        let with = |downtimes: Vec<Downtime>| Status { downtimes, ..status(false, Vec::new()) };
        let later = downtime(1, 5000, true);
        let running = downtime(2, 500, true);
        let found = changes("s", &with(Vec::new()), &with(vec![later.clone(), running.clone()]));
        let [n] = found.as_slice() else { panic!("one change: {found:?}") };
        assert_eq!(
            (n.kind, n.comment.as_deref(), n.time),
            (NotificationType::DowntimeScheduled, Some("kernel update"), 950)
        );

        let flexible = downtime(3, 500, false);
        let found = changes("s", &with(Vec::new()), &with(vec![flexible.clone()]));
        assert_eq!(found.len(), 1, "a flexible downtime waits for a problem to trigger it");

        let found = changes("s", &with(vec![later.clone(), running.clone(), flexible]), &with(Vec::new()));
        let kinds: Vec<_> = found.iter().map(|n| n.kind).collect();
        assert_eq!(kinds, [NotificationType::DowntimeCancelled; 2], "Nagios itself tells of the running one");
    }

    #[test]
    fn changes_made_while_hagios_was_down_are_found_against_the_kept_baseline() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(BASELINE_FILE);
        let note = comment(1, CommentKind::User, "bob", "before the restart");
        let at_stop = status(false, vec![note.clone()]);
        Baseline::of(&at_stop).save(&file).unwrap();
        let kept = Baseline::load(&file).expect("kept");
        assert_eq!(kept, Baseline::of(&at_stop));

        let ack = comment(5, CommentKind::Acknowledgement, "cgi-user", "while hagios was down");
        let later = comment(6, CommentKind::User, "bob", "also meanwhile");
        let at_start = status(true, vec![note, ack, later]);
        let found = changes("s", &kept.before(&at_start), &at_start);
        let kinds: Vec<_> = found.iter().map(|n| (n.kind, n.comment.as_deref())).collect();
        assert_eq!(
            kinds,
            [
                (NotificationType::Acknowledgement, Some("while hagios was down")),
                (NotificationType::Comment, Some("also meanwhile"))
            ]
        );
        assert!(changes("s", &Baseline::of(&at_start).before(&at_start), &at_start).is_empty(), "nothing twice");

        std::fs::write(&file, "not json").unwrap();
        assert!(Baseline::load(&file).is_none(), "an unreadable file means starting afresh");
    }

    #[test]
    fn recoveries_and_new_objects_are_not_acknowledgement_changes() {
        let mut recovered = status(false, Vec::new());
        recovered.services.insert(("web01".into(), "HTTP".into()), service(State::Ok, false));
        assert!(changes("s", &status(true, Vec::new()), &recovered).is_empty());
        assert!(changes("s", &Status::default(), &status(true, Vec::new())).is_empty());
    }
}
