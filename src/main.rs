//! The `chipdip` command line: parses arguments, calls the library, maps errors to exit codes.
//! Exit codes: 0 success, 1 run failure (I/O, failed replications), 2 bad input.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::OnceLock;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

use chipdip::{
    Plan, Prepared, Progress, RunObserver, RunOptions, Scenario, ScenarioError, Shard,
    run_to_folder,
};

/// mimalloc rather than the system's allocator: building a sweep's points (scenario trees
/// copied, deserialised and validated, a few thousand small allocations each) spent about a
/// third of its time in glibc's `malloc` and `free`. Results do not depend on the allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "chipdip",
    version,
    about = "Agent-based Monte Carlo simulator of AI-chip supply-chain diplomacy"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario's replications (and sweep points) and write the outcome CSVs.
    Run(RunArgs),
    /// List every parameter path of a scenario with its resolved value and meaning.
    Params {
        /// Scenario file (TOML).
        scenario: PathBuf,
        /// Override a parameter before listing: PATH=VALUE (repeatable).
        #[arg(long = "set", value_name = "PATH=VALUE")]
        sets: Vec<String>,
    },
    /// Check a scenario file without running it: every key, range, id and dated change, and
    /// every point of a sweep (exit 2 with the file, line and key of the first error).
    Check {
        /// Scenario file (TOML).
        scenario: PathBuf,
        /// Override a parameter before checking: PATH=VALUE (repeatable).
        #[arg(long = "set", value_name = "PATH=VALUE")]
        sets: Vec<String>,
    },
    /// Recheck a run folder's files against the checksums it recorded (exit 1 on a mismatch).
    Verify {
        /// The run, shard or merged folder.
        folder: PathBuf,
    },
    /// Print the data dictionary of a scenario's outputs (every column, metric and event kind:
    /// type, unit, stock or flow, meaning); every run folder holds it as dictionary.csv.
    Dictionary {
        /// Scenario file (TOML).
        scenario: PathBuf,
        /// Override a parameter first: PATH=VALUE (repeatable).
        #[arg(long = "set", value_name = "PATH=VALUE")]
        sets: Vec<String>,
    },
    /// Compare two runs of the same seed replication by replication (common random numbers):
    /// per summary metric and point, the mean difference B - A with its paired and unpaired
    /// 95% intervals.
    Compare {
        /// The baseline run folder (A).
        run_a: PathBuf,
        /// The other run folder (B).
        run_b: PathBuf,
        /// Write the CSV here (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Stack one file of several run folders into one table, labelled by run and scenario.
    Collect {
        /// Run folders.
        #[arg(required = true)]
        runs: Vec<PathBuf>,
        /// The file to stack (summary.csv, quantiles.csv, events.csv, timeseries.csv, ...).
        #[arg(long, default_value = "summary.csv")]
        file: String,
        /// Write the CSV here (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Write a Parquet copy of every CSV of a complete run folder (NAME.csv -> NAME.parquet).
    #[cfg(feature = "parquet")]
    Parquet {
        /// The run folder.
        run: PathBuf,
    },
    /// Merge the folders of a sharded run into the files an unsharded run writes.
    Merge {
        /// Shard folders (all K of them).
        #[arg(required = true)]
        shards: Vec<PathBuf>,
        /// Folder to write (must not exist or be empty).
        #[arg(long)]
        out: PathBuf,
    },
    /// Sensitivity indices of a finished saltelli or morris sweep: writes RUN/sensitivity.csv.
    Analyze {
        /// Run folder (complete, or merged from shards).
        run: PathBuf,
        /// Outcome columns of summary.csv to analyse (default: all).
        #[arg(long, value_delimiter = ',', value_name = "M,...")]
        metrics: Option<Vec<String>>,
    },
    /// Scenario discovery (PRIM) on a finished sweep: writes RUN/prim.csv.
    Discover {
        /// Run folder (complete, or merged from shards).
        run: PathBuf,
        /// The outcome of interest, e.g. 'mys_hub_diverted_units > 50000' (> >= < <=).
        #[arg(long = "where", value_name = "METRIC OP VALUE")]
        condition: String,
        /// Smallest coverage of the chosen box.
        #[arg(long, default_value_t = chipdip::analysis::prim::MIN_COVERAGE)]
        min_coverage: f64,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// Scenario file (TOML).
    scenario: PathBuf,
    /// Output folder (default: a new folder under output/). Rerunning into an interrupted
    /// folder resumes it; a complete folder is left untouched.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Replications per point (overrides simulation.replications).
    #[arg(long)]
    reps: Option<u32>,
    /// Master seed (overrides simulation.seed).
    #[arg(long)]
    seed: Option<u64>,
    /// Worker threads (default: all cores; at most 1024). Results do not depend on it.
    #[arg(long)]
    threads: Option<usize>,
    /// Override a parameter: PATH=VALUE (repeatable; see `chipdip params`).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    sets: Vec<String>,
    /// Also write timeseries.csv (every replication, month, entity and metric).
    #[arg(long)]
    timeseries: bool,
    /// Event kinds to write to events.csv, separated by commas, or `all` (default: all but the
    /// monthly licence logs licence_deny and cap_reached, which the denied_h100e series holds).
    #[arg(long, value_name = "KINDS")]
    events: Option<String>,
    /// Run only shard I of K (0-based), into its own folder; combine with `chipdip merge`.
    #[arg(long, value_name = "I/K", conflicts_with = "shard_from_env")]
    shard: Option<String>,
    /// Take the shard from SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT, or from
    /// JOB_COMPLETION_INDEX with --shard-count (Kubernetes indexed jobs).
    #[arg(long)]
    shard_from_env: bool,
    /// Shard count for --shard-from-env when the environment does not give it.
    #[arg(long, requires = "shard_from_env")]
    shard_count: Option<u32>,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
    /// Replicate to a precision: add replications (50 at a time, from --reps) until each
    /// listed summary.csv metric's standard error of the mean is at most REL × |mean| at every
    /// point, or --max-reps; e.g. mys_hub_diverted_units=0.05.
    #[arg(long, value_name = "METRIC=REL[,METRIC=REL]")]
    target: Option<String>,
    /// Cap on the replications per point with --target.
    #[arg(long, requires = "target", default_value_t = chipdip::precision::DEFAULT_MAX_REPLICATIONS)]
    max_reps: u32,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run(args),
        Command::Params { scenario, sets } => params(&scenario, &sets),
        Command::Check { scenario, sets } => load(&scenario, &sets).map(|s| {
            println!(
                "{}: ok ({} point(s), {} months)",
                scenario.display(),
                s.points.len(),
                s.settings.months
            );
        }),
        Command::Merge { shards, out } => merge(&shards, &out),
        Command::Analyze { run, metrics } => analyze(&run, metrics.as_deref()),
        Command::Discover {
            run,
            condition,
            min_coverage,
        } => discover(&run, &condition, min_coverage),
        Command::Verify { folder } => verify(&folder),
        Command::Dictionary { scenario, sets } => load(&scenario, &sets).and_then(|s| {
            let d = chipdip::output::dictionary::entries(&s);
            emit(&chipdip::output::dictionary::to_csv(&d), None)
        }),
        Command::Compare { run_a, run_b, out } => chipdip::output::compare::compare(&run_a, &run_b)
            .map_err(|e| bad(e.to_string()))
            .and_then(|rows| {
                emit(
                    &chipdip::output::compare::compare_csv(&rows),
                    out.as_deref(),
                )
            }),
        #[cfg(feature = "parquet")]
        Command::Parquet { run } => chipdip::output::parquet::run_to_parquet(&run)
            .map_err(|e| bad(e.to_string()))
            .map(|files| {
                for f in files {
                    eprintln!("wrote {}", f.display());
                }
            }),
        Command::Collect { runs, file, out } => chipdip::output::compare::collect(&runs, &file)
            .map_err(|e| bad(e.to_string()))
            .and_then(|bytes| emit(&bytes, out.as_deref())),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {e:#}");
            if e.downcast_ref::<ScenarioError>().is_some()
                || e.downcast_ref::<BadArgument>().is_some()
            {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain()
        .filter_map(|c| c.downcast_ref::<std::io::Error>())
        .any(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}

/// Writes `bytes` to `out`, or to standard output.
fn emit(bytes: &[u8], out: Option<&Path>) -> anyhow::Result<()> {
    use std::io::Write;
    match out {
        Some(path) => {
            std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
        }
        None => Ok(std::io::stdout().lock().write_all(bytes)?),
    }
}

fn load(path: &Path, sets: &[String]) -> anyhow::Result<Scenario> {
    Ok(Scenario::load(path, sets)?)
}

fn params(path: &Path, sets: &[String]) -> anyhow::Result<()> {
    use std::io::Write;
    let s = load(path, sets)?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "path\tvalue\tmeaning")?;
    for (p, v, m) in s.parameter_table() {
        writeln!(out, "{p}\t{v}\t{m}")?;
    }
    Ok(())
}

/// A command-line argument that cannot be used (exit 2, like a bad scenario).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct BadArgument(String);

fn bad(message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(BadArgument(message.into()))
}

fn shard_of(args: &RunArgs) -> anyhow::Result<Shard> {
    if let Some(s) = &args.shard {
        return Shard::parse(s).map_err(bad);
    }
    if !args.shard_from_env {
        return Ok(Shard::WHOLE);
    }
    let var = |k: &str| std::env::var(k).ok();
    let (index, count) = if let Some(i) = var("SLURM_ARRAY_TASK_ID") {
        let count = var("SLURM_ARRAY_TASK_COUNT")
            .or(args.shard_count.map(|c| c.to_string()))
            .ok_or_else(|| {
                bad("SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not (pass --shard-count)")
            })?;
        (i, count)
    } else if let Some(i) = var("JOB_COMPLETION_INDEX") {
        let count = args
            .shard_count
            .ok_or_else(|| bad("JOB_COMPLETION_INDEX needs --shard-count K"))?;
        (i, count.to_string())
    } else {
        return Err(bad(
            "--shard-from-env: neither SLURM_ARRAY_TASK_ID nor JOB_COMPLETION_INDEX is set",
        ));
    };
    Shard::parse(&format!("{index}/{count}")).map_err(bad)
}

fn run(args: RunArgs) -> anyhow::Result<()> {
    let mut options = RunOptions {
        sets: args.sets.clone(),
        reps: args.reps,
        seed: args.seed,
        threads: args.threads,
        timeseries: args.timeseries,
        events: match &args.events {
            Some(e) => Some(chipdip::output::dictionary::parse_events(e).map_err(bad)?),
            None => None,
        },
        shard: Shard::WHOLE,
        out: args.out.clone(),
        command_line: std::env::args().collect(),
        fail_replication: None,
        precision: None,
    };
    if let Some(t) = args.threads
        && t > chipdip::scenario::limits::MAX_THREADS
    {
        return Err(bad(format!(
            "--threads {t}: at most {} worker threads",
            chipdip::scenario::limits::MAX_THREADS
        )));
    }
    let mut scenario = options.load(&args.scenario)?;
    if let Some(target) = &args.target {
        let precision = decide_replications(&scenario, target, &args, options.thread_count())?;
        options.reps = Some(precision.replications);
        options.precision = Some(precision);
        scenario = options.load(&args.scenario)?;
    }
    options.shard = shard_of(&args)?;
    options.fail_replication = fail_replication_hook()?;
    let bar = Bar {
        quiet: args.quiet,
        bar: OnceLock::new(),
        lines: OnceLock::new(),
    };
    let report = run_to_folder(&scenario, &options, &bar)?;
    let out = report.out.display();
    if report.state == Prepared::AlreadyComplete {
        eprintln!("{out} is already complete; nothing to do");
        return Ok(());
    }
    eprintln!(
        "{} replications ({} point(s)) in {:.1}s -> {out}",
        report.replications_run,
        report.points,
        report.elapsed.as_secs_f64(),
    );
    if report.failed_replications > 0 && report.sharded {
        // The shard's job is done; `chipdip merge` reports the failures (and exits 1), so a
        // scheduler still runs the merge that depends on this shard.
        eprintln!(
            "warning: {} replication(s) failed; recorded in {out}/parts/ (chipdip merge lists them)",
            report.failed_replications,
        );
    } else if report.failed_replications > 0 {
        bail!(
            "{} replication(s) failed; see {out}/failures.csv",
            report.failed_replications,
        );
    }
    Ok(())
}

/// `--target`: the replications per point that meet the targets (or the cap), decided in
/// memory before the run (see `chipdip::precision`).
fn decide_replications(
    scenario: &Scenario,
    target: &str,
    args: &RunArgs,
    threads: usize,
) -> anyhow::Result<chipdip::precision::Precision> {
    use chipdip::precision::{self, PrecisionError};
    let targets = precision::parse_targets(target).map_err(bad)?;
    let started = std::time::Instant::now();
    let p = precision::decide(scenario, &targets, args.max_reps, threads).map_err(|e| match e {
        PrecisionError::Input(m) => bad(m),
        other => anyhow::Error::new(other),
    })?;
    if !args.quiet || !p.met {
        let reached: Vec<String> = p
            .reached
            .iter()
            .map(|r| {
                format!(
                    "{} {:.4} (target {}, worst point {})",
                    r.metric, r.max_relative_standard_error, r.target, r.worst_point
                )
            })
            .collect();
        eprintln!(
            "--target: {} replications per point{} in {:.1}s; largest relative standard errors: {}",
            p.replications,
            if p.met {
                ""
            } else {
                " (the cap; targets NOT met)"
            },
            started.elapsed().as_secs_f64(),
            reached.join("; ")
        );
    }
    Ok(p)
}

/// Test hook (see `RunOptions::fail_replication`): `CHIPDIP_FAIL_REPLICATION=POINT:REP` makes
/// that replication fail, so the tests can exercise the failure path. Not for real runs.
fn fail_replication_hook() -> anyhow::Result<Option<(usize, u32)>> {
    let Ok(v) = std::env::var("CHIPDIP_FAIL_REPLICATION") else {
        return Ok(None);
    };
    let parsed = v
        .split_once(':')
        .and_then(|(p, r)| Some((p.trim().parse().ok()?, r.trim().parse().ok()?)));
    parsed
        .map(Some)
        .with_context(|| format!("CHIPDIP_FAIL_REPLICATION must be POINT:REP, got {v:?}"))
}

/// The progress bar: replications done of the total, points done, replications per second and
/// ETA; drawn only on a terminal. Off a terminal (a batch job's log) a plain line with the same
/// figures every `CHIPDIP_PROGRESS_SECONDS` (default 30) seconds. Made once the run is planned
/// (it starts at the work a resumed folder already holds).
struct Bar {
    quiet: bool,
    /// The bar and the points of the run.
    bar: OnceLock<(ProgressBar, usize)>,
    /// Plain progress lines off a terminal: (interval, start, done when planned, next line).
    lines: OnceLock<Lines>,
}

/// Plain progress lines for logs.
struct Lines {
    every: std::time::Duration,
    start: std::time::Instant,
    done_at_start: u64,
    total: u64,
    points: usize,
    next: std::sync::Mutex<std::time::Instant>,
}

impl Lines {
    fn tick(&self, p: &Progress) {
        let now = std::time::Instant::now();
        {
            let Ok(mut next) = self.next.lock() else {
                return;
            };
            if now < *next {
                return;
            }
            *next = now + self.every;
        }
        let secs = now.duration_since(self.start).as_secs_f64();
        let rate = (p.replications - self.done_at_start) as f64 / secs.max(1e-9);
        let eta = if rate > 0.0 {
            let left = (self.total - p.replications) as f64 / rate;
            format!(
                "{}",
                indicatif::HumanDuration(std::time::Duration::from_secs_f64(left))
            )
        } else {
            "unknown".into()
        };
        eprintln!(
            "progress: {}/{} replications ({:.1}%), {}/{} points, {rate:.1} reps/s, ETA {eta}",
            p.replications,
            self.total,
            100.0 * p.replications as f64 / self.total.max(1) as f64,
            p.points,
            self.points,
        );
    }
}

impl RunObserver for Bar {
    fn planned(&self, out: &Path, state: &Prepared, plan: &Plan) {
        if *state == Prepared::Resumed {
            eprintln!(
                "resuming {}: {} of {} replications already done",
                out.display(),
                plan.done.replications,
                plan.total.replications
            );
        }
        let _ = self
            .bar
            .set((progress_bar(plan, self.quiet), plan.total.points));
        if !self.quiet && !std::io::stderr().is_terminal() {
            let secs = std::env::var("CHIPDIP_PROGRESS_SECONDS")
                .ok()
                .and_then(|v| v.parse::<f64>().ok())
                .filter(|s| s.is_finite() && *s >= 0.0)
                .unwrap_or(30.0);
            let every = std::time::Duration::from_secs_f64(secs);
            let start = std::time::Instant::now();
            let _ = self.lines.set(Lines {
                every,
                start,
                done_at_start: plan.done.replications,
                total: plan.total.replications,
                points: plan.total.points,
                next: std::sync::Mutex::new(start + every),
            });
        }
        interrupt::on_ctrl_c(out);
    }

    fn progress(&self, p: Progress) {
        if let Some((bar, points)) = self.bar.get() {
            bar.set_position(p.replications);
            bar.set_message(format!("{}/{points} points", p.points));
        }
        if let Some(lines) = self.lines.get() {
            lines.tick(&p);
        }
    }

    fn replications_done(&self) {
        if let Some((bar, _)) = self.bar.get() {
            bar.finish_and_clear();
        }
    }
}

/// Replications done of the total, points done, replications per second and ETA; drawn only
/// on a terminal.
fn progress_bar(plan: &Plan, quiet: bool) -> ProgressBar {
    let total = plan.total.replications;
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden());
    }
    let bar = ProgressBar::new(total).with_position(plan.done.replications);
    bar.set_style(
        ProgressStyle::with_template(
            "{elapsed_precise} [{bar:30}] {msg}  {human_pos}/{human_len} reps  {per_sec:.cyan}  ETA {eta}",
        )
        .expect("valid template")
        .with_key("per_sec", |s: &ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = write!(w, "{:.0} reps/s", s.per_sec());
        })
        .progress_chars("=> "),
    );
    bar.set_message(format!("{}/{} points", plan.done.points, plan.total.points));
    // Work found done on resume is not work done now: estimate the rate from here on.
    bar.reset_eta();
    bar
}

fn verify(folder: &Path) -> anyhow::Result<()> {
    let v = chipdip::output::verify::verify(folder)?;
    let state = if v.complete {
        "complete"
    } else {
        "not complete (rerun it to resume)"
    };
    println!(
        "{}: ok, {} final file(s) and {} chunk(s) match their checksums; {state}",
        folder.display(),
        v.files,
        v.chunks
    );
    Ok(())
}

fn merge(shards: &[PathBuf], out: &Path) -> anyhow::Result<()> {
    let merged = chipdip::output::merge::merge(shards, out)?;
    if merged.already_complete {
        eprintln!(
            "{} already holds this merge, complete; nothing to do",
            out.display()
        );
    } else {
        let again = if merged.redone {
            " (an interrupted merge was cleared and redone)"
        } else {
            ""
        };
        eprintln!(
            "merged {} shards -> {}{again}",
            merged.shards,
            out.display()
        );
    }
    if merged.failed_replications > 0 {
        bail!(
            "{} replication(s) failed; see {}/failures.csv",
            merged.failed_replications,
            out.display()
        );
    }
    Ok(())
}

/// On Ctrl-C (SIGINT) during a run: a line saying how to resume, then exit 130. The run folder
/// keeps every finished chunk, and rerunning the same command resumes it.
mod interrupt {
    use std::path::Path;
    use std::sync::OnceLock;

    static MESSAGE: OnceLock<Vec<u8>> = OnceLock::new();

    /// Installs the handler for the run folder `out` (once per process).
    pub fn on_ctrl_c(out: &Path) {
        let args: Vec<String> = std::env::args().collect();
        let command = if args.iter().any(|a| a == "--out") {
            args.join(" ")
        } else {
            format!("{} --out {}", args.join(" "), out.display())
        };
        let text = format!(
            "\ninterrupted: finished chunks are kept in {}; rerun the same command to resume:\n  {command}\n",
            out.display()
        );
        if MESSAGE.set(text.into_bytes()).is_ok() {
            install();
        }
    }

    #[cfg(unix)]
    fn install() {
        extern "C" fn handler(_: libc::c_int) {
            // Only async-signal-safe calls here: write(2) and _exit(2).
            if let Some(m) = MESSAGE.get() {
                unsafe {
                    libc::write(2, m.as_ptr().cast(), m.len());
                }
            }
            unsafe { libc::_exit(130) };
        }
        unsafe {
            libc::signal(libc::SIGINT, handler as *const () as libc::sighandler_t);
        }
    }

    #[cfg(not(unix))]
    fn install() {}
}

/// An analysis error as an exit code: bad input (2) or I/O (1).
fn analysis_error(e: chipdip::analysis::folder::AnalysisError) -> anyhow::Error {
    match e {
        chipdip::analysis::folder::AnalysisError::Input(m) => bad(m),
        io => anyhow::Error::new(io),
    }
}

fn analyze(run: &Path, metrics: Option<&[String]>) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let a = chipdip::analysis::folder::analyze(run, metrics).map_err(analysis_error)?;
    eprintln!(
        "{} metric(s) of a {} sweep, {} rows in {:.1}s -> {}",
        a.metrics,
        a.design,
        a.rows,
        started.elapsed().as_secs_f64(),
        a.path.display()
    );
    Ok(())
}

fn discover(run: &Path, condition: &str, min_coverage: f64) -> anyhow::Result<()> {
    use chipdip::analysis::folder;
    if !(0.0..=1.0).contains(&min_coverage) {
        return Err(bad(format!(
            "--min-coverage must be in [0, 1], got {min_coverage}"
        )));
    }
    let condition = folder::Condition::parse(condition).map_err(analysis_error)?;
    let d = folder::discover(run, &condition, min_coverage).map_err(analysis_error)?;
    eprintln!(
        "{} {} {}: {} cases, {} peeling steps -> {}",
        condition.metric,
        condition.op,
        condition.value,
        d.cases,
        d.prim.steps.len(),
        d.path.display()
    );
    println!("{}", folder::describe_box(&d));
    Ok(())
}
