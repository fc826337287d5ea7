//! The link in one process for tests: a CA from `certs`, a bot accepting over mutual TLS, agents
//! with a recording monitor double, and a TLS client that speaks the protocol by hand.

#![allow(dead_code)] // each test binary uses its own part

use hagios_domain::{Action, HostObject, Notification, Outcome, Snapshot, Step, System};
use hagios_link::agent::AgentLink;
use hagios_link::bot::{BotLink, Inbox};
use hagios_link::certs::{self, Role};
use hagios_link::config::TlsConfig;
use hagios_link::protocol::{read_frame, write_frame, Frame, MAX_FRAME_BYTES, PROTOCOL_VERSION};
use hagios_link::quota::{Quota, Quotas};
use hagios_link::sites::Sites;
use hagios_link::tls::{client_config, server_config};
use hagios_monitor::{EvidenceHub, Monitor, MonitorError, Steps};
use hagios_spool::Spool;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

pub const PATIENCE: Duration = Duration::from_secs(10);

/// A site with the given hosts that records what it was asked to do and how often its state was read.
pub struct RecordingMonitor {
    pub site: String,
    pub hosts: Vec<&'static str>,
    pub executed: Mutex<Vec<(Action, String)>>,
    /// Where commands waiting on this site would take its notifications as evidence.
    pub evidence: EvidenceHub,
    pub reads: AtomicUsize,
}

#[async_trait::async_trait]
impl Monitor for RecordingMonitor {
    fn site(&self) -> &str {
        &self.site
    }

    async fn snapshot(&self) -> Result<Arc<Snapshot>, MonitorError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        let mut inventory = hagios_domain::Inventory::default();
        for host in &self.hosts {
            inventory.hosts.insert((*host).to_owned(), HostObject::default());
        }
        Ok(Arc::new(Snapshot { inventory: Arc::new(inventory), ..Snapshot::default() }))
    }

    /// Reports the steps a Nagios backend reports, then confirms.
    async fn execute_with(&self, action: &Action, author: &str, steps: Steps<'_>) -> Result<Outcome, MonitorError> {
        self.executed.lock().unwrap().push((action.clone(), author.to_owned()));
        for step in sent_and_read(&self.site) {
            steps(step);
        }
        Ok(Outcome::Confirmed(format!("done on {}", self.site)))
    }

    fn evidence(&self) -> Option<EvidenceHub> {
        Some(self.evidence.clone())
    }
}

pub fn files(dir: &Path, name: &str) -> TlsConfig {
    TlsConfig { ca: dir.join("ca.crt"), cert: dir.join(format!("{name}.crt")), key: dir.join(format!("{name}.key")) }
}

/// A CA with a bot certificate for `localhost`.
pub fn pki() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    certs::init_ca(dir.path()).unwrap();
    certs::issue(dir.path(), Role::Bot, "localhost", &[]).unwrap();
    dir
}

/// An agent certificate for `site`, unless there is one already.
pub fn agent_cert(pki: &Path, site: &str) -> TlsConfig {
    if !pki.join(format!("{site}.crt")).exists() {
        certs::issue(pki, Role::Agent, site, &[]).unwrap();
    }
    files(pki, site)
}

/// The bot's side with certificate `name`, storing into `spool` within `quotas`.
pub fn bot_link(pki: &Path, name: &str, spool: &Arc<Spool>, quotas: Quotas) -> BotLink {
    BotLink {
        tls: server_config(&files(pki, name)).unwrap(),
        inbox: Arc::clone(spool) as Arc<dyn Inbox>,
        sites: Arc::new(Sites::default()),
        quotas: Arc::new(quotas),
        heartbeat: Duration::from_secs(1),
    }
}

pub struct RunningBot {
    pub address: String,
    pub sites: Arc<Sites>,
    pub spool: Arc<Spool>,
    _spool_dir: tempfile::TempDir,
    _stop: watch::Sender<bool>,
}

impl RunningBot {
    /// The notifications waiting in the bot's spool, with their record ids.
    pub fn stored(&self) -> Vec<(String, Notification)> {
        let ids = self.spool.pending().unwrap();
        ids.iter().map(|id| (id.to_string(), self.spool.read(id).unwrap())).collect()
    }
}

/// A bot on a free port with the default quotas.
pub async fn start_bot(pki: &Path) -> RunningBot {
    start_bot_with(pki, Quota::of(20_000, 256)).await
}

/// A bot on a free port whose sites may each have `quota` waiting.
pub async fn start_bot_with(pki: &Path, quota: Quota) -> RunningBot {
    let spool_dir = tempfile::tempdir().unwrap();
    let spool = Arc::new(Spool::open(spool_dir.path()).unwrap());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("localhost:{}", listener.local_addr().unwrap().port());
    let link = bot_link(pki, "localhost", &spool, Quotas::new(quota, vec![Arc::clone(&spool)]));
    let sites = Arc::clone(&link.sites);
    let (stop, shutdown) = watch::channel(false);
    tokio::spawn(link.serve(listener, shutdown));
    RunningBot { address, sites, spool, _spool_dir: spool_dir, _stop: stop }
}

pub struct RunningAgent {
    pub spool: Arc<Spool>,
    pub monitor: Arc<RecordingMonitor>,
    _spool_dir: tempfile::TempDir,
    _stop: watch::Sender<bool>,
}

/// A Nagios agent for `site` (its certificate issued now if need be) dialing each of `bots`.
pub fn start_agent(pki: &Path, bots: &[&str], site: &str, hosts: Vec<&'static str>, allow: &[&str]) -> RunningAgent {
    start_agent_of(System::Nagios, pki, bots, site, hosts, allow)
}

/// An agent for `site` that names `system` as what it runs, dialing each of `bots`.
pub fn start_agent_of(
    system: System,
    pki: &Path,
    bots: &[&str],
    site: &str,
    hosts: Vec<&'static str>,
    allow: &[&str],
) -> RunningAgent {
    let tls = agent_cert(pki, site);
    let spool_dir = tempfile::tempdir().unwrap();
    let spool = Arc::new(Spool::open(spool_dir.path()).unwrap());
    let monitor = Arc::new(RecordingMonitor {
        site: site.into(),
        hosts,
        executed: Mutex::default(),
        reads: AtomicUsize::new(0),
        evidence: EvidenceHub::new(),
    });
    let link = AgentLink {
        tls: client_config(&tls).unwrap(),
        bots: bots.iter().map(|bot| (*bot).to_owned()).collect(),
        site: site.to_owned(),
        system,
        allow: allow.iter().map(|kind| (*kind).to_owned()).collect(),
        spool: Arc::clone(&spool),
        monitor: monitor.clone(),
        heartbeat: Duration::from_secs(1),
        poll_interval: Duration::from_millis(50),
        max_backoff: Duration::from_secs(1),
    };
    let (stop, shutdown) = watch::channel(false);
    tokio::spawn(link.run(shutdown));
    RunningAgent { spool, monitor, _spool_dir: spool_dir, _stop: stop }
}

/// The steps of a command at `site` before its final word: sent, then read.
pub fn sent_and_read(site: &str) -> [Step; 2] {
    [
        Step::Sent { state_every: Some(Duration::from_secs(10)), answer_within: Duration::from_secs(25) },
        Step::Received { how: format!("Nagios at {site} read it (its log shows the command)") },
    ]
}

/// A place for a command's steps, and what reached it.
#[derive(Clone, Default)]
pub struct StepsSeen(Arc<Mutex<Vec<Step>>>);

impl StepsSeen {
    pub fn take(&self, step: Step) {
        self.0.lock().unwrap().push(step);
    }

    pub fn seen(&self) -> Vec<Step> {
        self.0.lock().unwrap().clone()
    }
}

/// A CRITICAL of `host`!HTTP, claiming a site the bot must not believe.
pub fn notification(host: &str) -> Notification {
    let fields = serde_json::json!({
        "id": "", "site": "claimed-by-agent", "kind": "PROBLEM", "object": { "host": host, "service": "HTTP" },
        "state": "CRITICAL", "output": "CRITICAL - refused", "time": 1_700_000_000,
    });
    serde_json::from_value(fields).unwrap()
}

pub async fn eventually<T>(mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if let Some(value) = probe() {
            return value;
        }
        assert!(tokio::time::Instant::now() < deadline, "condition not met within {PATIENCE:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A TLS connection to the bot with `client`'s certificate (or none); `None` when the handshake
/// fails.
pub async fn tls_to_bot(bot: &str, pki: &Path, client: Option<&TlsConfig>) -> Option<TlsStream<TcpStream>> {
    let config = match client {
        Some(files) => (*client_config(files).unwrap()).clone(),
        None => {
            let mut roots = rustls::RootCertStore::empty();
            let ca = <rustls::pki_types::CertificateDer as rustls::pki_types::pem::PemObject>::pem_file_iter(
                pki.join("ca.crt"),
            )
            .unwrap();
            for cert in ca {
                roots.add(cert.unwrap()).unwrap();
            }
            rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(roots)
                .with_no_client_auth()
        }
    };
    let tcp = TcpStream::connect(bot).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    TlsConnector::from(Arc::new(config)).connect(name, tcp).await.ok()
}

pub fn hello(site: &str) -> Frame {
    Frame::Hello { version: PROTOCOL_VERSION, site: site.into(), system: Some(System::Nagios) }
}

/// Sends `hello` over a fresh TLS connection with `client`'s certificate (or none); returns
/// what the bot answered, `None` when it just closed.
pub async fn try_hello(bot: &str, pki: &Path, client: Option<&TlsConfig>, hello: Frame) -> Option<Frame> {
    let mut stream = tls_to_bot(bot, pki, client).await?;
    write_frame(&mut stream, &hello).await.ok()?;
    read_frame(&mut stream, MAX_FRAME_BYTES).await.ok().flatten()
}

/// What the bot logs while a test runs (on the test's thread, where the link's tasks run).
#[derive(Clone, Default)]
pub struct Log(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Log {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Log {
    pub fn capture() -> (Log, tracing::subscriber::DefaultGuard) {
        let log = Log::default();
        let writer = log.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .finish();
        (log, tracing::subscriber::set_default(subscriber))
    }

    /// Everything logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}
