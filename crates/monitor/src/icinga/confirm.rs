//! Confirmation on Icinga 2: the API answers each request per object, so a refusal is known at
//! once; an accepted request is then confirmed by reading the object state back, worded like on
//! Nagios.

use super::client::ApiResult;
use super::state;
use super::IcingaMonitor;
use crate::readback::{self, Expectation};
use crate::MonitorError;
use hagios_domain::Outcome;
use std::time::Duration;

/// Ok when Icinga accepted the request for every object it selected; otherwise Icinga's reason.
pub(crate) fn accepted(results: &[ApiResult]) -> Result<(), MonitorError> {
    match results.iter().find(|result| !result.succeeded()) {
        None => Ok(()),
        Some(failed) => Err(MonitorError::Refused(format!("Icinga 2 says: {}", failed.explanation()))),
    }
}

/// Polls the objects API until `expectation` holds or `timeout` passes.
pub(crate) async fn wait(monitor: &IcingaMonitor, expectation: &Expectation, timeout: Duration) -> Outcome {
    match readback::poll(|| state::load(&monitor.client), expectation, timeout).await {
        Ok(detail) => Outcome::Confirmed(detail),
        Err(_) => Outcome::Unconfirmed(format!("sent, not yet confirmed by Icinga 2 after {timeout:?}")),
    }
}
