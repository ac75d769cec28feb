//! Replications run into memory instead of a folder: for programs that embed chipdip and want
//! the numbers, not files.
//!
//! The same runner, chunks and seeds as `chipdip run` (only the sink differs), so the values
//! equal the CSVs of a run of the same scenario and seed, whatever the number of threads.

use std::sync::Mutex;

use crate::experiment::{self, Chunk, ChunkSink, Failure, Plan, Recorder, Shard, ThreadsError};
use crate::model::Outcome;
use crate::results::{Replication, Results};
use crate::scenario::{Point, Scenario};

/// Runs `reps` replications of every point of `scenario` (in place of
/// `simulation.replications`) on all cores and keeps every outcome in memory (a few tens of
/// kB each). A failed replication is in [`Results::failures`], and the others go on.
pub fn run_in_memory(scenario: &Scenario, reps: u32) -> Result<Results, ThreadsError> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    run_chunks_in_memory(
        scenario,
        &experiment::chunks(scenario.points.len(), reps),
        threads,
    )
}

/// Runs the given chunks (any points and replications) on `threads` threads into memory.
pub fn run_chunks_in_memory(
    scenario: &Scenario,
    chunks: &[Chunk],
    threads: usize,
) -> Result<Results, ThreadsError> {
    let plan = Plan::of(chunks, Shard::WHOLE, |_| false);
    let sink = Memory::default();
    experiment::run_plan(scenario, &sink, &plan, threads, &|_| {})?;
    let collected = sink.chunks.into_inner().unwrap_or_else(|e| e.into_inner());
    let (mut replications, mut failures) = (Vec::new(), Vec::new());
    for c in collected {
        replications.extend(c.replications);
        failures.extend(c.failures);
    }
    Ok(Results::new(scenario, replications, failures))
}

/// Collects finished chunks (in the order they finish; [`Results::new`] sorts them).
#[derive(Default)]
struct Memory {
    chunks: Mutex<Vec<Collected>>,
}

/// One chunk's replications.
#[derive(Default)]
struct Collected {
    replications: Vec<Replication>,
    failures: Vec<Failure>,
}

impl Recorder for Collected {
    fn add(&mut self, point: &Point, rep: u32, seed: u64, outcome: Outcome) -> Option<Outcome> {
        self.replications.push(Replication {
            point: point.index,
            replication: rep,
            seed,
            outcome,
        });
        None
    }

    fn fail(&mut self, failure: Failure) {
        self.failures.push(failure);
    }
}

impl ChunkSink for Memory {
    type Recorder<'s> = Collected;
    type Error = ThreadsError;

    fn is_done(&self, _: &Chunk) -> bool {
        false
    }

    fn open<'s>(&'s self, _: &'s Scenario, _: &Chunk) -> Collected {
        Collected::default()
    }

    fn close(&self, _: &Chunk, recorder: Collected) -> Result<(), ThreadsError> {
        self.chunks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(recorder);
        Ok(())
    }
}
