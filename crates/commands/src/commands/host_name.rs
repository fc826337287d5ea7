//! Checks for the names `host add` and `host remove` take: they become object names in the
//! monitoring system, so only a conservative character set passes.

use super::{Input, ParseError};
use crate::text::shown;

const MAX_NAME_BYTES: usize = 255;

/// A host name: letters, digits, `.`, `-`, `_`.
pub(crate) fn checked_host_name(input: &Input<'_>, name: &str) -> Result<String, ParseError> {
    checked_word(input, "host name", name, |c| c.is_ascii_alphanumeric() || "._-".contains(c))
}

/// `text` when it is non-empty, short enough and every character passes `allowed`.
pub(crate) fn checked_word(
    input: &Input<'_>,
    what: &str,
    text: &str,
    allowed: impl Fn(char) -> bool,
) -> Result<String, ParseError> {
    if text.is_empty() || text.len() > MAX_NAME_BYTES || !text.chars().all(allowed) {
        return Err(input.usage(format!("`{}` is not a usable {what}", shown(text))));
    }
    Ok(text.to_owned())
}
