//! Monitored objects (a host, or a service on a host) and their states.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A host, or one service of a host. Names are as the monitoring system spells them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ObjectRef {
    pub host: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
}

impl ObjectRef {
    pub fn host(host: impl Into<String>) -> Self {
        Self { host: host.into(), service: None }
    }

    pub fn service(host: impl Into<String>, service: impl Into<String>) -> Self {
        Self { host: host.into(), service: Some(service.into()) }
    }

    pub fn is_service(&self) -> bool {
        self.service.is_some()
    }
}

impl fmt::Display for ObjectRef {
    /// `host` or `host!service`, the form chat users can type back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.service {
            Some(service) => write!(f, "{}!{}", self.host, service),
            None => f.write_str(&self.host),
        }
    }
}

/// Host and service states in one enum, because a notification or a problem list mixes both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum State {
    Ok,
    Warning,
    Critical,
    Unknown,
    Up,
    Down,
    Unreachable,
    Pending,
}

impl State {
    /// Nagios' numeric service state (`current_state` of a `servicestatus` block).
    pub fn from_service_code(code: u8) -> Self {
        match code {
            0 => State::Ok,
            1 => State::Warning,
            2 => State::Critical,
            _ => State::Unknown,
        }
    }

    /// Nagios' numeric host state (`current_state` of a `hoststatus` block).
    pub fn from_host_code(code: u8) -> Self {
        match code {
            0 => State::Up,
            1 => State::Down,
            _ => State::Unreachable,
        }
    }

    /// Parses the state words Nagios and Icinga print (`CRITICAL`, `down`, …).
    pub fn parse(word: &str) -> Option<Self> {
        Some(match word.trim().to_ascii_uppercase().as_str() {
            "OK" => State::Ok,
            "WARNING" | "WARN" => State::Warning,
            "CRITICAL" | "CRIT" => State::Critical,
            "UNKNOWN" => State::Unknown,
            "UP" => State::Up,
            "DOWN" => State::Down,
            "UNREACHABLE" => State::Unreachable,
            "PENDING" => State::Pending,
            _ => return None,
        })
    }

    /// True for every state that somebody should look at.
    pub fn is_problem(self) -> bool {
        !matches!(self, State::Ok | State::Up | State::Pending)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            State::Ok => "OK",
            State::Warning => "WARNING",
            State::Critical => "CRITICAL",
            State::Unknown => "UNKNOWN",
            State::Up => "UP",
            State::Down => "DOWN",
            State::Unreachable => "UNREACHABLE",
            State::Pending => "PENDING",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_ref_displays_in_chat_syntax() {
        assert_eq!(ObjectRef::host("web01").to_string(), "web01");
        assert_eq!(ObjectRef::service("web01", "HTTP Load").to_string(), "web01!HTTP Load");
    }

    #[test]
    fn state_words_round_trip() {
        for state in [
            State::Ok,
            State::Warning,
            State::Critical,
            State::Unknown,
            State::Up,
            State::Down,
            State::Unreachable,
            State::Pending,
        ] {
            assert_eq!(State::parse(state.as_str()), Some(state));
        }
        assert_eq!(State::parse("nonsense"), None);
    }
}
