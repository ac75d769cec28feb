//! Sweep overheads around the replications: building and validating every point of a design
//! (done once, up front, before anything runs) and the per-chunk cost of one point.
//!
//! `cargo bench --bench sweep`

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};

use chipdip::experiment::replicate;
use chipdip::scenario::Scenario;

const SWEEP: &str = "scenarios/sweep_enforcement_pressure.toml";

fn path() -> &'static Path {
    Path::new(SWEEP)
}

fn build_points(c: &mut Criterion) {
    let mut g = c.benchmark_group("sweep");
    g.sample_size(10);
    for n in [12, 200] {
        let sets = [format!("sweep.points={n}")];
        g.bench_function(format!("load_and_validate_{n}_points"), |b| {
            b.iter(|| Scenario::load(path(), black_box(&sets)).expect("sweep loads"))
        });
    }
    let s = Scenario::load(path(), &[]).expect("sweep loads");
    g.bench_function("one_replication_of_point_5", |b| {
        b.iter(|| replicate(&s, black_box(5), black_box(0)).expect("replication"))
    });
    g.finish();
}

criterion_group!(benches, build_points);
criterion_main!(benches);
