//! The doctor's certificate checks for an agent or a bot: the `[tls]` files are readable by the
//! user hagios runs as, the certificate chains to the configured CA for its role (webpki judges,
//! as the peer's handshake will), the key goes with it, an agent's certificate names the site it
//! serves, and neither the certificate nor the CA expires within 30 days.

use super::access::{Access, Account};
use super::Finding;
use hagios_link::certs::{self, Expiry, Facts, Role, EXPIRY_WARNING_DAYS};
use hagios_link::config::{agent_site, TlsConfig};
use hagios_link::tls;
use std::path::Path;
use time::OffsetDateTime;

/// Every certificate check for the `[tls]` of an agent (with its `[nagios] site`) or a bot.
pub(super) fn examine(files: &TlsConfig, role: Role, site: Option<&str>, user: &Account) -> Vec<Finding> {
    examine_at(files, role, site, user, OffsetDateTime::now_utc())
}

fn examine_at(files: &TlsConfig, role: Role, site: Option<&str>, user: &Account, now: OffsetDateTime) -> Vec<Finding> {
    let mut findings = readable(files, user);
    if findings.iter().any(|finding| finding.level == super::Level::Fail) {
        return findings;
    }
    let (ca, cert) = match (certs::read_pem(&files.ca), certs::read_pem(&files.cert)) {
        (Ok(ca), Ok(cert)) => (ca, cert),
        (ca, cert) => {
            findings.extend(ca.err().into_iter().chain(cert.err()).map(|e| Finding::fail(format!("[tls] {e}"))));
            return findings;
        }
    };
    findings.push(ca_expiry(&files.ca, &ca, now));
    findings.push(certificate(files, role, &cert, now));
    let pair = match role {
        Role::Agent => tls::client_config(files).map(drop),
        Role::Bot => tls::server_config(files).map(drop),
    };
    findings.push(Finding::of(
        format!("[tls] key {} goes with [tls] cert", files.key.display()),
        pair.map_err(|e| e.to_string()),
    ));
    if role == Role::Agent {
        let announced = agent_site(site, files);
        findings.push(match announced {
            Ok(site) => {
                Finding::ok(format!("the agent certificate is issued for site `{site}`, the site it announces"))
            }
            Err(reason) => Finding::fail(reason),
        });
    }
    findings
}

/// Whether `user` may read the CA, the certificate and the key.
pub(super) fn readable(files: &TlsConfig, user: &Account) -> Vec<Finding> {
    [("ca", &files.ca), ("cert", &files.cert), ("key", &files.key)]
        .into_iter()
        .map(|(key, path)| {
            Finding::of(format!("{} may read [tls] {key} {}", user.name, path.display()), user.may(Access::Read, path))
        })
        .collect()
}

fn ca_expiry(path: &Path, ca: &Facts, now: OffsetDateTime) -> Finding {
    let until = certs::day(ca.not_after);
    let path = path.display();
    match ca.expiry(now) {
        Expiry::Valid => Finding::ok(format!("[tls] ca {path} is valid until {until}")),
        Expiry::Soon { days } => Finding::warn(format!(
            "[tls] ca {path} expires on {until} (in {days} days), and every certificate it signed stops working \
             with it: make a new CA with `hagios certs init`, issue every certificate from it and roll them out \
             before then"
        )),
        Expiry::Expired => Finding::fail(format!(
            "[tls] ca {path} expired on {until}, and every certificate it signed with it: make a new CA with \
             `hagios certs init` and issue every certificate from it"
        )),
    }
}

/// The certificate's expiry and whether it chains to the CA for its role.
fn certificate(files: &TlsConfig, role: Role, cert: &Facts, now: OffsetDateTime) -> Finding {
    let path = files.cert.display();
    let until = certs::day(cert.not_after);
    let name = cert.hagios_identity().map_or_else(|| "NAME".to_owned(), |(_, name)| name);
    let renew = format!(
        "renew it with `hagios certs renew --dir CA_DIR {name}` where the CA key is kept, copy the new {name}.crt \
         and {name}.key here and restart hagios"
    );
    if cert.expiry(now) == Expiry::Expired {
        return Finding::fail(format!("[tls] cert {path} expired on {until}, and peers refuse it: {renew}"));
    }
    if let Err(reason) = tls::verify_own(files, role, now.into()) {
        return Finding::fail(format!(
            "[tls] cert {path} is refused as the {role}'s certificate: {reason}; set [tls] cert and key to a pair \
             that `hagios certs` issued from the CA in [tls] ca"
        ));
    }
    match cert.expiry(now) {
        Expiry::Soon { days } => Finding::warn(format!(
            "[tls] cert {path} expires on {until} (in {days} days, warned from {EXPIRY_WARNING_DAYS}): {renew}"
        )),
        _ => Finding::ok(format!("[tls] cert {path} ({role} `{name}`) chains to [tls] ca, valid until {until}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::Level;
    use certs::Validity;
    use time::Duration;

    /// A CA valid for `ca_days` and a certificate `name` of `role` valid for `days` (negative:
    /// expired that long ago) in a new folder, and their `[tls]` files.
    fn pki(ca_days: i64, role: Role, name: &str, days: i64) -> (tempfile::TempDir, TlsConfig) {
        let folder = tempfile::tempdir().unwrap();
        let dir = folder.path();
        let now = OffsetDateTime::now_utc();
        let validity = |days: i64| Validity {
            not_before: now - Duration::days(60),
            not_after: now + Duration::days(days) - Duration::hours(1),
        };
        certs::init_ca_with_validity(dir, validity(ca_days)).unwrap();
        certs::issue_with_validity(dir, role, name, &[], validity(days)).unwrap();
        let files = files(dir, name);
        (folder, files)
    }

    fn files(dir: &Path, name: &str) -> TlsConfig {
        TlsConfig {
            ca: dir.join("ca.crt"),
            cert: dir.join(format!("{name}.crt")),
            key: dir.join(format!("{name}.key")),
        }
    }

    fn check(files: &TlsConfig, role: Role, site: Option<&str>) -> Vec<Finding> {
        examine(files, role, site, &Account::current())
    }

    /// The one finding at `level`, which must mention `text`.
    fn only(findings: &[Finding], level: Level, text: &str) {
        let at: Vec<&Finding> = findings.iter().filter(|finding| finding.level == level).collect();
        assert_eq!(at.len(), 1, "{findings:#?}");
        assert!(at[0].text.contains(text), "{findings:#?}");
    }

    #[test]
    fn current_certificates_of_both_roles_pass() {
        let (dir, agent) = pki(3650, Role::Agent, "nagios01", 730);
        certs::issue(dir.path(), Role::Bot, "bot.example.org", &[]).unwrap();
        for (files, role) in [(agent, Role::Agent), (files(dir.path(), "bot.example.org"), Role::Bot)] {
            let findings = check(&files, role, None);
            assert!(findings.iter().all(|finding| finding.level == Level::Ok), "{findings:#?}");
        }
        let agent = check(&files(dir.path(), "nagios01"), Role::Agent, Some("nagios01"));
        assert!(agent.iter().any(|finding| finding.text.contains("issued for site `nagios01`")), "{agent:#?}");
    }

    #[test]
    fn a_certificate_expiring_within_30_days_warns_with_the_renew_command() {
        let (_dir, files) = pki(3650, Role::Agent, "nagios01", 12);
        only(
            &check(&files, Role::Agent, None),
            Level::Warn,
            "(in 11 days, warned from 30): renew it with `hagios certs renew --dir CA_DIR nagios01`",
        );
    }

    #[test]
    fn an_expired_certificate_fails() {
        let (_dir, files) = pki(3650, Role::Bot, "bot.example.org", -3);
        only(&check(&files, Role::Bot, None), Level::Fail, "expired on");
    }

    #[test]
    fn a_ca_expiring_within_30_days_warns_and_an_expired_one_fails() {
        let (_dir, files) = pki(20, Role::Agent, "nagios01", 10);
        let findings = check(&files, Role::Agent, None);
        assert!(findings.iter().any(|f| f.level == Level::Warn && f.text.starts_with("[tls] ca")), "{findings:#?}");
        let (_expired, files) = pki(-1, Role::Agent, "nagios01", 10);
        only(&check(&files, Role::Agent, None), Level::Fail, "make a new CA");
    }

    #[test]
    fn a_certificate_from_another_ca_fails() {
        let ours = tempfile::tempdir().unwrap();
        let (_theirs, mut files) = pki(3650, Role::Agent, "nagios01", 730);
        certs::init_ca(ours.path()).unwrap();
        files.ca = ours.path().join("ca.crt");
        only(&check(&files, Role::Agent, None), Level::Fail, "it is not signed by the CA in");
    }

    #[test]
    fn a_bot_certificate_in_an_agent_fails() {
        let (_dir, files) = pki(3650, Role::Bot, "bot.example.org", 730);
        let findings = check(&files, Role::Agent, None);
        let failed: Vec<&str> = findings.iter().filter(|f| f.level == Level::Fail).map(|f| f.text.as_str()).collect();
        assert!(failed[0].contains("it is not issued for the agent role"), "{findings:#?}");
        assert!(failed[1].contains("is not an agent certificate (it names no site)"), "{findings:#?}");
    }

    #[test]
    fn an_agent_certificate_for_another_site_fails() {
        let (_dir, files) = pki(3650, Role::Agent, "nagios01", 730);
        only(&check(&files, Role::Agent, Some("nagios02")), Level::Fail, "is issued for site `nagios01`");
    }

    #[test]
    fn a_key_that_does_not_go_with_the_certificate_fails() {
        let (dir, mut files) = pki(3650, Role::Agent, "nagios01", 730);
        certs::issue(dir.path(), Role::Agent, "nagios02", &[]).unwrap();
        files.key = dir.path().join("nagios02.key");
        only(&check(&files, Role::Agent, None), Level::Fail, "do not go together");
    }

    #[test]
    fn a_key_the_service_user_cannot_read_fails() {
        let (_dir, files) = pki(3650, Role::Agent, "nagios01", 730);
        let stranger = Account { name: "stranger".into(), uid: 54_321, gids: vec![54_321] };
        only(&examine(&files, Role::Agent, None, &stranger), Level::Fail, "stranger cannot read");
    }
}
