//! `hagios timeline [SITE:]OBJECT`: the story of an object's newest incident, as the `timeline`
//! chat command posts it (Markdown), printed for a postmortem written outside chat; from the
//! store the configuration names, SQLite or PostgreSQL, whichever platforms it was posted on.

use crate::audit::printable;
use crate::report::Reader;
use hagios_core::oncall::timeline::{self, Teller};
use hagios_domain::ObjectRef;
use std::path::Path;
use std::process::ExitCode;

pub fn main(config_path: &Path, incident: &str) -> ExitCode {
    let Some((site, object)) = parse(incident) else {
        eprintln!(
            "hagios timeline: `{}` is not an incident: give HOST, HOST!SERVICE, or SITE:HOST[!SERVICE] where several \
             sites have the host",
            printable(incident)
        );
        return ExitCode::from(2);
    };
    match story(config_path, site, &object) {
        Ok(markdown) => {
            print!("{}", printable(&markdown));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("hagios timeline: {}", printable(&format!("{e:#}")));
            ExitCode::FAILURE
        }
    }
}

/// `[SITE:]HOST[!SERVICE]`: the site when named, and the object.
fn parse(incident: &str) -> Option<(Option<&str>, ObjectRef)> {
    let (site, name) = match incident.split_once(':') {
        Some((site, name)) if !site.is_empty() && !site.contains('!') => (Some(site), name),
        _ => (None, incident),
    };
    let object = match name.split_once('!') {
        Some((host, service)) if !host.is_empty() && !service.is_empty() => ObjectRef::service(host, service),
        None if !name.is_empty() => ObjectRef::host(name),
        _ => return None,
    };
    Some((site, object))
}

fn story(config_path: &Path, site: Option<&str>, object: &ObjectRef) -> anyhow::Result<String> {
    let reader = Reader::open(config_path)?;
    let site = match site {
        Some(site) => site.to_owned(),
        None => match &reader.block_on(reader.store.incident_sites(object))?[..] {
            [] => anyhow::bail!("hagios kept no incident of {object} (or it was pruned): nothing to tell"),
            [site] => site.clone(),
            sites => anyhow::bail!(
                "{object} has had incidents at several sites ({}): name one, like `{}:{object}`",
                sites.join(", "),
                sites[0]
            ),
        },
    };
    let teller = Teller { store: &reader.store, platforms: &reader.platforms, zone: &reader.config.commands.timezone };
    let now = hagios_domain::unix_now();
    let answer =
        reader.block_on(timeline::answer(&teller, &site, object, None, now)).map_err(|e| anyhow::anyhow!("{e}"))?;
    let file = answer.attachment.ok_or_else(|| anyhow::anyhow!("no story was written"))?;
    Ok(file.text().unwrap_or_default().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_incident_is_named_by_its_object_with_its_site_in_front_where_needed() {
        assert_eq!(parse("web01"), Some((None, ObjectRef::host("web01"))));
        assert_eq!(parse("west:web01!HTTP"), Some((Some("west"), ObjectRef::service("web01", "HTTP"))));
        assert_eq!(parse("web01!Disk C:"), Some((None, ObjectRef::service("web01", "Disk C:"))));
        assert_eq!(parse("west:"), None);
        assert_eq!(parse("web01!"), None);
    }
}
