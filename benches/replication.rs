//! Speed of the simulation (issues 2, 3, 4). Run: `cargo bench --bench replication`.
//!
//! - one 36-month replication of `baseline.toml` and of `malaysia_2025.toml` (target < 1 ms);
//! - a 1,000-replication run through the real runner (chunks, sketches, part files) on 1 and
//!   2 threads (target: 2 threads ≥ 1.8× faster), without and with assembling the final files;
//! - one replication of `malaysia_2025.toml` with 1,000, 10,000 and 100,000 intermediaries per
//!   hub (targets: linear, ≤ 50 ns per intermediary-month, 100k in < 0.5 s).

use std::hint::black_box;
use std::time::Duration;

use chipdip::experiment::{Progress, Shard, replicate, run_pending};
use chipdip::output::assemble;
use chipdip::output::parts::PartFiles;
use chipdip::scenario::Scenario;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};

fn load(file: &str, sets: &[String]) -> Scenario {
    Scenario::load(format!("scenarios/{file}").as_ref(), sets).expect("shipped scenario loads")
}

fn one_replication(c: &mut Criterion) {
    for file in ["baseline.toml", "malaysia_2025.toml"] {
        let s = load(file, &[]);
        let mut rep = 0;
        c.bench_function(&format!("replication/{file}"), |b| {
            b.iter(|| {
                rep += 1;
                black_box(replicate(&s, 0, rep).unwrap())
            })
        });
    }
}

/// A fresh run folder, as `output::prepare` leaves it for a new run (its `parts/` folder).
fn run_folder() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(d.path().join("parts")).unwrap();
    d
}

/// 1,000 replications through the real runner: `run_pending` (chunks of 50 on a rayon pool,
/// each writing its part files and sketches), and the same followed by `assemble` (the final
/// CSVs and quantiles, sequential), which is what `chipdip run` does between its manifests.
fn thousand_replications(c: &mut Criterion) {
    let s = load("baseline.toml", &["simulation.replications=1000".into()]);
    for assembled in [false, true] {
        let name = if assembled {
            "run_1000_replications_assembled"
        } else {
            "run_1000_replications"
        };
        let mut g = c.benchmark_group(name);
        g.sample_size(10);
        for threads in [1, 2] {
            g.bench_function(format!("threads_{threads}"), |b| {
                b.iter_batched(
                    run_folder,
                    |d| {
                        let sink = PartFiles::new(d.path(), false);
                        run_pending(&s, &sink, Shard::WHOLE, threads, &|_: Progress| {}).unwrap();
                        if assembled {
                            let out = d.path().to_path_buf();
                            assemble(&s, &out, false, &|_| out.clone()).unwrap();
                        }
                        d
                    },
                    BatchSize::PerIteration,
                )
            });
        }
        g.finish();
    }
}

/// The sequential tail of a run alone: `assemble` of 1,000 replications' part files (20 chunks)
/// into the final CSVs and quantiles.
fn assemble_thousand(c: &mut Criterion) {
    let s = load("baseline.toml", &["simulation.replications=1000".into()]);
    let mut g = c.benchmark_group("assemble_1000_replications");
    g.sample_size(10);
    g.bench_function("parts_to_csvs", |b| {
        b.iter_batched(
            || {
                let d = run_folder();
                let sink = PartFiles::new(d.path(), false);
                run_pending(&s, &sink, Shard::WHOLE, 2, &|_: Progress| {}).unwrap();
                d
            },
            |d| {
                let out = d.path().to_path_buf();
                assemble(&s, &out, false, &|_| out.clone()).unwrap();
                d
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

fn intermediaries(c: &mut Criterion) {
    let mut g = c.benchmark_group("replication_with_intermediaries_per_hub");
    g.sample_size(10);
    for n in [1_000, 10_000, 100_000] {
        // Shells carry the count; fronts stay a handful.
        let sets = vec![
            format!("hubs.MYS.populations.shells.count={n}"),
            format!("hubs.SGP.populations.shells.count={n}"),
        ];
        let s = load("malaysia_2025.toml", &sets);
        let mut rep = 0;
        g.bench_function(format!("{n}"), |b| {
            b.iter(|| {
                rep += 1;
                black_box(replicate(&s, 0, rep).unwrap())
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));
    targets = one_replication, thousand_replications, assemble_thousand, intermediaries
}
criterion_main!(benches);
