//! What the Nagios and Icinga tests share: a notification command written the way sites write
//! them, and hostile acknowledgements aimed at it.

use hagios_domain::{Action, ObjectRef};
use hagios_testkit::wait_until;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A folder for what a notification command received (`double-quoted`, `single-quoted`) and for
/// the markers an injected command would create.
pub struct NotificationOutput {
    dir: tempfile::TempDir,
    pub double: PathBuf,
    pub single: PathBuf,
}

impl NotificationOutput {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let (double, single) = (dir.path().join("double-quoted"), dir.path().join("single-quoted"));
        NotificationOutput { dir, double, single }
    }

    /// The shell line of a notification command: `author` and `comment` (macros) once in double
    /// and once in single quotes, each value between `<` and `>`.
    pub fn shell_line(&self, author: &str, comment: &str) -> String {
        format!(
            "/usr/bin/printf '<%s><%s>' \"{author}\" \"{comment}\" >> {} && \
             /usr/bin/printf '<%s><%s>' '{author}' '{comment}' >> {}",
            self.double.display(),
            self.single.display()
        )
    }

    /// Where the `n`th attack would leave its file.
    pub fn marker(&self, n: usize) -> PathBuf {
        self.dir.path().join(format!("marker{n}"))
    }

    /// `| id > MARKER #`, the command the `n`th attack tries to run.
    pub fn injected(&self, n: usize) -> String {
        format!("| id > {} #", self.marker(n).display())
    }

    /// Fails unless `file` shows `arrived` within `timeout`.
    pub fn assert_arrives(file: &Path, arrived: &str, timeout: Duration) {
        let seen = wait_until(timeout, || std::fs::read_to_string(file).ok().filter(|text| text.contains(arrived)));
        let text = std::fs::read_to_string(file);
        assert!(seen.is_some(), "{arrived:?} not in {}: {text:?}", file.display());
    }

    /// Fails when any of the first `count` attacks created its marker.
    pub fn assert_nothing_ran(&self, count: usize) {
        for n in 1..=count {
            assert!(!self.marker(n).exists(), "an injected command ran: {}", self.marker(n).display());
        }
    }
}

/// An acknowledgement of `target` that sends an ACKNOWLEDGEMENT notification.
pub fn notifying_ack(target: ObjectRef, comment: &str) -> Action {
    Action::Acknowledge {
        target,
        comment: comment.to_owned(),
        sticky: false,
        notify: true,
        persistent: false,
        expire: None,
    }
}
