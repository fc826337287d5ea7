//! `hagios certs renew`: a new key and certificate with the role and names of the old one, from
//! the same CA, the old pair kept; and what it refuses.

use hagios_link::certs::{self, Expiry, Facts, Role, Validity};
use hagios_link::config::TlsConfig;
use hagios_link::tls::{certified_site, client_config, server_config};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use std::path::Path;
use time::{Duration, OffsetDateTime};

fn facts(dir: &Path, name: &str) -> Facts {
    certs::read_pem(&dir.join(format!("{name}.crt"))).unwrap()
}

fn days_left(days: i64) -> Validity {
    let now = OffsetDateTime::now_utc();
    Validity { not_before: now - Duration::days(1), not_after: now + Duration::days(days) }
}

fn files(dir: &Path, name: &str) -> TlsConfig {
    TlsConfig { ca: dir.join("ca.crt"), cert: dir.join(format!("{name}.crt")), key: dir.join(format!("{name}.key")) }
}

#[test]
fn renewing_keeps_role_and_names_with_a_new_key_and_keeps_the_old_pair() {
    let dir = tempfile::tempdir().unwrap();
    let pki = dir.path();
    certs::init_ca(pki).unwrap();
    let sans = ["bot.internal".to_owned(), "192.0.2.7".to_owned()];
    certs::issue_with_validity(pki, Role::Bot, "bot.example.org", &sans, days_left(10)).unwrap();
    certs::issue_with_validity(pki, Role::Agent, "nagios01", &[], days_left(10)).unwrap();
    let old_bot = facts(pki, "bot.example.org");
    assert_eq!(old_bot.expiry(OffsetDateTime::now_utc()), Expiry::Soon { days: 9 });
    let old_key = std::fs::read(pki.join("nagios01.key")).unwrap();

    let report = certs::renew(pki, "bot.example.org").unwrap().to_string();
    assert!(report.contains("systemctl restart hagios-bot"), "{report}");
    let report = certs::renew(pki, "nagios01").unwrap().to_string();
    assert!(report.contains("restart the agent of site `nagios01`"), "{report}");
    assert!(report.contains("the previous file, kept"), "{report}");

    let bot = facts(pki, "bot.example.org");
    assert_eq!(bot.dns_names, ["bot.example.org", "bot.internal"]);
    assert_eq!(bot.ip_addresses, ["192.0.2.7".parse::<std::net::IpAddr>().unwrap()]);
    assert_eq!(bot.hagios_identity(), Some((Role::Bot, "bot.example.org".to_owned())));
    assert_eq!(bot.issuer_common_name, old_bot.issuer_common_name);
    assert!(bot.not_after > OffsetDateTime::now_utc() + Duration::days(700), "{:?}", bot.not_after);
    assert_eq!(bot.expiry(OffsetDateTime::now_utc()), Expiry::Valid);
    // Still the agent of its site, with a new key that goes with the new certificate.
    let agent = CertificateDer::from_pem_file(pki.join("nagios01.crt")).unwrap();
    assert_eq!(certified_site(&agent).as_deref(), Some("nagios01"));
    assert_ne!(std::fs::read(pki.join("nagios01.key")).unwrap(), old_key);
    client_config(&files(pki, "nagios01")).unwrap();
    server_config(&files(pki, "bot.example.org")).unwrap();

    // The old pair is kept, key still private; nothing half-written is left.
    let mut kept: Vec<String> =
        std::fs::read_dir(pki).unwrap().map(|entry| entry.unwrap().file_name().into_string().unwrap()).collect();
    kept.sort();
    let backups: Vec<&String> = kept.iter().filter(|name| name.starts_with("nagios01.key.")).collect();
    assert_eq!(backups.len(), 1, "{kept:?}");
    assert_eq!(std::fs::read(pki.join(backups[0])).unwrap(), old_key);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(pki.join(backups[0])).unwrap().permissions().mode() & 0o777, 0o600);
    assert!(!kept.iter().any(|name| name.ends_with(".new")), "{kept:?}");
    assert_eq!(kept.len(), 2 + 2 * 4, "{kept:?}");
}

#[test]
fn only_certificates_due_are_listed_for_renewal() {
    let dir = tempfile::tempdir().unwrap();
    let pki = dir.path();
    certs::init_ca(pki).unwrap();
    certs::issue_with_validity(pki, Role::Agent, "soon", &[], days_left(5)).unwrap();
    certs::issue(pki, Role::Agent, "later", &[]).unwrap();
    let expired = Validity {
        not_before: OffsetDateTime::now_utc() - Duration::days(30),
        not_after: OffsetDateTime::now_utc() - Duration::days(1),
    };
    certs::issue_with_validity(pki, Role::Agent, "gone", &[], expired).unwrap();
    assert_eq!(facts(pki, "gone").expiry(OffsetDateTime::now_utc()), Expiry::Expired);
    let due: Vec<String> = certs::due(pki, std::time::Duration::from_secs(30 * 86_400))
        .unwrap()
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    assert_eq!(due, ["gone", "soon"]);
    certs::renew(pki, "soon").unwrap();
    let due = certs::due(pki, std::time::Duration::from_secs(30 * 86_400)).unwrap();
    assert_eq!(due.len(), 1, "a renewed certificate and the backups are not due: {due:?}");
}

#[test]
fn renewing_refuses_without_the_ca_key_or_with_another_ca() {
    let dir = tempfile::tempdir().unwrap();
    let pki = dir.path();
    certs::init_ca(pki).unwrap();
    certs::issue(pki, Role::Agent, "nagios01", &[]).unwrap();
    let before = std::fs::read(pki.join("nagios01.crt")).unwrap();

    let other = tempfile::tempdir().unwrap();
    certs::init_ca(other.path()).unwrap();
    for file in ["nagios01.crt", "nagios01.key"] {
        std::fs::copy(pki.join(file), other.path().join(file)).unwrap();
    }
    let foreign = certs::renew(other.path(), "nagios01").unwrap_err().to_string();
    assert!(foreign.contains("not by the CA whose key is"), "{foreign}");

    std::fs::remove_file(pki.join("ca.key")).unwrap();
    let no_key = certs::renew(pki, "nagios01").unwrap_err().to_string();
    assert!(no_key.contains("ca.key") && no_key.contains("run this where that ca.key is kept"), "{no_key}");
    assert_eq!(std::fs::read(pki.join("nagios01.crt")).unwrap(), before, "nothing changed");
    let missing = certs::renew(pki, "nagios02").unwrap_err().to_string();
    assert!(missing.contains("cannot read the certificate") && missing.contains("nagios02.crt"), "{missing}");
}
