//! The metrics hagios exports, in one place: names following Prometheus' conventions
//! (`hagios_…_total` counters, `_seconds` durations), described once for `/metrics`.

pub use hagios_chat::measured::{CALLS as CHAT_CALLS, ERRORS as CHAT_ERRORS};
pub use hagios_link::{AGENTS_CONNECTED, LINK_RECONNECTS};

/// Notifications a platform's pipeline took in from its spool, by platform.
pub const SPOOLED: &str = "hagios_notifications_spooled_total";
/// Notifications posted to chat and committed, by platform.
pub const DELIVERED: &str = "hagios_notifications_delivered_total";
/// Notifications held in the spool now (quiet hours, snoozes, waiting for their group), by platform.
pub const HELD: &str = "hagios_notifications_held";
/// Notifications that left the spool unposted, by platform and reason (`delivered_already`,
/// `recovered_while_held`, `nothing_to_join`).
pub const DROPPED: &str = "hagios_notifications_dropped_total";
/// Notifications set aside in the spool's `bad/`, by platform.
pub const QUARANTINED: &str = "hagios_notifications_quarantined_total";
/// From the spool record's writing to its commit in chat, by platform.
pub const DELIVERY_LATENCY: &str = "hagios_delivery_latency_seconds";
/// Records waiting in a spool now, by spool (`main`, or a platform's).
pub const SPOOL_RECORDS: &str = "hagios_spool_records";
/// Age of the oldest record waiting in a spool, by spool.
pub const SPOOL_OLDEST: &str = "hagios_spool_oldest_record_age_seconds";
/// Chat commands, by command and outcome (`confirmed`, `unconfirmed`, `not_applied`, `failed`,
/// `refused`, `answered`, …).
pub const COMMANDS: &str = "hagios_commands_total";
/// From a command's arrival to its answer (for actions: until the monitoring system confirmed).
pub const COMMAND_DURATION: &str = "hagios_command_duration_seconds";

/// When a certificate stops being valid (Unix time), by `role` (`agent`, `bot`, or `ca`) and
/// `name`: this process's own certificate and its CA.
pub const CERTIFICATE_EXPIRY: &str = "hagios_certificate_expiry_timestamp_seconds";

/// Registers every metric's help text with the recorder.
pub(super) fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(SPOOLED, "Notifications a platform's pipeline took in from its spool.");
    describe_counter!(DELIVERED, "Notifications posted to chat and committed.");
    describe_gauge!(HELD, "Notifications held in the spool now (quiet hours, snoozes, groups).");
    describe_counter!(DROPPED, "Notifications that left the spool unposted, by reason.");
    describe_counter!(QUARANTINED, "Notifications set aside in the spool's bad/ folder.");
    describe_histogram!(DELIVERY_LATENCY, Unit::Seconds, "From spooling to the commit in chat.");
    describe_gauge!(SPOOL_RECORDS, "Records waiting in a spool now.");
    describe_gauge!(SPOOL_OLDEST, Unit::Seconds, "Age of the oldest record waiting in a spool.");
    describe_counter!(CHAT_CALLS, "Chat API calls, by platform and call.");
    describe_counter!(CHAT_ERRORS, "Failed chat API calls, by platform, call and kind (rate_limited is a 429).");
    describe_counter!(COMMANDS, "Chat commands, by command and outcome.");
    describe_histogram!(COMMAND_DURATION, Unit::Seconds, "From a command's arrival to its answer.");
    describe_gauge!(AGENTS_CONNECTED, "Agents connected to this bot.");
    describe_counter!(LINK_RECONNECTS, "Times the agent dialed the bot again after losing the link.");
    describe_gauge!(
        CERTIFICATE_EXPIRY,
        Unit::Seconds,
        "When this process's certificate and its CA expire (Unix time)."
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every metric the Grafana dashboard in contrib/ plots is one hagios exports.
    #[test]
    fn the_dashboard_plots_only_exported_metrics() {
        let exported = [
            SPOOLED,
            DELIVERED,
            HELD,
            DROPPED,
            QUARANTINED,
            DELIVERY_LATENCY,
            SPOOL_RECORDS,
            SPOOL_OLDEST,
            CHAT_CALLS,
            CHAT_ERRORS,
            COMMANDS,
            COMMAND_DURATION,
            AGENTS_CONNECTED,
            LINK_RECONNECTS,
            CERTIFICATE_EXPIRY,
        ];
        let dashboard = include_str!("../../../../contrib/grafana/hagios.json");
        let plotted: Vec<&str> = dashboard
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|word| word.starts_with("hagios_"))
            .collect();
        assert!(plotted.len() > 10, "{plotted:?}");
        for metric in plotted {
            let base = ["_bucket", "_count", "_sum"].iter().fold(metric, |name, suffix| name.trim_end_matches(suffix));
            assert!(exported.contains(&base), "the dashboard plots {metric}, which hagios does not export");
        }
    }
}
