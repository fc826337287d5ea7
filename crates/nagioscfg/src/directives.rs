//! The directives Nagios 4.4 accepts in each object type, so typos are caught as `nagios -v`
//! catches them ("Invalid host object directive").

use crate::parse::ObjectKind;

const COMMON: &[&str] = &["name", "use", "register"];

const HOST: &[&str] = &[
    "host_name",
    "alias",
    "display_name",
    "address",
    "parents",
    "hostgroups",
    "check_command",
    "initial_state",
    "max_check_attempts",
    "check_interval",
    "normal_check_interval",
    "retry_interval",
    "retry_check_interval",
    "active_checks_enabled",
    "passive_checks_enabled",
    "check_period",
    "obsess_over_host",
    "obsess",
    "check_freshness",
    "freshness_threshold",
    "event_handler",
    "event_handler_enabled",
    "low_flap_threshold",
    "high_flap_threshold",
    "flap_detection_enabled",
    "flap_detection_options",
    "process_perf_data",
    "retain_status_information",
    "retain_nonstatus_information",
    "contacts",
    "contact_groups",
    "notification_interval",
    "first_notification_delay",
    "notification_period",
    "notification_options",
    "notifications_enabled",
    "stalking_options",
    "notes",
    "notes_url",
    "action_url",
    "icon_image",
    "icon_image_alt",
    "vrml_image",
    "statusmap_image",
    "2d_coords",
    "3d_coords",
    "hourly_value",
    "importance",
    "failure_prediction_enabled",
    "failure_prediction_options",
    "parallelize_check",
];

const SERVICE: &[&str] = &[
    "host_name",
    "hostgroup_name",
    "service_description",
    "display_name",
    "parents",
    "servicegroups",
    "is_volatile",
    "check_command",
    "initial_state",
    "max_check_attempts",
    "check_interval",
    "normal_check_interval",
    "retry_interval",
    "retry_check_interval",
    "active_checks_enabled",
    "passive_checks_enabled",
    "parallelize_check",
    "check_period",
    "obsess_over_service",
    "obsess",
    "check_freshness",
    "freshness_threshold",
    "event_handler",
    "event_handler_enabled",
    "low_flap_threshold",
    "high_flap_threshold",
    "flap_detection_enabled",
    "flap_detection_options",
    "process_perf_data",
    "retain_status_information",
    "retain_nonstatus_information",
    "notification_interval",
    "first_notification_delay",
    "notification_period",
    "notification_options",
    "notifications_enabled",
    "contacts",
    "contact_groups",
    "stalking_options",
    "notes",
    "notes_url",
    "action_url",
    "icon_image",
    "icon_image_alt",
    "failure_prediction_enabled",
    "failure_prediction_options",
    "hourly_value",
    "importance",
];

const HOSTGROUP: &[&str] =
    &["hostgroup_name", "alias", "members", "hostgroup_members", "notes", "notes_url", "action_url"];
const SERVICEGROUP: &[&str] =
    &["servicegroup_name", "alias", "members", "servicegroup_members", "notes", "notes_url", "action_url"];
const CONTACTGROUP: &[&str] = &["contactgroup_name", "alias", "members", "contactgroup_members"];
const COMMAND: &[&str] = &["command_name", "command_line"];
const CONTACT: &[&str] = &[
    "contact_name",
    "alias",
    "contactgroups",
    "minimum_importance",
    "minimum_value",
    "host_notifications_enabled",
    "service_notifications_enabled",
    "host_notification_period",
    "service_notification_period",
    "host_notification_options",
    "service_notification_options",
    "host_notification_commands",
    "service_notification_commands",
    "email",
    "pager",
    "address1",
    "address2",
    "address3",
    "address4",
    "address5",
    "address6",
    "can_submit_commands",
    "retain_status_information",
    "retain_nonstatus_information",
];

/// Whether `directive` is valid in an object of `kind`. Custom variables (`_NAME`) are valid in
/// hosts, services and contacts; time periods take any day or date range; dependencies,
/// escalations and extended info are not validated.
pub fn is_known(kind: ObjectKind, directive: &str) -> bool {
    if COMMON.contains(&directive) {
        return true;
    }
    let custom =
        directive.starts_with('_') && matches!(kind, ObjectKind::Host | ObjectKind::Service | ObjectKind::Contact);
    let list = known(kind);
    if custom || list.is_empty() {
        return true;
    }
    sorted(kind).binary_search(&directive).is_ok()
}

/// The directives of `kind` sorted once, for binary search: this runs for every line of a
/// configuration that may have a million lines.
fn sorted(kind: ObjectKind) -> &'static [&'static str] {
    static SORTED: std::sync::OnceLock<Vec<Vec<&'static str>>> = std::sync::OnceLock::new();
    let all = SORTED.get_or_init(|| {
        ObjectKind::ALL
            .iter()
            .map(|&kind| {
                let mut list = known(kind).to_vec();
                list.sort_unstable();
                list
            })
            .collect()
    });
    &all[ObjectKind::ALL.iter().position(|&candidate| candidate == kind).unwrap_or(0)]
}

/// Every directive of `kind`, for "did you mean".
pub fn known(kind: ObjectKind) -> &'static [&'static str] {
    match kind {
        ObjectKind::Host => HOST,
        ObjectKind::Service => SERVICE,
        ObjectKind::Hostgroup => HOSTGROUP,
        ObjectKind::Servicegroup => SERVICEGROUP,
        ObjectKind::Contactgroup => CONTACTGROUP,
        ObjectKind::Command => COMMAND,
        ObjectKind::Contact => CONTACT,
        _ => &[],
    }
}

/// The spelling Nagios files a synonym under (`None`: not a synonym).
pub fn synonym_of(kind: ObjectKind, directive: &str) -> Option<&'static str> {
    match (kind, directive) {
        (ObjectKind::Host, "host_groups") => Some("hostgroups"),
        (ObjectKind::Service, "host" | "hosts") => Some("host_name"),
        (ObjectKind::Service, "hostgroup" | "hostgroups") => Some("hostgroup_name"),
        (ObjectKind::Service, "description") => Some("service_description"),
        (ObjectKind::Service, "service_groups") => Some("servicegroups"),
        (ObjectKind::Contact, "contact_groups") => Some("contactgroups"),
        _ => None,
    }
}

/// Directives whose value is a list that a leading `+` appends to the inherited list.
pub fn is_additive(directive: &str) -> bool {
    matches!(
        directive,
        "parents"
            | "hostgroups"
            | "contact_groups"
            | "contactgroups"
            | "contacts"
            | "host_name"
            | "hostgroup_name"
            | "servicegroups"
            | "members"
            | "hostgroup_members"
            | "servicegroup_members"
            | "contactgroup_members"
            | "host_notification_commands"
            | "service_notification_commands"
    )
}
