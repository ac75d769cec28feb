//! One integration-test binary (one link step), a module per area.

mod core;
mod diplomacy;
mod support;
mod sweeps;
mod transshipment;
