//! The checks of `nagios -v` on a resolved configuration: names, duplicates, required
//! directives, references between objects, group membership, services on host groups with `!`
//! exclusions, parent cycles. Reports every problem at once, unlike Nagios which stops early.

use crate::diag::{Diagnostic, Kind, Phase, Severity};
use crate::directives::{key, Key};
use crate::fast_hash::{FastMap, FastSet};
use crate::load::Sources;
use crate::parse::{add_suggestion, ObjectKind};
use crate::resolve::{list, Config};

/// The outcome of checking one configuration.
#[derive(Debug)]
pub struct CheckReport {
    /// Sorted by file and line.
    pub diagnostics: Vec<Diagnostic>,
    pub hosts: usize,
    /// Services after expanding host groups and host lists.
    pub services: usize,
    pub object_files: usize,
}

impl CheckReport {
    pub fn error_count(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.severity == Severity::Error).count()
    }

    pub fn is_valid(&self) -> bool {
        self.error_count() == 0
    }
}

/// Check everything loaded in `sources`.
pub fn check(sources: &Sources) -> CheckReport {
    let config = Config::build(sources);
    let analysis = analyse(&config);
    CheckReport {
        hosts: analysis.hosts.len(),
        services: analysis.services.len(),
        diagnostics: analysis.diagnostics,
        object_files: sources.files.len(),
    }
}

/// The configuration as Nagios would create it: which objects exist and how groups and
/// services expand, plus every problem found (sorted by file and line).
pub struct Analysis<'c> {
    /// Registered hosts (object indices), in definition order.
    pub hosts: Vec<u32>,
    /// Host-group name → member hosts, nested groups and the hosts' own `hostgroups` included.
    pub hostgroup_hosts: FastMap<&'c str, Vec<u32>>,
    /// Every service Nagios creates: (service definition, host), duplicates dropped.
    pub services: Vec<(u32, u32)>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Check a built configuration and expand its groups and services.
pub fn analyse<'c>(config: &'c Config<'_>) -> Analysis<'c> {
    let mut checker = Checker::new(config);
    checker.run();
    let mut diagnostics = checker.diagnostics;
    diagnostics.extend(config.diagnostics.iter().cloned());
    diagnostics.sort_by(|a, b| (&a.file, a.line, a.kind, &a.subject).cmp(&(&b.file, b.line, b.kind, &b.subject)));
    diagnostics.dedup();
    Analysis { hosts: checker.hosts, hostgroup_hosts: checker.hostgroup_hosts, services: checker.services, diagnostics }
}

/// The value of `key` for a service, with Nagios' implied inheritance: a service that sets
/// neither contacts nor contact groups (not even to `null`) takes its host's, and likewise its
/// notification interval and period.
pub fn service_value<'c>(config: &'c Config<'_>, service: u32, host: u32, key: &str) -> Option<&'c str> {
    let implied = match key {
        "contacts" | "contact_groups" => {
            !config.is_set(service, key!("contacts")) && !config.is_set(service, key!("contact_groups"))
        }
        "notification_interval" | "notification_period" => !config.is_set(service, key),
        _ => false,
    };
    config.get(if implied { host } else { service }, key)
}

struct Checker<'c, 'a> {
    config: &'c Config<'a>,
    /// Registered (non-template) objects by kind and name; first definition wins.
    names: FastMap<ObjectKind, FastMap<&'c str, u32>>,
    hosts: Vec<u32>,
    /// Host-group name → member host indices (after nested groups and the hosts' own `hostgroups`).
    hostgroup_hosts: FastMap<&'c str, Vec<u32>>,
    services: Vec<(u32, u32)>,
    /// Values already found to name existing objects, see `verified_key`.
    verified: FastSet<(ObjectKind, usize, usize)>,
    diagnostics: Vec<Diagnostic>,
}

impl<'c, 'a> Checker<'c, 'a> {
    fn new(config: &'c Config<'a>) -> Self {
        Checker {
            config,
            names: FastMap::default(),
            hosts: Vec::new(),
            hostgroup_hosts: FastMap::default(),
            services: Vec::new(),
            verified: FastSet::default(),
            diagnostics: Vec::new(),
        }
    }

    fn run(&mut self) {
        self.register_names();
        self.expand_hostgroups();
        for index in 0..self.config.objects.len() as u32 {
            let object = &self.config.objects[index as usize];
            if object.is_template_only() {
                continue;
            }
            match object.kind {
                ObjectKind::Host => self.check_host(index),
                ObjectKind::Service => {} // checked together below, for duplicates
                ObjectKind::Hostgroup => {
                    self.check_references(index, key!("hostgroup_members"), ObjectKind::Hostgroup, Phase::Read)
                }
                ObjectKind::Contact => self.check_contact(index),
                ObjectKind::Contactgroup => self.check_contactgroup(index),
                ObjectKind::Servicegroup => self.check_servicegroup(index),
                ObjectKind::Command => self.require(index, key!("command_line"), Phase::Read),
                ObjectKind::Timeperiod => {
                    self.check_references(index, key!("exclude"), ObjectKind::Timeperiod, Phase::Preflight)
                }
                _ => {}
            }
        }
        self.check_services();
        self.check_parent_cycles();
    }

    fn is_registered(&self, index: u32) -> bool {
        !self.config.objects[index as usize].is_template_only()
    }

    fn register_names(&mut self) {
        let config = self.config;
        for index in 0..config.objects.len() as u32 {
            let object = &config.objects[index as usize];
            let Some(name_key) = object.kind.name_directive() else { continue };
            if !self.is_registered(index) {
                continue;
            }
            let name = config.get(index, name_key);
            let hostless = object.kind == ObjectKind::Service
                && config.get(index, key!("host_name")).is_none()
                && config.get(index, key!("hostgroup_name")).is_none();
            let Some(name) = name.filter(|_| !hostless) else {
                let missing = if hostless && name.is_some() { "host_name or hostgroup_name" } else { name_key };
                let keyword = object.kind.keyword();
                let message =
                    format!("this {keyword} has no {missing}: name it, or add 'register 0' if it is only a template");
                let diagnostic =
                    self.at(index, object.end_line, Severity::Error, Phase::Read, Kind::MissingName, keyword, message);
                self.diagnostics.push(diagnostic);
                continue;
            };
            if object.kind == ObjectKind::Service {
                continue; // identified by host and description, see check_services
            }
            if object.kind == ObjectKind::Host {
                self.hosts.push(index);
            }
            let names = self.names.entry(object.kind).or_default();
            if let Some(&first) = names.get(name) {
                let line = config.origin(index, name_key).map_or(object.line, |(_, line)| line);
                let message = format!("{} '{name}' is defined twice", object.kind.keyword());
                let mut diagnostic = self.at(index, line, Severity::Error, Phase::Read, Kind::Duplicate, name, message);
                diagnostic.notes.push(format!("first definition: {}", config.describe(first)));
                self.diagnostics.push(diagnostic);
            } else {
                names.insert(name, index);
            }
        }
    }

    /// Members of every host group: `members` (with `*` and `!host`), hosts naming the group in
    /// their `hostgroups`, and the hosts of `hostgroup_members`, recursively.
    fn expand_hostgroups(&mut self) {
        let config = self.config;
        let mut direct: FastMap<&'c str, Vec<u32>> = FastMap::default();
        let mut excluded: FastMap<&'c str, Vec<u32>> = FastMap::default();
        let groups: Vec<(&'c str, u32)> = self.named(ObjectKind::Hostgroup);
        for &(group, index) in &groups {
            let members = config.get(index, key!("members")).unwrap_or("");
            let (hosts, rejected) = self.select_hosts(index, key!("members"), members);
            direct.entry(group).or_default().extend(hosts);
            excluded.insert(group, rejected);
        }
        for host in self.hosts.clone() {
            for group in list(config.get(host, key!("hostgroups")).unwrap_or("")) {
                match direct.get_mut(group) {
                    Some(members) => members.push(host),
                    None => self.unknown(host, key!("hostgroups"), ObjectKind::Hostgroup, group, Phase::Read),
                }
            }
        }
        for (group, rejected) in &excluded {
            if let Some(members) = direct.get_mut(group) {
                members.retain(|host| !rejected.contains(host));
            }
        }
        for &(group, index) in &groups {
            let mut hosts = Vec::new();
            let mut visited = FastSet::default();
            self.collect_group(group, index, &direct, &mut visited, &mut hosts);
            // a group's `!host` also removes that host when a nested group brings it in
            hosts.retain(|host| !excluded[group].contains(host));
            hosts.sort_unstable();
            hosts.dedup();
            self.hostgroup_hosts.insert(group, hosts);
        }
    }

    fn collect_group(
        &self,
        group: &'c str,
        index: u32,
        direct: &FastMap<&'c str, Vec<u32>>,
        visited: &mut FastSet<&'c str>,
        hosts: &mut Vec<u32>,
    ) {
        if !visited.insert(group) {
            return;
        }
        hosts.extend(direct.get(group).into_iter().flatten());
        for nested in list(self.config.get(index, key!("hostgroup_members")).unwrap_or("")) {
            // unknown nested groups are reported once per group by check_references
            if let Some(nested_index) = self.lookup(ObjectKind::Hostgroup, nested) {
                self.collect_group(nested, nested_index, direct, visited, hosts);
            }
        }
    }

    /// Hosts named (first) and excluded with `!name` (second) by a list that may use `*` for
    /// all; unknown names reported. Exclusions also remove hosts that join by other ways, so the
    /// caller applies them last.
    fn select_hosts(&mut self, index: u32, key: Key<'static>, value: &'c str) -> (Vec<u32>, Vec<u32>) {
        let mut chosen = Vec::new();
        let mut excluded = Vec::new();
        for item in list(value) {
            let (negated, name) = match item.strip_prefix('!') {
                Some(name) => (true, name.trim()),
                None => (false, item),
            };
            let found: Vec<u32> = if name == "*" {
                self.hosts.clone()
            } else {
                match self.lookup(ObjectKind::Host, name) {
                    Some(host) => vec![host],
                    None => {
                        self.unknown(index, key, ObjectKind::Host, name, Phase::Read);
                        continue;
                    }
                }
            };
            if negated { &mut excluded } else { &mut chosen }.extend(found);
        }
        (chosen, excluded)
    }

    fn check_host(&mut self, index: u32) {
        self.require_attempts(index);
        self.check_references(index, key!("contacts"), ObjectKind::Contact, Phase::Read);
        self.check_references(index, key!("contact_groups"), ObjectKind::Contactgroup, Phase::Read);
        self.check_reference(index, key!("check_period"), ObjectKind::Timeperiod, Phase::Read);
        self.check_reference(index, key!("notification_period"), ObjectKind::Timeperiod, Phase::Read);
        self.check_command(index, key!("check_command"));
        self.check_command(index, key!("event_handler"));
        self.check_references(index, key!("parents"), ObjectKind::Host, Phase::Preflight);
    }

    fn check_services(&mut self) {
        let config = self.config;
        let mut seen: FastSet<(u32, &'c str)> = FastSet::default();
        seen.reserve(config.objects.len());
        for index in 0..config.objects.len() as u32 {
            let object = &config.objects[index as usize];
            if object.kind != ObjectKind::Service || object.is_template_only() {
                continue;
            }
            let Some(description) = config.get(index, key!("service_description")) else { continue };
            let host_list = config.get(index, key!("host_name")).unwrap_or("");
            let (mut hosts, mut excluded) = self.select_hosts(index, key!("host_name"), host_list);
            for item in list(config.get(index, key!("hostgroup_name")).unwrap_or("")) {
                let (negated, group) = match item.strip_prefix('!') {
                    Some(group) => (true, group.trim()),
                    None => (false, item),
                };
                match self.hostgroup_hosts.get(group) {
                    Some(members) => if negated { &mut excluded } else { &mut hosts }.extend(members),
                    None => self.unknown(index, key!("hostgroup_name"), ObjectKind::Hostgroup, group, Phase::Read),
                }
            }
            hosts.retain(|host| !excluded.contains(host));
            for host in hosts {
                if seen.insert((host, description)) {
                    self.services.push((index, host));
                } else {
                    let host_name = config.display_name(host);
                    let message =
                        format!("service '{description}' on host '{host_name}' is defined twice; Nagios keeps one");
                    let line = object.line;
                    let diagnostic =
                        self.at(index, line, Severity::Warning, Phase::Read, Kind::Duplicate, description, message);
                    self.diagnostics.push(diagnostic);
                }
            }
            self.require(index, key!("check_command"), Phase::Read);
            self.require_attempts(index);
            self.check_references(index, key!("contacts"), ObjectKind::Contact, Phase::Read);
            self.check_references(index, key!("contact_groups"), ObjectKind::Contactgroup, Phase::Read);
            self.check_references(index, key!("servicegroups"), ObjectKind::Servicegroup, Phase::Read);
            self.check_reference(index, key!("notification_period"), ObjectKind::Timeperiod, Phase::Read);
            self.check_reference(index, key!("check_period"), ObjectKind::Timeperiod, Phase::Read);
            self.check_command(index, key!("check_command"));
            self.check_command(index, key!("event_handler"));
        }
    }

    fn check_contact(&mut self, index: u32) {
        self.check_references(index, key!("contactgroups"), ObjectKind::Contactgroup, Phase::Read);
        self.check_reference(index, key!("host_notification_period"), ObjectKind::Timeperiod, Phase::Read);
        self.check_reference(index, key!("service_notification_period"), ObjectKind::Timeperiod, Phase::Read);
        for key in [key!("host_notification_commands"), key!("service_notification_commands")] {
            for command in list(self.config.get(index, key).unwrap_or("")) {
                self.check_command_name(index, key, command);
            }
        }
    }

    fn check_contactgroup(&mut self, index: u32) {
        self.check_references(index, key!("members"), ObjectKind::Contact, Phase::Read);
        self.check_references(index, key!("contactgroup_members"), ObjectKind::Contactgroup, Phase::Read);
    }

    fn check_servicegroup(&mut self, index: u32) {
        self.check_references(index, key!("servicegroup_members"), ObjectKind::Servicegroup, Phase::Read);
    }

    fn check_references(&mut self, index: u32, key: Key<'static>, kind: ObjectKind, phase: Phase) {
        let Some(value) = self.config.get(index, key) else { return };
        if self.already_verified(kind, value) {
            return;
        }
        let mut all_known = true;
        for name in list(value) {
            let name = name.trim_start_matches('!');
            if name != "*" && self.lookup(kind, name).is_none() {
                self.unknown(index, key, kind, name, phase);
                all_known = false;
            }
        }
        if all_known {
            self.verified.insert(verified_key(kind, value));
        }
    }

    fn check_reference(&mut self, index: u32, key: Key<'static>, kind: ObjectKind, phase: Phase) {
        let Some(name) = self.config.get(index, key) else { return };
        if self.already_verified(kind, name) {
            return;
        }
        if self.lookup(kind, name).is_none() {
            self.unknown(index, key, kind, name, phase);
        } else {
            self.verified.insert(verified_key(kind, name));
        }
    }

    /// `check_command` / `event_handler`: the command name is the part before the first `!`.
    fn check_command(&mut self, index: u32, key: Key<'static>) {
        if let Some(value) = self.config.get(index, key) {
            self.check_command_name(index, key, value);
        }
    }

    fn check_command_name(&mut self, index: u32, key: Key<'static>, value: &'c str) {
        if self.already_verified(ObjectKind::Command, value) {
            return;
        }
        let name = value.split('!').next().unwrap_or("").trim();
        if self.lookup(ObjectKind::Command, name).is_none() {
            self.unknown(index, key, ObjectKind::Command, name, Phase::Preflight);
        } else {
            self.verified.insert(verified_key(ObjectKind::Command, value));
        }
    }

    /// Whether this very value (same place in the configuration, e.g. inherited from one
    /// template by 100k services) was already found to name existing objects.
    fn already_verified(&self, kind: ObjectKind, value: &str) -> bool {
        self.verified.contains(&verified_key(kind, value))
    }

    fn require(&mut self, index: u32, key: Key<'static>, phase: Phase) {
        if self.config.get(index, key).is_none() {
            self.missing(index, key, phase, "");
        }
    }

    fn require_attempts(&mut self, index: u32) {
        let value = self.config.get(index, key!("max_check_attempts"));
        if value.and_then(|value| value.parse::<i64>().ok()).is_none_or(|attempts| attempts < 1) {
            let why = if value.is_some() { " (it must be a whole number of at least 1)" } else { "" };
            self.missing(index, key!("max_check_attempts"), Phase::Read, why);
        }
    }

    fn missing(&mut self, index: u32, key: Key<'static>, phase: Phase, why: &str) {
        let config = self.config;
        if config.has_unknown_template(index) {
            return; // the unknown template is the error to fix; what it would have set is unknown
        }
        let object = &config.objects[index as usize];
        let label = self.label(index);
        let message = format!("{label} has no valid {key}{why}: set it in the object or in a template it uses");
        let mut diagnostic =
            self.at(index, object.line, Severity::Error, phase, Kind::MissingDirective, key.name, message);
        diagnostic.notes.push(format!("inherits: {}", config.inheritance_chain(index)));
        self.diagnostics.push(diagnostic);
    }

    fn unknown(&mut self, index: u32, key: Key<'static>, kind: ObjectKind, name: &str, phase: Phase) {
        let config = self.config;
        let (file, line) = config
            .origin(index, key)
            .unwrap_or((config.objects[index as usize].file, config.objects[index as usize].line));
        let label = self.label(index);
        let message = format!("{label}: {key} names {} '{name}', which is not defined", kind.keyword());
        let mut diagnostic = self.at(index, line, Severity::Error, phase, unknown_kind(kind), name, message);
        diagnostic.file = config.sources.files[file as usize].path.clone();
        let candidates = self.names.get(&kind).into_iter().flat_map(|names| names.keys().copied());
        add_suggestion(&mut diagnostic, name, candidates);
        if config.origin(index, key).is_some_and(|(_, origin_line)| {
            let object = &config.objects[index as usize];
            (origin_line < object.line || origin_line > object.end_line) || file != object.file
        }) {
            diagnostic.notes.push(format!("inherited: {}", config.inheritance_chain(index)));
        }
        self.diagnostics.push(diagnostic);
    }

    #[allow(clippy::too_many_arguments)]
    fn at(
        &self,
        index: u32,
        line: u32,
        severity: Severity,
        phase: Phase,
        kind: Kind,
        subject: &str,
        message: String,
    ) -> Diagnostic {
        let object = &self.config.objects[index as usize];
        Diagnostic {
            severity,
            phase,
            kind,
            subject: subject.to_string(),
            file: self.config.sources.files[object.file as usize].path.clone(),
            line,
            message,
            notes: Vec::new(),
        }
    }

    /// `host 'web1'`, `service 'HTTP' (host_name web1)` …
    fn label(&self, index: u32) -> String {
        let object = &self.config.objects[index as usize];
        let name = self.config.display_name(index);
        match object.kind {
            ObjectKind::Service => {
                let on = self
                    .config
                    .get(index, key!("host_name"))
                    .or(self.config.get(index, key!("hostgroup_name")))
                    .unwrap_or("?");
                format!("service '{name}' on '{on}'")
            }
            kind => format!("{} '{name}'", kind.keyword()),
        }
    }

    fn lookup(&self, kind: ObjectKind, name: &str) -> Option<u32> {
        self.names.get(&kind)?.get(name).copied()
    }

    fn named(&self, kind: ObjectKind) -> Vec<(&'c str, u32)> {
        let mut named: Vec<(&'c str, u32)> = self
            .names
            .get(&kind)
            .map(|names| names.iter().map(|(name, index)| (*name, *index)).collect())
            .unwrap_or_default();
        named.sort_by_key(|(_, index)| *index);
        named
    }

    /// Hosts that are (indirectly) their own parent; one diagnostic per cycle.
    fn check_parent_cycles(&mut self) {
        let config = self.config;
        let parents: FastMap<u32, Vec<u32>> = self
            .hosts
            .iter()
            .map(|&host| {
                let list = list(config.get(host, key!("parents")).unwrap_or(""));
                (host, list.filter_map(|name| self.lookup(ObjectKind::Host, name)).collect())
            })
            .collect();
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            New,
            OnPath,
            Finished,
        }
        let mut marks: FastMap<u32, Mark> = self.hosts.iter().map(|&host| (host, Mark::New)).collect();
        for &start in &self.hosts {
            if marks[&start] != Mark::New {
                continue;
            }
            let mut path: Vec<(u32, usize)> = vec![(start, 0)];
            marks.insert(start, Mark::OnPath);
            while let Some(&mut (host, ref mut next)) = path.last_mut() {
                let Some(&parent) = parents[&host].get(*next) else {
                    marks.insert(host, Mark::Finished);
                    path.pop();
                    continue;
                };
                *next += 1;
                match marks[&parent] {
                    Mark::New => {
                        marks.insert(parent, Mark::OnPath);
                        path.push((parent, 0));
                    }
                    Mark::OnPath => {
                        let from = path.iter().position(|&(member, _)| member == parent).unwrap_or(0);
                        let mut members: Vec<String> =
                            path[from..].iter().map(|&(member, _)| config.display_name(member)).collect();
                        members.sort();
                        let subject = members.join(",");
                        let line = config.origin(host, key!("parents")).map_or(0, |(_, line)| line);
                        let message = format!("hosts {} are each other's parents (a circular parent/child chain): remove one 'parents' entry", members.iter().map(|m| format!("'{m}'")).collect::<Vec<_>>().join(" → "));
                        let diagnostic = self.at(
                            host,
                            line,
                            Severity::Error,
                            Phase::Preflight,
                            Kind::ParentCycle,
                            &subject,
                            message,
                        );
                        self.diagnostics.push(diagnostic);
                    }
                    Mark::Finished => {}
                }
            }
        }
    }
}

/// A value identified by where it lives in memory: values borrowed from the same directive
/// (inherited from the same template) share it, so checking them once is enough.
fn verified_key(kind: ObjectKind, value: &str) -> (ObjectKind, usize, usize) {
    (kind, value.as_ptr() as usize, value.len())
}

fn unknown_kind(kind: ObjectKind) -> Kind {
    match kind {
        ObjectKind::Host => Kind::UnknownHost,
        ObjectKind::Hostgroup => Kind::UnknownHostgroup,
        ObjectKind::Servicegroup => Kind::UnknownServicegroup,
        ObjectKind::Contact => Kind::UnknownContact,
        ObjectKind::Contactgroup => Kind::UnknownContactgroup,
        ObjectKind::Command => Kind::UnknownCommand,
        _ => Kind::UnknownTimeperiod,
    }
}
