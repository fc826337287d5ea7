//! Parses files written by a real Nagios 4.4.6 and checks facts known to be in them.

use hagios_domain::{ObjectRef, State};
use hagios_parsers::nagios::{objects, status};

const STATUS: &str = include_str!("fixtures/status-4.4.6.dat");
const OBJECTS: &str = include_str!("fixtures/objects-4.4.6.cache");

fn service<'a>(status: &'a hagios_domain::Status, host: &str, description: &str) -> &'a hagios_domain::ServiceView {
    &status.services[&(host.to_owned(), description.to_owned())]
}

#[test]
fn status_fixture_states() {
    let status = status::parse(STATUS).unwrap();
    assert_eq!(status.created, 1_795_551_288);
    assert_eq!(status.hosts.keys().collect::<Vec<_>>(), ["db01", "web01"]);

    let db01 = &status.hosts["db01"];
    assert_eq!((db01.state, db01.output.as_str()), (State::Down, "DOWN - no ping"));
    assert_eq!((db01.last_check, db01.last_state_change), (1_795_551_281, 1_795_551_281));
    assert_eq!(status.hosts["web01"].state, State::Up);

    let load = service(&status, "db01", "Load");
    assert_eq!((load.state, load.output.as_str()), (State::Warning, "WARNING: LOAD WARNING - static"));
    assert!(!load.notifications_enabled);

    let mysql = service(&status, "db01", "MySQL");
    assert_eq!(mysql.state, State::Pending);
    assert!(mysql.in_downtime && !mysql.has_been_checked);

    let http = service(&status, "web01", "HTTP");
    assert_eq!((http.state, http.output.as_str()), (State::Critical, "CRITICAL - connection refused"));
    assert!(http.acknowledged && !http.in_downtime);
    assert_eq!(status.services.len(), 4);
}

#[test]
fn status_fixture_comments_and_downtimes() {
    let status = status::parse(STATUS).unwrap();
    let ids: Vec<_> = status.comments.iter().map(|c| c.id).collect();
    assert_eq!(ids, [1, 2, 3, 4]);
    let ack = &status.comments[0];
    assert_eq!(ack.object, ObjectRef::service("web01", "HTTP"));
    assert_eq!((ack.author.as_str(), ack.text.as_str(), ack.persistent), ("alice", "looking into it", true));
    assert_eq!(status.comments[2].object, ObjectRef::host("web01"));
    assert_eq!(status.comments[3].text, "a comment with = sign and ; semicolon");

    let [fixed, flexible] = status.downtimes.as_slice() else { panic!("{:?}", status.downtimes) };
    assert_eq!(fixed.object, ObjectRef::service("db01", "MySQL"));
    assert_eq!((fixed.id, fixed.start, fixed.end, fixed.duration), (1, 1_795_551_281, 1_795_558_481, 7200));
    assert!(fixed.fixed);
    assert_eq!((fixed.author.as_str(), fixed.comment.as_str()), ("bob", "maintenance window"));
    assert_eq!(flexible.object, ObjectRef::host("web01"));
    assert_eq!((flexible.id, flexible.entry_time, flexible.duration), (2, 1_795_551_281, 3600));
    assert!(!flexible.fixed);
    assert_eq!(flexible.comment, "flex");
}

#[test]
fn objects_fixture_inventory() {
    let inventory = objects::parse(OBJECTS).unwrap();
    assert_eq!(inventory.hosts.keys().collect::<Vec<_>>(), ["db01", "web01"]);
    let web01 = &inventory.hosts["web01"];
    assert_eq!((web01.alias.as_str(), web01.address.as_str()), ("web01", "127.0.0.1"));
    // The host block does not list its groups; they come from the hostgroup's members.
    assert_eq!(web01.hostgroups, ["web"]);
    assert!(web01.parents.is_empty());
    assert_eq!(inventory.hosts["db01"].address, "127.0.0.2");
    assert!(inventory.hosts["db01"].hostgroups.is_empty());
    assert_eq!(inventory.services["db01"], ["Load", "MySQL"]);
    assert_eq!(inventory.services["web01"], ["Disk", "HTTP"]);
    assert_eq!(inventory.hostgroups.len(), 1);
    assert_eq!(inventory.hostgroups["web"], ["web01"]);
}

#[test]
fn fixtures_agree_on_services() {
    let status = status::parse(STATUS).unwrap();
    let inventory = objects::parse(OBJECTS).unwrap();
    for (host, description) in status.services.keys() {
        assert!(inventory.services[host].contains(description), "{host}!{description}");
    }
}
