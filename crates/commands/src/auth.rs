//! Authorization: which chat user may run which command on which monitored object.
//!
//! Mirrors the `[[role]]` and `[[user]]` tables of the configuration. A role grants commands on
//! object patterns: `*`, host globs (`web*`, covering the host and its services), `hostgroup:NAME`
//! (NAME may be a glob) and `host!service` globs (services only). Commands that only read are open
//! to everyone, including users no `[[user]]` entry names; the router never asks about them.

use crate::text::shown;
use hagios_domain::{glob_match, ObjectRef};
use std::collections::BTreeMap;

/// One `[[role]]` entry: the commands it grants and the objects it grants them on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub name: String,
    pub commands: Vec<String>,
    pub objects: Vec<String>,
}

/// One `[[user]]` entry: a chat platform's user id and the roles it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub chat_id: String,
    pub roles: Vec<String>,
    /// The person behind the id, when they have ids on several platforms: rules about "another
    /// person" count people, not accounts. `None`: the id stands for a person of its own.
    pub person: Option<String>,
}

/// Who may do what; built once from the configuration.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    roles: BTreeMap<String, Grant>,
    /// chat id → role names.
    users: BTreeMap<String, Vec<String>>,
    /// chat id → the person it belongs to, for ids that name one.
    people: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
struct Grant {
    commands: Vec<String>,
    objects: Vec<ObjectPattern>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum ObjectPattern {
    /// A host glob: the host and all its services.
    Host(String),
    /// Every host in a matching host group, and their services.
    Hostgroup(String),
    /// Matching services only.
    Service { host: String, service: String },
}

impl ObjectPattern {
    fn parse(pattern: &str) -> Self {
        if let Some(group) = pattern.strip_prefix("hostgroup:") {
            ObjectPattern::Hostgroup(group.to_owned())
        } else if let Some((host, service)) = pattern.split_once('!') {
            ObjectPattern::Service { host: host.to_owned(), service: service.to_owned() }
        } else {
            ObjectPattern::Host(pattern.to_owned())
        }
    }

    fn matches(&self, object: &ObjectRef, hostgroups: &[String]) -> bool {
        match self {
            ObjectPattern::Host(host) => glob_match(host, &object.host),
            ObjectPattern::Hostgroup(group) => hostgroups.iter().any(|g| glob_match(group, g)),
            ObjectPattern::Service { host, service } => {
                object.service.as_deref().is_some_and(|s| glob_match(host, &object.host) && glob_match(service, s))
            }
        }
    }
}

impl Policy {
    /// Builds the policy. A user naming a role that does not exist gets nothing from it
    /// (`hagios config check` reports that); a user listed twice holds the roles of both entries.
    pub fn new(roles: impl IntoIterator<Item = Role>, users: impl IntoIterator<Item = User>) -> Self {
        let roles = roles
            .into_iter()
            .map(|role| {
                let grant = Grant {
                    commands: role.commands,
                    objects: role.objects.iter().map(|p| ObjectPattern::parse(p)).collect(),
                };
                (role.name, grant)
            })
            .collect();
        let (mut by_user, mut people): (BTreeMap<String, Vec<String>>, BTreeMap<String, String>) = Default::default();
        for user in users {
            if let Some(person) = user.person {
                people.insert(user.chat_id.clone(), person);
            }
            by_user.entry(user.chat_id).or_default().extend(user.roles);
        }
        Policy { roles, users: by_user, people }
    }

    /// Who `user_id` is in the monitoring system (the author of their acknowledgements,
    /// downtimes and comments): their `[[user]] person`, else the platform's id itself. Never the
    /// display name, which every user can set to anything, someone else's name included.
    pub fn author<'a>(&'a self, user_id: &'a str) -> &'a str {
        self.people.get(user_id).map_or(user_id, String::as_str)
    }

    /// Whether two chat ids belong to the same person: the same id, or ids given the same
    /// `person` (one person on Slack and on Matrix).
    pub fn same_person(&self, one: &str, other: &str) -> bool {
        one == other || self.people.get(one).is_some_and(|person| self.people.get(other) == Some(person))
    }

    /// Whether `user_id` holds a role that exists: users without one may read, nothing more, and
    /// get stricter limits.
    pub fn holds_a_role(&self, user_id: &str) -> bool {
        !self.roles_of(user_id).is_empty()
    }

    /// Who `user_id` is for limits that count people: their `person`, else the id itself.
    pub fn person_of<'a>(&'a self, user_id: &'a str) -> &'a str {
        self.people.get(user_id).map_or(user_id, String::as_str)
    }

    /// Ok when one of the user's roles grants `command` on some objects: what can be known
    /// before reading any monitoring state. A refusal here needs no object and no state.
    pub fn may_use(&self, user_id: &str, command: &str) -> Result<(), Denial> {
        self.granting(user_id, command).map(drop).map_err(|reason| Denial {
            command: command.to_owned(),
            object: None,
            reason,
        })
    }

    /// Allows `command` on `object` when one of the user's roles grants that command and has an
    /// object pattern matching it. `hostgroups` are the groups of `object.host`.
    pub fn authorize(
        &self,
        user_id: &str,
        command: &str,
        object: &ObjectRef,
        hostgroups: &[String],
    ) -> Result<(), Denial> {
        let deny = |reason| Err(Denial { command: command.to_owned(), object: Some(object.clone()), reason });
        let granting = match self.granting(user_id, command) {
            Ok(granting) => granting,
            Err(reason) => return deny(reason),
        };
        if granting.iter().any(|grant| grant.objects.iter().any(|pattern| pattern.matches(object, hostgroups))) {
            return Ok(());
        }
        let patterns = granting.iter().flat_map(|grant| grant.objects.iter().map(ObjectPattern::to_string)).collect();
        deny(DenialReason::ObjectNotGranted { patterns })
    }

    /// The defined roles `user_id` holds, with their grants.
    fn roles_of(&self, user_id: &str) -> Vec<(&String, &Grant)> {
        self.users
            .get(user_id)
            .into_iter()
            .flatten()
            .filter_map(|name| self.roles.get_key_value(name.as_str()))
            .collect()
    }

    /// The user's grants that list `command`; why there are none otherwise.
    fn granting(&self, user_id: &str, command: &str) -> Result<Vec<&Grant>, DenialReason> {
        let held = self.roles_of(user_id);
        if held.is_empty() {
            return Err(DenialReason::NoRole);
        }
        let granting: Vec<&Grant> =
            held.iter().filter(|(_, grant)| grant.commands.iter().any(|c| c == command)).map(|(_, g)| *g).collect();
        if granting.is_empty() {
            return Err(DenialReason::CommandNotGranted {
                roles: held.iter().map(|(name, _)| (*name).clone()).collect(),
            });
        }
        Ok(granting)
    }
}

impl std::fmt::Display for ObjectPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ObjectPattern::Host(host) => f.write_str(host),
            ObjectPattern::Hostgroup(group) => write!(f, "hostgroup:{group}"),
            ObjectPattern::Service { host, service } => write!(f, "{host}!{service}"),
        }
    }
}

/// Why a command was refused; `explain` turns it into the reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    pub command: String,
    /// What the command was refused on; `None` when it was refused before any object was read.
    pub object: Option<ObjectRef>,
    pub reason: DenialReason,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DenialReason {
    /// No `[[user]]` entry gives this chat id a defined role.
    NoRole,
    /// The user's roles exist but none lists the command.
    CommandNotGranted { roles: Vec<String> },
    /// Some role grants the command, but none of its object patterns matches.
    ObjectNotGranted { patterns: Vec<String> },
}

impl Denial {
    /// The refusal as the user reads it: what was refused, which permission is missing and who
    /// can add it. `open_commands` are the commands everyone may use.
    pub fn explain(&self, user_name: &str, user_id: &str, open_commands: &[&str]) -> String {
        let (user, command) = (shown(user_name), &self.command);
        let head = match &self.object {
            Some(object) => format!("refused: {user} may not `{command}` {object}"),
            None => format!("refused: {user} may not `{command}`"),
        };
        match &self.reason {
            DenialReason::NoRole => format!(
                "{head} (chat id `{}` has no role; without one you can use {} only); ask an admin to add a \
                 [[user]] with chat_id = \"{}\" and a role that grants {command}",
                shown(user_id),
                open_commands.join(", "),
                shown(user_id),
            ),
            DenialReason::CommandNotGranted { roles } => format!(
                "{head} (no role grants {command}; yours: {}); ask an admin to add {command} to one of your \
                 roles in [[role]]",
                roles.join(", ")
            ),
            DenialReason::ObjectNotGranted { patterns } => format!(
                "{head} (no role grants {command} on it; your roles grant it on {} only); ask an admin to add \
                 it to a role's objects in [[role]]",
                patterns.join(", ")
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(name: &str, commands: &[&str], objects: &[&str]) -> Role {
        Role {
            name: name.into(),
            commands: commands.iter().map(|c| c.to_string()).collect(),
            objects: objects.iter().map(|o| o.to_string()).collect(),
        }
    }

    fn user(chat_id: &str, roles: &[&str]) -> User {
        User { chat_id: chat_id.into(), roles: roles.iter().map(|r| r.to_string()).collect(), person: None }
    }

    fn policy() -> Policy {
        Policy::new(
            [
                role("oncall", &["ack", "downtime"], &["*"]),
                role("web", &["ack", "recheck"], &["web*"]),
                role("dba", &["ack"], &["hostgroup:db-*"]),
                role("http", &["mute"], &["*!HTTP*"]),
            ],
            [
                user("U1", &["oncall"]),
                user("U2", &["web"]),
                user("U3", &["dba"]),
                user("U4", &["http"]),
                user("U5", &["nonexistent"]),
                user("U2", &["http"]),
            ],
        )
    }

    #[test]
    fn the_author_is_the_person_else_the_chat_id() {
        let person = User { person: Some("olive".into()), ..user("U7", &["oncall"]) };
        let policy = Policy::new([], [person, user("U8", &["oncall"])]);
        assert_eq!(policy.author("U7"), "olive");
        assert_eq!(policy.author("U8"), "U8");
        assert_eq!(policy.author("U9"), "U9", "an unknown id is its own author");
    }

    #[test]
    fn star_grants_everything() {
        let web = ObjectRef::service("web01", "HTTP");
        assert_eq!(policy().authorize("U1", "ack", &web, &[]), Ok(()));
        assert_eq!(policy().authorize("U1", "downtime", &ObjectRef::host("db01"), &[]), Ok(()));
    }

    #[test]
    fn host_globs_cover_the_host_and_its_services() {
        let policy = policy();
        assert_eq!(policy.authorize("U2", "recheck", &ObjectRef::host("web01"), &[]), Ok(()));
        assert_eq!(policy.authorize("U2", "recheck", &ObjectRef::service("web01", "SSH"), &[]), Ok(()));
        let denial = policy.authorize("U2", "recheck", &ObjectRef::host("db01"), &[]).unwrap_err();
        assert_eq!(denial.reason, DenialReason::ObjectNotGranted { patterns: vec!["web*".into()] });
    }

    #[test]
    fn hostgroup_patterns_need_the_hosts_groups() {
        let policy = policy();
        let mysql = ObjectRef::service("db01", "MySQL");
        assert_eq!(policy.authorize("U3", "ack", &mysql, &["db-servers".into()]), Ok(()));
        assert!(policy.authorize("U3", "ack", &mysql, &["web-servers".into()]).is_err());
        assert!(policy.authorize("U3", "ack", &mysql, &[]).is_err());
    }

    #[test]
    fn service_patterns_grant_services_only() {
        let policy = policy();
        assert_eq!(policy.authorize("U4", "mute", &ObjectRef::service("web01", "HTTP Load"), &[]), Ok(()));
        assert!(policy.authorize("U4", "mute", &ObjectRef::host("web01"), &[]).is_err());
        assert!(policy.authorize("U4", "mute", &ObjectRef::service("web01", "SSH"), &[]).is_err());
    }

    #[test]
    fn users_listed_twice_hold_both_roles() {
        assert_eq!(policy().authorize("U2", "mute", &ObjectRef::service("db01", "HTTP"), &[]), Ok(()));
    }

    #[test]
    fn unknown_users_and_undefined_roles_get_nothing() {
        for id in ["U404", "U5"] {
            let denial = policy().authorize(id, "ack", &ObjectRef::host("web01"), &[]).unwrap_err();
            assert_eq!(denial.reason, DenialReason::NoRole);
        }
    }

    #[test]
    fn may_use_knows_without_an_object_whether_any_role_grants_the_command() {
        let policy = policy();
        assert_eq!(policy.may_use("U3", "ack"), Ok(()));
        assert_eq!(policy.may_use("U404", "ack").unwrap_err().reason, DenialReason::NoRole);
        let denial = policy.may_use("U3", "recheck").unwrap_err();
        assert_eq!(denial.reason, DenialReason::CommandNotGranted { roles: vec!["dba".into()] });
        assert_eq!(
            denial.explain("carol", "U3", &["status"]),
            "refused: carol may not `recheck` (no role grants recheck; yours: dba); ask an admin to add recheck to \
             one of your roles in [[role]]"
        );
        assert!(policy.holds_a_role("U1") && !policy.holds_a_role("U5") && !policy.holds_a_role("U404"));
    }

    #[test]
    fn refusals_name_the_missing_permission() {
        let policy = policy();
        let http = ObjectRef::service("web01", "HTTP");
        let text = policy.authorize("U3", "recheck", &http, &[]).unwrap_err().explain("carol", "U3", &["status"]);
        assert_eq!(
            text,
            "refused: carol may not `recheck` web01!HTTP (no role grants recheck; yours: dba); ask an admin to add \
             recheck to one of your roles in [[role]]"
        );
        let text = policy.authorize("U3", "ack", &http, &[]).unwrap_err().explain("carol", "U3", &["status"]);
        assert!(text.contains("no role grants ack on it; your roles grant it on hostgroup:db-* only"), "{text}");
        let text = policy.authorize("U9", "ack", &http, &[]).unwrap_err().explain("eve", "U9", &["status", "help"]);
        assert!(text.contains("chat id `U9` has no role; without one you can use status, help only"), "{text}");
        assert!(text.contains("chat_id = \"U9\""), "{text}");
    }
}
