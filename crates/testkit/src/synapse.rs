//! A private Synapse (the reference Matrix homeserver) for one test: installed from PyPI into a
//! cached venv on first use, started on a free loopback port with SQLite and no federation, and
//! users registered through the shared-secret admin API. [`MatrixUser`] plays a person in chat.

use crate::nagios::wait_until;
use crate::process;
use crate::process::{free_port, http, http_bytes};
use rustix::fs::{flock, FlockOperation};
use serde_json::{json, Value};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// The Synapse release the tests run against; pinned so that a new release cannot change them.
pub const SYNAPSE_REQUIREMENT: &str = "matrix-synapse==1.163.2";
/// The server name in every user and room id the fixture makes (`@bot:hagios.test`).
pub const SERVER_NAME: &str = "hagios.test";
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// The file in the venv naming the release installed there.
const MARKER: &str = "hagios-synapse-release";
const REGISTRATION_SECRET: &str = "hagios-test-registration-secret";
/// Registers a user with the shared-secret admin API (HMAC-SHA1 over nonce, name, password and
/// admin flag) and prints the answer, which carries the new user's access token.
const REGISTER_SCRIPT: &str = r#"
import hashlib, hmac, json, sys, urllib.request
url, secret, user, password = sys.argv[1:5]
nonce = json.load(urllib.request.urlopen(url + "/_synapse/admin/v1/register"))["nonce"]
mac = hmac.new(secret.encode(), b"\x00".join(p.encode() for p in (nonce, user, password, "notadmin")), hashlib.sha1)
body = {"nonce": nonce, "username": user, "password": password, "admin": False, "mac": mac.hexdigest()}
request = urllib.request.Request(url + "/_synapse/admin/v1/register", json.dumps(body).encode(), {"Content-Type": "application/json"})
print(urllib.request.urlopen(request).read().decode())
"#;

/// How to set up a homeserver.
#[derive(Debug, Clone, Default)]
pub struct SynapseOptions {
    /// `rc_message` as (messages per second, burst): every user's sending limit. `None` relaxes it
    /// so that only tests about rate limiting meet `M_LIMIT_EXCEEDED`.
    pub message_rate: Option<(f64, u32)>,
}

/// A running private Synapse; killed and deleted when dropped.
pub struct SynapseInstance {
    child: Child,
    port: u16,
    python: PathBuf,
    dir: TempDir,
    /// How long the venv install (0 when cached) and the start took, for the docs' figures.
    pub install_time: Duration,
    pub start_time: Duration,
}

impl SynapseInstance {
    /// Installs Synapse when needed, starts it and waits until it answers.
    ///
    /// Returns `None` after printing a skip note when `python3 -m venv` or the install from PyPI
    /// does not work here, unless `HAGIOS_REQUIRE_REAL=1`, in which case it panics. Panics when
    /// an installed Synapse does not come up.
    pub fn start(options: SynapseOptions) -> Option<Self> {
        let installing = Instant::now();
        let python = match installed_python() {
            Ok(python) => python,
            Err(reason) if process::real_required() => panic!("HAGIOS_REQUIRE_REAL=1 but Synapse is missing: {reason}"),
            Err(reason) => {
                eprintln!("skipping: Synapse not available ({reason})");
                return None;
            }
        };
        let install_time = installing.elapsed();
        let dir = tempfile::Builder::new()
            .prefix("hagios-synapse-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a temp dir for Synapse: {e}"));
        let port = free_port();
        fs::write(dir.path().join("homeserver.yaml"), homeserver_yaml(dir.path(), port, &options))
            .expect("write homeserver.yaml");
        fs::write(dir.path().join("signing.key"), "ed25519 a_test 8VfOcrWYCQoFXY4E4JgLe3xnBRC0pBEIyY3Da2D9Ivc\n")
            .expect("write the signing key");
        let starting = Instant::now();
        let log = fs::File::create(dir.path().join("synapse.log")).expect("create synapse.log");
        let child = Command::new(&python)
            .args(["-m", "synapse.app.homeserver", "-c"])
            .arg(dir.path().join("homeserver.yaml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start Synapse with {}: {e}", python.display()));
        let mut instance = Self { child, port, python, dir, install_time, start_time: Duration::ZERO };
        let ready = wait_until(START_TIMEOUT, || {
            let exited = instance.child.try_wait().ok().flatten().is_some();
            assert!(!exited, "Synapse exited at start-up; its log:\n{}", instance.log());
            http(port, "GET", "/health", None, None).ok().filter(|(status, _)| *status == 200)
        });
        assert!(ready.is_some(), "Synapse did not answer within {START_TIMEOUT:?}; its log:\n{}", instance.log());
        instance.start_time = starting.elapsed();
        eprintln!("synapse: install/check {:?}, start {:?}", instance.install_time, instance.start_time);
        Some(instance)
    }

    /// The client-server API base, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("synapse.log")).unwrap_or_default()
    }

    /// Registers `name` (a localpart) with `password` and returns the user, logged in.
    pub fn register(&self, name: &str, password: &str) -> MatrixUser {
        let output = Command::new(&self.python)
            .args(["-c", REGISTER_SCRIPT, &self.url(), REGISTRATION_SECRET, name, password])
            .output()
            .expect("run the registration script");
        assert!(output.status.success(), "registering {name} failed: {}", String::from_utf8_lossy(&output.stderr));
        let answer: Value = serde_json::from_slice(&output.stdout).expect("registration answer");
        MatrixUser {
            port: self.port,
            user_id: answer["user_id"].as_str().expect("user_id").to_owned(),
            token: answer["access_token"].as_str().expect("access_token").to_owned(),
        }
    }
}

impl Drop for SynapseInstance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A registered user talking to the homeserver the way a chat client would.
#[derive(Debug, Clone)]
pub struct MatrixUser {
    port: u16,
    pub user_id: String,
    pub token: String,
}

impl MatrixUser {
    /// Calls the client-server API (`path` under `/_matrix/client/v3`); panics on an error answer.
    pub fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, answer) = self.try_call(method, path, body);
        assert!(status == 200, "{method} {path} as {}: HTTP {status} {answer}", self.user_id);
        answer
    }

    /// Like [`call`](Self::call), returning the HTTP status with the answer. A rate limit (tests
    /// about it tighten it for everyone) is waited out, as a client does.
    pub fn try_call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let path = format!("/_matrix/client/v3{path}");
        loop {
            let (status, answer) = http(self.port, method, &path, Some(&self.token), body.as_ref())
                .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
            match answer["retry_after_ms"].as_u64() {
                Some(wait) if status == 429 => std::thread::sleep(Duration::from_millis(wait)),
                _ => return (status, answer),
            }
        }
    }

    /// Creates a room (`extra` adds to the request, e.g. an encryption state event) with
    /// `invite`d users, and returns its id.
    pub fn create_room(&self, invite: &[&str], extra: Value) -> String {
        let mut body = json!({ "invite": invite, "preset": "private_chat" });
        body.as_object_mut().expect("object").extend(extra.as_object().cloned().unwrap_or_default());
        self.call("POST", "/createRoom", Some(body))["room_id"].as_str().expect("room_id").to_owned()
    }

    pub fn join(&self, room: &str) {
        self.call("POST", &format!("/join/{}", encode(room)), Some(json!({})));
    }

    /// Sends an `m.room.message` with `content` and returns its event id.
    pub fn send(&self, room: &str, content: Value) -> String {
        self.send_event(room, "m.room.message", content)
    }

    /// Sends a text message, in the thread under `thread` when given.
    pub fn send_text(&self, room: &str, thread: Option<&str>, body: &str) -> String {
        let mut content = json!({ "msgtype": "m.text", "body": body });
        if let Some(root) = thread {
            content["m.relates_to"] = json!({ "rel_type": "m.thread", "event_id": root, "is_falling_back": true, "m.in_reply_to": { "event_id": root } });
        }
        self.send(room, content)
    }

    /// Reacts to `event` with `key` (an emoji).
    pub fn react(&self, room: &str, event: &str, key: &str) -> String {
        let content = json!({ "m.relates_to": { "rel_type": "m.annotation", "event_id": event, "key": key } });
        self.send_event(room, "m.reaction", content)
    }

    fn send_event(&self, room: &str, kind: &str, content: Value) -> String {
        let txn = format!("t{}", unique());
        let path = format!("/rooms/{}/send/{kind}/{txn}", encode(room));
        self.call("PUT", &path, Some(content))["event_id"].as_str().expect("event_id").to_owned()
    }

    /// The file behind `mxc://SERVER/ID`, fetched from the homeserver's media repository as a
    /// client does (authenticated media); panics unless it is served.
    pub fn download(&self, mxc: &str) -> Vec<u8> {
        let (server, media) =
            mxc.strip_prefix("mxc://").and_then(|rest| rest.split_once('/')).expect("mxc://server/id");
        let path = format!("/_matrix/client/v1/media/download/{server}/{media}");
        let (status, bytes) =
            http_bytes(self.port, "GET", &path, Some(&self.token), None).unwrap_or_else(|e| panic!("GET {path}: {e}"));
        assert_eq!(status, 200, "GET {path}: {}", String::from_utf8_lossy(&bytes));
        bytes
    }

    /// The room's `m.room.message` events, oldest first (the newest 1000).
    pub fn messages(&self, room: &str) -> Vec<Value> {
        let filter = encode(r#"{"types":["m.room.message"]}"#);
        let answer =
            self.call("GET", &format!("/rooms/{}/messages?dir=b&limit=1000&filter={filter}", encode(room)), None);
        let mut events = answer["chunk"].as_array().cloned().unwrap_or_default();
        events.reverse();
        events
    }

    /// Waits until the room's messages satisfy `done`, and returns them; panics after `timeout`.
    pub fn wait_for_messages(
        &self,
        room: &str,
        what: &str,
        timeout: Duration,
        done: impl Fn(&[Value]) -> bool,
    ) -> Vec<Value> {
        wait_until(timeout, || Some(self.messages(room)).filter(|messages| done(messages)))
            .unwrap_or_else(|| panic!("no {what} within {timeout:?}; the room has:\n{:#?}", self.messages(room)))
    }
}

/// The venv's python with Synapse installed, installing it on first use. The venv lives in
/// `HAGIOS_SYNAPSE_VENV`, else `~/.cache/hagios-synapse/venv`.
fn installed_python() -> Result<PathBuf, String> {
    let venv = match std::env::var_os("HAGIOS_SYNAPSE_VENV") {
        Some(venv) => PathBuf::from(venv),
        None => {
            let home = std::env::var_os("HOME").ok_or("HOME is not set")?;
            Path::new(&home).join(".cache/hagios-synapse/venv")
        }
    };
    install(&venv)
}

/// Makes `venv` a venv with [`SYNAPSE_REQUIREMENT`] installed and returns its python. The venv
/// holds a marker naming the release it has (cheaper to read than importing Synapse).
///
/// Safe when many tests start at once, in threads of one test binary and in several binaries:
/// the builder holds an exclusive `flock` on `<venv>.lock` beside the venv (locks taken through
/// separate opens exclude each other within a process too), looks for the marker again once it
/// has the lock (someone else may just have finished), builds in a folder no one else uses and
/// renames the finished venv into place, so a venv with the marker is always complete.
fn install(venv: &Path) -> Result<PathBuf, String> {
    let python = venv.join("bin/python");
    if has_release(venv) {
        return Ok(python);
    }
    let parent = venv.parent().ok_or("the venv path has no parent directory")?;
    let name = venv.file_name().ok_or("the venv path has no folder name")?.to_string_lossy();
    fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    let lock_path = parent.join(format!("{name}.lock"));
    let lock = fs::File::create(&lock_path).map_err(|e| format!("cannot create {}: {e}", lock_path.display()))?;
    flock(&lock, FlockOperation::LockExclusive).map_err(|e| format!("cannot lock {}: {e}", lock_path.display()))?;
    if has_release(venv) {
        return Ok(python);
    }
    // Holding the lock, nobody else builds: partial folders are what a killed build left.
    let partial_prefix = format!("{name}.partial-");
    for entry in fs::read_dir(parent).map_err(|e| format!("cannot list {}: {e}", parent.display()))?.flatten() {
        if entry.file_name().to_string_lossy().starts_with(&partial_prefix) {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
    let building = parent.join(format!("{partial_prefix}{}", unique()));
    eprintln!("synapse: installing {SYNAPSE_REQUIREMENT} from PyPI into {} (once)", venv.display());
    let built = build(&building);
    if let Err(reason) = built {
        let _ = fs::remove_dir_all(&building);
        return Err(reason);
    }
    // Another release (or a broken venv) makes way; a venv's python works from its new place
    // when started as `python -m …`.
    if venv.exists() {
        fs::remove_dir_all(venv).map_err(|e| format!("cannot remove the old {}: {e}", venv.display()))?;
    }
    fs::rename(&building, venv).map_err(|e| format!("cannot move {} into place: {e}", building.display()))?;
    has_release(venv).then_some(python).ok_or_else(|| format!("{} holds no {SYNAPSE_REQUIREMENT}", venv.display()))
}

fn has_release(venv: &Path) -> bool {
    fs::read_to_string(venv.join(MARKER)).is_ok_and(|text| text == SYNAPSE_REQUIREMENT)
}

/// A fresh venv with Synapse in `dir`, marked once it imports.
fn build(dir: &Path) -> Result<(), String> {
    run(Command::new("python3").args(["-m", "venv"]).arg(dir), "python3 -m venv (install python3-venv)")?;
    run(
        Command::new(dir.join("bin/pip")).args([
            "install",
            "--quiet",
            "--disable-pip-version-check",
            SYNAPSE_REQUIREMENT,
        ]),
        "pip install matrix-synapse",
    )?;
    run(Command::new(dir.join("bin/python")).args(["-c", "import synapse.app.homeserver"]), "import synapse")?;
    fs::write(dir.join(MARKER), SYNAPSE_REQUIREMENT).map_err(|e| format!("cannot mark the venv: {e}"))
}

fn run(command: &mut Command, what: &str) -> Result<(), String> {
    let output = command.output().map_err(|e| format!("{what}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed: {}", String::from_utf8_lossy(&output.stderr).trim()))
    }
}

/// Loopback only, SQLite, no federation (no key servers, no remote domains), registration by the
/// shared secret only; message limits relaxed unless a test asks for them.
fn homeserver_yaml(dir: &Path, port: u16, options: &SynapseOptions) -> String {
    let (per_second, burst) = options.message_rate.unwrap_or((1000.0, 1000));
    let dir = dir.display();
    format!(
        r#"server_name: "{SERVER_NAME}"
pid_file: "{dir}/homeserver.pid"
listeners:
  - port: {port}
    bind_addresses: ["127.0.0.1"]
    type: http
    tls: false
    x_forwarded: false
    resources:
      - names: [client]
        compress: false
database:
  name: sqlite3
  args:
    database: "{dir}/homeserver.db"
media_store_path: "{dir}/media"
signing_key_path: "{dir}/signing.key"
registration_shared_secret: "{REGISTRATION_SECRET}"
macaroon_secret_key: "hagios-test-macaroon"
form_secret: "hagios-test-form"
report_stats: false
trusted_key_servers: []
suppress_key_server_warning: true
federation_domain_whitelist: []
presence:
  enabled: false
url_preview_enabled: false
rc_message:
  per_second: {per_second}
  burst_count: {burst}
rc_login:
  address: {{per_second: 1000, burst_count: 1000}}
  account: {{per_second: 1000, burst_count: 1000}}
rc_joins:
  local: {{per_second: 1000, burst_count: 1000}}
rc_invites:
  per_room: {{per_second: 1000, burst_count: 1000}}
  per_user: {{per_second: 1000, burst_count: 1000}}
"#
    )
}

/// Percent-encodes a path segment or query value (room ids, aliases, JSON filters).
pub fn encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (byte as char).to_string(),
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

/// Distinct within the process: transaction ids of the test users.
fn unique() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{}-{}-{n}", std::process::id(), hagios_domain::unix_now())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Barrier};

    /// Set in the second process of the concurrency test: install into this venv and stop.
    const SECOND_PROCESS_VENV: &str = "HAGIOS_TEST_SYNAPSE_INSTALL_INTO";

    /// The first `./scripts/test.sh` on a fresh machine starts every Matrix test at once, in
    /// threads of one test binary and in several binaries, all installing Synapse into the same
    /// empty cache. Four threads and a second process (this test binary run again) do that here
    /// and must end with one complete venv, each getting its python, and no partial folders left.
    ///
    /// Costs one real install from PyPI, whatever the cache holds: about 20–40 s on 2 cores and
    /// ~240 MB downloaded into a temp folder that is deleted afterwards.
    #[test]
    fn installs_started_at_once_into_an_empty_folder_leave_one_good_venv() {
        if let Some(venv) = std::env::var_os(SECOND_PROCESS_VENV) {
            install(Path::new(&venv)).unwrap_or_else(|reason| panic!("install in the second process: {reason}"));
            return;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let venv = dir.path().join("venv");
        let second_process = Command::new(std::env::current_exe().expect("this test binary"))
            .args(["--exact", "synapse::tests::installs_started_at_once_into_an_empty_folder_leave_one_good_venv"])
            .env(SECOND_PROCESS_VENV, &venv)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the second process");
        let start = Arc::new(Barrier::new(4));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (venv, start) = (venv.clone(), Arc::clone(&start));
                std::thread::spawn(move || {
                    start.wait();
                    install(&venv)
                })
            })
            .collect();
        let mut results: Vec<_> = threads.into_iter().map(|thread| thread.join().expect("install thread")).collect();
        let second = second_process.wait_with_output().expect("wait for the second process");
        results.push(if second.status.success() {
            Ok(venv.join("bin/python"))
        } else {
            Err(format!("second process: {}", String::from_utf8_lossy(&second.stderr)))
        });

        if results.iter().all(Result::is_err) && !process::real_required() {
            eprintln!("skipping: Synapse cannot be installed here ({:?})", results[0]);
            return;
        }
        for result in &results {
            assert_eq!(result.as_ref(), Ok(&venv.join("bin/python")), "every install gets the one venv");
        }
        assert!(has_release(&venv), "the venv lacks its marker");
        run(Command::new(venv.join("bin/python")).args(["-c", "import synapse.app.homeserver"]), "import synapse")
            .expect("the venv's Synapse imports");
        let mut left: Vec<_> =
            fs::read_dir(dir.path()).expect("list").map(|entry| entry.expect("entry").file_name()).collect();
        left.sort();
        assert_eq!(left, ["venv", "venv.lock"], "only the venv and its lock file remain");
    }
}
