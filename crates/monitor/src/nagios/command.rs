//! Nagios external commands as typed values, and the one renderer that turns them into the
//! `[epoch] NAME;arg;…\n` lines written to the command FIFO.
//!
//! The renderer is the only way to a FIFO line, so its rules are the whole defence against
//! command injection (a `;` starts a new argument, a newline a new command):
//! - **Names** (host, service description, author) are identifiers that must reach Nagios
//!   unchanged, so a name containing `;` or any control character (`\n`, `\r`, `\0`, …) is
//!   **refused**, as is an empty name or one longer than [`MAX_NAME_BYTES`].
//! - **Free text** (comments) is prose, where an exact copy matters less than getting the action
//!   through, so it is **repaired** ([`clean_text`]): control characters become spaces, `;`
//!   becomes `,`, and the text is truncated at a character boundary to [`MAX_TEXT_BYTES`].
//! - **Shell syntax** in free text and in the author — quotes, `$`, `` ` ``, `\`, `|`, `&`,
//!   `<`, `>`, `(`, `)`, `#` — becomes look-alikes (`'` → `’`, `\` → `＼`, `|` → `｜`, …;
//!   [`clean_text`], [`clean_author`], shared with Icinga). Nagios hands comments and authors
//!   back, unstripped, in the `$NOTIFICATIONCOMMENT$`/`$NOTIFICATIONAUTHOR$` macros of
//!   notification command lines that `/bin/sh` runs, where a quote typed in chat would end a
//!   quoted argument and a trailing backslash would swallow its closing quote.
//!
//! With these caps every line stays below `PIPE_BUF`, so one `write(2)` delivers it atomically.

pub use hagios_domain::free_text::{clean_author, clean_text, MAX_TEXT_BYTES};
use hagios_domain::DowntimeSpan;

/// Longest host name, service description or author accepted, in bytes.
pub const MAX_NAME_BYTES: usize = 255;
/// Linux' atomic pipe write size; every rendered line is shorter.
pub const PIPE_BUF: usize = 4096;

/// Why a command cannot be rendered. The message tells the user what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("the {field} is empty; name an existing object")]
    Empty { field: &'static str },
    #[error("the {field} contains {character:?}, which Nagios cannot take in a command; use the name without it")]
    ForbiddenCharacter { field: &'static str, character: char },
    #[error("the {field} is {length} bytes long; Nagios names are at most {MAX_NAME_BYTES} bytes")]
    TooLong { field: &'static str, length: usize },
}

/// One Nagios external command with its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExternalCommand {
    AcknowledgeHostProblem {
        host: String,
        ack: AckOptions,
    },
    AcknowledgeSvcProblem {
        host: String,
        service: String,
        ack: AckOptions,
    },
    RemoveHostAcknowledgement {
        host: String,
    },
    RemoveSvcAcknowledgement {
        host: String,
        service: String,
    },
    ScheduleHostDowntime {
        host: String,
        downtime: DowntimeRequest,
    },
    ScheduleSvcDowntime {
        host: String,
        service: String,
        downtime: DowntimeRequest,
    },
    /// Downtime for every service of the host (not the host itself).
    ScheduleHostSvcDowntime {
        host: String,
        downtime: DowntimeRequest,
    },
    DelHostDowntime {
        id: u64,
    },
    DelSvcDowntime {
        id: u64,
    },
    /// Checked at the render time, whatever the check period or next scheduled check.
    ScheduleForcedHostCheck {
        host: String,
    },
    ScheduleForcedSvcCheck {
        host: String,
        service: String,
    },
    EnableHostNotifications {
        host: String,
    },
    DisableHostNotifications {
        host: String,
    },
    EnableSvcNotifications {
        host: String,
        service: String,
    },
    DisableSvcNotifications {
        host: String,
        service: String,
    },
    AddHostComment {
        host: String,
        note: Note,
    },
    AddSvcComment {
        host: String,
        service: String,
        note: Note,
    },
    /// Nagios re-reads its configuration in place (same pid); a configuration it cannot load
    /// makes it exit, so the configuration is checked before this is sent.
    RestartProgram,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AckOptions {
    pub sticky: bool,
    pub notify: bool,
    pub persistent: bool,
    pub author: String,
    pub comment: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DowntimeRequest {
    pub span: DowntimeSpan,
    pub author: String,
    pub comment: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub persistent: bool,
    pub author: String,
    pub comment: String,
}

/// One argument, by how the renderer must treat it.
enum Field<'a> {
    Name { label: &'static str, value: &'a str },
    Text(&'a str),
    Number(i64),
    Id(u64),
    Flag(bool),
}

fn host(value: &str) -> Field<'_> {
    Field::Name { label: "host name", value }
}

fn service(value: &str) -> Field<'_> {
    Field::Name { label: "service description", value }
}

fn author(value: &str) -> Field<'_> {
    Field::Name { label: "author", value }
}

impl ExternalCommand {
    /// The command name as Nagios spells it.
    pub fn name(&self) -> &'static str {
        match self {
            ExternalCommand::AcknowledgeHostProblem { .. } => "ACKNOWLEDGE_HOST_PROBLEM",
            ExternalCommand::AcknowledgeSvcProblem { .. } => "ACKNOWLEDGE_SVC_PROBLEM",
            ExternalCommand::RemoveHostAcknowledgement { .. } => "REMOVE_HOST_ACKNOWLEDGEMENT",
            ExternalCommand::RemoveSvcAcknowledgement { .. } => "REMOVE_SVC_ACKNOWLEDGEMENT",
            ExternalCommand::ScheduleHostDowntime { .. } => "SCHEDULE_HOST_DOWNTIME",
            ExternalCommand::ScheduleSvcDowntime { .. } => "SCHEDULE_SVC_DOWNTIME",
            ExternalCommand::ScheduleHostSvcDowntime { .. } => "SCHEDULE_HOST_SVC_DOWNTIME",
            ExternalCommand::DelHostDowntime { .. } => "DEL_HOST_DOWNTIME",
            ExternalCommand::DelSvcDowntime { .. } => "DEL_SVC_DOWNTIME",
            ExternalCommand::ScheduleForcedHostCheck { .. } => "SCHEDULE_FORCED_HOST_CHECK",
            ExternalCommand::ScheduleForcedSvcCheck { .. } => "SCHEDULE_FORCED_SVC_CHECK",
            ExternalCommand::EnableHostNotifications { .. } => "ENABLE_HOST_NOTIFICATIONS",
            ExternalCommand::DisableHostNotifications { .. } => "DISABLE_HOST_NOTIFICATIONS",
            ExternalCommand::EnableSvcNotifications { .. } => "ENABLE_SVC_NOTIFICATIONS",
            ExternalCommand::DisableSvcNotifications { .. } => "DISABLE_SVC_NOTIFICATIONS",
            ExternalCommand::AddHostComment { .. } => "ADD_HOST_COMMENT",
            ExternalCommand::AddSvcComment { .. } => "ADD_SVC_COMMENT",
            ExternalCommand::RestartProgram => "RESTART_PROGRAM",
        }
    }

    /// The arguments in Nagios' order.
    fn fields(&self, now: i64) -> Vec<Field<'_>> {
        match self {
            ExternalCommand::AcknowledgeHostProblem { host: h, ack } => {
                let mut fields = vec![host(h)];
                fields.extend(ack_fields(ack));
                fields
            }
            ExternalCommand::AcknowledgeSvcProblem { host: h, service: s, ack } => {
                let mut fields = vec![host(h), service(s)];
                fields.extend(ack_fields(ack));
                fields
            }
            ExternalCommand::ScheduleHostDowntime { host: h, downtime }
            | ExternalCommand::ScheduleHostSvcDowntime { host: h, downtime } => {
                let mut fields = vec![host(h)];
                fields.extend(downtime_fields(downtime));
                fields
            }
            ExternalCommand::ScheduleSvcDowntime { host: h, service: s, downtime } => {
                let mut fields = vec![host(h), service(s)];
                fields.extend(downtime_fields(downtime));
                fields
            }
            ExternalCommand::DelHostDowntime { id } | ExternalCommand::DelSvcDowntime { id } => vec![Field::Id(*id)],
            ExternalCommand::ScheduleForcedHostCheck { host: h } => vec![host(h), Field::Number(now)],
            ExternalCommand::ScheduleForcedSvcCheck { host: h, service: s } => {
                vec![host(h), service(s), Field::Number(now)]
            }
            ExternalCommand::RemoveHostAcknowledgement { host: h }
            | ExternalCommand::EnableHostNotifications { host: h }
            | ExternalCommand::DisableHostNotifications { host: h } => vec![host(h)],
            ExternalCommand::RemoveSvcAcknowledgement { host: h, service: s }
            | ExternalCommand::EnableSvcNotifications { host: h, service: s }
            | ExternalCommand::DisableSvcNotifications { host: h, service: s } => vec![host(h), service(s)],
            ExternalCommand::AddHostComment { host: h, note } => {
                vec![host(h), Field::Flag(note.persistent), author(&note.author), Field::Text(&note.comment)]
            }
            ExternalCommand::AddSvcComment { host: h, service: s, note } => {
                vec![
                    host(h),
                    service(s),
                    Field::Flag(note.persistent),
                    author(&note.author),
                    Field::Text(&note.comment),
                ]
            }
            ExternalCommand::RestartProgram => Vec::new(),
        }
    }
}

/// sticky;notify;persistent;author;comment — Nagios 4 wants 2 for a sticky acknowledgement.
fn ack_fields(ack: &AckOptions) -> [Field<'_>; 5] {
    [
        Field::Number(if ack.sticky { 2 } else { 1 }),
        Field::Flag(ack.notify),
        Field::Flag(ack.persistent),
        author(&ack.author),
        Field::Text(&ack.comment),
    ]
}

/// start;end;fixed;trigger_id;duration;author;comment — hagios never chains triggered downtimes.
fn downtime_fields(downtime: &DowntimeRequest) -> [Field<'_>; 7] {
    let span = &downtime.span;
    [
        Field::Number(span.start),
        Field::Number(span.end),
        Field::Flag(span.fixed),
        Field::Id(0),
        Field::Number(span.duration),
        author(&downtime.author),
        Field::Text(&downtime.comment),
    ]
}

/// Renders `command` as one FIFO line, `[now] NAME;arg;…\n`, or refuses it (see the module doc).
pub fn render(command: &ExternalCommand, now: i64) -> Result<String, RenderError> {
    let mut line = format!("[{now}] {}", command.name());
    for field in command.fields(now) {
        line.push(';');
        match field {
            Field::Name { label, value } => line.push_str(checked_name(label, value)?),
            Field::Text(text) => line.push_str(&clean_text(text)),
            Field::Number(number) => line.push_str(&number.to_string()),
            Field::Id(id) => line.push_str(&id.to_string()),
            Field::Flag(flag) => line.push(if flag { '1' } else { '0' }),
        }
    }
    line.push('\n');
    Ok(line)
}

fn checked_name<'a>(field: &'static str, name: &'a str) -> Result<&'a str, RenderError> {
    if name.is_empty() {
        return Err(RenderError::Empty { field });
    }
    if let Some(character) = name.chars().find(|c| *c == ';' || c.is_control()) {
        return Err(RenderError::ForbiddenCharacter { field, character });
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(RenderError::TooLong { field, length: name.len() });
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn span() -> DowntimeSpan {
        DowntimeSpan { start: 100, end: 200, fixed: true, duration: 100 }
    }

    fn note(author: &str, comment: &str) -> Note {
        Note { persistent: true, author: author.into(), comment: comment.into() }
    }

    #[test]
    fn renders_every_command_in_nagios_syntax() {
        let ack = AckOptions {
            sticky: true,
            notify: true,
            persistent: false,
            author: "jane".into(),
            comment: "on it".into(),
        };
        let downtime = DowntimeRequest { span: span(), author: "jane".into(), comment: "patching".into() };
        let cases = [
            (
                ExternalCommand::AcknowledgeSvcProblem { host: "web01".into(), service: "HTTP Load".into(), ack },
                "[42] ACKNOWLEDGE_SVC_PROBLEM;web01;HTTP Load;2;1;0;jane;on it\n",
            ),
            (
                ExternalCommand::ScheduleHostSvcDowntime { host: "db01".into(), downtime },
                "[42] SCHEDULE_HOST_SVC_DOWNTIME;db01;100;200;1;0;100;jane;patching\n",
            ),
            (ExternalCommand::DelSvcDowntime { id: 7 }, "[42] DEL_SVC_DOWNTIME;7\n"),
            (
                ExternalCommand::ScheduleForcedHostCheck { host: "db01".into() },
                "[42] SCHEDULE_FORCED_HOST_CHECK;db01;42\n",
            ),
            (
                ExternalCommand::AddHostComment { host: "db01".into(), note: note("bob", "hello") },
                "[42] ADD_HOST_COMMENT;db01;1;bob;hello\n",
            ),
            (ExternalCommand::RestartProgram, "[42] RESTART_PROGRAM\n"),
        ];
        for (command, expected) in cases {
            assert_eq!(render(&command, 42).as_deref(), Ok(expected));
        }
    }

    #[test]
    fn refuses_hostile_names_and_repairs_hostile_text() {
        let injected = ExternalCommand::EnableHostNotifications { host: "web01;DISABLE_NOTIFICATIONS".into() };
        assert_eq!(render(&injected, 1), Err(RenderError::ForbiddenCharacter { field: "host name", character: ';' }));
        let comment = ExternalCommand::AddHostComment {
            host: "web01".into(),
            note: note("bob", "a;b\n[1] DISABLE_NOTIFICATIONS\r\0"),
        };
        assert_eq!(
            render(&comment, 1).as_deref(),
            Ok("[1] ADD_HOST_COMMENT;web01;1;bob;a,b [1] DISABLE_NOTIFICATIONS  \n")
        );
    }

    #[test]
    fn quotes_dollars_and_backslashes_cannot_break_out_of_a_notification_command_line() {
        let comment = ExternalCommand::AddHostComment {
            host: "web01".into(),
            note: note(
                &clean_author("O'Brien\\").expect("a usable author"),
                r#"it's fine'; touch /tmp/x; echo "$(id)" `id` \"#,
            ),
        };
        assert_eq!(
            render(&comment, 1).as_deref(),
            Ok("[1] ADD_HOST_COMMENT;web01;1;O’Brien＼;it’s fine’, touch /tmp/x, echo ”＄（id）” ˋidˋ ＼\n")
        );
        let trailing = ExternalCommand::AddSvcComment {
            host: "web01".into(),
            service: "HTTP".into(),
            note: note("User", "breaks quoting\\"),
        };
        assert_eq!(render(&trailing, 1).as_deref(), Ok("[1] ADD_SVC_COMMENT;web01;HTTP;1;User;breaks quoting＼\n"));
    }

    #[test]
    fn refuses_empty_and_over_long_names() {
        let empty = ExternalCommand::RemoveSvcAcknowledgement { host: "web01".into(), service: String::new() };
        assert_eq!(render(&empty, 1), Err(RenderError::Empty { field: "service description" }));
        let long = ExternalCommand::RemoveHostAcknowledgement { host: "h".repeat(MAX_NAME_BYTES + 1) };
        assert!(matches!(render(&long, 1), Err(RenderError::TooLong { field: "host name", .. })));
    }

    /// Every command shape, built from arbitrary names and text.
    fn any_command() -> impl Strategy<Value = (ExternalCommand, usize)> {
        let name = || {
            prop_oneof![
                "[A-Za-z0-9 ._-]{1,40}",
                ".{0,300}",
                "[a-z ;\n\r\0]{0,20}",
                proptest::collection::vec(any::<char>(), 0..40).prop_map(String::from_iter)
            ]
        };
        let text = || prop_oneof![".{0,3000}", "[a-z ;\n\r\0]{0,50}"];
        (name(), name(), name(), text(), any::<bool>(), any::<u64>(), 0usize..17).prop_map(
            |(host, service, author, comment, flag, id, pick)| {
                let span = DowntimeSpan { start: id as i64 % 1000, end: 2000, fixed: flag, duration: 60 };
                let ack = AckOptions {
                    sticky: flag,
                    notify: !flag,
                    persistent: flag,
                    author: author.clone(),
                    comment: comment.clone(),
                };
                let downtime = DowntimeRequest { span, author: author.clone(), comment: comment.clone() };
                let note = Note { persistent: flag, author, comment };
                // (command, its argument count)
                match pick {
                    0 => (ExternalCommand::AcknowledgeHostProblem { host, ack }, 6),
                    1 => (ExternalCommand::AcknowledgeSvcProblem { host, service, ack }, 7),
                    2 => (ExternalCommand::RemoveHostAcknowledgement { host }, 1),
                    3 => (ExternalCommand::RemoveSvcAcknowledgement { host, service }, 2),
                    4 => (ExternalCommand::ScheduleHostDowntime { host, downtime }, 8),
                    5 => (ExternalCommand::ScheduleSvcDowntime { host, service, downtime }, 9),
                    6 => (ExternalCommand::ScheduleHostSvcDowntime { host, downtime }, 8),
                    7 => (ExternalCommand::DelHostDowntime { id }, 1),
                    8 => (ExternalCommand::DelSvcDowntime { id }, 1),
                    9 => (ExternalCommand::ScheduleForcedHostCheck { host }, 2),
                    10 => (ExternalCommand::ScheduleForcedSvcCheck { host, service }, 3),
                    11 => (ExternalCommand::EnableHostNotifications { host }, 1),
                    12 => (ExternalCommand::DisableHostNotifications { host }, 1),
                    13 => (ExternalCommand::EnableSvcNotifications { host, service }, 2),
                    14 => (ExternalCommand::DisableSvcNotifications { host, service }, 2),
                    15 => (ExternalCommand::AddHostComment { host, note }, 4),
                    _ => (ExternalCommand::AddSvcComment { host, service, note }, 5),
                }
            },
        )
    }

    proptest! {
        #[test]
        fn output_is_one_well_formed_line_or_an_error((command, arity) in any_command(), now in 0i64..4_000_000_000) {
            if let Ok(line) = render(&command, now) {
                let prefix = format!("[{now}] {};", command.name());
                prop_assert!(line.starts_with(&prefix), "{line:?}");
                prop_assert!(line.ends_with('\n'));
                prop_assert_eq!(line.matches('\n').count(), 1);
                prop_assert!(!line.contains('\r') && !line.contains('\0'));
                prop_assert_eq!(line.matches(';').count(), arity);
                prop_assert!(line.len() < PIPE_BUF);
            }
        }
    }
}
