//! Parse time of status.dat and objects.cache for 10,000 hosts × 10 services.

mod synthetic;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hagios_parsers::nagios::{objects, status};
use std::hint::black_box;

fn parse(c: &mut Criterion) {
    let services = synthetic::HOSTS * synthetic::SERVICES_PER_HOST;
    let status_text = synthetic::status_dat();
    let objects_text = synthetic::objects_cache();
    // Guard against benchmarking a parser that bails out early on the generated text.
    let parsed = status::parse(&status_text).expect("synthetic status.dat parses");
    assert_eq!(parsed.services.len(), services);
    let inventory = objects::parse(&objects_text).expect("synthetic objects.cache parses");
    assert_eq!(inventory.services.values().map(Vec::len).sum::<usize>(), services);
    println!("status.dat: {} bytes, objects.cache: {} bytes", status_text.len(), objects_text.len());

    let mut group = c.benchmark_group("parse");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(status_text.len() as u64));
    // The previous snapshot is freed elsewhere in the real program, so only parsing is timed.
    group.bench_function("status.dat 100k services", |b| {
        b.iter_with_large_drop(|| status::parse(black_box(&status_text)))
    });
    group.throughput(Throughput::Bytes(objects_text.len() as u64));
    group.bench_function("objects.cache 100k services", |b| {
        b.iter_with_large_drop(|| objects::parse(black_box(&objects_text)))
    });
    group.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
