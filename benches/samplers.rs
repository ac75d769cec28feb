//! The draws whose `exp` or `ln` is decided from a quick value (`math::quick`), beside the
//! portable function they give the bits of. Run: `cargo bench --bench samplers`.
//!
//! Each iteration is 1,000 draws from one generator, so the figures are per 1,000 draws:
//! - an intermediary's size, a lognormal kept as `f32`: `lognormal(..) as f32` (the portable
//!   `exp`) against `lognormal_f32`;
//! - a geometric gap: `⌊ln U / ln(1 − p)⌋` with the portable `ln` against `Geometric::gap`;
//! - a Beta(2, 5) draw (two gamma variates, whose acceptance test past the squeeze takes a
//!   quick `ln`).

use std::hint::black_box;
use std::time::Duration;

use chipdip::math;
use criterion::{Criterion, criterion_group, criterion_main};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{Rng, SeedableRng};

const DRAWS: usize = 1_000;

fn generator() -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(7)
}

fn sizes(c: &mut Criterion) {
    let mut g = c.benchmark_group("lognormal size, 1,000 draws");
    let (mu, sigma) = (6.9, 0.8);
    let mut rng = generator();
    g.bench_function("portable exp as f32", |b| {
        b.iter(|| {
            let mut total = 0.0f32;
            for _ in 0..DRAWS {
                total += math::lognormal(&mut rng, mu, sigma) as f32;
            }
            black_box(total)
        })
    });
    let mut rng = generator();
    g.bench_function("lognormal_f32", |b| {
        b.iter(|| {
            let mut total = 0.0f32;
            for _ in 0..DRAWS {
                total += math::lognormal_f32(&mut rng, mu, sigma);
            }
            black_box(total)
        })
    });
    g.finish();
}

fn gaps(c: &mut Criterion) {
    let mut g = c.benchmark_group("geometric gap, 1,000 draws");
    let p = 0.02;
    let ln_q = libm::log1p(-p);
    let mut rng = generator();
    g.bench_function("portable ln", |b| {
        b.iter(|| {
            let mut total = 0u64;
            for _ in 0..DRAWS {
                let u = ((rng.next_u64() >> 11) + 1) as f64 * (1.0 / (1u64 << 53) as f64);
                total = total.wrapping_add((math::ln(u) / ln_q) as u64);
            }
            black_box(total)
        })
    });
    let geometric = math::Geometric::new(p);
    let mut rng = generator();
    g.bench_function("Geometric::gap", |b| {
        b.iter(|| {
            let mut total = 0u64;
            for _ in 0..DRAWS {
                total = total.wrapping_add(geometric.gap(&mut rng));
            }
            black_box(total)
        })
    });
    g.finish();
}

fn betas(c: &mut Criterion) {
    let beta = math::Beta::new(2.0, 5.0);
    let mut rng = generator();
    c.bench_function("beta(2, 5), 1,000 draws", |b| {
        b.iter(|| {
            let mut total = 0.0;
            for _ in 0..DRAWS {
                total += beta.sample(&mut rng);
            }
            black_box(total)
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = sizes, gaps, betas
}
criterion_main!(benches);
