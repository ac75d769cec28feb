//! Helpers for the integration tests: running the CLI, temporary folders, reading CSVs.

use std::path::Path;
use std::process::{Command, Output};

/// Runs the built `chipdip` binary from the project root.
pub fn chipdip(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_chipdip"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("chipdip runs")
}

/// Runs `chipdip` and insists it succeeds.
pub fn ok(args: &[&str]) -> Output {
    let out = chipdip(args);
    assert!(
        out.status.success(),
        "chipdip {} failed: {}",
        args.join(" "),
        text(&out.stderr)
    );
    out
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

pub fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// The CSV files of a run folder, sorted by name, with their bytes.
pub fn csv_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .expect("run folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "csv"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

/// Reads a CSV into a header and rows of strings.
pub fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).expect("csv");
    let header = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|x| x.unwrap().iter().map(String::from).collect())
        .collect();
    (header, rows)
}

/// Mean of a numeric summary column.
pub fn column_mean(dir: &Path, column: &str) -> f64 {
    let (h, rows) = read_csv(&dir.join("summary.csv"));
    let k = h
        .iter()
        .position(|c| c == column)
        .unwrap_or_else(|| panic!("no column {column}"));
    rows.iter()
        .map(|r| r[k].parse::<f64>().unwrap())
        .sum::<f64>()
        / rows.len() as f64
}
