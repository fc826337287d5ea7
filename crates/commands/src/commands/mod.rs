//! The chat commands, one file each. A file holds the command's routes (regexes with named
//! capture groups), its help, the permission it needs and its parser; the router does the rest
//! (matching, state, authorization, execution, replies, audit).

mod ack;
mod cancel;
mod comment;
mod downtime;
mod downtime_cancel;
mod downtimes;
mod escalate;
mod help;
mod host_add;
mod host_name;
mod host_remove;
mod mute;
mod oncall;
mod problems;
mod recheck;
pub(crate) mod report;
pub(crate) mod snooze;
mod status;
mod timeline;
mod unack;
mod unmute;
mod yes;

use crate::router::Settings;
use crate::text::typeable;
use hagios_domain::{Action, ObjectRef, SiteObject, SiteSnapshots, Snapshot};
use hagios_monitor::Cadence;
use regex::Captures;

/// Every command in routing order: the first matching route wins, so `downtime cancel` comes
/// before `downtime`. `help` lists them in this order too.
pub(crate) static ALL: [&Command; 25] = [
    &status::COMMAND,
    &problems::COMMAND,
    &ack::COMMAND,
    &unack::COMMAND,
    &downtime_cancel::COMMAND,
    &downtime::COMMAND,
    &downtimes::COMMAND,
    &recheck::COMMAND,
    &mute::COMMAND,
    &unmute::COMMAND,
    &snooze::COMMAND,
    &snooze::UNSNOOZE,
    &snooze::SNOOZES,
    &comment::COMMAND,
    &oncall::TAKE,
    &oncall::GIVE,
    &oncall::COMMAND,
    &escalate::COMMAND,
    &timeline::COMMAND,
    &report::COMMAND,
    &host_add::COMMAND,
    &host_remove::COMMAND,
    &yes::COMMAND,
    &cancel::COMMAND,
    &help::COMMAND,
];

/// One chat command.
pub(crate) struct Command {
    /// What `help NAME` looks up; may be two words (`downtime cancel`).
    pub name: &'static str,
    pub usage: &'static str,
    /// One line for `help`.
    pub summary: &'static str,
    /// The long help for `help NAME`, with examples.
    pub details: &'static str,
    /// The `[[role]]` command a user needs; `None` when everyone may use it.
    pub permission: Option<&'static str>,
    /// Whether parsing needs the monitoring state (only `help` does not).
    pub needs_state: bool,
    /// Regexes over the whole input, command word lowercased; `.` matches newlines too.
    pub routes: &'static [&'static str],
    pub parse: fn(&Captures<'_>, &Input<'_>) -> Result<Parsed, ParseError>,
}

/// Everything a parser may look at besides its captures.
pub(crate) struct Input<'a> {
    pub command: &'static Command,
    /// The person's display name, for default comments.
    pub user: &'a str,
    /// The incident of the alert thread the command was typed in.
    pub incident: Option<&'a SiteObject>,
    /// When that incident opened.
    pub incident_opened_at: Option<i64>,
    /// The open members of the alert group whose thread the command was typed in.
    pub group: &'a [SiteObject],
    pub now: i64,
    /// Every answering site's state in one, for queries over everything.
    pub snapshot: &'a Snapshot,
    /// Each site's own state: what an object named for a command is looked up in.
    pub sites: &'a SiteSnapshots,
    pub settings: &'a Settings,
    /// How the backend times the final word on a command, when it reads state back on a
    /// cadence (`status` shows it).
    pub cadence: Option<Cadence>,
}

impl Input<'_> {
    /// A `ParseError::Usage` for this command.
    pub fn usage(&self, problem: String) -> ParseError {
        ParseError::Usage { problem, usage: self.command.usage, command: self.command.name }
    }

    /// The state of the site `at` is at; the merged state when the site did not answer.
    pub fn snapshot_at(&self, site: &str) -> &Snapshot {
        self.sites.site(site).map_or(self.snapshot, |snapshot| snapshot)
    }

    /// `at` as replies name it and people type it back: with its site where there are several.
    pub fn label(&self, at: &SiteObject) -> String {
        self.with_site(&at.site, at.object.to_string())
    }

    /// `name` with `site:` in front where the sites are several.
    pub fn with_site(&self, site: &str, name: String) -> String {
        if self.sites.spans_sites() {
            format!("{site}:{name}")
        } else {
            name
        }
    }

    /// An act on `at` whose replies are `VERB OBJECT` and `PAST OBJECT`.
    pub fn act(&self, at: SiteObject, action: Action, verb: &str, past: &str) -> Act {
        let label = self.label(&at);
        self.worded_act(at, action, format!("{verb} {label}"), format!("{past} {label}"))
    }

    /// An act on `at` with its own wording of what was asked (`intent`) and what happened (`done`).
    pub fn worded_act(&self, at: SiteObject, action: Action, intent: String, done: String) -> Act {
        Act {
            intent,
            done,
            typed: self.with_site(&at.site, typeable(&at.object)),
            label: self.label(&at),
            site: at.site,
            object: at.object,
            action,
        }
    }
}

/// What a parser made of the input.
#[derive(Debug)]
pub(crate) enum Parsed {
    /// An action for the monitoring system, subject to authorization.
    Act(Act),
    /// The same action for each open member of an alert group, each authorized on its own.
    Each(Vec<Act>),
    /// A query, already answered from the snapshot. `query` is its canonical form for the audit.
    Answer { query: String, text: String },
    /// An action that changes what is monitored: authorized now, run only after a `yes`.
    AfterYes(Act),
    /// A `yes` for the action waiting as request N, or for the newest one.
    Yes(Option<u32>),
    /// Drop the action waiting as request N, or the newest one.
    Cancel(Option<u32>),
    /// A change to (or a look at) the snoozes hagios keeps; the monitoring system is not involved.
    Snooze(snooze::SnoozeRequest),
    /// Answered from hagios' own records (on call, paging, incidents): `crate::desk`.
    Desk(crate::desk::DeskRequest),
}

#[derive(Debug)]
pub(crate) struct Act {
    pub action: Action,
    /// The site the object was found at: authorization is checked against that site's
    /// objects, and the action is sent there and nowhere else.
    pub site: String,
    /// The object authorization is checked on.
    pub object: ObjectRef,
    /// What was asked, for "could not …" replies: `acknowledge web01!HTTP`.
    pub intent: String,
    /// What happened once the monitoring system shows it: `acknowledged web01!HTTP`.
    pub done: String,
    /// The object as replies name it: `web01!HTTP Load`, `east:web01!HTTP Load` where there are
    /// several sites.
    pub label: String,
    /// The object as typed to name it again (`east:web01!"HTTP Load"`), for `status …` hints.
    pub typed: String,
}

/// Why input could not become a command. Messages say what to type instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ParseError {
    #[error("unknown host `{name}`{}", did_you_mean(.suggestion))]
    UnknownHost { name: String, suggestion: Option<String> },
    #[error("unknown service `{service}` on {host}{}", did_you_mean(.suggestion))]
    UnknownService { host: String, service: String, suggestion: Option<String> },
    #[error("{problem}; usage: `{usage}` (`help {command}` has examples)")]
    Usage { problem: String, usage: &'static str, command: &'static str },
    #[error("{0}")]
    Invalid(String),
}

fn did_you_mean(suggestion: &Option<String>) -> String {
    match suggestion {
        Some(name) => format!(" — did you mean `{name}`?"),
        None => " (not in the monitoring configuration)".to_owned(),
    }
}

/// The command named `name` (`ack`, `downtime cancel`).
pub(crate) fn find(name: &str) -> Option<&'static Command> {
    ALL.iter().copied().find(|command| command.name == name)
}

/// The words that start a command, each once: what `[[role]]` may list and what typos are
/// compared with.
pub(crate) fn command_words() -> Vec<&'static str> {
    let mut words: Vec<&'static str> = Vec::new();
    for command in ALL {
        let word = command.name.split(' ').next().unwrap_or(command.name);
        if !words.contains(&word) {
            words.push(word);
        }
    }
    words
}

/// The commands everyone may use, with or without a role.
pub(crate) fn open_commands() -> Vec<&'static str> {
    ALL.iter().filter(|command| command.permission.is_none()).map(|command| command.name).collect()
}
