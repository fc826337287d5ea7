//! Confirmation on Nagios. The command FIFO never answers, so after sending, every source of
//! evidence is watched at once and the first to speak decides:
//!
//! - the monitor's own notifications ([`EvidenceHub`]): an ACKNOWLEDGEMENT, DOWNTIMESTART or
//!   DOWNTIMECANCELLED of the object (`Expectation::shown_by_notification`);
//! - Nagios' log (`log.rs`): that it read the command (a step, never a confirmation), that it
//!   refused it, or that the effect happened;
//! - status.dat, read back: the effect; or — once a status.dat written after Nagios read the
//!   command does not show it — that it was not applied, and why. An effect the state before the
//!   command may already show (an acknowledgement removed, a downtime gone, a notification switch)
//!   counts only from a status.dat written after Nagios read the command: an `unack` typed right
//!   after an `ack` would otherwise be confirmed by a status.dat that predates the ack.
//!
//! A forced check is not over when Nagios reads the command, so status.dat without its result
//! proves nothing: a recheck waits for the result. Every command has its final word by the
//! deadline: Nagios stopping meanwhile (status.dat gone) ends it as not applied, anything else
//! still open as unconfirmed with what is known.

use super::log::{self, LogTail, Said};
use super::state::StateCache;
use crate::evidence::{Evidence, EvidenceHub};
use crate::readback::Expectation;
use crate::{MonitorError, Steps};
use hagios_domain::{Notification, NotificationType, Outcome, Snapshot, Step};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// How often status.dat and the log are looked at while a command waits: a `stat` unless Nagios
/// rewrote them, so looking often is cheap, and it bounds what hagios adds to Nagios' cadence.
pub(super) const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// Without Nagios' log, a status.dat is taken as written after Nagios read the command when its
/// `created=` is this many seconds past the write: Nagios reads a command within moments, but
/// `created=` counts whole seconds.
const READ_MARGIN_SECONDS: i64 = 2;

/// What was sent, as Nagios logs it.
pub(super) struct Sent {
    /// The command lines without their `[time] ` prefix and newline: what `EXTERNAL COMMAND:`
    /// repeats.
    pub(super) commands: Vec<String>,
    /// Seconds since the epoch, taken after the last line was written.
    pub(super) at: i64,
}

/// The sources a command listens to, opened before it is sent so that nothing said about it is
/// missed.
pub(super) struct Listening {
    log: Option<LogTail>,
    evidence: Option<Evidence>,
}

impl Listening {
    pub(super) async fn start(log_file: Option<PathBuf>, hub: &EvidenceHub) -> Listening {
        let evidence = Some(hub.subscribe());
        let log = match log_file {
            Some(path) => tokio::task::spawn_blocking(move || LogTail::from_end(&path)).await.ok(),
            None => None,
        };
        Listening { log, evidence }
    }

    /// The next notification, or never when there is no hub (any more).
    async fn notification(&mut self) -> Arc<Notification> {
        if let Some(evidence) = &mut self.evidence {
            match evidence.next().await {
                Some(notification) => return notification,
                None => self.evidence = None,
            }
        }
        std::future::pending().await
    }

    /// Confirmed when a notification that shows the effect arrives before `until`.
    async fn notification_until(&mut self, until: Instant, expectation: &Expectation, sent_at: i64) -> Option<Outcome> {
        loop {
            tokio::select! {
                notification = self.notification() => {
                    if expectation.shown_by_notification(&notification, sent_at) {
                        let kind = notification_words(notification.kind);
                        return Some(Outcome::Confirmed(format!("{}; its {kind} notification shows it", expectation.effect())));
                    }
                }
                () = tokio::time::sleep_until(until) => return None,
            }
        }
    }

    /// New log lines; none when no log is followed.
    async fn log_lines(&mut self) -> Vec<log::LogLine> {
        let Some(mut tail) = self.log.take() else { return Vec::new() };
        match tokio::task::spawn_blocking(move || (tail.read_new(), tail)).await {
            Ok((lines, tail)) => {
                self.log = Some(tail);
                lines
            }
            Err(_) => Vec::new(),
        }
    }
}

/// One command's wait for its final word.
pub(super) struct Wait<'a> {
    pub(super) state: &'a Arc<StateCache>,
    pub(super) expectation: &'a Expectation,
    pub(super) sent: Sent,
    /// The deadline, asked again on every look: the cadence may be learned meanwhile.
    pub(super) answer_within: &'a (dyn Fn() -> Duration + Send + Sync),
    pub(super) steps: Steps<'a>,
}

/// What a command's wait knows so far.
#[derive(Default)]
struct Known {
    /// When Nagios read each command (its log), by position in `Sent::commands`.
    read: Vec<Option<i64>>,
    /// status.dat was gone at the last look: Nagios stopped.
    stopped: bool,
    last_seen: Option<Arc<Snapshot>>,
}

impl Known {
    /// When Nagios had read every command, if its log showed that.
    fn read_at(&self) -> Option<i64> {
        self.read.iter().copied().try_fold(i64::MIN, |latest, read| read.map(|read| latest.max(read)))
    }

    /// Whether a status.dat created at `created` was written after Nagios read the commands.
    /// `created=` is status.dat's only clock: Nagios 4 no longer keeps `last_command_check`.
    fn written_after_read(&self, created: i64, sent_at: i64) -> bool {
        match self.read_at() {
            // Nagios reads and writes status.dat in one loop: a write begun in a later second
            // than the read began after it.
            Some(read_at) => created > read_at,
            None => created >= sent_at + READ_MARGIN_SECONDS,
        }
    }
}

/// Watches every source until one decides, or the deadline passes.
pub(super) async fn wait(mut listening: Listening, wait: Wait<'_>) -> Outcome {
    let started = Instant::now();
    let Wait { state, expectation, sent, answer_within, steps } = wait;
    let mut known = Known { read: vec![None; sent.commands.len()], ..Known::default() };
    loop {
        // The log first: Nagios logs reading a command before any status.dat can show it.
        for line in listening.log_lines().await {
            match log::said(&line, &sent.commands, expectation) {
                Some(Said::Read { index }) => {
                    let all_read_before = known.read_at().is_some();
                    known.read[index].get_or_insert(line.time);
                    if !all_read_before && known.read_at().is_some() {
                        steps(Step::Received { how: "Nagios read it (its log shows the command)".into() });
                    }
                }
                Some(Said::Refused(text)) => {
                    return Outcome::NotApplied(format!("Nagios refused it; its log says: {text}"))
                }
                Some(Said::Done(detail)) => return Outcome::Confirmed(detail),
                None => {}
            }
        }
        match StateCache::load_async(Arc::clone(state)).await {
            Ok(snapshot) => {
                known.stopped = false;
                let fresh = known.written_after_read(snapshot.status.created, sent.at);
                if let Some(detail) = expectation.confirmed_by(&snapshot) {
                    if fresh || !may_predate(expectation) {
                        return Outcome::Confirmed(format!("{detail}; status.dat shows it"));
                    }
                }
                if absence_is_final(expectation) && fresh {
                    return Outcome::NotApplied(why_not(expectation, &snapshot));
                }
                known.last_seen = Some(snapshot);
            }
            Err(MonitorError::NotRunning { .. }) => known.stopped = true,
            // Unreadable for a moment (being replaced, say): the next look tells.
            Err(_) => {}
        }
        let within = answer_within();
        let left = within.saturating_sub(started.elapsed());
        if left.is_zero() {
            return final_word(expectation, &known, within);
        }
        if let Some(outcome) =
            listening.notification_until(Instant::now() + POLL_INTERVAL.min(left), expectation, sent.at).await
        {
            return outcome;
        }
    }
}

/// A notification's kind in words: a reply quoting Nagios' own `ACKNOWLEDGEMENT` would read
/// like the notification itself.
fn notification_words(kind: NotificationType) -> String {
    match kind {
        NotificationType::DowntimeStart => "downtime start".to_owned(),
        NotificationType::DowntimeCancelled => "downtime cancellation".to_owned(),
        other => other.to_string().to_lowercase(),
    }
}

/// Effects the state before the command may already show: a flag set or cleared, a downtime
/// gone. Only a status.dat written after Nagios read the command shows that the command had
/// them. A new downtime or comment (an id unknown before sending) and a newer check result
/// cannot predate it.
fn may_predate(expectation: &Expectation) -> bool {
    matches!(
        expectation,
        Expectation::Acknowledged { .. } | Expectation::DowntimeGone { .. } | Expectation::Notifications { .. }
    )
}

/// Effects Nagios applies the moment it reads the command, so a status.dat written after that
/// without them shows they were not applied. A forced check runs later.
fn absence_is_final(expectation: &Expectation) -> bool {
    !matches!(expectation, Expectation::CheckedAfter { .. } | Expectation::Host { .. })
}

/// Why `snapshot`, written after Nagios read the command, does not show its effect.
fn why_not(expectation: &Expectation, snapshot: &Snapshot) -> String {
    let after = "status.dat written after Nagios read the command";
    match expectation {
        Expectation::Acknowledged { object, acknowledged: true } => {
            no_problem(expectation, snapshot).unwrap_or_else(|| format!("{after} shows {object} not acknowledged"))
        }
        Expectation::Acknowledged { object, acknowledged: false } => {
            format!("{after} still shows {object} acknowledged")
        }
        Expectation::DowntimeScheduled { object, .. } => format!(
            "Nagios did not schedule it: {after} lists no such downtime for {object} (Nagios drops a downtime that \
             ends in the past or lasts no time)"
        ),
        Expectation::DowntimeGone { id, .. } => format!("{after} still lists downtime #{id}"),
        Expectation::Notifications { object, enabled } => {
            let still = if *enabled { "disabled" } else { "enabled" };
            format!("{after} shows notifications still {still} for {object}")
        }
        Expectation::Comment { object, .. } => format!("{after} lists no such comment on {object}"),
        Expectation::CheckedAfter { .. } | Expectation::Host { .. } => format!("{after} does not show it"),
    }
}

/// The reason an acknowledgement cannot take, when `snapshot` shows its object without a problem.
fn no_problem(expectation: &Expectation, snapshot: &Snapshot) -> Option<String> {
    let Expectation::Acknowledged { object, acknowledged: true } = expectation else { return None };
    let status = snapshot.status.object(object)?;
    (!status.state.is_problem())
        .then(|| format!("{object} is {} — it has no problem, and Nagios acknowledges only problems", status.state))
}

/// The word at the deadline: Nagios stopped, or what is known.
fn final_word(expectation: &Expectation, known: &Known, within: Duration) -> Outcome {
    let read = known.read_at().is_some();
    if known.stopped {
        let had_read = if read { ", after it had read the command" } else { "" };
        return Outcome::NotApplied(format!(
            "Nagios stopped (status.dat is gone){had_read} before its state showed it"
        ));
    }
    let shown_early = known.last_seen.as_ref().is_some_and(|snapshot| expectation.confirmed_by(snapshot).is_some());
    let known_so_far = match (read, expectation) {
        (true, Expectation::CheckedAfter { .. }) => {
            "Nagios read it (its log); the check result is not in status.dat yet"
        }
        (true, _) if shown_early => {
            "Nagios read it (its log); status.dat shows it but was written before Nagios read the command"
        }
        (true, _) => "Nagios read it (its log); status.dat does not show it yet",
        (false, _) if shown_early => "status.dat shows it but was written before Nagios could have read the command",
        (false, _) => "status.dat does not show it yet",
    };
    let hint = known.last_seen.as_ref().and_then(|snapshot| no_problem(expectation, snapshot));
    let hint = hint.map(|reason| format!(" ({reason})")).unwrap_or_default();
    Outcome::Unconfirmed(format!("no final word from Nagios within {within:?}: {known_so_far}{hint}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hagios_domain::ObjectRef;
    use std::io::Write;
    use std::path::Path;

    /// When Nagios read the command, as its log line says.
    const READ_AT: i64 = 1_700_000_000;
    const REMOVE_ACK: &str = "REMOVE_HOST_ACKNOWLEDGEMENT;web01";
    const OBJECTS: &str = "define host {\n\thost_name\tweb01\n\talias\tweb01\n\taddress\t127.0.0.1\n\t}\n\n";

    /// A status.dat created at `created` that shows web01 with no acknowledgement, its
    /// notifications on and no downtime: what each of [`effects_an_older_state_shows`] waits for.
    fn write_status(dir: &Path, created: i64) {
        let status = format!(
            "info {{\n\tcreated={created}\n\tversion=4.4.6\n\t}}\n\n\
             hoststatus {{\n\thost_name=web01\n\tcurrent_state=1\n\tplugin_output=DOWN\n\thas_been_checked=1\n\t\
             last_check=1\n\tlast_state_change=1\n\tproblem_has_been_acknowledged=0\n\t\
             scheduled_downtime_depth=0\n\tnotifications_enabled=1\n\t}}\n\n"
        );
        std::fs::write(dir.join("status.dat"), status).expect("status.dat written");
    }

    /// Effects a status.dat from before the command may already show (here: does show).
    fn effects_an_older_state_shows() -> [Expectation; 3] {
        let object = ObjectRef::host("web01");
        [
            Expectation::Acknowledged { object: object.clone(), acknowledged: false },
            Expectation::DowntimeGone { id: 7, object: object.clone() },
            Expectation::Notifications { object, enabled: true },
        ]
    }

    /// The outcome of a command sent at `sent_at` that Nagios' log (when `log` says it is
    /// followed) shows read at [`READ_AT`], against a status.dat created at `created`.
    async fn outcome(expectation: &Expectation, created: i64, log: bool, sent_at: i64) -> Outcome {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("objects.cache"), OBJECTS).expect("objects.cache written");
        write_status(dir.path(), created);
        let log_file = dir.path().join("nagios.log");
        std::fs::write(&log_file, "[1699999990] Nagios 4.4.6 starting...\n").expect("log written");
        let listening = Listening::start(log.then(|| log_file.clone()), &EvidenceHub::new()).await;
        let mut appended = std::fs::OpenOptions::new().append(true).open(&log_file).expect("log opened");
        writeln!(appended, "[{READ_AT}] EXTERNAL COMMAND: {REMOVE_ACK}").expect("log appended");
        let state = Arc::new(StateCache::new(dir.path().join("status.dat"), dir.path().join("objects.cache")));
        let wait_for = Wait {
            state: &state,
            expectation,
            sent: Sent { commands: vec![REMOVE_ACK.to_owned()], at: sent_at },
            answer_within: &|| Duration::from_millis(300),
            steps: &|_| {},
        };
        wait(listening, wait_for).await
    }

    #[tokio::test]
    async fn such_an_effect_counts_only_from_a_status_dat_written_after_nagios_read_the_command() {
        for expectation in effects_an_older_state_shows() {
            let effect = expectation.effect();
            // Written in the second Nagios read the command: perhaps just before it did.
            let same_second = outcome(&expectation, READ_AT, true, READ_AT).await;
            let early = "Nagios read it (its log); status.dat shows it but was written before Nagios read the command";
            assert_eq!(same_second, Outcome::Unconfirmed(format!("no final word from Nagios within 300ms: {early}")));
            let before = outcome(&expectation, READ_AT - 5, true, READ_AT).await;
            assert!(matches!(before, Outcome::Unconfirmed(_)), "{effect}: {before:?}");
            let after = outcome(&expectation, READ_AT + 1, true, READ_AT).await;
            assert_eq!(after, Outcome::Confirmed(format!("{effect}; status.dat shows it")));
        }
    }

    #[tokio::test]
    async fn without_the_log_such_an_effect_counts_from_a_status_dat_stamped_after_the_command_was_sent() {
        let sent_at = READ_AT;
        for expectation in effects_an_older_state_shows() {
            let effect = expectation.effect();
            let soon = outcome(&expectation, sent_at + READ_MARGIN_SECONDS - 1, false, sent_at).await;
            let early = "status.dat shows it but was written before Nagios could have read the command";
            assert_eq!(soon, Outcome::Unconfirmed(format!("no final word from Nagios within 300ms: {early}")));
            let later = outcome(&expectation, sent_at + READ_MARGIN_SECONDS, false, sent_at).await;
            assert_eq!(later, Outcome::Confirmed(format!("{effect}; status.dat shows it")));
        }
    }

    #[tokio::test]
    async fn a_newer_check_result_counts_from_any_status_dat() {
        let web01 = ObjectRef::host("web01");
        let rechecked = Expectation::CheckedAfter { object: web01, last_check: 0 };
        let confirmed = outcome(&rechecked, READ_AT - 5, true, READ_AT).await;
        assert!(
            matches!(&confirmed, Outcome::Confirmed(detail) if detail.starts_with("rechecked web01")),
            "{confirmed:?}"
        );
    }
}
