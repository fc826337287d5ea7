//! A thin client of the Matrix client-server API (reqwest, rustls with ring): one call function
//! that builds percent-encoded paths, sends the access token, and sorts the homeserver's answers
//! into what delivery retries (`M_LIMIT_EXCEEDED` with its `retry_after_ms`, 5xx, network) and
//! what it gives up on, with what to do about it. Tokens never reach logs or errors.

use crate::ChatError;
use reqwest::{Method, StatusCode, Url};
use serde_json::Value;
use std::time::Duration;

/// Timeout of an ordinary call; `/sync` adds its long-poll time to this.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(30);

pub struct Client {
    http: reqwest::Client,
    base: Url,
}

impl Client {
    pub fn new(homeserver: &str) -> Result<Self, ChatError> {
        // reqwest is built without a TLS provider of its own; ring is the one hagios uses.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let base = Url::parse(homeserver)
            .ok()
            .filter(|url| matches!(url.scheme(), "https" | "http") && url.has_host())
            .ok_or_else(|| {
                ChatError::Rejected(format!(
                    "[matrix] homeserver `{homeserver}` is not a URL like https://matrix.example.org"
                ))
            })?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| ChatError::Rejected(format!("cannot set up the Matrix HTTP client: {e}")))?;
        Ok(Self { http, base })
    }

    /// Uploads `bytes` to the homeserver's media repository (`POST /_matrix/media/v3/upload`)
    /// and returns their `mxc://` URI.
    pub async fn upload(&self, token: &str, filename: &str, mime: &str, bytes: Vec<u8>) -> Result<String, ChatError> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| ChatError::Rejected("[matrix] homeserver must be an http(s) URL".to_owned()))?
            .pop_if_empty()
            .extend(["_matrix", "media", "v3", "upload"]);
        url.query_pairs_mut().append_pair("filename", filename);
        let request = self
            .http
            .post(url)
            .timeout(CALL_TIMEOUT)
            .bearer_auth(token)
            .header(reqwest::header::CONTENT_TYPE, mime)
            .body(bytes);
        let answer = self.answer("upload", request).await?;
        answer["content_uri"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| ChatError::Rejected("the homeserver sent no content_uri for an upload".to_owned()))
    }

    /// `method` on `/_matrix/client/v3/<segments…>` (each segment percent-encoded) with `query`
    /// and a JSON `body`; the answer's JSON on success.
    pub async fn call(
        &self,
        method: Method,
        token: Option<&str>,
        segments: &[&str],
        query: &[(&str, &str)],
        body: Option<&Value>,
        timeout: Duration,
    ) -> Result<Value, ChatError> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| ChatError::Rejected("[matrix] homeserver must be an http(s) URL".to_owned()))?
            .pop_if_empty()
            .extend(["_matrix", "client", "v3"])
            .extend(segments);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let mut request = self.http.request(method, url).timeout(timeout);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        self.answer(segments.first().copied().unwrap_or_default(), request).await
    }

    /// Sends `request` (a call of `what`) and returns the answer's JSON on success.
    async fn answer(&self, what: &str, request: reqwest::RequestBuilder) -> Result<Value, ChatError> {
        let response = request.send().await.map_err(|e| unreachable(what, &e))?;
        let status = response.status();
        let retry_header = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok()?.parse::<u64>().ok())
            .map(Duration::from_secs);
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(answer);
        }
        Err(refusal(what, status, &answer, retry_header))
    }
}

fn unreachable(what: &str, error: &reqwest::Error) -> ChatError {
    let kind = if error.is_timeout() { "timed out" } else { "network or TLS failure" };
    ChatError::Unavailable(format!("cannot reach the Matrix homeserver ({what}: {kind})"))
}

/// The homeserver's error as a `ChatError`: its `errcode` with what to do about it.
fn refusal(what: &str, status: StatusCode, answer: &Value, retry_header: Option<Duration>) -> ChatError {
    let errcode = answer["errcode"].as_str().unwrap_or("");
    if status == StatusCode::TOO_MANY_REQUESTS || errcode == "M_LIMIT_EXCEEDED" {
        let wait = answer["retry_after_ms"].as_u64().map(Duration::from_millis).or(retry_header);
        return ChatError::RateLimited(wait.unwrap_or(Duration::from_secs(1)));
    }
    if status.is_server_error() || status == StatusCode::REQUEST_TIMEOUT {
        return ChatError::Unavailable(format!("the Matrix homeserver answered HTTP {status} to {what}"));
    }
    let hint = match errcode {
        "M_UNKNOWN_TOKEN" | "M_MISSING_TOKEN" => {
            "check the access token in the variable named by [matrix] access_token_env (or the password in password_env)"
        }
        "M_FORBIDDEN" => "invite the bot user to the room (and check [matrix] user and the password, when logging in)",
        "M_NOT_FOUND" => "check the room id or alias in [matrix] default_room or [[route]] matrix_room",
        "M_USER_DEACTIVATED" => "the bot's Matrix account is deactivated: reactivate it or use another",
        _ => "see the Matrix client-server API's list of error codes",
    };
    let reason: String = answer["error"].as_str().unwrap_or("").chars().take(200).collect();
    ChatError::Rejected(format!("the Matrix homeserver refused {what} with HTTP {status} {errcode} ({reason}): {hint}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn limits_are_retried_after_the_servers_delay_and_refusals_say_what_to_do() {
        let limited = json!({ "errcode": "M_LIMIT_EXCEEDED", "retry_after_ms": 2500 });
        let error = refusal("rooms", StatusCode::TOO_MANY_REQUESTS, &limited, None);
        assert!(error.retryable());
        assert_eq!(error.retry_after(), Some(Duration::from_millis(2500)));
        let header_only = refusal("rooms", StatusCode::TOO_MANY_REQUESTS, &Value::Null, Some(Duration::from_secs(3)));
        assert_eq!(header_only.retry_after(), Some(Duration::from_secs(3)));
        assert!(refusal("sync", StatusCode::BAD_GATEWAY, &Value::Null, None).retryable());

        let forbidden = json!({ "errcode": "M_FORBIDDEN", "error": "User not in room" });
        let error = refusal("rooms", StatusCode::FORBIDDEN, &forbidden, None);
        assert!(!error.retryable());
        assert!(error.to_string().contains("invite the bot user"), "{error}");
        let token = refusal("sync", StatusCode::UNAUTHORIZED, &json!({ "errcode": "M_UNKNOWN_TOKEN" }), None);
        assert!(token.to_string().contains("access_token_env"), "{token}");
    }

    #[test]
    fn homeserver_must_be_an_http_url() {
        assert!(Client::new("matrix.example.org").is_err());
        assert!(Client::new("https://matrix.example.org/").is_ok());
    }
}
