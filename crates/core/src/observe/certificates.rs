//! The agent's and the bot's own certificate and CA, looked at when the process starts and then
//! daily: a warning in the log from 30 days before either expires, an error once it has, and
//! `hagios_certificate_expiry_timestamp_seconds` for Prometheus to alert on.

use super::names::CERTIFICATE_EXPIRY;
use super::probe;
use hagios_link::certs::{self, Expiry, Role, EXPIRY_WARNING_DAYS};
use hagios_link::config::TlsConfig;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::watch;
use tokio::task::JoinHandle;

const DAILY: Duration = Duration::from_secs(24 * 60 * 60);

/// Looks at `tls`'s certificate (of `role`) and CA now and daily until `shutdown` turns true.
pub fn watch(tls: TlsConfig, role: Role, shutdown: watch::Receiver<bool>) -> JoinHandle<()> {
    probe::every(DAILY, shutdown, move || {
        for Notice { level, text } in look(&tls, role, OffsetDateTime::now_utc()) {
            match level {
                tracing::Level::ERROR => tracing::error!("{text}"),
                _ => tracing::warn!("{text}"),
            }
        }
        std::future::ready(())
    })
}

/// What the log is told about one certificate.
#[derive(Debug, PartialEq, Eq)]
struct Notice {
    level: tracing::Level,
    text: String,
}

/// Sets the expiry gauges of the certificate and the CA and says what needs saying at `now`.
fn look(tls: &TlsConfig, role: Role, now: OffsetDateTime) -> Vec<Notice> {
    let mut notices = Vec::new();
    for (kind, path) in [(role.to_string(), &tls.cert), ("ca".to_owned(), &tls.ca)] {
        let facts = match certs::read_pem(path) {
            Ok(facts) => facts,
            Err(e) => {
                notices.push(Notice { level: tracing::Level::WARN, text: format!("cannot watch its expiry: {e}") });
                continue;
            }
        };
        let name = facts.hagios_identity().map(|(_, name)| name).or(facts.common_name.clone()).unwrap_or_default();
        metrics::gauge!(CERTIFICATE_EXPIRY, "role" => kind.clone(), "name" => name.clone())
            .set(facts.not_after.unix_timestamp() as f64);
        let what = match kind.as_str() {
            "ca" => format!("the CA {} (`{name}`)", path.display()),
            _ => format!("this {kind}'s certificate {} (`{name}`)", path.display()),
        };
        let fix = match kind.as_str() {
            "ca" => "make a new CA with `hagios certs init` and issue every certificate from it".to_owned(),
            _ => format!("renew it with `hagios certs renew --dir CA_DIR {name}` and restart this {kind}"),
        };
        let until = certs::day(facts.not_after);
        notices.extend(match facts.expiry(now) {
            Expiry::Valid => None,
            Expiry::Soon { days } => Some(Notice {
                level: tracing::Level::WARN,
                text: format!("{what} expires on {until}, in {days} days (warned from {EXPIRY_WARNING_DAYS}): {fix}"),
            }),
            Expiry::Expired => Some(Notice {
                level: tracing::Level::ERROR,
                text: format!("{what} expired on {until}, and peers refuse it: {fix}"),
            }),
        });
    }
    notices
}

#[cfg(test)]
mod tests {
    use super::*;
    use certs::Validity;
    use metrics_exporter_prometheus::PrometheusBuilder;

    fn validity(now: OffsetDateTime, days: i64) -> Validity {
        Validity { not_before: now - time::Duration::days(60), not_after: now + time::Duration::days(days) }
    }

    #[test]
    fn a_certificate_near_expiry_warns_an_expired_ca_is_an_error_and_both_are_measured() {
        let dir = tempfile::tempdir().unwrap();
        let now = OffsetDateTime::now_utc();
        certs::init_ca_with_validity(dir.path(), validity(now, 3650)).unwrap();
        certs::issue_with_validity(dir.path(), Role::Agent, "nagios01", &[], validity(now, 12)).unwrap();
        let tls = TlsConfig {
            ca: dir.path().join("ca.crt"),
            cert: dir.path().join("nagios01.crt"),
            key: dir.path().join("nagios01.key"),
        };
        let recorder = PrometheusBuilder::new().build_recorder();
        let notices = metrics::with_local_recorder(&recorder, || look(&tls, Role::Agent, now));
        assert_eq!(notices.len(), 1, "{notices:?}");
        assert_eq!(notices[0].level, tracing::Level::WARN);
        assert!(notices[0].text.contains("`nagios01`") && notices[0].text.contains("in 11 days"), "{notices:?}");
        assert!(notices[0].text.contains("hagios certs renew --dir CA_DIR nagios01"), "{notices:?}");
        let scraped = recorder.handle().render();
        let line = format!(
            "{CERTIFICATE_EXPIRY}{{role=\"agent\",name=\"nagios01\"}} {}",
            (now + time::Duration::days(12)).unix_timestamp()
        );
        assert!(scraped.contains(&line), "{scraped}");
        assert!(scraped.contains(&format!("{CERTIFICATE_EXPIRY}{{role=\"ca\",name=\"hagios private CA ")), "{scraped}");

        // Eleven years on, both have expired.
        let later = look(&tls, Role::Agent, now + time::Duration::days(11 * 365));
        assert_eq!(later.len(), 2, "{later:?}");
        assert!(later.iter().all(|notice| notice.level == tracing::Level::ERROR), "{later:?}");
        assert!(later[1].text.contains("make a new CA"), "{later:?}");
    }
}
