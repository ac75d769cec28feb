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
//! 2. **Close.** An intermediary whose investigation closes this month (its state holds the
//!    close month and the outcome drawn when the case opened, see [`super::hubs`] for the
//!    caseload) meets the outcome: `seizure` (this month's imports are seized, it pays the
//!    penalty and leaves), `prosecution` (it pays the penalty and leaves; its imports stay in
//!    the hub), `licence_cut` (it leaves and the regulator cuts the hub's licences) or
//!    `nothing` (it is free again). The penalty is charged by the hub, which knows how long
//!    the case ran.
//! 3. **Decide.** An intermediary weighs diverting `d_i = floor(max_divert_fraction × size_i)`
//!    units (what it would move at full size; it diverts at most what it imported, and the
//!    decision also sets what it asks for next month). Its perceived chance of a case with
//!    consequences this month comes from the caseload: `p̃ = min(1, ρ × d) × (1 − r)`, with
//!    `ρ` the hub's perceived case rate per conspicuous unit ([`CaseRules::perceived_rate`]:
//!    salience × punitive share × last year's opened cases per unit diverted through the hub,
//!    × the hub's conspicuity). It diverts when `d × premium × (1 − p̃) > p̃ × penalty(d)`,
//!    `penalty(d) = max(fine_per_violation, penalty_value_multiple × d × case_months × unit
//!    value)` (BIS: the greater of $374,474 or twice the transaction value, here the value of
//!    the lots a case covers). An intermediary under investigation that was deterred when the
//!    case opened does not divert until it closes.
//! 4. **Target.** Each unit a diverter not under investigation moves exposes it with
//!    probability `q = min(1, q_reg + q_hub)` (`q` the enforcers' case rates per unit this
//!    month), so it is picked for a case with probability `1 − (1 − q)^moved`: targeting
//!    rises with volume. The enforcer is the regulator with probability `q_reg / (q_reg +
//!    q_hub)`, else the hub's own authorities; the case's duration (uniform integer in
//!    `[case_months_min, case_months_max]`), its outcome and whether the intermediary is
//!    deterred are drawn when it opens. The month's shipment still goes through. Draws: the
//!    units until the next exposure are geometric ([`math::geometric_gap`], drawn at the start
//!    of the month and after each case), counted down across the diverters in index order,
//!    so a month costs one draw per case, not one per diverter.
//! 5. **Exit.** An intermediary for which diverting did not pay for `exit_after_idle_months`
//!    consecutive months leaves the trade; one still in it winds up with probability
//!    `smuggling.attrition_per_month` (shells are set up for a few shipments), so exits grow
//!    with the trade's size and entry settles where it balances them. Draws: the
//!    intermediaries to pass before the next one winds up are geometric, carried from month
//!    to month (redrawn when the rate changes), so the loop draws once per exit, not once per
//!    intermediary. An intermediary under investigation stays until its case closes.
//! 6. **Enter** ([`Population::enter`], called by the hubs with the month's entrants, see
//!    [`super::hubs`]): entrants are drawn like the starting population and fill vacant slots
//!    first; there is no fixed pool that runs dry, and no ban that expires.
//!
//! Every month `imported = retained + diverted + seized`, in whole units. Memory: 23 bytes
//! per intermediary slot, struct-of-arrays (size f32; what stays fixed for its life, computed
//! once when it enters: its lot `d` as f64 and `1 − r` as f64; state u16 — free
//! or an open case packed as close month, outcome, enforcer and deterrence —; idle months
//! u8, 0 when diverting was worthwhile last month) and one occupancy bit, so the month
//! visits only the slots in the trade, in index order; reserved at twice the starting
//! count so the monthly loop does not allocate while the population stays below that (case
//! records go to a scratch buffer the hub reuses).

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
        /// Beta alpha of risk appetite, the share of the perceived risk an intermediary
        /// ignores (mean alpha / (alpha + beta)).
        risk_appetite_alpha: f64 = None, Range::Above(0.0), "", AtStart;
        /// Beta beta of risk appetite.
        risk_appetite_beta: f64 = None, Range::Above(0.0), "", AtStart;
        /// Largest share of its imports an intermediary diverts: 1 for shell buyers, about
        /// 0.2-0.5 for cloud fronts.
        max_divert_fraction: f64 = None, Range::Within(0.0, 1.0), "share", AtStart;
        /// Consecutive months in which diverting does not pay after which an intermediary
        /// leaves the trade (its slot is free for an entrant).
        exit_after_idle_months: u32 = Some(3), Range::Closed(1.0, 255.0), "months", AtStart;
    }
}

/// How an investigation ends (drawn when it opens, met when it closes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Outcome {
    /// No action: the intermediary is free again.
    Nothing = 0,
    /// The month's imports are seized, the penalty charged; the intermediary leaves.
    Seizure = 1,
    /// The penalty is charged (fine, charges); the intermediary leaves.
    Prosecution = 2,
    /// The regulator cuts the hub's licences; the intermediary leaves.
    LicenceCut = 3,
}

impl Outcome {
    const ALL: [Outcome; 4] = [
        Outcome::Nothing,
        Outcome::Seizure,
        Outcome::Prosecution,
        Outcome::LicenceCut,
    ];

    /// The outcome's code (the order above).
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// Who opened an investigation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Enforcer {
    /// The product's regulator (the exporting nation).
    Regulator,
    /// The hub's own authorities (its permit regime).
    Hub,
}

/// An investigation opened or closed against an intermediary this month (the hub numbers
/// cases and writes events; see [`super::hubs`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CaseEvent {
    /// The intermediary's slot in its population.
    pub slot: u32,
    /// True when the case opened this month, false when it closed.
    pub opened: bool,
    pub enforcer: Enforcer,
    pub outcome: Outcome,
    /// Opened: the units the intermediary moved this month; closed: its lot
    /// `⌊max_divert_fraction × size⌋` (the basis of the penalty).
    pub units: u64,
    /// Units seized at the close (seizure only).
    pub seized_units: u64,
}

/// What the regulators' caseload means for a hub's intermediaries this month.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CaseRules {
    /// Probability per unit moved that the product's regulator opens a case against a diverter
    /// this month (its monthly budget of cases over last month's conspicuous volume, times the
    /// hub's conspicuity).
    pub target_rate_regulator: f64,
    /// The same for the hub's own authorities.
    pub target_rate_hub: f64,
    /// Perceived probability per unit diverted of a case with consequences this month.
    pub perceived_rate: f64,
    pub case_months_min: u32,
    pub case_months_max: u32,
    /// Shares of the outcomes seizure, prosecution and licence cut (the rest: nothing).
    pub outcome_shares: [f64; 3],
    /// Chance that an intermediary stops diverting while its case is open.
    pub deterrence: f64,
}

impl CaseRules {
    /// Mean months a case runs.
    pub fn mean_months(&self) -> f64 {
        0.5 * (self.case_months_min + self.case_months_max.max(self.case_months_min)) as f64
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
    pub cases: CaseRules,
    pub fine_per_violation_usd: f64,
    pub penalty_value_multiple: f64,
    /// Monthly probability that an intermediary in the trade winds up (shells are set up for
    /// a few shipments), caught or not.
    pub attrition: f64,
}

impl HubConditions {
    /// Penalty for a case over lot `d`: `max(fine, multiple × d × months × unit value)`.
    pub fn penalty(&self, d: f64, months: f64) -> f64 {
        self.fine_per_violation_usd
            .max(self.penalty_value_multiple * d * months * self.unit_value_usd)
    }
}

/// A population's month, in units and counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PopulationMonth {
    pub imported_units: u64,
    pub retained_units: u64,
    pub diverted_units: u64,
    pub seized_units: u64,
    /// Investigations closed with consequences (seizure, prosecution or licence cut).
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
    /// Investigations opened and closed this month.
    pub cases_opened: u64,
    pub cases_closed: u64,
    /// Closed cases whose outcome is a licence cut.
    pub licence_cuts: u64,
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
        self.cases_opened += o.cases_opened;
        self.cases_closed += o.cases_closed;
        self.licence_cuts += o.licence_cuts;
    }
}

/// One intermediary's slot as it enters: what stays the same for its life is computed once,
/// with the same floating-point operations the month would otherwise repeat.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Slot {
    lot_f: f64,
    keep: f64,
    size: f32,
}

/// The population's slots, struct-of-arrays (one array per field, indexed by slot), 23
/// bytes a slot: the month walks every array in step, and a field the common path does not
/// need costs it nothing.
#[derive(Default)]
struct Slots {
    /// Its lot `d = ⌊max_divert_fraction × size⌋` as f64, a whole number. The month converts
    /// it to an integer in one instruction (see `Population::step`) rather than hold it
    /// twice: one array fewer is one pointer fewer for the loop to keep, and with more of
    /// them than registers it reloads some from the stack at every slot.
    lot_f: Vec<f64>,
    /// `1 − risk appetite` (the appetite drawn as f32): the share of the perceived risk it
    /// heeds.
    keep: Vec<f64>,
    size: Vec<f32>,
    /// [`FREE`], or an open case (meaningless while the slot is vacant).
    state: Vec<u16>,
    /// Consecutive months in which diverting did not pay; 0 when it was worthwhile last
    /// month (it then imports at full size).
    idle: Vec<u8>,
    /// Bit `k % 64` of word `k / 64` is set while slot `k` holds an intermediary (the one
    /// record of which slots are vacant besides the entrants' stack `Population::vacant`):
    /// the month visits only those, in index order, without testing (and mispredicting) every
    /// vacant slot — about half the slots in the replay.
    occupied: Vec<u64>,
}

impl Slot {
    /// The slot of an intermediary of `size` and risk appetite `risk` that diverts at most
    /// `max_divert_fraction` of its imports.
    fn new(size: f32, risk: f32, max_divert_fraction: f64) -> Slot {
        let lot = (max_divert_fraction * size as f64) as u64;
        Slot {
            lot_f: lot as f64,
            keep: 1.0 - risk as f64,
            size,
        }
    }
}

impl Slots {
    /// The starting population's slots, all occupied, from its sizes and risk appetites, with
    /// room for `capacity` (at least), in `slots`' memory (emptied first): each array is
    /// filled in one pass (a slot at a time costs a capacity check per array).
    fn first(
        size: &[f32],
        risk: &[f32],
        max_divert_fraction: f64,
        capacity: usize,
        mut slots: Slots,
    ) -> Slots {
        let n = size.len();
        fn emptied<T>(v: &mut Vec<T>, capacity: usize) {
            v.clear();
            v.reserve(capacity);
        }
        emptied(&mut slots.lot_f, capacity);
        emptied(&mut slots.keep, capacity);
        emptied(&mut slots.size, capacity);
        emptied(&mut slots.state, capacity);
        emptied(&mut slots.idle, capacity);
        emptied(&mut slots.occupied, capacity.div_ceil(64));
        let each = size
            .iter()
            .zip(risk)
            .map(|(&s, &r)| Slot::new(s, r, max_divert_fraction));
        slots.lot_f.extend(each.clone().map(|s| s.lot_f));
        slots.keep.extend(each.map(|s| s.keep));
        slots.size.extend_from_slice(size);
        slots.state.resize(n, FREE);
        slots.idle.resize(n, 0);
        slots.occupied.resize(n / 64, u64::MAX);
        if !n.is_multiple_of(64) {
            slots.occupied.push((1 << (n % 64)) - 1);
        }
        slots
    }

    fn len(&self) -> usize {
        self.lot_f.len()
    }

    fn push(&mut self, s: Slot) {
        let k = self.len();
        if k.is_multiple_of(64) {
            self.occupied.push(0);
        }
        self.occupied[k / 64] |= 1 << (k % 64);
        self.lot_f.push(s.lot_f);
        self.keep.push(s.keep);
        self.size.push(s.size);
        self.state.push(FREE);
        self.idle.push(0);
    }

    fn set(&mut self, k: usize, s: Slot) {
        (self.lot_f[k], self.keep[k], self.size[k]) = (s.lot_f, s.keep, s.size);
        (self.state[k], self.idle[k]) = (FREE, 0);
        self.occupied[k / 64] |= 1 << (k % 64);
    }
}

/// One population's agents, a slot each.
pub struct Population {
    params: PopulationParams,
    slots: Slots,
    /// Slots of intermediaries that left (caught or unprofitable), reused by entrants.
    vacant: Vec<u32>,
    /// Σ wanted imports of intermediaries free to trade next month.
    free_capacity: f64,
    /// The largest size drawn so far: bounds the month's cumulative imports (see
    /// [`Population::step`]).
    max_size: f32,
    /// Lognormal location of the sizes and the risk appetites' sampler (entrants are drawn
    /// like the first population).
    size_mu: f64,
    risk_appetite: math::Beta,
    /// Intermediaries in the trade still to pass before the next one winds up, and the
    /// gaps' sampler at the monthly attrition rate it was drawn at (NaN before the first
    /// month).
    attrition_gap: u64,
    attrition: math::Geometric,
    /// The sampler of the units to the next case at last month's targeting rate. Each sampler
    /// keeps its `ln(1 − p)` while its rate stays the same: the attrition rate does for
    /// months on end, the targeting rate moves with the caseload (under enforcement, nearly
    /// every month).
    case_gap: math::Geometric,
}

impl Population {
    /// Draws sizes and risk appetites once (validated parameters).
    pub fn new(params: &PopulationParams, rng: &mut impl Rng) -> Population {
        Population::new_in(params, rng, None)
    }

    /// [`Population::new`] in `spare`'s memory: a population of an earlier replication, whose
    /// slots have grown with its entrants. In the replay a hub's population grows to several
    /// times its starting count in most replications, and growing it again in new memory each
    /// replication cost a copy at each doubling and, on the development VM, the kernel's time
    /// zeroing the fresh pages. The draws and the population are those of `new`.
    pub fn new_in(
        params: &PopulationParams,
        rng: &mut impl Rng,
        spare: Option<Population>,
    ) -> Population {
        let (slots, mut vacant) = spare.map_or_else(Default::default, |p| (p.slots, p.vacant));
        vacant.clear();
        let mu = math::ln(params.size_median_units);
        let n = params.count;
        let risk_appetite = math::Beta::new(params.risk_appetite_alpha, params.risk_appetite_beta);
        // Every size, then every risk appetite (the order of the draws).
        let size: Vec<f32> = (0..n)
            .map(|_| math::lognormal_f32(rng, mu, params.size_sigma))
            .collect();
        let risk: Vec<f32> = (0..n).map(|_| risk_appetite.sample(rng) as f32).collect();
        Population {
            params: params.clone(),
            // Room for entrants without reallocating in the monthly loop as long as the
            // population stays below twice its starting size.
            slots: Slots::first(&size, &risk, params.max_divert_fraction, 2 * n, slots),
            vacant,
            free_capacity: size.iter().map(|&s| s as f64).sum(),
            max_size: size.iter().fold(0.0, |m, &s| m.max(s)),
            size_mu: mu,
            risk_appetite,
            attrition_gap: u64::MAX,
            attrition: math::Geometric::new(f64::NAN),
            case_gap: math::Geometric::new(f64::NAN),
        }
    }

    /// A new intermediary's slot, from its size and risk appetite (notes the largest size).
    fn slot(&mut self, size: f32, risk: f32) -> Slot {
        self.max_size = self.max_size.max(size);
        Slot::new(size, risk, self.params.max_divert_fraction)
    }

    /// Slots (present and vacant intermediaries).
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Intermediaries in the trade now (slots not vacant).
    pub fn active(&self) -> usize {
        self.slots.len() - self.vacant.len()
    }

    /// Parameters of the population.
    pub fn params(&self) -> &PopulationParams {
        &self.params
    }

    /// `n` entrants, drawn like the starting population, fill vacant slots first.
    pub fn enter(&mut self, n: u64, rng: &mut impl Rng) {
        for _ in 0..n {
            let size = math::lognormal_f32(rng, self.size_mu, self.params.size_sigma);
            let risk = self.risk_appetite.sample(rng) as f32;
            self.free_capacity += size as f64;
            let slot = self.slot(size, risk);
            match self.vacant.pop() {
                Some(k) => self.slots.set(k as usize, slot),
                None => self.slots.push(slot),
            }
        }
    }

    /// Expected margin of diverting a median intermediary's lot under `c`, as a share of the
    /// lot's list value: `(premium × (1 − p) − p × penalty / d) / unit value` with `p` the
    /// perceived chance of a case with consequences for the lot (step 3 of the module doc,
    /// without risk appetite).
    pub fn expected_margin(&self, c: &HubConditions) -> f64 {
        let p = &self.params;
        let d = (p.max_divert_fraction * p.size_median_units).max(1.0);
        let caught = (c.cases.perceived_rate * d).min(1.0);
        let penalty = c.penalty(d, c.cases.mean_months());
        if c.unit_value_usd <= 0.0 {
            return 0.0;
        }
        (c.premium_usd_per_unit * (1.0 - caught) - caught * penalty / d) / c.unit_value_usd
    }

    pub fn is_empty(&self) -> bool {
        self.slots.len() == 0
    }

    pub const fn bytes_per_intermediary() -> usize {
        2 * std::mem::size_of::<f64>()
            + std::mem::size_of::<f32>()
            + std::mem::size_of::<u16>()
            + std::mem::size_of::<u8>()
    }

    /// Units the free intermediaries would import this month if nothing limited them.
    pub fn demand_units(&self) -> u64 {
        self.free_capacity as u64
    }

    /// One month (see the module doc); opened and closed cases are appended to `cases`.
    ///
    /// The loop keeps the common intermediary (free, deciding, no case, staying) on a short
    /// path: cases that close or open and exits are handled out of line, the month's sums
    /// that follow from others (`imported` telescopes, `retained = imported − diverted −
    /// seized`) are formed once at the end.
    pub fn step(
        &mut self,
        month: u32,
        c: &HubConditions,
        rng: &mut impl Rng,
        cases: &mut Vec<CaseEvent>,
    ) -> PopulationMonth {
        let share = if self.free_capacity > 0.0 {
            (c.import_allowance_units as f64 / self.free_capacity).min(1.0)
        } else {
            0.0
        };
        // The cumulative want never exceeds slots × largest size (each want is at most a
        // size; float sums of ≤ 2^32 terms stay within a factor 1 + 1e-6 of that), so below
        // 2^62 it converts to whole units through i64 (one instruction, see `month`)
        // exactly as through u64; so does each lot (at most the largest size) when the
        // largest size is below 2^62. With a fine that is a number (parameters are checked
        // finite), `fine.max(v)` is `if v > fine { v } else { fine }` (one instruction).
        let large = (1u64 << 62) as f64;
        let bound = self.slots.len() as f64 * self.max_size as f64 * share;
        if bound < large && (self.max_size as f64) < large && !c.fine_per_violation_usd.is_nan() {
            self.month::<true>(month, share, c, rng, cases)
        } else {
            self.month::<false>(month, share, c, rng, cases)
        }
    }

    /// [`Population::step`] with the import allowance's `share` of the wants; `FAST`:
    /// cumulative imports and lots convert to whole units through i64 and the fine is a
    /// number (see there).
    fn month<const FAST: bool>(
        &mut self,
        month: u32,
        share: f64,
        c: &HubConditions,
        rng: &mut impl Rng,
        cases: &mut Vec<CaseEvent>,
    ) -> PopulationMonth {
        let mut out = PopulationMonth::default();
        let p = &self.params;
        let rules = &c.cases;
        let case_months = rules.mean_months();
        let idle_limit = p.exit_after_idle_months.min(255) as u8;
        // What an intermediary wants, as a multiple of its size, indexed by whether diverting
        // was worthwhile last month: its legitimate share, or all of it.
        let want_factor = [1.0 - p.max_divert_fraction, 1.0];
        let divert_any = c.premium_usd_per_unit > 0.0 && share > 0.0;
        let (perceived, premium) = (rules.perceived_rate, c.premium_usd_per_unit);
        let (fine, multiple, unit_value) = (
            c.fine_per_violation_usd,
            c.penalty_value_multiple,
            c.unit_value_usd,
        );
        let (q_reg, q_hub) = (rules.target_rate_regulator, rules.target_rate_hub);
        let q = (q_reg + q_hub).min(1.0);
        // The gaps' samplers: their ln(1 − p) is worked out again only when a rate changes.
        if self.case_gap.p().to_bits() != q.to_bits() {
            self.case_gap = math::Geometric::new(q);
        }
        let case_gap = self.case_gap;
        let mut units_to_case = case_gap.gap(rng);
        if self.attrition.p().to_bits() != c.attrition.to_bits() {
            self.attrition = math::Geometric::new(c.attrition);
            self.attrition_gap = self.attrition.gap(rng);
        }
        let attrition = self.attrition;
        let mut attrition_gap = self.attrition_gap;
        let (mut cumulative_want, mut imported_so_far) = (0.0f64, 0u64);
        let (mut diverted_units, mut diverters) = (0u64, 0u64);
        let mut next_free = 0.0;
        let vacant = &mut self.vacant;
        // Slices of one length, so the loop indexes them without bounds checks.
        let n = self.slots.len();
        let (lots_f, keeps, sizes) = (
            &self.slots.lot_f[..n],
            &self.slots.keep[..n],
            &self.slots.size[..n],
        );
        let (states, idles) = (&mut self.slots.state[..n], &mut self.slots.idle[..n]);
        // The occupied slots in index order: each word's set bits, lowest first (a slot
        // vacated in the month clears its bit in `occupied`, not in the word's copy).
        let occupied = &mut self.slots.occupied[..];
        #[allow(clippy::needless_range_loop)] // `occupied[w]` is written inside
        for w in 0..occupied.len() {
            let mut bits = occupied[w];
            while bits != 0 {
                let bit = bits & bits.wrapping_neg();
                bits ^= bit;
                let k = (w << 6) | bit.trailing_zeros() as usize;
                let mut state = states[k];
                let size = sizes[k] as f64;
                // Cumulative rounding: whole units per intermediary, and the population as a whole
                // imports floor(Σ want × share) — no allowance lost to rounding.
                cumulative_want += size * want_factor[usize::from(idles[k] == 0)];
                let x = cumulative_want * share;
                let upto = if FAST {
                    debug_assert!((0.0..9.2e18).contains(&x), "{x}");
                    // SAFETY: x is a number in [0, 2^62 (1 + 1e-6)) (see `step`: sizes and
                    // shares are non-negative, the bound was checked), inside the range of
                    // i64, so the conversion is the plain truncation (one instruction instead
                    // of the saturating cast's six).
                    unsafe { x.to_int_unchecked::<i64>() as u64 }
                } else {
                    x as u64
                };
                let imported = upto - imported_so_far;
                imported_so_far = upto;
                let d = if FAST {
                    // SAFETY: a lot is a whole number in [0, largest size], below 2^62 (see
                    // `step`), so the conversion is the plain truncation, exact.
                    unsafe { lots_f[k].to_int_unchecked::<i64>() as u64 }
                } else {
                    lots_f[k] as u64
                };
                // `&`: whether a slot is under investigation varies from slot to slot, a
                // case closing is rare (a free slot's state, 0, closes at month 0).
                if (state != FREE) & (case_closes(state) <= month) {
                    if close_case(k, state, d, imported, &mut out, cases) {
                        vacate(k, &mut occupied[w], vacant);
                        continue;
                    }
                    state = FREE;
                    states[k] = FREE;
                }
                let df = lots_f[k];
                // `(perceived × d).min(1)` and `c.penalty(d, case_months)`, spelt so that they
                // compile to one instruction each (the same values).
                let seen = perceived * df;
                let p_seen = if seen < 1.0 { seen } else { 1.0 } * keeps[k];
                let value = multiple * df * case_months * unit_value;
                let penalty = if !FAST {
                    fine.max(value)
                } else if value > fine {
                    value
                } else {
                    fine
                };
                // `&`, not `&&`: the conditions are cheap and which of them fails varies from
                // intermediary to intermediary, so branches on them would be mispredicted.
                let worthwhile =
                    divert_any & (d > 0) & (df * premium * (1.0 - p_seen) > p_seen * penalty);
                let moved = d.min(imported);
                // A deterred intermediary under investigation does not divert (a free one's
                // state has no bits set).
                let diverts = worthwhile & (moved > 0) & !case_deterred(state);
                // Which intermediaries divert varies from slot to slot: a select, not a branch
                // (the compiler chose a branch here once the loop's surroundings changed, and
                // mispredicted it on every other diverter).
                let moved = std::hint::select_unpredictable(diverts, moved, 0);
                diverters += u64::from(diverts);
                diverted_units += moved;
                // Exposure counts down over the units moved by diverters not under
                // investigation (moving nothing leaves the count as it is).
                if state == FREE {
                    if units_to_case >= moved {
                        units_to_case -= moved;
                    } else {
                        let enforcer = (q_reg, q_hub, case_gap);
                        (state, units_to_case) =
                            open_case_event(k, month, rules, enforcer, moved, rng, &mut out, cases);
                        states[k] = state;
                    }
                }
                let idle = if worthwhile {
                    0
                } else {
                    idles[k].saturating_add(1)
                };
                idles[k] = idle;
                // Under investigation an intermediary stays until its case closes.
                if state == FREE {
                    if idle >= idle_limit {
                        leave(k, &mut occupied[w], vacant, &mut out);
                        continue;
                    }
                    if attrition_gap == 0 {
                        leave(k, &mut occupied[w], vacant, &mut out);
                        out.retired += 1;
                        attrition_gap = attrition.gap(rng);
                        continue;
                    }
                    attrition_gap -= 1;
                }
                next_free += size * want_factor[usize::from(worthwhile)];
            }
        }
        out.imported_units = imported_so_far;
        out.diverted_units = diverted_units;
        out.active_diverters = diverters;
        out.retained_units = imported_so_far - diverted_units - out.seized_units;
        self.attrition_gap = attrition_gap;
        self.free_capacity = next_free;
        out
    }
}

/// Slot `k`'s case closes this month with the state's outcome: counts it and logs it;
/// true when the outcome removes the intermediary (`lot` is the basis of the penalty; a
/// seizure takes the month's `imported`).
#[cold]
#[inline(never)]
fn close_case(
    k: usize,
    state: u16,
    lot: u64,
    imported: u64,
    out: &mut PopulationMonth,
    cases: &mut Vec<CaseEvent>,
) -> bool {
    let outcome = case_outcome(state);
    out.cases_closed += 1;
    let mut seized = 0;
    if outcome != Outcome::Nothing {
        out.detections += 1;
        if outcome == Outcome::Seizure {
            seized = imported;
        }
        if outcome == Outcome::LicenceCut {
            out.licence_cuts += 1;
        }
    }
    cases.push(CaseEvent {
        slot: k as u32,
        opened: false,
        enforcer: case_enforcer(state),
        outcome,
        units: lot,
        seized_units: seized,
    });
    if outcome == Outcome::Nothing {
        return false;
    }
    out.seized_units += seized;
    out.exits += 1;
    true
}

/// A case opens against slot `k`, which moved `moved` units: draws its enforcer (from the
/// regulator's and the hub's case rates per unit) and the case, logs it; returns the slot's
/// state and the units to the next case (drawn from `case_gap`).
#[cold]
#[inline(never)]
#[allow(clippy::too_many_arguments)]
fn open_case_event(
    k: usize,
    month: u32,
    rules: &CaseRules,
    (q_reg, q_hub, case_gap): (f64, f64, math::Geometric),
    moved: u64,
    rng: &mut impl Rng,
    out: &mut PopulationMonth,
    cases: &mut Vec<CaseEvent>,
) -> (u16, u64) {
    let enforcer = if rng.random::<f64>() * (q_reg + q_hub) < q_reg {
        Enforcer::Regulator
    } else {
        Enforcer::Hub
    };
    let state = open_case(month, rules, enforcer, rng);
    out.cases_opened += 1;
    cases.push(CaseEvent {
        slot: k as u32,
        opened: true,
        enforcer,
        outcome: case_outcome(state),
        units: moved,
        seized_units: 0,
    });
    (state, case_gap.gap(rng))
}

/// Slot `k`'s intermediary leaves the trade; its slot is vacant.
#[cold]
#[inline(never)]
fn leave(k: usize, occupied: &mut u64, vacant: &mut Vec<u32>, out: &mut PopulationMonth) {
    vacate(k, occupied, vacant);
    out.exits += 1;
}

/// Slot `k` is vacant: its bit in its word of `occupied` is cleared, and it goes on the
/// stack of slots entrants fill.
fn vacate(k: usize, occupied: &mut u64, vacant: &mut Vec<u32>) {
    *occupied &= !(1 << (k % 64));
    vacant.push(k as u32);
}

/// State of an intermediary in the trade and not under investigation.
const FREE: u16 = 0;
/// Bits of an open case's state: close month (bits 0–10, ≥ 1), outcome (11–12), deterred
/// (13), opened by the hub's own authorities (14).
const CLOSE_MASK: u16 = 0x07FF;
const DETERRED: u16 = 1 << 13;
const BY_HUB: u16 = 1 << 14;

/// The state of a case opened in `month`: its duration, outcome and deterrence drawn now.
fn open_case(month: u32, r: &CaseRules, enforcer: Enforcer, rng: &mut impl Rng) -> u16 {
    let (lo, hi) = (
        r.case_months_min.max(1),
        r.case_months_max.max(r.case_months_min.max(1)),
    );
    let months = lo + ((hi - lo + 1) as f64 * rng.random::<f64>()) as u32;
    let close = (month + months.min(hi)).min(CLOSE_MASK as u32) as u16;
    let u = rng.random::<f64>();
    let mut outcome = Outcome::Nothing;
    let mut acc = 0.0;
    for (k, s) in r.outcome_shares.iter().enumerate() {
        acc += s;
        if u < acc {
            outcome = Outcome::ALL[k + 1];
            break;
        }
    }
    let deterred = rng.random::<f64>() < r.deterrence;
    close
        | (u16::from(outcome.code()) << 11)
        | if deterred { DETERRED } else { 0 }
        | if enforcer == Enforcer::Hub { BY_HUB } else { 0 }
}

fn case_closes(state: u16) -> u32 {
    (state & CLOSE_MASK) as u32
}

fn case_outcome(state: u16) -> Outcome {
    Outcome::ALL[((state >> 11) & 3) as usize]
}

fn case_deterred(state: u16) -> bool {
    state & DETERRED != 0
}

fn case_enforcer(state: u16) -> Enforcer {
    if state & BY_HUB != 0 {
        Enforcer::Hub
    } else {
        Enforcer::Regulator
    }
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
    use crate::model::schema::{Cx, FileValue, KeyPath};
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
            exit_after_idle_months: 3,
        }
    }

    /// Conditions with a perceived case rate `perceived` per unit and a regulator that targets
    /// `target` per unit moved.
    fn conditions(allowance: u64, perceived: f64, target: f64) -> HubConditions {
        HubConditions {
            import_allowance_units: allowance,
            unit_value_usd: 27_500.0,
            premium_usd_per_unit: 13_750.0,
            cases: CaseRules {
                target_rate_regulator: target,
                target_rate_hub: 0.0,
                perceived_rate: perceived,
                case_months_min: 2,
                case_months_max: 4,
                outcome_shares: [0.3, 0.3, 0.1],
                deterrence: 0.5,
            },
            fine_per_violation_usd: 374_474.0,
            penalty_value_multiple: 2.0,
            attrition: 0.0,
        }
    }

    /// Steps `months` months from a population drawn with `seed`; returns the months and the
    /// case events.
    fn months(
        params: &PopulationParams,
        c: &HubConditions,
        seed: u64,
        months: u32,
    ) -> (Vec<PopulationMonth>, Vec<CaseEvent>) {
        let mut rng = Stream::seed_from_u64(seed);
        let mut pop = Population::new(params, &mut rng);
        let mut cases = Vec::new();
        let out = (0..months)
            .map(|m| {
                let out = pop.step(m, c, &mut rng, &mut cases);
                assert_eq!(
                    out.imported_units,
                    out.retained_units + out.diverted_units + out.seized_units
                );
                out
            })
            .collect();
        (out, cases)
    }

    /// Total diverted over 12 months, averaged over seeds.
    fn diverted(params: &PopulationParams, c: HubConditions) -> f64 {
        let total: u64 = (0..20)
            .flat_map(|seed| months(params, &c, seed, 12).0)
            .map(|m| m.diverted_units)
            .sum();
        total as f64 / 20.0
    }

    #[test]
    fn a_larger_perceived_caseload_means_less_diversion() {
        let p = shells(2000);
        let base = diverted(&p, conditions(u64::MAX, 0.002, 0.0));
        assert!(base > 0.0);
        assert!(diverted(&p, conditions(u64::MAX, 0.01, 0.0)) < 0.8 * base);
    }

    #[test]
    fn no_premium_no_diversion_and_imports_respect_allowance() {
        let p = shells(500);
        let mut c = conditions(1000, 0.001, 0.01);
        c.premium_usd_per_unit = 0.0;
        let (out, cases) = months(&p, &c, 1, 1);
        assert_eq!(out[0].diverted_units + out[0].seized_units, 0);
        assert!(out[0].imported_units <= 1000 && out[0].imported_units > 900);
        assert!(cases.is_empty(), "no diversion, no case");
    }

    #[test]
    fn cases_target_volume_and_close_with_their_outcome() {
        let p = shells(4000);
        let target = 0.0005;
        let (out, cases) = months(&p, &conditions(u64::MAX, 0.0, target), 7, 12);
        let opened: Vec<&CaseEvent> = cases.iter().filter(|e| e.opened).collect();
        // About target × units moved by diverters not already under investigation.
        let moved: u64 = out.iter().map(|m| m.diverted_units).sum();
        let expected = target * moved as f64;
        assert!(
            (opened.len() as f64) < 1.2 * expected && opened.len() as f64 > 0.6 * expected,
            "{} cases for {expected} expected",
            opened.len()
        );
        // Bigger movers are targeted more: the mean lot of a target is above the mean lot.
        let mean_target = opened.iter().map(|e| e.units).sum::<u64>() as f64 / opened.len() as f64;
        let mean_lot = moved as f64 / out.iter().map(|m| m.active_diverters).sum::<u64>() as f64;
        assert!(mean_target > 1.3 * mean_lot, "{mean_target} vs {mean_lot}");
        // Cases close after 2–4 months with the drawn outcomes; the punitive ones remove the
        // intermediary, seizures take its month's imports.
        let closed: Vec<&CaseEvent> = cases.iter().filter(|e| !e.opened).collect();
        let (opened_n, closed_n): (u64, u64) = out
            .iter()
            .fold((0, 0), |a, m| (a.0 + m.cases_opened, a.1 + m.cases_closed));
        assert_eq!(
            (opened_n, closed_n),
            (opened.len() as u64, closed.len() as u64)
        );
        assert!(closed.len() > opened.len() / 2 && closed.len() < opened.len());
        let seized: u64 = closed.iter().map(|e| e.seized_units).sum();
        assert_eq!(seized, out.iter().map(|m| m.seized_units).sum::<u64>());
        assert!(seized > 0);
        let punitive = closed
            .iter()
            .filter(|e| e.outcome != Outcome::Nothing)
            .count();
        assert_eq!(
            punitive as u64,
            out.iter().map(|m| m.detections).sum::<u64>()
        );
        let share = punitive as f64 / closed.len() as f64;
        assert!((0.55..0.85).contains(&share), "{share}");
    }

    #[test]
    fn an_investigated_intermediary_stays_and_a_deterred_one_stops_diverting() {
        let mut p = shells(1);
        p.size_sigma = 0.0;
        let mut c = conditions(u64::MAX, 0.0, 1.0); // certain to be targeted
        c.cases.outcome_shares = [0.0, 0.0, 0.0];
        c.cases.deterrence = 1.0;
        c.cases.case_months_min = 3;
        c.cases.case_months_max = 3;
        let (out, cases) = months(&p, &c, 2, 5);
        assert_eq!(out[0].cases_opened, 1);
        assert!(
            out[0].diverted_units > 0,
            "the month's shipment goes through"
        );
        // Deterred for months 1 and 2 (it does not divert, and does not leave though idle);
        // free again in month 3, when it diverts and is targeted again.
        assert_eq!(out[1].diverted_units + out[2].diverted_units, 0);
        assert_eq!(out[1].exits + out[2].exits, 0);
        assert_eq!(out[3].cases_closed, 1);
        assert!(out[3].diverted_units > 0 && out[3].cases_opened == 1);
        assert_eq!(cases[1].outcome, Outcome::Nothing);
        assert!(!cases[1].opened);
    }

    /// The starting slots, filled array by array, are those pushed one at a time: every
    /// field, and occupancy bits exactly for the slots there are (at, below and across a
    /// word's 64).
    #[test]
    fn starting_slots_are_the_slots_pushed_one_by_one() {
        for n in [0, 1, 63, 64, 65, 200] {
            let size: Vec<f32> = (0..n).map(|k| 0.75 + 3.5 * k as f32).collect();
            let risk: Vec<f32> = (0..n).map(|k| (k % 7) as f32 / 7.0).collect();
            let first = Slots::first(&size, &risk, 0.4, 2 * n, Slots::default());
            let mut pushed = Slots::default();
            for (&s, &r) in size.iter().zip(&risk) {
                pushed.push(Slot::new(s, r, 0.4));
            }
            assert_eq!(first.lot_f, pushed.lot_f, "{n}");
            assert_eq!(first.keep, pushed.keep, "{n}");
            assert_eq!(first.size, pushed.size, "{n}");
            assert_eq!(first.state, pushed.state, "{n}");
            assert_eq!(first.idle, pushed.idle, "{n}");
            assert_eq!(first.occupied, pushed.occupied, "{n}");
            assert!(first.lot_f.capacity() >= 2 * n, "{n}");
        }
    }

    /// The occupancy bits the month walks stay those of the slots not vacant, through exits
    /// (idle, attrition, cases) and entrants filling vacated slots, across word boundaries.
    #[test]
    fn occupied_bits_follow_the_vacant_slots() {
        let mut rng = Stream::seed_from_u64(7);
        let mut pop = Population::new(&shells(300), &mut rng);
        let mut c = conditions(u64::MAX, 0.004, 0.002);
        c.attrition = 0.05;
        let mut cases = Vec::new();
        let (mut exits, mut refills) = (0, 0);
        for m in 0..24 {
            exits += pop.step(m, &c, &mut rng, &mut cases).exits;
            refills += pop.vacant.len().min(40);
            pop.enter(40, &mut rng);
            let s = &pop.slots;
            assert_eq!(s.occupied.len(), s.len().div_ceil(64));
            for k in 0..s.len() {
                let bit = s.occupied[k / 64] >> (k % 64) & 1 == 1;
                let vacant = pop.vacant.contains(&(k as u32));
                assert_eq!(bit, !vacant, "slot {k} in month {m}");
            }
            let bits: u32 = s.occupied.iter().map(|w| w.count_ones()).sum();
            assert_eq!(bits as usize, pop.active());
        }
        assert!(
            exits > 100 && refills > 100,
            "exits {exits}, refills {refills}"
        );
        assert!(
            pop.len() > 300,
            "entrants beyond the vacated slots were appended"
        );
    }

    #[test]
    fn unprofitable_intermediaries_leave_and_margin_falls_with_the_caseload() {
        let p = shells(100);
        let mut rng = Stream::seed_from_u64(4);
        let mut pop = Population::new(&p, &mut rng);
        let mut c = conditions(u64::MAX, 0.0005, 0.0);
        let lax = pop.expected_margin(&c);
        assert!(lax > 0.0);
        c.cases.perceived_rate = 0.002;
        assert!(pop.expected_margin(&c) < lax);
        c.premium_usd_per_unit = 0.0;
        assert!(pop.expected_margin(&c) < 0.0);
        let mut cases = Vec::new();
        let exits: u64 = (0..3)
            .map(|m| pop.step(m, &c, &mut rng, &mut cases).exits)
            .sum();
        assert_eq!(exits, 100);
        assert_eq!(pop.active(), 0);
        assert_eq!(pop.demand_units(), 0);
        // Entrants fill the vacant slots first.
        pop.enter(10, &mut rng);
        assert_eq!((pop.len(), pop.active()), (100, 10));
    }

    #[test]
    fn attrition_winds_up_intermediaries_still_in_the_trade() {
        let p = shells(2000);
        let mut c = conditions(u64::MAX, 0.0, 0.0);
        c.attrition = 0.1;
        let (out, _) = months(&p, &c, 6, 1);
        assert_eq!(out[0].detections, 0);
        assert_eq!(out[0].exits, out[0].retired);
        assert!((150..=250).contains(&out[0].retired), "{}", out[0].retired);
    }

    #[test]
    fn same_seed_same_months_and_validation_names_fields() {
        let p = shells(1000);
        let c = conditions(4000, 0.001, 0.001);
        assert_eq!(months(&p, &c, 5, 6), months(&p, &c, 5, 6));
        let file: PopulationFile = toml::from_str(
            "count = 10\nsize_median_units = 10.0\nsize_sigma = -1.0\nrisk_appetite_alpha = 2.0\n\
             risk_appetite_beta = 3.0\nmax_divert_fraction = 1.0\nexit_after_idle_months = 6\n",
        )
        .expect("a population table");
        let err = file
            .resolve(
                &KeyPath::Root("hubs.MYS.populations.shells"),
                Range::Any,
                &Cx::default(),
            )
            .unwrap_err();
        assert_eq!(err.path, "hubs.MYS.populations.shells.size_sigma");
        assert!(err.message.contains("[0, 5]"), "{}", err.message);
        assert_eq!(Population::bytes_per_intermediary(), 23);
    }

    #[test]
    fn a_population_in_an_earlier_ones_memory_is_a_new_one() {
        // A population that grew (entrants beyond its starting room) and lost intermediaries
        // (vacant slots) lends its memory to the next: the same months and cases as a
        // population in new memory.
        let p = shells(200);
        let mut c = conditions(5_000, 0.001, 0.002);
        c.attrition = 0.05;
        let mut rng = Stream::seed_from_u64(3);
        let mut used = Population::new(&p, &mut rng);
        for m in 0..6 {
            used.enter(150, &mut rng);
            used.step(m, &c, &mut rng, &mut Vec::new());
        }
        assert!(used.slots.len() > 2 * p.count && !used.vacant.is_empty());
        let (grown, memory) = (used.slots.lot_f.capacity(), used.slots.lot_f.as_ptr());
        let run = |spare: Option<Population>| {
            let mut rng = Stream::seed_from_u64(11);
            let mut pop = Population::new_in(&p, &mut rng, spare);
            let (slots, free, largest) = (pop.len(), pop.free_capacity, pop.max_size);
            let mut cases = Vec::new();
            let months: Vec<PopulationMonth> = (0..8)
                .map(|m| {
                    let out = pop.step(m, &c, &mut rng, &mut cases);
                    pop.enter(120, &mut rng);
                    out
                })
                .collect();
            ((slots, free, largest, months, cases), pop)
        };
        let (fresh, _) = run(None);
        let (reused, pop) = run(Some(used));
        assert_eq!(fresh, reused);
        assert!(fresh.3.iter().map(|m| m.cases_opened).sum::<u64>() > 0);
        assert_eq!(
            pop.slots.lot_f.as_ptr(),
            memory,
            "the grown slots, not new ones"
        );
        assert!(pop.slots.lot_f.capacity() >= grown);
    }

    #[test]
    fn the_fast_month_is_the_general_one() {
        // The month converts cumulative imports through i64 and takes the larger of fine and
        // value with one comparison when imports are bounded and the fine is a number; the
        // same population and draws give the same months and cases either way, and a
        // population too large for the bound takes the general path.
        let p = shells(3000);
        let mut c = conditions(20_000, 0.001, 0.002);
        c.attrition = 0.05;
        let run = |via_i64: bool| {
            let mut rng = Stream::seed_from_u64(9);
            let mut pop = Population::new(&p, &mut rng);
            let mut cases = Vec::new();
            let months: Vec<PopulationMonth> = (0..8)
                .map(|m| {
                    let share = (c.import_allowance_units as f64 / pop.free_capacity).min(1.0);
                    let out = if via_i64 {
                        pop.month::<true>(m, share, &c, &mut rng, &mut cases)
                    } else {
                        pop.month::<false>(m, share, &c, &mut rng, &mut cases)
                    };
                    pop.enter(40, &mut rng);
                    out
                })
                .collect();
            (months, cases)
        };
        let (via_i64, via_u64) = (run(true), run(false));
        assert!(via_i64.0.iter().map(|m| m.cases_opened).sum::<u64>() > 0);
        assert_eq!(via_i64, via_u64);
        let mut huge = shells(4);
        huge.size_median_units = 1e19;
        huge.size_sigma = 0.0;
        let mut rng = Stream::seed_from_u64(1);
        let mut pop = Population::new(&huge, &mut rng);
        let out = pop.step(
            0,
            &conditions(u64::MAX, 0.0, 0.0),
            &mut rng,
            &mut Vec::new(),
        );
        assert_eq!(
            out.imported_units,
            u64::MAX,
            "saturates as the u64 conversion does"
        );
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
