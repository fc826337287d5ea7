//! Checks for the fields `host add` and `host remove` take: they become object names and
//! addresses in the monitoring system, so they must pass the domain's rule for host fields —
//! the same rule every backend applies again before acting.

use super::{Input, ParseError};
use hagios_domain::{check_host_field, HostField};

/// `text` when it may be used as `field` of a host; else the usage with the reason.
pub(crate) fn checked(input: &Input<'_>, field: HostField, text: &str) -> Result<String, ParseError> {
    check_host_field(field, text).map_err(|err| input.usage(err.to_string()))?;
    Ok(text.to_owned())
}
