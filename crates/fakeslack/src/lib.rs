//! A fake Slack for tests, written from Slack's API documentation: the Web API methods hagios
//! uses over HTTP (`ok:false` error codes, 429 with `Retry-After`, outages) and the Socket Mode
//! WebSocket that `apps.connections.open` hands out (`hello`, envelopes that must be acked).
//! Tests inject what people do (mentions, DMs, `/hagios`, button presses, edits of their
//! messages) and what other bots post, and inspect what the bot posted and edited.

mod envelopes;
mod files;
mod socket;
mod web;

pub use files::UploadedFile;

use serde_json::Value;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch, Notify};

/// The bot token (`xoxb-…`) the fake accepts for Web API calls.
pub const BOT_TOKEN: &str = "xoxb-fake-bot-token";
/// The app-level token (`xapp-…`) the fake accepts for `apps.connections.open`.
pub const APP_TOKEN: &str = "xapp-fake-app-token";
/// The bot's own user id, as `auth.test` reports it and mentions address it.
pub const BOT_USER: &str = "U0BOT";
pub const BOT_ID: &str = "B0BOT";
pub const TEAM_ID: &str = "T0FAKE";
pub const APP_ID: &str = "A0FAKE";

/// How the fake answers the next matching Web API calls instead of serving them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// HTTP 429 with `Retry-After: seconds` and `{"ok":false,"error":"ratelimited"}`.
    RateLimited { retry_after_secs: u64 },
    /// An HTTP 5xx status, as during a Slack outage.
    Status(u16),
    /// HTTP 200 with `{"ok":false,"error":code}`.
    Error(&'static str),
}

/// A message in a channel: posted by the bot or injected as typed by a person.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub channel: String,
    pub ts: String,
    /// The parent's ts for a thread reply.
    pub thread_ts: Option<String>,
    /// The author: [`BOT_USER`] for the bot's messages; empty for an integration's post, which
    /// Slack attributes to its `bot_id` only.
    pub user: String,
    /// The bot that posted it, when another app or an integration did.
    pub bot_id: Option<String>,
    pub text: String,
    pub blocks: Option<Value>,
    pub metadata: Option<Value>,
    /// How often `chat.update` replaced the content.
    pub edits: u32,
    /// A thread reply also shown in the channel (`reply_broadcast`).
    pub broadcast: bool,
    /// The files the message shares (`files.completeUploadExternal`), as Slack shows them.
    pub files: Vec<Value>,
    /// The token the bot posted it with (empty for others' messages): [`BOT_TOKEN`], or a
    /// variant `BOT_TOKEN-NAME` that tells which of several processes posted.
    pub token: String,
}

impl Message {
    pub fn is_reply(&self) -> bool {
        self.thread_ts.as_ref().is_some_and(|parent| parent != &self.ts)
    }

    pub fn by_bot(&self) -> bool {
        self.user == BOT_USER
    }

    /// The text its sections show, joined in order (a long text is cut into sections anywhere),
    /// or the plain `text` of a message without blocks.
    pub fn shown_text(&self) -> String {
        let sections: Vec<&str> = self
            .blocks
            .as_ref()
            .and_then(Value::as_array)
            .map(|blocks| blocks.iter().filter_map(|block| block["text"]["text"].as_str()).collect())
            .unwrap_or_default();
        if sections.is_empty() {
            self.text.clone()
        } else {
            sections.concat()
        }
    }

    /// The message as Slack's API shows it (`conversations.history`, `chat.postMessage`).
    fn to_json(&self, with_metadata: bool) -> Value {
        let mut json = serde_json::json!({
            "type": "message",
            "user": self.user,
            "text": self.text,
            "ts": self.ts,
            "team": TEAM_ID,
        });
        if self.by_bot() {
            json["bot_id"] = BOT_ID.into();
            json["app_id"] = APP_ID.into();
        } else if let Some(bot_id) = &self.bot_id {
            json["bot_id"] = bot_id.clone().into();
            json["app_id"] = app_of(bot_id).into();
        }
        if self.user.is_empty() {
            json.as_object_mut().expect("object").remove("user");
            json["subtype"] = "bot_message".into();
        }
        if let Some(thread_ts) = &self.thread_ts {
            json["thread_ts"] = thread_ts.clone().into();
        }
        if self.broadcast {
            json["subtype"] = "thread_broadcast".into();
        }
        if !self.files.is_empty() {
            json["files"] = self.files.clone().into();
            json["upload"] = true.into();
        }
        if let Some(blocks) = &self.blocks {
            json["blocks"] = blocks.clone();
        }
        if self.edits > 0 {
            json["edited"] = serde_json::json!({ "user": self.user, "ts": self.ts });
        }
        if with_metadata {
            if let Some(metadata) = &self.metadata {
                json["metadata"] = metadata.clone();
            }
        }
        json
    }
}

/// One acknowledgement the client sent over Socket Mode.
#[derive(Debug, Clone, PartialEq)]
pub struct Ack {
    pub envelope_id: String,
    /// The `payload` the client answered with (slash commands and some interactions may).
    pub payload: Option<Value>,
    /// Whether it arrived within Slack's 3 seconds.
    pub in_time: bool,
}

/// An account of the workspace: a person's, or a bot user's (with its bot id).
#[derive(Debug, Clone)]
struct Account {
    name: String,
    bot_id: Option<String>,
}

/// The app a bot belongs to: the fake names it after the bot (`B0RELAY` → `A0RELAY`).
fn app_of(bot_id: &str) -> String {
    format!("A{}", bot_id.strip_prefix('B').unwrap_or(bot_id))
}

#[derive(Default)]
struct State {
    /// Channel id → name; `chat.postMessage` accepts either.
    channels: Vec<(String, String)>,
    /// Channels the bot was not invited into: posts there fail with `not_in_channel`.
    outside: HashSet<String>,
    /// User id → the account, for `users.info`.
    users: HashMap<String, Account>,
    messages: Vec<Message>,
    next_ts: u64,
    failures: VecDeque<(String, Failure)>,
    /// Outages: calls of the method (`"*"` for any) fail this way until the instant.
    outages: Vec<(String, Failure, Instant)>,
    /// Socket Mode connections are refused until then.
    socket_mode_down_until: Option<Instant>,
    calls: HashMap<String, usize>,
    rate_limited: usize,
    tickets: Vec<String>,
    connections: Vec<mpsc::UnboundedSender<String>>,
    /// Envelopes for which no Socket Mode connection was open, or whose connection closed before
    /// they were acked: sent on the next connection, as Slack retries them.
    waiting: VecDeque<String>,
    /// Slack's "about one message per second per channel" for `chat.postMessage`, when enforced.
    post_interval: Option<Duration>,
    last_post: HashMap<String, Instant>,
    /// When each post the limit let through arrived, per channel.
    accepted_posts: Vec<(String, Instant)>,
    acks: Vec<Ack>,
    next_envelope: u64,
    /// Files apps started to upload, in order.
    uploads: Vec<UploadedFile>,
}

impl State {
    fn channel_id(&self, id_or_name: &str) -> Option<String> {
        let name = id_or_name.trim_start_matches('#');
        self.channels.iter().find(|(id, n)| id == id_or_name || n == name).map(|(id, _)| id.clone())
    }

    /// The failure an ongoing outage imposes on a call of `method`, if any.
    fn outage_for(&self, method: &str) -> Option<Failure> {
        let now = Instant::now();
        self.outages
            .iter()
            .find(|(affected, _, until)| (affected == method || affected == "*") && now < *until)
            .map(|(_, failure, _)| failure.clone())
    }

    fn socket_mode_down(&self) -> bool {
        self.socket_mode_down_until.is_some_and(|until| Instant::now() < until)
    }

    fn new_ts(&mut self) -> String {
        self.next_ts += 1;
        format!("1700000000.{:06}", self.next_ts)
    }
}

/// A running fake Slack on loopback; dropped with the test's runtime.
#[derive(Clone)]
pub struct FakeSlack {
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<State>,
    changed: Notify,
    /// Bumped to make every open Socket Mode connection hang up.
    hang_up: watch::Sender<u64>,
    http_base: String,
    ws_base: String,
}

impl FakeSlack {
    /// Starts a fake workspace with the given channels (`(id, name)`, e.g. `("C0ALERTS", "alerts")`).
    pub async fn start(channels: &[(&str, &str)]) -> FakeSlack {
        let http = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the fake Web API");
        let ws = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the fake Socket Mode");
        let hagios = Account { name: "hagios".to_owned(), bot_id: Some(BOT_ID.to_owned()) };
        let state = State {
            channels: channels.iter().map(|(id, name)| (id.to_string(), name.to_string())).collect(),
            users: HashMap::from([(BOT_USER.to_owned(), hagios)]),
            ..State::default()
        };
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            changed: Notify::new(),
            hang_up: watch::Sender::new(0),
            http_base: format!("http://{}", http.local_addr().expect("address")),
            ws_base: format!("ws://{}", ws.local_addr().expect("address")),
        });
        let fake = FakeSlack { shared };
        tokio::spawn(web::serve(http, fake.clone()));
        tokio::spawn(socket::serve(ws, fake.clone()));
        fake
    }

    /// The Web API base URL, what `[slack] api_url` points at (`http://127.0.0.1:N/api`).
    pub fn api_url(&self) -> String {
        format!("{}/api", self.shared.http_base)
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.shared.state.lock().expect("fake slack state")
    }

    fn changed(&self) {
        self.shared.changed.notify_waiters();
    }

    /// Makes the next `count` calls of `method` (`"*"` for any method) fail with `failure`.
    pub fn fail_next(&self, method: &str, count: usize, failure: Failure) {
        let mut state = self.state();
        for _ in 0..count {
            state.failures.push_back((method.to_owned(), failure.clone()));
        }
    }

    /// An outage rather than a count of bad answers: for `duration` from now, every call of
    /// `method` (`"*"` for any) fails with `failure` (429s included in [`FakeSlack::rate_limited`]).
    pub fn fail_for(&self, method: &str, duration: Duration, failure: Failure) {
        self.state().outages.push((method.to_owned(), failure, Instant::now() + duration));
    }

    /// Ends every outage begun by [`FakeSlack::fail_for`] now.
    pub fn end_outages(&self) {
        self.state().outages.clear();
        self.changed();
    }

    /// Hangs up every Socket Mode connection now and refuses new ones for `duration`, as when
    /// Slack's Socket Mode endpoint goes away; `apps.connections.open` keeps handing out tickets.
    pub fn drop_socket_mode_for(&self, duration: Duration) {
        self.state().socket_mode_down_until = Some(Instant::now() + duration);
        self.shared.hang_up.send_modify(|generation| *generation += 1);
        self.changed();
    }

    /// Takes the bot out of `channel` (an id), as if never invited: `chat.postMessage` there
    /// answers `not_in_channel` and `conversations.info` says `is_member: false`.
    pub fn remove_bot_from(&self, channel: &str) {
        self.state().outside.insert(channel.to_owned());
    }

    /// Makes `users.info` know the person `id` by `display_name`.
    pub fn add_user(&self, id: &str, display_name: &str) {
        self.state().users.insert(id.to_owned(), Account { name: display_name.to_owned(), bot_id: None });
    }

    /// Installs another app whose bot user is `id` (`U…`) with the bot id `bot_id` (`B…`):
    /// `users.info` says `is_bot`, and what it posts carries its `bot_id`.
    pub fn add_bot(&self, id: &str, bot_id: &str, name: &str) {
        self.state().users.insert(id.to_owned(), Account { name: name.to_owned(), bot_id: Some(bot_id.to_owned()) });
    }

    /// Answers `chat.postMessage` with 429 when a channel gets posts closer together than
    /// `interval`, as Slack does for bursts above about one message per second per channel.
    pub fn limit_posts_per_channel(&self, interval: Duration) {
        self.state().post_interval = Some(interval);
    }

    /// The channel and arrival time of every `chat.postMessage` let through while the
    /// per-channel limit is on, for measuring a client's rate.
    pub fn accepted_posts(&self) -> Vec<(String, std::time::Instant)> {
        self.state().accepted_posts.clone()
    }

    /// Every message in every channel, in posting order.
    pub fn messages(&self) -> Vec<Message> {
        self.state().messages.clone()
    }

    /// The messages the bot posted.
    pub fn bot_messages(&self) -> Vec<Message> {
        self.messages().into_iter().filter(Message::by_bot).collect()
    }

    /// Every file an app started to upload, with its bytes once posted and where it was shared.
    pub fn files(&self) -> Vec<UploadedFile> {
        self.state().uploads.clone()
    }

    /// How often `method` was called, failed calls included.
    pub fn calls(&self, method: &str) -> usize {
        self.state().calls.get(method).copied().unwrap_or(0)
    }

    /// How many calls were answered with 429.
    pub fn rate_limited(&self) -> usize {
        self.state().rate_limited
    }

    pub fn acks(&self) -> Vec<Ack> {
        self.state().acks.clone()
    }

    /// Waits until `done` holds for the fake's state, or panics after `timeout` with `what`.
    pub async fn wait_until(&self, what: &str, timeout: Duration, done: impl Fn(&FakeSlack) -> bool) {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let changed = self.shared.changed.notified();
            if done(self) {
                return;
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() && !done(self) {
                panic!("fake slack: timed out waiting for {what}; messages: {:#?}", self.messages());
            }
        }
    }

    /// Waits for a Socket Mode client to connect.
    pub async fn wait_connected(&self, timeout: Duration) {
        self.wait_until("a Socket Mode connection", timeout, |fake| {
            let mut state = fake.state();
            state.connections.retain(|connection| !connection.is_closed());
            !state.connections.is_empty()
        })
        .await;
    }

    /// Waits for the client to ack `envelope_id` and returns the ack.
    pub async fn wait_ack(&self, envelope_id: &str, timeout: Duration) -> Ack {
        let find = |fake: &FakeSlack| fake.acks().into_iter().find(|ack| ack.envelope_id == envelope_id);
        self.wait_until(&format!("the ack of {envelope_id}"), timeout, |fake| find(fake).is_some()).await;
        find(self).expect("ack present")
    }

    /// A person mentions the bot (`<@U0BOT> text`) in `channel`, in the thread of `thread_ts` if
    /// given. Returns the envelope id.
    pub fn mention(&self, user: &str, channel: &str, thread_ts: Option<&str>, text: &str) -> String {
        let text = format!("<@{BOT_USER}> {text}");
        let ts = self.add_message(user, None, channel, thread_ts, &text);
        self.deliver("events_api", false, |envelope| {
            envelopes::app_mention(user, channel, &ts, thread_ts, &text, envelope)
        })
    }

    /// The bot user `bot` of another app (see [`FakeSlack::add_bot`]) posts a message mentioning
    /// the bot, as an app does with `chat.postMessage`: Slack sends an `app_mention` carrying the
    /// bot user as `user`, its `bot_id` and `bot_profile`, and no `client_msg_id`. Returns the
    /// envelope id.
    pub fn bot_mention(&self, bot: &str, channel: &str, thread_ts: Option<&str>, text: &str) -> String {
        let bot_id = self.state().users.get(bot).and_then(|account| account.bot_id.clone());
        let bot_id = bot_id.unwrap_or_else(|| panic!("{bot} is not a bot: add it with add_bot first"));
        let text = format!("<@{BOT_USER}> {text}");
        let ts = self.add_message(bot, Some(&bot_id), channel, thread_ts, &text);
        let app_id = app_of(&bot_id);
        self.deliver("events_api", false, |envelope| {
            let mention = envelopes::app_mention(bot, channel, &ts, thread_ts, &text, envelope);
            envelopes::bot_mention(mention, &bot_id, &app_id)
        })
    }

    /// An integration (an incoming webhook, a classic bot) posts as `username` a message
    /// mentioning the bot: a `bot_message` with `bot_id` and no `user`. Slack documents
    /// `bot_message` events of that shape; whether it also sends such an `app_mention` it does not
    /// say, so the fake sends the worst case: an `app_mention` of the same shape. Returns the
    /// envelope id.
    pub fn integration_mention(&self, bot_id: &str, username: &str, channel: &str, text: &str) -> String {
        let text = format!("<@{BOT_USER}> {text}");
        let ts = self.add_message("", Some(bot_id), channel, None, &text);
        self.deliver("events_api", false, |envelope| {
            envelopes::integration_mention(bot_id, username, channel, &ts, &text, envelope)
        })
    }

    /// The author of message `ts` in `channel` changes its text to `text` (the whole new text).
    /// Slack tells the app what its subscriptions cover: in a direct message channel (`D…`) a
    /// `message` event with `subtype: message_changed`, the new and the previous message; in a
    /// channel, when the new text mentions the bot, the `app_mention` again — the same `ts`, the
    /// new text, and `edited`. Returns the envelope id, or `None` when Slack sends nothing.
    pub fn edit_message(&self, channel: &str, ts: &str, text: &str) -> Option<String> {
        let (before, after, event_ts) = {
            let mut state = self.state();
            let event_ts = state.new_ts();
            let message = state
                .messages
                .iter_mut()
                .find(|m| m.channel == channel && m.ts == ts)
                .unwrap_or_else(|| panic!("no message {ts} in {channel}"));
            let before = message.to_json(false);
            message.text = text.to_owned();
            message.edits += 1;
            let mut after = message.to_json(false);
            after["edited"]["ts"] = event_ts.clone().into();
            (before, after, event_ts)
        };
        self.changed();
        if channel.starts_with('D') {
            Some(self.deliver("events_api", false, |envelope| {
                envelopes::message_changed(channel, &event_ts, &after, &before, envelope)
            }))
        } else if text.contains(&format!("<@{BOT_USER}>")) {
            Some(self.deliver("events_api", false, |envelope| {
                envelopes::edited_mention(channel, &event_ts, &after, envelope)
            }))
        } else {
            None
        }
    }

    /// A person writes `text` to the bot in the direct message channel `channel` (`D…`).
    pub fn direct_message(&self, user: &str, channel: &str, text: &str) -> String {
        let ts = self.add_message(user, None, channel, None, text);
        self.deliver("events_api", false, |envelope| envelopes::direct_message(user, channel, &ts, text, envelope))
    }

    /// A person types `/hagios text` in `channel`.
    pub fn slash_command(&self, user: &str, channel: &str, text: &str) -> String {
        let response_url = format!("{}/commands/response", self.shared.http_base);
        self.deliver("slash_commands", true, |envelope| {
            envelopes::slash_command(user, channel, text, &response_url, envelope)
        })
    }

    /// A person presses the button with `action_id` on the bot's message `ts`. Panics when the
    /// message has no such button: a test asking for it is wrong.
    pub fn press_button(&self, user: &str, channel: &str, ts: &str, action_id: &str) -> String {
        let message = self
            .messages()
            .into_iter()
            .find(|m| m.channel == channel && m.ts == ts)
            .unwrap_or_else(|| panic!("no message {ts} in {channel}"));
        let (block_id, button) = envelopes::find_button(message.blocks.as_ref(), action_id)
            .unwrap_or_else(|| panic!("message {ts} has no button {action_id}: {:?}", message.blocks));
        let response_url = format!("{}/actions/response", self.shared.http_base);
        let message_json = message.to_json(false);
        self.deliver("interactive", false, |envelope| {
            envelopes::block_actions(user, channel, &message_json, &block_id, &button, &response_url, envelope)
        })
    }

    /// Stores a message someone other than the bot posted and returns its ts.
    fn add_message(
        &self,
        user: &str,
        bot_id: Option<&str>,
        channel: &str,
        thread_ts: Option<&str>,
        text: &str,
    ) -> String {
        let mut state = self.state();
        let ts = state.new_ts();
        state.messages.push(Message {
            channel: channel.to_owned(),
            ts: ts.clone(),
            thread_ts: thread_ts.map(str::to_owned),
            user: user.to_owned(),
            bot_id: bot_id.map(str::to_owned),
            text: text.to_owned(),
            blocks: None,
            metadata: None,
            edits: 0,
            broadcast: false,
            files: Vec::new(),
            token: String::new(),
        });
        drop(state);
        self.changed();
        ts
    }

    /// Envelopes waiting for a Socket Mode connection.
    pub fn waiting_envelopes(&self) -> usize {
        self.state().waiting.len()
    }

    /// Sends an envelope over the first open connection, or keeps it for the next one.
    fn send_envelope(&self, envelope: String) {
        let mut state = self.state();
        state.connections.retain(|connection| !connection.is_closed());
        match state.connections.first() {
            Some(connection) => connection.send(envelope).expect("socket mode connection open"),
            None => state.waiting.push_back(envelope),
        }
    }

    /// Sends an envelope of `kind` over the first open connection (or the next to open, should
    /// none be: Slack retries an event it could not deliver) and returns its id.
    fn deliver(&self, kind: &str, accepts_response_payload: bool, payload: impl FnOnce(&str) -> Value) -> String {
        let mut state = self.state();
        state.next_envelope += 1;
        let envelope_id = format!("{:08x}-fake-envelope", state.next_envelope);
        let envelope = serde_json::json!({
            "envelope_id": envelope_id,
            "type": kind,
            "accepts_response_payload": accepts_response_payload,
            "retry_attempt": 0,
            "retry_reason": "",
            "payload": payload(&envelope_id),
        });
        drop(state);
        self.send_envelope(envelope.to_string());
        envelope_id
    }
}
