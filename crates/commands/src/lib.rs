//! Chat command router for hagios: turns what a person typed into a typed action or query,
//! checked against the monitoring system's real objects and the `[[role]]`/`[[user]]` policy,
//! runs it through a `Monitor`, and answers honestly — with an audit entry for every input.
//!
//! Each command lives in `src/commands/<name>.rs` with its routes, help, permission, parser and
//! tests; `help` is generated from them. The caller converts chat events into `Request`s and
//! posts `Dispatch::reply`; this crate knows no chat platform.

mod args;
mod auth;
mod clock;
mod commands;
mod confirmations;
mod desk;
mod limits;
mod router;
#[cfg(test)]
mod site_tests;
#[cfg(test)]
mod testing;
mod text;

pub use auth::{Denial, DenialReason, Policy, Role, User};
pub use clock::{format_length, format_local};
pub use commands::report::{period_seconds, PeriodError};
pub use commands::snooze::{SnoozeBook, SnoozeBookError};
pub use confirmations::{Answered, Confirmations, Question};
pub use desk::{Asker, Desk, DeskAnswer, DeskError, DeskRequest};
pub use limits::RateLimit;
pub use router::{AuditEntry, Dispatch, Progress, Request, Router, Settings, Thread};

/// Every command word (`ack`, `downtime`, `status`, …): what a `[[role]]` may grant.
pub fn command_names() -> Vec<&'static str> {
    commands::command_words()
}
