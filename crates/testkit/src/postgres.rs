//! A private PostgreSQL 15 cluster (Debian's `postgresql` package) in a temp dir: `initdb` as an
//! unprivileged user (PostgreSQL refuses to run as root; tests run as root in CI, so the cluster
//! belongs to `nobody` there), a free port on 127.0.0.1 and the unix socket in the temp dir.
//! Connections over TCP need the password ([`PostgresInstance::PASSWORD`], scram), as a real
//! server does; the fixture's own `psql` calls use the socket, which it trusts.
//!
//! [`PostgresInstance::shared`] is one cluster for a whole test binary (each test takes a fresh
//! database from it); [`PostgresInstance::start`] is one a test owns, to stop and restart.

use crate::nagios::wait_until;
use crate::process;
use std::fs;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// The server binary of Debian 12's PostgreSQL 15; `POSTGRES_BIN` names another (its folder
/// must hold `initdb` and `psql` too).
const DEFAULT_BINARY: &str = "/usr/lib/postgresql/15/bin/postgres";
const START_TIMEOUT: Duration = Duration::from_secs(60);
const USER: &str = "hagios";

/// A running private cluster; stopped (and its files deleted) when dropped.
pub struct PostgresInstance {
    spec: Spec,
    server: Mutex<Option<Child>>,
    /// Whether dropping the instance deletes its dir (not for the shared one, never dropped).
    owned: bool,
}

/// Where a cluster lives and how its server is started.
#[derive(Clone)]
struct Spec {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    /// The user the server runs as when the tests run as root: `nobody`'s uid and gid.
    owner: Option<(u32, u32)>,
    settings: Vec<(String, String)>,
}

/// What an instance runs with beyond the defaults.
#[derive(Debug, Clone, Default)]
pub struct PostgresOptions {
    /// `-c NAME=VALUE` server settings; the tests' default is `fsync=off` (nothing here survives
    /// a power cut anyway), which a measurement turns back on.
    pub settings: Vec<(String, String)>,
}

static DATABASES: AtomicU32 = AtomicU32::new(0);

impl PostgresInstance {
    /// The password TCP connections need.
    pub const PASSWORD: &'static str = "hagios-test-password";

    /// Starts a cluster this test owns, or `None` after a skip note when PostgreSQL is not
    /// installed — unless `HAGIOS_REQUIRE_REAL=1`, in which case it panics.
    pub fn start(options: PostgresOptions) -> Option<PostgresInstance> {
        let dir = tempfile::Builder::new().prefix("hagios-postgres-").tempdir().expect("temp dir").keep();
        Self::start_in(dir, options, true)
    }

    /// One cluster for every test of this test binary, started by the first that asks; the
    /// server stops when the test process exits (its parent-death signal), and the next run
    /// sweeps what it left in the temp dir.
    pub fn shared() -> Option<&'static PostgresInstance> {
        static SHARED: OnceLock<Option<PostgresInstance>> = OnceLock::new();
        SHARED
            .get_or_init(|| {
                sweep_leftovers();
                let dir = std::env::temp_dir().join(format!("hagios-pg-shared-{}", std::process::id()));
                let _ = fs::remove_dir_all(&dir);
                fs::create_dir_all(&dir).expect("create the shared cluster's dir");
                Self::start_in(dir, PostgresOptions::default(), false)
            })
            .as_ref()
    }

    fn start_in(dir: PathBuf, options: PostgresOptions, owned: bool) -> Option<PostgresInstance> {
        let postgres = process::real_binary("POSTGRES_BIN", DEFAULT_BINARY, "postgresql")?;
        let bin = postgres.parent().expect("the binary's folder").to_path_buf();
        let owner = running_as_root().then(nobody);
        if let Some((uid, gid)) = owner {
            rustix::fs::chown(&dir, Some(uid_of(uid)), Some(gid_of(gid))).expect("give the cluster's dir to nobody");
        }
        let mut settings = vec![("fsync".to_owned(), "off".to_owned())];
        settings.extend(options.settings);
        let spec = Spec { bin, dir, port: process::free_port(), owner, settings };
        spec.init();
        let server = if owned {
            spec.spawn()
        } else {
            // The server's parent-death signal follows the thread that started it: a thread
            // that lives as long as the process.
            let (started, server) = std::sync::mpsc::channel();
            let keeper = spec.clone();
            std::thread::spawn(move || {
                started.send(keeper.spawn()).expect("hand the server over");
                loop {
                    std::thread::park();
                }
            });
            server.recv().expect("the server")
        };
        let instance = PostgresInstance { spec, server: Mutex::new(Some(server)), owned };
        instance.wait_ready();
        Some(instance)
    }

    /// `postgres://hagios@127.0.0.1:PORT/DATABASE` (the password is [`Self::PASSWORD`]).
    pub fn url(&self, database: &str) -> String {
        format!("postgres://{USER}@127.0.0.1:{}/{database}", self.spec.port)
    }

    pub fn port(&self) -> u16 {
        self.spec.port
    }

    /// A fresh, empty database; returns its URL.
    pub fn create_database(&self) -> String {
        let name = format!("hagios_{}_{}", std::process::id(), DATABASES.fetch_add(1, Ordering::Relaxed));
        self.psql(&format!("CREATE DATABASE {name}"));
        self.url(&name)
    }

    /// Runs `sql` in the database `postgres` as the cluster's owner over the unix socket;
    /// panics when it fails.
    pub fn psql(&self, sql: &str) -> String {
        self.psql_in("postgres", sql)
    }

    /// Runs `sql` in `database` as the cluster's owner; panics when it fails.
    pub fn psql_in(&self, database: &str, sql: &str) -> String {
        let output = self.spec.psql(database, sql).output().expect("run psql");
        assert!(output.status.success(), "psql {sql:?}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }

    /// Stops the server (a fast shutdown: sessions are ended), keeping its data.
    pub fn stop(&self) {
        if let Some(mut server) = self.server.lock().expect("server").take() {
            if let Some(pid) = rustix::process::Pid::from_raw(server.id() as i32) {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::INT);
            }
            let _ = server.wait();
        }
    }

    /// Starts the server again on the same data and port.
    pub fn start_again(&self) {
        self.launch();
    }

    /// Stops and starts the server.
    pub fn restart(&self) {
        self.stop();
        self.start_again();
    }

    fn launch(&self) {
        *self.server.lock().expect("server") = Some(self.spec.spawn());
        self.wait_ready();
    }

    fn wait_ready(&self) {
        let ready = wait_until(START_TIMEOUT, || {
            let status =
                self.spec.psql("postgres", "SELECT 1").stdout(Stdio::null()).stderr(Stdio::null()).status().ok()?;
            status.success().then_some(())
        });
        ready.unwrap_or_else(|| panic!("postgres did not get ready within {START_TIMEOUT:?}; log:\n{}", self.log()));
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.spec.dir.join("server.log")).unwrap_or_default()
    }
}

impl Spec {
    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// `psql` over the unix socket, which the cluster trusts, running `sql` in `database`.
    fn psql(&self, database: &str, sql: &str) -> Command {
        let mut command = Command::new(self.bin.join("psql"));
        command.args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h"]).arg(&self.dir);
        command.args(["-p", &self.port.to_string(), "-U", USER, "-d", database, "-c", sql]);
        command
    }

    fn command(&self, binary: &str) -> Command {
        let mut command = Command::new(self.bin.join(binary));
        if let Some((uid, gid)) = self.owner {
            command.uid(uid).gid(gid);
        }
        command
    }

    fn init(&self) {
        let password = self.dir.join("password");
        fs::write(&password, PostgresInstance::PASSWORD).expect("write the password file");
        if let Some((uid, gid)) = self.owner {
            rustix::fs::chown(&password, Some(uid_of(uid)), Some(gid_of(gid))).expect("chown the password file");
        }
        let output = self
            .command("initdb")
            .arg("-D")
            .arg(self.data())
            .args(["-U", USER, "-A", "trust", "--auth-host=scram-sha-256", "--no-locale", "-E", "UTF8", "-N"])
            .arg(format!("--pwfile={}", password.display()))
            .output()
            .expect("run initdb");
        assert!(output.status.success(), "initdb failed: {}", String::from_utf8_lossy(&output.stderr));
    }

    /// Starts the server in the foreground as a child; it gets SIGINT (a fast shutdown) when
    /// the thread that started it ends.
    fn spawn(&self) -> Child {
        let log = fs::OpenOptions::new().create(true).append(true).open(self.dir.join("server.log")).expect("log");
        let mut command = self.command("postgres");
        command.arg("-D").arg(self.data()).args(["-p", &self.port.to_string(), "-k"]).arg(&self.dir);
        command.args(["-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200"]);
        for (name, value) in &self.settings {
            command.arg("-c").arg(format!("{name}={value}"));
        }
        // SAFETY: between fork and exec only one async-signal-safe system call is made.
        unsafe {
            command.pre_exec(|| {
                rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::INT))
                    .map_err(std::io::Error::from)
            });
        }
        command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(log).spawn().expect("start postgres")
    }
}

impl Drop for PostgresInstance {
    fn drop(&mut self) {
        self.stop();
        if self.owned {
            let _ = fs::remove_dir_all(&self.spec.dir);
        }
    }
}

fn running_as_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// `nobody`'s uid and gid from /etc/passwd (65534 on Debian).
fn nobody() -> (u32, u32) {
    let passwd = fs::read_to_string("/etc/passwd").unwrap_or_default();
    let entry = passwd.lines().map(|line| line.split(':').collect::<Vec<_>>()).find(|fields| fields[0] == "nobody");
    let ids = entry.and_then(|fields| Some((fields.get(2)?.parse().ok()?, fields.get(3)?.parse().ok()?)));
    ids.unwrap_or((65534, 65534))
}

fn uid_of(uid: u32) -> rustix::fs::Uid {
    rustix::fs::Uid::from_raw(uid)
}

fn gid_of(gid: u32) -> rustix::fs::Gid {
    rustix::fs::Gid::from_raw(gid)
}

/// Deletes the shared clusters' dirs of test processes that are gone.
fn sweep_leftovers() {
    let Ok(entries) = fs::read_dir(std::env::temp_dir()) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|name| name.strip_prefix("hagios-pg-shared-")) else { continue };
        if pid.parse().is_ok_and(|pid: i32| !process::is_alive(pid)) {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}
