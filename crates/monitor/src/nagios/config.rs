//! The `[nagios]` section: where one Nagios instance keeps its command FIFO and state files, and
//! how hosts from chat reach its configuration. [`super::NagiosMonitor`] is built from it.

use hagios_domain::config_text::duration;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where Debian's nagios4 package keeps its main configuration.
pub const DEFAULT_MAIN_CONFIG: &str = "/etc/nagios4/nagios.cfg";
/// Debian's nagios4 binary, run as `nagios4 -v MAIN_CONFIG`.
pub const DEFAULT_NAGIOS_BINARY: &str = "/usr/sbin/nagios4";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NagiosConfig {
    /// The site name shown in chat and stored with incidents; [`NagiosConfig::site`] when left
    /// out. An agent's site is its certificate's name, which this may only repeat.
    #[serde(default)]
    pub site: Option<String>,
    pub command_file: PathBuf,
    pub status_file: PathBuf,
    pub object_cache_file: PathBuf,
    /// How long a command waits for its final word. Left out, hagios works it out from how
    /// often Nagios writes status.dat: 2 × status_update_interval + 5 s.
    #[serde(default, deserialize_with = "duration::optional")]
    pub confirm_timeout: Option<Duration>,
    /// The folder `host add` writes into (included by `cfg_dir` in nagios.cfg); without it hosts
    /// cannot be added or removed from chat.
    pub managed_dir: Option<PathBuf>,
    /// nagios.cfg, checked as a whole before every reload; its status_update_interval and
    /// log_file time the confirmation of commands when its status_file is this section's.
    #[serde(default = "default_main_config")]
    pub main_config: PathBuf,
    /// Nagios' log, watched for evidence while a command waits; left out, main_config's log_file.
    pub log_file: Option<PathBuf>,
    /// Run as `nagios_binary -v main_config` before every reload.
    #[serde(default = "default_nagios_binary")]
    pub nagios_binary: PathBuf,
    /// Program and arguments that reload Nagios, e.g. `["systemctl", "reload", "nagios4"]`;
    /// left out, hagios sends RESTART_PROGRAM through command_file.
    pub reload_command: Option<Vec<String>>,
    /// How long to wait for objects.cache and status.dat to show a host change after a reload.
    #[serde(default = "default_reload_timeout", with = "duration")]
    pub reload_timeout: Duration,
}

impl NagiosConfig {
    /// The instance with these files and every other key at its default.
    pub fn at(command_file: &Path, status_file: &Path, object_cache_file: &Path) -> NagiosConfig {
        NagiosConfig {
            site: None,
            command_file: command_file.to_path_buf(),
            status_file: status_file.to_path_buf(),
            object_cache_file: object_cache_file.to_path_buf(),
            confirm_timeout: None,
            managed_dir: None,
            main_config: default_main_config(),
            log_file: None,
            nagios_binary: default_nagios_binary(),
            reload_command: None,
            reload_timeout: default_reload_timeout(),
        }
    }
}

impl NagiosConfig {
    /// The site name: the configured one, else [`default_site`].
    pub fn site(&self) -> String {
        self.site.clone().unwrap_or_else(default_site)
    }
}

/// The site of a backend whose section names none.
pub fn default_site() -> String {
    "local".to_owned()
}

fn default_main_config() -> PathBuf {
    PathBuf::from(DEFAULT_MAIN_CONFIG)
}

fn default_nagios_binary() -> PathBuf {
    PathBuf::from(DEFAULT_NAGIOS_BINARY)
}

fn default_reload_timeout() -> Duration {
    Duration::from_secs(30)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> NagiosConfig {
        toml::from_str(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn host_changes_are_off_until_managed_dir_is_set() {
        let base = "command_file = \"a\"\nstatus_file = \"b\"\nobject_cache_file = \"c\"\n";
        let nagios = parse(base);
        assert_eq!((nagios.site(), nagios.confirm_timeout, nagios.log_file), ("local".to_owned(), None, None));
        assert_eq!(nagios.managed_dir, None);
        assert_eq!(nagios.main_config, PathBuf::from("/etc/nagios4/nagios.cfg"));
        assert_eq!(nagios.nagios_binary, PathBuf::from("/usr/sbin/nagios4"));
        assert_eq!((nagios.reload_command, nagios.reload_timeout), (None, Duration::from_secs(30)));
        let managed = format!(
            "{base}managed_dir = \"/etc/nagios4/hagios\"\nreload_command = [\"systemctl\", \"reload\", \"nagios4\"]\n\
             reload_timeout = \"1m\"\nconfirm_timeout = \"30s\"\nlog_file = \"/var/log/nagios4/nagios.log\"\n"
        );
        let nagios = parse(&managed);
        assert_eq!(nagios.managed_dir, Some(PathBuf::from("/etc/nagios4/hagios")));
        assert_eq!(
            nagios.reload_command.as_deref(),
            Some(&["systemctl".to_owned(), "reload".into(), "nagios4".into()][..])
        );
        assert_eq!(nagios.reload_timeout, Duration::from_secs(60));
        assert_eq!(nagios.confirm_timeout, Some(Duration::from_secs(30)));
        assert_eq!(nagios.log_file, Some(PathBuf::from("/var/log/nagios4/nagios.log")));
    }

    #[test]
    fn unknown_keys_and_bad_durations_are_refused() {
        let bad = "command_file=\"a\"\nstatus_file=\"b\"\nobject_cache_file=\"c\"\nconfirm_timeout=\"soon\"";
        assert!(toml::from_str::<NagiosConfig>(bad).unwrap_err().to_string().contains("not a duration"));
        let typo = "command_file=\"a\"\nstatus_file=\"b\"\nobject_cache_file=\"c\"\nstatus_flie=\"d\"";
        assert!(toml::from_str::<NagiosConfig>(typo).unwrap_err().to_string().contains("status_flie"));
    }
}
