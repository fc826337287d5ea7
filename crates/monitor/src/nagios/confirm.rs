//! Read-back confirmation: the command FIFO never answers, so after sending, status.dat is
//! polled until it shows the action's effect or the timeout passes.

use super::state::StateCache;
use crate::readback::{self, Expectation};
use hagios_domain::{Outcome, Snapshot};
use std::sync::Arc;
use std::time::Duration;

/// A likely reason the effect of `expectation` did not show, when status.dat explains it.
fn why_not(expectation: &Expectation, snapshot: &Snapshot) -> Option<String> {
    match expectation {
        Expectation::Acknowledged { object, acknowledged: true } => {
            let status = snapshot.status.object(object)?;
            (!status.state.is_problem()).then(|| {
                format!(
                    "; status.dat shows {object} {}, and Nagios ignores acknowledgements of objects without a problem",
                    status.state
                )
            })
        }
        _ => None,
    }
}

/// How often status.dat is looked at while confirming: a `stat` unless Nagios rewrote it, so
/// polling often is cheap, and it bounds what hagios adds to Nagios' status.dat cadence.
pub(super) const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// Polls status.dat until `expectation` holds or `timeout` passes.
pub(crate) async fn wait(state: &Arc<StateCache>, expectation: &Expectation, timeout: Duration) -> Outcome {
    match readback::poll(|| StateCache::load_async(Arc::clone(state)), expectation, timeout, POLL_INTERVAL).await {
        Ok(detail) => Outcome::Confirmed(detail),
        Err(last_seen) => {
            let hint = last_seen.and_then(|snapshot| why_not(expectation, &snapshot)).unwrap_or_default();
            Outcome::Unconfirmed(format!("sent, not yet confirmed by Nagios after {timeout:?}{hint}"))
        }
    }
}
