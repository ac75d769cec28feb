//! Markets of 2025 (M11 import policy, products, M9 routes): the replay reproduces the patterns
//! the mechanisms are meant to produce, measured on the in-memory results of `malaysia_2025`.

use std::path::Path;

use chipdip::{Scenario, run_in_memory};

const REPS: u32 = 40;

fn replay(sets: &[&str]) -> chipdip::Results {
    replay_n(sets, REPS)
}

/// The replay with `reps` replications: paired comparisons of small shares need more than
/// [`REPS`] to be decided by the mechanism rather than by a few replications.
fn replay_n(sets: &[&str], reps: u32) -> chipdip::Results {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    let mut sets = sets;
    sets.push("simulation.seed=2025".into());
    let s = Scenario::load(Path::new("scenarios/malaysia_2025.toml"), &sets).expect("replay loads");
    run_in_memory(&s, reps).expect("runs")
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

fn series_mean(r: &chipdip::Results, entity: &str, metric: &str, month: &str) -> f64 {
    mean(&r.series(entity, metric, month).expect("series"))
}

/// The H20 episode comes out of the mechanisms: China buys H20s heavily before the US licence
/// requirement of 2025-04 and almost none after its own summons (2025-08 on), although US
/// licences are granted again from 2025-08.
#[test]
fn markets_h20_bought_before_the_requirement_and_not_after_the_summons() {
    let r = replay(&[]);
    let m = "installed_h100e_nvidia";
    let before = series_mean(&r, "CHN", m, "2025-03") - series_mean(&r, "CHN", m, "2025-01");
    let after = series_mean(&r, "CHN", m, "2025-12") - series_mean(&r, "CHN", m, "2025-07");
    assert!(before > 20_000.0, "Feb-Mar 2025: +{before} H100e");
    assert!(
        after < 0.15 * before,
        "Aug-Dec 2025: +{after} H100e vs +{before} in Feb-Mar"
    );
    // Without China's stance the resumed licences would be used.
    let allowed = replay(&[
        "regulators.CHN.discourage_cost.min=0",
        "regulators.CHN.discourage_cost.max=0",
    ]);
    let open =
        series_mean(&allowed, "CHN", m, "2025-12") - series_mean(&allowed, "CHN", m, "2025-07");
    assert!(
        open > 3.0 * after,
        "Aug-Dec without the stance: +{open} vs +{after}"
    );
}

/// The US decision of 2025-12 adds a product (the H200, its own export class, a 25% revenue
/// share) that China then limits: without China's stance, China's Nvidia installs grow in 2026
/// and the US collects more licence revenue; the H20's terms do not change.
#[test]
fn markets_h200_is_a_product_of_its_own_that_china_limits() {
    let base = replay(&[]);
    let open = replay(&["timeline.china_limits_h200.enabled=false"]);
    let m = "installed_h100e_nvidia";
    let growth = |r: &chipdip::Results| {
        series_mean(r, "CHN", m, "2026-12") - series_mean(r, "CHN", m, "2025-11")
    };
    let (b, o) = (growth(&base), growth(&open));
    assert!(
        o > 3.0 * b + 10_000.0,
        "CHN Nvidia 2025-12..2026-12: +{b} limited, +{o} open"
    );
    let revenue =
        |r: &chipdip::Results| mean(&r.summary("USA", "licence_revenue_share_usd").unwrap());
    assert!(revenue(&open) > revenue(&base), "no H200 revenue share");
    assert!(
        revenue(&base) > 0.0,
        "the H20's 15% share collected nothing"
    );
    let s = Scenario::load(Path::new("scenarios/malaysia_2025.toml"), &[]).unwrap();
    let snapshot = s.points[0].setup.snapshots().last().unwrap();
    let p = &snapshot.params;
    let usa = p
        .regulators
        .iter()
        .find(|r| p.nations[r.nation].id == "USA")
        .unwrap();
    let chn = p.nations.iter().position(|n| n.id == "CHN").unwrap();
    let compliant = p
        .export_classes
        .iter()
        .position(|c| c == "compliant")
        .unwrap();
    assert_eq!(usa.rules[chn][compliant].approval_probability, 1.0);
}

fn diverted(r: &chipdip::Results, hub: &str) -> f64 {
    mean(&r.summary(hub, "hub_diverted_units").unwrap())
}

/// A stronger permit regime in Malaysia (full from the start instead of 0.6 from 2025-07)
/// moves a substantial part of the flow it stops to the other hubs (paired runs, same seeds):
/// entrants and intermediaries leaving Malaysia choose Singapore and Thailand.
#[test]
fn markets_malaysian_enforcement_moves_flow_to_other_hubs() {
    let base = replay_n(&[], 200);
    let strong = replay_n(
        &[
            "hubs.MYS.permit_regime=1.0",
            "timeline.malaysia_permit_regime.enabled=false",
        ],
        200,
    );
    let lost = diverted(&base, "MYS") - diverted(&strong, "MYS");
    let gained = diverted(&strong, "SGP") + diverted(&strong, "THA")
        - diverted(&base, "SGP")
        - diverted(&base, "THA");
    assert!(lost > 10_000.0, "Malaysia's regime stops only {lost} units");
    assert!(
        gained > 0.4 * lost,
        "other hubs gain {gained} of {lost} lost in Malaysia"
    );
}

/// Diversion follows profit, not a fixed pool: caught intermediaries leave for good and
/// entrants replace them, so diversion neither collapses in 2026 nor jumps when two years have
/// passed (the old ban length).
#[test]
fn markets_diversion_does_not_collapse_and_rebound() {
    let r = replay(&[]);
    let year = |y: u32| -> f64 {
        (1..=12)
            .map(|m| series_mean(&r, "CHN", "diverted_in_h100e", &format!("{y}-{m:02}")))
            .sum()
    };
    let (y25, y26) = (year(2025), year(2026));
    assert!(y26 > 0.7 * y25, "2025 {y25}, 2026 {y26} H100e");
    let (dec, jan) = (
        series_mean(&r, "CHN", "diverted_in_h100e", "2026-12"),
        series_mean(&r, "CHN", "diverted_in_h100e", "2027-01"),
    );
    assert!(jan < 1.3 * dec, "2026-12 {dec}, 2027-01 {jan}");
    let entrants: f64 = ["MYS", "SGP", "THA"]
        .iter()
        .map(|h| mean(&r.summary(h, "hub_entrants").unwrap()))
        .sum();
    assert!(entrants > 100.0, "{entrants} entrants");
}

/// The grey market clears: the premium follows smuggled supply against China's unmet demand, so
/// it stays below its cap, the trade's size settles where entry balances exits, and yearly
/// diversion neither explodes nor collapses.
#[test]
fn markets_grey_market_clears_and_the_trade_stays_bounded() {
    let r = replay(&[]);
    let hubs = ["MYS", "SGP", "THA"];
    let year = |y: u32, metric: &str| -> f64 {
        (1..=12)
            .flat_map(|m| hubs.map(|h| series_mean(&r, h, metric, &format!("{y}-{m:02}"))))
            .sum()
    };
    let (y26, y27) = (
        year(2026, "hub_diverted_units"),
        year(2027, "hub_diverted_units"),
    );
    assert!(
        y27 < 2.0 * y26 && y27 > 0.5 * y26,
        "diverted 2026 {y26}, 2027 {y27} units"
    );
    let active = |month: &str| -> f64 {
        hubs.iter()
            .map(|h| series_mean(&r, h, "hub_active_intermediaries", month))
            .sum()
    };
    let (start, dec26, dec27) = (active("2025-01"), active("2026-12"), active("2027-12"));
    assert!(
        dec27 < 1.5 * dec26 && dec27 < 1.5 * start,
        "intermediaries 2025-01 {start}, 2026-12 {dec26}, 2027-12 {dec27}"
    );
    // The premium clears below its cap (1.5 × list) rather than saturating.
    for month in ["2025-12", "2026-12", "2027-12"] {
        let premium = series_mean(&r, "THA", "hub_grey_premium_usd_per_unit", month) / 40_000.0;
        assert!(
            premium > 0.1 && premium < 1.2,
            "{month}: premium {premium} of list"
        );
    }
}

/// Enforcement is a caseload: a handful of US cases a year in the replay, not hundreds, each
/// opened and closed as an event with an id; twice the investigators open about twice the
/// cases.
#[test]
fn markets_enforcement_is_a_caseload_of_a_few_cases_a_year() {
    let r = replay(&[]);
    let opened_2025: f64 = (1..=12)
        .map(|m| series_mean(&r, "USA", "investigations_opened", &format!("2025-{m:02}")))
        .sum();
    assert!(
        (2.0..30.0).contains(&opened_2025),
        "{opened_2025} US cases opened in 2025"
    );
    let active = series_mean(&r, "USA", "investigations_active", "2025-12");
    assert!(active > 1.0 && active < 30.0, "{active} open in 2025-12");
    let doubled = replay(&[
        "regulators.USA.enforcement.investigations_per_year.min=8",
        "regulators.USA.enforcement.investigations_per_year.max=24",
    ]);
    let total = |r: &chipdip::Results| mean(&r.summary("USA", "investigations_opened").unwrap());
    assert!(
        total(&doubled) > 1.5 * total(&r),
        "{} vs {}",
        total(&doubled),
        total(&r)
    );
}

/// Remote access moves compute without chips: China rents compute in the hubs from 2025, and a
/// US know-your-customer rule cuts it. Renting and smuggling are substitutes: with the rule,
/// China's grey market pays more and more chips are smuggled (paired runs, same seeds).
#[test]
fn markets_remote_access_is_a_channel_a_rule_cuts() {
    let base = replay(&[]);
    let rule = replay(&["regulators.USA.enforcement.remote_access_rule=1"]);
    let rented = |r: &chipdip::Results| series_mean(r, "CHN", "remote_access_h100e", "2025-12");
    assert!(rented(&base) > 1000.0, "{} H100e rented", rented(&base));
    assert!(
        rented(&rule) < 0.5 * rented(&base),
        "{} with the rule, {} without",
        rented(&rule),
        rented(&base)
    );
    let smuggled = |r: &chipdip::Results| mean(&r.summary("CHN", "diverted_units").unwrap());
    assert!(
        smuggled(&rule) > smuggled(&base),
        "units smuggled into China: {} with the rule, {} without",
        smuggled(&rule),
        smuggled(&base)
    );
}
