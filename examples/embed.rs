//! chipdip as a library: how often does Malaysia retract its announced Ascend build, for two
//! degrees of dependence on the United States?
//!
//! Loads the 2025 replay, sets `nations.MYS.dependence.USA` (as `--set` would, for the whole
//! timeline), runs 200 replications of each in memory and prints, one line per value, the share
//! of replications with at least one `retract` event.
//!
//! Run: `cargo run --release --example embed`

use chipdip::{EventKind, Scenario, run_in_memory};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/malaysia_2025.toml");
    let scenario = Scenario::load(path.as_ref(), &[])?;
    for dependence in ["0.2", "0.9"] {
        let variant = scenario.with_set("nations.MYS.dependence.USA", dependence)?;
        let results = run_in_memory(&variant, 200)?;
        let share = results.share_with_event(EventKind::Retract);
        println!("nations.MYS.dependence.USA = {dependence}: retract share {share:.3}");
    }
    Ok(())
}
