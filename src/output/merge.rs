//! `chipdip merge`: shard folders → the files an unsharded run writes, byte for byte.
//!
//! Refuses shards that are incomplete, of another scenario (hash), of another shard count, or
//! that leave a shard missing or repeated.

use std::path::{Path, PathBuf};

use super::lock::FolderLock;
use super::manifest::{Manifest, now_utc};
use super::parts::part_path;
use super::{OutputError, assemble};
use crate::experiment::{Shard, chunks};
use crate::scenario::Scenario;

/// What a merge did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Merged {
    pub shards: usize,
    /// Failed replications found in the shards (listed in `failures.csv`).
    pub failed_replications: u64,
}

/// Merges `shards` into `out`.
pub fn merge(shards: &[PathBuf], out: &Path) -> Result<Merged, OutputError> {
    let refuse = |m: String| Err(OutputError::Refused(m));
    let manifests = complete_manifests(shards)?;
    let first = &manifests[0];
    let count = first.shard.count;
    let dirs = shards_in_order(shards, &manifests)?;
    let tree: toml::Table = serde_json::from_value(first.scenario.clone())
        .map_err(|e| OutputError::Refused(format!("manifest scenario unreadable: {e}")))?;
    let scenario = Scenario::from_resolved(tree, "manifest.json")
        .map_err(|e| OutputError::Refused(e.to_string()))?;
    if scenario.hash != first.scenario_hash {
        return refuse("manifest scenario does not match its hash".into());
    }
    check_chunks(&scenario, &dirs)?;
    // The lock file is looked for after the listing: a merge creates it before anything else.
    if super::lock::has_entries(out)? && !out.join(super::lock::LOCK_FILE).exists() {
        return refuse(format!(
            "{} exists and is not empty; choose another --out",
            out.display()
        ));
    }
    // Held until the merge returns: one process per output folder.
    let mut lock = FolderLock::acquire(out)?;
    if super::lock::has_entries(out)? {
        return refuse(format!(
            "{} exists and is not empty; choose another --out",
            out.display()
        ));
    }
    lock.record_holder("chipdip merge")?;
    let mut manifest = first.clone();
    manifest.shard = Shard::WHOLE;
    manifest.complete = false;
    manifest.command_line = std::env::args().collect();
    manifest.started_at = now_utc();
    manifest.merged_from = dirs.iter().map(|d| d.display().to_string()).collect();
    let manifest_path = out.join("manifest.json");
    manifest.write(&manifest_path)?;
    let failed = assemble(&scenario, out, first.timeseries, &|c| {
        dirs[c.index % count as usize].clone()
    })?;
    manifest.failed_replications = failed;
    manifest.outputs = super::output_files(first.timeseries, failed);
    manifest.finished_at = Some(now_utc());
    manifest.complete = true;
    manifest.write(&manifest_path)?;
    Ok(Merged {
        shards: dirs.len(),
        failed_replications: failed,
    })
}

/// The manifest of every shard folder, each of them complete.
fn complete_manifests(shards: &[PathBuf]) -> Result<Vec<Manifest>, OutputError> {
    let mut manifests = Vec::new();
    for dir in shards {
        let path = dir.join("manifest.json");
        if !path.exists() {
            return Err(OutputError::Refused(format!(
                "{} is not a chipdip run folder (no manifest.json)",
                dir.display()
            )));
        }
        let m = Manifest::read(&path)?;
        if !m.complete {
            return Err(OutputError::Refused(format!(
                "{} is not complete; rerun its shard first",
                dir.display()
            )));
        }
        manifests.push(m);
    }
    Ok(manifests)
}

/// The shard folders by shard index: all of one run and one shard count, each index once.
fn shards_in_order(
    shards: &[PathBuf],
    manifests: &[Manifest],
) -> Result<Vec<PathBuf>, OutputError> {
    let refuse = |m: String| Err(OutputError::Refused(m));
    let first = &manifests[0];
    let count = first.shard.count;
    let mut by_index: Vec<Option<PathBuf>> = vec![None; count as usize];
    for (dir, m) in shards.iter().zip(manifests) {
        if m.scenario_hash != first.scenario_hash
            || m.timeseries != first.timeseries
            || m.events != first.events
        {
            return refuse(format!(
                "{} belongs to another run ({}) than {} ({})",
                dir.display(),
                m.describe(),
                shards[0].display(),
                first.describe()
            ));
        }
        if m.shard.count != count {
            return refuse(format!(
                "{} is shard {}/{}, others are of {count}",
                dir.display(),
                m.shard.index,
                m.shard.count
            ));
        }
        if m.shard.index >= count {
            return refuse(format!(
                "{} claims to be shard {}/{count}, which does not exist",
                dir.display(),
                m.shard.index
            ));
        }
        let slot = &mut by_index[m.shard.index as usize];
        if let Some(other) = slot {
            return refuse(format!(
                "shard {}/{count} given twice: {} and {}",
                m.shard.index,
                other.display(),
                dir.display()
            ));
        }
        *slot = Some(dir.clone());
    }
    let missing: Vec<String> = by_index
        .iter()
        .enumerate()
        .filter(|(_, d)| d.is_none())
        .map(|(i, _)| format!("{i}/{count}"))
        .collect();
    if !missing.is_empty() {
        return refuse(format!(
            "missing shard(s) {}; merge needs all {count}",
            missing.join(", ")
        ));
    }
    Ok(by_index.into_iter().flatten().collect())
}

/// Every chunk must be in the shard that owns it: a shard folder whose parts were removed or
/// that was copied partially is refused before anything is written.
fn check_chunks(scenario: &Scenario, dirs: &[PathBuf]) -> Result<(), OutputError> {
    for c in chunks(scenario.points.len(), scenario.settings.replications) {
        let dir = &dirs[c.index % dirs.len()];
        if !part_path(dir, c.index, "sketch").exists() {
            return Err(OutputError::Refused(format!(
                "{} lacks chunk {} (point {}, replications {}..{}); rerun that shard into it",
                dir.display(),
                c.index,
                c.point,
                c.first_rep,
                c.first_rep + c.reps
            )));
        }
    }
    Ok(())
}
