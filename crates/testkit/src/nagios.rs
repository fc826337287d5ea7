//! A private Nagios Core 4 daemon in a temp dir, started for one test and stopped when dropped.

use crate::config;
use crate::layout::Layout;
use crate::process;
use hagios_domain::{unix_now, Status};
use rustix::fs::OFlags;
use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

const DEFAULT_BINARY: &str = "/usr/sbin/nagios4";
const START_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_GRACE: Duration = Duration::from_secs(15);
/// Check workers exit on their own within ~0.5 s once the main process is gone.
const WORKER_GRACE: Duration = Duration::from_secs(3);
const WORKER_LAUNCHED: &str = "Successfully launched command file worker";

/// How to set up an instance. `Default` gives the fixture with the environment-dumping notifier.
#[derive(Debug, Clone, Default)]
pub struct NagiosOptions {
    /// The command line Nagios runs for every host and service notification, e.g.
    /// `/path/to/hagios notify --spool /x`. It is a Nagios command line: `$MACRO$`s are expanded
    /// and a literal `$` is written `$$`. `None` dumps the `NAGIOS_*` environment into
    /// [`NagiosInstance::notifications_dir`] (read back with [`NagiosInstance::notifications`]).
    pub notify_command: Option<String>,
    /// Object definitions appended to the fixture (hosts, services, …).
    pub extra_objects: String,
    /// Adds an empty folder, included by its own `cfg_dir`, for hosts hagios manages
    /// ([`NagiosInstance::managed_dir`]).
    pub managed_dir: bool,
    /// `enable_environment_macros=0`, as Debian ships nagios.cfg: notification commands get the
    /// macros only as arguments, and no `NAGIOS_*` environment.
    pub without_environment_macros: bool,
    /// How often Nagios rewrites status.dat, in seconds: Debian ships 10; `None` gives the lab's
    /// 1 so that tests see changes quickly.
    pub status_update_interval: Option<u32>,
    /// The characters Nagios strips from some macros (`illegal_macro_output_chars`); `None`
    /// keeps Debian's `` `~$&|'"<> ``, `Some("")` strips nothing, as a site that cleared it.
    pub illegal_macro_output_chars: Option<String>,
    /// Debian 12's packaged owners and modes (needs root): Nagios runs as `nagios:nagios`, its
    /// state folder (Debian's /var/lib/nagios4: status.dat, objects.cache, `rw/`) is
    /// `nagios:www-data` 0750 and `rw/` `nagios:www-data` 2710, so the FIFO Nagios makes there
    /// is `www-data`'s too. Reading status.dat or writing the FIFO then takes group `www-data`.
    pub debian_ownership: bool,
}

impl NagiosOptions {
    /// Nagios as Debian 12's `nagios4` package sets it up: its nagios.cfg's
    /// `status_update_interval=10`, `enable_environment_macros=0` and `check_external_commands=1`
    /// (every instance has that), and its owners and modes ([`Self::debian_ownership`]).
    pub fn debian(extra_objects: String) -> Self {
        NagiosOptions {
            extra_objects,
            without_environment_macros: true,
            status_update_interval: Some(10),
            debian_ownership: true,
            ..NagiosOptions::default()
        }
    }
}

/// A running private Nagios. Fixture: hosts `web01` (hostgroup `web`, 127.0.0.1) and `db01`
/// (127.0.0.2); services `web01!HTTP`, `web01!Disk`, `web01!HTTP Load`, `db01!MySQL`, `db01!Load`.
/// Every object is checked once at start-up (readiness waits for that), then only when a check
/// is forced or a passive result arrives. Active checks report what [`Self::set_check_state`]
/// wrote, OK/UP by default. State is not retained across restarts.
pub struct NagiosInstance {
    layout: Layout,
    binary: PathBuf,
    /// [`NagiosOptions::status_update_interval`]: the lab's cadence when `None`.
    status_update_interval: Option<u32>,
    /// Dropped (deleted) after `Drop::drop` stopped the daemon.
    _dir: TempDir,
}

impl NagiosInstance {
    /// Starts an instance and waits until it accepts commands and wrote its first full status.
    ///
    /// Returns `None` after printing "skipping: nagios4-core not installed" when the binary
    /// (`NAGIOS_BIN`, default `/usr/sbin/nagios4`) is missing, unless `HAGIOS_REQUIRE_REAL=1`,
    /// in which case it panics. Panics when the instance cannot be set up or does not come up:
    /// a test environment that is present but broken must not pass silently.
    pub fn start(options: NagiosOptions) -> Option<Self> {
        let binary = process::real_binary("NAGIOS_BIN", DEFAULT_BINARY, "nagios4-core")?;
        let dir = tempfile::Builder::new()
            .prefix("hagios-nagios-")
            .tempdir()
            .unwrap_or_else(|err| panic!("cannot create a temp dir for Nagios: {err}"));
        let layout = Layout::new(dir.path());
        config::write(&layout, &options)
            .unwrap_or_else(|err| panic!("cannot write the Nagios config into {}: {err}", dir.path().display()));
        if options.debian_ownership {
            layout.own_as_debian().unwrap_or_else(|err| {
                panic!("cannot give {} Debian's owners and modes (as root?): {err}", dir.path().display())
            });
        }
        let instance = Self { layout, binary, status_update_interval: options.status_update_interval, _dir: dir };
        instance.launch();
        Some(instance)
    }

    pub fn dir(&self) -> &Path {
        &self.layout.root
    }

    /// The Nagios binary this instance runs (for `-v` checks of its configuration).
    pub fn binary(&self) -> &Path {
        &self.binary
    }

    pub fn config_file(&self) -> &Path {
        &self.layout.config_file
    }

    /// The folder for hosts hagios manages; included by nagios.cfg only with
    /// [`NagiosOptions::managed_dir`].
    pub fn managed_dir(&self) -> &Path {
        &self.layout.managed_dir
    }

    /// Where [`NagiosOptions::extra_objects`] went; tests may rewrite it (Nagios reads it again
    /// on its next reload).
    pub fn extra_objects_file(&self) -> PathBuf {
        self.layout.extra_objects_file()
    }

    pub fn command_file(&self) -> &Path {
        &self.layout.command_file
    }

    pub fn status_file(&self) -> &Path {
        &self.layout.status_file
    }

    pub fn object_cache_file(&self) -> &Path {
        &self.layout.object_cache_file
    }

    pub fn log_file(&self) -> &Path {
        &self.layout.log_file
    }

    /// The hagios `[nagios]` section serving this instance as site `test`; further `[nagios]`
    /// keys may follow it. At a cadence set in [`NagiosOptions`] it is what an operator writes
    /// (hagios times commands by nagios.cfg); at the lab's it allows commands 15 s, so that a
    /// busy test machine is not mistaken for a slow Nagios.
    pub fn hagios_section(&self) -> String {
        let confirm_timeout = match self.status_update_interval {
            None => "confirm_timeout = \"15s\"\n",
            Some(_) => "",
        };
        format!(
            r#"
[nagios]
site = "test"
main_config = "{main_config}"
command_file = "{command_file}"
status_file = "{status_file}"
object_cache_file = "{object_cache_file}"
{confirm_timeout}"#,
            main_config = self.config_file().display(),
            command_file = self.command_file().display(),
            status_file = self.status_file().display(),
            object_cache_file = self.object_cache_file().display(),
        )
    }

    /// Where the default notifier leaves one `*.env` file per notification.
    pub fn notifications_dir(&self) -> &Path {
        &self.layout.notifications_dir
    }

    /// The main process id, while it runs.
    pub fn pid(&self) -> Option<i32> {
        let pid = fs::read_to_string(&self.layout.lock_file).ok()?.trim().parse().ok()?;
        let ours = process::is_alive(pid)
            && process::command_line(pid)
                .is_some_and(|line| line.contains(&*self.layout.config_file.to_string_lossy()));
        ours.then_some(pid)
    }

    pub fn is_running(&self) -> bool {
        self.pid().is_some()
    }

    /// What the next active check of `host!service` reports: exit `code` with output `text`.
    pub fn set_check_state(&self, host: &str, service: &str, code: u8, text: &str) {
        self.write_check_state(&self.layout.check_state_file(host, service), code, text);
    }

    /// What the next active check of `host` itself reports.
    pub fn set_host_check_state(&self, host: &str, code: u8, text: &str) {
        self.write_check_state(&self.layout.check_state_file(host, ".host"), code, text);
    }

    fn write_check_state(&self, path: &Path, code: u8, text: &str) {
        let written =
            path.parent().map_or(Ok(()), fs::create_dir_all).and_then(|()| fs::write(path, format!("{code} {text}\n")));
        written.unwrap_or_else(|err| panic!("cannot write check state {}: {err}", path.display()));
    }

    /// Test-only: writes one raw external command (without the `[epoch] ` prefix, which is
    /// added) straight into the command FIFO, e.g. `PROCESS_SERVICE_CHECK_RESULT;web01;HTTP;2;down`.
    pub fn submit_raw(&self, command: &str) {
        let line = format!("[{}] {command}\n", unix_now());
        let written = OpenOptions::new()
            .write(true)
            .custom_flags(OFlags::NONBLOCK.bits() as i32)
            .open(&self.layout.command_file)
            .and_then(|mut fifo| fifo.write_all(line.as_bytes()));
        written.unwrap_or_else(|err| panic!("cannot write to {}: {err}", self.layout.command_file.display()));
    }

    /// Feeds a passive service check result (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).
    pub fn submit_service_result(&self, host: &str, service: &str, code: u8, output: &str) {
        self.submit_raw(&format!("PROCESS_SERVICE_CHECK_RESULT;{host};{service};{code};{output}"));
    }

    /// Feeds a passive host check result (0 UP, 1 DOWN, 2 UNREACHABLE).
    pub fn submit_host_result(&self, host: &str, code: u8, output: &str) {
        self.submit_raw(&format!("PROCESS_HOST_CHECK_RESULT;{host};{code};{output}"));
    }

    /// Polls status.dat until `accept` likes its text; returns that text, or `None` on timeout.
    pub fn wait_for_status(&self, timeout: Duration, mut accept: impl FnMut(&str) -> bool) -> Option<String> {
        wait_until(timeout, || fs::read_to_string(&self.layout.status_file).ok().filter(|text| accept(text)))
    }

    /// Like [`Self::wait_for_status`], on the parsed status.
    pub fn wait_for_state(&self, timeout: Duration, mut accept: impl FnMut(&Status) -> bool) -> Option<Status> {
        wait_until(timeout, || {
            let text = fs::read_to_string(&self.layout.status_file).ok()?;
            hagios_parsers::nagios::status::parse(&text).ok().filter(|status| accept(status))
        })
    }

    /// The whole Nagios log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.layout.log_file).unwrap_or_default()
    }

    /// Waits for a log line containing `needle` and returns it.
    pub fn wait_for_log(&self, timeout: Duration, needle: &str) -> Option<String> {
        wait_until(timeout, || self.log().lines().find(|line| line.contains(needle)).map(str::to_owned))
    }

    /// The notifications the default notifier recorded, oldest first, as `NAGIOS_*` → value.
    pub fn notifications(&self) -> Vec<BTreeMap<String, String>> {
        let Ok(entries) = fs::read_dir(&self.layout.notifications_dir) else { return Vec::new() };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|entry| Some(entry.ok()?.path()))
            .filter(|path| path.extension().is_some_and(|extension| extension == "env"))
            .collect();
        files.sort();
        files
            .iter()
            .filter_map(|path| fs::read(path).ok())
            .map(|dump| {
                dump.split(|&byte| byte == 0)
                    .filter_map(|entry| {
                        let entry = String::from_utf8_lossy(entry);
                        let (key, value) = entry.split_once('=')?;
                        Some((key.to_owned(), value.to_owned()))
                    })
                    .collect()
            })
            .collect()
    }

    /// Stops the daemon (SIGTERM, SIGKILL after 15 s), ends this instance's leftover worker
    /// processes and removes the FIFO, so that writers get ENOENT as on a stopped system.
    pub fn stop(&mut self) {
        if let Some(pid) = self.pid() {
            process::terminate(pid, STOP_GRACE);
        }
        let workers_gone = wait_until(WORKER_GRACE, || self.own_processes().is_empty().then_some(()));
        if workers_gone.is_none() {
            self.own_processes().into_iter().for_each(process::kill);
        }
        for path in [&self.layout.command_file, &self.layout.lock_file, &self.layout.query_socket] {
            let _ = fs::remove_file(path);
        }
    }

    /// Stops and starts again with the same configuration (state is not retained).
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }

    /// Main process and workers of this instance only: their command lines name our config
    /// file or our query socket.
    pub(crate) fn own_processes(&self) -> Vec<i32> {
        let config_file = self.layout.config_file.to_string_lossy().into_owned();
        let query_socket = self.layout.query_socket.to_string_lossy().into_owned();
        process::find(|line| line.contains(&config_file) || line.contains(&query_socket))
    }

    fn launch(&self) {
        for stale in [&self.layout.status_file, &self.layout.lock_file, &self.layout.command_file] {
            let _ = fs::remove_file(stale);
        }
        let log_offset = fs::metadata(&self.layout.log_file).map_or(0, |meta| meta.len() as usize);
        let startup_output = self.layout.var.join("startup.out");
        let output = fs::File::create(&startup_output)
            .and_then(|file| Ok((file.try_clone()?, file)))
            .unwrap_or_else(|err| panic!("cannot create {}: {err}", startup_output.display()));
        // -d daemonises: the parent exits once the config is loaded, the daemon writes lock_file.
        let status = Command::new(&self.binary)
            .arg("-d")
            .arg(&self.layout.config_file)
            .stdin(Stdio::null())
            .stdout(output.0)
            .stderr(output.1)
            .status()
            .unwrap_or_else(|err| panic!("cannot run {}: {err}", self.binary.display()));
        if !status.success() {
            let printed = fs::read_to_string(&startup_output).unwrap_or_default();
            panic!("{} -d {} failed ({status}):\n{printed}", self.binary.display(), self.layout.config_file.display());
        }
        let deadline = Instant::now() + START_TIMEOUT;
        let status = self.wait_for_start_up(deadline, log_offset, |nagios| {
            let accepts_commands = fs::metadata(&nagios.layout.command_file)
                .is_ok_and(|meta| meta.file_type().is_fifo())
                && nagios.log_since(log_offset).contains(WORKER_LAUNCHED);
            accepts_commands.then(|| fs::read_to_string(&nagios.layout.status_file).ok()).flatten()
        });
        // Nagios spreads the initial checks over minutes; forcing them now makes every object
        // checked at once, and the next active check a day away, so tests own the state.
        for host in status_blocks(&status, "hoststatus").filter_map(|block| block_value(block, "host_name")) {
            self.submit_raw(&format!("SCHEDULE_FORCED_HOST_CHECK;{host};{}", unix_now()));
            self.submit_raw(&format!("SCHEDULE_FORCED_HOST_SVC_CHECKS;{host};{}", unix_now()));
        }
        self.wait_for_start_up(deadline, log_offset, |nagios| {
            let status = fs::read_to_string(&nagios.layout.status_file).ok()?;
            all_objects_checked(&status).then_some(())
        });
    }

    /// Polls `probe` until it yields, panicking with the log tail when Nagios exits or the
    /// deadline passes.
    fn wait_for_start_up<T>(
        &self,
        deadline: Instant,
        log_offset: usize,
        mut probe: impl FnMut(&Self) -> Option<T>,
    ) -> T {
        let ready = wait_until(deadline.saturating_duration_since(Instant::now()), || {
            if !self.is_running() && self.own_processes().is_empty() {
                panic!("nagios exited during start-up; log tail:\n{}", self.log_tail(log_offset));
            }
            probe(self)
        });
        ready.unwrap_or_else(|| {
            panic!("nagios did not come up within {START_TIMEOUT:?}; log tail:\n{}", self.log_tail(log_offset))
        })
    }

    fn log_since(&self, offset: usize) -> String {
        let log = fs::read(&self.layout.log_file).unwrap_or_default();
        String::from_utf8_lossy(log.get(offset..).unwrap_or_default()).into_owned()
    }

    fn log_tail(&self, offset: usize) -> String {
        let log = self.log_since(offset);
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for NagiosInstance {
    fn drop(&mut self) {
        self.stop();
    }
}

/// True when every host and service has its first check result.
fn all_objects_checked(status: &str) -> bool {
    let mut objects = status_blocks(status, "hoststatus").chain(status_blocks(status, "servicestatus")).peekable();
    objects.peek().is_some() && objects.all(|block| block_value(block, "has_been_checked") == Some("1"))
}

/// The bodies of the status.dat blocks of one kind (`hoststatus`, `servicestatus`, …).
fn status_blocks<'a>(status: &'a str, kind: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    status.split("}\n").filter_map(move |block| block.trim_start().strip_prefix(kind)?.trim_start().strip_prefix('{'))
}

/// The value of `key=value` in a status.dat block.
fn block_value<'a>(block: &'a str, key: &str) -> Option<&'a str> {
    block.lines().find_map(|line| line.trim_start().strip_prefix(key)?.strip_prefix('='))
}

/// Polls `probe` every 100 ms until it yields a value or `timeout` passes (one last try then).
pub fn wait_until<T>(timeout: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = probe() {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
