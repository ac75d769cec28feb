//! The failure path the README promises: a replication that fails is recorded in
//! `failures.csv` with its seed and error, every other replication still runs, the folder is
//! complete, and the run exits 1 (a shard exits 0 with a warning; the merge then exits 1).
//!
//! Failures come from model bugs (ledger violations, panics), so the tests make one with the
//! CLI's test hook `CHIPDIP_FAIL_REPLICATION=POINT:REP` (see `RunOptions::fail_replication`).

use std::path::Path;
use std::process::Output;

use chipdip::rng::replication_seed;
use chipdip::scenario::Scenario;

use crate::util::*;

const FAILING: u32 = 7;

fn run_failing(args: &[&str]) -> Output {
    command(args)
        .env("CHIPDIP_FAIL_REPLICATION", format!("0:{FAILING}"))
        .output()
        .expect("chipdip runs")
}

/// The seed of replication `rep` of the baseline's point 0 with seed 5.
fn seed_of(rep: u32) -> u64 {
    let s = Scenario::load(&baseline(), &["simulation.seed=5".into()]).expect("baseline loads");
    replication_seed(s.settings.seed, 0, rep as u64)
}

/// `failures.csv` names the failing replication, and `summary.csv` has every other one.
fn assert_failure_recorded(dir: &Path, reps: u32) {
    let (h, rows) = read_csv(&dir.join("failures.csv"));
    assert_eq!(h, ["point", "replication", "seed", "error"]);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        rows[0][..3],
        ["0", &FAILING.to_string(), &seed_of(FAILING).to_string()]
    );
    assert!(rows[0][3].contains("injected failure"), "{}", rows[0][3]);
    let (_, summary) = read_csv(&dir.join("summary.csv"));
    let got: Vec<(String, String)> = summary
        .iter()
        .map(|r| (r[2].clone(), r[3].clone()))
        .collect();
    let want: Vec<(String, String)> = (0..reps)
        .filter(|&r| r != FAILING)
        .map(|r| (r.to_string(), seed_of(r).to_string()))
        .collect();
    assert_eq!(
        got, want,
        "every other replication, in order, with its seed"
    );
}

#[test]
fn facade_a_failed_replication_is_recorded_the_run_goes_on_and_exits_1() {
    let d = tmp();
    let out = d.path().join("run");
    let args = argv("run scenarios/baseline.toml --reps 60 --seed 5", &[]);
    let done = run_failing(&[&args[..], &["--out", p(&out)]].concat());
    assert_eq!(done.status.code(), Some(1), "{}", stderr(&done));
    let err = stderr(&done);
    assert!(
        err.contains(&format!(
            "error: 1 replication(s) failed; see {}/failures.csv",
            out.display()
        )),
        "{err}"
    );
    assert_failure_recorded(&out, 60);
    let m = manifest(&out);
    assert_eq!(m["complete"], true);
    assert_eq!(m["failed_replications"], 1);
    assert!(
        m["outputs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o == "failures.csv")
    );
    assert!(!out.join("parts").exists(), "parts/ removed once complete");
    // The other files are those of a run without the failure, less the failed replication.
    let clean = d.path().join("clean");
    ok(&[&args[..], &["--out", p(&clean)]].concat());
    let (_, all) = read_csv(&clean.join("summary.csv"));
    let (_, kept) = read_csv(&out.join("summary.csv"));
    let expected: Vec<_> = all
        .into_iter()
        .filter(|r| r[2] != FAILING.to_string())
        .collect();
    assert_eq!(kept, expected, "the other rows are unchanged");
    assert!(!clean.join("failures.csv").exists());
}

#[test]
fn facade_a_failed_replication_in_a_shard_is_reported_by_the_merge() {
    let d = tmp();
    let args = argv("run scenarios/baseline.toml --reps 60 --seed 5", &[]);
    let shard = |i: usize| d.path().join(format!("s{i}"));
    // Replication 7 is in chunk 0, which shard 0 of 2 runs.
    let s0 = run_failing(&[&args[..], &["--shard", "0/2", "--out", p(&shard(0))]].concat());
    assert_eq!(s0.status.code(), Some(0), "{}", stderr(&s0));
    assert!(
        stderr(&s0).contains("warning: 1 replication(s) failed; recorded in"),
        "{}",
        stderr(&s0)
    );
    assert_eq!(manifest(&shard(0))["failed_replications"], 1);
    ok(&[&args[..], &["--shard", "1/2", "--out", p(&shard(1))]].concat());
    let merged = d.path().join("merged");
    let m = chipdip(&["merge", p(&shard(0)), p(&shard(1)), "--out", p(&merged)]);
    assert_eq!(m.status.code(), Some(1), "{}", stderr(&m));
    assert_failure_recorded(&merged, 60);
    assert_eq!(manifest(&merged)["complete"], true);
}

#[test]
fn facade_a_malformed_failure_hook_is_refused() {
    let d = tmp();
    let out = command(&argv(
        "run scenarios/baseline.toml --reps 2 --out",
        &[p(d.path())],
    ))
    .env("CHIPDIP_FAIL_REPLICATION", "seven")
    .output()
    .expect("chipdip runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("CHIPDIP_FAIL_REPLICATION must be POINT:REP"));
}

/// A value no quantity of the model can take (a demand of 1e19 H100e a month) is refused up
/// front, located; one that grows beyond what can be counted (1e15 a month growing elevenfold a
/// year for 50 years) fails its replications — checked arithmetic or an unreportable output,
/// named in `failures.csv` — and the run goes on to a complete folder instead of panicking or
/// wrapping into chips from nothing.
#[test]
fn unrepresentable_values_are_refused_or_fail_their_replication_not_the_run() {
    let d = tmp();
    let refused = chipdip(&argv(
        "check scenarios/baseline.toml --set nations.MYS.demand_h100e_per_month=1e19",
        &[],
    ));
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("nations.MYS.demand_h100e_per_month"));
    let out = d.path().join("run");
    let r = chipdip(&argv(
        "run scenarios/baseline.toml --reps 3 -q --set nations.MYS.demand_h100e_per_month=1e15 --set nations.MYS.demand_growth_annual=10 --set simulation.months=600 --out",
        &[p(&out)],
    ));
    assert_eq!(r.status.code(), Some(1), "{}", stderr(&r));
    let (_, rows) = read_csv(&out.join("failures.csv"));
    assert_eq!(rows.len(), 3);
    assert!(
        rows.iter()
            .all(|r| r[3].contains("overflow") || r[3].contains("beyond what can be reported")),
        "{rows:?}"
    );
    assert_eq!(manifest(&out)["complete"], true);
}

#[test]
fn a_chunk_shared_by_idle_threads_gives_the_bytes_of_one_thread_failure_included() {
    // 20 replications are one chunk: on three threads, the two with no chunk to start run
    // some of its replications, which the chunk's own thread records in order.
    let d = tmp();
    let args = argv(
        "run scenarios/baseline.toml --reps 20 --seed 5 --timeseries",
        &[],
    );
    let at = |threads: &str| {
        let out = d.path().join(format!("t{threads}"));
        let done = run_failing(&[&args[..], &["--threads", threads, "--out", p(&out)]].concat());
        assert_eq!(done.status.code(), Some(1), "{}", stderr(&done));
        out
    };
    let (one, three) = (at("1"), at("3"));
    assert_failure_recorded(&three, 20);
    assert_same_csvs(&one, &three);
}
