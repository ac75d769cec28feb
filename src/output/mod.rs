//! Run folders and the files in them (README, Output files).
//!
//! A run folder holds `manifest.json` from the start (with `"complete": false`), part files per
//! chunk while it runs (see [`parts`]), and at the end the tidy CSVs assembled from the parts
//! in a fixed order and `manifest.json` rewritten with `"complete": true` last. Nothing is
//! appended in place, so an interrupted run is never mistaken for a complete one, and rerunning
//! the same command resumes it.

pub mod lock;
pub mod manifest;
pub mod merge;
pub mod parts;
pub mod sketch;

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use crate::calendar::YearMonth;
use crate::experiment::{Chunk, chunks};
use crate::scenario::Scenario;
use manifest::Manifest;
use parts::{ROW_KINDS, part_path, read_sketches};
use sketch::QuantileSketch;

/// Errors writing or reading run folders.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The folder cannot be used as asked (another run's folder, shards that do not fit, ...).
    #[error("{0}")]
    Refused(String),
}

/// A run that cannot start its threads cannot write its folder either.
impl From<crate::experiment::ThreadsError> for OutputError {
    fn from(e: crate::experiment::ThreadsError) -> OutputError {
        OutputError::Refused(e.to_string())
    }
}

impl OutputError {
    pub fn io(path: &Path, source: std::io::Error) -> OutputError {
        OutputError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// A run folder in use.
#[derive(Clone, Debug)]
pub struct RunDir {
    pub path: PathBuf,
}

/// What `prepare` found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Prepared {
    /// A new folder.
    Fresh,
    /// An interrupted run of the same scenario, seed and shard: its finished chunks are kept.
    Resumed,
    /// The same run, already complete: nothing to do, nothing overwritten.
    AlreadyComplete,
}

/// Refuses a folder that holds files but no run (no `manifest.json`): chipdip never writes into
/// a folder of someone else's. Checked under the folder's lock by [`prepare`], and before
/// locking by `run_to_folder` when the folder has no lock file yet, so that a refused folder
/// does not even get one.
pub fn refuse_foreign(path: &Path) -> Result<(), OutputError> {
    if !path.join("manifest.json").exists() && lock::has_entries(path)? {
        return Err(OutputError::Refused(format!(
            "{} exists, is not empty and is not a chipdip run folder; choose another --out",
            path.display()
        )));
    }
    Ok(())
}

/// Opens `path` for `manifest`'s run: creates it, resumes it, or refuses it. The caller holds
/// the folder's lock ([`lock::FolderLock`]).
pub fn prepare(path: &Path, manifest: &Manifest) -> Result<(RunDir, Prepared), OutputError> {
    let dir = RunDir {
        path: path.to_path_buf(),
    };
    let manifest_path = path.join("manifest.json");
    let state = if manifest_path.exists() {
        let old = Manifest::read(&manifest_path)?;
        if !old.same_run(manifest) {
            return Err(OutputError::Refused(format!(
                "{} holds another run ({}); choose another --out or remove it",
                path.display(),
                old.describe()
            )));
        }
        if old.complete {
            return Ok((dir, Prepared::AlreadyComplete));
        }
        Prepared::Resumed
    } else {
        refuse_foreign(path)?;
        Prepared::Fresh
    };
    fs::create_dir_all(path.join("parts")).map_err(|e| OutputError::io(path, e))?;
    manifest.write(&manifest_path)?;
    Ok((dir, state))
}

/// A number as the CSVs print it: shortest text that reads back to the same f64; NaN empty.
pub fn format_number(v: f64) -> String {
    if v.is_nan() {
        String::new()
    } else {
        format!("{v}")
    }
}

/// Month index `m` of a run starting at `start`, as `YYYY-MM`.
pub fn format_month(start: YearMonth, m: u32) -> String {
    start.plus(m).to_string()
}

/// Column name of a summary outcome: `mys_installed_h100e_huawei`.
pub fn summary_column(entity: &str, metric: &str) -> String {
    format!("{}_{}", entity.to_lowercase(), metric)
}

/// Header line of each row file.
fn header(kind: &str, scenario: &Scenario) -> Vec<String> {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    match kind {
        "summary" => {
            let mut h = s(&["point", "replication", "seed"]);
            h.extend(scenario.points[0].values.iter().map(|(p, _)| p.clone()));
            h.extend(
                scenario.points[0]
                    .setup
                    .summary_names()
                    .iter()
                    .map(|(e, m)| summary_column(e, m)),
            );
            h
        }
        "events" => s(&[
            "point",
            "replication",
            "month",
            "seq",
            "actor",
            "target",
            "kind",
            "magnitude",
        ]),
        "timeseries" => s(&["point", "replication", "month", "entity", "metric", "value"]),
        "failures" => s(&["point", "replication", "seed", "error"]),
        "quantiles" => s(&[
            "point", "month", "entity", "metric", "mean", "p05", "p25", "p50", "p75", "p95",
        ]),
        other => unreachable!("no header for {other}"),
    }
}

/// Quantiles written to `quantiles.csv`.
pub const QUANTILES: [f64; 5] = [0.05, 0.25, 0.5, 0.75, 0.95];

/// Assembles the final CSVs in `out` from chunk parts; `part_dir(chunk)` says which folder holds
/// each chunk (the run folder itself, or one shard folder each when merging). Returns the
/// number of failed replications.
pub fn assemble(
    scenario: &Scenario,
    out: &Path,
    timeseries: bool,
    part_dir: &dyn Fn(&Chunk) -> PathBuf,
) -> Result<u64, OutputError> {
    let all = chunks(scenario.points.len(), scenario.settings.replications);
    write_points(scenario, out)?;
    let mut failures = 0;
    for kind in ROW_KINDS {
        if kind == "timeseries" && !timeseries {
            continue;
        }
        let target = out.join(format!("{kind}.csv"));
        let tmp = out.join(format!("{kind}.csv.tmp"));
        let io = |e| OutputError::io(&target, e);
        let mut w = std::io::BufWriter::new(fs::File::create(&tmp).map_err(io)?);
        let mut rows = 0u64;
        {
            let mut hw = csv::Writer::from_writer(&mut w);
            hw.write_record(header(kind, scenario))
                .map_err(|e| io(e.into()))?;
            hw.flush().map_err(io)?;
        }
        for c in &all {
            let path = part_path(&part_dir(c), c.index, kind);
            let f = fs::File::open(&path).map_err(|e| OutputError::io(&path, e))?;
            let mut r = BufReader::new(f);
            loop {
                let buf = r.fill_buf().map_err(|e| OutputError::io(&path, e))?;
                if buf.is_empty() {
                    break;
                }
                rows += buf.iter().filter(|&&b| b == b'\n').count() as u64;
                w.write_all(buf).map_err(io)?;
                let n = buf.len();
                r.consume(n);
            }
        }
        w.flush().map_err(io)?;
        drop(w);
        if kind == "failures" {
            failures = rows;
            if rows == 0 {
                fs::remove_file(&tmp).map_err(io)?;
                let _ = fs::remove_file(&target);
                continue;
            }
        }
        publish(&tmp, &target).map_err(io)?;
    }
    write_quantiles(scenario, out, &all, part_dir)?;
    Ok(failures)
}

/// `points.csv`: every point id with its swept values, one column per swept path (a run
/// without a sweep has the single point 0).
pub fn write_points(scenario: &Scenario, out: &Path) -> Result<(), OutputError> {
    let target = out.join("points.csv");
    let io = |e: std::io::Error| OutputError::io(&target, e);
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut head = vec!["point".to_string()];
    head.extend(scenario.points[0].values.iter().map(|(p, _)| p.clone()));
    w.write_record(&head).map_err(|e| io(e.into()))?;
    for point in &scenario.points {
        let mut row = vec![point.index.to_string()];
        row.extend(point.values.iter().map(|(_, v)| format_number(*v)));
        w.write_record(&row).map_err(|e| io(e.into()))?;
    }
    let bytes = w.into_inner().map_err(|e| io(e.into_error()))?;
    parts::write_atomic(&target, &bytes)
}

/// The files a complete unsharded (or merged) run folder holds, as the manifest lists them.
pub fn output_files(timeseries: bool, failed: u64) -> Vec<String> {
    let mut v = vec!["summary.csv", "quantiles.csv", "events.csv", "points.csv"];
    if timeseries {
        v.push("timeseries.csv");
    }
    if failed > 0 {
        v.push("failures.csv");
    }
    v.into_iter().map(String::from).collect()
}

/// `quantiles.csv`: per point, the chunks' sketches merged, one row per (month, series).
fn write_quantiles(
    scenario: &Scenario,
    out: &Path,
    all: &[Chunk],
    part_dir: &dyn Fn(&Chunk) -> PathBuf,
) -> Result<(), OutputError> {
    let target = out.join("quantiles.csv");
    let tmp = out.join("quantiles.csv.tmp");
    let io = |e: std::io::Error| OutputError::io(&target, e);
    let mut w =
        csv::Writer::from_writer(std::io::BufWriter::new(fs::File::create(&tmp).map_err(io)?));
    w.write_record(header("quantiles", scenario))
        .map_err(|e| io(e.into()))?;
    // Chunks are point-major: one group per point, read one point at a time.
    for of_point in all.chunk_by(|a, b| a.point == b.point) {
        let point = &scenario.points[of_point[0].point];
        let setup = &point.setup;
        let names = setup.series_names();
        let mut merged = vec![QuantileSketch::new(); names.len() * setup.months as usize];
        for c in of_point {
            let sketches = read_sketches(&part_path(&part_dir(c), c.index, "sketch"))?;
            if sketches.len() != merged.len() {
                return Err(OutputError::Refused(format!(
                    "chunk {} has {} sketches, expected {}",
                    c.index,
                    sketches.len(),
                    merged.len()
                )));
            }
            for (m, s) in merged.iter_mut().zip(&sketches) {
                m.merge(s);
            }
        }
        let p = point.index.to_string();
        for (k, s) in merged.iter().enumerate() {
            if s.count() == 0 {
                continue;
            }
            let (month, (entity, metric)) = (k / names.len(), &names[k % names.len()]);
            let mut row = vec![
                p.clone(),
                format_month(setup.start, month as u32),
                entity.clone(),
                metric.clone(),
                format_number(s.mean()),
            ];
            row.extend(QUANTILES.iter().map(|q| format_number(s.quantile(*q))));
            w.write_record(&row).map_err(|e| io(e.into()))?;
        }
    }
    w.flush().map_err(io)?;
    drop(w);
    publish(&tmp, &target).map_err(io)
}

/// Publishes a finished temporary file under its final name: its data reach the disk
/// (`fsync`) before the rename, and the rename itself before this returns (the folder is
/// synced too, where the platform allows), so a crash or power loss never leaves a final name
/// on a file whose bytes are not all there.
pub fn publish(tmp: &Path, target: &Path) -> std::io::Result<()> {
    fs::File::open(tmp)?.sync_all()?;
    fs::rename(tmp, target)?;
    if let Some(dir) = target.parent()
        && let Ok(d) = fs::File::open(dir)
    {
        // Directories cannot be opened or synced on every platform; the data are safe anyway.
        let _ = d.sync_all();
    }
    Ok(())
}
