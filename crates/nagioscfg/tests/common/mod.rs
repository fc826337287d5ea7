//! Shared by the tests that run the real `nagios4`: finding it, and a main configuration that
//! lets `nagios4 -v` run as root inside a temporary folder.

use std::path::{Path, PathBuf};

/// `NAGIOS_BIN` or `/usr/sbin/nagios4`; `None` (skip) when missing, a panic under
/// `HAGIOS_REQUIRE_REAL=1`.
pub fn nagios_binary() -> Option<PathBuf> {
    let binary = std::env::var_os("NAGIOS_BIN").map_or_else(|| PathBuf::from("/usr/sbin/nagios4"), PathBuf::from);
    if binary.is_file() {
        return Some(binary);
    }
    if std::env::var("HAGIOS_REQUIRE_REAL").is_ok_and(|value| value == "1") {
        panic!("HAGIOS_REQUIRE_REAL=1 but {} does not exist: install nagios4-core or set NAGIOS_BIN", binary.display());
    }
    eprintln!("skipping: nagios4 not installed ({} missing)", binary.display());
    None
}

/// Write `dir/nagios.cfg` reading objects from `dir/objects` (a cfg_dir), with `extra` lines.
pub fn write_main_config(dir: &Path, extra: &str) -> PathBuf {
    std::fs::write(dir.join("resource.cfg"), "$USER1$=/usr/lib/nagios/plugins\n").unwrap();
    let d = dir.display();
    let main = format!(
        "log_file={d}/nagios.log\ncfg_dir={d}/objects\nresource_file={d}/resource.cfg\nstatus_file={d}/status.dat\n\
         lock_file={d}/nagios.lock\ntemp_file={d}/nagios.tmp\ncheck_result_path={d}\nnagios_user=root\nnagios_group=root\n\
         precached_object_file={d}/objects.precache\nillegal_macro_output_chars=`~$&|'\"<>\n{extra}"
    );
    let path = dir.join("nagios.cfg");
    std::fs::write(&path, main).unwrap();
    path
}
