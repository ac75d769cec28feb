//! The `chipdip` command line: parses arguments, calls the library, maps errors to exit codes.
//! Exit codes: 0 success, 1 run failure (I/O, failed replications), 2 bad input.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

use chipdip::experiment::{self, Plan, Progress, Shard};
use chipdip::output::manifest::{self, Manifest};
use chipdip::output::{self, Prepared};
use chipdip::scenario::{Scenario, ScenarioError};

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
    /// Check a scenario file without running it.
    Check {
        scenario: PathBuf,
        #[arg(long = "set", value_name = "PATH=VALUE")]
        sets: Vec<String>,
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
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long)]
    threads: Option<usize>,
    /// Override a parameter: PATH=VALUE (repeatable; see `chipdip params`).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    sets: Vec<String>,
    /// Also write timeseries.csv (every replication, month, entity and metric).
    #[arg(long)]
    timeseries: bool,
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
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {e:#}");
            if e.downcast_ref::<ScenarioError>().is_some() {
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

fn shard_of(args: &RunArgs) -> anyhow::Result<Shard> {
    if let Some(s) = &args.shard {
        return Shard::parse(s).map_err(anyhow::Error::msg);
    }
    if !args.shard_from_env {
        return Ok(Shard::WHOLE);
    }
    let var = |k: &str| std::env::var(k).ok();
    let (index, count) = if let Some(i) = var("SLURM_ARRAY_TASK_ID") {
        let count = var("SLURM_ARRAY_TASK_COUNT")
            .or(args.shard_count.map(|c| c.to_string()))
            .context(
                "SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not (pass --shard-count)",
            )?;
        (i, count)
    } else if let Some(i) = var("JOB_COMPLETION_INDEX") {
        let count = args
            .shard_count
            .context("JOB_COMPLETION_INDEX needs --shard-count K")?;
        (i, count.to_string())
    } else {
        bail!("--shard-from-env: neither SLURM_ARRAY_TASK_ID nor JOB_COMPLETION_INDEX is set");
    };
    Shard::parse(&format!("{index}/{count}")).map_err(anyhow::Error::msg)
}

fn run(args: RunArgs) -> anyhow::Result<()> {
    let mut sets = args.sets.clone();
    if let Some(r) = args.reps {
        sets.push(format!("simulation.replications={r}"));
    }
    if let Some(s) = args.seed {
        sets.push(format!("simulation.seed={s}"));
    }
    let scenario = load(&args.scenario, &sets)?;
    let shard = shard_of(&args)?;
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let out = match &args.out {
        Some(o) => o.clone(),
        None => default_out(&scenario),
    };
    let mut manifest = Manifest {
        program: "chipdip".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        crate_versions: manifest::crate_versions(),
        rng: manifest::RNG_DESCRIPTION.into(),
        scenario_files: scenario.files.clone(),
        scenario_name: scenario.name.clone(),
        scenario_hash: scenario.hash.clone(),
        scenario: serde_json::to_value(&scenario.resolved)?,
        master_seed: scenario.settings.seed,
        points: scenario.points.len(),
        replications: scenario.settings.replications,
        months: scenario.settings.months,
        timeseries: args.timeseries,
        shard,
        command_line: std::env::args().collect(),
        threads,
        started_at: manifest::now_utc(),
        finished_at: None,
        failed_replications: 0,
        outputs: Vec::new(),
        merged_from: Vec::new(),
        complete: false,
    };
    let (dir, state) = output::prepare(&out, &manifest)?;
    if state == Prepared::AlreadyComplete {
        eprintln!("{} is already complete; nothing to do", out.display());
        return Ok(());
    }
    let plan = Plan::new(&scenario, &dir, shard);
    if state == Prepared::Resumed {
        eprintln!(
            "resuming {}: {} of {} replications already done",
            out.display(),
            plan.done.replications,
            plan.total.replications
        );
    }
    let bar = progress_bar(&plan, args.quiet);
    let started = Instant::now();
    let tick = |p: Progress| {
        bar.set_position(p.replications);
        bar.set_message(format!("{}/{} points", p.points, plan.total.points));
    };
    experiment::run_plan(&scenario, &dir, &plan, threads, args.timeseries, &tick)?;
    bar.finish_and_clear();

    let unsharded = shard.count == 1;
    if unsharded {
        let failed = output::assemble(&scenario, &out, args.timeseries, &|_| out.clone())?;
        manifest.failed_replications = failed;
        manifest.outputs = output::output_files(args.timeseries, failed);
    } else {
        manifest.failed_replications = count_failures(&out)?;
        manifest.outputs = vec!["parts/".into()];
    }
    manifest.finished_at = Some(manifest::now_utc());
    manifest.complete = true;
    manifest.write(&out.join("manifest.json"))?;
    if unsharded {
        // Only once the folder is marked complete: a run killed here is complete, not broken.
        std::fs::remove_dir_all(out.join("parts"))
            .with_context(|| format!("removing {}/parts", out.display()))?;
    }
    eprintln!(
        "{} replications ({} point(s)) in {:.1}s -> {}",
        plan.total.replications - plan.done.replications,
        plan.total.points,
        started.elapsed().as_secs_f64(),
        out.display()
    );
    if manifest.failed_replications > 0 && !unsharded {
        // The shard's job is done; `chipdip merge` reports the failures (and exits 1), so a
        // scheduler still runs the merge that depends on this shard.
        eprintln!(
            "warning: {} replication(s) failed; recorded in {}/parts/*.failures",
            manifest.failed_replications,
            out.display()
        );
    } else if manifest.failed_replications > 0 {
        bail!(
            "{} replication(s) failed; see {}/failures.csv",
            manifest.failed_replications,
            out.display()
        );
    }
    Ok(())
}

/// Failed replications recorded in a shard's part files.
fn count_failures(out: &Path) -> anyhow::Result<u64> {
    let mut n = 0;
    let parts = out.join("parts");
    for entry in
        std::fs::read_dir(&parts).with_context(|| format!("reading {}", parts.display()))?
    {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "failures") {
            let bytes =
                std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            n += bytecount_newlines(&bytes);
        }
    }
    Ok(n)
}

fn bytecount_newlines(b: &[u8]) -> u64 {
    b.iter().filter(|&&c| c == b'\n').count() as u64
}

fn default_out(scenario: &Scenario) -> PathBuf {
    let stamp: String = manifest::now_utc()
        .chars()
        .filter(|c| c.is_ascii_digit())
        .collect();
    let name = if scenario.name.is_empty() {
        "run"
    } else {
        &scenario.name
    };
    let base = PathBuf::from("output").join(format!("{name}-{stamp}"));
    let mut p = base.clone();
    let mut k = 1;
    while p.exists() {
        p = PathBuf::from(format!("{}-{k}", base.display()));
        k += 1;
    }
    p
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
            "{elapsed_precise} [{bar:30}] {msg}  {human_pos}/{human_len} reps  {per_sec:.0}  ETA {eta}",
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

fn merge(shards: &[PathBuf], out: &Path) -> anyhow::Result<()> {
    let merged = chipdip::output::merge::merge(shards, out)?;
    eprintln!("merged {} shards -> {}", merged.shards, out.display());
    if merged.failed_replications > 0 {
        bail!(
            "{} replication(s) failed; see {}/failures.csv",
            merged.failed_replications,
            out.display()
        );
    }
    Ok(())
}
