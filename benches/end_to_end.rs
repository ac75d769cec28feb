//! What a user pays: runs through `run_to_folder`, the library function `chipdip run` calls
//! (chunks, sketches, part files, final files, manifest), into a temporary folder. Run:
//! `cargo bench --bench end_to_end`. The whole-process figures of the README's "Speed"
//! section come from `scripts/speed.py`; these are their in-process counterparts.
//!
//! Each "per" figure is a slope, so that the fixed cost of a run (final files, manifest)
//! cancels out: criterion's time per iteration is `(time of a run of N replications - time of
//! a run of 1) / (N - 1)` on one thread, divided further where said:
//!
//! - `replication/malaysia_2025`: per replication of the 2025 replay;
//! - `nation_month/200_extra`: the replay with 200 extra nations (each like Thailand) minus the
//!   plain replay, per extra nation and month;
//! - `intermediary_month/xK`: per replication with every hub population ×K; criterion's
//!   throughput is the intermediary-months at the start (×1, ×10, ×100);
//! - `run_1000_replications/threads_T`: wall time of 1,000 replications on 1 and 2 threads;
//! - `sweep_point/screening`: the screening sweep (120 points) at one replication a point on
//!   one thread, per point: what a point costs beyond its replications, plus one of them.

use std::path::Path;
use std::time::{Duration, Instant};

use chipdip::run::{RunOptions, run_to_folder};
use chipdip::scenario::Scenario;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// The allocator `chipdip run` uses (src/main.rs; with the command line's feature).
#[cfg(feature = "cli")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const REPLAY: &str = "scenarios/malaysia_2025.toml";
const MONTHS: u64 = 36;
/// The replay's hub populations (scenarios/baseline.toml, scenarios/malaysia_2025.toml).
const POPULATIONS: [(&str, u64); 5] = [
    ("MYS.populations.shells", 500),
    ("MYS.populations.fronts", 10),
    ("SGP.populations.shells", 270),
    ("SGP.populations.fronts", 5),
    ("THA.populations.shells", 100),
];
const EXTRA_NATIONS: usize = 200;
const SCREENING: &str = "scenarios/sweep_screening.toml";

fn load(path: &Path, sets: &[String]) -> Scenario {
    Scenario::load(path, sets).expect("scenario loads")
}

/// Wall time of one run of `reps` replications on `threads` threads into a fresh folder.
fn run(s: &Scenario, reps: u32, threads: usize) -> Duration {
    let s = s
        .with_set("simulation.replications", &reps.to_string())
        .expect("replications set");
    let d = tempfile::tempdir().unwrap();
    let options = RunOptions {
        threads: Some(threads),
        out: Some(d.path().join("run")),
        ..RunOptions::default()
    };
    let start = Instant::now();
    run_to_folder(&s, &options, &()).expect("run");
    start.elapsed()
}

/// Time per replication: `(run(n) - run(1)) / (n - 1)` on one thread.
fn slope(s: &Scenario, n: u32) -> Duration {
    run(s, n, 1).saturating_sub(run(s, 1, 1)) / (n - 1)
}

/// The replay with `n` extra nations, written into `dir`.
fn extra_nations(dir: &Path, n: usize) -> Scenario {
    let replay = std::fs::canonicalize(REPLAY).unwrap();
    let mut text = format!(
        "extends = {:?}\nname = \"extra_nations\"\n",
        replay.display().to_string()
    );
    for k in 0..n {
        let id = format!(
            "Z{}{}",
            (b'A' + (k / 26) as u8) as char,
            (b'A' + (k % 26) as u8) as char
        );
        text.push_str(&format!(
            "\n[nations.{id}]\ndemand_h100e_per_month = 4000\n\
             demand_growth_annual = {{ min = 0.3, max = 0.8 }}\ndemand_noise_sigma = 0.2\n\
             backlog_decay = 0.3\nalignment = 0.1\nstrategic_value = 0.4\n\
             dependence = {{ USA = 0.5, CHN = 0.5 }}\necosystem = {{ nvidia = 1.0 }}\n\
             installed_units = {{ h100 = 5000 }}\n"
        ));
    }
    let path = dir.join("extra_nations.toml");
    std::fs::write(&path, text).unwrap();
    load(&path, &[])
}

fn per_replication(c: &mut Criterion) {
    let s = load(REPLAY.as_ref(), &[]);
    let mut g = c.benchmark_group("replication");
    g.sample_size(10);
    g.bench_function("malaysia_2025", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| slope(&s, 51)).sum())
    });
    g.finish();
}

fn per_nation_month(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let base = load(REPLAY.as_ref(), &[]);
    let extra = extra_nations(dir.path(), EXTRA_NATIONS);
    let mut g = c.benchmark_group("nation_month");
    g.sample_size(10);
    g.bench_function(format!("{EXTRA_NATIONS}_extra"), |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    slope(&extra, 11).saturating_sub(slope(&base, 11))
                        / (EXTRA_NATIONS as u32 * MONTHS as u32)
                })
                .sum()
        })
    });
    g.finish();
}

fn per_intermediary_month(c: &mut Criterion) {
    let mut g = c.benchmark_group("intermediary_month");
    g.sample_size(10);
    let n: u64 = POPULATIONS.iter().map(|(_, k)| k).sum();
    for factor in [1, 10, 100] {
        let sets: Vec<String> = POPULATIONS
            .iter()
            .map(|(p, k)| format!("hubs.{p}.count={}", k * factor))
            .collect();
        let s = load(REPLAY.as_ref(), &sets);
        g.throughput(Throughput::Elements(n * factor * MONTHS));
        g.bench_function(format!("x{factor}"), |b| {
            b.iter_custom(|iters| (0..iters).map(|_| slope(&s, 6)).sum())
        });
    }
    g.finish();
}

fn threads(c: &mut Criterion) {
    let s = load(REPLAY.as_ref(), &[]);
    let mut g = c.benchmark_group("run_1000_replications");
    g.sample_size(10);
    for threads in [1, 2] {
        g.bench_function(format!("threads_{threads}"), |b| {
            b.iter_custom(|iters| (0..iters).map(|_| run(&s, 1000, threads)).sum())
        });
    }
    g.finish();
}

fn per_sweep_point(c: &mut Criterion) {
    let s = load(SCREENING.as_ref(), &[]);
    let points = s.points.len() as u32;
    let mut g = c.benchmark_group("sweep_point");
    g.sample_size(10);
    g.bench_function("screening", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| run(&s, 1, 1) / points).sum())
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(5));
    targets = per_replication, per_nation_month, per_intermediary_month, threads, per_sweep_point
}
criterion_main!(benches);
