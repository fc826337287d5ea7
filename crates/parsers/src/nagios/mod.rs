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

impl ParseError {
    fn new(line: usize, message: impl Into<String>) -> Self {
        Self { line, message: message.into() }
    }
}

/// The first of `keys` that `line` starts with, its name, and its value as `value` finds it in
/// the rest of the line.
///
/// Most lines of a block carry keys nobody reads: testing whole known keys rejects them without
/// splitting each line, and comparing first bytes before anything else keeps that cheap.
#[inline(always)]
fn known_key<'a, K: Copy, const N: usize>(
    keys: &[(&'static str, K); N],
    line: &'a str,
    value: impl Fn(&'a str) -> Option<&'a str>,
) -> Option<(K, &'static str, &'a str)> {
    let first = line.as_bytes().first()?;
    keys.iter().find_map(|&(name, key)| {
        if name.as_bytes().first() != Some(first) {
            return None;
        }
        Some((key, name, value(line.strip_prefix(name)?)?))
    })
}

/// Lines numbered from 1, without the `\r` a file copied through Windows tooling may carry.
fn numbered_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut start = 0;
    // A 100k-service status.dat has six million lines; memchr's vectorised search finds their
    // ends in a fraction of the time `str::split` takes.
    let ends = memchr::memchr_iter(b'\n', text.as_bytes()).chain(std::iter::once(text.len()));
    ends.enumerate().map(move |(index, end)| {
        // Both ends sit next to a `\n` or at the end of the text, so this slice cannot panic.
        let line = &text[start..end];
        start = end + 1;
        (index + 1, line.strip_suffix('\r').unwrap_or(line))
    })
}
