//! Page stage: a notification that opens an incident on a route with a schedule (`[[route]]
//! oncall`) is marked for paging before it is delivered, so that once its incident is in chat
//! the person on call is paged in its thread (`escalate.rs`), whatever happens in between.

use super::stage::{Decision, Record, Stage, Verdict};
use super::{Pass, Pipeline};
use crate::config::DEFAULT_POLICY;
use async_trait::async_trait;
use hagios_store::PageIntent;

pub struct Page;

#[async_trait]
impl Stage for Page {
    async fn run<'p>(&self, pipeline: &'p Pipeline, _pass: &Pass<'_>, record: &mut Record<'p>) -> Decision {
        let notification = &record.notification;
        let Some((route, _)) = record.route else { return Ok(Verdict::Continue) };
        let Some(schedule) = &route.oncall else { return Ok(Verdict::Continue) };
        if notification.kind.opens_incident() && record.open.is_none() {
            let intent = PageIntent {
                notification_id: notification.id.clone(),
                site: notification.site.clone(),
                object: notification.object.clone(),
                schedule: schedule.clone(),
                policy: route.escalation.clone().unwrap_or_else(|| DEFAULT_POLICY.to_owned()),
            };
            pipeline.store.intend_page(intent).await?;
        }
        Ok(Verdict::Continue)
    }
}
