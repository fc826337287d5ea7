//! Generated configurations (templates with multiple `use`, `+` lists, `null`, nested host
//! groups, services on host groups and host lists with `!` exclusions, implied inheritance):
//! our resolver must produce exactly the objects a real Nagios writes to its object cache
//! (`nagios4 -vp` writes the precached object file, same format as objects.cache).

mod common;

use hagios_nagioscfg::{analyse, load, service_value, Config, Severity};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::process::Command;

/// Small deterministic generator, so a failing seed can be replayed.
struct Random(u64);

impl Random {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as usize
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'s>(&mut self, items: &[&'s str]) -> &'s str {
        items[self.below(items.len())]
    }

    /// A list of 1–2 distinct items, sometimes with a leading `+`.
    fn list(&mut self, items: &[&str], additive: bool) -> String {
        let first = self.pick(items);
        let mut chosen = vec![first.to_string()];
        if self.chance(40) {
            let second = self.pick(items);
            if second != first {
                chosen.push(second.to_string());
            }
        }
        let plus = if additive && self.chance(50) { "+" } else { "" };
        format!("{plus}{}", chosen.join(","))
    }
}

const PERIODS: [&str; 3] = ["p0", "p1", "p2"];
const COMMANDS: [&str; 3] = ["c0", "c1", "c2"];
const CONTACTS: [&str; 3] = ["ct0", "ct1", "ct2"];
const CONTACT_GROUPS: [&str; 2] = ["cg0", "cg1"];
const HOSTGROUPS: [&str; 4] = ["hg0", "hg1", "hg2", "hg3"];

/// Directives a template or object may set, with a generator for each value.
fn random_settings(random: &mut Random, out: &mut String, templates: bool) {
    let chance = if templates { 45 } else { 25 };
    if random.chance(chance) {
        writeln!(out, "  check_period {}", random.pick(&PERIODS)).unwrap();
    }
    if random.chance(chance) {
        let value = if random.chance(25) { "null" } else { random.pick(&PERIODS) };
        writeln!(out, "  notification_period {value}").unwrap();
    }
    if random.chance(chance) {
        writeln!(out, "  check_command {}!{}", random.pick(&COMMANDS), random.below(9)).unwrap();
    }
    if random.chance(chance) {
        writeln!(out, "  max_check_attempts {}", 1 + random.below(5)).unwrap();
    }
    if random.chance(chance) {
        writeln!(out, "  contacts {}", random.list(&CONTACTS, true)).unwrap();
    }
    if random.chance(chance) {
        writeln!(out, "  contact_groups {}", random.list(&CONTACT_GROUPS, true)).unwrap();
    }
}

fn generate(seed: u64) -> String {
    let mut random = Random(seed);
    let mut out = String::new();
    for period in PERIODS {
        writeln!(out, "define timeperiod {{\n  timeperiod_name {period}\n  alias {period}\n  monday 00:00-24:00\n}}")
            .unwrap();
    }
    for command in COMMANDS {
        writeln!(out, "define command {{\n  command_name {command}\n  command_line /bin/true $ARG1$\n}}").unwrap();
    }
    for contact in CONTACTS {
        writeln!(
            out,
            "define contact {{\n  contact_name {contact}\n  host_notification_period p0\n  service_notification_period p0\n  \
             host_notification_commands c0\n  service_notification_commands c0\n  host_notification_options d\n  service_notification_options c\n}}"
        )
        .unwrap();
    }
    writeln!(out, "define contactgroup {{\n  contactgroup_name cg0\n  alias cg0\n  members ct0\n}}").unwrap();
    writeln!(out, "define contactgroup {{\n  contactgroup_name cg1\n  alias cg1\n  members ct1,ct2\n}}").unwrap();
    for (kind, prefix) in [("host", "ht"), ("service", "st")] {
        writeln!(
            out,
            "define {kind} {{\n  name {prefix}-base\n  register 0\n  max_check_attempts 1\n  check_command c0\n}}"
        )
        .unwrap();
        for index in 0..4 {
            writeln!(out, "define {kind} {{\n  name {prefix}{index}\n  register 0").unwrap();
            if index > 0 && random.chance(70) {
                let parents: Vec<String> =
                    (0..index).filter(|_| random.chance(50)).map(|p| format!("{prefix}{p}")).collect();
                if !parents.is_empty() {
                    writeln!(out, "  use {}", parents.join(",")).unwrap();
                }
            }
            random_settings(&mut random, &mut out, true);
            if kind == "host" && random.chance(40) {
                writeln!(out, "  hostgroups {}", random.list(&HOSTGROUPS, true)).unwrap();
            }
            writeln!(out, "}}").unwrap();
        }
    }
    let hosts: Vec<String> = (0..8).map(|index| format!("h{index}")).collect();
    for (index, host) in hosts.iter().enumerate() {
        let uses: Vec<String> = (0..4).filter(|_| random.chance(35)).map(|t| format!("ht{t}")).collect();
        writeln!(
            out,
            "define host {{\n  host_name {host}\n  address 10.0.0.{index}\n  use {}ht-base",
            uses.iter().map(|u| format!("{u},")).collect::<String>()
        )
        .unwrap();
        random_settings(&mut random, &mut out, false);
        if random.chance(50) {
            writeln!(out, "  hostgroups {}", random.list(&HOSTGROUPS, true)).unwrap();
        }
        if index > 0 && random.chance(40) {
            writeln!(out, "  parents h{}", random.below(index)).unwrap();
        }
        writeln!(out, "}}").unwrap();
    }
    for (index, group) in HOSTGROUPS.iter().enumerate() {
        writeln!(out, "define hostgroup {{\n  hostgroup_name {group}\n  alias {group}").unwrap();
        if random.chance(50) {
            let host = random.below(hosts.len());
            let excluded = if random.chance(40) { format!(",!h{}", random.below(hosts.len())) } else { String::new() };
            writeln!(out, "  members h{host}{excluded}").unwrap();
        }
        if index == 3 && random.chance(60) {
            writeln!(out, "  hostgroup_members hg0").unwrap();
        }
        writeln!(out, "}}").unwrap();
    }
    for index in 0..6 {
        let uses: Vec<String> = (0..4).filter(|_| random.chance(35)).map(|t| format!("st{t}")).collect();
        writeln!(
            out,
            "define service {{\n  service_description s{index}\n  use {}st-base",
            uses.iter().map(|u| format!("{u},")).collect::<String>()
        )
        .unwrap();
        if random.chance(50) {
            let excluded =
                if random.chance(40) { format!(",!{}", random.pick(&["hg0", "hg1"])) } else { String::new() };
            writeln!(out, "  hostgroup_name {}{excluded}", random.pick(&HOSTGROUPS)).unwrap();
        } else {
            let excluded = if random.chance(40) { format!(",!h{}", random.below(hosts.len())) } else { String::new() };
            let first =
                if random.chance(30) { "*".to_string() } else { format!("h{},h{}", random.below(8), random.below(8)) };
            writeln!(out, "  host_name {first}{excluded}").unwrap();
        }
        random_settings(&mut random, &mut out, false);
        writeln!(out, "}}").unwrap();
    }
    out
}

type Objects = BTreeMap<String, BTreeMap<String, String>>;

/// The directives compared; lists are compared as sets, numbers as numbers.
const COMPARED: [&str; 6] =
    ["check_period", "notification_period", "check_command", "max_check_attempts", "contacts", "contact_groups"];

fn normalise(key: &str, value: &str) -> String {
    match key {
        "contacts" | "contact_groups" | "members" | "parents" => {
            let set: BTreeSet<&str> = value.split(',').map(str::trim).filter(|item| !item.is_empty()).collect();
            set.into_iter().collect::<Vec<_>>().join(",")
        }
        "max_check_attempts" => value.parse::<f64>().map_or(value.to_string(), |number| number.to_string()),
        _ => value.to_string(),
    }
}

/// Hosts, services and host groups from Nagios' object cache, keyed by name.
fn read_cache(text: &str) -> Objects {
    let mut objects = Objects::new();
    let mut current: Option<(String, BTreeMap<String, String>)> = None;
    for line in text.lines() {
        if let Some(kind) = line.strip_prefix("define ").and_then(|rest| rest.strip_suffix(" {")) {
            current = Some((kind.to_string(), BTreeMap::new()));
        } else if line.trim() == "}" {
            let Some((kind, fields)) = current.take() else { continue };
            let name = match kind.as_str() {
                "host" => format!("host {}", fields["host_name"]),
                "service" => format!("service {};{}", fields["host_name"], fields["service_description"]),
                "hostgroup" => format!("hostgroup {}", fields["hostgroup_name"]),
                _ => continue,
            };
            let keep =
                |key: &str| COMPARED.contains(&key) || key == "parents" || (kind == "hostgroup" && key == "members");
            let fields = fields.into_iter().filter(|(key, _)| keep(key)).map(|(key, value)| {
                let value = normalise(&key, &value);
                (key, value)
            });
            objects.insert(name, fields.collect());
        } else if let Some((_, fields)) = current.as_mut() {
            if let Some((key, value)) = line.trim_start().split_once('\t') {
                fields.insert(key.to_string(), value.trim().to_string());
            }
        }
    }
    objects
}

fn ours(config: &Config<'_>) -> Objects {
    let analysis = analyse(config);
    let mut objects = Objects::new();
    let collect = |lookup: &dyn Fn(&str) -> Option<String>, extra: &[&str]| -> BTreeMap<String, String> {
        COMPARED
            .iter()
            .chain(extra)
            .filter_map(|key| lookup(key).map(|value| (key.to_string(), normalise(key, &value))))
            .collect()
    };
    for &host in &analysis.hosts {
        let fields = collect(&|key| config.get(host, key).map(str::to_string), &["parents"]);
        objects.insert(format!("host {}", config.get(host, "host_name").unwrap()), fields);
    }
    for &(service, host) in &analysis.services {
        let fields = collect(&|key| service_value(config, service, host, key).map(str::to_string), &[]);
        let name = format!(
            "service {};{}",
            config.get(host, "host_name").unwrap(),
            config.get(service, "service_description").unwrap()
        );
        objects.insert(name, fields);
    }
    for (group, members) in &analysis.hostgroup_hosts {
        let names: Vec<&str> = members.iter().map(|&host| config.get(host, "host_name").unwrap()).collect();
        let mut fields = BTreeMap::new();
        if !names.is_empty() {
            fields.insert("members".to_string(), normalise("members", &names.join(",")));
        }
        objects.insert(format!("hostgroup {group}"), fields);
    }
    objects
}

#[test]
fn resolver_agrees_with_the_object_cache_of_a_real_nagios() {
    let Some(nagios) = common::nagios_binary() else { return };
    let mut compared = 0;
    for seed in 1..=60u64 {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("objects")).unwrap();
        let text = generate(seed);
        std::fs::write(dir.path().join("objects/generated.cfg"), &text).unwrap();
        let main = common::write_main_config(dir.path(), "");
        let output = Command::new(&nagios).arg("-vp").arg(&main).output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let sources = load(&main).unwrap();
        let config = Config::build(&sources);
        let analysis = analyse(&config);
        let our_errors: Vec<String> = analysis.diagnostics.iter().map(ToString::to_string).collect();
        assert_eq!(
            output.status.success(),
            !analysis.diagnostics.iter().any(|d| d.severity == Severity::Error),
            "seed {seed}: verdicts differ\nnagios:\n{stdout}\nours:\n{}\nconfig:\n{text}",
            our_errors.join("\n")
        );
        if !output.status.success() {
            continue;
        }
        let theirs = read_cache(&std::fs::read_to_string(dir.path().join("objects.precache")).unwrap());
        let ours = ours(&config);
        for (name, fields) in &theirs {
            assert_eq!(Some(fields), ours.get(name), "seed {seed}: {name} differs\nconfig:\n{text}");
        }
        let only_ours: Vec<&String> = ours.keys().filter(|name| !theirs.contains_key(*name)).collect();
        assert!(only_ours.is_empty(), "seed {seed}: objects Nagios does not create: {only_ours:?}\nconfig:\n{text}");
        compared += 1;
    }
    assert!(compared >= 50, "only {compared} of 60 generated configurations were valid");
}
