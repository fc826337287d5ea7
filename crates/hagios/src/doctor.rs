//! `hagios config check` and `hagios doctor`: the configuration file checked, then what the
//! service will meet on this machine, for the user it runs as.

use hagios_core::config::{Config, ConfigError};
use hagios_core::doctor::{self, access::Account, Finding, Level};
use std::path::Path;
use std::process::ExitCode;

/// `config check`: the file, then whether `user` may use every file it names. Exit 1 for a
/// problem in either, 2 when the file cannot be read.
pub fn check_config(path: &Path, user: Option<&str>) -> ExitCode {
    let config = match Config::load(path) {
        Ok(config) => config,
        Err(e @ ConfigError::Invalid { .. }) => {
            eprintln!("{e}");
            return ExitCode::from(1);
        }
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let Some(account) = account(user) else { return ExitCode::from(1) };
    let findings: Vec<Finding> =
        doctor::access(&config, &account).into_iter().filter(|finding| finding.level != Level::Ok).collect();
    let failed = findings.iter().any(|finding| finding.level == Level::Fail);
    if failed {
        eprintln!("{}: the file is valid, but as user {} hagios would fail:", path.display(), account.name);
    } else {
        println!("{}: OK (checked as user {})", path.display(), account.name);
    }
    for finding in &findings {
        eprintln!("{finding}");
    }
    if let Some(timing) = doctor::command_timing(&config) {
        println!("commands: {timing}");
    }
    for note in &config.notes {
        println!("note: {note}");
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// `doctor`: one line per check; exit 0 when nothing failed, 1 otherwise.
pub fn main(path: &Path, user: Option<&str>) -> ExitCode {
    let config = match Config::load(path) {
        Ok(config) => config,
        Err(e) => {
            println!("FAIL {e}");
            return ExitCode::from(1);
        }
    };
    let Some(account) = account(user) else { return ExitCode::from(1) };
    println!("checking {} as user {}", path.display(), account.name);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
    let findings = match runtime {
        Ok(runtime) => runtime.block_on(doctor::examine(&config, &account)),
        Err(e) => vec![Finding::fail(format!("cannot start the async runtime: {e}"))],
    };
    for finding in &findings {
        println!("{finding}");
    }
    let count = |level| findings.iter().filter(|finding| finding.level == level).count();
    let (failed, warned) = (count(Level::Fail), count(Level::Warn));
    println!("{failed} failed, {warned} to look at, {} OK", findings.len() - failed - warned);
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn account(user: Option<&str>) -> Option<Account> {
    doctor::service_user(user).inspect_err(|e| eprintln!("--user: {e}")).ok()
}
