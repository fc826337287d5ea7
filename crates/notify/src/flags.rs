//! The command line of `hagios-notify` and `hagios notify`: `--NAME VALUE` or `--NAME=VALUE`
//! pairs, read by hand so the binary Nagios forks for every notification stays small.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

/// Flags take precedence over the `NAGIOS_*` environment; an empty value counts as absent, since
/// Nagios passes unset macros (`$SERVICEDESC$` in a host notification) as empty strings.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Flags {
    /// A path may be any bytes; the other values are text (invalid UTF-8 becomes U+FFFD).
    pub spool: Option<OsString>,
    pub site: Option<String>,
    pub kind: Option<String>,
    pub host: Option<String>,
    pub service: Option<String>,
    pub state: Option<String>,
    pub output: Option<String>,
    pub long_output: Option<String>,
    pub author: Option<String>,
    pub comment: Option<String>,
    pub time: Option<String>,
    pub hostgroups: Option<String>,
    pub contact: Option<String>,
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Spool(Box<Flags>),
    Help,
    Version,
}

/// The command line is not one `hagios-notify` understands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsageError {
    #[error("unexpected argument {0:?}; every value follows its flag, e.g. --host '$HOSTNAME$' (see --help)")]
    Unexpected(String),
    #[error("--{0} needs a value; pass an empty one ('') for a macro that has none")]
    MissingValue(String),
    #[error("--{0} is given twice; pass each flag once")]
    Repeated(String),
}

/// The help text; `{program}` is how the command was called.
pub fn usage(program: &str) -> String {
    format!(
        "Spool one notification (run by Nagios as a notification command).

Usage: {program} [--spool DIR] [--type T --host H --service S --state X --output O ...]

Without flags the notification is read from Nagios' NAGIOS_* environment macros
(enable_environment_macros=1); flags win over them, and an empty value counts as absent.
Exit 0 once the record is durable in the spool, 2 on unusable input, 1 when the spool
cannot take it.

Options:
      --spool DIR        Spool directory [env: HAGIOS_SPOOL] [default: /var/spool/hagios]
      --site NAME        Name of the monitoring site [env: HAGIOS_SITE] [default: local]
      --type T           '$NOTIFICATIONTYPE$': PROBLEM, RECOVERY, ACKNOWLEDGEMENT, ...
      --host H           '$HOSTNAME$'
      --service S        '$SERVICEDESC$' (empty or absent for a host notification)
      --state X          '$SERVICESTATE$' or '$HOSTSTATE$'
      --output O         '$SERVICEOUTPUT$' or '$HOSTOUTPUT$'
      --long-output L    '$LONGSERVICEOUTPUT$' or '$LONGHOSTOUTPUT$' (Nagios' escaped newlines are restored)
      --author A         '$SERVICEACKAUTHOR$' or '$HOSTACKAUTHOR$' (cleaned by Nagios, unlike
                         '$NOTIFICATIONAUTHOR$'; see contrib/nagios)
      --comment C        '$SERVICEACKCOMMENT$' or '$HOSTACKCOMMENT$' (cleaned by Nagios, unlike
                         '$NOTIFICATIONCOMMENT$')
      --time EPOCH       '$TIMET$', seconds since the epoch [default: now]
      --hostgroups G,... '$HOSTGROUPNAMES$', comma-separated
      --contact NAME     '$CONTACTNAME$'
  -h, --help             Print help
  -V, --version          Print version
"
    )
}

impl Flags {
    /// Reads the arguments after the program name. A value is always the next argument, even
    /// when it starts with `-`: it is a macro Nagios expanded (plugin output such as `-1 °C`).
    pub fn parse(arguments: impl IntoIterator<Item = OsString>) -> Result<Request, UsageError> {
        let mut flags = Flags::default();
        let mut arguments = arguments.into_iter();
        while let Some(argument) = arguments.next() {
            let bytes = argument.as_bytes();
            match bytes {
                b"-h" | b"--help" => return Ok(Request::Help),
                b"-V" | b"--version" => return Ok(Request::Version),
                _ => {}
            }
            let Some(flag) = bytes.strip_prefix(b"--") else {
                return Err(UsageError::Unexpected(argument.to_string_lossy().into_owned()));
            };
            let (name, inline_value) = match flag.iter().position(|&b| b == b'=') {
                Some(at) => (&flag[..at], Some(OsStr::from_bytes(&flag[at + 1..]).to_owned())),
                None => (flag, None),
            };
            let name = String::from_utf8_lossy(name).into_owned();
            if !flags.knows(&name) {
                return Err(UsageError::Unexpected(argument.to_string_lossy().into_owned()));
            }
            let value =
                inline_value.or_else(|| arguments.next()).ok_or_else(|| UsageError::MissingValue(name.clone()))?;
            flags.set(name, value)?;
        }
        Ok(Request::Spool(Box::new(flags)))
    }

    fn knows(&mut self, name: &str) -> bool {
        name == "spool" || self.text_slot(name).is_some()
    }

    fn set(&mut self, name: String, value: OsString) -> Result<(), UsageError> {
        let taken = if name == "spool" {
            self.spool.replace(value).is_some()
        } else {
            let text = value.to_string_lossy().into_owned();
            self.text_slot(&name).and_then(|slot| slot.replace(text)).is_some()
        };
        if taken {
            return Err(UsageError::Repeated(name));
        }
        Ok(())
    }

    fn text_slot(&mut self, name: &str) -> Option<&mut Option<String>> {
        Some(match name {
            "site" => &mut self.site,
            "type" => &mut self.kind,
            "host" => &mut self.host,
            "service" => &mut self.service,
            "state" => &mut self.state,
            "output" => &mut self.output,
            "long-output" => &mut self.long_output,
            "author" => &mut self.author,
            "comment" => &mut self.comment,
            "time" => &mut self.time,
            "hostgroups" => &mut self.hostgroups,
            "contact" => &mut self.contact,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(arguments: &[&str]) -> Result<Request, UsageError> {
        Flags::parse(arguments.iter().map(OsString::from))
    }

    fn flags(arguments: &[&str]) -> Flags {
        match parse(arguments) {
            Ok(Request::Spool(flags)) => *flags,
            other => panic!("{arguments:?}: {other:?}"),
        }
    }

    #[test]
    fn values_follow_their_flag_or_an_equals_sign() {
        let parsed =
            flags(&["--spool", "/s", "--type=PROBLEM", "--host", "web01", "--service=HTTP Load", "--time", ""]);
        assert_eq!(parsed.spool, Some("/s".into()));
        assert_eq!((parsed.kind.as_deref(), parsed.host.as_deref()), (Some("PROBLEM"), Some("web01")));
        assert_eq!((parsed.service.as_deref(), parsed.time.as_deref()), (Some("HTTP Load"), Some("")));
        assert_eq!(flags(&["--output=a=b"]).output.as_deref(), Some("a=b"));
        assert_eq!(flags(&[]), Flags::default());
    }

    #[test]
    fn a_value_may_start_with_a_dash() {
        let parsed = flags(&["--output", "-1 °C below the limit", "--long-output", "--help"]);
        assert_eq!(parsed.output.as_deref(), Some("-1 °C below the limit"));
        assert_eq!(parsed.long_output.as_deref(), Some("--help"));
    }

    #[test]
    fn invalid_utf8_in_a_value_is_kept_as_replacement_characters() {
        use std::os::unix::ffi::OsStringExt;
        let latin1 = OsString::from_vec(b"Temp\xe9rature".to_vec());
        let parsed = Flags::parse([OsString::from("--output"), latin1.clone(), OsString::from("--spool"), latin1]);
        let Ok(Request::Spool(parsed)) = parsed else { panic!("{parsed:?}") };
        assert_eq!(parsed.output.as_deref(), Some("Temp\u{fffd}rature"));
        assert_eq!(parsed.spool.as_deref().map(OsStr::as_bytes), Some(&b"Temp\xe9rature"[..]));
    }

    #[test]
    fn help_and_version_are_requests() {
        assert_eq!(parse(&["--host", "h", "--help"]), Ok(Request::Help));
        assert_eq!(parse(&["-h"]), Ok(Request::Help));
        assert_eq!(parse(&["-V"]), Ok(Request::Version));
        assert!(usage("hagios-notify").contains("--long-output L"));
    }

    #[test]
    fn a_bad_command_line_says_what_is_wrong() {
        assert_eq!(parse(&["web01"]), Err(UsageError::Unexpected("web01".into())));
        assert_eq!(parse(&["--hots", "web01"]), Err(UsageError::Unexpected("--hots".into())));
        assert_eq!(parse(&["-t", "PROBLEM"]), Err(UsageError::Unexpected("-t".into())));
        assert_eq!(parse(&["--host"]), Err(UsageError::MissingValue("host".into())));
        assert_eq!(parse(&["--host", "a", "--host=b"]), Err(UsageError::Repeated("host".into())));
        assert_eq!(parse(&["--spool", "a", "--spool", "b"]), Err(UsageError::Repeated("spool".into())));
        assert!(UsageError::MissingValue("host".into()).to_string().contains("--host needs a value"));
    }
}
