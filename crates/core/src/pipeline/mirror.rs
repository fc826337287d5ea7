//! Mirror stage: changes made outside chat (`crate::sources::nagios_status`, Icinga's comment
//! events) only ever join an incident's thread, and an acknowledgement reaches the thread once
//! however many ways it arrives — mirrored from status.dat, Nagios' own ACKNOWLEDGEMENT
//! notification, or both, as when someone acknowledges from chat.

use super::stage::{Decision, Record, Stage, Verdict};
use super::{Pass, Pipeline};
use async_trait::async_trait;
use hagios_domain::{Notification, NotificationType, MIRROR_MACRO};
use hagios_store::{Incident, StoreError, StoreHandle};

pub struct Mirror;

#[async_trait]
impl Stage for Mirror {
    async fn run<'p>(&self, pipeline: &'p Pipeline, _pass: &Pass<'_>, record: &mut Record<'p>) -> Decision {
        let notification = record.notification.clone();
        match admit(&pipeline.store, notification, record.open.as_ref()).await? {
            Some(admitted) => {
                record.notification = admitted;
                Ok(Verdict::Continue)
            }
            None => Ok(Verdict::dropped(pipeline, "nothing_to_join")),
        }
    }
}

/// The notification to deliver, or `None` when it has nothing to join or is shown already.
/// An acknowledgement in an open incident is delivered under a key made of the incident, the
/// author and the comment, which both of its ways to arrive share.
async fn admit(
    store: &StoreHandle,
    mut notification: Notification,
    open: Option<&Incident>,
) -> Result<Option<Notification>, StoreError> {
    let mirrored = notification.macros.contains_key(MIRROR_MACRO) || notification.kind == NotificationType::Comment;
    let Some(incident) = open else {
        return Ok((!mirrored).then_some(notification));
    };
    if mirrored {
        // A comment or downtime changes nothing about the check: the parent keeps its state.
        notification.state = incident.card.state;
    }
    if notification.kind == NotificationType::Acknowledgement {
        let key = format!(
            "ack:{}:{}:{}",
            incident.id,
            notification.author.as_deref().unwrap_or(""),
            notification.comment.as_deref().unwrap_or("")
        );
        if store.delivered(&key).await? {
            tracing::info!(notification = %notification.id, object = %notification.object, "acknowledgement already in its thread");
            return Ok(None);
        }
        notification.id = key;
    }
    Ok(Some(notification))
}
