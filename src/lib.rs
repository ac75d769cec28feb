//! chipdip: an agent-based Monte Carlo simulator of AI-chip supply-chain diplomacy.
//!
//! Module map (one module per concept; I/O and threads only at the edges):
//! - [`scenario`]: TOML scenario files → validated parameters (paths, `--set`, timeline);
//! - [`model`]: the pure simulation core (world, mechanisms, ledger, what it reports);
//! - [`experiment`]: seeds, work plan, parallel replications;
//! - [`output`]: CSV writers, quantile sketches, manifest;
//! - [`rng`], [`calendar`]: seeded streams and `YYYY-MM` months;
//! - [`math`]: portable transcendental functions and random variates (same bits everywhere).

pub mod calendar;
pub mod experiment;
pub mod math;
pub mod model;
pub mod output;
pub mod rng;
pub mod scenario;
