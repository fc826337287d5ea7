//! Nagios Core 4 file formats.

pub mod objects;
pub mod status;

/// Where and why a Nagios file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}
