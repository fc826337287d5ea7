//! Whether this process may act on the world outside now: post or edit in chat, send a command
//! to a monitoring site. A process that is the only one of its kind always may; of several bots
//! sharing one database only the leader may, and only until its lease could run out (the
//! leadership module grants it). Chat adapters and the link ask right before each request goes
//! out, so that a bot paused past its lease sends nothing when it wakes.

use std::fmt;
use std::sync::Arc;

#[derive(Clone, Default)]
pub struct Permit(Option<Arc<dyn Fn() -> bool + Send + Sync>>);

impl Permit {
    /// Always granted.
    pub fn always() -> Self {
        Permit(None)
    }

    /// Granted while `granted` says so.
    pub fn new(granted: impl Fn() -> bool + Send + Sync + 'static) -> Self {
        Permit(Some(Arc::new(granted)))
    }

    pub fn granted(&self) -> bool {
        self.0.as_ref().is_none_or(|granted| granted())
    }
}

impl fmt::Debug for Permit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_none() { "Permit(always)" } else { "Permit(while leading)" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};

    #[test]
    fn granted_always_or_while_the_condition_holds() {
        assert!(Permit::always().granted() && Permit::default().granted());
        let leading = Arc::new(AtomicBool::new(true));
        let condition = Arc::clone(&leading);
        let permit = Permit::new(move || condition.load(Ordering::SeqCst));
        assert!(permit.granted());
        leading.store(false, Ordering::SeqCst);
        assert!(!permit.granted());
    }
}
