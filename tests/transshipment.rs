//! Transshipment: enforcement and permits cut diversion through a hub, some moves to
//! the other hub, the ledger balances, and 10,000 intermediaries per hub stay deterministic.

use chipdip::experiment::replicate;
use chipdip::model::Outcome;
use chipdip::scenario::Scenario;

use crate::util::*;

fn runs(file: &str, sets: &[&str], reps: u32) -> (Scenario, Vec<Outcome>) {
    let mut all: Vec<String> = vec!["simulation.seed=5".into()];
    all.extend(sets.iter().map(|s| s.to_string()));
    let s = Scenario::load(format!("scenarios/{file}").as_ref(), &all).unwrap();
    let outs = (0..reps)
        .map(|r| replicate(&s, 0, r).expect("ledger balances with diversion"))
        .collect();
    (s, outs)
}

fn column(s: &Scenario, outs: &[Outcome], name: &str) -> Vec<f64> {
    let names = s.points[0].setup.summary_names();
    let k = names
        .iter()
        .position(|(e, m)| chipdip::output::summary_column(e, m).eq_ignore_ascii_case(name))
        .unwrap_or_else(|| panic!("no summary column {name}"));
    outs.iter().map(|o| o.summary[k]).collect()
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// Mean and standard error of the paired differences b − a.
fn paired(a: &[f64], b: &[f64]) -> (f64, f64) {
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| y - x).collect();
    let m = mean(&d);
    let var = d.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (d.len() as f64 - 1.0);
    (m, (var / d.len() as f64).sqrt())
}

#[test]
fn doubled_enforcement_cuts_diversion() {
    let (s, base) = runs("malaysia_2025.toml", &[], 150);
    let (t, surge) = runs("enforcement_surge.toml", &[], 150);
    let (a, b) = (
        mean(&column(&s, &base, "chn_diverted_units")),
        mean(&column(&t, &surge, "chn_diverted_units")),
    );
    assert!(a > 10_000.0, "too little diversion in the replay: {a}");
    assert!(b < 0.8 * a, "surge {b} vs replay {a}");
}

#[test]
fn a_permit_regime_moves_diversion_to_the_other_hub() {
    let (s, open) = runs("baseline.toml", &["hubs.MYS.permit_regime=0"], 500);
    let (t, strict) = runs("baseline.toml", &["hubs.MYS.permit_regime=1"], 500);
    let (d_mys, se_mys) = paired(
        &column(&s, &open, "mys_hub_diverted_units"),
        &column(&t, &strict, "mys_hub_diverted_units"),
    );
    let (d_sgp, se_sgp) = paired(
        &column(&s, &open, "sgp_hub_diverted_units"),
        &column(&t, &strict, "sgp_hub_diverted_units"),
    );
    assert!(
        d_mys < -5.0 * se_mys && d_mys < 0.0,
        "MYS diversion change {d_mys} ± {se_mys}"
    );
    assert!(
        d_sgp > 3.0 * se_sgp && d_sgp > 0.0,
        "SGP diversion change {d_sgp} ± {se_sgp} (balloon effect)"
    );
}

#[test]
fn ten_thousand_intermediaries_per_hub_same_bytes_for_any_threads() {
    let d = tmp();
    let run = |threads: &str| {
        let out = d.path().join(format!("t{threads}"));
        ok(&argv(
            "run scenarios/malaysia_2025.toml --reps 8 --threads",
            &[
                threads,
                "--timeseries",
                "--set",
                "hubs.MYS.populations.shells.count=10000",
                "--set",
                "hubs.SGP.populations.shells.count=10000",
                "--out",
                p(&out),
            ],
        ));
        csv_files(&out)
    };
    let one = run("1");
    assert!(
        one == run("2"),
        "threads 1 and 2 differ with 10,000 intermediaries per hub"
    );
    let events = &one.iter().find(|(n, _)| n == "events.csv").unwrap().1;
    let events = text(events);
    assert!(events.contains(",divert,") && events.contains(",seizure,"));
}
