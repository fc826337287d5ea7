//! Matrix over the client-server API (a small reqwest client, see ARCHITECTURE.md for why not
//! matrix-sdk): alerts are `m.room.message`s whose `m.thread` threads carry the incident's story
//! and whose root is kept current by `m.replace` edits; mentions of the bot, messages in direct
//! chats and ✅/🔁 reactions on alerts come in through a `/sync` long-poll. Each event carries its
//! id and each sync's `next_batch` follows its events as [`ChatEvent::Synced`]: the conversation
//! takes each event once and keeps the position in the store, in that order, so that the next
//! listener — after a restart, or on another bot after a failover — resumes where every event
//! before was taken, and one read again is not carried out twice. Exactly once: a notification's transaction id is derived from its id (and
//! those of the thread replies carrying what did not fit in the message from that), and the
//! homeserver answers a repeated `PUT …/send/m.room.message/{txnId}` with the first event.
//! End-to-end encrypted rooms are not supported: invitations to them are declined with a reason.
//! The federation is not trusted: invitations from homeservers outside `[matrix]
//! allowed_servers` (by default the bot's own) are declined with a reason, and what people of
//! other servers ask arrives marked foreign, for the conversation to refuse.

mod client;
mod config;
mod events;
mod render;

pub use config::MatrixConfig;

/// The `[matrix]` section, and this platform's name in logs, the audit log and the store.
pub const NAME: &str = "matrix";
/// A route names its Matrix room with `matrix_room`.
pub const ROUTE_KEY: Option<&str> = Some("matrix_room");

use crate::platform::Resume;
use crate::{Attachment, ChatAdapter, ChatError, ChatEvent, ChatUser, MessageRef, Outbound, Platform};
use async_trait::async_trait;
use client::{Client, CALL_TIMEOUT};
use hagios_domain::Permit;
use events::{Heard, Me};
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::{mpsc, OnceCell};

/// Matrix user ids: `@localpart:server`.
pub fn is_user_id(id: &str) -> bool {
    id.starts_with('@') && id.len() > 3 && id[1..].contains(':') && !id.contains(char::is_whitespace)
}

/// How the bot proves who it is; both are secrets and never printed.
#[derive(Clone)]
pub enum MatrixLogin {
    AccessToken(String),
    /// Logs in as [`MatrixConfig::user`] on the fixed device [`DEVICE_ID`].
    Password(String),
}

/// The device a password login uses, the same on every start: transaction ids are remembered
/// per device, so a post repeated after a restart is still recognised.
pub const DEVICE_ID: &str = "HAGIOS";
/// How long one `/sync` waits on the homeserver for something to happen.
const SYNC_WAIT: Duration = Duration::from_secs(30);
/// Only what hagios reads; presence, typing, receipts and account data stay away.
const SYNC_FILTER: &str = r#"{"presence":{"types":[]},"account_data":{"types":[]},"room":{"ephemeral":{"types":[]},"account_data":{"types":[]},"timeline":{"types":["m.room.message","m.reaction","m.room.encrypted","m.room.member"]},"state":{"types":["m.room.member"],"lazy_load_members":true}}}"#;
/// Transaction ids of posts that carry a notification: this prefix and the notification id.
pub const KEYED_TXN_PREFIX: &str = "hagios-notification-";
/// Messages whose last edit is remembered; forgetting only costs one repeated edit.
const EDITS_REMEMBERED: usize = 10_000;
/// Tries of a call the homeserver asks to slow down, where no caller would retry it: answering
/// an invitation (it shows in one sync only) and continuing a long message.
const PATIENT_TRIES: u32 = 5;
const ENCRYPTED_REFUSAL: &str =
    "hagios does not support end-to-end encrypted rooms: invite it to a room without encryption";

pub struct MatrixChat {
    client: Client,
    config: MatrixConfig,
    login: MatrixLogin,
    /// Where listening resumes: the `next_batch` the conversation kept last.
    resume: Arc<dyn Resume>,
    session: OnceCell<Session>,
    /// Room ids or aliases as configured → the room id, once joined.
    rooms: Mutex<HashMap<String, String>>,
    /// Whether a room is a direct chat (two members), until its members change.
    direct: Mutex<HashMap<String, bool>>,
    /// Display names by user id, for replies, Nagios comments and the audit log.
    names: Mutex<HashMap<String, String>>,
    /// Encrypted rooms already told that hagios cannot read them.
    told_encrypted: Mutex<HashSet<String>>,
    /// The last edit made to each message (a hash of its content): delivery repeats the edit of
    /// an incident's root when the thread reply after it failed, and under a rate limit the
    /// repeated edit would take the reply's turn every time.
    last_edits: Mutex<HashMap<String, u64>>,
    next_txn: AtomicU64,
    /// Asked right before each message or edit is sent.
    permit: Permit,
}

struct Session {
    token: String,
    me: Me,
}

impl MatrixChat {
    pub fn new(config: &MatrixConfig, login: MatrixLogin, resume: Arc<dyn Resume>) -> Result<Self, ChatError> {
        Ok(Self {
            client: Client::new(&config.homeserver)?,
            config: config.clone(),
            login,
            resume,
            session: OnceCell::new(),
            rooms: Mutex::default(),
            direct: Mutex::default(),
            names: Mutex::default(),
            told_encrypted: Mutex::default(),
            last_edits: Mutex::default(),
            next_txn: AtomicU64::new(0),
            permit: Permit::always(),
        })
    }

    /// Sends only while `permit` is granted (a bot sharing its database with others).
    pub fn permitted_by(mut self, permit: Permit) -> Self {
        self.permit = permit;
        self
    }

    /// `PUT /rooms/{room}/send/m.room.message/{txn}`, if this process may send now.
    async fn put_message(&self, room: &str, txn: &str, content: &Value) -> Result<Value, ChatError> {
        if !self.permit.granted() {
            return Err(crate::not_permitted());
        }
        self.call(Method::PUT, &["rooms", room, "send", "m.room.message", txn], Some(content)).await
    }

    /// Logs in (or checks the access token) and returns the bot's user id.
    pub async fn bot_user(&self) -> Result<&str, ChatError> {
        Ok(&self.session().await?.me.user_id)
    }

    async fn session(&self) -> Result<&Session, ChatError> {
        self.session.get_or_try_init(|| self.log_in()).await
    }

    async fn log_in(&self) -> Result<Session, ChatError> {
        let token = match &self.login {
            MatrixLogin::AccessToken(token) => token.clone(),
            MatrixLogin::Password(password) => {
                let body = json!({
                    "type": "m.login.password",
                    "identifier": { "type": "m.id.user", "user": self.config.user },
                    "password": password,
                    "device_id": DEVICE_ID,
                    "initial_device_display_name": "hagios",
                });
                let answer = self.client.call(Method::POST, None, &["login"], &[], Some(&body), CALL_TIMEOUT).await?;
                answer["access_token"].as_str().unwrap_or_default().to_owned()
            }
        };
        let whoami =
            self.client.call(Method::GET, Some(&token), &["account", "whoami"], &[], None, CALL_TIMEOUT).await?;
        let user_id = whoami["user_id"].as_str().unwrap_or_default().to_owned();
        if user_id != self.config.user {
            return Err(ChatError::Rejected(format!(
                "the Matrix login is for `{user_id}`, not [matrix] user `{}`: fix one of them",
                self.config.user
            )));
        }
        let profile = ["profile", user_id.as_str(), "displayname"];
        let profile = self.client.call(Method::GET, Some(&token), &profile, &[], None, CALL_TIMEOUT).await;
        let display_name = profile.ok().and_then(|answer| answer["displayname"].as_str().map(str::to_owned));
        Ok(Session { token, me: Me { user_id, display_name } })
    }

    async fn call(&self, method: Method, segments: &[&str], body: Option<&Value>) -> Result<Value, ChatError> {
        let token = &self.session().await?.token;
        self.client.call(method, Some(token), segments, &[], body, CALL_TIMEOUT).await
    }

    /// The id of `room` (an id or alias), joining it the first time: joining a room the bot is
    /// in already changes nothing, and an invited bot accepts the invitation this way.
    async fn room_id(&self, room: &str) -> Result<String, ChatError> {
        if let Some(id) = self.rooms.lock().expect("rooms").get(room) {
            return Ok(id.clone());
        }
        let joined = self.call(Method::POST, &["join", room], Some(&json!({}))).await?;
        let id = joined["room_id"].as_str().unwrap_or(room).to_owned();
        self.rooms.lock().expect("rooms").insert(room.to_owned(), id.clone());
        Ok(id)
    }

    async fn send(
        &self,
        channel: Option<&str>,
        thread: Option<&MessageRef>,
        mut content: Value,
        txn: &str,
    ) -> Result<MessageRef, ChatError> {
        let room = match thread {
            Some(root) => {
                render::in_thread(&mut content, &root.id);
                root.channel.clone()
            }
            None => self.room_id(channel.unwrap_or(&self.config.default_room)).await?,
        };
        let sent = self.put_message(&room, txn, &content).await?;
        let id =
            sent["event_id"].as_str().ok_or_else(|| ChatError::Rejected("the homeserver sent no event id".into()))?;
        Ok(MessageRef { channel: room, id: id.to_owned() })
    }

    /// Posts a message and then, as replies in its thread (the thread it is in, or a new one
    /// under it), the text that did not fit, in order. Each continuation's transaction id is the
    /// message's with its number, so a repeated post is recognised part by part and completes
    /// what an earlier try left out. A rate limit on a continuation is waited out here; any other
    /// failure fails the post, whose retry repeats nothing.
    async fn send_all(
        &self,
        channel: Option<&str>,
        thread: Option<&MessageRef>,
        rendered: render::Rendered,
        txn: &str,
    ) -> Result<MessageRef, ChatError> {
        let posted = self.send(channel, thread, rendered.content, txn).await?;
        let root = thread.unwrap_or(&posted);
        for (number, part) in rendered.continuation.into_iter().enumerate() {
            let txn = format!("{txn}~{}", number + 1);
            patiently(|| self.send(None, Some(root), part.clone(), &txn)).await?;
        }
        Ok(posted)
    }

    /// A transaction id used once: a retry of the same call is a new message (edits, replies).
    fn fresh_txn(&self) -> String {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
        format!("hagios-{nanos}-{}", self.next_txn.fetch_add(1, Ordering::Relaxed))
    }

    async fn sync(&self, since: Option<&str>, wait: Duration) -> Result<Value, ChatError> {
        let token = &self.session().await?.token;
        let wait_ms = wait.as_millis().to_string();
        let mut query = vec![("timeout", wait_ms.as_str()), ("filter", SYNC_FILTER)];
        query.extend(since.map(|since| ("since", since)));
        self.client.call(Method::GET, Some(token), &["sync"], &query, None, CALL_TIMEOUT + wait).await
    }

    /// Joins rooms the bot is invited to, and declines with a reason the inviter sees those it
    /// must not join: encrypted rooms, and invitations from homeservers it does not admit (or
    /// whose sender the homeserver did not say). An invitation shows in one sync only, so a rate
    /// limit is waited out here.
    async fn answer_invites(&self, sync: &Value, me: &Me) {
        for invite in events::invites(sync, me) {
            let room = invite.room.as_str();
            let inviter = invite.inviter.as_deref().unwrap_or("?");
            let refusal = self.invite_refusal(&invite);
            let leave = ["rooms", room, "leave"];
            let join = ["join", room];
            let (segments, body) = match &refusal {
                Some(reason) => {
                    tracing::warn!(room, inviter, reason, "declining an invitation");
                    (&leave[..], json!({ "reason": reason }))
                }
                None => {
                    tracing::info!(room, inviter, "joining a room the bot was invited to");
                    (&join[..], json!({}))
                }
            };
            let answered = patiently(|| self.call(Method::POST, segments, Some(&body))).await;
            if let Err(e) = answered {
                tracing::warn!(error = %e, room, "cannot answer an invitation");
            }
        }
    }

    /// Why the bot declines `invite`, if it does.
    fn invite_refusal(&self, invite: &events::Invite) -> Option<String> {
        if invite.encrypted {
            return Some(ENCRYPTED_REFUSAL.to_owned());
        }
        let allowed = self.config.allowed();
        let servers = if allowed.is_empty() { "no homeserver".to_owned() } else { allowed.join(" or ") };
        match invite.inviter.as_deref() {
            Some(inviter) if self.config.admits(inviter) => None,
            Some(inviter) => Some(format!(
                "hagios takes invitations only from people on {servers}, and {inviter} is not: \
                 ask its operators to add your homeserver to [matrix] allowed_servers"
            )),
            None => Some(format!(
                "hagios takes invitations only from people on {servers}, and the homeserver did not say who sent this one"
            )),
        }
    }

    /// The chat event behind what a person did (the event `event_id`), if it is meant for hagios.
    async fn event(&self, heard: Heard, event_id: Option<String>, me: &Me) -> Option<ChatEvent> {
        match heard {
            Heard::Text { room, sender, thread, text, addressed } => {
                if !addressed && !self.is_direct(&room).await {
                    return None;
                }
                let thread = thread.map(|id| MessageRef { channel: room.clone(), id });
                Some(ChatEvent::Command { user: self.user(&sender).await, channel: room, thread, text, event_id })
            }
            Heard::Reaction { room, sender, target, command } => {
                // Only reactions on the bot's own alerts (thread roots) count as buttons.
                let event = self.call(Method::GET, &["rooms", &room, "event", &target], None).await.ok()?;
                let is_alert = event["sender"] == me.user_id.as_str() && event["content"].get("m.relates_to").is_none();
                is_alert.then_some(())?;
                let message = MessageRef { channel: room, id: target };
                let command = command.to_owned();
                Some(ChatEvent::Button { user: self.user(&sender).await, message, command, event_id })
            }
            Heard::Encrypted { room } => {
                if self.told_encrypted.lock().expect("told").insert(room.clone()) {
                    let notice = render::message(&Outbound::Text(ENCRYPTED_REFUSAL.to_owned())).content;
                    if let Err(e) = self.send(Some(&room), None, notice, &self.fresh_txn()).await {
                        tracing::warn!(error = %e, %room, "cannot say that encrypted rooms are not supported");
                    }
                }
                None
            }
        }
    }

    /// A direct chat is a room of the bot and one person. `m.direct` and an invitation's
    /// `is_direct` are not asked: the inviter sets them, also on rooms of many people, where
    /// taking every message as a command would act on their chatter ("ack that one?").
    async fn is_direct(&self, room: &str) -> bool {
        if let Some(direct) = self.direct.lock().expect("direct").get(room) {
            return *direct;
        }
        match self.call(Method::GET, &["rooms", room, "joined_members"], None).await {
            Ok(members) => {
                let direct = members["joined"].as_object().is_some_and(|joined| joined.len() == 2);
                self.direct.lock().expect("direct").insert(room.to_owned(), direct);
                direct
            }
            Err(e) => {
                tracing::warn!(error = %e, room, "cannot tell whether a room is a direct chat");
                false
            }
        }
    }

    /// The person behind `user_id`, named by their display name where they set one. A user of a
    /// homeserver the bot does not admit is marked foreign and named by the id: asking their
    /// homeserver for a profile would be a request on a stranger's behalf, and a name of their
    /// choosing would only dress up the refusal.
    async fn user(&self, user_id: &str) -> ChatUser {
        if !self.config.admits(user_id) {
            return ChatUser { id: user_id.to_owned(), name: user_id.to_owned(), foreign: true };
        }
        let known = self.names.lock().expect("names").get(user_id).cloned();
        let name = match known {
            Some(name) => name,
            None => {
                let profile = self.call(Method::GET, &["profile", user_id, "displayname"], None).await;
                let name = profile
                    .ok()
                    .and_then(|answer| answer["displayname"].as_str().map(str::to_owned))
                    .filter(|name| !name.trim().is_empty())
                    .unwrap_or_else(|| user_id.to_owned());
                self.names.lock().expect("names").insert(user_id.to_owned(), name.clone());
                name
            }
        };
        ChatUser { id: user_id.to_owned(), name, foreign: false }
    }
}

/// `call` again after each rate limit the homeserver sets, waiting as long as it asks, up to
/// [`PATIENT_TRIES`] tries.
async fn patiently<T, Call, Answer>(mut call: Call) -> Result<T, ChatError>
where
    Call: FnMut() -> Answer,
    Answer: std::future::Future<Output = Result<T, ChatError>>,
{
    let mut tries = 1;
    loop {
        match call().await {
            Err(e) if tries < PATIENT_TRIES => {
                let Some(wait) = e.retry_after() else { return Err(e) };
                tokio::time::sleep(wait).await;
                tries += 1;
            }
            answer => return answer,
        }
    }
}

#[async_trait]
impl ChatAdapter for MatrixChat {
    fn platform(&self) -> Platform {
        Platform::Matrix
    }

    async fn post(
        &self,
        channel: Option<&str>,
        thread: Option<&MessageRef>,
        message: &Outbound,
    ) -> Result<MessageRef, ChatError> {
        self.send_all(channel, thread, render::message(message), &self.fresh_txn()).await
    }

    /// The transaction id is derived from `key`, and those of the message's continuation from it:
    /// a repeated post (after a crash, or a retry whose answer was lost) is recognised by the
    /// homeserver, which answers with the first events.
    async fn post_keyed(
        &self,
        channel: Option<&str>,
        thread: Option<&MessageRef>,
        message: &Outbound,
        key: &str,
    ) -> Result<MessageRef, ChatError> {
        self.send_all(channel, thread, render::message(message), &format!("{KEYED_TXN_PREFIX}{key}")).await
    }

    /// The file goes to the homeserver's media repository, then the comment and an `m.file`
    /// (or `m.image`) message pointing at it into the room or thread.
    async fn upload(
        &self,
        channel: Option<&str>,
        thread: Option<&MessageRef>,
        file: &Attachment,
        comment: &str,
    ) -> Result<MessageRef, ChatError> {
        let token = &self.session().await?.token;
        let uri = self.client.upload(token, &file.name, &file.mime, file.bytes.clone()).await?;
        let said = self.post(channel, thread, &Outbound::Text(comment.to_owned())).await?;
        let root = thread.cloned().unwrap_or(said);
        self.send(None, Some(&root), render::file(&uri, file), &self.fresh_txn()).await
    }

    /// The room id of a room id or alias, joining the room the first time (as a post would).
    async fn channel_id(&self, target: &str) -> Result<String, ChatError> {
        self.room_id(target).await
    }

    /// Joins `target` as the first post there would: a room the bot may not join is an error
    /// that says so.
    async fn is_member(&self, target: &str) -> Result<Option<bool>, ChatError> {
        self.room_id(target).await.map(|_| Some(true))
    }

    async fn update(&self, message: &MessageRef, content: &Outbound) -> Result<(), ChatError> {
        let edit = render::edit(&message.id, content);
        let fingerprint = {
            let mut hasher = std::hash::DefaultHasher::new();
            edit.to_string().hash(&mut hasher);
            hasher.finish()
        };
        if self.last_edits.lock().expect("edits").get(&message.id) == Some(&fingerprint) {
            return Ok(());
        }
        let txn = self.fresh_txn();
        self.put_message(&message.channel, &txn, &edit).await?;
        let mut last_edits = self.last_edits.lock().expect("edits");
        if last_edits.len() >= EDITS_REMEMBERED {
            last_edits.clear();
        }
        last_edits.insert(message.id.clone(), fingerprint);
        Ok(())
    }

    async fn listen(&self, events: mpsc::Sender<ChatEvent>) -> Result<(), ChatError> {
        let me = self.session().await?.me.clone();
        let mut since = self.resume.position().await?;
        if since.is_none() {
            // First start: what was said before hagios was there is not for it.
            let first = self.sync(None, Duration::ZERO).await?;
            self.answer_invites(&first, &me).await;
            since = first["next_batch"].as_str().map(str::to_owned);
            if let Some(position) = since.clone() {
                if events.send(ChatEvent::Synced { position }).await.is_err() {
                    return Ok(());
                }
            }
            tracing::info!("first Matrix sync: earlier history skipped");
        }
        loop {
            let sync = tokio::select! {
                sync = self.sync(since.as_deref(), SYNC_WAIT) => sync?,
                () = events.closed() => return Ok(()),
            };
            self.answer_invites(&sync, &me).await;
            for room in events::membership_changed(&sync) {
                self.direct.lock().expect("direct").remove(&room);
            }
            for (event_id, heard) in events::heard(&sync, &me) {
                let Some(event) = self.event(heard, event_id, &me).await else { continue };
                if events.send(event).await.is_err() {
                    return Ok(());
                }
            }
            // A long-poll that timed out with nothing new may answer the same position.
            if let Some(next) = sync["next_batch"].as_str().filter(|next| since.as_deref() != Some(*next)) {
                let position = next.to_owned();
                if events.send(ChatEvent::Synced { position: position.clone() }).await.is_err() {
                    return Ok(());
                }
                since = Some(position);
            }
        }
    }
}
