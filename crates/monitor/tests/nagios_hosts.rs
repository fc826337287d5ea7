//! Hosts from chat on a real, private Nagios: `host add` / `host remove` write the managed
//! folder, pass both checks, reload Nagios and are confirmed in objects.cache and status.dat;
//! every failure leaves the previous configuration in place and Nagios running it.

use hagios_domain::{Action, Outcome};
use hagios_monitor::nagios::{NagiosConfig, NagiosMonitor};
use hagios_monitor::{Monitor, MonitorError};
use hagios_testkit::{NagiosInstance, NagiosOptions};
use std::fs;
use std::time::Duration;

/// Generous bound for a reload to show; the private Nagios restarts in about a second.
const PATIENCE: Duration = Duration::from_secs(30);

fn start() -> Option<NagiosInstance> {
    NagiosInstance::start(NagiosOptions { managed_dir: true, ..Default::default() })
}

fn monitor_with(
    nagios: &NagiosInstance,
    reload_command: Option<Vec<String>>,
    reload_timeout: Duration,
) -> NagiosMonitor {
    NagiosMonitor::new(NagiosConfig {
        site: Some("test".into()),
        confirm_timeout: Some(PATIENCE),
        managed_dir: Some(nagios.managed_dir().to_path_buf()),
        main_config: nagios.config_file().to_path_buf(),
        nagios_binary: nagios.binary().to_path_buf(),
        reload_command,
        reload_timeout,
        ..NagiosConfig::at(nagios.command_file(), nagios.status_file(), nagios.object_cache_file())
    })
}

fn add(name: &str, template: &str) -> Action {
    Action::AddHost { name: name.into(), address: "127.0.0.7".into(), template: template.into() }
}

fn remove(name: &str) -> Action {
    Action::RemoveHost { name: name.into() }
}

fn confirmed(outcome: Result<Outcome, MonitorError>) -> String {
    match outcome {
        Ok(Outcome::Confirmed(detail)) => detail,
        other => panic!("expected a confirmed outcome, got {other:?}"),
    }
}

fn shown_by_nagios(nagios: &NagiosInstance, host: &str) -> (bool, bool) {
    let objects = fs::read_to_string(nagios.object_cache_file()).expect("objects.cache");
    let status = fs::read_to_string(nagios.status_file()).expect("status.dat");
    (objects.contains(&format!("\thost_name\t{host}\n")), status.contains(&format!("\thost_name={host}\n")))
}

fn leftovers(nagios: &NagiosInstance) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(nagios.managed_dir())
        .expect("managed dir")
        .map(|entry| entry.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name != ".hagios.lock")
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread")]
async fn added_hosts_appear_in_nagios_and_removed_ones_go() {
    let Some(nagios) = start() else { return };
    let monitor = monitor_with(&nagios, None, PATIENCE);
    let pid = nagios.pid();

    let detail = confirmed(monitor.execute(&add("web07", "hagios-host"), "alice").await);
    assert_eq!(detail, "host web07 added; objects.cache and status.dat show it");
    assert_eq!(shown_by_nagios(&nagios, "web07"), (true, true));
    assert_eq!(leftovers(&nagios), ["web07.cfg"]);
    assert_eq!(nagios.pid(), pid, "RESTART_PROGRAM reloads in place");
    let snapshot = monitor.snapshot().await.expect("snapshot");
    assert_eq!(snapshot.inventory.hosts["web07"].address, "127.0.0.7");

    let again = monitor.execute(&add("web07", "hagios-host"), "alice").await.expect_err("exists");
    assert_eq!(again.to_string(), "refused: host `web07` already exists; `status web07` shows it");
    let by_hand = monitor.execute(&remove("web01"), "alice").await.expect_err("not managed");
    assert!(by_hand.to_string().contains("host `web01` was not added from chat"), "{by_hand}");
    assert_eq!(shown_by_nagios(&nagios, "web01"), (true, true));

    let detail = confirmed(monitor.execute(&remove("web07"), "alice").await);
    assert_eq!(detail, "host web07 removed; objects.cache and status.dat show it");
    assert_eq!(shown_by_nagios(&nagios, "web07"), (false, false));
    assert!(leftovers(&nagios).is_empty(), "{:?}", leftovers(&nagios));
    assert_eq!(nagios.pid(), pid);
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_fields_are_refused_by_the_backend_before_anything_is_written() {
    let Some(nagios) = start() else { return };
    let monitor = monitor_with(&nagios, None, PATIENCE);
    let hostile = ["1.2.3.4$(id)", "a'b", "a\\b", "a|b", "a&b", "a<b", "a>b", "a`id`", "-x", "../x"];
    for value in hostile {
        for (action, field) in [
            (
                Action::AddHost { name: "web08".into(), address: value.into(), template: "hagios-host".into() },
                "address",
            ),
            (
                Action::AddHost { name: value.into(), address: "127.0.0.8".into(), template: "hagios-host".into() },
                "host name",
            ),
            (Action::AddHost { name: "web08".into(), address: "127.0.0.8".into(), template: value.into() }, "template"),
            (remove(value), "host name"),
        ] {
            let err = monitor.execute(&action, "alice").await.expect_err(value);
            assert!(err.to_string().starts_with(&format!("refused: the {field} ")), "{value:?}: {err}");
        }
    }
    assert!(leftovers(&nagios).is_empty(), "{:?}", leftovers(&nagios));
    assert!(!nagios.log().contains("RESTART_PROGRAM"), "no reload was attempted");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_template_is_refused_before_any_reload() {
    let Some(nagios) = start() else { return };
    let monitor = monitor_with(&nagios, None, PATIENCE);
    let err = monitor.execute(&add("web08", "hagios-hots"), "alice").await.expect_err("unknown template");
    let text = err.to_string();
    assert!(matches!(err, MonitorError::Refused(_)), "{err:?}");
    assert!(text.contains("host `web08` was not added: the configuration check failed"), "{text}");
    assert!(text.contains("web08.cfg:4: error: host 'web08' uses template 'hagios-hots'"), "{text}");
    assert!(text.contains("hagios-host"), "the suggestion reaches chat: {text}");
    assert!(leftovers(&nagios).is_empty(), "{:?}", leftovers(&nagios));
    assert!(nagios.is_running());
    assert!(!nagios.log().contains("RESTART_PROGRAM"), "no reload was attempted");
    assert_eq!(shown_by_nagios(&nagios, "web08"), (false, false));
}

#[tokio::test(flavor = "multi_thread")]
async fn what_only_nagios_v_rejects_is_rolled_back_and_nagios_keeps_running() {
    let Some(nagios) = start() else { return };
    let monitor = monitor_with(&nagios, None, PATIENCE);
    confirmed(monitor.execute(&add("web07", "hagios-host"), "alice").await);
    // Escalations are left to `nagios -v`: one for web07 makes removing it invalid.
    let escalation =
        "define hostescalation {\n    host_name  web07\n    contacts  tester\n    first_notification  1\n    \
                      last_notification  2\n    notification_interval  1\n}\n";
    fs::write(nagios.extra_objects_file(), escalation).expect("escalation written");
    let pid = nagios.pid();
    let restarts = nagios.log().matches("RESTART_PROGRAM").count();

    let err = monitor.execute(&remove("web07"), "alice").await.expect_err("nagios -v refuses");
    let text = err.to_string();
    assert!(text.contains("host `web07` was not removed: the configuration check failed"), "{text}");
    assert!(text.contains(&format!("{} -v ", nagios.binary().display())), "{text}");
    assert!(text.contains("Error: Host 'web07' has an escalation, but is not defined anywhere!"), "{text}");
    assert_eq!(leftovers(&nagios), ["web07.cfg"], "the file is back");
    assert_eq!(nagios.pid(), pid, "still running");
    assert_eq!(nagios.log().matches("RESTART_PROGRAM").count(), restarts, "no reload was attempted");
    assert_eq!(shown_by_nagios(&nagios, "web07"), (true, true));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reload_that_does_not_take_effect_is_rolled_back() {
    let Some(nagios) = start() else { return };
    // `true` succeeds without reloading anything: the host never appears.
    let monitor = monitor_with(&nagios, Some(vec!["true".into()]), Duration::from_secs(2));
    let err = monitor.execute(&add("web09", "hagios-host"), "alice").await.expect_err("never shown");
    let text = err.to_string();
    assert!(matches!(err, MonitorError::RolledBack(_)), "{err:?}");
    assert!(text.starts_with("host `web09` did not appear in objects.cache and status.dat within 2s"), "{text}");
    assert!(text.ends_with("and Nagios runs the previous configuration again (confirmed)"), "{text}");
    assert!(leftovers(&nagios).is_empty(), "{:?}", leftovers(&nagios));
    assert!(nagios.is_running());
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_changes_run_one_at_a_time() {
    let Some(nagios) = start() else { return };
    // Two monitors stand for two hagios processes: they share nothing but the lock file.
    let (first, second) = (monitor_with(&nagios, None, PATIENCE), monitor_with(&nagios, None, PATIENCE));
    let (web05, web06) = (add("web05", "hagios-host"), add("web06", "hagios-host"));
    let (web05, web06) = tokio::join!(first.execute(&web05, "alice"), second.execute(&web06, "bob"));
    confirmed(web05);
    confirmed(web06);
    assert_eq!((shown_by_nagios(&nagios, "web05"), shown_by_nagios(&nagios, "web06")), ((true, true), (true, true)));

    let web04 = add("web04", "hagios-host");
    let (one, other) = tokio::join!(first.execute(&web04, "alice"), second.execute(&web04, "bob"));
    let mut outcomes = [one, other].map(|outcome| match outcome {
        Ok(Outcome::Confirmed(detail)) => detail,
        Err(err) => err.to_string(),
        other => panic!("unexpected {other:?}"),
    });
    outcomes.sort();
    assert_eq!(
        outcomes,
        [
            "host web04 added; objects.cache and status.dat show it",
            "refused: host `web04` already exists; `status web04` shows it"
        ]
    );
    assert_eq!(leftovers(&nagios), ["web04.cfg", "web05.cfg", "web06.cfg"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn services_applied_through_a_host_group_come_and_go_with_the_host() {
    let objects = "define hostgroup {\n    hostgroup_name  from-chat\n    alias  Added from chat\n}\n\
                   define host {\n    name  chat-host\n    use  hagios-host\n    hostgroups  from-chat\n    register  0\n}\n\
                   define service {\n    use  hagios-service\n    hostgroup_name  from-chat\n    service_description  Ping\n}\n";
    let options = NagiosOptions { managed_dir: true, extra_objects: objects.into(), ..Default::default() };
    let Some(nagios) = NagiosInstance::start(options) else { return };
    let monitor = monitor_with(&nagios, None, PATIENCE);

    confirmed(monitor.execute(&add("web07", "chat-host"), "alice").await);
    let snapshot = monitor.snapshot().await.expect("snapshot");
    assert!(snapshot.service("web07", "Ping").is_some(), "status.dat has the group's service on the new host");
    assert_eq!(snapshot.inventory.hosts["web07"].hostgroups, ["from-chat"]);

    confirmed(monitor.execute(&remove("web07"), "alice").await);
    let snapshot = monitor.snapshot().await.expect("snapshot");
    assert!(!snapshot.has_service("web07", "Ping"), "the service left with the host");
}
