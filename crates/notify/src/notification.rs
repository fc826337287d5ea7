//! One Nagios notification from its `NAGIOS_*` environment macros and the flags, checked into
//! a [`Notification`] or refused with the reason.

use crate::flags::Flags;
use hagios_domain::{Notification, NotificationType, ObjectRef, State};
use std::collections::BTreeMap;

const DEFAULT_SITE: &str = "local";
const SITE_VARIABLE: &str = "HAGIOS_SITE";
const MACRO_PREFIX: &str = "NAGIOS_";

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

/// Builds the notification from the process environment (`NAGIOS_*` entries, and
/// `HAGIOS_SITE` when `--site` is not given; others are ignored) and the flags, which win.
/// `now` stands in for a missing time. The id stays empty: the spool assigns it.
pub fn notification_from(
    environment: impl IntoIterator<Item = (String, String)>,
    flags: &Flags,
    now: i64,
) -> Result<Notification, InputError> {
    let mut macros = Macros(BTreeMap::new());
    let mut site_variable = None;
    for (mut key, value) in environment.into_iter().filter(|(_, value)| !value.is_empty()) {
        if key.starts_with(MACRO_PREFIX) {
            key.drain(..MACRO_PREFIX.len());
            macros.0.insert(key, value);
        } else if key == SITE_VARIABLE {
            site_variable = Some(value);
        }
    }

    let host = macros.pick(&flags.host, "HOSTNAME").ok_or(InputError::MissingHost)?;
    let kind_word = macros.pick(&flags.kind, "NOTIFICATIONTYPE").ok_or(InputError::MissingType)?;
    let kind = NotificationType::parse(&kind_word).ok_or(InputError::UnknownType(kind_word))?;
    let service = macros.pick(&flags.service, "SERVICEDESC");
    // A service notification also carries the host's macros; those stay in `macros` as context.
    let (state_macro, output_macro, long_output_macro) = match service {
        Some(_) => ("SERVICESTATE", "SERVICEOUTPUT", "LONGSERVICEOUTPUT"),
        None => ("HOSTSTATE", "HOSTOUTPUT", "LONGHOSTOUTPUT"),
    };
    let state_word = macros.pick(&flags.state, state_macro).ok_or(InputError::MissingState)?;
    let state = State::parse(&state_word).ok_or(InputError::UnknownState(state_word))?;
    let time = match macros.pick(&flags.time, "TIMET") {
        Some(word) => word.trim().parse().map_err(|_| InputError::BadTime(word))?,
        None => now,
    };

    Ok(Notification {
        id: String::new(),
        site: non_empty(&flags.site).or(site_variable).unwrap_or_else(|| DEFAULT_SITE.to_owned()),
        kind,
        object: ObjectRef { host, service },
        state,
        output: macros.pick(&flags.output, output_macro).unwrap_or_default(),
        long_output: macros.pick(&flags.long_output, long_output_macro).map(|text| unescape(&text)).unwrap_or_default(),
        author: macros.pick(&flags.author, "NOTIFICATIONAUTHOR"),
        comment: macros.pick(&flags.comment, "NOTIFICATIONCOMMENT"),
        time,
        hostgroups: macros
            .pick(&flags.hostgroups, "HOSTGROUPNAMES")
            .map(|names| names.split(',').map(str::trim).filter(|name| !name.is_empty()).map(str::to_owned).collect())
            .unwrap_or_default(),
        contact: macros.pick(&flags.contact, "CONTACTNAME"),
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
        let n = notification_from(service_problem(), &Flags::default(), 0).unwrap();
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
        let n = notification_from(host_problem(), &Flags::default(), 0).unwrap();
        assert_eq!(n.object, ObjectRef::host("db01"));
        assert_eq!((n.state, n.output.as_str()), (State::Down, "DOWN - no ping"));
        assert_eq!(n.hostgroups, Vec::<String>::new());
    }

    #[test]
    fn flags_alone_are_enough_and_win_over_the_environment() {
        let flags = Flags {
            kind: Some("ACKNOWLEDGEMENT".into()),
            host: Some("web01".into()),
            service: Some("HTTP Load".into()),
            state: Some("WARNING".into()),
            author: Some("alice".into()),
            comment: Some("looking".into()),
            time: Some("1700000000".into()),
            site: Some("dc2".into()),
            ..Flags::default()
        };
        let from_flags = notification_from(Vec::new(), &flags, 0).unwrap();
        assert_eq!(from_flags.kind, NotificationType::Acknowledgement);
        assert_eq!(from_flags.object, ObjectRef::service("web01", "HTTP Load"));
        assert_eq!((from_flags.author.as_deref(), from_flags.comment.as_deref()), (Some("alice"), Some("looking")));
        assert_eq!((from_flags.site.as_str(), from_flags.time), ("dc2", 1_700_000_000));

        let over_environment = notification_from(with(service_problem(), SITE_VARIABLE, "dc1"), &flags, 0).unwrap();
        assert_eq!(over_environment.object, from_flags.object);
        assert_eq!((over_environment.state, over_environment.site.as_str()), (State::Warning, "dc2"));
        assert!(!over_environment.macros.contains_key("NOTIFICATIONTYPE"));
    }

    #[test]
    fn the_site_comes_from_the_flag_else_hagios_site_else_local() {
        let site = |environment, flag: Option<&str>| {
            let flags = Flags { site: flag.map(str::to_owned), ..Flags::default() };
            notification_from(environment, &flags, 0).unwrap().site
        };
        assert_eq!(site(with(service_problem(), SITE_VARIABLE, "dc1"), None), "dc1");
        assert_eq!(site(with(service_problem(), SITE_VARIABLE, "dc1"), Some("")), "dc1");
        assert_eq!(site(with(service_problem(), SITE_VARIABLE, ""), None), "local");
        assert_eq!(site(service_problem(), Some("dc2")), "dc2");
    }

    #[test]
    fn empty_flags_count_as_absent() {
        let flags = Flags { service: Some(String::new()), host: Some(String::new()), ..Flags::default() };
        let n = notification_from(host_problem(), &flags, 0).unwrap();
        assert_eq!(n.object, ObjectRef::host("db01"));
    }

    #[test]
    fn a_missing_time_is_now() {
        let environment = service_problem().into_iter().filter(|(k, _)| k != "NAGIOS_TIMET").collect::<Vec<_>>();
        assert_eq!(notification_from(environment, &Flags::default(), 42).unwrap().time, 42);
    }

    #[test]
    fn long_output_escapes_are_undone() {
        let environment = with(service_problem(), "NAGIOS_LONGSERVICEOUTPUT", r"line 1\nline 2 C:\\temp\n\q");
        let n = notification_from(environment, &Flags::default(), 0).unwrap();
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
            assert_eq!(notification_from(environment, &Flags::default(), 0), Err(expected));
        }
        assert!(InputError::UnknownType("X".into()).to_string().contains("PROBLEM, RECOVERY"));
    }
}
