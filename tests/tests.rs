//! One integration-test binary (one link step), a module per area. Tests are named after what
//! they pin.

mod util;

// The core: the command line, determinism, policy levers, bad input.
mod cli;
mod determinism;
mod policy;
mod scenario_errors;

// Diplomacy, transshipment, sweeps.
mod diplomacy;
mod sweeps;
mod transshipment;

// Bytes pinned across refactorings.
mod golden;

// Markets of 2025: China's import policy, products, routes.
mod markets;

// The library façade and the failure path.
mod failures;
mod hostile;
mod interrupts;
mod library;

// Outputs for analysts: the data dictionary, compare, collect, progress lines.
mod outputs;
// Sensitivity analysis, scenario discovery, replication to a precision target.
mod analysis;
