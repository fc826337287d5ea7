//! Text from chat made safe to echo back, free text (comments) normalised, objects written the
//! way a person can type them back.

use hagios_domain::ObjectRef;

/// Echoed names are cut here: a reply must not repeat a pasted novel.
const SHOWN_CHARS: usize = 60;

/// `name` as it may appear inside backticks in a reply: control characters and backticks become
/// `?`, and long input is cut with an ellipsis. For echoing what a person typed, not for lookups.
pub(crate) fn shown(name: &str) -> String {
    let mut out: String =
        name.chars().take(SHOWN_CHARS).map(|c| if c.is_control() || c == '`' { '?' } else { c }).collect();
    if name.chars().nth(SHOWN_CHARS).is_some() {
        out.push('…');
    }
    out
}

/// Free text (a comment) on one line: control characters become spaces and runs of whitespace
/// one space. The backend renderer cleans again; this keeps replies and the audit log tidy.
pub(crate) fn free_text(text: &str) -> String {
    let spaced: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    spaced.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The first line of plugin output, cut to `max_chars` so list entries stay one line each.
pub(crate) fn first_line(output: &str, max_chars: usize) -> String {
    let line = output.lines().next().unwrap_or("").trim();
    if line.chars().nth(max_chars).is_some() {
        let cut: String = line.chars().take(max_chars).collect();
        format!("{cut}…")
    } else {
        line.to_owned()
    }
}

/// `object` as a command argument: `web01`, `web01!HTTP`, `web01!"HTTP Load"`.
pub(crate) fn typeable(object: &ObjectRef) -> String {
    match &object.service {
        Some(service) if service.contains(char::is_whitespace) => format!("{}!\"{service}\"", object.host),
        _ => object.to_string(),
    }
}

/// `text` cut to at most `max_bytes` bytes on a character boundary.
pub(crate) fn cut_bytes(text: &str, max_bytes: usize) -> &str {
    let mut end = max_bytes.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_defuses_control_characters_and_backticks() {
        assert_eq!(shown("web\n01`;\0"), "web?01?;?");
        assert_eq!(shown(&"a".repeat(100)).chars().count(), SHOWN_CHARS + 1);
    }

    #[test]
    fn free_text_is_one_line() {
        assert_eq!(free_text("  looking\n[0] RESTART_PROGRAM\0 now "), "looking [0] RESTART_PROGRAM now");
    }

    #[test]
    fn typeable_quotes_services_with_spaces() {
        assert_eq!(typeable(&ObjectRef::host("web01")), "web01");
        assert_eq!(typeable(&ObjectRef::service("web01", "HTTP")), "web01!HTTP");
        assert_eq!(typeable(&ObjectRef::service("web01", "HTTP Load")), "web01!\"HTTP Load\"");
    }

    #[test]
    fn cut_bytes_respects_character_boundaries() {
        assert_eq!(cut_bytes("héllo", 2), "h");
        assert_eq!(cut_bytes("abc", 10), "abc");
    }

    #[test]
    fn first_line_cuts_long_output() {
        assert_eq!(first_line("CRITICAL - down\nmore", 100), "CRITICAL - down");
        assert_eq!(first_line("abcdef", 3), "abc…");
    }
}
