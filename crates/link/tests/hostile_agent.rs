//! A compromised agent: a peer holding a valid agent certificate of the bot's CA sends the
//! attacks of SECURITY.md ("Compromised agent") over a real mutual-TLS link, and the bot must
//! not act on any of them. Each test counts the hostile frames it sends (docs/RELIABILITY.md).

mod common;

use common::*;
use hagios_domain::{Action, NotificationType, ObjectRef, Outcome, Permit, Step};
use hagios_link::agent::COMMAND_KINDS;
use hagios_link::protocol::{
    read_frame, write_frame, Frame, Refusal, MAX_FRAME_BYTES, MAX_STEPS_PER_COMMAND, MAX_TEXT_BYTES,
};
use hagios_link::quota::{Quota, NOTICE_HOST};
use hagios_link::sites::SitesMonitor;
use hagios_monitor::Monitor;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

/// A peer with an agent certificate that writes whatever frames it likes.
struct HostileAgent {
    stream: TlsStream<TcpStream>,
}

impl HostileAgent {
    /// Connects with `cert`'s certificate and announces `site`; the bot must welcome it.
    async fn welcomed(bot: &RunningBot, pki: &std::path::Path, cert: &str, site: &str) -> HostileAgent {
        let tls = agent_cert(pki, cert);
        let mut stream = tls_to_bot(&bot.address, pki, Some(&tls)).await.expect("TLS with an agent certificate");
        write_frame(&mut stream, &hello(site)).await.unwrap();
        let answer = read_frame(&mut stream, MAX_FRAME_BYTES).await.unwrap();
        assert!(matches!(answer, Some(Frame::Welcome { .. })), "{answer:?}");
        HostileAgent { stream }
    }

    async fn send(&mut self, frame: &Frame) {
        write_frame(&mut self.stream, frame).await.unwrap();
    }

    /// The bot's next frame other than a heartbeat; `None` once it closed the connection.
    async fn answer(&mut self) -> Option<Frame> {
        loop {
            let next = tokio::time::timeout(PATIENCE, read_frame(&mut self.stream, MAX_FRAME_BYTES)).await;
            match next.expect("the bot answers or hangs up") {
                Ok(Some(Frame::Heartbeat)) => continue,
                Ok(frame) => return frame,
                Err(_) => return None,
            }
        }
    }
}

/// Fails when a hostile value reached the log: a line of unbounded length, a terminal
/// escape, or `marker` (which every oversized value in the test is made of).
fn assert_clean(log: &Log, marker: &str) {
    let text = log.text();
    assert!(!text.is_empty(), "nothing was logged: is the capture working?");
    assert!(!text.contains('\u{1b}'), "an escape sequence reached the log:\n{text}");
    assert!(!text.contains(marker), "a hostile value reached the log:\n{}", &text[..text.len().min(2000)]);
    let longest = text.lines().map(str::len).max().unwrap_or(0);
    assert!(longest < 1000, "a log line of {longest} bytes");
}

fn record(n: usize) -> String {
    format!("{:020}-0000000666-{n:06}", 1_700_000_000_000_000_000u64)
}

#[tokio::test]
async fn only_the_certificate_s_exact_name_may_be_announced() {
    let pki = pki();
    let bot = start_bot(pki.path()).await;
    let (log, _capture) = Log::capture();
    let cert = agent_cert(pki.path(), "nagios01");
    let huge = "Z".repeat(1_000_000);
    let spellings = [
        "NAGIOS01",
        "Nagios01",
        "nagios01 ",
        " nagios01",
        "nagios01.",
        "nagios01.agent.hagios",
        "nаgios01", // Cyrillic а
        "nagios01\0",
        "nagios01\u{1b}[2J",
        "",
        "*",
        "nagios02",
        &huge[..64],
        &huge,
    ];
    for spelling in spellings {
        let answer = try_hello(&bot.address, pki.path(), Some(&cert), hello(spelling)).await;
        let Some(Frame::Refused { reason }) = answer else { panic!("{spelling:?} was not refused: {answer:?}") };
        assert!(reason.len() < 400 && !reason.contains("ZZZZ") && !reason.contains('\u{1b}'), "{reason}");
    }
    assert!(bot.sites.connected().is_empty(), "another spelling registered a site");
    assert_clean(&log, "ZZZZ");

    // The exact name is welcomed, and registered as exactly that.
    let _agent = HostileAgent::welcomed(&bot, pki.path(), "nagios01", "nagios01").await;
    eventually(|| (bot.sites.connected() == ["nagios01"]).then_some(())).await;
    assert_eq!(spellings.len(), 14);
}

#[tokio::test]
async fn a_site_cannot_replace_or_shadow_another_site_s_records() {
    let pki = pki();
    let bot = start_bot(pki.path()).await;
    // east's next notification is spooled; west, compromised, knows its id and gets there first.
    let east_dir = tempfile::tempdir().unwrap();
    let east_spool = hagios_spool::Spool::open(east_dir.path()).unwrap();
    let id = east_spool.write(notification("web01")).unwrap();
    let mut west = HostileAgent::welcomed(&bot, pki.path(), "west", "west").await;
    let mut forged = notification("web01");
    (forged.kind, forged.output, forged.site, forged.id) =
        (NotificationType::Recovery, "OK - nothing to see".into(), "east".into(), format!("{id}.east"));
    for _ in 0..2 {
        west.send(&Frame::Notification { record: id.to_string(), notification: forged.clone() }).await;
        assert_eq!(west.answer().await, Some(Frame::Stored { record: id.to_string() }));
    }

    // Then east delivers the real one under the same id.
    let east = start_agent(pki.path(), &[&bot.address], "east", vec!["web01"], &COMMAND_KINDS);
    east.spool.write_as(&id, east_spool.read(&id).unwrap()).unwrap();
    eventually(|| east.spool.pending().unwrap().is_empty().then_some(())).await;
    let stored = bot.stored();
    let ids: Vec<&str> = stored.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, [format!("{id}.east"), format!("{id}.west")], "one record per site; the repeat replaced its own");
    let (east_record, west_record) = (&stored[0].1, &stored[1].1);
    assert_eq!((east_record.site.as_str(), east_record.kind), ("east", NotificationType::Problem));
    assert_eq!(east_record.output, "CRITICAL - refused", "east's notification is untouched");
    assert_eq!(west_record.site, "west", "the forgery is west's, wherever it claims to come from");
    assert_ne!(east_record.id, west_record.id, "the dedupe key differs, so neither is taken for the other");

    // Ids that try to leave west's namespace end the connection; nothing is stored.
    let escapes =
        [format!("{id}.east"), format!("{id}.west"), "../new/x".into(), format!("{id}/../../x"), "1-2-3.EAST".into()];
    for escape in &escapes {
        let mut west = HostileAgent::welcomed(&bot, pki.path(), "west", "west").await;
        west.send(&Frame::Notification { record: escape.clone(), notification: notification("web01") }).await;
        assert_eq!(west.answer().await, None, "{escape} was accepted");
    }
    assert_eq!(bot.stored().len(), 2);
    assert_eq!(2 + escapes.len(), 7);
}

#[tokio::test]
async fn a_flooding_agent_is_held_at_its_quota_and_chat_hears_of_it_once() {
    let pki = pki();
    let bot = start_bot_with(pki.path(), Quota { records: 5, bytes: u64::MAX }).await;
    let mut west = HostileAgent::welcomed(&bot, pki.path(), "west", "west").await;
    let (mut stored, mut refused) = (0, 0);
    for n in 0..200 {
        west.send(&Frame::Notification { record: record(n), notification: notification("web01") }).await;
        match west.answer().await {
            Some(Frame::Stored { .. }) => stored += 1,
            Some(Frame::OverQuota { record: answered }) => {
                assert_eq!(answered, record(n));
                refused += 1;
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!((stored, refused), (5, 195));
    let notices: Vec<_> = bot.stored().into_iter().filter(|(_, n)| n.object.host == NOTICE_HOST).collect();
    assert_eq!(notices.len(), 1, "one notice, not one per refusal");
    let notice = &notices[0].1;
    assert_eq!((notice.site.as_str(), notice.kind), ("west", NotificationType::Custom));
    assert!(notice.output.contains("site `west` has 5 notifications"), "{}", notice.output);
    assert_eq!(bot.stored().len(), 6);

    // Another site has its own quota.
    let east = start_agent(pki.path(), &[&bot.address], "east", vec!["db01"], &COMMAND_KINDS);
    for _ in 0..3 {
        east.spool.write(notification("db01")).unwrap();
    }
    eventually(|| east.spool.pending().unwrap().is_empty().then_some(())).await;
    assert_eq!(bot.stored().iter().filter(|(_, n)| n.site == "east").count(), 3);
}

#[tokio::test]
async fn a_site_s_bytes_are_capped_too() {
    let pki = pki();
    let quota = 200_000;
    let bot = start_bot_with(pki.path(), Quota { records: 1000, bytes: quota }).await;
    let mut west = HostileAgent::welcomed(&bot, pki.path(), "west", "west").await;
    let mut fat = notification("web01");
    fat.output = "B".repeat(MAX_TEXT_BYTES);
    let mut stored = 0;
    for n in 0..20 {
        west.send(&Frame::Notification { record: record(n), notification: fat.clone() }).await;
        if west.answer().await == Some(Frame::Stored { record: record(n) }) {
            stored += 1;
        }
    }
    let bytes: u64 =
        bot.spool.waiting().unwrap().iter().filter(|(id, _)| id.site() == Some("west")).map(|(_, b)| b).sum();
    assert_eq!(stored, 4, "stored while under {quota} bytes");
    assert!(bytes < quota + MAX_TEXT_BYTES as u64 * 2, "{bytes} bytes: at most one record over the quota");
}

#[tokio::test]
async fn an_agent_held_at_its_quota_keeps_every_record_and_delivers_each_once_when_there_is_room() {
    let pki = pki();
    let bot = start_bot_with(pki.path(), Quota { records: 4, bytes: u64::MAX }).await;
    let agent = start_agent(pki.path(), &[&bot.address], "east", vec![], &COMMAND_KINDS);
    let (log, _capture) = Log::capture();
    let hosts: Vec<String> = (0..12).map(|n| format!("web{n:02}")).collect();
    for host in &hosts {
        agent.spool.write(notification(host)).unwrap();
    }
    // Chat is slow: now and then it takes what waits at the bot, as the pipeline would.
    let mut delivered: Vec<String> = Vec::new();
    let deadline = tokio::time::Instant::now() + PATIENCE * 3;
    while delivered.len() < hosts.len() {
        assert!(tokio::time::Instant::now() < deadline, "only {delivered:?} arrived");
        tokio::time::sleep(Duration::from_millis(700)).await;
        let waiting = agent.spool.pending().unwrap().len();
        let at_bot: Vec<_> = bot.stored().into_iter().filter(|(_, n)| n.object.host != NOTICE_HOST).collect();
        assert!(at_bot.len() <= 5, "the quota held: {}", at_bot.len());
        // A record leaves the agent only once the bot has it: none is ever dropped.
        assert!(waiting + at_bot.len() + delivered.len() >= hosts.len(), "a record was dropped");
        for (id, notification) in at_bot {
            bot.spool.remove(&id.parse().unwrap()).unwrap();
            delivered.push(notification.object.host);
        }
    }
    delivered.sort();
    assert_eq!(delivered, hosts, "every record exactly once");
    let notices = bot.stored().into_iter().filter(|(_, n)| n.object.host == NOTICE_HOST).count();
    assert_eq!(notices, 1, "one notice for the whole episode");
    let logged = log.text();
    assert!(logged.contains("keeping the notifications here"), "{logged}");
}

#[tokio::test]
async fn oversized_fields_end_the_connection_and_reach_neither_log_nor_spool() {
    let pki = pki();
    let bot = start_bot(pki.path()).await;
    let (log, _capture) = Log::capture();
    fn huge(bytes: usize) -> String {
        "Q".repeat(bytes)
    }
    let named = |host: String| {
        let mut hostile = notification("web01");
        hostile.object.host = host;
        Frame::Notification { record: record(1), notification: hostile }
    };
    let mut big_output = notification("web01");
    big_output.output = huge(10_000_000);
    let mut escape_author = notification("web01");
    escape_author.author = Some("mallory\u{1b}]0;owned\u{7}".into());
    fn refusal() -> Refusal {
        Refusal { message: huge(1_000_000), retryable: false }
    }
    let hostile = [
        named(huge(1_000_000)),
        named("web\u{1b}[2J01".into()),
        Frame::Notification { record: huge(1_000_000), notification: notification("web01") },
        Frame::Notification { record: record(2), notification: big_output },
        Frame::Notification { record: record(3), notification: escape_author },
        Frame::CommandStep { id: 1, step: Step::Received { how: huge(1_000_000) } },
        Frame::CommandResult { id: 1, result: Err(refusal()) },
        Frame::CommandResult { id: 1, result: Ok(Outcome::Confirmed(huge(1_000_000))) },
        Frame::State { id: 1, result: Err(refusal()) },
        Frame::Refused { reason: huge(1_000_000) },
        Frame::Hello { version: 2, site: huge(1_000_000), system: None },
    ];
    for frame in &hostile {
        let mut west = HostileAgent::welcomed(&bot, pki.path(), "west", "west").await;
        west.send(frame).await;
        assert_eq!(west.answer().await, None, "{} was not refused", frame.kind());
    }

    // An answer to a real command: the bot drops the link and says so, without the text.
    let mut west = HostileAgent::welcomed(&bot, pki.path(), "west", "west").await;
    eventually(|| (bot.sites.connected() == ["west"]).then_some(())).await;
    let monitor = SitesMonitor::new(Arc::clone(&bot.sites), PATIENCE, Permit::always());
    let recheck = Action::Recheck { target: ObjectRef::host("web01") };
    let answering = tokio::spawn(async move {
        match west.answer().await {
            Some(Frame::Command { id, .. }) => west.send(&Frame::CommandResult { id, result: Err(refusal()) }).await,
            other => panic!("{other:?}"),
        }
    });
    let err = monitor.execute_at("west", &recheck, "alice").await.unwrap_err().to_string();
    assert!(err.contains("the agent went away before the final word") && !err.contains("QQQQ"), "{err}");
    answering.await.unwrap();

    assert!(bot.stored().is_empty(), "nothing hostile was stored");
    assert_clean(&log, "QQQQ");
    assert_eq!(hostile.len() + 1, 12);
}

/// The id of the command the bot sent `agent`.
async fn command_id(agent: &mut HostileAgent) -> u64 {
    match agent.answer().await {
        Some(Frame::Command { id, .. }) => id,
        other => panic!("expected a command, got {other:?}"),
    }
}

/// Sends a notification and waits until the bot stored it: every frame sent before was read.
async fn read_so_far(agent: &mut HostileAgent, n: usize) {
    agent.send(&Frame::Notification { record: record(n), notification: notification("web01") }).await;
    assert_eq!(agent.answer().await, Some(Frame::Stored { record: record(n) }));
}

#[tokio::test]
async fn steps_of_a_command_another_site_carries_out_or_of_none_are_refused_and_a_command_takes_few() {
    let pki = pki();
    let bot = start_bot(pki.path()).await;
    let (log, _capture) = Log::capture();
    let mut east = HostileAgent::welcomed(&bot, pki.path(), "east", "east").await;
    let mut west = HostileAgent::welcomed(&bot, pki.path(), "west", "west").await;
    eventually(|| (bot.sites.connected() == ["east", "west"]).then_some(())).await;
    let monitor = SitesMonitor::new(Arc::clone(&bot.sites), PATIENCE, Permit::always());
    let seen = StepsSeen::default();
    let waiting = {
        let seen = seen.clone();
        tokio::spawn(async move {
            let recheck = Action::Recheck { target: ObjectRef::host("web01") };
            monitor.execute_at_with("east", &recheck, "alice", &|step| seen.take(step)).await
        })
    };
    let id = command_id(&mut east).await;

    // west knows (or guesses) the id of east's command; neither its steps nor steps for ids the
    // bot never sent reach the reply, and the links stay up.
    let forged = Step::Received { how: "Nagios read it (forged by west)".into() };
    for bogus in [id, id + 1, 0, u64::MAX] {
        west.send(&Frame::CommandStep { id: bogus, step: forged.clone() }).await;
    }
    read_so_far(&mut west, 1).await;
    east.send(&Frame::CommandStep { id: id + 1, step: forged.clone() }).await;
    read_so_far(&mut east, 2).await;
    assert!(seen.seen().is_empty(), "a step nobody waits for was shown: {:?}", seen.seen());

    // east floods its own command with steps: it takes a few, then the final word.
    let flood: Vec<Step> = (0..100).map(|n| Step::Received { how: format!("step {n}") }).collect();
    for step in &flood {
        east.send(&Frame::CommandStep { id, step: step.clone() }).await;
    }
    east.send(&Frame::CommandResult { id, result: Ok(Outcome::Confirmed("rechecked".into())) }).await;
    let outcome = waiting.await.unwrap().unwrap();
    assert_eq!(outcome, Outcome::Confirmed("rechecked".into()));
    let shown = seen.seen();
    assert!(!shown.is_empty() && shown.len() <= MAX_STEPS_PER_COMMAND, "{} steps shown", shown.len());
    assert_eq!(shown, flood[..shown.len()], "in the order sent");
    // After the final word, a late step finds nobody.
    east.send(&Frame::CommandStep { id, step: forged }).await;
    read_so_far(&mut east, 3).await;
    assert_eq!(seen.seen(), shown);
    assert!(!log.text().contains("forged"), "a step's text reached the log");
}

#[tokio::test]
async fn an_agent_gone_or_silent_while_a_command_waits_leaves_what_it_said_never_silence() {
    let pki = pki();
    let bot = start_bot(pki.path()).await;
    let recheck = Action::Recheck { target: ObjectRef::host("web01") };

    // The agent said it sent the command and that Nagios read it, then its link broke.
    let mut east = HostileAgent::welcomed(&bot, pki.path(), "east", "east").await;
    eventually(|| (bot.sites.connected() == ["east"]).then_some(())).await;
    let monitor = Arc::new(SitesMonitor::new(Arc::clone(&bot.sites), PATIENCE, Permit::always()));
    let seen = StepsSeen::default();
    let waiting = {
        let (monitor, seen, recheck) = (Arc::clone(&monitor), seen.clone(), recheck.clone());
        tokio::spawn(async move { monitor.execute_at_with("east", &recheck, "alice", &|step| seen.take(step)).await })
    };
    let id = command_id(&mut east).await;
    for step in sent_and_read("east") {
        east.send(&Frame::CommandStep { id, step }).await;
    }
    eventually(|| (seen.seen().len() == 2).then_some(())).await;
    drop(east);
    let outcome = tokio::time::timeout(PATIENCE, waiting).await.expect("answered once the link broke").unwrap();
    let Ok(Outcome::Unconfirmed(detail)) = outcome else { panic!("{outcome:?}") };
    assert_eq!(
        detail,
        "Nagios at east read it (its log shows the command); then the agent at site `east` went away before the \
         final word (it stopped, restarted or lost the link)"
    );

    // One that went away before saying it sent the command: whether it did is not known.
    let mut east = HostileAgent::welcomed(&bot, pki.path(), "east", "east").await;
    eventually(|| (bot.sites.connected() == ["east"]).then_some(())).await;
    let waiting = {
        let (monitor, recheck) = (Arc::clone(&monitor), recheck.clone());
        tokio::spawn(async move { monitor.execute_at("east", &recheck, "alice").await })
    };
    command_id(&mut east).await;
    drop(east);
    let err = tokio::time::timeout(PATIENCE, waiting).await.expect("answered").unwrap().unwrap_err().to_string();
    assert!(
        err.contains("site `east`: the agent went away before the final word")
            && err.contains("had not said whether it sent the command"),
        "{err}"
    );

    // One that said it sent the command and then fell silent: the bot's timeout is the last guard.
    let mut east = HostileAgent::welcomed(&bot, pki.path(), "east", "east").await;
    eventually(|| (bot.sites.connected() == ["east"]).then_some(())).await;
    let impatient = SitesMonitor::new(Arc::clone(&bot.sites), Duration::from_secs(1), Permit::always());
    let waiting = tokio::spawn(async move { impatient.execute_at("east", &recheck, "alice").await });
    let id = command_id(&mut east).await;
    let [sent, _] = sent_and_read("east");
    east.send(&Frame::CommandStep { id, step: sent }).await;
    let outcome = tokio::time::timeout(PATIENCE, waiting).await.expect("answered").unwrap();
    assert_eq!(
        outcome.unwrap(),
        Outcome::Unconfirmed(
            "the agent at site `east` gave no final word within 1 s ([bot] command_timeout); the site gives it \
             within 25 s: raise command_timeout above that"
                .into()
        )
    );
}
