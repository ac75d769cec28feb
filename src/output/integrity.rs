//! Checksums: what a run folder's files must hold, so that resume, merge and `chipdip verify`
//! can tell a whole file from a truncated, edited or half-copied one.
//!
//! - Each chunk's rows (one section per kind) and its sketch are summed (bytes, rows, SHA-256)
//!   into the first line of its rows file, `parts/cNNNNNN.rows` ([`rows_path`]), written
//!   before the sketch whose presence marks the chunk done. A chunk counts as done only when
//!   its rows file is whole and every section and the sketch match their sums: resume redoes a
//!   chunk that does not, merge refuses it. Folders written before the rows file have each kind
//!   in its own file and the sums in `cNNNNNN.sums`; they are read as well. When a point's
//!   sketches are merged into its quantile rows (`pNNNNNN.quantiles`), those rows get their own
//!   sum (`pNNNNNN.sums`).
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
use super::parts::{part_path, write_part, write_part_all};

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

/// A [`FileSum`] being taken of bytes that come block by block (a file read, a final file
/// written, a chunk's rows streamed).
#[derive(Default)]
pub struct Summing {
    sha: Sha256,
    bytes: u64,
    rows: u64,
}

impl Summing {
    pub fn add(&mut self, block: &[u8]) {
        self.sha.update(block);
        self.bytes += block.len() as u64;
        self.rows += lines(block);
    }

    /// Lines so far.
    /// Bytes added so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    pub fn rows(&self) -> u64 {
        self.rows
    }

    pub fn finish(self) -> FileSum {
        FileSum {
            bytes: self.bytes,
            rows: self.rows,
            sha256: hex(&self.sha.finalize()),
        }
    }
}

impl FileSum {
    /// The sum of bytes in memory.
    pub fn of_bytes(bytes: &[u8]) -> FileSum {
        let mut s = Summing::default();
        s.add(bytes);
        s.finish()
    }

    /// The sum of the file at `path`, read in blocks.
    pub fn of_file(path: &Path) -> std::io::Result<FileSum> {
        let mut f = fs::File::open(path)?;
        let mut sum = Summing::default();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                return Ok(sum.finish());
            }
            sum.add(&buf[..n]);
        }
    }

    /// `Ok` when the file at `path` holds what `self` says; else what differs, in words.
    pub fn check(&self, path: &Path) -> Result<(), String> {
        let found =
            FileSum::of_file(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        self.compare(&found, &path.display())
    }

    /// `Ok` when `found`, the sum of `what`, is `self`; else what differs, in words.
    fn compare(&self, found: &FileSum, what: &dyn std::fmt::Display) -> Result<(), String> {
        if found == self {
            return Ok(());
        }
        Err(format!(
            "{what}: holds {} bytes in {} rows (SHA-256 {}…), expected {} bytes in {} rows ({}…)",
            found.bytes,
            found.rows,
            &found.sha256[..12],
            self.bytes,
            self.rows,
            &self.sha256[..12.min(self.sha256.len())]
        ))
    }
}

/// A chunk's rows file (format 2 of a chunk's part files).
///
/// It holds a line of JSON, the sums of the chunk's row kinds and of its sketch by kind (the
/// [`Sums`] a `.sums` file held in format 1), then each row kind's bytes, in the order of the
/// sums (by name), each as long as its sum says. One file a chunk where format 1 had a file
/// per kind and a sums file: for a sweep of 20 replications a point, creating those files was
/// a large share of a point's cost on this project's ext4 disk, and more on a cluster's
/// shared file system, where each file created is a round trip to its metadata server. The
/// sketch stays a file of its own, written last: its presence marks the chunk done, and a
/// point's quantile rows replace it. Chunks written in format 1 (`cNNNNNN.sums` and
/// `cNNNNNN.summary`, `.events`, ...) are read as well ([`stream_chunk_rows`]).
pub fn rows_path(dir: &Path, chunk: usize) -> std::path::PathBuf {
    part_path(dir, chunk, "rows")
}

/// Writes chunk `chunk`'s rows file ([`rows_path`]): `sums`, then the bytes of each kind it
/// sums but the sketch, from `sections` (each kind with its bytes, in any order).
pub fn write_chunk_rows(
    dir: &Path,
    chunk: usize,
    sums: &Sums,
    sections: &[(&str, &[u8])],
) -> Result<(), OutputError> {
    let mut head = serde_json::to_vec(sums).expect("sums serialise");
    head.push(b'\n');
    let mut parts = vec![&head[..]];
    for kind in sums.keys().filter(|k| *k != "sketch") {
        let (_, bytes) = sections
            .iter()
            .find(|(k, _)| k == kind)
            .expect("a section for every kind summed");
        parts.push(bytes);
    }
    write_part_all(&rows_path(dir, chunk), &parts)
}

/// What [`stream_chunk_rows`] calls with each block of a chunk's rows: its kind, its bytes.
pub type EachBlock<'a> = dyn FnMut(&str, &[u8]) -> Result<(), OutputError> + 'a;

/// Reads chunk `chunk`'s rows, from its rows file or, written in format 1, from its sums file
/// and a file per kind, block by block (64 kB, whatever their size): `each(kind, block)` for
/// every block of each row kind, one kind after the other. Returns the chunk's sums (the
/// sketch's among them); the blocks are not checked against them. A file that is cut short,
/// or holds bytes past its last section, is an error naming it.
pub fn stream_chunk_rows(
    dir: &Path,
    chunk: usize,
    each: &mut EachBlock,
) -> Result<Sums, OutputError> {
    use std::io::BufRead;
    let path = rows_path(dir, chunk);
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |e| OutputError::io(&p, e)
    };
    let bad = |p: &Path, why: String| {
        OutputError::io(p, std::io::Error::new(std::io::ErrorKind::InvalidData, why))
    };
    let file = match fs::File::open(&path) {
        Ok(file) => file,
        Err(e)
            if e.kind() == std::io::ErrorKind::NotFound
                && part_path(dir, chunk, "sums").exists() =>
        {
            return stream_format_1(dir, chunk, each);
        }
        Err(e) => return Err(io(&path)(e)),
    };
    let mut r = std::io::BufReader::with_capacity(1 << 16, file);
    let mut head = Vec::new();
    r.read_until(b'\n', &mut head).map_err(io(&path))?;
    let sums = sums_line(&path, &head)?;
    for (kind, sum) in sums.iter().filter(|(k, _)| *k != "sketch") {
        let mut left = sum.bytes;
        while left > 0 {
            let buf = r.fill_buf().map_err(io(&path))?;
            if buf.is_empty() {
                return Err(bad(&path, format!("cut short in its {kind} rows")));
            }
            let n = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            each(kind, &buf[..n])?;
            r.consume(n);
            left -= n as u64;
        }
    }
    if !r.fill_buf().map_err(io(&path))?.is_empty() {
        return Err(bad(&path, "bytes after its last rows".into()));
    }
    Ok(sums)
}

/// The sums on the first line of a chunk's rows file at `path` (the rows are not read).
pub fn rows_file_sums(path: &Path) -> Result<Sums, OutputError> {
    use std::io::BufRead;
    let mut head = Vec::new();
    let file = fs::File::open(path).map_err(|e| OutputError::io(path, e))?;
    std::io::BufReader::new(file)
        .read_until(b'\n', &mut head)
        .map_err(|e| OutputError::io(path, e))?;
    sums_line(path, &head)
}

/// The sums `line` (a rows file's first, with its `\n`) holds; `path` for messages.
fn sums_line(path: &Path, line: &[u8]) -> Result<Sums, OutputError> {
    let invalid = |why: String| {
        OutputError::io(
            path,
            std::io::Error::new(std::io::ErrorKind::InvalidData, why),
        )
    };
    let Some(json) = line.strip_suffix(b"\n") else {
        return Err(invalid("no line of checksums".into()));
    };
    serde_json::from_slice(json).map_err(|e| invalid(format!("not a list of checksums: {e}")))
}

/// [`stream_chunk_rows`] of a chunk written in format 1.
fn stream_format_1(dir: &Path, chunk: usize, each: &mut EachBlock) -> Result<Sums, OutputError> {
    let path = part_path(dir, chunk, "sums");
    let text = fs::read_to_string(&path).map_err(|e| OutputError::io(&path, e))?;
    let sums = sums_line(&path, format!("{}\n", text.trim_end()).as_bytes())?;
    let mut buf = vec![0u8; 1 << 16];
    for kind in sums.keys().filter(|k| *k != "sketch") {
        let file = part_path(dir, chunk, kind);
        let mut f = fs::File::open(&file).map_err(|e| OutputError::io(&file, e))?;
        loop {
            let n = f.read(&mut buf).map_err(|e| OutputError::io(&file, e))?;
            if n == 0 {
                break;
            }
            each(kind, &buf[..n])?;
        }
    }
    Ok(sums)
}

/// `Ok` when chunk `chunk` of `dir` has its sums and its rows and sketch match them; else the
/// first problem, in words. `sketch_merged`: the chunk's sketch has been merged into its
/// point's quantile rows and removed (checked by [`verify_point`] instead).
pub fn verify_chunk(dir: &Path, chunk: usize, sketch_merged: bool) -> Result<(), String> {
    let mut found: BTreeMap<String, Summing> = BTreeMap::new();
    let sums = stream_chunk_rows(dir, chunk, &mut |kind, block| {
        found.entry(kind.to_string()).or_default().add(block);
        Ok(())
    })
    .map_err(|e| e.to_string())?;
    if sums.is_empty() {
        return Err(format!(
            "{}: lists no files",
            rows_path(dir, chunk).display()
        ));
    }
    for (kind, sum) in sums.iter().filter(|(k, _)| *k != "sketch") {
        let found = found.remove(kind).unwrap_or_default().finish();
        sum.compare(&found, &format!("chunk {chunk}'s {kind} rows"))?;
    }
    match sums.get("sketch") {
        Some(sum) if !sketch_merged => sum.check(&part_path(dir, chunk, "sketch")),
        _ => Ok(()),
    }
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

/// Removes point `point`'s quantile rows and their checksum, if there.
pub fn remove_point_rows(dir: &Path, point: usize) -> Result<(), OutputError> {
    for path in [
        point_sums_path(dir, point),
        super::parts::point_quantiles_path(dir, point),
    ] {
        match fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(OutputError::io(&path, e));
            }
            _ => {}
        }
    }
    Ok(())
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
