//! Dedupe stage: a notification delivered already (a crash after its commit, before its spool
//! record was removed; or a record handed over twice) leaves the spool without a second post.
//! Otherwise the incident open for its object is looked up for the stages after.

use super::stage::{Decision, Record, Stage, Verdict};
use super::{Pass, Pipeline};
use async_trait::async_trait;

pub struct Dedupe;

#[async_trait]
impl Stage for Dedupe {
    async fn run<'p>(&self, pipeline: &'p Pipeline, _pass: &Pass<'_>, record: &mut Record<'p>) -> Decision {
        let notification = &record.notification;
        if pipeline.store.delivered(&notification.id).await? {
            return Ok(Verdict::dropped(pipeline, "delivered_already"));
        }
        record.open = pipeline.store.open_incident(&notification.site, &notification.object).await?;
        Ok(Verdict::Continue)
    }
}
