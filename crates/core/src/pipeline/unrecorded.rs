//! Messages in chat that open a thread the store does not record yet. A new group's message is
//! posted, then its member lines (each waiting its turn in the channel), and only then are the
//! group and its members' incidents committed with the deliveries; a new incident's message is
//! committed a moment after its post. Someone typing `ack` in that thread meanwhile would find
//! nothing in the store; the conversation waits here for the commit instead of reading the
//! command as typed outside any alert's thread. A delivery that fails after chat answered its
//! post (a 429 on the member lines) stays listed for the retry, which finds that message by its
//! key and commits it; one whose answer was lost is not (its id is unknown until that retry).
//!
//! Only the answer to a command waits: what is delivered and when is unchanged, so exactly-once
//! delivery stays with the store's attempt marks and keyed posts. The list is in memory: after a
//! restart, a command typed before the retried delivery commits is read as outside any alert.

use hagios_chat::MessageRef;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// How long a command in a thread the store does not know waits for the messages being
/// posted when it arrived to be known by their id: a person types in a thread only once its
/// message is in chat, and chat answers the post with its id moments later.
const UNTIL_KNOWN: Duration = Duration::from_secs(5);
/// How long a command in a new thread waits for its delivery to be committed: the member lines of
/// the largest groups take a post each, one a second in a channel, and a delivery that failed
/// waits for its retry. A delivery that failed longer ago than this is forgotten.
const UNTIL_RECORDED: Duration = Duration::from_secs(60);

/// The messages opening a thread being posted on one chat platform, by their delivery's attempt
/// key; shared by the platform's pipeline and its conversation.
#[derive(Clone, Default)]
pub struct Unrecorded(Arc<watch::Sender<HashMap<String, Post>>>);

#[derive(Debug, Default)]
struct Post {
    /// `None` until chat answered with the message's id.
    message: Option<MessageRef>,
    /// When the delivery failed after posting, to be tried again; `None` while it is under way.
    failed_at: Option<Instant>,
}

/// One try at delivering a new group or incident, from before its post until its record is
/// committed ([`Posting::recorded`]) or the try ends without it (dropped).
pub struct Posting {
    posts: Unrecorded,
    key: String,
}

impl Unrecorded {
    /// The delivery under `key` (its attempt key, the same on every try) is about to post the
    /// message, or to find it where an earlier try posted it.
    pub fn begin(&self, key: &str) -> Posting {
        self.0.send_modify(|posts| {
            posts.retain(|_, post| post.failed_at.is_none_or(|at| at.elapsed() < UNTIL_RECORDED));
            posts.entry(key.to_owned()).or_default().failed_at = None;
        });
        Posting { posts: self.clone(), key: key.to_owned() }
    }

    /// Waits until no message being posted may be `thread` (one begun after the command came is
    /// not), or until patience runs out. Unless that delivery failed for longer, the store knows
    /// the thread on return.
    pub async fn wait_recorded(&self, thread: &MessageRef) {
        let mut changes = self.0.subscribe();
        let unknown: Vec<String> = changes
            .borrow()
            .iter()
            .filter(|(_, post)| post.message.is_none() && post.failed_at.is_none())
            .map(|(key, _)| key.clone())
            .collect();
        let known = |posts: &HashMap<String, Post>| {
            unknown.iter().all(|key| posts.get(key).is_none_or(|post| post.message.is_some()))
        };
        let _ = tokio::time::timeout(UNTIL_KNOWN, changes.wait_for(known)).await;
        let this_one = |posts: &HashMap<String, Post>| posts.values().any(|post| post.message.as_ref() == Some(thread));
        let _ = tokio::time::timeout(UNTIL_RECORDED, changes.wait_for(|posts| !this_one(posts))).await;
    }
}

impl Posting {
    /// Chat answered the post with `message` (or an earlier try's post was found).
    pub fn posted(&self, message: &MessageRef) {
        self.posts.0.send_modify(|posts| {
            posts.entry(self.key.clone()).or_default().message = Some(message.clone());
        });
    }

    /// The delivery is committed: the store knows the thread.
    pub fn recorded(self) {
        self.posts.0.send_modify(|posts| {
            posts.remove(&self.key);
        });
    }
}

impl Drop for Posting {
    /// A try that ends without the commit leaves a posted message listed for the retry.
    fn drop(&mut self) {
        self.posts.0.send_modify(|posts| match posts.get_mut(&self.key) {
            Some(post) if post.message.is_some() => post.failed_at = Some(Instant::now()),
            _ => {
                posts.remove(&self.key);
            }
        });
    }
}

#[cfg(test)]
impl Unrecorded {
    /// A command typed in `thread` starts waiting now; the task answers how long it waited (on
    /// the paused clock).
    pub(super) async fn command_in(&self, thread: &MessageRef) -> tokio::task::JoinHandle<Duration> {
        let (posts, thread) = (self.clone(), thread.clone());
        let waiting = tokio::spawn(async move {
            let started = Instant::now();
            posts.wait_recorded(&thread).await;
            started.elapsed()
        });
        tokio::task::yield_now().await;
        waiting
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: &str) -> MessageRef {
        MessageRef { channel: "C0ALERTS".into(), id: id.into() }
    }

    async fn command_in(posts: &Unrecorded, thread: &str) -> tokio::task::JoinHandle<Duration> {
        posts.command_in(&message(thread)).await
    }

    async fn after(seconds: u64) {
        tokio::time::sleep(Duration::from_secs(seconds)).await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_command_in_a_new_group_thread_waits_for_its_record_and_others_do_not() {
        let posts = Unrecorded::default();
        assert_eq!(command_in(&posts, "1").await.await.unwrap(), Duration::ZERO, "nothing being posted");

        let posting = posts.begin("group-a");
        posting.posted(&message("1"));
        assert_eq!(command_in(&posts, "2").await.await.unwrap(), Duration::ZERO, "another thread");
        let waiting = command_in(&posts, "1").await;
        after(3).await;
        posting.recorded();
        assert_eq!(waiting.await.unwrap(), Duration::from_secs(3), "until the group is recorded");
    }

    #[tokio::test(start_paused = true)]
    async fn a_message_chat_has_not_answered_for_yet_may_be_the_thread() {
        let posts = Unrecorded::default();
        let posting = posts.begin("group-a");
        let elsewhere = command_in(&posts, "2").await;
        let here = command_in(&posts, "1").await;
        after(1).await;
        posting.posted(&message("1"));
        assert_eq!(elsewhere.await.unwrap(), Duration::from_secs(1), "another thread, once chat answered");
        after(2).await;
        posting.recorded();
        assert_eq!(here.await.unwrap(), Duration::from_secs(3), "its thread, until recorded");

        let waiting = command_in(&posts, "3").await;
        let later = posts.begin("group-b");
        assert_eq!(waiting.await.unwrap(), Duration::ZERO, "a group begun after the command is not its thread");
        drop(later);
    }

    #[tokio::test(start_paused = true)]
    async fn a_try_that_failed_after_posting_stays_listed_until_its_retry_records_it() {
        let posts = Unrecorded::default();
        let first = posts.begin("group-a");
        first.posted(&message("1"));
        drop(first);
        let waiting = command_in(&posts, "1").await;
        after(2).await;
        let retry = posts.begin("group-a");
        retry.posted(&message("1"));
        after(1).await;
        retry.recorded();
        assert_eq!(waiting.await.unwrap(), Duration::from_secs(3));

        let failed = posts.begin("group-b");
        failed.posted(&message("2"));
        drop(failed);
        assert_eq!(command_in(&posts, "2").await.await.unwrap(), UNTIL_RECORDED, "patience runs out without a retry");
        drop(posts.begin("group-c"));
        assert!(posts.0.borrow().is_empty(), "a failure that old is forgotten");
    }
}
