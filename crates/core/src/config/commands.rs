//! `[commands]`: how chat commands read times, who confirms changes of what is monitored, and
//! how many commands one person may send.

use hagios_commands::RateLimit;
use jiff::tz::{Offset, TimeZone};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "CommandsSection")]
pub struct CommandsConfig {
    /// The zone `downtime … until 18:00` and the times in replies are read in (DST followed).
    pub timezone: TimeZone,
    /// `host add` / `host remove` wait for a `yes` from a second authorized person instead of
    /// the requester.
    pub second_person_confirms: bool,
    /// The template `host add` uses when none is named (`generic-host` when left out).
    pub default_host_template: Option<String>,
    /// Commands one person holding a role may send (`20/1m` when left out).
    pub rate_limit: RateLimit,
    /// Commands one person without a role may send (`5/1m` when left out).
    pub rate_limit_without_role: RateLimit,
}

impl Default for CommandsConfig {
    fn default() -> Self {
        CommandsConfig {
            timezone: TimeZone::UTC,
            second_person_confirms: false,
            default_host_template: None,
            rate_limit: RateLimit::WITH_ROLE,
            rate_limit_without_role: RateLimit::WITHOUT_ROLE,
        }
    }
}

/// The section as written: a time zone by IANA name, or (as before) a fixed UTC offset.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CommandsSection {
    timezone: Option<String>,
    utc_offset: Option<String>,
    #[serde(default)]
    second_person_confirms: bool,
    default_host_template: Option<String>,
    rate_limit: Option<String>,
    rate_limit_without_role: Option<String>,
}

impl TryFrom<CommandsSection> for CommandsConfig {
    type Error = String;

    fn try_from(section: CommandsSection) -> Result<Self, String> {
        let timezone = match (section.timezone, section.utc_offset) {
            (Some(_), Some(_)) => {
                return Err(
                    "[commands] set timezone (an IANA name like \"Europe/Berlin\") or utc_offset, not both".into()
                )
            }
            (Some(name), None) => TimeZone::get(&name)
                .map_err(|e| format!("time zone `{name}` is unknown ({e}); use an IANA name like \"Europe/Berlin\""))?,
            (None, Some(offset)) => TimeZone::fixed(parse_offset(&offset).ok_or_else(|| {
                format!("`{offset}` is not a UTC offset like \"+02:00\"; better: timezone = \"Europe/Berlin\"")
            })?),
            (None, None) => TimeZone::UTC,
        };
        let limit = |text: Option<String>, key: &str, default: RateLimit| match text {
            Some(text) => text.parse::<RateLimit>().map_err(|e| format!("[commands] {key}: {e}")),
            None => Ok(default),
        };
        Ok(CommandsConfig {
            timezone,
            second_person_confirms: section.second_person_confirms,
            default_host_template: section.default_host_template,
            rate_limit: limit(section.rate_limit, "rate_limit", RateLimit::WITH_ROLE)?,
            rate_limit_without_role: limit(
                section.rate_limit_without_role,
                "rate_limit_without_role",
                RateLimit::WITHOUT_ROLE,
            )?,
        })
    }
}

/// `+02:00`, `-05:30`, `Z`: a fixed offset east of UTC.
fn parse_offset(text: &str) -> Option<Offset> {
    if text == "Z" {
        return Some(Offset::UTC);
    }
    let (sign, rest) = match text.split_at_checked(1)? {
        ("+", rest) => (1, rest),
        ("-", rest) => (-1, rest),
        _ => return None,
    };
    let (hours, minutes) = rest.split_once(':')?;
    let (hours, minutes): (i32, i32) = (hours.parse().ok()?, minutes.parse().ok()?);
    let valid = hours.to_string().len() <= 2 && (0..=14).contains(&hours) && (0..60).contains(&minutes);
    valid.then(|| Offset::from_seconds(sign * (hours * 3600 + minutes * 60)).ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<CommandsConfig, String> {
        toml::from_str::<CommandsConfig>(text).map_err(|e| e.to_string())
    }

    #[test]
    fn utc_offsets_are_still_read_as_fixed_zones() {
        let seconds = |text: &str| parse_offset(text).map(|offset| offset.seconds());
        assert_eq!(seconds("+02:00"), Some(7200));
        assert_eq!(seconds("-05:30"), Some(-19800));
        assert_eq!(seconds("Z"), Some(0));
        for bad in ["02:00", "+2", "+24:00", "+01:60", "", "+"] {
            assert_eq!(seconds(bad), None, "{bad}");
        }
        let fixed = parse("utc_offset = \"+01:00\"\n").unwrap();
        assert_eq!(fixed.timezone.to_fixed_offset().map(|offset| offset.seconds()).ok(), Some(3600));
    }

    #[test]
    fn a_named_zone_follows_daylight_saving() {
        let berlin = parse("timezone = \"Europe/Berlin\"\n").unwrap();
        let summer = jiff::Timestamp::from_second(1_719_835_200).unwrap(); // 2024-07-01 12:00 UTC
        let winter = jiff::Timestamp::from_second(1_704_110_400).unwrap(); // 2024-01-01 12:00 UTC
        assert_eq!(berlin.timezone.to_offset(summer).seconds(), 7200);
        assert_eq!(berlin.timezone.to_offset(winter).seconds(), 3600);
        assert_eq!(CommandsConfig::default().timezone, TimeZone::UTC, "UTC unless told");
        assert!(parse("timezone = \"Mars/Olympus\"\n").unwrap_err().contains("IANA name"));
        assert!(parse("timezone = \"UTC\"\nutc_offset = \"+01:00\"\n").unwrap_err().contains("not both"));
    }

    #[test]
    fn rate_limits_default_to_20_and_5_a_minute_and_say_what_is_wrong() {
        let defaults = parse("").unwrap();
        assert_eq!(
            (defaults.rate_limit.to_string(), defaults.rate_limit_without_role.to_string()),
            ("20/1m".into(), "5/1m".into())
        );
        let set = parse("rate_limit = \"60/10m\"\nrate_limit_without_role = \"2/1m\"\n").unwrap();
        assert_eq!((set.rate_limit.commands.get(), set.rate_limit.per.as_secs()), (60, 600));
        assert_eq!(set.rate_limit_without_role.commands.get(), 2);
        let wrong = parse("rate_limit = \"lots\"\n").unwrap_err();
        assert!(wrong.contains("[commands] rate_limit: `lots` is not a rate limit like \"20/1m\""), "{wrong}");
    }
}
