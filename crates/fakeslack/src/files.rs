//! File uploads the way Slack takes them since `files.upload` was retired: the app asks
//! `files.getUploadURLExternal` (a `filename` and its `length` in bytes) for an upload URL and a
//! file id, posts the bytes to that URL (raw, any content type; Slack answers HTTP 200 with a
//! short text), and shares the file with `files.completeUploadExternal` (`files` as an array of
//! `{id, title}`, optional `channel_id`, `thread_ts` naming a parent, `initial_comment`), which
//! posts a message carrying the file. Without `channel_id` the file stays private.

use crate::web::{channel_arg, text_arg, Answer};
use crate::{FakeSlack, Message, State, BOT_USER};
use axum::body::Bytes;
use axum::extract::{Path, State as AxumState};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

/// A file an app started to upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadedFile {
    pub id: String,
    pub name: String,
    /// The length announced to `files.getUploadURLExternal`.
    pub length: usize,
    /// What was posted to the upload URL, once it was.
    pub bytes: Option<Vec<u8>>,
    pub mime: Option<String>,
    pub title: Option<String>,
    /// Where `files.completeUploadExternal` shared it: the channel and the thread's parent.
    pub shared: Option<(String, Option<String>)>,
    pub comment: Option<String>,
}

/// `files.getUploadURLExternal`: a file id and the URL to post its bytes to.
pub(crate) fn upload_url(fake: &FakeSlack, state: &mut State, args: &Map<String, Value>) -> Answer {
    let name = text_arg(args, "filename").ok_or("invalid_arguments")?;
    let length = args
        .get("length")
        .and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()))
        .filter(|length| *length > 0)
        .ok_or("invalid_arguments")?;
    let id = format!("F0FAKE{:04}", state.uploads.len() + 1);
    state.uploads.push(UploadedFile {
        id: id.clone(),
        name: name.to_owned(),
        length: usize::try_from(length).map_err(|_| "invalid_arguments")?,
        bytes: None,
        mime: None,
        title: None,
        shared: None,
        comment: None,
    });
    Ok(json!({ "upload_url": format!("{}/upload/v1/{id}", fake.shared.http_base), "file_id": id }))
}

/// The upload URL: takes the file's bytes once, of the announced length.
pub(crate) async fn receive(
    AxumState(fake): AxumState<FakeSlack>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mime = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let answer = {
        let mut state = fake.state();
        *state.calls.entry("upload".to_owned()).or_default() += 1;
        match state.uploads.iter_mut().find(|file| file.id == id) {
            None => (StatusCode::NOT_FOUND, "no such upload".to_owned()),
            Some(file) if file.bytes.is_some() => (StatusCode::BAD_REQUEST, "already uploaded".to_owned()),
            Some(file) if file.length != body.len() => (StatusCode::BAD_REQUEST, "length does not match".to_owned()),
            Some(file) => {
                file.bytes = Some(body.to_vec());
                file.mime = mime;
                (StatusCode::OK, format!("OK - {}", body.len()))
            }
        }
    };
    fake.changed();
    (answer.0, [(header::CONTENT_TYPE, "text/plain")], answer.1).into_response()
}

/// `files.completeUploadExternal`: shares uploaded files, in a message of their own.
pub(crate) fn complete(state: &mut State, args: &Map<String, Value>, token: &str) -> Answer {
    let wanted = args.get("files").and_then(Value::as_array).filter(|files| !files.is_empty());
    let wanted = wanted.ok_or("invalid_arguments")?.clone();
    let channel = match text_arg(args, "channel_id") {
        Some(_) => Some(channel_arg(state, &rename(args, "channel_id"))?),
        None => None,
    };
    let thread_ts = text_arg(args, "thread_ts").map(str::to_owned);
    if let (Some(channel), Some(parent)) = (&channel, &thread_ts) {
        if !state.messages.iter().any(|m| &m.channel == channel && &m.ts == parent) {
            return Err("thread_not_found");
        }
    }
    let comment = text_arg(args, "initial_comment").map(str::to_owned);
    let mut shared = Vec::new();
    for entry in &wanted {
        let id = entry["id"].as_str().ok_or("invalid_arguments")?;
        let file = state.uploads.iter_mut().find(|file| file.id == id).ok_or("file_not_found")?;
        if file.bytes.is_none() {
            return Err("file_not_found");
        }
        file.title = entry["title"].as_str().map(str::to_owned);
        file.shared = channel.clone().map(|channel| (channel, thread_ts.clone()));
        file.comment.clone_from(&comment);
        shared.push(json!({
            "id": file.id, "name": file.name, "title": file.title.clone().unwrap_or_else(|| file.name.clone()),
            "mimetype": file.mime, "size": file.length, "user": BOT_USER,
        }));
    }
    if let Some(channel) = channel {
        let ts = state.new_ts();
        state.messages.push(Message {
            channel,
            ts,
            thread_ts,
            user: BOT_USER.to_owned(),
            bot_id: None,
            text: comment.unwrap_or_default(),
            blocks: None,
            metadata: None,
            edits: 0,
            broadcast: false,
            files: shared.clone(),
            token: token.to_owned(),
        });
    }
    Ok(json!({ "files": shared }))
}

/// `args` with `from` under the name `channel`, for the channel lookup.
fn rename(args: &Map<String, Value>, from: &str) -> Map<String, Value> {
    let mut renamed = Map::new();
    if let Some(value) = args.get(from) {
        renamed.insert("channel".to_owned(), value.clone());
    }
    renamed
}
