//! Runs and merges killed at random points resume to the bytes of an uninterrupted run and
//! leave no leftovers; a rerun merge heals instead of refusing its own folder.
//!
//! The kill times are drawn from a seeded generator over the length of an uninterrupted run,
//! so some land while replications run, some during the assembly of the final files, and some
//! after the folder is complete (the rerun must then do nothing and change nothing).

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

use crate::util::*;

/// Starts `chipdip args` silently.
fn spawn(args: &[&str]) -> Child {
    command(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn chipdip")
}

/// Kills `child` after `delay` unless it ended first (SIGKILL: no chance to tidy up).
fn kill_after(mut child: Child, delay: Duration) {
    let until = Instant::now() + delay;
    while Instant::now() < until {
        if child.try_wait().expect("wait").is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let _ = child.kill();
    child.wait().expect("wait");
}

/// A finished folder holds no part files, no temporary files, and a complete manifest.
fn assert_clean_and_complete(dir: &Path) {
    assert_eq!(manifest(dir)["complete"], true, "{}", dir.display());
    assert!(
        !dir.join("parts").exists(),
        "{}: parts/ left",
        dir.display()
    );
    let leftovers: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{}: {leftovers:?}", dir.display());
}

/// Wall time of `args`, run to the end.
fn timed(args: &[&str]) -> Duration {
    let t = Instant::now();
    ok(args);
    t.elapsed()
}

/// Runs `args(folder)` killed up to three times at random points of an uninterrupted run's
/// length (a resumed run is shorter, so later kills may land after it completed), then to the
/// end, `trials` times from `seed`: each folder must end complete, clean, with the final CSVs
/// of the uninterrupted run and checksums that `chipdip verify` accepts. A folder a kill left
/// complete must already hold `finals`.
fn killed_runs_resume(
    args: &dyn Fn(&Path) -> Vec<String>,
    trials: u32,
    seed: u64,
    finals: &[&str],
) {
    let d = tmp();
    let whole = d.path().join("whole");
    let a = args(&whole);
    let length = timed(&a.iter().map(String::as_str).collect::<Vec<_>>());

    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    for trial in 0..trials {
        let out = d.path().join(format!("killed{trial}"));
        let a = args(&out);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        for _ in 0..3 {
            let at = length.mul_f64(rng.random_range(0.0..1.2));
            kill_after(spawn(&a), at);
            if out.join("manifest.json").exists() && manifest(&out)["complete"] == true {
                for f in finals {
                    assert!(out.join(f).exists(), "complete without {f}");
                }
            }
        }
        ok(&a);
        assert_clean_and_complete(&out);
        assert_same_csvs(&whole, &out);
        ok(&["verify", p(&out)]);
    }
}

/// Arguments of `chipdip run SCENARIO --reps REPS --seed 11 --threads 2 [MORE] -q --out OUT`.
fn run_args(scenario: &str, reps: &str, more: &[&str], out: &Path) -> Vec<String> {
    let mut a = argv(
        "run",
        &[scenario, "--reps", reps, "--seed", "11", "--threads", "2"],
    );
    a.extend(more);
    a.extend(["-q", "--out", p(out)]);
    a.iter().map(|s| s.to_string()).collect()
}

#[test]
fn runs_killed_at_random_points_resume_to_the_same_bytes() {
    let reps = if cfg!(debug_assertions) { "60" } else { "400" };
    let args = |out: &Path| run_args("scenarios/malaysia_2025.toml", reps, &["--timeseries"], out);
    let finals = [
        "summary.csv",
        "quantiles.csv",
        "events.csv",
        "timeseries.csv",
    ];
    killed_runs_resume(&args, 4, 2025, &finals);
}

/// A sweep of points of one chunk each on two threads: a point's quantile rows go into
/// `quantiles.csv` from memory when they are next in line, its chunk's sketch kept in their
/// place until the run ends, so a kill between the two must be resumed from the sketch.
#[test]
fn sweeps_of_one_chunk_points_killed_at_random_points_resume_to_the_same_bytes() {
    let points = if cfg!(debug_assertions) {
        "sweep.trajectories=2"
    } else {
        "sweep.trajectories=20"
    };
    let args = |out: &Path| {
        run_args(
            "scenarios/sweep_screening.toml",
            "2",
            &["--set", points],
            out,
        )
    };
    let finals = ["summary.csv", "quantiles.csv", "events.csv", "points.csv"];
    killed_runs_resume(&args, 5, 2026, &finals);
}

#[test]
fn merges_killed_at_random_points_complete_when_rerun() {
    let d = tmp();
    let shard = |i: u32| {
        let out = d.path().join(format!("s{i}"));
        ok(&argv(
            "run scenarios/malaysia_2025.toml --reps 300 --seed 4 --timeseries -q --shard",
            &[&format!("{i}/2"), "--out", p(&out)],
        ));
        out
    };
    let (s0, s1) = (shard(0), shard(1));
    let merge = |out: &Path| -> Vec<String> {
        ["merge", p(&s0), p(&s1), "--out", p(out)]
            .iter()
            .map(|s| s.to_string())
            .collect()
    };
    let reference = d.path().join("reference");
    let m = merge(&reference);
    let length = timed(&m.iter().map(String::as_str).collect::<Vec<_>>());

    let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
    for trial in 0..4 {
        let out = d.path().join(format!("merged{trial}"));
        let m = merge(&out);
        let m: Vec<&str> = m.iter().map(String::as_str).collect();
        kill_after(spawn(&m), length.mul_f64(rng.random_range(0.0..1.1)));
        let again = ok(&m);
        assert!(
            stderr(&again).contains("merged") || stderr(&again).contains("nothing to do"),
            "{}",
            stderr(&again)
        );
        assert_clean_and_complete(&out);
        assert_same_csvs(&reference, &out);
        ok(&["verify", p(&out)]);
    }
    // A complete merge rerun does nothing and says so.
    let again = ok(&merge(&reference)
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>());
    assert!(
        stderr(&again).contains("nothing to do"),
        "{}",
        stderr(&again)
    );
}

#[test]
fn a_failed_merge_is_redone_and_a_foreign_folder_is_still_refused() {
    let d = tmp();
    let shard = |i: u32| {
        let out = d.path().join(format!("s{i}"));
        ok(&argv(
            "run scenarios/baseline.toml --reps 60 -q --shard",
            &[&format!("{i}/2"), "--out", p(&out)],
        ));
        out
    };
    let (s0, s1) = (shard(0), shard(1));
    let out = d.path().join("merged");
    ok(&["merge", p(&s0), p(&s1), "--out", p(&out)]);
    let reference = d.path().join("reference");
    ok(&["merge", p(&s0), p(&s1), "--out", p(&reference)]);
    // As a merge that died part way leaves it: manifest not complete, a final file cut short.
    mark_incomplete(&out);
    let summary = std::fs::read(out.join("summary.csv")).unwrap();
    std::fs::write(out.join("summary.csv"), &summary[..summary.len() / 2]).unwrap();
    let again = ok(&["merge", p(&s0), p(&s1), "--out", p(&out)]);
    assert!(stderr(&again).contains("redone"), "{}", stderr(&again));
    assert_same_csvs(&reference, &out);

    // A folder that holds something else is never cleared.
    let foreign = d.path().join("foreign");
    std::fs::create_dir(&foreign).unwrap();
    std::fs::write(foreign.join("notes.txt"), "mine").unwrap();
    let r = chipdip(&["merge", p(&s0), p(&s1), "--out", p(&foreign)]);
    assert_ne!(r.status.code(), Some(0));
    assert!(foreign.join("notes.txt").exists());
}

/// Changes one byte of `path` (the middle one), keeping its length.
fn flip_one_byte(path: &Path) {
    let mut bytes = std::fs::read(path).unwrap();
    assert!(!bytes.is_empty(), "{}", path.display());
    let k = bytes.len() / 2;
    bytes[k] = if bytes[k] == b'1' { b'2' } else { b'1' };
    std::fs::write(path, bytes).unwrap();
}

/// Cuts `path` to half its length.
fn truncate_half(path: &Path) {
    let bytes = std::fs::read(path).unwrap();
    std::fs::write(path, &bytes[..bytes.len() / 2]).unwrap();
}

/// Half `i` of two of the replay's 120 replications (`--timeseries`), run, or resumed, into
/// `d/name`.
fn replay_half(d: &Path, name: &str, i: u32) -> PathBuf {
    let out = d.join(name);
    ok(&argv(
        "run scenarios/malaysia_2025.toml --reps 120 --timeseries -q --shard",
        &[&format!("{i}/2"), "--out", p(&out)],
    ));
    out
}

/// Both halves of the replay's 120 replications, into `d/s0` and `d/s1`.
fn replay_halves(d: &Path) -> (PathBuf, PathBuf) {
    (replay_half(d, "s0", 0), replay_half(d, "s1", 1))
}

/// Says the complete folder `dir` is not, as a run or merge killed before its end leaves it,
/// so that its command resumes it.
fn mark_incomplete(dir: &Path) {
    let path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace("\"complete\": true", "\"complete\": false"),
    )
    .unwrap();
}

/// The two halves merged into `d/merged` hold the bytes of the whole run, made into `d/whole`
/// (returned).
fn assert_halves_merge_to_the_whole(d: &Path, s0: &Path, s1: &Path) -> PathBuf {
    let merged = d.join("merged");
    ok(&["merge", p(s0), p(s1), "--out", p(&merged)]);
    let whole = d.join("whole");
    ok(&argv(
        "run scenarios/malaysia_2025.toml --reps 120 --timeseries -q --out",
        &[p(&whole)],
    ));
    assert_same_csvs(&whole, &merged);
    whole
}

#[test]
fn a_part_or_final_file_changed_by_one_byte_is_caught_by_resume_merge_and_verify() {
    let d = tmp();
    let (s0, s1) = replay_halves(d.path());
    let clean = ok(&["verify", p(&s0)]);
    assert!(stdout(&clean).contains("ok"), "{}", stdout(&clean));

    // verify and merge name the chunk whose part changed.
    let part = s1.join("parts").join("c000001.rows");
    let original = std::fs::read(&part).unwrap();
    flip_one_byte(&part);
    let v = chipdip(&["verify", p(&s1)]);
    assert_eq!(v.status.code(), Some(1), "{}", stderr(&v));
    assert!(stderr(&v).contains("chunk 1"), "{}", stderr(&v));
    let m = chipdip(&[
        "merge",
        p(&s0),
        p(&s1),
        "--out",
        p(&d.path().join("merged")),
    ]);
    assert_ne!(m.status.code(), Some(0));
    assert!(stderr(&m).contains("chunk 1"), "{}", stderr(&m));
    std::fs::write(&part, &original).unwrap();

    // Resume redoes a chunk whose part was cut short, back to the same bytes.
    truncate_half(&s0.join("parts").join("c000002.rows"));
    mark_incomplete(&s0);
    replay_half(d.path(), "s0", 0);
    ok(&["verify", p(&s0)]);
    let whole = assert_halves_merge_to_the_whole(d.path(), &s0, &s1);

    // A final file changed by one byte, or cut short.
    ok(&["verify", p(&whole)]);
    flip_one_byte(&whole.join("summary.csv"));
    truncate_half(&whole.join("events.csv"));
    let v = chipdip(&["verify", p(&whole)]);
    assert_eq!(v.status.code(), Some(1));
    let err = stderr(&v);
    assert!(
        err.contains("summary.csv") && err.contains("events.csv"),
        "{err}"
    );
}

/// Part files are not synced to disk one by one, so a crash of the machine can leave one
/// under its name with none of its bytes: a chunk's rows file (its rows and their checksums),
/// its sketch. Each fails its checksums, its chunk runs again, and the folder ends as an
/// uninterrupted run's bytes.
#[test]
fn part_files_a_machine_crash_left_empty_are_redone() {
    let d = tmp();
    let (s0, s1) = replay_halves(d.path());
    let parts = s0.join("parts");
    for name in ["c000000.rows", "c000002.sketch"] {
        assert!(parts.join(name).exists(), "{name}");
        std::fs::write(parts.join(name), b"").unwrap();
    }
    let v = chipdip(&["verify", p(&s0)]);
    assert_eq!(v.status.code(), Some(1), "{}", stderr(&v));
    mark_incomplete(&s0);
    replay_half(d.path(), "s0", 0);
    ok(&["verify", p(&s0)]);
    assert_halves_merge_to_the_whole(d.path(), &s0, &s1);
}

/// Chunks written before the rows file (format 1: a sums file and a file per row kind) are
/// still read: a shard holding them is verified, resumed without rerunning them, and merged
/// to the bytes of the whole run.
#[test]
fn chunks_written_as_a_file_per_kind_are_read_by_verify_resume_and_merge() {
    let d = tmp();
    let (s0, s1) = replay_halves(d.path());
    let parts = s1.join("parts");
    let mut converted = 0;
    for entry in std::fs::read_dir(&parts).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "rows") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let end = bytes.iter().position(|&b| b == b'\n').unwrap();
        let sums: std::collections::BTreeMap<String, serde_json::Value> =
            serde_json::from_slice(&bytes[..end]).unwrap();
        let mut at = end + 1;
        for (kind, sum) in sums.iter().filter(|(k, _)| *k != "sketch") {
            let len = sum["bytes"].as_u64().unwrap() as usize;
            std::fs::write(path.with_extension(kind), &bytes[at..at + len]).unwrap();
            at += len;
        }
        assert_eq!(at, bytes.len());
        let pretty = serde_json::to_string_pretty(&sums).unwrap() + "\n";
        std::fs::write(path.with_extension("sums"), pretty).unwrap();
        std::fs::remove_file(&path).unwrap();
        converted += 1;
    }
    assert!(converted >= 1);
    let v = ok(&["verify", p(&s1)]);
    assert!(stdout(&v).contains("ok"), "{}", stdout(&v));
    mark_incomplete(&s1);
    replay_half(d.path(), "s1", 1);
    let rows_files = std::fs::read_dir(&parts)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "rows")
        })
        .count();
    assert_eq!(rows_files, 0, "a chunk written in format 1 was run again");
    assert_halves_merge_to_the_whole(d.path(), &s0, &s1);
}

/// A run killed just after it wrote its first manifest leaves the folder holding that
/// manifest (not complete) and its lock, and no `parts/` yet: the same command resumes it.
/// (It writes the manifest before making `parts/`: the other order left, for a kill between
/// the two, a `parts/` without a manifest, which was refused as someone else's folder.)
#[test]
fn a_folder_killed_before_its_parts_folder_was_made_resumes() {
    let d = tmp();
    let whole = replay_half(d.path(), "whole", 0);
    let out = d.path().join("killed");
    std::fs::create_dir(&out).unwrap();
    let manifest = std::fs::read_to_string(whole.join("manifest.json")).unwrap();
    let mut first: serde_json::Value = serde_json::from_str(&manifest).unwrap();
    first["complete"] = serde_json::Value::Bool(false);
    first["files"] = serde_json::json!({});
    std::fs::write(out.join("manifest.json"), first.to_string()).unwrap();
    std::fs::write(out.join(".chipdip.lock"), b"").unwrap();
    replay_half(d.path(), "killed", 0);
    assert_same_csvs(&whole, &out);

    // What the other order left: the lock and an empty `parts/`, no manifest. Taken as a new
    // folder; anything more in `parts/` is still refused.
    let left = d.path().join("left");
    std::fs::create_dir_all(left.join("parts")).unwrap();
    std::fs::write(left.join(".chipdip.lock"), b"").unwrap();
    replay_half(d.path(), "left", 0);
    assert_same_csvs(&whole, &left);
    let foreign = d.path().join("foreign");
    std::fs::create_dir_all(foreign.join("parts")).unwrap();
    std::fs::write(foreign.join("parts").join("notes.txt"), b"mine").unwrap();
    let r = chipdip(&argv(
        "run scenarios/malaysia_2025.toml --reps 120 -q --out",
        &[p(&foreign)],
    ));
    assert_eq!(r.status.code(), Some(1), "{}", stderr(&r));
    assert!(
        stderr(&r).contains("not a chipdip run folder"),
        "{}",
        stderr(&r)
    );
    assert_eq!(
        std::fs::read(foreign.join("parts").join("notes.txt")).unwrap(),
        b"mine"
    );
}
