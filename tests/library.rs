//! The library façade (`chipdip::*`): the same numbers as the command line, `with_set` applied
//! across the whole timeline, lookups by name with located errors, and a run into a folder
//! from the library writing the CLI's bytes.

use std::path::Path;

use chipdip::{EventKind, LookupError, RunOptions, Scenario, run_in_memory, run_to_folder};

use crate::util::*;

const REPLAY: &str = "scenarios/malaysia_2025.toml";

fn replay() -> Scenario {
    Scenario::load(&Path::new(ROOT).join(REPLAY), &[]).expect("the replay loads")
}

/// The index of nation `id` in a snapshot's parameters.
fn nation(p: &chipdip::model::Params, id: &str) -> usize {
    p.nations.iter().position(|n| n.id == id).expect("nation")
}

/// A CSV value as a number (empty is NaN), for bit-exact comparison.
fn number(s: &str) -> f64 {
    if s.is_empty() {
        f64::NAN
    } else {
        s.parse().unwrap()
    }
}

fn same_bits(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

#[test]
fn facade_in_memory_results_equal_the_cli_run() {
    let d = tmp();
    ok(&[
        "run",
        REPLAY,
        "--reps",
        "60",
        "--seed",
        "11",
        "--timeseries",
        "--set",
        "nations.MYS.dependence.USA=0.9",
        "--out",
        p(d.path()),
    ]);
    let s = replay()
        .with_set("simulation.seed", "11")
        .and_then(|s| s.with_set("nations.MYS.dependence.USA", "0.9"))
        .expect("valid sets");
    // --reps is a --set of simulation.replications: then the same resolved scenario.
    let same = s.with_set("simulation.replications", "60").unwrap();
    assert_eq!(manifest(d.path())["scenario_hash"], same.hash);
    let r = run_in_memory(&s, 60).expect("runs");
    assert_eq!(r.replications().len(), 60);
    assert!(r.failures().is_empty());

    let (head, rows) = read_csv(&d.path().join("summary.csv"));
    let seeds: Vec<String> = r
        .replications()
        .iter()
        .map(|x| x.seed.to_string())
        .collect();
    assert_eq!(seeds, rows.iter().map(|x| x[3].clone()).collect::<Vec<_>>());
    for (k, name) in head.iter().enumerate().skip(4) {
        let csv: Vec<f64> = rows.iter().map(|x| number(&x[k])).collect();
        let mem = r.summary_by_name(name).expect("every column by name");
        assert!(same_bits(&csv, &mem), "{name} differs");
    }
    let (e, m) = ("MYS", "installed_h100e_huawei");
    assert_eq!(
        r.summary_by_name("MYS.retract_count"),
        r.summary("MYS", "retract_count")
    );

    let (_, ts) = read_csv(&d.path().join("timeseries.csv"));
    let csv: Vec<f64> = ts
        .iter()
        .filter(|x| x[2] == "2026-06" && x[3] == e && x[4] == m)
        .map(|x| number(&x[5]))
        .collect();
    assert!(same_bits(&csv, &r.series(e, m, "2026-06").unwrap()));

    let (_, events) = read_csv(&d.path().join("events.csv"));
    // events.csv holds the default kinds (the monthly licence logs only with --events).
    let written = chipdip::output::dictionary::default_events();
    let mem: Vec<Vec<String>> = r
        .events()
        .filter(|x| written.iter().any(|k| k == x.kind.name()))
        .map(|x| {
            vec![
                x.point.to_string(),
                x.replication.to_string(),
                x.month.to_string(),
                x.seq.to_string(),
                x.actor,
                x.target,
                x.kind.name().to_string(),
                chipdip::output::format_number(x.magnitude),
            ]
        })
        .collect();
    assert_eq!(mem, events, "events with the names events.csv writes");
    let retracting = events
        .iter()
        .filter(|x| x[6] == "retract")
        .map(|x| x[1].clone())
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    assert!(retracting > 0, "the replay retracts at this dependence");
    assert_eq!(
        r.share_with_event(EventKind::Retract),
        retracting as f64 / 60.0
    );
}

#[test]
fn facade_with_set_applies_across_the_timeline() {
    let d = tmp();
    // The timeline changes another parameter in 2025-06 (a second snapshot).
    let path = scenario(
        d.path(),
        "timeline.toml",
        r#"
[timeline.guidance]
month = "2025-06"
set = { "regulators.USA.guidance.huawei" = "global" }
"#,
    );
    let loaded = Scenario::load(&path, &[]).expect("loads");
    let set = loaded
        .with_set("nations.MYS.dependence.USA", "0.95")
        .expect("valid");
    let setup = &set.points[0].setup;
    assert_eq!(
        setup.snapshots().len(),
        2,
        "month 0 and the timeline's month"
    );
    for snap in setup.snapshots() {
        let (mys, usa) = (nation(&snap.params, "MYS"), nation(&snap.params, "USA"));
        assert_eq!(
            snap.params.nations[mys].dependence[usa], 0.95,
            "month {}",
            snap.month
        );
    }
    // Exactly what --set gives, down to the resolved tree's hash.
    let cli = Scenario::load(&path, &["nations.MYS.dependence.USA=0.95".into()]).unwrap();
    assert_eq!(set.hash, cli.hash);
    assert_eq!(set.points[0].setup, cli.points[0].setup);
    assert_ne!(set.hash, loaded.hash);
}

#[test]
fn facade_with_set_errors_are_located() {
    let s = replay();
    let e = s
        .with_set("nations.MYS.dependance.USA", "0.5")
        .expect_err("unknown path");
    assert_eq!(e.location, "--set");
    assert_eq!(e.field.as_deref(), Some("nations.MYS.dependance.USA"));
    assert!(e.message.contains("nations.MYS.dependence.USA"), "{e}");
    let e = s
        .with_set("nations.MYS.dependence.USA", "lots")
        .expect_err("not a number");
    assert!(
        e.to_string()
            .starts_with("--set: nations.MYS.dependence.USA"),
        "{e}"
    );
}

#[test]
fn facade_unknown_names_and_months_are_errors() {
    let r = run_in_memory(&replay(), 2).expect("runs");
    match r.summary_by_name("MYS.retract_cuont") {
        Err(LookupError::UnknownName { nearest, .. }) => {
            assert!(nearest.contains("MYS.retract_count"), "{nearest}")
        }
        other => panic!("{other:?}"),
    }
    assert!(r.summary_by_name("mys_no_such_metric").is_err());
    assert!(matches!(
        r.series("MYS", "installed_h100e", "2024-12"),
        Err(LookupError::Month(_))
    ));
    assert!(matches!(
        r.series("MYS", "installed_h100e", "June"),
        Err(LookupError::Month(_))
    ));
    assert_eq!(
        r.series("MYS", "installed_h100e", "2027-12").unwrap().len(),
        2
    );
}

#[test]
fn facade_run_to_folder_writes_the_cli_bytes() {
    let d = tmp();
    let cli = d.path().join("cli");
    ok(&[
        "run",
        REPLAY,
        "--reps",
        "60",
        "--seed",
        "3",
        "--out",
        p(&cli),
    ]);
    let options = RunOptions {
        seed: Some(3),
        reps: Some(60),
        threads: Some(2),
        out: Some(d.path().join("lib")),
        ..RunOptions::default()
    };
    let s = options.load(&Path::new(ROOT).join(REPLAY)).expect("loads");
    let report = run_to_folder(&s, &options, &()).expect("runs");
    assert_eq!(report.replications_run, 60);
    assert_eq!(report.failed_replications, 0);
    assert_same_csvs(&cli, &d.path().join("lib"));
    assert_eq!(manifest(&d.path().join("lib"))["complete"], true);
    // Again into the complete folder: nothing to do.
    let again = run_to_folder(&s, &options, &()).expect("runs");
    assert_eq!(again.state, chipdip::Prepared::AlreadyComplete);
    assert_eq!(again.replications_run, 0);
}
