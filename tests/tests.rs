//! One integration-test binary (one link step), a module per area. Tests are named after what
//! they pin and the issue that asks for it.

mod util;

// Issue 2, core.
mod cli;
mod determinism;
mod policy;
mod scenario_errors;

// Issue 3, diplomacy; issue 4, transshipment; issue 5, sweeps.
mod diplomacy;
mod sweeps;
mod transshipment;

// Issue 8: bytes pinned across refactorings.
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
