//! A notification command written the way sites write them — the author and comment macros put
//! through `sh` once in double and once in single quotes — that records how many words each
//! call received, what they were and which quoting they came through, and the marker files an
//! injected command would create. For Nagios' object files and for Icinga 2's.

use crate::wait_until;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::Duration;
use tempfile::TempDir;

/// The script the shell line calls: one file per call (Nagios runs notifications side by side),
/// named after the script and its pid, holding its argument count then each argument, separated
/// by a control character that cleaned text can no longer hold.
const RECORDER: &str = "#!/bin/sh\nprintf '%s\\037' \"$#\" \"$@\" > \"$0.call.$$\"\n";

/// What one call of the notification command received: its words.
pub type Call = Vec<String>;

/// How the shell line quotes the macros for one of its two calls; each has its own recorder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quoting {
    Double,
    Single,
}

impl Quoting {
    fn recorder(self) -> &'static str {
        match self {
            Quoting::Double => "double",
            Quoting::Single => "single",
        }
    }
}

pub struct ShellCapture {
    dir: TempDir,
}

impl ShellCapture {
    pub fn new() -> ShellCapture {
        let dir = tempfile::tempdir().expect("temp dir for the shell capture");
        for quoting in [Quoting::Double, Quoting::Single] {
            let recorder = dir.path().join(quoting.recorder());
            std::fs::write(&recorder, RECORDER).expect("write the recorder");
            std::fs::set_permissions(&recorder, std::fs::Permissions::from_mode(0o755)).expect("chmod the recorder");
        }
        ShellCapture { dir }
    }

    /// The shell line of a notification command passing `author` and `comment` (macros, for
    /// example `$NOTIFICATIONAUTHOR$`) to the recorder in double quotes, then in single quotes
    /// (joined by `&&`: in Nagios' object files `;` starts a comment).
    pub fn shell_line(&self, author: &str, comment: &str) -> String {
        let [double, single] = [Quoting::Double, Quoting::Single].map(|quoting| self.recorder(quoting));
        format!("{double} \"{author}\" \"{comment}\" && {single} '{author}' '{comment}'")
    }

    /// [`Self::shell_line`] as the `command` of an Icinga 2 `NotificationCommand`: a string,
    /// which Icinga runs through `/bin/sh -c`.
    pub fn icinga_command(&self, author: &str, comment: &str) -> String {
        let line = self.shell_line(author, comment);
        format!("\"{}\"", line.replace('\\', "\\\\").replace('"', "\\\""))
    }

    /// Every call recorded so far, each the words it received, ordered by the recorder's pid.
    pub fn calls(&self) -> Vec<Call> {
        self.calls_named(&["double.call.", "single.call."])
    }

    /// The calls recorded so far that quoted the macros `quoting`'s way.
    pub fn calls_quoted(&self, quoting: Quoting) -> Vec<Call> {
        self.calls_named(&[&format!("{}.call.", quoting.recorder())])
    }

    /// Fails unless a call quoting the macros `quoting`'s way receives exactly `words` within
    /// `timeout`.
    pub fn assert_called<S: AsRef<str>>(&self, quoting: Quoting, words: &[S], timeout: Duration) {
        let words: Vec<&str> = words.iter().map(AsRef::as_ref).collect();
        let received = |call: &Call| call.iter().map(String::as_str).eq(words.iter().copied());
        let seen = wait_until(timeout, || self.calls_quoted(quoting).iter().any(received).then_some(()));
        assert!(seen.is_some(), "no {quoting:?}-quoted call received {words:?}: {:?}", self.calls_quoted(quoting));
    }

    fn recorder(&self, quoting: Quoting) -> String {
        self.dir.path().join(quoting.recorder()).display().to_string()
    }

    fn calls_named(&self, prefixes: &[&str]) -> Vec<Call> {
        let mut files: Vec<(u32, PathBuf)> = prefixes
            .iter()
            .flat_map(|prefix| self.files_named(prefix))
            .filter_map(|path| Some((path.extension()?.to_str()?.parse().ok()?, path)))
            .collect();
        files.sort();
        files
            .iter()
            // A call still writing its file shows up at the next look.
            .filter_map(|(_, path)| std::fs::read_to_string(path).ok().filter(|call| call.ends_with('\u{1f}')))
            .map(|call| {
                let mut words: Vec<String> = call.split('\u{1f}').map(str::to_owned).collect();
                words.pop(); // after the last separator
                let count: usize = words.remove(0).parse().expect("the recorder writes the word count first");
                assert_eq!(count, words.len(), "a word held the separator: {call:?}");
                words
            })
            .collect()
    }

    /// Where the `n`th attack would leave its file.
    pub fn marker(&self, n: usize) -> PathBuf {
        self.dir.path().join(format!("marker{n}"))
    }

    /// `| id > MARKER #`, the shell the `n`th attack tries to run.
    pub fn injected(&self, n: usize) -> String {
        format!("| id > {} #", self.marker(n).display())
    }

    /// The markers that exist: each one a command that ran.
    pub fn markers_made(&self) -> Vec<PathBuf> {
        let mut made = self.files_named("marker");
        made.sort();
        made
    }

    fn files_named(&self, prefix: &str) -> Vec<PathBuf> {
        let entries = std::fs::read_dir(self.dir.path()).expect("read the capture folder");
        entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.file_name().is_some_and(|name| name.to_string_lossy().starts_with(prefix)))
            .collect()
    }
}

impl Default for ShellCapture {
    fn default() -> Self {
        ShellCapture::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn run(line: &str) {
        let status = Command::new("/bin/sh").arg("-c").arg(line).status().expect("sh");
        assert!(status.success(), "{line}");
    }

    #[test]
    fn each_call_is_recorded_with_its_words_and_breaking_out_shows() {
        let capture = ShellCapture::new();
        run(&capture.shell_line("alice", "on it"));
        run(&capture.shell_line("bob", "a\" \"b"));
        run(&capture.shell_line("eve", &format!("x\" ; touch {} ; echo \"", capture.marker(1).display())));
        let calls = capture.calls();
        assert_eq!(calls[..2], [["alice", "on it"], ["alice", "on it"]]);
        assert_eq!(calls[2], ["bob", "a", "b"], "a value split into two words");
        assert_eq!(capture.calls_quoted(Quoting::Single)[1], ["bob", "a\" \"b"], "kept whole in single quotes");
        capture.assert_called(Quoting::Double, &["bob", "a", "b"], Duration::ZERO);
        assert_eq!(capture.markers_made(), [capture.marker(1)], "the injected command ran");
    }
}
