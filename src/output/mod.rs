//! Run folders and the files in them (README, Output files).
//!
//! A run folder holds `manifest.json` from the start (with `"complete": false`), part files per
//! chunk while it runs (see [`parts`]), and at the end the tidy CSVs assembled from the parts
//! in a fixed order and `manifest.json` rewritten with `"complete": true` last. Nothing is
//! appended in place, so an interrupted run is never mistaken for a complete one, and rerunning
//! the same command resumes it.

pub mod compare;
pub mod dictionary;
pub mod integrity;
pub mod lock;
pub mod manifest;
pub mod merge;
#[cfg(feature = "parquet")]
pub mod parquet;
pub mod parts;
pub mod sketch;
pub mod text;
pub mod verify;

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use crate::calendar::YearMonth;
use crate::experiment::{Chunk, chunks};
use crate::scenario::Scenario;
use manifest::Manifest;
use parts::{ROW_KINDS, part_path, point_quantiles_path, read_sketches};
use sketch::{PointSketches, SparseSketches};

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
    if !path.join("manifest.json").exists() && lock::has_entries(path)? && !only_empty_parts(path) {
        return Err(OutputError::Refused(format!(
            "{} exists, is not empty and is not a chipdip run folder; choose another --out",
            path.display()
        )));
    }
    Ok(())
}

/// Whether all that `path` holds, beside its lock file, is an empty `parts/`: what a run killed
/// between making `parts/` and writing its first manifest left, when that was their order
/// (see [`prepare`]). Such a folder is taken as a new one, not refused as someone else's.
fn only_empty_parts(path: &Path) -> bool {
    let Ok(entries) = fs::read_dir(path) else {
        return false;
    };
    let mut names: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.file_name()))
        .collect();
    names.retain(|n| n != lock::LOCK_FILE);
    names == ["parts"] && fs::read_dir(path.join("parts")).is_ok_and(|mut e| e.next().is_none())
}

/// Where `path` is written before [`publish`] or [`publish_all`] renames it into place:
/// `summary.csv` → `summary.csv.<pid>.tmp`, unique to this process, so a writer that is not
/// the lock holder (a bug, or a folder shared without locks over some network file system)
/// never clobbers the holder's file.
pub fn temporary(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{}.tmp", std::process::id()));
    path.with_file_name(name)
}

/// Removes the temporary files (`*.tmp`) that killed processes left in `dir` and `dir/parts`.
/// Only the holder of the folder's lock calls it, so no live writer owns them.
pub fn remove_temporaries(dir: &Path) -> Result<(), OutputError> {
    for d in [dir.to_path_buf(), dir.join("parts")] {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for entry in entries {
            let path = entry.map_err(|e| OutputError::io(&d, e))?.path();
            if path.extension().is_some_and(|x| x == "tmp") {
                fs::remove_file(&path).map_err(|e| OutputError::io(&path, e))?;
            }
        }
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
    // The manifest first: a run killed between the two leaves a folder that says it is an
    // incomplete run (which the same command resumes, making `parts/`), never one that holds a
    // `parts/` and no manifest (which would be refused as someone else's).
    manifest.write(&manifest_path)?;
    fs::create_dir_all(path.join("parts")).map_err(|e| OutputError::io(path, e))?;
    Ok((dir, state))
}

/// A real number as the CSVs print it: the shortest text that reads back to the same f64,
/// always recognisable as a float (`0.0`, `2437.0`, `1e-7`, `1e20`), so that pandas, polars and
/// R's readr all infer a float column from any first rows; NaN is empty (a missing value).
pub fn format_number(v: f64) -> String {
    // `Debug` keeps a `.0` on whole numbers and switches to exponent notation for very large or
    // small magnitudes; `Display` would print `0` and let readers guess an integer. `push_number`
    // writes `Debug`'s bytes without going through `fmt`.
    let mut b = Vec::with_capacity(24);
    text::push_number(&mut b, v);
    String::from_utf8(b).expect("ASCII")
}

/// Month index `m` of a run starting at `start`, as `YYYY-MM`.
pub fn format_month(start: YearMonth, m: u32) -> String {
    start.plus(m).to_string()
}

/// Column name of a summary outcome: `MYS_installed_h100e_huawei` (the entity code as it is
/// everywhere else, uppercase, then the metric).
pub fn summary_column(entity: &str, metric: &str) -> String {
    format!("{entity}_{metric}")
}

/// The factor columns of a sweep (its swept paths, in order; none without a sweep).
fn factor_columns(scenario: &Scenario) -> impl Iterator<Item = String> + '_ {
    scenario.points[0].values.iter().map(|(p, _)| p.clone())
}

/// Header line of each row file.
fn header(kind: &str, scenario: &Scenario) -> Vec<String> {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    match kind {
        "summary" => {
            let mut h = s(&["scenario", "point", "replication", "seed"]);
            h.extend(factor_columns(scenario));
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
        "quantiles" => {
            let mut h = s(&["scenario", "point"]);
            h.extend(factor_columns(scenario));
            h.extend(s(&[
                "month", "entity", "metric", "mean", "p05", "p25", "p50", "p75", "p95",
            ]));
            h
        }
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
    let assembly = Assembly::start(scenario, out, timeseries)?;
    Ok(assembly.finish(scenario, part_dir)?.0)
}

/// One final file being written: under its temporary name, summed as it goes.
struct Target {
    name: String,
    target: PathBuf,
    tmp: PathBuf,
    w: std::io::BufWriter<fs::File>,
    sum: integrity::Summing,
    /// Bytes of the file the system was asked to start writing to disk ([`Target::write`]).
    writing_back: u64,
}

impl Target {
    fn create(out: &Path, name: String) -> Result<Target, OutputError> {
        let target = out.join(&name);
        let tmp = temporary(&target);
        let w = std::io::BufWriter::with_capacity(
            1 << 16,
            fs::File::create(&tmp).map_err(|e| OutputError::io(&target, e))?,
        );
        Ok(Target {
            name,
            target,
            tmp,
            w,
            sum: integrity::Summing::default(),
            writing_back: 0,
        })
    }

    fn write(&mut self, buf: &[u8]) -> Result<(), OutputError> {
        self.sum.add(buf);
        self.w
            .write_all(buf)
            .map_err(|e| OutputError::io(&self.target, e))?;
        // What the system holds of the file in whole pages (a page written back while it is
        // still being filled would be written again), past what it was last asked to write
        // back.
        let held = (self.sum.bytes() - self.w.buffer().len() as u64) & !(PAGE_BYTES - 1);
        if held - self.writing_back >= WRITE_BACK_BYTES {
            start_writeback(self.w.get_ref(), self.writing_back, held);
            self.writing_back = held;
        }
        Ok(())
    }

    /// Appends the whole file at `path`.
    fn copy(&mut self, path: &Path) -> Result<(), OutputError> {
        let f = fs::File::open(path).map_err(|e| OutputError::io(path, e))?;
        let mut r = BufReader::with_capacity(1 << 16, f);
        loop {
            let buf = r.fill_buf().map_err(|e| OutputError::io(path, e))?;
            if buf.is_empty() {
                return Ok(());
            }
            let n = buf.len();
            // `write` needs `self` while `buf` borrows `r`: fine, they are apart.
            self.write(buf)?;
            r.consume(n);
        }
    }

    /// Flushes and sums the file, to be published ([`publish_all`]) under the name it
    /// returns; or, when `keep` is false (an empty failures file), removes it.
    fn close(self, keep: bool) -> Result<Option<(integrity::FileSum, Unpublished)>, OutputError> {
        let io = |e| OutputError::io(&self.target, e);
        let file = self
            .w
            .into_inner()
            .map_err(|e| OutputError::io(&self.target, e.into_error()))?;
        drop(file);
        if !keep {
            fs::remove_file(&self.tmp).map_err(io)?;
            let _ = fs::remove_file(&self.target);
            return Ok(None);
        }
        let file = Unpublished {
            tmp: self.tmp,
            target: self.target,
        };
        Ok(Some((self.sum.finish(), file)))
    }
}

/// The final row files of a run (`summary.csv`, `events.csv`, `[timeseries.csv]`,
/// `failures.csv`, `quantiles.csv`) while they are written: each under its temporary name
/// (`NAME.<pid>.tmp`), its header first, then the chunks' part files and the points' quantile
/// rows strictly in output order, whenever they are ready. A run appends the chunks that are
/// done while the last ones still run ([`Assembly::append_ready`]), so that only the tail is
/// left when every replication has run; [`Assembly::finish`] appends the rest and publishes the
/// files. The bytes do not depend on when each piece was appended.
pub struct Assembly {
    out: PathBuf,
    all: Vec<Chunk>,
    /// The row kinds written, in `ROW_KINDS` order, then quantiles.
    files: Vec<(&'static str, Target)>,
    /// The first chunk not appended yet.
    next_chunk: usize,
    /// The first point whose quantile rows are not appended yet.
    next_point: usize,
}

impl std::fmt::Debug for Assembly {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Assembly")
            .field("out", &self.out)
            .field("next_chunk", &self.next_chunk)
            .field("next_point", &self.next_point)
            .finish_non_exhaustive()
    }
}

impl Assembly {
    /// Opens the temporary files of `out` and writes their headers.
    pub fn start(
        scenario: &Scenario,
        out: &Path,
        timeseries: bool,
    ) -> Result<Assembly, OutputError> {
        let mut files = Vec::new();
        for kind in ROW_KINDS.into_iter().chain(["quantiles"]) {
            if kind == "timeseries" && !timeseries {
                continue;
            }
            let mut t = Target::create(out, format!("{kind}.csv"))?;
            let mut hw = csv::Writer::from_writer(Vec::new());
            hw.write_record(header(kind, scenario))
                .map_err(|e| OutputError::io(&t.target, e.into()))?;
            t.write(&hw.into_inner().expect("memory writer cannot fail"))?;
            files.push((kind, t));
        }
        Ok(Assembly {
            out: out.to_path_buf(),
            all: chunks(scenario.points.len(), scenario.settings.replications),
            files,
            next_chunk: 0,
            next_point: 0,
        })
    }

    /// Appends, in order, every chunk from the first not yet appended for which `done` holds,
    /// and the quantile rows of every point whose chunks are all appended and whose rows are
    /// ready (`pNNNNNN.quantiles`).
    pub fn append_ready(
        &mut self,
        part_dir: &dyn Fn(&Chunk) -> PathBuf,
        done: &dyn Fn(&Chunk) -> bool,
    ) -> Result<(), OutputError> {
        while let Some(c) = self.all.get(self.next_chunk).copied() {
            if !done(&c) {
                break;
            }
            let dir = part_dir(&c);
            let files = &mut self.files;
            // Row kinds only: a rows file never holds quantile rows.
            let sums = integrity::stream_chunk_rows(&dir, c.index, &mut |kind, block| match files
                .iter_mut()
                .find(|(k, _)| *k == kind && *k != "quantiles")
            {
                Some((_, t)) => t.write(block),
                None => Ok(()),
            })?;
            for (kind, _) in files.iter() {
                if *kind != "quantiles" && !sums.contains_key(*kind) {
                    return Err(OutputError::Refused(format!(
                        "{}: chunk {} has no {kind} rows",
                        dir.display(),
                        c.index
                    )));
                }
            }
            self.next_chunk += 1;
        }
        loop {
            let p = self.next_point;
            let Some(last) = self.all.iter().rposition(|c| c.point == p) else {
                return Ok(());
            };
            let ready = point_quantiles_path(&part_dir(&self.all[last]), p);
            if last >= self.next_chunk || !ready.exists() {
                return Ok(());
            }
            self.quantiles().copy(&ready)?;
            self.next_point += 1;
        }
    }

    /// Appends point `point`'s quantile rows, `rows`, when they are the next to go in: every
    /// chunk of the point and every point before it appended. False (nothing written)
    /// otherwise.
    pub fn append_point(&mut self, point: usize, rows: &[u8]) -> Result<bool, OutputError> {
        let Some(last) = self.all.iter().rposition(|c| c.point == point) else {
            return Ok(false);
        };
        if self.next_point != point || last >= self.next_chunk {
            return Ok(false);
        }
        self.quantiles().write(rows)?;
        self.next_point += 1;
        Ok(true)
    }

    /// Whether `point` is the last point of the run.
    pub fn is_last_point(&self, point: usize) -> bool {
        self.all.last().is_some_and(|c| c.point == point)
    }

    fn quantiles(&mut self) -> &mut Target {
        &mut self.files.last_mut().expect("quantiles is last").1
    }

    /// Appends what is left (a point's quantile rows from its chunks' sketches where they were
    /// not merged yet), writes `points.csv` and `dictionary.csv` under their temporary names,
    /// and publishes them with the row files together ([`publish_all`]; `failures.csv` only
    /// if a replication failed). Returns the failed replications and the sums of the row
    /// files published.
    pub fn finish(
        mut self,
        scenario: &Scenario,
        part_dir: &dyn Fn(&Chunk) -> PathBuf,
    ) -> Result<(u64, integrity::Sums), OutputError> {
        let points = self.out.join("points.csv");
        let mut files = vec![
            parts::write_unpublished(&points, &points_csv(scenario, &points)?)?,
            parts::write_unpublished(
                &self.out.join("dictionary.csv"),
                &dictionary::to_csv(&dictionary::entries(scenario)),
            )?,
        ];
        self.append_ready(part_dir, &|_| true)?;
        let all = std::mem::take(&mut self.all);
        // Chunks are point-major: one group per point.
        for of_point in all.chunk_by(|a, b| a.point == b.point) {
            let p = of_point[0].point;
            if p < self.next_point {
                continue;
            }
            let ready = point_quantiles_path(&part_dir(&of_point[0]), p);
            if ready.exists() {
                self.quantiles().copy(&ready)?;
            } else {
                let sketches: Vec<PathBuf> = of_point
                    .iter()
                    .map(|c| part_path(&part_dir(c), c.index, "sketch"))
                    .collect();
                let rows = point_quantile_rows(scenario, p, &sketches)?;
                self.quantiles().write(&rows)?;
            }
        }
        let mut failures = 0;
        let mut sums = integrity::Sums::new();
        for (kind, t) in self.files {
            // The header is a line too.
            let rows = t.sum.rows() - 1;
            let name = t.name.clone();
            if kind == "failures" {
                failures = rows;
            }
            if let Some((sum, file)) = t.close(kind != "failures" || rows > 0)? {
                sums.insert(name, sum);
                files.push(file);
            }
        }
        publish_all(&files)?;
        Ok((failures, sums))
    }
}

/// `points.csv`: every point id with its swept values, one column per swept path (a run
/// without a sweep has the single point 0), after the scenario's name.
fn points_csv(scenario: &Scenario, path: &Path) -> Result<Vec<u8>, OutputError> {
    let io = |e: std::io::Error| OutputError::io(path, e);
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut head = vec!["scenario".to_string(), "point".to_string()];
    head.extend(factor_columns(scenario));
    w.write_record(&head).map_err(|e| io(e.into()))?;
    for point in &scenario.points {
        let mut row = vec![scenario.name.clone(), point.index.to_string()];
        row.extend(point.labels.iter().cloned());
        w.write_record(&row).map_err(|e| io(e.into()))?;
    }
    w.into_inner().map_err(|e| io(e.into_error()))
}

/// The files a complete unsharded (or merged) run folder holds, as the manifest lists them.
pub fn output_files(timeseries: bool, failed: u64) -> Vec<String> {
    let mut v = vec![
        "summary.csv",
        "quantiles.csv",
        "events.csv",
        "points.csv",
        "dictionary.csv",
    ];
    if timeseries {
        v.push("timeseries.csv");
    }
    if failed > 0 {
        v.push("failures.csv");
    }
    v.into_iter().map(String::from).collect()
}

/// The rows of `quantiles.csv` for point `p` (no header): the sketches of its chunks (one file
/// each) merged, one row per (month, series) with any value.
pub fn point_quantile_rows(
    scenario: &Scenario,
    p: usize,
    sketch_files: &[PathBuf],
) -> Result<Vec<u8>, OutputError> {
    let point = &scenario.points[p];
    let setup = &point.setup;
    let names = setup.series_names();
    let sketches = names.len() * setup.months as usize;
    let mut merged = PointSketches::new(sketch_files.len(), sketches, None);
    for path in sketch_files {
        merge_sketch_file(path, sketches, &mut merged)?;
    }
    Ok(quantile_rows(scenario, p, &names, &merged))
}

/// Adds the sketches of the file at `path` (a chunk's, [`read_sketches`]) to `merged`, one
/// each; a file holding other than `expected` sketches is refused.
pub fn merge_sketch_file(
    path: &Path,
    expected: usize,
    merged: &mut PointSketches,
) -> Result<(), OutputError> {
    let sketches = read_sketches(path)?;
    if sketches.len() != expected {
        return Err(OutputError::Refused(format!(
            "{} has {} sketches, expected {expected}",
            path.display(),
            sketches.len(),
        )));
    }
    // A chunk's sketch holds one value per replication of the chunk.
    if let Some(s) = sketches.iter().find(|s| u32::try_from(s.count()).is_err()) {
        return Err(OutputError::Refused(format!(
            "{} has a sketch of {} values, more than a chunk holds",
            path.display(),
            s.count(),
        )));
    }
    let mut read = SparseSketches::default();
    for s in &sketches {
        read.push_sketch(s);
    }
    merged.add(&read);
    Ok(())
}

/// The rows of `quantiles.csv` for point `p` from its merged sketches (one per month and
/// series, month-major; `names` the point's `series_names()`): one row per (month, series)
/// with any value.
///
/// On a thread of a run's pool, a point's sketches of many chunks, which several threads may
/// read at once ([`sketch::Sketches::shared`]), are written in two halves, the second for an
/// idle thread to take if there is one (`rayon::join`; else this thread writes it after the
/// first): the last point's rows come when every replication has run, and the replay's 3,420
/// rows of 20 chunks took 5–10 ms there with the other thread idle. Off a pool's threads
/// (`chipdip merge`, the end of [`Assembly::finish`]) they are written in one pass. The
/// bytes are the same.
pub fn quantile_rows(
    scenario: &Scenario,
    p: usize,
    names: &[(String, String)],
    merged: &(impl sketch::Sketches + ?Sized),
) -> Vec<u8> {
    let rows = QuantileRows::new(scenario, p, names);
    let n = merged.len();
    match merged.shared() {
        Some(shared) if n >= SPLIT_ROWS && rayon::current_thread_index().is_some() => {
            // The first half in room for all the rows, so that the second is copied after it
            // without moving it.
            let (mut w, second) = rayon::join(
                || rows.write(shared, 0..n / 2, n),
                || rows.write(shared, n / 2..n, n - n / 2),
            );
            w.extend_from_slice(&second);
            w
        }
        _ => rows.write(merged, 0..n, n),
    }
}

/// The fewest sketches whose quantile rows [`quantile_rows`] writes in two halves.
const SPLIT_ROWS: usize = 256;

/// What every quantile row of a point is made of, quoted once.
struct QuantileRows {
    start: YearMonth,
    /// The fields every row of the point starts with, and each series' two fields (one per
    /// name, in the order of the sketches of a month).
    prefix: Vec<u8>,
    series: Vec<Vec<u8>>,
    /// Bytes of a row at its longest (a number's text is at most 24 bytes).
    longest_row: usize,
}

impl QuantileRows {
    fn new(scenario: &Scenario, p: usize, names: &[(String, String)]) -> QuantileRows {
        let point = &scenario.points[p];
        let mut prefix = text::field(&scenario.name);
        prefix.push(b',');
        text::push_u64(&mut prefix, point.index as u64);
        for l in &point.labels {
            prefix.push(b',');
            prefix.extend(text::field(l));
        }
        let series: Vec<Vec<u8>> = names
            .iter()
            .map(|(e, m)| {
                let mut f = text::field(e);
                f.push(b',');
                f.extend(text::field(m));
                f
            })
            .collect();
        let start = point.setup.start;
        let month = text::field(&format_month(start, 0)).len();
        let longest = series.iter().map(Vec::len).max().unwrap_or(0);
        QuantileRows {
            start,
            longest_row: prefix.len() + month + longest + (1 + QUANTILES.len()) * 25 + 4,
            prefix,
            series,
        }
    }

    /// The rows of sketches `ks` of `merged`, in room for the rows of `room` sketches.
    fn write(
        &self,
        merged: &(impl sketch::Sketches + ?Sized),
        ks: std::ops::Range<usize>,
        room: usize,
    ) -> Vec<u8> {
        let names = self.series.len();
        // Room for every row at its longest, so that the rows are written without a copy at
        // each doubling: memory is touched only as it fills.
        let mut w = Vec::with_capacity(room * self.longest_row);
        let mut month = None;
        let mut month_field = Vec::new();
        let mut quantiles = [0.0; QUANTILES.len()];
        // Quantiles are mostly bucket representatives, which recur from row to row.
        let mut texts = text::NumberTexts::new();
        for k in ks {
            if merged.count(k) == 0 {
                continue;
            }
            let m = (k / names) as u32;
            if month != Some(m) {
                month = Some(m);
                month_field = text::field(&format_month(self.start, m));
            }
            w.extend_from_slice(&self.prefix);
            w.push(b',');
            w.extend_from_slice(&month_field);
            w.push(b',');
            w.extend_from_slice(&self.series[k % names]);
            w.push(b',');
            texts.push(&mut w, merged.mean(k));
            merged.quantiles(k, &QUANTILES, &mut quantiles);
            for q in quantiles {
                w.push(b',');
                texts.push(&mut w, q);
            }
            w.push(b'\n');
        }
        w
    }
}

/// Every so many bytes appended to a final file, the system is asked to start writing them
/// to disk ([`start_writeback`]).
const WRITE_BACK_BYTES: u64 = 1 << 20;
/// The usual memory page (where pages are larger, a range's last page may be written back
/// twice: no harm, a little more I/O).
const PAGE_BYTES: u64 = 4096;

/// Asks the system to start writing bytes `from..to` of `file` to disk, without waiting:
/// the final files are synced when the run ends ([`publish_all`]), with every other thread
/// idle by then, and the disk's work is done before, while the replications still run
/// (`events.csv` of 1,000 replications of the replay is 9.5 MB, whose `fsync` alone took
/// 4.6 ms at the end). Linux only (`sync_file_range`); elsewhere nothing. Its result is not
/// needed: the `fsync` at the end reports any error.
fn start_writeback(file: &fs::File, from: u64, to: u64) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: a system call on an open descriptor `file` owns, with no memory passed.
        unsafe {
            libc::sync_file_range(
                file.as_raw_fd(),
                from as _,
                (to - from) as _,
                libc::SYNC_FILE_RANGE_WRITE,
            );
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (file, from, to);
}

/// A finished file under its temporary name ([`temporary`]), not yet synced.
pub struct Unpublished {
    pub tmp: PathBuf,
    pub target: PathBuf,
}

/// [`publish`] for several files at once: every file's data reach the disk before any is
/// renamed, and the renames before this returns (a crash in between may leave some files
/// renamed and others not: only the manifest, written after, says the run is complete). The
/// files are synced concurrently (a thread each) and their folders once each after the
/// renames: at the end of a run, the final files' syncs one after the other were ten `fsync`s
/// in a row (8–10 ms of a 1,000-replication run on the development VM, with every other
/// thread idle).
pub fn publish_all(files: &[Unpublished]) -> Result<(), OutputError> {
    let sync = |f: &Unpublished| fs::File::open(&f.tmp)?.sync_all();
    let synced: Vec<std::io::Result<()>> = std::thread::scope(|s| {
        // A file whose thread the system refuses is synced on this one.
        let syncing: Vec<_> = files
            .iter()
            .map(|f| {
                std::thread::Builder::new()
                    .spawn_scoped(s, move || sync(f))
                    .map_err(|_| f)
            })
            .collect();
        syncing
            .into_iter()
            .map(|h| match h {
                Ok(h) => h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)),
                Err(f) => sync(f),
            })
            .collect()
    });
    for (f, r) in files.iter().zip(synced) {
        r.map_err(|e| OutputError::io(&f.target, e))?;
    }
    for f in files {
        fs::rename(&f.tmp, &f.target).map_err(|e| OutputError::io(&f.target, e))?;
    }
    let mut folders: Vec<&Path> = files.iter().filter_map(|f| f.target.parent()).collect();
    folders.sort();
    folders.dedup();
    folders.into_iter().for_each(sync_folder);
    Ok(())
}

/// Syncs folder `dir`, so that the renames into it reach the disk. Directories cannot be
/// opened or synced on every platform; the files' data are safe anyway.
fn sync_folder(dir: &Path) {
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Publishes a finished temporary file under its final name: its data reach the disk
/// (`fsync`) before the rename, and the rename itself before this returns (the folder is
/// synced too, where the platform allows), so a crash or power loss never leaves a final name
/// on a file whose bytes are not all there.
pub fn publish(tmp: &Path, target: &Path) -> std::io::Result<()> {
    fs::File::open(tmp)?.sync_all()?;
    fs::rename(tmp, target)?;
    if let Some(dir) = target.parent() {
        sync_folder(dir);
    }
    Ok(())
}
