//! Golden bytes: short runs of every shipped scenario, pinned by the SHA-256 of each output CSV.
//!
//! A refactoring must leave these unchanged. When a change to the model is *intended* to change
//! results, re-pin in the same commit and say so in its message:
//!
//! ```text
//! CHIPDIP_REPIN=1 cargo test --release golden
//! git diff tests/golden/      # one line per CSV that changed
//! ```
//!
//! Each pin file lists `file sha256` for the run `chipdip run <scenario> --reps 3 --seed 7
//! --timeseries` (sweeps: `--reps 1`), so a diff names the outputs that moved; the
//! `<scenario>_<N>_replications` pins, for `--reps N --seed 7`, cover points of several
//! chunks (their quantile rows add up the chunks' sketches).

use std::fs;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::util::*;

/// Every `.toml` under `scenarios/`, sorted.
fn shipped_scenarios() -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(Path::new(ROOT).join("scenarios"))
        .expect("scenarios/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// `file sha256` lines for the CSVs of a short run of `name`.
fn fingerprint(name: &str) -> String {
    let reps = if name.starts_with("sweep") { "1" } else { "3" };
    fingerprint_of(name, &["--reps", reps, "--seed", "7", "--timeseries"])
}

/// `file sha256` lines for the CSVs of `chipdip run scenarios/<name>.toml <args>`.
fn fingerprint_of(name: &str, args: &[&str]) -> String {
    let dir = tmp();
    let out = dir.path().join("run");
    let scenario = format!("scenarios/{name}.toml");
    let mut argv = vec!["run", &scenario];
    argv.extend_from_slice(args);
    argv.extend_from_slice(&["--quiet", "--out", p(&out)]);
    ok(&argv);
    csv_files(&out)
        .iter()
        .map(|(file, bytes)| format!("{file} {}\n", hex(&Sha256::digest(bytes))))
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares each run's fingerprint with its pin `tests/golden/<pin>.txt` (or, with
/// `CHIPDIP_REPIN` set, writes it there).
fn check_pins(runs: impl Iterator<Item = (String, String)>) {
    let repin = std::env::var_os("CHIPDIP_REPIN").is_some();
    let mut changed = Vec::new();
    for (name, got) in runs {
        let pin = Path::new(ROOT).join(format!("tests/golden/{name}.txt"));
        if repin {
            fs::write(&pin, &got).expect("write pin");
            continue;
        }
        let want = fs::read_to_string(&pin).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; pin it with CHIPDIP_REPIN=1 cargo test --release golden",
                pin.display()
            )
        });
        if got != want {
            changed.push(format!("{name}:\n  pinned:\n{want}  now:\n{got}"));
        }
    }
    assert!(
        changed.is_empty(),
        "outputs changed (re-pin only for an intended model change: \
         CHIPDIP_REPIN=1 cargo test --release golden):\n{}",
        changed.join("\n")
    );
}

#[test]
fn golden_bytes_of_every_shipped_scenario() {
    check_pins(
        shipped_scenarios()
            .into_iter()
            .map(|name| (name.clone(), fingerprint(&name))),
    );
}

/// A point of several chunks has its quantile rows from all its chunks' sketches: 120
/// replications (three chunks, held sparse) and 451 (ten, added into dense counts) of the
/// replay, and 60 (two) at each of the twelve points of a sweep, pinned like the short runs
/// above.
#[test]
fn golden_bytes_of_points_of_several_chunks() {
    let runs = [
        ("malaysia_2025", "120"),
        ("malaysia_2025", "451"),
        ("sweep_enforcement_pressure", "60"),
    ];
    check_pins(runs.into_iter().map(|(name, reps)| {
        let args = ["--reps", reps, "--seed", "7"];
        (
            format!("{name}_{reps}_replications"),
            fingerprint_of(name, &args),
        )
    }));
}

/// `docs/parameters.md` is generated from the parameter declarations; it must match them.
#[test]
fn parameter_reference_is_up_to_date() {
    let path = Path::new(ROOT).join("docs/parameters.md");
    let want = chipdip::scenario::reference::markdown();
    if std::env::var_os("CHIPDIP_REPIN").is_some() {
        fs::write(&path, &want).expect("write docs/parameters.md");
    }
    let got = fs::read_to_string(&path).unwrap_or_default();
    assert!(
        got == want,
        "docs/parameters.md differs from the declarations; regenerate it with \
         CHIPDIP_REPIN=1 cargo test --release parameter_reference"
    );
}
