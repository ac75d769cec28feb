//! Checksums: what a run folder's files must hold, so that resume, merge and `chipdip verify`
//! can tell a whole file from a truncated, edited or half-copied one.
//!
//! - Each chunk's part files are summed (bytes, rows, SHA-256) into `parts/cNNNNNN.sums`,
//!   written after the row files and before the sketch whose presence marks the chunk done.
//!   A chunk counts as done only when its sums are there and every file matches them: resume
//!   redoes a chunk that does not, merge refuses it. When a point's sketches are merged into
//!   its quantile rows (`pNNNNNN.quantiles`), those rows get their own sum (`pNNNNNN.sums`).
//! - The final files of a complete folder are summed into the manifest (`files`), written last.
//!
//! Rows are lines (`\n`); a CSV here never holds a newline inside a field.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::OutputError;
use super::parts::{part_path, write_part};

/// What one file holds: its length, its lines, its SHA-256 (hex).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileSum {
    pub bytes: u64,
    pub rows: u64,
    pub sha256: String,
}

/// Sums of a run's files by name (`summary.csv`, or a part kind such as `events`).
pub type Sums = BTreeMap<String, FileSum>;

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The `\n` in `bytes`. Every file chipdip writes is counted as it is written, and the
/// quantile rows twice, so this runs over all of a run's output: `memchr` compares 16 or 32
/// bytes an instruction; a count byte by byte took about 5 instructions a byte, as much as
/// the SHA-256 of the same bytes.
pub fn lines(bytes: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', bytes).count() as u64
}

impl FileSum {
    /// The sum of bytes in memory.
    pub fn of_bytes(bytes: &[u8]) -> FileSum {
        FileSum {
            bytes: bytes.len() as u64,
            rows: lines(bytes),
            sha256: hex(&Sha256::digest(bytes)),
        }
    }

    /// The sum of the file at `path`, read in blocks.
    pub fn of_file(path: &Path) -> std::io::Result<FileSum> {
        let mut f = fs::File::open(path)?;
        let (mut hasher, mut bytes, mut rows) = (Sha256::new(), 0u64, 0u64);
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            bytes += n as u64;
            rows += lines(&buf[..n]);
        }
        Ok(FileSum {
            bytes,
            rows,
            sha256: hex(&hasher.finalize()),
        })
    }

    /// `Ok` when the file at `path` holds what `self` says; else what differs, in words.
    pub fn check(&self, path: &Path) -> Result<(), String> {
        let found =
            FileSum::of_file(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        if found == *self {
            return Ok(());
        }
        Err(format!(
            "{}: holds {} bytes in {} rows (SHA-256 {}…), expected {} bytes in {} rows ({}…)",
            path.display(),
            found.bytes,
            found.rows,
            &found.sha256[..12],
            self.bytes,
            self.rows,
            &self.sha256[..12.min(self.sha256.len())]
        ))
    }
}

/// Writes chunk `chunk`'s sums into `dir/parts`.
pub fn write_chunk_sums(dir: &Path, chunk: usize, sums: &Sums) -> Result<(), OutputError> {
    let mut text = serde_json::to_string_pretty(sums).expect("sums serialise");
    text.push('\n');
    write_part(&part_path(dir, chunk, "sums"), text.as_bytes())
}

/// `Ok` when chunk `chunk` of `dir` has its sums and every part file matches them; else the
/// first problem, in words. `sketch_merged`: the chunk's sketch has been merged into its
/// point's quantile rows and removed (checked by [`verify_point`] instead).
pub fn verify_chunk(dir: &Path, chunk: usize, sketch_merged: bool) -> Result<(), String> {
    let path = part_path(dir, chunk, "sums");
    let text =
        fs::read_to_string(&path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    let sums: Sums = serde_json::from_str(&text)
        .map_err(|e| format!("{}: not a list of checksums: {e}", path.display()))?;
    if sums.is_empty() {
        return Err(format!("{}: lists no files", path.display()));
    }
    for (kind, sum) in &sums {
        if sketch_merged && kind == "sketch" {
            continue;
        }
        sum.check(&part_path(dir, chunk, kind))?;
    }
    Ok(())
}

/// Where the checksum of point `point`'s merged quantile rows is kept.
fn point_sums_path(dir: &Path, point: usize) -> std::path::PathBuf {
    dir.join("parts").join(format!("p{point:06}.sums"))
}

/// Writes the checksum of point `point`'s quantile rows (`rows`, before they are written).
pub fn write_point_sums(dir: &Path, point: usize, rows: &[u8]) -> Result<(), OutputError> {
    let mut text = serde_json::to_string_pretty(&FileSum::of_bytes(rows)).expect("serialises");
    text.push('\n');
    write_part(&point_sums_path(dir, point), text.as_bytes())
}

/// `Ok` when point `point`'s merged quantile rows match their checksum.
pub fn verify_point(dir: &Path, point: usize) -> Result<(), String> {
    let path = point_sums_path(dir, point);
    let text =
        fs::read_to_string(&path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    let sum: FileSum = serde_json::from_str(&text)
        .map_err(|e| format!("{}: not a checksum: {e}", path.display()))?;
    sum.check(&super::parts::point_quantiles_path(dir, point))
}

/// The sums of the final files `names` of the folder `dir`.
pub fn final_sums(dir: &Path, names: &[String]) -> Result<Sums, OutputError> {
    names
        .iter()
        .map(|n| {
            let path = dir.join(n);
            let sum = FileSum::of_file(&path).map_err(|e| OutputError::io(&path, e))?;
            Ok((n.clone(), sum))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_counted_at_every_length() {
        // Lengths around the vector widths and their remainders, newlines sparse and dense.
        for len in [0, 1, 15, 16, 17, 4079, 4080, 4081, 9000, 65_536 + 7] {
            let bytes: Vec<u8> = (0..len)
                .map(|k: usize| {
                    if k.is_multiple_of(3) || k % 16 == 5 {
                        b'\n'
                    } else {
                        b'a'
                    }
                })
                .collect();
            let expected = bytes.iter().filter(|&&b| b == b'\n').count() as u64;
            assert_eq!(lines(&bytes), expected, "{len}");
        }
        assert_eq!(lines(&[b'\n'; 10_000]), 10_000);
    }

    #[test]
    fn a_file_matches_its_sum_until_one_byte_changes_or_goes() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("x.csv");
        let bytes = b"a,b\n1,2\n3,4\n".to_vec();
        fs::write(&path, &bytes).unwrap();
        let sum = FileSum::of_bytes(&bytes);
        assert_eq!((sum.bytes, sum.rows), (12, 3));
        assert_eq!(FileSum::of_file(&path).unwrap(), sum);
        assert!(sum.check(&path).is_ok());
        fs::write(&path, b"a,b\n1,2\n3,5\n").unwrap();
        assert!(sum.check(&path).unwrap_err().contains("SHA-256"));
        fs::write(&path, b"a,b\n1,2\n").unwrap();
        assert!(sum.check(&path).unwrap_err().contains("8 bytes in 2 rows"));
    }
}
