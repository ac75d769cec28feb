//! Determinism: a run is a pure function of (scenario, seed) — the same bytes for
//! any thread count, other bytes for another seed, the documented seed on every row — and a run
//! that is killed never looks complete and resumes to the bytes of an uninterrupted run.

use std::fs;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use chipdip::experiment::replicate;
use chipdip::rng::replication_seed;
use chipdip::scenario::Scenario;

use crate::util::*;

fn run(out: &Path, file: &str, args: &[&str]) -> Vec<(String, Vec<u8>)> {
    ok(&[
        &["run", file, "--reps", "60", "--timeseries", "--out", p(out)][..],
        args,
    ]
    .concat());
    csv_files(out)
}

#[test]
fn same_seed_same_bytes_for_any_thread_count() {
    let d = tmp();
    // The baseline (M1-M5, M7, M10, hubs) and the 2025 replay (timeline, diplomacy).
    for (k, file) in ["scenarios/baseline.toml", "scenarios/malaysia_2025.toml"]
        .into_iter()
        .enumerate()
    {
        let at = |name: &str| d.path().join(format!("{k}-{name}"));
        // 60 replications are two chunks, so two threads really run them in parallel.
        let one = run(&at("t1"), file, &["--seed", "7", "--threads", "1"]);
        run(&at("t2"), file, &["--seed", "7", "--threads", "2"]);
        assert_eq!(
            names(&one),
            [
                "dictionary.csv",
                "events.csv",
                "points.csv",
                "quantiles.csv",
                "summary.csv",
                "timeseries.csv"
            ]
        );
        assert_same_csvs(&at("t1"), &at("t2"));
        let other = run(&at("s8"), file, &["--seed", "8", "--threads", "2"]);
        for ((name, a), (_, b)) in one.iter().zip(&other) {
            if name != "points.csv" && name != "dictionary.csv" {
                assert!(a != b, "{file}: seeds 7 and 8 give the same {name}");
            }
        }
        assert_eq!(manifest(&at("t1"))["master_seed"], 7);
        assert_eq!(manifest(&at("s8"))["master_seed"], 8);
    }
}

#[test]
fn replicate_is_a_pure_function_of_scenario_and_seed() {
    let load = || Scenario::load(&baseline(), &[]).expect("baseline loads");
    let (a, b) = (load(), load());
    for rep in [0, 1, 37] {
        let x = replicate(&a, 0, rep).expect("ledger balances");
        let y = replicate(&b, 0, rep).expect("ledger balances");
        assert!(x == y, "replication {rep} differs between two runs");
        assert_eq!(x.months, 36);
        assert!(!x.series.is_empty() && !x.summary.is_empty());
        // Running other replications in between changes nothing.
        let _ = replicate(&a, 0, rep + 1).unwrap();
        assert!(replicate(&a, 0, rep).unwrap() == x);
    }
    assert!(
        replicate(&a, 0, 0).unwrap() != replicate(&a, 0, 1).unwrap(),
        "replications 0 and 1 are the same draw"
    );
    let reseeded = Scenario::load(&baseline(), &["simulation.seed=1".into()]).unwrap();
    assert!(replicate(&a, 0, 0).unwrap() != replicate(&reseeded, 0, 0).unwrap());
}

/// Every `summary.csv` row carries the seed `replication_seed(master, point, replication)` and
/// the outcome the library computes for it, to the last bit.
#[test]
fn summary_rows_are_the_library_outcomes_with_the_documented_seeds() {
    let d = tmp();
    let out = d.path().join("run");
    ok(&argv(
        "run scenarios/baseline.toml --reps 12 --seed 42 --out",
        &[p(&out)],
    ));
    let s = Scenario::load(&baseline(), &["simulation.seed=42".into()]).unwrap();
    let (h, rows) = read_csv(&out.join("summary.csv"));
    assert_eq!(rows.len(), 12);
    for (r, row) in rows.iter().enumerate() {
        assert_eq!(row[0], "baseline");
        assert_eq!(row[1], "0");
        assert_eq!(row[2], r.to_string());
        assert_eq!(row[3], replication_seed(42, 0, r as u64).to_string());
        let o = replicate(&s, 0, r as u32).unwrap();
        assert_eq!(o.summary.len(), h.len() - 4);
        for (k, v) in o.summary.iter().enumerate() {
            let cell: f64 = row[4 + k].parse().unwrap();
            assert!(
                cell.to_bits() == v.to_bits(),
                "replication {r}, {}: csv {cell} vs library {v}",
                h[4 + k]
            );
        }
    }
}

fn sketches_done(parts: &Path) -> usize {
    fs::read_dir(parts)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter(|e| e.path().extension().is_some_and(|x| x == "sketch"))
                .count()
        })
        .unwrap_or(0)
}

/// A run killed midway leaves `"complete": false` and no final CSVs; the same command then
/// finishes it, keeping the finished chunks, with the bytes of an uninterrupted run.
#[test]
fn a_killed_run_never_looks_complete_and_resumes_to_the_same_bytes() {
    let d = tmp();
    // 50 replications a chunk, one thread: 20 chunks (6 in a debug build), killed after 2.
    let reps = if cfg!(debug_assertions) {
        "300"
    } else {
        "1000"
    };
    let args = |out: &Path| -> Vec<String> {
        argv("run scenarios/baseline.toml --reps", &[reps, "--seed", "5"])
            .iter()
            .map(|a| a.to_string())
            .chain(["--threads", "1", "--timeseries", "-q", "--out", p(out)].map(String::from))
            .collect()
    };
    let killed = d.path().join("killed");
    let mut child = command(&args(&killed).iter().map(String::as_str).collect::<Vec<_>>())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn chipdip");
    let parts = killed.join("parts");
    let deadline = Instant::now() + Duration::from_secs(60);
    while sketches_done(&parts) < 2 {
        assert!(Instant::now() < deadline, "no chunk finished in 60 s");
        if child.try_wait().unwrap().is_some() {
            panic!("the run finished before it could be killed; make it longer");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().expect("kill");
    child.wait().unwrap();

    let m = manifest(&killed);
    assert_eq!(m["complete"], false, "a killed run looks complete");
    for f in [
        "summary.csv",
        "quantiles.csv",
        "events.csv",
        "timeseries.csv",
    ] {
        assert!(!killed.join(f).exists(), "a killed run left {f}");
    }
    // Counted after the kill: a chunk's sketch is renamed into place last, so this is the
    // number of whole chunks the folder holds.
    let done = sketches_done(&parts);

    let rerun = ok(&args(&killed).iter().map(String::as_str).collect::<Vec<_>>());
    let said = stderr(&rerun);
    assert!(
        said.contains("resuming") && said.contains(&format!("{} of {reps}", done * 50)),
        "{said}"
    );
    assert_eq!(manifest(&killed)["complete"], true);
    assert!(!parts.exists(), "parts are removed once complete");

    let whole = d.path().join("whole");
    ok(&args(&whole).iter().map(String::as_str).collect::<Vec<_>>());
    assert_same_csvs(&whole, &killed);
}

/// A chunk's replications reuse one copy of the parameters, drawn again per seed
/// (`model::Replicator`): every snapshot drawn again in place equals a fresh draw, and every
/// replication's outcome is the one a fresh replication gives, at two sweep points run in turn,
/// and in each other's memory.
#[test]
fn replications_that_reuse_the_drawn_parameters_are_those_of_fresh_ones() {
    use chipdip::model::{Replicator, run_replication};
    let file = Path::new(ROOT).join("scenarios/sweep_enforcement_pressure.toml");
    let s = Scenario::load(&file, &[]).expect("the sweep loads");
    assert!(s.points.len() >= 2);
    let seeds: Vec<u64> = (0..4).map(|r| replication_seed(7, 0, r)).collect();
    let snapshots = s.points[0].setup.snapshots();
    assert!(snapshots.len() > 3, "a timeline");
    for snap in snapshots {
        let mut copy = snap.params.realise(seeds[0]);
        for &seed in &seeds[1..] {
            snap.params.realise_into(&mut copy, seed);
            assert_eq!(copy, snap.params.realise(seed));
        }
    }
    // The draws differ between seeds, or the check above would be empty.
    let product = |seed| snapshots[0].params.realise(seed).products;
    assert_ne!(product(seeds[0]), product(seeds[1]));
    let (a, b) = (&s.points[0].setup, &s.points[1].setup);
    let (mut ra, mut rb) = (Replicator::new(a), Replicator::new(b));
    // Debug shows every f64 exactly, NaN (a timeline event's magnitude) included.
    let same = |x: &chipdip::model::Outcome, y: &chipdip::model::Outcome| {
        format!("{x:?}") == format!("{y:?}")
    };
    for &seed in seeds.iter().chain(&seeds[..1]) {
        let (x, y) = (ra.run(seed).unwrap(), rb.run(seed).unwrap());
        assert!(same(&x, &run_replication(a, seed).unwrap()), "seed {seed}");
        assert!(same(&y, &run_replication(b, seed).unwrap()), "seed {seed}");
        assert!(!same(&x, &y), "the points differ");
        // As a chunk's recorder hands outcomes back: the next replication writes into them.
        ra.recycle(x);
        rb.recycle(y);
    }
    // A replicator in the memory another point's replications grew (as a worker hands it
    // from chunk to chunk) gives the outcomes of fresh replications.
    let (a_memory, b_memory) = (ra.into_memory(), rb.into_memory());
    let (mut ra, mut rb) = (
        Replicator::with_memory(a, b_memory),
        Replicator::with_memory(b, a_memory),
    );
    for &seed in &seeds[1..] {
        let (x, y) = (ra.run(seed).unwrap(), rb.run(seed).unwrap());
        assert!(same(&x, &run_replication(a, seed).unwrap()));
        assert!(same(&y, &run_replication(b, seed).unwrap()));
        ra.recycle(x);
        rb.recycle(y);
    }
    // And in the memory of a world of another shape: the replay has a hub (Thailand) and
    // series the baseline has not.
    let load = |name: &str| Scenario::load(&Path::new(ROOT).join(name), &[]).unwrap();
    let (replay, baseline) = (
        load("scenarios/malaysia_2025.toml"),
        load("scenarios/baseline.toml"),
    );
    let (r, b) = (&replay.points[0].setup, &baseline.points[0].setup);
    assert_ne!(r.series_names().len(), b.series_names().len());
    let mut memory = chipdip::model::ReplicationMemory::default();
    for (k, &seed) in seeds.iter().enumerate() {
        let setup = if k % 2 == 0 { r } else { b };
        let mut replicator = Replicator::with_memory(setup, memory);
        let x = replicator.run(seed).unwrap();
        assert!(
            same(&x, &run_replication(setup, seed).unwrap()),
            "seed {seed}"
        );
        replicator.recycle(x);
        memory = replicator.into_memory();
    }
}
