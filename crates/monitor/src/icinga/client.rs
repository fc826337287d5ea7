//! A thin async client for the few Icinga 2 REST API endpoints hagios uses: object queries,
//! actions, attribute changes, object creation and deletion, and the event stream. TLS is rustls
//! with the ring provider, verified against the configured CA; login by password or client
//! certificate. Every failure becomes a [`MonitorError`] that says what to do next.

use super::IcingaConfig;
use crate::MonitorError;
use reqwest::{Certificate, Identity, Method, RequestBuilder, Response, StatusCode, Url};
use serde::Deserialize;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

const SYSTEM: &str = "Icinga 2";
/// Longest wait for one request (not for the event stream, which stays open).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// How hagios logs in to the API.
#[derive(Clone)]
pub enum Credentials {
    /// An `ApiUser` with a `password`.
    Password { user: String, password: String },
    /// An `ApiUser` with `client_cn` matching this certificate's CN, signed by the Icinga CA.
    ClientCertificate { cert_file: PathBuf, key_file: PathBuf },
}

impl std::fmt::Debug for Credentials {
    /// Never prints the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Password { user, .. } => write!(f, "Password {{ user: {user:?} }}"),
            Credentials::ClientCertificate { cert_file, .. } => write!(f, "ClientCertificate({})", cert_file.display()),
        }
    }
}

/// One entry of the `results` array of an action, modification, creation or deletion.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ApiResult {
    pub code: f64,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub errors: Vec<String>,
}

impl ApiResult {
    pub(crate) fn succeeded(&self) -> bool {
        (200.0..300.0).contains(&self.code)
    }

    /// Icinga's own explanation: the status line plus any errors it lists.
    pub(crate) fn explanation(&self) -> String {
        std::iter::once(self.status.as_str())
            .chain(self.errors.iter().map(String::as_str))
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join(": ")
    }
}

#[derive(Deserialize)]
struct Results<T> {
    #[serde(default = "Vec::new")]
    results: Vec<T>,
}

/// An API error body: `{"error": 404, "status": "No objects found."}`.
#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    status: String,
}

/// A connected Icinga 2 API.
#[derive(Clone)]
pub struct IcingaClient {
    http: reqwest::Client,
    base: Url,
    credentials: Credentials,
}

impl IcingaClient {
    pub fn new(config: &IcingaConfig, credentials: Credentials) -> Result<Self, MonitorError> {
        // reqwest is built without a TLS provider of its own; ring is the one hagios uses. Another
        // part of the process may have installed it already, which is just as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let base = Url::parse(&config.url)
            .ok()
            .filter(|url| matches!(url.scheme(), "https" | "http") && url.has_host())
            .ok_or_else(|| {
                MonitorError::Refused(format!(
                    "`{}` is not an API URL like https://icinga.example.com:5665",
                    config.url
                ))
            })?;
        // Keepalive probes notice a peer that vanished without closing the idle event stream.
        let mut builder =
            reqwest::Client::builder().connect_timeout(REQUEST_TIMEOUT).tcp_keepalive(Duration::from_secs(30));
        if let Some(ca_file) = &config.ca_file {
            let pem = read(ca_file, "ca_file")?;
            let ca = Certificate::from_pem(&pem).map_err(|err| bad_file(ca_file, "ca_file", &err))?;
            builder = builder.tls_certs_only([ca]);
        }
        if let Credentials::ClientCertificate { cert_file, key_file } = &credentials {
            let mut pem = read(cert_file, "client_cert")?;
            pem.push(b'\n');
            pem.extend(read(key_file, "client_key")?);
            let identity =
                Identity::from_pem(&pem).map_err(|err| bad_file(cert_file, "client_cert/client_key", &err))?;
            builder = builder.identity(identity);
        }
        let http = builder
            .build()
            .map_err(|err| MonitorError::Refused(format!("cannot set up the Icinga 2 API client: {err}")))?;
        Ok(Self { http, base, credentials })
    }

    /// The objects of one type (`hosts`, `services`, `downtimes`, …) a query body selects
    /// (`filter`, `filter_vars`, `attrs`). An empty selection is an empty list.
    pub(crate) async fn query<T: serde::de::DeserializeOwned>(
        &self,
        kind: &str,
        body: &Value,
    ) -> Result<Vec<T>, MonitorError> {
        let request = self.request(Method::POST, self.url(&["objects", kind])?).header("X-HTTP-Method-Override", "GET");
        let response = self.send(request.json(body)).await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(Vec::new());
        }
        let response = ensure_success(response, &format!("query {kind}")).await?;
        let results: Results<T> = response
            .json()
            .await
            .map_err(|err| MonitorError::State(format!("unexpected answer to the {kind} query: {err}")))?;
        Ok(results.results)
    }

    /// `POST /v1/actions/NAME`: one result per object the filter selected.
    pub(crate) async fn action(&self, name: &str, body: &Value) -> Result<Vec<ApiResult>, MonitorError> {
        let request = self.request(Method::POST, self.url(&["actions", name])?).json(body);
        self.results(request, name).await
    }

    /// `POST /v1/objects/KIND` with `attrs`: changes attributes of the selected objects.
    pub(crate) async fn modify(&self, kind: &str, body: &Value) -> Result<Vec<ApiResult>, MonitorError> {
        let request = self.request(Method::POST, self.url(&["objects", kind])?).json(body);
        self.results(request, &format!("modify {kind}")).await
    }

    /// `PUT /v1/objects/KIND/NAME`: creates one object.
    pub(crate) async fn create(&self, kind: &str, name: &str, body: &Value) -> Result<Vec<ApiResult>, MonitorError> {
        let request = self.request(Method::PUT, self.url(&["objects", kind, name])?).json(body);
        self.results(request, &format!("create {kind}")).await
    }

    /// `DELETE /v1/objects/KIND/NAME?cascade=1`: deletes one object and what depends on it.
    pub(crate) async fn delete(&self, kind: &str, name: &str) -> Result<Vec<ApiResult>, MonitorError> {
        let mut url = self.url(&["objects", kind, name])?;
        url.query_pairs_mut().append_pair("cascade", "1");
        let request = self.request(Method::DELETE, url);
        self.results(request, &format!("delete {kind}")).await
    }

    /// Opens `POST /v1/events` for these event types on the named queue. The answer streams one
    /// JSON document per line until the connection closes.
    pub(crate) async fn events(&self, types: &[&str], queue: &str) -> Result<Response, MonitorError> {
        let mut url = self.url(&["events"])?;
        url.query_pairs_mut().append_pair("queue", queue);
        for kind in types {
            url.query_pairs_mut().append_pair("types", kind);
        }
        let request = self.authorized(self.http.request(Method::POST, url)).header("Accept", "application/json");
        let response = request.send().await.map_err(unreachable)?;
        ensure_success(response, "the event stream").await
    }

    /// The HTTP status one request gets, its answer unread (an event stream is closed at once).
    /// GET is sent as POST with Icinga's method override, so that it may carry a body.
    pub(crate) async fn status_of(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, &str)],
        body: &Value,
    ) -> Result<StatusCode, MonitorError> {
        let mut url = self.url(segments)?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let request = if method == Method::GET {
            self.request(Method::POST, url).header("X-HTTP-Method-Override", "GET")
        } else {
            self.request(method, url)
        };
        Ok(self.send(request.json(body)).await?.status())
    }

    fn url(&self, segments: &[&str]) -> Result<Url, MonitorError> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| MonitorError::Refused(format!("`{}` cannot be an API base URL", self.base)))?
            .pop_if_empty()
            .push("v1")
            .extend(segments);
        Ok(url)
    }

    fn request(&self, method: Method, url: Url) -> RequestBuilder {
        self.authorized(self.http.request(method, url).timeout(REQUEST_TIMEOUT)).header("Accept", "application/json")
    }

    fn authorized(&self, request: RequestBuilder) -> RequestBuilder {
        match &self.credentials {
            Credentials::Password { user, password } => request.basic_auth(user, Some(password)),
            Credentials::ClientCertificate { .. } => request,
        }
    }

    async fn send(&self, request: RequestBuilder) -> Result<Response, MonitorError> {
        request.send().await.map_err(unreachable)
    }

    /// Sends a request answered with `results`. Icinga answers 500 when every object failed but
    /// still lists why per object, so the results are read whatever the status.
    async fn results(&self, request: RequestBuilder, what: &str) -> Result<Vec<ApiResult>, MonitorError> {
        let response = self.send(request).await?;
        let status = response.status();
        if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
            return Err(http_error(status, String::new(), what));
        }
        let text = response.text().await.map_err(unreachable)?;
        match serde_json::from_str::<Results<ApiResult>>(&text) {
            Ok(results) if !results.results.is_empty() => Ok(results.results),
            _ => {
                let detail = serde_json::from_str::<ErrorBody>(&text).map(|body| body.status).unwrap_or(text);
                Err(http_error(status, detail, what))
            }
        }
    }
}

/// Passes a successful answer on; turns any other into an error with Icinga's explanation.
async fn ensure_success(response: Response, what: &str) -> Result<Response, MonitorError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let text = response.text().await.unwrap_or_default();
    let detail = serde_json::from_str::<ErrorBody>(&text).map(|body| body.status).unwrap_or(text);
    Err(http_error(status, detail, what))
}

fn http_error(status: StatusCode, detail: String, what: &str) -> MonitorError {
    match status {
        StatusCode::UNAUTHORIZED => MonitorError::Refused(
            "Icinga 2 rejected hagios' login (401): check [icinga] user and the password in password_env \
             (or the client certificate)"
                .to_owned(),
        ),
        StatusCode::FORBIDDEN => MonitorError::Refused(format!(
            "the Icinga 2 API user may not {what} (403): grant the permissions in contrib/icinga2/hagios-permissions.conf"
        )),
        // Icinga hides what a user may not touch: creating or deleting objects without
        // `objects/create|delete/…` answers 404, not 403.
        StatusCode::NOT_FOUND if what.starts_with("create") || what.starts_with("delete") => {
            MonitorError::Refused(format!(
                "the Icinga 2 API user may not {what} (404): grant the permissions in \
                 contrib/icinga2/hagios-permissions.conf"
            ))
        }
        status if status.is_server_error() && detail.is_empty() => {
            MonitorError::State(format!("Icinga 2 failed to {what} ({status})"))
        }
        status => MonitorError::Refused(format!("Icinga 2 refused to {what} ({status}): {detail}")),
    }
}

/// Connection-level failures: the API is down, or its certificate does not verify.
fn unreachable(err: reqwest::Error) -> MonitorError {
    let mut detail = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        detail = format!("{detail}: {cause}");
        source = cause.source();
    }
    if detail.contains("certificate") {
        MonitorError::Refused(format!(
            "cannot verify the Icinga 2 API's TLS certificate ({detail}); set [icinga] ca_file to the CA that signed it \
             (/var/lib/icinga2/certs/ca.crt on the Icinga host)"
        ))
    } else if err.is_connect() || err.is_timeout() {
        MonitorError::NotRunning { system: SYSTEM, detail }
    } else {
        MonitorError::State(format!("the Icinga 2 API did not answer properly: {detail}"))
    }
}

fn read(path: &Path, key: &str) -> Result<Vec<u8>, MonitorError> {
    std::fs::read(path)
        .map_err(|cause| MonitorError::Io { context: format!("cannot read {key} {}", path.display()), cause })
}

fn bad_file(path: &Path, key: &str, err: &reqwest::Error) -> MonitorError {
    MonitorError::Refused(format!("{key} {} is not usable PEM ({err}); point it at PEM files", path.display()))
}
