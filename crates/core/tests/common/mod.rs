//! Shared by hagios-core's in-process tests: a private Nagios with a problem to act on, the
//! configuration that serves it from a temporary directory, `run::serve` on a task until told
//! to stop, and the notification hagios-notify would spool for that problem.

// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use hagios_core::config::Config;
use hagios_core::StartError;
use hagios_domain::{Notification, NotificationType, ObjectRef, State};
use hagios_fakeslack::{FakeSlack, APP_TOKEN, BOT_TOKEN};
use hagios_testkit::{NagiosInstance, NagiosOptions};
use std::path::Path;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Generous bound for anything that crosses Nagios (its status.dat is rewritten every second)
/// or a homeserver.
pub const PATIENCE: Duration = Duration::from_secs(40);

/// A private Nagios showing web01!HTTP CRITICAL; `None` (after a skip note) when Nagios is not
/// installed and real parts are not required.
pub fn nagios_with_a_problem() -> Option<NagiosInstance> {
    let nagios = NagiosInstance::start(NagiosOptions::default())?;
    nagios.submit_service_result("web01", "HTTP", 2, "HTTP CRITICAL - 503");
    let key = ("web01".to_owned(), "HTTP".to_owned());
    nagios
        .wait_for_state(PATIENCE, |status| status.services.get(&key).is_some_and(|view| view.state == State::Critical))
        .expect("Nagios shows web01!HTTP CRITICAL");
    Some(nagios)
}

/// The configuration serving `nagios` as site `test` with the `[store]` and `[spool]` in `dir`
/// (`state.db`, `spool/`), quick delivery, `chat` (the chat sections), and a `responder` role
/// granting `commands` everywhere to each of `responders`; checked as `config check` does.
pub fn configuration(
    dir: &Path,
    nagios: &NagiosInstance,
    chat: &str,
    commands: &[&str],
    responders: &[&str],
) -> Config {
    let users: String =
        responders.iter().map(|id| format!("[[user]]\nchat_id = \"{id}\"\nroles = [\"responder\"]\n")).collect();
    let text = format!(
        "[store]\npath = \"{store}\"\n[spool]\ndir = \"{spool}\"\n[delivery]\npoll_interval = \"100ms\"\n{nagios}{chat}\n\
         [[role]]\nname = \"responder\"\ncommands = {commands:?}\nobjects = [\"*\"]\n{users}",
        store = dir.join("state.db").display(),
        spool = dir.join("spool").display(),
        nagios = nagios.hagios_section(),
    );
    let config: Config = toml::from_str(&text).unwrap_or_else(|e| panic!("configuration: {e}\n{text}"));
    assert!(config.problems().is_empty(), "{:?}", config.problems());
    config
}

/// The `[slack]` section for `slack`, its tokens in environment variables named after `test`
/// (the process environment is shared by every test of a binary).
pub fn slack_section(slack: &FakeSlack, test: &str) -> String {
    let (bot, app) = (format!("{test}_SLACK_BOT_TOKEN"), format!("{test}_SLACK_APP_TOKEN"));
    std::env::set_var(&bot, BOT_TOKEN);
    std::env::set_var(&app, APP_TOKEN);
    format!(
        "[slack]\napi_url = \"{}\"\ndefault_channel = \"C0ALERTS\"\nsocket_connections = 1\nbot_token_env = \"{bot}\"\napp_token_env = \"{app}\"\n",
        slack.api_url()
    )
}

/// `run::serve` running on a task until [`Running::stop`].
pub struct Running {
    stop: oneshot::Sender<()>,
    serving: JoinHandle<Result<(), StartError>>,
}

impl Running {
    pub fn start(config: Config) -> Running {
        let (stop, stopped) = oneshot::channel::<()>();
        let serving = tokio::spawn(hagios_core::run::serve(config, async {
            let _ = stopped.await;
        }));
        Running { stop, serving }
    }

    /// Completes the stop future and checks that the process ends, cleanly.
    pub async fn stop(self) {
        self.stop.send(()).expect("the process is still serving");
        let ended = tokio::time::timeout(PATIENCE, self.serving).await.expect("stops when told");
        ended.expect("serve task").expect("a clean stop");
    }
}

/// The PROBLEM notification of web01!HTTP, as hagios-notify spools it.
pub fn web01_http_problem() -> Notification {
    Notification {
        id: String::new(),
        site: "test".into(),
        kind: NotificationType::Problem,
        object: ObjectRef::service("web01", "HTTP"),
        state: State::Critical,
        output: "HTTP CRITICAL - 503".into(),
        long_output: String::new(),
        author: None,
        comment: None,
        time: hagios_domain::unix_now(),
        hostgroups: vec!["web".into()],
        contact: None,
        macros: Default::default(),
    }
}
