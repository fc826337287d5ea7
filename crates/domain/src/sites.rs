//! Objects by site. Host names are unique within one monitoring site, not across the sites one
//! bot serves, and Nagios numbers downtimes from 1 at every site: what a command acts on is an
//! object *at a site*, and the state it is checked against is that site's.

use crate::object::ObjectRef;
use crate::snapshot::{Downtime, Inventory, Snapshot, Status};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

/// An object at one site: what an incident is about and what a command acts on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SiteObject {
    pub site: String,
    pub object: ObjectRef,
}

impl SiteObject {
    pub fn new(site: impl Into<String>, object: ObjectRef) -> Self {
        SiteObject { site: site.into(), object }
    }
}

impl fmt::Display for SiteObject {
    /// `site:host` or `site:host!service`, the form chat users can type back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.site, self.object)
    }
}

/// Every site's state at one moment: each answering site's own snapshot, the sites that did not
/// answer, and all of them merged for queries over everything.
#[derive(Debug, Clone, Default)]
pub struct SiteSnapshots {
    /// Sorted by site name.
    sites: Vec<(String, Arc<Snapshot>)>,
    /// Sites known to exist that did not answer, with why.
    silent: Vec<(String, String)>,
    merged: Arc<Snapshot>,
    spans_sites: bool,
}

impl SiteSnapshots {
    /// A backend that is its one site: every object is there, whatever name a notification gave
    /// the site.
    pub fn one(site: impl Into<String>, snapshot: Arc<Snapshot>) -> Self {
        SiteSnapshots {
            sites: vec![(site.into(), Arc::clone(&snapshot))],
            silent: Vec::new(),
            merged: snapshot,
            spans_sites: false,
        }
    }

    /// A bot over several sites: `silent` are the sites it knows of that did not answer.
    pub fn spanning(mut sites: Vec<(String, Snapshot)>, mut silent: Vec<(String, String)>) -> Self {
        sites.sort_by(|a, b| a.0.cmp(&b.0));
        silent.sort();
        let merged = Arc::new(merge(&sites));
        let sites = sites.into_iter().map(|(site, snapshot)| (site, Arc::new(snapshot))).collect();
        SiteSnapshots { sites, silent, merged, spans_sites: true }
    }

    /// All answering sites in one snapshot. Where a host name is at several sites, the first
    /// site by name shows in it.
    pub fn merged(&self) -> &Arc<Snapshot> {
        &self.merged
    }

    /// Whether objects can be at other sites than one: false for a backend that is its one site.
    pub fn spans_sites(&self) -> bool {
        self.spans_sites
    }

    /// The answering sites and their snapshots, by name.
    pub fn answering(&self) -> &[(String, Arc<Snapshot>)] {
        &self.sites
    }

    /// The known sites that did not answer, and why.
    pub fn silent(&self) -> &[(String, String)] {
        &self.silent
    }

    /// The snapshot of site `name`, when it answered.
    pub fn site(&self, name: &str) -> Option<&Arc<Snapshot>> {
        self.sites.iter().find(|(site, _)| site == name).map(|(_, snapshot)| snapshot)
    }

    /// Why site `name` did not answer, when it is known and did not.
    pub fn why_silent(&self, name: &str) -> Option<&str> {
        self.silent.iter().find(|(site, _)| site == name).map(|(_, why)| why.as_str())
    }

    /// Whether `name` is a site, answering or not.
    pub fn is_site(&self, name: &str) -> bool {
        self.site(name).is_some() || self.why_silent(name).is_some()
    }

    /// Every site name, answering or not, sorted.
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .sites
            .iter()
            .map(|(site, _)| site.as_str())
            .chain(self.silent.iter().map(|(site, _)| site.as_str()))
            .collect();
        names.sort_unstable();
        names
    }

    /// The answering sites that have host `host`.
    pub fn sites_with_host(&self, host: &str) -> Vec<&str> {
        self.sites.iter().filter(|(_, snapshot)| snapshot.has_host(host)).map(|(site, _)| site.as_str()).collect()
    }

    /// The answering sites' downtimes that `wanted` picks, with their site.
    pub fn downtimes(&self, wanted: impl Fn(&Downtime) -> bool) -> Vec<(&str, &Downtime)> {
        self.sites
            .iter()
            .flat_map(|(site, snapshot)| {
                snapshot.status.downtimes.iter().map(move |downtime| (site.as_str(), downtime))
            })
            .filter(|(_, downtime)| wanted(downtime))
            .collect()
    }
}

/// One snapshot holding every site's objects; where host names repeat, the first site by name
/// shows its host.
fn merge(sites: &[(String, Snapshot)]) -> Snapshot {
    let mut status = Status::default();
    let mut inventory = Inventory::default();
    for (_, state) in sites {
        status.created = status.created.max(state.status.created);
        for (name, view) in &state.status.hosts {
            status.hosts.entry(name.clone()).or_insert_with(|| view.clone());
        }
        for (key, view) in &state.status.services {
            status.services.entry(key.clone()).or_insert_with(|| view.clone());
        }
        status.downtimes.extend(state.status.downtimes.iter().cloned());
        status.comments.extend(state.status.comments.iter().cloned());
        for (name, host) in &state.inventory.hosts {
            inventory.hosts.entry(name.clone()).or_insert_with(|| host.clone());
        }
        for (name, services) in &state.inventory.services {
            inventory.services.entry(name.clone()).or_insert_with(|| services.clone());
        }
        for (group, members) in &state.inventory.hostgroups {
            inventory.hostgroups.entry(group.clone()).or_default().extend(members.iter().cloned());
        }
    }
    Snapshot { status, inventory: Arc::new(inventory) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HostObject;

    fn site_with(hosts: &[&str], downtime_ids: &[u64]) -> Snapshot {
        let mut inventory = Inventory::default();
        for host in hosts {
            inventory.hosts.insert((*host).to_owned(), HostObject::default());
        }
        let mut snapshot = Snapshot { inventory: Arc::new(inventory), ..Snapshot::default() };
        for id in downtime_ids {
            snapshot.status.downtimes.push(Downtime {
                id: *id,
                object: ObjectRef::host(hosts[0]),
                entry_time: 0,
                start: 0,
                end: 1,
                fixed: true,
                duration: 1,
                author: "a".into(),
                comment: String::new(),
                name: None,
            });
        }
        snapshot
    }

    #[test]
    fn the_same_host_and_downtime_id_at_two_sites_are_told_apart() {
        let sites = SiteSnapshots::spanning(
            vec![
                ("west".into(), site_with(&["db01", "app01"], &[12])),
                ("east".into(), site_with(&["db01"], &[12, 13])),
            ],
            vec![("north".into(), "not connected".into())],
        );
        assert_eq!(sites.sites_with_host("db01"), ["east", "west"]);
        assert_eq!(sites.sites_with_host("app01"), ["west"]);
        let twelve: Vec<&str> = sites.downtimes(|downtime| downtime.id == 12).iter().map(|(site, _)| *site).collect();
        assert_eq!(twelve, ["east", "west"]);
        assert_eq!(sites.names(), ["east", "north", "west"]);
        assert_eq!(sites.why_silent("north"), Some("not connected"));
        assert!(sites.is_site("north") && sites.site("north").is_none() && !sites.is_site("south"));
        assert!(sites.merged().has_host("app01") && sites.merged().status.downtimes.len() == 3);
        assert!(sites.spans_sites());
        assert_eq!(SiteObject::new("east", ObjectRef::service("db01", "MySQL")).to_string(), "east:db01!MySQL");
    }
}
