//! `hagios run` with the fake Slack against a real, private Icinga 2: `host add` / `host remove`
//! ask their question with Yes and Cancel buttons, and a press goes through the same router,
//! second-person rule, authorization and audit as a typed `yes` / `cancel`.

mod common;

use common::{write_config, HAGIOS, PATIENCE};
use hagios_fakeslack::{FakeSlack, Message, APP_TOKEN, BOT_TOKEN};
use hagios_testkit::{IcingaInstance, IcingaOptions};
use std::path::PathBuf;
use std::process::{Child, Command};

const ALICE: &str = "U0ALICE";
const BOB: &str = "U0BOB";
const STRANGER: &str = "U0STRANGER";
const CHANNEL: &str = "C0OPS";

struct Site {
    icinga: IcingaInstance,
    slack: FakeSlack,
    runtime: tokio::runtime::Runtime,
    bot: Child,
    config: PathBuf,
    _dir: tempfile::TempDir,
}

impl Site {
    /// Alice and Bob may run `host`; a second person must confirm.
    fn start() -> Option<Site> {
        let icinga = IcingaInstance::start(IcingaOptions::default())?;
        let runtime = tokio::runtime::Runtime::new().expect("runtime for the fake Slack");
        let slack = runtime.block_on(FakeSlack::start(&[(CHANNEL, "ops")]));
        let dir = tempfile::tempdir().expect("temp dir");
        let backend = format!(
            "[icinga]\nsite = \"test\"\nurl = \"{}\"\nuser = \"{}\"\npassword_env = \"TEST_ICINGA_PASSWORD\"\n\
             ca_file = \"{}\"\nconfirm_timeout = \"15s\"\n",
            icinga.url(),
            icinga.api_user(),
            icinga.ca_file().display(),
        );
        let chat = format!(
            "[slack]\napi_url = \"{}\"\ndefault_channel = \"{CHANNEL}\"\nsocket_connections = 1\n\n\
             [commands]\nsecond_person_confirms = true\n\n[[user]]\nchat_id = \"{BOB}\"\nroles = [\"responder\"]\n",
            slack.api_url()
        );
        let config = write_config(dir.path(), &backend, &chat, ALICE);
        slack.add_user(ALICE, "Alice");
        slack.add_user(BOB, "Bob");
        let bot = Command::new(HAGIOS)
            .args(["run", "--config"])
            .arg(&config)
            .env("HAGIOS_LOG", "hagios=debug,info")
            .env("TEST_ICINGA_PASSWORD", icinga.api_password())
            .env("SLACK_BOT_TOKEN", BOT_TOKEN)
            .env("SLACK_APP_TOKEN", APP_TOKEN)
            .spawn()
            .expect("start hagios run");
        runtime.block_on(slack.wait_connected(PATIENCE));
        Some(Site { icinga, slack, runtime, bot, config, _dir: dir })
    }

    fn find(&self, what: &str, found: impl Fn(&Message) -> bool) -> Message {
        let first = |fake: &FakeSlack| fake.bot_messages().into_iter().find(|m| found(m));
        self.runtime.block_on(self.slack.wait_until(what, PATIENCE, |fake| first(fake).is_some()));
        first(&self.slack).expect("found")
    }

    /// The bot's top-level message asking about `needle`.
    fn question(&self, needle: &str) -> Message {
        self.find(&format!("a question with {needle:?}"), |m| !m.is_reply() && text_of(m).contains(needle))
    }

    /// `user` presses `action_id` on `question` and the bot answers with `needle` in its thread.
    fn press(&self, user: &str, question: &Message, action_id: &str, needle: &str) {
        self.slack.press_button(user, CHANNEL, &question.ts, action_id);
        self.find(&format!("{user} pressed {action_id}: a reply with {needle:?}"), |m| {
            m.thread_ts.as_deref() == Some(question.ts.as_str()) && m.is_reply() && text_of(m).contains(needle)
        });
    }

    /// Waits until `question` was edited to show `outcome` and has no buttons any more.
    fn answered(&self, question: &Message, outcome: &str) {
        self.find(&format!("the question edited to {outcome:?}"), |m| {
            m.ts == question.ts && m.edits > 0 && text_of(m).contains(outcome) && !text_of(m).contains("hagios_yes")
        });
    }

    fn has_host(&self, name: &str) -> bool {
        !self.icinga.object_attrs(name, None).is_null()
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        let _ = self.bot.kill();
        let _ = self.bot.wait();
    }
}

/// The number a question gives its request: `… (request 645823; …`.
fn request_number(question: &Message) -> u32 {
    let text = text_of(question);
    let digits = text.split("(request ").nth(1).and_then(|rest| rest.split(';').next());
    digits.and_then(|digits| digits.parse().ok()).unwrap_or_else(|| panic!("no request number in {text}"))
}

fn text_of(message: &Message) -> String {
    message.blocks.as_ref().map_or_else(|| message.text.clone(), |blocks| blocks.to_string())
}

#[test]
fn yes_and_cancel_buttons_follow_the_second_person_rule_and_are_audited() {
    let Some(site) = Site::start() else { return };
    site.slack.mention(ALICE, CHANNEL, None, "host add web05 192.0.2.5 hagios-host");
    let add = site.question("this will add host web05");
    let blocks = text_of(&add);
    assert!(blocks.contains("hagios_yes") && blocks.contains("hagios_cancel"), "{blocks}");

    let first = request_number(&add);
    site.press(ALICE, &add, "hagios_yes", &format!("request {first} needs a `yes` from another authorized person"));
    site.press(STRANGER, &add, "hagios_yes", "may not `host`");
    assert!(!site.has_host("web05"), "nothing happens before the second person's yes");
    site.press(BOB, &add, "hagios_yes", "added host web05 — confirmed by Icinga 2");
    assert_eq!(site.icinga.object_attrs("web05", None)["address"], "192.0.2.5");
    // The question now shows the outcome instead of its buttons; a late `yes` is told so.
    site.answered(&add, "Bob: added host web05 — confirmed by Icinga 2");
    site.slack.mention(BOB, CHANNEL, Some(&add.ts), &format!("yes {first}"));
    site.find("a late yes answered", |m| text_of(m).contains(&format!("request {first} is not waiting any more")));

    site.slack.mention(ALICE, CHANNEL, None, "host remove web05");
    let remove = site.question("this will remove host web05");
    let second = request_number(&remove);
    site.press(STRANGER, &remove, "hagios_cancel", "may not `host`");
    site.press(ALICE, &remove, "hagios_cancel", &format!("cancelled request {second}: nothing will remove host web05"));
    site.answered(&remove, &format!("Alice: cancelled request {second}"));
    assert!(site.has_host("web05"), "a cancelled removal removes nothing");

    let audit = Command::new(HAGIOS).args(["audit", "--config"]).arg(&site.config).output().expect("hagios audit");
    let audit = String::from_utf8_lossy(&audit.stdout);
    for line in [
        format!(r#"allowed host add "host add web05 192.0.2.5 hagios-host" -> awaiting yes (request {first})"#),
        format!(r#"allowed yes "yes {first}" -> confirmed: host web05 added"#),
        format!(r#"allowed cancel "cancel {second}" -> cancelled request {second}"#),
        format!(r#"U0STRANGER(U0STRANGER) refused yes "yes {first}""#),
        format!(r#"U0STRANGER(U0STRANGER) refused cancel "cancel {second}""#),
    ] {
        assert!(audit.contains(&line), "{line}\n{audit}");
    }
}
