//! The store's behaviour through its public API, on SQLite and on PostgreSQL: dedupe, the
//! incident life cycle, atomic commits, the audit log, and that a reopened store shows the same
//! data.

use hagios_domain::{AlertCard, NotificationType, ObjectRef, State};
use hagios_store::{AuditRecord, Delivery, IncidentChange, IncidentId, Store, StoreError};
use hagios_testkit::PostgresInstance;

/// A fresh store on each engine: SQLite in memory, and a new database of the shared PostgreSQL
/// test cluster when PostgreSQL is installed (required under `HAGIOS_REQUIRE_REAL=1`).
fn stores() -> Vec<(&'static str, Store)> {
    let mut stores = vec![("SQLite", Store::open_in_memory().unwrap())];
    if let Some(cluster) = PostgresInstance::shared() {
        let url = cluster.create_database();
        stores.push(("PostgreSQL", Store::connect(&url, Some(PostgresInstance::PASSWORD)).unwrap()));
    }
    stores
}

fn delivery(message_id: &str) -> Delivery {
    Delivery { channel: "C1".into(), message_id: message_id.into(), at: 100 }
}

/// The card of `object` on `site` in `state`, with `history` as its "who did what" lines.
fn card(site: &str, object: ObjectRef, state: State, history: &[&str], time: i64) -> AlertCard {
    AlertCard {
        site: site.into(),
        object,
        state,
        kind: NotificationType::Problem,
        output: format!("{state} - output"),
        long_output: String::new(),
        history: history.iter().map(|line| line.to_string()).collect(),
        open: !matches!(state, State::Ok | State::Up),
        time,
    }
}

fn open_change(site: &str, object: ObjectRef) -> IncidentChange {
    IncidentChange::Open { card: card(site, object, State::Critical, &[], 100), opened_at: 100, route: None }
}

/// `http()` now in `state`, with `line` as its newest history line.
fn update(state: State, line: &str, time: i64) -> AlertCard {
    card("local", http(), state, &[line], time)
}

fn http() -> ObjectRef {
    ObjectRef::service("web01", "HTTP")
}

/// Opens an incident the way the pipeline does: together with the delivery of its PROBLEM.
fn open_problem(store: &Store, notification_id: &str, object: ObjectRef, message_id: &str) -> IncidentId {
    open_problem_at(store, "local", notification_id, object, message_id)
}

fn open_problem_at(
    store: &Store,
    site: &str,
    notification_id: &str,
    object: ObjectRef,
    message_id: &str,
) -> IncidentId {
    store
        .commit_notification(notification_id, &delivery(message_id), &open_change(site, object))
        .unwrap()
        .expect("an opened incident has an id")
}

#[test]
fn deliveries_are_remembered_once() {
    for (engine, store) in stores() {
        eprintln!("on {engine}");
        assert_eq!(store.delivered("n1").unwrap(), None);
        store.record_delivery("n1", &delivery("7")).unwrap();
        assert_eq!(store.delivered("n1").unwrap(), Some(delivery("7")));

        let again = store.record_delivery("n1", &delivery("8")).unwrap_err();
        assert!(matches!(again, StoreError::AlreadyDelivered(ref id) if id == "n1"), "{again:?}");
        assert!(!again.retryable());
        assert_eq!(store.delivered("n1").unwrap(), Some(delivery("7")));
    }
}

#[test]
fn an_incident_opens_collects_history_and_closes() {
    for (engine, store) in stores() {
        eprintln!("on {engine}");
        let id = open_problem(&store, "n1", http(), "10");

        let open = store.open_incident_for("local", &http()).unwrap().expect("open incident");
        assert_eq!((open.id, open.card.state, open.is_open()), (id, State::Critical, true));
        assert_eq!((open.channel.as_str(), open.message_id.as_str(), open.opened_at), ("C1", "10", 100));
        assert_eq!(store.incident_by_message("C1", "10").unwrap(), Some(open));

        let ack = IncidentChange::Update { id, card: update(State::Critical, "acknowledged by alice", 150) };
        assert_eq!(store.commit_notification("n2", &delivery("11"), &ack).unwrap(), Some(id));
        let recovered = update(State::Ok, "recovered", 200);
        let recovery = IncidentChange::Close { id, card: recovered.clone() };
        assert_eq!(store.commit_notification("n3", &delivery("12"), &recovery).unwrap(), Some(id));

        assert_eq!(store.open_incident_for("local", &http()).unwrap(), None);
        let closed = store.incident_by_message("C1", "10").unwrap().expect("closed incidents stay findable");
        assert_eq!(closed.history, ["acknowledged by alice", "recovered"]);
        assert_eq!(closed.card, recovered);
        assert_eq!(closed.closed_at, Some(200));

        let next = open_problem(&store, "n4", http(), "13");
        assert_ne!(next, id, "the next PROBLEM opens a new incident");
    }
}

#[test]
fn one_object_has_at_most_one_open_incident_but_hosts_services_and_sites_are_apart() {
    for (engine, store) in stores() {
        eprintln!("on {engine}");
        open_problem(&store, "n1", http(), "1");
        open_problem(&store, "n2", ObjectRef::host("web01"), "2");
        open_problem_at(&store, "dc2", "n3", http(), "3");

        let twice = store.commit_notification("n4", &delivery("4"), &open_change("local", http())).unwrap_err();
        assert!(matches!(twice, StoreError::IncidentAlreadyOpen { .. }), "{twice:?}");
        assert_eq!(store.open_incident_for("local", &ObjectRef::host("web01")).unwrap().unwrap().message_id, "2");
        assert_eq!(store.open_incident_for("dc2", &http()).unwrap().unwrap().message_id, "3");
    }
}

#[test]
fn each_platform_has_its_own_deliveries_incidents_and_attempts() {
    for (engine, store) in stores() {
        eprintln!("on {engine}");
        let (slack, matrix) = (store.for_platform("slack"), store.for_platform("matrix"));
        let on_slack = open_problem(&slack, "n1", http(), "1.0");
        assert!(matrix.delivered("n1").unwrap().is_none(), "not delivered on Matrix yet");
        assert!(matrix.open_incident_for("local", &http()).unwrap().is_none());
        let on_matrix = open_problem(&matrix, "n1", http(), "$event");
        assert_ne!(on_slack, on_matrix, "one incident per platform, each with its own message");
        assert_eq!(slack.open_incident_for("local", &http()).unwrap().unwrap().message_id, "1.0");
        assert_eq!(matrix.incident_by_message("C1", "$event").unwrap().map(|i| i.id), Some(on_matrix));
        assert!(slack.incident_by_message("C1", "$event").unwrap().is_none());
        assert!(!slack.begin_attempt("n2", 1).unwrap() && !matrix.begin_attempt("n2", 1).unwrap());
        slack.record_delivery("n2", &delivery("2.0")).unwrap();
        assert!(matrix.begin_attempt("n2", 2).unwrap(), "Matrix's attempt is still unfinished");
    }
}

#[test]
fn a_failed_incident_change_leaves_the_notification_undelivered() {
    for (engine, store) in stores() {
        eprintln!("on {engine}");
        let missing = IncidentChange::Update { id: IncidentId(42), card: update(State::Ok, "recovered", 200) };
        assert!(matches!(
            store.commit_notification("n1", &delivery("1"), &missing),
            Err(StoreError::NoSuchIncident(IncidentId(42)))
        ));
        assert_eq!(store.delivered("n1").unwrap(), None, "the delivery rolled back with the incident change");

        open_problem(&store, "n2", http(), "2");
        assert!(store.commit_notification("n3", &delivery("3"), &open_change("local", http())).is_err());
        assert_eq!(store.delivered("n3").unwrap(), None);
    }
}

#[test]
fn a_duplicate_delivery_leaves_the_incident_untouched() {
    for (engine, store) in stores() {
        eprintln!("on {engine}");
        let id = open_problem(&store, "n1", http(), "1");
        let ack = IncidentChange::Update { id, card: update(State::Critical, "acknowledged", 150) };
        assert!(matches!(store.commit_notification("n1", &delivery("2"), &ack), Err(StoreError::AlreadyDelivered(_))));
        assert_eq!(store.open_incident_for("local", &http()).unwrap().unwrap().history, Vec::<String>::new());
    }
}

#[test]
fn audit_records_come_back_newest_first() {
    for (engine, store) in stores() {
        eprintln!("on {engine}");
        let record = |time: i64, allowed: bool| AuditRecord {
            time,
            platform: "terminal".into(),
            user_id: "U1".into(),
            user_name: "alice".into(),
            raw_text: format!("ack web01 HTTP looking {time}"),
            command: Some("ack".into()),
            parsed: allowed.then(|| r#"{"action":"acknowledge"}"#.into()),
            allowed,
            result: if allowed { "confirmed: acknowledged".into() } else { "refused: needs ack on web01".into() },
        };
        for (time, allowed) in [(1, true), (2, false), (3, true)] {
            store.audit(&record(time, allowed)).unwrap();
        }
        assert_eq!(store.recent_audit(2).unwrap(), [record(3, true), record(2, false)]);
        assert_eq!(store.recent_audit(usize::MAX).unwrap().len(), 3);
    }
}

#[test]
fn message_numbers_continue_after_the_highest_delivered() {
    for (engine, store) in stores() {
        eprintln!("on {engine}");
        let terminal = store.for_platform("terminal");
        assert_eq!(terminal.next_message_number().unwrap(), 1);
        terminal.record_delivery("n1", &delivery("41")).unwrap();
        terminal.record_delivery("n2", &delivery("9")).unwrap();
        store.for_platform("slack").record_delivery("n3", &delivery("500")).unwrap();
        assert_eq!(terminal.next_message_number().unwrap(), 42, "the highest of this platform's messages");
    }
}

/// Writes an incident with history and an audit record, then checks them with a store opened
/// afresh by `reopen` (a restarted hagios).
fn survives_a_reopen(first: Store, reopen: impl Fn() -> Store) {
    let id = open_problem(&first, "n1", http(), "10");
    let warning = IncidentChange::Update { id, card: update(State::Warning, "now warning", 150) };
    first.commit_notification("n2", &delivery("11"), &warning).unwrap();
    first
        .audit(&AuditRecord {
            time: 5,
            platform: "slack".into(),
            user_id: "U1".into(),
            user_name: "bob".into(),
            raw_text: "status".into(),
            command: Some("status".into()),
            parsed: None,
            allowed: true,
            result: "answered".into(),
        })
        .unwrap();
    drop(first);

    let store = reopen();
    assert_eq!(store.delivered("n1").unwrap(), Some(delivery("10")));
    let incident = store.open_incident_for("local", &http()).unwrap().unwrap();
    assert_eq!((incident.id, incident.card.state), (id, State::Warning));
    assert_eq!(incident.history, ["now warning"]);
    assert_eq!(store.recent_audit(10).unwrap()[0].user_name, "bob");
}

#[test]
fn a_reopened_file_shows_the_same_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    survives_a_reopen(Store::open(&path).unwrap(), || Store::open(&path).unwrap());
    let mode: String =
        rusqlite::Connection::open(&path).unwrap().pragma_query_value(None, "journal_mode", |row| row.get(0)).unwrap();
    assert_eq!(mode, "wal", "readers such as `hagios audit` must not block delivery");
}

#[test]
fn a_reconnected_postgres_database_shows_the_same_data() {
    let Some(cluster) = PostgresInstance::shared() else { return };
    let url = cluster.create_database();
    let connect = || Store::connect(&url, Some(PostgresInstance::PASSWORD)).unwrap();
    survives_a_reopen(connect(), connect);
}

#[test]
fn a_database_from_a_newer_hagios_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    drop(Store::open(&path).unwrap());
    rusqlite::Connection::open(&path).unwrap().pragma_update(None, "user_version", 99).unwrap();
    let Err(error) = Store::open(&path) else { panic!("a newer schema must not be opened") };
    assert!(matches!(error, StoreError::UnknownSchema { found: 99, .. }), "{error:?}");
    assert!(error.to_string().contains("run the (newer) hagios that wrote it"));

    let Some(cluster) = PostgresInstance::shared() else { return };
    let url = cluster.create_database();
    drop(Store::connect(&url, Some(PostgresInstance::PASSWORD)).unwrap());
    let database = url.rsplit('/').next().unwrap();
    cluster.psql_in(database, "UPDATE hagios_schema SET version = 99");
    let Err(error) = Store::connect(&url, Some(PostgresInstance::PASSWORD)) else {
        panic!("newer schema on PostgreSQL")
    };
    assert!(matches!(error, StoreError::UnknownSchema { found: 99, .. }), "{error:?}");
}

#[test]
fn a_wrong_password_or_an_unreachable_server_says_what_to_check_without_the_password() {
    let Some(cluster) = PostgresInstance::shared() else { return };
    let url = cluster.create_database();
    let Err(wrong) = Store::connect(&url, Some("not-the-password")) else { panic!("a wrong password connected") };
    let message = wrong.to_string();
    assert!(message.contains("password authentication failed") && message.contains("password_env"), "{message}");
    assert!(!message.contains("not-the-password"), "{message}");
    assert!(!wrong.retryable(), "a wrong password stays wrong");

    let nowhere = format!("postgres://hagios@127.0.0.1:{}/hagios", hagios_testkit::free_port());
    let Err(down) = Store::connect(&nowhere, None) else { panic!("nobody listens there") };
    assert!(down.to_string().contains("Connection refused"), "{down}");
    assert!(down.retryable(), "a server that is down may be up later");
}

#[test]
fn an_unopenable_path_says_which_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing-dir/state.db");
    let Err(error) = Store::open(&path) else { panic!("no directory, no database") };
    assert!(error.to_string().starts_with(&format!("cannot open the state database {}", path.display())), "{error}");
}
