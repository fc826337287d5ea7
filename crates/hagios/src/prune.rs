//! `hagios store prune`: one prune now, beside a running hagios or without one; prints what went.

use hagios_core::config::Config;
use hagios_core::retention::retention;
use hagios_domain::plural;
use hagios_store::Store;
use std::path::Path;
use std::process::ExitCode;

pub fn main(config_path: &Path) -> ExitCode {
    let pruned = Config::load(config_path).map_err(anyhow::Error::from).and_then(|config| {
        Ok(Store::open(&config.store.path)?.prune(&retention(&config.store), hagios_domain::unix_now())?)
    });
    match pruned {
        Ok(report) => {
            println!(
                "deleted {}, {} ({}), {}, {}, {}, {}; {} inside the file are free for later rows",
                plural(report.deliveries, "delivery"),
                plural(report.incidents, "incident"),
                plural(report.history_lines, "history line"),
                plural(report.groups, "alert group"),
                plural(report.attempts, "attempt"),
                plural(report.snoozes, "snooze"),
                plural(report.audit, "audit record"),
                plural(report.free_bytes, "byte")
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("hagios store prune: {e:#}");
            ExitCode::FAILURE
        }
    }
}
