//! Slack over Socket Mode and the Web API (slack-morphism): alerts are Block Kit messages whose
//! threads carry the incident's story, people's mentions, DMs, `/hagios` and button presses come
//! in as chat events. Events are acked at once; the work behind them runs in other tasks.

mod config;
mod events;
mod render;

pub use config::{SlackConfig, SlackTokens};

/// The `[slack]` section, and this platform's name in logs, the audit log and the store.
pub const NAME: &str = "slack";
/// A route names its Slack channel with `channel`.
pub const ROUTE_KEY: Option<&str> = Some("channel");

use crate::{Attachment, ChatAdapter, ChatError, ChatEvent, MessageRef, Outbound, Platform};
use async_trait::async_trait;
use hagios_domain::Permit;
use render::Rendered;
use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::*;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, OnceCell};

/// Slack user ids: `U…`, or `W…` on Enterprise Grid.
pub fn is_user_id(id: &str) -> bool {
    id.len() > 1
        && id.starts_with(['U', 'W'])
        && id.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

pub struct SlackChat {
    client: Arc<SlackHyperClient>,
    /// Spaces posts per channel; shared with the background posts of long outputs.
    pacer: Arc<Pacer>,
    bot_token: SlackApiToken,
    app_token: SlackApiToken,
    default_channel: String,
    socket_connections: u32,
    /// The bot's user id from `auth.test`, to strip its mention and ignore its own messages.
    bot_user: OnceCell<String>,
    /// Channel ids by name, as `conversations.list` gave them.
    channel_ids: std::sync::Mutex<HashMap<String, String>>,
    /// Asked right before each post and edit leaves.
    permit: Permit,
}

/// What the Socket Mode callbacks reach through slack-morphism's user state.
struct EventSink {
    /// Events in the order Slack delivered them, to the task that looks up their authors.
    arrived: mpsc::UnboundedSender<ChatEvent>,
    bot_user: String,
}

/// A Slack account as `users.info` describes it.
#[derive(Debug, Clone)]
struct Account {
    name: String,
    bot: bool,
}

/// The longest a look-up of an event's author may hold up the events after it.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

impl SlackChat {
    /// The adapter `config` describes, posting at most one message per second per channel.
    pub fn new(config: &SlackConfig, tokens: SlackTokens) -> Result<Self, ChatError> {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| ChatError::Unavailable(format!("cannot load the system's TLS roots: {e}")))?
            .https_or_http()
            .enable_http1()
            .build();
        // slack-morphism joins `/method` on; a trailing slash would make `//method`.
        let api_url = config.api_url.trim_end_matches('/');
        let connector = SlackClientHyperConnector::with_connector(connector).with_slack_api_url(api_url);
        Ok(Self {
            client: Arc::new(SlackClient::new(connector)),
            pacer: Arc::new(Pacer::new(POST_INTERVAL)),
            bot_token: SlackApiToken::new(SlackApiTokenValue(tokens.bot)),
            app_token: SlackApiToken::new(SlackApiTokenValue(tokens.app)),
            default_channel: config.default_channel.clone(),
            socket_connections: config.socket_connections.max(1),
            bot_user: OnceCell::new(),
            channel_ids: std::sync::Mutex::default(),
            permit: Permit::always(),
        })
    }

    /// Posts and edits only while `permit` is granted (a bot sharing its database with others).
    pub fn permitted_by(mut self, permit: Permit) -> Self {
        self.permit = permit;
        self
    }

    /// Posts as fast as Slack answers, without spacing them per channel (bursts may draw 429s).
    pub fn unpaced(mut self) -> Self {
        self.pacer = Arc::new(Pacer::new(Duration::ZERO));
        self
    }

    /// Checks the bot token with `auth.test` and returns the bot's user id.
    pub async fn bot_user(&self) -> Result<&str, ChatError> {
        let id = self
            .bot_user
            .get_or_try_init(|| async {
                let me = self.client.open_session(&self.bot_token).auth_test().await.map_err(chat_error)?;
                Ok::<_, ChatError>(me.user_id.0)
            })
            .await?;
        Ok(id)
    }

    fn known_channel(&self, name: &str) -> Option<String> {
        self.channel_ids.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).get(name).cloned()
    }

    fn channel_or_default<'a>(&'a self, channel: Option<&'a str>) -> &'a str {
        channel.unwrap_or(&self.default_channel)
    }

    async fn post_with_metadata(
        &self,
        channel: Option<&str>,
        thread: Option<&MessageRef>,
        rendered: Rendered,
        metadata: Option<SlackMessageMetadata>,
    ) -> Result<MessageRef, ChatError> {
        let channel = thread.map(|t| t.channel.as_str()).unwrap_or_else(|| self.channel_or_default(channel));
        let thread_ts = thread.map(|t| SlackTs(t.id.clone()));
        let to = Destination { client: &self.client, token: &self.bot_token, pacer: &self.pacer, permit: &self.permit };
        let posted = post_rendered(&to, channel, thread_ts.as_ref(), &rendered, metadata).await?;
        if !rendered.overflow.is_empty() {
            // In the background: the caller commits the message right away, so that a person
            // answering in its thread at once finds the incident.
            let (client, token, pacer) = (self.client.clone(), self.bot_token.clone(), self.pacer.clone());
            let permit = self.permit.clone();
            let (parent, thread_ts) = (posted.clone(), thread_ts.unwrap_or_else(|| SlackTs(posted.id.clone())));
            tokio::spawn(async move {
                let to = Destination { client: &client, token: &token, pacer: &pacer, permit: &permit };
                post_overflow(&to, &parent, &thread_ts, &rendered.overflow).await
            });
        }
        Ok(posted)
    }
}

/// Where posts go, and what they wait for.
struct Destination<'a> {
    client: &'a SlackHyperClient,
    token: &'a SlackApiToken,
    pacer: &'a Pacer,
    permit: &'a Permit,
}

async fn post_rendered(
    to: &Destination<'_>,
    channel: &str,
    thread: Option<&SlackTs>,
    rendered: &Rendered,
    metadata: Option<SlackMessageMetadata>,
) -> Result<MessageRef, ChatError> {
    let mut content = content(rendered)?;
    content.metadata = metadata;
    let mut request = SlackApiChatPostMessageRequest::new(channel.into(), content);
    request.thread_ts = thread.cloned();
    request.reply_broadcast = (rendered.broadcast && thread.is_some()).then_some(true);
    to.pacer.wait_turn(channel).await;
    // After the wait for the channel's turn, which may be long: the lead may be gone by now.
    if !to.permit.granted() {
        return Err(crate::not_permitted());
    }
    let posted = to.client.open_session(to.token).chat_post_message(&request).await.map_err(chat_error)?;
    to.pacer.posted(channel, &posted.channel.0);
    Ok(MessageRef { channel: posted.channel.0, id: posted.ts.0 })
}

/// Text that did not fit the message goes into its thread; a failure here must not fail the
/// message itself, or a retry would post it twice.
async fn post_overflow(to: &Destination<'_>, parent: &MessageRef, thread_ts: &SlackTs, overflow: &[String]) {
    for chunk in overflow {
        let rendered = render::render(&Outbound::Text(chunk.clone()));
        if let Err(e) = post_rendered(to, &parent.channel, Some(thread_ts), &rendered, None).await {
            tracing::warn!(error = %e, channel = %parent.channel, "cannot post the rest of a long message");
            return;
        }
    }
}

/// Slack allows about one `chat.postMessage` per second per channel.
const POST_INTERVAL: Duration = Duration::from_secs(1);
/// Channels per `conversations.list` page; Slack recommends no more than 200.
const CHANNELS_PER_PAGE: u16 = 200;

/// Gives each channel's posts their turn, one per interval, so that a burst queues here instead
/// of drawing 429s; channels do not wait for each other.
struct Pacer {
    /// Zero turns pacing off.
    interval: Duration,
    turns: std::sync::Mutex<Turns>,
}

#[derive(Default)]
struct Turns {
    /// The earliest moment the next post to a channel (by id) may go.
    next_free: HashMap<String, tokio::time::Instant>,
    /// Channel names seen in configuration → the ids Slack answered with.
    ids: HashMap<String, String>,
}

impl Pacer {
    fn new(interval: Duration) -> Self {
        Self { interval, turns: std::sync::Mutex::default() }
    }

    async fn wait_turn(&self, channel: &str) {
        if self.interval.is_zero() {
            return;
        }
        let turn = {
            let mut turns = self.turns.lock().expect("pacer");
            let key = turns.ids.get(channel).cloned().unwrap_or_else(|| channel.to_owned());
            let now = tokio::time::Instant::now();
            let turn = turns.next_free.get(&key).map_or(now, |free| (*free).max(now));
            turns.next_free.insert(key, turn + self.interval);
            turn
        };
        tokio::time::sleep_until(turn).await;
    }

    /// Records that a post to `given` (an id, or a name) reached channel `id`: the channel's next
    /// turn is a full interval after now, since Slack counted the post when it arrived, and a
    /// name shares its id's turns from now on.
    fn posted(&self, given: &str, id: &str) {
        if self.interval.is_zero() {
            return;
        }
        let mut turns = self.turns.lock().expect("pacer");
        let mut free = tokio::time::Instant::now() + self.interval;
        if given != id {
            free = turns.next_free.remove(given).map_or(free, |reserved| reserved.max(free));
            turns.ids.insert(given.to_owned(), id.to_owned());
        }
        let next = turns.next_free.entry(id.to_owned()).or_insert(free);
        *next = (*next).max(free);
    }
}

/// The Slack message metadata type hagios tags its notification messages with.
const METADATA_EVENT_TYPE: &str = "hagios_notification";
/// How far back a lookup after a crash searches; the lost message is among the newest.
const LOOKUP_LIMIT: u16 = 200;

fn key_metadata(key: &str) -> SlackMessageMetadata {
    SlackMessageMetadata {
        event_type: METADATA_EVENT_TYPE.to_owned(),
        event_payload: Some([("notification_id".to_owned(), key.to_owned())].into()),
    }
}

fn content(rendered: &Rendered) -> Result<SlackMessageContent, ChatError> {
    let blocks: Vec<SlackBlock> = serde_json::from_value(serde_json::Value::Array(rendered.blocks.clone()))
        .map_err(|e| ChatError::Rejected(format!("hagios built blocks Slack would refuse: {e}")))?;
    Ok(SlackMessageContent::new().with_text(rendered.text.clone()).with_blocks(blocks))
}

/// Sorts Slack's failures into what delivery retries and what it gives up on. Messages carry
/// error codes and statuses only: Slack's bodies and the tokens never reach logs or chat.
fn chat_error(error: SlackClientError) -> ChatError {
    match error {
        SlackClientError::RateLimitError(e) => ChatError::RateLimited(e.retry_after.unwrap_or(Duration::from_secs(1))),
        SlackClientError::ApiError(e) => match e.code.as_str() {
            "ratelimited" => ChatError::RateLimited(Duration::from_secs(1)),
            "fatal_error" | "internal_error" | "service_unavailable" | "request_timeout" => {
                ChatError::Unavailable(format!("Slack answered `{}`", e.code))
            }
            code => ChatError::Rejected(explain(code)),
        },
        SlackClientError::HttpError(e) if e.status_code.is_server_error() || e.status_code.as_u16() == 408 => {
            ChatError::Unavailable(format!("Slack answered HTTP {}", e.status_code))
        }
        SlackClientError::HttpError(e) => ChatError::Rejected(format!("Slack answered HTTP {}", e.status_code)),
        SlackClientError::HttpProtocolError(_)
        | SlackClientError::EndOfStream(_)
        | SlackClientError::SystemError(_)
        | SlackClientError::SocketModeProtocolError(_) => {
            ChatError::Unavailable("cannot reach Slack (network or TLS failure)".to_owned())
        }
        SlackClientError::ProtocolError(_) => ChatError::Rejected("Slack's answer could not be read".to_owned()),
    }
}

/// Slack's error code with what to do about it.
fn explain(code: &str) -> String {
    let hint = match code {
        "channel_not_found" => "check the channel id in [slack] default_channel or [[route]] channel",
        "not_in_channel" => "invite the bot to the channel (/invite @hagios)",
        "invalid_auth" | "not_authed" | "token_revoked" | "account_inactive" => {
            "check the tokens in the variables named by [slack] bot_token_env (xoxb-…) and app_token_env (xapp-…)"
        }
        "missing_scope" => "add the missing scope to the Slack app (see contrib/slack/manifest.yml) and reinstall it",
        "not_allowed_token_type" => "the bot token must start with xoxb- and the app token with xapp-",
        _ => "see Slack's documentation of this error code",
    };
    format!("Slack refused with `{code}`: {hint}")
}

impl SlackChat {
    /// Slack's two-step upload: `files.getUploadURLExternal` for a URL and a file id, the bytes
    /// posted to that URL, then `files.completeUploadExternal` shares the file in the channel
    /// (the thread) with `comment` as its message.
    async fn upload_file(
        &self,
        channel: Option<&str>,
        thread: Option<&MessageRef>,
        file: &Attachment,
        comment: &str,
    ) -> Result<MessageRef, ChatError> {
        let channel = match thread {
            Some(parent) => parent.channel.clone(),
            None => self.channel_id(self.channel_or_default(channel)).await?,
        };
        let session = self.client.open_session(&self.bot_token);
        let wanted = SlackApiFilesGetUploadUrlExternalRequest::new(file.name.clone(), file.bytes.len());
        let url = session.get_upload_url_external(&wanted).await.map_err(chat_error)?;
        let bytes = SlackApiFilesUploadViaUrlRequest::new(url.upload_url, file.bytes.clone(), file.mime.clone());
        session.files_upload_via_url(&bytes).await.map_err(chat_error)?;
        let shared = SlackApiFilesComplete::new(url.file_id.clone()).with_title(file.name.clone());
        let mut complete = SlackApiFilesCompleteUploadExternalRequest::new(vec![shared])
            .with_channel_id(channel.clone().into())
            .with_initial_comment(render::escape(comment));
        complete.thread_ts = thread.map(|parent| SlackTs(parent.id.clone()));
        self.pacer.wait_turn(&channel).await;
        // Sharing the file is what shows in chat: like a post, only while this process may.
        if !self.permit.granted() {
            return Err(crate::not_permitted());
        }
        session.files_complete_upload_external(&complete).await.map_err(chat_error)?;
        self.pacer.posted(&channel, &channel);
        Ok(MessageRef { channel, id: url.file_id.0 })
    }
}

#[async_trait]
impl ChatAdapter for SlackChat {
    fn platform(&self) -> Platform {
        Platform::Slack
    }

    async fn post(
        &self,
        channel: Option<&str>,
        thread: Option<&MessageRef>,
        message: &Outbound,
    ) -> Result<MessageRef, ChatError> {
        self.post_with_metadata(channel, thread, render::render(message), None).await
    }

    async fn post_question(
        &self,
        channel: Option<&str>,
        thread: Option<&MessageRef>,
        text: &str,
        request: u32,
    ) -> Result<MessageRef, ChatError> {
        self.post_with_metadata(channel, thread, render::question(text, request), None).await
    }

    async fn post_keyed(
        &self,
        channel: Option<&str>,
        thread: Option<&MessageRef>,
        message: &Outbound,
        key: &str,
    ) -> Result<MessageRef, ChatError> {
        self.post_with_metadata(channel, thread, render::render(message), Some(key_metadata(key))).await
    }

    async fn upload(
        &self,
        channel: Option<&str>,
        thread: Option<&MessageRef>,
        file: &Attachment,
        comment: &str,
    ) -> Result<MessageRef, ChatError> {
        self.upload_file(channel, thread, file, comment).await
    }

    async fn find_keyed(
        &self,
        channel: Option<&str>,
        thread: Option<&MessageRef>,
        key: &str,
    ) -> Result<Option<MessageRef>, ChatError> {
        let session = self.client.open_session(&self.bot_token);
        let (channel, messages) = match thread {
            Some(parent) => {
                // slack-morphism's request type lacks `include_all_metadata`, which Slack needs
                // to return the metadata; the method is called with it directly.
                let limit = LOOKUP_LIMIT.to_string();
                let params = vec![
                    ("channel", Some(parent.channel.as_str())),
                    ("ts", Some(parent.id.as_str())),
                    ("include_all_metadata", Some("true")),
                    ("limit", Some(limit.as_str())),
                ];
                let replies = session
                    .http_session_api
                    .http_get::<SlackApiConversationsRepliesResponse, _, _>("conversations.replies", &params, None)
                    .await;
                (parent.channel.clone(), replies.map(|r| r.messages))
            }
            None => {
                let channel = self.channel_or_default(channel).to_owned();
                let request = SlackApiConversationsHistoryRequest::new()
                    .with_channel(channel.clone().into())
                    .with_include_all_metadata(true)
                    .with_limit(LOOKUP_LIMIT);
                (channel, session.conversations_history(&request).await.map(|r| r.messages))
            }
        };
        let messages = match messages.map_err(chat_error) {
            Ok(messages) => messages,
            // Unable to look (a channel given by name, a missing scope): posting again risks a
            // duplicate, giving up would lose the alert; the duplicate is the lesser harm.
            Err(ChatError::Rejected(reason)) => {
                tracing::warn!(%reason, %channel, "cannot look for an earlier post; posting again");
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let wanted = key_metadata(key);
        Ok(messages
            .into_iter()
            .find(|message| message.content.metadata.as_ref() == Some(&wanted))
            .map(|message| MessageRef { channel, id: message.origin.ts.0 }))
    }

    /// A channel named by id is that id; one named by name (`alerts`, `#alerts`) is looked up
    /// with `conversations.list` once: messages carry the id, by which groups and reminders are
    /// found.
    async fn channel_id(&self, target: &str) -> Result<String, ChatError> {
        if !target.starts_with('#') && !target.chars().any(char::is_lowercase) {
            return Ok(target.to_owned());
        }
        let name = target.trim_start_matches('#');
        if let Some(id) = self.known_channel(name) {
            return Ok(id);
        }
        let session = self.client.open_session(&self.bot_token);
        let mut cursor = None;
        loop {
            let request = SlackApiConversationsListRequest::new()
                .with_limit(CHANNELS_PER_PAGE)
                .with_exclude_archived(true)
                .with_types(vec![SlackConversationType::Public, SlackConversationType::Private])
                .opt_cursor(cursor);
            let page = session.conversations_list(&request).await.map_err(chat_error)?;
            let mut known = self.channel_ids.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            for channel in &page.channels {
                if let Some(channel_name) = &channel.name {
                    known.insert(channel_name.clone(), channel.id.0.clone());
                }
            }
            drop(known);
            if let Some(id) = self.known_channel(name) {
                return Ok(id);
            }
            cursor = page.response_metadata.and_then(|meta| meta.next_cursor).filter(|next| !next.0.is_empty());
            if cursor.is_none() {
                return Err(ChatError::Rejected(format!(
                    "no channel named `{name}` in this workspace: check the name, or give the channel's id (C…)"
                )));
            }
        }
    }

    async fn update(&self, message: &MessageRef, content_now: &Outbound) -> Result<(), ChatError> {
        let rendered = render::render(content_now);
        let request = SlackApiChatUpdateRequest::new(
            message.channel.clone().into(),
            content(&rendered)?,
            SlackTs(message.id.clone()),
        );
        if !self.permit.granted() {
            return Err(crate::not_permitted());
        }
        self.client.open_session(&self.bot_token).chat_update(&request).await.map_err(chat_error)?;
        Ok(())
    }

    /// Whether the bot is in the channel, as `conversations.info` says.
    async fn is_member(&self, target: &str) -> Result<Option<bool>, ChatError> {
        let id = self.channel_id(target).await?;
        let request = SlackApiConversationsInfoRequest::new(id.into());
        let info = self.client.open_session(&self.bot_token).conversations_info(&request).await.map_err(chat_error)?;
        Ok(info.channel.flags.is_member)
    }

    /// Asks Slack for a Socket Mode address with the app-level token, as `listen` does first.
    async fn can_listen(&self) -> Result<(), ChatError> {
        self.client
            .open_session(&self.app_token)
            .apps_connections_open(&SlackApiAppsConnectionOpenRequest::new())
            .await
            .map(drop)
            .map_err(|e| match chat_error(e) {
                ChatError::Rejected(reason) => ChatError::Rejected(format!("Socket Mode (app_token_env): {reason}")),
                other => other,
            })
    }

    async fn listen(&self, events: mpsc::Sender<ChatEvent>) -> Result<(), ChatError> {
        let bot_user = self.bot_user().await?.to_owned();
        // slack-morphism retries a refused app token forever and quietly; asking once first
        // turns a wrong token into an error that says what to fix.
        self.can_listen().await?;
        let (arrived, arrivals) = mpsc::unbounded_channel();
        let introducer =
            tokio::spawn(introduce(arrivals, events.clone(), self.client.clone(), self.bot_token.clone()));
        let sink = EventSink { arrived, bot_user };
        let environment =
            Arc::new(SlackClientEventsListenerEnvironment::new(self.client.clone()).with_user_state(sink));
        let callbacks = SlackSocketModeListenerCallbacks::new()
            .with_push_events(on_push)
            .with_command_events(on_command)
            .with_interaction_events(on_interaction);
        let config = SlackClientSocketModeConfig::new().with_max_connections_count(self.socket_connections);
        let listener = SlackClientSocketModeListener::new(&config, environment, callbacks);
        listener.listen_for(&self.app_token).await.map_err(chat_error)?;
        listener.start().await;
        events.closed().await;
        listener.shutdown().await;
        introducer.abort();
        Ok(())
    }
}

/// Queues an event for [`introduce`] without holding up the ack: slack-morphism acks when the
/// callback returns, and Slack wants that within 3 seconds.
async fn forward(state: &SlackClientEventsUserState, event: impl FnOnce(&str) -> Option<ChatEvent>) {
    let storage = state.read().await;
    let Some(sink) = storage.get_user_state::<EventSink>() else { return };
    let Some(event) = event(&sink.bot_user) else { return };
    if sink.arrived.send(event).is_err() {
        tracing::debug!("chat event arrived after shutdown");
    }
}

/// Hands people's events to the conversation in the order they arrived, each with its author's
/// name; events of bot accounts are dropped: what bots post is no command.
async fn introduce(
    mut arrivals: mpsc::UnboundedReceiver<ChatEvent>,
    events: mpsc::Sender<ChatEvent>,
    client: Arc<SlackHyperClient>,
    token: SlackApiToken,
) {
    let mut accounts = HashMap::new();
    while let Some(mut event) = arrivals.recv().await {
        let user = match &mut event {
            ChatEvent::Command { user, .. } | ChatEvent::Button { user, .. } => user,
            ChatEvent::Synced { .. } => continue,
        };
        let account = account(&client, &token, &mut accounts, &user.id).await;
        if account.bot {
            tracing::info!(user = %user.id, "ignored a bot's message: only people's messages are commands");
            continue;
        }
        user.name = account.name;
        if events.send(event).await.is_err() {
            return;
        }
    }
}

/// What `users.info` says of `user_id` (remembered). When Slack cannot tell in time (no
/// `users:read` scope, an outage), the id stands for the name and the account for a person's,
/// not remembered: authorization goes by id anyway, and the event itself showed no bot.
async fn account(
    client: &SlackHyperClient,
    token: &SlackApiToken,
    accounts: &mut HashMap<String, Account>,
    user_id: &str,
) -> Account {
    if let Some(account) = accounts.get(user_id) {
        return account.clone();
    }
    let request = SlackApiUsersInfoRequest::new(SlackUserId(user_id.to_owned()));
    let info = tokio::time::timeout(LOOKUP_TIMEOUT, client.open_session(token).users_info(&request)).await;
    let user = match info {
        Ok(Ok(info)) => info.user,
        Ok(Err(e)) => return unknown(user_id, &chat_error(e)),
        Err(_) => return unknown(user_id, &format!("no answer within {LOOKUP_TIMEOUT:?}")),
    };
    let (display, real) = user.profile.map_or((None, None), |p| (p.display_name, p.real_name));
    let name = [display, real, user.real_name, user.name]
        .into_iter()
        .flatten()
        .find(|name| !name.trim().is_empty())
        .unwrap_or_else(|| user_id.to_owned());
    let account = Account { name, bot: user.flags.is_bot == Some(true) };
    accounts.insert(user_id.to_owned(), account.clone());
    account
}

/// An account Slack could not describe: a person's, named by its id.
fn unknown(user_id: &str, error: &dyn std::fmt::Display) -> Account {
    tracing::warn!(%error, user = user_id, "cannot look up the user (needs users:read): taken as a person, named by id");
    Account { name: user_id.to_owned(), bot: false }
}

async fn on_push(
    event: SlackPushEventCallback,
    _client: Arc<SlackHyperClient>,
    state: SlackClientEventsUserState,
) -> UserCallbackResult<()> {
    forward(&state, |bot_user| events::from_push(&event.event, bot_user)).await;
    Ok(())
}

async fn on_command(
    command: SlackCommandEvent,
    _client: Arc<SlackHyperClient>,
    state: SlackClientEventsUserState,
) -> UserCallbackResult<SlackCommandEventResponse> {
    let echo = format!("`/hagios {}`: working on it…", render::escape(command.text.as_deref().unwrap_or_default()));
    forward(&state, |_| Some(events::from_slash_command(&command))).await;
    Ok(SlackCommandEventResponse::new(SlackMessageContent::new().with_text(echo))
        .with_response_type(SlackMessageResponseType::Ephemeral))
}

async fn on_interaction(
    interaction: SlackInteractionEvent,
    _client: Arc<SlackHyperClient>,
    state: SlackClientEventsUserState,
) -> UserCallbackResult<()> {
    forward(&state, |_| events::from_interaction(&interaction)).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn each_channel_gets_one_post_per_interval_and_names_share_their_ids_turns() {
        let pacer = Pacer::new(Duration::from_secs(1));
        let start = tokio::time::Instant::now();
        pacer.wait_turn("alerts").await;
        pacer.posted("alerts", "C1");
        pacer.wait_turn("C2").await;
        pacer.posted("C2", "C2");
        assert_eq!(start.elapsed(), Duration::ZERO, "first posts to two channels go at once");
        pacer.wait_turn("C1").await;
        pacer.posted("C1", "C1");
        assert_eq!(start.elapsed(), Duration::from_secs(1), "the id waits for the name's turn");
        pacer.wait_turn("C2").await;
        assert_eq!(start.elapsed(), Duration::from_secs(1), "C2's turn came meanwhile");
        pacer.wait_turn("alerts").await;
        assert_eq!(start.elapsed(), Duration::from_secs(2));
        tokio::time::advance(Duration::from_millis(300)).await;
        pacer.posted("alerts", "C1");
        pacer.wait_turn("C1").await;
        assert_eq!(start.elapsed(), Duration::from_millis(3300), "a slow post pushes the next turn");
    }
}
