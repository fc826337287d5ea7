//! Nagios' log (`log_file`) as evidence for a command hagios sent: followed from the moment
//! before sending, each new line is weighed against the command lines and what their effect
//! looks like.
//!
//! What a line proves (Nagios 4.4 writes these; `<command>` is the line hagios sent, without
//! its `[time] ` prefix):
//!
//! | log line                                                        | means                        |
//! |-----------------------------------------------------------------|------------------------------|
//! | `EXTERNAL COMMAND: <command>`                                   | read — a step, not the effect |
//! | `Error: External command failed -> <command>`                   | refused: not applied         |
//! | `Warning: Unrecognized external command -> <command>`           | refused: not applied         |
//! | `SERVICE NOTIFICATION: <contact>;<host>;<service>;ACKNOWLEDGEMENT (…` | the service is acknowledged |
//! | `HOST NOTIFICATION: <contact>;<host>;ACKNOWLEDGEMENT (…`        | the host is acknowledged     |
//! | `SERVICE DOWNTIME ALERT: <host>;<service>;STARTED;…`            | a downtime for it started    |
//! | `HOST DOWNTIME ALERT: <host>;STARTED;…`                         | a downtime for it started    |
//! | `SERVICE DOWNTIME ALERT: <host>;<service>;CANCELLED;…`          | its downtime was cancelled   |
//! | `HOST DOWNTIME ALERT: <host>;CANCELLED;…`                       | its downtime was cancelled   |
//!
//! Nagios sets an acknowledgement before its notification is logged, and logs a downtime's
//! start or cancellation as it happens, so those lines are its own word that the effect
//! happened. Nagios logs no line for a removed acknowledgement, a comment, a forced check or a
//! notification switch: those wait for status.dat. An acknowledgement of an object without a
//! problem and a downtime that ends in the past are dropped without a log line: status.dat
//! written after the `EXTERNAL COMMAND:` line shows that.

use crate::readback::Expectation;
use hagios_domain::ObjectRef;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Read at most this much per look, so a flood of log lines never holds up a waiting command.
const READ_LIMIT: u64 = 1 << 20;

/// One log line: Nagios' `[seconds] text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LogLine {
    pub(crate) time: i64,
    pub(crate) text: String,
}

impl LogLine {
    fn parse(raw: &str) -> Option<LogLine> {
        let (time, text) = raw.strip_prefix('[')?.split_once("] ")?;
        Some(LogLine { time: time.parse().ok()?, text: text.trim_end().to_owned() })
    }
}

/// Follows a log file from a position, across Nagios' log rotation (a new file under the same name).
pub(crate) struct LogTail {
    path: PathBuf,
    inode: Option<u64>,
    offset: u64,
    /// The start of a line whose end was not written yet.
    partial: Vec<u8>,
}

impl LogTail {
    /// A tail that yields only what is written after this call. Blocking (one `stat`).
    pub(crate) fn from_end(path: &Path) -> LogTail {
        let meta = std::fs::metadata(path).ok();
        LogTail {
            path: path.to_path_buf(),
            inode: meta.as_ref().map(MetadataExt::ino),
            offset: meta.map_or(0, |meta| meta.len()),
            partial: Vec::new(),
        }
    }

    /// The complete lines written since the last call. Blocking; an unreadable or missing file
    /// yields nothing (the other sources of evidence still answer).
    pub(crate) fn read_new(&mut self) -> Vec<LogLine> {
        let Ok(mut file) = File::open(&self.path) else { return Vec::new() };
        let Ok(meta) = file.metadata() else { return Vec::new() };
        if self.inode != Some(meta.ino()) || meta.len() < self.offset {
            // Rotated: the old file was renamed away; whatever the new one holds is new.
            *self = LogTail {
                path: std::mem::take(&mut self.path),
                inode: Some(meta.ino()),
                offset: 0,
                partial: Vec::new(),
            };
        }
        let mut bytes = std::mem::take(&mut self.partial);
        let read = file
            .seek(SeekFrom::Start(self.offset))
            .and_then(|_| file.by_ref().take(READ_LIMIT).read_to_end(&mut bytes));
        let Ok(read) = read else { return Vec::new() };
        self.offset += read as u64;
        let complete = bytes.iter().rposition(|&byte| byte == b'\n').map_or(0, |end| end + 1);
        self.partial = bytes.split_off(complete);
        String::from_utf8_lossy(&bytes).lines().filter_map(LogLine::parse).collect()
    }
}

/// What one log line says about a command hagios sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Said {
    /// Nagios read command number `index` of those sent.
    Read { index: usize },
    /// Nagios refused one of the commands; the text is its log line.
    Refused(String),
    /// Nagios did what was asked; the text says how its log shows it.
    Done(String),
}

/// What `line` says about `commands` (the lines sent, each without its `[time] ` prefix and
/// newline) and the effect `expectation` waits for; `None` for the lines about other things.
pub(crate) fn said(line: &LogLine, commands: &[String], expectation: &Expectation) -> Option<Said> {
    let text = line.text.as_str();
    if let Some(command) = text.strip_prefix("EXTERNAL COMMAND: ") {
        return commands.iter().position(|sent| sent == command).map(|index| Said::Read { index });
    }
    for refusal in ["Error: External command failed -> ", "Warning: Unrecognized external command -> "] {
        if let Some(command) = text.strip_prefix(refusal) {
            return commands.iter().any(|sent| sent == command).then(|| Said::Refused(text.to_owned()));
        }
    }
    let done = match expectation {
        Expectation::Acknowledged { object, acknowledged: true } => {
            notification_of(text, object, "ACKNOWLEDGEMENT (").then_some("its acknowledgement notification")
        }
        // A line from before the downtime's start is about another downtime.
        Expectation::DowntimeScheduled { object, start, .. } => {
            (line.time >= *start && downtime_alert(text, object, "STARTED")).then_some("that the downtime started")
        }
        Expectation::DowntimeGone { object, .. } => {
            downtime_alert(text, object, "CANCELLED").then_some("that the downtime was cancelled")
        }
        _ => None,
    }?;
    Some(Said::Done(format!("{}; Nagios' log shows {done}", expectation.effect())))
}

/// `SERVICE NOTIFICATION: contact;host;service;KIND…` or `HOST NOTIFICATION: contact;host;KIND…`
/// about `object`. Host and service names never hold `;` (Nagios could not take them in a command).
fn notification_of(text: &str, object: &ObjectRef, kind: &str) -> bool {
    let (prefix, fields) = match &object.service {
        Some(service) => ("SERVICE NOTIFICATION: ", format!(";{};{service};{kind}", object.host)),
        None => ("HOST NOTIFICATION: ", format!(";{};{kind}", object.host)),
    };
    text.strip_prefix(prefix)
        .and_then(|rest| rest.split_once(';'))
        .is_some_and(|(_contact, rest)| format!(";{rest}").starts_with(&fields))
}

/// `SERVICE DOWNTIME ALERT: host;service;WHAT;…` or `HOST DOWNTIME ALERT: host;WHAT;…` about `object`.
fn downtime_alert(text: &str, object: &ObjectRef, what: &str) -> bool {
    match &object.service {
        Some(service) => text.starts_with(&format!("SERVICE DOWNTIME ALERT: {};{service};{what};", object.host)),
        None => text.starts_with(&format!("HOST DOWNTIME ALERT: {};{what};", object.host)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use std::io::Write;

    fn line(text: &str) -> LogLine {
        LogLine { time: 1_700_000_000, text: text.into() }
    }

    fn ack(object: ObjectRef) -> Expectation {
        Expectation::Acknowledged { object, acknowledged: true }
    }

    #[test]
    fn the_command_s_own_lines_say_read_or_refused() {
        let sent = ["ACKNOWLEDGE_SVC_PROBLEM;web01;HTTP;2;1;0;alice;on it".to_owned()];
        let expectation = ack(ObjectRef::service("web01", "HTTP"));
        let read = line("EXTERNAL COMMAND: ACKNOWLEDGE_SVC_PROBLEM;web01;HTTP;2;1;0;alice;on it");
        assert_eq!(said(&read, &sent, &expectation), Some(Said::Read { index: 0 }));
        let other = line("EXTERNAL COMMAND: ACKNOWLEDGE_SVC_PROBLEM;web01;HTTP;2;1;0;bob;mine");
        assert_eq!(said(&other, &sent, &expectation), None, "someone else's command");
        let failed = line("Error: External command failed -> ACKNOWLEDGE_SVC_PROBLEM;web01;HTTP;2;1;0;alice;on it");
        assert!(matches!(said(&failed, &sent, &expectation), Some(Said::Refused(text)) if text.starts_with("Error")));
    }

    #[test]
    fn acknowledgement_notifications_confirm_the_acknowledged_object_only() {
        let service = ack(ObjectRef::service("web01", "HTTP"));
        let none: [String; 0] = [];
        let logged =
            line("SERVICE NOTIFICATION: tester;web01;HTTP;ACKNOWLEDGEMENT (CRITICAL);hagios-notify;down;alice;on it");
        assert_eq!(
            said(&logged, &none, &service),
            Some(Said::Done("acknowledged web01!HTTP; Nagios' log shows its acknowledgement notification".into()))
        );
        let load = line("SERVICE NOTIFICATION: tester;web01;HTTP Load;ACKNOWLEDGEMENT (CRITICAL);x;y;alice;on it");
        assert_eq!(said(&load, &none, &service), None, "another service");
        let problem = line("SERVICE NOTIFICATION: tester;web01;HTTP;CRITICAL;hagios-notify;down");
        assert_eq!(said(&problem, &none, &service), None, "not an acknowledgement");
        let host = ack(ObjectRef::host("web01"));
        let host_line = line("HOST NOTIFICATION: tester;web01;ACKNOWLEDGEMENT (DOWN);hagios-notify;down;alice;x");
        assert!(matches!(said(&host_line, &none, &host), Some(Said::Done(_))));
        assert_eq!(said(&logged, &none, &host), None, "a service's notification says nothing of its host");
    }

    #[test]
    fn downtime_alerts_confirm_started_and_cancelled_downtimes() {
        let none: [String; 0] = [];
        let object = ObjectRef::service("web01", "HTTP");
        let scheduled = Expectation::DowntimeScheduled {
            object: object.clone(),
            start: 1_700_000_000,
            end: 1_700_003_600,
            author: "alice".into(),
            known_ids: BTreeSet::new(),
        };
        let started =
            line("SERVICE DOWNTIME ALERT: web01;HTTP;STARTED; Service has entered a period of scheduled downtime");
        assert!(matches!(said(&started, &none, &scheduled), Some(Said::Done(text)) if text.contains("started")));
        let early = LogLine { time: 1_699_999_999, ..started.clone() };
        assert_eq!(said(&early, &none, &scheduled), None, "another downtime, started before this one may");
        let gone = Expectation::DowntimeGone { id: 7, object };
        assert_eq!(said(&started, &none, &gone), None);
        let cancelled =
            line("SERVICE DOWNTIME ALERT: web01;HTTP;CANCELLED; Scheduled downtime for service has been cancelled.");
        assert_eq!(
            said(&cancelled, &none, &gone),
            Some(Said::Done("downtime #7 cancelled; Nagios' log shows that the downtime was cancelled".into()))
        );
        let host = Expectation::DowntimeGone { id: 8, object: ObjectRef::host("db01") };
        let host_cancelled =
            line("HOST DOWNTIME ALERT: db01;CANCELLED; Scheduled downtime for host has been cancelled.");
        assert!(matches!(said(&host_cancelled, &none, &host), Some(Said::Done(_))));
    }

    #[test]
    fn a_tail_yields_complete_new_lines_and_follows_rotation() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("nagios.log");
        std::fs::write(&path, "[1] before\n").expect("written");
        let mut tail = LogTail::from_end(&path);
        assert!(tail.read_new().is_empty(), "older lines are not news");

        let mut log = std::fs::OpenOptions::new().append(true).open(&path).expect("open");
        write!(log, "[2] first\n[3] half").expect("appended");
        assert_eq!(tail.read_new(), [LogLine { time: 2, text: "first".into() }]);
        writeln!(log, " done").expect("appended");
        assert_eq!(tail.read_new(), [LogLine { time: 3, text: "half done".into() }]);

        std::fs::rename(&path, dir.path().join("nagios-old.log")).expect("rotated");
        std::fs::write(&path, "[4] LOG ROTATION: DAILY\nnot a log line\n").expect("new file");
        assert_eq!(tail.read_new(), [LogLine { time: 4, text: "LOG ROTATION: DAILY".into() }]);
    }
}
