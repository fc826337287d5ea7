//! Values people write in the configuration file as text, read the same way by every section
//! that has them: durations like "5s" or "2h30m", and IANA time zones like "Europe/Berlin".
//! Use with `#[serde(with = "…")]` or `deserialize_with`.

use jiff::tz::TimeZone;
use serde::{Deserialize, Deserializer};
use std::time::Duration;

/// `"5s"`, `"200ms"`, `"1m"`.
pub mod duration {
    use super::*;

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(deserializer)?;
        humantime::parse_duration(&text)
            .map_err(|e| serde::de::Error::custom(format!("`{text}` is not a duration like \"5s\" or \"200ms\": {e}")))
    }

    /// The same for a key that may be left out (with `#[serde(default)]`).
    pub fn optional<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Duration>, D::Error> {
        deserialize(deserializer).map(Some)
    }
}

/// An IANA time zone name, looked up in the system's time zone database (DST followed).
pub fn time_zone<'de, D: Deserializer<'de>>(deserializer: D) -> Result<TimeZone, D::Error> {
    let name = String::deserialize(deserializer)?;
    TimeZone::get(&name).map_err(|e| {
        serde::de::Error::custom(format!(
            "time zone `{name}` is unknown ({e}); use an IANA name like \"Europe/Berlin\""
        ))
    })
}
