//! `report [PERIOD]`: the numbers people look at — time to acknowledge and to recover per
//! channel and per schedule, the noisiest services, pages per person and at night — as a short
//! message with a chart image.

use super::{Command, Input, ParseError, Parsed};
use crate::desk::DeskRequest;
use crate::text::shown;
use regex::Captures;

/// The longest period a report covers.
const LONGEST_SECONDS: i64 = 90 * 86_400;

pub(crate) static COMMAND: Command = Command {
    name: "report",
    usage: "report [PERIOD]",
    summary: "time to acknowledge and recover, noisy services, pages per person, with a chart",
    details: "PERIOD is like `7d` (the default), `24h` or `30d`; at most 90d.\n\
              Examples:\n\
              • `report`\n\
              • `report 30d`",
    permission: Some("report"),
    needs_state: false,
    routes: &[r"^report(?:\s+(?P<period>.*))?$"],
    parse,
};

/// Why a period cannot be reported on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error("`{0}` is not a period like `7d` or `24h`")]
    NotAPeriod(String),
    #[error("a report covers 1h to 90d, not `{0}`")]
    OutOfRange(String),
}

/// The seconds a report over `text` (`7d`, `24h`; `7d` when empty) covers — as `report` in
/// chat and `hagios report` read it.
pub fn period_seconds(text: &str) -> Result<i64, PeriodError> {
    let text = match text.trim() {
        "" => "7d",
        text => text,
    };
    let seconds = match humantime::parse_duration(text) {
        Ok(duration) if text.starts_with(|c: char| c.is_ascii_digit()) => {
            i64::try_from(duration.as_secs()).unwrap_or(0)
        }
        _ => return Err(PeriodError::NotAPeriod(shown(text))),
    };
    if !(3600..=LONGEST_SECONDS).contains(&seconds) {
        return Err(PeriodError::OutOfRange(shown(text)));
    }
    Ok(seconds)
}

fn parse(captures: &Captures<'_>, input: &Input<'_>) -> Result<Parsed, ParseError> {
    let seconds = period_seconds(captures.name("period").map_or("", |m| m.as_str())).map_err(|e| match e {
        PeriodError::NotAPeriod(_) => input.usage(e.to_string()),
        PeriodError::OutOfRange(_) => ParseError::Invalid(e.to_string()),
    })?;
    Ok(Parsed::Desk(DeskRequest::Report { seconds }))
}

#[cfg(test)]
mod tests {
    use crate::testing::Chat;

    #[test]
    fn report_reads_its_period_and_needs_the_report_permission() {
        let chat = Chat::alice();
        let (_, router) = chat.router_with_desk();
        assert_eq!(chat.send_to(&router, "report").reply(), "desk: report 604800s");
        assert_eq!(chat.send_to(&router, "report 24h").reply(), "desk: report 86400s");
        assert!(chat.send_to(&router, "report soon").reply().starts_with("`soon` is not a period"));
        assert!(chat.send_to(&router, "report 1y").reply().starts_with("a report covers 1h to 90d"));
        let refused = Chat::as_user("U2", "bob").send_to(&router, "report");
        assert!(refused.reply().starts_with("refused: bob may not `report`"), "{}", refused.reply());
    }
}
