//! The `chipdip` command line: parses arguments, calls the library, maps errors to exit codes.
//! Exit codes: 0 success, 1 run failure (I/O, failed replications), 2 bad input.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use chipdip::experiment::{self, Shard, chunks};
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
    let all = chunks(scenario.points.len(), scenario.settings.replications);
    let total: u64 = all
        .iter()
        .filter(|c| shard.owns(c))
        .map(|c| c.reps as u64)
        .sum();
    let already: u64 = all
        .iter()
        .filter(|c| shard.owns(c) && output::parts::is_done(&dir, c.index))
        .map(|c| c.reps as u64)
        .sum();
    if state == Prepared::Resumed {
        eprintln!(
            "resuming {}: {already} of {total} replications already done",
            out.display()
        );
    }
    let bar = progress_bar(total, args.quiet);
    bar.set_position(already);
    let started = Instant::now();
    let tick = |done: u64| bar.set_position(already + done);
    experiment::run_pending(&scenario, &dir, shard, threads, args.timeseries, &tick)?;
    bar.finish_and_clear();

    if shard.count == 1 {
        let failed = output::assemble(&scenario, &out, args.timeseries, &|_| out.clone())?;
        manifest.failed_replications = failed;
        manifest.outputs = output_files(args.timeseries, failed);
        std::fs::remove_dir_all(out.join("parts"))
            .with_context(|| format!("removing {}/parts", out.display()))?;
    } else {
        manifest.outputs = vec!["parts/".into()];
    }
    manifest.finished_at = Some(manifest::now_utc());
    manifest.complete = true;
    manifest.write(&out.join("manifest.json"))?;
    eprintln!(
        "{} replications ({} point(s)) in {:.1}s -> {}",
        total,
        scenario.points.len(),
        started.elapsed().as_secs_f64(),
        out.display()
    );
    if manifest.failed_replications > 0 {
        bail!(
            "{} replication(s) failed; see {}/failures.csv",
            manifest.failed_replications,
            out.display()
        );
    }
    Ok(())
}

fn output_files(timeseries: bool, failed: u64) -> Vec<String> {
    let mut v = vec!["summary.csv", "quantiles.csv", "events.csv"];
    if timeseries {
        v.push("timeseries.csv");
    }
    if failed > 0 {
        v.push("failures.csv");
    }
    v.into_iter().map(String::from).collect()
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

fn progress_bar(total: u64, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden());
    }
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(
            "{elapsed_precise} [{bar:40}] {pos}/{len} reps  {per_sec}  ETA {eta}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar
}

fn merge(shards: &[PathBuf], out: &Path) -> anyhow::Result<()> {
    let merged = chipdip::output::merge::merge(shards, out)?;
    eprintln!("merged {} shards -> {}", merged, out.display());
    Ok(())
}
