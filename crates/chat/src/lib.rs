//! Chat platforms behind one `ChatAdapter` trait. Each platform is a folder with the same file
//! names (`mod.rs`, `config.rs`, `render.rs`, `events.rs`), registered in `platform.rs`; the rest
//! of hagios sees only `ChatEvent`s in and platform-neutral `Outbound` messages out.

pub mod group;
pub mod measured;
#[macro_use]
pub mod platform;

// The chat platforms: each a folder of this crate, registered by one line here.
platforms! {
    Terminal => terminal::TerminalConfig,
    Slack => slack::SlackConfig,
    Matrix => matrix::MatrixConfig,
}

use async_trait::async_trait;
pub use hagios_domain::{AlertCard, Attachment, GroupCard, MessageRef};
use hagios_domain::{NotificationType, ObjectRef, State};
use std::time::Duration;
use tokio::sync::mpsc;

/// The person behind an event, as the platform identifies them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatUser {
    /// The platform's stable user id; roles are granted to this.
    pub id: String,
    /// A readable name for replies and the audit log.
    pub name: String,
    /// The account lives outside the places the platform's section admits (a Matrix homeserver
    /// not in `[matrix] allowed_servers`): hagios answers it only when a `[[user]]` entry names
    /// it, and otherwise refuses whatever it asks.
    pub foreign: bool,
}

/// Something a person did in chat that hagios must answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatEvent {
    /// Text addressed to the bot: a mention, a DM, a slash command, a terminal line.
    Command {
        user: ChatUser,
        channel: String,
        /// The thread it was typed in: commands there may leave out the incident's host/service.
        thread: Option<MessageRef>,
        text: String,
        /// The platform's id of the event, where the next leader may read it again (Matrix
        /// resumes from the position kept by [`ChatEvent::Synced`]): it is carried out once.
        event_id: Option<String>,
    },
    /// A button pressed on a message hagios posted; `command` is the chat command it stands for.
    /// `message` is where the answer goes: the pressed message, or the parent of its thread.
    Button { user: ChatUser, message: MessageRef, command: String, event_id: Option<String> },
    /// Every event before this point of the platform's stream was sent: where listening resumes
    /// (the [`platform::Resume`] of the next listener, on this bot or another).
    Synced { position: String },
}

/// A message hagios sends, rendered by each platform in its own way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outbound {
    Alert(AlertCard),
    /// A notification that joins an open incident, written into its thread.
    Update {
        kind: NotificationType,
        state: State,
        object: ObjectRef,
        text: String,
    },
    /// A plain reply to a person (command results, help, refusals).
    Text(String),
    /// A reminder in an incident's thread that the whole channel should see: Slack shows it in
    /// the channel too ("also sent to the channel"), Matrix sends it as a message that notifies.
    Reminder(String),
    /// The message of an alert group: its summary and members (`group::text`); while a member
    /// is open, an Ack button that acknowledges every open member.
    Group(GroupCard),
    /// Paging in an incident's thread: the only message hagios sends that mentions people, as a
    /// real mention of each (`<@U…>` on Slack, a pill and `m.mentions` on Matrix), or the whole
    /// channel when `everyone`; then `text`.
    Page {
        mentions: Vec<Mention>,
        everyone: bool,
        text: String,
    },
}

/// Someone a page calls: by name, and by their user id on the platform the page goes to, where
/// a `[[user]]` entry gives them one there (else the name is written out, and nobody is pinged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mention {
    pub name: String,
    pub user_id: Option<String>,
}

/// Why a chat call failed. Delivery retries what is `retryable()` and keeps the record.
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error("rate limited by the chat platform; retry after {0:?}")]
    RateLimited(Duration),
    #[error("chat platform unavailable: {0}")]
    Unavailable(String),
    #[error("chat platform refused the message: {0}")]
    Rejected(String),
    #[error("chat adapter is shut down")]
    Closed,
}

/// The refusal of a write this process may not make now (see [`platform::Place::permit`]):
/// retryable, since the leader, here or elsewhere, carries the work out.
pub fn not_permitted() -> ChatError {
    ChatError::Unavailable("this bot does not lead now; the leader posts".to_owned())
}

impl ChatError {
    pub fn retryable(&self) -> bool {
        matches!(self, ChatError::RateLimited(_) | ChatError::Unavailable(_))
    }

    /// How long to wait before the next try, when the platform said so.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ChatError::RateLimited(wait) => Some(*wait),
            _ => None,
        }
    }
}

/// A chat platform hagios can post to and listen on.
#[async_trait]
pub trait ChatAdapter: Send + Sync {
    /// Which platform this is (its name goes into logs, the audit log and the store).
    fn platform(&self) -> Platform;

    /// Posts a message into `channel` (the adapter's default channel when `None`), or into the
    /// thread under `thread` when given.
    async fn post(
        &self,
        channel: Option<&str>,
        thread: Option<&MessageRef>,
        message: &Outbound,
    ) -> Result<MessageRef, ChatError>;

    /// Like [`post`](Self::post), and the message carries `key` (a notification id) where the
    /// platform can keep it, so that [`find_keyed`](Self::find_keyed) can find it later.
    async fn post_keyed(
        &self,
        channel: Option<&str>,
        thread: Option<&MessageRef>,
        message: &Outbound,
        _key: &str,
    ) -> Result<MessageRef, ChatError> {
        self.post(channel, thread, message).await
    }

    /// The message posted earlier with `key` in `channel` (or in the thread under `thread`), if
    /// the platform can tell: asked after a crash between posting and committing, so that the
    /// retry does not post twice. Platforms that cannot look messages up answer `None`.
    async fn find_keyed(
        &self,
        _channel: Option<&str>,
        _thread: Option<&MessageRef>,
        _key: &str,
    ) -> Result<Option<MessageRef>, ChatError> {
        Ok(None)
    }

    /// Posts a question that waits for `yes` or `cancel` (the confirmation of `host add`, …) like
    /// [`post`](Self::post). Platforms with buttons add Yes and Cancel, standing for
    /// `yes REQUEST` and `cancel REQUEST`; elsewhere the text says what to type.
    async fn post_question(
        &self,
        channel: Option<&str>,
        thread: Option<&MessageRef>,
        text: &str,
        _request: u32,
    ) -> Result<MessageRef, ChatError> {
        self.post(channel, thread, &Outbound::Text(text.to_owned())).await
    }

    /// The platform's own id of `target`, a channel as configured: the channel that messages
    /// posted there carry in their [`MessageRef`]. Matrix resolves a room alias to the room id;
    /// platforms that keep the id they are given answer `target` itself.
    async fn channel_id(&self, target: &str) -> Result<String, ChatError> {
        Ok(target.to_owned())
    }

    /// Posts `file` with `comment` into `channel` (or the thread under `thread`). Platforms
    /// without files post the comment and, for a text file, the text itself.
    async fn upload(
        &self,
        channel: Option<&str>,
        thread: Option<&MessageRef>,
        file: &Attachment,
        comment: &str,
    ) -> Result<MessageRef, ChatError> {
        let text = match file.text() {
            Some(text) => format!("{comment}\n\n{text}"),
            None => format!("{comment}\n({}, {} bytes: this chat shows no files)", file.name, file.bytes.len()),
        };
        self.post(channel, thread, &Outbound::Text(text)).await
    }

    /// Whether hagios' bot is in `target` (a channel as configured) and so may post there, where
    /// the platform has membership; `None` where it has not (the terminal). Asked by the doctor.
    async fn is_member(&self, _target: &str) -> Result<Option<bool>, ChatError> {
        Ok(None)
    }

    /// Ok when the credentials that receive people's messages work, asked without starting to
    /// receive them. Asked by the doctor; platforms with one credential checked at connect have
    /// nothing more to ask.
    async fn can_listen(&self) -> Result<(), ChatError> {
        Ok(())
    }

    /// Replaces the content of a message hagios posted earlier.
    async fn update(&self, message: &MessageRef, content: &Outbound) -> Result<(), ChatError>;

    /// Feeds events from people into `events` until the platform closes or the receiver drops.
    async fn listen(&self, events: mpsc::Sender<ChatEvent>) -> Result<(), ChatError>;
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An open CRITICAL alert on `web01!HTTP` with one line of history, for the renderers' tests.
    pub fn card(output: &str) -> AlertCard {
        AlertCard {
            site: "local".into(),
            object: ObjectRef::service("web01", "HTTP"),
            state: State::Critical,
            kind: NotificationType::Problem,
            output: output.into(),
            long_output: String::new(),
            history: vec!["acknowledged (CRITICAL) by alice: on it".into()],
            open: true,
            time: 1_700_000_000,
        }
    }
}
