//! The in-process step of a chat command on the Nagios backend that is pure computation: rendering
//! a typed command to its external-command line, with a comment that needs cleaning. The whole
//! path (with Nagios) is measured by `bench/command-latency.sh`.

use criterion::{criterion_group, criterion_main, Criterion};
use hagios_monitor::nagios::command::{clean_author, render, AckOptions, ExternalCommand};
use std::hint::black_box;

fn render_commands(c: &mut Criterion) {
    let comment = "looking into it; the \"db\" is at $HOME\n".repeat(5);
    let ack = ExternalCommand::AcknowledgeSvcProblem {
        host: "web01.example.org".to_owned(),
        service: "HTTP Load".to_owned(),
        ack: AckOptions {
            sticky: true,
            notify: true,
            persistent: false,
            author: clean_author("Olive Oncall").expect("a usable author"),
            comment: comment.clone(),
        },
    };
    let unack = ExternalCommand::RemoveSvcAcknowledgement {
        host: "web01.example.org".to_owned(),
        service: "HTTP Load".to_owned(),
    };
    c.bench_function("render ack with a 200-byte comment to clean", |b| {
        b.iter(|| render(black_box(&ack), black_box(1_795_551_281)))
    });
    c.bench_function("render unack", |b| b.iter(|| render(black_box(&unack), black_box(1_795_551_281))));
}

criterion_group!(benches, render_commands);
criterion_main!(benches);
