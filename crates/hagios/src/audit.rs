//! `hagios audit`: prints the newest entries of the audit log, one line each, for operators
//! asking "who did what from chat, and was it allowed?".

use hagios_core::config::Config;
use hagios_store::{AuditRecord, Store};
use std::path::Path;
use std::process::ExitCode;

pub fn main(config_path: &Path, limit: usize) -> ExitCode {
    let records = Config::load(config_path)
        .map_err(anyhow::Error::from)
        .and_then(|config| Ok(Store::from_config(&config.store)?.recent_audit(limit)?));
    match records {
        Ok(records) => {
            // The store returns newest first; a log reads oldest first.
            for record in records.iter().rev() {
                println!("{}", line(record));
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("hagios audit: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `TIME PLATFORM USER(NAME) allowed|refused COMMAND "RAW TEXT" -> RESULT`, one line per
/// record. Every field comes from chat or from a backend, so none reaches the operator's terminal
/// raw: the raw text is debug-quoted, and in the other fields control characters (an escape
/// sequence in a display name, a newline in a result), bidirectional overrides and `\` are
/// escaped.
fn line(record: &AuditRecord) -> String {
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(record.time.max(0).unsigned_abs());
    format!(
        "{} {} {}({}) {} {} {:?} -> {}",
        humantime::format_rfc3339_seconds(time),
        escaped(&record.platform),
        escaped(&record.user_id),
        escaped(&record.user_name),
        if record.allowed { "allowed" } else { "refused" },
        escaped(record.command.as_deref().unwrap_or("-")),
        record.raw_text,
        escaped(&record.result)
    )
}

/// `field` with what a terminal would act on or show misleadingly written as a Rust escape
/// (`\n`, `\u{1b}`, `\u{202e}`), and `\` doubled so that an escape is never ambiguous.
fn escaped(field: &str) -> String {
    escape_where(field, |c| c.is_control() || c == '\\' || is_bidi(c))
}

/// `text` (lines of Markdown, say) safe to print to a terminal: control characters other than
/// the line breaks, and bidirectional overrides, written as Rust escapes.
pub(crate) fn printable(text: &str) -> String {
    escape_where(text, |c| (c.is_control() && c != '\n') || is_bidi(c))
}

fn is_bidi(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn escape_where(field: &str, acted_on: impl Fn(char) -> bool) -> String {
    field.chars().fold(String::with_capacity(field.len()), |mut out, c| {
        if acted_on(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_shows_who_what_and_the_verdict_with_control_characters_quoted() {
        let record = AuditRecord {
            time: 0,
            platform: "terminal".into(),
            user_id: "U1".into(),
            user_name: "eve".into(),
            raw_text: "ack web01;x\n".into(),
            command: Some("ack".into()),
            parsed: None,
            allowed: false,
            result: "refused: read-only".into(),
        };
        assert_eq!(
            line(&record),
            r#"1970-01-01T00:00:00Z terminal U1(eve) refused ack "ack web01;x\n" -> refused: read-only"#
        );
    }

    #[test]
    fn control_characters_in_every_field_are_escaped() {
        let record = AuditRecord {
            time: 0,
            platform: "matrix\u{7}".into(),
            user_id: "@eve:evil.example\r".into(),
            user_name: "\u{1b}]0;pwned\u{7}\u{1b}[2Jalice\u{202e}".into(),
            raw_text: "ack web01 \u{1b}[31m".into(),
            command: Some("ack\u{1b}".into()),
            parsed: None,
            allowed: true,
            result: "failed: line one\nline two \\ done".into(),
        };
        let printed = line(&record);
        assert!(!printed.chars().any(|c| c.is_control() || c == '\u{202e}'), "{printed:?}");
        assert_eq!(
            printed,
            r#"1970-01-01T00:00:00Z matrix\u{7} @eve:evil.example\r(\u{1b}]0;pwned\u{7}\u{1b}[2Jalice\u{202e}) allowed ack\u{1b} "ack web01 \u{1b}[31m" -> failed: line one\nline two \\ done"#
        );
    }
}
