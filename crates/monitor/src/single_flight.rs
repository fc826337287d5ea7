//! One fetch of an expensive state serves everyone who asks while it runs (single flight), and
//! its result serves callers that accept it for a short while after (a short cache). Backends
//! whose every state read costs requests — Icinga's four object queries, the bot asking every
//! site over the link — put their reads behind one of these, so a burst of chat commands costs
//! one read, not one each.

use crate::MonitorError;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// What a running fetch hands to everyone waiting for it; `None` until it is done.
type Outcome<T> = Option<Result<Arc<T>, MonitorError>>;

/// A shared, briefly cached read of `T`.
pub struct SingleFlight<T> {
    inner: Arc<Mutex<Inner<T>>>,
}

struct Inner<T> {
    /// The newest value fetched, and when its fetch started.
    latest: Option<(Instant, Arc<T>)>,
    /// The fetch under way, if any: its number and where its result appears.
    running: Option<(u64, watch::Receiver<Outcome<T>>)>,
    /// Nothing fetched before this instant may be handed out any more ([`SingleFlight::invalidate`]).
    not_before: Option<Instant>,
    fetches: u64,
}

impl<T> Default for SingleFlight<T> {
    fn default() -> Self {
        let inner = Inner { latest: None, running: None, not_before: None, fetches: 0 };
        SingleFlight { inner: Arc::new(Mutex::new(inner)) }
    }
}

impl<T: Send + Sync + 'static> SingleFlight<T> {
    /// A value whose fetch started at most `max_age` ago; else the result of the fetch running
    /// now; else the result of a new fetch made with `fetch`. With `Duration::ZERO` no finished
    /// value is taken: the answer comes from a fetch still reading. A failure is handed to
    /// everyone waiting on that fetch and not kept.
    ///
    /// The fetch runs in a task of its own, so a caller that gives up does not strand the others.
    pub async fn get<F, Fut>(&self, max_age: Duration, fetch: F) -> Result<Arc<T>, MonitorError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Arc<T>, MonitorError>> + Send + 'static,
    {
        let mut result = match self.cached_or_running(max_age) {
            Ok(value) => return Ok(value),
            Err(Some(running)) => running,
            Err(None) => self.start(fetch()),
        };
        let outcome = result
            .wait_for(Option::is_some)
            .await
            .map_err(|_| MonitorError::State("the state reader task ended without an answer; try again".to_owned()))?;
        outcome.clone().unwrap_or_else(|| Err(MonitorError::State("no state was read; try again".to_owned())))
    }

    /// How many fetches were started so far.
    pub fn fetches(&self) -> u64 {
        lock(&self.inner).fetches
    }

    /// Forgets what was fetched so far, and the fetch running now, for every later caller:
    /// after an action the next reader must see the state as it is after it.
    pub fn invalidate(&self) {
        let mut inner = lock(&self.inner);
        inner.not_before = Some(Instant::now());
        inner.latest = None;
        inner.running = None;
    }

    /// The cached value when it is young enough, else the running fetch to wait for, if any.
    #[allow(clippy::type_complexity)]
    fn cached_or_running(&self, max_age: Duration) -> Result<Arc<T>, Option<watch::Receiver<Outcome<T>>>> {
        let inner = lock(&self.inner);
        match (&inner.latest, &inner.running) {
            (Some((started, value)), _) if !max_age.is_zero() && started.elapsed() <= max_age => Ok(Arc::clone(value)),
            (_, Some((_, running))) => Err(Some(running.clone())),
            _ => Err(None),
        }
    }

    /// Runs `fetching` as the fetch everyone waits for from now on.
    fn start<Fut>(&self, fetching: Fut) -> watch::Receiver<Outcome<T>>
    where
        Fut: Future<Output = Result<Arc<T>, MonitorError>> + Send + 'static,
    {
        let started = Instant::now();
        let (done, result) = watch::channel(None);
        let number = {
            let mut inner = lock(&self.inner);
            // Someone may have started one while the lock was free: wait for theirs.
            if let Some((_, running)) = &inner.running {
                return running.clone();
            }
            inner.fetches += 1;
            inner.running = Some((inner.fetches, result.clone()));
            inner.fetches
        };
        let shared = Arc::clone(&self.inner);
        tokio::spawn(async move {
            let outcome = fetching.await;
            {
                let mut inner = lock(&shared);
                let current = inner.not_before.is_none_or(|not_before| started >= not_before);
                let newer = inner.latest.as_ref().is_none_or(|(latest, _)| started > *latest);
                if let (Ok(value), true, true) = (&outcome, current, newer) {
                    inner.latest = Some((started, Arc::clone(value)));
                }
                if inner.running.as_ref().is_some_and(|(running, _)| *running == number) {
                    inner.running = None;
                }
            }
            done.send_replace(Some(outcome));
        });
        result
    }
}

fn lock<T>(inner: &Mutex<Inner<T>>) -> std::sync::MutexGuard<'_, Inner<T>> {
    // A panic while holding the lock leaves at worst a value max_age still bounds.
    inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// A read that takes `delay` and returns how many reads came before it.
    fn counting(reads: &Arc<AtomicU64>, delay: Duration) -> impl Future<Output = Result<Arc<u64>, MonitorError>> {
        let reads = Arc::clone(reads);
        async move {
            tokio::time::sleep(delay).await;
            Ok(Arc::new(reads.fetch_add(1, Ordering::SeqCst)))
        }
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_readers_share_one_fetch() {
        let (cache, reads) = (Arc::new(SingleFlight::default()), Arc::new(AtomicU64::new(0)));
        let mut readers = tokio::task::JoinSet::new();
        for _ in 0..100 {
            let (cache, reads) = (Arc::clone(&cache), Arc::clone(&reads));
            readers.spawn(async move {
                *cache.get(Duration::ZERO, || counting(&reads, Duration::from_millis(50))).await.unwrap()
            });
        }
        while let Some(value) = readers.join_next().await {
            assert_eq!(value.unwrap(), 0, "every reader got the first read");
        }
        assert_eq!((reads.load(Ordering::SeqCst), cache.fetches()), (1, 1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_finished_value_serves_for_max_age_only_and_zero_always_reads_again() {
        let (cache, reads) = (SingleFlight::default(), Arc::new(AtomicU64::new(0)));
        let second = Duration::from_secs(1);
        assert_eq!(*cache.get(second, || counting(&reads, Duration::ZERO)).await.unwrap(), 0);
        tokio::time::advance(Duration::from_millis(900)).await;
        assert_eq!(*cache.get(second, || counting(&reads, Duration::ZERO)).await.unwrap(), 0, "still young");
        assert_eq!(*cache.get(Duration::ZERO, || counting(&reads, Duration::ZERO)).await.unwrap(), 1, "fresh read");
        tokio::time::advance(Duration::from_millis(1100)).await;
        assert_eq!(*cache.get(second, || counting(&reads, Duration::ZERO)).await.unwrap(), 2, "too old");
    }

    #[tokio::test(start_paused = true)]
    async fn after_invalidate_nothing_read_before_is_handed_out() {
        let (cache, reads) = (Arc::new(SingleFlight::default()), Arc::new(AtomicU64::new(0)));
        let slow = {
            let (cache, reads) = (Arc::clone(&cache), Arc::clone(&reads));
            tokio::spawn(async move {
                *cache.get(Duration::ZERO, || counting(&reads, Duration::from_secs(2))).await.unwrap()
            })
        };
        tokio::time::advance(Duration::from_millis(10)).await;
        cache.invalidate();
        // The read running before the invalidation serves nobody who comes after it.
        let after = *cache.get(Duration::from_secs(60), || counting(&reads, Duration::from_millis(10))).await.unwrap();
        assert_eq!(slow.await.unwrap(), 1, "the slow read finished second");
        assert_eq!(after, 0);
        let later = *cache.get(Duration::from_secs(60), || counting(&reads, Duration::ZERO)).await.unwrap();
        assert_eq!(later, 0, "the read made after the invalidation is the one cached, not the older slow one");
    }

    #[tokio::test(start_paused = true)]
    async fn failures_reach_every_waiter_and_are_not_kept() {
        let cache: Arc<SingleFlight<u64>> = Arc::new(SingleFlight::default());
        let failing = || async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            Err(MonitorError::NotRunning { system: "Icinga 2", detail: "connection refused".into() })
        };
        let (first, second) =
            tokio::join!(cache.get(Duration::from_secs(1), failing), cache.get(Duration::from_secs(1), failing));
        for result in [first, second] {
            assert!(matches!(result, Err(MonitorError::NotRunning { .. })), "{result:?}");
        }
        assert_eq!(cache.fetches(), 1);
        let reads = Arc::new(AtomicU64::new(7));
        assert_eq!(*cache.get(Duration::from_secs(1), || counting(&reads, Duration::ZERO)).await.unwrap(), 7);
        assert_eq!(cache.fetches(), 2, "the failure was not cached");
    }
}
