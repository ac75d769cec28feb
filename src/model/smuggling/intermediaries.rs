//! M9 intermediary populations in transshipment hubs: the part of chipdip that scales.
//!
//! A population is drawn when a replication starts and keeps its parameters for the run, so
//! they are all declared `AtStart` (a dated change of them is refused).
//!
//! Each hub holds populations of intermediary firms — many small shell buyers, a few large
//! fronts such as cloud resellers — drawn once per replication: import capacity
//! `size ~ LogNormal(ln size_median_units, size_sigma)` units a month and risk appetite
//! `r ~ Beta(alpha, beta)`. Each month, in index order (so the result never depends on
//! threads):
//!
//! 1. **Import.** Intermediaries in the trade share the hub's legal allowance pro rata
//!    to what they want (cumulative rounding to whole units, so nothing is lost to rounding):
//!    their size if they found diverting worthwhile last month, else only
//!    their legitimate share `(1 − max_divert_fraction) × size` (a shell that cannot smuggle
//!    profitably has no business). `imported_i = floor(want_i × min(1, allowance / Σ want))`.
//!    This is what moves flows between hubs (the balloon effect): a hub where smuggling stops
//!    paying asks for fewer chips, leaving more of a scarce supply to the other hubs.
//! 2. **Decide.** An intermediary weighs diverting `d_i = floor(max_divert_fraction × size_i)`
//!    units (what it would move at full size; it diverts at most what it imported, and the
//!    decision also sets what it asks for next month). The true detection probability is
//!    `p(d) = 1 − exp(−h × (1 + d / volume_scale_units))` with hazard
//!    `h = effort × min(1, capacity_cases / max(1, cases last month)) + permit_hazard × permit_regime`:
//!    enforcement is finite: more cases, less attention each (docs/calibration.md, "enforcement
//!    capacity is finite"), and volume makes a buyer conspicuous. It perceives
//!    `p̃ = p × (1 − r)` and diverts when `d × premium × (1 − p̃) > p̃ × penalty(d)`,
//!    `penalty(d) = max(fine_per_violation, penalty_value_multiple × d × unit value)`
//!    (BIS: the greater of $374,474 or twice the transaction value).
//! 3. **Detect.** A diverter is caught with probability `p(d)` (one draw): the shipment is
//!    seized, the fine charged, and the intermediary leaves the trade (its slot is vacant).
//!    Otherwise the units reach the destination. Undiverted imports are sold in the hub
//!    (retained).
//! 4. **Exit.** An intermediary for which diverting did not pay for `exit_after_idle_months`
//!    consecutive months leaves the trade; one still in it winds up with probability
//!    `smuggling.attrition_per_month` (one draw; shells are set up for a few shipments), so
//!    exits grow with the trade's size and entry settles where it balances them.
//! 5. **Enter** ([`Population::enter`], called by the hubs with the month's entrants, see
//!    [`super::hubs`]): entrants are drawn like the starting population and fill vacant slots
//!    first; there is no fixed pool that runs dry, and no ban that expires.
//!
//! Every month `imported = retained + diverted + seized`, in whole units. Memory: 12 bytes per
//! intermediary slot (size f32, risk appetite f32, state u16, diverting flag u8, idle months
//! u8), struct-of-arrays, reserved at twice the starting count so the monthly loop does not
//! allocate while the population stays below that.

use rand::{Rng, RngExt};

use crate::declare_params;
use crate::math;
use crate::model::schema::Range;

declare_params! {
    /// Parameters of one population of intermediaries (`[hubs.X.populations.NAME]`).
    pub struct PopulationParams from PopulationFile {
        /// Number of intermediaries.
        count: usize = None, Range::Closed(0.0, 1e7), "", AtStart;
        /// Median monthly import capacity of an intermediary (lognormal).
        size_median_units: f64 = None, Range::Above(0.0), "units/month", AtStart;
        /// Sigma of the lognormal import capacity (0: all the same size).
        size_sigma: f64 = None, Range::Closed(0.0, 5.0), "", AtStart;
        /// Beta alpha of risk appetite, the share of the true detection risk an intermediary
        /// ignores (mean alpha / (alpha + beta)).
        risk_appetite_alpha: f64 = None, Range::Above(0.0), "", AtStart;
        /// Beta beta of risk appetite.
        risk_appetite_beta: f64 = None, Range::Above(0.0), "", AtStart;
        /// Largest share of its imports an intermediary diverts: 1 for shell buyers, about
        /// 0.2-0.5 for cloud fronts.
        max_divert_fraction: f64 = None, Range::Within(0.0, 1.0), "share", AtStart;
        /// Monthly diverted volume that doubles the detection hazard ("without rousing
        /// suspicion").
        volume_scale_units: f64 = None, Range::Above(0.0), "units", AtStart;
        /// Consecutive months in which diverting does not pay after which an intermediary
        /// leaves the trade (its slot is free for an entrant).
        exit_after_idle_months: u32 = Some(3), Range::Closed(1.0, 255.0), "months", AtStart;
    }
}

/// What the world decides for a hub in a month.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HubConditions {
    /// Legal imports available to this population this month, units.
    pub import_allowance_units: u64,
    pub unit_value_usd: f64,
    /// Grey-market premium at the destination, USD per unit.
    pub premium_usd_per_unit: f64,
    /// Enforcement effort: hazard per case when capacity is not stretched.
    pub enforcement_effort: f64,
    pub enforcement_capacity_cases: f64,
    /// The hub's own permit regime, 0–1.
    pub permit_regime: f64,
    /// Hazard a full permit regime adds.
    pub permit_hazard: f64,
    pub fine_per_violation_usd: f64,
    pub penalty_value_multiple: f64,
    /// Monthly probability that an intermediary in the trade winds up (shells are set up for
    /// a few shipments), caught or not.
    pub attrition: f64,
}

/// A population's month, in units and counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PopulationMonth {
    pub imported_units: u64,
    pub retained_units: u64,
    pub diverted_units: u64,
    pub seized_units: u64,
    pub detections: u64,
    /// Intermediaries that diverted (caught or not).
    pub active_diverters: u64,
    /// Intermediaries that left the trade this month (caught, or diverting did not pay).
    pub exits: u64,
    /// Intermediaries that entered the trade this month.
    pub entrants: u64,
    /// Intermediaries that wound up this month (attrition; counted in `exits`).
    pub retired: u64,
    pub fines_usd: u64,
}

impl std::ops::AddAssign for PopulationMonth {
    fn add_assign(&mut self, o: PopulationMonth) {
        self.imported_units += o.imported_units;
        self.retained_units += o.retained_units;
        self.diverted_units += o.diverted_units;
        self.seized_units += o.seized_units;
        self.detections += o.detections;
        self.active_diverters += o.active_diverters;
        self.exits += o.exits;
        self.entrants += o.entrants;
        self.retired += o.retired;
        self.fines_usd += o.fines_usd;
    }
}

/// One population's agents, struct-of-arrays.
pub struct Population {
    params: PopulationParams,
    size: Vec<f32>,
    risk: Vec<f32>,
    /// 0 in the trade, `GONE` when the slot is vacant.
    state: Vec<u16>,
    /// 1 if diverting was worthwhile last month (it then imports at full size).
    diverting: Vec<u8>,
    /// Consecutive months in which diverting did not pay.
    idle: Vec<u8>,
    /// Slots of intermediaries that left (caught or unprofitable), reused by entrants.
    vacant: Vec<u32>,
    /// Σ wanted imports of intermediaries free to trade next month.
    free_capacity: f64,
    /// Diverters last month: the enforcer's caseload.
    cases_last_month: u64,
    /// Lognormal location of the sizes (entrants are drawn like the first population).
    size_mu: f64,
    /// Bits of the largest planned lot `⌊max_divert_fraction × size⌋`: every `powu_bits` of the
    /// step runs this many rounds, so its loop is predictable (see [`math::powu_bits`]).
    lot_bits: u32,
}

impl Population {
    /// Draws sizes and risk appetites once (validated parameters).
    pub fn new(params: &PopulationParams, rng: &mut impl Rng) -> Population {
        let mu = math::ln(params.size_median_units);
        let size: Vec<f32> = (0..params.count)
            .map(|_| math::lognormal(rng, mu, params.size_sigma) as f32)
            .collect();
        let (a, b) = (params.risk_appetite_alpha, params.risk_appetite_beta);
        let risk = (0..params.count)
            .map(|_| math::beta(rng, a, b) as f32)
            .collect();
        let largest_lot = size
            .iter()
            .map(|&s| (params.max_divert_fraction * s as f64) as u64)
            .max()
            .unwrap_or(0);
        let n = params.count;
        let mut pop = Population {
            params: params.clone(),
            lot_bits: u64::BITS - largest_lot.leading_zeros(),
            free_capacity: size.iter().map(|&s| s as f64).sum(),
            size,
            risk,
            state: vec![0; n],
            diverting: vec![1; n],
            idle: vec![0; n],
            vacant: Vec::with_capacity(n),
            cases_last_month: 0,
            size_mu: mu,
        };
        // Room for entrants without reallocating in the monthly loop as long as the
        // population stays below twice its starting size.
        for v in [&mut pop.size, &mut pop.risk] {
            v.reserve(n);
        }
        pop.state.reserve(n);
        pop.diverting.reserve(n);
        pop.idle.reserve(n);
        pop
    }

    /// Slots (present and vacant intermediaries).
    pub fn len(&self) -> usize {
        self.size.len()
    }

    /// Intermediaries in the trade now (slots not vacant).
    pub fn active(&self) -> usize {
        self.size.len() - self.vacant.len()
    }

    /// Parameters of the population.
    pub fn params(&self) -> &PopulationParams {
        &self.params
    }

    /// `n` entrants, drawn like the starting population, fill vacant slots first.
    pub fn enter(&mut self, n: u64, rng: &mut impl Rng) {
        let p = &self.params;
        for _ in 0..n {
            let size = math::lognormal(rng, self.size_mu, p.size_sigma) as f32;
            let risk = math::beta(rng, p.risk_appetite_alpha, p.risk_appetite_beta) as f32;
            let lot = (p.max_divert_fraction * size as f64) as u64;
            self.lot_bits = self.lot_bits.max(u64::BITS - lot.leading_zeros());
            self.free_capacity += size as f64;
            match self.vacant.pop() {
                Some(k) => {
                    let k = k as usize;
                    self.size[k] = size;
                    self.risk[k] = risk;
                    self.state[k] = 0;
                    self.diverting[k] = 1;
                    self.idle[k] = 0;
                }
                None => {
                    self.size.push(size);
                    self.risk.push(risk);
                    self.state.push(0);
                    self.diverting.push(1);
                    self.idle.push(0);
                }
            }
        }
    }

    /// Expected margin of diverting a median intermediary's lot under `c`, as a share of the
    /// lot's list value: `(premium × (1 − p) − p × penalty / d) / unit value` with `p` the true
    /// detection probability of the lot at this month's hazard (step 2 of the module doc).
    pub fn expected_margin(&self, c: &HubConditions) -> f64 {
        let p = &self.params;
        let d = (p.max_divert_fraction * p.size_median_units).max(1.0);
        let hazard = hazard(c, self.cases_last_month);
        let caught = 1.0 - math::exp(-hazard * (1.0 + d / p.volume_scale_units));
        let penalty = c
            .fine_per_violation_usd
            .max(c.penalty_value_multiple * d * c.unit_value_usd);
        if c.unit_value_usd <= 0.0 {
            return 0.0;
        }
        (c.premium_usd_per_unit * (1.0 - caught) - caught * penalty / d) / c.unit_value_usd
    }

    pub fn is_empty(&self) -> bool {
        self.size.is_empty()
    }

    pub const fn bytes_per_intermediary() -> usize {
        std::mem::size_of::<f32>() * 2 + std::mem::size_of::<u16>() + 2 * std::mem::size_of::<u8>()
    }

    /// Intermediaries that diverted last month (this population's enforcement caseload).
    pub fn cases_last_month(&self) -> u64 {
        self.cases_last_month
    }

    /// Units the free intermediaries would import this month if nothing limited them.
    pub fn demand_units(&self) -> u64 {
        self.free_capacity as u64
    }

    /// One month (see the module doc).
    pub fn step(&mut self, month: u32, c: &HubConditions, rng: &mut impl Rng) -> PopulationMonth {
        let mut out = PopulationMonth::default();
        let p = &self.params;
        let share = if self.free_capacity > 0.0 {
            (c.import_allowance_units as f64 / self.free_capacity).min(1.0)
        } else {
            0.0
        };
        let hazard = hazard(c, self.cases_last_month);
        // p(d) = 1 − exp(−h (1 + d / V)) = 1 − exp(−h) × exp(−h / V)^d: two exponentials a
        // month, then only multiplications per intermediary (portable and fast).
        let survive_base = math::exp(-hazard);
        let survive_per_unit = math::exp(-hazard / p.volume_scale_units);
        let _ = month;
        let idle_limit = p.exit_after_idle_months.min(255) as u8;
        let mut next_free = 0.0;
        let legit = 1.0 - p.max_divert_fraction;
        let (mut cumulative_want, mut imported_so_far) = (0.0f64, 0u64);
        let divert_any = c.premium_usd_per_unit > 0.0 && share > 0.0;
        for k in 0..self.size.len() {
            let size = self.size[k] as f64;
            if self.state[k] == GONE {
                continue;
            }
            let want = if self.diverting[k] == 1 {
                size
            } else {
                size * legit
            };
            // Cumulative rounding: whole units per intermediary, and the population as a whole
            // imports floor(Σ want × share) — no allowance lost to rounding.
            cumulative_want += want;
            let upto = (cumulative_want * share) as u64;
            let imported = upto - imported_so_far;
            imported_so_far = upto;
            out.imported_units += imported;
            let d = (p.max_divert_fraction * size) as u64;
            let mut diverted = 0;
            let mut worthwhile = false;
            if divert_any && d > 0 {
                let df = d as f64;
                let p_true =
                    1.0 - survive_base * math::powu_bits(survive_per_unit, d, self.lot_bits);
                let p_seen = p_true * (1.0 - self.risk[k] as f64);
                let penalty = c
                    .fine_per_violation_usd
                    .max(c.penalty_value_multiple * df * c.unit_value_usd);
                worthwhile = df * c.premium_usd_per_unit * (1.0 - p_seen) > p_seen * penalty;
                let moved = d.min(imported);
                if worthwhile && moved > 0 {
                    out.active_diverters += 1;
                    if rng.random::<f64>() < p_true {
                        out.detections += 1;
                        out.seized_units += moved;
                        out.fines_usd += penalty as u64;
                        self.state[k] = GONE;
                    } else {
                        out.diverted_units += moved;
                    }
                    diverted = moved;
                }
            }
            self.diverting[k] = u8::from(worthwhile);
            out.retained_units += imported - diverted;
            self.idle[k] = if worthwhile {
                0
            } else {
                self.idle[k].saturating_add(1)
            };
            if self.idle[k] >= idle_limit {
                self.state[k] = GONE;
            } else if self.state[k] != GONE && rng.random::<f64>() < c.attrition {
                self.state[k] = GONE;
                out.retired += 1;
            }
            if self.state[k] == GONE {
                out.exits += 1;
                self.vacant.push(k as u32);
            } else {
                next_free += size * if worthwhile { 1.0 } else { legit };
            }
        }
        self.cases_last_month = out.active_diverters;
        self.free_capacity = next_free;
        out
    }
}

/// Slot marker of an intermediary that left the trade.
const GONE: u16 = u16::MAX;

/// Detection hazard per case this month: `effort × min(1, capacity / max(1, cases last
/// month)) + permit_hazard × permit_regime`.
fn hazard(c: &HubConditions, cases_last_month: u64) -> f64 {
    let capacity_factor =
        (c.enforcement_capacity_cases / (cases_last_month.max(1) as f64)).min(1.0);
    c.enforcement_effort * capacity_factor + c.permit_hazard * c.permit_regime
}

/// The premium, as a share of list price, at which the grey market at a destination clears
/// when smuggled supply met `supply_share` of its unmet demand: the inverse of a
/// constant-elasticity demand for grey chips,
/// `min(max_premium, premium_at_reference × (supply_share / reference_share)^(−1 / elasticity))`;
/// `max_premium` with no supply. It falls as supply rises and never saturates while anything
/// is smuggled in. Calibration point: +50% of list (`premium_at_reference = 0.5`) in 2024–25.
pub fn clearing_premium(
    supply_share: f64,
    reference_share: f64,
    premium_at_reference: f64,
    elasticity: f64,
    max_premium: f64,
) -> f64 {
    if supply_share <= 0.0 || reference_share <= 0.0 || elasticity <= 0.0 {
        return max_premium;
    }
    (premium_at_reference * math::pow(supply_share / reference_share, -1.0 / elasticity))
        .min(max_premium)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::schema::{Cx, FileValue};
    use crate::rng::Stream;
    use rand::SeedableRng;

    fn shells(count: usize) -> PopulationParams {
        PopulationParams {
            count,
            size_median_units: 10.0,
            size_sigma: 0.8,
            risk_appetite_alpha: 2.0,
            risk_appetite_beta: 5.0,
            max_divert_fraction: 1.0,
            volume_scale_units: 50.0,
            exit_after_idle_months: 3,
        }
    }

    fn conditions(allowance: u64, effort: f64, permit: f64) -> HubConditions {
        HubConditions {
            import_allowance_units: allowance,
            unit_value_usd: 27_500.0,
            premium_usd_per_unit: 13_750.0,
            enforcement_effort: effort,
            enforcement_capacity_cases: 1e9,
            permit_regime: permit,
            permit_hazard: 0.3,
            fine_per_violation_usd: 374_474.0,
            penalty_value_multiple: 2.0,
            attrition: 0.0,
        }
    }

    /// Total diverted over 12 months, averaged over seeds.
    fn diverted(params: &PopulationParams, c: HubConditions) -> f64 {
        let mut total = 0;
        for seed in 0..20 {
            let mut rng = Stream::seed_from_u64(seed);
            let mut pop = Population::new(params, &mut rng);
            for m in 0..12 {
                let out = pop.step(m, &c, &mut rng);
                assert_eq!(
                    out.imported_units,
                    out.retained_units + out.diverted_units + out.seized_units
                );
                total += out.diverted_units;
            }
        }
        total as f64 / 20.0
    }

    #[test]
    fn more_enforcement_or_permits_mean_less_diversion() {
        let p = shells(2000);
        let base = diverted(&p, conditions(u64::MAX, 0.1, 0.0));
        assert!(base > 0.0);
        assert!(diverted(&p, conditions(u64::MAX, 0.2, 0.0)) < 0.8 * base);
        assert!(diverted(&p, conditions(u64::MAX, 0.1, 1.0)) < 0.8 * base);
    }

    #[test]
    fn no_premium_no_diversion_and_imports_respect_allowance() {
        let p = shells(500);
        let mut c = conditions(1000, 0.1, 0.0);
        c.premium_usd_per_unit = 0.0;
        let mut rng = Stream::seed_from_u64(1);
        let mut pop = Population::new(&p, &mut rng);
        let out = pop.step(0, &c, &mut rng);
        assert_eq!(out.diverted_units + out.seized_units, 0);
        assert!(out.imported_units <= 1000 && out.imported_units > 900);
    }

    #[test]
    fn stretched_capacity_lowers_detection_per_case() {
        let p = shells(5000);
        let rate = |capacity: f64| {
            let mut c = conditions(u64::MAX, 0.15, 0.0);
            c.enforcement_capacity_cases = capacity;
            let (mut det, mut cases) = (0, 0);
            let mut rng = Stream::seed_from_u64(3);
            let mut pop = Population::new(&p, &mut rng);
            for m in 0..6 {
                let out = pop.step(m, &c, &mut rng);
                det += out.detections;
                cases += out.active_diverters;
            }
            det as f64 / cases as f64
        };
        assert!(rate(50.0) < 0.7 * rate(1e9));
    }

    #[test]
    fn caught_intermediaries_leave_and_fronts_divert_a_fraction() {
        let mut fronts = shells(20);
        fronts.size_median_units = 2000.0;
        fronts.max_divert_fraction = 0.3;
        fronts.volume_scale_units = 5000.0;
        let mut rng = Stream::seed_from_u64(9);
        let mut pop = Population::new(&fronts, &mut rng);
        let out = pop.step(0, &conditions(u64::MAX, 0.05, 0.0), &mut rng);
        assert!(out.diverted_units + out.seized_units > 0);
        assert!((out.diverted_units + out.seized_units) as f64 <= 0.31 * out.imported_units as f64);
        let mut c = conditions(u64::MAX, 5.0, 0.0);
        c.fine_per_violation_usd = 0.0;
        c.penalty_value_multiple = 0.0; // free to try, certain to be caught
        let first = pop.step(1, &c, &mut rng);
        assert!(first.detections > 0);
        assert_eq!(first.exits, first.detections);
        assert_eq!(pop.active() as u64, 20 - out.exits - first.exits);
        // Entrants fill the vacant slots first.
        let before = pop.len();
        pop.enter(first.exits, &mut rng);
        assert_eq!(pop.len(), before);
        assert_eq!(pop.active() as u64, 20 - out.exits);
    }

    #[test]
    fn unprofitable_intermediaries_leave_and_margin_falls_with_enforcement() {
        let p = shells(100);
        let mut rng = Stream::seed_from_u64(4);
        let mut pop = Population::new(&p, &mut rng);
        let mut c = conditions(u64::MAX, 0.1, 0.0);
        let lax = pop.expected_margin(&c);
        assert!(lax > 0.0);
        c.permit_regime = 1.0;
        assert!(pop.expected_margin(&c) < lax);
        c.premium_usd_per_unit = 0.0;
        assert!(pop.expected_margin(&c) < 0.0);
        let exits: u64 = (0..3).map(|m| pop.step(m, &c, &mut rng).exits).sum();
        assert_eq!(exits, 100);
        assert_eq!(pop.active(), 0);
        assert_eq!(pop.demand_units(), 0);
    }

    #[test]
    fn attrition_winds_up_intermediaries_still_in_the_trade() {
        let p = shells(2000);
        let mut rng = Stream::seed_from_u64(6);
        let mut pop = Population::new(&p, &mut rng);
        let mut c = conditions(u64::MAX, 0.0, 0.0);
        c.attrition = 0.1;
        let out = pop.step(0, &c, &mut rng);
        assert_eq!(out.detections, 0);
        assert_eq!(out.exits, out.retired);
        assert!((150..=250).contains(&out.retired), "{}", out.retired);
        assert_eq!(pop.active() as u64, 2000 - out.retired);
    }

    #[test]
    fn same_seed_same_months_and_validation_names_fields() {
        let p = shells(1000);
        let run = || {
            let mut rng = Stream::seed_from_u64(5);
            let mut pop = Population::new(&p, &mut rng);
            (0..6)
                .map(|m| pop.step(m, &conditions(4000, 0.1, 0.2), &mut rng))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(), run());
        let file: PopulationFile = toml::from_str(
            "count = 10\nsize_median_units = 10.0\nsize_sigma = -1.0\nrisk_appetite_alpha = 2.0\n\
             risk_appetite_beta = 3.0\nmax_divert_fraction = 1.0\nvolume_scale_units = 50.0\n\
             exit_after_idle_months = 6\n",
        )
        .expect("a population table");
        let err = file
            .resolve("hubs.MYS.populations.shells", Range::Any, &Cx::default())
            .unwrap_err();
        assert_eq!(err.path, "hubs.MYS.populations.shells.size_sigma");
        assert!(err.message.contains("[0, 5]"), "{}", err.message);
        assert_eq!(Population::bytes_per_intermediary(), 12);
    }

    #[test]
    fn clearing_premium_falls_with_supply_and_is_capped_only_without_it() {
        assert_eq!(clearing_premium(0.0, 0.1, 0.5, 1.0, 2.0), 2.0);
        assert_eq!(clearing_premium(0.1, 0.1, 0.5, 1.0, 2.0), 0.5);
        assert_eq!(clearing_premium(0.2, 0.1, 0.5, 1.0, 2.0), 0.25);
        // More elastic demand: the premium moves less with supply.
        let (inelastic, elastic) = (
            clearing_premium(0.2, 0.1, 0.5, 0.5, 2.0),
            clearing_premium(0.2, 0.1, 0.5, 2.0, 2.0),
        );
        assert!(
            inelastic < elastic && elastic < 0.5,
            "{inelastic} {elastic}"
        );
        assert_eq!(clearing_premium(0.001, 0.1, 0.5, 1.0, 2.0), 2.0);
    }
}
