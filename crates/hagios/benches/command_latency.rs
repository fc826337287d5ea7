//! Command latency end to end, against a real, private Nagios: a command typed into `hagios run`'s
//! terminal chat until its "confirmed by Nagios" reply, split at the moment hagios has written the
//! external command to the FIFO (its `sent to Nagios, confirming` log line). Before that moment is
//! hagios' own time (read the line, parse, authorize, audit, validate against the snapshot, render,
//! FIFO write); after it, Nagios' time until hagios has its evidence (its log, its notification
//! or status.dat, rewritten every `status_update_interval`) and the reply shows the final word.
//!
//! Not a criterion bench: every sample waits for Nagios. Run with `bench/command-latency.sh`
//! (`HAGIOS_LATENCY_RUNS` commands, 40 by default; `HAGIOS_LATENCY_STATUS_INTERVAL` seconds
//! between status.dat writes, 1 by default, Debian ships 10).

#[path = "../tests/common/mod.rs"]
mod common;

use common::knob;
use hagios_testkit::NagiosOptions;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, SystemTime};

const SENT: &str = "sent to Nagios, confirming";
const CONFIRMED: &str = "confirmed by Nagios";

/// Lines of a child's output stream with the time each was read.
fn timed_lines(stream: impl std::io::Read + Send + 'static) -> mpsc::Receiver<(SystemTime, String)> {
    let (sender, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            let _ = sender.send((SystemTime::now(), line));
        }
    });
    lines
}

/// The next line containing `needle`, within `patience`.
fn next_with(lines: &mpsc::Receiver<(SystemTime, String)>, needle: &str) -> (SystemTime, String) {
    loop {
        let (at, line) = lines.recv_timeout(common::PATIENCE).unwrap_or_else(|_| panic!("no {needle:?} in time"));
        if line.contains(needle) {
            return (at, line);
        }
    }
}

/// The time stamp tracing puts first on a log line (`2026-11-25T22:21:14.399039Z  INFO …`).
fn logged_at(line: &str) -> SystemTime {
    let stamp = line.split_whitespace().next().expect("a time stamp");
    humantime::parse_rfc3339(stamp).unwrap_or_else(|e| panic!("{stamp:?}: {e}"))
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Median, 90th percentile, min and max of `samples`, in ms.
fn summary(name: &str, mut samples: Vec<f64>) {
    if samples.is_empty() {
        return;
    }
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    println!("| {name} | {:.2} | {:.2} | {:.2} | {:.2} |", at(0.5), at(0.9), at(0.0), at(1.0));
}

fn main() {
    // `cargo test --all-targets` (the test command) runs this without `--bench`: two commands
    // then show the harness still works, without spending a minute on measuring.
    let measuring = std::env::args().any(|arg| arg == "--bench");
    let runs = if measuring { knob("HAGIOS_LATENCY_RUNS", 40) as usize } else { 2 };
    // One person types every command, faster than [commands] rate_limit lets anyone: the bench
    // measures a command's way through, not the limit.
    let chat = "[terminal]\nuser = \"oncall\"\n\n[commands]\nrate_limit = \"1000/1m\"";
    // Nagios' status.dat cadence: the lab's 1 s, or Debian's stock 10 s.
    let interval = knob("HAGIOS_LATENCY_STATUS_INTERVAL", 1);
    let options = NagiosOptions { status_update_interval: Some(interval as u32), ..Default::default() };
    let Some(site) = common::start_site_with(chat, "oncall", options) else { return };
    site.nagios.submit_service_result("web01", "HTTP", 2, "CRITICAL - latency bench");
    site.nagios
        .wait_for_state(common::PATIENCE, |status| {
            status
                .services
                .get(&("web01".into(), "HTTP".into()))
                .is_some_and(|view| view.state == hagios_domain::State::Critical)
        })
        .expect("web01!HTTP is CRITICAL");
    let mut bot = Command::new(common::HAGIOS)
        .args(["run", "--config"])
        .arg(&site.config)
        .env("HAGIOS_LOG", "hagios_monitor=info,warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start hagios run");
    let mut typing = bot.stdin.take().expect("stdin");
    let replies = timed_lines(bot.stdout.take().expect("stdout"));
    let logs = timed_lines(bot.stderr.take().expect("stderr"));

    let (mut own, mut nagios, mut total) = (Vec::new(), Vec::new(), Vec::new());
    // The total of each command on its own: an ack is confirmed by Nagios' log at once, an
    // unack waits for a status.dat written after Nagios read it.
    let (mut acks, mut unacks) = (Vec::new(), Vec::new());
    for run in 0..runs {
        // A person types at any moment of Nagios' status.dat cycle, not right after the previous
        // confirmation (which follows a status.dat write and would always wait a full cycle):
        // pauses of 0 up to the interval, spread evenly over the cycle (golden-ratio steps).
        std::thread::sleep(Duration::from_secs_f64((run as f64 * 0.618_034).fract() * interval as f64));
        let command = if run % 2 == 0 { "ack web01 HTTP latency bench" } else { "unack web01 HTTP" };
        let typed = SystemTime::now();
        writeln!(typing, "{command}").expect("type the command");
        let sent = logged_at(&next_with(&logs, SENT).1);
        let (confirmed, _) = next_with(&replies, CONFIRMED);
        let own_time = sent.duration_since(typed).unwrap_or_default();
        let nagios_time = confirmed.duration_since(sent).unwrap_or_default();
        own.push(millis(own_time));
        nagios.push(millis(nagios_time));
        total.push(millis(own_time + nagios_time));
        if run % 2 == 0 { &mut acks } else { &mut unacks }.push(millis(own_time + nagios_time));
    }
    let _ = bot.kill();
    let _ = bot.wait();
    println!(
        "{runs} commands (ack and unack alternating, 0–{interval} s apart) on a real Nagios 4, \
         status_update_interval={interval}:\n"
    );
    println!("| part | median ms | p90 ms | min ms | max ms |\n|---|---:|---:|---:|---:|");
    summary("hagios: typed → external command in the FIFO", own);
    summary("Nagios: FIFO → its evidence (log, notification or status.dat), final word shown", nagios);
    summary("total: typed → \"confirmed by Nagios\"", total);
    summary("total, `ack` alone", acks);
    summary("total, `unack` alone", unacks);
}
