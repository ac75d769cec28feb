//! Sweep designs: which points of the factor space an experiment runs.
//!
//! A sweep names factors (parameter paths), each with a list of values or a range, and a
//! design that picks the points:
//!
//! - [`Design::Grid`]: the full factorial over every factor's levels
//!   ([`FactorValues::grid_levels`]). Points are in row-major order, the **first factor varying
//!   slowest**. The number of points is the product of the level counts; the requested `n` and
//!   the seed are ignored.
//! - [`Design::Random`]: `n` independent uniform points.
//! - [`Design::LatinHypercube`]: `n` points such that in every dimension each of the `n` strata
//!   `[k/n, (k+1)/n)` holds exactly one point.
//! - [`Design::Sobol`]: the first `n` points of a scrambled Sobol' sequence (Joe–Kuo direction
//!   numbers `new-joe-kuo-6.21201`, at most [`SOBOL_MAX_DIMS`] factors). Balance is exact when
//!   `n` is a power of two; other `n` are allowed but give a prefix of a balanced set.
//!
//! - [`Design::Saltelli`] and [`Design::Morris`]: designs for global sensitivity analysis
//!   (Sobol' indices, elementary effects), sized by their own settings; see [`Sensitivity`].
//!   `chipdip analyze` reads them back from a run folder's manifest.
//!
//! The sampled designs first build points of the unit hypercube ([`unit_points`]), one
//! coordinate in `[0, 1)` per factor, then map coordinate `d` through factor `d`
//! ([`FactorValues::value_at`]).
//!
//! # Reproducibility
//!
//! The same design, factors, `n` and seed give the same points, bit for bit, on every machine:
//!
//! - all randomness comes from `Xoshiro256PlusPlus::seed_from_u64(seed)` (a fixed, documented
//!   algorithm with SplitMix64 seeding), read only through `next_u64`; the conversions to floats
//!   and bounded integers are written here rather than borrowed from `rand`'s distributions, so
//!   a `rand` upgrade cannot silently change a design;
//! - the only floating-point operations are IEEE-exact ones (`+ - * /`, `floor`, comparisons).
//!   Log ranges need `ln` and `exp`, which `std` delegates to the platform's libm (results differ
//!   in the last bit between glibc, macOS and Windows), so they come from [`crate::math`] (the
//!   pure-Rust `libm` crate), which gives the same bits everywhere.
//!
//! How the seed is consumed (each design starts its own generator from `seed`):
//!
//! - Random: point by point, coordinate by coordinate, one draw per coordinate. A longer run
//!   with the same seed extends a shorter one (the first `n` points are the same).
//! - Latin hypercube: dimension by dimension; for each, a uniform random permutation `π` of
//!   `0..n` (Fisher–Yates from the last index down), then one jitter `j_i` per point; point `i`
//!   gets `(π(i) + j_i) / n`, nudged by an ulp if rounding pushed it out of its stratum. Adding a
//!   factor at the end leaves the earlier columns unchanged.
//! - Sobol: dimension by dimension, a random linear matrix scramble (a lower-triangular binary
//!   32×32 matrix with unit diagonal: 31 draws, one per row below the first) followed by a random
//!   32-bit digital shift (one draw). Both are invertible digit-wise maps, so the scrambled points
//!   keep the (t, m, s)-net property of the unscrambled sequence while being a genuinely random
//!   (and unbiased) sample; point 0 is the shift, not the origin. Adding a factor at the end
//!   leaves the earlier columns unchanged.
//!
//! # Mapping a coordinate to a value
//!
//! - `List(values)`: index `floor(u * len)`; with a Latin hypercube of `n = k * len` points each
//!   value appears exactly `k` times.
//! - Linear range: `min + u * (max - min)`.
//! - Log range (`min > 0`): `exp(ln min + u * (ln max - ln min))`, uniform in log space.
//! - Integer range: the integers `lo = ceil(min) ..= hi = floor(max)`, value
//!   `lo + floor(u * count)`, so each integer is equally likely. Integer log ranges draw
//!   log-uniformly on `[lo, hi + 1)` and take the floor, so integer `k` has probability
//!   `ln((k+1)/k) / ln((hi+1)/lo)`.
//!
//! Results are clamped into `[min, max]` (`[lo, hi]` for integers) so rounding never escapes.

use std::fmt;
use std::str::FromStr;

use rand::rngs::Xoshiro256PlusPlus;
use rand::{Rng, SeedableRng};

use crate::math::{exp, ln};

/// Most factors a Sobol design supports (the size of the embedded direction-number table).
pub const SOBOL_MAX_DIMS: usize = 40;

/// Most points any design may have: a guard against a typo (`points = 1e9`) exhausting memory.
pub const MAX_POINTS: usize = 1 << 24;

/// Most levels an integer range gets in a grid when it gives no `levels` (every integer).
pub const MAX_INTEGER_LEVELS: usize = 10_000;

/// How the points of a sweep are chosen (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Design {
    Grid,
    Random,
    LatinHypercube,
    Sobol,
    /// Saltelli's design for Sobol' indices (see [`Sensitivity`]).
    Saltelli,
    /// Morris trajectories for elementary effects (see [`Sensitivity`]).
    Morris,
}

impl Design {
    /// Every design, in the order the error messages list them.
    pub const ALL: [Design; 6] = [
        Design::Grid,
        Design::Random,
        Design::LatinHypercube,
        Design::Sobol,
        Design::Saltelli,
        Design::Morris,
    ];

    /// Whether the design is one of the sensitivity-analysis designs ([`Sensitivity`]), sized
    /// by their own settings rather than by a number of points.
    pub fn is_sensitivity(self) -> bool {
        matches!(self, Design::Saltelli | Design::Morris)
    }

    /// The name used in scenario files.
    pub fn name(self) -> &'static str {
        match self {
            Design::Grid => "grid",
            Design::Random => "random",
            Design::LatinHypercube => "latin_hypercube",
            Design::Sobol => "sobol",
            Design::Saltelli => "saltelli",
            Design::Morris => "morris",
        }
    }
}

impl fmt::Display for Design {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Design {
    type Err = String;

    /// Parses the exact scenario-file name (`grid`, `random`, `latin_hypercube`, `sobol`).
    fn from_str(s: &str) -> Result<Design, String> {
        Design::ALL
            .into_iter()
            .find(|d| d.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Design::ALL.iter().map(|d| d.name()).collect();
                format!("unknown design `{s}`; valid: {}", names.join(", "))
            })
    }
}

/// How one factor's unit-interval coordinate becomes a value.
#[derive(Clone, Debug, PartialEq)]
pub enum FactorValues {
    /// Explicit values: the grid uses them as levels (in the given order); sampled designs pick
    /// index `floor(u * len)`.
    List(Vec<f64>),
    /// A continuous (or integer) interval. `levels` is used only by the grid: that many values
    /// evenly spaced including both ends (in log space when `log`).
    Range {
        min: f64,
        max: f64,
        log: bool,
        integer: bool,
        levels: Option<usize>,
    },
}

impl FactorValues {
    /// Checks the factor on its own: a non-empty list of finite numbers, or a finite range with
    /// `min < max`, `min > 0` when `log`, at least one integer inside when `integer`, and
    /// `levels` (if given) in `2..=MAX_POINTS`.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            FactorValues::List(values) => {
                if values.is_empty() {
                    return Err("value list is empty".to_string());
                }
                if let Some(bad) = values.iter().find(|v| !v.is_finite()) {
                    return Err(format!("value list holds a non-finite number ({bad})"));
                }
            }
            &FactorValues::Range {
                min,
                max,
                log,
                integer,
                levels,
            } => {
                if !min.is_finite() || !max.is_finite() {
                    return Err(format!(
                        "range bounds must be finite, got min = {min}, max = {max}"
                    ));
                }
                if min >= max {
                    return Err(format!(
                        "range needs min < max, got min = {min}, max = {max}"
                    ));
                }
                if log && min <= 0.0 {
                    return Err(format!("log range needs min > 0, got min = {min}"));
                }
                if integer {
                    // Beyond 2^53 consecutive integers are not all representable.
                    const EXACT: f64 = 9_007_199_254_740_992.0;
                    if min < -EXACT || max > EXACT {
                        return Err(format!(
                            "integer range must lie within ±2^53, got min = {min}, max = {max}"
                        ));
                    }
                    if min.ceil() > max.floor() {
                        return Err(format!("integer range [{min}, {max}] contains no integer"));
                    }
                }
                if let Some(k) = levels {
                    if k < 2 {
                        return Err(format!("levels must be at least 2, got {k}"));
                    }
                    if k > MAX_POINTS {
                        return Err(format!("levels must be at most {MAX_POINTS}, got {k}"));
                    }
                }
            }
        }
        Ok(())
    }

    /// The value at unit coordinate `u` (see the module documentation for the rules).
    ///
    /// `u` is meant to lie in `[0, 1)`; values outside are clamped into `[0, 1]`, and `u = 1`
    /// gives the top (last list value, `max`, or the largest integer). An invalid factor (see
    /// [`FactorValues::validate`]) gives NaN rather than panicking.
    pub fn value_at(&self, u: f64) -> f64 {
        if self.validate().is_err() {
            return f64::NAN;
        }
        let u = u.clamp(0.0, 1.0);
        match self {
            FactorValues::List(values) => {
                // `as usize` floors a non-negative number (and maps NaN to 0).
                let i = ((u * values.len() as f64) as usize).min(values.len() - 1);
                values[i]
            }
            &FactorValues::Range {
                min,
                max,
                log,
                integer,
                ..
            } => {
                if integer {
                    let (lo, hi) = (min.ceil(), max.floor());
                    let v = if log {
                        exp(lerp(ln(lo), ln(hi + 1.0), u)).floor()
                    } else {
                        lo + (u * (hi - lo + 1.0)).floor()
                    };
                    v.clamp(lo, hi)
                } else if log {
                    // The ends exactly (exp(ln x) can be off by an ulp).
                    if u == 0.0 {
                        return min;
                    }
                    if u == 1.0 {
                        return max;
                    }
                    exp(lerp(ln(min), ln(max), u)).clamp(min, max)
                } else {
                    lerp(min, max, u).clamp(min, max)
                }
            }
        }
    }

    /// The levels a grid design uses for this factor.
    ///
    /// A list gives its values as they are. A range gives `levels` values evenly spaced from
    /// `min` to `max` inclusive (in log space when `log`; both ends exact). An integer range
    /// rounds those to the nearest integer within `ceil(min)..=floor(max)` (an error if two
    /// levels round to the same integer), and without `levels` gives every integer (at most
    /// [`MAX_INTEGER_LEVELS`]). A non-integer range without `levels` is an error.
    pub fn grid_levels(&self) -> Result<Vec<f64>, String> {
        self.validate()?;
        match self {
            FactorValues::List(values) => Ok(values.clone()),
            &FactorValues::Range {
                min,
                max,
                log,
                integer,
                levels,
            } => {
                if !integer {
                    let k = levels.ok_or_else(|| {
                        "a range needs `levels` (at least 2) in a grid design, or give `values`"
                            .to_string()
                    })?;
                    return Ok(spaced(min, max, log, k));
                }
                let (lo, hi) = (min.ceil(), max.floor());
                let count = hi - lo + 1.0;
                let Some(k) = levels else {
                    if count > MAX_INTEGER_LEVELS as f64 {
                        return Err(format!(
                            "integer range {lo}..={hi} has {count} integers, more than the \
                             {MAX_INTEGER_LEVELS} a grid takes by default; set `levels`"
                        ));
                    }
                    return Ok((0..count as usize).map(|i| lo + i as f64).collect());
                };
                if hi == lo {
                    return Err(format!(
                        "integer range [{min}, {max}] holds only the integer {lo}, \
                         fewer than the {k} levels asked for"
                    ));
                }
                let values: Vec<f64> = spaced(lo, hi, log, k)
                    .into_iter()
                    .map(|v| v.round().clamp(lo, hi))
                    .collect();
                if let Some(w) = values.windows(2).find(|w| w[0] == w[1]) {
                    return Err(format!(
                        "integer range {lo}..={hi} with {k} levels repeats the integer {}; \
                         use fewer levels",
                        w[0]
                    ));
                }
                Ok(values)
            }
        }
    }
}

/// `k >= 2` values from `a` to `b`, both ends exact, evenly spaced (in log space when `log`).
fn spaced(a: f64, b: f64, log: bool, k: usize) -> Vec<f64> {
    let last = (k - 1) as f64;
    (0..k)
        .map(|i| {
            if i == 0 {
                a
            } else if i == k - 1 {
                b
            } else {
                let t = i as f64 / last;
                let v = if log {
                    exp(lerp(ln(a), ln(b), t))
                } else {
                    lerp(a, b, t)
                };
                v.clamp(a, b)
            }
        })
        .collect()
}

fn lerp(a: f64, b: f64, t: f64) -> f64 {
    a + t * (b - a)
}

/// Unit-hypercube points for a sampled design: `n` points of `dims` coordinates in `[0, 1)`.
///
/// Grid is not a sampled design and gives an error, as do `n = 0`, `n > MAX_POINTS` and (Sobol)
/// `dims > SOBOL_MAX_DIMS`. `dims = 0` gives `n` empty points.
pub fn unit_points(
    design: Design,
    dims: usize,
    n: usize,
    seed: u64,
) -> Result<Vec<Vec<f64>>, String> {
    if design == Design::Grid {
        return Err(
            "grid is not a sampled design; its points come from the factors' levels".to_string(),
        );
    }
    if design.is_sensitivity() {
        return Err(format!(
            "{design} is sized by its own settings, not by a number of points (see Sensitivity)"
        ));
    }
    if n == 0 {
        return Err(format!("a {design} design needs at least 1 point, got 0"));
    }
    if n > MAX_POINTS {
        return Err(format!(
            "a {design} design may have at most {MAX_POINTS} points, got {n}"
        ));
    }
    Ok(match design {
        Design::Grid | Design::Saltelli | Design::Morris => unreachable!("handled above"),
        Design::Random => random_points(dims, n, seed),
        Design::LatinHypercube => latin_hypercube_points(dims, n, seed),
        Design::Sobol => {
            if dims > SOBOL_MAX_DIMS {
                return Err(format!(
                    "sobol supports at most {SOBOL_MAX_DIMS} factors, got {dims}"
                ));
            }
            sobol_points(dims, n, Some(seed))
        }
    })
}

/// The whole design: one `Vec<f64>` of factor values (in factor order) per point.
///
/// Grid: the full factorial, first factor varying slowest; `n` and `seed` are ignored (a grid's
/// size is fixed by its levels). Sampled designs: `n` is required; the points are those of
/// [`unit_points`] in the same order, mapped through [`FactorValues::value_at`]. Errors name the
/// factor by its 1-based position.
pub fn design_points(
    design: Design,
    factors: &[FactorValues],
    n: Option<usize>,
    seed: u64,
) -> Result<Vec<Vec<f64>>, String> {
    if factors.is_empty() {
        return Err(format!("a {design} design needs at least one factor"));
    }
    let named = |i: usize, e: String| format!("factor {} of {}: {e}", i + 1, factors.len());
    for (i, f) in factors.iter().enumerate() {
        f.validate().map_err(|e| named(i, e))?;
    }
    if design == Design::Grid {
        let levels = factors
            .iter()
            .enumerate()
            .map(|(i, f)| f.grid_levels().map_err(|e| named(i, e)))
            .collect::<Result<Vec<_>, _>>()?;
        return grid_points(&levels);
    }
    let n = n.ok_or_else(|| format!("a {design} design needs a number of points"))?;
    let units = unit_points(design, factors.len(), n, seed)?;
    Ok(to_values(units, factors))
}

/// Unit-cube points mapped through their factors ([`FactorValues::value_at`]).
fn to_values(units: Vec<Vec<f64>>, factors: &[FactorValues]) -> Vec<Vec<f64>> {
    units
        .into_iter()
        .map(|u| {
            u.into_iter()
                .zip(factors)
                .map(|(u, f)| f.value_at(u))
                .collect()
        })
        .collect()
}

/// Full factorial over `levels`, row-major: the last factor varies fastest.
fn grid_points(levels: &[Vec<f64>]) -> Result<Vec<Vec<f64>>, String> {
    let total = levels
        .iter()
        .try_fold(1usize, |acc, l| acc.checked_mul(l.len()))
        .filter(|&t| t <= MAX_POINTS)
        .ok_or_else(|| {
            let counts: Vec<String> = levels.iter().map(|l| l.len().to_string()).collect();
            format!(
                "grid of {} levels has more than {MAX_POINTS} points",
                counts.join(" × ")
            )
        })?;
    Ok((0..total)
        .map(|mut index| {
            let mut point = vec![0.0; levels.len()];
            for (slot, l) in point.iter_mut().zip(levels).rev() {
                *slot = l[index % l.len()];
                index /= l.len();
            }
            point
        })
        .collect())
}

// ---------------------------------------------------------------------------------------------
// Designs for sensitivity analysis.

/// Most trajectories a Morris design may have, and most levels per factor.
pub const MORRIS_MAX_LEVELS: usize = 1 << 16;

/// A design for global sensitivity analysis, sized by its own settings (not by `points`).
///
/// - `Saltelli { base_samples: N, second_order }`: the first `N` points of the scrambled Sobol'
///   sequence in `2k` dimensions (as [`Design::Sobol`], same seed use) give, per base row, the
///   matrix rows `A` (coordinates `0..k`) and `B` (coordinates `k..2k`). Each base row emits, in
///   SALib's block order: `A`, then `AB_1..AB_k` (`A` with coordinate `j` taken from `B`), then
///   with `second_order` `BA_1..BA_k` (`B` with coordinate `j` from `A`), then `B`: `N·(k+2)`
///   points, or `N·(2k+2)`. `2k` may not exceed [`SOBOL_MAX_DIMS`].
/// - `Morris { trajectories: r, levels: p }` (`p` even, at least 2): `r` trajectories of `k+1`
///   points on the grid `{0, 1/(p-1), …, 1}`, each moving one factor per step by
///   `Δ = p / (2(p-1))` (Morris 1991; the step SALib uses). Per trajectory the generator draws a
///   random order of the factors (Fisher–Yates from the last index down), then per factor in
///   factor order a base level `b` uniform in `0..p/2` and a direction (one draw's top bit). A
///   factor moving up starts at level `b` and ends at `b + p/2`; moving down it starts at
///   `b + p/2` and ends at `b`. Coordinates are `level / (p-1)`, exact for every level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sensitivity {
    Saltelli {
        base_samples: usize,
        second_order: bool,
    },
    Morris {
        trajectories: usize,
        levels: usize,
    },
}

impl Sensitivity {
    /// The design this is.
    pub fn design(self) -> Design {
        match self {
            Sensitivity::Saltelli { .. } => Design::Saltelli,
            Sensitivity::Morris { .. } => Design::Morris,
        }
    }

    /// Points of the design with `dims` factors (`None` on overflow).
    pub fn point_count(self, dims: usize) -> Option<usize> {
        match self {
            Sensitivity::Saltelli {
                base_samples,
                second_order,
            } => {
                let per_row = if second_order { 2 * dims + 2 } else { dims + 2 };
                base_samples.checked_mul(per_row)
            }
            Sensitivity::Morris { trajectories, .. } => trajectories.checked_mul(dims + 1),
        }
    }

    /// The Morris step in the unit cube, `p / (2(p-1))` (as SALib's `_compute_delta`).
    pub fn morris_delta(levels: usize) -> f64 {
        levels as f64 / (2.0 * (levels as f64 - 1.0))
    }

    /// Unit-hypercube points of the design (see the type's documentation), `dims >= 1`.
    pub fn unit_points(self, dims: usize, seed: u64) -> Result<Vec<Vec<f64>>, String> {
        let design = self.design();
        if dims == 0 {
            return Err(format!("a {design} design needs at least one factor"));
        }
        match self {
            Sensitivity::Saltelli {
                base_samples: 0, ..
            } => {
                return Err("base_samples must be at least 1, got 0".to_string());
            }
            Sensitivity::Morris { trajectories, .. } if trajectories < 2 => {
                return Err(format!(
                    "trajectories must be at least 2 (σ needs two effects per factor), got \
                     {trajectories}"
                ));
            }
            Sensitivity::Morris { levels, .. }
                if levels < 2 || !levels.is_multiple_of(2) || levels > MORRIS_MAX_LEVELS =>
            {
                return Err(format!(
                    "levels must be an even number from 2 to {MORRIS_MAX_LEVELS} (the step \
                     p/(2(p-1)) then lands on the grid), got {levels}"
                ));
            }
            _ => {}
        }
        let total = self
            .point_count(dims)
            .filter(|&t| t <= MAX_POINTS)
            .ok_or_else(|| format!("a {design} design may have at most {MAX_POINTS} points"))?;
        Ok(match self {
            Sensitivity::Saltelli {
                base_samples,
                second_order,
            } => {
                if 2 * dims > SOBOL_MAX_DIMS {
                    return Err(format!(
                        "saltelli uses 2 Sobol' dimensions per factor, so at most {} factors, \
                         got {dims}",
                        SOBOL_MAX_DIMS / 2
                    ));
                }
                let base = sobol_points(2 * dims, base_samples, Some(seed));
                let mut points = Vec::with_capacity(total);
                for row in &base {
                    let (a, b) = row.split_at(dims);
                    points.push(a.to_vec());
                    for j in 0..dims {
                        let mut ab = a.to_vec();
                        ab[j] = b[j];
                        points.push(ab);
                    }
                    if second_order {
                        for j in 0..dims {
                            let mut ba = b.to_vec();
                            ba[j] = a[j];
                            points.push(ba);
                        }
                    }
                    points.push(b.to_vec());
                }
                points
            }
            Sensitivity::Morris {
                trajectories,
                levels,
            } => morris_points(dims, trajectories, levels, seed),
        })
    }

    /// The design's points as factor values (each coordinate mapped through its factor by
    /// [`FactorValues::value_at`]). Errors name the factor by its 1-based position.
    pub fn points(self, factors: &[FactorValues], seed: u64) -> Result<Vec<Vec<f64>>, String> {
        for (i, f) in factors.iter().enumerate() {
            f.validate()
                .map_err(|e| format!("factor {} of {}: {e}", i + 1, factors.len()))?;
        }
        let units = self.unit_points(factors.len(), seed)?;
        Ok(to_values(units, factors))
    }
}

fn morris_points(dims: usize, trajectories: usize, levels: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = generator(seed);
    let half = levels / 2;
    let top = (levels - 1) as f64;
    let mut points = Vec::with_capacity(trajectories * (dims + 1));
    let mut order: Vec<usize> = Vec::with_capacity(dims);
    for _ in 0..trajectories {
        order.clear();
        order.extend(0..dims);
        for i in (1..dims).rev() {
            let j = below(&mut rng, i as u64 + 1) as usize;
            order.swap(i, j);
        }
        let mut level = vec![0usize; dims];
        let mut up = vec![true; dims];
        for (l, u) in level.iter_mut().zip(up.iter_mut()) {
            let base = below(&mut rng, half as u64) as usize;
            *u = rng.next_u64() >> 63 == 1;
            *l = if *u { base } else { base + half };
        }
        points.push(level.iter().map(|&l| l as f64 / top).collect());
        for &f in &order {
            level[f] = if up[f] {
                level[f] + half
            } else {
                level[f] - half
            };
            points.push(level.iter().map(|&l| l as f64 / top).collect());
        }
    }
    points
}

// ---------------------------------------------------------------------------------------------
// Random numbers: only `next_u64` of Xoshiro256PlusPlus, so designs cannot drift with `rand`.

pub(crate) fn generator(seed: u64) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(seed)
}

/// Uniform on `[0, 1)` with 53 random bits (the top bits of one draw).
fn unit_f64(rng: &mut Xoshiro256PlusPlus) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// 32 random bits (the top half of one draw: xoshiro's low bits are the weaker ones).
fn bits32(rng: &mut Xoshiro256PlusPlus) -> u32 {
    (rng.next_u64() >> 32) as u32
}

/// Uniform on `0..bound` (`bound > 0`), unbiased: Lemire's multiply-and-reject.
pub(crate) fn below(rng: &mut Xoshiro256PlusPlus, bound: u64) -> u64 {
    let threshold = bound.wrapping_neg() % bound; // 2^64 mod bound
    loop {
        let m = u128::from(rng.next_u64()) * u128::from(bound);
        if (m as u64) >= threshold {
            return (m >> 64) as u64;
        }
    }
}

fn random_points(dims: usize, n: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = generator(seed);
    (0..n)
        .map(|_| (0..dims).map(|_| unit_f64(&mut rng)).collect())
        .collect()
}

fn latin_hypercube_points(dims: usize, n: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = generator(seed);
    let mut points = vec![vec![0.0; dims]; n];
    let mut perm: Vec<usize> = Vec::with_capacity(n);
    for d in 0..dims {
        perm.clear();
        perm.extend(0..n);
        for i in (1..n).rev() {
            let j = below(&mut rng, i as u64 + 1) as usize;
            perm.swap(i, j);
        }
        for (point, &stratum) in points.iter_mut().zip(&perm) {
            point[d] = in_stratum(stratum, n, unit_f64(&mut rng));
        }
    }
    points
}

/// `(k + j) / n` for jitter `j` in `[0, 1)`, guaranteed to satisfy `floor(u * n) == k` (so
/// `u < 1`): rounding can land the quotient on the next stratum's edge.
fn in_stratum(k: usize, n: usize, j: f64) -> f64 {
    let (kf, nf) = (k as f64, n as f64);
    let mut u = (kf + j) / nf;
    while (u * nf).floor() > kf {
        u = u.next_down();
    }
    while (u * nf).floor() < kf {
        u = u.next_up();
    }
    u
}

// ---------------------------------------------------------------------------------------------
// Sobol'.

/// Joe & Kuo (2008), `new-joe-kuo-6.21201`, dimensions 2..=40: `(s, a, m_1..m_s)` with `s` the
/// degree of the primitive polynomial, `a` its inner coefficients, `m` the initial direction
/// integers. Dimension 1 is van der Corput (all `m = 1`) and has no row.
const JOE_KUO: [(u32, u32, &[u32]); SOBOL_MAX_DIMS - 1] = [
    (1, 0, &[1]),
    (2, 1, &[1, 3]),
    (3, 1, &[1, 3, 1]),
    (3, 2, &[1, 1, 1]),
    (4, 1, &[1, 1, 3, 3]),
    (4, 4, &[1, 3, 5, 13]),
    (5, 2, &[1, 1, 5, 5, 17]),
    (5, 4, &[1, 1, 5, 5, 5]),
    (5, 7, &[1, 1, 7, 11, 19]),
    (5, 11, &[1, 1, 5, 1, 1]),
    (5, 13, &[1, 1, 1, 3, 11]),
    (5, 14, &[1, 3, 5, 5, 31]),
    (6, 1, &[1, 3, 3, 9, 7, 49]),
    (6, 13, &[1, 1, 1, 15, 21, 21]),
    (6, 16, &[1, 3, 1, 13, 27, 49]),
    (6, 19, &[1, 1, 1, 15, 7, 5]),
    (6, 22, &[1, 3, 1, 15, 13, 25]),
    (6, 25, &[1, 1, 5, 5, 19, 61]),
    (7, 1, &[1, 3, 7, 11, 23, 15, 103]),
    (7, 4, &[1, 3, 7, 13, 13, 15, 69]),
    (7, 7, &[1, 1, 3, 13, 7, 35, 63]),
    (7, 8, &[1, 3, 5, 9, 1, 25, 53]),
    (7, 14, &[1, 3, 1, 13, 9, 35, 107]),
    (7, 19, &[1, 3, 1, 5, 27, 61, 31]),
    (7, 21, &[1, 1, 5, 11, 19, 41, 61]),
    (7, 28, &[1, 3, 5, 3, 3, 13, 69]),
    (7, 31, &[1, 1, 7, 13, 1, 19, 1]),
    (7, 32, &[1, 3, 7, 5, 13, 19, 59]),
    (7, 37, &[1, 1, 3, 9, 25, 29, 41]),
    (7, 41, &[1, 3, 5, 13, 23, 1, 55]),
    (7, 42, &[1, 3, 7, 3, 13, 59, 17]),
    (7, 50, &[1, 3, 1, 3, 5, 53, 69]),
    (7, 55, &[1, 1, 5, 5, 23, 33, 13]),
    (7, 56, &[1, 1, 7, 7, 1, 61, 123]),
    (7, 59, &[1, 1, 7, 9, 13, 61, 49]),
    (7, 62, &[1, 3, 3, 5, 3, 55, 33]),
    (8, 14, &[1, 3, 1, 15, 31, 13, 49, 245]),
    (8, 21, &[1, 3, 5, 15, 31, 59, 63, 97]),
    (8, 22, &[1, 3, 1, 11, 11, 11, 77, 249]),
];

/// Direction numbers of dimension `dim` (0-based): `v[j]` is column `j` of the generating
/// matrix, digit 1 (weight 1/2) in the top bit.
fn directions(dim: usize) -> [u32; 32] {
    let mut v = [0u32; 32];
    if dim == 0 {
        for (j, x) in v.iter_mut().enumerate() {
            *x = 1 << (31 - j);
        }
        return v;
    }
    let (s, a, m) = JOE_KUO[dim - 1];
    let s = s as usize;
    for j in 0..32 {
        v[j] = if j < s {
            m[j] << (31 - j)
        } else {
            let mut x = v[j - s] ^ (v[j - s] >> s);
            for k in 1..s {
                if (a >> (s - 1 - k)) & 1 == 1 {
                    x ^= v[j - k];
                }
            }
            x
        };
    }
    v
}

/// A random lower-triangular 32×32 binary matrix with unit diagonal, as row masks: output digit
/// `r` (bit `31 - r`) is the parity of `row[r] & input`, so it depends only on input digits
/// `0..=r`, which is what keeps elementary intervals (and the net property) intact.
fn scramble_matrix(rng: &mut Xoshiro256PlusPlus) -> [u32; 32] {
    let mut rows = [0u32; 32];
    rows[0] = 1 << 31;
    for (r, row) in rows.iter_mut().enumerate().skip(1) {
        let above = !(u32::MAX >> r); // digits 0..r
        *row = (bits32(rng) & above) | (1 << (31 - r));
    }
    rows
}

fn apply_matrix(rows: &[u32; 32], v: u32) -> u32 {
    rows.iter().enumerate().fold(0, |acc, (r, row)| {
        acc | (((row & v).count_ones() & 1) << (31 - r))
    })
}

/// The first `n` Sobol' points (Gray-code order) in `dims` dimensions, scrambled with the seed if
/// given (linear matrix scramble then digital shift, per dimension in order).
fn sobol_points(dims: usize, n: usize, scramble: Option<u64>) -> Vec<Vec<f64>> {
    let mut dirs: Vec<[u32; 32]> = (0..dims).map(directions).collect();
    let mut x = vec![0u32; dims];
    if let Some(seed) = scramble {
        let mut rng = generator(seed);
        for (v, shift) in dirs.iter_mut().zip(x.iter_mut()) {
            let rows = scramble_matrix(&mut rng);
            for column in v.iter_mut() {
                *column = apply_matrix(&rows, *column);
            }
            *shift = bits32(&mut rng);
        }
    }
    let scale = 1.0 / (1u64 << 32) as f64;
    let mut points = Vec::with_capacity(n);
    for i in 0..n {
        if i > 0 {
            // Gray code: point i differs from point i-1 by the column of i-1's lowest zero bit.
            let c = (i - 1).trailing_ones() as usize;
            for (xd, v) in x.iter_mut().zip(&dirs) {
                *xd ^= v[c];
            }
        }
        points.push(x.iter().map(|&b| f64::from(b) * scale).collect());
    }
    points
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(min: f64, max: f64, log: bool, integer: bool, levels: Option<usize>) -> FactorValues {
        FactorValues::Range {
            min,
            max,
            log,
            integer,
            levels,
        }
    }

    const SAMPLED: [Design; 3] = [Design::Random, Design::LatinHypercube, Design::Sobol];

    fn bits(points: &[Vec<f64>]) -> Vec<Vec<u64>> {
        points
            .iter()
            .map(|p| p.iter().map(|x| x.to_bits()).collect())
            .collect()
    }

    #[test]
    fn design_names_round_trip_and_errors_list_valid_names() {
        for d in Design::ALL {
            assert_eq!(d.name().parse::<Design>(), Ok(d));
            assert_eq!(d.to_string(), d.name());
        }
        let err = "lhs".parse::<Design>().unwrap_err();
        assert!(err.contains("`lhs`"), "{err}");
        for name in ["grid", "random", "latin_hypercube", "sobol"] {
            assert!(err.contains(name), "{err}");
        }
        assert!("Sobol".parse::<Design>().is_err());
    }

    #[test]
    fn grid_has_product_of_level_counts_first_factor_slowest() {
        let factors = [
            FactorValues::List(vec![1.0, 2.0]),
            FactorValues::List(vec![10.0, 20.0, 30.0]),
            range(0.0, 1.0, false, false, Some(4)),
        ];
        let pts = design_points(Design::Grid, &factors, Some(7), 1).unwrap();
        assert_eq!(pts.len(), 2 * 3 * 4);
        assert_eq!(pts[0], vec![1.0, 10.0, 0.0]);
        assert_eq!(pts[1], vec![1.0, 10.0, 1.0 / 3.0]);
        assert_eq!(pts[3], vec![1.0, 10.0, 1.0]);
        assert_eq!(pts[4], vec![1.0, 20.0, 0.0]);
        assert_eq!(pts[12], vec![2.0, 10.0, 0.0]);
        assert_eq!(pts[23], vec![2.0, 30.0, 1.0]);
        // Every combination exactly once.
        let mut seen: Vec<Vec<u64>> = bits(&pts);
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 24);
        // n and seed are ignored.
        assert_eq!(
            pts,
            design_points(Design::Grid, &factors, None, 99).unwrap()
        );
    }

    #[test]
    fn grid_levels_rules() {
        let log = range(1.0, 1000.0, true, false, Some(4))
            .grid_levels()
            .unwrap();
        for (got, want) in log.iter().zip([1.0, 10.0, 100.0, 1000.0]) {
            assert!((got / want - 1.0).abs() < 1e-12, "{got} vs {want}");
        }
        assert_eq!(
            range(0.5, 4.2, false, true, None).grid_levels().unwrap(),
            vec![1.0, 2.0, 3.0, 4.0]
        );
        assert_eq!(
            range(0.0, 10.0, false, true, Some(3))
                .grid_levels()
                .unwrap(),
            vec![0.0, 5.0, 10.0]
        );
        assert_eq!(
            range(1.0, 100.0, true, true, Some(3))
                .grid_levels()
                .unwrap(),
            vec![1.0, 10.0, 100.0]
        );
        let e = range(0.0, 1.0, false, false, None)
            .grid_levels()
            .unwrap_err();
        assert!(e.contains("levels"), "{e}");
        let e = range(0.0, 1.0, false, false, Some(1))
            .grid_levels()
            .unwrap_err();
        assert!(e.contains("at least 2"), "{e}");
        let e = range(1.0, 3.0, false, true, Some(5))
            .grid_levels()
            .unwrap_err();
        assert!(e.contains("repeats"), "{e}");
        let e = range(1.0, 1000.0, true, true, Some(20))
            .grid_levels()
            .unwrap_err();
        assert!(e.contains("repeats"), "{e}");
        let e = range(0.0, 1e6, false, true, None)
            .grid_levels()
            .unwrap_err();
        assert!(e.contains("set `levels`"), "{e}");
        assert_eq!(
            FactorValues::List(vec![3.0, 1.0, 2.0])
                .grid_levels()
                .unwrap(),
            vec![3.0, 1.0, 2.0]
        );
    }

    #[test]
    fn validation_errors_say_what_is_wrong() {
        let cases = [
            (FactorValues::List(vec![]), "empty"),
            (FactorValues::List(vec![1.0, f64::NAN]), "non-finite"),
            (range(2.0, 1.0, false, false, None), "min < max"),
            (
                range(0.0, 1.0, true, false, None),
                "log range needs min > 0",
            ),
            (range(0.2, 0.8, false, true, None), "no integer"),
            (range(0.0, f64::INFINITY, false, false, None), "finite"),
        ];
        for (f, want) in cases {
            let e = f.validate().unwrap_err();
            assert!(e.contains(want), "{e} should mention {want}");
            assert!(f.value_at(0.5).is_nan());
            let e = design_points(
                Design::Random,
                &[FactorValues::List(vec![1.0]), f],
                Some(3),
                1,
            )
            .unwrap_err();
            assert!(e.starts_with("factor 2 of 2: "), "{e}");
        }
        let e = unit_points(Design::Sobol, 41, 8, 0).unwrap_err();
        assert_eq!(e, "sobol supports at most 40 factors, got 41");
        assert!(unit_points(Design::Sobol, 40, 8, 0).is_ok());
        assert!(unit_points(Design::Grid, 2, 8, 0).is_err());
        assert!(unit_points(Design::Random, 2, 0, 0).is_err());
        assert!(unit_points(Design::Random, 2, MAX_POINTS + 1, 0).is_err());
        let f = [range(0.0, 1.0, false, false, None)];
        let e = design_points(Design::LatinHypercube, &f, None, 0).unwrap_err();
        assert!(e.contains("number of points"), "{e}");
        assert!(design_points(Design::Random, &[], Some(4), 0).is_err());
        let big = vec![range(0.0, 1.0, false, false, Some(100)); 4];
        let e = design_points(Design::Grid, &big, None, 0).unwrap_err();
        assert!(e.contains("100 × 100 × 100 × 100"), "{e}");
    }

    #[test]
    fn value_at_mapping_rules() {
        let list = FactorValues::List(vec![5.0, 6.0, 7.0]);
        assert_eq!(list.value_at(0.0), 5.0);
        assert_eq!(list.value_at(0.34), 6.0);
        assert_eq!(list.value_at(0.999), 7.0);
        assert_eq!(list.value_at(1.0), 7.0);
        let lin = range(-2.0, 6.0, false, false, None);
        assert_eq!(lin.value_at(0.0), -2.0);
        assert_eq!(lin.value_at(0.25), 0.0);
        assert_eq!(lin.value_at(1.0), 6.0);
        assert_eq!(lin.value_at(7.0), 6.0);
        assert_eq!(lin.value_at(-1.0), -2.0);
        let int = range(0.5, 3.7, false, true, None);
        assert_eq!(int.value_at(0.0), 1.0);
        assert_eq!(int.value_at(0.34), 2.0);
        assert_eq!(int.value_at(0.999_999), 3.0);
        assert_eq!(int.value_at(1.0), 3.0);
        let log = range(1e-3, 1e3, true, false, None);
        assert_eq!(log.value_at(0.0), 1e-3);
        assert!((log.value_at(0.5) - 1.0).abs() < 1e-12);
        assert_eq!(log.value_at(1.0), 1e3);
    }

    #[test]
    fn sampled_designs_have_n_points_within_bounds() {
        let factors = [
            range(-1.0, 2.0, false, false, None),
            range(0.01, 100.0, true, false, None),
            range(-3.5, 7.5, false, true, None),
            range(1.0, 1000.0, true, true, None),
            FactorValues::List(vec![0.25, 0.5, 4.0]),
        ];
        for design in SAMPLED {
            for n in [1, 7, 64, 1000] {
                let pts = design_points(design, &factors, Some(n), 11).unwrap();
                assert_eq!(pts.len(), n, "{design}");
                for p in &pts {
                    assert_eq!(p.len(), factors.len());
                    assert!((-1.0..=2.0).contains(&p[0]), "{design} {p:?}");
                    assert!((0.01..=100.0).contains(&p[1]), "{design} {p:?}");
                    assert!((-3.0..=7.0).contains(&p[2]), "{design} {p:?}");
                    assert_eq!(p[2].fract(), 0.0, "{design} {p:?}");
                    assert!((1.0..=1000.0).contains(&p[3]), "{design} {p:?}");
                    assert_eq!(p[3].fract(), 0.0, "{design} {p:?}");
                    assert!([0.25, 0.5, 4.0].contains(&p[4]), "{design} {p:?}");
                }
            }
            let units = unit_points(design, 6, 500, 3).unwrap();
            assert!(units.iter().flatten().all(|u| (0.0..1.0).contains(u)));
        }
    }

    #[test]
    fn integer_values_are_equally_likely() {
        // LHS with n = 10 * count puts exactly 10 points on each integer.
        let f = [range(-2.0, 4.0, false, true, None)];
        let pts = design_points(Design::LatinHypercube, &f, Some(70), 5).unwrap();
        let mut counts = [0; 7];
        for p in &pts {
            counts[(p[0] + 2.0) as usize] += 1;
        }
        assert_eq!(counts, [10; 7]);
    }

    #[test]
    fn log_factors_are_uniform_in_log_space() {
        let f = [range(1.0, 1e4, true, false, None)];
        let pts = design_points(Design::Random, &f, Some(4000), 8).unwrap();
        let mut decades = [0; 4];
        for p in &pts {
            assert!((1.0..=1e4).contains(&p[0]));
            decades[(ln(p[0]) / ln(10.0)).floor().min(3.0) as usize] += 1;
        }
        // Binomial sd ≈ 27; linear sampling would put ~3600 in the top decade.
        for c in decades {
            assert!((850..=1150).contains(&c), "{decades:?}");
        }
    }

    #[test]
    fn same_seed_same_bits_other_seed_other_points() {
        for design in SAMPLED {
            let a = unit_points(design, 5, 100, 42).unwrap();
            let b = unit_points(design, 5, 100, 42).unwrap();
            let c = unit_points(design, 5, 100, 43).unwrap();
            assert_eq!(bits(&a), bits(&b), "{design}");
            assert_ne!(bits(&a), bits(&c), "{design}");
            // Adding a factor at the end keeps the earlier columns (prefix property for Random
            // is over points instead).
            let wider = unit_points(design, 6, 100, 42).unwrap();
            if design != Design::Random {
                for (p, q) in a.iter().zip(&wider) {
                    assert_eq!(p[..], q[..5], "{design}");
                }
            }
        }
        let short = unit_points(Design::Random, 3, 10, 9).unwrap();
        let long = unit_points(Design::Random, 3, 20, 9).unwrap();
        assert_eq!(short[..], long[..10]);
    }

    /// Pinned outputs: these change only if the algorithm or the generator does, which would
    /// break reproducibility of published sweeps.
    #[test]
    fn golden_values() {
        let r = unit_points(Design::Random, 2, 2, 2024).unwrap();
        let l = unit_points(Design::LatinHypercube, 2, 4, 2024).unwrap();
        let s = unit_points(Design::Sobol, 2, 4, 2024).unwrap();
        let g = design_points(
            Design::Random,
            &[range(0.001, 1000.0, true, false, None)],
            Some(1),
            2024,
        )
        .unwrap();
        assert_eq!(
            bits(&r),
            [
                [4602898878934678960, 4598984166729235866],
                [4597942878808291892, 4601267503937671568]
            ]
        );
        assert_eq!(
            bits(&l),
            [
                [4600074190550217828, 4600834047673622796],
                [4606615393572000096, 4606769700441966479],
                [4596448528946390039, 4594017499871308267],
                [4604882265783255229, 4603799127242014830]
            ]
        );
        let s32: Vec<Vec<u32>> = s
            .iter()
            .map(|p| p.iter().map(|x| (x * 4_294_967_296.0) as u32).collect())
            .collect();
        assert_eq!(
            s32,
            [
                [2806037290, 4235260816],
                [1625040417, 627721780],
                [200791239, 2385229591],
                [3429583308, 1462829747]
            ]
        );
        assert_eq!(bits(&g), [[4608990558048417827]]);
    }

    #[test]
    fn unscrambled_sobol_matches_known_points() {
        let pts = sobol_points(4, 8, None);
        let want = [
            [0.0, 0.0, 0.0, 0.0],
            [0.5, 0.5, 0.5, 0.5],
            [0.75, 0.25, 0.25, 0.25],
            [0.25, 0.75, 0.75, 0.75],
            [0.375, 0.375, 0.625, 0.875],
            [0.875, 0.875, 0.125, 0.375],
            [0.625, 0.125, 0.875, 0.625],
            [0.125, 0.625, 0.375, 0.125],
        ];
        for (p, w) in pts.iter().zip(want) {
            assert_eq!(p[..], w[..]);
        }
    }

    /// Checked against an independent implementation (SciPy 1.17 `qmc.Sobol(d=40,
    /// scramble=False, bits=32)`): a hash of all 40×32 direction numbers (`_sv`) and point 1000.
    /// Guards the typed-in Joe–Kuo table and the recurrence that extends it.
    #[test]
    fn unscrambled_sobol_matches_reference_implementation() {
        let hash = (0..SOBOL_MAX_DIMS).flat_map(directions).fold(0u64, |h, v| {
            h.wrapping_mul(1_000_003).wrapping_add(u64::from(v))
        });
        assert_eq!(hash, 11_039_131_652_163_495_044);
        let point: Vec<u32> = sobol_points(SOBOL_MAX_DIMS, 1001, None)[1000]
            .iter()
            .map(|x| (x * 4_294_967_296.0) as u32)
            .collect();
        let want: [u32; SOBOL_MAX_DIMS] = [
            943718400, 415236096, 2227175424, 2906652672, 1203765248, 3896508416, 197132288,
            3862953984, 2151677952, 297795584, 364904448, 1094713344, 692060160, 1648361472,
            616562688, 1589641216, 3091202048, 1480589312, 4257218560, 3116367872, 2243952640,
            2361393152, 4081057792, 2319450112, 2503999488, 3896508416, 171966464, 4206886912,
            255852544, 1463812096, 633339904, 624951296, 1270874112, 2545942528, 3443523584,
            3309305856, 3644850176, 3569352704, 1321205760, 2059403264,
        ];
        assert_eq!(point, want);
    }

    #[test]
    fn joe_kuo_table_is_well_formed() {
        for (i, &(s, a, m)) in JOE_KUO.iter().enumerate() {
            assert_eq!(m.len(), s as usize, "dimension {}", i + 2);
            assert!(a < 1 << (s - 1), "dimension {}", i + 2);
            for (k, &mk) in m.iter().enumerate() {
                assert!(
                    mk % 2 == 1 && mk < 2 << k,
                    "dimension {} m_{}",
                    i + 2,
                    k + 1
                );
            }
        }
        // Polynomials (with leading and trailing 1) are distinct.
        let mut polys: Vec<u32> = JOE_KUO
            .iter()
            .map(|&(s, a, _)| (1 << s) | (a << 1) | 1)
            .collect();
        polys.sort();
        polys.dedup();
        assert_eq!(polys.len(), JOE_KUO.len());
    }

    /// Each dimension of a 2^m-point prefix hits every interval [k/2^m, (k+1)/2^m) once.
    fn assert_one_dimensional_nets(pts: &[Vec<f64>], what: &str) {
        let n = pts.len();
        for d in 0..pts[0].len() {
            let mut seen = vec![0; n];
            for p in pts {
                seen[(p[d] * n as f64) as usize] += 1;
            }
            assert!(seen.iter().all(|&c| c == 1), "{what} dim {d}: {seen:?}");
        }
    }

    #[test]
    fn sobol_balance_survives_scrambling() {
        for seed in [0, 1, 12345] {
            let pts = unit_points(Design::Sobol, SOBOL_MAX_DIMS, 256, seed).unwrap();
            for d in 0..SOBOL_MAX_DIMS {
                let mut counts = [0; 16];
                for p in &pts {
                    counts[(p[d] * 16.0) as usize] += 1;
                }
                assert_eq!(counts, [16; 16], "seed {seed} dim {d}");
            }
            for m in 0..=10 {
                let n = 1 << m;
                let pts = unit_points(Design::Sobol, SOBOL_MAX_DIMS, n, seed).unwrap();
                assert_one_dimensional_nets(&pts, &format!("seed {seed} n {n}"));
            }
            // The first two dimensions form a (0, m, 2)-net: one point per 16×16 cell.
            let mut cells = [[0; 16]; 16];
            for p in &pts {
                cells[(p[0] * 16.0) as usize][(p[1] * 16.0) as usize] += 1;
            }
            assert!(cells.iter().flatten().all(|&c| c == 1), "seed {seed}");
        }
        let unscrambled = sobol_points(SOBOL_MAX_DIMS, 1024, None);
        assert_one_dimensional_nets(&unscrambled, "unscrambled");
    }

    /// Mean chi-square of `g`×`g` cell counts over all pairs of dimensions.
    fn pairwise_chi_square(pts: &[Vec<f64>], g: usize) -> f64 {
        let dims = pts[0].len();
        let gf = g as f64;
        let expected = pts.len() as f64 / (gf * gf);
        let (mut total, mut pairs) = (0.0, 0);
        for a in 0..dims {
            for b in a + 1..dims {
                let mut cells = vec![0.0f64; g * g];
                for p in pts {
                    cells[(p[a] * gf) as usize * g + (p[b] * gf) as usize] += 1.0;
                }
                total += cells
                    .iter()
                    .map(|c| (c - expected).powi(2) / expected)
                    .sum::<f64>();
                pairs += 1;
            }
        }
        total / f64::from(pairs)
    }

    #[test]
    fn sobol_is_more_uniform_than_random() {
        let sobol = unit_points(Design::Sobol, SOBOL_MAX_DIMS, 256, 7).unwrap();
        let random = unit_points(Design::Random, SOBOL_MAX_DIMS, 256, 7).unwrap();
        // Random: about the degrees of freedom (15 and 63).
        let (cs, cr) = (
            pairwise_chi_square(&sobol, 4),
            pairwise_chi_square(&random, 4),
        );
        assert!((10.0..25.0).contains(&cr), "random {cr}");
        assert!(cs < cr / 3.0, "4×4 cells: sobol {cs} vs random {cr}");
        let (cs, cr) = (
            pairwise_chi_square(&sobol, 8),
            pairwise_chi_square(&random, 8),
        );
        assert!((50.0..80.0).contains(&cr), "random {cr}");
        assert!(cs < cr * 0.75, "8×8 cells: sobol {cs} vs random {cr}");
        // The first 8 dimensions: every pair puts exactly 4 points in each 8×8 cell.
        let first: Vec<Vec<f64>> = sobol.iter().map(|p| p[..8].to_vec()).collect();
        assert_eq!(pairwise_chi_square(&first, 8), 0.0);
    }

    #[test]
    fn latin_hypercube_is_stratified() {
        for n in [1, 2, 3, 7, 100, 1000, 4099] {
            let pts = unit_points(Design::LatinHypercube, 4, n, n as u64).unwrap();
            assert_eq!(pts.len(), n);
            for d in 0..4 {
                let mut strata: Vec<usize> = pts
                    .iter()
                    .map(|p| (p[d] * n as f64).floor() as usize)
                    .collect();
                strata.sort_unstable();
                assert_eq!(strata, (0..n).collect::<Vec<_>>(), "n {n} dim {d}");
            }
        }
        // Near the top of a stratum rounding would leave it; in_stratum pulls the point back.
        for n in [3, 10, 49, 1000] {
            for k in [0, n / 2, n - 1] {
                let u = in_stratum(k, n, 1.0 - f64::EPSILON / 2.0);
                assert_eq!((u * n as f64).floor() as usize, k);
                assert!(u < 1.0);
            }
        }
    }

    #[test]
    fn below_is_in_range_and_covers_it() {
        let mut rng = generator(1);
        let mut seen = [0; 7];
        for _ in 0..7000 {
            seen[below(&mut rng, 7) as usize] += 1;
        }
        assert!(seen.iter().all(|&c| (850..1150).contains(&c)), "{seen:?}");
        assert_eq!(below(&mut rng, 1), 0);
    }

    #[test]
    fn saltelli_rows_follow_salib_block_order() {
        let k = 3;
        for second_order in [false, true] {
            let s = Sensitivity::Saltelli {
                base_samples: 8,
                second_order,
            };
            let pts = s.unit_points(k, 7).unwrap();
            let per = if second_order { 2 * k + 2 } else { k + 2 };
            assert_eq!(pts.len(), 8 * per);
            assert_eq!(s.point_count(k), Some(8 * per));
            let base = sobol_points(2 * k, 8, Some(7));
            for (i, row) in base.iter().enumerate() {
                let block = &pts[i * per..(i + 1) * per];
                let (a, b) = row.split_at(k);
                assert_eq!(block[0], a);
                assert_eq!(block[per - 1], b);
                for j in 0..k {
                    for d in 0..k {
                        let want = if d == j { b[d] } else { a[d] };
                        assert_eq!(block[1 + j][d], want, "AB_{j}");
                        if second_order {
                            let want = if d == j { a[d] } else { b[d] };
                            assert_eq!(block[1 + k + j][d], want, "BA_{j}");
                        }
                    }
                }
            }
        }
        let too_many = Sensitivity::Saltelli {
            base_samples: 4,
            second_order: false,
        };
        let err = too_many.unit_points(SOBOL_MAX_DIMS / 2 + 1, 1).unwrap_err();
        assert!(err.contains("at most 20 factors"), "{err}");
        let none = Sensitivity::Saltelli {
            base_samples: 0,
            second_order: false,
        };
        assert!(none.unit_points(2, 1).unwrap_err().contains("base_samples"));
    }

    #[test]
    fn morris_moves_one_factor_per_step_by_delta_on_the_grid() {
        let (k, r, p) = (4, 25, 6);
        let s = Sensitivity::Morris {
            trajectories: r,
            levels: p,
        };
        let pts = s.unit_points(k, 3).unwrap();
        assert_eq!(pts.len(), r * (k + 1));
        let delta = Sensitivity::morris_delta(p);
        assert_eq!(delta, 0.6);
        let (mut ups, mut downs) = (0, 0);
        for t in pts.chunks(k + 1) {
            let mut moved = vec![false; k];
            for w in t.windows(2) {
                let changed: Vec<usize> = (0..k).filter(|&d| w[0][d] != w[1][d]).collect();
                assert_eq!(changed.len(), 1, "{w:?}");
                let d = changed[0];
                assert!(!moved[d], "factor {d} moved twice");
                moved[d] = true;
                let step = w[1][d] - w[0][d];
                assert!((step.abs() - delta).abs() < 1e-12, "{step}");
                if step > 0.0 { ups += 1 } else { downs += 1 }
            }
            for x in t.iter().flatten() {
                let level = x * (p - 1) as f64;
                assert_eq!(level, level.round(), "{x} off the grid");
                assert!((0.0..=1.0).contains(x));
            }
        }
        assert!(ups > 20 && downs > 20, "{ups} up, {downs} down");
        assert_eq!(pts, s.unit_points(k, 3).unwrap());
        assert_ne!(pts, s.unit_points(k, 4).unwrap());
        for (trajectories, levels, what) in [(1, 4, "trajectories"), (4, 5, "even"), (4, 0, "even")]
        {
            let bad = Sensitivity::Morris {
                trajectories,
                levels,
            };
            let err = bad.unit_points(2, 1).unwrap_err();
            assert!(err.contains(what), "{err}");
        }
        let err = unit_points(Design::Morris, 2, 10, 1).unwrap_err();
        assert!(err.contains("own settings"), "{err}");
    }
}
