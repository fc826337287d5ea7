//! Chaos in the split deployment: while a storm of notifications flows from a site's spool
//! through `hagios agent` and `hagios bot` (mutual TLS) to the fake Slack, the bot and the agent
//! are killed with SIGKILL at random moments and restarted. In the end every alert is in Slack
//! exactly once, counted at the fake.
//!
//! CI runs it small (200 alerts, 12 kills). `bench/chaos.sh` runs it large through the knobs
//! `HAGIOS_CHAOS_ALERTS`, `HAGIOS_CHAOS_KILLS` and `HAGIOS_CHAOS_SEED` (see docs/RELIABILITY.md).

mod common;

use common::split::{Deployment, EVERYTHING};
use common::storm::{channels, routes, service};
use common::{knob, Daemon, SLACK_TOKENS};
use hagios_fakeslack::FakeSlack;
use hagios_testkit::wait_until;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// xorshift64*: enough randomness for kill moments, reproducible from the printed seed.
struct Dice(u64);

impl Dice {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % bound
    }

    fn pause(&mut self, max_millis: u64) {
        std::thread::sleep(Duration::from_millis(self.below(max_millis + 1)));
    }
}

fn start_bot(config: &Path) -> Daemon {
    Daemon::start_with_env("bot", config, &SLACK_TOKENS)
}

#[test]
fn alerts_survive_kill_9_of_bot_and_agent_during_a_storm_exactly_once() {
    let alerts = knob("HAGIOS_CHAOS_ALERTS", 200) as usize;
    let kills = knob("HAGIOS_CHAOS_KILLS", 12) as usize;
    let seed = knob("HAGIOS_CHAOS_SEED", std::process::id().into()) | 1;
    eprintln!("chaos: {alerts} alerts, {kills} kills, HAGIOS_CHAOS_SEED={seed}");

    let runtime = tokio::runtime::Runtime::new().expect("runtime for the fake Slack");
    let channels = channels();
    let channels: Vec<(&str, &str)> = channels.iter().map(|(id, name)| (id.as_str(), name.as_str())).collect();
    let slack = runtime.block_on(FakeSlack::start(&channels));
    let deployment = Deployment::new();
    let chat = common::slack_chat(&slack.api_url()) + &routes();
    let bot_config = deployment.bot_config_with(&chat);
    let mut bot = Some(start_bot(&bot_config));
    let Some(mut east) = deployment.site("east", "", EVERYTHING) else { return };

    // The storm: alert i is raised once i/alerts of the kills are done, so kills land all
    // through it.
    let kills_done = Arc::new(AtomicUsize::new(0));
    let storm = {
        let (spool, kills_done) = (east.spool.clone(), Arc::clone(&kills_done));
        std::thread::spawn(move || {
            for number in 0..alerts {
                while kills_done.load(Ordering::SeqCst) * alerts < number * kills {
                    std::thread::sleep(Duration::from_millis(5));
                }
                let output = common::notify_problem(&spool, "east", &service(number));
                assert!(output.status.success(), "hagios notify: {}", String::from_utf8_lossy(&output.stderr));
            }
        })
    };

    // Kill k waits until k/(kills+1) of the alerts are in Slack, so kills land all through the
    // deliveries too; the dice pick the moment within that stretch.
    let patience = Duration::from_secs(60) + Duration::from_millis(50) * alerts as u32;
    let mut dice = Dice(seed);
    let mut killed = [0; 2];
    for round in 0..kills {
        let posted = round * alerts / (kills + 1);
        wait_until(patience, || (slack.bot_messages().len() >= posted).then_some(()))
            .unwrap_or_else(|| panic!("fewer than {posted} alerts in Slack before kill {round}"));
        dice.pause(800);
        // Alternate, so that both are killed however the dice fall; the dice pick the moments.
        if round % 2 == 0 {
            bot.take().expect("bot running").kill();
            killed[0] += 1;
            dice.pause(400);
            bot = Some(start_bot(&bot_config));
        } else {
            east.crash_and_restart_agent();
            killed[1] += 1;
        }
        kills_done.fetch_add(1, Ordering::SeqCst);
    }
    storm.join().expect("the storm ran");
    eprintln!("chaos: killed the bot {} times and the agent {} times", killed[0], killed[1]);

    runtime.block_on(slack.wait_until("every alert in Slack", patience, |fake| fake.bot_messages().len() >= alerts));
    let bot_spool = deployment.bot_spool();
    wait_until(patience, || (east.spooled() == 0 && common::spooled(&bot_spool) == 0).then_some(()))
        .expect("both spools drain");
    let services: Vec<String> = (0..alerts).map(service).collect();
    common::assert_one_alert_each(&slack.bot_messages(), &services);
    eprintln!(
        "chaos: {alerts} alerts posted once each; chat.postMessage called {} times",
        slack.calls("chat.postMessage")
    );
}
