//! Shared by hagios-core's in-process tests: a private Nagios with a problem to act on, the
//! configuration sections that serve it from a temporary directory, and the notification
//! hagios-notify would spool for that problem.

// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use hagios_domain::{Notification, NotificationType, ObjectRef, State};
use hagios_testkit::{NagiosInstance, NagiosOptions};
use std::path::Path;
use std::time::Duration;

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

/// `[store]` and `[spool]` in `dir` (`state.db`, `spool/`), quick delivery, and `[nagios]`
/// site `test` on `nagios`.
pub fn site_sections(dir: &Path, nagios: &NagiosInstance) -> String {
    format!(
        r#"
[store]
path = "{store}"
[spool]
dir = "{spool}"
[delivery]
poll_interval = "100ms"
[nagios]
site = "test"
command_file = "{command_file}"
status_file = "{status_file}"
object_cache_file = "{object_cache_file}"
confirm_timeout = "15s"
"#,
        store = dir.join("state.db").display(),
        spool = dir.join("spool").display(),
        command_file = nagios.command_file().display(),
        status_file = nagios.status_file().display(),
        object_cache_file = nagios.object_cache_file().display(),
    )
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
