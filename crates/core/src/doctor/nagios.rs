//! The doctor's Nagios checks: what nagios.cfg and its objects say about hagios, and what the
//! user hagios runs as (and Nagios' own user) may do with the files they share.

use super::access::{Access, Account};
use super::Finding;
use hagios_monitor::cadence::{Cadence, CadenceSource, LogWatch};
use hagios_monitor::nagios::{NagiosConfig, NagiosMonitor};
use hagios_nagioscfg::{load, Config as Objects, ObjectKind, Sources};
use std::path::Path;
use std::time::{Duration, SystemTime};

/// What status.dat may lag behind before it looks as if Nagios stopped writing it: a few of its
/// own intervals.
const STALE_INTERVALS: u64 = 3;

/// Everything the doctor checks on the Nagios side.
pub(super) fn examine(nagios: &NagiosConfig, spool: &Path, user: &Account) -> Vec<Finding> {
    let mut findings = Vec::new();
    let sources = match load(&nagios.main_config) {
        Ok(sources) => Some(sources),
        Err(e) => {
            findings.push(Finding::fail(format!("{e} (or set [nagios] main_config)")));
            None
        }
    };
    if let Some(sources) = &sources {
        findings.extend(notification_commands(sources, spool));
    }
    findings.extend(shared_files(nagios, sources.as_ref(), spool, user));
    findings.extend(status_freshness(nagios, sources.as_ref()));
    let cadence = cadence(nagios);
    if cadence_known(&cadence) {
        findings.push(Finding::ok(format!("commands: {cadence}")));
    }
    findings.extend(confirmation(nagios, &cadence, user));
    findings
}

/// How commands on this Nagios are timed and confirmed: how often it writes status.dat, the
/// deadline, the log watched.
pub(super) fn cadence(nagios: &NagiosConfig) -> Cadence {
    NagiosMonitor::new(nagios.clone()).cadence()
}

fn cadence_known(cadence: &Cadence) -> bool {
    matches!(cadence.source, CadenceSource::MainConfig(_))
}

/// What slows or weakens the confirmation of commands: a main_config that is not this Nagios'
/// (the cadence is then learned, and until then Nagios' default of 60 s assumed), and a log
/// `user` may not read (then only status.dat and notifications are evidence).
fn confirmation(nagios: &NagiosConfig, cadence: &Cadence, user: &Account) -> Vec<Finding> {
    let mut findings = Vec::new();
    if !cadence_known(cadence) {
        findings.push(Finding::warn(format!(
            "commands: {cadence} — {} cannot be read or is another Nagios' (its status_file is not {}): set \
             [nagios] main_config to this Nagios' nagios.cfg so that commands are timed by its \
             status_update_interval",
            nagios.main_config.display(),
            nagios.status_file.display()
        )));
    }
    if let LogWatch::Watching(path) | LogWatch::Unreadable(path, _) = &cadence.log {
        findings.push(match user.may(Access::Read, path) {
            Ok(()) => Finding::ok(format!("{} may read Nagios' log {}", user.name, path.display())),
            Err(reason) => Finding::warn(format!(
                "{} cannot read Nagios' log {} ({reason}): commands are then confirmed from status.dat and \
                 notifications only, without the step \"Nagios read it\"; on Debian add {} to the group adm",
                user.name,
                path.display(),
                user.name
            )),
        });
    }
    findings
}

/// Whether `user` (and Nagios' own user) may use the files hagios and Nagios share.
pub(super) fn access(nagios: &NagiosConfig, spool: &Path, user: &Account) -> Vec<Finding> {
    let mut findings = shared_files(nagios, load(&nagios.main_config).ok().as_ref(), spool, user);
    findings.extend(confirmation(nagios, &cadence(nagios), user));
    findings
}

fn shared_files(nagios: &NagiosConfig, sources: Option<&Sources>, spool: &Path, user: &Account) -> Vec<Finding> {
    let mut findings = vec![fifo(nagios, user)];
    for path in [&nagios.status_file, &nagios.object_cache_file] {
        findings.push(Finding::of(format!("{} may read {}", user.name, path.display()), user.may(Access::Read, path)));
    }
    let nagios_user = sources.and_then(|sources| sources.setting("nagios_user")).unwrap_or("nagios");
    findings.extend(spool_folders(spool, nagios_user, user));
    findings
}

/// The commands that run hagios-notify, the contacts that use them, and whether their form fits
/// `enable_environment_macros` and their spool is hagios' spool.
fn notification_commands(sources: &Sources, spool: &Path) -> Vec<Finding> {
    let objects = Objects::build(sources);
    let of_kind = |kind: ObjectKind| {
        let objects = &objects;
        (0..objects.objects.len() as u32).filter(move |&index| objects.objects[index as usize].kind == kind)
    };
    let commands: Vec<(String, String)> = of_kind(ObjectKind::Command)
        .filter_map(|index| Some((objects.get(index, "command_name")?.to_owned(), objects.get(index, "command_line")?)))
        .filter(|(_, line)| runs_hagios(line))
        .map(|(name, line)| (name, line.to_owned()))
        .collect();
    if commands.is_empty() {
        return vec![Finding::fail(format!(
            "no command in {} runs hagios-notify: copy contrib/nagios/hagios.cfg into a folder nagios.cfg reads \
             (cfg_dir) and reload Nagios",
            sources.main.display()
        ))];
    }
    let mut findings = Vec::new();
    let names: Vec<&str> = commands.iter().map(|(name, _)| name.as_str()).collect();
    let contacts: Vec<String> = of_kind(ObjectKind::Contact)
        .filter(|&index| {
            ["host_notification_commands", "service_notification_commands"].iter().any(|key| {
                objects
                    .get(index, *key)
                    .is_some_and(|list| hagios_nagioscfg::resolve::list(list).any(|c| names.contains(&c)))
            })
        })
        .filter_map(|index| objects.get(index, "contact_name").map(str::to_owned))
        .collect();
    findings.push(if contacts.is_empty() {
        Finding::fail(format!(
            "no contact uses {}: define the hagios contact (contrib/nagios/hagios.cfg) and add it to the contacts \
             or contact groups that should reach chat",
            names.join(", ")
        ))
    } else {
        Finding::ok(format!("contact {} notifies through {}", contacts.join(", "), names.join(", ")))
    });
    let macros_on = sources.setting("enable_environment_macros") == Some("1");
    for (name, line) in &commands {
        let flags = line.contains("--type");
        findings.push(match (macros_on, flags) {
            (_, true) => Finding::ok(format!(
                "{name} passes the macros as flags (works whatever enable_environment_macros says)"
            )),
            (true, false) => Finding::ok(format!("{name} reads the environment macros (enable_environment_macros=1)")),
            (false, false) => Finding::fail(format!(
                "{name} relies on environment macros but nagios.cfg has enable_environment_macros=0 (Debian's \
                 default): every notification would be refused; use the flags form (form B in \
                 contrib/nagios/hagios.cfg)"
            )),
        });
        let written = spool_of(line);
        findings.push(match written {
            Some(dir) if Path::new(dir) == spool => Finding::ok(format!("{name} writes into {}", spool.display())),
            Some(dir) => Finding::fail(format!(
                "{name} writes into {dir} but hagios reads {} ([spool] dir): make them the same folder",
                spool.display()
            )),
            None => Finding::warn(format!(
                "{name} names no --spool: it writes where HAGIOS_SPOOL points, else /var/spool/hagios; hagios reads {}",
                spool.display()
            )),
        });
    }
    findings
}

fn runs_hagios(command_line: &str) -> bool {
    command_line.contains("hagios-notify") || command_line.contains("hagios notify")
}

/// The folder after `--spool` in a command line.
fn spool_of(command_line: &str) -> Option<&str> {
    let mut words = command_line.split_whitespace();
    words.by_ref().find(|word| *word == "--spool")?;
    words.next().map(|dir| dir.trim_matches(|c| c == '\'' || c == '"'))
}

fn fifo(nagios: &NagiosConfig, user: &Account) -> Finding {
    let path = &nagios.command_file;
    match std::fs::symlink_metadata(path) {
        Err(e) => Finding::fail(format!(
            "the command file {} is not there ({e}): is Nagios running with check_external_commands=1?",
            path.display()
        )),
        Ok(_) => Finding::of(
            format!("{} may write commands to {}", user.name, path.display()),
            user.may(Access::Write, path),
        ),
    }
}

/// status.dat rewritten as often as nagios.cfg says: a stale one means Nagios stopped, or
/// writes another file.
fn status_freshness(nagios: &NagiosConfig, sources: Option<&Sources>) -> Option<Finding> {
    let path = &nagios.status_file;
    let written = std::fs::metadata(path).and_then(|metadata| metadata.modified()).ok()?;
    let interval = sources
        .and_then(|sources| sources.setting("status_update_interval"))
        .and_then(|seconds| seconds.parse().ok())
        .unwrap_or(10);
    let age = SystemTime::now().duration_since(written).unwrap_or_default();
    let stale = Duration::from_secs(interval * STALE_INTERVALS + 5);
    Some(if age > stale {
        Finding::warn(format!(
            "{} was last written {}s ago, though Nagios rewrites it every {interval}s (status_update_interval): is \
             Nagios running, and is [nagios] status_file its status_file?",
            path.display(),
            age.as_secs()
        ))
    } else {
        Finding::ok(format!("{} is fresh (written every {interval}s)", path.display()))
    })
}

/// Nagios' user must write records into the spool, hagios read and remove them.
fn spool_folders(spool: &Path, nagios_user: &str, user: &Account) -> Vec<Finding> {
    if !spool.join("new").is_dir() {
        return vec![Finding::warn(format!(
            "the spool {} is not there yet: hagios creates it at its first start (or run hagios there once now)",
            spool.display()
        ))];
    }
    let mut findings = Vec::new();
    match Account::named(nagios_user) {
        Some(nagios) => {
            for folder in ["tmp", "new"] {
                let path = spool.join(folder);
                findings.push(Finding::of(
                    format!("Nagios' user {} may write into {}", nagios.name, path.display()),
                    nagios.may(Access::Write, &path),
                ));
            }
        }
        None => findings.push(Finding::warn(format!(
            "Nagios' user {nagios_user} (nagios_user in nagios.cfg) is not a local user: cannot tell whether it may \
             write into the spool"
        ))),
    }
    findings.push(Finding::of(
        format!("{} may take records from {}", user.name, spool.join("new").display()),
        user.may(Access::Write, &spool.join("new")),
    ));
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spool_of_a_command_line_is_found_quoted_or_not() {
        let line = "/usr/local/bin/hagios-notify --spool /var/spool/hagios --type '$NOTIFICATIONTYPE$'";
        assert_eq!(spool_of(line), Some("/var/spool/hagios"));
        assert_eq!(spool_of("/usr/bin/hagios notify --spool '/srv/spool'"), Some("/srv/spool"));
        assert_eq!(spool_of("/usr/bin/hagios-notify"), None);
        assert!(runs_hagios("/usr/bin/hagios notify") && !runs_hagios("/usr/bin/printf"));
    }
}
