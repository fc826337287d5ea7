//! Icinga 2's live event stream (`/v1/events`) as domain [`Notification`]s: no notification
//! script on the Icinga side. The stream is reopened with backoff whenever it ends, and every
//! (re)connect is announced with a fresh snapshot so the consumer can reconcile what it missed
//! while the stream was down (Icinga does not replay events).
//!
//! What becomes a notification: `Notification` events of kind PROBLEM, RECOVERY, CUSTOM and
//! flapping (what Icinga itself notifies, so downtimes and disabled notifications are honoured);
//! `AcknowledgementSet` → ACKNOWLEDGEMENT; `AcknowledgementCleared` → CUSTOM "acknowledgement
//! removed" (Nagios has no type for it); `DowntimeStarted` → DOWNTIMESTART; `DowntimeRemoved` →
//! DOWNTIMEEND, or DOWNTIMECANCELLED before its end time; `DowntimeAdded` for later →
//! DOWNTIMESCHEDULED; `CommentAdded` by a person → COMMENT, `CommentRemoved` → CUSTOM "comment …
//! removed". The last three are marked as mirrored ([`MIRROR_MACRO`]): they only join threads.
//! Icinga's own ACKNOWLEDGEMENT and DOWNTIME* notifications are skipped, since the dedicated
//! events already carry them.
//!
//! Hard state changes are [`StateChange`]s, whichever event reported them: a `StateChange` event
//! of state type hard, or a PROBLEM / RECOVERY `Notification`. Both carry the check result that
//! caused the change, so the consumer can announce each change once. Soft states are dropped.

use super::client::IcingaClient;
use super::state::{self, owner};
use crate::MonitorError;
use hagios_domain::{Notification, NotificationType, ObjectRef, Snapshot, State, MIRROR_MACRO};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// The event types hagios subscribes to.
pub const EVENT_TYPES: [&str; 9] = [
    "Notification",
    "AcknowledgementSet",
    "AcknowledgementCleared",
    "DowntimeStarted",
    "DowntimeRemoved",
    "StateChange",
    "CommentAdded",
    "CommentRemoved",
    "DowntimeAdded",
];

/// What the stream hands its consumer.
#[derive(Debug, Clone)]
pub enum StreamItem {
    /// The stream is (again) open; this is the state right after opening it, with objects in a
    /// soft state shown in their last hard state.
    Connected(Arc<Snapshot>),
    Notification(Box<Notification>),
    StateChange(Box<StateChange>),
}

/// A host or service entered a hard state: a PROBLEM (or a change between problem states) or a
/// RECOVERY. Icinga reports one change up to twice — as a `StateChange` event and, when it
/// notifies, as a `Notification` — with the same check result.
#[derive(Debug, Clone)]
pub struct StateChange {
    /// PROBLEM or RECOVERY with the new state and the check's output.
    pub notification: Notification,
    /// When the check that caused the change ended (`execution_end`): equal in both reports of
    /// one change, later for every later change, so it orders reports that arrive late.
    pub checked_at: f64,
    /// In downtime or acknowledged when it changed: someone planned or claimed it, so it is news
    /// only for an incident already open in chat. The event does not say whether notifications
    /// are off ([`notifications_enabled`] asks); the consumer sets this then.
    pub quiet: bool,
}

/// Whether Icinga notifies about `object`: its own `enable_notifications`, which `mute` turns off.
/// A host's setting does not reach its services, as on Nagios. `StateChange` events do not carry
/// it, so a consumer asks when it matters: one lookup by name (the `host` / `service` parameter,
/// which Icinga resolves without evaluating a filter over every object).
pub async fn notifications_enabled(client: &IcingaClient, object: &ObjectRef) -> Result<bool, MonitorError> {
    #[derive(Deserialize)]
    struct Attrs {
        enable_notifications: bool,
    }
    #[derive(Deserialize)]
    struct Found {
        attrs: Attrs,
    }
    let (kind, query) = match &object.service {
        Some(_) => ("services", json!({"service": object.to_string(), "attrs": ["enable_notifications"]})),
        None => ("hosts", json!({"host": object.host, "attrs": ["enable_notifications"]})),
    };
    let found: Vec<Found> = client.query(kind, &query).await?;
    match found.as_slice() {
        [only] => Ok(only.attrs.enable_notifications),
        _ => Err(MonitorError::UnknownObject {
            kind: if object.is_service() { "service" } else { "host" },
            name: object.to_string(),
            suggestion: None,
        }),
    }
}

/// Backoff between reconnects: doubles from `first` up to `max`.
#[derive(Debug, Clone, Copy)]
pub struct Reconnect {
    pub first: Duration,
    pub max: Duration,
}

impl Default for Reconnect {
    fn default() -> Self {
        Self { first: Duration::from_millis(500), max: Duration::from_secs(30) }
    }
}

/// One subscription to an Icinga's event stream.
pub struct EventStream {
    pub client: IcingaClient,
    pub site: String,
    /// The API queue name; two consumers with the same name share (split) the events.
    pub queue: String,
    pub reconnect: Reconnect,
}

impl EventStream {
    /// Streams into `sink` until `shutdown` turns true or the receiver is gone.
    pub async fn run(self, sink: mpsc::Sender<StreamItem>, mut shutdown: watch::Receiver<bool>) {
        let mut wait = self.reconnect.first;
        while !*shutdown.borrow() {
            let outcome = tokio::select! {
                outcome = self.stream_once(&sink) => outcome,
                _ = shutdown.changed() => return,
            };
            match outcome {
                Ok(()) => wait = self.reconnect.first,
                Err(StreamEnd::ReceiverGone) => return,
                Err(StreamEnd::Failed(err)) => {
                    tracing::warn!(site = %self.site, error = %err, retry_in = ?wait, "Icinga 2 event stream unavailable");
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => return,
            }
            wait = (wait * 2).min(self.reconnect.max);
        }
    }

    /// Opens the stream, announces it with a snapshot, then forwards events until it ends.
    /// `Ok` when it was open, so the backoff starts over.
    async fn stream_once(&self, sink: &mpsc::Sender<StreamItem>) -> Result<(), StreamEnd> {
        let mut response = self.client.events(&EVENT_TYPES, &self.queue).await?;
        let snapshot = state::load_hard(&self.client).await?;
        sink.send(StreamItem::Connected(snapshot)).await.map_err(|_| StreamEnd::ReceiverGone)?;
        tracing::info!(site = %self.site, queue = %self.queue, "Icinga 2 event stream open");
        let mut pending = Vec::new();
        while let Some(chunk) =
            response.chunk().await.map_err(|err| StreamEnd::Failed(MonitorError::State(err.to_string())))?
        {
            pending.extend_from_slice(&chunk);
            while let Some(end) = pending.iter().position(|&byte| byte == b'\n') {
                let line: Vec<u8> = pending.drain(..=end).collect();
                if let Some(item) = parse_event(&line, &self.site) {
                    sink.send(item).await.map_err(|_| StreamEnd::ReceiverGone)?;
                }
            }
        }
        tracing::warn!(site = %self.site, "Icinga 2 closed the event stream; reconnecting");
        Ok(())
    }
}

enum StreamEnd {
    Failed(MonitorError),
    ReceiverGone,
}

impl From<MonitorError> for StreamEnd {
    fn from(err: MonitorError) -> Self {
        StreamEnd::Failed(err)
    }
}

#[derive(Deserialize, Default)]
struct CheckResult {
    #[serde(default)]
    state: f64,
    #[serde(default)]
    output: String,
    #[serde(default)]
    execution_end: f64,
}

#[derive(Deserialize)]
struct DowntimeEvent {
    host_name: String,
    #[serde(default)]
    service_name: String,
    #[serde(default)]
    author: String,
    #[serde(default)]
    comment: String,
    #[serde(default)]
    start_time: f64,
    #[serde(default)]
    end_time: f64,
    #[serde(default = "fixed_by_default")]
    fixed: bool,
}

fn fixed_by_default() -> bool {
    true
}

#[derive(Deserialize)]
struct Event {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    timestamp: f64,
    #[serde(default)]
    host: String,
    #[serde(default)]
    service: String,
    #[serde(default)]
    notification_type: String,
    #[serde(default)]
    state: Option<f64>,
    #[serde(default)]
    author: String,
    #[serde(default)]
    text: String,
    /// The acknowledgement's comment text, or the comment object of `CommentAdded`.
    #[serde(default)]
    comment: CommentField,
    check_result: Option<CheckResult>,
    downtime: Option<DowntimeEvent>,
    /// `StateChange`: 0 soft, 1 hard.
    #[serde(default)]
    state_type: f64,
    #[serde(default)]
    downtime_depth: f64,
    #[serde(default)]
    acknowledgement: bool,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum CommentField {
    Text(String),
    Object(CommentEvent),
}

impl Default for CommentField {
    fn default() -> Self {
        CommentField::Text(String::new())
    }
}

#[derive(Deserialize)]
struct CommentEvent {
    host_name: String,
    #[serde(default)]
    service_name: String,
    #[serde(default)]
    author: String,
    #[serde(default)]
    text: String,
    /// 1 user; 2 downtime, 3 flapping and 4 acknowledgement comments are Icinga's own notes.
    #[serde(default)]
    entry_type: f64,
}

impl CommentField {
    fn into_text(self) -> String {
        match self {
            CommentField::Text(text) => text,
            CommentField::Object(comment) => comment.text,
        }
    }
}

/// A check result state code as a host or service state (for hosts Icinga keeps the plugin's
/// code: 0 and 1 are UP, 2 and 3 DOWN).
fn state_of(object: &ObjectRef, code: f64) -> State {
    match (object.is_service(), code as u8) {
        (true, code) => State::from_service_code(code),
        (false, 0 | 1) => State::Up,
        (false, _) => State::Down,
    }
}

/// A host's or service's state as the `state` field of acknowledgement events gives it: Icinga's
/// host state there is 0 UP, 1 DOWN.
fn checkable_state(object: &ObjectRef, code: f64) -> State {
    match (object.is_service(), code as u8) {
        (true, code) => State::from_service_code(code),
        (false, 0) => State::Up,
        (false, _) => State::Down,
    }
}

/// One line of the stream as what hagios announces, if anything.
pub fn parse_event(line: &[u8], site: &str) -> Option<StreamItem> {
    let event: Event = match serde_json::from_slice(line) {
        Ok(event) => event,
        Err(err) => {
            tracing::warn!(error = %err, "skipping an unreadable Icinga 2 event");
            return None;
        }
    };
    let hard_change = match (event.kind.as_str(), event.notification_type.as_str()) {
        ("StateChange", _) => event.state_type == 1.0,
        ("Notification", "PROBLEM" | "RECOVERY") => true,
        _ => false,
    };
    if event.kind == "StateChange" && !hard_change {
        return None;
    }
    let checked_at = event.check_result.as_ref().map_or(event.timestamp, |result| result.execution_end);
    let quiet = event.downtime_depth > 0.0 || event.acknowledgement;
    let notification = notification(event, site)?;
    Some(if hard_change {
        StreamItem::StateChange(Box::new(StateChange { notification, checked_at, quiet }))
    } else {
        StreamItem::Notification(Box::new(notification))
    })
}

fn notification(event: Event, site: &str) -> Option<Notification> {
    let time = event.timestamp as i64;
    let mut mirrored = false;
    let (kind, object, state, output, author, comment) = match event.kind.as_str() {
        "StateChange" => {
            let object = owner(event.host, event.service);
            let result = event.check_result?;
            let state = state_of(&object, result.state);
            let kind = if state.is_problem() { NotificationType::Problem } else { NotificationType::Recovery };
            (kind, object, state, result.output, String::new(), String::new())
        }
        "Notification" => {
            let kind = match event.notification_type.as_str() {
                "FLAPPINGEND" => NotificationType::FlappingStop,
                other => NotificationType::parse(other)?,
            };
            if matches!(
                kind,
                NotificationType::Acknowledgement
                    | NotificationType::DowntimeStart
                    | NotificationType::DowntimeEnd
                    | NotificationType::DowntimeCancelled
            ) {
                return None;
            }
            let object = owner(event.host, event.service);
            let result = event.check_result.unwrap_or_default();
            let state = state_of(&object, result.state);
            (kind, object, state, result.output, event.author, event.text)
        }
        "AcknowledgementSet" => {
            let object = owner(event.host, event.service);
            let state = checkable_state(&object, event.state.unwrap_or(0.0));
            (NotificationType::Acknowledgement, object, state, String::new(), event.author, event.comment.into_text())
        }
        "AcknowledgementCleared" => {
            let object = owner(event.host, event.service);
            let state = checkable_state(&object, event.state.unwrap_or(0.0));
            let comment = "acknowledgement removed".to_owned();
            (NotificationType::Custom, object, state, String::new(), event.author, comment)
        }
        "DowntimeStarted" | "DowntimeRemoved" => {
            let downtime = event.downtime?;
            let kind = match event.kind.as_str() {
                "DowntimeStarted" => NotificationType::DowntimeStart,
                _ if downtime.end_time > event.timestamp => NotificationType::DowntimeCancelled,
                _ => NotificationType::DowntimeEnd,
            };
            let object = owner(downtime.host_name, downtime.service_name);
            let state = if object.is_service() { State::Ok } else { State::Up };
            (kind, object, state, String::new(), downtime.author, downtime.comment)
        }
        "CommentAdded" | "CommentRemoved" => {
            let CommentField::Object(comment) = event.comment else { return None };
            if comment.entry_type as u8 != 1 {
                return None;
            }
            let object = owner(comment.host_name, comment.service_name);
            mirrored = true;
            // The event carries no state: a comment keeps the incident's; a removal says unknown.
            if event.kind == "CommentAdded" {
                (NotificationType::Comment, object, State::Unknown, String::new(), comment.author, comment.text)
            } else {
                let text = format!("comment by {} removed: {}", comment.author, comment.text);
                (NotificationType::Custom, object, State::Unknown, String::new(), String::new(), text)
            }
        }
        "DowntimeAdded" => {
            let downtime = event.downtime?;
            // One that starts now is told by DowntimeStarted.
            if downtime.fixed && downtime.start_time <= event.timestamp {
                return None;
            }
            let object = owner(downtime.host_name, downtime.service_name);
            mirrored = true;
            (
                NotificationType::DowntimeScheduled,
                object,
                State::Unknown,
                String::new(),
                downtime.author,
                downtime.comment,
            )
        }
        _ => return None,
    };
    let (output, long_output) = match output.split_once('\n') {
        Some((first, rest)) => (first.to_owned(), rest.to_owned()),
        None => (output, String::new()),
    };
    Some(Notification {
        id: String::new(),
        site: site.to_owned(),
        kind,
        object,
        state,
        output,
        long_output,
        author: Some(author).filter(|author| !author.is_empty()),
        comment: Some(comment).filter(|comment| !comment.is_empty()),
        time,
        hostgroups: Vec::new(),
        contact: None,
        macros: mirrored.then(|| (MIRROR_MACRO.to_owned(), "icinga events".to_owned())).into_iter().collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The notification a line becomes, whichever kind of item carries it.
    fn parsed(line: &[u8]) -> Option<Notification> {
        match parse_event(line, "s")? {
            StreamItem::Notification(notification) => Some(*notification),
            StreamItem::StateChange(change) => Some(change.notification),
            StreamItem::Connected(_) => None,
        }
    }

    fn state_change(line: &[u8]) -> StateChange {
        match parse_event(line, "s") {
            Some(StreamItem::StateChange(change)) => *change,
            other => panic!("not a state change: {other:?}"),
        }
    }

    #[test]
    fn a_problem_notification_event_becomes_a_problem() {
        let line = br#"{"type":"Notification","timestamp":1700000000.5,"host":"web01","service":"HTTP","notification_type":"PROBLEM","users":["a"],"author":"","text":"","check_result":{"state":2.0,"output":"CRITICAL - down\nmore","execution_end":1700000000.25}}"#;
        let change = state_change(line);
        let n = &change.notification;
        assert_eq!(
            (n.kind, n.state, n.object.to_string()),
            (NotificationType::Problem, State::Critical, "web01!HTTP".into())
        );
        assert_eq!((n.output.as_str(), n.long_output.as_str(), n.time), ("CRITICAL - down", "more", 1_700_000_000));
        assert_eq!((change.checked_at, change.quiet), (1_700_000_000.25, false));
    }

    #[test]
    fn hard_state_changes_count_and_soft_ones_do_not() {
        let hard = br#"{"type":"StateChange","timestamp":5.5,"host":"web01","service":"Disk","state":2,"state_type":1,"downtime_depth":0,"acknowledgement":false,"check_result":{"state":2,"output":"CRITICAL - full","execution_end":5.25}}"#;
        let change = state_change(hard);
        assert_eq!((change.notification.kind, change.notification.state), (NotificationType::Problem, State::Critical));
        assert_eq!((change.checked_at, change.quiet), (5.25, false));
        let soft = br#"{"type":"StateChange","timestamp":5.5,"host":"web01","service":"Disk","state":2,"state_type":0,"check_result":{"state":2,"output":"x"}}"#;
        assert!(parse_event(soft, "s").is_none());
        let recovered = br#"{"type":"StateChange","timestamp":6,"host":"db01","state":0,"state_type":1,"acknowledgement":true,"check_result":{"state":1,"output":"UP","execution_end":6}}"#;
        let change = state_change(recovered);
        assert_eq!((change.notification.kind, change.notification.state), (NotificationType::Recovery, State::Up));
        assert!(change.quiet, "acknowledged");
        let in_downtime = br#"{"type":"StateChange","timestamp":7,"host":"db01","state":1,"state_type":1,"downtime_depth":1,"check_result":{"state":2,"execution_end":7}}"#;
        assert!(state_change(in_downtime).quiet);
    }

    #[test]
    fn host_states_follow_icingas_plugin_codes() {
        let line = br#"{"type":"Notification","timestamp":1,"host":"db01","notification_type":"RECOVERY","check_result":{"state":1,"output":"UP"}}"#;
        assert_eq!(parsed(line).expect("recovery").state, State::Up);
        let ack = br#"{"type":"AcknowledgementSet","timestamp":1,"host":"db01","state":1}"#;
        assert_eq!(parsed(ack).expect("ack").state, State::Down, "a host's own state 1 is DOWN");
    }

    #[test]
    fn acknowledgements_and_downtimes_come_from_their_own_events_only() {
        let icinga_ack = br#"{"type":"Notification","timestamp":1,"host":"h","notification_type":"ACKNOWLEDGEMENT"}"#;
        assert!(parse_event(icinga_ack, "s").is_none());
        let ack = br#"{"type":"AcknowledgementSet","timestamp":1,"host":"h","service":"s","state":2,"author":"al","comment":"on it"}"#;
        let n = parsed(ack).expect("ack");
        assert_eq!(
            (n.kind, n.author.as_deref(), n.comment.as_deref()),
            (NotificationType::Acknowledgement, Some("al"), Some("on it"))
        );
        let cleared = br#"{"type":"AcknowledgementCleared","timestamp":2,"host":"h","service":"s","state":2}"#;
        let n = parsed(cleared).expect("cleared");
        assert_eq!((n.kind, n.comment.as_deref()), (NotificationType::Custom, Some("acknowledgement removed")));
        let removed = br#"{"type":"DowntimeRemoved","timestamp":100,"downtime":{"host_name":"h","service_name":"","author":"b","comment":"c","end_time":500}}"#;
        assert_eq!(parsed(removed).expect("removed").kind, NotificationType::DowntimeCancelled);
    }

    #[test]
    fn comments_added_by_people_become_comments_icingas_own_notes_do_not() {
        let added = br#"{"type":"CommentAdded","timestamp":5,"comment":{"host_name":"h","service_name":"s","author":"bob","text":"replaced the disk","entry_type":1.0,"entry_time":4.5}}"#;
        let n = parsed(added).expect("comment");
        assert_eq!((n.kind, n.object.to_string()), (NotificationType::Comment, "h!s".to_owned()));
        assert_eq!((n.author.as_deref(), n.comment.as_deref(), n.time), (Some("bob"), Some("replaced the disk"), 5));
        let ack_note = br#"{"type":"CommentAdded","timestamp":5,"comment":{"host_name":"h","author":"al","text":"on it","entry_type":4}}"#;
        assert!(parse_event(ack_note, "s").is_none(), "the acknowledgement event carries it");
        let removed = br#"{"type":"CommentRemoved","timestamp":6,"comment":{"host_name":"h","author":"bob","text":"old","entry_type":1}}"#;
        let n = parsed(removed).expect("removal");
        assert_eq!((n.kind, n.comment.as_deref()), (NotificationType::Custom, Some("comment by bob removed: old")));
        assert!(n.macros.contains_key(MIRROR_MACRO));
    }

    #[test]
    fn downtimes_added_for_later_are_scheduled_ones_starting_now_wait_for_their_start() {
        let later = br#"{"type":"DowntimeAdded","timestamp":100,"downtime":{"host_name":"h","author":"b","comment":"patch","start_time":500,"end_time":900,"fixed":true}}"#;
        let n = parsed(later).expect("scheduled");
        assert_eq!((n.kind, n.comment.as_deref()), (NotificationType::DowntimeScheduled, Some("patch")));
        let now = br#"{"type":"DowntimeAdded","timestamp":100,"downtime":{"host_name":"h","start_time":90,"end_time":900,"fixed":true}}"#;
        assert!(parse_event(now, "s").is_none());
    }

    #[test]
    fn garbage_and_other_events_are_skipped() {
        assert!(parse_event(b"not json", "s").is_none());
        assert!(parse_event(br#"{"type":"CheckResult","host":"h"}"#, "s").is_none());
        assert!(parse_event(br#"{"type":"StateChange","host":"h","state_type":1}"#, "s").is_none(), "no result");
    }
}
