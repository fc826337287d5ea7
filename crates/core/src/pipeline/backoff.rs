//! Retry pacing for the delivery loop: exponential with jitter, and the platform's own
//! `Retry-After` when it gave one.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(500);

    pub fn new(max: Duration) -> Self {
        Self { next: Self::FIRST, max: max.max(Self::FIRST) }
    }

    /// The wait before the next try: the platform's `retry_after` when given, else the
    /// doubling delay with up to 25% jitter so that many agents do not retry in step.
    pub fn next_wait(&mut self, retry_after: Option<Duration>) -> Duration {
        let planned = self.next;
        self.next = (self.next * 2).min(self.max);
        match retry_after {
            Some(wait) => wait,
            None => planned + jitter(planned / 4),
        }
    }

    pub fn reset(&mut self) {
        self.next = Self::FIRST;
    }
}

/// Cheap jitter from the clock's sub-second part; it only has to differ between processes.
fn jitter(limit: Duration) -> Duration {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    let limit_nanos = limit.as_nanos().max(1);
    Duration::from_nanos((u128::from(nanos) % limit_nanos) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap_and_honours_retry_after() {
        let mut backoff = Backoff::new(Duration::from_secs(2));
        let waits: Vec<_> = (0..4).map(|_| backoff.next_wait(None)).collect();
        assert!(waits[0] >= Duration::from_millis(500) && waits[0] < Duration::from_millis(626));
        assert!(waits[1] >= Duration::from_secs(1) && waits[1] < Duration::from_millis(1251));
        assert!(waits[3] >= Duration::from_secs(2) && waits[3] < Duration::from_millis(2501));
        assert_eq!(backoff.next_wait(Some(Duration::from_secs(30))), Duration::from_secs(30));
        backoff.reset();
        assert!(backoff.next_wait(None) < Duration::from_millis(626));
    }
}
