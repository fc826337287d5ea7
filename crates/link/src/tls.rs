//! Mutual TLS for the link (rustls with the ring provider, TLS 1.3 preferred): the bot accepts
//! only agent certificates from its CA, the agent accepts only a bot certificate from its CA.

use crate::certs::{agent_dns_name, agent_name, Facts, Role};
use crate::config::TlsConfig;
use rustls::client::danger::ServerCertVerifier;
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::{ParsedCertificate, WebPkiClientVerifier};
use rustls::CertificateError;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Why TLS could not be set up. Messages name the file and what to do.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {} ({detail}); check [tls] {key} and the file's permissions", .path.display())]
    Read { key: &'static str, path: PathBuf, detail: String },
    #[error(
        "{} is not an agent certificate (it names no site); set [tls] cert to the NAME.crt that `hagios certs \
         issue --role agent --name NAME` wrote",
        .0.display()
    )]
    NotAgent(PathBuf),
    #[error("TLS setup failed: {0}")]
    Setup(String),
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read_certs(key: &'static str, path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let read_error = |detail: String| TlsError::Read { key, path: path.into(), detail };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| read_error(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| read_error(e.to_string()))?;
    if certs.is_empty() {
        return Err(read_error("no PEM certificate in it".into()));
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| TlsError::Read {
        key: "key",
        path: path.into(),
        detail: e.to_string(),
    })
}

fn roots(files: &TlsConfig) -> Result<Arc<RootCertStore>, TlsError> {
    let mut roots = RootCertStore::empty();
    for cert in read_certs("ca", &files.ca)? {
        roots.add(cert).map_err(|e| TlsError::Setup(format!("{} is not a usable CA: {e}", files.ca.display())))?;
    }
    Ok(Arc::new(roots))
}

/// The bot's side: a client certificate from the CA is required, and webpki requires it to be
/// an agent certificate (extended key usage clientAuth).
pub fn server_config(files: &TlsConfig) -> Result<Arc<ServerConfig>, TlsError> {
    let verifier = WebPkiClientVerifier::builder_with_provider(roots(files)?, provider())
        .build()
        .map_err(|e| TlsError::Setup(e.to_string()))?;
    let config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Setup(e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(read_certs("cert", &files.cert)?, read_key(&files.key)?)
        .map_err(|e| TlsError::Setup(format!("[tls] cert and key do not go together: {e}")))?;
    Ok(Arc::new(config))
}

/// The agent's side: the bot must show a server certificate (serverAuth) from the CA, valid for
/// the name the agent dials.
pub fn client_config(files: &TlsConfig) -> Result<Arc<ClientConfig>, TlsError> {
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Setup(e.to_string()))?
        .with_root_certificates(roots(files)?)
        .with_client_auth_cert(read_certs("cert", &files.cert)?, read_key(&files.key)?)
        .map_err(|e| TlsError::Setup(format!("[tls] cert and key do not go together: {e}")))?;
    Ok(Arc::new(config))
}

/// The site a verified agent certificate was issued for, exactly as written in it (see
/// [`agent_name`]); webpki must agree that the certificate carries that site's role-scoped name.
/// The chain, expiry and agent role were already checked in the handshake.
pub fn certified_site(end_entity: &CertificateDer<'_>) -> Option<String> {
    let site = agent_name(end_entity)?;
    let name = ServerName::try_from(agent_dns_name(&site)).ok()?;
    let parsed = ParsedCertificate::try_from(end_entity).ok()?;
    rustls::client::verify_server_name(&parsed, &name).is_ok().then_some(site)
}

/// The site this agent serves: the one its `[tls] cert` is issued for.
pub fn own_site(files: &TlsConfig) -> Result<String, TlsError> {
    let certs = read_certs("cert", &files.cert)?;
    agent_name(&certs[0]).ok_or_else(|| TlsError::NotAgent(files.cert.clone()))
}

/// Whether this side's `[tls] cert` chains to `[tls] ca` and may act in `role` at `now`, judged
/// by webpki exactly as the peer's handshake will (for a bot: for the name it is issued for).
/// The error says what is wrong in words.
pub fn verify_own(files: &TlsConfig, role: Role, now: std::time::SystemTime) -> Result<(), String> {
    let now = UnixTime::since_unix_epoch(now.duration_since(std::time::UNIX_EPOCH).map_err(|e| e.to_string())?);
    let chain = read_certs("cert", &files.cert).map_err(|e| e.to_string())?;
    let (end_entity, intermediates) = chain.split_first().ok_or("no certificate")?;
    let roots = roots(files).map_err(|e| e.to_string())?;
    let verified = match role {
        Role::Agent => WebPkiClientVerifier::builder_with_provider(roots, provider())
            .build()
            .map_err(|e| e.to_string())?
            .verify_client_cert(end_entity, intermediates, now)
            .map(drop),
        Role::Bot => {
            let facts = Facts::read(end_entity.as_ref()).map_err(|e| format!("cannot read it: {e}"))?;
            let name = facts.hagios_identity().map(|(_, name)| name).ok_or("it names no bot")?;
            let name = ServerName::try_from(name).map_err(|e| e.to_string())?;
            WebPkiServerVerifier::builder_with_provider(roots, provider())
                .build()
                .map_err(|e| e.to_string())?
                .verify_server_cert(end_entity, intermediates, &name, &[], now)
                .map(drop)
        }
    };
    verified.map_err(|e| match e {
        rustls::Error::InvalidCertificate(problem) => match problem {
            CertificateError::UnknownIssuer | CertificateError::BadSignature => {
                format!("it is not signed by the CA in {}", files.ca.display())
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => "it has expired".to_owned(),
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                "it is not valid yet (is this machine's clock right?)".to_owned()
            }
            CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
                format!("it is not issued for the {role} role (issue one with `hagios certs issue --role {role}`)")
            }
            other => rustls::Error::InvalidCertificate(other).to_string(),
        },
        other => other.to_string(),
    })
}
