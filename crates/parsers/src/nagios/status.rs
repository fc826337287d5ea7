//! status.dat: `hoststatus {`, `servicestatus {`, `*comment {`, `*downtime {` blocks of key=value lines.

use super::{known_key, numbered_lines, ParseError};
use hagios_domain::{Comment, CommentKind, Downtime, HostView, ObjectRef, ServiceView, State, Status};
use std::str::FromStr;

/// Parses a whole status.dat.
///
/// Unknown block types and keys are skipped so newer Nagios versions still load; only input whose
/// structure is broken (or whose numbers are not numbers) is an error.
pub fn parse(text: &str) -> Result<Status, ParseError> {
    let mut out = Collected::default();
    let mut open: Option<(Kind, &str, usize)> = None;
    let mut fields = Fields::default();
    for (number, line) in numbered_lines(text) {
        let line = line.trim_ascii_start();
        if let Some((kind, name, start)) = open {
            if let Some((field, key, value)) = kind.known_key(line) {
                fields.set(field, key, value, number)?;
            } else if line.trim_ascii_end() == "}" {
                out.add(kind, name, start, std::mem::take(&mut fields))?;
                open = None;
            } else if line.ends_with('{') && !line.contains('=') {
                return Err(unclosed(name, start, number));
            }
            // Keys nobody reads, and lines Nagios never writes, are skipped alike.
            continue;
        }
        let line = line.trim_ascii_end();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_suffix('{') {
            let name = name.trim_ascii_end();
            open = Some((Kind::of(name), name, number));
        } else if line.contains('=') {
            return Err(ParseError::new(number, "key=value line outside any block"));
        } else {
            return Err(ParseError::new(number, format!("unexpected line outside any block: {line:?}")));
        }
    }
    match open {
        Some((_, name, start)) => Err(unclosed(name, start, text.split('\n').count())),
        None => Ok(out.finish()),
    }
}

fn unclosed(name: &str, start: usize, line: usize) -> ParseError {
    ParseError::new(line, format!("`{name}` block opened at line {start} is not closed"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Info,
    Host,
    Service,
    HostComment,
    ServiceComment,
    HostDowntime,
    ServiceDowntime,
    Ignored,
}

impl Kind {
    fn of(name: &str) -> Self {
        match name {
            "info" => Kind::Info,
            "hoststatus" => Kind::Host,
            "servicestatus" => Kind::Service,
            "hostcomment" => Kind::HostComment,
            "servicecomment" => Kind::ServiceComment,
            "hostdowntime" => Kind::HostDowntime,
            "servicedowntime" => Kind::ServiceDowntime,
            _ => Kind::Ignored,
        }
    }

    fn names_service(self) -> bool {
        matches!(self, Kind::Service | Kind::ServiceComment | Kind::ServiceDowntime)
    }

    /// Where this block kind keeps the value of `key=value` in `line`, the key, and the value.
    fn known_key(self, line: &str) -> Option<(Field, &'static str, &str)> {
        let value = |rest| str::strip_prefix(rest, '=');
        match self {
            Kind::Info => known_key(&INFO_KEYS, line, value),
            Kind::Host | Kind::Service => known_key(&OBJECT_KEYS, line, value),
            Kind::HostComment | Kind::ServiceComment => known_key(&COMMENT_KEYS, line, value),
            Kind::HostDowntime | Kind::ServiceDowntime => known_key(&DOWNTIME_KEYS, line, value),
            Kind::Ignored => None,
        }
    }
}

/// Where a key's value goes; comments and downtimes share some slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Host,
    Service,
    State,
    Checked,
    Output,
    LongOutput,
    Acknowledged,
    InDowntime,
    NotificationsEnabled,
    LastCheck,
    LastStateChange,
    Id,
    Time,
    Start,
    End,
    Fixed,
    Duration,
    Author,
    Text,
    Persistent,
    EntryType,
}

const INFO_KEYS: [(&str, Field); 1] = [("created", Field::Time)];

const OBJECT_KEYS: [(&str, Field); 11] = [
    ("host_name", Field::Host),
    ("service_description", Field::Service),
    ("has_been_checked", Field::Checked),
    ("current_state", Field::State),
    ("plugin_output", Field::Output),
    ("long_plugin_output", Field::LongOutput),
    ("last_check", Field::LastCheck),
    ("last_state_change", Field::LastStateChange),
    ("notifications_enabled", Field::NotificationsEnabled),
    ("problem_has_been_acknowledged", Field::Acknowledged),
    ("scheduled_downtime_depth", Field::InDowntime),
];

const COMMENT_KEYS: [(&str, Field); 8] = [
    ("host_name", Field::Host),
    ("service_description", Field::Service),
    ("comment_id", Field::Id),
    ("persistent", Field::Persistent),
    ("entry_time", Field::Time),
    ("author", Field::Author),
    ("comment_data", Field::Text),
    ("entry_type", Field::EntryType),
];

const DOWNTIME_KEYS: [(&str, Field); 10] = [
    ("host_name", Field::Host),
    ("service_description", Field::Service),
    ("downtime_id", Field::Id),
    ("entry_time", Field::Time),
    ("start_time", Field::Start),
    ("end_time", Field::End),
    ("fixed", Field::Fixed),
    ("duration", Field::Duration),
    ("author", Field::Author),
    ("comment", Field::Text),
];

/// One block's values, borrowed from the text so that only the kept strings get allocated.
#[derive(Debug)]
struct Fields<'a> {
    host: &'a str,
    service: &'a str,
    output: &'a str,
    long_output: &'a str,
    author: &'a str,
    /// `comment_data` of a comment, `comment` of a downtime.
    text: &'a str,
    state: u8,
    checked: bool,
    acknowledged: bool,
    in_downtime: bool,
    notifications_enabled: bool,
    last_check: i64,
    last_state_change: i64,
    id: u64,
    /// `created` of `info`, `entry_time` of comments and downtimes.
    time: i64,
    start: i64,
    end: i64,
    duration: i64,
    fixed: bool,
    persistent: bool,
    /// `entry_type` of a comment.
    entry_type: u8,
}

impl Default for Fields<'_> {
    /// Nagios always writes these keys; should one be missing, take the object as checked with
    /// notifications on rather than invent a PENDING state or a muted object.
    fn default() -> Self {
        Self {
            host: "",
            service: "",
            output: "",
            long_output: "",
            author: "",
            text: "",
            state: 0,
            checked: true,
            acknowledged: false,
            in_downtime: false,
            notifications_enabled: true,
            last_check: 0,
            last_state_change: 0,
            id: 0,
            time: 0,
            start: 0,
            end: 0,
            duration: 0,
            fixed: false,
            persistent: false,
            entry_type: 1,
        }
    }
}

impl<'a> Fields<'a> {
    fn set(&mut self, field: Field, key: &str, value: &'a str, line: usize) -> Result<(), ParseError> {
        match field {
            Field::Host => self.host = value,
            Field::Service => self.service = value,
            Field::Output => self.output = value,
            Field::LongOutput => self.long_output = value,
            Field::Author => self.author = value,
            Field::Text => self.text = value,
            Field::State => self.state = number(key, value, line)?,
            Field::Checked => self.checked = flag(key, value, line)?,
            Field::Acknowledged => self.acknowledged = flag(key, value, line)?,
            Field::InDowntime => self.in_downtime = flag(key, value, line)?,
            Field::NotificationsEnabled => self.notifications_enabled = flag(key, value, line)?,
            Field::LastCheck => self.last_check = number(key, value, line)?,
            Field::LastStateChange => self.last_state_change = number(key, value, line)?,
            Field::Id => self.id = number(key, value, line)?,
            Field::Time => self.time = number(key, value, line)?,
            Field::Start => self.start = number(key, value, line)?,
            Field::End => self.end = number(key, value, line)?,
            Field::Fixed => self.fixed = flag(key, value, line)?,
            Field::Duration => self.duration = number(key, value, line)?,
            Field::Persistent => self.persistent = flag(key, value, line)?,
            Field::EntryType => self.entry_type = number(key, value, line)?,
        }
        Ok(())
    }

    fn object(&self, kind: Kind) -> ObjectRef {
        let service = kind.names_service().then(|| self.service.to_owned());
        ObjectRef { host: self.host.to_owned(), service }
    }
}

fn number<T: FromStr>(key: &str, value: &str, line: usize) -> Result<T, ParseError> {
    value.trim_ascii().parse().map_err(|_| ParseError::new(line, format!("`{key}` is not a number: {value:?}")))
}

/// Nagios writes flags as 0/1 and `scheduled_downtime_depth` as a count; both mean "non-zero".
fn flag(key: &str, value: &str, line: usize) -> Result<bool, ParseError> {
    number::<u64>(key, value, line).map(|n| n != 0)
}

/// Nagios stores multi-line plugin output on one line, with `\n` and `\\` escaped.
fn unescape(value: &str) -> String {
    if !value.contains('\\') {
        return value.to_owned();
    }
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('\\') => out.push('\\'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// Blocks read so far, in file order.
#[derive(Default)]
struct Collected {
    created: i64,
    hosts: Vec<(String, HostView)>,
    services: Vec<((String, String), ServiceView)>,
    downtimes: Vec<Downtime>,
    comments: Vec<Comment>,
}

impl Collected {
    fn add(&mut self, kind: Kind, name: &str, start: usize, f: Fields<'_>) -> Result<(), ParseError> {
        let names_object = !matches!(kind, Kind::Info | Kind::Ignored);
        if names_object && f.host.is_empty() {
            return Err(ParseError::new(start, format!("`{name}` block has no host_name")));
        }
        if kind.names_service() && f.service.is_empty() {
            return Err(ParseError::new(start, format!("`{name}` block has no service_description")));
        }
        match kind {
            Kind::Ignored => {}
            Kind::Info => self.created = f.time,
            Kind::Host => {
                let view = HostView {
                    name: f.host.to_owned(),
                    state: if f.checked { State::from_host_code(f.state) } else { State::Pending },
                    output: f.output.to_owned(),
                    long_output: unescape(f.long_output),
                    has_been_checked: f.checked,
                    acknowledged: f.acknowledged,
                    in_downtime: f.in_downtime,
                    notifications_enabled: f.notifications_enabled,
                    last_check: f.last_check,
                    last_state_change: f.last_state_change,
                };
                self.hosts.push((view.name.clone(), view));
            }
            Kind::Service => {
                let view = ServiceView {
                    host: f.host.to_owned(),
                    description: f.service.to_owned(),
                    state: if f.checked { State::from_service_code(f.state) } else { State::Pending },
                    output: f.output.to_owned(),
                    long_output: unescape(f.long_output),
                    has_been_checked: f.checked,
                    acknowledged: f.acknowledged,
                    in_downtime: f.in_downtime,
                    notifications_enabled: f.notifications_enabled,
                    last_check: f.last_check,
                    last_state_change: f.last_state_change,
                };
                self.services.push(((view.host.clone(), view.description.clone()), view));
            }
            Kind::HostComment | Kind::ServiceComment => self.comments.push(Comment {
                id: f.id,
                object: f.object(kind),
                entry_time: f.time,
                author: f.author.to_owned(),
                text: f.text.to_owned(),
                persistent: f.persistent,
                kind: CommentKind::from_nagios(f.entry_type),
            }),
            Kind::HostDowntime | Kind::ServiceDowntime => self.downtimes.push(Downtime {
                id: f.id,
                object: f.object(kind),
                entry_time: f.time,
                start: f.start,
                end: f.end,
                fixed: f.fixed,
                duration: f.duration,
                author: f.author.to_owned(),
                comment: f.text.to_owned(),
                name: None,
            }),
        }
        Ok(())
    }

    fn finish(self) -> Status {
        // Collecting a Vec into a BTreeMap sorts once and bulk-builds (Nagios' order is already
        // sorted), far cheaper than 100k individual inserts; a repeated key keeps its last block.
        Status {
            created: self.created,
            hosts: self.hosts.into_iter().collect(),
            services: self.services.into_iter().collect(),
            downtimes: self.downtimes,
            comments: self.comments,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
# NAGIOS STATUS FILE
info {
\tcreated=1700000000
\tversion=4.4.6
\t}

programstatus {
\tnagios_pid=42
\t}

hoststatus {
\thost_name=web01
\thas_been_checked=1
\tcurrent_state=1
\tplugin_output=PING CRITICAL - loss=100%
\tlong_plugin_output=line one\\nline two\\\\n
\tproblem_has_been_acknowledged=1
\tscheduled_downtime_depth=2
\tnotifications_enabled=0
\tlast_check=1700000001
\tlast_state_change=1699999999
\tsome_future_key=whatever
\t}

servicestatus {
\thost_name=web01
\tservice_description=HTTP
\thas_been_checked=0
\tcurrent_state=2
\tplugin_output=
\t}

servicecomment {
\thost_name=web01
\tservice_description=HTTP
\tentry_type=4
\tcomment_id=7
\tentry_time=1700000002
\tpersistent=1
\tauthor=alice
\tcomment_data=a=b; c
\t}

hostdowntime {
\thost_name=web01
\tdowntime_id=3
\tcomment_id=8
\tentry_time=1700000003
\tstart_time=1700000010
\tend_time=1700003610
\tfixed=0
\tduration=600
\tauthor=bob
\tcomment=
\t}
";

    #[test]
    fn maps_every_block_kind() {
        let status = parse(SAMPLE).unwrap();
        assert_eq!(status.created, 1_700_000_000);

        let host = &status.hosts["web01"];
        assert_eq!(host.state, State::Down);
        assert_eq!(host.output, "PING CRITICAL - loss=100%");
        assert_eq!(host.long_output, "line one\nline two\\n");
        assert!(host.acknowledged && host.in_downtime && !host.notifications_enabled);
        assert_eq!((host.last_check, host.last_state_change), (1_700_000_001, 1_699_999_999));

        let service = &status.services[&("web01".to_owned(), "HTTP".to_owned())];
        assert_eq!(service.state, State::Pending);
        assert!(!service.has_been_checked);
        assert_eq!(service.output, "");

        let comment = &status.comments[0];
        assert_eq!(comment.object, ObjectRef::service("web01", "HTTP"));
        assert_eq!((comment.id, comment.entry_time, comment.persistent), (7, 1_700_000_002, true));
        assert_eq!((comment.author.as_str(), comment.text.as_str()), ("alice", "a=b; c"));
        assert_eq!(comment.kind, CommentKind::Acknowledgement);

        let downtime = &status.downtimes[0];
        assert_eq!(downtime.object, ObjectRef::host("web01"));
        assert_eq!(
            (downtime.id, downtime.start, downtime.end, downtime.duration),
            (3, 1_700_000_010, 1_700_003_610, 600)
        );
        assert!(!downtime.fixed);
        assert_eq!(downtime.comment, "");
    }

    #[test]
    fn crlf_line_endings_are_tolerated() {
        assert_eq!(parse(&SAMPLE.replace('\n', "\r\n")).unwrap(), parse(SAMPLE).unwrap());
    }

    #[test]
    fn service_codes_map_to_service_states() {
        for (code, state) in [(0, State::Ok), (1, State::Warning), (2, State::Critical), (3, State::Unknown)] {
            let text =
                format!("servicestatus {{\n\thost_name=h\n\tservice_description=s\n\tcurrent_state={code}\n\t}}\n");
            assert_eq!(parse(&text).unwrap().services.values().next().unwrap().state, state);
        }
    }

    #[test]
    fn unknown_blocks_are_skipped_whatever_they_hold() {
        let status = parse("futurestatus {\n\tcurrent_state=not a number\n\tjunk\n\t}\n").unwrap();
        assert_eq!(status, Status::default());
    }

    #[test]
    fn block_type_decides_host_or_service() {
        let text = "hostdowntime {\nhost_name=a\nservice_description=stray\n}\n";
        assert_eq!(parse(text).unwrap().downtimes[0].object, ObjectRef::host("a"));
    }

    #[test]
    fn a_repeated_host_keeps_its_last_block() {
        let text = "hoststatus {\nhost_name=a\ncurrent_state=0\n}\nhoststatus {\nhost_name=a\ncurrent_state=2\n}\n";
        assert_eq!(parse(text).unwrap().hosts["a"].state, State::Unreachable);
    }

    #[test]
    fn structural_errors_name_their_line() {
        let cases = [
            ("\n\tcreated=1\n", 2, "outside any block"),
            ("info {\n\tcreated=1\n", 3, "opened at line 1 is not closed"),
            ("info {\n\tcreated=1\nhoststatus {\n", 3, "opened at line 1 is not closed"),
            ("\n}\n", 2, "unexpected line"),
            ("hoststatus {\n\tcurrent_state=0\n\t}\n", 1, "no host_name"),
            ("servicestatus {\n\thost_name=a\n\t}\n", 1, "no service_description"),
            ("hostcomment {\n\thost_name=\n\t}\n", 1, "no host_name"),
            ("hoststatus {\n\thost_name=a\n\tcurrent_state=UP\n\t}\n", 3, "`current_state` is not a number"),
            ("hostdowntime {\n\thost_name=a\n\tend_time=\n\t}\n", 3, "`end_time` is not a number"),
            ("info {\n\tcreated=-\n\t}\n", 2, "`created` is not a number"),
        ];
        for (text, line, message) in cases {
            let err = parse(text).unwrap_err();
            assert_eq!(err.line, line, "{text:?}: {err}");
            assert!(err.message.contains(message), "{text:?}: {err}");
        }
    }

    #[test]
    fn unescape_leaves_unknown_escapes_alone() {
        assert_eq!(unescape(r"a\nb\\c\td\"), "a\nb\\c\\td\\");
    }
}
