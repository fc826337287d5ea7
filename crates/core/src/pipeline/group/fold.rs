//! A batch worked out before anything is posted, without any I/O: a thread line per announced
//! notification, the incident change per object, and the group card afterwards. Members that
//! open and recover before they were announced are never shown.

use super::super::thread::{first_card, next_card};
use hagios_domain::{AlertCard, GroupCard, Notification, ObjectRef};
use hagios_store::{Incident, IncidentChange, IncidentId};
use std::collections::HashMap;

/// Plugin output shown per member line; the member's own card is not posted in a group.
const OUTPUT_SHOWN: usize = 120;

/// One notification's part in a group delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Its line in the thread; `None` when it is not announced.
    pub line: Option<String>,
}

/// A batch worked out before anything is posted: a line per announced notification, the
/// incident changes per object, and the group card afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folded {
    pub steps: Vec<Step>,
    /// Per object, in the order of first appearance: the index of the notification whose line
    /// carries it, and its changes.
    pub changes: Vec<(usize, Vec<IncidentChange>)>,
    pub card: GroupCard,
}

/// Where one object stands while a batch is folded.
enum Track {
    None,
    Existing {
        id: IncidentId,
        card: AlertCard,
        touched: bool,
    },
    /// Opened in this batch by the notification at `first`; not in chat yet.
    New {
        card: AlertCard,
        first: usize,
        since: Vec<usize>,
    },
}

/// Folds `members` (in arrival order) onto the group `card` and the incidents open for their
/// objects (`open`, by object).
pub fn fold(members: &[Notification], open: &HashMap<ObjectRef, Incident>, mut card: GroupCard) -> Folded {
    let mut steps: Vec<Step> = members.iter().map(|n| Step { line: Some(member_line(n)) }).collect();
    let mut order: Vec<ObjectRef> = Vec::new();
    let mut tracks: HashMap<ObjectRef, (Track, Vec<IncidentChange>, usize)> = HashMap::new();
    for (index, notification) in members.iter().enumerate() {
        let object = &notification.object;
        let (track, changes, _) = tracks.entry(object.clone()).or_insert_with(|| {
            order.push(object.clone());
            let track = match open.get(object) {
                Some(incident) => Track::Existing { id: incident.id, card: incident.card.clone(), touched: false },
                None => Track::None,
            };
            (track, Vec::new(), index)
        });
        let closes = notification.kind.closes_incident();
        *track = match std::mem::replace(track, Track::None) {
            Track::None if notification.kind.opens_incident() => {
                Track::New { card: first_card(notification), first: index, since: vec![index] }
            }
            Track::None => Track::None,
            Track::Existing { id, card: before, .. } => {
                let (after, _) = next_card(&before, notification);
                if closes {
                    changes.push(IncidentChange::Close { id, card: after });
                    Track::None
                } else {
                    Track::Existing { id, card: after, touched: true }
                }
            }
            Track::New { card: before, first, mut since } => {
                since.push(index);
                if closes {
                    // Opened and recovered before anyone was told: not announced at all.
                    for quiet in since {
                        steps[quiet].line = None;
                    }
                    Track::None
                } else {
                    Track::New { card: next_card(&before, notification).0, first, since }
                }
            }
        };
    }
    let mut result = Vec::new();
    for object in order {
        let (track, mut changes, first_seen) = tracks.remove(&object).expect("tracked");
        let carrier = match track {
            Track::None => first_seen,
            Track::Existing { id, card: incident, touched } => {
                if touched {
                    changes.push(IncidentChange::Update { id, card: incident });
                }
                first_seen
            }
            Track::New { card: incident, first, .. } => {
                // Its route is named by the pipeline, which knows the routes.
                changes.push(IncidentChange::Open { card: incident, opened_at: members[first].time, route: None });
                first
            }
        };
        for incident in changes.iter().filter_map(IncidentChange::card) {
            card.set(&object, incident.state, incident.open);
        }
        if let Some(last) = members.iter().rev().find(|n| n.object == object) {
            card.time = card.time.max(last.time);
        }
        result.push((carrier, changes));
    }
    Folded { steps, changes: result, card }
}

/// A member's line in the group's thread.
fn member_line(notification: &Notification) -> String {
    let mut line = format!("• {} {} {}", notification.object, notification.kind, notification.state);
    if let Some(author) = notification.author.as_deref().filter(|a| !a.is_empty()) {
        line.push_str(&format!(" by {author}"));
    }
    let output = notification.comment.as_deref().filter(|c| !c.is_empty()).unwrap_or(&notification.output);
    let output: String = output.lines().next().unwrap_or_default().chars().take(OUTPUT_SHOWN).collect();
    if !output.is_empty() {
        line.push_str(&format!(": {output}"));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use hagios_domain::{NotificationType, State};
    use hagios_store::IncidentId;

    fn notification(id: &str, service: &str, kind: NotificationType, state: State) -> Notification {
        Notification {
            id: id.into(),
            site: "local".into(),
            kind,
            object: ObjectRef::service("db01", service),
            state,
            output: format!("{state} - {service}"),
            long_output: String::new(),
            author: None,
            comment: None,
            time: 100,
            hostgroups: Vec::new(),
            contact: None,
            macros: Default::default(),
        }
    }

    fn empty_card() -> GroupCard {
        GroupCard { site: "local".into(), members: Vec::new(), time: 0 }
    }

    #[test]
    fn a_burst_folds_into_one_summary_and_quick_recoveries_stay_quiet() {
        use NotificationType::{Problem, Recovery};
        let mut members: Vec<Notification> =
            (0..37).map(|n| notification(&format!("p{n}"), &format!("svc{n}"), Problem, State::Critical)).collect();
        members.push(notification("p37", "flappy", Problem, State::Critical));
        members.push(notification("r37", "flappy", Recovery, State::Ok));
        let folded = fold(&members, &HashMap::new(), empty_card());
        assert_eq!(hagios_chat::group::summary(&folded.card), "37 services on db01 CRITICAL");
        assert_eq!(folded.steps.iter().filter(|s| s.line.is_some()).count(), 37);
        assert!(folded.steps[37].line.is_none() && folded.steps[38].line.is_none(), "flappy is not announced");
        assert_eq!(folded.changes.len(), 38);
        assert!(folded.changes[37].1.is_empty(), "no incident for flappy");
        assert!(hagios_chat::group::text(&folded.card).contains("… and 12 more"));
    }

    #[test]
    fn later_members_update_and_close_existing_incidents() {
        use NotificationType::{Problem, Recovery};
        let first = fold(
            &[notification("p1", "HTTP", Problem, State::Critical), notification("p2", "SSH", Problem, State::Warning)],
            &HashMap::new(),
            empty_card(),
        );
        let IncidentChange::Open { card: http_card, opened_at: 100, .. } = first.changes[0].1[0].clone() else {
            panic!("opened")
        };
        let incident = Incident {
            id: IncidentId(7),
            site: "local".into(),
            object: http_card.object.clone(),
            channel: "C".into(),
            message_id: "1".into(),
            card: http_card,
            history: Vec::new(),
            opened_at: 100,
            closed_at: None,
        };
        let open = HashMap::from([(ObjectRef::service("db01", "HTTP"), incident)]);
        let later = fold(&[notification("r1", "HTTP", Recovery, State::Ok)], &open, first.card);
        assert!(matches!(&later.changes[0].1[..], [IncidentChange::Close { id: IncidentId(7), card }] if !card.open));
        assert_eq!(hagios_chat::group::summary(&later.card), "1 service on db01 WARNING");
        assert!(later.steps[0].line.as_deref().unwrap().contains("db01!HTTP RECOVERY OK"));
    }
}
