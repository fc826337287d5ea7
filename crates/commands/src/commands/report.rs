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

fn parse(captures: &Captures<'_>, input: &Input<'_>) -> Result<Parsed, ParseError> {
    let text = captures.name("period").map_or("7d", |m| m.as_str().trim());
    let seconds = match humantime::parse_duration(text) {
        Ok(duration) if text.starts_with(|c: char| c.is_ascii_digit()) => {
            i64::try_from(duration.as_secs()).unwrap_or(0)
        }
        _ => return Err(input.usage(format!("`{}` is not a period like `7d` or `24h`", shown(text)))),
    };
    if !(3600..=LONGEST_SECONDS).contains(&seconds) {
        return Err(ParseError::Invalid(format!("a report covers 1h to 90d, not `{}`", shown(text))));
    }
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
