//! `hagios nagios check MAIN_CFG`: check a Nagios 4 configuration the way `nagios -v` does and
//! print every problem as `file:line: error: …`. Exit 0 valid, 1 errors, 2 unreadable.

use std::path::Path;
use std::process::ExitCode;

pub fn main(main_cfg: &Path) -> ExitCode {
    let sources = match hagios_nagioscfg::load(main_cfg) {
        Ok(sources) => sources,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(2);
        }
    };
    let report = hagios_nagioscfg::check(&sources);
    for diagnostic in &report.diagnostics {
        println!("{diagnostic}");
    }
    let errors = report.error_count();
    let warnings = report.diagnostics.len() - errors;
    let summary = format!(
        "{}: {} hosts, {} services in {} object files; {errors} errors, {warnings} warnings",
        main_cfg.display(),
        report.hosts,
        report.services,
        report.object_files
    );
    if report.is_valid() {
        println!("{summary}: OK");
        ExitCode::SUCCESS
    } else {
        println!("{summary}: Nagios would refuse this configuration");
        ExitCode::from(1)
    }
}
