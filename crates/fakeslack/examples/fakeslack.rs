//! The fake Slack as a standalone process, for benchmarks (bench/storm.sh): serves the given
//! channels with Slack's one post per second per channel enforced, prints its Web API URL, and
//! on SIGTERM or SIGINT writes what it saw into REPORT_DIR: `report.txt` (calls per method,
//! refused posts, the most posts any channel got within one second, timed as they arrived) and
//! `messages.txt` (the text of every bot message, for counting what was delivered).
//!
//! Usage: cargo run --release -p hagios-fakeslack --example fakeslack -- REPORT_DIR CHANNEL...

use hagios_fakeslack::FakeSlack;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let Some(report_dir) = args.next() else {
        eprintln!("usage: fakeslack REPORT_DIR CHANNEL... (channel ids, e.g. C0ALERTS)");
        std::process::exit(2);
    };
    let channels: Vec<String> = args.collect();
    let named: Vec<(&str, &str)> = channels.iter().map(|id| (id.as_str(), id.as_str())).collect();
    let fake = FakeSlack::start(&named).await;
    fake.limit_posts_per_channel(Duration::from_secs(1));
    println!("{}", fake.api_url());

    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM");
    tokio::select! {
        _ = terminate.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    let messages = fake.bot_messages();
    let dump: String = messages.iter().map(|message| format!("{}\n", message.shown_text())).collect();
    std::fs::write(format!("{report_dir}/messages.txt"), dump).expect("write messages.txt");
    let mut report = String::new();
    for method in ["chat.postMessage", "chat.update", "conversations.history", "conversations.replies"] {
        writeln!(report, "calls {method} {}", fake.calls(method)).expect("string");
    }
    writeln!(report, "refused_as_too_fast {}", fake.rate_limited()).expect("string");
    writeln!(report, "bot_messages {}", messages.len()).expect("string");
    writeln!(report, "max_posts_in_one_second_per_channel {}", busiest_second(&fake.accepted_posts())).expect("string");
    std::fs::write(format!("{report_dir}/report.txt"), report).expect("write report.txt");
}

/// The most posts one channel got within any one-second window.
fn busiest_second(posts: &[(String, Instant)]) -> usize {
    let mut by_channel: HashMap<&str, Vec<Instant>> = HashMap::new();
    for (channel, at) in posts {
        by_channel.entry(channel).or_default().push(*at);
    }
    let mut busiest = 0;
    for times in by_channel.values_mut() {
        times.sort();
        for (index, start) in times.iter().enumerate() {
            let within =
                times[index..].iter().take_while(|at| at.duration_since(*start) < Duration::from_secs(1)).count();
            busiest = busiest.max(within);
        }
    }
    busiest
}
