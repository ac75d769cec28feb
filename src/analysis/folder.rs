//! The file edge of the analysis: reads a finished (or merged) run folder — `manifest.json` for
//! the sweep's design and factors, `points.csv` for the points' factor values, `summary.csv` for
//! each replication's outcomes — and writes `sensitivity.csv` (`chipdip analyze`) and `prim.csv`
//! (`chipdip discover`) into it.
//!
//! `sensitivity.csv`: `metric, factor, method, index, estimate, ci_low, ci_high`. Per metric,
//! first the noise of the point means (`factor` empty, `method = replications`, indices
//! `mean_standard_error`, `max_relative_standard_error`, `noise_variance_share`, no interval),
//! then per factor `sobol` `S1` and `ST` or `morris` `mu`, `mu_star`, `sigma`.
//!
//! `prim.csv`: `step, coverage, density, mass, cases, lower:<factor>, upper:<factor>, …, chosen`
//! (`chosen` is 1 on the chosen box's row, else 0).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::prim::{Prim, prim};
use super::{FactorIndex, Noise, elementary_effects, morris_indices, point_means, sobol_indices};
use crate::output::format_number;
use crate::output::manifest::Manifest;
use crate::output::parts::write_atomic;
use crate::scenario::design::{Design, Sensitivity};
use crate::scenario::sweep::SweepFile;

/// Why an analysis could not be made.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    /// The folder, or what the user asked of it, does not fit (exit 2).
    #[error("{0}")]
    Input(String),
    /// Reading or writing failed.
    #[error("{0}")]
    Io(String),
}

fn input(message: impl Into<String>) -> AnalysisError {
    AnalysisError::Input(message.into())
}

/// A finished sweep, read from its folder.
pub struct SweepRun {
    pub dir: PathBuf,
    pub sweep: SweepFile,
    /// Factor paths, in design order (the points' coordinates).
    pub factors: Vec<String>,
    /// The design's seed.
    pub seed: u64,
    /// `points[p]`: point `p`'s factor values (from points.csv).
    pub points: Vec<Vec<f64>>,
    /// summary.csv's outcome columns (everything but point, replication, seed and factors).
    pub metrics: Vec<String>,
    summary: csv::StringRecord,
    rows: Vec<csv::StringRecord>,
    point_column: usize,
}

impl SweepRun {
    /// Reads `dir` (a complete run or merged folder of a sweep).
    pub fn read(dir: &Path) -> Result<SweepRun, AnalysisError> {
        let manifest = Manifest::read(&dir.join("manifest.json"))
            .map_err(|e| input(format!("{}: {e}", dir.display())))?;
        if !manifest.complete {
            return Err(input(format!(
                "{} is not complete (run it to the end, or merge its shards first)",
                dir.display()
            )));
        }
        if manifest.shard.count > 1 {
            return Err(input(format!(
                "{} is shard {} of {}; merge the shards (`chipdip merge`) and analyse the result",
                dir.display(),
                manifest.shard.index,
                manifest.shard.count
            )));
        }
        let sweep_json = manifest.scenario.get("sweep").ok_or_else(|| {
            input(format!(
                "{} is not a sweep (its scenario has no [sweep])",
                dir.display()
            ))
        })?;
        let sweep: SweepFile = serde_json::from_value(sweep_json.clone())
            .map_err(|e| input(format!("{}: manifest's sweep: {e}", dir.display())))?;
        let factors: Vec<String> = sweep.factors.keys().cloned().collect();
        let seed = sweep.design_seed(manifest.master_seed);

        let (header, rows) = read_csv(&dir.join("points.csv"))?;
        let columns = factors
            .iter()
            .map(|f| column(&header, f, "points.csv"))
            .collect::<Result<Vec<_>, _>>()?;
        let points = rows
            .iter()
            .enumerate()
            .map(|(i, r)| {
                columns
                    .iter()
                    .map(|&c| number(r, c, i, "points.csv"))
                    .collect::<Result<Vec<_>, _>>()
            })
            .collect::<Result<Vec<_>, _>>()?;
        if points.len() != manifest.points {
            return Err(input(format!(
                "points.csv has {} rows, the manifest {} points",
                points.len(),
                manifest.points
            )));
        }

        let (summary, rows) = read_csv(&dir.join("summary.csv"))?;
        let point_column = column(&summary, "point", "summary.csv")?;
        let metrics = summary
            .iter()
            .filter(|c| !matches!(*c, "scenario" | "point" | "replication" | "seed"))
            .filter(|c| !factors.iter().any(|f| f == c))
            .map(str::to_string)
            .collect();
        Ok(SweepRun {
            dir: dir.to_path_buf(),
            sweep,
            factors,
            seed,
            points,
            metrics,
            summary,
            rows,
            point_column,
        })
    }

    /// The metrics asked for (all when `None`), checked against summary.csv's columns.
    pub fn select(&self, asked: Option<&[String]>) -> Result<Vec<String>, AnalysisError> {
        let Some(asked) = asked else {
            return Ok(self.metrics.clone());
        };
        for m in asked {
            if !self.metrics.contains(m) {
                let near: Vec<&str> = self
                    .metrics
                    .iter()
                    .filter(|c| c.contains(m.as_str()) || m.contains(c.as_str()))
                    .map(String::as_str)
                    .take(5)
                    .collect();
                return Err(input(format!(
                    "no metric `{m}` in summary.csv{}",
                    if near.is_empty() {
                        String::new()
                    } else {
                        format!(" (similar: {})", near.join(", "))
                    }
                )));
            }
        }
        Ok(asked.to_vec())
    }

    /// Each replication's value of `metric`, grouped by point (every point must have one).
    pub fn by_point(&self, metric: &str) -> Result<Vec<Vec<f64>>, AnalysisError> {
        let c = column(&self.summary, metric, "summary.csv")?;
        let mut out = vec![Vec::new(); self.points.len()];
        for (i, r) in self.rows.iter().enumerate() {
            let p = number(r, self.point_column, i, "summary.csv")? as usize;
            let v = number(r, c, i, "summary.csv")?;
            out.get_mut(p)
                .ok_or_else(|| {
                    input(format!(
                        "summary.csv row {}: point {p} is not in points.csv",
                        i + 2
                    ))
                })?
                .push(v);
        }
        if let Some(p) = out.iter().position(Vec::is_empty) {
            return Err(input(format!(
                "point {p} has no replication in summary.csv (all failed?); it cannot be analysed"
            )));
        }
        Ok(out)
    }

    /// The point of each summary.csv row.
    fn row_points(&self) -> Result<Vec<usize>, AnalysisError> {
        self.rows
            .iter()
            .enumerate()
            .map(|(i, r)| Ok(number(r, self.point_column, i, "summary.csv")? as usize))
            .collect()
    }
}

/// What `chipdip analyze` wrote.
pub struct Analysis {
    pub path: PathBuf,
    pub design: Design,
    pub metrics: usize,
    pub rows: usize,
}

/// Sensitivity indices of `metrics` (all when `None`) for a saltelli or morris sweep in `dir`,
/// written to `dir/sensitivity.csv`.
pub fn analyze(dir: &Path, metrics: Option<&[String]>) -> Result<Analysis, AnalysisError> {
    let run = SweepRun::read(dir)?;
    let design: Design = run.sweep.design.parse().map_err(input)?;
    let sensitivity = run
        .sweep
        .sensitivity(design)
        .map_err(|(_, m)| input(m))?
        .ok_or_else(|| {
            input(format!(
                "{} is a {design} sweep; `analyze` needs design = \"saltelli\" or \"morris\" \
                 (`discover` works on any sweep)",
                dir.display()
            ))
        })?;
    let k = run.factors.len();
    let unit = sensitivity.unit_points(k, run.seed).map_err(input)?;
    if unit.len() != run.points.len() {
        return Err(input(format!(
            "the {design} design gives {} points, the folder has {}",
            unit.len(),
            run.points.len()
        )));
    }
    let metrics = run.select(metrics)?;
    let mut text = String::from("metric,factor,method,index,estimate,ci_low,ci_high\n");
    let mut rows = 0;
    for metric in &metrics {
        let (y, noise) = point_means(&run.by_point(metric)?);
        let indices = match sensitivity {
            Sensitivity::Saltelli { second_order, .. } => {
                sobol_indices(&y, k, second_order).map_err(input)?
            }
            Sensitivity::Morris { levels, .. } => {
                morris_indices(&elementary_effects(&unit, &y, levels).map_err(input)?)
            }
        };
        rows += write_noise(&mut text, metric, &noise);
        rows += write_indices(&mut text, metric, &run.factors, &indices);
    }
    let path = dir.join("sensitivity.csv");
    write_atomic(&path, text.as_bytes()).map_err(|e| AnalysisError::Io(e.to_string()))?;
    Ok(Analysis {
        path,
        design,
        metrics: metrics.len(),
        rows,
    })
}

fn write_noise(text: &mut String, metric: &str, noise: &Noise) -> usize {
    let rows = [
        ("mean_standard_error", noise.mean_standard_error),
        (
            "max_relative_standard_error",
            noise.max_relative_standard_error,
        ),
        ("noise_variance_share", noise.noise_variance_share),
    ];
    for (index, v) in rows {
        text.push_str(&format!(
            "{metric},,replications,{index},{},,\n",
            format_number(v)
        ));
    }
    rows.len()
}

fn write_indices(
    text: &mut String,
    metric: &str,
    factors: &[String],
    idx: &[FactorIndex],
) -> usize {
    for i in idx {
        text.push_str(&format!(
            "{metric},{},{},{},{},{},{}\n",
            factors[i.factor],
            i.method,
            i.index,
            format_number(i.value.estimate),
            format_number(i.value.ci_low),
            format_number(i.value.ci_high),
        ));
    }
    idx.len()
}

/// `METRIC OP VALUE` with OP one of `>`, `>=`, `<`, `<=`.
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    pub metric: String,
    pub op: &'static str,
    pub value: f64,
}

impl Condition {
    pub fn parse(s: &str) -> Result<Condition, AnalysisError> {
        let bad = || {
            input(format!(
                "--where must be 'METRIC OP VALUE' with OP one of > >= < <=, got {s:?}"
            ))
        };
        for op in [">=", "<=", ">", "<"] {
            if let Some((m, v)) = s.split_once(op) {
                let metric = m.trim().to_string();
                let value: f64 = v.trim().parse().map_err(|_| bad())?;
                if metric.is_empty() || !value.is_finite() {
                    return Err(bad());
                }
                return Ok(Condition { metric, op, value });
            }
        }
        Err(bad())
    }

    pub fn holds(&self, x: f64) -> bool {
        match self.op {
            ">" => x > self.value,
            ">=" => x >= self.value,
            "<" => x < self.value,
            _ => x <= self.value,
        }
    }
}

/// What `chipdip discover` found and wrote.
pub struct Discovery {
    pub path: PathBuf,
    pub prim: Prim,
    pub factors: Vec<String>,
    pub cases: usize,
}

/// PRIM over the sweep's factors in `dir`, cases = replications, written to `dir/prim.csv`.
pub fn discover(
    dir: &Path,
    condition: &Condition,
    min_coverage: f64,
) -> Result<Discovery, AnalysisError> {
    let run = SweepRun::read(dir)?;
    run.select(Some(std::slice::from_ref(&condition.metric)))?;
    let c = column(&run.summary, &condition.metric, "summary.csv")?;
    let points = run.row_points()?;
    let mut x = Vec::with_capacity(points.len());
    let mut hit = Vec::with_capacity(points.len());
    for (i, (r, &p)) in run.rows.iter().zip(&points).enumerate() {
        let values = run.points.get(p).ok_or_else(|| {
            input(format!(
                "summary.csv row {}: point {p} is not in points.csv",
                i + 2
            ))
        })?;
        x.push(values.clone());
        hit.push(condition.holds(number(r, c, i, "summary.csv")?));
    }
    let result = prim(&x, &hit, min_coverage).map_err(input)?;
    let mut text = String::from("step,coverage,density,mass,cases");
    for f in &run.factors {
        text.push_str(&format!(",lower:{f},upper:{f}"));
    }
    text.push_str(",chosen\n");
    for s in &result.steps {
        text.push_str(&format!(
            "{},{},{},{},{}",
            s.step,
            format_number(s.coverage),
            format_number(s.density),
            format_number(s.mass),
            s.cases
        ));
        for (lo, hi) in &s.bounds {
            text.push_str(&format!(",{},{}", format_number(*lo), format_number(*hi)));
        }
        text.push_str(&format!(",{}\n", u8::from(s.step == result.chosen)));
    }
    let path = dir.join("prim.csv");
    write_atomic(&path, text.as_bytes()).map_err(|e| AnalysisError::Io(e.to_string()))?;
    Ok(Discovery {
        path,
        prim: result,
        factors: run.factors,
        cases: x.len(),
    })
}

/// The chosen box in words: the factors it restricts, with their kept ranges.
pub fn describe_box(d: &Discovery) -> String {
    let whole = &d.prim.steps[0].bounds;
    let chosen = &d.prim.steps[d.prim.chosen];
    let limits: BTreeMap<&str, String> = d
        .factors
        .iter()
        .zip(whole.iter().zip(&chosen.bounds))
        .filter(|(_, (w, b))| w != b)
        .map(|(f, (w, b))| {
            let text = match (b.0 > w.0, b.1 < w.1) {
                (true, true) => format!("{:.4} <= {f} <= {:.4}", b.0, b.1),
                (true, false) => format!("{f} >= {:.4}", b.0),
                _ => format!("{f} <= {:.4}", b.1),
            };
            (f.as_str(), text)
        })
        .collect();
    let limits: Vec<String> = limits.into_values().collect();
    format!(
        "box of step {}: density {:.3} (base rate {:.3}), coverage {:.3}, mass {:.3}; {}",
        chosen.step,
        chosen.density,
        d.prim.base_rate,
        chosen.coverage,
        chosen.mass,
        if limits.is_empty() {
            "no restriction".to_string()
        } else {
            limits.join(", ")
        }
    )
}

fn read_csv(path: &Path) -> Result<(csv::StringRecord, Vec<csv::StringRecord>), AnalysisError> {
    let mut reader = csv::Reader::from_path(path)
        .map_err(|e| AnalysisError::Io(format!("{}: {e}", path.display())))?;
    let header = reader
        .headers()
        .map_err(|e| input(format!("{}: {e}", path.display())))?
        .clone();
    let rows = reader
        .records()
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| input(format!("{}: {e}", path.display())))?;
    Ok((header, rows))
}

fn column(header: &csv::StringRecord, name: &str, file: &str) -> Result<usize, AnalysisError> {
    header
        .iter()
        .position(|c| c == name)
        .ok_or_else(|| input(format!("{file} has no column `{name}`")))
}

/// The number in column `c` of data row `i` (line `i + 2`); an empty cell is NaN.
fn number(r: &csv::StringRecord, c: usize, i: usize, file: &str) -> Result<f64, AnalysisError> {
    let cell = r.get(c).unwrap_or("");
    if cell.is_empty() {
        return Ok(f64::NAN);
    }
    cell.parse()
        .map_err(|_| input(format!("{file} line {}: `{cell}` is not a number", i + 2)))
}
