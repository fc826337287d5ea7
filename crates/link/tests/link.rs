//! The link in one process: certificates from `certs`, a bot accepting over mutual TLS, agents
//! with a recording monitor double — and every way a peer must be refused.

mod common;

use common::*;
use hagios_domain::{Action, Notification, ObjectRef, Outcome, Permit, System};
use hagios_link::agent::COMMAND_KINDS;
use hagios_link::certs::{self, Role, Validity};
use hagios_link::protocol::{encode, read_frame, write_frame, Frame, MAX_FRAME_BYTES, PROTOCOL_VERSION};
use hagios_link::quota::{Quota, Quotas};
use hagios_link::sites::SitesMonitor;
use hagios_link::tls::{client_config, server_config};
use hagios_monitor::Monitor;
use hagios_spool::Spool;
use std::os::unix::fs::PermissionsExt;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsConnector;

#[test]
fn certs_are_written_with_private_keys_and_refuse_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let written = certs::init_ca(dir.path()).unwrap().to_string();
    assert!(written.contains("ca.crt") && written.contains("SECRET"), "{written}");
    let issued = certs::issue(dir.path(), Role::Agent, "nagios01", &[]).unwrap().to_string();
    assert!(issued.contains("nagios01.key") && issued.contains("[tls] key"), "{issued}");
    for key in ["ca.key", "nagios01.key"] {
        let mode = std::fs::metadata(dir.path().join(key)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{key}");
    }
    assert!(certs::init_ca(dir.path()).unwrap_err().to_string().contains("already exists"));
    assert!(certs::issue(dir.path(), Role::Agent, "nagios01", &[]).unwrap_err().to_string().contains("already exists"));
    assert!(certs::issue(dir.path(), Role::Agent, "../x", &[])
        .unwrap_err()
        .to_string()
        .contains("not a usable agent name"));
    let san = certs::issue(dir.path(), Role::Agent, "nagios02", &["x.example".into()]).unwrap_err();
    assert!(san.to_string().contains("--san is for bot certificates"), "{san}");
    let empty = tempfile::tempdir().unwrap();
    let no_ca = certs::issue(empty.path(), Role::Bot, "bot", &[]).unwrap_err().to_string();
    assert!(no_ca.contains("hagios certs init"), "{no_ca}");
}

#[tokio::test]
async fn an_agent_listing_two_bots_hands_each_record_to_one_of_them_and_registers_with_both() {
    let pki = pki();
    let (first, second) = (start_bot(pki.path()).await, start_bot(pki.path()).await);
    let east = start_agent(pki.path(), &[&first.address, &second.address], "east", vec!["web01"], &COMMAND_KINDS);
    for n in 0..40 {
        east.spool.write(notification(&format!("web{n:02}"))).unwrap();
    }
    eventually(|| east.spool.pending().unwrap().is_empty().then_some(())).await;
    let stored = |bot: &RunningBot| bot.spool.pending().unwrap();
    let (at_first, at_second) = (stored(&first), stored(&second));
    assert_eq!(at_first.len() + at_second.len(), 40, "each record went to one bot: {at_first:?} {at_second:?}");
    assert!(at_first.iter().all(|id| !at_second.contains(id)));
    // Either bot may lead: both know the site, to send it commands.
    eventually(|| (first.sites.connected() == ["east"] && second.sites.connected() == ["east"]).then_some(())).await;
}

#[tokio::test]
async fn notifications_go_up_once_stored_and_commands_come_down_to_the_owning_site() {
    let pki = pki();
    let bot = start_bot(pki.path()).await;
    let east = start_agent(pki.path(), &[&bot.address], "east", vec!["web01"], &COMMAND_KINDS);
    let west = start_agent(pki.path(), &[&bot.address], "west", vec!["db01"], &["recheck"]);
    east.spool.write(notification("web01")).unwrap();
    west.spool.write(notification("db01")).unwrap();

    // Each agent's record leaves its spool only after the bot stored it, under the same id.
    eventually(|| (east.spool.pending().unwrap().is_empty() && west.spool.pending().unwrap().is_empty()).then_some(()))
        .await;
    let stored: Vec<Notification> = bot.spool.pending().unwrap().iter().map(|id| bot.spool.read(id).unwrap()).collect();
    let mut sites: Vec<(&str, &str)> = stored.iter().map(|n| (n.site.as_str(), n.object.host.as_str())).collect();
    sites.sort();
    assert_eq!(sites, [("east", "web01"), ("west", "db01")], "site comes from the certificate");

    let monitor = SitesMonitor::new(Arc::clone(&bot.sites), PATIENCE, Permit::always());
    eventually(|| (bot.sites.connected() == ["east", "west"]).then_some(())).await;
    let snapshot = monitor.snapshot().await.unwrap();
    assert!(snapshot.has_host("web01") && snapshot.has_host("db01"), "status spans every site");

    let ack = Action::Acknowledge {
        target: ObjectRef::host("web01"),
        comment: "on it".into(),
        sticky: true,
        notify: true,
        persistent: false,
        expire: None,
    };
    assert_eq!(monitor.execute_at("east", &ack, "alice").await.unwrap(), Outcome::Confirmed("done on east".into()));
    assert_eq!(east.monitor.executed.lock().unwrap().as_slice(), [(ack.clone(), "alice".to_owned())]);

    // west allows only rechecks: it answers with the reason and does nothing.
    let refused = monitor.execute_at("west", &Action::Recheck { target: ObjectRef::host("db01") }, "bob").await;
    assert!(refused.is_ok(), "recheck is allowed on west: {refused:?}");
    let mute = Action::DisableNotifications { target: ObjectRef::host("db01") };
    let err = monitor.execute_at("west", &mute, "bob").await.unwrap_err().to_string();
    assert!(err.contains("site `west`: this site does not allow `mute`"), "{err}");
    assert_eq!(west.monitor.executed.lock().unwrap().len(), 1);

    // A command that names no site is refused; one for a site that is not connected goes nowhere else.
    let err = monitor.execute(&Action::Recheck { target: ObjectRef::host("db01") }, "bob").await.unwrap_err();
    assert!(err.to_string().contains("the command names no site"), "{err}");
    let err = monitor.execute_at("north", &Action::Recheck { target: ObjectRef::host("db01") }, "bob").await;
    assert!(err.unwrap_err().to_string().contains("site `north`: the agent is not connected"));
    assert_eq!(west.monitor.executed.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn the_same_host_at_two_sites_is_acted_on_only_at_the_site_named_and_a_gone_site_is_silent() {
    let pki = pki();
    let bot = start_bot(pki.path()).await;
    let east = start_agent(pki.path(), &[&bot.address], "east", vec!["db01"], &COMMAND_KINDS);
    let west = start_agent(pki.path(), &[&bot.address], "west", vec!["db01"], &COMMAND_KINDS);
    let monitor = SitesMonitor::new(Arc::clone(&bot.sites), PATIENCE, Permit::always());
    eventually(|| (bot.sites.connected() == ["east", "west"]).then_some(())).await;

    let sites = monitor.site_snapshots().await.unwrap();
    assert_eq!(sites.sites_with_host("db01"), ["east", "west"]);
    let recheck = Action::Recheck { target: ObjectRef::host("db01") };
    monitor.execute_at("west", &recheck, "alice").await.unwrap();
    assert_eq!(west.monitor.executed.lock().unwrap().len(), 1);
    assert!(east.monitor.executed.lock().unwrap().is_empty(), "the command landed at the other db01");

    // west goes away: it is a silent site now, not a site that never was.
    drop(west);
    eventually(|| (bot.sites.connected() == ["east"]).then_some(())).await;
    let sites = monitor.site_snapshots().await.unwrap();
    assert_eq!(sites.sites_with_host("db01"), ["east"]);
    assert_eq!(sites.why_silent("west"), Some("its agent is not connected"));
    let err = monitor.execute_at("west", &recheck, "alice").await.unwrap_err().to_string();
    assert!(err.contains("site `west`: the agent is not connected"), "{err}");
    assert!(east.monitor.executed.lock().unwrap().is_empty());
}

#[tokio::test]
async fn each_site_is_named_by_the_system_its_agent_runs_and_all_sites_only_when_they_agree() {
    let pki = pki();
    let bot = start_bot(pki.path()).await;
    let east = start_agent_of(System::Icinga2, pki.path(), &[&bot.address], "east", vec!["db01"], &COMMAND_KINDS);
    let _west = start_agent_of(System::Nagios, pki.path(), &[&bot.address], "west", vec!["app01"], &COMMAND_KINDS);
    let monitor = SitesMonitor::new(Arc::clone(&bot.sites), PATIENCE, Permit::always());
    eventually(|| (bot.sites.connected() == ["east", "west"]).then_some(())).await;
    assert_eq!(monitor.system(Some("east")), Some(System::Icinga2));
    assert_eq!(monitor.system(Some("west")), Some(System::Nagios));
    assert_eq!(monitor.system(Some("north")), None, "a site that never connected runs nothing known");
    assert_eq!(monitor.system(None), None, "Icinga 2 and Nagios have no common name");

    // A gone site is still named by what it ran; with only Nagios sites left, so are all sites.
    drop(east);
    eventually(|| (bot.sites.connected() == ["west"]).then_some(())).await;
    assert_eq!(monitor.system(Some("east")), Some(System::Icinga2));
    let _north = start_agent(pki.path(), &[&bot.address], "north", vec!["web01"], &COMMAND_KINDS);
    let _east = start_agent_of(System::Nagios, pki.path(), &[&bot.address], "east", vec!["db01"], &COMMAND_KINDS);
    eventually(|| (bot.sites.connected() == ["east", "north", "west"]).then_some(())).await;
    assert_eq!(monitor.system(Some("east")), Some(System::Nagios), "a site's newest agent says what it runs");
    assert_eq!(monitor.system(None), Some(System::Nagios));
}

#[tokio::test]
async fn an_agent_of_version_4_that_names_no_system_is_welcomed_and_its_site_named_by_no_system() {
    let pki = pki();
    let bot = start_bot(pki.path()).await;
    let east = agent_cert(pki.path(), "east");
    let unnamed = Frame::Hello { version: PROTOCOL_VERSION, site: "east".into(), system: None };
    let mut stream = tls_to_bot(&bot.address, pki.path(), Some(&east)).await.unwrap();
    write_frame(&mut stream, &unnamed).await.unwrap();
    let welcome = read_frame(&mut stream, MAX_FRAME_BYTES).await.unwrap();
    assert!(matches!(welcome, Some(Frame::Welcome { .. })), "{welcome:?}");
    eventually(|| (bot.sites.connected() == ["east"]).then_some(())).await;
    assert_eq!(bot.sites.system(Some("east")), None);
    assert_eq!(bot.sites.system(None), None);
}

#[tokio::test]
async fn commands_at_the_same_time_cost_one_state_request_per_site() {
    let pki = pki();
    let bot = start_bot(pki.path()).await;
    let east = start_agent(pki.path(), &[&bot.address], "east", vec!["db01"], &COMMAND_KINDS);
    let west = start_agent(pki.path(), &[&bot.address], "west", vec!["app01"], &COMMAND_KINDS);
    let monitor = Arc::new(SitesMonitor::new(Arc::clone(&bot.sites), PATIENCE, Permit::always()));
    eventually(|| (bot.sites.connected() == ["east", "west"]).then_some(())).await;
    let mut readers = tokio::task::JoinSet::new();
    for _ in 0..100 {
        let monitor = Arc::clone(&monitor);
        readers.spawn(async move { monitor.snapshot().await.map(|snapshot| snapshot.has_host("app01")) });
    }
    while let Some(read) = readers.join_next().await {
        assert!(read.unwrap().unwrap());
    }
    assert_eq!(monitor.state_reads(), 1);
    assert_eq!(east.monitor.reads.load(Ordering::SeqCst), 1, "one state request reached east");
    assert_eq!(west.monitor.reads.load(Ordering::SeqCst), 1, "one state request reached west");
    // After a command the next query asks the sites again.
    monitor.execute_at("east", &Action::Recheck { target: ObjectRef::host("db01") }, "alice").await.unwrap();
    monitor.snapshot().await.unwrap();
    assert_eq!(east.monitor.reads.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn an_agent_refuses_a_command_the_bot_meant_for_another_site() {
    let pki = pki();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let acceptor = tokio_rustls::TlsAcceptor::from(server_config(&files(pki.path(), "localhost")).unwrap());
    let agent = start_agent(pki.path(), &[&format!("localhost:{port}")], "east", vec!["db01"], &COMMAND_KINDS);
    // A confused (or compromised) bot sends east a command it checked against west.
    let (tcp, _) = listener.accept().await.unwrap();
    let mut stream = acceptor.accept(tcp).await.unwrap();
    assert!(matches!(read_frame(&mut stream, MAX_FRAME_BYTES).await.unwrap(), Some(Frame::Hello { .. })));
    write_frame(&mut stream, &Frame::Welcome { version: PROTOCOL_VERSION }).await.unwrap();
    let recheck = Action::Recheck { target: ObjectRef::host("db01") };
    write_frame(&mut stream, &Frame::Command { id: 9, site: "west".into(), action: recheck, author: "x".into() })
        .await
        .unwrap();
    let answer = loop {
        match read_frame(&mut stream, MAX_FRAME_BYTES).await.unwrap() {
            Some(Frame::CommandResult { id: 9, result }) => break result,
            Some(_) => continue,
            None => panic!("the agent closed the connection without answering"),
        }
    };
    let refusal = answer.expect_err("east acted on a command meant for west");
    assert_eq!(refusal.message, "this agent serves site `east`, not `west`");
    assert!(agent.monitor.executed.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_command_s_steps_at_the_agent_reach_the_bot_in_order_before_its_final_word() {
    let pki = pki();
    let bot = start_bot(pki.path()).await;
    let east = start_agent(pki.path(), &[&bot.address], "east", vec!["web01"], &COMMAND_KINDS);
    eventually(|| (bot.sites.connected() == ["east"]).then_some(())).await;
    let monitor = SitesMonitor::new(Arc::clone(&bot.sites), PATIENCE, Permit::always());
    let seen = StepsSeen::default();
    let recheck = Action::Recheck { target: ObjectRef::host("web01") };
    let outcome = monitor.execute_at_with("east", &recheck, "alice", &|step| seen.take(step)).await.unwrap();
    assert_eq!(outcome, Outcome::Confirmed("done on east".into()));
    assert_eq!(seen.seen(), sent_and_read("east"));
    assert_eq!(east.monitor.executed.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_command_waiting_at_the_agent_takes_the_notifications_it_sends_up_as_evidence() {
    let pki = pki();
    let bot = start_bot(pki.path()).await;
    let east = start_agent(pki.path(), &[&bot.address], "east", vec!["web01"], &COMMAND_KINDS);
    let mut waiting = east.monitor.evidence.subscribe();
    east.spool.write(notification("web01")).unwrap();
    let offered = tokio::time::timeout(PATIENCE, waiting.next()).await.expect("offered in time").expect("offered");
    assert_eq!(offered.object.host, "web01");
    eventually(|| east.spool.pending().unwrap().is_empty().then_some(())).await;
}

#[tokio::test]
async fn the_agent_reconnects_and_delivers_what_waited_while_the_bot_was_down() {
    let pki = pki();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let agent = start_agent(pki.path(), &[&format!("localhost:{port}")], "east", vec!["web01"], &COMMAND_KINDS);
    agent.spool.write(notification("web01")).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(agent.spool.pending().unwrap().len(), 1, "nothing may be lost while the bot is down");

    let spool_dir = tempfile::tempdir().unwrap();
    let spool = Arc::new(Spool::open(spool_dir.path()).unwrap());
    let link = bot_link(pki.path(), "localhost", &spool, Quotas::new(Quota::of(10, 1), vec![Arc::clone(&spool)]));
    let (_stop, shutdown) = watch::channel(false);
    let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    tokio::spawn(link.serve(listener, shutdown));
    eventually(|| agent.spool.pending().unwrap().is_empty().then_some(())).await;
    assert_eq!(spool.pending().unwrap().len(), 1);
}

#[tokio::test]
async fn the_bot_refuses_every_peer_that_is_not_a_current_agent_of_its_ca() {
    let pki = pki();
    let bot = start_bot(pki.path()).await;
    certs::issue(pki.path(), Role::Agent, "east", &[]).unwrap();
    let east = files(pki.path(), "east");
    assert!(matches!(
        try_hello(&bot.address, pki.path(), Some(&east), hello("east")).await,
        Some(Frame::Welcome { .. })
    ));

    // No client certificate.
    assert_eq!(try_hello(&bot.address, pki.path(), None, hello("east")).await, None);
    // A certificate from another CA (the client trusts our CA so that only the bot judges).
    let other = tempfile::tempdir().unwrap();
    certs::init_ca(other.path()).unwrap();
    certs::issue(other.path(), Role::Agent, "east", &[]).unwrap();
    let mut foreign = files(other.path(), "east");
    foreign.ca = pki.path().join("ca.crt");
    assert_eq!(try_hello(&bot.address, pki.path(), Some(&foreign), hello("east")).await, None);
    // An expired agent certificate.
    let past = Validity {
        not_before: time::OffsetDateTime::now_utc() - time::Duration::days(30),
        not_after: time::OffsetDateTime::now_utc() - time::Duration::days(1),
    };
    certs::issue_with_validity(pki.path(), Role::Agent, "stale", &[], past).unwrap();
    assert_eq!(try_hello(&bot.address, pki.path(), Some(&files(pki.path(), "stale")), hello("stale")).await, None);
    // A bot certificate used as an agent (wrong role).
    certs::issue(pki.path(), Role::Bot, "impostor", &[]).unwrap();
    let impostor = files(pki.path(), "impostor");
    assert_eq!(try_hello(&bot.address, pki.path(), Some(&impostor), hello("impostor")).await, None);

    // A valid agent claiming another site, and an unknown protocol version, get the reason.
    let Some(Frame::Refused { reason }) = try_hello(&bot.address, pki.path(), Some(&east), hello("west")).await else {
        panic!("a site claim the certificate does not back must be refused");
    };
    assert!(reason.contains("issued for site `east`, not \"west\""), "{reason}");
    let future = Frame::Hello { version: PROTOCOL_VERSION + 1, site: "east".into(), system: Some(System::Nagios) };
    let Some(Frame::Refused { reason }) = try_hello(&bot.address, pki.path(), Some(&east), future).await else {
        panic!("an unknown version must be refused");
    };
    assert!(reason.contains(&format!("protocol version {} is not supported", PROTOCOL_VERSION + 1)), "{reason}");
    // The release before, whose agents report no steps of a command, is told what to do.
    let older = Frame::Hello { version: 3, site: "east".into(), system: None };
    let Some(Frame::Refused { reason }) = try_hello(&bot.address, pki.path(), Some(&east), older).await else {
        panic!("an older version must be refused");
    };
    assert_eq!(
        reason,
        "protocol version 3 is not supported (this bot speaks version 4); run the same hagios release on agent and bot"
    );
    assert!(bot.sites.connected().is_empty(), "no refused peer may register a site");
}

#[tokio::test]
async fn plaintext_garbage_and_oversized_frames_are_dropped() {
    let pki = pki();
    let bot = start_bot(pki.path()).await;
    // Plaintext TCP speaking the protocol: the TLS layer drops it.
    let mut plain = TcpStream::connect(&bot.address).await.unwrap();
    plain.write_all(&encode(&hello("east")).unwrap()).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(PATIENCE, plain.read_to_end(&mut answer)).await.expect("the bot hangs up");
    assert!(!answer.starts_with(&encode(&Frame::Welcome { version: PROTOCOL_VERSION }).unwrap()));

    certs::issue(pki.path(), Role::Agent, "east", &[]).unwrap();
    let east = files(pki.path(), "east");
    for bytes in [b"\x00\x00\x00\x05hello".to_vec(), u32::MAX.to_be_bytes().to_vec()] {
        let tcp = TcpStream::connect(&bot.address).await.unwrap();
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let mut stream = TlsConnector::from(client_config(&east).unwrap()).connect(name, tcp).await.unwrap();
        stream.write_all(&bytes).await.unwrap();
        stream.flush().await.unwrap();
        let answer = tokio::time::timeout(PATIENCE, read_frame(&mut stream, MAX_FRAME_BYTES)).await.unwrap();
        assert!(matches!(answer, Ok(None) | Err(_)), "the bot answered garbage with {answer:?}");
    }
    assert!(bot.sites.connected().is_empty());
}

#[tokio::test]
async fn an_agent_that_does_not_answer_times_out_and_a_silent_one_is_dropped() {
    let pki = pki();
    let bot = start_bot(pki.path()).await;
    certs::issue(pki.path(), Role::Agent, "mute", &[]).unwrap();
    let tcp = TcpStream::connect(&bot.address).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let config = client_config(&files(pki.path(), "mute")).unwrap();
    let mut stream = TlsConnector::from(config).connect(name, tcp).await.unwrap();
    write_frame(&mut stream, &hello("mute")).await.unwrap();
    assert!(matches!(read_frame(&mut stream, MAX_FRAME_BYTES).await.unwrap(), Some(Frame::Welcome { .. })));
    eventually(|| (bot.sites.connected() == ["mute"]).then_some(())).await;

    // It reads what the bot sends but never answers and never sends a heartbeat.
    let reading =
        tokio::spawn(async move { while let Ok(Some(_)) = read_frame(&mut stream, MAX_FRAME_BYTES).await {} });
    let monitor = SitesMonitor::new(Arc::clone(&bot.sites), Duration::from_millis(300), Permit::always());
    let err = monitor.snapshot().await.unwrap_err().to_string();
    assert!(err.contains("site `mute`: the agent did not answer within"), "{err}");
    eventually(|| bot.sites.connected().is_empty().then_some(())).await;
    reading.await.unwrap();
}

#[tokio::test]
async fn an_agent_certificate_cannot_act_as_the_bot() {
    let pki = pki();
    certs::issue(pki.path(), Role::Agent, "evil", &[]).unwrap();
    certs::issue(pki.path(), Role::Agent, "east", &[]).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let spool_dir = tempfile::tempdir().unwrap();
    let spool = Arc::new(Spool::open(spool_dir.path()).unwrap());
    let impostor = bot_link(pki.path(), "evil", &spool, Quotas::new(Quota::of(10, 1), vec![Arc::clone(&spool)]));
    let (_stop, shutdown) = watch::channel(false);
    tokio::spawn(impostor.serve(listener, shutdown));

    // Even dialled by the very name its certificate carries, the agent refuses it: no serverAuth.
    let tcp = TcpStream::connect(address).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("evil.agent.hagios").unwrap();
    let connector = TlsConnector::from(client_config(&files(pki.path(), "east")).unwrap());
    let err = connector.connect(name, tcp).await.expect_err("an agent certificate served as the bot");
    assert!(err.to_string().contains("extended key usage"), "{err}");

    let reserved = certs::issue(pki.path(), Role::Bot, "bot", &["x.agent.hagios".into()]).unwrap_err();
    assert!(reserved.to_string().contains("reserved for agent certificates"), "{reserved}");
}

#[tokio::test]
async fn the_agent_redials_a_bot_that_welcomed_it_and_then_fell_silent() {
    let pki = pki();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let acceptor = tokio_rustls::TlsAcceptor::from(server_config(&files(pki.path(), "localhost")).unwrap());
    let welcomed = Arc::new(Mutex::new(0usize));
    let counter = Arc::clone(&welcomed);
    // A bot that says Welcome and then never sends another byte (no heartbeats, no acks).
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let mut stream = acceptor.accept(tcp).await.unwrap();
            assert!(matches!(read_frame(&mut stream, MAX_FRAME_BYTES).await.unwrap(), Some(Frame::Hello { .. })));
            write_frame(&mut stream, &Frame::Welcome { version: PROTOCOL_VERSION }).await.unwrap();
            *counter.lock().unwrap() += 1;
            tokio::spawn(async move { while let Ok(Some(_)) = read_frame(&mut stream, MAX_FRAME_BYTES).await {} });
        }
    });
    let agent = start_agent(pki.path(), &[&format!("localhost:{port}")], "east", vec!["web01"], &COMMAND_KINDS);
    agent.spool.write(notification("web01")).unwrap();
    eventually(|| (*welcomed.lock().unwrap() >= 2).then_some(())).await;
    assert_eq!(agent.spool.pending().unwrap().len(), 1, "a record the bot never acknowledged stays");
}

#[tokio::test]
async fn an_agent_whose_certificate_expires_soon_is_welcomed_and_the_bot_warns_naming_the_site() {
    let pki = pki();
    let bot = start_bot(pki.path()).await;
    let (log, _capture) = Log::capture();
    let now = time::OffsetDateTime::now_utc();
    let soon = Validity { not_before: now - time::Duration::days(1), not_after: now + time::Duration::days(10) };
    certs::issue_with_validity(pki.path(), Role::Agent, "east", &[], soon).unwrap();
    let east = files(pki.path(), "east");
    assert!(matches!(
        try_hello(&bot.address, pki.path(), Some(&east), hello("east")).await,
        Some(Frame::Welcome { .. })
    ));
    let logged = log.text();
    assert!(logged.contains("WARN") && logged.contains("the agent certificate of site `east` expires on"), "{logged}");
    assert!(logged.contains("(in 9 days)") && logged.contains("hagios certs renew --dir CA_DIR east"), "{logged}");
}
