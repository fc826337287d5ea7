//! Where everything of one private Nagios instance lives inside its temp dir. Every path is
//! absolute because Nagios' command-file worker changes its directory to /tmp.

use std::path::{Path, PathBuf};

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

    /// Where the test's own object definitions go.
    pub fn extra_objects_file(&self) -> PathBuf {
        self.etc.join("objects/extra.cfg")
    }

    /// The file the check script reads a service's state from ("<code> <text>").
    pub fn check_state_file(&self, host: &str, service: &str) -> PathBuf {
        self.check_state_dir.join(host).join(service)
    }
}
