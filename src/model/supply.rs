//! M1 Supply: each product line's monthly output into its vendor's inventory.
//!
//! Code for `docs/model.md` § M1. Runs first in the resolve phase of the month, after orders.
//! For product `j` in month `t` (months from the start):
//!
//! - capacity `= capacity_units_per_month × (1 + capacity_growth_annual)^(t/12)`;
//! - yield `= yield_start + (yield_target − yield_start) × min(1, t / yield_ramp_months)`
//!   (`1` at once when `yield_ramp_months = 0`), plus `yield_sd × z`, `z ~ N(0, 1)` drawn
//!   from the product's own `Yield` stream when `yield_sd > 0`, clamped to `[0, 1]`;
//! - when the vendor's lines share a die supply (`firms.*.die_supply_per_month` > 0, e.g.
//!   Huawei's allocation at SMIC's 7 nm node), each line wants `capacity × dies_per_unit`
//!   dies and all get the same share
//!   `s = min(1, die_supply × (1 + die_supply_growth_annual)^(t/12) / Σ wanted)`, so a line
//!   starts `capacity × s` units (else `s = 1`): a two-die package (the 910C) ramps at the
//!   expense of the single-die chip (the 910B), and the firm's output is bounded by its dies,
//!   not by the sum of its lines' plans;
//! - units produced `= round(capacity × s × yield)`, added to inventory.
//!
//! Parameter paths: `products.*.capacity_units_per_month`, `capacity_growth_annual`,
//! `yield_start`, `yield_target`, `yield_ramp_months`, `yield_sd`, `dies_per_unit`,
//! `initial_inventory_units`, `firms.*.{die_supply_per_month, die_supply_growth_annual}`.
//! The inventory is then shared out by [`super::allocation`].

use super::flows::Flows;
use super::params::Params;
use crate::math;
use crate::rng::{Purpose, Stream, stream};

/// Vendor inventories and production to date, per product.
pub struct Supply {
    inventory: Vec<u64>,
    produced: Vec<u64>,
    rng: Vec<Stream>,
    /// Scratch: this month's capacity per product, the dies each firm's lines want, and the
    /// share of its plan each firm's lines can start.
    capacity: Vec<f64>,
    dies_wanted: Vec<f64>,
    start_share: Vec<f64>,
    /// `(1 + growth)^years` of each product's capacity and each firm's die supply, with the
    /// base's logarithm kept from month to month.
    capacity_growth: Vec<math::PowOf>,
    die_growth: Vec<math::PowOf>,
}

impl Supply {
    pub fn new(p: &Params, rep_seed: u64) -> Supply {
        Supply {
            inventory: p
                .products
                .iter()
                .map(|x| x.initial_inventory_units)
                .collect(),
            produced: vec![0; p.products.len()],
            rng: (0..p.products.len())
                .map(|j| stream(rep_seed, Purpose::Yield, j))
                .collect(),
            capacity: vec![0.0; p.products.len()],
            dies_wanted: vec![0.0; p.firms.len()],
            start_share: vec![1.0; p.firms.len()],
            capacity_growth: vec![math::PowOf::default(); p.products.len()],
            die_growth: vec![math::PowOf::default(); p.firms.len()],
        }
    }

    /// Units of `product` in its vendor's inventory.
    #[inline]
    pub fn inventory(&self, product: usize) -> u64 {
        self.inventory[product]
    }

    /// Units of `product` produced so far.
    pub fn produced(&self, product: usize) -> u64 {
        self.produced[product]
    }

    /// Whether `product` can be had at all: stock on hand or a line producing it.
    pub fn available(&self, p: &Params, product: usize) -> bool {
        self.inventory[product] > 0 || p.products[product].capacity_units_per_month > 0.0
    }

    /// Replaces `product`'s inventory by what allocation left of it.
    pub fn set_inventory(&mut self, product: usize, units: u64) {
        self.inventory[product] = units;
    }

    /// Units granted but not taken (a hub's intermediaries imported less) go back to stock.
    pub fn restock(&mut self, product: usize, units: u64) {
        self.inventory[product] += units;
    }

    /// Month `t`'s production into inventory (see the module doc).
    pub fn produce(&mut self, p: &Params, t: u32, flows: &mut Flows) {
        let years = t as f64 / 12.0;
        self.dies_wanted.fill(0.0);
        for (j, prod) in p.products.iter().enumerate() {
            self.capacity[j] = if prod.capacity_units_per_month > 0.0 {
                prod.capacity_units_per_month
                    * self.capacity_growth[j]
                        .raise(1.0 + prod.capacity_growth_annual.value(), years)
            } else {
                0.0
            };
            self.dies_wanted[prod.vendor] += self.capacity[j] * prod.dies_per_unit;
        }
        for (f, firm) in p.firms.iter().enumerate() {
            let dies = firm.die_supply_per_month.value();
            self.start_share[f] = if dies > 0.0 && self.dies_wanted[f] > 0.0 {
                let growth =
                    self.die_growth[f].raise(1.0 + firm.die_supply_growth_annual.value(), years);
                let dies = dies * growth;
                (dies / self.dies_wanted[f]).min(1.0)
            } else {
                1.0
            };
        }
        for (j, prod) in p.products.iter().enumerate() {
            if prod.capacity_units_per_month <= 0.0 {
                continue;
            }
            let capacity = self.capacity[j] * self.start_share[prod.vendor];
            let ramp = if prod.yield_ramp_months > 0.0 {
                (t as f64 / prod.yield_ramp_months).min(1.0)
            } else {
                1.0
            };
            let (y0, y1) = (prod.yield_start.value(), prod.yield_target.value());
            let mut good = y0 + (y1 - y0) * ramp;
            if prod.yield_sd > 0.0 {
                let z = math::standard_normal(&mut self.rng[j]);
                good += prod.yield_sd * z;
            }
            let units = (capacity * good.clamp(0.0, 1.0)).round() as u64;
            self.inventory[j] += units;
            self.produced[j] += units;
            flows.production_units[prod.vendor] += units;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixture::{self, ASCEND, H100, HUAWEI, NVIDIA};
    use crate::model::params::Uncertain;

    fn month(p: &Params, supply: &mut Supply, t: u32) -> Vec<u64> {
        let mut flows = Flows::new(p.nations.len(), p.firms.len());
        let before: Vec<u64> = (0..p.products.len()).map(|j| supply.inventory(j)).collect();
        supply.produce(p, t, &mut flows);
        (0..p.products.len())
            .map(|j| supply.inventory(j) - before[j])
            .collect()
    }

    #[test]
    fn yield_ramps_linearly_then_holds_at_target() {
        let mut p = fixture::params();
        let prod = &mut p.products[H100];
        prod.yield_start = Uncertain::Fixed(0.4);
        prod.yield_target = Uncertain::Fixed(0.6);
        prod.yield_ramp_months = 10.0;
        let mut s = Supply::new(&p, 1);
        assert_eq!(month(&p, &mut s, 0)[H100], 400);
        assert_eq!(month(&p, &mut s, 5)[H100], 500);
        assert_eq!(month(&p, &mut s, 10)[H100], 600);
        assert_eq!(month(&p, &mut s, 20)[H100], 600);
        assert_eq!(s.produced(H100), 2100);
    }

    #[test]
    fn capacity_compounds_annual_growth_monthly() {
        let mut p = fixture::params();
        p.products[H100].capacity_growth_annual = Uncertain::Fixed(1.0);
        let mut s = Supply::new(&p, 1);
        assert_eq!(month(&p, &mut s, 0)[H100], 1000);
        assert_eq!(month(&p, &mut s, 12)[H100], 2000);
        assert_eq!(month(&p, &mut s, 6)[H100], 1414); // 1000 × √2
        assert_eq!(month(&p, &mut s, 6)[ASCEND], 500);
    }

    #[test]
    fn lines_sharing_a_die_supply_start_the_same_share_of_their_plans() {
        let mut p = fixture::params();
        // Huawei's one line (500 units of 2 dies) against 600 dies a month, growing 100%/yr.
        p.products[ASCEND].dies_per_unit = 2.0;
        p.firms[HUAWEI].die_supply_per_month = Uncertain::Fixed(600.0);
        p.firms[HUAWEI].die_supply_growth_annual = Uncertain::Fixed(1.0);
        let mut s = Supply::new(&p, 1);
        assert_eq!(month(&p, &mut s, 0), vec![1000, 300]);
        assert_eq!(
            month(&p, &mut s, 12)[ASCEND],
            500,
            "1,200 dies cover the plan"
        );
        // A second Huawei line of single-die chips halves what each can start.
        p.products[H100].vendor = HUAWEI;
        p.products[H100].capacity_units_per_month = 1000.0;
        let mut s = Supply::new(&p, 1);
        let out = month(&p, &mut s, 0);
        assert_eq!(out, vec![300, 150], "600 dies for 2,000 wanted: 30% each");
        // No shared limit: each line makes its plan.
        p.firms[HUAWEI].die_supply_per_month = Uncertain::Fixed(0.0);
        assert_eq!(month(&p, &mut Supply::new(&p, 1), 0), vec![1000, 500]);
    }

    #[test]
    fn yield_noise_draws_only_when_set_and_production_counts_per_firm() {
        let mut p = fixture::params();
        p.products[ASCEND].yield_start = Uncertain::Fixed(0.5);
        p.products[ASCEND].yield_target = Uncertain::Fixed(0.5);
        p.products[ASCEND].yield_sd = 0.1;
        let mut s = Supply::new(&p, 3);
        let outs: Vec<u64> = (0..20).map(|t| month(&p, &mut s, t)[ASCEND]).collect();
        assert!(outs.iter().any(|&u| u != 250), "noise moves output");
        assert!(outs.iter().all(|&u| u <= 500));
        let mut flows = Flows::new(3, 2);
        s.produce(&p, 0, &mut flows);
        assert_eq!(flows.production_units[NVIDIA], 1000);
        assert!(flows.production_units[HUAWEI] > 0);
        p.products[H100].capacity_units_per_month = 0.0;
        assert!(!Supply::new(&p, 1).available(&p, H100));
    }
}
