//! The `hagios-notify` binary: what Nagios runs once per notification (see the library).

use std::process::ExitCode;

fn main() -> ExitCode {
    hagios_notify::run("hagios-notify", std::env::args_os().skip(1))
}
