//! Diagnostics: one problem in the configuration, where it is, why, and what to try instead.

use std::fmt;
use std::path::PathBuf;

/// Whether Nagios refuses to start over it (error) or only complains (warning).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warning,
    Error,
}

/// When `nagios -v` finds it. Nagios stops after the first phase that has errors (and, while
/// registering objects, after the first bad object); we report every phase at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// Reading files, templates, group membership, registering objects.
    Read,
    /// The "pre-flight check": commands, parents, circular paths.
    Preflight,
}

/// What kind of problem it is; `Diagnostic::subject` names the thing concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// A `cfg_file`, `cfg_dir` or `resource_file` cannot be read (subject: the path).
    Unreadable,
    /// `define` with an unknown object type (subject: the type).
    UnknownObjectType,
    /// A directive the object type does not have (subject: the directive).
    UnknownDirective,
    /// A definition not closed before the end of its file.
    UnexpectedEof,
    /// An object without its name directive (subject: the object type).
    MissingName,
    /// A required directive missing after inheritance (subject: the directive).
    MissingDirective,
    /// `use` names a template that does not exist (subject: the template).
    UnknownTemplate,
    /// A reference to an object that does not exist (subject: the name referenced).
    UnknownHost,
    UnknownHostgroup,
    UnknownServicegroup,
    UnknownContact,
    UnknownContactgroup,
    UnknownCommand,
    UnknownTimeperiod,
    /// Two definitions of the same object (subject: its name).
    Duplicate,
    /// Templates that use each other (Nagios ignores the loop silently: a warning).
    CircularTemplate,
    /// Hosts that are each other's parents (subject: the hosts, sorted, comma-separated).
    ParentCycle,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub phase: Phase,
    pub kind: Kind,
    pub subject: String,
    pub file: PathBuf,
    pub line: u32,
    pub message: String,
    /// Further lines: inheritance chain, suggestion, where the other definition is.
    pub notes: Vec<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{}:{}: {severity}: {}", self.file.display(), self.line, self.message)?;
        for note in &self.notes {
            write!(f, "\n    {note}")?;
        }
        Ok(())
    }
}
