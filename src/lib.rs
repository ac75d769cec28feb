//! chipdip: an agent-based Monte Carlo simulator of AI-chip supply-chain diplomacy.
//!
//! Module map (one module per concept; I/O and threads only at the edges):
//! - [`scenario`]: TOML scenario files → validated parameters (paths, `--set`, timeline);
//! - [`model`]: the pure simulation core (world, mechanisms, ledger, what it reports);
//! - [`experiment`]: seeds, work plan, parallel replications into a sink;
//! - [`output`]: CSV writers, quantile sketches, manifest (the run folder as a sink);
//! - [`precision`]: how many replications a `--target` precision needs;
//! - [`run`]: a whole run into a folder (what `chipdip run` does);
//! - [`memory`], [`results`]: replications into memory, read back by name;
//! - [`rng`], [`calendar`]: seeded streams and `YYYY-MM` months;
//! - [`analysis`]: sensitivity indices, Monte Carlo noise and PRIM boxes of a finished sweep;
//! - [`math`]: portable transcendental functions and random variates (same bits everywhere).
//!
//! # Embedding
//!
//! The items re-exported here are what a program using chipdip as a library needs: load a
//! scenario, set parameters, run replications in memory or into a folder, read results by name.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let scenario = chipdip::Scenario::load("scenarios/malaysia_2025.toml".as_ref(), &[])?
//!     .with_set("nations.MYS.dependence.USA", "0.8")?;
//! let results = chipdip::run_in_memory(&scenario, 20)?;
//! let retracted = results.share_with_event(chipdip::EventKind::Retract);
//! assert!((0.0..=1.0).contains(&retracted));
//! let denied = results.summary_by_name("MYS.denied_h100e")?;
//! assert_eq!(denied.len(), 20);
//! # Ok(()) }
//! ```

pub mod analysis;
pub mod calendar;
pub mod experiment;
pub mod math;
pub mod memory;
pub mod model;
pub mod output;
pub mod precision;
pub mod results;
pub mod rng;
pub mod run;
pub mod scenario;

pub use calendar::YearMonth;
pub use experiment::{Failure, Plan, Progress, Shard, ThreadsError};
pub use memory::run_in_memory;
pub use model::{Event, EventKind, Outcome};
pub use output::{OutputError, Prepared};
pub use results::{LookupError, Replication, ReplicationEvent, Results};
pub use run::{RunError, RunObserver, RunOptions, RunReport, run_to_folder};
pub use scenario::{Scenario, ScenarioError};
