//! `hagios store prune`: one prune now, beside a running hagios or without one; prints what went.

use hagios_core::config::Config;
use hagios_core::retention::retention;
use hagios_store::Store;
use std::path::Path;
use std::process::ExitCode;

pub fn main(config_path: &Path) -> ExitCode {
    let pruned = Config::load(config_path).map_err(anyhow::Error::from).and_then(|config| {
        Ok(Store::from_config(&config.store)?.prune(&retention(&config.store), hagios_domain::unix_now())?)
    });
    match pruned {
        Ok(report) => {
            println!(
                "deleted {} deliveries, {} incidents ({} history lines), {} alert groups, {} attempts, {} snoozes, \
                 {} audit records; {} bytes inside the file are free for later rows",
                report.deliveries,
                report.incidents,
                report.history_lines,
                report.groups,
                report.attempts,
                report.snoozes,
                report.audit,
                report.free_bytes
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("hagios store prune: {e:#}");
            ExitCode::FAILURE
        }
    }
}
