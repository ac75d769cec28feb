//! Sensitivity analysis and scenario discovery on finished sweeps: saltelli and morris designs
//! lay out their points as SALib does, `chipdip analyze` writes the indices, `chipdip discover`
//! finds a box denser than the base rate, and bad requests are refused with exit code 2.

use std::path::Path;

use crate::util::*;

const SALTELLI: &str = "scenarios/sweep_sensitivity.toml";
const MORRIS: &str = "scenarios/sweep_screening.toml";
const DIVERTED: &str = "MYS_hub_diverted_units";

fn rows(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    read_csv(path)
}

fn run_small(scenario: &str, set: &str, reps: &str, out: &Path) {
    ok(&[
        "run",
        scenario,
        "--reps",
        reps,
        "--set",
        set,
        "--out",
        p(out),
        "--quiet",
    ]);
}

#[test]
fn saltelli_sweep_is_in_salib_block_order_and_analyze_writes_both_indices() {
    let dir = tmp();
    let out = dir.path().join("saltelli");
    run_small(SALTELLI, "sweep.base_samples=8", "2", &out);
    let (header, points) = rows(&out.join("points.csv"));
    // points.csv: scenario, point, then one column per factor.
    let k = header.len() - 2;
    assert_eq!(k, 5);
    assert_eq!(points.len(), 8 * (k + 2));
    for block in points.chunks(k + 2) {
        let (a, b) = (&block[0][2..], &block[k + 1][2..]);
        for (j, ab) in block[1..=k].iter().enumerate() {
            for d in 0..k {
                let want = if d == j { &b[d] } else { &a[d] };
                assert_eq!(&ab[2 + d], want, "AB_{j}, factor {d}");
            }
        }
    }
    ok(&[
        "analyze",
        p(&out),
        "--metrics",
        &format!("{DIVERTED},MYS_retract_count"),
    ]);
    let (header, idx) = rows(&out.join("sensitivity.csv"));
    assert_eq!(
        header,
        [
            "metric", "factor", "method", "index", "estimate", "ci_low", "ci_high"
        ]
    );
    // Per metric: 3 noise rows, then S1 and ST per factor.
    assert_eq!(idx.len(), 2 * (3 + 2 * k));
    let of = |index: &str| idx.iter().filter(|r| r[3] == index).count();
    assert_eq!(
        (of("S1"), of("ST"), of("noise_variance_share")),
        (2 * k, 2 * k, 2)
    );
    for r in idx.iter().filter(|r| r[2] == "sobol") {
        let (e, lo, hi): (f64, f64, f64) = (
            r[4].parse().unwrap(),
            r[5].parse().unwrap(),
            r[6].parse().unwrap(),
        );
        assert!(lo <= e && e <= hi, "{r:?}");
    }
    // Same folder, same bytes.
    let first = std::fs::read(out.join("sensitivity.csv")).unwrap();
    ok(&[
        "analyze",
        p(&out),
        "--metrics",
        &format!("{DIVERTED},MYS_retract_count"),
    ]);
    assert_eq!(first, std::fs::read(out.join("sensitivity.csv")).unwrap());
}

#[test]
fn morris_sweep_moves_one_factor_per_step_and_analyze_gives_mu_star() {
    let dir = tmp();
    let out = dir.path().join("morris");
    run_small(MORRIS, "sweep.trajectories=4", "2", &out);
    let (header, points) = rows(&out.join("points.csv"));
    // points.csv: scenario, point, then one column per factor.
    let k = header.len() - 2;
    assert_eq!(points.len(), 4 * (k + 1));
    for t in points.chunks(k + 1) {
        for w in t.windows(2) {
            let moved = (2..k + 2).filter(|&d| w[0][d] != w[1][d]).count();
            assert_eq!(moved, 1, "{w:?}");
        }
    }
    ok(&["analyze", p(&out), "--metrics", DIVERTED]);
    let (_, idx) = rows(&out.join("sensitivity.csv"));
    let mu_star: Vec<f64> = idx
        .iter()
        .filter(|r| r[3] == "mu_star")
        .map(|r| r[4].parse().unwrap())
        .collect();
    assert_eq!(mu_star.len(), k);
    assert!(mu_star.iter().all(|m| *m >= 0.0), "{mu_star:?}");
    assert!(mu_star.iter().any(|m| *m > 0.0), "{mu_star:?}");
}

#[test]
fn discover_finds_a_box_denser_than_the_base_rate() {
    let dir = tmp();
    let out = dir.path().join("lhs");
    ok(&argv(
        "run scenarios/sweep_enforcement_pressure.toml --reps 10 --set sweep.points=24 --out",
        &[p(&out), "--quiet"],
    ));
    let (_, summary) = rows(&out.join("summary.csv"));
    let (header, _) = rows(&out.join("summary.csv"));
    let c = header.iter().position(|h| h == DIVERTED).unwrap();
    let mut values: Vec<f64> = summary.iter().map(|r| r[c].parse().unwrap()).collect();
    values.sort_by(f64::total_cmp);
    let median = values[values.len() / 2];
    let said = ok(&[
        "discover",
        p(&out),
        "--where",
        &format!("{DIVERTED} > {median}"),
    ]);
    assert!(stdout(&said).contains("density"), "{}", stdout(&said));
    let (header, steps) = rows(&out.join("prim.csv"));
    assert_eq!(
        &header[..5],
        ["step", "coverage", "density", "mass", "cases"]
    );
    assert_eq!(header.last().unwrap(), "chosen");
    assert_eq!(header.len(), 5 + 2 * 3 + 1);
    let chosen: Vec<&Vec<String>> = steps.iter().filter(|r| r.last().unwrap() == "1").collect();
    assert_eq!(chosen.len(), 1);
    let base: f64 = steps[0][2].parse().unwrap();
    let density: f64 = chosen[0][2].parse().unwrap();
    let coverage: f64 = chosen[0][1].parse().unwrap();
    assert!(density > base, "box density {density} vs base rate {base}");
    assert!(coverage >= 0.5, "{coverage}");
}

#[test]
fn analyze_and_discover_refuse_what_they_cannot_use() {
    let dir = tmp();
    let lhs = dir.path().join("lhs");
    ok(&argv(
        "run scenarios/sweep_enforcement_pressure.toml --reps 1 --set sweep.points=4 --out",
        &[p(&lhs), "--quiet"],
    ));
    let e = chipdip(&["analyze", p(&lhs)]);
    assert_eq!(e.status.code(), Some(2));
    assert!(
        stderr(&e).contains("latin_hypercube sweep"),
        "{}",
        stderr(&e)
    );
    let e = chipdip(&["discover", p(&lhs), "--where", "nonsense > 1"]);
    assert_eq!(e.status.code(), Some(2));
    assert!(
        stderr(&e).contains("no metric `nonsense`"),
        "{}",
        stderr(&e)
    );
    let e = chipdip(&["discover", p(&lhs), "--where", "MYS_hub_diverted_units = 1"]);
    assert_eq!(e.status.code(), Some(2));
    assert!(stderr(&e).contains("METRIC OP VALUE"), "{}", stderr(&e));
    let single = dir.path().join("single");
    ok(&argv(
        "run scenarios/baseline.toml --reps 1 --out",
        &[p(&single), "--quiet"],
    ));
    let e = chipdip(&["analyze", p(&single)]);
    assert_eq!(e.status.code(), Some(2));
    assert!(stderr(&e).contains("not a sweep"), "{}", stderr(&e));
    // A design setting the design does not use is refused at its key.
    let bad = scenario(
        dir.path(),
        "bad.toml",
        "[sweep]\ndesign = \"saltelli\"\nbase_samples = 4\ntrajectories = 3\n\
         [sweep.factors.\"regulators.USA.enforcement.investigations_per_year\"]\nmin = 2\nmax = 20\n",
    );
    let e = chipdip(&["check", p(&bad)]);
    assert_eq!(e.status.code(), Some(2));
    assert!(
        stderr(&e).contains("bad.toml:5: sweep.trajectories"),
        "{}",
        stderr(&e)
    );
}

/// Each point's standard error of the mean over |mean| for `metric`, from summary.csv.
fn relative_standard_errors(dir: &Path, metric: &str) -> Vec<f64> {
    let (header, rows) = read_csv(&dir.join("summary.csv"));
    let c = header.iter().position(|h| h == metric).unwrap();
    let mut by_point: std::collections::BTreeMap<usize, Vec<f64>> = Default::default();
    for r in &rows {
        by_point
            .entry(r[1].parse().unwrap())
            .or_default()
            .push(r[c].parse().unwrap());
    }
    by_point
        .values()
        .map(|v| {
            let n = v.len() as f64;
            let m = v.iter().sum::<f64>() / n;
            let s2 = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0);
            (s2 / n).sqrt() / m.abs()
        })
        .collect()
}

#[test]
fn target_stops_under_the_target_with_the_same_bytes_on_any_threads_and_shards() {
    let dir = tmp();
    let target = "MYS_hub_diverted_units=0.08,MYS_installed_h100e=0.02";
    let args = |out: &Path, threads: &str| -> Vec<String> {
        argv(
            "run scenarios/sweep_enforcement_pressure.toml --set sweep.points=3 --reps 10 --target",
            &[
                target,
                "--max-reps",
                "500",
                "--threads",
                threads,
                "--quiet",
                "--out",
                p(out),
            ],
        )
        .into_iter()
        .map(String::from)
        .collect()
    };
    let run = |out: &Path, threads: &str, extra: &[&str]| {
        let mut a = args(out, threads);
        a.extend(extra.iter().map(|s| s.to_string()));
        ok(&a.iter().map(String::as_str).collect::<Vec<_>>());
    };
    let one = dir.path().join("one");
    run(&one, "1", &[]);
    let m = manifest(&one);
    let precision = &m["precision"];
    assert_eq!(precision["met"], true, "{precision}");
    let reps = precision["replications"].as_u64().unwrap();
    assert!(reps > 10 && reps < 500, "{reps}");
    assert_eq!(
        (reps - 10) % 50,
        0,
        "added in chunks of 50 from --reps: {reps}"
    );
    assert_eq!(m["replications"].as_u64(), Some(reps));
    for (metric, rel) in [
        ("MYS_hub_diverted_units", 0.08),
        ("MYS_installed_h100e", 0.02),
    ] {
        let got = relative_standard_errors(&one, metric);
        assert_eq!(got.len(), 3);
        assert!(got.iter().all(|r| *r <= rel), "{metric}: {got:?}");
        let reached = precision["reached"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["metric"] == metric)
            .unwrap();
        let worst = got.iter().cloned().fold(0.0, f64::max);
        let recorded = reached["max_relative_standard_error"].as_f64().unwrap();
        assert!(
            (worst - recorded).abs() <= 1e-9 * worst,
            "{worst} vs {recorded}"
        );
    }
    // One chunk fewer would not have met the targets (the rule stopped at the first round).
    let fewer = dir.path().join("fewer");
    ok(&argv(
        "run scenarios/sweep_enforcement_pressure.toml --set sweep.points=3 --reps",
        &[&(reps - 50).to_string(), "--quiet", "--out", p(&fewer)],
    ));
    let missed = [
        ("MYS_hub_diverted_units", 0.08),
        ("MYS_installed_h100e", 0.02),
    ]
    .iter()
    .any(|(metric, rel)| {
        relative_standard_errors(&fewer, metric)
            .iter()
            .any(|r| r > rel)
    });
    assert!(missed, "{} replications already met the targets", reps - 50);
    // Two threads, and two shards merged: the same bytes.
    let two = dir.path().join("two");
    run(&two, "2", &[]);
    assert_same_csvs(&one, &two);
    let shards: Vec<_> = (0..2)
        .map(|i| dir.path().join(format!("shard{i}")))
        .collect();
    for (i, s) in shards.iter().enumerate() {
        run(s, "1", &["--shard", &format!("{i}/2")]);
    }
    let merged = dir.path().join("merged");
    ok(&["merge", p(&shards[0]), p(&shards[1]), "--out", p(&merged)]);
    assert_same_csvs(&one, &merged);
    assert_eq!(manifest(&merged)["precision"], *precision);
    // A target on an unknown metric is bad input.
    let e = chipdip(&argv(
        "run scenarios/sweep_enforcement_pressure.toml --reps 2 --target nope=0.1 --out",
        &[p(&dir.path().join("bad"))],
    ));
    assert_eq!(e.status.code(), Some(2), "{}", stderr(&e));
    assert!(stderr(&e).contains("nope"), "{}", stderr(&e));
}

#[test]
fn a_categorical_factor_in_a_sensitivity_design_is_refused_at_its_line() {
    let d = tmp();
    let sweep = std::path::Path::new(ROOT).join("scenarios/sweep_sensitivity.toml");
    let file = d.path().join("categorical.toml");
    std::fs::write(
        &file,
        format!(
            "extends = {:?}\n[sweep.factors.\"regulators.USA.guidance.huawei\"]\nvalues = [\"none\", \"home_only\", \"global\"]\n",
            p(&sweep)
        ),
    )
    .unwrap();
    let r = chipdip(&["check", p(&file)]);
    assert_eq!(r.status.code(), Some(2), "{}", stderr(&r));
    assert!(
        stderr(&r).contains("categorical.toml:2") && stderr(&r).contains("categorical"),
        "{}",
        stderr(&r)
    );
}
