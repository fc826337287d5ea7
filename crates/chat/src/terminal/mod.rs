//! Terminal chat, the embedded default: lines typed on stdin are commands from one configured
//! user; alerts and replies are printed as readable lines with stable message ids (`#12`).
//! Typing `#12 ack looking into it` addresses the thread of message #12.

mod config;
mod events;
mod render;

pub use config::TerminalConfig;

/// The `[terminal]` section, and this platform's name in logs, the audit log and the store.
pub const NAME: &str = "terminal";
/// The terminal shows everything in one place, and follows routes by their Slack `channel`, so
/// that a route's grouping and reminders can be tried out on the terminal.
pub const ROUTE_KEY: Option<&str> = Some("channel");

use crate::{ChatAdapter, ChatError, ChatEvent, MessageRef, Outbound, Platform};
use async_trait::async_trait;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::io::{AsyncBufRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, Mutex};

/// The terminal names people in pages without ids: it has no one to ping.
pub fn is_user_id(_id: &str) -> bool {
    false
}

/// The one channel the terminal has.
pub const CHANNEL: &str = "terminal";

type Input = Box<dyn AsyncBufRead + Send + Unpin>;
type Output = Box<dyn AsyncWrite + Send + Unpin>;

pub struct TerminalChat {
    user: String,
    next_id: AtomicU64,
    input: Mutex<Option<Input>>,
    output: Mutex<Output>,
}

impl TerminalChat {
    /// A terminal on this process' stdin and stdout.
    pub fn stdio(user: impl Into<String>, first_id: u64) -> Self {
        Self::new(
            user,
            first_id,
            Box::new(tokio::io::BufReader::new(tokio::io::stdin())),
            Box::new(tokio::io::stdout()),
        )
    }

    /// A terminal on any reader and writer. `first_id` continues the numbering of an earlier run,
    /// so that message ids kept in the store stay unambiguous across restarts.
    pub fn new(user: impl Into<String>, first_id: u64, input: Input, output: Output) -> Self {
        Self {
            user: user.into(),
            next_id: AtomicU64::new(first_id.max(1)),
            input: Mutex::new(Some(input)),
            output: Mutex::new(output),
        }
    }

    async fn write_line(&self, text: &str) -> Result<(), ChatError> {
        let mut output = self.output.lock().await;
        let written = async {
            output.write_all(text.as_bytes()).await?;
            output.write_all(b"\n").await?;
            output.flush().await
        };
        written.await.map_err(|e| ChatError::Unavailable(format!("terminal output: {e}")))
    }
}

#[async_trait]
impl ChatAdapter for TerminalChat {
    fn platform(&self) -> Platform {
        Platform::Terminal
    }

    async fn post(
        &self,
        _channel: Option<&str>,
        thread: Option<&MessageRef>,
        message: &Outbound,
    ) -> Result<MessageRef, ChatError> {
        let id = self.next_id.fetch_add(1, Ordering::SeqCst).to_string();
        self.write_line(&render::posted(&id, thread.map(|t| t.id.as_str()), message)).await?;
        Ok(MessageRef { channel: CHANNEL.to_owned(), id })
    }

    /// Every target is the one channel the terminal has.
    async fn channel_id(&self, _target: &str) -> Result<String, ChatError> {
        Ok(CHANNEL.to_owned())
    }

    async fn update(&self, message: &MessageRef, content: &Outbound) -> Result<(), ChatError> {
        self.write_line(&render::edited(&message.id, content)).await
    }

    async fn listen(&self, events: mpsc::Sender<ChatEvent>) -> Result<(), ChatError> {
        let input = self.input.lock().await.take().ok_or(ChatError::Closed)?;
        events::forward_lines(input, &self.user, events).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hagios_domain::{NotificationType, ObjectRef, State};
    use tokio::io::AsyncReadExt;

    fn terminal(input: &'static str) -> (TerminalChat, tokio::io::DuplexStream) {
        let (writer, reader) = tokio::io::duplex(64 * 1024);
        let chat = TerminalChat::new("local", 7, Box::new(input.as_bytes()), Box::new(writer));
        (chat, reader)
    }

    #[tokio::test]
    async fn posts_get_increasing_ids_and_replies_name_their_thread() {
        let (chat, mut screen) = terminal("");
        let parent = chat.post(None, None, &Outbound::Text("hello".into())).await.unwrap();
        let update = Outbound::Update {
            kind: NotificationType::Acknowledgement,
            state: State::Critical,
            object: ObjectRef::service("web01", "HTTP"),
            text: "acknowledged by alice".into(),
        };
        let reply = chat.post(None, Some(&parent), &update).await.unwrap();
        assert_eq!((parent.id.as_str(), reply.id.as_str()), ("7", "8"));
        drop(chat);
        let mut printed = String::new();
        screen.read_to_string(&mut printed).await.unwrap();
        assert!(printed.starts_with("[#7] hello\n"), "{printed}");
        assert!(printed.contains("[#8 in thread #7] ACKNOWLEDGEMENT web01!HTTP"), "{printed}");
    }

    #[tokio::test]
    async fn lines_become_commands_and_thread_prefixes_are_understood() {
        let (chat, _screen) = terminal("status\n\n#7 ack looking into it\n");
        let (tx, mut rx) = mpsc::channel(8);
        chat.listen(tx).await.unwrap();
        let first = rx.recv().await.unwrap();
        let second = rx.recv().await.unwrap();
        assert!(matches!(first, ChatEvent::Command { ref text, thread: None, .. } if text == "status"));
        match second {
            ChatEvent::Command { text, thread: Some(thread), user, .. } => {
                assert_eq!(
                    (text.as_str(), thread.id.as_str(), user.id.as_str()),
                    ("ack looking into it", "7", "local")
                );
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(rx.recv().await.is_none(), "blank lines are not commands");
    }
}
