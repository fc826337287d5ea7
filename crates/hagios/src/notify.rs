//! `hagios notify`: the `hagios-notify` command (crates/notify) reached through `hagios`, with
//! the same flags, environment and exit codes; its help is `hagios notify --help`.

use clap::Args;
use std::ffi::OsString;
use std::process::ExitCode;

/// Everything after `notify` goes to hagios-notify's own parser, `--help` included, so the two
/// ways of calling it cannot drift apart.
#[derive(Debug, Args)]
#[command(disable_help_flag = true)]
pub struct NotifyArgs {
    /// [--spool DIR] [--type T --host H --service S --state X --output O …] (see `hagios notify --help`)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_name = "FLAGS")]
    arguments: Vec<OsString>,
}

pub fn run(args: NotifyArgs) -> ExitCode {
    hagios_notify::run("hagios notify", args.arguments)
}
