//! A full disk under the spool, for real: a small tmpfs mounted on the spool of a private Nagios.
//! `hagios notify` must fail with one line Nagios writes to its log, leave nothing half-written,
//! and everything spooled before the disk filled up is delivered once space returns.
//! Mounting needs root (CI runs as root); otherwise the test is skipped, or fails under
//! `HAGIOS_REQUIRE_REAL=1`.

mod common;

use common::{count_alerts, Daemon, PATIENCE};
use hagios_spool::Spool;
use hagios_testkit::wait_until;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Room for a handful of records: tmpfs charges a 4 KiB page per file.
const SMALL: &str = "size=64k";
const ROOMY: &str = "size=4m";
/// More records than the small tmpfs can possibly hold.
const MORE_THAN_FITS: usize = 200;

/// A tmpfs mounted at a folder for the life of the value.
struct Tmpfs {
    mount_point: PathBuf,
}

impl Tmpfs {
    /// Mounts one at `mount_point`, or says why it cannot (`None`: the test is skipped).
    fn mount(mount_point: &Path) -> Option<Tmpfs> {
        if !common::root_or_skip("mount a small tmpfs on the spool") {
            return None;
        }
        std::fs::create_dir_all(mount_point).expect("create the mount point");
        mount(&["-t", "tmpfs", "-o", SMALL, "tmpfs"], mount_point);
        Some(Tmpfs { mount_point: mount_point.to_path_buf() })
    }

    /// Gives the filesystem more room, keeping its files.
    fn grow(&self) {
        mount(&["-o", &format!("remount,{ROOMY}")], &self.mount_point);
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("--lazy").arg(&self.mount_point).status();
    }
}

fn mount(options: &[&str], mount_point: &Path) {
    let output = Command::new("mount").args(options).arg(mount_point).output().expect("run mount");
    assert!(output.status.success(), "mount {options:?} failed: {}", String::from_utf8_lossy(&output.stderr));
}

fn fill_service(number: usize) -> String {
    format!("Fill {number:03}")
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir).map_or_else(|_| Vec::new(), |entries| entries.map(|e| e.expect("entry").path()).collect())
}

#[test]
fn a_full_spool_refuses_notifications_with_one_logged_line_and_keeps_what_it_had() {
    let Some(site) = common::start_site("[terminal]\nuser = \"oncall\"", "oncall") else { return };
    let Some(disk) = Tmpfs::mount(&site.spool) else { return };

    let mut spooled = 0;
    let refused = loop {
        assert!(spooled < MORE_THAN_FITS, "{} still has room after {spooled} records", SMALL);
        let output = common::notify_problem(&site.spool, "test", &fill_service(spooled));
        if !output.status.success() {
            break output;
        }
        spooled += 1;
    };
    assert!(spooled > 0, "the spool took no record at all");
    assert_eq!(refused.status.code(), Some(1), "the exit code of a notification that was not spooled");
    let message = String::from_utf8(refused.stderr).expect("utf-8 stderr");
    assert_eq!(message.lines().count(), 1, "one line for Nagios' log: {message:?}");
    assert!(message.contains("not spooled") && message.contains("no space left on the device"), "{message}");

    // Nagios' own notification command fails the same way, and Nagios logs why.
    site.nagios.submit_service_result("db01", "MySQL", 2, "CRITICAL - while the disk is full");
    let logged = site.nagios.wait_for_log(PATIENCE, "no space left on the device");
    let logged = logged.unwrap_or_else(|| panic!("Nagios did not log the failure:\n{}", site.nagios.log()));
    assert!(logged.contains("hagios notify: not spooled"), "{logged}");

    // Nothing half-written: every record in new/ is whole, tmp/ holds no leftovers.
    let spool = Spool::open(&site.spool).expect("open the spool");
    let pending = spool.pending().expect("list the spool");
    assert_eq!(pending.len(), spooled, "exactly the records `hagios notify` reported as spooled");
    for id in &pending {
        spool.read(id).unwrap_or_else(|e| panic!("record {id} damaged by the full disk: {e}"));
    }
    assert_eq!(files_in(&site.spool.join("tmp")), Vec::<PathBuf>::new(), "partial records left behind");
    assert_eq!(files_in(&site.spool.join("bad")), Vec::<PathBuf>::new());

    // Space returns: what was spooled is delivered once, and new notifications are taken again.
    disk.grow();
    let bot = Daemon::start("run", &site.config);
    site.nagios.submit_service_result("web01", "HTTP", 2, "CRITICAL - after the disk was freed");
    bot.wait_for_message("PROBLEM web01!HTTP is CRITICAL");
    for number in 0..spooled {
        bot.wait_for_message(&format!("PROBLEM web01!{} is CRITICAL", fill_service(number)));
    }
    wait_until(PATIENCE, || (common::spooled(&site.spool) == 0).then_some(())).expect("the spool drains");
    let screen = bot.screen();
    for number in 0..spooled {
        let header = format!("web01!{} is CRITICAL", fill_service(number));
        assert_eq!(count_alerts(&screen, &header), 1, "{header} delivered once:\n{screen}");
    }
    assert!(!screen.contains("while the disk is full"), "a refused notification was delivered:\n{screen}");
}
