//! Confirmation on Icinga 2: the API answers each request per object, so a refusal is known at
//! once; an accepted request is then confirmed by reading the object state back, worded like on
//! Nagios.

use super::client::ApiResult;
use super::IcingaMonitor;
use crate::readback::{self, Expectation};
use crate::MonitorError;
use hagios_domain::Outcome;
use std::time::Duration;

/// How often the objects API is asked while confirming; each poll is a request to Icinga, which
/// shows an accepted action at once, so this is rarely waited for.
const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// What to do about refusals Icinga words for its own log rather than for chat.
const ADVICE: [(&str, &str); 2] = [
    ("unknown template", "use a host template defined in Icinga 2 (e.g. generic-host)"),
    (
        "not created using the api",
        "only hosts added through the API (`host add`) can be removed from chat; remove it from Icinga's configuration files",
    ),
];

/// Ok when Icinga accepted the request for every object it selected; otherwise Icinga's reason.
pub(crate) fn accepted(results: &[ApiResult]) -> Result<(), MonitorError> {
    match results.iter().find(|result| !result.succeeded()) {
        None => Ok(()),
        Some(failed) => {
            let explanation = failed.explanation();
            let lowercase = explanation.to_lowercase();
            let advice = ADVICE.iter().find(|(needle, _)| lowercase.contains(needle)).map(|(_, advice)| *advice);
            Err(MonitorError::Refused(match advice {
                Some(advice) => format!("Icinga 2 says: {explanation}; {advice}"),
                None => format!("Icinga 2 says: {explanation}"),
            }))
        }
    }
}

/// Polls the objects API until `expectation` holds or `timeout` passes. Each poll is a read
/// under way or a new one, never a finished one; confirmations running at the same time share
/// their reads, and the read that confirms is what `snapshot()` answers next.
pub(crate) async fn wait(monitor: &IcingaMonitor, expectation: &Expectation, timeout: Duration) -> Outcome {
    match readback::poll(|| monitor.read_state(Duration::ZERO), expectation, timeout, POLL_INTERVAL).await {
        Ok(detail) => Outcome::Confirmed(detail),
        Err(_) => Outcome::Unconfirmed(format!("sent, not yet confirmed by Icinga 2 after {timeout:?}")),
    }
}
