//! Sweeps, shards, merge and resume: designs give the points they promise, the same
//! seed gives the same points, shards merged equal the unsharded run byte for byte, wrong
//! shards are refused, and a killed run resumes to the same bytes.

use std::fs;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use chipdip::scenario::Scenario;

use crate::util::*;

const SWEEP: &str = "scenarios/sweep_enforcement_pressure.toml";

fn values(s: &Scenario, factor: usize) -> Vec<f64> {
    s.points.iter().map(|p| p.values[factor].1).collect()
}

const SANCTION: &str = "regulators.USA.guidance_sanction_share";
const APPROVAL: &str = "regulators.USA.tiers.tier2.frontier.approval_probability";
const DELAY: &str = "regulators.USA.tiers.tier2.frontier.delay_months";

#[test]
fn grid_is_the_full_factorial_of_the_levels() {
    let dir = tmp();
    let path = scenario(
        dir.path(),
        "grid.toml",
        &format!(
            "[sweep]\ndesign = \"grid\"\n\
             [sweep.factors.\"{DELAY}\"]\nvalues = [0, 2, 6]\n\
             [sweep.factors.\"{APPROVAL}\"]\nmin = 0.2\nmax = 0.8\nlevels = 4\n"
        ),
    );
    let s = Scenario::load(&path, &[]).expect("grid sweep loads");
    assert_eq!(s.points.len(), 12);
    // Factors in path order: approval_probability, then delay_months (varying fastest).
    assert_eq!(s.points[0].values[0].0, APPROVAL);
    assert_eq!(s.points[0].values[1].0, DELAY);
    let mut combos: Vec<(u64, u64)> = s
        .points
        .iter()
        .map(|p| (p.values[0].1.to_bits(), p.values[1].1.to_bits()))
        .collect();
    combos.sort();
    combos.dedup();
    assert_eq!(combos.len(), 12, "every combination once");
    assert!(values(&s, 0).iter().all(|v| (0.2..=0.8).contains(v)));
    assert!(values(&s, 1).iter().all(|v| [0.0, 2.0, 6.0].contains(v)));
    assert_eq!(&values(&s, 1)[..3], &[0.0, 2.0, 6.0]);
    assert!(s.points.iter().enumerate().all(|(i, p)| p.index == i));
}

/// A sweep's points are built in parallel on the current rayon pool: the same points on one
/// thread as on four, and with several bad points the error names the first, as a sequential
/// build would.
#[test]
fn points_built_on_any_pool_are_the_same_and_the_first_bad_one_is_named() {
    let dir = tmp();
    let load_on = |threads: usize, path: &Path| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| Scenario::load(path, &[]))
    };
    let good = scenario(
        dir.path(),
        "good.toml",
        &format!(
            "[sweep]\ndesign = \"latin_hypercube\"\npoints = 24\n\
             [sweep.factors.\"{APPROVAL}\"]\nmin = 0.2\nmax = 0.8\n\
             [sweep.factors.\"{DELAY}\"]\nvalues = [0, 2, 6]\n"
        ),
    );
    let one = load_on(1, &good).expect("loads");
    let four = load_on(4, &good).expect("loads");
    assert_eq!(one.points.len(), 24);
    assert_eq!(format!("{:?}", one.points), format!("{:?}", four.points));
    let bad = scenario(
        dir.path(),
        "bad.toml",
        &format!(
            "[sweep]\ndesign = \"grid\"\n\
             [sweep.factors.\"{APPROVAL}\"]\nvalues = [0.5, 0.6, 0.7, 1.5, 0.8, 2.5, 3.5]\n"
        ),
    );
    for threads in [1, 2, 4] {
        let e = load_on(threads, &bad).expect_err("points 3, 5 and 6 are out of range");
        assert!(
            e.to_string()
                .contains(&format!("(at sweep point 3: {APPROVAL} = 1.5)")),
            "{threads} threads: {e}"
        );
    }
}

/// The USA regulator's guidance sanction share in a point's month-0 parameters.
fn sanction_share(p: &chipdip::scenario::Point) -> f64 {
    let base = p.setup.base();
    base.regulators
        .iter()
        .find(|r| base.nations[r.nation].id == "USA")
        .expect("a USA regulator")
        .guidance_sanction_share
}

#[test]
fn sampled_designs_give_n_points_within_the_ranges() {
    let dir = tmp();
    for (design, n) in [("random", 10), ("latin_hypercube", 20), ("sobol", 16)] {
        let path = scenario(
            dir.path(),
            &format!("{design}.toml"),
            &format!(
                "[sweep]\ndesign = \"{design}\"\npoints = {n}\nseed = 5\n\
                 [sweep.factors.\"{SANCTION}\"]\nmin = 0.1\nmax = 0.9\n\
                 [sweep.factors.\"{DELAY}\"]\nmin = 1\nmax = 12\ninteger = true\n\
                 [sweep.factors.\"regulators.USA.tiers.tier2.frontier.annual_cap_h100e\"]\n\
                 min = 1000\nmax = 100000\nlog = true\n"
            ),
        );
        let s = Scenario::load(&path, &[]).unwrap_or_else(|e| panic!("{design}: {e}"));
        assert_eq!(s.points.len(), n, "{design}");
        // Factors in path order: guidance_sanction_share, tiers...annual_cap, tiers...delay.
        let sanction = values(&s, 0);
        let cap = values(&s, 1);
        let delay = values(&s, 2);
        assert!(
            cap.iter().all(|v| (1000.0..=100000.0).contains(v)),
            "{design} {cap:?}"
        );
        assert!(
            sanction.iter().all(|v| (0.1..=0.9).contains(v)),
            "{design} {sanction:?}"
        );
        assert!(
            delay
                .iter()
                .all(|v| (1.0..=12.0).contains(v) && v.fract() == 0.0),
            "{design} {delay:?}"
        );
        if design == "latin_hypercube" {
            // One point in each of the n strata of every factor.
            let mut strata: Vec<usize> = sanction
                .iter()
                .map(|v| ((v - 0.1) / 0.8 * n as f64).floor() as usize)
                .collect();
            strata.sort();
            assert_eq!(strata, (0..n).collect::<Vec<_>>());
        }
        // Each point's parameters hold its values.
        for (p, v) in s.points.iter().zip(&sanction) {
            assert_eq!(sanction_share(p), *v, "{design}");
        }
    }
}

#[test]
fn same_seed_same_design_other_seed_other_points() {
    let dir = tmp();
    let run = |name: &str, extra: &[&str]| {
        let out = dir.path().join(name);
        let mut args = vec!["run", SWEEP, "--reps", "1", "-q", "--out", p(&out)];
        args.extend_from_slice(extra);
        ok(&args);
        fs::read(out.join("points.csv")).expect("points.csv")
    };
    let a = run("a", &[]);
    let b = run("b", &["--threads", "1"]);
    assert_eq!(a, b, "same seed, same points.csv");
    let text = String::from_utf8(a.clone()).unwrap();
    assert_eq!(text.lines().count(), 13, "header and 12 points:\n{text}");
    assert!(
        text.starts_with("scenario,point,hubs.MYS.permit_regime,regulators.USA."),
        "{text}"
    );
    let c = run("c", &["--set", "sweep.seed=7"]);
    assert_ne!(a, c, "another design seed, other points");
}

#[test]
fn shards_merged_equal_the_unsharded_run_byte_for_byte() {
    let dir = tmp();
    let d = dir.path();
    let common = [
        "--reps",
        "3",
        "--seed",
        "9",
        "--set",
        "sweep.points=5",
        "-q",
    ];
    let run = |out: &Path, extra: &[&str]| {
        let mut args = vec!["run", SWEEP, "--out", p(out)];
        args.extend_from_slice(&common);
        args.extend_from_slice(extra);
        ok(&args);
    };
    run(&d.join("whole"), &[]);
    for i in 0..3 {
        run(&d.join(format!("s{i}")), &["--shard", &format!("{i}/3")]);
    }
    // Any order of the shard folders.
    ok(&[
        "merge",
        p(&d.join("s2")),
        p(&d.join("s0")),
        p(&d.join("s1")),
        "--out",
        p(&d.join("merged")),
    ]);
    assert_same_csvs(&d.join("whole"), &d.join("merged"));
    let names: Vec<String> = csv_files(&d.join("whole"))
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    for f in ["events.csv", "points.csv", "quantiles.csv", "summary.csv"] {
        assert!(names.iter().any(|n| n == f), "{f} missing: {names:?}");
    }
    let summary = fs::read_to_string(d.join("whole/summary.csv")).unwrap();
    let header = summary.lines().next().unwrap();
    assert!(
        header.starts_with(
            "scenario,point,replication,seed,hubs.MYS.permit_regime,\
             regulators.USA.enforcement.investigations_per_year,regulators.USA.pressure.intensity,"
        ),
        "{header}"
    );
    assert_eq!(summary.lines().count(), 1 + 5 * 3);

    // A missing shard is refused, naming it; nothing is written.
    let missing = chipdip(&[
        "merge",
        p(&d.join("s0")),
        p(&d.join("s2")),
        "--out",
        p(&d.join("partial")),
    ]);
    assert!(!missing.status.success());
    assert!(
        stderr(&missing).contains("missing shard(s) 1/3"),
        "{}",
        stderr(&missing)
    );
    assert!(!d.join("partial").exists());

    // A shard of another run (other design seed) is refused, naming both runs.
    run(
        &d.join("other"),
        &["--shard", "1/3", "--set", "sweep.seed=10"],
    );
    let foreign = chipdip(&[
        "merge",
        p(&d.join("s0")),
        p(&d.join("other")),
        p(&d.join("s2")),
        "--out",
        p(&d.join("mixed")),
    ]);
    assert!(!foreign.status.success());
    assert!(
        stderr(&foreign).contains("belongs to another run"),
        "{}",
        stderr(&foreign)
    );
    assert!(!d.join("mixed").exists());

    // The same shard twice is refused.
    let twice = chipdip(&[
        "merge",
        p(&d.join("s0")),
        p(&d.join("s0")),
        p(&d.join("s1")),
        "--out",
        p(&d.join("twice")),
    ]);
    assert!(!twice.status.success());
    assert!(stderr(&twice).contains("given twice"), "{}", stderr(&twice));
}

/// Killing a run midway and rerunning the same command finishes the work with the
/// same bytes as an uninterrupted run.
#[test]
fn a_killed_run_resumes_to_the_same_bytes() {
    let dir = tmp();
    let d = dir.path();
    // 12 points x 120 reps = 36 chunks on one thread, long enough to kill halfway; a debug
    // build (about 15x slower) runs 6 points x 60 reps = 12 chunks.
    let (points, reps) = if cfg!(debug_assertions) {
        ("sweep.points=6", "60")
    } else {
        ("sweep.points=12", "120")
    };
    let args = |out: &Path| -> Vec<String> {
        [
            "run",
            SWEEP,
            "--reps",
            reps,
            "--set",
            points,
            "--seed",
            "3",
            "--threads",
            "1",
            "-q",
            "--out",
        ]
        .iter()
        .map(|a| a.to_string())
        .chain([p(out).to_string()])
        .collect()
    };
    let killed = d.join("killed");
    let mut child = command(&args(&killed).iter().map(String::as_str).collect::<Vec<_>>())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn chipdip");
    // Kill once a few chunks or points are done (their sketch files, or a point's merged
    // quantile rows, mark them done).
    let parts = killed.join("parts");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let done = fs::read_dir(&parts)
            .map(|rd| {
                rd.filter_map(Result::ok)
                    // A chunk's sketch, or a finished point's merged quantile rows.
                    .filter(|e| {
                        e.path()
                            .extension()
                            .is_some_and(|x| x == "sketch" || x == "quantiles")
                    })
                    .count()
            })
            .unwrap_or(0);
        if done >= 3 || Instant::now() > deadline {
            break;
        }
        if child.try_wait().unwrap().is_some() {
            panic!("the run finished before it could be killed; make it longer");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().expect("kill");
    child.wait().unwrap();
    let manifest = fs::read_to_string(killed.join("manifest.json")).unwrap();
    assert!(manifest.contains("\"complete\": false"), "killed midway");
    assert!(!killed.join("summary.csv").exists());

    let rerun = chipdip(&args(&killed).iter().map(String::as_str).collect::<Vec<_>>());
    assert!(rerun.status.success(), "{}", stderr(&rerun));
    let whole = d.join("whole");
    ok(&args(&whole).iter().map(String::as_str).collect::<Vec<_>>());
    assert_same_csvs(&whole, &killed);
    assert!(
        !killed.join("parts").exists(),
        "parts are removed once complete"
    );

    // A complete folder is left untouched by the same command.
    let before = csv_files(&killed);
    let again = ok(&args(&killed).iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        stderr(&again).contains("already complete"),
        "{}",
        stderr(&again)
    );
    assert_eq!(before, csv_files(&killed));
}

#[test]
fn resume_redoes_only_missing_chunks() {
    let dir = tmp();
    let d = dir.path();
    let shard = d.join("shard");
    let args = [
        "run",
        SWEEP,
        "--reps",
        "2",
        "--set",
        "sweep.points=6",
        "--shard",
        "0/2",
        "-q",
        "--out",
    ];
    let run = || ok(&[&args[..], &[p(&shard)]].concat());
    run();
    // Drop one chunk of the shard (chunk 2) and mark the folder interrupted.
    let sketch = shard.join("parts/c000002.sketch");
    let kept = shard.join("parts/c000000.sketch");
    assert!(sketch.exists() && kept.exists());
    let kept_time = fs::metadata(&kept).unwrap().modified().unwrap();
    let rows_before = fs::read(shard.join("parts/c000002.rows")).unwrap();
    fs::remove_file(&sketch).unwrap();
    let manifest = shard.join("manifest.json");
    let text = fs::read_to_string(&manifest).unwrap();
    fs::write(
        &manifest,
        text.replace("\"complete\": true", "\"complete\": false"),
    )
    .unwrap();
    let out = run();
    assert!(
        stderr(&out).contains("resuming") && stderr(&out).contains("4 of 6 replications"),
        "{}",
        stderr(&out)
    );
    assert!(sketch.exists(), "the missing chunk is redone");
    assert_eq!(
        fs::read(shard.join("parts/c000002.rows")).unwrap(),
        rows_before
    );
    assert_eq!(
        fs::metadata(&kept).unwrap().modified().unwrap(),
        kept_time,
        "finished chunks are not rewritten"
    );
}

#[test]
fn bad_sweeps_are_refused_before_anything_runs() {
    let dir = tmp();
    let d = dir.path();
    let cases = [
        (
            "[sweep]\ndesign = \"grid\"\n[sweep.factors.\"regulators.USA.guidance_sanction_shar\"]\nvalues = [0.1]\n",
            "t.toml:4: sweep.factors.\"regulators.USA.guidance_sanction_shar\": no parameter",
            "nearest valid paths: regulators.USA.guidance_sanction_share",
        ),
        (
            &format!(
                "[sweep]\ndesign = \"grid\"\n[sweep.factors.\"{APPROVAL}\"]\nvalues = [0.5, 1.5]\n"
            ),
            "t.toml:4: regulators.USA.tiers.tier2.frontier.approval_probability: must be in [0, 1]",
            "(at sweep point 1: regulators.USA.tiers.tier2.frontier.approval_probability = 1.5)",
        ),
        (
            &format!(
                "[sweep]\ndesign = \"lhs\"\npoints = 3\n[sweep.factors.\"{SANCTION}\"]\nvalues = [0.5]\n"
            ),
            "t.toml:3: sweep.design: unknown design `lhs`",
            "latin_hypercube",
        ),
        (
            &format!(
                "[sweep]\ndesign = \"sobol\"\n[sweep.factors.\"{SANCTION}\"]\nmin = 0\nmax = 1\n"
            ),
            "sweep: a sobol design needs a number of points",
            "",
        ),
        (
            &format!(
                "[sweep]\ndesign = \"random\"\npoints = 4\n[sweep.factors.\"{DELAY}\"]\nmin = 0\nmax = 5\n"
            ),
            "holds an integer",
            "integer = true",
        ),
        (
            &format!(
                "[sweep]\ndesign = \"grid\"\npoints = 5\n[sweep.factors.\"{DELAY}\"]\nvalues = [1, 2]\n"
            ),
            "sweep.points: the grid has 2 points",
            "",
        ),
        (
            "[sweep]\ndesign = \"grid\"\n[sweep.factors.\"simulation.months\"]\nvalues = [1, 2]\n",
            "`simulation` settings cannot be swept",
            "",
        ),
        // A value of the wrong type is reported at the `values` line, saying what is expected.
        (
            &format!(
                "[sweep]\ndesign = \"grid\"\n[sweep.factors.\"{SANCTION}\"]\n\nvalues = [0.5, \"high\"]\n"
            ),
            "t.toml:6: sweep.factors.\"regulators.USA.guidance_sanction_share\".values",
            "a numeric parameter takes numbers",
        ),
        (
            "[sweep]\ndesign = \"grid\"\n[sweep.factors.\"regulators.USA.guidance.huawei\"]\nvalues = [\"none\", 2]\n",
            "t.toml:5: sweep.factors.\"regulators.USA.guidance.huawei\".values",
            "holds text",
        ),
        (
            "[sweep]\ndesign = \"random\"\npoints = 3\n[sweep.factors.\"regulators.USA.guidance.huawei\"]\nmin = 0\nmax = 1\n",
            "t.toml:6: sweep.factors.\"regulators.USA.guidance.huawei\".min",
            "`values = [...]`",
        ),
        (
            "[sweep]\ndesign = \"grid\"\n[sweep.factors.\"regulators.USA.guidance.huawei\"]\nvalues = [\"none\", \"worldwide\"]\n",
            "t.toml:4:",
            "(at sweep point 1: regulators.USA.guidance.huawei = worldwide)",
        ),
    ];
    for (body, want, also) in cases {
        let path = scenario(d, "t.toml", body);
        let out = d.join("out");
        let r = chipdip(&["run", p(&path), "--reps", "1", "--out", p(&out)]);
        let err = stderr(&r);
        assert_eq!(r.status.code(), Some(2), "{body}\n{err}");
        assert!(
            err.contains(want) && err.contains(also),
            "{body}\nwant {want} / {also}\ngot {err}"
        );
        assert!(!out.exists(), "bad input writes nothing");
    }
}

/// Text and boolean parameters are swept like numbers, in a grid and in a sampled design; their
/// levels are the factor columns of `points.csv`, `summary.csv` and `quantiles.csv`.
#[test]
fn categorical_and_boolean_factors_sweep_in_every_design() {
    let dir = tmp();
    let replay = Path::new("scenarios/malaysia_2025.toml")
        .canonicalize()
        .unwrap();
    let guidance = "regulators.USA.guidance.huawei";
    let enabled = "regulators.USA.pressure.enabled";
    let body = |design: &str| {
        format!(
            "extends = {:?}\nname = \"cat\"\n[sweep]\ndesign = \"{design}\"\n{}\
             [sweep.factors.\"{guidance}\"]\nvalues = [\"none\", \"home_only\", \"global\"]\n\
             [sweep.factors.\"{enabled}\"]\nvalues = [true, false]\n",
            p(&replay),
            if design == "grid" { "" } else { "points = 6\n" }
        )
    };
    for design in ["grid", "random", "latin_hypercube", "sobol"] {
        let path = dir.path().join(format!("{design}.toml"));
        fs::write(&path, body(design)).unwrap();
        let s = Scenario::load(&path, &[]).unwrap_or_else(|e| panic!("{design}: {e}"));
        assert_eq!(s.points.len(), 6, "{design}");
        // Factors in path order (guidance, then enabled); each point's label is the level it
        // set, its numeric value the level's position.
        for pt in &s.points {
            let level = ["none", "home_only", "global"][pt.values[0].1 as usize];
            assert_eq!(pt.labels[0], level, "{design}");
            assert_eq!(pt.labels[1], ["true", "false"][pt.values[1].1 as usize]);
        }
        if design == "grid" {
            let labels: Vec<_> = s.points.iter().map(|p| p.labels.join("/")).collect();
            assert_eq!(labels[..3], ["none/true", "none/false", "home_only/true"]);
        }
    }
    let path = dir.path().join("grid.toml");
    let out = dir.path().join("out");
    ok(&["run", p(&path), "--reps", "2", "--out", p(&out)]);
    let points = fs::read_to_string(out.join("points.csv")).unwrap();
    assert_eq!(
        points.lines().take(3).collect::<Vec<_>>(),
        [
            format!("scenario,point,{guidance},{enabled}").as_str(),
            "cat,0,none,true",
            "cat,1,none,false"
        ]
    );
    let (h, rows) = read_csv(&out.join("summary.csv"));
    assert_eq!(h[4..6], [guidance, enabled]);
    assert_eq!(
        rows[11][..6],
        ["cat", "5", "1", &rows[11][3], "global", "false"]
    );
    let (qh, q) = read_csv(&out.join("quantiles.csv"));
    assert_eq!(qh[..5], ["scenario", "point", guidance, enabled, "month"]);
    assert!(
        q.iter()
            .any(|r| r[1] == "3" && r[2] == "home_only" && r[3] == "false")
    );
}

#[test]
fn a_run_without_a_sweep_has_one_point_and_no_progress_bar_off_a_terminal() {
    let dir = tmp();
    let out = dir.path().join("base");
    let r = ok(&argv(
        "run scenarios/baseline.toml --reps 2 --out",
        &[p(&out)],
    ));
    assert_eq!(
        fs::read_to_string(out.join("points.csv")).unwrap(),
        "scenario,point\nbaseline,0\n"
    );
    let err = stderr(&r);
    assert!(!err.contains("ETA") && !err.contains('\r'), "{err}");
}

/// A shard folder whose manifest claims an index beyond its count is refused by merge, naming
/// it, instead of crashing it.
#[test]
fn merge_refuses_a_shard_index_beyond_the_count() {
    let d = tmp();
    let (s0, s1) = (d.path().join("s0"), d.path().join("s1"));
    for (shard, dir) in [("0/2", &s0), ("1/2", &s1)] {
        ok(&argv(
            "run scenarios/baseline.toml --reps 4 -q --shard",
            &[shard, "--out", p(dir)],
        ));
    }
    let path = s1.join("manifest.json");
    let mut m: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    m["shard"]["index"] = 5.into();
    std::fs::write(&path, serde_json::to_vec(&m).unwrap()).unwrap();
    let out = d.path().join("merged");
    let r = chipdip(&["merge", p(&s0), p(&s1), "--out", p(&out)]);
    assert_eq!(r.status.code(), Some(1), "{}", stderr(&r));
    assert!(stderr(&r).contains("does not exist"), "{}", stderr(&r));
    assert!(!out.exists(), "a refused merge created its folder");
}
