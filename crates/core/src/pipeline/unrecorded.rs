//! New group messages in chat that the store does not record yet. A new group's message is posted,
//! then its member lines (each waiting its turn in the channel), and only then are the group and
//! its members' incidents committed with the deliveries. Someone typing `ack` in that thread
//! meanwhile would find nothing in the store; the conversation waits here for the commit instead
//! of reading the command as typed outside any alert's thread. A delivery that fails after its
//! message was posted (a 429 on the member lines) stays listed for the retry, which finds that
//! message by its key and commits it.
//!
//! Only the answer to a command waits: what is delivered and when is unchanged, so exactly-once
//! delivery stays with the store's attempt marks and keyed posts. The list is in memory: after a
//! restart, a command typed before the retried delivery commits is read as outside a group.

use hagios_chat::MessageRef;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// How long a command in a thread the store does not know waits for the group messages being
/// posted when it arrived to be known by their id: a person types in a thread only once its
/// message is in chat, and chat answers the post with its id moments later.
const UNTIL_KNOWN: Duration = Duration::from_secs(5);
/// How long a command in a new group's thread waits for the group to be committed: the member
/// lines of the largest groups take a post each, one a second in a channel, and a delivery that
/// failed waits for its retry. A group that failed longer ago than this is forgotten.
const UNTIL_RECORDED: Duration = Duration::from_secs(60);

/// The group messages being posted on one chat platform, by their delivery's attempt key;
/// shared by the platform's pipeline and its conversation.
#[derive(Clone, Default)]
pub struct Unrecorded(Arc<watch::Sender<HashMap<String, Post>>>);

#[derive(Debug, Default)]
struct Post {
    /// `None` until chat answered with the message's id.
    message: Option<MessageRef>,
    /// When the delivery failed after posting, to be tried again; `None` while it is under way.
    failed_at: Option<Instant>,
}

/// One try at delivering a new group, from before its post until its record is committed
/// ([`Posting::recorded`]) or the try ends without it (dropped).
pub struct Posting {
    posts: Unrecorded,
    key: String,
}

impl Unrecorded {
    /// The delivery under `key` (the group's attempt key, the same on every try) is about to post
    /// the group message, or to find it where an earlier try posted it.
    pub fn begin(&self, key: &str) -> Posting {
        self.0.send_modify(|posts| {
            posts.retain(|_, post| post.failed_at.is_none_or(|at| at.elapsed() < UNTIL_RECORDED));
            posts.entry(key.to_owned()).or_default().failed_at = None;
        });
        Posting { posts: self.clone(), key: key.to_owned() }
    }

    /// Waits until no group message being posted may be `thread` (one begun after the command
    /// came is not), or until patience runs out. Unless that group's delivery failed for longer,
    /// the store knows the group on return.
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

    /// The group and its members are committed: the store knows the thread.
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
