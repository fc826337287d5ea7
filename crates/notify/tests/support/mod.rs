//! What the tests of `hagios-notify` and of `hagios notify` share: the environments captured
//! from Nagios 4.4.6 notification commands (`tests/fixtures/*.env`), and reading the output.

use std::process::Output;

/// A service PROBLEM (web01!HTTP CRITICAL), with all 201 `NAGIOS_*` variables.
pub const SERVICE_PROBLEM: &str = include_str!("../fixtures/service-problem.env");
/// A host PROBLEM (db01 DOWN), `NAGIOS_SERVICEDESC` empty.
pub const HOST_PROBLEM: &str = include_str!("../fixtures/host-problem.env");

/// The `KEY=VALUE` lines of a captured environment.
pub fn nagios_environment(captured: &str) -> Vec<(String, String)> {
    captured.lines().filter_map(|line| line.split_once('=')).map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
