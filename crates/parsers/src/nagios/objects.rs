//! objects.cache: tab-separated `define X {` blocks with templates already resolved.

use super::{known_key, numbered_lines, ParseError};
use hagios_domain::{HostObject, Inventory};

/// Parses a whole objects.cache.
///
/// Only hosts, services and host groups are kept; other object types and unknown keys are skipped.
/// Host group membership is merged from both sides (a host's `hostgroups`, a group's `members`),
/// sorted and deduplicated.
pub fn parse(text: &str) -> Result<Inventory, ParseError> {
    let mut inventory = Inventory::default();
    // Borrowed until the end, so that a host's run of services allocates its key once.
    let mut services: Vec<(&str, &str)> = Vec::new();
    let mut open: Option<(Kind, &str, usize)> = None;
    let mut fields = Fields::default();
    for (number, line) in numbered_lines(text) {
        let line = line.trim_ascii();
        if let Some((kind, name, start)) = open {
            if let Some((field, _, value)) = kind.known_key(line) {
                fields.set(field, value);
            } else if line == "}" {
                let block = std::mem::take(&mut fields);
                block.add(kind, name, start, &mut inventory, &mut services)?;
                open = None;
            } else if header(line).is_some() {
                return Err(unclosed(name, start, number));
            }
            // Keys nobody reads, and lines Nagios never writes, are skipped alike.
        } else if let Some(name) = header(line) {
            open = Some((Kind::of(name), name, number));
        } else if !line.is_empty() && !line.starts_with('#') {
            return Err(ParseError::new(number, format!("unexpected line outside any block: {line:?}")));
        }
    }
    if let Some((_, name, start)) = open {
        return Err(unclosed(name, start, text.split('\n').count()));
    }
    for run in services.chunk_by(|a, b| a.0 == b.0) {
        if let [(host, _), ..] = run {
            let list = inventory.services.entry((*host).to_owned()).or_default();
            list.extend(run.iter().map(|(_, service)| (*service).to_owned()));
        }
    }
    merge_hostgroups(&mut inventory);
    Ok(inventory)
}

/// The object type of a `define X {` line.
fn header(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("define")?.strip_suffix('{')?;
    rest.starts_with(|c: char| c.is_ascii_whitespace()).then(|| rest.trim_ascii())
}

fn unclosed(name: &str, start: usize, line: usize) -> ParseError {
    ParseError::new(line, format!("`define {name}` block opened at line {start} is not closed"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Host,
    Service,
    Hostgroup,
    Ignored,
}

impl Kind {
    fn of(name: &str) -> Self {
        match name {
            "host" => Kind::Host,
            "service" => Kind::Service,
            "hostgroup" => Kind::Hostgroup,
            _ => Kind::Ignored,
        }
    }

    /// The field this block kind reads from `key<whitespace>value` in `line`, and its value.
    fn known_key(self, line: &str) -> Option<(Field, &'static str, &str)> {
        // The key must end where the whitespace before its value (or the line) starts.
        let value = |rest| match str::as_bytes(rest).first() {
            None => Some(""),
            Some(c) if c.is_ascii_whitespace() => Some(str::trim_ascii_start(rest)),
            Some(_) => None,
        };
        match self {
            Kind::Host => known_key(&HOST_KEYS, line, value),
            Kind::Service => known_key(&SERVICE_KEYS, line, value),
            Kind::Hostgroup => known_key(&HOSTGROUP_KEYS, line, value),
            Kind::Ignored => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Name,
    Service,
    Alias,
    Address,
    Parents,
    Related,
    Contacts,
    ContactGroups,
}

const HOST_KEYS: [(&str, Field); 7] = [
    ("host_name", Field::Name),
    ("alias", Field::Alias),
    ("address", Field::Address),
    ("parents", Field::Parents),
    ("hostgroups", Field::Related),
    ("contacts", Field::Contacts),
    ("contact_groups", Field::ContactGroups),
];

const SERVICE_KEYS: [(&str, Field); 2] = [("host_name", Field::Name), ("service_description", Field::Service)];

const HOSTGROUP_KEYS: [(&str, Field); 2] = [("hostgroup_name", Field::Name), ("members", Field::Related)];

/// One block's values, borrowed from the text until the block closes.
#[derive(Debug, Default)]
struct Fields<'a> {
    /// `host_name`, or `hostgroup_name` of a host group.
    name: &'a str,
    service: &'a str,
    alias: &'a str,
    address: &'a str,
    parents: &'a str,
    /// `hostgroups` of a host, `members` of a host group.
    related: &'a str,
    contacts: &'a str,
    contact_groups: &'a str,
}

impl<'a> Fields<'a> {
    fn set(&mut self, field: Field, value: &'a str) {
        *match field {
            Field::Name => &mut self.name,
            Field::Service => &mut self.service,
            Field::Alias => &mut self.alias,
            Field::Address => &mut self.address,
            Field::Parents => &mut self.parents,
            Field::Related => &mut self.related,
            Field::Contacts => &mut self.contacts,
            Field::ContactGroups => &mut self.contact_groups,
        } = value;
    }

    fn add(
        self,
        kind: Kind,
        name: &str,
        start: usize,
        inventory: &mut Inventory,
        services: &mut Vec<(&'a str, &'a str)>,
    ) -> Result<(), ParseError> {
        let missing = |key: &str| ParseError::new(start, format!("`define {name}` block has no {key}"));
        match kind {
            Kind::Ignored => {}
            Kind::Host => {
                if self.name.is_empty() {
                    return Err(missing("host_name"));
                }
                let object = HostObject {
                    alias: self.alias.to_owned(),
                    address: self.address.to_owned(),
                    parents: list(self.parents),
                    hostgroups: list(self.related),
                    contacts: list(self.contacts),
                    contact_groups: list(self.contact_groups),
                };
                inventory.hosts.insert(self.name.to_owned(), object);
            }
            Kind::Service => {
                if self.name.is_empty() {
                    return Err(missing("host_name"));
                }
                if self.service.is_empty() {
                    return Err(missing("service_description"));
                }
                services.push((self.name, self.service));
            }
            Kind::Hostgroup => {
                if self.name.is_empty() {
                    return Err(missing("hostgroup_name"));
                }
                inventory.hostgroups.entry(self.name.to_owned()).or_default().extend(list(self.related));
            }
        }
        Ok(())
    }
}

fn list(value: &str) -> Vec<String> {
    value.split(',').map(str::trim_ascii).filter(|item| !item.is_empty()).map(str::to_owned).collect()
}

/// Nagios may record membership on either side, so each side gets the union of both.
fn merge_hostgroups(inventory: &mut Inventory) {
    for (host, object) in &inventory.hosts {
        for group in &object.hostgroups {
            inventory.hostgroups.entry(group.clone()).or_default().push(host.clone());
        }
    }
    for (group, members) in &mut inventory.hostgroups {
        members.sort_unstable();
        members.dedup();
        for member in members.iter() {
            if let Some(object) = inventory.hosts.get_mut(member) {
                object.hostgroups.push(group.clone());
            }
        }
    }
    for object in inventory.hosts.values_mut() {
        object.hostgroups.sort_unstable();
        object.hostgroups.dedup();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
# NAGIOS OBJECT CACHE FILE
define command {
\tcommand_name\tcheck_dummy
\tcommand_line\t$USER1$/check_dummy $ARG1$
\t}

define hostgroup {
\thostgroup_name\tweb
\talias\tWeb servers
\tmembers\tweb02,web01
\t}

define host {
\thost_name\tweb01
\talias\tFront end 1
\taddress\t10.0.0.1
\tparents\tsw1, sw2
\thostgroups\tdmz
\tcontacts\talice,bob
\tcontact_groups\tadmins
\tnotes\t
\t}

define host {
\thost_name\tweb02
\taddress\t10.0.0.2
\t}

define service {
\thost_name\tweb01
\tservice_description\tHTTP Load
\t}

define service {
\thost_name\tweb01
\tservice_description\tDisk
\t}
";

    #[test]
    fn keeps_hosts_services_and_groups() {
        let inventory = parse(SAMPLE).unwrap();
        let web01 = &inventory.hosts["web01"];
        assert_eq!(web01.alias, "Front end 1");
        assert_eq!(web01.address, "10.0.0.1");
        assert_eq!(web01.parents, ["sw1", "sw2"]);
        assert_eq!(web01.hostgroups, ["dmz", "web"]);
        assert_eq!(web01.contacts, ["alice", "bob"]);
        assert_eq!(web01.contact_groups, ["admins"]);
        assert!(inventory.hosts["web02"].contacts.is_empty());
        assert_eq!(inventory.hosts["web02"].hostgroups, ["web"]);
        assert_eq!(inventory.hosts["web02"].alias, "");
        assert_eq!(inventory.services["web01"], ["HTTP Load", "Disk"]);
        assert_eq!(inventory.hostgroups["web"], ["web01", "web02"]);
        assert_eq!(inventory.hostgroups["dmz"], ["web01"]);
        assert_eq!(inventory.hosts.len(), 2);
    }

    #[test]
    fn spaces_and_crlf_are_tolerated() {
        let spaced = SAMPLE.replace('\t', "  ").replace('\n', "\r\n");
        assert_eq!(parse(&spaced).unwrap(), parse(SAMPLE).unwrap());
    }

    #[test]
    fn structural_errors_name_their_line() {
        let cases = [
            ("\n\thost_name\ta\n", 2, "outside any block"),
            ("define host {\n\thost_name\ta\n", 3, "opened at line 1 is not closed"),
            ("define host {\ndefine service {\n}\n", 2, "opened at line 1 is not closed"),
            ("define host {\n\talias\ta\n\t}\n", 1, "no host_name"),
            ("define service {\n\thost_name\ta\n\t}\n", 1, "no service_description"),
            ("define hostgroup {\n\tmembers\ta\n\t}\n", 1, "no hostgroup_name"),
        ];
        for (text, line, message) in cases {
            let err = parse(text).unwrap_err();
            assert_eq!(err.line, line, "{text:?}: {err}");
            assert!(err.message.contains(message), "{text:?}: {err}");
        }
    }

    #[test]
    fn keys_match_whole_words_and_services_merge_per_host() {
        let text = "define service {\n\thost_name\ta\n\tservice_description\tx\n}\n\
                    define service {\n\thost_name\tb\n\tservice_description\ty\n}\n\
                    define service {\n\thost_names\tb\n\thost_name\ta\n\tservice_description\tz\n}\n";
        let inventory = parse(text).unwrap();
        assert_eq!(inventory.services["a"], ["x", "z"]);
        assert_eq!(inventory.services["b"], ["y"]);
    }

    #[test]
    fn unknown_object_types_are_skipped() {
        let inventory =
            parse("define hostdependency {\n\tanything goes\n\t}\ndefine host{\n\thost_name\th\n}\n").unwrap();
        assert_eq!(inventory.hosts.keys().collect::<Vec<_>>(), ["h"]);
    }
}
