//! Template inheritance and loading, on small configurations written for each rule.

use hagios_nagioscfg::load::SourceFile;
use hagios_nagioscfg::{analyse, load, service_value, Config, Kind, Sources};
use std::path::PathBuf;

fn sources(text: &str) -> Sources {
    Sources {
        main: PathBuf::from("/etc/nagios/nagios.cfg"),
        files: vec![SourceFile { path: PathBuf::from("/etc/nagios/objects.cfg"), text: text.to_string() }],
        resource_macros: Vec::new(),
        diagnostics: Vec::new(),
        settings: Vec::new(),
    }
}

fn index_of(config: &Config<'_>, key: &str, name: &str) -> u32 {
    (0..config.objects.len() as u32)
        .find(|&index| config.objects[index as usize].own(key).is_some_and(|d| d.value == name))
        .unwrap()
}

const TEMPLATES: &str = "\
define host {
    name          a
    register      0
    check_period  from-a
    hostgroups    ga
    notes         a-notes
}
define host {
    name          b
    use           c
    register      0
    check_period  from-b
    notes         null
}
define host {
    name          c
    register      0
    address       from-c
    check_period  from-c
}
define host {
    host_name     h
    use           b,a
    hostgroups    +gh
    alias         H ; trailing comment
}
";

#[test]
fn first_template_wins_depth_first_with_additive_lists_and_null() {
    let sources = sources(TEMPLATES);
    let config = Config::build(&sources);
    let host = index_of(&config, "host_name", "h");
    assert_eq!(config.get(host, "check_period"), Some("from-b"), "b is listed first");
    assert_eq!(config.get(host, "address"), Some("from-c"), "b's own template c comes before a");
    assert_eq!(config.get(host, "hostgroups"), Some("ga,gh"), "+ appends to the inherited list");
    assert_eq!(config.get(host, "notes"), None, "null in b stops a's value");
    assert!(config.is_set(host, "notes"));
    assert_eq!(config.get(host, "alias"), Some("H"));
    assert_eq!(config.origin(host, "check_period"), Some((0, 12)), "file:line where b sets it");
    assert_eq!(config.get(host, "register"), None, "register is not inherited");
    let chain = config.inheritance_chain(host);
    assert_eq!(chain, "h (/etc/nagios/objects.cfg:21) → template 'b' (/etc/nagios/objects.cfg:8) → template 'c' (/etc/nagios/objects.cfg:15) → template 'a' (/etc/nagios/objects.cfg:1)");
    let analysis = analyse(&config);
    assert_eq!(analysis.hosts, vec![host], "register 0 templates are not hosts");
}

#[test]
fn services_expand_over_groups_with_exclusions_and_inherit_contacts_from_their_host() {
    let text = "\
define host {\n host_name h1\n contacts ops\n notification_period day\n}
define host {\n host_name h2\n hostgroups web\n}
define host {\n host_name h3\n hostgroups web\n}
define hostgroup {\n hostgroup_name web\n members h1\n}
define service {\n hostgroup_name web\n host_name !h2\n service_description S\n}
define service {\n host_name *,!h3\n service_description T\n contact_groups null\n}
";
    let sources = sources(text);
    let config = Config::build(&sources);
    let analysis = analyse(&config);
    let pairs: Vec<(&str, &str)> = analysis
        .services
        .iter()
        .map(|&(service, host)| {
            (config.get(service, "service_description").unwrap(), config.get(host, "host_name").unwrap())
        })
        .collect();
    assert_eq!(pairs, vec![("S", "h1"), ("S", "h3"), ("T", "h1"), ("T", "h2")]);
    let (s, h1) = analysis.services[0];
    assert_eq!(service_value(&config, s, h1, "contacts"), Some("ops"), "implied from the host");
    assert_eq!(service_value(&config, s, h1, "notification_period"), Some("day"));
    let (t, h1) = analysis.services[2];
    assert_eq!(service_value(&config, t, h1, "contacts"), None, "a null contact_groups counts as set");
}

#[test]
fn loader_follows_cfg_dir_recursively_reads_resource_macros_and_reports_missing_files() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("conf.d/sub")).unwrap();
    std::fs::write(root.join("conf.d/sub/b.cfg"), "define command {\n command_name b\n command_line $USER1$/b\n}\n")
        .unwrap();
    std::fs::write(root.join("conf.d/a.cfg"), "").unwrap();
    std::fs::write(root.join("conf.d/notes.txt"), "define nothing {\n}\n").unwrap();
    std::fs::write(root.join("resource.cfg"), "# plugins\n$USER1$=/usr/lib/nagios/plugins\nnot_a_macro=1\n").unwrap();
    let main = root.join("nagios.cfg");
    std::fs::write(&main, "cfg_dir=conf.d\nresource_file=resource.cfg\ncfg_file=missing.cfg\n").unwrap();
    let sources = load(&main).unwrap();
    let files: Vec<PathBuf> = sources.files.iter().map(|file| file.path.clone()).collect();
    assert_eq!(files, vec![root.join("conf.d/a.cfg"), root.join("conf.d/sub/b.cfg")]);
    assert_eq!(sources.resource_macros, vec![("$USER1$".to_string(), "/usr/lib/nagios/plugins".to_string())]);
    assert_eq!(sources.diagnostics.len(), 1);
    assert_eq!(sources.diagnostics[0].kind, Kind::Unreadable);
    assert_eq!((sources.diagnostics[0].file.clone(), sources.diagnostics[0].line), (main.clone(), 3));
    assert!(load(&root.join("nope.cfg")).is_err());
}

/// Hosts enough for a file over 4 MB, which is parsed on two threads.
fn many_hosts(count: usize) -> String {
    (0..count)
        .map(|n| {
            format!(
                "define host {{\n    host_name   host-{n:06}\n    address     10.0.0.1\n    notes       {}\n}}\n",
                "x".repeat(40)
            )
        })
        .collect()
}

#[test]
fn large_files_parse_in_halves_with_the_same_objects_and_lines() {
    let text = many_hosts(50_000);
    assert!(text.len() > 4 << 20);
    let sources = sources(&text);
    let config = Config::build(&sources);
    assert_eq!(config.objects.len(), 50_000);
    let last = index_of(&config, "host_name", "host-049999");
    assert_eq!((config.objects[last as usize].line, config.objects[last as usize].end_line), (249_996, 250_000));
    assert_eq!(config.origin(last, "address"), Some((0, 249_998)));
}

#[test]
fn an_unclosed_definition_at_the_middle_is_read_as_nagios_reads_it() {
    // turn the closing brace of the host just before where the parser splits the file into a
    // comment of the same length, so the split point stays where it was
    let mut text = many_hosts(50_000);
    let split = text.len() / 2 + text[text.len() / 2..].find("\ndefine").unwrap() + 1;
    let brace = text[..split].rfind("}\n").unwrap();
    text.replace_range(brace..brace + 1, "#");
    let sources = sources(&text);
    let config = Config::build(&sources);
    let report = analyse(&config);
    // (the generated hosts have no max_check_attempts: those errors are not the point here)
    let kinds: Vec<Kind> =
        report.diagnostics.iter().map(|d| d.kind).filter(|kind| *kind != Kind::MissingDirective).collect();
    assert_eq!(kinds, vec![Kind::UnknownDirective], "only the 'define' line inside the unclosed host is wrong");
    assert_eq!(config.objects.len(), 49_999);
}
