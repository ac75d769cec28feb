//! Policy levers: pulling one lever with `--set` moves the outcomes it should,
//! by a margin, against the baseline with the same seed (common random numbers). One test per
//! mechanism of the core: M3 export rules, M4 guidance, M1/M10 supply and the patron, M7
//! alignment.

use std::path::{Path, PathBuf};

use crate::util::*;

const REPS: &str = "40";
const SEED: &str = "11";

/// Runs the baseline with `sets` (each a `PATH=VALUE`) into `dir/name`.
fn baseline_with(dir: &Path, name: &str, sets: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let mut args = argv(
        "run scenarios/baseline.toml --reps",
        &[REPS, "--seed", SEED, "-q", "--out", p(&out)],
    );
    for s in sets {
        args.extend(["--set", s]);
    }
    ok(&args);
    out
}

/// M3: removing the licence requirement for a tier-2 nation (the UAE to tier 1) lets its
/// Nvidia purchases through: far more installed, no demand denied.
#[test]
fn lifting_a_tier2_licence_raises_installs_and_ends_denial() {
    let d = tmp();
    let base = baseline_with(d.path(), "base", &[]);
    let lifted = baseline_with(
        d.path(),
        "lifted",
        &["regulators.USA.destinations.ARE=tier1"],
    );
    let (b, l) = (
        column_mean(&base, "are_installed_h100e_nvidia"),
        column_mean(&lifted, "are_installed_h100e_nvidia"),
    );
    assert!(
        l > 2.0 * b,
        "ARE Nvidia installed: {b} with the licence, {l} without"
    );
    let (b, l) = (
        column_mean(&base, "are_denied_h100e"),
        column_mean(&lifted, "are_denied_h100e"),
    );
    assert!(b > 0.0, "the tier-2 licence denies the UAE nothing");
    assert!(l < 0.1 * b, "ARE denied: {b} with the licence, {l} without");
    // Every replication, not just the mean: the lever moves each draw the same way.
    let (bs, ls) = (
        column(&base, "are_installed_h100e_nvidia"),
        column(&lifted, "are_installed_h100e_nvidia"),
    );
    assert!(bs.iter().zip(&ls).all(|(b, l)| l > b));
}

/// M3: a larger tier-2 annual cap means less demand denied to Malaysia and more installed.
#[test]
fn a_larger_tier2_cap_means_less_denial_for_malaysia() {
    let d = tmp();
    let base = baseline_with(d.path(), "base", &[]);
    let capped = baseline_with(
        d.path(),
        "cap",
        &["regulators.USA.tiers.tier2.frontier.annual_cap_h100e=200000"],
    );
    let (b, c) = (
        column_mean(&base, "mys_denied_h100e"),
        column_mean(&capped, "mys_denied_h100e"),
    );
    assert!(c < 0.8 * b, "MYS denied: cap 16,633 {b}, cap 200,000 {c}");
    let (b, c) = (
        column_mean(&base, "mys_installed_h100e_nvidia"),
        column_mean(&capped, "mys_installed_h100e_nvidia"),
    );
    // The hub's intermediaries (M9) keep importing through the run (they enter as long as
    // diverting pays) and what they do not divert is installed in Malaysia in both runs, so
    // the cap moves a smaller share of the total than it did with a pool that ran dry.
    assert!(c > 1.2 * b, "MYS Nvidia installed: {b} vs {c}");
}

/// M1/M10: with more Ascend capacity than China takes, Huawei exports, and Ascend chips reach
/// Malaysia; M4: global guidance against Huawei then cuts that adoption abroad.
#[test]
fn ascend_supply_reaches_malaysia_and_global_guidance_cuts_it() {
    let d = tmp();
    let base = baseline_with(d.path(), "base", &[]);
    // More 910C lines, and dies for them (no shared die limit).
    let more = [
        "products.ascend_910c.capacity_units_per_month=200000",
        "firms.huawei.die_supply_per_month=0",
    ];
    let plenty = baseline_with(d.path(), "plenty", &more);
    let guided = baseline_with(
        d.path(),
        "guided",
        &[more[0], more[1], "regulators.USA.guidance.huawei=global"],
    );
    let share = |dir: &Path| column_mean(dir, "huawei_export_share");
    let mys = |dir: &Path| column_mean(dir, "mys_installed_h100e_huawei");
    assert!(
        share(&plenty) > share(&base) + 0.05,
        "Huawei export share: {} vs {}",
        share(&base),
        share(&plenty)
    );
    assert!(
        mys(&plenty) > 10.0 * mys(&base).max(1.0),
        "MYS Ascend installed: {} vs {}",
        mys(&base),
        mys(&plenty)
    );
    assert!(
        column_mean(&plenty, "chn_installed_h100e_huawei")
            > column_mean(&base, "chn_installed_h100e_huawei"),
        "China first: more Ascend capacity must reach China too"
    );
    assert!(
        mys(&guided) < 0.7 * mys(&plenty),
        "global guidance: MYS Ascend installed {} vs {}",
        mys(&guided),
        mys(&plenty)
    );
    assert!(share(&guided) < share(&plenty));
}

/// M10: without home priority, Huawei sells abroad what China would otherwise have taken.
#[test]
fn huawei_without_home_priority_exports_more() {
    let d = tmp();
    let base = baseline_with(d.path(), "base", &[]);
    let open = baseline_with(d.path(), "open", &["firms.huawei.home_priority=false"]);
    let (b, o) = (
        column_mean(&base, "huawei_export_share"),
        column_mean(&open, "huawei_export_share"),
    );
    assert!(
        o > b + 0.01,
        "Huawei export share: {b} with home priority, {o} without"
    );
    assert!(
        column_mean(&open, "chn_installed_h100e_huawei")
            < column_mean(&base, "chn_installed_h100e_huawei")
    );
}

/// M7: licence denials push a nation's alignment away from the denying power; without that
/// push Malaysia ends closer to the US.
#[test]
fn without_the_denial_push_malaysia_ends_closer_to_the_us() {
    let d = tmp();
    let base = baseline_with(d.path(), "base", &[]);
    let calm = baseline_with(d.path(), "calm", &["alignment.denial_push=0"]);
    let (b, c) = (
        column_mean(&base, "mys_alignment"),
        column_mean(&calm, "mys_alignment"),
    );
    assert!(
        c > b + 0.1,
        "MYS alignment: {b} with the denial push, {c} without"
    );
    // Tier-1 nations see no denials: they move only through the shared market, barely.
    let (b, c) = (
        column(&base, "row_alignment"),
        column(&calm, "row_alignment"),
    );
    assert!(
        b.iter().zip(&c).all(|(x, y)| (x - y).abs() < 1e-3),
        "ROW alignment moved: {b:?} vs {c:?}"
    );
}
