//! What a delivery stage is: one step of a notification's way from the spool to chat. Each
//! stage looks at the record as the stages before it left it and answers what happens next;
//! the list of stages, in order, is in `mod.rs`.

use super::{DeliveryError, Pass, Pipeline};
use crate::config::RouteConfig;
use crate::observe::names;
use async_trait::async_trait;
use hagios_domain::Notification;
use hagios_spool::RecordId;
use hagios_store::Incident;

/// What a stage decided for a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// On to the next stage.
    Continue,
    /// Stays in the spool, looked at again on the next pass (held by a window or a snooze, for
    /// its group, or for the problem it ends).
    Hold,
    /// Leaves the spool: delivered, or nothing to show.
    Drop,
    /// Can never be delivered: set aside in the spool's `bad/` with the reason, never lost.
    Quarantine(String),
}

/// One spool record on its way through the stages, and what they found out about it.
pub struct Record<'p> {
    pub id: RecordId,
    /// Its place among the records of this pass (the spool's order).
    pub position: usize,
    pub notification: Notification,
    /// The route it takes on this pipeline's platform and its target there; `None` sends it to
    /// the platform's default channel.
    pub route: Option<(&'p RouteConfig, &'p str)>,
    /// A hold (quiet hours, a snooze) covered it and has ended.
    pub released: bool,
    /// The incident open in chat for its object.
    pub open: Option<Incident>,
}

impl<'p> Record<'p> {
    pub fn new(id: RecordId, position: usize, notification: Notification) -> Self {
        Record { id, position, notification, route: None, released: false, open: None }
    }

    /// The channel its route names on this platform; `None` is the default channel.
    pub fn channel(&self) -> Option<&'p str> {
        self.route.map(|(_, channel)| channel)
    }
}

impl Verdict {
    /// Drop, counted on `pipeline`'s platform with why the notification is not shown.
    pub fn dropped(pipeline: &Pipeline, reason: &'static str) -> Verdict {
        let platform = pipeline.chat.platform().name();
        metrics::counter!(names::DROPPED, "platform" => platform, "reason" => reason).increment(1);
        Verdict::Drop
    }
}

/// What a stage answers, or why it could not decide now.
pub type Decision = Result<Verdict, DeliveryError>;

/// One step of delivery.
#[async_trait]
pub trait Stage: Send + Sync {
    /// Names the stage in logs: its type's name.
    fn name(&self) -> &'static str {
        let path = std::any::type_name::<Self>();
        path.rsplit("::").next().unwrap_or(path)
    }

    async fn run<'p>(&self, pipeline: &'p Pipeline, pass: &Pass<'_>, record: &mut Record<'p>) -> Decision;
}
