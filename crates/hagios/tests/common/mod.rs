//! What the end-to-end tests share: a private Nagios whose notifications go through
//! `hagios notify` into a spool, and the configuration a bot needs to serve it.

use hagios_testkit::{NagiosInstance, NagiosOptions};
use std::path::{Path, PathBuf};

pub const HAGIOS: &str = env!("CARGO_BIN_EXE_hagios");

pub struct NagiosSite {
    pub nagios: NagiosInstance,
    pub config: PathBuf,
    pub spool: PathBuf,
    pub dir: tempfile::TempDir,
}

/// Starts Nagios and writes `hagios.toml` for it: `chat` holds the chat platform's sections
/// (and any routes), `responder` is the chat user id granted every acting command.
pub fn start_site(chat: &str, responder: &str) -> Option<NagiosSite> {
    let dir = tempfile::tempdir().expect("temp dir");
    let spool = dir.path().join("spool");
    let notify_command = format!("{HAGIOS} notify --spool {} --site test", spool.display());
    let nagios = NagiosInstance::start(NagiosOptions { notify_command: Some(notify_command), ..Default::default() })?;
    let config = dir.path().join("hagios.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[store]
path = "{store}"

[spool]
dir = "{spool}"

[nagios]
site = "test"
command_file = "{command_file}"
status_file = "{status_file}"
object_cache_file = "{object_cache_file}"
confirm_timeout = "15s"

[delivery]
poll_interval = "100ms"
max_backoff = "2s"

{chat}

[[role]]
name = "responder"
commands = ["ack", "unack", "downtime", "recheck", "mute", "unmute", "comment"]
objects = ["*"]

[[user]]
chat_id = "{responder}"
roles = ["responder"]
"#,
            store = dir.path().join("state.db").display(),
            spool = spool.display(),
            command_file = nagios.command_file().display(),
            status_file = nagios.status_file().display(),
            object_cache_file = nagios.object_cache_file().display(),
        ),
    )
    .expect("write hagios.toml");
    Some(NagiosSite { nagios, config, spool, dir })
}

/// Notifications waiting in the spool.
pub fn spooled(spool: &Path) -> usize {
    std::fs::read_dir(spool.join("new")).map_or(0, |entries| {
        entries.filter_map(Result::ok).filter(|entry| entry.path().extension().is_some_and(|e| e == "json")).count()
    })
}
