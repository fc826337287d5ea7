//! Test harness for hagios integration tests: private, throw-away Nagios Core 4 and Icinga 2
//! instances with a fixed fixture of hosts and services, controllable check states and notification capture,
//! a private Synapse homeserver for the Matrix tests, a private Prometheus for the metrics tests, a
//! private PostgreSQL cluster for the store's and the high-availability tests, and turns for the
//! tests that change the machine itself (the Debian package's).
//!
//! ```no_run
//! use hagios_testkit::NagiosInstance;
//! let Some(nagios) = NagiosInstance::start(Default::default()) else { return };
//! nagios.submit_service_result("web01", "HTTP", 2, "CRITICAL - down");
//! ```

mod config;
mod icinga;
mod icinga_config;
mod layout;
mod machine;
mod nagios;
mod postgres;
mod process;
mod prometheus;
mod shell_capture;
mod synapse;

pub use icinga::{IcingaInstance, IcingaOptions, CLIENT_CN};
pub use machine::{tool, MachineLock};
pub use nagios::{wait_until, NagiosInstance, NagiosOptions};
pub use postgres::{PostgresInstance, PostgresOptions};
pub use process::free_port;
pub use prometheus::{PrometheusInstance, Sample};
pub use shell_capture::{Call, Quoting, ShellCapture};
pub use synapse::{
    encode as url_encode, MatrixUser, SynapseInstance, SynapseOptions, SERVER_NAME, SYNAPSE_REQUIREMENT,
};

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn instance_starts_writes_status_and_stops_without_leftovers() {
        let Some(mut nagios) = NagiosInstance::start(NagiosOptions::default()) else { return };
        let pid = nagios.pid().expect("running after start");
        let status = std::fs::read_to_string(nagios.status_file()).expect("status.dat written");
        for object in
            ["host_name=web01", "host_name=db01", "service_description=HTTP Load", "service_description=MySQL"]
        {
            assert!(status.contains(object), "status.dat lacks {object}");
        }
        let objects = std::fs::read_to_string(nagios.object_cache_file()).expect("objects.cache written");
        assert!(objects.contains("hostgroup_name\tweb"));

        nagios.stop();
        assert!(!process::is_alive(pid));
        assert!(nagios.own_processes().is_empty(), "leftover processes after stop");
        assert!(!nagios.command_file().exists(), "FIFO must be removed so writers see ENOENT");
    }

    #[test]
    fn synapse_starts_registers_users_and_carries_messages() {
        let Some(synapse) = SynapseInstance::start(SynapseOptions::default()) else { return };
        let alice = synapse.register("alice", "alice-password");
        let bob = synapse.register("bob", "bob-password");
        assert_eq!(alice.user_id, format!("@alice:{SERVER_NAME}"));
        let room = alice.create_room(&[&bob.user_id], serde_json::json!({}));
        bob.join(&room);
        let root = alice.send_text(&room, None, "hello");
        bob.send_text(&room, Some(&root), "hi in the thread");
        let messages = alice.wait_for_messages(&room, "both messages", Duration::from_secs(10), |m| m.len() == 2);
        assert_eq!(messages[1]["content"]["m.relates_to"]["event_id"], root.as_str());
    }

    #[test]
    fn check_state_file_and_passive_results_reach_the_status() {
        let Some(nagios) = NagiosInstance::start(NagiosOptions::default()) else { return };
        nagios.set_check_state("web01", "HTTP Load", 1, "WARNING - slow");
        nagios.submit_raw("SCHEDULE_FORCED_SVC_CHECK;web01;HTTP Load;0");
        let forced =
            nagios.wait_for_status(Duration::from_secs(10), |text| text.contains("plugin_output=WARNING - slow"));
        assert!(forced.is_some(), "forced check did not pick up the state file");

        nagios.submit_service_result("db01", "MySQL", 2, "CRITICAL - gone");
        assert!(nagios
            .wait_for_log(Duration::from_secs(10), "SERVICE NOTIFICATION: tester;db01;MySQL;CRITICAL")
            .is_some());
        let notified = wait_until(Duration::from_secs(10), || {
            nagios
                .notifications()
                .into_iter()
                .find(|macros| macros.get("NAGIOS_SERVICEDESC").map(String::as_str) == Some("MySQL"))
        })
        .expect("the default notifier dumped the environment");
        assert_eq!(notified.get("NAGIOS_NOTIFICATIONTYPE").map(String::as_str), Some("PROBLEM"));
        assert_eq!(notified.get("NAGIOS_SERVICESTATE").map(String::as_str), Some("CRITICAL"));
    }
}
