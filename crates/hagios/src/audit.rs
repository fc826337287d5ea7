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

/// `TIME PLATFORM USER(NAME) allowed|refused COMMAND "RAW TEXT" -> RESULT`; the raw text is
/// debug-quoted so that control characters someone typed stay visible and harmless.
fn line(record: &AuditRecord) -> String {
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(record.time.max(0).unsigned_abs());
    format!(
        "{} {} {}({}) {} {} {:?} -> {}",
        humantime::format_rfc3339_seconds(time),
        record.platform,
        record.user_id,
        record.user_name,
        if record.allowed { "allowed" } else { "refused" },
        record.command.as_deref().unwrap_or("-"),
        record.raw_text,
        record.result
    )
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
}
