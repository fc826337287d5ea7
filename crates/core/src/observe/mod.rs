//! Observability: Prometheus metrics on `/metrics` and a health check on `/healthz`, served on
//! `[metrics] listen` by `run`, `bot` and `agent`. The names of every metric are in `names.rs`
//! (docs/metrics.md explains them); `health.rs` keeps what the parts of a process last reported.

pub mod certificates;
pub mod health;
pub mod names;
pub mod probe;

use crate::StartError;
use axum::http::StatusCode;
use axum::routing::get;
use health::Health;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use serde::Deserialize;
use std::sync::OnceLock;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// `[metrics]`: where `/metrics` and `/healthz` are served.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// `127.0.0.1:9464`; the endpoints carry no secrets but describe the monitoring, so keep them
    /// off public addresses.
    pub listen: String,
    /// How long a part may fail (chat unreachable, the monitoring system not answering, delivery
    /// paused) before `/healthz` answers 503.
    #[serde(default = "default_grace", with = "hagios_domain::config_text::duration")]
    pub unhealthy_after: Duration,
}

fn default_grace() -> Duration {
    Duration::from_secs(30)
}

impl MetricsConfig {
    pub fn problems(&self) -> Vec<String> {
        match self.listen.parse::<std::net::SocketAddr>() {
            Ok(_) => Vec::new(),
            Err(_) => vec![format!("[metrics] listen = \"{}\" is not an address like \"127.0.0.1:9464\"", self.listen)],
        }
    }
}

/// Seconds-valued histograms, from a quick command to a slow confirmation or a long outage.
const SECONDS_BUCKETS: [f64; 12] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 300.0];

/// The process-wide recorder: installed once, by the first process part that serves metrics.
pub(crate) fn recorder() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), &SECONDS_BUCKETS)
            .expect("the buckets are not empty");
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        // Another recorder can only be there in a test process that installed its own first.
        if metrics::set_global_recorder(recorder).is_ok() {
            names::describe();
        }
        handle
    })
}

/// Serves `/metrics` and `/healthz` on `config.listen` until `shutdown` turns true.
pub async fn serve(
    config: &MetricsConfig,
    health: Health,
    mut shutdown: watch::Receiver<bool>,
) -> Result<JoinHandle<()>, StartError> {
    let handle = recorder();
    let listener = tokio::net::TcpListener::bind(&config.listen).await.map_err(|cause| StartError::Listen {
        address: config.listen.clone(),
        key: "[metrics] listen",
        cause,
    })?;
    let grace = config.unhealthy_after;
    let app = axum::Router::new().route("/metrics", get(move || std::future::ready(handle.render()))).route(
        "/healthz",
        get(move || {
            let answer = match health.problems(grace) {
                problems if problems.is_empty() => (StatusCode::OK, "ok\n".to_owned()),
                problems => (StatusCode::SERVICE_UNAVAILABLE, format!("{}\n", problems.join("\n"))),
            };
            std::future::ready(answer)
        }),
    );
    tracing::info!(listen = %config.listen, "serving /metrics and /healthz");
    Ok(tokio::spawn(async move {
        let stopped = async move {
            while !*shutdown.borrow() {
                if shutdown.changed().await.is_err() {
                    break;
                }
            }
        };
        if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(stopped).await {
            tracing::error!(error = %e, "the metrics endpoint stopped");
        }
    }))
}
