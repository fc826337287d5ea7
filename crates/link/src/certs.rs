//! The private CA behind `hagios certs`: `init` makes the CA, `issue` makes agent and bot
//! certificates whose role is written into them, so a peer can tell an agent from a bot.
//!
//! The role lives in two places a TLS peer checks: the extended key usage (agents may only act
//! as TLS clients, bots only as TLS servers; rustls refuses anything else during the handshake)
//! and a role-scoped DNS name, `NAME.agent.hagios` for an agent, which the bot verifies against
//! the site the agent announces. A `hagios://ROLE/NAME` URI names the role for people reading
//! the certificate with openssl.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls::pki_types::CertificateDer;
use std::fmt;
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use time::{Duration, OffsetDateTime};
use yasna::models::ObjectIdentifier;
use yasna::{ASN1Result, Tag};

/// The start of the CA's common name; see [`ca_params`].
const CA_COMMON_NAME: &str = "hagios private CA";
const CA_CERT_FILE: &str = "ca.crt";
const CA_KEY_FILE: &str = "ca.key";
const CA_VALIDITY_DAYS: i64 = 3650;
/// Leaf certificates are renewed by issuing again; two years keeps that a rare chore.
pub const LEAF_VALIDITY_DAYS: i64 = 730;
/// The DNS-name suffix that marks an agent certificate; see [`agent_dns_name`].
const AGENT_NAME_SUFFIX: &str = ".agent.hagios";

/// What a certificate may be used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Runs on the monitoring server and dials the bot (TLS client).
    Agent,
    /// Runs where chat is reachable and accepts agents (TLS server).
    Bot,
}

impl FromStr for Role {
    type Err = CertError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "agent" => Ok(Role::Agent),
            "bot" => Ok(Role::Bot),
            other => Err(CertError::Usage(format!("unknown role `{other}`: use --role agent or --role bot"))),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Agent => "agent",
            Role::Bot => "bot",
        })
    }
}

/// Why a CA or certificate could not be made. Messages say what to do next.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("{0}")]
    Usage(String),
    #[error("{} already exists; delete it first if you really mean to replace it", .0.display())]
    Exists(PathBuf),
    #[error("cannot read {}: {cause}; run `hagios certs init --dir {}` first", .path.display(), .dir.display())]
    NoCa { path: PathBuf, dir: PathBuf, cause: std::io::Error },
    #[error("cannot write {}: {cause}", .path.display())]
    Write { path: PathBuf, cause: std::io::Error },
    #[error("cannot make the certificate: {0}")]
    Generate(rcgen::Error),
}

/// By hand rather than `#[from]`, which would also make rcgen's error the `source()` the message
/// already quotes: a chain printed whole would say it twice.
impl From<rcgen::Error> for CertError {
    fn from(cause: rcgen::Error) -> Self {
        CertError::Generate(cause)
    }
}

/// An agent's name is a site name: one DNS label (it becomes a file name, part of a DNS name
/// and the site shown in chat). A bot's name is the host name agents dial: dotted labels.
pub fn validate_name(role: Role, name: &str) -> Result<(), CertError> {
    let label = |part: &str| {
        !part.is_empty()
            && part.len() <= 63
            && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !part.starts_with('-')
            && !part.ends_with('-')
    };
    let (well_formed, expected) = match role {
        Role::Agent => (label(name), "1 to 63 lowercase letters, digits and inner dashes (like nagios01)"),
        Role::Bot => (
            name.len() <= 253 && name.split('.').all(label),
            "a lowercase host name (like bot.example.org) as agents dial it",
        ),
    };
    if well_formed {
        Ok(())
    } else {
        Err(CertError::Usage(format!("`{name}` is not a usable {role} name: use {expected}")))
    }
}

/// The DNS name every agent certificate for `site` carries, and that the bot checks.
pub fn agent_dns_name(site: &str) -> String {
    format!("{site}{AGENT_NAME_SUFFIX}")
}

/// The site an agent certificate is issued for, exactly as written in it: `NAME` of its one
/// `NAME.agent.hagios` DNS name. `None` when it has no such name, several, or one that
/// `hagios certs` would not have issued.
///
/// Only the subject alternative names are read (with yasna, the DER reader rcgen builds on);
/// whether the certificate is genuine is for the TLS handshake to decide.
pub fn agent_name(cert: &CertificateDer<'_>) -> Option<String> {
    let names = dns_names(cert.as_ref()).ok()?;
    let mut sites = names.iter().filter_map(|name| name.strip_suffix(AGENT_NAME_SUFFIX));
    match (sites.next(), sites.next()) {
        (Some(site), None) if validate_name(Role::Agent, site).is_ok() => Some(site.to_owned()),
        _ => None,
    }
}

/// The subject alternative name extension (RFC 5280, 4.2.1.6).
const SUBJECT_ALT_NAME: [u64; 4] = [2, 5, 29, 17];
/// `extensions [3] EXPLICIT` in a TBSCertificate, and `dNSName [2]` in a GeneralName.
const EXTENSIONS_TAG: u64 = 3;
const DNS_NAME_TAG: u64 = 2;

/// Every DNS name among a certificate's subject alternative names.
fn dns_names(der: &[u8]) -> ASN1Result<Vec<String>> {
    yasna::parse_der(der, |reader| {
        reader.read_sequence(|certificate| {
            let names = certificate.next().read_sequence(|tbs| {
                // Version, serial, algorithm, issuer, validity, subject and key are skipped whole.
                let mut names = Vec::new();
                while let Some(field) = tbs.read_optional(|reader| reader.read_tagged_der())? {
                    if field.tag() == Tag::context(EXTENSIONS_TAG) {
                        names = extension_dns_names(field.value())?;
                    }
                }
                Ok(names)
            })?;
            certificate.next().read_der()?; // signature algorithm
            certificate.next().read_der()?; // signature
            Ok(names)
        })
    })
}

fn extension_dns_names(extensions: &[u8]) -> ASN1Result<Vec<String>> {
    let extensions = yasna::parse_der(extensions, |reader| {
        reader.collect_sequence_of(|reader| {
            reader.read_sequence(|extension| {
                let id = extension.next().read_oid()?;
                extension.read_optional(|reader| reader.read_bool())?; // critical
                Ok((id, extension.next().read_bytes()?))
            })
        })
    })?;
    let subject_alt_name = ObjectIdentifier::from_slice(&SUBJECT_ALT_NAME);
    let mut names = Vec::new();
    for (_, value) in extensions.iter().filter(|(id, _)| *id == subject_alt_name) {
        let general_names =
            yasna::parse_der(value, |reader| reader.collect_sequence_of(|reader| reader.read_tagged_der()))?;
        names.extend(
            general_names
                .iter()
                .filter(|name| name.tag() == Tag::context(DNS_NAME_TAG))
                .filter_map(|name| String::from_utf8(name.value().to_vec()).ok()),
        );
    }
    Ok(names)
}

/// When a certificate is valid.
#[derive(Debug, Clone, Copy)]
pub struct Validity {
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

impl Validity {
    /// From a day ago (tolerating clock skew between machines) until `days` from now.
    pub fn days_from_now(days: i64) -> Self {
        let now = OffsetDateTime::now_utc();
        Validity { not_before: now - Duration::days(1), not_after: now + Duration::days(days) }
    }
}

/// Files written by one `certs` command, each with where it has to go.
#[derive(Debug)]
pub struct Written {
    pub files: Vec<(PathBuf, String)>,
}

impl fmt::Display for Written {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (path, purpose) in &self.files {
            writeln!(f, "  {}\n      {purpose}", path.display())?;
        }
        Ok(())
    }
}

/// `hagios certs init`: a new CA in `dir` (`ca.crt`, `ca.key`). Never overwrites an existing CA.
pub fn init_ca(dir: &Path) -> Result<Written, CertError> {
    let (cert_path, key_path) = (dir.join(CA_CERT_FILE), dir.join(CA_KEY_FILE));
    for path in [&cert_path, &key_path] {
        if path.exists() {
            return Err(CertError::Exists(path.clone()));
        }
    }
    std::fs::create_dir_all(dir).map_err(|cause| CertError::Write { path: dir.into(), cause })?;
    let key = KeyPair::generate()?;
    let mut params = ca_params(&key);
    let validity = Validity::days_from_now(CA_VALIDITY_DAYS);
    (params.not_before, params.not_after) = (validity.not_before, validity.not_after);
    let cert = params.self_signed(&key)?;
    write_new(&key_path, key.serialize_pem().as_bytes(), 0o600)?;
    write_new(&cert_path, cert.pem().as_bytes(), 0o644)?;
    Ok(Written {
        files: vec![
            (cert_path, "public: copy to every agent and bot machine, set as [tls] ca".to_owned()),
            (
                key_path,
                "SECRET (mode 0600): signs every certificate; keep it on this machine only, ideally offline".to_owned(),
            ),
        ],
    })
}

/// The CA's identity. Its name carries a fingerprint of the CA key, so two hagios CAs never
/// share a name (a peer then reports "unknown issuer", not a bad signature), and the issuer
/// can be rebuilt from the key alone when issuing.
fn ca_params(key: &KeyPair) -> CertificateParams {
    let mut params = CertificateParams::default();
    let fingerprint: String = params.key_identifier(key).iter().take(6).map(|byte| format!("{byte:02x}")).collect();
    params.distinguished_name = distinguished_name(&format!("{CA_COMMON_NAME} {fingerprint}"));
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    params
}

fn distinguished_name(common_name: &str) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::OrganizationName, "hagios");
    name.push(DnType::CommonName, common_name);
    name
}

/// `hagios certs issue`: `NAME.crt` and `NAME.key` in `dir`, signed by the CA there.
/// `extra_sans` are further DNS names or IP addresses (a bot's host name as agents dial it).
pub fn issue(dir: &Path, role: Role, name: &str, extra_sans: &[String]) -> Result<Written, CertError> {
    issue_with_validity(dir, role, name, extra_sans, Validity::days_from_now(LEAF_VALIDITY_DAYS))
}

/// [`issue`] with an explicit validity (tests use it for certificates that expired already).
pub fn issue_with_validity(
    dir: &Path,
    role: Role,
    name: &str,
    extra_sans: &[String],
    validity: Validity,
) -> Result<Written, CertError> {
    validate_name(role, name)?;
    let (cert_path, key_path) = (dir.join(format!("{name}.crt")), dir.join(format!("{name}.key")));
    for path in [&cert_path, &key_path] {
        if path.exists() {
            return Err(CertError::Exists(path.clone()));
        }
    }
    let ca_key_path = dir.join(CA_KEY_FILE);
    let ca_key_pem = std::fs::read_to_string(&ca_key_path).map_err(|cause| CertError::NoCa {
        path: ca_key_path.clone(),
        dir: dir.into(),
        cause,
    })?;
    let ca_key = KeyPair::from_pem(&ca_key_pem)?;
    let issuer = Issuer::new(ca_params(&ca_key), ca_key);

    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name = distinguished_name(name);
    params.not_before = validity.not_before;
    params.not_after = validity.not_after;
    params.use_authority_key_identifier_extension = true;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.subject_alt_names = role_names(role, name, extra_sans)?;
    params.extended_key_usages = vec![match role {
        Role::Agent => ExtendedKeyUsagePurpose::ClientAuth,
        Role::Bot => ExtendedKeyUsagePurpose::ServerAuth,
    }];
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, &issuer)?;
    write_new(&key_path, key.serialize_pem().as_bytes(), 0o600)?;
    write_new(&cert_path, cert.pem().as_bytes(), 0o644)?;
    let machine = match role {
        Role::Agent => format!("the monitoring server of site `{name}`"),
        Role::Bot => "the bot's machine".to_owned(),
    };
    Ok(Written {
        files: vec![
            (
                cert_path,
                match role {
                    Role::Agent => format!(
                        "public: copy to {machine}, set as [tls] cert (the agent serves site `{name}`, the name in it)"
                    ),
                    Role::Bot => format!("public: copy to {machine}, set as [tls] cert"),
                },
            ),
            (key_path, format!("SECRET (mode 0600): copy to {machine}, set as [tls] key, readable only by hagios")),
            (dir.join(CA_CERT_FILE), format!("also needed on {machine}, set as [tls] ca")),
        ],
    })
}

/// The subject alternative names that carry the role: an agent gets only its role-scoped names
/// (it is never a server, so host names are of no use to it); a bot gets its name plus the
/// host names and addresses agents dial.
fn role_names(role: Role, name: &str, extra_sans: &[String]) -> Result<Vec<SanType>, CertError> {
    let uri = format!("hagios://{role}/{name}");
    let mut names = vec![SanType::URI(uri.as_str().try_into()?)];
    match role {
        Role::Agent => {
            if !extra_sans.is_empty() {
                return Err(CertError::Usage(
                    "--san is for bot certificates (the names agents dial); an agent is named by --name only".into(),
                ));
            }
            names.push(SanType::DnsName(agent_dns_name(name).as_str().try_into()?));
        }
        Role::Bot => {
            for san in std::iter::once(name).chain(extra_sans.iter().map(String::as_str)) {
                names.push(match san.parse::<std::net::IpAddr>() {
                    Ok(ip) => SanType::IpAddress(ip),
                    Err(_) if san.ends_with(AGENT_NAME_SUFFIX) => {
                        return Err(CertError::Usage(format!("`{san}` is reserved for agent certificates")));
                    }
                    Err(_) => SanType::DnsName(san.try_into()?),
                });
            }
        }
    }
    Ok(names)
}

/// Creates `path` with `mode` from the first byte on (a key is never readable by others, not
/// even for a moment), refusing to replace an existing file.
fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), CertError> {
    let mut file = OpenOptions::new().write(true).create_new(true).mode(mode).open(path).map_err(|cause| {
        if cause.kind() == std::io::ErrorKind::AlreadyExists {
            CertError::Exists(path.into())
        } else {
            CertError::Write { path: path.into(), cause }
        }
    })?;
    file.write_all(bytes).and_then(|()| file.sync_all()).map_err(|cause| CertError::Write { path: path.into(), cause })
}
