//! Where the runner puts results: a [`ChunkSink`] takes each chunk's replications through a
//! [`Recorder`]. The runner knows nothing of files or memory, so `experiment` does not depend on
//! `output`: the run folder's part files are one sink (`output::parts::PartFiles`), an
//! in-memory collection another (`crate::memory`).

use crate::model::Outcome;
use crate::scenario::{Point, Scenario};

use super::{Chunk, Failure};

/// Receives the replications of one chunk, in replication order.
pub trait Recorder {
    /// One replication that ran to the end (its seed and outcome). Gives the outcome back
    /// when it keeps none of it, so that its memory serves the next replication
    /// ([`crate::model::Replicator::recycle`]).
    fn add(&mut self, point: &Point, rep: u32, seed: u64, outcome: Outcome) -> Option<Outcome>;
    /// One replication that failed (recorded with its seed, and the run goes on).
    fn fail(&mut self, failure: Failure);
}

/// Stores finished chunks. Called from several worker threads at once, hence `Sync`; each
/// chunk is opened, filled and closed by one thread.
pub trait ChunkSink: Sync {
    /// The recorder of one chunk while it runs.
    type Recorder<'s>: Recorder
    where
        Self: 's;
    /// Why a chunk could not be stored; must also express a thread pool that cannot start.
    type Error: From<ThreadsError> + Send;

    /// Whether the sink already holds `chunk` (a resumed run skips it).
    fn is_done(&self, chunk: &Chunk) -> bool;

    /// A recorder for `chunk`'s replications.
    fn open<'s>(&'s self, scenario: &'s Scenario, chunk: &Chunk) -> Self::Recorder<'s>;

    /// Stores `chunk` once every replication is in `recorder`.
    fn close(&self, chunk: &Chunk, recorder: Self::Recorder<'_>) -> Result<(), Self::Error>;
}

/// The worker pool could not be started.
#[derive(Debug, thiserror::Error)]
#[error("cannot start {threads} threads: {message}")]
pub struct ThreadsError {
    /// The threads asked for.
    pub threads: usize,
    /// Why the pool did not start.
    pub message: String,
}
