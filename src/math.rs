//! Portable floating-point: every transcendental function chipdip computes, and the random
//! variates built on them.
//!
//! `f64::exp`, `ln` and `powf` call the platform's math library, whose last bit differs between
//! systems (glibc, musl, macOS, MSVC), so a run would give the same bytes only on the same
//! platform. Everything here goes through the [`libm`] crate instead: a pure-Rust port of musl's
//! math library built from IEEE-754 basic operations (which are correctly rounded everywhere),
//! so the same scenario and seed give the same bits on any machine.
//!
//! The samplers replace `rand_distr`'s (whose ziggurat and Beta samplers call the platform's
//! `exp`/`ln`). Each draws a fixed or rejection-driven number of `u64`s from the caller's
//! generator and nothing else, so streams stay reproducible:
//! - [`standard_normal`]: Doornik's ZIGNOR ziggurat (128 layers; "An Improved Ziggurat Method
//!   to Generate Normal Random Samples", 2005): one `u64` per attempt (53 bits for the abscissa,
//!   the low 7 for the layer), accepted without any transcendental call about 98.8% of the time;
//!   the wedges and the tail use [`exp`] and [`ln`]. Its tables are computed once from the
//!   published constants with the same portable functions, so they too are the same everywhere;
//! - [`lognormal`]: `exp(mu + sigma z)`;
//! - [`gamma`]: Marsaglia–Tsang (2000) for shape ≥ 1, boosted by `U^(1/shape)` below 1
//!   ([`Gamma`] keeps one shape's constants for many draws, with the same bits);
//! - [`beta`]: `X / (X + Y)` with `X ~ Gamma(alpha)`, `Y ~ Gamma(beta)` ([`Beta`] likewise);
//! - [`poisson`]: Knuth's product of uniforms, a rounded normal above a mean of 30;
//! - [`geometric_gap`]: `⌊ln U / ln(1 − p)⌋`, the trials before the next success (one `u64`).

use rand::Rng;

/// `e^x`, portable.
#[inline]
pub fn exp(x: f64) -> f64 {
    libm::exp(x)
}

/// Natural logarithm, portable.
#[inline]
pub fn ln(x: f64) -> f64 {
    libm::log(x)
}

/// `x^y`, portable.
#[inline]
pub fn pow(x: f64, y: f64) -> f64 {
    libm::pow(x, y)
}

/// The standard normal distribution function `Φ(x) = (1 + erf(x / √2)) / 2`, portable.
#[inline]
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * (1.0 + libm::erf(x * std::f64::consts::FRAC_1_SQRT_2))
}

/// `x^n` for a whole `n` by square-and-multiply, in exactly `bits` rounds (`bits` ≥ the bit
/// length of `n`; a round whose bit of `n` is clear multiplies by 1.0, which is exact): only
/// multiplications, correctly rounded on every platform. Squaring doubles the relative error of
/// the base, so the result is within about `n ε` relative (1e-12 at `n` = 4,000 units), far
/// below any effect on a probability drawn against. Used where a loop needs `b^n` for many
/// integers `n` and one base, instead of an `exp` per `n`; the fixed trip count and the
/// branch-free select keep the intermediary loop free of data-dependent branches (they
/// mispredicted on every lot when the loop stopped at the highest set bit).
#[inline]
pub fn powu_bits(mut base: f64, mut n: u64, bits: u32) -> f64 {
    debug_assert!(u64::BITS - n.leading_zeros() <= bits);
    let mut acc = 1.0;
    for _ in 0..bits {
        acc *= [1.0, base][(n & 1) as usize];
        base *= base;
        n >>= 1;
    }
    acc
}

/// Uniform on `[0, 1)` with 53 random bits (one `u64`).
#[inline]
pub fn unit(rng: &mut (impl Rng + ?Sized)) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Uniform on `(0, 1]` (one `u64`): safe to take the logarithm of.
#[inline]
fn unit_open_zero(rng: &mut (impl Rng + ?Sized)) -> f64 {
    ((rng.next_u64() >> 11) + 1) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Failures before the first success in Bernoulli(`p`) trials (geometric on {0, 1, …}), from
/// one uniform draw: `⌊ln U / ln(1 − p)⌋`, `U` uniform on (0, 1]. A loop over many trials of
/// a rare event counts this many down instead of drawing once a trial, with the same
/// distribution of events. `u64::MAX` (never) when `p <= 0`, 0 when `p >= 1`.
pub fn geometric_gap(rng: &mut (impl Rng + ?Sized), p: f64) -> u64 {
    if p.is_nan() || p <= 0.0 {
        return u64::MAX;
    }
    if p >= 1.0 {
        return 0;
    }
    let gap = ln(unit_open_zero(rng)) / libm::log1p(-p);
    if gap >= u64::MAX as f64 {
        u64::MAX
    } else {
        gap as u64
    }
}

/// Layers of the ziggurat.
const ZIG_LAYERS: usize = 128;
/// Where the tail starts, and the area of each layer (Doornik 2005, for 128 layers).
const ZIG_R: f64 = 3.442619855899;
const ZIG_V: f64 = 9.91256303526217e-3;

/// The ziggurat's layer edges `x[0..=128]` (`x[0] = V / f(R)`, `x[1] = R`, `x[128] = 0`) and
/// the ratios `x[i+1] / x[i]` under which a point is inside layer `i`'s rectangle.
struct Ziggurat {
    x: [f64; ZIG_LAYERS + 1],
    ratio: [f64; ZIG_LAYERS],
}

fn ziggurat() -> &'static Ziggurat {
    static TABLES: std::sync::OnceLock<Ziggurat> = std::sync::OnceLock::new();
    TABLES.get_or_init(|| {
        let mut x = [0.0; ZIG_LAYERS + 1];
        let mut f = exp(-0.5 * ZIG_R * ZIG_R);
        x[0] = ZIG_V / f;
        x[1] = ZIG_R;
        for i in 2..ZIG_LAYERS {
            x[i] = (-2.0 * ln(ZIG_V / x[i - 1] + f)).sqrt();
            f = exp(-0.5 * x[i] * x[i]);
        }
        let mut ratio = [0.0; ZIG_LAYERS];
        for i in 0..ZIG_LAYERS {
            ratio[i] = x[i + 1] / x[i];
        }
        Ziggurat { x, ratio }
    })
}

/// A standard normal variate (ziggurat; see the module documentation).
pub fn standard_normal(rng: &mut (impl Rng + ?Sized)) -> f64 {
    let z = ziggurat();
    loop {
        let bits = rng.next_u64();
        let u = 2.0 * ((bits >> 11) as f64 * (1.0 / (1u64 << 53) as f64)) - 1.0;
        let i = (bits & 0x7F) as usize;
        // Inside the layer's rectangle: the common case.
        if u.abs() < z.ratio[i] {
            return u * z.x[i];
        }
        if i == 0 {
            return normal_tail(rng, u < 0.0);
        }
        // In the wedge between the rectangle and the density.
        let x = u * z.x[i];
        let f0 = exp(-0.5 * (z.x[i] * z.x[i] - x * x));
        let f1 = exp(-0.5 * (z.x[i + 1] * z.x[i + 1] - x * x));
        if f1 + unit(rng) * (f0 - f1) < 1.0 {
            return x;
        }
    }
}

/// The normal tail beyond `ZIG_R` (Marsaglia 1964), on the side `negative` says.
fn normal_tail(rng: &mut (impl Rng + ?Sized), negative: bool) -> f64 {
    loop {
        let x = ln(unit_open_zero(rng)) / ZIG_R;
        let y = ln(unit_open_zero(rng));
        if -2.0 * y >= x * x {
            return if negative { x - ZIG_R } else { ZIG_R - x };
        }
    }
}

/// A lognormal variate: `exp(mu + sigma z)`, `z` standard normal (median `e^mu`).
pub fn lognormal(rng: &mut (impl Rng + ?Sized), mu: f64, sigma: f64) -> f64 {
    exp(mu + sigma * standard_normal(rng))
}

/// A Poisson draw with mean `lambda` (≥ 0): Knuth's product of uniforms below 30, a rounded
/// normal approximation above.
pub fn poisson(rng: &mut (impl Rng + ?Sized), lambda: f64) -> u64 {
    if lambda <= 0.0 {
        return 0;
    }
    if lambda >= 30.0 {
        let z = standard_normal(rng);
        return (lambda + lambda.sqrt() * z).round().max(0.0) as u64;
    }
    let limit = exp(-lambda);
    let (mut k, mut prod) = (0u64, unit(rng));
    while prod > limit {
        k += 1;
        prod *= unit(rng);
    }
    k
}

/// A Gamma(`shape`, 1) variate, `shape > 0` (Marsaglia and Tsang, "A simple method for
/// generating gamma variables", ACM TOMS 26(3), 2000). Rejection: the expected number of
/// normal draws per variate is below 1.05 for shape ≥ 1.
pub fn gamma(rng: &mut (impl Rng + ?Sized), shape: f64) -> f64 {
    Gamma::new(shape).sample(rng)
}

/// [`gamma`] for one shape, with Marsaglia and Tsang's constants (a square root and two
/// divisions) computed once for many draws; the same draws and the same bits as [`gamma`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Gamma {
    /// `1 / shape` when shape < 1 (the boost `U^(1/shape)`), else NaN (no boost).
    boost: f64,
    /// `d = a − 1/3`, `c = 1 / √(9d)` with `a` the shape, or shape + 1 below 1.
    d: f64,
    c: f64,
}

impl Gamma {
    pub fn new(shape: f64) -> Gamma {
        debug_assert!(shape > 0.0);
        // Gamma(a) = Gamma(a + 1) × U^(1/a) below 1.
        let (boost, a) = if shape < 1.0 {
            (1.0 / shape, shape + 1.0)
        } else {
            (f64::NAN, shape)
        };
        let d = a - 1.0 / 3.0;
        Gamma {
            boost,
            d,
            c: 1.0 / (9.0 * d).sqrt(),
        }
    }

    /// One variate.
    #[inline]
    pub fn sample(&self, rng: &mut (impl Rng + ?Sized)) -> f64 {
        if self.boost.is_nan() {
            return self.core(rng);
        }
        let boost = pow(unit_open_zero(rng), self.boost);
        self.core(rng) * boost
    }

    /// Marsaglia–Tsang for a shape ≥ 1.
    #[inline]
    fn core(&self, rng: &mut (impl Rng + ?Sized)) -> f64 {
        let (d, c) = (self.d, self.c);
        loop {
            let z = standard_normal(rng);
            let v = 1.0 + c * z;
            if v <= 0.0 {
                continue;
            }
            let v = v * v * v;
            let u = unit_open_zero(rng);
            let z2 = z * z;
            if u < 1.0 - 0.0331 * z2 * z2 || ln(u) < 0.5 * z2 + d * (1.0 - v + ln(v)) {
                return d * v;
            }
        }
    }
}

/// A Beta(`alpha`, `beta`) variate in `[0, 1]`, both shapes `> 0`.
pub fn beta(rng: &mut (impl Rng + ?Sized), alpha: f64, beta: f64) -> f64 {
    Beta::new(alpha, beta).sample(rng)
}

/// [`beta`] for one pair of shapes, its two [`Gamma`]s set up once.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Beta {
    x: Gamma,
    y: Gamma,
}

impl Beta {
    pub fn new(alpha: f64, beta: f64) -> Beta {
        Beta {
            x: Gamma::new(alpha),
            y: Gamma::new(beta),
        }
    }

    /// One variate: `X / (X + Y)`.
    #[inline]
    pub fn sample(&self, rng: &mut (impl Rng + ?Sized)) -> f64 {
        let x = self.x.sample(rng);
        let y = self.y.sample(rng);
        if x + y > 0.0 { x / (x + y) } else { 0.5 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The textbook square-and-multiply, stopping at the highest set bit: the reference
    /// `powu_bits` must match to the bit.
    fn powu(mut base: f64, mut n: u64) -> f64 {
        let mut acc = 1.0;
        while n > 0 {
            if n & 1 == 1 {
                acc *= base;
            }
            base *= base;
            n >>= 1;
        }
        acc
    }
    use rand::SeedableRng;
    use rand::rngs::Xoshiro256PlusPlus;

    fn rng() -> Xoshiro256PlusPlus {
        Xoshiro256PlusPlus::seed_from_u64(2025)
    }

    fn mean_var(v: &[f64]) -> (f64, f64) {
        let n = v.len() as f64;
        let m = v.iter().sum::<f64>() / n;
        (
            m,
            v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0),
        )
    }

    #[test]
    fn wrappers_agree_with_std_to_an_ulp_or_two() {
        for &x in &[1e-300, 0.1, 0.5, 1.0, 2.0, 10.0, 1e10, 1e300] {
            assert!((ln(x) - f64::ln(x)).abs() <= 2.0 * f64::EPSILON * f64::ln(x).abs().max(1.0));
        }
        for &x in &[-700.0, -10.0, -0.5, 0.0, 0.5, 10.0, 700.0] {
            assert!((exp(x) / f64::exp(x) - 1.0).abs() <= 4.0 * f64::EPSILON);
        }
        assert_eq!(pow(2.0, 10.0), 1024.0);
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(ln(1.0), 0.0);
    }

    #[test]
    fn powu_matches_pow() {
        assert_eq!(powu(3.0, 0), 1.0);
        assert_eq!(powu(3.0, 5), 243.0);
        for n in [1u64, 7, 50, 999, 4096] {
            let b = 0.9993;
            let rel = (powu(b, n) / pow(b, n as f64) - 1.0).abs();
            assert!(rel < 4.0 * n as f64 * f64::EPSILON, "n = {n}: {rel}");
        }
    }

    #[test]
    fn powu_bits_is_powu_to_the_bit() {
        for n in [0u64, 1, 2, 3, 7, 8, 50, 999, 1023, 4096] {
            for b in [0.5, 0.9993, 1.0, 1.7] {
                let bits = u64::BITS - n.leading_zeros();
                for extra in [0, 3] {
                    assert_eq!(
                        powu_bits(b, n, bits + extra).to_bits(),
                        powu(b, n).to_bits(),
                        "{b}^{n}"
                    );
                }
            }
        }
    }

    #[test]
    fn normal_has_mean_zero_and_unit_variance() {
        let mut r = rng();
        let v: Vec<f64> = (0..200_000).map(|_| standard_normal(&mut r)).collect();
        let (m, var) = mean_var(&v);
        assert!(m.abs() < 0.01, "mean {m}");
        assert!((var - 1.0).abs() < 0.015, "variance {var}");
        assert!(v.iter().all(|x| x.is_finite()));
    }

    #[test]
    fn normal_matches_the_normal_cdf_and_its_tails() {
        let mut r = rng();
        let n = 400_000;
        let mut v: Vec<f64> = (0..n).map(|_| standard_normal(&mut r)).collect();
        v.sort_by(f64::total_cmp);
        // Kolmogorov-Smirnov distance to Phi; the 0.1% critical value is 1.95 / sqrt(n).
        let phi = |x: f64| 0.5 * (1.0 + libm::erf(x / std::f64::consts::SQRT_2));
        let d = v
            .iter()
            .enumerate()
            .map(|(k, &x)| {
                let p = phi(x);
                (p - k as f64 / n as f64)
                    .abs()
                    .max(((k + 1) as f64 / n as f64 - p).abs())
            })
            .fold(0.0, f64::max);
        assert!(d < 1.95 / (n as f64).sqrt(), "KS distance {d}");
        // The tail beyond R = 3.44 (the ziggurat's base layer) has its share on both sides.
        let beyond = v.iter().filter(|x| x.abs() > ZIG_R).count() as f64 / n as f64;
        let want = 2.0 * (1.0 - phi(ZIG_R));
        assert!(
            (beyond / want - 1.0).abs() < 0.2,
            "tail share {beyond} vs {want}"
        );
        assert!(v[0] < -3.8 && v[n - 1] > 3.8, "tails reached");
    }

    #[test]
    fn geometric_gaps_give_bernoulli_trials_their_rate_and_spacing() {
        let mut r = rng();
        for p in [0.002, 0.05, 0.3] {
            let n = 200_000;
            let gaps: Vec<u64> = (0..n).map(|_| geometric_gap(&mut r, p)).collect();
            // Mean (1 − p) / p, and P(gap = 0) = p.
            let mean = gaps.iter().map(|&g| g as f64).sum::<f64>() / n as f64;
            let want = (1.0 - p) / p;
            let sd = (1.0 - p).sqrt() / p / (n as f64).sqrt();
            assert!(
                (mean - want).abs() < 5.0 * sd,
                "p {p}: mean {mean} vs {want}"
            );
            let zeros = gaps.iter().filter(|&&g| g == 0).count() as f64 / n as f64;
            let sd0 = (p * (1.0 - p) / n as f64).sqrt();
            assert!((zeros - p).abs() < 5.0 * sd0, "p {p}: P(0) {zeros}");
        }
        assert_eq!(geometric_gap(&mut r, 0.0), u64::MAX);
        assert_eq!(geometric_gap(&mut r, f64::NAN), u64::MAX);
        assert_eq!(geometric_gap(&mut r, 1.0), 0);
    }

    #[test]
    fn lognormal_median_is_e_to_the_mu() {
        let mut r = rng();
        let mut v: Vec<f64> = (0..100_001).map(|_| lognormal(&mut r, 2.0, 0.8)).collect();
        v.sort_by(f64::total_cmp);
        let median = v[50_000];
        assert!((median / exp(2.0) - 1.0).abs() < 0.02, "median {median}");
    }

    #[test]
    fn gamma_and_beta_have_their_moments() {
        let mut r = rng();
        for shape in [0.3, 1.0, 2.5, 9.0] {
            let v: Vec<f64> = (0..100_000).map(|_| gamma(&mut r, shape)).collect();
            let (m, var) = mean_var(&v);
            assert!((m / shape - 1.0).abs() < 0.03, "shape {shape}: mean {m}");
            assert!(
                (var / shape - 1.0).abs() < 0.06,
                "shape {shape}: variance {var}"
            );
        }
        for (a, b) in [(2.0, 3.0), (2.0, 8.0), (0.5, 0.5)] {
            let v: Vec<f64> = (0..100_000).map(|_| beta(&mut r, a, b)).collect();
            let (m, var) = mean_var(&v);
            let (m0, var0) = (a / (a + b), a * b / ((a + b) * (a + b) * (a + b + 1.0)));
            assert!((m - m0).abs() < 0.005, "Beta({a},{b}) mean {m} vs {m0}");
            assert!(
                (var / var0 - 1.0).abs() < 0.05,
                "Beta({a},{b}) var {var} vs {var0}"
            );
            assert!(v.iter().all(|x| (0.0..=1.0).contains(x)));
        }
    }

    #[test]
    fn same_seed_same_bits() {
        let (mut a, mut b) = (rng(), rng());
        for _ in 0..1000 {
            assert_eq!(
                beta(&mut a, 2.0, 5.0).to_bits(),
                beta(&mut b, 2.0, 5.0).to_bits()
            );
        }
    }
}
