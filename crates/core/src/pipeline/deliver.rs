//! Deliver stage, the last: plans the thread (a new incident, or a reply in the open one plus an
//! edit of its parent, `thread.rs`), carries the plan out against the chat platform and commits
//! the delivery with the incident change it made, in one store transaction. Before the
//! first chat call the attempt is marked, so that after a crash between posting and committing
//! the next try looks the message up by the notification id instead of posting it again.

use super::stage::{Decision, Record, Stage, Verdict};
use super::thread::{self, Plan};
use super::{Pass, Pipeline};
use crate::observe::names;
use async_trait::async_trait;
use hagios_chat::{ChatAdapter, ChatError, MessageRef, Outbound};
use hagios_spool::RecordId;
use hagios_store::{Incident, IncidentChange};

pub struct Deliver;

#[async_trait]
impl Stage for Deliver {
    async fn run<'p>(&self, pipeline: &'p Pipeline, _pass: &Pass<'_>, record: &mut Record<'p>) -> Decision {
        let notification = &record.notification;
        let plan = thread::plan(notification, record.open.take());
        let retrying = pipeline.store.begin_attempt(&notification.id).await?;
        let attempt = Attempt { key: &notification.id, retrying };
        // A new incident's thread is in chat a moment before the commit records it; a command
        // typed there meanwhile waits for the commit (`unrecorded.rs`).
        let opens_incident = matches!(plan, Plan::Post { opens_incident: true, .. });
        let posting = opens_incident.then(|| pipeline.unrecorded.begin(&notification.id));
        let route = pipeline.label_of(record.route.map(|(route, _)| route));
        let delivered = execute(pipeline.chat.as_ref(), record.channel(), plan, attempt, route).await?;
        if let Some(posting) = &posting {
            posting.posted(&delivered.message);
        }
        pipeline.store.commit(&notification.id, delivered.message, delivered.change).await?;
        if let Some(posting) = posting {
            posting.recorded();
        }
        tracing::info!(notification = %notification.id, object = %notification.object, kind = %notification.kind, "delivered");
        count_delivered(pipeline.chat.platform().name(), [&record.id]);
        Ok(Verdict::Drop)
    }
}

/// Counts `records` as delivered on `platform`, each with its time from spool to commit.
pub(super) fn count_delivered<'a>(platform: &'static str, records: impl IntoIterator<Item = &'a RecordId>) {
    let now = std::time::SystemTime::now();
    for record in records {
        metrics::counter!(names::DELIVERED, "platform" => platform).increment(1);
        if let Some(latency) = record.written_at().and_then(|at| now.duration_since(at).ok()) {
            metrics::histogram!(names::DELIVERY_LATENCY, "platform" => platform).record(latency.as_secs_f64());
        }
    }
}

/// What delivery did in chat, for the store to commit in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Delivered {
    /// The message that carries this notification.
    pub message: MessageRef,
    pub change: IncidentChange,
}

/// The notification being delivered: `key` (its id) tags the message; `retrying` says an earlier
/// attempt may have posted it already, so it is looked up before being posted again.
pub struct Attempt<'a> {
    pub key: &'a str,
    pub retrying: bool,
}

impl Attempt<'_> {
    pub(super) async fn post(
        &self,
        chat: &dyn ChatAdapter,
        channel: Option<&str>,
        thread: Option<&MessageRef>,
        message: &Outbound,
    ) -> Result<MessageRef, ChatError> {
        if self.retrying {
            if let Some(posted) = chat.find_keyed(channel, thread, self.key).await? {
                tracing::info!(notification = self.key, message = %posted.id, "found the message of an earlier attempt");
                return Ok(posted);
            }
        }
        chat.post_keyed(channel, thread, message, self.key).await
    }
}

/// Carries `plan` out; an incident it opens keeps `route`, the label of its route.
async fn execute(
    chat: &dyn ChatAdapter,
    channel: Option<&str>,
    plan: Plan,
    attempt: Attempt<'_>,
    route: String,
) -> Result<Delivered, ChatError> {
    match plan {
        Plan::Post { card, opens_incident } => {
            let message = attempt.post(chat, channel, None, &Outbound::Alert(card.clone())).await?;
            let change = match opens_incident {
                true => IncidentChange::Open { opened_at: card.time, card, route: Some(route) },
                false => IncidentChange::None,
            };
            Ok(Delivered { message, change })
        }
        Plan::Thread { incident, reply, card, closes_incident } => {
            let Incident { id, channel, message_id, .. } = *incident;
            let parent = MessageRef { channel, id: message_id };
            // The edit goes first: repeating it after a failed try is harmless, a repeated reply is not.
            chat.update(&parent, &Outbound::Alert(card.clone())).await?;
            let message = attempt.post(chat, Some(&parent.channel), Some(&parent), &reply).await?;
            let change =
                if closes_incident { IncidentChange::Close { id, card } } else { IncidentChange::Update { id, card } };
            Ok(Delivered { message, change })
        }
    }
}
