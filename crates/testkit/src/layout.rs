//! Where everything of one private Nagios instance lives inside its temp dir. Every path is
//! absolute because Nagios' command-file worker changes its directory to /tmp.

use std::fs::{self, Permissions};
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The user and group Debian's `nagios4` package runs Nagios as (`nagios_user`, `nagios_group`).
pub(crate) const DEBIAN_USER: &str = "nagios";

/// The group of Debian's /var/lib/nagios4 and its `rw/`: whoever reads status.dat or writes the
/// command FIFO needs it.
const DEBIAN_STATE_GROUP: &str = "www-data";

#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub root: PathBuf,
    pub etc: PathBuf,
    pub var: PathBuf,
    pub libexec: PathBuf,
    pub config_file: PathBuf,
    pub command_file: PathBuf,
    pub query_socket: PathBuf,
    pub status_file: PathBuf,
    pub object_cache_file: PathBuf,
    pub log_file: PathBuf,
    pub lock_file: PathBuf,
    pub check_state_dir: PathBuf,
    pub notifications_dir: PathBuf,
    /// Included by a second `cfg_dir` when [`crate::NagiosOptions::managed_dir`] is set.
    pub managed_dir: PathBuf,
}

impl Layout {
    pub fn new(root: &Path) -> Self {
        let etc = root.join("etc");
        let var = root.join("var");
        Self {
            root: root.to_path_buf(),
            config_file: etc.join("nagios.cfg"),
            command_file: var.join("rw/nagios.cmd"),
            query_socket: var.join("rw/nagios.qh"),
            status_file: var.join("status.dat"),
            object_cache_file: var.join("objects.cache"),
            log_file: var.join("nagios.log"),
            lock_file: var.join("nagios.lock"),
            check_state_dir: root.join("check-state"),
            notifications_dir: root.join("notifications"),
            libexec: root.join("libexec"),
            managed_dir: etc.join("managed"),
            etc,
            var,
        }
    }

    /// Debian 12's owners and modes, as `ls -l` shows them after installing `nagios4`: `var/`
    /// (/var/lib/nagios4) `nagios:www-data` 0750, `var/rw/` `nagios:www-data` 2710, everything else
    /// Nagios writes its user's; the instance's root open to all, like /var/lib.
    pub fn own_as_debian(&self) -> io::Result<()> {
        fs::set_permissions(&self.root, Permissions::from_mode(0o755))?;
        let nagios = format!("{DEBIAN_USER}:{DEBIAN_USER}");
        chown(&["-R", &nagios], &[&self.var, &self.notifications_dir])?;
        let rw = self.var.join("rw");
        chown(&[&format!("{DEBIAN_USER}:{DEBIAN_STATE_GROUP}")], &[&self.var, &rw])?;
        fs::set_permissions(&self.var, Permissions::from_mode(0o750))?;
        fs::set_permissions(&rw, Permissions::from_mode(0o2710))
    }

    /// Where the test's own object definitions go.
    pub fn extra_objects_file(&self) -> PathBuf {
        self.etc.join("objects/extra.cfg")
    }

    /// The file the check script reads a service's state from ("<code> <text>").
    pub fn check_state_file(&self, host: &str, service: &str) -> PathBuf {
        self.check_state_dir.join(host).join(service)
    }
}

/// `chown ARGS… PATHS…`: by name, as an operator would.
fn chown(args: &[&str], paths: &[&Path]) -> io::Result<()> {
    let status = Command::new("chown").args(args).args(paths).status()?;
    if status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!("chown {} failed ({status})", args.join(" "))))
    }
}
