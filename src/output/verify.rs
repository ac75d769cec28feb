//! `chipdip verify RUN`: rechecks a run folder against the checksums it recorded.
//!
//! A complete folder's final files against the manifest's `files`; a shard's (or an
//! interrupted run's) part files against each chunk's checksums. Every problem is listed, not
//! only the first, so one call tells what to rerun.

use std::path::Path;

use super::OutputError;
use super::integrity::{verify_chunk, verify_point};
use super::manifest::Manifest;
use super::parts::{part_path, point_quantiles_path};
use crate::experiment::chunks;

/// What a folder that passed holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// Final files checked (a complete unsharded or merged folder).
    pub files: usize,
    /// Chunks of part files checked (a shard folder, or an interrupted run).
    pub chunks: usize,
    /// Whether the manifest says the folder is complete.
    pub complete: bool,
}

/// Checks the folder `dir`; `Err(OutputError::Refused)` lists every file that does not
/// match, or says why the folder cannot be checked.
pub fn verify(dir: &Path) -> Result<Verified, OutputError> {
    let manifest = Manifest::read(&dir.join("manifest.json"))?;
    let mut problems = Vec::new();
    let mut verified = Verified {
        files: 0,
        chunks: 0,
        complete: manifest.complete,
    };
    let parts = dir.join("parts");
    if manifest.complete && manifest.shard.count == 1 {
        if manifest.files.is_empty() {
            return Err(OutputError::Refused(format!(
                "{}: its manifest records no checksums (written by an older chipdip); \
                 nothing to verify against",
                dir.display()
            )));
        }
        for name in &manifest.outputs {
            if !manifest.files.contains_key(name) {
                problems.push(format!("{name}: listed as an output but has no checksum"));
            }
        }
        for (name, sum) in &manifest.files {
            match sum.check(&dir.join(name)) {
                Ok(()) => verified.files += 1,
                Err(why) => problems.push(why),
            }
        }
    } else if parts.exists() {
        // A shard keeps its parts for the merge: every chunk it owns must be there and whole.
        // An interrupted run holds some of its chunks: the ones marked done must be whole.
        for c in chunks(manifest.points, manifest.replications) {
            if !manifest.shard_owns(c.index) {
                continue;
            }
            let merged = point_quantiles_path(dir, c.point).exists();
            if merged && let Err(why) = verify_point(dir, c.point) {
                problems.push(format!("point {}: {why}", c.point));
            }
            if !merged && !part_path(dir, c.index, "sketch").exists() {
                if manifest.complete {
                    problems.push(format!("chunk {}: missing from parts/", c.index));
                }
                continue;
            }
            match verify_chunk(dir, c.index, merged) {
                Ok(()) => verified.chunks += 1,
                Err(why) => problems.push(format!("chunk {}: {why}", c.index)),
            }
        }
    }
    problems.dedup();
    if !problems.is_empty() {
        return Err(OutputError::Refused(format!(
            "{} does not match its checksums:\n  {}",
            dir.display(),
            problems.join("\n  ")
        )));
    }
    Ok(verified)
}
