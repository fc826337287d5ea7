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
use rustls::pki_types::pem::PemObject;
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
    #[error(
        "cannot read {}: {cause}; renewing needs the key of the CA that signed the certificate: run this where \
         that ca.key is kept (a new CA would mean issuing every certificate again)",
        .path.display()
    )]
    NoCaKey { path: PathBuf, cause: std::io::Error },
    #[error("cannot read the certificate {}: {detail}", .path.display())]
    Read { path: PathBuf, detail: String },
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
/// Only the subject alternative names are read; whether the certificate is genuine is for the
/// TLS handshake to decide.
pub fn agent_name(cert: &CertificateDer<'_>) -> Option<String> {
    let facts = Facts::read(cert.as_ref()).ok()?;
    let mut sites = facts.dns_names.iter().filter_map(|name| name.strip_suffix(AGENT_NAME_SUFFIX));
    match (sites.next(), sites.next()) {
        (Some(site), None) if validate_name(Role::Agent, site).is_ok() => Some(site.to_owned()),
        _ => None,
    }
}

/// What a certificate says about itself, read with yasna (the DER reader rcgen builds on):
/// enough to renew it and to warn before it expires. Nothing here is verified; the chain and
/// signatures are for rustls and webpki.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    /// The subject's common name.
    pub common_name: Option<String>,
    /// The issuer's common name (a hagios CA's carries its key's fingerprint).
    pub issuer_common_name: Option<String>,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    /// The subject alternative names, by kind, in the certificate's order.
    pub dns_names: Vec<String>,
    pub ip_addresses: Vec<std::net::IpAddr>,
    pub uris: Vec<String>,
}

/// How soon a certificate stops being valid; see [`Facts::expiry`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// More than [`EXPIRY_WARNING_DAYS`] left.
    Valid,
    /// Within [`EXPIRY_WARNING_DAYS`]: this many whole days left.
    Soon {
        days: i64,
    },
    Expired,
}

/// How many days before a certificate expires hagios starts to warn (log, doctor).
pub const EXPIRY_WARNING_DAYS: i64 = 30;

impl Facts {
    /// Reads a DER certificate.
    pub fn read(der: &[u8]) -> Result<Facts, yasna::ASN1Error> {
        yasna::parse_der(der, |reader| {
            reader.read_sequence(|certificate| {
                let facts = certificate.next().read_sequence(|tbs| {
                    let mut fields = Vec::new();
                    while let Some(field) = tbs.read_optional(|reader| reader.read_tagged_der())? {
                        fields.push(field);
                    }
                    Facts::of_fields(&fields)
                })?;
                certificate.next().read_der()?; // signature algorithm
                certificate.next().read_der()?; // signature
                Ok(facts)
            })
        })
    }

    /// The fields of a TBSCertificate (RFC 5280, 4.1): an optional `[0]` version, then serial,
    /// signature algorithm, issuer, validity, subject and key, then optional `[1]`, `[2]` and
    /// `[3]` (extensions).
    fn of_fields(fields: &[yasna::models::TaggedDerValue]) -> ASN1Result<Facts> {
        let invalid = || yasna::ASN1Error::new(yasna::ASN1ErrorKind::Invalid);
        let universal: Vec<&yasna::models::TaggedDerValue> =
            fields.iter().filter(|field| field.tag().tag_class == yasna::TagClass::Universal).collect();
        let [_serial, _algorithm, issuer, validity, subject, ..] = universal[..] else { return Err(invalid()) };
        let whole =
            |field: &yasna::models::TaggedDerValue| yasna::construct_der(|writer| writer.write_tagged_der(field));
        let (not_before, not_after) = yasna::parse_der(&whole(validity), |reader| {
            reader.read_sequence(|validity| Ok((read_time(validity.next())?, read_time(validity.next())?)))
        })?;
        let mut facts = Facts {
            common_name: common_name(&whole(subject))?,
            issuer_common_name: common_name(&whole(issuer))?,
            not_before,
            not_after,
            dns_names: Vec::new(),
            ip_addresses: Vec::new(),
            uris: Vec::new(),
        };
        for field in fields.iter().filter(|field| field.tag() == Tag::context(EXTENSIONS_TAG)) {
            facts.read_subject_alt_names(field.value())?;
        }
        Ok(facts)
    }

    fn read_subject_alt_names(&mut self, extensions: &[u8]) -> ASN1Result<()> {
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
        for (_, value) in extensions.iter().filter(|(id, _)| *id == subject_alt_name) {
            let general_names =
                yasna::parse_der(value, |reader| reader.collect_sequence_of(|reader| reader.read_tagged_der()))?;
            for name in general_names {
                let text = || String::from_utf8(name.value().to_vec()).ok();
                match name.tag() {
                    tag if tag == Tag::context(DNS_NAME_TAG) => self.dns_names.extend(text()),
                    tag if tag == Tag::context(URI_TAG) => self.uris.extend(text()),
                    tag if tag == Tag::context(IP_ADDRESS_TAG) => self.ip_addresses.extend(ip_address(name.value())),
                    _ => {}
                }
            }
        }
        Ok(())
    }

    /// The role and name `hagios certs` wrote into the certificate (its `hagios://ROLE/NAME`).
    pub fn hagios_identity(&self) -> Option<(Role, String)> {
        self.uris.iter().find_map(|uri| {
            let (role, name) = uri.strip_prefix("hagios://")?.split_once('/')?;
            let role: Role = role.parse().ok()?;
            validate_name(role, name).is_ok().then(|| (role, name.to_owned()))
        })
    }

    /// Whether the certificate expires within [`EXPIRY_WARNING_DAYS`] of `now`, or has.
    pub fn expiry(&self, now: OffsetDateTime) -> Expiry {
        let left = self.not_after - now;
        if left <= Duration::ZERO {
            Expiry::Expired
        } else if left < Duration::days(EXPIRY_WARNING_DAYS) {
            Expiry::Soon { days: left.whole_days() }
        } else {
            Expiry::Valid
        }
    }
}

/// The subject alternative name extension (RFC 5280, 4.2.1.6).
const SUBJECT_ALT_NAME: [u64; 4] = [2, 5, 29, 17];
/// The common name attribute of a distinguished name.
const COMMON_NAME: [u64; 4] = [2, 5, 4, 3];
/// `extensions [3] EXPLICIT` in a TBSCertificate; `dNSName [2]`, `uniformResourceIdentifier [6]`
/// and `iPAddress [7]` in a GeneralName.
const EXTENSIONS_TAG: u64 = 3;
const DNS_NAME_TAG: u64 = 2;
const URI_TAG: u64 = 6;
const IP_ADDRESS_TAG: u64 = 7;

/// A Time (RFC 5280, 4.1.2.5): UTCTime through 2049, GeneralizedTime after.
fn read_time(reader: yasna::BERReader<'_, '_>) -> ASN1Result<OffsetDateTime> {
    if reader.lookahead_tag()? == yasna::tags::TAG_UTCTIME {
        Ok(*reader.read_utctime()?.datetime())
    } else {
        Ok(*reader.read_generalized_time()?.datetime())
    }
}

/// The common name in a distinguished name (`SEQUENCE OF SET OF AttributeTypeAndValue`).
fn common_name(name: &[u8]) -> ASN1Result<Option<String>> {
    let attributes = yasna::parse_der(name, |reader| {
        reader.collect_sequence_of(|reader| {
            reader.collect_set_of(|reader| {
                reader
                    .read_sequence(|attribute| Ok((attribute.next().read_oid()?, attribute.next().read_tagged_der()?)))
            })
        })
    })?;
    let wanted = ObjectIdentifier::from_slice(&COMMON_NAME);
    Ok(attributes
        .into_iter()
        .flatten()
        .find(|(id, _)| *id == wanted)
        .and_then(|(_, value)| String::from_utf8(value.value().to_vec()).ok()))
}

fn ip_address(bytes: &[u8]) -> Option<std::net::IpAddr> {
    match bytes.len() {
        4 => Some(<[u8; 4]>::try_from(bytes).ok()?.into()),
        16 => Some(<[u8; 16]>::try_from(bytes).ok()?.into()),
        _ => None,
    }
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
    /// What to do once the files are in place.
    pub next: Vec<String>,
}

impl fmt::Display for Written {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (path, purpose) in &self.files {
            writeln!(f, "  {}\n      {purpose}", path.display())?;
        }
        for step in &self.next {
            writeln!(f, "{step}")?;
        }
        Ok(())
    }
}

/// `hagios certs init`: a new CA in `dir` (`ca.crt`, `ca.key`). Never overwrites an existing CA.
pub fn init_ca(dir: &Path) -> Result<Written, CertError> {
    init_ca_with_validity(dir, Validity::days_from_now(CA_VALIDITY_DAYS))
}

/// [`init_ca`] with an explicit validity (tests use it for a CA about to expire).
pub fn init_ca_with_validity(dir: &Path, validity: Validity) -> Result<Written, CertError> {
    let (cert_path, key_path) = (dir.join(CA_CERT_FILE), dir.join(CA_KEY_FILE));
    for path in [&cert_path, &key_path] {
        if path.exists() {
            return Err(CertError::Exists(path.clone()));
        }
    }
    std::fs::create_dir_all(dir).map_err(|cause| CertError::Write { path: dir.into(), cause })?;
    let key = KeyPair::generate()?;
    let mut params = ca_params(&key);
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
        next: Vec::new(),
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
    let (cert_path, key_path) = leaf_paths(dir, name);
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
    let issuer = ca_issuer(&ca_key_pem)?;
    let (cert_pem, key_pem) = sign(&issuer, role, name, extra_sans, validity)?;
    write_new(&key_path, key_pem.as_bytes(), 0o600)?;
    write_new(&cert_path, cert_pem.as_bytes(), 0o644)?;
    Ok(Written { files: placement(dir, role, name, cert_path, key_path), next: Vec::new() })
}

fn leaf_paths(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    (dir.join(format!("{name}.crt")), dir.join(format!("{name}.key")))
}

/// The CA as an issuer, rebuilt from its key alone (see [`ca_params`]).
fn ca_issuer(ca_key_pem: &str) -> Result<Issuer<'static, KeyPair>, CertError> {
    let ca_key = KeyPair::from_pem(ca_key_pem)?;
    Ok(Issuer::new(ca_params(&ca_key), ca_key))
}

/// A new key and a certificate for it, signed by `issuer`, as PEM: (certificate, key).
fn sign(
    issuer: &Issuer<'_, KeyPair>,
    role: Role,
    name: &str,
    extra_sans: &[String],
    validity: Validity,
) -> Result<(String, String), CertError> {
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
    let cert = params.signed_by(&key, issuer)?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// Where each file of a leaf certificate has to go.
fn placement(dir: &Path, role: Role, name: &str, cert_path: PathBuf, key_path: PathBuf) -> Vec<(PathBuf, String)> {
    let machine = machine(role, name);
    vec![
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
    ]
}

fn machine(role: Role, name: &str) -> String {
    match role {
        Role::Agent => format!("the monitoring server of site `{name}`"),
        Role::Bot => "the bot's machine".to_owned(),
    }
}

/// Reads the first certificate of a PEM file and what it says.
pub fn read_pem(path: &Path) -> Result<Facts, CertError> {
    let read_error = |detail: String| CertError::Read { path: path.into(), detail };
    let der = CertificateDer::from_pem_file(path).map_err(|e| read_error(e.to_string()))?;
    Facts::read(der.as_ref()).map_err(|e| read_error(format!("not a certificate hagios can read ({e})")))
}

/// `hagios certs renew`: a new key and certificate for `NAME.crt` in `dir`, from the CA there,
/// with the role and names read from the current certificate; the current pair is kept beside
/// it as `NAME.crt.STAMP` and `NAME.key.STAMP` (STAMP is the UTC time, like 20261205T181707Z).
pub fn renew(dir: &Path, name: &str) -> Result<Written, CertError> {
    renew_with_validity(dir, name, Validity::days_from_now(LEAF_VALIDITY_DAYS))
}

/// [`renew`] with an explicit validity.
pub fn renew_with_validity(dir: &Path, name: &str, validity: Validity) -> Result<Written, CertError> {
    let (cert_path, key_path) = leaf_paths(dir, name);
    let facts = read_pem(&cert_path)?;
    let Some((role, certified)) = facts.hagios_identity() else {
        return Err(CertError::Usage(format!(
            "{} was not issued by `hagios certs` (no hagios://ROLE/NAME in it): issue a new one with `hagios certs \
             issue`",
            cert_path.display()
        )));
    };
    if certified != name {
        return Err(CertError::Usage(format!(
            "{} is the certificate of `{certified}`, not `{name}`: give it back its name {certified}.crt",
            cert_path.display()
        )));
    }
    let ca_key_path = dir.join(CA_KEY_FILE);
    let ca_key_pem = std::fs::read_to_string(&ca_key_path)
        .map_err(|cause| CertError::NoCaKey { path: ca_key_path.clone(), cause })?;
    let issuer = ca_issuer(&ca_key_pem)?;
    let ca_name = ca_common_name(&issuer);
    if facts.issuer_common_name.as_deref() != Some(ca_name.as_str()) {
        return Err(CertError::Usage(format!(
            "{} was signed by `{}`, not by the CA whose key is {} (`{ca_name}`): renew it where its own CA's key is",
            cert_path.display(),
            facts.issuer_common_name.as_deref().unwrap_or("an unnamed CA"),
            ca_key_path.display()
        )));
    }
    let extra_sans = match role {
        Role::Agent => Vec::new(),
        Role::Bot => facts
            .dns_names
            .iter()
            .filter(|dns_name| *dns_name != name)
            .cloned()
            .chain(facts.ip_addresses.iter().map(ToString::to_string))
            .collect(),
    };
    let (cert_pem, key_pem) = sign(&issuer, role, name, &extra_sans, validity)?;

    // The current pair stays where it is until the new one replaces it in one rename each.
    let stamp = stamp(OffsetDateTime::now_utc());
    let mut kept = Vec::new();
    for path in [&cert_path, &key_path] {
        let backup = with_suffix(path, &stamp);
        std::fs::hard_link(path, &backup).map_err(|cause| CertError::Write { path: backup.clone(), cause })?;
        kept.push(backup);
    }
    for (path, pem, mode) in [(&key_path, &key_pem, 0o600), (&cert_path, &cert_pem, 0o644)] {
        let fresh = with_suffix(path, "new");
        // A `.new` file is what an interrupted renewal left behind.
        let _ = std::fs::remove_file(&fresh);
        write_new(&fresh, pem.as_bytes(), mode)?;
        std::fs::rename(&fresh, path).map_err(|cause| CertError::Write { path: path.clone(), cause })?;
    }

    let mut files = placement(dir, role, name, cert_path, key_path);
    files.extend(
        kept.into_iter().map(|path| (path, "the previous file, kept: delete it once the new pair works".into())),
    );
    let mut next = vec![match role {
        Role::Agent => format!(
            "then restart the agent of site `{name}` (systemctl restart hagios-agent); the bot needs no restart, it \
             trusts the CA"
        ),
        Role::Bot => "then restart the bot (systemctl restart hagios-bot); agents reconnect by themselves and need \
                      no change"
            .to_owned(),
    }];
    if let Ok(ca) = read_pem(&dir.join(CA_CERT_FILE)) {
        if ca.not_after < validity.not_after {
            next.push(format!(
                "note: the CA itself expires on {}, before this certificate; plan a new CA before then",
                day(ca.not_after)
            ));
        }
    }
    Ok(Written { files, next })
}

/// The leaf certificates in `dir` (`NAME.crt` by `hagios certs`) that expire within `within`
/// of now, or have, with when: the ones `hagios certs renew --due` renews.
pub fn due(dir: &Path, within: std::time::Duration) -> Result<Vec<(String, OffsetDateTime)>, CertError> {
    let entries = std::fs::read_dir(dir).map_err(|e| CertError::Read { path: dir.into(), detail: e.to_string() })?;
    let deadline = OffsetDateTime::now_utc() + within;
    let mut due = Vec::new();
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(name) = file_name.to_str().and_then(|file| file.strip_suffix(".crt")) else { continue };
        if name == "ca" {
            continue;
        }
        let facts = read_pem(&entry.path())?;
        let issued_as_named = facts.hagios_identity().is_some_and(|(_, certified)| certified == name);
        if issued_as_named && facts.not_after <= deadline {
            due.push((name.to_owned(), facts.not_after));
        }
    }
    due.sort();
    Ok(due)
}

/// The common name of the CA `issuer` stands for.
fn ca_common_name(issuer: &Issuer<'_, KeyPair>) -> String {
    let params = ca_params(issuer.key());
    match params.distinguished_name.get(&DnType::CommonName) {
        Some(rcgen::DnValue::Utf8String(name)) => name.clone(),
        other => format!("{other:?}"),
    }
}

/// `path` with `.suffix` appended to its file name.
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{suffix}"));
    PathBuf::from(name)
}

/// A UTC time as a file-name stamp: 20261205T181707Z.
fn stamp(time: OffsetDateTime) -> String {
    let time = time.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        time.year(),
        u8::from(time.month()),
        time.day(),
        time.hour(),
        time.minute(),
        time.second()
    )
}

/// A day as people write it: 2026-12-05.
pub fn day(time: OffsetDateTime) -> String {
    let time = time.to_offset(time::UtcOffset::UTC);
    format!("{:04}-{:02}-{:02}", time.year(), u8::from(time.month()), time.day())
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
