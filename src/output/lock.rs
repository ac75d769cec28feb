//! One process per run folder: an exclusive lock held for the whole run (or merge).
//!
//! Two processes writing one folder (a requeued Slurm task while the old one still runs, a
//! user "resuming" a live run) would interleave their temporary files and could leave a folder
//! marked complete with broken CSVs. So a run takes an exclusive advisory lock on the file
//! `.chipdip.lock` in its folder before it reads or writes anything there, and keeps it until
//! it ends; a second process is refused at once, with the holder's process id, host and start
//! time. The lock is the operating system's (`flock` on Unix, `LockFileEx` on Windows, through
//! `std::fs::File::try_lock`): it is released when the process exits, however it exits, so a
//! lock left by a killed run is never stale. The lock file itself stays in the folder (deleting
//! it while another process waits to open it would let two processes hold "the" lock).

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::OutputError;

/// The lock file's name in a run folder; not an output, ignored when a folder is checked for
/// being empty.
pub const LOCK_FILE: &str = ".chipdip.lock";

/// An exclusive hold on a folder, released when dropped (or when the process ends).
#[derive(Debug)]
pub struct FolderLock {
    file: File,
    path: PathBuf,
}

impl FolderLock {
    /// Creates `dir` if needed and takes its lock, or refuses at once, naming the holder.
    pub fn acquire(dir: &Path) -> Result<FolderLock, OutputError> {
        fs::create_dir_all(dir).map_err(|e| OutputError::io(dir, e))?;
        let path = dir.join(LOCK_FILE);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| OutputError::io(&path, e))?;
        match file.try_lock() {
            Ok(()) => Ok(FolderLock { file, path }),
            Err(fs::TryLockError::WouldBlock) => {
                let holder = fs::read_to_string(&path).unwrap_or_default();
                let holder = holder.trim();
                let holder = if holder.is_empty() {
                    "another chipdip process"
                } else {
                    holder
                };
                Err(OutputError::Refused(format!(
                    "{} is in use by {holder}; wait for it to end or choose another --out",
                    dir.display()
                )))
            }
            Err(fs::TryLockError::Error(e)) => Err(OutputError::io(&path, e)),
        }
    }

    /// Writes who holds the lock (process, host, start time, what it does) into the lock file,
    /// for the message a refused process prints. Called only by a process that will write the
    /// folder, so that a rerun of a complete folder changes nothing in it.
    pub fn record_holder(&mut self, doing: &str) -> Result<(), OutputError> {
        let host = fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .unwrap_or_else(|| "this host".into());
        let text = format!(
            "process {} on {} since {} ({doing})\n",
            std::process::id(),
            host.trim(),
            super::manifest::now_utc()
        );
        let io = |e| OutputError::io(&self.path, e);
        self.file.set_len(0).map_err(io)?;
        (&self.file).write_all(text.as_bytes()).map_err(io)?;
        Ok(())
    }
}

/// Whether `dir` holds anything but its lock file.
pub fn has_entries(dir: &Path) -> Result<bool, OutputError> {
    if !dir.exists() {
        return Ok(false);
    }
    for entry in fs::read_dir(dir).map_err(|e| OutputError::io(dir, e))? {
        let entry = entry.map_err(|e| OutputError::io(dir, e))?;
        if entry.file_name() != LOCK_FILE {
            return Ok(true);
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_folder_is_refused_naming_the_holder_and_freed_on_drop() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("run");
        let mut first = FolderLock::acquire(&dir).expect("free");
        first.record_holder("chipdip run").unwrap();
        let second = FolderLock::acquire(&dir).expect_err("held");
        let msg = second.to_string();
        assert!(msg.contains("in use by process"), "{msg}");
        assert!(msg.contains(&std::process::id().to_string()), "{msg}");
        assert!(!has_entries(&dir).unwrap(), "only the lock file");
        drop(first);
        FolderLock::acquire(&dir).expect("free again after drop");
    }
}
