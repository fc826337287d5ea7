//! Tests that change the machine itself — install a Debian package, create a system user, put
//! one into Nagios' groups — take turns: one at a time on this machine, whichever checkout or
//! test process runs them, and only as root.

use crate::process::real_required;
use rustix::fs::{flock, FlockOperation};
use std::fs::{File, OpenOptions};
use std::path::PathBuf;

/// The lock every machine-changing test holds (flock: released when its holder exits, even
/// by kill -9).
const LOCK_FILE: &str = "/run/lock/hagios-tests-machine.lock";

/// Held while a test changes the machine; dropping it lets the next one in.
#[derive(Debug)]
pub struct MachineLock {
    _file: File,
}

impl MachineLock {
    /// Whether this test may change the machine, and then the lock, once every other such test
    /// is done. Not root: `None` after a skip note — or, with `HAGIOS_REQUIRE_REAL=1`, a panic.
    pub fn acquire(test: &str) -> Option<MachineLock> {
        if !rustix::process::geteuid().is_root() {
            if real_required() {
                panic!("HAGIOS_REQUIRE_REAL=1 but {test} needs root (it changes the machine)");
            }
            eprintln!("skipping {test}: needs root (it installs packages and users on this machine)");
            return None;
        }
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(LOCK_FILE)
            .unwrap_or_else(|e| panic!("open {LOCK_FILE}: {e}"));
        flock(&file, FlockOperation::LockExclusive).unwrap_or_else(|e| panic!("lock {LOCK_FILE}: {e}"));
        Some(MachineLock { _file: file })
    }
}

/// A program found on `PATH`, or `None` after a skip note when it is missing — with
/// `HAGIOS_REQUIRE_REAL=1` a panic saying how to install it.
pub fn tool(program: &str, install: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    if let Some(found) = std::env::split_paths(&path).map(|dir| dir.join(program)).find(|p| p.is_file()) {
        return Some(found);
    }
    if real_required() {
        panic!("HAGIOS_REQUIRE_REAL=1 but {program} is not on PATH: {install}");
    }
    eprintln!("skipping: {program} is not on PATH ({install})");
    None
}
