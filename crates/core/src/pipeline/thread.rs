//! Threading: whether a notification opens an incident (a new parent message) or joins the open
//! one (a thread reply plus an edit of the parent), and what the parent shows after it. Pure:
//! the deliver stage carries the plan out, the grouping stage folds cards with it.

use hagios_chat::{AlertCard, Outbound};
use hagios_domain::{Notification, NotificationType};
use hagios_store::Incident;

/// What to do in chat for one notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Post a new parent message; it becomes the incident when `opens_incident`.
    Post { card: AlertCard, opens_incident: bool },
    /// Reply in the incident's thread and show `card` in the parent from now on.
    Thread { incident: Box<Incident>, reply: Outbound, card: AlertCard, closes_incident: bool },
}

/// Decides the chat side of `notification` given the incident open for its object, if any.
pub fn plan(notification: &Notification, open: Option<Incident>) -> Plan {
    match open {
        // A later PROBLEM (a state change or a re-notification) stays in the open incident's thread.
        Some(incident) => thread_into(notification, incident),
        None => Plan::Post { card: first_card(notification), opens_incident: notification.kind.opens_incident() },
    }
}

fn thread_into(notification: &Notification, incident: Incident) -> Plan {
    let (card, line) = next_card(&incident.card, notification);
    let closes_incident = notification.kind.closes_incident();
    let reply = Outbound::Update {
        kind: notification.kind,
        state: notification.state,
        object: notification.object.clone(),
        text: reply_text(notification, &line),
    };
    Plan::Thread { incident: Box::new(incident), reply, card, closes_incident }
}

/// The incident's card after `notification`, and the history line it added.
pub(super) fn next_card(card: &AlertCard, notification: &Notification) -> (AlertCard, String) {
    let mut card = card.clone();
    card.state = notification.state;
    card.kind = notification.kind;
    card.time = notification.time;
    if !notification.output.is_empty() {
        card.output = notification.output.clone();
        card.long_output = notification.long_output.clone();
    }
    let line = history_line(notification);
    card.history.push(line.clone());
    card.open = !notification.kind.closes_incident();
    (card, line)
}

pub(super) fn first_card(notification: &Notification) -> AlertCard {
    AlertCard {
        site: notification.site.clone(),
        object: notification.object.clone(),
        state: notification.state,
        kind: notification.kind,
        output: notification.output.clone(),
        long_output: notification.long_output.clone(),
        history: Vec::new(),
        open: notification.kind.opens_incident(),
        time: notification.time,
    }
}

/// How history lines of acknowledgements, later problems and downtimes begin.
const ACKNOWLEDGED: &str = "acknowledged";
const STILL_A_PROBLEM: &str = "still a problem";
const DOWNTIME_STARTED: &str = "downtime started";
const DOWNTIME_ENDED: &str = "downtime ended";
const DOWNTIME_CANCELLED: &str = "downtime cancelled";

/// Whether the problem the card shows is acknowledged: an acknowledgement came after the last
/// problem notification (Nagios drops a non-sticky acknowledgement on a state change, and
/// notifies that change as a new PROBLEM).
pub(super) fn acknowledged(card: &AlertCard) -> bool {
    last_of(card, &[ACKNOWLEDGED, STILL_A_PROBLEM]) == Some(ACKNOWLEDGED)
}

/// Whether an open incident needs nobody now — acknowledged, in a downtime or recovered — as
/// the newest notification `held` for its group's next update says (it is not in the thread
/// yet, but it happened), or else as its card shows. Paging and reminders stop by this rule.
pub(super) fn needs_nobody(card: &AlertCard, held: Option<&Notification>) -> bool {
    let held = held.map(|notification| notification.kind);
    matches!(
        held,
        Some(NotificationType::Acknowledgement | NotificationType::DowntimeStart | NotificationType::Recovery)
    ) || acknowledged(card)
        || in_downtime(card)
}

/// Whether the object is in a downtime that started after the incident opened and has not ended.
pub(super) fn in_downtime(card: &AlertCard) -> bool {
    last_of(card, &[DOWNTIME_STARTED, DOWNTIME_ENDED, DOWNTIME_CANCELLED]) == Some(DOWNTIME_STARTED)
}

/// Which of `kinds` the newest history line starting with one of them starts with.
fn last_of(card: &AlertCard, kinds: &[&'static str]) -> Option<&'static str> {
    card.history.iter().rev().find_map(|line| kinds.iter().copied().find(|kind| line.starts_with(kind)))
}

/// One line for the parent's "who did what" list.
fn history_line(notification: &Notification) -> String {
    let by = notification.author.as_deref().filter(|a| !a.is_empty());
    let comment = notification.comment.as_deref().filter(|c| !c.is_empty());
    let what = match notification.kind {
        NotificationType::Acknowledgement => ACKNOWLEDGED,
        NotificationType::Recovery => "recovered",
        NotificationType::Problem => STILL_A_PROBLEM,
        NotificationType::DowntimeStart => DOWNTIME_STARTED,
        NotificationType::DowntimeEnd => DOWNTIME_ENDED,
        NotificationType::DowntimeCancelled => DOWNTIME_CANCELLED,
        NotificationType::FlappingStart => "started flapping",
        NotificationType::FlappingStop => "stopped flapping",
        NotificationType::FlappingDisabled => "flap detection disabled",
        NotificationType::Custom => "custom notification",
        NotificationType::Comment => "comment",
        NotificationType::DowntimeScheduled => "downtime scheduled",
    };
    let mut line = format!("{what} ({})", notification.state);
    if let Some(by) = by {
        line.push_str(&format!(" by {by}"));
    }
    if let Some(comment) = comment {
        line.push_str(&format!(": {comment}"));
    }
    line
}

fn reply_text(notification: &Notification, history: &str) -> String {
    if notification.output.is_empty() {
        history.to_owned()
    } else {
        format!("{history}\n{}", notification.output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hagios_domain::{ObjectRef, State};
    use hagios_store::IncidentId;

    fn notification(kind: NotificationType, state: State) -> Notification {
        Notification {
            id: "n".into(),
            site: "local".into(),
            kind,
            object: ObjectRef::service("web01", "HTTP"),
            state,
            output: format!("{state} - output"),
            long_output: String::new(),
            author: (kind == NotificationType::Acknowledgement).then(|| "alice".into()),
            comment: (kind == NotificationType::Acknowledgement).then(|| "looking".into()),
            time: 10,
            hostgroups: Vec::new(),
            contact: None,
            macros: Default::default(),
        }
    }

    fn opened(problem: &Notification) -> Incident {
        let Plan::Post { card, opens_incident: true } = plan(problem, None) else {
            panic!("a problem opens an incident")
        };
        Incident {
            id: IncidentId(1),
            site: card.site.clone(),
            object: card.object.clone(),
            channel: "C".into(),
            message_id: "1".into(),
            card,
            history: Vec::new(),
            opened_at: 10,
            closed_at: None,
        }
    }

    #[test]
    fn problem_opens_then_ack_and_recovery_thread_and_edit() {
        let problem = notification(NotificationType::Problem, State::Critical);
        let incident = opened(&problem);

        let Plan::Thread { card, closes_incident: false, reply, .. } =
            plan(&notification(NotificationType::Acknowledgement, State::Critical), Some(incident.clone()))
        else {
            panic!("an ack joins the thread")
        };
        assert_eq!(card.history, ["acknowledged (CRITICAL) by alice: looking"]);
        assert!(acknowledged(&card) && !acknowledged(&incident.card));
        assert!(matches!(reply, Outbound::Update { kind: NotificationType::Acknowledgement, .. }));

        let acked = Incident { card, ..incident.clone() };
        let acked_again = acked.clone();
        let Plan::Thread { card, closes_incident: true, .. } =
            plan(&notification(NotificationType::Recovery, State::Ok), Some(acked))
        else {
            panic!("a recovery closes the incident")
        };
        assert_eq!((card.state, card.open, card.history.len()), (State::Ok, false, 2));
        let Plan::Thread { card, .. } =
            plan(&notification(NotificationType::Problem, State::Warning), Some(acked_again))
        else {
            panic!("a later problem joins the thread")
        };
        assert!(!acknowledged(&card), "a state change after the acknowledgement needs a new one");
        let Plan::Thread { card, .. } = plan(
            &notification(NotificationType::DowntimeStart, State::Warning),
            Some(Incident { card, ..incident.clone() }),
        ) else {
            panic!("a downtime joins the thread")
        };
        assert!(in_downtime(&card) && !in_downtime(&incident.card));
        let Plan::Thread { card, .. } =
            plan(&notification(NotificationType::DowntimeEnd, State::Warning), Some(Incident { card, ..incident }))
        else {
            panic!("a downtime end joins the thread")
        };
        assert!(!in_downtime(&card));
    }

    #[test]
    fn notifications_without_an_open_incident_are_posted_standalone() {
        let Plan::Post { card, opens_incident } = plan(&notification(NotificationType::Recovery, State::Ok), None)
        else {
            panic!("posted")
        };
        assert!(!opens_incident && !card.open);
    }
}
