//! Diplomacy: the 2025 replay reproduces the seed event; without US pressure it is
//! rare; the Gulf deals raise Gulf installs against the Diffusion-Rule-kept counterfactual.

use chipdip::experiment::replicate;
use chipdip::model::{EventKind, Outcome, Party};
use chipdip::scenario::Scenario;

const REPS: u32 = 300;

fn outcomes(file: &str) -> (Scenario, Vec<Outcome>) {
    let s = Scenario::load(
        format!("scenarios/{file}").as_ref(),
        &["simulation.seed=2025".into()],
    )
    .unwrap();
    let outs = (0..REPS)
        .map(|r| replicate(&s, 0, r).expect("ledger balances with deals and retractions"))
        .collect();
    (s, outs)
}

fn nation(s: &Scenario, id: &str) -> usize {
    s.points[0]
        .setup
        .base()
        .nations
        .iter()
        .position(|n| n.id == id)
        .unwrap()
}

/// MYS announces in 2025-05 (month 4) and retracts in month 4 or 5 after a USA pressure event.
fn seed_event(s: &Scenario, o: &Outcome) -> bool {
    let (mys, usa) = (
        Party::Nation(nation(s, "MYS")),
        Party::Nation(nation(s, "USA")),
    );
    let has = |kind, actor, months: &[u32]| {
        o.events
            .iter()
            .any(|e| e.kind == kind && e.actor == actor && months.contains(&e.month))
    };
    let pressed = o
        .events
        .iter()
        .any(|e| e.kind == EventKind::Pressure && e.actor == usa && e.target == mys);
    has(EventKind::Announce, mys, &[4]) && pressed && has(EventKind::Retract, mys, &[4, 5])
}

fn share(s: &Scenario, outs: &[Outcome], f: impl Fn(&Scenario, &Outcome) -> bool) -> f64 {
    outs.iter().filter(|o| f(s, o)).count() as f64 / outs.len() as f64
}

fn summary_mean(s: &Scenario, outs: &[Outcome], column: &str) -> f64 {
    let names = s.points[0].setup.summary_names();
    let k = names
        .iter()
        .position(|(e, m)| chipdip::output::summary_column(e, m).eq_ignore_ascii_case(column))
        .unwrap_or_else(|| panic!("no summary column {column}"));
    outs.iter().map(|o| o.summary[k]).sum::<f64>() / outs.len() as f64
}

#[test]
fn seed_event_reproduced_under_pressure_and_rare_without() {
    let (replay, a) = outcomes("malaysia_2025.toml");
    let (nopress, b) = outcomes("malaysia_2025_no_pressure.toml");
    let with = share(&replay, &a, seed_event);
    let without = share(&nopress, &b, seed_event);
    // Binomial standard error at n = 300 is under 0.03: margins of several SEs.
    assert!(with >= 0.65, "seed event share under pressure {with}");
    assert!(
        without <= 0.05,
        "seed event share without pressure {without}"
    );
    let rival_with = summary_mean(&replay, &a, "mys_rival_stack_installed");
    let rival_without = summary_mean(&nopress, &b, "mys_rival_stack_installed");
    assert!(
        rival_without > rival_with + 0.4,
        "MYS ends with Ascend installed: {rival_with} with pressure, {rival_without} without"
    );
}

#[test]
fn gulf_deals_raise_gulf_installs_against_the_rule_kept() {
    let (replay, a) = outcomes("malaysia_2025.toml");
    let (kept, b) = outcomes("diffusion_rule_kept.toml");
    for (column, factor) in [
        ("are_installed_h100e_nvidia", 1.5),
        ("sau_installed_h100e_nvidia", 1.5),
    ] {
        let (x, y) = (
            summary_mean(&replay, &a, column),
            summary_mean(&kept, &b, column),
        );
        assert!(x > factor * y, "{column}: replay {x} vs rule kept {y}");
    }
    assert!(summary_mean(&replay, &a, "are_deal_accept_count") > 0.9);
    assert_eq!(summary_mean(&kept, &b, "are_deal_offer_count"), 0.0);
}

#[test]
fn h20_stops_in_april_and_resumes_in_august() {
    let (s, outs) = outcomes("malaysia_2025.toml");
    let names = s.points[0].setup.series_names();
    let width = names.len();
    let col = names
        .iter()
        .position(|(e, m)| e == "CHN" && m == "installed_h100e_nvidia")
        .unwrap();
    let at = |o: &Outcome, month: usize| o.series[month * width + col];
    // Installed Nvidia compute in China is flat while H20 is stopped (2025-04..07) and grows after.
    let stalled = outs.iter().all(|o| at(o, 6) == at(o, 3));
    let resumed = outs.iter().filter(|o| at(o, 10) > at(o, 7)).count();
    assert!(stalled, "H20 deliveries continued during the licence stop");
    assert!(
        resumed as f64 > 0.9 * outs.len() as f64,
        "H20 did not resume: {resumed}"
    );
}

/// Share of `REPS` replications of the replay's first half-year, with `sets`, in which MYS
/// retracts a build after announcing it (later month, or same month and later in the month's
/// event order).
fn retraction_share(sets: &[&str]) -> f64 {
    let mut all: Vec<String> = vec!["simulation.seed=2025".into(), "simulation.months=6".into()];
    all.extend(sets.iter().map(|s| s.to_string()));
    let s = Scenario::load("scenarios/malaysia_2025.toml".as_ref(), &all).unwrap();
    let mys = Party::Nation(nation(&s, "MYS"));
    let hits = (0..REPS)
        .filter(|&r| {
            let o = replicate(&s, 0, r).unwrap();
            let at = |kind| {
                o.events
                    .iter()
                    .position(|e| e.kind == kind && e.actor == mys)
            };
            matches!((at(EventKind::Announce), at(EventKind::Retract)), (Some(a), Some(b)) if a < b)
        })
        .count();
    hits as f64 / REPS as f64
}

#[test]
fn retraction_follows_guidance_certainty_investment_and_dependence() {
    let replay = retraction_share(&[]);
    assert!(replay >= 0.65, "replay retraction share {replay}");
    let no_certainty = retraction_share(&["regulators.USA.guidance_enforcement.certainty=0"]);
    let no_investment = retraction_share(&["nations.MYS.investment_stock_usd.USA=0"]);
    let more_dependence = retraction_share(&["nations.MYS.dependence.USA=0.9"]);
    // Measured at 500 replications: 0.80, 0.28, 0.59, 0.95 (standard error < 0.03 at 300).
    assert!(no_certainty < replay - 0.3, "{no_certainty} vs {replay}");
    assert!(no_investment < replay - 0.1, "{no_investment} vs {replay}");
    assert!(
        more_dependence > replay + 0.08,
        "{more_dependence} vs {replay}"
    );
}

/// ARE + SAU installed US-vendor H100e at `month` (0 = 2025-01), mean over replications.
fn gulf_us_installed(s: &Scenario, outs: &[Outcome], month: usize) -> f64 {
    let names = s.points[0].setup.series_names();
    let cols: Vec<usize> = (names.iter().enumerate())
        .filter(|(_, (e, m))| {
            (e == "ARE" || e == "SAU")
                && (m == "installed_h100e_nvidia" || m == "installed_h100e_amd")
        })
        .map(|(k, _)| k)
        .collect();
    let width = names.len();
    let total: f64 = (outs.iter())
        .map(|o| {
            cols.iter()
                .map(|&c| o.series[month * width + c])
                .sum::<f64>()
        })
        .sum();
    total / outs.len() as f64
}

#[test]
fn gulf_compute_waits_for_the_autumn_licences_and_doubles_the_rule_kept() {
    let (replay, a) = outcomes("malaysia_2025.toml");
    let (kept, b) = outcomes("diffusion_rule_kept.toml");
    let at = |m| gulf_us_installed(&replay, &a, m);
    // No licence under the deals before 2025-09 (processing time), most by 2025-12.
    let grants: Vec<u32> = (a.iter())
        .filter_map(|o| {
            (o.events.iter())
                .find(|e| e.kind == EventKind::LicenceGrant)
                .map(|e| e.month)
        })
        .collect();
    assert!(grants.iter().all(|&m| m >= 8), "a licence before 2025-09");
    assert!(grants.iter().filter(|&&m| m <= 11).count() as f64 > 0.8 * REPS as f64);
    // Slow until the licences, faster after: Jan-Aug 2025 adds less than Aug 2025-Dec 2026.
    let (jan, aug, dec26) = (at(0), at(7), at(23));
    assert!(aug - jan < 0.5 * (dec26 - aug), "{jan} {aug} {dec26}");
    let kept_dec26 = gulf_us_installed(&kept, &b, 23);
    assert!(
        dec26 >= 2.0 * kept_dec26,
        "2026-12: replay {dec26} vs rule kept {kept_dec26}"
    );
}
