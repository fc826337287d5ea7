//! Floor for `bench/notify-vs-baseline.sh`: the least a durable spool write can do, built like
//! `hagios-notify` — one 4 KiB record (a real one is ~3.7 KiB) created in `SPOOL/tmp/`, fsynced,
//! renamed into `SPOOL/new/`, and `new/` fsynced. No macros, no JSON. Usage: durable_write SPOOL

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

fn main() -> std::io::Result<()> {
    let spool = PathBuf::from(std::env::args_os().nth(1).expect("usage: durable_write SPOOL"));
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let name = format!("{nanos:020}-{:010}-floor", std::process::id());
    let (staged, queued) = (spool.join("tmp").join(&name), spool.join("new").join(&name));
    let mut file = OpenOptions::new().write(true).create_new(true).open(&staged)?;
    file.write_all(&[b'x'; 4096])?;
    file.sync_all()?;
    fs::rename(&staged, &queued)?;
    File::open(spool.join("new"))?.sync_all()
}
