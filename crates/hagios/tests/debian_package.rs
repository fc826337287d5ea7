//! The Debian package as an operator meets it (docs/debian.md): built with cargo-deb from this
//! tree, checked by lintian, installed with `dpkg -i` on this machine, installed again over an
//! edited configuration, removed and purged. What it installs — the programs, the units, the
//! hagios user and its groups, folders with their owners and modes, a sample configuration that
//! `config check` accepts —, that with Debian's own Nagios running the example snippet
//! `hagios doctor` finds nothing failed, that Nagios' user can spool into the installed spool and
//! hagios take the record, and what Debian policy says `dpkg -r` keeps and `dpkg -P` removes.
//!
//! It changes the machine, so it needs root and takes turns with other such tests
//! ([`MachineLock`]), and it leaves the machine as it found it. It packages the `hagios` this
//! test run built with a static `hagios-notify` of the same profile; `HAGIOS_DEB=FILE` (relative
//! to the source tree's top) tests a package built before instead (CI: the release package of
//! scripts/build-deb.sh).

use hagios_testkit::{tool, MachineLock};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The source tree: where scripts/build-deb.sh runs, and where a relative `HAGIOS_DEB` starts.
const WORKSPACE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
const UNITS: [&str; 3] = ["hagios-run.service", "hagios-bot.service", "hagios-agent.service"];
const UNIT_DIR: &str = "/usr/lib/systemd/system";
const CONFIG: &str = "/etc/hagios/hagios.toml";
const STATE_DIR: &str = "/var/lib/hagios";
const SPOOL: &str = "/var/spool/hagios";
const SPOOL_NEW: &str = "/var/spool/hagios/new";
/// Debian's nagios4: its main configuration, the folder it reads objects from, its state
/// (status.dat, objects.cache), the folder of its command FIFO, its log and lock file.
const NAGIOS_CFG: &str = "/etc/nagios4/nagios.cfg";
const NAGIOS_SNIPPET: &str = "/etc/nagios4/conf.d/hagios.cfg";
const NAGIOS_STATE_DIR: &str = "/var/lib/nagios4";
const NAGIOS_FIFO_DIR: &str = "/var/lib/nagios4/rw";
const NAGIOS_FIFO: &str = "/var/lib/nagios4/rw/nagios.cmd";
const NAGIOS_STATUS: &str = "/var/lib/nagios4/status.dat";
const NAGIOS_LOG_DIR: &str = "/var/log/nagios4";
const NAGIOS_RUN_DIR: &str = "/run/nagios4";
const NAGIOS_LOCK: &str = "/run/nagios4/nagios4.pid";
/// What an operator adds to the sample configuration; upgrades and removal must keep it.
const OPERATOR_EDIT: &str = "\n# edited by the operator\n";

#[test]
fn package_installs_upgrades_removes_and_purges_as_debian_policy_says() {
    let Some(_turn) = MachineLock::acquire("the Debian package test") else { return };
    for (program, install) in [
        ("dpkg-deb", "apt-get install dpkg"),
        ("lintian", "apt-get install lintian"),
        ("systemd-analyze", "apt-get install systemd"),
        ("runuser", "apt-get install util-linux"),
        ("deluser", "apt-get install adduser"),
        ("nagios4", "apt-get install nagios4-core"),
    ] {
        if tool(program, install).is_none() {
            return;
        }
    }
    assert_eq!(
        package_status(),
        None,
        "hagios is installed on this machine; this test installs and purges it: `dpkg -P hagios` first"
    );
    let out = tempfile::tempdir().expect("temp dir for the package");
    let Some(deb) = package(out.path()) else { return };
    let user_existed = user_id("hagios").is_some();
    if user_existed {
        eprintln!("note: a hagios user exists already; the package leaves its groups alone, and so does this test");
    }
    let _restore = Restore { user_existed };

    check_package_file(&deb);
    dpkg(&["-i", &deb.to_string_lossy()]);
    let _nagios = DebianNagios::start();
    check_installed(!user_existed);
    check_spool_shared_with_nagios();
    check_units();

    fs::write(CONFIG, fs::read_to_string(CONFIG).unwrap() + OPERATOR_EDIT).unwrap();
    fs::write(Path::new(STATE_DIR).join("kept"), "state").unwrap();
    dpkg(&["-i", &deb.to_string_lossy()]);
    check_installed(!user_existed);
    assert!(fs::read_to_string(CONFIG).unwrap().ends_with(OPERATOR_EDIT), "the upgrade replaced the edited {CONFIG}");
    for leftover in [".dpkg-new", ".dpkg-dist", ".dpkg-old"] {
        assert!(!Path::new(&format!("{CONFIG}{leftover}")).exists(), "{CONFIG}{leftover} after the upgrade");
    }

    dpkg(&["-r", "hagios"]);
    check_removed();
    dpkg(&["-P", "hagios"]);
    check_purged();
}

/// The package under test: `HAGIOS_DEB`, or one made now in `out` from the `hagios` this test
/// run built and a static `hagios-notify` of the same profile.
fn package(out: &Path) -> Option<PathBuf> {
    if let Some(deb) = std::env::var_os("HAGIOS_DEB") {
        return Some(Path::new(WORKSPACE).join(deb));
    }
    tool("cargo-deb", "cargo install cargo-deb --locked")?;
    let cargo = |args: &[&str], target_dir: &Path| {
        let output = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
            .args(args)
            .current_dir(WORKSPACE)
            .env("CARGO_TARGET_DIR", target_dir)
            .output()
            .expect("run cargo");
        assert_success(&format!("cargo {}", args.join(" ")), &output);
    };
    let built = Path::new(env!("CARGO_BIN_EXE_hagios")).parent().unwrap();
    let profile = match built.file_name().unwrap().to_str().unwrap() {
        "debug" => "dev",
        other => other,
    };
    // As `cargo build-notify` (.cargo/config.toml) links it, in this run's profile.
    let static_notify = ["rustc", "--profile", profile, "-p", "hagios-notify", "--bin", "hagios-notify"];
    cargo(&[&static_notify[..], &["--", "-C", "target-feature=+crt-static"]].concat(), built.parent().unwrap());
    // cargo-deb takes release binaries from TARGET_DIR/release (it is for releases; a dev
    // profile is deprecated there): give it this run's binaries in such a folder.
    let staged = out.join("release");
    fs::create_dir(&staged).unwrap();
    for program in ["hagios", "hagios-notify"] {
        fs::copy(built.join(program), staged.join(program)).unwrap();
    }
    cargo(&["deb", "-p", "hagios", "--no-build", "--fast", "--output", &format!("{}/", out.display())], out);
    Some(out.join(format!("hagios_{VERSION}_amd64.deb")))
}

/// The file itself: its name and control fields, and lintian's verdict.
fn check_package_file(deb: &Path) {
    assert_eq!(deb.file_name().unwrap().to_string_lossy(), format!("hagios_{VERSION}_amd64.deb"));
    let deb = deb.to_string_lossy();
    let fields =
        run("dpkg-deb", &["--show", "--showformat", "${Package} ${Version} ${Architecture}\n${Depends}", &deb]);
    let (identity, depends) = fields.split_once('\n').unwrap();
    assert_eq!(identity, format!("hagios {VERSION} amd64"));
    assert!(depends.contains("adduser"), "postinst runs adduser: {depends}");
    let changelog = fs::read_to_string(Path::new(WORKSPACE).join("contrib/debian/changelog")).unwrap();
    assert!(
        changelog.starts_with(&format!("hagios ({VERSION}) ")),
        "contrib/debian/changelog names another version first"
    );
    // Every tag lintian still reports is overridden with its reason in contrib/debian/lintian-overrides.
    run("lintian", &["--fail-on", "error,warning", "--display-level", ">=warning", &deb]);
}

/// What `dpkg -i` leaves: programs, units, documentation, the user, folders with their owners
/// and modes, a configuration hagios can read and accepts.
fn check_installed(user_is_new: bool) {
    check_files();
    check_user(user_is_new);
    check_programs();
}

/// Programs, units, documentation and folders with their owners and modes; the configuration
/// is a conffile.
fn check_files() {
    let hagios = user_id("hagios").expect("the hagios user");
    let hagios_group = group_id("hagios").expect("the hagios group");
    // Nagios writes into the spool as nagios; where there is no such group the spool is hagios' own.
    let spool_group = group_id("nagios").unwrap_or(hagios_group);
    for program in ["/usr/bin/hagios", "/usr/bin/hagios-notify"] {
        assert_owner_mode(program, 0, 0, 0o755);
    }
    for unit in UNITS {
        assert_owner_mode(&format!("{UNIT_DIR}/{unit}"), 0, 0, 0o644);
    }
    assert_owner_mode("/etc/hagios", 0, hagios_group, 0o750);
    assert_owner_mode(CONFIG, 0, hagios_group, 0o640);
    assert!(
        run("dpkg-query", &["--showformat", "${Conffiles}", "--show", "hagios"]).contains(CONFIG),
        "{CONFIG} is no conffile"
    );
    assert_owner_mode(STATE_DIR, hagios, hagios_group, 0o750);
    for dir in [SPOOL, "/var/spool/hagios/tmp", SPOOL_NEW, "/var/spool/hagios/bad"] {
        assert_owner_mode(dir, hagios, spool_group, 0o2770);
    }
    for doc in ["copyright", "changelog.gz", "README.md", "debian.md", "examples/icinga2/api-users.conf"] {
        assert!(Path::new("/usr/share/doc/hagios").join(doc).is_file(), "/usr/share/doc/hagios/{doc} missing");
    }
    let nagios_snippet = fs::read_to_string("/usr/share/doc/hagios/examples/nagios/hagios.cfg").unwrap();
    assert!(
        nagios_snippet.contains("command_line    /usr/bin/hagios-notify --spool /var/spool/hagios "),
        "{nagios_snippet}"
    );
}

/// A system user with its own group, home and no shell, in Nagios' groups. A user made before is
/// the administrator's: the package takes it as it is.
fn check_user(user_is_new: bool) {
    if user_is_new {
        let (hagios, hagios_group) = (user_id("hagios").unwrap(), group_id("hagios").unwrap());
        let passwd = run("getent", &["passwd", "hagios"]);
        let fields: Vec<&str> = passwd.trim().split(':').collect();
        assert!(hagios < 1000, "hagios is no system user: {passwd}");
        assert_eq!(fields[3].parse::<u32>().unwrap(), hagios_group, "{passwd}");
        assert_eq!(&fields[5..], [STATE_DIR, "/usr/sbin/nologin"], "{passwd}");
        let groups = run("id", &["-nG", "hagios"]);
        for group in ["nagios", "www-data"].into_iter().filter(|group| group_id(group).is_some()) {
            assert!(groups.split_whitespace().any(|g| g == group), "hagios is not in {group}: {groups}");
        }
        // Debian's nagios4 keeps status.dat and objects.cache in /var/lib/nagios4 (nagios:www-data
        // 0750) and the command FIFO in its rw/ (2710): with these groups hagios gets to both.
        if Path::new(NAGIOS_FIFO_DIR).is_dir() {
            let access = Command::new("runuser")
                .args(["-u", "hagios", "--", "test", "-r", NAGIOS_STATE_DIR, "-a", "-x", NAGIOS_FIFO_DIR])
                .status()
                .expect("run runuser");
            assert!(access.success(), "hagios cannot read {NAGIOS_STATE_DIR} or enter {NAGIOS_FIFO_DIR}: {groups}");
        }
    }
}

/// The programs run: the version, their manual pages, `hagios-notify` static, and the hagios
/// user's `config check` accepts the sample configuration.
fn check_programs() {
    assert_eq!(run("/usr/bin/hagios", &["--version"]).trim(), format!("hagios {VERSION}"));
    let manual = run("zcat", &["/usr/share/man/man1/hagios.1.gz"]);
    for command in subcommands(&run("/usr/bin/hagios", &["--help"])) {
        assert!(manual.contains(&format!(".B hagios {command}")), "hagios(1) does not describe `hagios {command}`");
    }
    assert!(run("zcat", &["/usr/share/man/man1/hagios-notify.1.gz"]).contains(".B hagios-notify"));
    assert!(!has_interpreter(&fs::read("/usr/bin/hagios-notify").unwrap()), "hagios-notify is not linked statically");
    let check = run("runuser", &["-u", "hagios", "--", "/usr/bin/hagios", "config", "check", "--config", CONFIG]);
    assert!(check.contains(&format!("{CONFIG}: OK")), "{check}");
    // Against Debian's running Nagios with the example snippet, as root for the hagios user:
    // the contact and commands, the FIFO, status.dat, objects.cache, the spool both ways.
    let doctor = run("/usr/bin/hagios", &["doctor", "--config", CONFIG]);
    assert!(doctor.contains("as user hagios") && doctor.contains("\n0 failed"), "{doctor}");
}

/// Nagios' user runs `hagios-notify` with the spool's default path, and hagios reads and
/// removes the record it wrote.
fn check_spool_shared_with_nagios() {
    let nagios = if user_id("nagios").is_some() { "nagios" } else { "hagios" };
    for host in ["web01", "db01"] {
        let args =
            ["-u", nagios, "--", "/usr/bin/hagios-notify", "--type", "PROBLEM", "--host", host, "--service", "Disk"];
        run("runuser", &[&args[..], &["--state", "CRITICAL", "--output", "DISK CRITICAL - /var is 98% full"]].concat());
    }
    let records = spool_records();
    assert_eq!(records.len(), 2, "{records:?}");
    let first = records[0].to_string_lossy();
    assert!(run("runuser", &["-u", "hagios", "--", "cat", &first]).contains("\"web01\""));
    run("runuser", &["-u", "hagios", "--", "rm", &first]);
}

/// `systemd-analyze verify` on the installed units: no complaint about them.
fn check_units() {
    let units: Vec<String> = UNITS.iter().map(|unit| format!("{UNIT_DIR}/{unit}")).collect();
    let output = Command::new("systemd-analyze")
        .arg("verify")
        .args(&units)
        .env("SYSTEMD_LOG_LEVEL", "notice")
        .output()
        .expect("run systemd-analyze");
    assert_success("systemd-analyze verify", &output);
    let complaints = String::from_utf8_lossy(&output.stderr);
    let about_ours: Vec<&str> = complaints.lines().filter(|line| line.contains("hagios")).collect();
    assert!(about_ours.is_empty(), "systemd-analyze verify:\n{complaints}");
}

/// After `dpkg -r`: the programs and units are gone; the configuration (conffiles), the state,
/// the spool with its undelivered record and the user stay.
fn check_removed() {
    assert_eq!(package_status().as_deref(), Some("rc"), "after dpkg -r");
    for gone in ["/usr/bin/hagios", "/usr/bin/hagios-notify"] {
        assert!(!Path::new(gone).exists(), "{gone} after dpkg -r");
    }
    for unit in UNITS {
        assert!(!Path::new(UNIT_DIR).join(unit).exists(), "{unit} after dpkg -r");
    }
    assert!(fs::read_to_string(CONFIG).unwrap().ends_with(OPERATOR_EDIT), "{CONFIG} changed by dpkg -r");
    assert!(Path::new(STATE_DIR).join("kept").is_file(), "dpkg -r removed the state");
    assert_eq!(spool_records().len(), 1, "dpkg -r touched the spool");
    assert!(user_id("hagios").is_some(), "dpkg -r removed the hagios user");
}

/// After `dpkg -P`: configuration, state and spool are gone, and so is every trace of the units
/// in systemd's configuration; the hagios user stays, as Debian keeps system users.
fn check_purged() {
    assert_eq!(package_status(), None, "after dpkg -P");
    for gone in ["/etc/hagios", STATE_DIR, SPOOL] {
        assert!(!Path::new(gone).exists(), "{gone} after dpkg -P");
    }
    for unit in UNITS {
        let link = Path::new("/etc/systemd/system").join(unit);
        assert!(link.symlink_metadata().is_err(), "{} after dpkg -P", link.display());
    }
    assert!(user_id("hagios").is_some(), "dpkg -P removed the hagios user");
}

/// Debian's own Nagios (nagios4-core) run as its systemd unit runs it, with its stock
/// nagios.cfg and the package's example snippet in conf.d. Stopping it removes what it left
/// that was not there before: the snippet, its state, log, lock file and FIFO.
struct DebianNagios {
    nagios: Child,
    before: Vec<PathBuf>,
    made_run_dir: bool,
}

impl DebianNagios {
    fn start() -> DebianNagios {
        if let Ok(pid) = fs::read_to_string(NAGIOS_LOCK) {
            let running = Path::new("/proc").join(pid.trim()).exists();
            assert!(
                !running,
                "Debian's Nagios runs on this machine (pid {}): `systemctl stop nagios4` first",
                pid.trim()
            );
        }
        assert!(!Path::new(NAGIOS_SNIPPET).exists(), "{NAGIOS_SNIPPET} exists; this test puts the package's there");
        let made_run_dir = !Path::new(NAGIOS_RUN_DIR).exists();
        if made_run_dir {
            run("install", &["-d", "-o", "nagios", "-g", "nagios", "-m", "0750", NAGIOS_RUN_DIR]);
        }
        let before = nagios_files();
        fs::copy("/usr/share/doc/hagios/examples/nagios/hagios.cfg", NAGIOS_SNIPPET).unwrap();
        // As nagios4.service: a FIFO left by an earlier run goes first.
        let _ = fs::remove_file(NAGIOS_FIFO);
        let nagios = Command::new("nagios4").arg(NAGIOS_CFG).stdout(Stdio::null()).spawn().expect("start nagios4");
        let started = DebianNagios { nagios, before, made_run_dir };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !(Path::new(NAGIOS_FIFO).exists() && Path::new(NAGIOS_STATUS).exists()) {
            let log = fs::read_to_string(Path::new(NAGIOS_LOG_DIR).join("nagios.log")).unwrap_or_default();
            assert!(Instant::now() < deadline, "Debian's Nagios made no {NAGIOS_FIFO} and {NAGIOS_STATUS}:\n{log}");
            thread::sleep(Duration::from_millis(200));
        }
        started
    }
}

impl Drop for DebianNagios {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.nagios.id().to_string()).status();
        let _ = self.nagios.wait();
        for left in nagios_files().into_iter().filter(|file| !self.before.contains(file)) {
            let _ = fs::remove_file(left);
        }
        if self.made_run_dir {
            let _ = fs::remove_dir(NAGIOS_RUN_DIR);
        }
    }
}

/// The files in the folders Debian's Nagios writes to, and the snippet.
fn nagios_files() -> Vec<PathBuf> {
    let folders = [NAGIOS_STATE_DIR, NAGIOS_FIFO_DIR, NAGIOS_LOG_DIR, NAGIOS_RUN_DIR, "/etc/nagios4/conf.d"];
    let entries = folders.into_iter().filter_map(|folder| fs::read_dir(folder).ok()).flatten();
    entries.filter_map(Result::ok).map(|entry| entry.path()).filter(|path| !path.is_dir()).collect()
}

/// Purges the package and removes the user it created, whatever happened in the test.
struct Restore {
    user_existed: bool,
}

impl Drop for Restore {
    fn drop(&mut self) {
        if package_status().is_some() {
            let _ = Command::new("dpkg").args(["-P", "hagios"]).output();
        }
        if !self.user_existed && user_id("hagios").is_some() {
            // Also takes hagios out of the nagios and www-data groups.
            let _ = Command::new("deluser").args(["--system", "--quiet", "hagios"]).output();
        }
        if !self.user_existed && group_id("hagios").is_some() {
            let _ = Command::new("delgroup").args(["--system", "--quiet", "hagios"]).output();
        }
    }
}

/// The commands `hagios --help` lists, but `help`.
fn subcommands(help: &str) -> Vec<String> {
    let listed = help.split_once("Commands:\n").expect("a command list").1;
    let lines = listed.lines().take_while(|line| line.starts_with("  "));
    lines.filter_map(|line| line.split_whitespace().next()).filter(|&name| name != "help").map(str::to_owned).collect()
}

/// dpkg's two-letter state of the package (`ii`, `rc` …), `None` when dpkg knows nothing of it.
fn package_status() -> Option<String> {
    let output = Command::new("dpkg-query").args(["--showformat", "${db:Status-Abbrev}", "--show", "hagios"]).output();
    let status = String::from_utf8_lossy(&output.ok()?.stdout).trim().to_owned();
    (!status.is_empty() && !status.starts_with('u') && !status.starts_with('p')).then_some(status)
}

fn spool_records() -> Vec<PathBuf> {
    let mut records: Vec<PathBuf> = fs::read_dir(SPOOL_NEW).unwrap().map(|entry| entry.unwrap().path()).collect();
    records.sort();
    records
}

fn user_id(name: &str) -> Option<u32> {
    let output = Command::new("id").args(["-u", name]).output().ok()?;
    String::from_utf8_lossy(&output.stdout).trim().parse().ok()
}

fn group_id(name: &str) -> Option<u32> {
    let output = Command::new("getent").args(["group", name]).output().ok()?;
    String::from_utf8_lossy(&output.stdout).split(':').nth(2)?.parse().ok()
}

fn assert_owner_mode(path: &str, uid: u32, gid: u32, mode: u32) {
    let meta = fs::metadata(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert_eq!(
        (meta.uid(), meta.gid(), meta.mode() & 0o7777),
        (uid, gid, mode),
        "{path}: owner, group, mode (expected mode {mode:o}, found {:o})",
        meta.mode() & 0o7777
    );
}

/// Whether a 64-bit ELF program asks for a program interpreter (the dynamic loader), which a
/// statically linked one does not: a `PT_INTERP` entry among its program headers.
fn has_interpreter(elf: &[u8]) -> bool {
    const PT_INTERP: u32 = 3;
    let number = |at: usize, width: usize| elf[at..at + width].iter().rev().fold(0usize, |n, &b| n << 8 | b as usize);
    let (headers, size, count) = (number(0x20, 8), number(0x36, 2), number(0x38, 2));
    (0..count).any(|i| number(headers + i * size, 4) == PT_INTERP as usize)
}

/// Runs dpkg, waiting while another installation on this machine holds dpkg's lock; it must
/// succeed without a warning from dpkg or the maintainer scripts.
fn dpkg(args: &[&str]) {
    let what = format!("dpkg {}", args.join(" "));
    let deadline = Instant::now() + Duration::from_secs(300);
    let output = loop {
        let output = Command::new("dpkg").args(args).output().expect("run dpkg");
        let locked = String::from_utf8_lossy(&output.stderr).contains("lock");
        if output.status.success() || !locked || Instant::now() > deadline {
            break output;
        }
        thread::sleep(Duration::from_secs(2));
    };
    assert_success(&what, &output);
    let said = [&output.stdout[..], &output.stderr[..]].concat();
    let said = String::from_utf8_lossy(&said);
    assert!(!said.to_lowercase().contains("warning"), "{what}:\n{said}");
}

/// Runs `program` and returns its stdout; panics with everything it said unless it succeeds.
fn run(program: &str, args: &[&str]) -> String {
    let output = Command::new(program).args(args).output().unwrap_or_else(|e| panic!("run {program}: {e}"));
    assert_success(&format!("{program} {}", args.join(" ")), &output);
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn assert_success(what: &str, output: &Output) {
    assert!(
        output.status.success(),
        "{what}: {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
