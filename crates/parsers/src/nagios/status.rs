//! status.dat: `hoststatus {`, `servicestatus {`, `*comment {`, `*downtime {` blocks of key=value lines.

use super::ParseError;
use hagios_domain::Status;

/// Parses a whole status.dat.
pub fn parse(_text: &str) -> Result<Status, ParseError> {
    unimplemented!("in progress")
}
