//! Experiments: which replications to run, with which seeds, on how many threads.
//!
//! The work of a run is (points × replications), cut into [`Chunk`]s of at most
//! [`CHUNK_REPS`] consecutive replications of one point. Chunks are the unit of parallelism
//! (a worker with none left to start shares a running one's replications, which its own
//! worker records in order), of resuming (a chunk's files are written atomically, so a chunk
//! is either done or redone), and of sharding (shard `i` of `K` runs the chunks whose index
//! is `i` modulo `K`). Chunk boundaries depend only on the numbers of points and
//! replications, never on threads or shards, so every split produces the same bytes.
//!
//! Results go to a [`ChunkSink`] (see [`sink`]): the run folder's part files or memory.

pub mod sink;

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use crate::model::{self, Outcome};
use crate::rng::replication_seed;
use crate::scenario::Scenario;
pub use sink::{ChunkSink, Recorder, ThreadsError};

/// Replications per chunk.
pub const CHUNK_REPS: u32 = 50;

/// A run of consecutive replications of one point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chunk {
    /// Position in the run's chunk list (names its part files; decides its shard).
    pub index: usize,
    /// The sweep point (0 without a sweep).
    pub point: usize,
    /// The first replication.
    pub first_rep: u32,
    /// How many replications (at most [`CHUNK_REPS`]).
    pub reps: u32,
}

/// Every chunk of a run, in output order (point-major, then replication).
pub fn chunks(points: usize, replications: u32) -> Vec<Chunk> {
    let mut out = Vec::new();
    for point in 0..points {
        let mut first = 0;
        while first < replications {
            let reps = CHUNK_REPS.min(replications - first);
            out.push(Chunk {
                index: out.len(),
                point,
                first_rep: first,
                reps,
            });
            first += reps;
        }
    }
    out
}

/// Which part of the work a process runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Shard {
    /// This shard, `0..count`.
    pub index: u32,
    /// How many shards the run is split into (1: not sharded).
    pub count: u32,
}

/// The whole run, unsharded.
impl Default for Shard {
    fn default() -> Shard {
        Shard::WHOLE
    }
}

impl Shard {
    /// The whole run: shard 0 of 1.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Whether this shard runs `chunk` (chunk index modulo the count).
    pub fn owns(&self, chunk: &Chunk) -> bool {
        chunk.index % self.count as usize == self.index as usize
    }

    /// Parses `I/K` with `0 <= I < K`.
    pub fn parse(s: &str) -> Result<Shard, String> {
        let bad = || format!("shard must be I/K with 0 <= I < K, got {s:?}");
        let (i, k) = s.split_once('/').ok_or_else(bad)?;
        let (index, count): (u32, u32) = (
            i.trim().parse().map_err(|_| bad())?,
            k.trim().parse().map_err(|_| bad())?,
        );
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

/// A replication that failed (a ledger violation: a bug, reported with its seed).
#[derive(Clone, Debug, PartialEq)]
pub struct Failure {
    /// The sweep point.
    pub point: usize,
    /// The replication within the point.
    pub replication: u32,
    /// Its seed, to rerun it alone.
    pub seed: u64,
    /// What went wrong, on one line.
    pub error: String,
}

/// Runs one chunk: its replications in order, into one recorder. A replication that
/// fails — a ledger violation, or a panic at some odd sweep point — is recorded with its seed
/// and error, and the chunk goes on. `on_replication` is called after each replication.
///
/// A chunk's replications share one [`model::Replicator`] (all of one point): each draws the
/// uncertain parameters again into the last one's copy of the snapshots instead of cloning
/// them, with the outcomes [`model::run_replication`] gives.
pub fn run_chunk(
    scenario: &Scenario,
    chunk: &Chunk,
    writer: &mut impl Recorder,
    on_replication: &dyn Fn(),
) {
    let mut replicator = model::Replicator::new(&scenario.points[chunk.point].setup);
    for rep in chunk.first_rep..chunk.first_rep + chunk.reps {
        run_one(scenario, chunk.point, rep, &mut replicator).record(
            scenario,
            writer,
            &mut replicator,
        );
        on_replication();
    }
}

/// What one replication gave: its outcome, or why it failed.
enum Ran {
    Outcome {
        point: usize,
        rep: u32,
        seed: u64,
        outcome: Outcome,
    },
    Failed(Failure),
}

impl Ran {
    /// Puts the replication into `writer`; an outcome `writer` keeps none of goes back to
    /// `replicator`, whose next replication writes into its memory.
    fn record(
        self,
        scenario: &Scenario,
        writer: &mut impl Recorder,
        replicator: &mut model::Replicator,
    ) {
        match self {
            Ran::Outcome {
                point,
                rep,
                seed,
                outcome,
            } => {
                if let Some(outcome) = writer.add(&scenario.points[point], rep, seed, outcome) {
                    replicator.recycle(outcome);
                }
            }
            Ran::Failed(failure) => writer.fail(failure),
        }
    }
}

/// Replication `rep` of point `point`, with `replicator` (of that point). A replication that
/// fails — a ledger violation, an unreportable value, or a panic at some odd sweep point —
/// gives its failure, on one line (so that files count failures by lines).
fn run_one(scenario: &Scenario, point: usize, rep: u32, replicator: &mut model::Replicator) -> Ran {
    let setup = &scenario.points[point].setup;
    let seed = replication_seed(scenario.settings.seed, point as u64, rep as u64);
    // A replication that panics leaves the replicator without its copy: the next one
    // draws a fresh one.
    let result = panic::catch_unwind(AssertUnwindSafe(|| {
        replicator
            .run(seed)
            .map(|outcome| match outcome.unreportable(setup) {
                None => Ok(outcome),
                Some(why) => Err(why),
            })
    }));
    let error = match result {
        Ok(Ok(Ok(outcome))) => {
            return Ran::Outcome {
                point,
                rep,
                seed,
                outcome,
            };
        }
        Ok(Ok(Err(why))) => why,
        Ok(Err(violation)) => violation.to_string(),
        Err(payload) => format!("panic: {}", panic_message(payload.as_ref())),
    };
    Ran::Failed(Failure {
        point,
        replication: rep,
        seed,
        error: error.lines().collect::<Vec<_>>().join(" | "),
    })
}

/// A chunk being run, whose replications an idle worker may share: when no chunk is left to
/// start, a worker takes replications of a running one instead of waiting for it to end (the
/// last chunks of a run, or a run of fewer chunks than threads). Replications are taken one
/// at a time; the chunk's own worker records them all in order, so its recorder sees what
/// [`run_chunk`] gives, whoever ran them.
struct Running<'p> {
    chunk: &'p Chunk,
    /// The next replication (offset in the chunk) nobody has taken.
    next: AtomicU32,
    /// Replications run and not yet recorded, by offset.
    ran: Mutex<Vec<Option<Ran>>>,
    /// Signalled when a replication is put in `ran`.
    put: Condvar,
}

impl<'p> Running<'p> {
    fn new(chunk: &'p Chunk) -> Running<'p> {
        Running {
            chunk,
            next: AtomicU32::new(0),
            ran: Mutex::new((0..chunk.reps).map(|_| None).collect()),
            put: Condvar::new(),
        }
    }

    /// Takes the next replication (its offset), if one is left.
    fn take(&self) -> Option<u32> {
        let k = self.next.fetch_add(1, Ordering::Relaxed);
        (k < self.chunk.reps).then_some(k)
    }

    /// Replications nobody has taken yet.
    fn untaken(&self) -> u32 {
        (self.chunk.reps).saturating_sub(self.next.load(Ordering::Relaxed))
    }

    fn ran(&self) -> std::sync::MutexGuard<'_, Vec<Option<Ran>>> {
        self.ran.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs replication `k` with `replicator` and puts it in `ran`.
    fn run(&self, scenario: &Scenario, k: u32, replicator: &mut model::Replicator) {
        let ran = run_one(
            scenario,
            self.chunk.point,
            self.chunk.first_rep + k,
            replicator,
        );
        self.ran()[k as usize] = Some(ran);
        self.put.notify_all();
    }

    /// The chunk's own worker: runs replications while any is left, records every one in
    /// order into `writer` (waiting for those others took), then returns. Its replications
    /// write into `memory`, which it hands back (see [`model::ReplicationMemory`]).
    fn run_own(
        &self,
        scenario: &Scenario,
        writer: &mut impl Recorder,
        on_replication: &dyn Fn(),
        memory: &mut model::ReplicationMemory,
    ) {
        let setup = &scenario.points[self.chunk.point].setup;
        let mut replicator = model::Replicator::with_memory(setup, std::mem::take(memory));
        let mut recorded = 0;
        while recorded < self.chunk.reps as usize {
            if let Some(k) = self.take() {
                self.run(scenario, k, &mut replicator);
                on_replication();
            } else {
                let ran = self.ran();
                drop(self.put.wait_while(ran, |ran| ran[recorded].is_none()));
            }
            // Everything ready from `recorded` on, in order (the lock is not held while
            // recording).
            while let Some(ran) = self.ran().get_mut(recorded).and_then(Option::take) {
                ran.record(scenario, writer, &mut replicator);
                recorded += 1;
            }
        }
        *memory = replicator.into_memory();
    }

    /// Another worker: runs replications of the chunk while any is left, in `memory` (as
    /// [`Running::run_own`]).
    fn help(
        &self,
        scenario: &Scenario,
        on_replication: &dyn Fn(),
        memory: &mut model::ReplicationMemory,
    ) {
        let setup = &scenario.points[self.chunk.point].setup;
        let mut replicator = model::Replicator::with_memory(setup, std::mem::take(memory));
        while let Some(k) = self.take() {
            self.run(scenario, k, &mut replicator);
            on_replication();
        }
        *memory = replicator.into_memory();
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_string()
    }
}

/// How far a run has got (this process's shard only, counting work found already done).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// Replications done.
    pub replications: u64,
    /// Points whose chunks (of this shard) are all done.
    pub points: usize,
}

/// The work of one shard of a run, and what of it a folder already holds.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Chunks of the shard not done yet, in output order.
    pub pending: Vec<Chunk>,
    /// Replications and points of the shard in all.
    pub total: Progress,
    /// Replications and points already done when the plan was made.
    pub done: Progress,
}

impl Plan {
    /// The chunks of `shard` and which of them `sink` already holds (resume).
    pub fn new(scenario: &Scenario, sink: &impl ChunkSink, shard: Shard) -> Plan {
        let all = chunks(scenario.points.len(), scenario.settings.replications);
        Plan::of(&all, shard, |c| sink.is_done(c))
    }

    /// The chunks of `all` that `shard` owns, split by `is_done` into done and pending.
    pub fn of(all: &[Chunk], shard: Shard, is_done: impl Fn(&Chunk) -> bool) -> Plan {
        let mut plan = Plan {
            pending: Vec::new(),
            total: Progress::default(),
            done: Progress::default(),
        };
        // Chunks are point-major: walk them one point at a time.
        for of_point in all.chunk_by(|a, b| a.point == b.point) {
            let mut owned = 0;
            let mut pending = 0;
            for c in of_point.iter().filter(|c| shard.owns(c)) {
                owned += 1;
                plan.total.replications += c.reps as u64;
                if is_done(c) {
                    plan.done.replications += c.reps as u64;
                } else {
                    pending += 1;
                    plan.pending.push(*c);
                }
            }
            if owned > 0 {
                plan.total.points += 1;
                if pending == 0 {
                    plan.done.points += 1;
                }
            }
        }
        plan
    }
}

/// Runs the pending chunks of `plan` on `threads` threads into `sink`, calling `tick` (from any
/// thread) after every replication with the progress so far.
///
/// Each worker takes the next pending chunk in output order, so chunks finish roughly in that
/// order: a sink can write the final files' beginning while the last chunks still run. A
/// worker with no chunk left to start runs replications of a running one (`Running`), so
/// that the last chunks of a run, or a run of fewer chunks than threads, do not leave threads
/// idle. The first error stops the workers (after their current chunk) and is returned.
pub fn run_plan<S: ChunkSink>(
    scenario: &Scenario,
    sink: &S,
    plan: &Plan,
    threads: usize,
    tick: &(dyn Fn(Progress) + Sync),
) -> Result<(), S::Error> {
    let replications = AtomicU64::new(plan.done.replications);
    let points = AtomicUsize::new(plan.done.points);
    // Pending chunks left per point: the point is done when its count reaches zero.
    let mut left: Vec<AtomicU32> = Vec::new();
    left.resize_with(scenario.points.len(), || AtomicU32::new(0));
    for c in &plan.pending {
        left[c.point].fetch_add(1, Ordering::Relaxed);
    }
    let progress = || Progress {
        replications: replications.load(Ordering::Relaxed),
        points: points.load(Ordering::Relaxed),
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| ThreadsError {
            threads,
            message: e.to_string(),
        })?;
    let next = AtomicUsize::new(0);
    let error: Mutex<Option<S::Error>> = Mutex::new(None);
    let stopped = std::sync::atomic::AtomicBool::new(false);
    // The chunks being run, for workers with none left to start to share.
    let running: Mutex<Vec<Arc<Running>>> = Mutex::new(Vec::new());
    let running = || running.lock().unwrap_or_else(|e| e.into_inner());
    let on_replication = || {
        replications.fetch_add(1, Ordering::Relaxed);
        tick(progress());
    };
    let work = || {
        // The replications' memory, carried from chunk to chunk.
        let mut memory = model::ReplicationMemory::default();
        while !stopped.load(Ordering::Relaxed) {
            // A chunk is taken and listed as running under one lock, so that a worker that
            // finds none left to start finds every one taken before in the list.
            let own = {
                let mut running = running();
                match plan.pending.get(next.fetch_add(1, Ordering::Relaxed)) {
                    Some(chunk) => {
                        running.push(Arc::new(Running::new(chunk)));
                        running.last().cloned()
                    }
                    None => None,
                }
            };
            let Some(own) = own else {
                // No chunk left to start: share the running one with most replications
                // left, until none has any.
                let most = running().iter().max_by_key(|r| r.untaken()).cloned();
                match most {
                    Some(chunk) if chunk.untaken() > 0 => {
                        chunk.help(scenario, &on_replication, &mut memory);
                        continue;
                    }
                    _ => break,
                }
            };
            let chunk = own.chunk;
            let mut recorder = sink.open(scenario, chunk);
            own.run_own(scenario, &mut recorder, &on_replication, &mut memory);
            running().retain(|r| !Arc::ptr_eq(r, &own));
            if let Err(e) = sink.close(chunk, recorder) {
                stopped.store(true, Ordering::Relaxed);
                let mut first = error.lock().unwrap_or_else(|e| e.into_inner());
                first.get_or_insert(e);
                break;
            }
            if left[chunk.point].fetch_sub(1, Ordering::AcqRel) == 1 {
                points.fetch_add(1, Ordering::Relaxed);
                tick(progress());
            }
        }
    };
    pool.scope(|s| {
        // Fewer chunks than threads: the others share their replications.
        let replications: usize = plan.pending.iter().map(|c| c.reps as usize).sum();
        for _ in 1..threads.min(replications) {
            s.spawn(|_| work());
        }
        work();
    });
    match error.into_inner().unwrap_or_else(|e| e.into_inner()) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Runs the chunks of `shard` that `sink` does not hold yet (see [`Plan`] and [`run_plan`]).
pub fn run_pending<S: ChunkSink>(
    scenario: &Scenario,
    sink: &S,
    shard: Shard,
    threads: usize,
    tick: &(dyn Fn(Progress) + Sync),
) -> Result<(), S::Error> {
    let plan = Plan::new(scenario, sink, shard);
    run_plan(scenario, sink, &plan, threads, tick)
}

/// One replication's outcome without any output (benchmarks, tests).
pub fn replicate(
    scenario: &Scenario,
    point: usize,
    rep: u32,
) -> Result<Outcome, model::LedgerViolation> {
    let seed = replication_seed(scenario.settings.seed, point as u64, rep as u64);
    model::run_replication(&scenario.points[point].setup, seed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_every_replication_once() {
        let cs = chunks(3, 120);
        assert_eq!(cs.len(), 9);
        for p in 0..3 {
            let total: u32 = cs.iter().filter(|c| c.point == p).map(|c| c.reps).sum();
            assert_eq!(total, 120);
        }
        assert!(cs.iter().enumerate().all(|(i, c)| c.index == i));
    }

    #[test]
    fn shards_partition_the_chunks() {
        let cs = chunks(5, 7);
        let k = 3;
        for c in &cs {
            let owners = (0..k)
                .filter(|&i| Shard { index: i, count: k }.owns(c))
                .count();
            assert_eq!(owners, 1);
        }
        assert!(Shard::parse("3/3").is_err());
        assert!(Shard::parse("0/0").is_err());
        assert_eq!(Shard::parse("1/4").unwrap(), Shard { index: 1, count: 4 });
    }
}
