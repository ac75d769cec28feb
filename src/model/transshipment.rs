//! Transshipment through hubs (M9), on the world's side: what each hub's intermediaries may
//! import this month, the grey-market premium at the prohibited destination, and where the
//! imported units end up (the hub's installed base, the destination, or seized).
//!
//! The agents themselves (import, divert, detection) live in [`super::smuggling`]. Each month,
//! after nations' orders are served:
//! 1. the hub's legal allowance is what is left of the product's inventory, within the hub's
//!    licence (approval drawn, annual cap room), shared among its populations by capacity;
//! 2. the premium rises with the destination's unmet demand this month (denied + unfilled);
//! 3. each population steps; retained units are installed in the hub, diverted units reach the
//!    destination (and meet some of its backlog), seized units are held by the enforcer;
//! 4. a detection in a hub makes its regulator cut the hub's licences for a while.

use super::params::{HubParams, Params};
use super::smuggling::{HubConditions, Population, PopulationMonth, grey_market_premium};
use crate::rng::{Purpose, Stream, stream};

/// One hub's intermediaries during a replication.
pub struct Hub {
    pub populations: Vec<Population>,
    /// Expected monthly import capacity of each population (count × median size): the key
    /// by which the hub's allowance is shared.
    pub weights: Vec<f64>,
    pub rng: Stream,
    /// This month's outcome, summed over populations.
    pub month: PopulationMonth,
    /// Totals over the run.
    pub total: PopulationMonth,
}

impl Hub {
    pub fn new(h: &HubParams, index: usize, rep_seed: u64) -> Hub {
        let mut rng = stream(rep_seed, Purpose::Intermediaries, index);
        let populations = h
            .populations
            .iter()
            .map(|(_, pp)| Population::new(pp, &mut rng))
            .collect();
        Hub {
            populations,
            weights: h
                .populations
                .iter()
                .map(|(_, pp)| pp.count as f64 * pp.size_median_units)
                .collect(),
            rng,
            month: PopulationMonth::default(),
            total: PopulationMonth::default(),
        }
    }

    /// Steps every population with `allowance` units to share; returns the month's outcome.
    /// The hub's enforcement capacity is split among its populations by last month's cases,
    /// so attention per case is `capacity / all cases in the hub`.
    pub fn step(&mut self, t: u32, allowance: u64, conditions: HubConditions) -> PopulationMonth {
        let total_weight: f64 = self.weights.iter().sum();
        let cases: u64 = self.populations.iter().map(|x| x.cases_last_month()).sum();
        let mut out = PopulationMonth::default();
        let mut left = allowance;
        let last = self.populations.len().saturating_sub(1);
        for (k, pop) in self.populations.iter_mut().enumerate() {
            let share = if k == last || total_weight <= 0.0 {
                left
            } else {
                ((allowance as f64 * self.weights[k] / total_weight).floor() as u64).min(left)
            };
            let capacity = if cases > 0 {
                conditions.enforcement_capacity_cases * pop.cases_last_month() as f64 / cases as f64
            } else {
                conditions.enforcement_capacity_cases
            };
            let c = HubConditions {
                import_allowance_units: share,
                enforcement_capacity_cases: capacity,
                ..conditions
            };
            let m = pop.step(t, &c, &mut self.rng);
            left -= m.imported_units.min(left);
            out += m;
        }
        self.month = out;
        self.total += out;
        out
    }
}

/// The premium (USD per unit) of `product` at the destination whose unmet demand this month is
/// `gap_h100e`.
pub fn premium(p: &Params, product: usize, gap_h100e: f64) -> f64 {
    let s = &p.smuggling;
    let prod = &p.products[product];
    let gap_units = gap_h100e / prod.h100e_per_unit.value();
    grey_market_premium(
        prod.price_usd,
        gap_units,
        s.reference_gap_units,
        s.premium_at_reference,
        s.elasticity,
        s.max_premium,
    )
}
