//! `/metrics` and `/healthz` of `hagios run` against a real Nagios, scraped by a real Prometheus:
//! the target is up, a delivered alert shows in the delivered counter, commands are counted by
//! outcome, and health turns 503 with the reason when Nagios stops answering.

mod common;

use common::http_get as get;
use hagios_testkit::{free_port, wait_until, PrometheusInstance};
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(40);

#[test]
fn prometheus_scrapes_deliveries_and_commands_and_health_follows_the_monitoring_system() {
    let listen = format!("127.0.0.1:{}", free_port());
    let chat = format!("[terminal]\nuser = \"oncall\"\n[metrics]\nlisten = \"{listen}\"\nunhealthy_after = \"2s\"\n");
    let Some(mut site) = common::start_site(&chat, "oncall") else { return };
    let mut hagios = common::Daemon::start("run", &site.config);
    let Some(prometheus) = PrometheusInstance::start(std::slice::from_ref(&listen)) else { return };
    let up =
        prometheus.wait_for("up{job=\"hagios\"}", PATIENCE, |samples| samples.iter().any(|(_, value)| *value == 1.0));
    assert!(up.is_some(), "Prometheus scrapes hagios:\n{}", get(&listen, "/metrics").1);
    assert_eq!(get(&listen, "/healthz"), (200, "ok\n".to_owned()));

    site.nagios.submit_service_result("web01", "HTTP", 2, "HTTP CRITICAL - 503");
    let alert = hagios.wait_for_message("web01!HTTP");
    let delivered = prometheus.wait_for("hagios_notifications_delivered_total{platform=\"terminal\"}", PATIENCE, |s| {
        s.iter().any(|(_, value)| *value >= 1.0)
    });
    assert!(delivered.is_some(), "the delivered counter:\n{}", get(&listen, "/metrics").1);
    let latency = prometheus.query("hagios_delivery_latency_seconds_count{platform=\"terminal\"}");
    assert!(latency.iter().any(|(_, count)| *count >= 1.0), "{latency:?}");

    hagios.type_line(&format!("#{alert} ack on it"));
    hagios.wait_for_text("confirmed by Nagios");
    let confirmed =
        prometheus.wait_for("hagios_commands_total{command=\"ack\",outcome=\"confirmed\"}", PATIENCE, |s| {
            s.iter().any(|(_, value)| *value >= 1.0)
        });
    assert!(confirmed.is_some(), "{}", get(&listen, "/metrics").1);
    hagios.type_line("reboot web01");
    let unknown = prometheus.wait_for("hagios_commands_total{command=\"unknown\"}", PATIENCE, |s| !s.is_empty());
    assert!(unknown.is_some(), "unparsed input is counted too");

    site.nagios.stop();
    let unhealthy = wait_until(PATIENCE, || Some(get(&listen, "/healthz")).filter(|(status, _)| *status == 503));
    let (_, reason) = unhealthy.expect("/healthz turns 503 once Nagios stops answering");
    assert!(reason.starts_with("monitoring: "), "{reason}");
}
