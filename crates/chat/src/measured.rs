//! Counting what a chat adapter does, for `/metrics`: every call to the platform by kind, and
//! every failure by kind (`rate_limited` is a 429 or Matrix's M_LIMIT_EXCEEDED). Wraps any
//! adapter; behaves exactly like it.

use crate::{ChatAdapter, ChatError, ChatEvent, MessageRef, Outbound, Platform};
use async_trait::async_trait;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Chat API calls, by platform and call.
pub const CALLS: &str = "hagios_chat_calls_total";
/// Failed chat API calls, by platform, call and kind of failure.
pub const ERRORS: &str = "hagios_chat_errors_total";

pub struct Measured(pub Arc<dyn ChatAdapter>);

impl Measured {
    fn count<T>(&self, call: &'static str, result: Result<T, ChatError>) -> Result<T, ChatError> {
        let platform = self.0.platform().name();
        metrics::counter!(CALLS, "platform" => platform, "call" => call).increment(1);
        if let Err(error) = &result {
            let kind = match error {
                ChatError::RateLimited(_) => "rate_limited",
                ChatError::Unavailable(_) => "unavailable",
                ChatError::Rejected(_) => "rejected",
                ChatError::Closed => "closed",
            };
            metrics::counter!(ERRORS, "platform" => platform, "call" => call, "kind" => kind).increment(1);
        }
        result
    }
}

#[async_trait]
impl ChatAdapter for Measured {
    fn platform(&self) -> Platform {
        self.0.platform()
    }

    async fn post(
        &self,
        channel: Option<&str>,
        thread: Option<&MessageRef>,
        message: &Outbound,
    ) -> Result<MessageRef, ChatError> {
        self.count("post", self.0.post(channel, thread, message).await)
    }

    async fn post_keyed(
        &self,
        channel: Option<&str>,
        thread: Option<&MessageRef>,
        message: &Outbound,
        key: &str,
    ) -> Result<MessageRef, ChatError> {
        self.count("post", self.0.post_keyed(channel, thread, message, key).await)
    }

    async fn find_keyed(
        &self,
        channel: Option<&str>,
        thread: Option<&MessageRef>,
        key: &str,
    ) -> Result<Option<MessageRef>, ChatError> {
        self.count("find", self.0.find_keyed(channel, thread, key).await)
    }

    async fn post_question(
        &self,
        channel: Option<&str>,
        thread: Option<&MessageRef>,
        text: &str,
        request: u32,
    ) -> Result<MessageRef, ChatError> {
        self.count("post", self.0.post_question(channel, thread, text, request).await)
    }

    async fn channel_id(&self, target: &str) -> Result<String, ChatError> {
        self.count("channel", self.0.channel_id(target).await)
    }

    async fn is_member(&self, target: &str) -> Result<Option<bool>, ChatError> {
        self.count("channel", self.0.is_member(target).await)
    }

    async fn can_listen(&self) -> Result<(), ChatError> {
        self.count("listen", self.0.can_listen().await)
    }

    async fn update(&self, message: &MessageRef, content: &Outbound) -> Result<(), ChatError> {
        self.count("update", self.0.update(message, content).await)
    }

    async fn listen(&self, events: mpsc::Sender<ChatEvent>) -> Result<(), ChatError> {
        self.count("listen", self.0.listen(events).await)
    }
}
