//! The bot's end of the link: accepts agents over mutual TLS, checks the handshake, keeps
//! their notifications in its [`Inbox`] — the bot's spool, or the store several bots share —
//! acknowledging each once it is durable there (each site's within its quota and its own
//! namespace of record ids), and keeps the site registered for commands while the connection
//! lives.

use crate::certs::{self, Expiry, Facts};
use crate::protocol::{read_frame, write_frame, write_frames, Frame, FrameError, MAX_FRAME_BYTES, PROTOCOL_VERSION};
use crate::quota::{Admission, Quotas};
use crate::sites::{Registration, Sites};
use crate::tls::certified_site;
use async_trait::async_trait;
use hagios_domain::{Notification, System};
use hagios_spool::{RecordId, Spool};
use rustls::ServerConfig;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncRead;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio_rustls::TlsAcceptor;

/// Where the bot keeps what agents hand it until it is delivered.
#[async_trait]
pub trait Inbox: Send + Sync {
    /// Makes `notification` durable under the agent's record id (handing the same record over
    /// again keeps it once) and returns its size in bytes; the agent deletes its copy only after
    /// this succeeded.
    async fn keep(&self, record: RecordId, notification: Notification) -> Result<u64, String>;
}

/// A bot alone keeps notifications in its own spool.
#[async_trait]
impl Inbox for Spool {
    async fn keep(&self, record: RecordId, notification: Notification) -> Result<u64, String> {
        let spool = self.clone();
        tokio::task::spawn_blocking(move || spool.write_as(&record, notification))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())
    }
}

/// How the bot runs its side of the link.
#[derive(Clone)]
pub struct BotLink {
    pub tls: Arc<ServerConfig>,
    pub inbox: Arc<dyn Inbox>,
    pub sites: Arc<Sites>,
    /// How much of each site may wait at the bot (in its spool, and the chat platforms' after it).
    pub quotas: Arc<Quotas>,
    /// How often the bot sends a heartbeat; a peer silent for three of these is gone.
    pub heartbeat: Duration,
}

/// Time allowed for the TLS handshake and the `Hello` together.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why one agent connection ended.
#[derive(Debug, thiserror::Error)]
enum SessionError {
    #[error("TLS handshake failed: {0}")]
    Tls(std::io::Error),
    #[error("refused: {0}")]
    Refused(String),
    #[error(transparent)]
    Frame(#[from] FrameError),
    #[error("no frame for {0:?}; the agent is gone")]
    Silent(Duration),
    #[error("cannot store a notification: {0}")]
    Store(String),
}

impl BotLink {
    /// Accepts agents on `listener` until `shutdown` turns true; each runs in its own task.
    pub async fn serve(self, listener: TcpListener, mut shutdown: watch::Receiver<bool>) {
        let acceptor = TlsAcceptor::from(Arc::clone(&self.tls));
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        let link = self.clone();
                        let acceptor = acceptor.clone();
                        tokio::spawn(async move {
                            match link.session(acceptor, stream, peer).await {
                                Ok(site) => tracing::info!(%peer, %site, "agent disconnected"),
                                Err(e) => tracing::warn!(%peer, error = %e, "agent connection ended"),
                            }
                        });
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot accept a connection");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
                _ = shutdown.changed() => return,
            }
        }
    }

    async fn session(
        &self,
        acceptor: TlsAcceptor,
        stream: TcpStream,
        peer: SocketAddr,
    ) -> Result<String, SessionError> {
        let (mut stream, site, system) = tokio::time::timeout(HANDSHAKE_TIMEOUT, self.handshake(acceptor, stream))
            .await
            .map_err(|_| SessionError::Refused(format!("no handshake within {HANDSHAKE_TIMEOUT:?}")))??;
        tracing::info!(%peer, %site, system = system.map(System::name), "agent connected");
        let (outbox, frames) = mpsc::channel(64);
        let registration = self.sites.register(&site, system, outbox.clone());
        let (reader, writer) = tokio::io::split(&mut stream);
        let writing = write_frames(writer, frames, self.heartbeat);
        let reading = self.read_frames(reader, &site, &registration, outbox);
        tokio::select! {
            result = writing => result?,
            result = reading => result?,
        }
        Ok(site)
    }

    /// TLS (the verifier already checked CA, expiry and the agent role), then `Hello`: the
    /// version must be ours and the certificate must be issued for the site announced.
    async fn handshake(
        &self,
        acceptor: TlsAcceptor,
        stream: TcpStream,
    ) -> Result<(tokio_rustls::server::TlsStream<TcpStream>, String, Option<System>), SessionError> {
        let mut stream = acceptor.accept(stream).await.map_err(SessionError::Tls)?;
        let refusal = match read_frame(&mut stream, MAX_FRAME_BYTES).await {
            // The reason names the field, never its content.
            Err(e @ FrameError::Field { .. }) => e.to_string(),
            Err(e) => return Err(e.into()),
            Ok(Some(Frame::Hello { version, site, system })) if version == PROTOCOL_VERSION => {
                let end_entity = stream.get_ref().1.peer_certificates().and_then(|certs| certs.first());
                // The site is the certificate's name byte for byte: `NAGIOS01` is not `nagios01`.
                match end_entity.and_then(certified_site) {
                    Some(certified) if certified == site => {
                        if let Some(end_entity) = end_entity {
                            warn_of_expiry(end_entity, &site);
                        }
                        write_frame(&mut stream, &Frame::Welcome { version: PROTOCOL_VERSION }).await?;
                        return Ok((stream, site, system));
                    }
                    Some(certified) => format!(
                        "this agent's certificate is issued for site `{certified}`, not {site:?}: leave [nagios] site \
                         out (the agent then takes its certificate's name) or set it to \"{certified}\""
                    ),
                    None => format!(
                        "the agent certificate names no site; issue one with `hagios certs issue --role agent --name \
                         SITE` (announced: {site:?})"
                    ),
                }
            }
            Ok(Some(Frame::Hello { version, .. })) => format!(
                "protocol version {version} is not supported (this bot speaks version {PROTOCOL_VERSION}); run the same hagios release on agent and bot"
            ),
            Ok(Some(other)) => format!("expected Hello first, got {}", other.kind()),
            Ok(None) => "closed before Hello".to_owned(),
        };
        // Best effort: the peer may be gone already, and the refusal is logged either way.
        let _ = write_frame(&mut stream, &Frame::Refused { reason: refusal.clone() }).await;
        Err(SessionError::Refused(refusal))
    }

    async fn read_frames<R: AsyncRead + Unpin>(
        &self,
        mut reader: R,
        site: &str,
        registration: &Registration,
        outbox: mpsc::Sender<Frame>,
    ) -> Result<(), SessionError> {
        let silence = self.heartbeat * 3;
        loop {
            let frame = tokio::time::timeout(silence, read_frame(&mut reader, MAX_FRAME_BYTES))
                .await
                .map_err(|_| SessionError::Silent(silence))??;
            match frame {
                None => return Ok(()),
                Some(Frame::Heartbeat) => {}
                Some(Frame::Notification { record, notification }) => {
                    let id: RecordId = record.parse().map_err(|e| SessionError::Refused(format!("{e}")))?;
                    // The agent chose the id: it names a record in its own site's namespace only.
                    let stored_id = id.of_site(site).map_err(|e| SessionError::Refused(format!("{e}")))?;
                    let answer = match self.store(site, stored_id, notification).await.map_err(SessionError::Store)? {
                        true => Frame::Stored { record },
                        false => Frame::OverQuota { record },
                    };
                    if outbox.send(answer).await.is_err() {
                        return Ok(());
                    }
                }
                Some(Frame::CommandStep { id, step }) => {
                    // Only a command sent to this very connection's site takes it.
                    if !registration.step(id, step) {
                        tracing::warn!(
                            site,
                            id,
                            "a step of a command this site is not carrying out for the bot; ignored"
                        );
                    }
                }
                Some(answer @ (Frame::CommandResult { id, .. } | Frame::State { id, .. })) => {
                    if !registration.answer(id, answer) {
                        tracing::warn!(site, id, "an answer nobody waits for (timed out?)");
                    }
                }
                Some(other) => {
                    return Err(SessionError::Refused(format!("an agent may not send {}", other.kind())));
                }
            }
        }
    }

    /// Keeps `site`'s notification as record `id` unless the site's quota is full (`false`);
    /// puts the quota notices into the inbox for chat.
    async fn store(&self, site: &str, id: RecordId, mut notification: Notification) -> Result<bool, String> {
        let (quotas, owner) = (Arc::clone(&self.quotas), site.to_owned());
        let admission = tokio::task::spawn_blocking(move || quotas.admit(&owner))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        match admission {
            Admission::Refuse { usage, newly_full } => {
                if newly_full {
                    tracing::warn!(
                        site,
                        records = usage.records,
                        bytes = usage.bytes,
                        "a site filled its quota at the bot; refusing its notifications until chat catches up"
                    );
                    self.inbox.keep(RecordId::next(), self.quotas.notice(site, usage)).await?;
                }
                Ok(false)
            }
            Admission::Store => {
                // The site is whatever the certificate says, never what the agent claims.
                notification.site = site.to_owned();
                let bytes = self.inbox.keep(id.clone(), notification).await?;
                self.quotas.stored(site, bytes);
                tracing::debug!(site, record = %id, "notification stored");
                Ok(true)
            }
        }
    }
}

/// A warning when an agent connects with a certificate that expires within 30 days: it is that
/// site's certificate to renew, and the bot is where people look.
fn warn_of_expiry(end_entity: &rustls::pki_types::CertificateDer<'_>, site: &str) {
    let Ok(facts) = Facts::read(end_entity.as_ref()) else { return };
    if let Expiry::Soon { days } = facts.expiry(time::OffsetDateTime::now_utc()) {
        tracing::warn!(
            %site,
            "the agent certificate of site `{site}` expires on {} (in {days} days): renew it with `hagios certs renew \
             --dir CA_DIR {site}` where the CA key is kept, copy it to that site and restart its agent",
            certs::day(facts.not_after)
        );
    }
}
