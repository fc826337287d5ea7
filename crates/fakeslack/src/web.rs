//! The Web API half of the fake: `POST|GET /api/{method}` with arguments as JSON, form or query,
//! the token in `Authorization: Bearer`, answers as `{"ok":…}` the way Slack documents them.

use crate::{Failure, FakeSlack, Message, State, APP_ID, APP_TOKEN, BOT_ID, BOT_TOKEN, BOT_USER, TEAM_ID};
use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxumState};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// Slack's documented block limits the fake enforces, so that rendering bugs fail like in Slack.
const MAX_BLOCKS: usize = 50;
const MAX_SECTION_TEXT: usize = 3000;
const MAX_HEADER_TEXT: usize = 150;
const MAX_BUTTON_TEXT: usize = 75;
const MAX_ACTION_ELEMENTS: usize = 25;
const MAX_CONTEXT_ELEMENTS: usize = 10;
const MAX_TEXT: usize = 40_000;

pub async fn serve(listener: tokio::net::TcpListener, fake: FakeSlack) {
    let app = Router::new()
        .route("/api/{method}", any(call))
        .route("/upload/v1/{id}", post(crate::files::receive))
        .with_state(fake);
    if let Err(e) = axum::serve(listener, app).await {
        tracing::error!(error = %e, "fake slack web api stopped");
    }
}

async fn call(
    AxumState(fake): AxumState<FakeSlack>,
    Path(method): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let args = arguments(&headers, &query, &body);
    let mut state = fake.state();
    *state.calls.entry(method.clone()).or_default() += 1;
    let counted = state.failures.iter().position(|(m, _)| m == &method || m == "*");
    let counted = counted.and_then(|index| state.failures.remove(index)).map(|(_, failure)| failure);
    if let Some(failure) = counted.or_else(|| state.outage_for(&method)) {
        if matches!(failure, Failure::RateLimited { .. }) {
            state.rate_limited += 1;
        }
        drop(state);
        fake.changed();
        return failure_response(&failure);
    }
    if method == "chat.postMessage" && too_soon(&mut state, &args) {
        state.rate_limited += 1;
        drop(state);
        fake.changed();
        return failure_response(&Failure::RateLimited { retry_after_secs: 1 });
    }
    let token = bearer(&headers).or_else(|| args.get("token").and_then(Value::as_str).map(str::to_owned));
    let answer = match check_token(&method, token.as_deref()) {
        Err(code) => Err(code),
        Ok(()) => dispatch(&fake, &mut state, &method, &args, token.as_deref().unwrap_or_default()),
    };
    drop(state);
    fake.changed();
    match answer {
        Ok(mut body) => {
            body["ok"] = true.into();
            Json(body).into_response()
        }
        Err(code) => Json(json!({ "ok": false, "error": code })).into_response(),
    }
}

/// Whether a post to this channel comes sooner than the enforced per-channel interval allows;
/// the post that is let through starts the next interval.
fn too_soon(state: &mut State, args: &Map<String, Value>) -> bool {
    let Some(interval) = state.post_interval else { return false };
    let Ok(channel) = channel_arg(state, args) else { return false };
    let now = std::time::Instant::now();
    match state.last_post.get(&channel) {
        Some(last) if now.duration_since(*last) < interval => true,
        _ => {
            state.last_post.insert(channel.clone(), now);
            state.accepted_posts.push((channel, now));
            false
        }
    }
}

fn failure_response(failure: &Failure) -> Response {
    match failure {
        Failure::RateLimited { retry_after_secs } => (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, retry_after_secs.to_string())],
            Json(json!({ "ok": false, "error": "ratelimited" })),
        )
            .into_response(),
        Failure::Status(status) => {
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            (status, "upstream connect error").into_response()
        }
        Failure::Error(code) => Json(json!({ "ok": false, "error": code })).into_response(),
    }
}

/// Slack takes arguments as a JSON body, a form body or the query string; JSON and form values
/// that hold JSON (`blocks`, `metadata`) are read as JSON.
fn arguments(headers: &HeaderMap, query: &HashMap<String, String>, body: &[u8]) -> Map<String, Value> {
    let mut args: Map<String, Value> = query.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if content_type.starts_with("application/json") {
        if let Ok(Value::Object(json)) = serde_json::from_slice(body) {
            args.extend(json);
        }
    } else if let Ok(form) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(body) {
        args.extend(form.into_iter().map(|(k, v)| (k, Value::String(v))));
    }
    for key in ["blocks", "metadata", "files"] {
        if let Some(Value::String(text)) = args.get(key) {
            if let Ok(parsed) = serde_json::from_str::<Value>(text) {
                args.insert(key.to_owned(), parsed);
            }
        }
    }
    args
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    value.strip_prefix("Bearer ").map(str::to_owned)
}

/// `apps.connections.open` wants the app-level token, everything else the bot token — or a
/// variant of it, `BOT_TOKEN-NAME`, by which a test tells apart which of several processes of
/// the same app posted (Slack would give them the same token).
fn check_token(method: &str, token: Option<&str>) -> Result<(), &'static str> {
    let Some(token) = token else { return Err("not_authed") };
    let bot = token == BOT_TOKEN || token.strip_prefix(BOT_TOKEN).is_some_and(|name| name.starts_with('-'));
    match (method == "apps.connections.open", token == APP_TOKEN, bot) {
        (true, true, _) | (false, _, true) => Ok(()),
        (_, true, _) | (_, _, true) => Err("not_allowed_token_type"),
        _ => Err("invalid_auth"),
    }
}

pub(crate) type Answer = Result<Value, &'static str>;

fn dispatch(fake: &FakeSlack, state: &mut State, method: &str, args: &Map<String, Value>, token: &str) -> Answer {
    match method {
        "auth.test" => Ok(json!({
            "url": "https://fake.slack.com/",
            "team": "Fake Workspace",
            "user": "hagios",
            "team_id": TEAM_ID,
            "user_id": BOT_USER,
            "bot_id": BOT_ID,
            "is_enterprise_install": false,
        })),
        "apps.connections.open" => {
            let ticket = format!("ticket-{}", state.tickets.len() + 1);
            state.tickets.push(ticket.clone());
            Ok(json!({ "url": format!("{}/link/?ticket={ticket}&app_id={APP_ID}", fake.shared.ws_base) }))
        }
        "chat.postMessage" => post_message(state, args, token),
        "chat.update" => update(state, args),
        "conversations.history" => history(state, args),
        "conversations.info" => conversation_info(state, args),
        "conversations.list" => list_conversations(state, args),
        "conversations.replies" => replies(state, args),
        "users.info" => user_info(state, args),
        "files.getUploadURLExternal" => crate::files::upload_url(fake, state, args),
        "files.completeUploadExternal" => crate::files::complete(state, args, token),
        _ => Err("unknown_method"),
    }
}

pub(crate) fn text_arg<'a>(args: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    args.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

fn flag(args: &Map<String, Value>, key: &str) -> bool {
    match args.get(key) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true" || s == "1",
        _ => false,
    }
}

pub(crate) fn channel_arg(state: &State, args: &Map<String, Value>) -> Result<String, &'static str> {
    let channel = text_arg(args, "channel").ok_or("channel_not_found")?;
    state.channel_id(channel).ok_or("channel_not_found")
}

/// The content arguments of `chat.postMessage` / `chat.update`, checked like Slack does.
fn content(args: &Map<String, Value>) -> Result<(String, Option<Value>), &'static str> {
    let text = text_arg(args, "text").unwrap_or_default().to_owned();
    let blocks = args.get("blocks").filter(|b| !b.is_null()).cloned();
    if text.is_empty() && blocks.is_none() {
        return Err("no_text");
    }
    if text.chars().count() > MAX_TEXT {
        return Err("msg_too_long");
    }
    if let Some(blocks) = &blocks {
        validate_blocks(blocks)?;
    }
    Ok((text, blocks))
}

fn validate_blocks(blocks: &Value) -> Result<(), &'static str> {
    let blocks = blocks.as_array().ok_or("invalid_blocks_format")?;
    if blocks.len() > MAX_BLOCKS {
        return Err("invalid_blocks");
    }
    let text_len = |value: &Value| value["text"].as_str().map(|t| t.chars().count()).unwrap_or(0);
    for block in blocks {
        let ok = match block["type"].as_str() {
            Some("section") => {
                text_len(&block["text"]) <= MAX_SECTION_TEXT
                    && block["fields"].as_array().is_none_or(|f| f.iter().all(|f| text_len(f) <= 2000))
            }
            Some("header") => block["text"]["type"] == "plain_text" && text_len(&block["text"]) <= MAX_HEADER_TEXT,
            Some("context") => {
                block["elements"].as_array().is_some_and(|e| !e.is_empty() && e.len() <= MAX_CONTEXT_ELEMENTS)
            }
            Some("actions") => block["elements"].as_array().is_some_and(|elements| {
                !elements.is_empty()
                    && elements.len() <= MAX_ACTION_ELEMENTS
                    && elements.iter().all(|e| {
                        e["type"] == "button"
                            && text_len(&e["text"]) <= MAX_BUTTON_TEXT
                            && e["action_id"].as_str().is_some_and(|id| id.len() <= 255)
                            && e["value"].as_str().is_none_or(|v| v.len() <= 2000)
                    })
            }),
            Some("divider") => true,
            _ => false,
        };
        if !ok {
            return Err("invalid_blocks");
        }
    }
    Ok(())
}

fn post_message(state: &mut State, args: &Map<String, Value>, token: &str) -> Answer {
    let channel = channel_arg(state, args)?;
    if state.outside.contains(&channel) {
        return Err("not_in_channel");
    }
    let (text, blocks) = content(args)?;
    let thread_ts = text_arg(args, "thread_ts").map(str::to_owned);
    if let Some(parent) = &thread_ts {
        if !state.messages.iter().any(|m| m.channel == channel && &m.ts == parent) {
            return Err("thread_not_found");
        }
    }
    let metadata = args.get("metadata").filter(|m| m["event_type"].is_string()).cloned();
    let broadcast = thread_ts.is_some() && flag(args, "reply_broadcast");
    let ts = state.new_ts();
    let message = Message {
        channel: channel.clone(),
        ts: ts.clone(),
        thread_ts,
        user: BOT_USER.to_owned(),
        bot_id: None,
        text,
        blocks,
        metadata,
        edits: 0,
        broadcast,
        files: Vec::new(),
        token: token.to_owned(),
    };
    let json = message.to_json(true);
    state.messages.push(message);
    Ok(json!({ "channel": channel, "ts": ts, "message": json }))
}

fn update(state: &mut State, args: &Map<String, Value>) -> Answer {
    let channel = channel_arg(state, args)?;
    let ts = text_arg(args, "ts").ok_or("message_not_found")?;
    let (text, blocks) = content(args)?;
    let message = state.messages.iter_mut().find(|m| m.channel == channel && m.ts == ts).ok_or("message_not_found")?;
    if !message.by_bot() {
        return Err("cant_update_message");
    }
    message.text = text.clone();
    message.blocks = blocks;
    message.edits += 1;
    Ok(json!({ "channel": channel, "ts": ts, "text": text, "message": message.to_json(false) }))
}

fn user_info(state: &State, args: &Map<String, Value>) -> Answer {
    let id = text_arg(args, "user").ok_or("user_not_found")?;
    let account = state.users.get(id).ok_or("user_not_found")?;
    let mut profile = json!({ "display_name": account.name, "real_name": account.name });
    if let Some(bot_id) = &account.bot_id {
        // Bot users show no display name of their own; their profile names their bot and app.
        profile = json!({
            "display_name": "", "real_name": account.name, "bot_id": bot_id,
            "api_app_id": crate::app_of(bot_id), "always_active": true,
        });
    }
    Ok(json!({ "user": {
        "id": id,
        "team_id": TEAM_ID,
        "name": account.name.to_lowercase(),
        "deleted": false,
        "real_name": account.name,
        "is_bot": account.bot_id.is_some(),
        "is_app_user": false,
        "profile": profile,
    }}))
}

/// Top-level messages and thread replies sent to the channel too, newest first; thread parents
/// carry their reply count.
fn history(state: &State, args: &Map<String, Value>) -> Answer {
    let channel = channel_arg(state, args)?;
    let with_metadata = flag(args, "include_all_metadata");
    let messages: Vec<Value> = state
        .messages
        .iter()
        .rev()
        .filter(|m| m.channel == channel && (!m.is_reply() || m.broadcast))
        .map(|m| {
            let mut json = m.to_json(with_metadata);
            let replies = state
                .messages
                .iter()
                .filter(|r| r.channel == channel && r.thread_ts.as_ref() == Some(&m.ts) && r.is_reply())
                .count();
            if replies > 0 {
                json["thread_ts"] = m.ts.clone().into();
                json["reply_count"] = replies.into();
            }
            json
        })
        .collect();
    Ok(json!({ "messages": messages, "has_more": false, "pin_count": 0, "response_metadata": { "next_cursor": "" } }))
}

/// One channel as `conversations.list` and `conversations.info` show it.
fn channel_json(state: &State, id: &str, name: &str) -> Value {
    json!({
        "id": id, "name": name, "name_normalized": name, "created": 1_700_000_000,
        "is_channel": true, "is_private": false, "is_archived": false, "is_member": !state.outside.contains(id),
    })
}

/// One channel by its id (Slack's `conversations.info` takes no names).
fn conversation_info(state: &State, args: &Map<String, Value>) -> Answer {
    let id = text_arg(args, "channel").ok_or("channel_not_found")?;
    let (id, name) = state.channels.iter().find(|(channel, _)| channel == id).ok_or("channel_not_found")?;
    Ok(json!({ "channel": channel_json(state, id, name) }))
}

/// The workspace's channels, `limit` at a time (Slack's default 100, at most 1000), continued
/// from `cursor` (an opaque string; here the index of the next channel); the last page has an
/// empty `next_cursor`.
fn list_conversations(state: &State, args: &Map<String, Value>) -> Answer {
    let number = |key: &str| args.get(key).and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()));
    let limit = number("limit").unwrap_or(100).clamp(1, 1000) as usize;
    let start = match text_arg(args, "cursor") {
        Some(cursor) => cursor.parse::<usize>().map_err(|_| "invalid_cursor")?,
        None => 0,
    };
    let page: Vec<Value> =
        state.channels.iter().skip(start).take(limit).map(|(id, name)| channel_json(state, id, name)).collect();
    let next = start + page.len();
    let next_cursor = if next < state.channels.len() { next.to_string() } else { String::new() };
    Ok(json!({ "channels": page, "response_metadata": { "next_cursor": next_cursor } }))
}

/// The parent first, then its replies oldest first.
fn replies(state: &State, args: &Map<String, Value>) -> Answer {
    let channel = channel_arg(state, args)?;
    let ts = text_arg(args, "ts").ok_or("thread_not_found")?;
    let with_metadata = flag(args, "include_all_metadata");
    let parent = state.messages.iter().find(|m| m.channel == channel && m.ts == ts).ok_or("thread_not_found")?;
    let mut messages = vec![parent.to_json(with_metadata)];
    messages.extend(
        state
            .messages
            .iter()
            .filter(|m| m.channel == channel && m.thread_ts.as_deref() == Some(ts) && m.is_reply())
            .map(|m| m.to_json(with_metadata)),
    );
    Ok(json!({ "messages": messages, "has_more": false, "response_metadata": { "next_cursor": "" } }))
}
