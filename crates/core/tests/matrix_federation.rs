//! The federation is not trusted: `run::serve` with `[matrix]` against a real, private Synapse
//! and a real, private Nagios, whose `allowed_servers` names another homeserver than the test's
//! (one Synapse has one server name, so its people stand for strangers). A stranger's invitation
//! is declined with a reason they see; everything a stranger asks — read commands, actions, a ✅
//! reaction, attack strings — is refused in the room and audited, and reaches neither the router
//! nor Nagios; a stranger whom `[[user]]` names is answered.

mod common;

use common::PATIENCE;
use hagios_spool::Spool;
use hagios_testkit::{wait_until, MatrixUser, SynapseInstance, SynapseOptions};
use serde_json::{json, Value};

/// What a stranger types, mentioning the bot in the alert's thread: reads, actions, and text
/// built to break what comes after (a trailing backslash, a second external command).
const STRANGER_TEXTS: &[&str] = &[
    "status web01",
    "problems",
    "help",
    "ack looking",
    "downtime web01 2h",
    "ack web01 HTTP a\\",
    "comment web01 HTTP x\n[0] RESTART_PROGRAM",
];
const REFUSAL: &str = "refused: hagios answers people of the servers it is set up for";

#[tokio::test(flavor = "multi_thread")]
async fn strangers_from_other_homeservers_are_declined_refused_and_audited() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let Some(nagios) = common::nagios_with_a_problem() else { return };
    let Some(synapse) = SynapseInstance::start(SynapseOptions::default()) else { return };
    let key = ("web01".to_owned(), "HTTP".to_owned());

    let bot = synapse.register("hagios", "bot-password");
    let mallory = synapse.register("mallory", "mallory-password");
    let partner = synapse.register("partner", "partner-password");
    // A public room: the bot joins it when it first posts, without anyone's invitation.
    let room = mallory.create_room(&[], json!({ "preset": "public_chat", "name": "alerts" }));
    partner.join(&room);

    std::env::set_var("FEDERATION_MATRIX_ACCESS_TOKEN", &bot.token);
    let dir = tempfile::tempdir().expect("temp dir");
    let chat = format!(
        r#"
[matrix]
homeserver = "{homeserver}"
user = "{bot_user}"
default_room = "{room}"
access_token_env = "FEDERATION_MATRIX_ACCESS_TOKEN"
allowed_servers = ["elsewhere.example"]
"#,
        homeserver = synapse.url(),
        bot_user = bot.user_id,
    );
    // The partner is named, so answered although their homeserver is not allowed; and acting
    // commands are granted, so that a stranger's command run by mistake would show in Nagios.
    let responders = [partner.user_id.as_str(), "@nobody:elsewhere.example"];
    let config = common::configuration(dir.path(), &nagios, &chat, &["ack", "downtime", "comment"], &responders);
    let running = common::Running::start(config);

    // Invitations show in the bot's first sync: its answer also says the bot is listening.
    let dm = mallory.create_room(&[&bot.user_id], json!({ "is_direct": true }));
    let membership = format!("/rooms/{}/state/m.room.member/{}", url(&dm), url(&bot.user_id));
    let inviter = mallory.clone();
    let declined = blocking(move || {
        wait_until(PATIENCE, || {
            let (status, member) = inviter.try_call("GET", &membership, None);
            (status == 200 && member["membership"] == "leave").then_some(member)
        })
    })
    .await
    .expect("the stranger's invitation was declined");
    let reason = declined["reason"].as_str().unwrap_or_default();
    assert!(reason.contains(&mallory.user_id) && reason.contains("allowed_servers"), "{reason}");

    let problem = common::web01_http_problem();
    Spool::open(dir.path().join("spool")).expect("spool").write(problem).expect("spooled as hagios-notify does");
    let alert = wait_for(&partner, &room, "the alert", |messages| {
        messages
            .iter()
            .find(|m| body(m).contains("web01!HTTP"))
            .map(|m| m["event_id"].as_str().unwrap_or("").to_owned())
    })
    .await;

    for text in STRANGER_TEXTS {
        mallory.send_text(&room, Some(&alert), &format!("hagios: {text}"));
    }
    mallory.react(&room, &alert, "✅");
    let hostile = STRANGER_TEXTS.len() + 1;
    let refusals = wait_for(&partner, &room, "a refusal for each stranger's try", move |messages| {
        let refused = messages.iter().filter(|m| body(m).starts_with(REFUSAL)).count();
        (refused >= hostile).then_some(refused)
    })
    .await;
    assert_eq!(refusals, hostile);

    // A stranger named by [[user]] is answered, by their roles.
    partner.send_text(&room, Some(&alert), "hagios: ack on it");
    wait_for(&partner, &room, "the listed partner's confirmed ack", |messages| {
        messages.iter().any(|m| body(m).contains("confirmed by Nagios")).then_some(())
    })
    .await;

    let audit =
        hagios_store::Store::open(dir.path().join("state.db")).expect("store").recent_audit(100).expect("audit log");
    let (strangers, others): (Vec<_>, Vec<_>) = audit.iter().partition(|record| record.user_id == mallory.user_id);
    assert_eq!(strangers.len(), hostile, "every try audited: {audit:#?}");
    for record in &strangers {
        assert!(!record.allowed && record.command.is_none() && record.parsed.is_none(), "{record:#?}");
        assert!(record.result.starts_with(REFUSAL) && record.user_name == mallory.user_id, "{record:#?}");
    }
    assert!(strangers.iter().any(|record| record.raw_text == "ack web01 HTTP a\\"), "{strangers:#?}");
    assert!(others.iter().all(|record| record.user_id == partner.user_id && record.allowed), "{others:#?}");
    let status = nagios.wait_for_state(PATIENCE, |status| status.services[&key].acknowledged).expect("acknowledged");
    let acks = status.comments.iter().filter(|comment| comment.text.contains("on it")).count();
    assert_eq!((acks, status.comments.len()), (1, 1), "only the partner's ack: {:#?}", status.comments);
    assert!(status.downtimes.is_empty(), "{:#?}", status.downtimes);

    running.stop().await;
}

/// Waits until `found` finds something in the room's messages, as `reader` sees them.
async fn wait_for<T: Send + 'static>(
    reader: &MatrixUser,
    room: &str,
    what: &'static str,
    found: impl Fn(&[Value]) -> Option<T> + Send + 'static,
) -> T {
    let (reader, room) = (reader.clone(), room.to_owned());
    blocking(move || {
        wait_until(PATIENCE, || found(&reader.messages(&room)))
            .unwrap_or_else(|| panic!("no {what}; the room has:\n{:#?}", reader.messages(&room)))
    })
    .await
}

/// The testkit's users block on their HTTP calls: off the runtime's workers.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(work).await.expect("blocking test step")
}

fn body(message: &Value) -> &str {
    message["content"]["body"].as_str().unwrap_or_default()
}

fn url(segment: &str) -> String {
    hagios_testkit::url_encode(segment)
}
