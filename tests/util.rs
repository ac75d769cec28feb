//! Helpers for the integration tests: running the built CLI, temporary folders and scenario
//! files, reading run folders.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The project root: the CLI runs from here, so `scenarios/baseline.toml` resolves.
pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The built `chipdip` binary of this profile (debug or release).
pub const BIN: &str = env!("CARGO_BIN_EXE_chipdip");

/// A `chipdip` command run from the project root.
pub fn command(args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.args(args).current_dir(ROOT);
    c
}

/// Runs `chipdip` with `args` and returns what it did.
pub fn chipdip(args: &[&str]) -> Output {
    command(args).output().expect("chipdip runs")
}

/// Runs `chipdip` and insists it succeeds.
pub fn ok(args: &[&str]) -> Output {
    let out = chipdip(args);
    assert!(
        out.status.success(),
        "chipdip {} failed ({:?}): {}",
        args.join(" "),
        out.status.code(),
        stderr(&out)
    );
    out
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub fn stderr(out: &Output) -> String {
    text(&out.stderr)
}

pub fn stdout(out: &Output) -> String {
    text(&out.stdout)
}

pub fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// A command line from its words and any further arguments (paths, formatted values):
/// `argv("run scenarios/baseline.toml --reps 10 --out", &[p(&out)])`.
pub fn argv<'a>(words: &'a str, more: &[&'a str]) -> Vec<&'a str> {
    words
        .split_whitespace()
        .chain(more.iter().copied())
        .collect()
}

/// A path as a command-line argument.
pub fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// The shipped baseline, as an absolute path (for `extends` from a temporary folder).
pub fn baseline() -> PathBuf {
    Path::new(ROOT).join("scenarios/baseline.toml")
}

/// Writes `dir/name` holding `extends = "<baseline>"` followed by `body`; returns its path.
pub fn scenario(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, format!("extends = {:?}\n{body}", p(&baseline()))).expect("write scenario");
    path
}

/// The CSV files of a run folder, sorted by name, with their bytes.
pub fn csv_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("run folder {}: {e}", dir.display()))
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "csv"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                fs::read(&p).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

/// Names of a folder's CSV files.
pub fn names(files: &[(String, Vec<u8>)]) -> Vec<&str> {
    files.iter().map(|(n, _)| n.as_str()).collect()
}

/// Asserts two run folders hold the same CSV files with the same bytes, naming the first that
/// differs (the files are too big to print).
pub fn assert_same_csvs(a: &Path, b: &Path) {
    let (x, y) = (csv_files(a), csv_files(b));
    assert_eq!(names(&x), names(&y), "{} vs {}", a.display(), b.display());
    for ((name, bx), (_, by)) in x.iter().zip(&y) {
        assert!(
            bx == by,
            "{name} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
}

/// Reads a CSV into a header and rows of strings. The reader is strict: a row with another
/// number of fields than the header fails the test.
pub fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let header = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|x| {
            x.unwrap_or_else(|e| panic!("{}: {e}", path.display()))
                .iter()
                .map(String::from)
                .collect()
        })
        .collect();
    (header, rows)
}

/// The values of a numeric summary column, in row order.
pub fn column(dir: &Path, name: &str) -> Vec<f64> {
    let (h, rows) = read_csv(&dir.join("summary.csv"));
    let k = h
        .iter()
        .position(|c| c.eq_ignore_ascii_case(name))
        .unwrap_or_else(|| panic!("no column {name} in {}", dir.display()));
    rows.iter()
        .map(|r| {
            r[k].parse::<f64>()
                .unwrap_or_else(|e| panic!("{name} = {:?}: {e}", r[k]))
        })
        .collect()
}

pub fn mean(v: &[f64]) -> f64 {
    assert!(!v.is_empty(), "mean of nothing");
    v.iter().sum::<f64>() / v.len() as f64
}

/// Mean of a numeric summary column.
pub fn column_mean(dir: &Path, name: &str) -> f64 {
    mean(&column(dir, name))
}

/// A run folder's `manifest.json`.
pub fn manifest(dir: &Path) -> serde_json::Value {
    let path = dir.join("manifest.json");
    serde_json::from_slice(&fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .expect("manifest.json is JSON")
}
