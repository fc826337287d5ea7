//! `hagios-notify` (also reached as `hagios notify`): turns one Nagios notification
//! (environment macros, or flags when `enable_environment_macros=0`) into a durable spool
//! record. Nagios forks it once per notification and waits, so it stays synchronous,
//! network-free and small: no async runtime, no TLS, no argument-parsing library.

mod flags;
mod notification;

pub use flags::{usage, Flags, Request, UsageError};
pub use notification::{notification_from, InputError};

use hagios_spool::Spool;
use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

const DEFAULT_SPOOL: &str = "/var/spool/hagios";
const SPOOL_VARIABLE: &str = "HAGIOS_SPOOL";

/// The input cannot become a notification; the code clap-style tools use for a bad command line.
const EXIT_UNUSABLE_INPUT: u8 = 2;
/// The spool could not take the record. Nagios handles every non-zero code alike and never
/// retries a notification command, so a plain failure says it best.
const EXIT_NOT_SPOOLED: u8 = 1;

/// The whole command: `arguments` are those after `program` (the name messages start with).
/// Prints the record id and exits 0 once the record is durable.
pub fn run(program: &str, arguments: impl IntoIterator<Item = OsString>) -> ExitCode {
    let flags = match Flags::parse(arguments) {
        Ok(Request::Spool(flags)) => *flags,
        Ok(Request::Help) => return print(&usage(program)),
        Ok(Request::Version) => return print(&format!("{program} {}\n", env!("CARGO_PKG_VERSION"))),
        Err(e) => {
            eprintln!("{program}: {e}");
            return ExitCode::from(EXIT_UNUSABLE_INPUT);
        }
    };
    let environment = std::env::vars_os().map(|(key, value)| (text(key), text(value)));
    let notification = match notification_from(environment, &flags, hagios_domain::unix_now()) {
        Ok(notification) => notification,
        Err(e) => {
            eprintln!("{program}: {e}");
            return ExitCode::from(EXIT_UNUSABLE_INPUT);
        }
    };
    let dir = spool_dir(flags.spool, std::env::var_os(SPOOL_VARIABLE));
    match Spool::open(&dir).and_then(|spool| spool.write(notification)) {
        // The record is durable: a closed stdout changes nothing about that.
        Ok(id) => print(&format!("{id}\n")),
        Err(e) => {
            eprintln!("{program}: not spooled: {e}");
            ExitCode::from(EXIT_NOT_SPOOLED)
        }
    }
}

/// `--spool`, else `HAGIOS_SPOOL`, else the default; an empty value counts as absent.
fn spool_dir(flag: Option<OsString>, variable: Option<OsString>) -> PathBuf {
    flag.into_iter()
        .chain(variable)
        .find(|dir| !dir.is_empty())
        .map_or_else(|| PathBuf::from(DEFAULT_SPOOL), PathBuf::from)
}

/// The text of an environment entry, taken over without a copy when it is UTF-8 (it always is
/// but for odd plugin output, whose invalid bytes become U+FFFD).
fn text(value: OsString) -> String {
    value.into_string().unwrap_or_else(|value| value.to_string_lossy().into_owned())
}

/// Writes `text` to stdout and succeeds even if nobody reads it.
fn print(text: &str) -> ExitCode {
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spool_is_the_flag_else_the_variable_else_the_default() {
        let dir = |flag: Option<&str>, variable: Option<&str>| {
            spool_dir(flag.map(OsString::from), variable.map(OsString::from))
        };
        assert_eq!(dir(Some("/flag"), Some("/variable")), PathBuf::from("/flag"));
        assert_eq!(dir(Some(""), Some("/variable")), PathBuf::from("/variable"));
        assert_eq!(dir(None, Some("/variable")), PathBuf::from("/variable"));
        assert_eq!(dir(None, Some("")), PathBuf::from(DEFAULT_SPOOL));
        assert_eq!(dir(None, None), PathBuf::from(DEFAULT_SPOOL));
    }
}
