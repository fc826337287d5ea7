//! `hagios notify`: turns one Nagios notification (environment macros, or flags when
//! `enable_environment_macros=0`) into a durable spool record. Nagios forks it once per
//! notification, so it stays synchronous, network-free and quick.

use clap::Args;
use hagios_domain::{Notification, NotificationType, ObjectRef, State};
use hagios_spool::Spool;
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

const DEFAULT_SPOOL: &str = "/var/spool/hagios";
const DEFAULT_SITE: &str = "local";
const MACRO_PREFIX: &str = "NAGIOS_";

/// The input cannot become a notification; the same code clap uses for a bad command line.
const EXIT_UNUSABLE_INPUT: u8 = 2;
/// The spool could not take the record. Nagios handles every non-zero code alike and never
/// retries a notification command, so a plain failure says it best.
const EXIT_NOT_SPOOLED: u8 = 1;

/// Flags take precedence over the `NAGIOS_*` environment; an empty value counts as absent, since
/// Nagios passes unset macros (`$SERVICEDESC$` in a host notification) as empty strings.
#[derive(Debug, Default, Args)]
pub struct NotifyArgs {
    /// Spool directory [default: /var/spool/hagios]
    // An OsString, unlike a PathBuf, accepts the empty value of an exported but empty HAGIOS_SPOOL.
    #[arg(long, env = "HAGIOS_SPOOL", value_name = "DIR")]
    pub spool: Option<OsString>,
    /// Name of the monitoring site [default: local]
    #[arg(long, env = "HAGIOS_SITE", value_name = "NAME")]
    pub site: Option<String>,
    /// '$NOTIFICATIONTYPE$': PROBLEM, RECOVERY, ACKNOWLEDGEMENT, …
    #[arg(long = "type", value_name = "T")]
    pub kind: Option<String>,
    /// '$HOSTNAME$'
    #[arg(long, value_name = "H")]
    pub host: Option<String>,
    /// '$SERVICEDESC$' (empty or absent for a host notification)
    #[arg(long, value_name = "S")]
    pub service: Option<String>,
    /// '$SERVICESTATE$' or '$HOSTSTATE$'
    #[arg(long, value_name = "X")]
    pub state: Option<String>,
    /// '$SERVICEOUTPUT$' or '$HOSTOUTPUT$'
    #[arg(long, value_name = "O")]
    pub output: Option<String>,
    /// '$LONGSERVICEOUTPUT$' or '$LONGHOSTOUTPUT$' (Nagios' escaped newlines are restored)
    #[arg(long, value_name = "L")]
    pub long_output: Option<String>,
    /// '$SERVICEACKAUTHOR$' or '$HOSTACKAUTHOR$' (cleaned by Nagios, unlike '$NOTIFICATIONAUTHOR$'; see contrib/nagios)
    #[arg(long, value_name = "A")]
    pub author: Option<String>,
    /// '$SERVICEACKCOMMENT$' or '$HOSTACKCOMMENT$' (cleaned by Nagios, unlike '$NOTIFICATIONCOMMENT$')
    #[arg(long, value_name = "C")]
    pub comment: Option<String>,
    /// '$TIMET$', seconds since the epoch [default: now]
    #[arg(long, value_name = "EPOCH")]
    pub time: Option<String>,
    /// '$HOSTGROUPNAMES$', comma-separated
    #[arg(long, value_name = "G,…")]
    pub hostgroups: Option<String>,
    /// '$CONTACTNAME$'
    #[arg(long, value_name = "NAME")]
    pub contact: Option<String>,
}

/// Why the input is not a usable notification; each message says what to pass instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error(
        "no host: set enable_environment_macros=1 in nagios.cfg (for NAGIOS_HOSTNAME) or pass --host '$HOSTNAME$'"
    )]
    MissingHost,
    #[error("no notification type: pass --type '$NOTIFICATIONTYPE$' or enable environment macros")]
    MissingType,
    #[error("unknown notification type {0:?}; expected one of {types}", types = known_types())]
    UnknownType(String),
    #[error("no state: pass --state '$SERVICESTATE$' (or '$HOSTSTATE$' for a host) or enable environment macros")]
    MissingState,
    #[error("unknown state {0:?}; expected OK, WARNING, CRITICAL, UNKNOWN, UP, DOWN or UNREACHABLE")]
    UnknownState(String),
    #[error("time {0:?} is not a number of seconds since the epoch; pass --time '$TIMET$'")]
    BadTime(String),
}

fn known_types() -> String {
    NotificationType::ALL.map(NotificationType::as_nagios).join(", ")
}

pub fn run(args: NotifyArgs) -> ExitCode {
    let environment = std::env::vars_os()
        .map(|(key, value)| (key.to_string_lossy().into_owned(), value.to_string_lossy().into_owned()));
    let notification = match notification_from(environment, &args, hagios_domain::unix_now()) {
        Ok(notification) => notification,
        Err(e) => {
            eprintln!("hagios notify: {e}");
            return ExitCode::from(EXIT_UNUSABLE_INPUT);
        }
    };
    let dir = args.spool.filter(|dir| !dir.is_empty()).map_or_else(|| PathBuf::from(DEFAULT_SPOOL), PathBuf::from);
    match Spool::open(&dir).and_then(|spool| spool.write(notification)) {
        Ok(id) => {
            println!("{id}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("hagios notify: not spooled: {e}");
            ExitCode::from(EXIT_NOT_SPOOLED)
        }
    }
}

/// Builds the notification from the process environment (`NAGIOS_*` entries; others are
/// ignored) and the flags, which win. `now` stands in for a missing time. The id stays empty:
/// the spool assigns it.
pub fn notification_from(
    environment: impl IntoIterator<Item = (String, String)>,
    args: &NotifyArgs,
    now: i64,
) -> Result<Notification, InputError> {
    let mut macros = Macros(
        environment
            .into_iter()
            .filter(|(_, value)| !value.is_empty())
            .filter_map(|(key, value)| Some((key.strip_prefix(MACRO_PREFIX)?.to_owned(), value)))
            .collect(),
    );

    let host = macros.pick(&args.host, "HOSTNAME").ok_or(InputError::MissingHost)?;
    let kind_word = macros.pick(&args.kind, "NOTIFICATIONTYPE").ok_or(InputError::MissingType)?;
    let kind = NotificationType::parse(&kind_word).ok_or(InputError::UnknownType(kind_word))?;
    let service = macros.pick(&args.service, "SERVICEDESC");
    // A service notification also carries the host's macros; those stay in `macros` as context.
    let (state_macro, output_macro, long_output_macro) = match service {
        Some(_) => ("SERVICESTATE", "SERVICEOUTPUT", "LONGSERVICEOUTPUT"),
        None => ("HOSTSTATE", "HOSTOUTPUT", "LONGHOSTOUTPUT"),
    };
    let state_word = macros.pick(&args.state, state_macro).ok_or(InputError::MissingState)?;
    let state = State::parse(&state_word).ok_or(InputError::UnknownState(state_word))?;
    let time = match macros.pick(&args.time, "TIMET") {
        Some(word) => word.trim().parse().map_err(|_| InputError::BadTime(word))?,
        None => now,
    };

    Ok(Notification {
        id: String::new(),
        site: non_empty(&args.site).unwrap_or_else(|| DEFAULT_SITE.to_owned()),
        kind,
        object: ObjectRef { host, service },
        state,
        output: macros.pick(&args.output, output_macro).unwrap_or_default(),
        long_output: macros.pick(&args.long_output, long_output_macro).map(|text| unescape(&text)).unwrap_or_default(),
        author: macros.pick(&args.author, "NOTIFICATIONAUTHOR"),
        comment: macros.pick(&args.comment, "NOTIFICATIONCOMMENT"),
        time,
        hostgroups: macros
            .pick(&args.hostgroups, "HOSTGROUPNAMES")
            .map(|names| names.split(',').map(str::trim).filter(|name| !name.is_empty()).map(str::to_owned).collect())
            .unwrap_or_default(),
        contact: macros.pick(&args.contact, "CONTACTNAME"),
        macros: macros.0,
    })
}

/// The non-empty `NAGIOS_*` macros (prefix removed) not yet moved into a field.
struct Macros(BTreeMap<String, String>);

impl Macros {
    /// The flag's value if given, else the macro's; either way the macro leaves the leftovers,
    /// so no value is kept twice.
    fn pick(&mut self, flag: &Option<String>, name: &str) -> Option<String> {
        let from_environment = self.0.remove(name);
        non_empty(flag).or(from_environment)
    }
}

fn non_empty(value: &Option<String>) -> Option<String> {
    value.as_ref().filter(|v| !v.is_empty()).cloned()
}

/// Undoes Nagios' escaping of long plugin output: `\n` is a newline and `\\` a backslash. Any
/// other backslash is kept as it is, since Nagios never writes one.
fn unescape(text: &str) -> String {
    let mut plain = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            plain.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => plain.push('\n'),
            Some('\\') => plain.push('\\'),
            Some(other) => {
                plain.push('\\');
                plain.push(other);
            }
            None => plain.push('\\'),
        }
    }
    plain
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(text: &str) -> Vec<(String, String)> {
        text.lines().filter_map(|line| line.split_once('=')).map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
    }

    fn service_problem() -> Vec<(String, String)> {
        fixture(include_str!("../tests/fixtures/service-problem.env"))
    }

    fn host_problem() -> Vec<(String, String)> {
        fixture(include_str!("../tests/fixtures/host-problem.env"))
    }

    fn with(mut environment: Vec<(String, String)>, key: &str, value: &str) -> Vec<(String, String)> {
        environment.retain(|(k, _)| k != key);
        environment.push((key.to_owned(), value.to_owned()));
        environment
    }

    #[test]
    fn a_service_problem_from_nagios_environment() {
        let n = notification_from(service_problem(), &NotifyArgs::default(), 0).unwrap();
        assert_eq!((n.site.as_str(), n.kind, n.state), ("local", NotificationType::Problem, State::Critical));
        assert_eq!(n.object, ObjectRef::service("web01", "HTTP"));
        assert_eq!((n.output.as_str(), n.long_output.as_str()), ("CRITICAL - connection refused", ""));
        assert_eq!((n.author, n.comment), (None, None));
        assert_eq!(n.time, 1_795_551_281);
        assert_eq!(n.hostgroups, ["web"]);
        assert_eq!(n.contact.as_deref(), Some("testcontact"));
        assert_eq!(n.id, "");
        // The rest is kept, without prefix and without the empty ones or the mapped ones.
        assert_eq!(n.macros.get("SERVICEPERFDATA").map(String::as_str), Some("time=0.1s"));
        assert_eq!(n.macros.get("HOSTSTATE").map(String::as_str), Some("UP"));
        assert!(!n.macros.contains_key("SERVICEDESC") && !n.macros.contains_key("SERVICESTATE"));
        assert!(!n.macros.contains_key("ARG1") && !n.macros.contains_key("NOTIFY_RECEIVED_AT"));
        assert!(n.macros.values().all(|value| !value.is_empty()));
    }

    #[test]
    fn a_host_problem_has_no_service_despite_the_empty_macro() {
        let n = notification_from(host_problem(), &NotifyArgs::default(), 0).unwrap();
        assert_eq!(n.object, ObjectRef::host("db01"));
        assert_eq!((n.state, n.output.as_str()), (State::Down, "DOWN - no ping"));
        assert_eq!(n.hostgroups, Vec::<String>::new());
    }

    #[test]
    fn flags_alone_are_enough_and_win_over_the_environment() {
        let args = NotifyArgs {
            kind: Some("ACKNOWLEDGEMENT".into()),
            host: Some("web01".into()),
            service: Some("HTTP Load".into()),
            state: Some("WARNING".into()),
            author: Some("alice".into()),
            comment: Some("looking".into()),
            time: Some("1700000000".into()),
            site: Some("dc2".into()),
            ..NotifyArgs::default()
        };
        let from_flags = notification_from(Vec::new(), &args, 0).unwrap();
        assert_eq!(from_flags.kind, NotificationType::Acknowledgement);
        assert_eq!(from_flags.object, ObjectRef::service("web01", "HTTP Load"));
        assert_eq!((from_flags.author.as_deref(), from_flags.comment.as_deref()), (Some("alice"), Some("looking")));
        assert_eq!((from_flags.site.as_str(), from_flags.time), ("dc2", 1_700_000_000));

        let over_environment = notification_from(service_problem(), &args, 0).unwrap();
        assert_eq!(over_environment.object, from_flags.object);
        assert_eq!(over_environment.state, State::Warning);
        assert!(!over_environment.macros.contains_key("NOTIFICATIONTYPE"));
    }

    #[test]
    fn empty_flags_count_as_absent() {
        let args = NotifyArgs { service: Some(String::new()), host: Some(String::new()), ..NotifyArgs::default() };
        let n = notification_from(host_problem(), &args, 0).unwrap();
        assert_eq!(n.object, ObjectRef::host("db01"));
    }

    #[test]
    fn a_missing_time_is_now() {
        let environment = service_problem().into_iter().filter(|(k, _)| k != "NAGIOS_TIMET").collect::<Vec<_>>();
        assert_eq!(notification_from(environment, &NotifyArgs::default(), 42).unwrap().time, 42);
    }

    #[test]
    fn long_output_escapes_are_undone() {
        let environment = with(service_problem(), "NAGIOS_LONGSERVICEOUTPUT", r"line 1\nline 2 C:\\temp\n\q");
        let n = notification_from(environment, &NotifyArgs::default(), 0).unwrap();
        assert_eq!(n.long_output, "line 1\nline 2 C:\\temp\n\\q");
        assert_eq!(unescape("trailing \\"), "trailing \\");
    }

    #[test]
    fn unusable_input_is_refused_with_the_reason() {
        let cases = [
            (with(service_problem(), "NAGIOS_HOSTNAME", ""), InputError::MissingHost),
            (with(service_problem(), "NAGIOS_NOTIFICATIONTYPE", ""), InputError::MissingType),
            (with(service_problem(), "NAGIOS_NOTIFICATIONTYPE", "PANIC"), InputError::UnknownType("PANIC".into())),
            (with(service_problem(), "NAGIOS_SERVICESTATE", ""), InputError::MissingState),
            (with(service_problem(), "NAGIOS_SERVICESTATE", "ON FIRE"), InputError::UnknownState("ON FIRE".into())),
            (with(service_problem(), "NAGIOS_TIMET", "yesterday"), InputError::BadTime("yesterday".into())),
        ];
        for (environment, expected) in cases {
            assert_eq!(notification_from(environment, &NotifyArgs::default(), 0), Err(expected));
        }
        assert!(InputError::UnknownType("X".into()).to_string().contains("PROBLEM, RECOVERY"));
    }
}
