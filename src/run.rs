//! A run into a folder: what `chipdip run` does, as a library call.
//!
//! [`run_to_folder`] writes `manifest.json` (`"complete": false`), runs the chunks the folder
//! does not hold yet into part files, assembles the final CSVs, rewrites the manifest with
//! `"complete": true` and only then removes `parts/` (see `crate::output`). Rerunning the same
//! run into the same folder resumes it; a complete folder is left untouched. Progress goes to a
//! [`RunObserver`] rather than a terminal, so the library needs no command-line crates.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::experiment::{self, Chunk, ChunkSink, Failure, Plan, Progress, Recorder, Shard};
use crate::model::Outcome;
use crate::output::lock::{FolderLock, LOCK_FILE};
use crate::output::manifest::{self, Manifest};
use crate::output::parts::PartFiles;
use crate::output::{self, OutputError, Prepared};
use crate::scenario::{Point, Scenario, ScenarioError};

/// How to run a scenario into a folder: the options of `chipdip run`.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// `--set PATH=VALUE` overrides, applied in order by [`RunOptions::load`].
    pub sets: Vec<String>,
    /// Replications per point (overrides `simulation.replications`), applied by `load`.
    pub reps: Option<u32>,
    /// Master seed (overrides `simulation.seed`), applied by `load`.
    pub seed: Option<u64>,
    /// Worker threads; `None` for all cores. The results do not depend on it.
    pub threads: Option<usize>,
    /// Also write `timeseries.csv`.
    pub timeseries: bool,
    /// The event kinds to write to `events.csv` (`--events`); `None` for the default,
    /// [`crate::output::dictionary::default_events`] (all but the monthly licence logs).
    pub events: Option<Vec<String>>,
    /// Which part of the work to run (`Shard::WHOLE` for all of it).
    pub shard: Shard,
    /// The run folder; `None` for a new folder `output/<scenario>-<time>/`.
    pub out: Option<PathBuf>,
    /// The command line recorded in the manifest (provenance; empty from a library).
    pub command_line: Vec<String>,
    /// **Test hook**, not for real runs: makes this (point, replication) fail as a ledger
    /// violation would, so that tests can check the failure path (the failure recorded in
    /// `failures.csv`, the run going on, exit 1) without a model bug to trigger it. The CLI
    /// sets it from the environment variable `CHIPDIP_FAIL_REPLICATION=POINT:REP`.
    pub fail_replication: Option<(usize, u32)>,
    /// The precision record of `--target` (decided by `crate::precision::decide`), written
    /// to the manifest; `reps` is then the replications it chose.
    pub precision: Option<crate::precision::Precision>,
}

impl RunOptions {
    /// Loads the scenario file at `path` with [`sets`](Self::sets), then
    /// [`reps`](Self::reps) and [`seed`](Self::seed), applied as `--set`s in that order (so
    /// errors name the file and line, or `--set`). A sweep's points are built on
    /// [`thread_count`](Self::thread_count) threads, as many as the run will use.
    pub fn load(&self, path: &Path) -> Result<Scenario, ScenarioError> {
        let mut sets = self.sets.clone();
        if let Some(r) = self.reps {
            sets.push(format!("simulation.replications={r}"));
        }
        if let Some(s) = self.seed {
            sets.push(format!("simulation.seed={s}"));
        }
        let load = || Scenario::load(path, &sets);
        match rayon::ThreadPoolBuilder::new()
            .num_threads(self.thread_count())
            .build()
        {
            Ok(pool) => pool.install(load),
            // No threads to be had now: rayon's global pool, as a library caller's load.
            Err(_) => load(),
        }
    }

    /// The number of worker threads to use: [`threads`](Self::threads) or all cores.
    pub fn thread_count(&self) -> usize {
        self.threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
            .clamp(1, crate::scenario::limits::MAX_THREADS)
    }
}

/// Hears how a run goes (a progress bar, a log). Every method does nothing by default; `()`
/// is the silent observer.
pub trait RunObserver: Sync {
    /// The folder is open and the work planned (`state` is `Fresh` or `Resumed`; `plan.done`
    /// is what a resumed folder already held). Called before any replication runs.
    fn planned(&self, _out: &Path, _state: &Prepared, _plan: &Plan) {}
    /// After every replication (and every point finished), from any worker thread.
    fn progress(&self, _progress: Progress) {}
    /// Every replication has run; the final files are assembled next.
    fn replications_done(&self) {}
}

impl RunObserver for () {}

/// What a run into a folder did.
#[derive(Clone, Debug, PartialEq)]
pub struct RunReport {
    /// The run folder.
    pub out: PathBuf,
    /// Whether the folder was new, resumed, or already complete (then nothing ran).
    pub state: Prepared,
    /// Replications run by this call (a resumed folder's finished ones not counted).
    pub replications_run: u64,
    /// Points of this shard.
    pub points: usize,
    /// Failed replications (listed in `failures.csv`, or in the chunks' rows files in `parts/`
    /// of a shard).
    pub failed_replications: u64,
    /// Whether this was one shard of a sharded run (then `parts/` stays for `chipdip merge`).
    pub sharded: bool,
    /// Time from the first replication to the complete folder.
    pub elapsed: Duration,
}

/// Why a run into a folder stopped. Failed replications are not an error: they are counted in
/// [`RunReport::failed_replications`] and the run goes on.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Writing or reading the run folder, or a folder that cannot be used (another run's).
    #[error(transparent)]
    Output(#[from] OutputError),
    /// Removing `parts/` once the folder was complete.
    #[error("removing {}/parts", .out.display())]
    Cleanup {
        /// The run folder.
        out: PathBuf,
        /// Why the removal failed.
        source: std::io::Error,
    },
    /// Reading a shard's part files to count its failures.
    #[error("reading {}", .path.display())]
    Read {
        /// The file or folder.
        path: PathBuf,
        /// Why it could not be read.
        source: std::io::Error,
    },
    /// Listing a shard's part files.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Runs `scenario` into a folder as `chipdip run` does (see the module documentation).
/// `options.sets`, `reps` and `seed` are not used here: they apply when loading
/// ([`RunOptions::load`]); for a scenario already loaded use `Scenario::with_set`.
pub fn run_to_folder(
    scenario: &Scenario,
    options: &RunOptions,
    observer: &dyn RunObserver,
) -> Result<RunReport, RunError> {
    let out = match &options.out {
        Some(o) => o.clone(),
        None => default_out(scenario),
    };
    let mut manifest = new_manifest(scenario, options);
    // A folder of someone else's is refused before it gets a lock file. A folder with a lock
    // file is chipdip's, perhaps being written right now: `prepare` checks it under the lock.
    // (The lock file is looked for after the listing: a run creates it before anything else.)
    if let Err(e) = output::refuse_foreign(&out)
        && !out.join(LOCK_FILE).exists()
    {
        return Err(e.into());
    }
    // Held until this function returns: one process per folder.
    let mut lock = FolderLock::acquire(&out)?;
    output::remove_temporaries(&out)?;
    let (_, state) = output::prepare(&out, &manifest)?;
    let mut report = RunReport {
        out: out.clone(),
        state: state.clone(),
        replications_run: 0,
        points: 0,
        failed_replications: 0,
        sharded: options.shard.count != 1,
        elapsed: Duration::ZERO,
    };
    if state == Prepared::AlreadyComplete {
        // A run killed between its final manifest and removing `parts/` is complete; its
        // leftover parts go now (a shard keeps them for `chipdip merge`).
        let parts = out.join("parts");
        if !report.sharded && parts.exists() {
            std::fs::remove_dir_all(&parts).map_err(|source| RunError::Cleanup {
                out: out.clone(),
                source,
            })?;
        }
        return Ok(report);
    }
    lock.record_holder("chipdip run")?;
    let mut sink = FailAt {
        sink: {
            let files = PartFiles::new(&out, options.timeseries).with_events(&manifest.events);
            if options.shard.count == 1 {
                files
            } else {
                files.keep_sketches()
            }
        },
        at: options.fail_replication,
    };
    let plan = Plan::new(scenario, &sink, options.shard);
    if options.shard.count == 1 {
        // The final files are written while the last chunks run.
        sink.sink.assemble_during(scenario, &plan.pending)?;
    }
    observer.planned(&out, &state, &plan);
    let started = Instant::now();
    let tick = |p: Progress| observer.progress(p);
    experiment::run_plan(scenario, &sink, &plan, manifest.threads, &tick)?;
    observer.replications_done();
    finish(
        scenario,
        options,
        &out,
        &mut manifest,
        sink.sink.take_assembly(),
    )?;
    report.replications_run = plan.total.replications - plan.done.replications;
    report.points = plan.total.points;
    report.failed_replications = manifest.failed_replications;
    report.elapsed = started.elapsed();
    Ok(report)
}

/// The manifest of a run that starts now (`"complete": false`).
fn new_manifest(scenario: &Scenario, options: &RunOptions) -> Manifest {
    Manifest {
        program: "chipdip".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        crate_versions: manifest::crate_versions(),
        rng: manifest::RNG_DESCRIPTION.into(),
        scenario_files: scenario.files.clone(),
        scenario_name: scenario.name.clone(),
        scenario_hash: scenario.hash.clone(),
        scenario: serde_json::to_value(&scenario.resolved)
            .expect("a TOML table serialises to JSON"),
        master_seed: scenario.settings.seed,
        points: scenario.points.len(),
        replications: scenario.settings.replications,
        months: scenario.settings.months,
        timeseries: options.timeseries,
        shard: options.shard,
        command_line: options.command_line.clone(),
        threads: options.thread_count(),
        started_at: manifest::now_utc(),
        finished_at: None,
        failed_replications: 0,
        outputs: Vec::new(),
        precision: options.precision.clone(),
        files: Default::default(),
        merged_from: Vec::new(),
        events: options
            .events
            .clone()
            .unwrap_or_else(crate::output::dictionary::default_events),
        complete: false,
    }
}

/// Every chunk is done: finish the final files (unsharded; `assembly` holds what was assembled
/// while the chunks ran), mark the folder complete, and only then remove `parts/` — a run
/// killed in between is complete, not broken.
fn finish(
    scenario: &Scenario,
    options: &RunOptions,
    out: &Path,
    manifest: &mut Manifest,
    assembly: Option<output::Assembly>,
) -> Result<(), RunError> {
    let unsharded = options.shard.count == 1;
    if unsharded {
        let assembly = match assembly {
            Some(a) => a,
            None => output::Assembly::start(scenario, out, options.timeseries)?,
        };
        let (failed, mut sums) = assembly.finish(scenario, &|_| out.to_path_buf())?;
        manifest.failed_replications = failed;
        manifest.outputs = output::output_files(options.timeseries, failed);
        // The row files were summed as they were written; the small ones are read back.
        let rest: Vec<String> = manifest
            .outputs
            .iter()
            .filter(|n| !sums.contains_key(*n))
            .cloned()
            .collect();
        sums.extend(output::integrity::final_sums(out, &rest)?);
        manifest.files = sums;
    } else {
        manifest.failed_replications = count_failures(out)?;
        manifest.outputs = vec!["parts/".into()];
    }
    manifest.finished_at = Some(manifest::now_utc());
    manifest.complete = true;
    manifest.write(&out.join("manifest.json"))?;
    if unsharded {
        std::fs::remove_dir_all(out.join("parts")).map_err(|source| RunError::Cleanup {
            out: out.to_path_buf(),
            source,
        })?;
    }
    Ok(())
}

/// Failed replications recorded in a shard's part files (one line each): the rows its
/// chunks' rows files count for them, or, for a chunk written by an earlier release (with no
/// rows file), the lines of its `.failures` file.
fn count_failures(out: &Path) -> Result<u64, RunError> {
    let mut n = 0;
    let parts = out.join("parts");
    let read = |path: &Path| {
        let path = path.to_path_buf();
        move |source| RunError::Read { path, source }
    };
    for entry in std::fs::read_dir(&parts).map_err(read(&parts))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "rows") {
            let sums = output::integrity::rows_file_sums(&path)?;
            n += sums.get("failures").map_or(0, |s| s.rows);
        } else if path.extension().is_some_and(|e| e == "failures")
            && !path.with_extension("rows").exists()
        {
            let bytes = std::fs::read(&path).map_err(read(&path))?;
            n += output::integrity::lines(&bytes);
        }
    }
    Ok(n)
}

/// A new folder `output/<scenario>-<UTC time digits>[-k]` (relative to the working folder).
/// The scenario's name is reduced to letters, digits, `-`, `_` and inner dots, so that no
/// name (`../../x`, `/etc`) leads outside `output/`.
pub fn default_out(scenario: &Scenario) -> PathBuf {
    let stamp: String = manifest::now_utc()
        .chars()
        .filter(|c| c.is_ascii_digit())
        .collect();
    let safe: String = scenario
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let safe = safe.trim_start_matches('.');
    let name = if safe.is_empty() { "run" } else { safe };
    let base = PathBuf::from("output").join(format!("{name}-{stamp}"));
    let mut p = base.clone();
    let mut k = 1;
    while p.exists() {
        p = PathBuf::from(format!("{}-{k}", base.display()));
        k += 1;
    }
    p
}

/// The error recorded for the replication the test hook fails.
pub const INJECTED_FAILURE: &str =
    "injected failure (test hook CHIPDIP_FAIL_REPLICATION; not a model error)";

/// Wraps a sink so that the replication `at` (the [`RunOptions::fail_replication`] test hook)
/// is recorded as failed instead of added; every other replication passes through.
struct FailAt<S> {
    sink: S,
    at: Option<(usize, u32)>,
}

/// A chunk's recorder behind [`FailAt`].
struct FailAtRecorder<R> {
    inner: R,
    at: Option<(usize, u32)>,
}

impl<R: Recorder> Recorder for FailAtRecorder<R> {
    fn add(&mut self, point: &Point, rep: u32, seed: u64, outcome: Outcome) -> Option<Outcome> {
        if self.at == Some((point.index, rep)) {
            self.inner.fail(Failure {
                point: point.index,
                replication: rep,
                seed,
                error: INJECTED_FAILURE.to_string(),
            });
            Some(outcome)
        } else {
            self.inner.add(point, rep, seed, outcome)
        }
    }

    fn fail(&mut self, failure: Failure) {
        self.inner.fail(failure);
    }
}

impl<S: ChunkSink> ChunkSink for FailAt<S> {
    type Recorder<'s>
        = FailAtRecorder<S::Recorder<'s>>
    where
        Self: 's;
    type Error = S::Error;

    fn is_done(&self, chunk: &Chunk) -> bool {
        self.sink.is_done(chunk)
    }

    fn open<'s>(&'s self, scenario: &'s Scenario, chunk: &Chunk) -> Self::Recorder<'s> {
        FailAtRecorder {
            inner: self.sink.open(scenario, chunk),
            at: self.at,
        }
    }

    fn close(&self, chunk: &Chunk, recorder: Self::Recorder<'_>) -> Result<(), S::Error> {
        self.sink.close(chunk, recorder.inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_folders_stay_under_output_whatever_the_scenario_name() {
        let mut s = Scenario::load("scenarios/baseline.toml".as_ref(), &[]).expect("shipped");
        for (name, start) in [
            ("../../x", "_.._x-"),
            ("/etc/passwd", "_etc_passwd-"),
            ("", "run-"),
            ("..", "run-"),
            ("malaysia_2025", "malaysia_2025-"),
        ] {
            s.name = name.to_string();
            let out = default_out(&s);
            let parts: Vec<_> = out.components().collect();
            assert_eq!(parts.len(), 2, "{name:?} -> {}", out.display());
            assert_eq!(parts[0].as_os_str(), "output");
            let leaf = parts[1].as_os_str().to_string_lossy().into_owned();
            assert!(leaf.starts_with(start), "{name:?} -> {leaf}");
        }
    }
}
