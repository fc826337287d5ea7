//! What the spool costs per notification on the real disk: `hagios notify` writing one record,
//! and the fan-out stage of a process posting to Slack and Matrix handing records on (hard links
//! into each platform's spool, one sync of each `new/`, removal from the main spool; see
//! crates/hagios/src/pipeline/fanout.rs), one at a time and in the stage's batches of 256.
//! Records carry the ~200 macros of a real notification.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use hagios_domain::{Notification, NotificationType, ObjectRef, State};
use hagios_spool::{RecordId, Spool};
use std::hint::black_box;

const BATCH: usize = 256;

fn notification() -> Notification {
    Notification {
        id: String::new(),
        site: "local".into(),
        kind: NotificationType::Problem,
        object: ObjectRef::service("web01.example.org", "HTTP Load"),
        state: State::Critical,
        output: "CRITICAL - load average: 42.00, 41.00, 40.00".into(),
        long_output: String::new(),
        author: None,
        comment: None,
        time: 1_795_551_281,
        hostgroups: vec!["web-servers".into(), "production".into()],
        contact: Some("oncall".into()),
        macros: (0..200).map(|n| (format!("MACRO{n:03}"), format!("value of macro number {n}"))).collect(),
    }
}

/// Empties the spools (not measured), then spools `count` fresh records in `main`.
fn fresh(main: &Spool, others: &[Spool], count: usize) -> Vec<RecordId> {
    for spool in std::iter::once(main).chain(others) {
        spool.remove_all(&spool.pending().expect("list")).expect("empty");
    }
    (0..count).map(|_| main.write(notification()).expect("write")).collect()
}

/// What the fan-out stage does with a batch of records.
fn hand_on(main: &Spool, platforms: &[Spool], ids: &[RecordId]) {
    for platform in platforms {
        platform.link_from(main, ids).expect("link_from");
    }
    main.remove_all(ids).expect("remove");
}

fn spool_costs(c: &mut Criterion) {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir on the build disk");
    let main = Spool::open(dir.path().join("spool")).expect("spool");
    let platforms: Vec<Spool> =
        ["slack", "matrix"].iter().map(|p| Spool::open(dir.path().join("platforms").join(p)).expect("spool")).collect();

    c.bench_function("hagios notify's part: write one record durably", |b| {
        b.iter_batched(|| fresh(&main, &[], 0), |_| main.write(black_box(notification())), BatchSize::PerIteration)
    });
    c.bench_function("fan-out: hand on one record alone", |b| {
        b.iter_batched(|| fresh(&main, &platforms, 1), |ids| hand_on(&main, &platforms, &ids), BatchSize::PerIteration)
    });
    let mut batched = c.benchmark_group("fan-out batch");
    batched.sample_size(20);
    batched.bench_function("hand on 256 records", |b| {
        b.iter_batched(
            || fresh(&main, &platforms, BATCH),
            |ids| hand_on(&main, &platforms, &ids),
            BatchSize::PerIteration,
        )
    });
    batched.finish();
}

criterion_group!(benches, spool_costs);
criterion_main!(benches);
