//! Hosts added and removed from chat on Nagios: one `NAME.cfg` per host in the managed folder
//! (read by Nagios through `cfg_dir`), changed one at a time under a lock, checked by hagios'
//! checker and by `nagios -v` before Nagios reloads, confirmed in objects.cache and status.dat,
//! and taken back on any failure.

use super::command::{self, ExternalCommand};
use super::config::NagiosConfig;
use super::confirm::POLL_INTERVAL;
use super::fifo;
use super::state::StateCache;
use crate::readback::{self, Expectation};
use crate::MonitorError;
use hagios_domain::{plural, Outcome};
use rustix::fs::{flock, FlockOperation};
use rustix::io::Errno;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::process::Command;
use tokio::time::Instant;

/// The first line of every file hagios writes, followed by the host name; `host remove`
/// touches only files that start with it.
const MARKER: &str = "# hagios-managed host";
/// flock()ed for the whole change, so that changes from any process run one at a time.
const LOCK_FILE: &str = ".hagios.lock";
/// A change (two checks, a reload, a confirmation, maybe a rollback) takes well under this.
const LOCK_WAIT: Duration = Duration::from_secs(60);
const LOCK_POLL: Duration = Duration::from_millis(100);
/// `nagios -v` on a large configuration takes about a second; a hung one is killed.
const NAGIOS_CHECK_TIMEOUT: Duration = Duration::from_secs(120);
const RELOAD_TIMEOUT: Duration = Duration::from_secs(60);
/// Chat gets at most this many lines of check output.
const MAX_REPORTED_LINES: usize = 20;

/// One host change against one Nagios instance.
pub(crate) struct HostChange<'a> {
    pub config: &'a NagiosConfig,
    /// The managed folder (`managed_dir`), which nagios.cfg includes with `cfg_dir`.
    pub dir: &'a Path,
    pub state: &'a Arc<StateCache>,
}

/// One file operation in the managed folder, and how to take it back.
enum Swap {
    /// `temp` (written and synced) is renamed to `file`; undone by deleting `file`.
    Create { temp: PathBuf, file: PathBuf },
    /// `file` is renamed to `aside`, which Nagios does not read (not `*.cfg`); undone by
    /// renaming it back.
    Remove { file: PathBuf, aside: PathBuf },
}

impl Swap {
    fn apply(&self) -> io::Result<()> {
        match self {
            Swap::Create { temp, file } => rename_synced(temp, file).inspect_err(|_| {
                let _ = fs::remove_file(temp);
            }),
            Swap::Remove { file, aside } => rename_synced(file, aside),
        }
    }

    fn undo(&self) -> io::Result<()> {
        match self {
            Swap::Create { file, .. } => {
                fs::remove_file(file)?;
                sync_parent(file)
            }
            Swap::Remove { file, aside } => rename_synced(aside, file),
        }
    }

    /// Drops what is only kept for an undo, once the change is confirmed.
    fn finish(&self) -> io::Result<()> {
        match self {
            Swap::Create { .. } => Ok(()),
            Swap::Remove { aside, .. } => fs::remove_file(aside),
        }
    }

    /// What [`Self::undo`] did, for the reply.
    fn undone(&self) -> String {
        match self {
            Swap::Create { file, .. } => format!("{} is deleted again", file.display()),
            Swap::Remove { file, .. } => format!("{} is back in place", file.display()),
        }
    }

    fn file(&self) -> &Path {
        match self {
            Swap::Create { file, .. } | Swap::Remove { file, .. } => file,
        }
    }
}

impl HostChange<'_> {
    /// Writes `NAME.cfg`, checks, reloads and confirms that Nagios shows the host. The fields
    /// passed `validate::ensure_host_fields` (the domain's rule for host fields) first.
    pub(crate) async fn add(&self, name: &str, address: &str, template: &str) -> Result<Outcome, MonitorError> {
        let _lock = self.lock().await?;
        // Read after taking the lock: a change that held it may have added this very host.
        let snapshot = StateCache::load_async(Arc::clone(self.state)).await?;
        if snapshot.has_host(name) {
            return Err(MonitorError::Refused(format!("host `{name}` already exists; `status {name}` shows it")));
        }
        let file = self.file_of(name);
        if file.exists() {
            return Err(MonitorError::Refused(format!(
                "{} exists although Nagios does not show host `{name}`; a change was interrupted — move the file \
                 away (or reload Nagios) and try again",
                file.display()
            )));
        }
        let temp = self.dir.join(format!(".{name}.cfg.tmp"));
        write_synced(&temp, &host_definition(name, address, template))
            .map_err(|err| io_error("cannot write", &temp, err))?;
        self.run(Swap::Create { temp, file }, name, true).await
    }

    /// Moves `NAME.cfg` aside, checks, reloads and confirms that Nagios no longer shows the host.
    /// Only hosts hagios added (their file starts with the marker) can be removed. The name
    /// passed `validate::ensure_host_fields` first.
    pub(crate) async fn remove(&self, name: &str) -> Result<Outcome, MonitorError> {
        let _lock = self.lock().await?;
        let file = self.file_of(name);
        let first_line = fs::read_to_string(&file).ok().and_then(|text| text.lines().next().map(str::to_owned));
        if first_line.as_deref() != Some(marker_line(name).as_str()) {
            return Err(MonitorError::Refused(format!(
                "host `{name}` was not added from chat (no hagios-managed {}); hagios removes only hosts it added — \
                 remove it from the Nagios configuration by hand",
                file.display()
            )));
        }
        let aside = self.dir.join(format!(".{name}.cfg.removed"));
        self.run(Swap::Remove { file, aside }, name, false).await
    }

    fn file_of(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.cfg"))
    }

    /// Applies `swap`, then check → reload → confirm; the first failure takes the swap back.
    async fn run(&self, swap: Swap, name: &str, adding: bool) -> Result<Outcome, MonitorError> {
        let (verb, shown) = if adding { ("added", "appear") } else { ("removed", "disappear") };
        swap.apply().map_err(|err| io_error("cannot change", swap.file(), err))?;
        let checked = self.check_configuration(adding.then(|| swap.file())).await;
        if let Err(report) = checked {
            let undone = undo_note(&swap);
            return Err(MonitorError::Refused(format!(
                "host `{name}` was not {verb}: the configuration check failed, so Nagios was not reloaded and runs \
                 unchanged{undone}. Fix what it reports and try again:\n{report}"
            )));
        }
        if let Err(err) = self.reload().await {
            let undone = undo_note(&swap);
            return Err(MonitorError::RolledBack(format!("host `{name}` was not {verb}: {err}{undone}")));
        }
        let expectation = Expectation::Host { name: name.to_owned(), exists: adding };
        let load = || StateCache::load_async(Arc::clone(self.state));
        if let Ok(detail) = readback::poll(load, &expectation, self.config.reload_timeout, POLL_INTERVAL).await {
            if let Err(err) = swap.finish() {
                tracing::warn!(error = %err, "cannot delete the set-aside file of a removed host");
            }
            return Ok(Outcome::Confirmed(format!("{detail}; objects.cache and status.dat show it")));
        }
        let timeout = self.config.reload_timeout;
        let mut summary = format!(
            "host `{name}` did not {shown} in objects.cache and status.dat within {timeout:?} after the reload"
        );
        match swap.undo() {
            Ok(()) => summary.push_str(&format!("; {}", swap.undone())),
            Err(err) => {
                summary.push_str(&format!("; cannot restore {} ({err}): fix it by hand", swap.file().display()));
                return Err(MonitorError::RolledBack(summary));
            }
        }
        let previous = Expectation::Host { name: name.to_owned(), exists: !adding };
        let reloaded = match self.reload().await {
            Ok(()) => readback::poll(load, &previous, timeout, POLL_INTERVAL).await.is_ok(),
            Err(err) => {
                summary.push_str(&format!(" but the second reload failed ({err})"));
                false
            }
        };
        summary.push_str(match reloaded {
            true => " and Nagios runs the previous configuration again (confirmed)",
            false => "; Nagios has not confirmed the previous configuration yet: check its log and `status`",
        });
        Err(MonitorError::RolledBack(summary))
    }

    /// Waits (without blocking the runtime) for the folder's lock; released when the file closes.
    async fn lock(&self) -> Result<File, MonitorError> {
        let path = self.dir.join(LOCK_FILE);
        let file = OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(|err| {
            io_error("cannot open the lock file (does managed_dir exist and is it writable?)", &path, err)
        })?;
        let deadline = Instant::now() + LOCK_WAIT;
        loop {
            match flock(&file, FlockOperation::NonBlockingLockExclusive) {
                Ok(()) => return Ok(file),
                Err(Errno::WOULDBLOCK | Errno::INTR) if Instant::now() < deadline => {
                    tokio::time::sleep(LOCK_POLL).await;
                }
                Err(Errno::WOULDBLOCK) => {
                    return Err(MonitorError::Refused(format!(
                        "another host change on this site has held {} for {LOCK_WAIT:?}; try again when it finished",
                        path.display()
                    )))
                }
                Err(errno) => return Err(io_error("cannot lock", &path, errno.into())),
            }
        }
    }

    /// hagios' checker, then `nagios -v`; `Err` carries what to show in chat. `added` must be
    /// among the files the main configuration includes.
    async fn check_configuration(&self, added: Option<&Path>) -> Result<(), String> {
        let main = self.config.main_config.clone();
        let added = added.map(Path::to_path_buf);
        tokio::task::spawn_blocking(move || check_with_hagios(&main, added.as_deref()))
            .await
            .map_err(|err| format!("the configuration checker failed: {err}"))??;
        self.check_with_nagios().await
    }

    async fn check_with_nagios(&self) -> Result<(), String> {
        let NagiosConfig { nagios_binary, main_config, .. } = self.config;
        let shown = format!("{} -v {}", nagios_binary.display(), main_config.display());
        let run = Command::new(nagios_binary).arg("-v").arg(main_config).kill_on_drop(true).output();
        let output = match tokio::time::timeout(NAGIOS_CHECK_TIMEOUT, run).await {
            Ok(Ok(output)) => output,
            Ok(Err(err)) => return Err(format!("cannot run {shown}: {err} (set [nagios] nagios_binary)")),
            Err(_) => return Err(format!("{shown} did not finish within {NAGIOS_CHECK_TIMEOUT:?}")),
        };
        if output.status.success() {
            return Ok(());
        }
        let printed = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        let errors: Vec<&str> = printed.lines().map(str::trim).filter(|line| line.starts_with("Error")).collect();
        let lines = if errors.is_empty() {
            let all: Vec<&str> = printed.lines().collect();
            all[all.len().saturating_sub(MAX_REPORTED_LINES)..].to_vec()
        } else {
            errors
        };
        Err(format!("{shown} ({}):\n{}", output.status, capped(&lines)))
    }

    async fn reload(&self) -> Result<(), MonitorError> {
        let Some(program) = &self.config.reload_command else {
            let line = command::render(&ExternalCommand::RestartProgram, hagios_domain::unix_now())
                .map_err(|err| MonitorError::Refused(err.to_string()))?;
            return fifo::send(&self.config.command_file, line).await;
        };
        let [binary, arguments @ ..] = program.as_slice() else {
            return Err(MonitorError::Refused("[nagios] reload_command is empty; name a program".into()));
        };
        let shown = program.join(" ");
        let run = Command::new(binary).args(arguments).kill_on_drop(true).output();
        let failed = |detail: String| MonitorError::Refused(format!("the reload command `{shown}` {detail}"));
        match tokio::time::timeout(RELOAD_TIMEOUT, run).await {
            Ok(Ok(output)) if output.status.success() => Ok(()),
            Ok(Ok(output)) => {
                let printed = String::from_utf8_lossy(&output.stderr);
                Err(failed(format!("failed ({}): {}", output.status, printed.trim())))
            }
            Ok(Err(err)) => Err(failed(format!("cannot run: {err}"))),
            Err(_) => Err(failed(format!("did not finish within {RELOAD_TIMEOUT:?}"))),
        }
    }
}

/// The errors hagios' checker finds in the whole configuration.
fn check_with_hagios(main: &Path, added: Option<&Path>) -> Result<(), String> {
    let sources = hagios_nagioscfg::load(main).map_err(|err| err.to_string())?;
    if let Some(added) = added {
        let canonical = |path: &Path| fs::canonicalize(path).ok();
        let wanted = canonical(added);
        if !sources.files.iter().any(|file| canonical(&file.path) == wanted) {
            let dir = added.parent().unwrap_or(added);
            return Err(format!(
                "{} does not include {} (add `cfg_dir={}` to it, or point [nagios] managed_dir at a folder it includes)",
                main.display(),
                dir.display(),
                dir.display()
            ));
        }
    }
    let report = hagios_nagioscfg::check(&sources);
    let errors: Vec<String> = report
        .diagnostics
        .iter()
        .filter(|diagnostic| diagnostic.severity == hagios_nagioscfg::Severity::Error)
        .map(ToString::to_string)
        .collect();
    if errors.is_empty() {
        return Ok(());
    }
    let lines: Vec<&str> = errors.iter().flat_map(|error| error.lines()).collect();
    Err(format!("hagios nagios check {} ({}):\n{}", main.display(), plural(errors.len(), "error"), capped(&lines)))
}

/// At most [`MAX_REPORTED_LINES`] lines, saying how many were left out.
fn capped(lines: &[&str]) -> String {
    let mut shown = lines.iter().take(MAX_REPORTED_LINES).copied().collect::<Vec<_>>().join("\n");
    if lines.len() > MAX_REPORTED_LINES {
        shown.push_str(&format!("\n… and {}", plural(lines.len() - MAX_REPORTED_LINES, "more line")));
    }
    shown
}

fn undo_note(swap: &Swap) -> String {
    match swap.undo() {
        Ok(()) => format!("; {}", swap.undone()),
        Err(err) => {
            format!("; cannot restore {} ({err}): fix it by hand before the next reload", swap.file().display())
        }
    }
}

fn marker_line(name: &str) -> String {
    format!("{MARKER} {name}")
}

/// The `.cfg` text of one host. Values passed the domain's rule for host fields first.
fn host_definition(name: &str, address: &str, template: &str) -> String {
    format!(
        "{marker}\n# Written by hagios (`host add` from chat); `host remove {name}` deletes it. Do not edit.\n\
         define host {{\n    use        {template}\n    host_name  {name}\n    alias      {name}\n    \
         address    {address}\n}}\n",
        marker = marker_line(name)
    )
}

fn write_synced(path: &Path, text: &str) -> io::Result<()> {
    let mut file = File::create(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

/// Renames and syncs the folder, so the change survives a crash once this returns.
fn rename_synced(from: &Path, to: &Path) -> io::Result<()> {
    fs::rename(from, to)?;
    sync_parent(to)
}

fn sync_parent(path: &Path) -> io::Result<()> {
    File::open(path.parent().unwrap_or(Path::new("."))).and_then(|dir| dir.sync_all())
}

fn io_error(what: &str, path: &Path, cause: io::Error) -> MonitorError {
    MonitorError::Io { context: format!("{what} {}", path.display()), cause }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_definition_starts_with_the_marker_and_keeps_each_directive_on_its_own_line() {
        let text = host_definition("web07", "192.0.2.7", "generic-host");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "# hagios-managed host web07");
        assert_eq!(lines[2], "define host {");
        assert_eq!(
            lines[3..7],
            ["    use        generic-host", "    host_name  web07", "    alias      web07", "    address    192.0.2.7"]
        );
        assert_eq!(lines[7], "}");
    }

    #[test]
    fn long_reports_are_capped() {
        let lines: Vec<String> = (0..25).map(|n| format!("line {n}")).collect();
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        let shown = capped(&lines);
        assert_eq!(shown.lines().count(), MAX_REPORTED_LINES + 1);
        assert!(shown.ends_with("… and 5 more lines"), "{shown}");
    }
}
