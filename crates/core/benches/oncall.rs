//! Who is on call, as paging asks it for every new incident on a route with a schedule: one
//! schedule among 100 of three layers each (a weekly rotation, a weekday office-hours rotation,
//! a night rotation) with overrides on half of them; and the report's chart, rendered to PNG
//! (time here; its peak heap use is printed once, counted by the allocator below).

use criterion::{criterion_group, criterion_main, Criterion};
use hagios_core::config::Config;
use hagios_core::oncall::chart::{bars, Series};
use hagios_core::oncall::Rota;
use hagios_store::Override;
use plotters::style::RGBColor;
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};

const SCHEDULES: usize = 100;
/// 2024-05-08 03:00 UTC, a Wednesday night: the night layer decides where there is no override.
const NOW: i64 = 1_715_137_200;

/// Counts the bytes allocated now and the most at once since the last reset.
struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(now, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn schedules() -> Rota {
    let mut text = String::new();
    for person in 0..SCHEDULES * 5 {
        text.push_str(&format!("[[user]]\nchat_id = \"U{person:04}\"\nroles = []\nperson = \"p{person}\"\n"));
    }
    for schedule in 0..SCHEDULES {
        let people = |from: usize| {
            let names: Vec<String> = (from..from + 5).map(|n| format!("\"p{}\"", n % (SCHEDULES * 5))).collect();
            names.join(", ")
        };
        text.push_str(&format!(
            "[[oncall]]\nname = \"team-{schedule}\"\ntimezone = \"Europe/Berlin\"\n\
             [[oncall.layer]]\nname = \"weekly\"\npeople = [{}]\nstart = \"2024-01-01 09:00\"\nlength = \"1w\"\n\
             [[oncall.layer]]\nname = \"office\"\npeople = [{}]\nstart = \"2024-01-01 09:00\"\nlength = \"1d\"\n\
             days = [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\"]\ntimes = [\"09:00-17:00\"]\n\
             [[oncall.layer]]\nname = \"nights\"\npeople = [{}]\nstart = \"2024-01-01 22:00\"\nlength = \"1d\"\n\
             times = [\"22:00-07:00\"]\n",
            people(schedule * 5),
            people(schedule * 5 + 1),
            people(schedule * 5 + 2)
        ));
    }
    let config: Config = toml::from_str(&text).expect("the bench's configuration reads");
    let rota = Rota::new(&config);
    let overrides: Vec<Override> = (0..SCHEDULES)
        .step_by(2)
        .map(|schedule| Override {
            schedule: format!("team-{schedule}"),
            person: format!("p{}", schedule * 5 + 4),
            starts_at: NOW - 3_600,
            ends_at: NOW + 3_600,
            replaces: None,
            author: "bench".into(),
            created_at: NOW - 3_600,
        })
        .collect();
    rota.set_overrides(&overrides);
    rota
}

fn who_is_on_call(c: &mut Criterion) {
    let rota = schedules();
    assert!(rota.on_call("team-57", NOW).is_some(), "the night layer has someone");
    c.bench_function("on call: one schedule of 3 layers, among 100", |b| {
        b.iter(|| rota.on_call(black_box("team-57"), black_box(NOW)))
    });
    c.bench_function("on call: one schedule with an override in force, among 100", |b| {
        b.iter(|| rota.on_call(black_box("team-58"), black_box(NOW)))
    });
    c.bench_function("next handoff: one schedule of 3 layers, among 100", |b| {
        b.iter(|| rota.next_handoff(black_box("team-57"), black_box(NOW)))
    });
}

fn report_chart(c: &mut Criterion) {
    // 90 days (the longest report), two series.
    let opened: Vec<u32> = (0..90).map(|day| (day * 7 % 23) as u32).collect();
    let pages: Vec<u32> = (0..90).map(|day| (day * 3 % 11) as u32).collect();
    let series = [
        Series { counts: &opened, color: RGBColor(31, 119, 180) },
        Series { counts: &pages, color: RGBColor(255, 127, 14) },
    ];
    let before = CURRENT.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let png = bars(&series).expect("the chart renders");
    let peak = PEAK.load(Ordering::Relaxed) - before;
    eprintln!("report chart (90 days, 2 series): {} bytes of PNG, peak heap {} KiB", png.len(), peak / 1024);
    c.bench_function("report chart: 90 days x 2 series to PNG", |b| b.iter(|| bars(black_box(&series))));
}

criterion_group!(benches, who_is_on_call, report_chart);
criterion_main!(benches);
