//! Confirmation on Nagios. The command FIFO never answers, so after sending, every source of
//! evidence is watched at once and the first to speak decides:
//!
//! - the monitor's own notifications ([`EvidenceHub`]): an ACKNOWLEDGEMENT, DOWNTIMESTART or
//!   DOWNTIMECANCELLED of the object (`Expectation::shown_by_notification`);
//! - Nagios' log (`log.rs`): that it read the command (a step, never a confirmation), that it
//!   refused it, or that the effect happened;
//! - status.dat, read back: the effect; or — once a status.dat written after Nagios read the
//!   command does not show it — that it was not applied, and why.
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
                if let Some(detail) = expectation.confirmed_by(&snapshot) {
                    return Outcome::Confirmed(format!("{detail}; status.dat shows it"));
                }
                if absence_is_final(expectation) && known.written_after_read(snapshot.status.created, sent.at) {
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
    let known_so_far = match (read, expectation) {
        (true, Expectation::CheckedAfter { .. }) => {
            "Nagios read it (its log); the check result is not in status.dat yet"
        }
        (true, _) => "Nagios read it (its log); status.dat does not show it yet",
        (false, _) => "status.dat does not show it yet",
    };
    let hint = known.last_seen.as_ref().and_then(|snapshot| no_problem(expectation, snapshot));
    let hint = hint.map(|reason| format!(" ({reason})")).unwrap_or_default();
    Outcome::Unconfirmed(format!("no final word from Nagios within {within:?}: {known_so_far}{hint}"))
}
