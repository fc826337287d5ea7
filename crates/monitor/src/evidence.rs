//! The monitoring system's own notifications, handed to the commands waiting for confirmation:
//! an ACKNOWLEDGEMENT or a DOWNTIMESTART that hagios receives anyway is the monitoring system's
//! word that a command took effect, often long before its state file is rewritten.
//!
//! Whoever receives notifications (the delivery pipeline's intake, an agent's spool drain)
//! calls [`EvidenceHub::publish`] for each as soon as it reads it; a backend subscribes before
//! it sends a command and matches what arrives afterwards against what it waits for.

use hagios_domain::Notification;
use std::sync::Arc;
use tokio::sync::broadcast;

/// Notifications kept for a subscriber that has not looked yet; a burst beyond this only makes
/// a slow subscriber skip some (the read-back still answers it).
const BACKLOG: usize = 1024;

/// A cheap, cloneable handle: every clone publishes to and subscribes on the same hub.
#[derive(Clone)]
pub struct EvidenceHub {
    sender: broadcast::Sender<Arc<Notification>>,
}

impl Default for EvidenceHub {
    fn default() -> Self {
        Self::new()
    }
}

impl EvidenceHub {
    pub fn new() -> Self {
        Self { sender: broadcast::channel(BACKLOG).0 }
    }

    /// Offers `notification` to every command waiting right now. Never blocks and never fails:
    /// with nobody waiting it is simply dropped.
    pub fn publish(&self, notification: &Notification) {
        if self.awaited() {
            // An error only means every subscriber left in the meantime.
            let _ = self.sender.send(Arc::new(notification.clone()));
        }
    }

    /// Whether a command waits for evidence right now: a publisher may skip reading what it
    /// would publish when none does.
    pub fn awaited(&self) -> bool {
        self.sender.receiver_count() > 0
    }

    /// What is published from now on (nothing from before).
    pub fn subscribe(&self) -> Evidence {
        Evidence { receiver: self.sender.subscribe() }
    }
}

/// One subscriber's view of the hub.
pub struct Evidence {
    receiver: broadcast::Receiver<Arc<Notification>>,
}

impl Evidence {
    /// The next notification published after subscribing. Waits while there is none; `None`
    /// once every handle to the hub is gone. A subscriber that fell more than the backlog
    /// behind skips what it missed.
    pub async fn next(&mut self) -> Option<Arc<Notification>> {
        loop {
            match self.receiver.recv().await {
                Ok(notification) => return Some(notification),
                Err(broadcast::error::RecvError::Lagged(skipped)) => {
                    tracing::debug!(skipped, "a waiting command skipped notifications it was too slow for");
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hagios_domain::{NotificationType, ObjectRef, State};

    fn ack(id: &str) -> Notification {
        Notification {
            id: id.into(),
            site: "local".into(),
            kind: NotificationType::Acknowledgement,
            object: ObjectRef::service("web01", "HTTP"),
            state: State::Critical,
            output: String::new(),
            long_output: String::new(),
            author: Some("alice".into()),
            comment: Some("on it".into()),
            time: 1_700_000_000,
            hostgroups: Vec::new(),
            contact: None,
            macros: Default::default(),
        }
    }

    #[tokio::test]
    async fn subscribers_see_what_is_published_after_they_subscribed() {
        let hub = EvidenceHub::new();
        hub.publish(&ack("before anyone waits"));
        let mut first = hub.subscribe();
        let publisher = hub.clone();
        publisher.publish(&ack("n-1"));
        let mut second = hub.subscribe();
        publisher.publish(&ack("n-2"));

        assert_eq!(first.next().await.map(|n| n.id.clone()).as_deref(), Some("n-1"));
        assert_eq!(first.next().await.map(|n| n.id.clone()).as_deref(), Some("n-2"));
        assert_eq!(second.next().await.map(|n| n.id.clone()).as_deref(), Some("n-2"));
        drop((hub, publisher));
        assert!(first.next().await.is_none(), "the hub is gone");
    }

    #[tokio::test]
    async fn a_subscriber_that_falls_behind_skips_and_goes_on() {
        let hub = EvidenceHub::new();
        let mut slow = hub.subscribe();
        for n in 0..BACKLOG + 10 {
            hub.publish(&ack(&format!("n-{n}")));
        }
        let next = slow.next().await.expect("still subscribed");
        assert_eq!(next.id, "n-10", "the oldest ten were dropped for it");
    }
}
