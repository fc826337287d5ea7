//! How a backend times the final word on a command: how often the monitoring system writes the
//! state hagios reads back, where that figure comes from, and the deadline that follows from it.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// Margin on top of two state writes: one write may have begun just before the command was
/// read, the next one shows it; the margin covers a slow write of a large state file.
const DEADLINE_MARGIN: Duration = Duration::from_secs(5);

/// The deadline for a command's final word when the state is written every `state_every`.
pub fn answer_within(state_every: Duration) -> Duration {
    state_every * 2 + DEADLINE_MARGIN
}

/// How a backend times its confirmations (shown by `config check` and `status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cadence {
    /// The state file read back, as people know it ("status.dat").
    pub state: &'static str,
    /// How often the monitoring system rewrites it, when known.
    pub state_every: Option<Duration>,
    pub source: CadenceSource,
    /// How long a command waits for its final word.
    pub answer_within: Duration,
    /// `answer_within` is the section's `confirm_timeout`, not worked out from the cadence.
    pub answer_within_configured: bool,
    /// The monitoring system's log, watched while a command waits.
    pub log: LogWatch,
}

/// Where [`Cadence::state_every`] comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CadenceSource {
    /// The monitoring system's main configuration file (Nagios' `status_update_interval`).
    MainConfig(PathBuf),
    /// Seen: the shortest gap between the state file's own `created=` stamps so far.
    Learned,
    /// Not known yet: the monitoring system's default is assumed until a rewrite is seen.
    Assumed,
}

/// Whether hagios reads the monitoring system's log for evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogWatch {
    Watching(PathBuf),
    /// Named, but hagios cannot read it (why).
    Unreadable(PathBuf, String),
    /// No log file is known.
    None,
}

impl Cadence {
    /// What [`fmt::Display`] says without file paths, for chat, where anyone may ask.
    pub fn for_chat(&self) -> String {
        self.describe(false)
    }

    fn describe(&self, paths: bool) -> String {
        let state = self.state;
        let place = |path: &PathBuf| if paths { format!(" in {}", path.display()) } else { String::new() };
        let mut text = match (&self.state_every, &self.source) {
            (Some(every), CadenceSource::MainConfig(path)) => {
                format!("{state} is written every {} s (status_update_interval{})", every.as_secs(), place(path))
            }
            (Some(every), CadenceSource::Learned) => {
                format!("{state} is written every {} s (seen from its rewrites)", every.as_secs())
            }
            (Some(every), CadenceSource::Assumed) => {
                format!("{state} is assumed written every {} s until a rewrite is seen", every.as_secs())
            }
            (None, _) => format!("{state} is read back as soon as the command is accepted"),
        };
        let within = self.answer_within.as_secs_f64();
        text.push_str(&format!("; a command's final word comes within {within} s"));
        if self.answer_within_configured {
            text.push_str(" (confirm_timeout)");
        }
        match (&self.log, paths) {
            (LogWatch::Watching(path), true) => text.push_str(&format!("; watching {}", path.display())),
            (LogWatch::Watching(_), false) => text.push_str("; Nagios' log shows when it read a command"),
            (LogWatch::Unreadable(path, why), true) => {
                text.push_str(&format!("; cannot read {} ({why})", path.display()))
            }
            (LogWatch::Unreadable(..) | LogWatch::None, _) => {}
        }
        text
    }
}

impl fmt::Display for Cadence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe(true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cadence_says_where_its_figures_come_from() {
        let stock = Cadence {
            state: "status.dat",
            state_every: Some(Duration::from_secs(10)),
            source: CadenceSource::MainConfig("/etc/nagios4/nagios.cfg".into()),
            answer_within: answer_within(Duration::from_secs(10)),
            answer_within_configured: false,
            log: LogWatch::Unreadable("/var/log/nagios4/nagios.log".into(), "permission denied".into()),
        };
        assert_eq!(
            stock.to_string(),
            "status.dat is written every 10 s (status_update_interval in /etc/nagios4/nagios.cfg); a command's \
             final word comes within 25 s; cannot read /var/log/nagios4/nagios.log (permission denied)"
        );
        assert_eq!(
            Cadence { log: LogWatch::Watching("/var/log/nagios4/nagios.log".into()), ..stock.clone() }.for_chat(),
            "status.dat is written every 10 s (status_update_interval); a command's final word comes within 25 s; \
             Nagios' log shows when it read a command"
        );
        let learned = Cadence {
            source: CadenceSource::Learned,
            state_every: Some(Duration::from_secs(1)),
            answer_within: Duration::from_millis(1500),
            answer_within_configured: true,
            log: LogWatch::None,
            ..stock
        };
        assert_eq!(
            learned.to_string(),
            "status.dat is written every 1 s (seen from its rewrites); a command's final word comes within 1.5 s \
             (confirm_timeout)"
        );
    }
}
