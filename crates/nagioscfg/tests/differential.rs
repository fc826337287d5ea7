//! Differential tests: every configuration of the corpus goes through the real `nagios4 -v` and
//! through our checker; both must give the same verdict and the same set of errors. Nagios'
//! messages are mapped to our error kinds. Nagios stops after its first failing phase (and,
//! while registering objects, after the first bad object), so each planted-error case plants
//! errors Nagios reports together, and we compare with our errors of that same phase.

mod common;

use common::nagios_binary;
use hagios_nagioscfg::{check, load, Kind, Phase, Severity};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A valid configuration using templates, multiple `use`, `+`, `null`, nested host groups and
/// services on host groups with exclusions.
const BASE: &str = r"
define timeperiod {
    timeperiod_name 24x7
    alias           Always
    monday          00:00-24:00
    tuesday         00:00-24:00
}
define timeperiod {
    timeperiod_name workhours
    alias           Office
    monday          09:00-17:00
    exclude         24x7
}
define command {
    command_name check_dummy
    command_line $USER1$/check_dummy $ARG1$ ; a comment
}
define command {
    command_name notify
    command_line /bin/true \; echo escaped
}
define contact {
    name                          contact-defaults
    contact_name                  admin
    host_notification_period      24x7
    service_notification_period   24x7
    host_notification_options     d,u,r
    service_notification_options  w,u,c,r
    host_notification_commands    notify
    service_notification_commands notify
}
define contact {
    use          contact-defaults
    contact_name oncall
    contactgroups admins
}
define contactgroup {
    contactgroup_name admins
    alias             Admins
    members           admin
}
define host {
    name                 generic-host
    register             0
    max_check_attempts   3
    check_period         24x7
    check_command        check_dummy!0
    contact_groups       admins
    notification_interval 0
    notification_period  24x7
    hostgroups           all
}
define host {
    name                 web-host
    register             0
    hostgroups           web
    check_period         workhours
    notification_period  null
}
define host {
    use        web-host,generic-host
    host_name  web1
    address    10.0.0.1
    hostgroups +frontend
}
define host {
    use        web-host,generic-host
    host_name  web2
    address    10.0.0.2
    parents    web1
}
define host {
    use        generic-host
    host_name  db1
    address    10.0.0.3
    parents    web2
    contacts   oncall
}
define hostgroup {
    hostgroup_name all
}
define hostgroup {
    hostgroup_name web
}
define hostgroup {
    hostgroup_name frontend
    members        db1
}
define hostgroup {
    hostgroup_name every
    hostgroup_members web,frontend
}
define servicegroup {
    servicegroup_name checks
}
define service {
    name                generic-service
    register            0
    max_check_attempts  3
    check_interval      5
    retry_interval      1
    check_period        24x7
    check_command       check_dummy!0!ok
    servicegroups       checks
}
define service {
    use                 generic-service
    hostgroup_name      all,!frontend
    service_description PING
}
define service {
    use                 generic-service
    host_name           *,!db1
    service_description HTTP
    contacts            admin
}
define service {
    use                 generic-service
    hostgroup_name      every
    service_description SSH
}
";

struct Case {
    name: &'static str,
    /// Appended to the base objects (in a file inside a cfg_dir subfolder).
    extra: &'static str,
    /// (text to replace in the base, replacement), to plant an error in an existing object.
    edit: Option<(&'static str, &'static str)>,
    /// Extra main configuration lines.
    main_extra: &'static str,
    valid: bool,
}

const fn case(name: &'static str, extra: &'static str, valid: bool) -> Case {
    Case { name, extra, edit: None, main_extra: "", valid }
}

const fn edit(name: &'static str, from: &'static str, to: &'static str) -> Case {
    Case { name, extra: "", edit: Some((from, to)), main_extra: "", valid: false }
}

fn corpus() -> Vec<Case> {
    vec![
        case("base", "", true),
        case(
            "circular templates are ignored by Nagios",
            "define host {\n name ta\n use tb\n register 0\n}\ndefine host {\n name tb\n use ta\n register 0\n}\n\
             define host {\n use ta,generic-host\n host_name h9\n}\n",
            true,
        ),
        case(
            "duplicate service is only a warning",
            "define service {\n use generic-service\n host_name web1\n service_description PING\n}\n",
            true,
        ),
        case(
            "service on an empty host group and on all-excluded hosts",
            "define hostgroup {\n hostgroup_name empty\n}\ndefine service {\n use generic-service\n hostgroup_name empty\n service_description X\n}\n\
             define service {\n use generic-service\n host_name web1,!web1\n service_description Y\n}\n",
            true,
        ),
        case(
            "line continuation and synonyms",
            "define service {\n use generic-service\n host web1,\\\n   web2\n description Z\n}\n",
            true,
        ),
        case(
            "additive template values",
            "define host {\n name grouped\n register 0\n use generic-host\n hostgroups +web\n}\ndefine host {\n use grouped\n host_name h10\n hostgroups +frontend\n}\n",
            true,
        ),
        edit("unknown host template", "use        generic-host\n    host_name  db1", "use        generic-hst\n    host_name  db1"),
        case("unknown service template", "define service {\n use generic-svc\n host_name web1\n service_description Q\n}\n", false),
        case("host without max_check_attempts", "define host {\n host_name bare\n}\n", false),
        case("service without check_command", "define service {\n host_name web1\n service_description Q\n max_check_attempts 1\n}\n", false),
        case("service on unknown host", "define service {\n use generic-service\n host_name web1,web3\n service_description Q\n}\n", false),
        case("service on unknown hostgroup", "define service {\n use generic-service\n hostgroup_name webb\n service_description Q\n}\n", false),
        edit("hostgroup member unknown", "members        db1", "members        db1,db2"),
        edit("hostgroup_members unknown", "hostgroup_members web,frontend", "hostgroup_members web,frontent"),
        edit("host in unknown hostgroup", "hostgroups +frontend", "hostgroups +frontends"),
        edit("host with unknown contact", "contacts   oncall", "contacts   oncal"),
        edit("host with unknown contact group", "contact_groups       admins", "contact_groups       admin"),
        edit("contact group with unknown member", "members           admin", "members           admin,root"),
        edit("unknown check period", "check_period         workhours", "check_period         workhour"),
        case(
            "service with unknown notification period",
            "define service {\n use generic-service\n host_name web1\n service_description Q\n notification_period nigth\n}\n",
            false,
        ),
        edit("contact with unknown notification period", "host_notification_period      24x7", "host_notification_period      24x8"),
        edit("unknown host check command", "check_command        check_dummy!0", "check_command        check_dumy!0"),
        case(
            "unknown service check command and event handler",
            "define service {\n use generic-service\n host_name web1\n service_description Q\n check_command nope!1\n}\n\
             define host {\n use generic-host\n host_name h11\n event_handler restart\n}\n",
            false,
        ),
        edit("unknown parent", "parents    web1", "parents    web0"),
        edit("parent cycle", "parents    web1", "parents    db1"),
        case("duplicate host", "define host {\n use generic-host\n host_name web2\n}\n", false),
        case("duplicate command", "define command {\n command_name notify\n command_line /bin/false\n}\n", false),
        case("duplicate hostgroup", "define hostgroup {\n hostgroup_name web\n}\n", false),
        case("unknown directive", "define host {\n use generic-host\n host_name h12\n adress 10.1.1.1\n}\n", false),
        case("unknown object type", "define hots {\n host_name h12\n}\n", false),
        case("unclosed definition", "define host {\n use generic-host\n host_name h12\n", false),
        case("unnamed host", "define host {\n use generic-host\n address 10.9.9.9\n}\n", false),
        case("duplicate contact", "define contact {\n contact_name admin\n}\n", false),
        case("duplicate time period", "define timeperiod {\n timeperiod_name workhours\n alias x\n}\n", false),
        case("duplicate service group", "define servicegroup {\n servicegroup_name checks\n}\n", false),
        case("duplicate contact group", "define contactgroup {\n contactgroup_name admins\n}\n", false),
        case("service without host", "define service {\n use generic-service\n service_description Q\n}\n", false),
        case("command without command_line", "define command {\n command_name empty\n}\n", false),
        case("service in unknown service group", "define service {\n use generic-service\n host_name web1\n service_description Q\n servicegroups chekcs\n}\n", false),
        edit("time period excluding an unknown one", "exclude         24x7", "exclude         24x6"),
        edit("max_check_attempts 0", "max_check_attempts   3", "max_check_attempts   0"),
        Case { name: "missing cfg_file", extra: "", edit: None, main_extra: "cfg_file=MISSING/none.cfg\n", valid: false },
        edit("contact with unknown notification command", "service_notification_commands notify", "service_notification_commands notify-by-mail"),
        case(
            "service with unknown check period",
            "define service {\n use generic-service\n host_name web1\n service_description Q\n check_period nigth\n}\n",
            false,
        ),
        case(
            "template supplies a bad reference",
            "define host {\n name badtpl\n register 0\n use generic-host\n notification_period offhours\n}\ndefine host {\n use badtpl\n host_name h13\n}\n",
            false,
        ),
        case(
            "additive template value naming an unknown group",
            "define host {\n name grouped\n register 0\n use generic-host\n hostgroups +db\n}\ndefine host {\n use grouped\n host_name h14\n hostgroups +web\n}\n",
            false,
        ),
    ]
}

/// Write one case's configuration; returns the main configuration file.
fn write_case(dir: &Path, case: &Case) -> PathBuf {
    let objects = dir.join("objects");
    std::fs::create_dir_all(objects.join("extra")).unwrap();
    let mut base = BASE.to_string();
    if let Some((from, to)) = case.edit {
        assert!(base.contains(from), "{}: edit target not in base", case.name);
        base = base.replacen(from, to, 1);
    }
    std::fs::write(objects.join("base.cfg"), base).unwrap();
    std::fs::write(objects.join("extra/extra.cfg"), case.extra).unwrap();
    std::fs::write(objects.join("extra/ignored.txt"), "not a cfg file").unwrap();
    common::write_main_config(dir, &case.main_extra.replace("MISSING", &dir.display().to_string()))
}

type ErrorSet = BTreeSet<(String, String)>;

fn key(kind: Kind, subject: &str) -> (String, String) {
    // Nagios names only two hosts of a cycle and not the type of an unnamed object.
    let subject = if matches!(kind, Kind::ParentCycle | Kind::MissingName) { "" } else { subject };
    (format!("{kind:?}"), subject.to_string())
}

fn quoted(line: &str, after: &str) -> String {
    let start = line.find(after).map_or(0, |at| at + after.len());
    let rest = &line[start..];
    let rest = &rest[rest.find('\'').map_or(0, |at| at + 1)..];
    rest[..rest.find('\'').unwrap_or(rest.len())].to_string()
}

/// Map `nagios4 -v` output to our error kinds; returns (errors, failed while reading objects).
fn nagios_errors(output: &str) -> (ErrorSet, bool) {
    let mut errors = ErrorSet::new();
    let lines: Vec<&str> = output.lines().collect();
    // After an unknown template Nagios registers objects unresolved: their missing
    // max_check_attempts is noise.
    let mut templates_failed = false;
    for (index, line) in lines.iter().enumerate() {
        let next_is_error =
            lines.get(index + 1).is_some_and(|next| next.starts_with("Error: Could not add object property"));
        if line.starts_with("Warning: Duplicate definition found for") && next_is_error {
            errors.insert(key(Kind::Duplicate, &quoted(line, "for")));
            break; // Nagios goes on registering half-read objects: what follows is noise
        }
        let Some(message) = line.strip_prefix("Error: ") else { continue };
        let cascade = [
            "Could not register",
            "Could not add object property",
            "Failed to expand",
            "Failed to process",
            "Could not expand",
            "Could not add contact",
        ];
        if cascade.iter().any(|prefix| message.starts_with(prefix)) {
            continue;
        }
        let mapped = if message.starts_with("Template '") {
            templates_failed = true;
            key(Kind::UnknownTemplate, &quoted(message, "Template"))
        } else if message.starts_with("Invalid max_check_attempts") && templates_failed {
            continue;
        } else if message.starts_with("Invalid max_check_attempts") {
            key(Kind::MissingDirective, "max_check_attempts")
        } else if message.starts_with("Service description, host name, or check command is NULL") {
            key(Kind::MissingDirective, "check_command")
        } else if message.starts_with("Service has no hosts and/or service_description") {
            key(Kind::MissingName, "")
        } else if message.starts_with("Command name of command line is NULL") {
            key(Kind::MissingDirective, "command_line")
        } else if message.starts_with("Could not find any servicegroup matching") {
            key(Kind::UnknownServicegroup, &quoted(message, "matching"))
        } else if message.starts_with("Excluded time period") {
            key(Kind::UnknownTimeperiod, &quoted(message, "period"))
        } else if message.starts_with("Could not find any host matching") {
            key(Kind::UnknownHost, &quoted(message, "matching"))
        } else if message.starts_with("Could not find any hostgroup matching")
            || message.starts_with("Could not find member group")
        {
            key(Kind::UnknownHostgroup, &quoted(message, ""))
        } else if message.starts_with("Contactgroup '") || message.starts_with("Could not find any contactgroup") {
            key(Kind::UnknownContactgroup, &quoted(message, ""))
        } else if message.starts_with("Contact '") || message.starts_with("Could not find any contact matching") {
            key(Kind::UnknownContact, &quoted(message, ""))
        } else if message.contains("command '") {
            let command = quoted(message, "command");
            key(Kind::UnknownCommand, command.split('!').next().unwrap_or(""))
        } else if message.contains("period '") {
            key(Kind::UnknownTimeperiod, &quoted(message, "period"))
        } else if message.contains("is not a valid parent") {
            key(Kind::UnknownHost, &quoted(message, ""))
        } else if message.contains("circular parent/child chain") {
            key(Kind::ParentCycle, "")
        } else if message.starts_with("Invalid object definition type") {
            key(Kind::UnknownObjectType, &quoted(message, "type"))
        } else if message.contains("object directive '") {
            key(Kind::UnknownDirective, &quoted(message, "directive"))
        } else if message.starts_with("Unexpected EOF") {
            key(Kind::UnexpectedEof, "")
        } else if message.starts_with("Could not complete object definition") {
            key(Kind::MissingName, "")
        } else if message.starts_with("Cannot open config file")
            || message.starts_with("Could not open config directory")
        {
            key(Kind::Unreadable, &quoted(message, "config"))
        } else {
            ("unmapped nagios message".to_string(), message.to_string())
        };
        let parse_failure = matches!(
            mapped.0.as_str(),
            "Duplicate" | "UnknownObjectType" | "UnknownDirective" | "UnexpectedEof" | "MissingName" | "Unreadable"
        );
        errors.insert(mapped);
        if parse_failure {
            break; // Nagios goes on registering half-read objects: what follows is noise
        }
    }
    (errors, output.contains("Error processing object config files"))
}

#[test]
fn nagios_and_hagios_agree_on_every_configuration() {
    let Some(nagios) = nagios_binary() else { return };
    let mut disagreements = Vec::new();
    for case in corpus() {
        let dir = tempfile::tempdir().unwrap();
        let main = write_case(dir.path(), &case);
        let output = Command::new(&nagios).arg("-v").arg(&main).output().expect("run nagios4 -v");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let nagios_valid = output.status.success();
        let (theirs, failed_reading) = nagios_errors(&stdout);

        let sources = load(&main).expect("main config readable");
        let report = check(&sources);
        let phase = if failed_reading { Phase::Read } else { Phase::Preflight };
        let ours: ErrorSet = report
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error && d.phase == phase)
            .map(|d| key(d.kind, &d.subject))
            .collect();

        if nagios_valid != case.valid {
            disagreements.push(format!(
                "case '{}': nagios valid={nagios_valid}, the case plants valid={}:\n{stdout}",
                case.name, case.valid
            ));
        } else if report.is_valid() != nagios_valid || ours != theirs || (!nagios_valid && theirs.is_empty()) {
            let printed: Vec<String> = report.diagnostics.iter().map(ToString::to_string).collect();
            disagreements.push(format!(
                "case '{}': nagios valid={nagios_valid} errors={theirs:?}\n  ours valid={} errors={ours:?}\n  ours printed:\n{}\n  nagios said:\n{}",
                case.name,
                report.is_valid(),
                printed.join("\n"),
                stdout.lines().filter(|l| l.starts_with("Error") || l.starts_with("Warning")).collect::<Vec<_>>().join("\n")
            ));
        }
    }
    assert!(disagreements.is_empty(), "{} disagreements:\n{}", disagreements.len(), disagreements.join("\n\n"));
}
