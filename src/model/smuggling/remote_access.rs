//! M9 remote access: the destination rents compute in a hub's data centres, a channel that
//! moves compute without moving chips.
//!
//! Code for `docs/model.md` § M9 (remote access). Each month, after transshipment, for each
//! hub: the compute from the product regulator's firms installed in the hub (`installed`,
//! H100e; legitimately shipped and kept there) can be rented to the hub's destination, up to
//! the data-centre capacity the hub's operators offer for it,
//! `cap = hubs.*.remote_access_mw × smuggling.h100e_per_mw`. What is rented is
//!
//! `rented = min(cap, remote_access_share × installed) × min(1, π / π_ref) × (1 − rule × enforcement)`
//!
//! with `π / π_ref` the destination's grey premium over its 2024–25 reference (what unmet
//! demand pays; the hubs' requests use the same utilisation), `rule` the regulator's
//! know-your-customer / remote-access restriction (`regulators.*.enforcement.remote_access_rule`,
//! 0 in 2025) and `enforcement` the share of rentals a rule in force stops
//! (`regulators.*.enforcement.remote_access_enforcement`). The result is a level: H100e the
//! destination uses from abroad this month (series `remote_access_h100e`). Renting compute
//! substitutes for buying it: the month's change in what the destination rents counts with
//! the chips smuggled in, in the grey market's clearing (more rentals, a lower premium) and
//! against its backlog (M2; rentals a rule takes away become unmet demand again), see
//! [`super::hubs`].

/// H100e a hub's data centres rent to the destination this month (see the module doc).
pub fn rented_h100e(
    installed_h100e: f64,
    share: f64,
    cap_h100e: f64,
    premium_ratio: f64,
    rule: f64,
    enforcement: f64,
) -> f64 {
    let offered = (share * installed_h100e).min(cap_h100e).max(0.0);
    offered * premium_ratio.clamp(0.0, 1.0) * (1.0 - (rule * enforcement).clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rentals_are_bounded_by_capacity_and_cut_by_the_rule() {
        // 5% of 100k H100e, within 10k of capacity.
        assert_eq!(
            rented_h100e(100_000.0, 0.05, 10_000.0, 1.0, 0.0, 0.8),
            5_000.0
        );
        // The data centres bound it.
        assert_eq!(rented_h100e(1e6, 0.05, 10_000.0, 1.0, 0.0, 0.8), 10_000.0);
        // A lower premium, less demand for rented compute; no premium, none.
        assert_eq!(rented_h100e(100_000.0, 0.05, 1e9, 0.5, 0.0, 0.8), 2_500.0);
        assert_eq!(rented_h100e(100_000.0, 0.05, 1e9, 0.0, 0.0, 0.8), 0.0);
        // A full rule enforced at 80% stops 80% of the rentals.
        let ruled = rented_h100e(100_000.0, 0.05, 1e9, 1.0, 1.0, 0.8);
        assert!((ruled - 1_000.0).abs() < 1e-9);
    }
}
