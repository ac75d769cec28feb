//! M3 Export rules: which sales a regulator allows, licenses or prohibits, and the annual
//! licence ledger (cap and low-volume exception) per (regulator, destination, export class).
//!
//! Code for `docs/model.md` § M3. In the month: the ledger resets each January
//! ([`ExportRules::begin_month`]); after production, [`ExportRules::license`] splits every
//! order; allocation ships exempt units first and gives unshipped licensed units their cap back
//! ([`ExportRules::settle`]); hubs' imports are bounded by their licence room
//! ([`ExportRules::hub_room`]) and count against the cap ([`ExportRules::record_hub_imports`]).
//!
//! The rule in force for product `j` to nation `i` ([`RulesInForce::get`]) is
//! `Params::export_rule` (the vendor's home regulator's rule for the product's class and the
//! destination's tier), then, for a licence rule: `ALLOWED` under an accepted licence-exempt
//! deal (M8); else approval probability and cap times the licence factor of an imposed licence
//! cut (M6 pressure, M9 enforcement response).
//!
//! A licensed order of `o` units (`h` H100e each) in a month:
//! - `exempt = min(o, floor((exempt_h100e_per_year − exempt used) / h))`;
//! - approval: one uniform draw from the regulator's `Licensing` stream **every month for every
//!   licensed (nation, product) pair, ordered or not** (so scenarios differing in one lever share
//!   their random numbers), approved when `u < approval_probability`;
//! - `licensed = min(o − exempt, floor((annual_cap_h100e − cap used) / h))` if approved, else 0;
//! - the rest is denied (`denied_h100e`): a `licence_deny` event if refused, `cap_reached` if
//!   approved but over the cap.
//!
//! Before the split, an order is cut to what the destination's data-centre capacity can take
//! this month (`room`, see `World`; the rest waits as unfilled demand). Licensed units come
//! first from what the licence queue granted the destination (`granted`, [`super::licence_queue`]),
//! without a new approval or the cap; unshipped granted units go back to the grant.
//!
//! A hub (M9) applies for its intermediaries: each is a consignee with its own exception,
//! `room = consignees × exempt_h100e_per_year / 12 / h` plus, if approved (one more draw), the
//! cap room `/ h`.
//!
//! Parameter paths: `regulators.*.destinations.NATION`, `regulators.*.default_tier`,
//! `regulators.*.tiers.*.*.status`, `approval_probability`, `delay_months`,
//! `annual_cap_h100e`, `exempt_h100e_per_year`; `products.*.export_class`.

use rand::RngExt;

use super::diplomacy::{DealStatus, Diplomacy};
use super::flows::Flows;
use super::index::{Grid, Grid3};
use super::params::{ExportRule, ExportStatus, Params, ProductParams};
use super::record::{Event, EventKind, Party};
use crate::calendar::YearMonth;
use crate::rng::{Purpose, Stream, stream};

/// The (regulator, export class) whose licence ledger a product's licensed sales count in:
/// both resolved at validation. A licence rule only arises for a product that has both.
#[inline]
pub fn licence_slot(prod: &ProductParams) -> Option<(usize, usize)> {
    prod.regulator.zip(prod.export_class)
}

fn slot_of(prod: &ProductParams) -> (usize, usize) {
    licence_slot(prod).expect("a licence rule has a regulator and an export class")
}

/// The rules in force in one month: the regulators' rules with deals and licence cuts applied.
#[derive(Clone, Copy)]
pub struct RulesInForce<'a> {
    p: &'a Params,
    diplomacy: &'a Diplomacy,
    t: u32,
    /// Every (nation, product)'s rule, worked out once ([`RulesInForce::tabulate`]) while the
    /// diplomatic state it was worked out from holds: the month's decisions and allocation ask
    /// for each rule several times, and working one out walks the regulator's tiers and deals.
    table: Option<&'a Grid<ExportRule>>,
}

impl<'a> RulesInForce<'a> {
    pub fn new(p: &'a Params, diplomacy: &'a Diplomacy, t: u32) -> RulesInForce<'a> {
        RulesInForce {
            p,
            diplomacy,
            t,
            table: None,
        }
    }

    /// Fills `table` (nation × product) with the rules in force, for [`RulesInForce::from_table`].
    pub fn tabulate(&self, table: &mut Grid<ExportRule>) {
        let (nn, np) = (self.p.nations.len(), self.p.products.len());
        if table.rows() != nn || table.cols() != np {
            *table = Grid::new(nn, np, ExportRule::ALLOWED);
        }
        for i in 0..nn {
            for (j, rule) in table.row_mut(i).iter_mut().enumerate() {
                *rule = self.work_out(j, i);
            }
        }
    }

    /// The same rules, read from `table` as [`RulesInForce::tabulate`] left it; valid while
    /// the parameters and the diplomatic state (deals, licence cuts) stay as they were.
    pub fn from_table(self, table: &'a Grid<ExportRule>) -> RulesInForce<'a> {
        RulesInForce {
            table: Some(table),
            ..self
        }
    }

    /// The parameters in force.
    #[inline]
    pub fn params(&self) -> &'a Params {
        self.p
    }

    /// The diplomatic state the rules read (deals, licence cuts).
    #[inline]
    pub fn diplomacy(&self) -> &'a Diplomacy {
        self.diplomacy
    }

    /// The month.
    #[inline]
    pub fn month(&self) -> u32 {
        self.t
    }

    /// The rule in force for `product` to `nation` (see the module doc).
    #[inline]
    pub fn get(&self, product: usize, nation: usize) -> ExportRule {
        match self.table {
            Some(table) => table[(nation, product)],
            None => self.work_out(product, nation),
        }
    }

    fn work_out(&self, product: usize, nation: usize) -> ExportRule {
        let p = self.p;
        let mut rule = p.export_rule(product, nation);
        if rule.status != ExportStatus::Licence {
            return rule;
        }
        let Some(r) = p.products[product].regulator else {
            return rule;
        };
        if let Some(k) = self.diplomacy.accepted_deal(r, nation, p)
            && p.regulators[r].deals[k].licence_exempt
        {
            return ExportRule::ALLOWED;
        }
        let f = self.diplomacy.licence_factor(r, nation, self.t);
        rule.approval_probability *= f;
        rule.annual_cap_h100e = rule.annual_cap_h100e.map(|c| c * f);
        rule
    }
}

/// The rules in force kept from month to month for [`RulesInForce::from_table`]: a row
/// (nation) is worked out again only when what it was worked out from changed: the
/// parameters (a timeline snapshot began: every row), a licence factor toward the nation
/// (a cut imposed or run out), or the status of a deal with the nation. Each month it
/// compares those with what the rows were worked out from (regulators × nations factors and
/// the deals), instead of working out all nations × products rules, so the table equals what
/// [`RulesInForce::tabulate`] would fill in.
pub struct RulesTable {
    table: Grid<ExportRule>,
    /// The timeline snapshot the table was worked out under; `None` before the first month.
    snapshot: Option<usize>,
    /// Per (regulator, nation): the licence factor the nation's row was worked out with.
    factors: Grid<f64>,
    /// Per regulator and deal: the status the rows were worked out with.
    deals: Vec<Vec<DealStatus>>,
    /// Scratch: the nations whose row is worked out again.
    stale: Vec<bool>,
}

impl Default for RulesTable {
    fn default() -> Self {
        RulesTable::new()
    }
}

impl RulesTable {
    pub fn new() -> RulesTable {
        RulesTable {
            table: Grid::new(0, 0, ExportRule::ALLOWED),
            snapshot: None,
            factors: Grid::new(0, 0, 1.0),
            deals: Vec::new(),
            stale: Vec::new(),
        }
    }

    /// Brings the table up to `rules` (of the parameters of timeline snapshot `snapshot`);
    /// `changes` says which rows each snapshot may change (see [`RuleChanges`]).
    pub fn update(&mut self, rules: &RulesInForce, snapshot: usize, changes: &RuleChanges) {
        let (p, d, t) = (rules.p, rules.diplomacy, rules.t);
        let (nr, nn) = (p.regulators.len(), p.nations.len());
        let factors = |r: usize, i: usize| d.licence_factor(r, i, t);
        // The rows the parameters change: none within a snapshot; at the next snapshot, those
        // `changes` names; every row (`None`) at the first month or when it cannot say.
        let changed = match self.snapshot {
            Some(s) if s == snapshot => Some(&[][..]),
            Some(s) if s + 1 == snapshot => changes.rows(snapshot),
            _ => None,
        };
        let Some(changed) = changed else {
            rules.tabulate(&mut self.table);
            self.snapshot = Some(snapshot);
            self.factors = Grid::new(nr, nn, 1.0);
            for r in 0..nr {
                for (i, f) in self.factors.row_mut(r).iter_mut().enumerate() {
                    *f = factors(r, i);
                }
            }
            self.deals = (p.regulators.iter().enumerate())
                .map(|(r, reg)| (0..reg.deals.len()).map(|k| d.deal(r, k)).collect())
                .collect();
            return;
        };
        self.snapshot = Some(snapshot);
        self.stale.clear();
        self.stale.resize(nn, false);
        for &i in changed {
            self.stale[i] = true;
        }
        for r in 0..nr {
            for (i, f) in self.factors.row_mut(r).iter_mut().enumerate() {
                let now = factors(r, i);
                if now.to_bits() != f.to_bits() {
                    *f = now;
                    self.stale[i] = true;
                }
            }
        }
        for (r, reg) in p.regulators.iter().enumerate() {
            for (k, deal) in reg.deals.iter().enumerate() {
                let now = d.deal(r, k);
                if now != self.deals[r][k] {
                    self.deals[r][k] = now;
                    self.stale[deal.nation] = true;
                }
            }
        }
        for (i, _) in self.stale.iter().enumerate().filter(|(_, s)| **s) {
            for (j, rule) in self.table.row_mut(i).iter_mut().enumerate() {
                *rule = rules.work_out(j, i);
            }
        }
    }

    /// The table as [`RulesTable::update`] left it.
    pub fn table(&self) -> &Grid<ExportRule> {
        &self.table
    }
}

/// Per timeline snapshot, the nations (rows of a [`RulesTable`]) whose rules in force may
/// differ from the previous snapshot's for the same diplomatic state, worked out once for all
/// the replications of a setup: most dated changes touch a few destinations' rules or none
/// (guidance, import stances, a hub's permits), and working out every row again at each of
/// them was, with hundreds of nations, most of the table's work.
///
/// A rule in force reads the parameters only through `Params::export_rule`, each product's
/// regulator, and each regulator's deals' nation and licence exemption
/// ([`RulesInForce::get`]). When the last two, the products' home and class and the numbers of
/// nations, products and regulators are those of the previous snapshot, only the rows of the
/// nations toward which some regulator's rules differ (to the bit) can change; otherwise
/// every row may.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RuleChanges {
    rows: Vec<Option<Vec<usize>>>,
}

impl RuleChanges {
    /// From the snapshots' parameters, in timeline order (their rules are never drawn, so the
    /// setup's own parameters say it for every replication).
    pub fn new<'a>(snapshots: impl IntoIterator<Item = &'a Params>) -> RuleChanges {
        let mut rows = Vec::new();
        let mut last: Option<&Params> = None;
        for p in snapshots {
            rows.push(last.and_then(|old| rows_changed(old, p)));
            last = Some(p);
        }
        RuleChanges { rows }
    }

    /// The rows snapshot `snapshot` may change from the previous one (`None`: every row).
    pub fn rows(&self, snapshot: usize) -> Option<&[usize]> {
        self.rows.get(snapshot)?.as_deref()
    }
}

/// The nations whose rules in force may differ between `old` and `new` (see [`RuleChanges`]),
/// or `None` when any may.
fn rows_changed(old: &Params, new: &Params) -> Option<Vec<usize>> {
    let (nn, np) = (new.nations.len(), new.products.len());
    let same_products = (old.products.iter().zip(&new.products)).all(|(a, b)| {
        (a.home, a.export_class, a.regulator) == (b.home, b.export_class, b.regulator)
    });
    let deal_terms = |p: &Params| -> Vec<Vec<(usize, bool)>> {
        (p.regulators.iter())
            .map(|r| {
                r.deals
                    .iter()
                    .map(|d| (d.nation, d.licence_exempt))
                    .collect()
            })
            .collect()
    };
    let same_regulators = (old.regulators.iter().zip(&new.regulators))
        .all(|(a, b)| a.nation == b.nation)
        && deal_terms(old) == deal_terms(new);
    if old.nations.len() != nn
        || old.products.len() != np
        || old.regulators.len() != new.regulators.len()
        || !same_products
        || !same_regulators
    {
        return None;
    }
    let same = |a: ExportRule, b: ExportRule| {
        let bits = |r: ExportRule| {
            // Named in full, so that a new term cannot be left out.
            let ExportRule {
                status,
                approval_probability,
                delay_months,
                annual_cap_h100e,
                exempt_h100e_per_year,
                revenue_share,
            } = r;
            (
                status,
                approval_probability.to_bits(),
                delay_months,
                annual_cap_h100e.map(f64::to_bits),
                exempt_h100e_per_year.to_bits(),
                revenue_share.to_bits(),
            )
        };
        bits(a) == bits(b)
    };
    // With the products as they were, `export_rule(j, i)` can only change where some
    // regulator's rules toward `i` did (a row of a regulator no product names is compared
    // too, at no risk: a row worked out again is what it was).
    let row_differs = |i: usize| {
        (old.regulators.iter().zip(&new.regulators)).any(|(a, b)| {
            match (a.rules.get(i), b.rules.get(i)) {
                (Some(x), Some(y)) => {
                    x.len() != y.len() || x.iter().zip(y).any(|(u, v)| !same(*u, *v))
                }
                (x, y) => x.is_some() != y.is_some(),
            }
        })
    };
    if cfg!(any(test, debug_assertions)) {
        for i in (0..nn).filter(|&i| !row_differs(i)) {
            for j in 0..np {
                assert!(
                    same(old.export_rule(j, i), new.export_rule(j, i)),
                    "{i} {j}"
                );
            }
        }
    }
    Some((0..nn).filter(|&i| row_differs(i)).collect())
}

/// The licence ledger and this month's split of orders.
pub struct ExportRules {
    rng: Vec<Stream>,
    /// Licensed and licence-exempt H100e received this calendar year, per (regulator,
    /// destination, export class).
    cap_used_h100e: Grid3<f64>,
    exempt_used_h100e: Grid3<f64>,
    /// This month's order split, per (nation, product): units exempt and units licensed.
    exempt: Grid<u64>,
    licensed: Grid<u64>,
    /// H100e refused this month per (regulator, nation): no approval, and over the cap.
    denied: Grid<f64>,
    capped: Grid<f64>,
    /// Units of each (nation, product) licensed through the queue and not yet shipped
    /// ([`super::licence_queue`]), and how many of this month's licensed units drew on them.
    granted: Grid<u64>,
    from_grant: Grid<u64>,
    /// H100e each nation can still take this month for lack of data-centre capacity
    /// (infinite when unconstrained); set by [`ExportRules::set_capacity_room`].
    room_h100e: Vec<f64>,
}

impl ExportRules {
    pub fn new(p: &Params, rep_seed: u64) -> ExportRules {
        let (nr, nn, np) = (p.regulators.len(), p.nations.len(), p.products.len());
        let nc = p.export_classes.len().max(1);
        ExportRules {
            rng: (0..nr)
                .map(|r| stream(rep_seed, Purpose::Licensing, r))
                .collect(),
            cap_used_h100e: Grid3::new(nr, nn, nc, 0.0),
            exempt_used_h100e: Grid3::new(nr, nn, nc, 0.0),
            exempt: Grid::new(nn, np, 0),
            licensed: Grid::new(nn, np, 0),
            denied: Grid::new(nr, nn, 0.0),
            capped: Grid::new(nr, nn, 0.0),
            granted: Grid::new(nn, np, 0),
            from_grant: Grid::new(nn, np, 0),
            room_h100e: vec![f64::INFINITY; nn],
        }
    }

    /// Resets the annual ledger when month `t` (from `start`) is a January after the first.
    pub fn begin_month(&mut self, start: YearMonth, t: u32) {
        if t > 0 && start.plus(t).month == 1 {
            self.cap_used_h100e.fill(0.0);
            self.exempt_used_h100e.fill(0.0);
        }
    }

    /// Licensed H100e counted against the cap this year (regulator, destination, class).
    pub fn cap_used(&self, regulator: usize, nation: usize, class: usize) -> f64 {
        self.cap_used_h100e[(regulator, nation, class)]
    }

    /// Exempt H100e used this year (regulator, destination, class).
    pub fn exempt_used(&self, regulator: usize, nation: usize, class: usize) -> f64 {
        self.exempt_used_h100e[(regulator, nation, class)]
    }

    /// Units of this month's order of `product` by `nation` approved: (exempt, licensed).
    #[inline]
    pub fn approved(&self, nation: usize, product: usize) -> (u64, u64) {
        (
            self.exempt[(nation, product)],
            self.licensed[(nation, product)],
        )
    }

    /// Units of `product` licensed to `nation` through the queue and not yet shipped.
    #[inline]
    pub fn granted(&self, nation: usize, product: usize) -> u64 {
        self.granted[(nation, product)]
    }

    /// The queue licensed `units` of `product` to `nation` (M3 queue).
    pub fn grant(&mut self, nation: usize, product: usize, units: u64) {
        self.granted[(nation, product)] += units;
    }

    /// H100e each nation can still take this month (data-centre capacity online less what is
    /// installed; infinite when unconstrained).
    pub fn set_capacity_room(&mut self, room_h100e: impl Iterator<Item = f64>) {
        self.room_h100e.clear();
        self.room_h100e.extend(room_h100e);
    }

    /// H100e regulator `r` refused `nation` this month (not approved, or over the cap).
    #[inline]
    pub fn refused(&self, r: usize, nation: usize) -> f64 {
        self.denied[(r, nation)] + self.capped[(r, nation)]
    }

    /// Splits every order into exempt, licensed and denied units (see the module doc); denied
    /// H100e go to `flows.denied_h100e`, and one event per (regulator, nation) and kind.
    pub fn license(
        &mut self,
        rules: &RulesInForce,
        orders: &Grid<u64>,
        flows: &mut Flows,
        events: &mut Vec<Event>,
    ) {
        let p = rules.p;
        self.denied.fill(0.0);
        self.capped.fill(0.0);
        for i in 0..p.nations.len() {
            for j in 0..p.products.len() {
                let (exempt, licensed) = self.license_one(rules, i, j, orders[(i, j)], flows);
                self.exempt[(i, j)] = exempt;
                self.licensed[(i, j)] = licensed;
            }
        }
        for (r, reg) in p.regulators.iter().enumerate() {
            for i in 0..p.nations.len() {
                for (kind, amount) in [
                    (EventKind::LicenceDeny, self.denied[(r, i)]),
                    (EventKind::CapReached, self.capped[(r, i)]),
                ] {
                    if amount > 0.0 {
                        events.push(Event {
                            month: rules.t,
                            actor: Party::Nation(reg.nation),
                            target: Party::Nation(i),
                            kind,
                            magnitude: amount,
                        });
                    }
                }
            }
        }
    }

    /// One order of `order` units of product `j` by nation `i`: (exempt, licensed).
    fn license_one(
        &mut self,
        rules: &RulesInForce,
        i: usize,
        j: usize,
        order: u64,
        flows: &mut Flows,
    ) -> (u64, u64) {
        let p = rules.p;
        let rule = rules.get(j, i);
        let h = p.products[j].h100e_per_unit.value();
        self.from_grant[(i, j)] = 0;
        // Data-centre capacity: what cannot be powered this month waits (unfilled). A unit
        // takes up its H100e times its power per H100e (relative to an H100).
        let power = h * p.products[j].power_per_h100e;
        // Unconstrained: every unit fits, none waits (the unfilled sum, never -0.0, would add
        // +0.0), and the room stays infinite.
        let unconstrained = self.room_h100e[i] == f64::INFINITY && power > 0.0 && power.is_finite();
        let order = if unconstrained {
            order
        } else {
            // A cast to `u64` truncates and saturates: for a non-negative quotient, its floor
            // (here and below, without the call `floor` is on x86-64 without SSE4.1).
            let fits = (self.room_h100e[i] / power) as u64;
            let waiting = order.saturating_sub(fits);
            flows.unfilled_h100e[i] += waiting as f64 * h;
            order - waiting
        };
        let (exempt, licensed) = self.license_fitting(rules, rule, i, j, order, flows);
        if !unconstrained {
            self.room_h100e[i] -= (exempt + licensed) as f64 * power;
        }
        (exempt, licensed)
    }

    /// [`Self::license_one`] for an order that fits the destination's capacity.
    fn license_fitting(
        &mut self,
        rules: &RulesInForce,
        rule: ExportRule,
        i: usize,
        j: usize,
        order: u64,
        flows: &mut Flows,
    ) -> (u64, u64) {
        let p = rules.p;
        let h = p.products[j].h100e_per_unit.value();
        match rule.status {
            ExportStatus::Allowed => (order, 0),
            ExportStatus::Prohibited => {
                flows.denied_h100e[i] += order as f64 * h;
                (0, 0)
            }
            ExportStatus::Licence => {
                let (r, class) = slot_of(&p.products[j]);
                let slot = (r, i, class);
                // Drawn every month for every licensed pair, ordered or not, so that
                // scenarios differing in one lever share their random numbers.
                let approved_now = self.rng[r].random::<f64>() < rule.approval_probability;
                let room = (rule.exempt_h100e_per_year - self.exempt_used_h100e[slot]).max(0.0);
                let exempt = order.min((room / h) as u64);
                self.exempt_used_h100e[slot] += exempt as f64 * h;
                // Units the queue already licensed ship without a new approval or the cap.
                let from_grant = (order - exempt).min(self.granted[(i, j)]);
                self.granted[(i, j)] -= from_grant;
                self.from_grant[(i, j)] = from_grant;
                let rest = order - exempt - from_grant;
                let cap_room = rule
                    .annual_cap_h100e
                    .map_or(f64::INFINITY, |c| (c - self.cap_used_h100e[slot]).max(0.0));
                let licensed = if approved_now {
                    rest.min((cap_room / h) as u64)
                } else {
                    0
                };
                self.cap_used_h100e[slot] += licensed as f64 * h;
                let refused = (rest - licensed) as f64 * h;
                flows.denied_h100e[i] += refused;
                if approved_now {
                    self.capped[(r, i)] += refused;
                } else {
                    self.denied[(r, i)] += refused;
                }
                (exempt, from_grant + licensed)
            }
        }
    }

    /// `shipped` units of the approved order of product `j` by nation `i` left the vendor:
    /// exempt units count first; the quota and cap of approved units that did not ship are
    /// given back. Returns (exempt shipped, licensed shipped, licensed delay in months).
    #[inline]
    pub fn settle(&mut self, rules: &RulesInForce, i: usize, j: usize, shipped: u64) -> Shipped {
        let (exempt, licensed) = self.approved(i, j);
        let exempt_shipped = shipped.min(exempt);
        let licensed_shipped = shipped - exempt_shipped;
        let rule = rules.get(j, i);
        if rule.status == ExportStatus::Licence {
            let prod = &rules.p.products[j];
            let h = prod.h100e_per_unit.value();
            let (r, class) = slot_of(prod);
            // Licensed units drawn from the queue's grant ship first; the rest go back.
            let from_grant = self.from_grant[(i, j)];
            let grant_shipped = licensed_shipped.min(from_grant);
            self.granted[(i, j)] += from_grant - grant_shipped;
            let (capped, capped_shipped) =
                (licensed - from_grant, licensed_shipped - grant_shipped);
            self.cap_used_h100e[(r, i, class)] -= (capped - capped_shipped) as f64 * h;
            self.exempt_used_h100e[(r, i, class)] -= (exempt - exempt_shipped) as f64 * h;
        }
        Shipped {
            exempt: exempt_shipped,
            licensed: licensed_shipped,
            delay_months: rule.delay_months,
        }
    }

    /// Caps `demand` units a hub in nation `hub_nation` with `consignees` intermediaries asks
    /// for of `product` by the hub's licence room (see the module doc; draws the approval).
    pub fn hub_room(
        &mut self,
        rules: &RulesInForce,
        product: usize,
        hub_nation: usize,
        consignees: usize,
        demand: u64,
    ) -> u64 {
        let rule = rules.get(product, hub_nation);
        let prod = &rules.p.products[product];
        let unit = prod.h100e_per_unit.value();
        match rule.status {
            ExportStatus::Allowed => demand,
            ExportStatus::Prohibited => 0,
            ExportStatus::Licence => {
                let exempt = consignees as f64 * rule.exempt_h100e_per_year / 12.0 / unit;
                let (r, class) = slot_of(prod);
                let approved = self.rng[r].random::<f64>() < rule.approval_probability;
                let room = if approved {
                    rule.annual_cap_h100e.map_or(f64::INFINITY, |c| {
                        (c - self.cap_used_h100e[(r, hub_nation, class)]).max(0.0)
                    }) / unit
                } else {
                    0.0
                };
                demand.min((exempt + room).min(u64::MAX as f64) as u64)
            }
        }
    }

    /// A hub's intermediaries imported `units` of `product` under licence: they count
    /// against the hub nation's cap.
    pub fn record_hub_imports(
        &mut self,
        rules: &RulesInForce,
        product: usize,
        hub_nation: usize,
        units: u64,
    ) {
        let prod = &rules.p.products[product];
        if prod.regulator.is_some()
            && rules.get(product, hub_nation).status == ExportStatus::Licence
        {
            let (r, class) = slot_of(prod);
            self.cap_used_h100e[(r, hub_nation, class)] +=
                units as f64 * prod.h100e_per_unit.value();
        }
    }
}

/// How the units of one approved order that shipped are split, and the licensed delay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shipped {
    pub exempt: u64,
    pub licensed: u64,
    pub delay_months: u32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixture::{self, CHN, H100, MYS, USA};

    fn orders(p: &Params, nation: usize, units: u64) -> Grid<u64> {
        let mut o = Grid::new(p.nations.len(), p.products.len(), 0);
        o[(nation, H100)] = units;
        o
    }

    fn month(p: &Params, x: &mut ExportRules, units: u64) -> (Flows, Vec<Event>) {
        let d = Diplomacy::new(p);
        let rules = RulesInForce::new(p, &d, 0);
        let (mut flows, mut events) = (Flows::new(3, 2), Vec::new());
        x.license(&rules, &orders(p, MYS, units), &mut flows, &mut events);
        (flows, events)
    }

    #[test]
    fn exempt_quota_then_licensed_within_cap_then_denied() {
        let p = fixture::params();
        let mut x = ExportRules::new(&p, 1);
        let (flows, events) = month(&p, &mut x, 60);
        assert_eq!(x.approved(MYS, H100), (60, 0));
        assert_eq!(flows.denied_h100e[MYS], 0.0);
        assert!(events.is_empty());
        // 40 left of the quota, then up to 1,000 under the cap, the rest denied as capped.
        let (flows, events) = month(&p, &mut x, 1100);
        assert_eq!(x.approved(MYS, H100), (40, 1000));
        assert_eq!(flows.denied_h100e[MYS], 60.0);
        assert_eq!(x.refused(0, MYS), 60.0);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].kind, EventKind::CapReached);
        assert_eq!(x.cap_used(0, MYS, 0), 1000.0);
        assert_eq!(x.exempt_used(0, MYS, 0), 100.0);
    }

    #[test]
    fn refused_approval_denies_all_but_the_quota_and_prohibited_denies_everything() {
        let mut p = fixture::params();
        p.regulators[USA].rules[MYS][0].approval_probability = 0.0;
        let mut x = ExportRules::new(&p, 1);
        let (flows, events) = month(&p, &mut x, 300);
        assert_eq!(x.approved(MYS, H100), (100, 0));
        assert_eq!(flows.denied_h100e[MYS], 200.0);
        assert_eq!(events[0].kind, EventKind::LicenceDeny);
        let d = Diplomacy::new(&p);
        let rules = RulesInForce::new(&p, &d, 0);
        let mut flows = Flows::new(3, 2);
        x.license(&rules, &orders(&p, CHN, 50), &mut flows, &mut Vec::new());
        assert_eq!(x.approved(CHN, H100), (0, 0));
        assert_eq!(flows.denied_h100e[CHN], 50.0);
        // Home sales are never controlled.
        x.license(&rules, &orders(&p, USA, 5000), &mut flows, &mut Vec::new());
        assert_eq!(x.approved(USA, H100), (5000, 0));
    }

    #[test]
    fn unshipped_units_give_their_quota_and_cap_back() {
        let p = fixture::params();
        let mut x = ExportRules::new(&p, 1);
        month(&p, &mut x, 600);
        assert_eq!(x.approved(MYS, H100), (100, 500));
        let d = Diplomacy::new(&p);
        let rules = RulesInForce::new(&p, &d, 0);
        let s = x.settle(&rules, MYS, H100, 350);
        assert_eq!(
            s,
            Shipped {
                exempt: 100,
                licensed: 250,
                delay_months: 2
            }
        );
        assert_eq!(x.cap_used(0, MYS, 0), 250.0);
        assert_eq!(x.exempt_used(0, MYS, 0), 100.0);
        let s = x.settle(&rules, MYS, H100, 30);
        assert_eq!((s.exempt, s.licensed), (30, 0));
        assert_eq!(x.exempt_used(0, MYS, 0), 30.0);
    }

    #[test]
    fn the_table_holds_the_rules_worked_out_under_deals_and_cuts() {
        use crate::model::alignment::Alignment;
        use crate::rng::{Purpose, stream};
        let mut p = fixture::params();
        let mut d = Diplomacy::new(&p);
        d.cut_licences(0, MYS, 0.5, 3);
        let mut table = Grid::new(0, 0, ExportRule::ALLOWED);
        let same = |p: &Params, d: &Diplomacy, t: u32, table: &mut Grid<ExportRule>| {
            let rules = RulesInForce::new(p, d, t);
            rules.tabulate(table);
            let from = rules.from_table(table);
            for i in 0..p.nations.len() {
                for j in 0..p.products.len() {
                    assert_eq!(from.get(j, i), rules.get(j, i), "nation {i}, product {j}");
                }
            }
        };
        same(&p, &d, 0, &mut table);
        let cut = RulesInForce::new(&p, &d, 0)
            .from_table(&table)
            .get(H100, MYS);
        assert_eq!(
            cut.approval_probability,
            0.5 * p.regulators[USA].rules[MYS][0].approval_probability
        );
        // An accepted licence-exempt deal lifts the licence.
        p.regulators[USA].deals = vec![fixture::deal(0)];
        let mut d = Diplomacy::new(&p);
        let (mut a, mut events) = (Alignment::new(&p), Vec::new());
        let mut rngs: Vec<_> = (0..3).map(|i| stream(2, Purpose::Diplomacy, i)).collect();
        d.resolve(0, &p, &mut a, &mut rngs, &mut events);
        assert_eq!(d.accepted_deal(USA, MYS, &p), Some(0));
        same(&p, &d, 0, &mut table);
        assert_eq!(table[(MYS, H100)], ExportRule::ALLOWED);
        assert_eq!(table[(CHN, H100)].status, ExportStatus::Prohibited);
    }

    #[test]
    fn the_ledger_resets_in_january_only() {
        let p = fixture::params();
        let mut x = ExportRules::new(&p, 1);
        month(&p, &mut x, 600);
        let start = YearMonth {
            year: 2025,
            month: 1,
        };
        x.begin_month(start, 0);
        x.begin_month(start, 11);
        assert_eq!(x.cap_used(0, MYS, 0), 500.0);
        x.begin_month(start, 12);
        assert_eq!(
            (x.cap_used(0, MYS, 0), x.exempt_used(0, MYS, 0)),
            (0.0, 0.0)
        );
    }

    #[test]
    fn hub_room_is_the_consignees_quota_plus_cap_room() {
        let p = fixture::params();
        let mut x = ExportRules::new(&p, 1);
        let d = Diplomacy::new(&p);
        let rules = RulesInForce::new(&p, &d, 0);
        // 12 consignees × 100 / 12 = 100 exempt, plus 1,000 of cap room.
        assert_eq!(x.hub_room(&rules, H100, MYS, 12, 5000), 1100);
        assert_eq!(x.hub_room(&rules, H100, MYS, 12, 50), 50);
        x.record_hub_imports(&rules, H100, MYS, 700);
        assert_eq!(x.hub_room(&rules, H100, MYS, 12, 5000), 400);
        assert_eq!(x.hub_room(&rules, H100, CHN, 12, 5000), 0);
        assert_eq!(x.hub_room(&rules, H100, USA, 12, 5000), 5000);
    }

    #[test]
    fn granted_units_ship_without_approval_and_capacity_bounds_the_order() {
        let mut p = fixture::params();
        p.regulators[0].rules[MYS][0].approval_probability = 0.0;
        let d = Diplomacy::new(&p);
        let rules = RulesInForce::new(&p, &d, 0);
        let mut x = ExportRules::new(&p, 1);
        x.grant(MYS, H100, 500);
        let mut flows = Flows::new(3, 2);
        let mut orders = Grid::new(3, 2, 0);
        orders[(MYS, H100)] = 800;
        x.license(&rules, &orders, &mut flows, &mut Vec::new());
        // 100 exempt, 500 from the grant, the other 200 refused (approval 0).
        assert_eq!(x.approved(MYS, H100), (100, 500));
        assert_eq!(x.granted(MYS, H100), 0);
        // 300 of the 600 ship: exempt first, then 200 from the grant; 300 go back to it.
        let s = x.settle(&rules, MYS, H100, 300);
        assert_eq!((s.exempt, s.licensed), (100, 200));
        assert_eq!(x.granted(MYS, H100), 300);
        // Room for 250 H100e: only 250 of the order can be taken; the rest waits.
        p.regulators[0].rules[MYS][0].approval_probability = 1.0;
        let rules = RulesInForce::new(&p, &d, 1);
        x.set_capacity_room([f64::INFINITY, f64::INFINITY, 250.0].into_iter());
        let mut flows = Flows::new(3, 2);
        x.license(&rules, &orders, &mut flows, &mut Vec::new());
        let (e, l) = x.approved(MYS, H100);
        assert_eq!(e + l, 250);
        assert_eq!(flows.unfilled_h100e[MYS], 550.0);
        // A product drawing twice an H100's power per H100e: the same room takes 125.
        p.products[H100].power_per_h100e = 2.0;
        let rules = RulesInForce::new(&p, &d, 1);
        x.set_capacity_room([f64::INFINITY, f64::INFINITY, 250.0].into_iter());
        let mut flows = Flows::new(3, 2);
        x.license(&rules, &orders, &mut flows, &mut Vec::new());
        let (e, l) = x.approved(MYS, H100);
        assert_eq!(e + l, 125);
    }

    #[test]
    fn rule_changes_name_the_rows_a_snapshot_changes() {
        let p = fixture::params();
        let mut rule = p.clone();
        // MYS's licence approval halves: only its row changes.
        rule.regulators[0].rules[MYS][0].approval_probability = 0.5;
        // -0.0 equals 0.0 but is another value: CHN's row changes too.
        rule.regulators[0].rules[CHN][0].revenue_share = -0.0;
        let mut deal = rule.clone();
        deal.regulators[0].deals.push(fixture::deal(2));
        let changes = RuleChanges::new([&p, &p, &rule, &deal, &deal]);
        assert_eq!(changes.rows(0), None, "the first snapshot: every row");
        assert_eq!(changes.rows(1), Some(&[][..]));
        assert_eq!(changes.rows(2), Some(&[CHN, MYS][..]));
        assert_eq!(changes.rows(3), None, "a new deal: every row");
        assert_eq!(changes.rows(4), Some(&[][..]));
        assert_eq!(changes.rows(5), None);
    }
}
