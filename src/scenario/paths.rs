//! Dotted parameter paths (MODEL.md principle 3): one scheme for `--set`, timeline changes,
//! sweeps and `chipdip params`.
//!
//! A path names a scalar in the resolved scenario tree: `nations.MYS.dependence.USA`,
//! `regulators.USA.tiers.tier2.frontier.status`, `products.ascend_910c.h100e_per_unit.min`.
//! Segments that contain dots are double-quoted (`timeline.x.set."nations.MYS.alignment"`).

use toml::{Table, Value};

/// `prefix.key`, quoting `key` when it contains a dot.
pub fn join(prefix: &str, key: &str) -> String {
    let key = if key.contains('.') {
        format!("\"{key}\"")
    } else {
        key.to_string()
    };
    if prefix.is_empty() {
        key
    } else {
        format!("{prefix}.{key}")
    }
}

/// Splits a path into segments, honouring double-quoted segments.
pub fn split(path: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in path.chars() {
        match c {
            '"' => quoted = !quoted,
            '.' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    if quoted {
        return Err(format!("unclosed quote in path `{path}`"));
    }
    out.push(cur);
    if out.iter().any(|s| s.is_empty()) {
        return Err(format!("empty segment in path `{path}`"));
    }
    Ok(out)
}

/// Every scalar (and array) path in `tree` with its value, sorted by path.
pub fn flatten(tree: &Table) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    walk(tree, "", &mut out);
    out
}

fn walk(t: &Table, prefix: &str, out: &mut Vec<(String, Value)>) {
    for (k, v) in t {
        let p = join(prefix, k);
        match v {
            Value::Table(inner) => walk(inner, &p, out),
            v => out.push((p, v.clone())),
        }
    }
}

/// Value of `path` in `tree`, if it exists.
pub fn get<'t>(tree: &'t Table, path: &str) -> Option<&'t Value> {
    let segs = split(path).ok()?;
    let (last, parents) = segs.split_last()?;
    let mut t = tree;
    for s in parents {
        t = t.get(s.as_str())?.as_table()?;
    }
    t.get(last.as_str())
}

/// Levenshtein distance (small strings only).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The candidates closest to `wanted`, best first (at most `n`).
pub fn nearest<'a>(
    wanted: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    n: usize,
) -> Vec<&'a str> {
    let mut scored: Vec<(usize, &str)> = candidates
        .into_iter()
        .map(|c| (edit_distance(wanted, c), c))
        .collect();
    scored.sort();
    scored.into_iter().take(n).map(|(_, c)| c).collect()
}

/// "nearest valid: a, b, c" for an unknown path.
pub fn nearest_message(wanted: &str, flat: &[(String, Value)]) -> String {
    let near = nearest(wanted, flat.iter().map(|(p, _)| p.as_str()), 3);
    format!("nearest valid paths: {}", near.join(", "))
}

/// One-line meaning of every parameter path, by pattern (`*` matches one segment). Keep in step
/// with the scenario format; a test checks every path of every shipped scenario has a meaning.
#[rustfmt::skip]
pub const MEANINGS: &[(&str, &str)] = &[
    ("name", "scenario name"),
    ("description", "what the scenario is for"),
    ("simulation.start_month", "first simulated month (YYYY-MM)"),
    ("simulation.months", "number of monthly steps"),
    (
        "simulation.replications",
        "Monte Carlo replications per point",
    ),
    (
        "simulation.seed",
        "master seed; replication seeds derive from it",
    ),
    ("products.*.vendor", "firm that makes the product"),
    (
        "products.*.h100e_per_unit",
        "performance per unit in H100-equivalents",
    ),
    (
        "products.*.h100e_per_unit.*",
        "range of H100e per unit (drawn per replication)",
    ),
    ("products.*.price_usd", "list price per unit, USD"),
    (
        "products.*.export_class",
        "export-control class the vendor's regulator applies",
    ),
    (
        "products.*.capacity_units_per_month",
        "units the line can start per month at the start",
    ),
    (
        "products.*.capacity_growth_annual",
        "annual growth of capacity (0.5 = +50%/yr)",
    ),
    (
        "products.*.capacity_growth_annual.*",
        "range of annual capacity growth",
    ),
    (
        "products.*.yield_start",
        "share of started units that are good at the start",
    ),
    ("products.*.yield_start.*", "range of the starting yield"),
    ("products.*.yield_target", "yield reached after the ramp"),
    ("products.*.yield_target.*", "range of the target yield"),
    (
        "products.*.yield_ramp_months",
        "months to ramp from start to target yield",
    ),
    (
        "products.*.yield_sd",
        "monthly standard deviation of yield around its ramp",
    ),
    (
        "products.*.initial_inventory_units",
        "vendor inventory at the start, units",
    ),
    (
        "firms.*.home",
        "nation the firm is headquartered in (its regulator)",
    ),
    (
        "firms.*.home_priority",
        "serve the home market before exports (M10)",
    ),
    (
        "firms.*.export_discount",
        "price discount for foreign buyers (M10), share",
    ),
    (
        "nations.*.demand_h100e_per_month",
        "new compute wanted per month at the start, H100e",
    ),
    ("nations.*.demand_growth_annual", "annual growth of demand"),
    (
        "nations.*.demand_growth_annual.*",
        "range of annual demand growth",
    ),
    (
        "nations.*.demand_noise_sigma",
        "sigma of the monthly lognormal demand shock",
    ),
    (
        "nations.*.backlog_decay",
        "share of unmet demand that lapses each month",
    ),
    (
        "nations.*.alignment",
        "initial alignment, -1 China to +1 US",
    ),
    (
        "nations.*.strategic_value",
        "how much the powers care about this nation, 0-1",
    ),
    (
        "nations.*.dependence.*",
        "dependence on that nation (trade, investment, security), 0-1",
    ),
    (
        "nations.*.ecosystem.*",
        "utility bonus for that firm's stack (ecosystem pull)",
    ),
    (
        "nations.*.installed_units.*",
        "units of that product installed at the start",
    ),
    (
        "nations.*.projects.*.month",
        "month a planned build places its order",
    ),
    (
        "nations.*.projects.*.product",
        "product the planned build uses",
    ),
    (
        "nations.*.projects.*.units",
        "units the planned build orders",
    ),
    (
        "regulators.*.default_tier",
        "tier of destinations not listed",
    ),
    (
        "regulators.*.destinations.*",
        "export tier of that destination",
    ),
    (
        "regulators.*.tiers.*.*.status",
        "allowed | licence | prohibited for that tier and class",
    ),
    (
        "regulators.*.tiers.*.*.approval_probability",
        "chance a month's licence application is approved",
    ),
    (
        "regulators.*.tiers.*.*.delay_months",
        "months from approval to delivery",
    ),
    (
        "regulators.*.tiers.*.*.annual_cap_h100e",
        "licensed H100e per destination per calendar year",
    ),
    (
        "regulators.*.tiers.*.*.exempt_h100e_per_year",
        "H100e per year shipped licence-free (low-volume exception)",
    ),
    (
        "regulators.*.guidance.*",
        "guidance against that firm's chips: none | home_only | global",
    ),
    (
        "regulators.*.guidance_sanction_share",
        "expected sanction cost of warned chips, share of price, at full dependence",
    ),
    (
        "market.price_performance_weight",
        "vendor choice: weight on ln(H100e per $10k)",
    ),
    (
        "market.alignment_weight",
        "vendor choice: weight on buyer alignment x vendor-home alignment",
    ),
    (
        "market.sanction_weight",
        "vendor choice: weight on expected sanction cost",
    ),
    (
        "market.availability_weight",
        "vendor choice: weight on ln(licence approval probability)",
    ),
    (
        "market.lead_time_weight_per_month",
        "vendor choice: utility lost per month of licence delay",
    ),
    (
        "alignment.reversion_per_month",
        "share of the gap to initial alignment closed per month",
    ),
    (
        "alignment.purchase_pull",
        "alignment move per month toward the side a nation buys from",
    ),
    (
        "alignment.denial_push",
        "alignment move per month away from a regulator denying all demand",
    ),
    ("nations.*.projects.*.value", "what the planned build is worth to the nation (M6), 0-1 scale"),
    ("nations.*.reputation_cost", "cost of backing down after an announcement (M6), 0-1 scale"),
    ("diplomacy.announce_threshold_h100e", "planned builds at least this large (H100e) are announced (M6)"),
    ("diplomacy.decision_noise_sd", "noise on retract/hold and accept/reject choices"),
    ("diplomacy.deal_value_weight", "value of a deal covering a year of demand (M8), 0-1 scale"),
    ("regulators.*.pressure.enabled", "whether this power presses nations over rival-stack builds (M6)"),
    ("regulators.*.pressure.propensity", "P(press) = 1 - exp(-propensity x strategic value x size / size scale)"),
    ("regulators.*.pressure.size_scale_h100e", "deployment size that makes pressing likely, H100e"),
    ("regulators.*.pressure.intensity", "threatened cost, 0-1, times the target's dependence"),
    ("regulators.*.pressure.cost", "licence_cut | investment_withdrawn | tariff: the cost imposed if the target holds"),
    ("regulators.*.pressure.punishment_months", "months the imposed cost lasts"),
    ("regulators.*.pressure.backlash", "alignment the target moves away from the presser when pressed"),
    ("regulators.*.pressure.compliance_shift", "alignment the target moves toward the presser when it retracts"),
    ("regulators.*.patron.counter_offer_probability", "chance the patron counters pressure on its stack (M10)"),
    ("regulators.*.patron.counter_offer_value", "value of the counter-offer, 0-1 scale"),
    ("regulators.*.patron.alignment_shift", "alignment toward the patron when a target holds with its offer"),
    ("regulators.*.patron.retaliation_probability", "chance the patron retaliates against a retraction"),
    ("regulators.*.patron.retaliation_intensity", "share of the target's demand lost to retaliation"),
    ("regulators.*.patron.retaliation_months", "months retaliation lasts"),
    ("regulators.*.patron.retaliation_alignment_shift", "alignment away from the patron after retaliation"),
    ("regulators.*.deals.*.enabled", "whether the deal is offered (M8)"),
    ("regulators.*.deals.*.nation", "partner the deal is offered to"),
    ("regulators.*.deals.*.product", "product allocated"),
    ("regulators.*.deals.*.month", "month the deal is offered"),
    ("regulators.*.deals.*.units_per_year", "allocation, units per year, served first"),
    ("regulators.*.deals.*.licence_exempt", "accepted partner imports without licences or caps"),
    ("regulators.*.deals.*.constraint_cost", "cost of the security constraints to the partner, 0-1 scale"),
    ("regulators.*.deals.*.breach_probability", "monthly chance the partner breaches"),
    ("regulators.*.deals.*.detection_probability", "chance a breach is detected (revoking the deal)"),
    ("regulators.*.deals.*.alignment_shift", "alignment toward the regulator on accepting"),
    ("regulators.*.enforcement.effort", "detection hazard per diversion case at full attention (M9)"),
    ("regulators.*.enforcement.capacity_cases", "diversion cases a month the enforcer can pursue per hub at full attention"),
    ("regulators.*.enforcement.fine_per_violation_usd", "fine per violation, USD (penalty: the greater of this and the value multiple)"),
    ("regulators.*.enforcement.penalty_value_multiple", "penalty as a multiple of the transaction value"),
    ("regulators.*.enforcement.permit_hazard", "hazard a hub's full permit regime adds"),
    ("regulators.*.enforcement.response_licence_cut", "licence cut for a hub where diversion was detected, share"),
    ("regulators.*.enforcement.response_months", "months the response lasts"),
    ("hubs.*.destination", "prohibited destination the hub's intermediaries divert to (M9)"),
    ("hubs.*.product", "controlled product the intermediaries import"),
    ("hubs.*.permit_regime", "the hub's own export-permit regime, 0-1"),
    ("hubs.*.populations.*.count", "number of intermediaries"),
    ("hubs.*.populations.*.size_median_units", "median monthly import capacity, units (lognormal)"),
    ("hubs.*.populations.*.size_sigma", "sigma of the lognormal import capacity"),
    ("hubs.*.populations.*.risk_appetite_alpha", "Beta alpha of risk appetite (share of risk ignored)"),
    ("hubs.*.populations.*.risk_appetite_beta", "Beta beta of risk appetite"),
    ("hubs.*.populations.*.max_divert_fraction", "largest share of its imports an intermediary diverts"),
    ("hubs.*.populations.*.volume_scale_units", "monthly diverted volume that doubles the detection hazard"),
    ("hubs.*.populations.*.ban_months", "months a caught intermediary is barred"),
    ("smuggling.reference_gap_units", "destination's unmet demand (units) at which the premium is the reference"),
    ("smuggling.premium_at_reference", "grey-market premium at the reference gap, share of list price"),
    ("smuggling.elasticity", "elasticity of the premium to the gap"),
    ("smuggling.max_premium", "highest premium, share of list price"),
    ("timeline.*.month", "month a dated change takes effect"),
    ("timeline.*.note", "what the dated change represents"),
    (
        "timeline.*.enabled",
        "whether the dated change applies (false to drop an inherited one)",
    ),
    ("timeline.*.set.*", "parameter set by the dated change"),
    (
        "sweep.design",
        "sweep design: grid | random | latin_hypercube | sobol",
    ),
    ("sweep.points", "number of points of a sampled design"),
    ("sweep.seed", "seed of the sampled design"),
    ("sweep.factors.*.values", "values of a swept parameter"),
    (
        "sweep.factors.*.min",
        "lower end of a swept parameter's range",
    ),
    (
        "sweep.factors.*.max",
        "upper end of a swept parameter's range",
    ),
    ("sweep.factors.*.log", "sample the range on a log scale"),
    (
        "sweep.factors.*.integer",
        "round the swept parameter to integers",
    ),
    ("sweep.factors.*.levels", "grid levels across the range"),
];

/// The meaning of `path`, if documented.
pub fn meaning(path: &str) -> Option<&'static str> {
    let segs = split(path).ok()?;
    MEANINGS.iter().find_map(|(pattern, text)| {
        let pat: Vec<&str> = pattern.split('.').collect();
        (pat.len() == segs.len() && pat.iter().zip(&segs).all(|(p, s)| *p == "*" || p == s))
            .then_some(*text)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_and_join_quote_dotted_segments() {
        let p = join("timeline.x.set", "nations.MYS.alignment");
        assert_eq!(p, "timeline.x.set.\"nations.MYS.alignment\"");
        assert_eq!(
            split(&p).unwrap(),
            vec!["timeline", "x", "set", "nations.MYS.alignment"]
        );
        assert!(split("a..b").is_err());
        assert!(split("a.\"b").is_err());
    }

    #[test]
    fn nearest_finds_the_typo() {
        let c = [
            "nations.MYS.alignment",
            "nations.MYS.backlog_decay",
            "simulation.months",
        ];
        assert_eq!(
            nearest("nations.MYS.alignmnet", c, 1),
            vec!["nations.MYS.alignment"]
        );
    }

    #[test]
    fn meanings_match_by_pattern() {
        assert!(meaning("nations.MYS.dependence.USA").is_some());
        assert!(meaning("regulators.USA.tiers.tier2.frontier.status").is_some());
        assert!(meaning("nations.MYS.nonsense").is_none());
    }
}
