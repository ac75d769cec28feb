//! A bounded mutation fuzzer over the shipped scenarios: every mutant is either refused with
//! a located error (file and line, or `--set`) or runs without a panic and without breaking
//! the ledger. Seeded, so a failure names a mutant that can be reproduced.
//!
//! Mutations are the ones hostile or careless edits make: a number replaced by an extreme or
//! a non-number, a line deleted or repeated, an id's case changed, a month made impossible,
//! the file cut short. `CHIPDIP_FUZZ_MUTANTS` sets how many are tried (default 300 in a
//! release build, 40 in a debug build).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use chipdip::Scenario;
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

use crate::util::*;

const REPLACEMENTS: &[&str] = &[
    "0",
    "-1",
    "1e308",
    "-1e308",
    "inf",
    "-inf",
    "nan",
    "1e19",
    "9223372036854775807",
    "-9223372036854775808",
    "0.5",
    "\"x\"",
    "[]",
    "{}",
    "true",
    "1200",
    "100000000",
];

const MONTHS: &[&str] = &[
    "\"2025-13\"",
    "\"0000-01\"",
    "\"9999-12\"",
    "\"2025-1\"",
    "\"\"",
];

/// One mutation of `text`, and what it did (for the failure message).
fn mutate(text: &str, rng: &mut Xoshiro256PlusPlus) -> (String, String) {
    let lines: Vec<&str> = text.lines().collect();
    let k = rng.random_range(0..lines.len());
    let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    let what = match rng.random_range(0..6) {
        0 | 1 => {
            // A number (or value) after `=` replaced.
            let Some((key, _)) = lines[k].split_once('=') else {
                return mutate(text, rng);
            };
            let v = REPLACEMENTS[rng.random_range(0..REPLACEMENTS.len())];
            out[k] = format!("{key}= {v}");
            format!("line {}: value -> {v}", k + 1)
        }
        2 => {
            out.remove(k);
            format!("line {} deleted", k + 1)
        }
        3 => {
            out.insert(k, lines[k].to_string());
            format!("line {} repeated", k + 1)
        }
        4 => {
            let m = MONTHS[rng.random_range(0..MONTHS.len())];
            let Some(j) = lines
                .iter()
                .position(|l| l.trim_start().starts_with("month"))
            else {
                return mutate(text, rng);
            };
            out[j] = format!("month = {m}");
            format!("line {}: month -> {m}", j + 1)
        }
        _ => {
            if rng.random_range(0..2) == 0 {
                out[k] = lines[k].to_lowercase();
                format!("line {} lowercased", k + 1)
            } else {
                let cut = rng.random_range(0..text.len());
                let cut = (0..=cut)
                    .rev()
                    .find(|&c| text.is_char_boundary(c))
                    .unwrap_or(0);
                return (text[..cut].to_string(), format!("cut at byte {cut}"));
            }
        }
    };
    (out.join("\n") + "\n", what)
}

/// Whether an error message is located: `file:line`, `--set`, or a whole file named.
fn located(message: &str, file: &str) -> bool {
    message.contains("--set") || message.contains(file)
}

#[test]
fn mutated_shipped_scenarios_are_refused_where_they_break_or_run_cleanly() {
    let n: usize = std::env::var("CHIPDIP_FUZZ_MUTANTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if cfg!(debug_assertions) { 40 } else { 300 });
    let d = tmp();
    // A copy of the shipped scenarios, so that relative `extends` still resolve.
    let shipped: Vec<String> = std::fs::read_dir(Path::new(ROOT).join("scenarios"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    for name in &shipped {
        let text = std::fs::read_to_string(Path::new(ROOT).join("scenarios").join(name)).unwrap();
        std::fs::write(d.path().join(name), text).unwrap();
    }
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(1811);
    let (mut refused, mut ran, mut problems) = (0, 0, Vec::new());
    for i in 0..n {
        let name = &shipped[rng.random_range(0..shipped.len())];
        let text = std::fs::read_to_string(d.path().join(name)).unwrap();
        let (mutant, what) = mutate(&text, &mut rng);
        let file = format!("mutant{i}.toml");
        let path = d.path().join(&file);
        std::fs::write(&path, &mutant).unwrap();
        let tag = format!("mutant {i} of {name} ({what})");
        let loaded = catch_unwind(AssertUnwindSafe(|| {
            // A sweep keeps only a few points: the fuzzer is after the loader and the model.
            let small = Scenario::load(&path, &["sweep.points=3".into()]);
            match small {
                Err(e) if e.message.contains("no parameter `sweep.points`") => {
                    Scenario::load(&path, &[])
                }
                other => other,
            }
        }));
        let scenario = match loaded {
            Err(_) => {
                problems.push(format!("{tag}: the loader panicked"));
                continue;
            }
            Ok(Err(e)) => {
                refused += 1;
                let m = e.to_string();
                if !located(&m, &file) && !m.contains(name.as_str()) {
                    problems.push(format!("{tag}: error not located: {m}"));
                }
                continue;
            }
            Ok(Ok(s)) => s,
        };
        ran += 1;
        match catch_unwind(AssertUnwindSafe(|| chipdip::run_in_memory(&scenario, 2))) {
            Err(_) => problems.push(format!("{tag}: the run panicked")),
            Ok(Err(e)) => problems.push(format!("{tag}: the run failed: {e}")),
            Ok(Ok(results)) => {
                // A failed replication is recorded and the run goes on; what must never
                // happen is chips from nothing (an imbalance of the ledger) or a panic other
                // than checked arithmetic refusing to overflow.
                for f in results.failures() {
                    let imbalance = f.error.contains("produced") && f.error.contains("!=");
                    let odd_panic = f.error.starts_with("panic") && !f.error.contains("overflow");
                    if imbalance || odd_panic {
                        problems.push(format!("{tag}: {}", f.error));
                    }
                }
            }
        }
    }
    eprintln!("{n} mutants: {refused} refused with located errors, {ran} ran");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(
        refused > 0 && ran > 0,
        "the mutations should both break and keep scenarios"
    );
}
