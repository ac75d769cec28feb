//! `manifest.json`: what produced a run folder and whether it is complete.
//!
//! Written when a run starts (`"complete": false`) and rewritten last when every file is in
//! place (`"complete": true`). Holds the fully resolved scenario, so any row can be reproduced
//! from the manifest alone (`chipdip run` of that scenario with the same seed).

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::OutputError;
use super::parts::write_atomic;
use crate::experiment::Shard;

/// The manifest of a run folder.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub program: String,
    pub version: String,
    /// Versions of the crates that determine the numbers (from Cargo.lock).
    pub crate_versions: String,
    /// Random generator and seed derivation, in words.
    pub rng: String,
    pub scenario_files: Vec<String>,
    pub scenario_name: String,
    pub scenario_hash: String,
    /// The fully resolved scenario (defaults and `--set` applied).
    pub scenario: serde_json::Value,
    pub master_seed: u64,
    pub points: usize,
    pub replications: u32,
    pub months: u32,
    pub timeseries: bool,
    pub shard: Shard,
    pub command_line: Vec<String>,
    pub threads: usize,
    pub started_at: String,
    pub finished_at: Option<String>,
    /// Replications that failed (see failures.csv when not zero).
    pub failed_replications: u64,
    pub outputs: Vec<String>,
    /// `chipdip run --target`: the precision targets, the replications chosen and the standard
    /// errors reached (see `crate::precision`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision: Option<crate::precision::Precision>,
    /// Bytes, rows and SHA-256 of each final file, written with `"complete": true`
    /// (`chipdip verify` checks them).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub files: super::integrity::Sums,
    /// Shard folders merged into this one (`chipdip merge`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged_from: Vec<String>,
    /// The event kinds written to `events.csv` (`--events`).
    #[serde(default)]
    pub events: Vec<String>,
    pub complete: bool,
}

impl Manifest {
    /// Whether `other` describes the same work (so one folder may resume the other).
    pub fn same_run(&self, other: &Manifest) -> bool {
        self.scenario_hash == other.scenario_hash
            && self.shard == other.shard
            && self.timeseries == other.timeseries
            && self.events == other.events
    }

    /// Whether this folder's shard runs chunk `index` (see [`Shard::owns`]).
    pub fn shard_owns(&self, index: usize) -> bool {
        index % self.shard.count.max(1) as usize == self.shard.index as usize
    }

    pub fn describe(&self) -> String {
        format!(
            "scenario {} hash {}…, shard {}/{}, timeseries {}",
            self.scenario_name,
            &self.scenario_hash[..12.min(self.scenario_hash.len())],
            self.shard.index,
            self.shard.count,
            self.timeseries
        )
    }

    pub fn read(path: &Path) -> Result<Manifest, OutputError> {
        let text = std::fs::read_to_string(path).map_err(|e| OutputError::io(path, e))?;
        serde_json::from_str(&text).map_err(|e| {
            OutputError::Refused(format!("{}: not a chipdip manifest: {e}", path.display()))
        })
    }

    pub fn write(&self, path: &Path) -> Result<(), OutputError> {
        let mut text = serde_json::to_string_pretty(self).expect("manifest serialises");
        text.push('\n');
        write_atomic(path, text.as_bytes())
    }
}

pub const RNG_DESCRIPTION: &str = "Xoshiro256++ streams; replication seed = splitmix64(splitmix64(splitmix64(master) ^ point) ^ replication) >> 11 (below 2^53, exact as a double); stream seed = splitmix64(rep_seed ^ splitmix64(purpose << 32 | agent))";

pub fn crate_versions() -> String {
    env!("CHIPDIP_DEP_VERSIONS").to_string()
}

/// Now as RFC 3339 UTC (`2026-11-28T19:33:55Z`).
pub fn now_utc() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}
