//! Requests waiting for a `yes` (`host add`, `host remove`): numbered, authorized when they were
//! parked, lapsing after two minutes; and where each was asked, so that the answer (a `yes`, a
//! `cancel`, on any platform) can replace the question and its buttons with the outcome. Who may
//! confirm or cancel which request is the router's to decide (`yes.rs`, `cancel.rs`).

use crate::commands::{Act, Command};
use hagios_domain::MessageRef;
use serde::Serialize;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

/// How long a request waits for its `yes`.
pub(crate) const YES_WINDOW_SECONDS: i64 = 120;

/// Where a question waiting for a `yes` was posted, and what it said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Question {
    /// The chat platform's name (`slack`, `matrix`, `terminal`).
    pub platform: String,
    pub message: MessageRef,
    pub text: String,
}

/// A request that stopped waiting (confirmed or cancelled), and its question if it was posted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Answered {
    pub number: u32,
    pub question: Option<Question>,
}

/// An authorized request waiting for a `yes`.
pub(crate) struct Waiting {
    /// Counts up per router (see [`first_request_number`]), so a button or `yes N` names this
    /// request and no other.
    pub number: u32,
    pub command: &'static Command,
    pub act: Act,
    pub requester_id: String,
    expires: i64,
    question: Option<Question>,
}

impl Waiting {
    pub(crate) fn answered(self) -> Answered {
        Answered { number: self.number, question: self.question }
    }
}

/// The requests waiting now, oldest first.
pub struct Confirmations {
    waiting: Mutex<Vec<Waiting>>,
    /// The number of the latest request that waited for a `yes`.
    numbered: AtomicU32,
}

impl Confirmations {
    /// Numbering starts from `now` (see [`first_request_number`]).
    pub(crate) fn starting_at(now: i64) -> Self {
        Confirmations { waiting: Mutex::new(Vec::new()), numbered: AtomicU32::new(first_request_number(now)) }
    }

    /// Parks an authorized request until a `yes` and returns its number.
    pub(crate) fn park(&self, command: &'static Command, act: Act, requester_id: &str, now: i64) -> u32 {
        let number = self.numbered.fetch_add(1, Ordering::Relaxed) + 1;
        let waiting = Waiting {
            number,
            command,
            act,
            requester_id: requester_id.to_owned(),
            expires: now + YES_WINDOW_SECONDS,
            question: None,
        };
        self.with_waiting(now, |queue| queue.push(waiting));
        number
    }

    /// Records where the question of request `number` was posted.
    pub fn asked(&self, number: u32, question: Question) {
        let mut queue = self.waiting.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(waiting) = queue.iter_mut().find(|waiting| waiting.number == number) {
            waiting.question = Some(question);
        }
    }

    /// Runs `work` on the requests still waiting at `now`, oldest first.
    pub(crate) fn with_waiting<T>(&self, now: i64, work: impl FnOnce(&mut Vec<Waiting>) -> T) -> T {
        let mut queue = self.waiting.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        queue.retain(|waiting| waiting.expires > now);
        work(&mut queue)
    }
}

/// Request numbers start from the second the router was built (six digits), so that a Yes button
/// on a question from before a restart names no request made after it — unless more than one
/// request per second was made since that start.
fn first_request_number(now: i64) -> u32 {
    u32::try_from(now.rem_euclid(1_000_000)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_numbers_start_from_the_clock_so_numbers_from_before_a_restart_are_not_reused() {
        assert_eq!(first_request_number(1_795_645_823), 645_823);
        assert!(first_request_number(1_795_645_900) > first_request_number(1_795_645_823) + 70);
    }
}
