//! What each part of a process last said about itself, for `/healthz`: a part that has been
//! failing for longer than the grace period makes the process unhealthy, with the part's reason.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Shared by the parts of one process; cloning is cheap.
#[derive(Clone, Default)]
pub struct Health(Arc<Mutex<BTreeMap<String, Failing>>>);

/// A part failing since `since` because of `reason`.
struct Failing {
    since: Instant,
    reason: String,
}

impl Health {
    /// `part` works (again).
    pub fn ok(&self, part: &str) {
        self.parts().remove(part);
    }

    /// `part` fails because of `reason`; it has failed since its first failure in a row.
    pub fn failing(&self, part: &str, reason: impl Display) {
        let reason = reason.to_string();
        let mut parts = self.parts();
        match parts.get_mut(part) {
            Some(failing) => failing.reason = reason,
            None => {
                parts.insert(part.to_owned(), Failing { since: Instant::now(), reason });
            }
        }
    }

    /// One line per part failing for longer than `grace`: `chat slack: … (for 42s)`.
    pub fn problems(&self, grace: Duration) -> Vec<String> {
        self.parts()
            .iter()
            .filter(|(_, failing)| failing.since.elapsed() >= grace)
            .map(|(part, failing)| format!("{part}: {} (for {}s)", failing.reason, failing.since.elapsed().as_secs()))
            .collect()
    }

    fn parts(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Failing>> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_part_is_a_problem_once_it_failed_for_the_grace_period_and_until_it_works() {
        let health = Health::default();
        health.failing("chat slack", "unreachable");
        assert!(health.problems(Duration::from_secs(60)).is_empty(), "within the grace period");
        let problems = health.problems(Duration::ZERO);
        assert!(problems.len() == 1 && problems[0].starts_with("chat slack: unreachable (for "), "{problems:?}");
        health.failing("chat slack", "still unreachable");
        assert!(health.problems(Duration::ZERO)[0].contains("still unreachable"));
        health.ok("chat slack");
        assert!(health.problems(Duration::ZERO).is_empty());
    }
}
