//! M5 Vendor choice: how each nation splits its demand across the products it can obtain.
//!
//! Code for `docs/model.md` § M5. Runs in the decide phase (orders), reading the state at the
//! start of the month. Utility of product `j` (firm `f`, home `h`) to nation `i`:
//!
//! ```text
//! U = price_performance_weight × ln(h100e_per_unit / (price × (1 − discount) / 10⁴))
//!   − sanction_weight × sanction_share(i, f)                                     (M4)
//!   + availability_weight × ln(approval × max(fill_rate, 0.05))
//!   − lead_time_weight_per_month × delay + ecosystem_i[f] − stance_cost(i, j)   (M11)
//!   − power_weight × ln(power_per_h100e)      (only if nation i's data-centre capacity is modelled)
//! ```
//!
//! with `discount = export_discount` for foreign buyers, the price raised by the rule's
//! revenue share (a licence condition paid to the exporting government, passed on to the buyer:
//! `price × (1 − discount) × (1 + revenue_share)`), and approval and delay those of a licence
//! rule in force (else 1 and 0). The choice is commercial: price-performance,
//! availability, software ecosystem, and the buyer's own state's stance as a cost
//! (discourage) or a constraint (ban); political alignment does not enter it (it acts through
//! diplomacy, M6–M8, and the states' rules). A product that is prohibited, banned by the
//! buyer's state, not sold to the buyer's nation by its vendor (`products.*.sold_to`, a
//! variant made for one market), has neither stock nor a producing line, or is barred by a
//! security agreement (M8) has `U = −∞`. Shares are a multinomial logit over `U` ([`logit_shares`]).
//!
//! The fill rate is what a buyer expects to get of what it asks for: smoothed each month as
//! `0.5 × last + 0.5 × shipped / requested` ([`VendorChoice::record_fill`], by allocation).
//!
//! Parameter paths: `market.{price_performance_weight, sanction_weight,
//! availability_weight, lead_time_weight_per_month, power_weight}`, `nations.*.ecosystem.FIRM`,
//! `regulators.*.{imports, discourage_cost}` (M11), `firms.*.export_discount`,
//! `regulators.*.tiers.*.*.revenue_share`, `products.*.price_usd`, `products.*.h100e_per_unit`,
//! `products.*.power_per_h100e`, `products.*.sold_to`, `nations.*.datacentre_mw`.

use std::sync::Arc;

use super::export_rules::RulesInForce;
use super::guidance::sanction_share;
use super::imports::stance_cost;
use super::index::Grid;
use super::params::{ExportStatus, Params};
use super::supply::Supply;
use crate::math;

/// Weight of last month's expectation in the smoothed fill rate.
const FILL_RATE_MEMORY: f64 = 0.5;
/// Floor on the expected fill rate, so a product short for a while is not ruled out for ever.
const MIN_FILL_RATE: f64 = 0.05;

/// Buyers' expectations and the choice scratch space.
pub struct VendorChoice {
    /// Smoothed share of each (nation, product) request that shipped. Starts at 1.
    fill_rate: Grid<f64>,
    /// Per (nation, product), the logs of the utility's price-performance, availability and
    /// power terms at their last arguments.
    logs: Grid<[LastLn; 3]>,
    /// Per firm, for the nation choosing: barred by a security agreement (M8), and the
    /// sanction share of adopting its chips (M4). Both depend on the firm, not the product.
    firm_terms: Vec<(bool, f64)>,
    /// What of a utility follows from the parameters alone, per snapshot: see [`Fixed`].
    fixed: Fixed,
    utilities: Vec<f64>,
    shares: Vec<f64>,
}

/// `ln` at the last argument asked for, kept: a utility's logs change only when their
/// arguments do (a price, a licence condition, a fill rate below 1), which most months they
/// do not, and a log is most of a utility's cost. Results are those of [`math::ln`].
#[derive(Clone, Copy, Debug)]
struct LastLn {
    arg: u64,
    value: f64,
}

impl LastLn {
    /// Never asked yet: NaN, whose log is NaN.
    const NEW: LastLn = LastLn {
        arg: f64::NAN.to_bits(),
        value: f64::NAN,
    };

    #[inline]
    fn ln(&mut self, x: f64) -> f64 {
        if x.to_bits() != self.arg {
            *self = LastLn {
                arg: x.to_bits(),
                value: math::ln(x),
            };
        }
        self.value
    }
}

impl VendorChoice {
    pub fn new(p: &Params) -> VendorChoice {
        VendorChoice::with_sanction(p, &sanction_table(p))
    }

    /// As [`VendorChoice::new`], given `sanction_table(p)` (shared: worked out once per timeline
    /// snapshot for all the replications of a setup).
    pub fn with_sanction(p: &Params, sanction: &Arc<Grid<f64>>) -> VendorChoice {
        let (nn, np) = (p.nations.len(), p.products.len());
        VendorChoice {
            fill_rate: Grid::new(nn, np, 1.0),
            logs: Grid::new(nn, np, [LastLn::NEW; 3]),
            firm_terms: vec![(false, 0.0); p.firms.len()],
            fixed: Fixed::new(p, sanction),
            utilities: vec![0.0; np],
            shares: vec![0.0; np],
        }
    }

    /// The parameters in force changed (a timeline snapshot began): works out again what
    /// follows from them alone. Until then, [`VendorChoice::shares`] must be given rules over
    /// the parameters of the last call (or of [`VendorChoice::new`]).
    pub fn set_params(&mut self, p: &Params) {
        self.set_params_with(p, &sanction_table(p));
    }

    /// As [`VendorChoice::set_params`], given `sanction_table(p)`.
    pub fn set_params_with(&mut self, p: &Params, sanction: &Arc<Grid<f64>>) {
        self.fixed.set(p, sanction);
    }

    /// What nation `i` expects to get of a request for product `j`.
    pub fn fill_rate(&self, i: usize, j: usize) -> f64 {
        self.fill_rate[(i, j)]
    }

    /// `shipped` of `requested` units of product `j` reached nation `i` this month.
    #[inline]
    pub fn record_fill(&mut self, i: usize, j: usize, requested: u64, shipped: u64) {
        if requested > 0 {
            let f = &mut self.fill_rate[(i, j)];
            *f = FILL_RATE_MEMORY * *f
                + (1.0 - FILL_RATE_MEMORY) * shipped as f64 / requested as f64;
        }
    }

    /// Utility of product `j` to nation `i`; `−∞` if it cannot be bought. `firm_terms` as
    /// [`VendorChoice::shares`] works them out for nation `i`.
    fn utility(&mut self, rules: &RulesInForce, supply: &Supply, i: usize, j: usize) -> f64 {
        let p = rules.params();
        let prod = &p.products[j];
        let firm = &p.firms[prod.vendor];
        let rule = rules.get(j, i);
        let stance = self.fixed.stance[(i, j)];
        let (barred, sanction) = self.firm_terms[prod.vendor];
        if rule.status == ExportStatus::Prohibited
            || !prod.sells_to(i)
            || stance == f64::INFINITY
            || !supply.available(p, j)
            || barred
        {
            return f64::NEG_INFINITY;
        }
        let m = &p.market;
        let discount = if firm.home == i {
            0.0
        } else {
            firm.export_discount
        };
        let price = prod.price_usd * (1.0 - discount) * (1.0 + rule.revenue_share);
        let [price_performance, availability, power] = &mut self.logs[(i, j)];
        let price_performance = price_performance.ln(prod.h100e_per_unit.value() / (price / 1e4));
        let (approval, delay) = match rule.status {
            ExportStatus::Licence => (rule.approval_probability, rule.delay_months as f64),
            _ => (1.0, 0.0),
        };
        let fill = self.fill_rate[(i, j)].max(MIN_FILL_RATE);
        let availability = availability.ln(approval * fill);
        let power = if p.nations[i].datacentre_mw > 0.0 {
            power.ln(prod.power_per_h100e)
        } else {
            0.0
        };
        m.price_performance_weight * price_performance
            - m.power_weight * power
            - m.sanction_weight * sanction
            + m.availability_weight * availability
            - m.lead_time_weight_per_month * delay
            + p.nations[i].ecosystem[prod.vendor]
            - stance
    }

    /// Nation `i`'s shares of demand per product (all zero when nothing can be bought).
    pub fn shares(&mut self, rules: &RulesInForce, supply: &Supply, i: usize) -> &[f64] {
        let p = rules.params();
        debug_assert!(self.fixed.is_of(p), "VendorChoice::set_params not called");
        let sanction = self.fixed.sanction.row(i);
        for (f, terms) in self.firm_terms.iter_mut().enumerate() {
            *terms = (rules.diplomacy().barred(i, f, p), sanction[f]);
        }
        for j in 0..self.utilities.len() {
            self.utilities[j] = self.utility(rules, supply, i, j);
        }
        logit_shares(&self.utilities, &mut self.shares);
        &self.shares
    }
}

/// The terms of the utility that depend on the parameters alone, worked out once per timeline
/// snapshot rather than once per nation, product and month: they are the values
/// [`sanction_share`] and [`stance_cost`] return, so the utilities are the same to the bit.
#[derive(Clone, Debug, PartialEq)]
struct Fixed {
    /// Per (nation, firm): [`sanction_share`], shared with the other replications of the setup.
    sanction: Arc<Grid<f64>>,
    /// Per (nation, product): [`stance_cost`].
    stance: Grid<f64>,
    /// The rows of `stance` that are not all 0 (nations with a regulator role).
    stance_rows: Vec<usize>,
    /// The parameters they were worked out from (their address), to check in debug builds.
    of: usize,
}

/// Per (nation, firm): [`sanction_share`]. It reads only parameters that are never drawn
/// (guidance, its enforcement, dependence, the firms' homes), so a setup's replications share
/// one table per timeline snapshot (`World`'s `Prepared`) instead of each working it out again.
pub fn sanction_table(p: &Params) -> Arc<Grid<f64>> {
    let (nn, nf) = (p.nations.len(), p.firms.len());
    let mut sanction = Grid::new(nn, nf, 0.0);
    for i in 0..nn {
        for (f, x) in sanction.row_mut(i).iter_mut().enumerate() {
            *x = sanction_share(p, i, f);
        }
    }
    Arc::new(sanction)
}

impl Fixed {
    fn new(p: &Params, sanction: &Arc<Grid<f64>>) -> Fixed {
        let mut fixed = Fixed {
            sanction: Arc::clone(sanction),
            stance: Grid::new(0, 0, 0.0),
            stance_rows: Vec::new(),
            of: 0,
        };
        fixed.set(p, sanction);
        fixed
    }

    /// Works the terms out for `p`, given `sanction_table(p)`, in the tables already held.
    fn set(&mut self, p: &Params, sanction: &Arc<Grid<f64>>) {
        let (nn, np) = (p.nations.len(), p.products.len());
        if cfg!(any(test, debug_assertions)) {
            let direct = sanction_table(p);
            let bits = |g: &Grid<f64>| -> Vec<u64> {
                (0..nn)
                    .flat_map(|i| g.row(i).to_vec())
                    .map(f64::to_bits)
                    .collect()
            };
            assert_eq!(bits(sanction), bits(&direct), "the sanction table of `p`");
        }
        self.sanction = Arc::clone(sanction);
        // Only a nation with a regulator role has an import policy: every other row is
        // `stance_cost`'s 0. The rows the last parameters wrote go back to 0 first.
        if (self.stance.rows(), self.stance.cols()) == (nn, np) {
            for &i in &self.stance_rows {
                self.stance.row_mut(i).fill(0.0);
            }
        } else {
            self.stance = Grid::new(nn, np, 0.0);
        }
        self.stance_rows.clear();
        for r in &p.regulators {
            for (j, x) in self.stance.row_mut(r.nation).iter_mut().enumerate() {
                *x = stance_cost(p, r.nation, j);
            }
            self.stance_rows.push(r.nation);
        }
        self.of = std::ptr::from_ref(p) as usize;
    }

    fn is_of(&self, p: &Params) -> bool {
        self.of == std::ptr::from_ref(p) as usize
    }
}

/// Multinomial-logit shares of `utilities`; `f64::NEG_INFINITY` marks an option that cannot be
/// chosen. Writes shares summing to 1 into `shares`, or all zeros when nothing can be chosen.
pub fn logit_shares(utilities: &[f64], shares: &mut [f64]) {
    debug_assert_eq!(utilities.len(), shares.len());
    let max = utilities.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if max == f64::NEG_INFINITY {
        shares.iter_mut().for_each(|s| *s = 0.0);
        return;
    }
    let mut total = 0.0;
    for (s, &u) in shares.iter_mut().zip(utilities) {
        // exp(−∞) is 0: a product out of reach needs no exp.
        *s = if u == f64::NEG_INFINITY {
            0.0
        } else {
            math::exp(u - max)
        };
        total += *s;
    }
    shares.iter_mut().for_each(|s| *s /= total);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::diplomacy::Diplomacy;
    use crate::model::fixture::{self, ASCEND, CHN, H100, MYS, USA};
    use crate::model::params::ExportRule;

    fn shares(p: &Params, i: usize) -> Vec<f64> {
        let (d, s) = (Diplomacy::new(p), Supply::new(p, 1));
        let rules = RulesInForce::new(p, &d, 0);
        VendorChoice::new(p).shares(&rules, &s, i).to_vec()
    }

    #[test]
    fn the_terms_fixed_per_snapshot_are_the_direct_ones() {
        use crate::model::params::{GuidanceScope, ImportStance, Uncertain};
        let mut p = fixture::params();
        p.regulators[0].guidance[1] = GuidanceScope::ThirdCountries;
        p.nations[MYS].dependence[USA] = 0.6;
        p.regulators[1].imports[H100] = ImportStance::Discourage;
        p.regulators[1].discourage_cost = Uncertain::Fixed(3.0);
        p.regulators[1].imports[ASCEND] = ImportStance::Ban;
        let fixed = Fixed::new(&p, &sanction_table(&p));
        assert!(fixed.is_of(&p));
        for i in 0..p.nations.len() {
            for f in 0..p.firms.len() {
                let direct = sanction_share(&p, i, f);
                assert_eq!(
                    fixed.sanction[(i, f)].to_bits(),
                    direct.to_bits(),
                    "{i} {f}"
                );
            }
            for j in 0..p.products.len() {
                let direct = stance_cost(&p, i, j);
                assert_eq!(fixed.stance[(i, j)].to_bits(), direct.to_bits(), "{i} {j}");
            }
        }
        assert!(fixed.sanction[(MYS, 1)] > 0.0);
        assert_eq!(fixed.stance[(CHN, H100)], 3.0);
        assert_eq!(fixed.stance[(CHN, ASCEND)], f64::INFINITY);
        assert_eq!(fixed.stance[(MYS, ASCEND)], 0.0);
        // A new snapshot's parameters are worked out again.
        let mut v = VendorChoice::new(&p);
        let mut q = p.clone();
        q.regulators[1].imports[H100] = ImportStance::Allow;
        v.set_params(&q);
        assert!(v.fixed.is_of(&q));
        assert_eq!(v.fixed.stance[(CHN, H100)], 0.0);
    }

    #[test]
    fn a_kept_log_is_the_log_of_the_argument_asked_for() {
        let mut last = LastLn::NEW;
        for x in [2.0, 2.0, 0.5, 2.0, 1e-300, 0.0, 0.0, 3.0] {
            assert_eq!(last.ln(x).to_bits(), math::ln(x).to_bits(), "{x}");
        }
        let mut new = LastLn::NEW;
        assert!(new.ln(f64::NAN).is_nan());
    }

    #[test]
    fn logit_shares_sum_to_one_and_favour_higher_utility() {
        let mut s = [0.0; 3];
        logit_shares(&[1.0, 0.0, f64::NEG_INFINITY], &mut s);
        assert!((s.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(s[0] > s[1] && s[2] == 0.0);
        logit_shares(&[f64::NEG_INFINITY; 3], &mut s);
        assert_eq!(s, [0.0; 3]);
    }

    #[test]
    fn prohibited_product_gets_no_share() {
        let p = fixture::params();
        let s = shares(&p, CHN);
        assert_eq!(s[H100], 0.0);
        assert_eq!(s[ASCEND], 1.0);
    }

    #[test]
    fn a_product_made_for_one_market_is_not_sold_elsewhere() {
        let mut p = fixture::params();
        assert!(shares(&p, MYS)[ASCEND] > 0.0);
        p.products[ASCEND].sold_to = vec![false, true, false].into();
        let s = shares(&p, MYS);
        assert_eq!(s[ASCEND], 0.0);
        assert_eq!(s[H100], 1.0);
        assert!(shares(&p, CHN)[ASCEND] > 0.0);
    }

    #[test]
    fn cheaper_product_gets_the_larger_share() {
        let mut p = fixture::params();
        p.products[ASCEND].price_usd = p.products[H100].price_usd;
        let even = shares(&p, MYS)[ASCEND];
        p.products[ASCEND].price_usd *= 0.5;
        let cheaper = shares(&p, MYS)[ASCEND];
        assert!(cheaper > even, "{cheaper} vs {even}");
    }

    #[test]
    fn the_buyers_own_state_discourages_at_a_cost_and_bans_outright() {
        use crate::model::params::{ImportStance, Uncertain};
        let mut p = fixture::params();
        p.regulators[0].rules[CHN][0] = ExportRule::ALLOWED;
        let open = shares(&p, CHN)[H100];
        assert!(open > 0.0);
        p.regulators[1].imports[H100] = ImportStance::Discourage;
        p.regulators[1].discourage_cost = Uncertain::Fixed(3.0);
        let discouraged = shares(&p, CHN)[H100];
        assert!(discouraged < 0.2 * open, "{discouraged} vs {open}");
        assert!(discouraged > 0.0);
        // Only China's buyers heed China's stance.
        let mys = shares(&p, MYS)[H100];
        p.regulators[1].imports[H100] = ImportStance::Ban;
        assert_eq!(shares(&p, CHN)[H100], 0.0);
        assert_eq!(shares(&p, MYS)[H100], mys);
    }

    #[test]
    fn a_revenue_share_on_the_licence_raises_the_price() {
        let mut p = fixture::params();
        let before = shares(&p, MYS)[H100];
        p.regulators[0].rules[MYS][0].revenue_share = 0.25;
        let after = shares(&p, MYS)[H100];
        assert!(after < before, "{after} vs {before}");
    }

    #[test]
    fn alignment_does_not_enter_the_choice() {
        let mut p = fixture::params();
        let before = shares(&p, MYS);
        p.nations[MYS].alignment = -1.0;
        p.nations[USA].alignment = 1.0;
        assert_eq!(shares(&p, MYS), before);
    }

    #[test]
    fn no_supply_or_a_poor_fill_rate_lowers_the_share() {
        let mut p = fixture::params();
        let d = Diplomacy::new(&p);
        let s = Supply::new(&p, 1);
        let rules = RulesInForce::new(&p, &d, 0);
        let mut v = VendorChoice::new(&p);
        let before = v.shares(&rules, &s, MYS)[H100];
        for _ in 0..5 {
            v.record_fill(MYS, H100, 100, 0);
        }
        assert!((v.fill_rate(MYS, H100) - 1.0 / 32.0).abs() < 1e-12);
        assert!(v.shares(&rules, &s, MYS)[H100] < before);
        p.products[H100].capacity_units_per_month = 0.0;
        assert_eq!(shares(&p, MYS)[H100], 0.0);
    }

    #[test]
    fn power_hungry_product_loses_share_only_where_power_is_scarce() {
        let mut p = fixture::params();
        p.market.power_weight = 2.0;
        p.products[ASCEND].power_per_h100e = 3.8;
        let unconstrained = shares(&p, MYS)[ASCEND];
        p.nations[MYS].datacentre_mw = 100.0;
        let scarce = shares(&p, MYS)[ASCEND];
        assert!(scarce < unconstrained, "{scarce} vs {unconstrained}");
        p.market.power_weight = 0.0;
        assert_eq!(shares(&p, MYS)[ASCEND], unconstrained);
    }
}
