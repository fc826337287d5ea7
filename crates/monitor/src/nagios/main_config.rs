//! What hagios takes from Nagios' main configuration (nagios.cfg) to time its confirmations:
//! how often Nagios rewrites status.dat, where it logs, and which status.dat it writes — so a
//! nagios.cfg that describes another instance (the packaged one next to a test instance, say)
//! is recognised and not believed.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// Nagios' own default when nagios.cfg sets no `status_update_interval`.
pub(crate) const DEFAULT_STATUS_UPDATE_INTERVAL: Duration = Duration::from_secs(60);

/// The directives of nagios.cfg that time confirmations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MainConfig {
    pub(crate) status_file: Option<PathBuf>,
    pub(crate) status_update_interval: Duration,
    pub(crate) log_file: Option<PathBuf>,
}

impl MainConfig {
    /// Reads `path`; `None` when it cannot be read (hagios then learns the cadence instead).
    pub(crate) fn read(path: &Path) -> Option<MainConfig> {
        match std::fs::read_to_string(path) {
            Ok(text) => Some(MainConfig::parse(&text)),
            Err(err) => {
                tracing::info!(path = %path.display(), error = %err, "cannot read Nagios' main configuration; \
                    the status.dat cadence is learned from its rewrites instead");
                None
            }
        }
    }

    /// Parses nagios.cfg as Nagios does: `name=value` lines, blank lines and `#` comments
    /// skipped, both sides trimmed, the last occurrence winning.
    pub(crate) fn parse(text: &str) -> MainConfig {
        let mut config =
            MainConfig { status_file: None, status_update_interval: DEFAULT_STATUS_UPDATE_INTERVAL, log_file: None };
        for line in text.lines().map(str::trim).filter(|line| !line.is_empty() && !line.starts_with('#')) {
            let Some((name, value)) = line.split_once('=') else { continue };
            let value = value.trim();
            match name.trim() {
                "status_file" => config.status_file = Some(PathBuf::from(value)),
                "log_file" => config.log_file = Some(PathBuf::from(value)),
                // Nagios refuses values below 1 and reads the leading digits, as atoi does.
                "status_update_interval" => {
                    let digits: String = value.chars().take_while(char::is_ascii_digit).collect();
                    if let Ok(seconds @ 1..) = digits.parse::<u64>() {
                        config.status_update_interval = Duration::from_secs(seconds);
                    }
                }
                _ => {}
            }
        }
        config
    }

    /// Whether this configuration is the one of the Nagios writing `status_file`.
    pub(crate) fn describes(&self, status_file: &Path) -> bool {
        let Some(own) = &self.status_file else { return false };
        own == status_file
            || matches!((own.canonicalize(), status_file.canonicalize()), (Ok(own), Ok(theirs)) if own == theirs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian_s_stock_directives_are_read() {
        let text = "# comment\nlog_file=/var/log/nagios4/nagios.log\n\n  status_file = /var/lib/nagios4/status.dat \n\
                    #status_update_interval=1\nstatus_update_interval=10\ncfg_dir=/etc/nagios4/conf.d\n";
        let config = MainConfig::parse(text);
        assert_eq!(config.status_update_interval, Duration::from_secs(10));
        assert_eq!(config.log_file, Some(PathBuf::from("/var/log/nagios4/nagios.log")));
        assert!(config.describes(Path::new("/var/lib/nagios4/status.dat")));
        assert!(!config.describes(Path::new("/tmp/other/status.dat")), "another instance's file");
    }

    #[test]
    fn missing_or_illegal_intervals_leave_nagios_default() {
        assert_eq!(MainConfig::parse("").status_update_interval, DEFAULT_STATUS_UPDATE_INTERVAL);
        assert_eq!(
            MainConfig::parse("status_update_interval=0").status_update_interval,
            DEFAULT_STATUS_UPDATE_INTERVAL
        );
        assert_eq!(MainConfig::parse("status_update_interval=15s").status_update_interval, Duration::from_secs(15));
        assert_eq!(MainConfig::parse("status_file").status_file, None, "no `=`: not a directive");
        assert!(!MainConfig::parse("").describes(Path::new("/var/lib/nagios4/status.dat")));
    }
}
