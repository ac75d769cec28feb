//! chipdip: an agent-based Monte Carlo simulator of AI-chip supply-chain diplomacy.
//!
//! Module map (one module per concept; I/O and threads only at the edges):
//! - [`scenario`]: TOML scenario files → validated parameters (paths, `--set`, timeline);
//! - [`model`]: the pure simulation core (world, mechanisms, ledger, what it reports);
//! - [`experiment`]: seeds, work plan, parallel replications into a sink;
//! - [`output`]: CSV writers, quantile sketches, manifest (the run folder as a sink);
//! - [`run`]: a whole run into a folder (what `chipdip run` does);
//! - [`rng`], [`calendar`]: seeded streams and `YYYY-MM` months.

pub mod calendar;
pub mod experiment;
pub mod model;
pub mod output;
pub mod rng;
pub mod run;
pub mod scenario;

pub use calendar::YearMonth;
pub use experiment::{Failure, Plan, Progress, Shard, ThreadsError};
pub use model::{Event, EventKind, Outcome};
pub use output::{OutputError, Prepared};
pub use run::{RunError, RunObserver, RunOptions, RunReport, run_to_folder};
pub use scenario::{Scenario, ScenarioError};
