//! `chipdip compare` and `chipdip collect`: two run folders compared with common random
//! numbers, and several run folders stacked into one labelled table.
//!
//! **compare**: replication `r` of point `p` has the same seed in two runs of the same master
//! seed (`rng::replication_seed(master, p, r)`), so the two runs draw the same demand noise,
//! yields and decisions wherever the scenarios agree. For every summary metric and point the
//! paired differences `d_r = b_r - a_r` cancel that shared noise: the paired 95% interval
//! `mean(d) ± t · sd(d) / √n` is narrower than the unpaired (Welch) interval
//! `mean(b) - mean(a) ± t · √(var(a)/n + var(b)/n)` whenever the runs are positively
//! correlated replication by replication. Runs whose (point, replication) rows do not carry
//! the same seeds are refused: their differences would not be paired.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::OutputError;
use super::manifest::Manifest;

/// A `summary.csv` read for comparison.
struct Summary {
    /// Metric columns, in file order.
    metrics: Vec<String>,
    /// (point, replication) → (seed, metric values).
    rows: BTreeMap<(u64, u64), (String, Vec<f64>)>,
}

fn refused(m: impl Into<String>) -> OutputError {
    OutputError::Refused(m.into())
}

fn read_csv(path: &Path) -> Result<(Vec<String>, Vec<Vec<String>>), OutputError> {
    let mut r =
        csv::Reader::from_path(path).map_err(|e| refused(format!("{}: {e}", path.display())))?;
    let head = r
        .headers()
        .map_err(|e| refused(format!("{}: {e}", path.display())))?
        .iter()
        .map(String::from)
        .collect();
    let mut rows = Vec::new();
    for rec in r.records() {
        let rec = rec.map_err(|e| refused(format!("{}: {e}", path.display())))?;
        rows.push(rec.iter().map(String::from).collect());
    }
    Ok((head, rows))
}

/// A complete run folder's manifest (a folder still running, or a shard, is refused).
fn complete(dir: &Path) -> Result<Manifest, OutputError> {
    let m = Manifest::read(&dir.join("manifest.json"))?;
    if !m.complete || m.shard.count != 1 {
        return Err(refused(format!(
            "{} is not a complete unsharded run (finish it, or merge its shards)",
            dir.display()
        )));
    }
    Ok(m)
}

/// The factor columns of a run folder (from `points.csv`).
fn factor_columns(dir: &Path) -> Result<Vec<String>, OutputError> {
    let (head, _) = read_csv(&dir.join("points.csv"))?;
    Ok(head.into_iter().skip(2).collect())
}

fn read_summary(dir: &Path) -> Result<Summary, OutputError> {
    complete(dir)?;
    let factors = factor_columns(dir)?;
    let path = dir.join("summary.csv");
    let (head, rows) = read_csv(&path)?;
    let col = |name: &str| {
        head.iter()
            .position(|h| h == name)
            .ok_or_else(|| refused(format!("{}: no column {name}", path.display())))
    };
    let (point, rep, seed) = (col("point")?, col("replication")?, col("seed")?);
    let metric_at: Vec<usize> = (0..head.len())
        .filter(|&k| k > seed && !factors.contains(&head[k]))
        .collect();
    let mut out = Summary {
        metrics: metric_at.iter().map(|&k| head[k].clone()).collect(),
        rows: BTreeMap::new(),
    };
    for (n, r) in rows.iter().enumerate() {
        let int = |k: usize| {
            r[k].parse::<u64>().map_err(|e| {
                refused(format!(
                    "{} row {}: {}: {e}",
                    path.display(),
                    n + 2,
                    head[k]
                ))
            })
        };
        let values = metric_at
            .iter()
            .map(|&k| r[k].parse::<f64>().unwrap_or(f64::NAN))
            .collect();
        out.rows
            .insert((int(point)?, int(rep)?), (r[seed].clone(), values));
    }
    Ok(out)
}

/// Two-sided 95% quantile of Student's t with `df` degrees of freedom (Cornish–Fisher
/// expansion around the normal quantile: within 0.1% for df ≥ 3).
pub fn t95(df: f64) -> f64 {
    let z: f64 = 1.959_963_984_540_054;
    if !df.is_finite() || df <= 0.0 {
        return f64::NAN;
    }
    let (z3, z5, z7) = (z * z * z, z.powi(5), z.powi(7));
    z + (z3 + z) / (4.0 * df)
        + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * df * df)
        + (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * z) / (384.0 * df * df * df)
}

fn mean_var(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0);
    (mean, var)
}

/// One row of the comparison.
#[derive(Clone, Debug, PartialEq)]
pub struct Difference {
    pub metric: String,
    pub point: u64,
    pub n: usize,
    pub mean_a: f64,
    pub mean_b: f64,
    /// Mean of the paired differences `b - a` (equal to `mean_b - mean_a`).
    pub mean_diff: f64,
    pub paired_ci_low: f64,
    pub paired_ci_high: f64,
    pub unpaired_ci_low: f64,
    pub unpaired_ci_high: f64,
}

/// Header of `chipdip compare`'s CSV.
pub const COMPARE_HEADER: [&str; 10] = [
    "metric",
    "point",
    "n",
    "mean_a",
    "mean_b",
    "mean_diff",
    "paired_ci_low",
    "paired_ci_high",
    "unpaired_ci_low",
    "unpaired_ci_high",
];

/// Compares run `a` with run `b` (see the module documentation): one row per metric both runs
/// report and per point, `b - a`. Refuses runs whose replications do not pair.
pub fn compare(a: &Path, b: &Path) -> Result<Vec<Difference>, OutputError> {
    let (sa, sb) = (read_summary(a)?, read_summary(b)?);
    let keys_a: Vec<_> = sa.rows.keys().collect();
    let keys_b: Vec<_> = sb.rows.keys().collect();
    if keys_a != keys_b {
        return Err(refused(format!(
            "the runs do not pair: {} has {} (point, replication) rows and {} has {}, or other \
             points; compare runs of the same points and replications (same --reps, same sweep)",
            a.display(),
            keys_a.len(),
            b.display(),
            keys_b.len()
        )));
    }
    if let Some(((p, r), (seed_a, _))) =
        sa.rows.iter().find(|(k, (seed, _))| sb.rows[*k].0 != *seed)
    {
        return Err(refused(format!(
            "the runs do not pair: point {p} replication {r} has seed {seed_a} in {} but {} in \
             {}; pairing needs the same seeds, so run both with the same --seed (the master seed \
             in manifest.json)",
            a.display(),
            sb.rows[&(*p, *r)].0,
            b.display()
        )));
    }
    let mut points: Vec<u64> = sa.rows.keys().map(|(p, _)| *p).collect();
    points.dedup();
    let mut out = Vec::new();
    for (ka, metric) in sa.metrics.iter().enumerate() {
        let Some(kb) = sb.metrics.iter().position(|m| m == metric) else {
            continue;
        };
        for &p in &points {
            let pairs: Vec<(f64, f64)> = sa
                .rows
                .range((p, 0)..(p + 1, 0))
                .map(|(k, (_, va))| (va[ka], sb.rows[k].1[kb]))
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .collect();
            let n = pairs.len();
            if n < 2 {
                continue;
            }
            let xa: Vec<f64> = pairs.iter().map(|x| x.0).collect();
            let xb: Vec<f64> = pairs.iter().map(|x| x.1).collect();
            let d: Vec<f64> = pairs.iter().map(|(x, y)| y - x).collect();
            let (ma, va) = mean_var(&xa);
            let (mb, vb) = mean_var(&xb);
            let (md, vd) = mean_var(&d);
            let nf = n as f64;
            let half_p = t95(nf - 1.0) * (vd / nf).sqrt();
            let se2 = va / nf + vb / nf;
            // Welch–Satterthwaite degrees of freedom (n - 1 when both variances vanish).
            let df = if se2 > 0.0 {
                se2 * se2 / ((va / nf).powi(2) / (nf - 1.0) + (vb / nf).powi(2) / (nf - 1.0))
            } else {
                nf - 1.0
            };
            let half_u = t95(df) * se2.sqrt();
            out.push(Difference {
                metric: metric.clone(),
                point: p,
                n,
                mean_a: ma,
                mean_b: mb,
                mean_diff: md,
                paired_ci_low: md - half_p,
                paired_ci_high: md + half_p,
                unpaired_ci_low: (mb - ma) - half_u,
                unpaired_ci_high: (mb - ma) + half_u,
            });
        }
    }
    Ok(out)
}

/// The comparison as CSV bytes.
pub fn compare_csv(rows: &[Difference]) -> Vec<u8> {
    let f = super::format_number;
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(COMPARE_HEADER).expect("writing to memory");
    for d in rows {
        w.write_record([
            d.metric.clone(),
            d.point.to_string(),
            d.n.to_string(),
            f(d.mean_a),
            f(d.mean_b),
            f(d.mean_diff),
            f(d.paired_ci_low),
            f(d.paired_ci_high),
            f(d.unpaired_ci_low),
            f(d.unpaired_ci_high),
        ])
        .expect("writing to memory");
    }
    w.into_inner().expect("memory writer cannot fail")
}

/// Stacks the file `file` (`summary.csv`, `events.csv`, ...) of several complete run folders
/// into one table: a `run` column (the folder's name) first, then a `scenario` column (from
/// the manifest) when the file has none, then the file's own columns. The folders' files must
/// have the same header.
pub fn collect(runs: &[PathBuf], file: &str) -> Result<Vec<u8>, OutputError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut first: Option<(PathBuf, Vec<String>)> = None;
    for dir in runs {
        let m = complete(dir)?;
        let path = dir.join(file);
        if !path.exists() {
            return Err(refused(format!("{} has no {file}", dir.display())));
        }
        let mut r = csv::Reader::from_path(&path)
            .map_err(|e| refused(format!("{}: {e}", path.display())))?;
        let head: Vec<String> = r
            .headers()
            .map_err(|e| refused(format!("{}: {e}", path.display())))?
            .iter()
            .map(String::from)
            .collect();
        let add_scenario = !head.iter().any(|h| h == "scenario");
        match &first {
            None => {
                let mut h = vec!["run".to_string()];
                if add_scenario {
                    h.push("scenario".into());
                }
                h.extend(head.iter().cloned());
                w.write_record(&h).expect("writing to memory");
                first = Some((dir.clone(), head.clone()));
            }
            Some((d0, h0)) if *h0 != head => {
                return Err(refused(format!(
                    "{} and {} have different {file} columns (other sweeps or model versions); \
                     collect runs with the same columns",
                    d0.display(),
                    path.display()
                )));
            }
            Some(_) => {}
        }
        let label = dir.file_name().map_or_else(
            || dir.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        for rec in r.records() {
            let rec = rec.map_err(|e| refused(format!("{}: {e}", path.display())))?;
            let mut row = vec![label.clone()];
            if add_scenario {
                row.push(m.scenario_name.clone());
            }
            row.extend(rec.iter().map(String::from));
            w.write_record(&row).expect("writing to memory");
        }
    }
    Ok(w.into_inner().expect("memory writer cannot fail"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles_match_the_tables() {
        // Student's t, two-sided 95%: df 5 → 2.571, 10 → 2.228, 30 → 2.042, 100 → 1.984.
        for (df, want) in [
            (5.0, 2.5706),
            (10.0, 2.2281),
            (30.0, 2.0423),
            (100.0, 1.9840),
        ] {
            assert!(
                (t95(df) - want).abs() < 0.01,
                "df {df}: {} vs {want}",
                t95(df)
            );
        }
    }
}
