//! Issue 2 (core): the five tidy files, determinism across threads, a policy lever that moves
//! what it should, located errors that leave nothing behind, resume and no silent overwrite.

use std::fs;

use crate::support::*;

#[test]
fn issue2_baseline_run_writes_tidy_complete_files() {
    let d = tmp();
    let out = d.path().join("run");
    ok(&[
        "run",
        "scenarios/baseline.toml",
        "--reps",
        "60",
        "--timeseries",
        "--out",
        p(&out),
    ]);
    for f in [
        "summary.csv",
        "quantiles.csv",
        "timeseries.csv",
        "events.csv",
        "manifest.json",
    ] {
        assert!(out.join(f).exists(), "missing {f}");
    }
    assert!(!out.join("parts").exists(), "part files left behind");
    let m: serde_json::Value =
        serde_json::from_slice(&fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["complete"], true);
    assert_eq!(m["replications"], 60);
    assert!(
        m["scenario"]["nations"]["MYS"].is_object(),
        "manifest lacks the resolved scenario"
    );
    let (h, rows) = read_csv(&out.join("summary.csv"));
    assert_eq!(&h[..3], &["point", "replication", "seed"]);
    assert_eq!(rows.len(), 60);
    let (qh, q) = read_csv(&out.join("quantiles.csv"));
    assert_eq!(
        qh,
        [
            "point", "month", "entity", "metric", "mean", "p05", "p25", "p50", "p75", "p95"
        ]
    );
    let months: std::collections::BTreeSet<&str> = q.iter().map(|r| r[1].as_str()).collect();
    assert_eq!(months.len(), 36);
    assert_eq!(months.first(), Some(&"2025-01"));
    assert_eq!(months.last(), Some(&"2027-12"));
    let entities: std::collections::BTreeSet<&str> = q.iter().map(|r| r[2].as_str()).collect();
    for e in ["USA", "CHN", "MYS", "ARE", "SAU", "SGP", "nvidia", "huawei"] {
        assert!(entities.contains(e), "no entity {e}");
    }
    // Quantiles are ordered for every row.
    for r in &q {
        let v: Vec<f64> = r[5..].iter().map(|x| x.parse().unwrap()).collect();
        assert!(
            v.windows(2).all(|w| w[0] <= w[1]),
            "unordered quantiles {r:?}"
        );
    }
}

#[test]
fn issue2_same_seed_same_bytes_for_any_thread_count() {
    let d = tmp();
    let run = |threads: &str, seed: &str, name: &str| {
        let out = d.path().join(name);
        ok(&[
            "run",
            "scenarios/malaysia_2025.toml",
            "--reps",
            "60",
            "--seed",
            seed,
            "--timeseries",
            "--threads",
            threads,
            "--out",
            p(&out),
        ]);
        csv_files(&out)
    };
    let one = run("1", "7", "t1");
    let two = run("2", "7", "t2");
    assert_eq!(
        one.len(),
        5,
        "points, summary, quantiles, timeseries, events"
    );
    assert!(one == two, "threads 1 and 2 differ");
    let other = run("2", "8", "s8");
    assert!(one != other, "seeds 7 and 8 give the same files");
}

#[test]
fn issue2_lifting_a_tier2_licence_moves_the_outcomes_it_should() {
    let d = tmp();
    let base = d.path().join("base");
    let lifted = d.path().join("lifted");
    let common = ["--reps", "40", "--seed", "11"];
    ok(&[
        &["run", "scenarios/baseline.toml", "--out", p(&base)][..],
        &common,
    ]
    .concat());
    ok(&[
        &[
            "run",
            "scenarios/baseline.toml",
            "--out",
            p(&lifted),
            "--set",
            "regulators.USA.destinations.ARE=tier1",
        ][..],
        &common,
    ]
    .concat());
    let (b, l) = (
        column_mean(&base, "are_installed_h100e_nvidia"),
        column_mean(&lifted, "are_installed_h100e_nvidia"),
    );
    assert!(
        l > 2.0 * b,
        "ARE Nvidia installs: {b} with licence, {l} without"
    );
    let (b, l) = (
        column_mean(&base, "are_denied_h100e"),
        column_mean(&lifted, "are_denied_h100e"),
    );
    assert!(
        l < 0.1 * b,
        "ARE denied demand: {b} with licence, {l} without"
    );
    // A bigger tier-2 cap: less denial for Malaysia.
    let capped = d.path().join("cap");
    ok(&[
        &[
            "run",
            "scenarios/baseline.toml",
            "--out",
            p(&capped),
            "--set",
            "regulators.USA.tiers.tier2.frontier.annual_cap_h100e=200000",
        ][..],
        &common,
    ]
    .concat());
    assert!(
        column_mean(&capped, "mys_denied_h100e") < 0.8 * column_mean(&base, "mys_denied_h100e")
    );
}

/// One broken scenario: its text (extending baseline unless it says otherwise), extra CLI
/// arguments, and what the error must mention.
struct Broken {
    name: &'static str,
    body: &'static str,
    args: &'static [&'static str],
    mentions: &'static [&'static str],
}

const BROKEN: &[Broken] = &[
    Broken {
        name: "typo.toml",
        body: "extends = \"BASE\"\n[nations.MYS]\nalignmnet = 0.2\n",
        args: &[],
        mentions: &[
            "typo.toml:3",
            "nations.MYS.alignmnet",
            "did you mean `alignment`",
        ],
    },
    Broken {
        name: "type.toml",
        body: "extends = \"BASE\"\n[nations.MYS]\n\nalignment = \"high\"\n",
        args: &[],
        mentions: &["type.toml:4", "nations.MYS.alignment"],
    },
    Broken {
        name: "prob.toml",
        body: "extends = \"BASE\"\n[regulators.USA.tiers.tier2.frontier]\napproval_probability = 1.5\n",
        args: &[],
        mentions: &["prob.toml:3", "approval_probability", "[0, 1]"],
    },
    Broken {
        name: "capacity.toml",
        body: "extends = \"BASE\"\n[products.h100]\ncapacity_units_per_month = -5\n",
        args: &[],
        mentions: &["capacity.toml:3", "products.h100.capacity_units_per_month"],
    },
    Broken {
        name: "nation.toml",
        body: "extends = \"BASE\"\n[regulators.USA.destinations]\nMYX = \"tier2\"\n",
        args: &[],
        mentions: &[
            "nation.toml:3",
            "regulators.USA.destinations.MYX",
            "did you mean `MYS`",
        ],
    },
    Broken {
        name: "badset.toml",
        body: "extends = \"BASE\"\n",
        args: &["--set", "nations.MYS.alignmnet=0.1"],
        mentions: &["--set", "nations.MYS.alignmnet", "nations.MYS.alignment"],
    },
    Broken {
        name: "badsetvalue.toml",
        body: "extends = \"BASE\"\n",
        args: &["--set", "simulation.months=lots"],
        mentions: &["--set", "simulation.months"],
    },
    Broken {
        name: "extends.toml",
        body: "extends = \"nowhere.toml\"\n",
        args: &[],
        mentions: &["extends.toml:1", "extends", "nowhere.toml"],
    },
    Broken {
        name: "syntax.toml",
        body: "extends = \"BASE\"\n[nations.MYS\nalignment = 0.1\n",
        args: &[],
        mentions: &["syntax.toml:2", "invalid TOML"],
    },
    Broken {
        name: "month.toml",
        body: "extends = \"BASE\"\n[simulation]\nstart_month = \"2025-13\"\n",
        args: &[],
        mentions: &["month.toml:3", "simulation.start_month"],
    },
    Broken {
        name: "timeline.toml",
        body: "extends = \"BASE\"\n[timeline.x]\nmonth = \"2025-06\"\nset = { \"nations.MYS.alignment\" = 3.0 }\n",
        args: &[],
        mentions: &["timeline.toml:4", "nations.MYS.alignment", "[-1, 1]"],
    },
];

#[test]
fn issue2_broken_scenarios_get_located_errors_and_leave_no_folder() {
    let d = tmp();
    let base = fs::canonicalize("scenarios/baseline.toml").unwrap();
    for b in BROKEN {
        let file = d.path().join(b.name);
        fs::write(&file, b.body.replace("BASE", p(&base))).unwrap();
        let never = d.path().join(format!("never-{}", b.name));
        let mut args = vec!["run", p(&file), "--reps", "2", "--out", p(&never)];
        args.extend(b.args);
        let out = chipdip(&args);
        let err = text(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{}: exit {:?}, stderr {err}",
            b.name,
            out.status.code()
        );
        for m in b.mentions {
            assert!(
                err.contains(m),
                "{}: error does not mention {m:?}: {err}",
                b.name
            );
        }
        assert!(!never.exists(), "{}: an output folder was created", b.name);
    }
}

#[test]
fn issue2_unwritable_output_is_an_error() {
    let d = tmp();
    let file = d.path().join("a-file");
    fs::write(&file, "x").unwrap();
    let out = chipdip(&[
        "run",
        "scenarios/baseline.toml",
        "--reps",
        "2",
        "--out",
        p(&file.join("sub")),
    ]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("a-file"));
}

#[test]
fn issue2_a_complete_folder_is_never_overwritten() {
    let d = tmp();
    let out = d.path().join("run");
    let args = [
        "run",
        "scenarios/baseline.toml",
        "--reps",
        "10",
        "--out",
        p(&out),
    ];
    ok(&args);
    let before = csv_files(&out);
    let manifest = fs::read(out.join("manifest.json")).unwrap();
    let again = ok(&args);
    assert!(text(&again.stderr).contains("already complete"));
    assert_eq!(before, csv_files(&out));
    assert_eq!(manifest, fs::read(out.join("manifest.json")).unwrap());
    let other = chipdip(&[
        "run",
        "scenarios/baseline.toml",
        "--reps",
        "10",
        "--seed",
        "99",
        "--out",
        p(&out),
    ]);
    assert!(!other.status.success());
    assert!(text(&other.stderr).contains("holds another run"));
    assert_eq!(before, csv_files(&out));
}

#[test]
fn issue2_params_lists_every_path_with_a_value_and_a_meaning() {
    for s in [
        "baseline",
        "malaysia_2025",
        "enforcement_surge",
        "sweep_enforcement_pressure",
    ] {
        let out = ok(&["params", &format!("scenarios/{s}.toml")]);
        let listing = text(&out.stdout);
        let mut rows = listing.lines();
        assert_eq!(rows.next(), Some("path\tvalue\tmeaning"));
        let mut n = 0;
        for row in rows {
            let cols: Vec<&str> = row.split('\t').collect();
            assert_eq!(cols.len(), 3, "{s}: {row}");
            assert!(!cols[2].is_empty(), "{s}: no meaning for {}", cols[0]);
            n += 1;
        }
        assert!(n > 100, "{s}: only {n} paths");
        assert!(listing.contains("nations.MYS.dependence.USA\t0.6\t"));
    }
}

#[test]
fn issue2_help_names_the_commands_and_flags() {
    let top = text(&ok(&["--help"]).stdout);
    for c in ["run", "params", "check", "merge"] {
        assert!(top.contains(c), "--help lacks {c}");
    }
    let run = text(&ok(&["run", "--help"]).stdout);
    for f in [
        "--out",
        "--reps",
        "--seed",
        "--threads",
        "--set",
        "--timeseries",
        "--shard",
    ] {
        assert!(run.contains(f), "run --help lacks {f}");
    }
}
