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

/// Whether `directive` (whose id is `id`) is valid in an object of `kind`. Custom variables
/// (`_NAME`) are valid in hosts, services and contacts; time periods take any day or date range;
/// dependencies, escalations and extended info are not validated.
pub fn is_known(kind: ObjectKind, directive: &str, id: KeyId) -> bool {
    static TABLE: std::sync::OnceLock<Vec<Vec<bool>>> = std::sync::OnceLock::new();
    if known(kind).is_empty() {
        return true;
    }
    if id == OTHER_KEY {
        return directive.starts_with('_')
            && matches!(kind, ObjectKind::Host | ObjectKind::Service | ObjectKind::Contact);
    }
    let table = TABLE.get_or_init(|| {
        ObjectKind::ALL
            .iter()
            .map(|&kind| {
                let mut valid = vec![false; usize::from(key_id_count())];
                for name in COMMON.iter().chain(known(kind)) {
                    valid[usize::from(key_id(name))] = true;
                }
                valid
            })
            .collect()
    });
    table[kind as usize][usize::from(id)]
}

/// A directive name as a small number, so resolving and looking up compare integers instead of
/// strings. Names Nagios does not know by heart (custom variables, time ranges) are
/// [`OTHER_KEY`] and compared as strings.
pub type KeyId = u16;

/// A directive name with its id computed once. Checks use `key!("name")`, which computes the
/// id on first use only; any `&str` converts (computing the id each time).
#[derive(Debug, Clone, Copy)]
pub struct Key<'k> {
    pub name: &'k str,
    pub id: KeyId,
}

impl std::fmt::Display for Key<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

impl<'k> From<&'k str> for Key<'k> {
    fn from(name: &'k str) -> Self {
        Key { name, id: key_id(name) }
    }
}

/// `key!("check_period")`: a [`Key`] whose id is looked up once per call site.
macro_rules! key {
    ($name:literal) => {{
        static ID: std::sync::OnceLock<$crate::directives::KeyId> = std::sync::OnceLock::new();
        $crate::directives::Key { name: $name, id: *ID.get_or_init(|| $crate::directives::key_id($name)) }
    }};
}
pub(crate) use key;

/// The id of every directive that is not in the lists above.
pub const OTHER_KEY: KeyId = KeyId::MAX;

/// The id of a directive name. This runs for every directive read and every value looked up,
/// so it is an open-addressing table probed by a cheap hash of length and three bytes, confirmed
/// by one comparison.
pub fn key_id(key: &str) -> KeyId {
    const MASK: usize = 1023;
    fn slot(key: &[u8]) -> usize {
        let length = key.len();
        let (first, middle, last) = match key {
            [] => (0, 0, 0),
            _ => (usize::from(key[0]), usize::from(key[length / 2]), usize::from(key[length - 1])),
        };
        (length.wrapping_mul(97) ^ (first << 2) ^ (last << 5) ^ middle.wrapping_mul(7)) & MASK
    }
    static TABLE: std::sync::OnceLock<Vec<KeyId>> = std::sync::OnceLock::new();
    let keys = all_keys();
    let table = TABLE.get_or_init(|| {
        let mut table = vec![OTHER_KEY; MASK + 1];
        for (id, key) in keys.iter().enumerate() {
            let mut at = slot(key.as_bytes());
            while table[at] != OTHER_KEY {
                at = (at + 1) & MASK;
            }
            table[at] = id as KeyId;
        }
        table
    });
    let mut at = slot(key.as_bytes());
    loop {
        let id = table[at];
        if id == OTHER_KEY || keys[usize::from(id)] == key {
            return id;
        }
        at = (at + 1) & MASK;
    }
}

/// Whether the directive with this id takes `+` (see [`is_additive`]).
pub fn is_additive_id(id: KeyId) -> bool {
    static ADDITIVE: std::sync::OnceLock<Vec<bool>> = std::sync::OnceLock::new();
    let table = ADDITIVE.get_or_init(|| all_keys().iter().map(|key| is_additive(key)).collect());
    table.get(usize::from(id)).copied().unwrap_or(false)
}

fn key_id_count() -> KeyId {
    all_keys().len() as KeyId
}

fn all_keys() -> &'static [&'static str] {
    static ALL: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    ALL.get_or_init(|| {
        let lists = [COMMON, HOST, SERVICE, HOSTGROUP, SERVICEGROUP, CONTACTGROUP, COMMAND, CONTACT];
        let mut all: Vec<&'static str> = lists.concat();
        all.sort_unstable();
        all.dedup();
        all
    })
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
