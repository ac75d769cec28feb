//! M2 Demand: new demand, planned builds as standing orders, the month's orders, and backlog.
//!
//! Code for `docs/model.md` § M2. In the decide phase ([`Demand::place_orders`]), nation `i`
//! in month `t` wants
//!
//! `new = demand_h100e_per_month × (1 + demand_growth_annual)^(t/12) × exp(σz − σ²/2) ×
//! demand factor` (a mean-one lognormal shock, `z` from the nation's `Demand` stream; the
//! demand factor is a diplomatic demand cut, M6/M10) plus last month's backlog, and orders
//! `round(want × share_j / h100e_per_unit_j)` units of each product `j` (shares from M5). A
//! planned build due this month that is going ahead (M6) becomes a standing order: added to
//! demand and to the orders every month until shipped, served first, never lapsing.
//!
//! After deliveries ([`Demand::update_backlog`]):
//! `backlog = max(0, denied + unfilled − standing unfilled − diverted in) × (1 − backlog_decay)`
//! (smuggled supply meets some of it, M9).
//!
//! Parameter paths: `nations.*.demand_h100e_per_month`, `demand_growth_annual`,
//! `demand_noise_sigma`, `backlog_decay`, `nations.*.projects.*.{month, product, units}`.

use super::diplomacy::ProjectStatus;
use super::export_rules::RulesInForce;
use super::flows::Flows;
use super::index::Grid;
use super::params::Params;
use super::supply::Supply;
use super::vendor_choice::VendorChoice;
use crate::math;
use crate::rng::{Purpose, Stream, stream};

/// Orders, standing orders and backlog of every nation.
pub struct Demand {
    rng: Vec<Stream>,
    backlog_h100e: Vec<f64>,
    /// This month's orders, units per (nation, product).
    orders: Grid<u64>,
    /// Units of planned builds going ahead and not yet shipped, per (nation, product).
    standing: Grid<u64>,
    /// H100e of standing orders left unfilled this month (kept out of the backlog).
    standing_unfilled_h100e: Vec<f64>,
    /// Each nation's demand growth `(1 + demand_growth_annual)^(t/12)`, with the base's
    /// logarithm kept from month to month.
    growth: Vec<math::PowOf>,
}

impl Demand {
    pub fn new(p: &Params, rep_seed: u64) -> Demand {
        let (nn, np) = (p.nations.len(), p.products.len());
        Demand {
            rng: (0..nn)
                .map(|i| stream(rep_seed, Purpose::Demand, i))
                .collect(),
            backlog_h100e: vec![0.0; nn],
            orders: Grid::new(nn, np, 0),
            standing: Grid::new(nn, np, 0),
            standing_unfilled_h100e: vec![0.0; nn],
            growth: vec![math::PowOf::default(); nn],
        }
    }

    /// This month's orders, units per (nation, product).
    pub fn orders(&self) -> &Grid<u64> {
        &self.orders
    }

    /// Standing-order units of `product` still to ship to `nation`.
    #[inline]
    pub fn standing(&self, nation: usize, product: usize) -> u64 {
        self.standing[(nation, product)]
    }

    /// Backlog of `nation`, H100e.
    #[inline]
    pub fn backlog(&self, nation: usize) -> f64 {
        self.backlog_h100e[nation]
    }

    /// Every nation's orders this month (see the module doc).
    pub fn place_orders(
        &mut self,
        rules: &RulesInForce,
        supply: &Supply,
        choice: &mut VendorChoice,
        flows: &mut Flows,
    ) {
        let (p, t) = (rules.params(), rules.month());
        self.standing_unfilled_h100e
            .iter_mut()
            .for_each(|x| *x = 0.0);
        // Every nation's every product is set below: `orders` needs no clearing.
        for (i, nation) in p.nations.iter().enumerate() {
            let growth =
                self.growth[i].raise(1.0 + nation.demand_growth_annual.value(), t as f64 / 12.0);
            let sigma = nation.demand_noise_sigma;
            let z = math::standard_normal(&mut self.rng[i]);
            let noise = math::exp(sigma * z - 0.5 * sigma * sigma);
            let new_demand = nation.demand_h100e_per_month
                * growth
                * noise
                * rules.diplomacy().demand_factor(i, t);
            flows.demand_h100e[i] = new_demand;
            let want = new_demand + self.backlog_h100e[i];
            let shares = choice.shares(rules, supply, i);
            for (j, share) in shares.iter().enumerate() {
                let h = p.products[j].h100e_per_unit.value();
                self.orders[(i, j)] = math::round_to_u64(want * share / h);
            }
            for (k, project) in nation.projects.iter().enumerate() {
                if project.month == t
                    && rules.diplomacy().project(i, k) == ProjectStatus::Proceeding
                {
                    self.standing[(i, project.product)] += project.units;
                    let h = p.products[project.product].h100e_per_unit.value();
                    flows.demand_h100e[i] += project.units as f64 * h;
                }
            }
            for j in 0..p.products.len() {
                self.orders[(i, j)] += self.standing[(i, j)];
            }
        }
    }

    /// `shipped` of `requested` units of product `j` (`h` H100e each) left for nation `i`:
    /// standing orders are served first; the unfilled rest is counted in `flows`, and the part
    /// of it that is standing is kept out of the backlog.
    #[inline]
    pub fn settle(
        &mut self,
        i: usize,
        j: usize,
        h: f64,
        requested: u64,
        shipped: u64,
        flows: &mut Flows,
    ) {
        let unfilled = requested - shipped;
        let standing = &mut self.standing[(i, j)];
        *standing = standing.saturating_sub(shipped);
        let standing_unfilled = (*standing).min(unfilled);
        flows.unfilled_h100e[i] += unfilled as f64 * h;
        self.standing_unfilled_h100e[i] += standing_unfilled as f64 * h;
    }

    /// What was wanted and neither shipped, met from abroad (smuggled in or newly rented:
    /// `met_abroad_h100e`, negative when rentals are lost), nor lapsed carries over.
    pub fn update_backlog(&mut self, p: &Params, flows: &Flows, met_abroad_h100e: &[f64]) {
        for (i, nation) in p.nations.iter().enumerate() {
            let refused =
                flows.denied_h100e[i] + flows.unfilled_h100e[i] - self.standing_unfilled_h100e[i];
            self.backlog_h100e[i] =
                (refused - met_abroad_h100e[i]).max(0.0) * (1.0 - nation.backlog_decay);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::alignment::Alignment;
    use crate::model::diplomacy::Diplomacy;
    use crate::model::fixture::{self, ASCEND, H100, MYS, USA};
    use crate::model::params::{ProjectParams, Uncertain};

    fn month(p: &Params, d: &mut Demand, t: u32, dip: &Diplomacy) -> Flows {
        let s = Supply::new(p, 1);
        let rules = RulesInForce::new(p, dip, t);
        let mut flows = Flows::new(3, 2);
        d.place_orders(&rules, &s, &mut VendorChoice::new(p), &mut flows);
        flows
    }

    #[test]
    fn demand_grows_and_orders_follow_shares() {
        let mut p = fixture::params();
        p.nations[USA].demand_growth_annual = Uncertain::Fixed(1.0);
        let dip = Diplomacy::new(&p);
        let mut d = Demand::new(&p, 1);
        let f0 = month(&p, &mut d, 0, &dip);
        assert_eq!(f0.demand_h100e[USA], 600.0);
        let total: u64 = d.orders().row(USA).iter().sum();
        assert!((599..=601).contains(&total), "{total}");
        let f12 = month(&p, &mut d, 12, &dip);
        assert!((f12.demand_h100e[USA] - 1200.0).abs() < 1e-9);
    }

    #[test]
    fn backlog_carries_refused_demand_less_decay_and_smuggling() {
        let p = fixture::params();
        let mut d = Demand::new(&p, 1);
        let mut flows = Flows::new(3, 2);
        flows.denied_h100e[MYS] = 100.0;
        flows.unfilled_h100e[MYS] = 60.0;
        let mut diverted = vec![0.0; 3];
        diverted[MYS] = 40.0;
        d.update_backlog(&p, &flows, &diverted);
        assert_eq!(d.backlog(MYS), 60.0); // (160 − 40) × (1 − 0.5)
        let dip = Diplomacy::new(&p);
        let f = month(&p, &mut d, 1, &dip);
        let ordered: f64 = d.orders().row(MYS).iter().map(|&u| u as f64).sum();
        assert!((ordered - (f.demand_h100e[MYS] + 60.0)).abs() <= 1.0);
    }

    #[test]
    fn planned_builds_become_standing_orders_kept_out_of_backlog() {
        let mut p = fixture::params();
        p.diplomacy.announce_threshold_h100e = 1e9; // below the threshold: goes ahead
        p.nations[MYS].projects.push(ProjectParams {
            id: "campus".into(),
            month: 0,
            product: ASCEND,
            units: 300,
            value: 1.0,
        });
        let mut dip = Diplomacy::new(&p);
        let mut a = Alignment::new(&p);
        dip.resolve(0, &p, &mut a, &mut [], &mut Vec::new());
        let mut d = Demand::new(&p, 1);
        let f = month(&p, &mut d, 0, &dip);
        assert_eq!(f.demand_h100e[MYS], 500.0);
        assert!(d.orders()[(MYS, ASCEND)] >= 300);
        let mut flows = Flows::new(3, 2);
        d.settle(MYS, ASCEND, 1.0, 300, 100, &mut flows);
        assert_eq!(d.standing(MYS, ASCEND), 200);
        assert_eq!(flows.unfilled_h100e[MYS], 200.0);
        d.update_backlog(&p, &flows, &[0.0; 3]);
        assert_eq!(d.backlog(MYS), 0.0);
        // Next month the standing order is ordered again, whatever the shares.
        let _ = month(&p, &mut d, 1, &dip);
        assert!(d.orders()[(MYS, ASCEND)] >= 200);
        assert!(d.orders()[(MYS, H100)] + d.orders()[(MYS, ASCEND)] > 200);
    }
}
