//! `chipdip merge`: shard folders → the files an unsharded run writes, byte for byte.
//!
//! Refuses shards that are incomplete, of another scenario (hash), of another shard count, or
//! that leave a shard missing or repeated. Rerunning a merge is safe: into a folder holding the
//! same merge complete it does nothing; interrupted (killed, disk full), it clears the folder's
//! files and merges again, so a requeued merge job heals instead of failing.

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
    /// The output folder already held this merge, complete: nothing was written.
    pub already_complete: bool,
    /// The output folder held this merge, interrupted: it was cleared and merged again.
    pub redone: bool,
}

/// What the output folder held before a merge.
enum Earlier {
    /// Nothing (or only its lock file).
    None,
    /// The same merge, complete.
    Complete(Box<Manifest>),
    /// The same merge, killed or failed part way (or only its temporary files).
    Interrupted,
}

/// What `out` holds, as far as a merge of `first`'s run is concerned; anything that is not an
/// earlier merge of the same run is refused, so a merge never deletes files it did not write.
fn earlier_merge(out: &Path, first: &Manifest) -> Result<Earlier, OutputError> {
    if !super::lock::has_entries(out)? {
        return Ok(Earlier::None);
    }
    let manifest = out.join("manifest.json");
    if !manifest.exists() {
        // A merge killed before its manifest was renamed into place leaves only `*.tmp`.
        if only_temporaries(out)? {
            return Ok(Earlier::Interrupted);
        }
        return Err(OutputError::Refused(format!(
            "{} exists and is not empty; choose another --out",
            out.display()
        )));
    }
    let old = Manifest::read(&manifest)?;
    let same = !old.merged_from.is_empty()
        && old.shard == Shard::WHOLE
        && old.scenario_hash == first.scenario_hash
        && old.timeseries == first.timeseries;
    if !same {
        return Err(OutputError::Refused(format!(
            "{} holds another run ({}); choose another --out",
            out.display(),
            old.describe()
        )));
    }
    Ok(if old.complete {
        Earlier::Complete(Box::new(old))
    } else {
        Earlier::Interrupted
    })
}

fn only_temporaries(dir: &Path) -> Result<bool, OutputError> {
    let io = |e| OutputError::io(dir, e);
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let name = entry.map_err(io)?.file_name();
        let name = name.to_string_lossy();
        if name != super::lock::LOCK_FILE && !name.ends_with(".tmp") {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Removes everything in `dir` but its lock file (an interrupted merge's own files).
fn clear_except_lock(dir: &Path) -> Result<(), OutputError> {
    let io = |e| OutputError::io(dir, e);
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        if entry.file_name() == super::lock::LOCK_FILE {
            continue;
        }
        let path = entry.path();
        let removed = if entry.file_type().map_err(io)?.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        removed.map_err(|e| OutputError::io(&path, e))?;
    }
    Ok(())
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
    super::remove_temporaries(out)?;
    let mut redone = false;
    match earlier_merge(out, first)? {
        Earlier::None => {}
        Earlier::Complete(m) => {
            return Ok(Merged {
                shards: dirs.len(),
                failed_replications: m.failed_replications,
                already_complete: true,
                redone: false,
            });
        }
        Earlier::Interrupted => {
            clear_except_lock(out)?;
            redone = true;
        }
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
    manifest.files = super::integrity::final_sums(out, &manifest.outputs)?;
    manifest.finished_at = Some(now_utc());
    manifest.complete = true;
    manifest.write(&manifest_path)?;
    Ok(Merged {
        shards: dirs.len(),
        failed_replications: failed,
        already_complete: false,
        redone,
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
        if m.scenario_hash != first.scenario_hash || m.timeseries != first.timeseries {
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
        if part_path(dir, c.index, "sketch").exists() {
            super::integrity::verify_chunk(dir, c.index).map_err(|why| {
                OutputError::Refused(format!(
                    "{} chunk {} does not match its checksums ({why}); rerun that shard into \
                     a new folder",
                    dir.display(),
                    c.index
                ))
            })?;
        } else {
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
