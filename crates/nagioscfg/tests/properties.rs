//! Never-panic properties of the configuration checker: whatever object files contain — arbitrary
//! text, or soups of real definitions with dangling, circular and hostile references — parsing,
//! template resolution and the checks finish with diagnostics that point at lines that exist.

use hagios_nagioscfg::load::SourceFile;
use hagios_nagioscfg::{analyse, check, Config, Sources};
use proptest::prelude::*;
use std::path::PathBuf;

fn sources(files: Vec<String>) -> Sources {
    Sources {
        main: PathBuf::from("/etc/nagios/nagios.cfg"),
        files: files
            .into_iter()
            .enumerate()
            .map(|(index, text)| SourceFile { path: PathBuf::from(format!("/etc/nagios/objects/{index}.cfg")), text })
            .collect(),
        resource_macros: vec![("$USER1$".to_owned(), "/usr/lib/nagios/plugins".to_owned())],
        diagnostics: Vec::new(),
        settings: Vec::new(),
    }
}

/// Runs the whole checker twice over the same sources (the report and the analysis the
/// `nagios check` command prints) and checks every diagnostic names a file and line that exist.
fn check_all(sources: &Sources) -> Result<(), TestCaseError> {
    let report = check(sources);
    let config = Config::build(sources);
    let analysis = analyse(&config);
    prop_assert_eq!(report.diagnostics.len(), analysis.diagnostics.len());
    for diagnostic in &report.diagnostics {
        let file = sources.files.iter().find(|file| file.path == diagnostic.file);
        let file = file.ok_or_else(|| TestCaseError::fail(format!("unknown file in {diagnostic}")))?;
        let lines = file.text.split('\n').count() as u32;
        prop_assert!(diagnostic.line <= lines, "{diagnostic} but the file has {lines} lines");
        prop_assert!(!diagnostic.to_string().is_empty());
    }
    Ok(())
}

/// A few names shared by every object type, so that references resolve sometimes, dangle
/// sometimes, and templates and parents form chains and cycles.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => prop::sample::select(vec!["a", "b", "c", "web01", "db01", "generic", "24x7", "check-ping", "admins"])
            .prop_map(str::to_owned),
        1 => "[^\n]{0,8}",
    ]
}

/// Directive values: names, lists with `+` and `!`, wildcards, `null`, macros, emptiness.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        name(),
        prop::collection::vec(name(), 0..4).prop_map(|names| names.join(",")),
        (name(), name()).prop_map(|(a, b)| format!("+{a},!{b}")),
        prop::sample::select(vec!["*", "null", "0", "1", "!", "+", ",", "$USER1$/check_ping", "check-ping!1!2", ""])
            .prop_map(str::to_owned),
    ]
}

fn directive() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        20 => prop::sample::select(vec![
            "name", "use", "register", "host_name", "hostgroup_name", "hostgroups", "members", "hostgroup_members",
            "service_description", "servicegroups", "servicegroup_name", "servicegroup_members", "check_command",
            "command_name", "command_line", "contacts", "contact_groups", "contact_name", "contactgroup_name",
            "contactgroup_members", "parents", "check_period", "notification_period", "timeperiod_name",
            "host_notification_commands", "service_notification_commands", "address", "alias", "max_check_attempts",
            "notification_interval", "dependent_host_name", "dependent_service_description", "exclude",
            "monday", "sunday", "first_notification", "escalation_period",
        ])
        .prop_map(str::to_owned),
        1 => "[a-z_]{1,12}",
    ];
    (key, value(), "[ \t]{1,3}", prop::option::of("[^\n]{0,6}")).prop_map(|(key, value, gap, comment)| match comment {
        Some(comment) => format!("  {key}{gap}{value} ;{comment}"),
        None => format!("  {key}{gap}{value}"),
    })
}

fn definition() -> impl Strategy<Value = String> {
    let kind = prop::sample::select(vec![
        "host",
        "hostgroup",
        "service",
        "servicegroup",
        "contact",
        "contactgroup",
        "command",
        "timeperiod",
        "hostdependency",
        "servicedependency",
        "hostescalation",
        "serviceescalation",
        "hostextinfo",
        "nonsense",
    ]);
    let close = prop::sample::select(vec!["}", "  }", "}\t; done", ""]);
    (kind, prop::collection::vec(directive(), 0..8), close)
        .prop_map(|(kind, directives, close)| format!("define {kind} {{\n{}\n{close}", directives.join("\n")))
}

/// A file of definitions with stray lines between them: comments, blank lines, garbage.
fn object_file() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        6 => definition(),
        1 => prop::sample::select(vec!["# comment", "; comment", "", "}", "define", "define host", "{", "\u{feff}"])
            .prop_map(str::to_owned),
        1 => "[^\n]{0,16}",
    ];
    (prop::collection::vec(piece, 0..24), any::<bool>())
        .prop_map(|(pieces, crlf)| pieces.join(if crlf { "\r\n" } else { "\n" }))
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(files in prop::collection::vec(any::<String>(), 1..3)) {
        check_all(&sources(files))?;
    }

    #[test]
    fn definition_soup_never_panics(files in prop::collection::vec(object_file(), 1..4)) {
        check_all(&sources(files))?;
    }
}
