//! A private, throw-away Prometheus (Debian's `prometheus` package) that scrapes the given
//! targets every second, for the tests of hagios' `/metrics`.

use crate::nagios::wait_until;
use crate::process::{self, free_port};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tempfile::TempDir;

/// How long Prometheus gets to start; it answers within a second or two here.
const START_TIMEOUT: Duration = Duration::from_secs(30);

pub struct PrometheusInstance {
    child: Child,
    port: u16,
    _dir: TempDir,
}

/// One series of a query's answer: its labels and its value.
pub type Sample = (BTreeMap<String, String>, f64);

impl PrometheusInstance {
    /// Starts Prometheus scraping `targets` (`127.0.0.1:9464`) as job `hagios`, or returns `None`
    /// after a skip note when the package is not installed — unless `HAGIOS_REQUIRE_REAL=1`, in
    /// which case it panics.
    pub fn start(targets: &[String]) -> Option<Self> {
        let binary = process::real_binary("PROMETHEUS_BIN", "/usr/bin/prometheus", "prometheus")?;
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("prometheus.yml");
        let targets: Vec<String> = targets.iter().map(|target| format!("'{target}'")).collect();
        fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: hagios\n    \
                 static_configs:\n      - targets: [{}]\n",
                targets.join(", ")
            ),
        )
        .expect("write prometheus.yml");
        let port = free_port();
        let log = fs::File::create(dir.path().join("prometheus.log")).expect("log file");
        let child = Command::new(binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--log.level=warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start prometheus");
        let instance = PrometheusInstance { child, port, _dir: dir };
        let ready = wait_until(START_TIMEOUT, || {
            let (status, _) = process::http(port, "GET", "/-/ready", None, None).ok()?;
            (status == 200).then_some(())
        });
        ready.unwrap_or_else(|| panic!("prometheus did not get ready within {START_TIMEOUT:?}"));
        Some(instance)
    }

    /// The series an instant query of `expr` answers with now.
    pub fn query(&self, expr: &str) -> Vec<Sample> {
        let path = format!("/api/v1/query?query={}", crate::synapse::encode(expr));
        let (_, answer) = process::http(self.port, "GET", &path, None, None).expect("query prometheus");
        answer["data"]["result"].as_array().map(|series| series.iter().filter_map(sample).collect()).unwrap_or_default()
    }

    /// Queries `expr` until `accept` takes its answer, within `timeout`.
    pub fn wait_for(&self, expr: &str, timeout: Duration, accept: impl Fn(&[Sample]) -> bool) -> Option<Vec<Sample>> {
        wait_until(timeout, || Some(self.query(expr)).filter(|samples| accept(samples)))
    }
}

fn sample(series: &Value) -> Option<Sample> {
    let labels = series["metric"]
        .as_object()?
        .iter()
        .map(|(key, value)| (key.clone(), value.as_str().unwrap_or_default().to_owned()))
        .collect();
    let value = series["value"][1].as_str()?.parse().ok()?;
    Some((labels, value))
}

impl Drop for PrometheusInstance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
