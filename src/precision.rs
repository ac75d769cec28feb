//! Replication to a precision target (`chipdip run --target METRIC=REL[,METRIC=REL]`).
//!
//! How many replications are enough is decided before the run, in memory, by the same runner,
//! seeds and chunks as the run itself: starting from the scenario's replications `R0`, rounds
//! of [`CHUNK_REPS`] more replications of every point are run until, at **every** point and for
//! **every** listed metric (a `summary.csv` column), the Monte Carlo standard error of the mean
//! `s / √n` is at most `REL · |mean|` (`s` the sample standard deviation of the point's
//! replications that did not fail), or the cap is reached. Every point then gets that same
//! number `R` of replications and the run proceeds as `--reps R` would, into its folder.
//!
//! The decision depends only on the replications' values (a pure function of scenario and
//! seed, taken in (point, replication) order), so the same command gives the same `R` and the
//! same bytes on any number of threads, and every shard of a sharded run reaches the same `R`
//! (each shard makes the decision on all points, then runs its own chunks). The price: the
//! replications of the decision are run again into the folder (about twice the work of
//! `--reps R`; each shard repeats the whole decision).
//!
//! The manifest records the targets, the cap, `R`, whether the targets were met, and per metric
//! the largest relative standard error over the points with the point where it occurs.

use serde::{Deserialize, Serialize};

use crate::experiment::{CHUNK_REPS, Chunk, ThreadsError};
use crate::memory::run_chunks_in_memory;
use crate::scenario::Scenario;

/// Default cap on the replications per point.
pub const DEFAULT_MAX_REPLICATIONS: u32 = 2000;

/// One metric's target: standard error of the mean at most `relative · |mean|`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Target {
    pub metric: String,
    pub relative: f64,
}

/// Parses `METRIC=REL[,METRIC=REL]` (REL > 0).
pub fn parse_targets(s: &str) -> Result<Vec<Target>, String> {
    let targets = s
        .split(',')
        .map(|part| {
            let (metric, rel) = part.split_once('=').ok_or_else(|| {
                format!("--target takes METRIC=REL[,METRIC=REL], got {part:?} in {s:?}")
            })?;
            let relative: f64 = rel
                .trim()
                .parse()
                .map_err(|_| format!("--target {}: {rel:?} is not a number", metric.trim()))?;
            if !(relative > 0.0 && relative.is_finite()) {
                return Err(format!(
                    "--target {}: the relative standard error must be > 0, got {relative}",
                    metric.trim()
                ));
            }
            Ok(Target {
                metric: metric.trim().to_string(),
                relative,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(targets)
}

/// What one metric reached: its largest relative standard error over the points.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reached {
    pub metric: String,
    pub target: f64,
    /// max over points of `(s / √n) / |mean|` (0 when s = 0; infinite when the mean is 0 and
    /// s > 0).
    pub max_relative_standard_error: f64,
    /// The point where that maximum occurs.
    pub worst_point: usize,
    /// max over points of `s / √n`.
    pub max_standard_error: f64,
}

/// The precision record of a run (in `manifest.json` under `precision`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Precision {
    pub targets: Vec<Target>,
    pub max_replications: u32,
    /// Replications per point chosen.
    pub replications: u32,
    /// Whether every target was met at every point (false: the cap was reached first).
    pub met: bool,
    pub reached: Vec<Reached>,
}

/// Why the replications could not be decided.
#[derive(Debug, thiserror::Error)]
pub enum PrecisionError {
    /// A target names no summary outcome, or the cap is below the start (bad input).
    #[error("{0}")]
    Input(String),
    #[error(transparent)]
    Threads(#[from] ThreadsError),
}

/// Running sums of one (point, metric), added to in (replication) order.
#[derive(Clone, Copy, Default)]
struct Moments {
    n: f64,
    mean: f64,
    m2: f64,
}

impl Moments {
    fn add(&mut self, x: f64) {
        self.n += 1.0;
        let d = x - self.mean;
        self.mean += d / self.n;
        self.m2 += d * (x - self.mean);
    }

    fn standard_error(&self) -> f64 {
        (self.m2 / (self.n - 1.0) / self.n).sqrt()
    }

    /// `se / |mean|`, 0 when se = 0, infinite with fewer than 2 values or a zero mean.
    fn relative(&self) -> f64 {
        if self.n < 2.0 {
            return f64::INFINITY;
        }
        let se = self.standard_error();
        if se == 0.0 { 0.0 } else { se / self.mean.abs() }
    }
}

/// Decides the replications per point for `targets` (see the module documentation). `scenario`
/// is loaded with the starting replications; `max` caps them.
pub fn decide(
    scenario: &Scenario,
    targets: &[Target],
    max: u32,
    threads: usize,
) -> Result<Precision, PrecisionError> {
    let start = scenario.settings.replications;
    if max < start {
        return Err(PrecisionError::Input(format!(
            "--max-reps {max} is below the starting replications {start}"
        )));
    }
    let points = scenario.points.len();
    let mut moments = vec![vec![Moments::default(); targets.len()]; points];
    let mut done = 0u32;
    let mut next = start.max(2);
    loop {
        let next_capped = next.min(max);
        let chunks: Vec<Chunk> = (0..points)
            .flat_map(|point| {
                let mut out = Vec::new();
                let mut first = done;
                while first < next_capped {
                    let reps = CHUNK_REPS.min(next_capped - first);
                    out.push(Chunk {
                        index: 0,
                        point,
                        first_rep: first,
                        reps,
                    });
                    first += reps;
                }
                out
            })
            .collect();
        let results = run_chunks_in_memory(scenario, &chunks, threads)?;
        for (t, target) in targets.iter().enumerate() {
            let values = results
                .summary_by_name(&target.metric)
                .map_err(|e| PrecisionError::Input(format!("--target {}: {e}", target.metric)))?;
            for (r, v) in results.replications().iter().zip(values) {
                moments[r.point][t].add(v);
            }
        }
        done = next_capped;
        let met = targets
            .iter()
            .enumerate()
            .all(|(t, target)| moments.iter().all(|m| m[t].relative() <= target.relative));
        if met || done >= max {
            let reached = targets
                .iter()
                .enumerate()
                .map(|(t, target)| {
                    let (worst_point, worst) = moments
                        .iter()
                        .enumerate()
                        .map(|(p, m)| (p, m[t].relative()))
                        .fold((0, f64::NEG_INFINITY), |a, b| if b.1 > a.1 { b } else { a });
                    Reached {
                        metric: target.metric.clone(),
                        target: target.relative,
                        max_relative_standard_error: worst,
                        worst_point,
                        max_standard_error: moments
                            .iter()
                            .map(|m| m[t].standard_error())
                            .fold(0.0, f64::max),
                    }
                })
                .collect();
            return Ok(Precision {
                targets: targets.to_vec(),
                max_replications: max,
                replications: done,
                met,
                reached,
            });
        }
        next = done + CHUNK_REPS;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_and_bad_ones_say_why() {
        let t = parse_targets("mys_hub_diverted_units=0.05, mys_retract_count=0.1").unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t[1].metric, "mys_retract_count");
        assert_eq!(t[1].relative, 0.1);
        assert!(parse_targets("x").unwrap_err().contains("METRIC=REL"));
        assert!(parse_targets("x=abc").unwrap_err().contains("not a number"));
        assert!(parse_targets("x=0").unwrap_err().contains("> 0"));
    }

    #[test]
    fn moments_give_the_standard_error_of_the_mean() {
        let mut m = Moments::default();
        for x in [1.0, 3.0, 5.0, 7.0] {
            m.add(x);
        }
        // s² = 20/3, se = sqrt(20/3/4).
        assert!((m.standard_error() - (20.0f64 / 12.0).sqrt()).abs() < 1e-12);
        assert!((m.relative() - (20.0f64 / 12.0).sqrt() / 4.0).abs() < 1e-12);
        let mut c = Moments::default();
        c.add(2.0);
        assert_eq!(c.relative(), f64::INFINITY);
        c.add(2.0);
        assert_eq!(c.relative(), 0.0);
    }
}
