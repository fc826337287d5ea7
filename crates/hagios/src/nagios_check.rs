//! `hagios nagios check MAIN_CFG`: check a Nagios 4 configuration the way `nagios -v` does and
//! print every problem as `file:line: error: …`. Exit 0 valid, 1 errors, 2 unreadable.

use hagios_domain::plural;
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
    let config = hagios_nagioscfg::Config::build(&sources);
    let analysis = hagios_nagioscfg::analyse(&config);
    for diagnostic in &analysis.diagnostics {
        println!("{diagnostic}");
    }
    let errors = analysis.diagnostics.iter().filter(|d| d.severity == hagios_nagioscfg::Severity::Error).count();
    let warnings = analysis.diagnostics.len() - errors;
    let summary = format!(
        "{}: {}, {} in {}; {}, {}",
        main_cfg.display(),
        plural(analysis.hosts.len(), "host"),
        plural(analysis.services.len(), "service"),
        plural(sources.files.len(), "object file"),
        plural(errors, "error"),
        plural(warnings, "warning")
    );
    // The process ends here: freeing a million small allocations one by one would only cost time.
    std::mem::forget(analysis);
    std::mem::forget(config);
    if errors == 0 {
        println!("{summary}: OK");
        ExitCode::SUCCESS
    } else {
        println!("{summary}: Nagios would refuse this configuration");
        ExitCode::from(1)
    }
}
