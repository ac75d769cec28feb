//! Analysis of a finished sweep: global sensitivity indices, the Monte Carlo noise of point
//! means, and scenario discovery ([`prim`]). Pure functions of numbers; reading a run folder and
//! writing the result files is in [`folder`].
//!
//! # Sobol' indices (design = "saltelli")
//!
//! The outputs `y` (one per point, in the design's order: per base row `A`, `AB_1..AB_k`,
//! `BA_1..BA_k` with second order, `B`) are first standardised over all points,
//! `y ← (y − ȳ) / sd(y)` (population standard deviation), as SALib's `sobol.analyze` does; the
//! centring matters for the first-order estimator. With `V = var([A; B])` (population variance of the `2N` outputs of the `A` and `B`
//! rows):
//!
//! - first order (Saltelli et al. 2010): `S1_j = mean(B · (AB_j − A)) / V`;
//! - total (Jansen 1999, as in Saltelli et al. 2010): `ST_j = ½ · mean((A − AB_j)²) / V`.
//!
//! # Elementary effects (design = "morris")
//!
//! In each trajectory, factor `j` moves once, between consecutive points `s` and `s+1`, by
//! `±Δ` in the unit cube with `Δ = p / (2(p−1))`. Its elementary effect is
//! `(y_{s+1} − y_s) / Δ` when it moved up and `(y_s − y_{s+1}) / Δ` when it moved down (SALib's
//! `morris.analyze`: effects are divided by the step in the unit cube, not in the factor's
//! units). `μ` is their mean, `μ*` the mean of their absolute values, `σ` their standard
//! deviation (ddof = 1).
//!
//! # Intervals
//!
//! Bootstrap with a seeded generator (Xoshiro256++ from [`BOOTSTRAP_SEED`]): [`RESAMPLES`]
//! resamples of the base rows (Sobol') or trajectories (Morris) with replacement; the interval is
//! `estimate ± z · sd` of the resampled estimates, `z = 1.959964` (95%), the form of SALib's
//! `*_conf`. The resamples are drawn in a fixed order, so the same inputs give the same bytes.
//!
//! # Replications
//!
//! A sweep point is run several times; its output is the mean of its replications. That mean
//! carries Monte Carlo noise of variance `s²/n` (the replications' sample variance over their
//! number), which adds to the variance across points and inflates the indices of factors that do
//! nothing. [`Noise`] reports it: the mean standard error and the share of the across-point
//! variance that the noise accounts for.

pub mod folder;
pub mod prim;

use rand::rngs::Xoshiro256PlusPlus;

use crate::scenario::design::{Sensitivity, below, generator};

/// Bootstrap resamples per index.
pub const RESAMPLES: usize = 1000;

/// Seed of the bootstrap generator (fixed: intervals are a function of the outputs alone).
pub const BOOTSTRAP_SEED: u64 = 0x5A17_E111;

/// Normal quantile of a two-sided 95% interval.
pub const Z95: f64 = 1.959_963_984_540_054;

/// One index of one factor: its estimate and bootstrap interval.
#[derive(Clone, Debug, PartialEq)]
pub struct Estimate {
    pub estimate: f64,
    pub ci_low: f64,
    pub ci_high: f64,
}

impl Estimate {
    fn from_resamples(estimate: f64, resampled: &[f64]) -> Estimate {
        let half = Z95 * sample_sd(resampled);
        Estimate {
            estimate,
            ci_low: estimate - half,
            ci_high: estimate + half,
        }
    }
}

/// A named index of a factor (`S1`, `ST`, `mu`, `mu_star`, `sigma`).
#[derive(Clone, Debug, PartialEq)]
pub struct FactorIndex {
    /// 0-based factor position.
    pub factor: usize,
    /// `sobol` or `morris`.
    pub method: &'static str,
    pub index: &'static str,
    pub value: Estimate,
}

/// Mean of a slice (0 terms: NaN).
pub fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

/// The smallest and largest of `x`.
fn extent(x: &[f64]) -> (f64, f64) {
    x.iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| {
            (l.min(v), h.max(v))
        })
}

/// Population variance (ddof = 0).
pub fn population_variance(x: &[f64]) -> f64 {
    let m = mean(x);
    x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / x.len() as f64
}

/// Sample standard deviation (ddof = 1; NaN below 2 values).
pub fn sample_sd(x: &[f64]) -> f64 {
    let m = mean(x);
    let ss = x.iter().map(|v| (v - m) * (v - m)).sum::<f64>();
    (ss / (x.len() as f64 - 1.0)).sqrt()
}

/// The outputs of a Saltelli design cut into its matrices (after standardising).
struct SaltelliBlocks {
    a: Vec<f64>,
    b: Vec<f64>,
    /// `ab[j][i]`: row `i` of `AB_j`.
    ab: Vec<Vec<f64>>,
}

impl SaltelliBlocks {
    fn new(y: &[f64], k: usize, second_order: bool) -> Result<SaltelliBlocks, String> {
        let step = if second_order { 2 * k + 2 } else { k + 2 };
        if k == 0 || y.is_empty() || !y.len().is_multiple_of(step) {
            return Err(format!(
                "{} outputs do not make whole blocks of {step} (k = {k} factors{})",
                y.len(),
                if second_order { ", second order" } else { "" }
            ));
        }
        let m = mean(y);
        let sd = population_variance(y).sqrt();
        // An output that does not vary (up to the last bits of averaging, e.g. a nation that
        // never installs a firm's chips) has no indices: all zero, as SALib gives for a
        // constant output (its standardised output is NaN and every index falls back to 0).
        let (lo, hi) = extent(y);
        let scale = lo.abs().max(hi.abs());
        let z: Vec<f64> = if sd.is_nan() || sd == 0.0 || hi - lo <= 1e-12 * scale {
            vec![0.0; y.len()]
        } else {
            y.iter().map(|v| (v - m) / sd).collect()
        };
        let rows = z.chunks(step);
        Ok(SaltelliBlocks {
            a: rows.clone().map(|r| r[0]).collect(),
            b: rows.clone().map(|r| r[step - 1]).collect(),
            ab: (0..k)
                .map(|j| rows.clone().map(|r| r[1 + j]).collect())
                .collect(),
        })
    }

    /// (S1_j, ST_j) over the base rows `rows` (indices into the blocks, repeats allowed).
    fn indices(&self, j: usize, rows: &[usize]) -> (f64, f64) {
        let n = rows.len() as f64;
        let mut ab_pairs = Vec::with_capacity(2 * rows.len());
        let (mut first, mut total) = (0.0, 0.0);
        for &i in rows {
            let (a, b, ab) = (self.a[i], self.b[i], self.ab[j][i]);
            first += b * (ab - a);
            total += (a - ab) * (a - ab);
            ab_pairs.push(a);
        }
        ab_pairs.extend(rows.iter().map(|&i| self.b[i]));
        // SALib's guards: outputs of A and B that do not vary, or whose variance is below the
        // machine epsilon, give 0 rather than a ratio of rounding errors.
        let (lo, hi) = extent(&ab_pairs);
        let v = population_variance(&ab_pairs);
        if hi - lo <= f64::EPSILON || v <= f64::EPSILON {
            return (0.0, 0.0);
        }
        (first / n / v, 0.5 * (total / n) / v)
    }
}

/// First-order (`S1`) and total (`ST`) Sobol' indices of each of `k` factors from the outputs of
/// a Saltelli design (one per point, in design order), with bootstrap intervals.
pub fn sobol_indices(y: &[f64], k: usize, second_order: bool) -> Result<Vec<FactorIndex>, String> {
    let blocks = SaltelliBlocks::new(y, k, second_order)?;
    let n = blocks.a.len();
    let all: Vec<usize> = (0..n).collect();
    let resamples = resample_indices(n, RESAMPLES);
    let mut out = Vec::with_capacity(2 * k);
    for j in 0..k {
        let (s1, st) = blocks.indices(j, &all);
        let (mut r1, mut rt) = (Vec::with_capacity(RESAMPLES), Vec::with_capacity(RESAMPLES));
        for rows in &resamples {
            let (a, b) = blocks.indices(j, rows);
            r1.push(a);
            rt.push(b);
        }
        for (index, estimate, resampled) in [("S1", s1, &r1), ("ST", st, &rt)] {
            out.push(FactorIndex {
                factor: j,
                method: "sobol",
                index,
                value: Estimate::from_resamples(estimate, resampled),
            });
        }
    }
    Ok(out)
}

/// Elementary effects of a Morris design: `effects[j][t]` is factor `j`'s effect in trajectory
/// `t`. `unit` are the design's unit-cube points (trajectory after trajectory, `k+1` each).
pub fn elementary_effects(
    unit: &[Vec<f64>],
    y: &[f64],
    levels: usize,
) -> Result<Vec<Vec<f64>>, String> {
    let k = unit.first().map_or(0, Vec::len);
    if k == 0 || unit.len() != y.len() || !unit.len().is_multiple_of(k + 1) {
        return Err(format!(
            "{} points and {} outputs do not make whole trajectories of {} points",
            unit.len(),
            y.len(),
            k + 1
        ));
    }
    let delta = Sensitivity::morris_delta(levels);
    let mut effects = vec![Vec::with_capacity(unit.len() / (k + 1)); k];
    for (t, (x, y)) in unit.chunks(k + 1).zip(y.chunks(k + 1)).enumerate() {
        for s in 0..k {
            let moved: Vec<usize> = (0..k).filter(|&d| x[s + 1][d] != x[s][d]).collect();
            let &[j] = moved.as_slice() else {
                return Err(format!(
                    "trajectory {t}, step {s}: {} factors moved, not one",
                    moved.len()
                ));
            };
            let dy = y[s + 1] - y[s];
            let effect = if x[s + 1][j] > x[s][j] { dy } else { -dy };
            effects[j].push(effect / delta);
        }
    }
    if let Some(j) = effects.iter().position(|e| e.len() != unit.len() / (k + 1)) {
        return Err(format!(
            "factor {} does not move once per trajectory",
            j + 1
        ));
    }
    Ok(effects)
}

/// `μ`, `μ*` and `σ` of each factor's elementary effects, with bootstrap intervals (resampling
/// trajectories).
pub fn morris_indices(effects: &[Vec<f64>]) -> Vec<FactorIndex> {
    let r = effects.first().map_or(0, Vec::len);
    let resamples = resample_indices(r, RESAMPLES);
    let stats = |e: &[f64], rows: &[usize]| -> [f64; 3] {
        let picked: Vec<f64> = rows.iter().map(|&t| e[t]).collect();
        let abs: Vec<f64> = picked.iter().map(|v| v.abs()).collect();
        [mean(&picked), mean(&abs), sample_sd(&picked)]
    };
    let all: Vec<usize> = (0..r).collect();
    let mut out = Vec::with_capacity(3 * effects.len());
    for (j, e) in effects.iter().enumerate() {
        let estimates = stats(e, &all);
        let resampled: Vec<[f64; 3]> = resamples.iter().map(|rows| stats(e, rows)).collect();
        for (m, index) in ["mu", "mu_star", "sigma"].into_iter().enumerate() {
            let column: Vec<f64> = resampled.iter().map(|s| s[m]).collect();
            out.push(FactorIndex {
                factor: j,
                method: "morris",
                index,
                value: Estimate::from_resamples(estimates[m], &column),
            });
        }
    }
    out
}

/// `count` resamples of `0..n` with replacement, from the fixed bootstrap seed.
fn resample_indices(n: usize, count: usize) -> Vec<Vec<usize>> {
    let mut rng: Xoshiro256PlusPlus = generator(BOOTSTRAP_SEED);
    if n == 0 {
        return Vec::new();
    }
    (0..count)
        .map(|_| (0..n).map(|_| below(&mut rng, n as u64) as usize).collect())
        .collect()
}

/// The Monte Carlo noise in the point means of one metric.
#[derive(Clone, Debug, PartialEq)]
pub struct Noise {
    /// Mean over points of the standard error of the point's mean (`s / √n`).
    pub mean_standard_error: f64,
    /// Largest standard error of a point's mean relative to |mean| (0 at a point whose
    /// replications agree, infinite at a point whose mean is 0 but whose replications differ;
    /// NaN with a single replication).
    pub max_relative_standard_error: f64,
    /// `mean(s²/n) / var(point means)`: the share of the across-point variance that is noise.
    pub noise_variance_share: f64,
}

/// Point means of one metric, and their noise. `by_point[p]` holds point `p`'s replications
/// (at least one each; with one replication the noise is unknown, NaN).
pub fn point_means(by_point: &[Vec<f64>]) -> (Vec<f64>, Noise) {
    let means: Vec<f64> = by_point.iter().map(|r| mean(r)).collect();
    let se2: Vec<f64> = by_point
        .iter()
        .map(|r| {
            let sd = sample_sd(r);
            sd * sd / r.len() as f64
        })
        .collect();
    // 0 where the replications agree exactly; infinite where the mean is 0 but they do not.
    let relative = se2
        .iter()
        .zip(&means)
        .map(|(s, m)| if *s == 0.0 { 0.0 } else { s.sqrt() / m.abs() })
        .fold(0.0f64, |a, b| {
            if a.is_nan() || b.is_nan() {
                f64::NAN
            } else {
                a.max(b)
            }
        });
    let noise = Noise {
        mean_standard_error: mean(&se2.iter().map(|s| s.sqrt()).collect::<Vec<_>>()),
        max_relative_standard_error: relative,
        noise_variance_share: mean(&se2) / sample_sd(&means).powi(2),
    };
    (means, noise)
}

#[cfg(test)]
mod tests {
    use super::*;
    use libm::sin;

    /// Ishigami function on the unit cube mapped to [-π, π]³ (a = 7, b = 0.1): analytic S1 =
    /// (0.3139, 0.4424, 0), ST = (0.5576, 0.4424, 0.2437).
    fn ishigami(u: &[f64]) -> f64 {
        let x: Vec<f64> = u
            .iter()
            .map(|v| -std::f64::consts::PI + 2.0 * std::f64::consts::PI * v)
            .collect();
        sin(x[0]) + 7.0 * sin(x[1]).powi(2) + 0.1 * x[2].powi(4) * sin(x[0])
    }

    #[test]
    fn a_constant_output_has_zero_indices_as_in_salib() {
        // 4 base rows of a 2-factor design; the output is the same everywhere but for the last
        // bits that averaging leaves.
        let mut y = vec![3.0; 16];
        y[5] = 3.0 + 4.0 * f64::EPSILON;
        for f in sobol_indices(&y, 2, false).unwrap() {
            assert_eq!(f.value.estimate, 0.0, "{f:?}");
        }
    }

    #[test]
    fn sobol_indices_of_ishigami_are_near_the_analytic_values() {
        let design = Sensitivity::Saltelli {
            base_samples: 4096,
            second_order: false,
        };
        let units = design.unit_points(3, 11).unwrap();
        let y: Vec<f64> = units.iter().map(|u| ishigami(u)).collect();
        let idx = sobol_indices(&y, 3, false).unwrap();
        let get = |j, name| {
            idx.iter()
                .find(|i| i.factor == j && i.index == name)
                .unwrap()
                .value
                .clone()
        };
        let want = [(0.3139, 0.5576), (0.4424, 0.4424), (0.0, 0.2437)];
        for (j, (s1, st)) in want.into_iter().enumerate() {
            let (e1, et) = (get(j, "S1"), get(j, "ST"));
            assert!((e1.estimate - s1).abs() < 0.03, "S1_{j} = {e1:?}");
            assert!((et.estimate - st).abs() < 0.03, "ST_{j} = {et:?}");
            assert!(e1.ci_low < e1.estimate && e1.estimate < e1.ci_high);
            assert!(et.ci_high - et.ci_low < 0.2, "{et:?}");
        }
        // Same inputs, same bits (the bootstrap is seeded).
        assert_eq!(idx, sobol_indices(&y, 3, false).unwrap());
        assert!(sobol_indices(&y[1..], 3, false).is_err());
    }

    #[test]
    fn morris_effects_of_a_linear_model_are_its_slopes_in_the_unit_cube() {
        let design = Sensitivity::Morris {
            trajectories: 10,
            levels: 4,
        };
        let units = design.unit_points(3, 5).unwrap();
        // y = 2 u0 - 3 u1 + 0 u2
        let y: Vec<f64> = units.iter().map(|u| 2.0 * u[0] - 3.0 * u[1]).collect();
        let effects = elementary_effects(&units, &y, 4).unwrap();
        let idx = morris_indices(&effects);
        let get = |j, name: &str| {
            idx.iter()
                .find(|i| i.factor == j && i.index == name)
                .unwrap()
                .value
                .estimate
        };
        // Effects are divided by Δ = 2/3 while the step in the grid is (p/2)/(p-1) = 2/3 too.
        assert!((get(0, "mu") - 2.0).abs() < 1e-12);
        assert!((get(1, "mu") + 3.0).abs() < 1e-12);
        assert!((get(1, "mu_star") - 3.0).abs() < 1e-12);
        assert!(get(1, "sigma").abs() < 1e-12);
        assert_eq!(get(2, "mu_star"), 0.0);
    }

    #[test]
    fn point_means_report_the_noise_of_the_average() {
        let by_point = vec![vec![1.0, 3.0], vec![10.0, 10.0], vec![4.0, 8.0]];
        let (means, noise) = point_means(&by_point);
        assert_eq!(means, vec![2.0, 10.0, 6.0]);
        // s² = 2, 0, 8; s²/n = 1, 0, 4; var(means) = 16.
        assert!((noise.noise_variance_share - (5.0 / 3.0) / 16.0).abs() < 1e-12);
        assert!((noise.mean_standard_error - 1.0).abs() < 1e-12);
        assert!((noise.max_relative_standard_error - 0.5).abs() < 1e-12);
    }
}
