//! A private Icinga 2 daemon in a temp dir with its REST API on a free loopback port, started
//! for one test and stopped when dropped. Tests drive it through the API (with `curl`).

use crate::icinga_config::{self, ApiUsers};
use crate::nagios::wait_until;
use crate::process;
use serde_json::{json, Value};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

const DEFAULT_BINARY: &str = "/usr/sbin/icinga2";
const START_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_GRACE: Duration = Duration::from_secs(15);
/// The CN of the client certificate [`IcingaInstance::client_certificate`] issues; the fixture's
/// `hagios-cert` API user logs in with it.
pub const CLIENT_CN: &str = "hagios-client";

/// How to set up an instance.
#[derive(Debug, Clone, Default)]
pub struct IcingaOptions {
    /// Icinga 2 object definitions appended to the fixture.
    pub extra_objects: String,
    /// The `command` of the notification command every object notifies `tester` with, as
    /// Icinga 2 config text: an array (the default, `[ "/bin/true" ]`) runs without a shell, a
    /// string through `/bin/sh -c` with each macro value single-quoted by Icinga.
    pub notify_command: Option<String>,
}

/// A running private Icinga 2. Fixture objects mirror [`crate::NagiosInstance`]'s: hosts
/// `web01` (group `web`) and `db01`; services `web01!HTTP`, `web01!Disk`, `web01!HTTP Load`,
/// `db01!MySQL`, `db01!Load`, all `dummy` checks (see [`Self::set_check_state`]), checked once at
/// start-up. Every object notifies user `tester` through a no-op command (or
/// [`IcingaOptions::notify_command`]), so Notification events
/// fire. API users: `root` (all permissions, for the test itself), `hagios` (exactly
/// contrib/icinga2/hagios-permissions.conf), `hagios-cert` (same, by client certificate) and
/// `readonly` (queries only, same password as `hagios`).
/// State (acknowledgements, downtimes, runtime-created hosts) survives [`Self::restart`].
pub struct IcingaInstance {
    root: PathBuf,
    binary: PathBuf,
    port: u16,
    admin_password: String,
    hagios_password: String,
    _dir: TempDir,
}

impl IcingaInstance {
    /// Starts an instance and waits until its API answers and every fixture object was checked.
    ///
    /// Returns `None` after printing a skip note when the binary (`ICINGA_BIN`, default
    /// `/usr/sbin/icinga2`) is missing, unless `HAGIOS_REQUIRE_REAL=1`, in which case it panics.
    /// Panics when the instance cannot be set up or does not come up.
    pub fn start(options: IcingaOptions) -> Option<Self> {
        let binary = process::real_binary("ICINGA_BIN", DEFAULT_BINARY, "icinga2-bin")?;
        let dir = tempfile::Builder::new()
            .prefix("hagios-icinga-")
            .tempdir()
            .unwrap_or_else(|err| panic!("cannot create a temp dir for Icinga: {err}"));
        let instance = Self {
            root: dir.path().to_path_buf(),
            binary,
            port: process::free_port(),
            admin_password: random_secret(),
            hagios_password: random_secret(),
            _dir: dir,
        };
        instance
            .set_up(&options)
            .unwrap_or_else(|err| panic!("cannot set up Icinga in {}: {err}", instance.root.display()));
        instance.launch(true);
        Some(instance)
    }

    /// `https://localhost:PORT`; the server certificate is issued for `localhost`.
    pub fn url(&self) -> String {
        format!("https://localhost:{}", self.port)
    }

    /// The API user with exactly the permissions of contrib/icinga2/hagios-permissions.conf.
    pub fn api_user(&self) -> &str {
        "hagios"
    }

    pub fn api_password(&self) -> &str {
        &self.hagios_password
    }

    /// The CA that signed the API's certificate.
    pub fn ca_file(&self) -> PathBuf {
        self.certs_dir().join("ca.crt")
    }

    pub fn dir(&self) -> &Path {
        &self.root
    }

    pub fn log_file(&self) -> PathBuf {
        self.root.join("var/log/icinga2.log")
    }

    /// Issues (once) a client certificate with CN [`CLIENT_CN`] signed by the instance's CA, and
    /// returns its (certificate, key) PEM files.
    pub fn client_certificate(&self) -> (PathBuf, PathBuf) {
        let (cert, key, csr) = (
            self.root.join("client/client.crt"),
            self.root.join("client/client.key"),
            self.root.join("client/client.csr"),
        );
        if !cert.is_file() {
            fs::create_dir_all(self.root.join("client")).expect("client cert dir");
            self.pki(&["new-cert", "--cn", CLIENT_CN, "--key", path(&key), "--csr", path(&csr)]);
            self.pki(&["sign-csr", "--csr", path(&csr), "--cert", path(&cert)]);
        }
        (cert, key)
    }

    /// The main (umbrella) process id, while it runs.
    pub fn pid(&self) -> Option<i32> {
        let pid = fs::read_to_string(self.pid_file()).ok()?.trim().parse().ok()?;
        (process::is_alive(pid) && self.own_processes().contains(&pid)).then_some(pid)
    }

    pub fn is_running(&self) -> bool {
        self.pid().is_some()
    }

    /// One API call as the all-permissions `root` user: (HTTP status, parsed JSON body or Null).
    pub fn api(&self, method: &str, api_path: &str, body: Option<&Value>) -> (u16, Value) {
        self.call(method, api_path, body, &[])
    }

    /// Objects of one kind (`hosts`, `services`, …) matching a query body (`filter`,
    /// `filter_vars`, `attrs`): a POST that Icinga reads as a GET.
    pub fn query(&self, kind: &str, body: &Value) -> Vec<Value> {
        let (status, answer) =
            self.call("POST", &format!("/v1/objects/{kind}"), Some(body), &["X-HTTP-Method-Override: GET"]);
        assert!(matches!(status, 200 | 404), "query {kind} {body} answered {status}: {answer}");
        answer["results"].as_array().cloned().unwrap_or_default()
    }

    fn call(&self, method: &str, api_path: &str, body: Option<&Value>, headers: &[&str]) -> (u16, Value) {
        let mut curl = Command::new("curl");
        for header in headers {
            curl.args(["-H", header]);
        }
        curl.args(["-sS", "--max-time", "20", "--cacert", path(&self.ca_file())])
            .args(["-u", &format!("root:{}", self.admin_password)])
            .args(["-H", "Accept: application/json", "-X", method, "-w", "\n%{http_code}"])
            .arg(format!("{}{api_path}", self.url()));
        if let Some(body) = body {
            curl.args(["-H", "Content-Type: application/json", "--data-binary", &body.to_string()]);
        }
        let output = curl.stdin(Stdio::null()).output().unwrap_or_else(|err| panic!("cannot run curl: {err}"));
        let text = String::from_utf8_lossy(&output.stdout);
        let (body, status) = text.rsplit_once('\n').unwrap_or(("", &text));
        (status.trim().parse().unwrap_or(0), serde_json::from_str(body).unwrap_or(Value::Null))
    }

    /// Like [`Self::api`], panicking unless the answer is 200.
    pub fn api_ok(&self, method: &str, api_path: &str, body: Option<&Value>) -> Value {
        let (status, answer) = self.api(method, api_path, body);
        assert_eq!(status, 200, "{method} {api_path} answered {status}: {answer}");
        answer
    }

    /// The attributes of one host (`service` None) or service, as the objects API returns them.
    pub fn object_attrs(&self, host: &str, service: Option<&str>) -> Value {
        let (kind, _, filter, vars) = object_filter(host, service);
        let found = self.query(kind, &json!({"filter": filter, "filter_vars": vars}));
        found.first().map_or(Value::Null, |object| object["attrs"].clone())
    }

    /// Polls one object's attributes until `accept` likes them.
    pub fn wait_for_attrs(
        &self,
        host: &str,
        service: Option<&str>,
        timeout: Duration,
        mut accept: impl FnMut(&Value) -> bool,
    ) -> Option<Value> {
        wait_until(timeout, || Some(self.object_attrs(host, service)).filter(|attrs| accept(attrs)))
    }

    /// Feeds a passive check result (services: 0 OK … 3 UNKNOWN; hosts: 0 UP, 1 DOWN).
    pub fn process_check_result(&self, host: &str, service: Option<&str>, exit_status: u8, output: &str) {
        let (_, kind, filter, vars) = object_filter(host, service);
        let body = json!({
            "type": kind, "filter": filter, "filter_vars": vars,
            "exit_status": exit_status, "plugin_output": output,
        });
        let answer = self.api_ok("POST", "/v1/actions/process-check-result", Some(&body));
        assert_eq!(answer["results"][0]["code"], 200, "process-check-result: {answer}");
    }

    /// What the next active (dummy) check of the object reports: a plugin exit code, so for hosts
    /// 0 and 1 mean UP, 2 and 3 DOWN.
    pub fn set_check_state(&self, host: &str, service: Option<&str>, state: u8, text: &str) {
        let (kind, _, filter, vars) = object_filter(host, service);
        let body = json!({
            "filter": filter, "filter_vars": vars,
            "attrs": {"vars.dummy_state": state, "vars.dummy_text": text},
        });
        self.api_ok("POST", &format!("/v1/objects/{kind}"), Some(&body));
    }

    /// Stops the daemon (SIGTERM, SIGKILL after 15 s) and ends leftover processes of this instance.
    pub fn stop(&mut self) {
        if let Some(pid) = self.pid() {
            process::terminate(pid, STOP_GRACE);
        }
        let gone = wait_until(STOP_GRACE, || self.own_processes().is_empty().then_some(()));
        if gone.is_none() {
            self.own_processes().into_iter().for_each(process::kill);
        }
        let _ = fs::remove_file(self.pid_file());
    }

    /// Stops and starts again on the same port with the same state.
    pub fn restart(&mut self) {
        self.stop();
        self.launch(false);
    }

    fn own_processes(&self) -> Vec<i32> {
        let marker = format!("-c {} ", path(&self.config_file()));
        process::find(|line| format!("{line} ").contains(&marker))
    }

    fn config_file(&self) -> PathBuf {
        self.root.join("etc/icinga2.conf")
    }

    fn pid_file(&self) -> PathBuf {
        self.root.join("var/run/icinga2.pid")
    }

    fn certs_dir(&self) -> PathBuf {
        self.root.join("var/lib/certs")
    }

    /// `-D` overrides that keep every path of the daemon and the pki commands inside the temp dir.
    fn path_definitions(&self) -> Vec<String> {
        let (etc, var) = (self.root.join("etc"), self.root.join("var"));
        [
            ("ConfigDir", etc.clone()),
            ("DataDir", var.join("lib")),
            ("LogDir", var.join("log")),
            ("CacheDir", var.join("cache")),
            ("SpoolDir", var.join("spool")),
            ("InitRunDir", var.join("run")),
            ("ZonesDir", etc.join("zones.d")),
        ]
        .into_iter()
        .map(|(name, dir)| format!("-DConfiguration.{name}={}", dir.display()))
        .collect()
    }

    /// Runs the icinga2 binary as the current user (it would drop to `nagios` otherwise).
    fn icinga2(&self, args: &[&str]) -> std::process::Output {
        let (user, group) = current_user_and_group();
        Command::new(&self.binary)
            .args(args)
            .args(self.path_definitions())
            .env("ICINGA2_USER", user)
            .env("ICINGA2_GROUP", group)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|err| panic!("cannot run {}: {err}", self.binary.display()))
    }

    fn pki(&self, args: &[&str]) {
        let mut full = vec!["pki"];
        full.extend_from_slice(args);
        let output = self.icinga2(&full);
        assert!(
            output.status.success(),
            "icinga2 pki {args:?} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn set_up(&self, options: &IcingaOptions) -> std::io::Result<()> {
        for dir in ["etc/zones.d", "var/lib/certs", "var/log", "var/cache", "var/spool", "var/run"] {
            fs::create_dir_all(self.root.join(dir))?;
        }
        let users = ApiUsers {
            admin_password: &self.admin_password,
            hagios_password: &self.hagios_password,
            client_cn: CLIENT_CN,
        };
        let root = self.root.display().to_string();
        fs::write(self.config_file(), icinga_config::main_config(&root, self.port, &users, options))?;
        // The node certificate: CN and SAN `localhost`, so https://localhost verifies against the CA.
        let certs = self.certs_dir();
        self.pki(&["new-ca"]);
        self.pki(&[
            "new-cert",
            "--cn",
            "localhost",
            "--key",
            path(&certs.join("localhost.key")),
            "--csr",
            path(&certs.join("localhost.csr")),
        ]);
        self.pki(&[
            "sign-csr",
            "--csr",
            path(&certs.join("localhost.csr")),
            "--cert",
            path(&certs.join("localhost.crt")),
        ]);
        fs::copy(self.root.join("var/lib/ca/ca.crt"), self.ca_file())?;
        Ok(())
    }

    /// Starts the daemon and waits for the API; on a first start also forces the first check of
    /// every object (the next is a day away), so tests own the state. Restarts keep the state.
    fn launch(&self, first_start: bool) {
        let config = self.config_file();
        let error_log = self.root.join("var/log/error.log");
        let output = self.icinga2(&["daemon", "-d", "-e", path(&error_log), "-c", path(&config)]);
        if !output.status.success() {
            panic!(
                "icinga2 daemon failed ({}):\n{}{}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let deadline = Instant::now() + START_TIMEOUT;
        self.wait_for_start_up(deadline, || {
            (self.api("GET", "/v1/status/IcingaApplication", None).0 == 200).then_some(())
        });
        if !first_start {
            return;
        }
        for kind in ["Host", "Service"] {
            self.api_ok("POST", "/v1/actions/reschedule-check", Some(&json!({"type": kind, "force": true})));
        }
        self.wait_for_start_up(deadline, || {
            ["hosts", "services"]
                .iter()
                .all(|kind| {
                    self.query(kind, &json!({"filter": "!obj.last_check_result", "attrs": ["name"]})).is_empty()
                })
                .then_some(())
        });
    }

    /// Polls `probe` until it yields, panicking with the log tail when Icinga exits or the
    /// deadline passes.
    fn wait_for_start_up(&self, deadline: Instant, mut probe: impl FnMut() -> Option<()>) {
        let ready = wait_until(deadline.saturating_duration_since(Instant::now()), || {
            if self.own_processes().is_empty() {
                panic!("icinga2 exited during start-up; log tail:\n{}", self.log_tail());
            }
            probe()
        });
        if ready.is_none() {
            panic!("icinga2 did not come up within {START_TIMEOUT:?}; log tail:\n{}", self.log_tail());
        }
    }

    fn log_tail(&self) -> String {
        let mut text = String::new();
        for file in [self.log_file(), self.root.join("var/log/error.log")] {
            let log = fs::read_to_string(file).unwrap_or_default();
            let lines: Vec<&str> = log.lines().collect();
            text.push_str(&lines[lines.len().saturating_sub(20)..].join("\n"));
            text.push('\n');
        }
        text
    }
}

impl Drop for IcingaInstance {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The objects API path, the object type and a filter with variables naming one host or service.
fn object_filter(host: &str, service: Option<&str>) -> (&'static str, &'static str, &'static str, Value) {
    match service {
        Some(service) => {
            ("services", "Service", "host.name == h && service.name == s", json!({"h": host, "s": service}))
        }
        None => ("hosts", "Host", "host.name == h", json!({"h": host})),
    }
}

fn path(path: &Path) -> &str {
    path.to_str().expect("temp paths are UTF-8")
}

fn random_secret() -> String {
    let mut buffer = [0u8; 16];
    fs::File::open("/dev/urandom").and_then(|mut file| file.read_exact(&mut buffer)).expect("read /dev/urandom");
    buffer.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn current_user_and_group() -> (String, String) {
    let id = |flag: &str| {
        let output = Command::new("id").arg(flag).output().expect("run id");
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    };
    (id("-un"), id("-gn"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_starts_with_the_fixture_takes_results_and_stops_without_leftovers() {
        let Some(mut icinga) = IcingaInstance::start(IcingaOptions::default()) else { return };
        let pid = icinga.pid().expect("running after start");
        let services = icinga.api_ok("GET", "/v1/objects/services?attrs=name", None);
        let mut names: Vec<&str> =
            services["results"].as_array().expect("results").iter().filter_map(|r| r["name"].as_str()).collect();
        names.sort_unstable();
        assert_eq!(names, ["db01!Load", "db01!MySQL", "web01!Disk", "web01!HTTP", "web01!HTTP Load"]);
        assert_eq!(icinga.object_attrs("web01", Some("HTTP"))["state"], 0.0, "checked OK at start-up");

        icinga.process_check_result("db01", Some("MySQL"), 2, "CRITICAL - gone");
        let attrs = icinga.object_attrs("db01", Some("MySQL"));
        assert_eq!(attrs["state"], 2.0);
        assert_eq!(attrs["last_check_result"]["output"], "CRITICAL - gone");

        icinga.set_check_state("web01", None, 2, "DOWN - unplugged");
        icinga.api_ok(
            "POST",
            "/v1/actions/reschedule-check",
            Some(&json!({"type": "Host", "filter": "host.name == \"web01\"", "force": true})),
        );
        let down = icinga.wait_for_attrs("web01", None, Duration::from_secs(10), |attrs| attrs["state"] == 1.0);
        assert!(down.is_some(), "forced check did not pick up vars.dummy_state");

        icinga.restart();
        assert_eq!(icinga.object_attrs("db01", Some("MySQL"))["state"], 2.0, "state survives a restart");
        icinga.stop();
        assert!(!process::is_alive(pid));
        assert!(icinga.own_processes().is_empty(), "leftover processes after stop");
    }

    #[test]
    fn the_hagios_user_logs_in_by_password_and_a_bad_password_is_refused() {
        let Some(icinga) = IcingaInstance::start(IcingaOptions::default()) else { return };
        let curl = |user: &str| {
            let output = Command::new("curl")
                .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", path(&icinga.ca_file()), "-u", user])
                .arg(format!("{}/v1/objects/hosts", icinga.url()))
                .output()
                .expect("curl");
            String::from_utf8_lossy(&output.stdout).into_owned()
        };
        assert_eq!(curl(&format!("hagios:{}", icinga.api_password())), "200");
        assert_eq!(curl("hagios:wrong"), "401");
    }
}
