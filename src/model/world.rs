//! The world: state of one replication and its monthly step (MODEL.md §1.2).
//!
//! Each month has two phases. **Decide**: every nation reads the world as it stood at the start
//! of the month (alignments, rules, inventories) and places its orders; no decision sees another
//! agent's same-month decision, so agent order never matters. **Resolve**, in a fixed order:
//! production (M1), licensing (M3), allocation by priority (M1, M10), shipping and deliveries,
//! backlog (M2), alignment (M7), then the ledger check (principle 5).

use rand::RngExt;

use super::diplomacy::{COUNTED, Diplomacy, ProjectStatus};
use super::ledger::{self, Imbalance, Places};
use super::market::{Request, allocate, logit_shares};
use super::params::{ExportRule, ExportStatus, GuidanceScope, Params};
use super::record::{Event, EventKind, Metric, Observer, Party};
use super::smuggling::{HubConditions, PopulationMonth};
use super::transshipment::{Hub, premium};
use super::{Change, Setup};
use crate::math;
use crate::rng::{Purpose, Stream, stream};

/// Weight of last month's expectation in the smoothed fill rate.
const FILL_RATE_MEMORY: f64 = 0.5;
/// Floor on the expected fill rate, so a product short for a while is not ruled out for ever.
const MIN_FILL_RATE: f64 = 0.05;

/// The ledger did not balance: a bug, never a modelling outcome.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("chip ledger violated in month {month}: {imbalance}")]
pub struct LedgerViolation {
    pub month: String,
    pub imbalance: Imbalance,
}

/// Units on their way to a nation.
#[derive(Clone, Copy, Debug)]
struct Shipment {
    arrives: u32,
    nation: usize,
    product: usize,
    units: u64,
}

/// Flows of the current month, per nation and per firm (reset each month).
#[derive(Clone, Debug, Default)]
struct Flows {
    demand_h100e: Vec<f64>,
    delivered_h100e: Vec<f64>,
    denied_h100e: Vec<f64>,
    unfilled_h100e: Vec<f64>,
    production_units: Vec<u64>,
    shipped_units: Vec<u64>,
    export_units: Vec<u64>,
}

impl Flows {
    fn new(nations: usize, firms: usize) -> Flows {
        Flows {
            demand_h100e: vec![0.0; nations],
            delivered_h100e: vec![0.0; nations],
            denied_h100e: vec![0.0; nations],
            unfilled_h100e: vec![0.0; nations],
            production_units: vec![0; firms],
            shipped_units: vec![0; firms],
            export_units: vec![0; firms],
        }
    }

    fn clear(&mut self) {
        for v in [
            &mut self.demand_h100e,
            &mut self.delivered_h100e,
            &mut self.denied_h100e,
            &mut self.unfilled_h100e,
        ] {
            v.iter_mut().for_each(|x| *x = 0.0);
        }
        for v in [
            &mut self.production_units,
            &mut self.shipped_units,
            &mut self.export_units,
        ] {
            v.iter_mut().for_each(|x| *x = 0);
        }
    }

    /// Adds this month's flows into running totals.
    fn add_to(&self, totals: &mut Flows) {
        let add_f = |t: &mut Vec<f64>, m: &Vec<f64>| t.iter_mut().zip(m).for_each(|(a, b)| *a += b);
        let add_u = |t: &mut Vec<u64>, m: &Vec<u64>| t.iter_mut().zip(m).for_each(|(a, b)| *a += b);
        add_f(&mut totals.demand_h100e, &self.demand_h100e);
        add_f(&mut totals.delivered_h100e, &self.delivered_h100e);
        add_f(&mut totals.denied_h100e, &self.denied_h100e);
        add_f(&mut totals.unfilled_h100e, &self.unfilled_h100e);
        add_u(&mut totals.production_units, &self.production_units);
        add_u(&mut totals.shipped_units, &self.shipped_units);
        add_u(&mut totals.export_units, &self.export_units);
    }
}

/// One replication's world.
pub struct World<'s> {
    setup: &'s Setup,
    /// Timeline snapshots with uncertain parameters drawn for this replication.
    params: Vec<Params>,
    /// Index of the snapshot in force.
    current: usize,
    /// Months simulated so far (the index of the next month to step).
    month: u32,
    n_nations: usize,
    n_products: usize,
    n_classes: usize,

    inventory: Vec<u64>,
    produced: Vec<u64>,
    initial_units: Vec<u64>,
    /// `installed[nation * n_products + product]`, units.
    installed: Vec<u64>,
    transit: Vec<Shipment>,
    /// Smoothed share of each (nation, product) request that shipped: what buyers expect to
    /// get (M5 availability). Starts at 1.
    fill_rate: Vec<f64>,
    /// Units of planned builds that are going ahead and not yet shipped, per (nation, product):
    /// standing orders, served first and never lapsing.
    standing: Vec<u64>,
    diplomacy: Diplomacy,
    /// Transshipment hubs (M9), in `Params::hubs` order.
    hubs: Vec<Hub>,
    /// Units each hub's intermediaries may import this month (granted by allocation).
    hub_granted: Vec<u64>,
    /// Units per product diverted to prohibited destinations, and seized, so far.
    diverted: Vec<u64>,
    seized: Vec<u64>,
    /// H100e diverted into each nation this month, and units over the run.
    diverted_in_h100e: Vec<f64>,
    diverted_in_units_total: Vec<u64>,
    /// Each nation's unmet demand last month net of smuggled supply (H100e): what sets the
    /// grey-market premium this month (read at the start of the month: two-phase).
    smuggling_gap_h100e: Vec<f64>,
    /// This month's premium per hub, USD per unit.
    hub_premium: Vec<f64>,

    backlog_h100e: Vec<f64>,
    alignment: Vec<f64>,
    /// Scratch copy of `alignment` at the start of the alignment update.
    alignment_before: Vec<f64>,
    /// Licensed and licence-exempt H100e received this calendar year,
    /// `[(regulator * n_nations + nation) * n_classes + class]`.
    cap_used_h100e: Vec<f64>,
    exempt_used_h100e: Vec<f64>,

    flows: Flows,
    /// H100e of standing orders left unfilled this month (kept out of the backlog).
    standing_unfilled_h100e: Vec<f64>,
    totals: Flows,

    demand_rng: Vec<Stream>,
    yield_rng: Vec<Stream>,
    licence_rng: Vec<Stream>,
    diplomacy_rng: Vec<Stream>,

    // Scratch buffers, reused every month (no allocation in the step).
    orders: Vec<u64>,
    utilities: Vec<f64>,
    shares: Vec<f64>,
    exempt: Vec<u64>,
    licensed: Vec<u64>,
    requests: Vec<Request>,
    granted: Vec<u64>,
    denied_by_regulator: Vec<f64>,
    capped_by_regulator: Vec<f64>,
}

impl<'s> World<'s> {
    /// The world at month 0 of the replication with seed `rep_seed`.
    pub fn new(setup: &'s Setup, rep_seed: u64) -> World<'s> {
        let params: Vec<Params> = setup
            .snapshots
            .iter()
            .map(|s| s.params.realise(rep_seed))
            .collect();
        let p = &params[0];
        let (n_nations, n_products, n_firms) = (p.nations.len(), p.products.len(), p.firms.len());
        let n_classes = p.export_classes.len().max(1);
        let n_regs = p.regulators.len();
        let mut installed = vec![0; n_nations * n_products];
        for (i, n) in p.nations.iter().enumerate() {
            installed[i * n_products..(i + 1) * n_products].copy_from_slice(&n.installed_units);
        }
        let inventory: Vec<u64> = p
            .products
            .iter()
            .map(|x| x.initial_inventory_units)
            .collect();
        let initial_units = (0..n_products)
            .map(|j| {
                inventory[j]
                    + (0..n_nations)
                        .map(|i| installed[i * n_products + j])
                        .sum::<u64>()
            })
            .collect();
        World {
            setup,
            current: 0,
            month: 0,
            n_nations,
            n_products,
            n_classes,
            inventory,
            produced: vec![0; n_products],
            initial_units,
            installed,
            transit: Vec::new(),
            fill_rate: vec![1.0; n_nations * n_products],
            standing: vec![0; n_nations * n_products],
            diplomacy: Diplomacy::new(p),
            hubs: p
                .hubs
                .iter()
                .enumerate()
                .map(|(h, hp)| Hub::new(hp, h, rep_seed))
                .collect(),
            hub_granted: vec![0; p.hubs.len()],
            diverted: vec![0; n_products],
            seized: vec![0; n_products],
            diverted_in_h100e: vec![0.0; n_nations],
            diverted_in_units_total: vec![0; n_nations],
            // Before any supply, a nation's whole monthly demand is unmet.
            smuggling_gap_h100e: p.nations.iter().map(|n| n.demand_h100e_per_month).collect(),
            hub_premium: vec![0.0; p.hubs.len()],
            backlog_h100e: vec![0.0; n_nations],
            alignment: p.nations.iter().map(|n| n.alignment).collect(),
            alignment_before: vec![0.0; n_nations],
            cap_used_h100e: vec![0.0; n_regs * n_nations * n_classes],
            exempt_used_h100e: vec![0.0; n_regs * n_nations * n_classes],
            flows: Flows::new(n_nations, n_firms),
            standing_unfilled_h100e: vec![0.0; n_nations],
            totals: Flows::new(n_nations, n_firms),
            demand_rng: (0..n_nations)
                .map(|i| stream(rep_seed, Purpose::Demand, i))
                .collect(),
            yield_rng: (0..n_products)
                .map(|j| stream(rep_seed, Purpose::Yield, j))
                .collect(),
            licence_rng: (0..n_regs)
                .map(|r| stream(rep_seed, Purpose::Licensing, r))
                .collect(),
            diplomacy_rng: (0..n_nations)
                .map(|i| stream(rep_seed, Purpose::Diplomacy, i))
                .collect(),
            orders: vec![0; n_nations * n_products],
            utilities: vec![0.0; n_products],
            shares: vec![0.0; n_products],
            exempt: vec![0; n_nations * n_products],
            licensed: vec![0; n_nations * n_products],
            requests: vec![
                Request {
                    priority: 1,
                    units: 0
                };
                2 * n_nations + p.hubs.len()
            ],
            granted: vec![0; 2 * n_nations + p.hubs.len()],
            denied_by_regulator: vec![0.0; n_regs * n_nations],
            capped_by_regulator: vec![0.0; n_regs * n_nations],
            params,
        }
    }

    /// Parameters in force this month.
    pub fn params(&self) -> &Params {
        &self.params[self.current]
    }

    /// Months stepped so far.
    pub fn month(&self) -> u32 {
        self.month
    }

    /// Alignment of every nation now.
    pub fn alignment(&self) -> &[f64] {
        &self.alignment
    }

    /// Units of `product` installed in `nation` now.
    pub fn installed_units(&self, nation: usize, product: usize) -> u64 {
        self.installed[nation * self.n_products + product]
    }

    /// Steps one month; events of the month are appended to `events`.
    pub fn step(&mut self, events: &mut Vec<Event>) -> Result<(), LedgerViolation> {
        let t = self.month;
        self.flows.clear();
        self.standing_unfilled_h100e
            .iter_mut()
            .for_each(|x| *x = 0.0);
        self.apply_timeline(t, events);
        if t > 0 && self.setup.start.plus(t).month == 1 {
            self.cap_used_h100e.iter_mut().for_each(|x| *x = 0.0);
            self.exempt_used_h100e.iter_mut().for_each(|x| *x = 0.0);
        }
        // Diplomacy of the month (M6, M8, M10) settles which planned builds go ahead.
        let p = &self.params[self.current];
        self.diplomacy
            .resolve(t, p, &mut self.alignment, &mut self.diplomacy_rng, events);
        // Decide (reads start-of-month state only).
        self.place_orders(t);
        // Resolve.
        self.produce(t);
        self.license(events, t);
        self.allocate_and_ship(t);
        self.transship(t, events);
        self.deliver(t);
        self.update_backlog();
        self.update_alignment();
        self.flows.add_to(&mut self.totals);
        self.check_ledger(t)?;
        self.month += 1;
        Ok(())
    }

    /// Switches to the snapshot starting this month and logs its changes.
    fn apply_timeline(&mut self, t: u32, events: &mut Vec<Event>) {
        let snaps = &self.setup.snapshots;
        if self.current + 1 < snaps.len() && snaps[self.current + 1].month == t {
            let before = self.current;
            self.current += 1;
            for (k, c) in self.setup.changes.iter().enumerate() {
                if c.month == t {
                    events.push(change_event(k, c));
                }
            }
            self.log_guidance_changes(before, t, events);
        }
    }

    fn log_guidance_changes(&self, before: usize, t: u32, events: &mut Vec<Event>) {
        let (old, new) = (&self.params[before], &self.params[self.current]);
        for (r_old, r_new) in old.regulators.iter().zip(&new.regulators) {
            for (f, (a, b)) in r_old.guidance.iter().zip(&r_new.guidance).enumerate() {
                if a != b {
                    events.push(Event {
                        month: t,
                        actor: Party::Nation(r_new.nation),
                        target: Party::Firm(f),
                        kind: EventKind::Guidance,
                        magnitude: scope_code(*b),
                    });
                }
            }
        }
    }

    /// M2 demand and M5 vendor choice: each nation's orders, in units per product.
    fn place_orders(&mut self, t: u32) {
        let p = &self.params[self.current];
        let np = self.n_products;
        self.orders.iter_mut().for_each(|o| *o = 0);
        for (i, nation) in p.nations.iter().enumerate() {
            let growth = math::pow(1.0 + nation.demand_growth_annual.value(), t as f64 / 12.0);
            let sigma = nation.demand_noise_sigma;
            let z = math::standard_normal(&mut self.demand_rng[i]);
            let noise = math::exp(sigma * z - 0.5 * sigma * sigma);
            let new_demand =
                nation.demand_h100e_per_month * growth * noise * self.diplomacy.demand_factor(i, t);
            self.flows.demand_h100e[i] = new_demand;
            let want = new_demand + self.backlog_h100e[i];
            for j in 0..np {
                self.utilities[j] = self.utility(p, i, j);
            }
            logit_shares(&self.utilities, &mut self.shares);
            for j in 0..np {
                let h = p.products[j].h100e_per_unit.value();
                self.orders[i * np + j] = (want * self.shares[j] / h).round() as u64;
            }
            for (k, project) in nation.projects.iter().enumerate() {
                if project.month == t && self.diplomacy.projects[i][k] == ProjectStatus::Proceeding
                {
                    self.standing[i * np + project.product] += project.units;
                    let h = p.products[project.product].h100e_per_unit.value();
                    self.flows.demand_h100e[i] += project.units as f64 * h;
                }
            }
            for j in 0..np {
                self.orders[i * np + j] += self.standing[i * np + j];
            }
        }
    }

    /// The rule in force for `product` to `nation`: the regulator's rule, lifted by an accepted
    /// licence-exempt deal, cut by an imposed licence cut (M3, M6, M8).
    fn rule(&self, p: &Params, product: usize, nation: usize, t: u32) -> ExportRule {
        let mut rule = p.export_rule(product, nation);
        if rule.status != ExportStatus::Licence {
            return rule;
        }
        let home = p.firms[p.products[product].vendor].home;
        let Some(r) = p.regulators.iter().position(|r| r.nation == home) else {
            return rule;
        };
        if let Some(k) = self.diplomacy.accepted_deal(r, nation, p)
            && p.regulators[r].deals[k].licence_exempt
        {
            return ExportRule::ALLOWED;
        }
        let f = self.diplomacy.licence_factor(r, nation, self.n_nations, t);
        rule.approval_probability *= f;
        rule.annual_cap_h100e = rule.annual_cap_h100e.map(|c| c * f);
        rule
    }

    /// M5: utility of product `j` to nation `i`; `-inf` if it cannot be bought.
    fn utility(&self, p: &Params, i: usize, j: usize) -> f64 {
        let prod = &p.products[j];
        let firm = &p.firms[prod.vendor];
        let rule = self.rule(p, j, i, self.month);
        let supply = self.inventory[j] > 0 || prod.capacity_units_per_month > 0.0;
        if rule.status == ExportStatus::Prohibited
            || !supply
            || self.diplomacy.barred(i, prod.vendor, p)
        {
            return f64::NEG_INFINITY;
        }
        let m = &p.market;
        let discount = if firm.home == i {
            0.0
        } else {
            firm.export_discount
        };
        let price = prod.price_usd * (1.0 - discount);
        let price_performance = math::ln(prod.h100e_per_unit.value() / (price / 1e4));
        let alignment = self.alignment[i] * self.alignment[firm.home];
        let (approval, delay) = match rule.status {
            ExportStatus::Licence => (rule.approval_probability, rule.delay_months as f64),
            _ => (1.0, 0.0),
        };
        let fill = self.fill_rate[i * self.n_products + j].max(MIN_FILL_RATE);
        let availability = math::ln(approval * fill);
        m.price_performance_weight * price_performance + m.alignment_weight * alignment
            - m.sanction_weight * self.sanction_share(p, i, prod.vendor)
            + m.availability_weight * availability
            - m.lead_time_weight_per_month * delay
            + p.nations[i].ecosystem[prod.vendor]
    }

    /// M4: expected sanction cost (share of price) for nation `i` of adopting `firm`'s chips,
    /// summed over regulators warning against that firm with `i` in scope.
    fn sanction_share(&self, p: &Params, i: usize, firm: usize) -> f64 {
        let home = p.firms[firm].home;
        p.regulators
            .iter()
            .filter(|r| r.nation != i && r.nation != home)
            .map(|r| {
                let in_scope = match r.guidance[firm] {
                    GuidanceScope::None => false,
                    GuidanceScope::HomeOnly => i == home,
                    GuidanceScope::Global => true,
                };
                if in_scope {
                    r.guidance_sanction_share * p.nations[i].dependence[r.nation]
                } else {
                    0.0
                }
            })
            .sum()
    }

    /// M1: production of the month into vendor inventory.
    fn produce(&mut self, t: u32) {
        let p = &self.params[self.current];
        for (j, prod) in p.products.iter().enumerate() {
            if prod.capacity_units_per_month <= 0.0 {
                continue;
            }
            let capacity = prod.capacity_units_per_month
                * math::pow(1.0 + prod.capacity_growth_annual.value(), t as f64 / 12.0);
            let ramp = if prod.yield_ramp_months > 0.0 {
                (t as f64 / prod.yield_ramp_months).min(1.0)
            } else {
                1.0
            };
            let (y0, y1) = (prod.yield_start.value(), prod.yield_target.value());
            let mut good = y0 + (y1 - y0) * ramp;
            if prod.yield_sd > 0.0 {
                let z = math::standard_normal(&mut self.yield_rng[j]);
                good += prod.yield_sd * z;
            }
            let units = (capacity * good.clamp(0.0, 1.0)).round() as u64;
            self.inventory[j] += units;
            self.produced[j] += units;
            self.flows.production_units[prod.vendor] += units;
        }
    }

    /// M3: splits each order into licence-exempt, licensed (approved, within the annual cap)
    /// and denied units; logs denials per (regulator, nation).
    fn license(&mut self, events: &mut Vec<Event>, t: u32) {
        let p = &self.params[self.current];
        let (nn, np, nc) = (self.n_nations, self.n_products, self.n_classes);
        self.denied_by_regulator.iter_mut().for_each(|x| *x = 0.0);
        self.capped_by_regulator.iter_mut().for_each(|x| *x = 0.0);
        for i in 0..nn {
            for j in 0..np {
                let k = i * np + j;
                let order = self.orders[k];
                let rule = self.rule(p, j, i, t);
                let h = p.products[j].h100e_per_unit.value();
                let (exempt, licensed) = match rule.status {
                    ExportStatus::Allowed => (order, 0),
                    ExportStatus::Prohibited => {
                        self.flows.denied_h100e[i] += order as f64 * h;
                        (0, 0)
                    }
                    ExportStatus::Licence => {
                        let home = p.firms[p.products[j].vendor].home;
                        let r = p
                            .regulators
                            .iter()
                            .position(|r| r.nation == home)
                            .unwrap_or(0);
                        let class = p.products[j].export_class.unwrap_or(0);
                        let slot = (r * nn + i) * nc + class;
                        // Drawn every month for every licensed pair, ordered or not, so that
                        // scenarios differing in one lever share their random numbers.
                        let approved_now =
                            self.licence_rng[r].random::<f64>() < rule.approval_probability;
                        let room =
                            (rule.exempt_h100e_per_year - self.exempt_used_h100e[slot]).max(0.0);
                        let exempt = order.min((room / h).floor() as u64);
                        self.exempt_used_h100e[slot] += exempt as f64 * h;
                        let rest = order - exempt;
                        let cap_room = rule
                            .annual_cap_h100e
                            .map_or(f64::INFINITY, |c| (c - self.cap_used_h100e[slot]).max(0.0));
                        let licensed = if approved_now {
                            rest.min((cap_room / h).floor().min(u64::MAX as f64) as u64)
                        } else {
                            0
                        };
                        self.cap_used_h100e[slot] += licensed as f64 * h;
                        let refused = (rest - licensed) as f64 * h;
                        self.flows.denied_h100e[i] += refused;
                        if approved_now {
                            self.capped_by_regulator[r * nn + i] += refused;
                        } else {
                            self.denied_by_regulator[r * nn + i] += refused;
                        }
                        (exempt, licensed)
                    }
                };
                self.exempt[k] = exempt;
                self.licensed[k] = licensed;
            }
        }
        for (r, reg) in p.regulators.iter().enumerate() {
            for i in 0..nn {
                for (kind, amount) in [
                    (EventKind::LicenceDeny, self.denied_by_regulator[r * nn + i]),
                    (EventKind::CapReached, self.capped_by_regulator[r * nn + i]),
                ] {
                    if amount > 0.0 {
                        events.push(Event {
                            month: t,
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

    /// M1/M10: shares each product's inventory among approved orders (home market first for
    /// firms that serve it first), ships, and returns unused cap for unshipped licensed units.
    fn allocate_and_ship(&mut self, t: u32) {
        // Parameters are taken out for the loop so shipping can update the stock.
        let params = std::mem::take(&mut self.params);
        let p = &params[self.current];
        let (nn, np, nc) = (self.n_nations, self.n_products, self.n_classes);
        for j in 0..np {
            let prod = &p.products[j];
            let firm = &p.firms[prod.vendor];
            let h = prod.h100e_per_unit.value();
            // Two claims per nation: the part served first (home market of a firm that serves
            // it first, standing orders of planned builds, deal allocations) and the rest.
            for i in 0..nn {
                let k = i * np + j;
                let total = self.exempt[k] + self.licensed[k];
                let first = if firm.home_priority && firm.home == i {
                    total
                } else {
                    (self.standing[k] + self.deal_allocation(p, i, j)).min(total)
                };
                self.requests[2 * i] = Request {
                    priority: 0,
                    units: first,
                };
                self.requests[2 * i + 1] = Request {
                    priority: 1,
                    units: total - first,
                };
            }
            for (h, hub) in p.hubs.iter().enumerate() {
                let units = if hub.product == j {
                    self.hub_request(p, h, t)
                } else {
                    0
                };
                self.requests[2 * nn + h] = Request { priority: 1, units };
            }
            let left = allocate(self.inventory[j], &self.requests, &mut self.granted);
            self.inventory[j] = left;
            for (h, hub) in p.hubs.iter().enumerate() {
                if hub.product == j {
                    self.hub_granted[h] = self.granted[2 * nn + h];
                }
            }
            for i in 0..nn {
                let k = i * np + j;
                let shipped = self.granted[2 * i] + self.granted[2 * i + 1];
                let requested = self.requests[2 * i].units + self.requests[2 * i + 1].units;
                let unfilled = requested - shipped;
                if requested > 0 {
                    let f = &mut self.fill_rate[k];
                    *f = FILL_RATE_MEMORY * *f
                        + (1.0 - FILL_RATE_MEMORY) * shipped as f64 / requested as f64;
                }
                // Standing orders are served first and do not lapse into backlog.
                let standing_before = self.standing[k];
                self.standing[k] = standing_before.saturating_sub(shipped);
                let standing_unfilled = self.standing[k].min(unfilled);
                self.flows.unfilled_h100e[i] += unfilled as f64 * h;
                self.standing_unfilled_h100e[i] += standing_unfilled as f64 * h;
                self.flows.shipped_units[prod.vendor] += shipped;
                if i != firm.home {
                    self.flows.export_units[prod.vendor] += shipped;
                }
                // Licence-exempt units go first; licensed units that did not ship give their
                // cap back.
                let exempt_shipped = shipped.min(self.exempt[k]);
                let licensed_shipped = shipped - exempt_shipped;
                let rule = self.rule(p, j, i, t);
                if rule.status == ExportStatus::Licence {
                    let r = p
                        .regulators
                        .iter()
                        .position(|r| r.nation == firm.home)
                        .unwrap_or(0);
                    let slot = (r * nn + i) * nc + prod.export_class.unwrap_or(0);
                    self.cap_used_h100e[slot] -= (self.licensed[k] - licensed_shipped) as f64 * h;
                    self.exempt_used_h100e[slot] -= (self.exempt[k] - exempt_shipped) as f64 * h;
                }
                self.ship(t, i, j, h, exempt_shipped, 0);
                self.ship(t, i, j, h, licensed_shipped, rule.delay_months);
            }
        }
        self.params = params;
    }

    /// Units a hub's intermediaries ask for this month: what the free ones would import,
    /// within the hub's licence (M3): each intermediary is a consignee with its own low-volume
    /// exception, and licensed imports beyond it need an approval and cap room.
    fn hub_request(&mut self, p: &Params, h: usize, t: u32) -> u64 {
        let hub = &p.hubs[h];
        // Intermediaries import more when the destination pays more: utilisation is the
        // premium over its reference level, capped at full capacity. With the gap net of last
        // month's smuggling, a hub that diverts less leaves a higher premium for the others
        // (the balloon effect).
        let list = p.products[hub.product].price_usd;
        let premium_now = premium(p, hub.product, self.smuggling_gap_h100e[hub.destination]);
        self.hub_premium[h] = premium_now;
        let reference = p.smuggling.premium_at_reference * list;
        let utilisation = if reference > 0.0 {
            (premium_now / reference).min(1.0)
        } else {
            1.0
        };
        let free: u64 = self.hubs[h]
            .populations
            .iter()
            .map(|x| x.demand_units())
            .sum();
        let demand = (free as f64 * utilisation) as u64;
        let rule = self.rule(p, hub.product, hub.nation, t);
        let unit = p.products[hub.product].h100e_per_unit.value();
        match rule.status {
            ExportStatus::Allowed => demand,
            ExportStatus::Prohibited => 0,
            ExportStatus::Licence => {
                let consignees: usize = self.hubs[h].populations.iter().map(|x| x.len()).sum();
                let exempt = consignees as f64 * rule.exempt_h100e_per_year / 12.0 / unit;
                let home = p.firms[p.products[hub.product].vendor].home;
                let r = p
                    .regulators
                    .iter()
                    .position(|r| r.nation == home)
                    .unwrap_or(0);
                let slot = (r * self.n_nations + hub.nation) * self.n_classes
                    + p.products[hub.product].export_class.unwrap_or(0);
                let approved = self.licence_rng[r].random::<f64>() < rule.approval_probability;
                let room = if approved {
                    rule.annual_cap_h100e
                        .map_or(f64::INFINITY, |c| (c - self.cap_used_h100e[slot]).max(0.0))
                        / unit
                } else {
                    0.0
                };
                demand.min((exempt + room).min(u64::MAX as f64) as u64)
            }
        }
    }

    /// M9: hubs' intermediaries import what they were granted and divert some of it.
    fn transship(&mut self, t: u32, events: &mut Vec<Event>) {
        let params = std::mem::take(&mut self.params);
        let p = &params[self.current];
        self.diverted_in_h100e.iter_mut().for_each(|x| *x = 0.0);
        for (h, hub) in p.hubs.iter().enumerate() {
            let j = hub.product;
            let prod = &p.products[j];
            let home = p.firms[prod.vendor].home;
            let reg = p.regulators.iter().position(|r| r.nation == home);
            let enforcement = reg.and_then(|r| p.regulators[r].enforcement.as_ref());
            let conditions = HubConditions {
                import_allowance_units: self.hub_granted[h],
                unit_value_usd: prod.price_usd,
                premium_usd_per_unit: self.hub_premium[h],
                enforcement_effort: enforcement.map_or(0.0, |e| e.effort),
                enforcement_capacity_cases: enforcement.map_or(0.0, |e| e.capacity_cases),
                permit_regime: hub.permit_regime,
                permit_hazard: enforcement.map_or(0.0, |e| e.permit_hazard),
                fine_per_violation_usd: enforcement.map_or(0.0, |e| e.fine_per_violation_usd),
                penalty_value_multiple: enforcement.map_or(0.0, |e| e.penalty_value_multiple),
            };
            let m = self.hubs[h].step(t, self.hub_granted[h], conditions);
            // Granted but not imported stays with the vendor.
            self.inventory[j] += self.hub_granted[h] - m.imported_units;
            self.hub_granted[h] = 0;
            let unit = prod.h100e_per_unit.value();
            if let Some(r) = reg {
                let rule = self.rule(p, j, hub.nation, t);
                if rule.status == ExportStatus::Licence {
                    let slot = (r * self.n_nations + hub.nation) * self.n_classes
                        + prod.export_class.unwrap_or(0);
                    self.cap_used_h100e[slot] += m.imported_units as f64 * unit;
                }
            }
            self.install(hub.nation, j, m.retained_units, unit);
            self.flows.shipped_units[prod.vendor] += m.imported_units;
            self.flows.export_units[prod.vendor] += m.imported_units;
            self.diverted[j] += m.diverted_units;
            self.seized[j] += m.seized_units;
            self.diverted_in_h100e[hub.destination] += m.diverted_units as f64 * unit;
            self.diverted_in_units_total[hub.destination] += m.diverted_units;
            if m.diverted_units > 0 {
                events.push(Event {
                    month: t,
                    actor: Party::Nation(hub.nation),
                    target: Party::Nation(hub.destination),
                    kind: EventKind::Divert,
                    magnitude: m.diverted_units as f64,
                });
            }
            if m.seized_units > 0 {
                events.push(Event {
                    month: t,
                    actor: Party::Nation(home),
                    target: Party::Nation(hub.nation),
                    kind: EventKind::Seizure,
                    magnitude: m.seized_units as f64,
                });
            }
            if let (Some(r), Some(e)) = (reg, enforcement)
                && m.detections > 0
                && e.response_months > 0
            {
                self.diplomacy.licence_cut[r * self.n_nations + hub.nation] =
                    (1.0 - e.response_licence_cut, t + e.response_months);
            }
        }
        for (i, gap) in self.smuggling_gap_h100e.iter_mut().enumerate() {
            *gap = (self.flows.denied_h100e[i] + self.flows.unfilled_h100e[i]
                - self.diverted_in_h100e[i])
                .max(0.0);
        }
        self.params = params;
    }

    /// Units of `product` an accepted deal reserves for `nation` this month (M8).
    fn deal_allocation(&self, p: &Params, nation: usize, product: usize) -> u64 {
        p.regulators
            .iter()
            .enumerate()
            .filter_map(|(r, reg)| {
                let k = self.diplomacy.accepted_deal(r, nation, p)?;
                let deal = &reg.deals[k];
                (deal.product == product).then(|| (deal.units_per_year / 12.0).round() as u64)
            })
            .sum()
    }

    fn ship(
        &mut self,
        t: u32,
        nation: usize,
        product: usize,
        h100e_per_unit: f64,
        units: u64,
        delay: u32,
    ) {
        if units == 0 {
            return;
        }
        if delay == 0 {
            self.install(nation, product, units, h100e_per_unit);
        } else {
            self.transit.push(Shipment {
                arrives: t + delay,
                nation,
                product,
                units,
            });
        }
    }

    fn install(&mut self, nation: usize, product: usize, units: u64, h100e_per_unit: f64) {
        self.installed[nation * self.n_products + product] += units;
        self.flows.delivered_h100e[nation] += units as f64 * h100e_per_unit;
    }

    /// Shipments arriving this month are installed.
    fn deliver(&mut self, t: u32) {
        let mut k = 0;
        while k < self.transit.len() {
            if self.transit[k].arrives <= t {
                let s = self.transit.swap_remove(k);
                let h = self.params[self.current].products[s.product]
                    .h100e_per_unit
                    .value();
                self.install(s.nation, s.product, s.units, h);
            } else {
                k += 1;
            }
        }
    }

    /// M2: what was wanted and neither shipped nor lapsed carries over.
    fn update_backlog(&mut self) {
        let p = &self.params[self.current];
        for (i, nation) in p.nations.iter().enumerate() {
            let refused = self.flows.denied_h100e[i] + self.flows.unfilled_h100e[i]
                - self.standing_unfilled_h100e[i];
            let met_by_smuggling = self.diverted_in_h100e[i];
            self.backlog_h100e[i] =
                (refused - met_by_smuggling).max(0.0) * (1.0 - nation.backlog_decay);
        }
    }

    /// M7 (market part): alignment drifts toward where a nation buys, away from regulators
    /// that deny it, and back toward its initial stance.
    fn update_alignment(&mut self) {
        let p = &self.params[self.current];
        let a = &p.alignment;
        let (nn, np) = (self.n_nations, self.n_products);
        // Every nation moves from where all stood at the start of the step (two-phase).
        self.alignment_before.copy_from_slice(&self.alignment);
        let old = &self.alignment_before;
        for i in 0..nn {
            let mut da = a.reversion_per_month * (p.nations[i].alignment - old[i]);
            // Powers (nations with a regulator role) hold their stance: they only revert.
            let is_power = p.regulators.iter().any(|r| r.nation == i);
            let want = self.flows.demand_h100e[i] + self.backlog_h100e[i];
            if !is_power {
                let (mut pull, mut total) = (0.0, 0.0);
                for j in 0..np {
                    let h100e =
                        self.orders[i * np + j] as f64 * p.products[j].h100e_per_unit.value();
                    let home = p.firms[p.products[j].vendor].home;
                    if home != i {
                        pull += h100e * old[home].signum();
                        total += h100e;
                    }
                }
                if total > 0.0 {
                    da += a.purchase_pull * pull / total;
                }
                if want > 0.0 {
                    for (r, reg) in p.regulators.iter().enumerate() {
                        let refused = self.denied_by_regulator[r * nn + i]
                            + self.capped_by_regulator[r * nn + i];
                        da -= a.denial_push * (refused / want).min(1.0) * old[reg.nation].signum();
                    }
                }
            }
            self.alignment[i] = (old[i] + da).clamp(-1.0, 1.0);
        }
    }

    fn check_ledger(&self, t: u32) -> Result<(), LedgerViolation> {
        for j in 0..self.n_products {
            let places = Places {
                vendor_inventory: self.inventory[j],
                in_transit: self
                    .transit
                    .iter()
                    .filter(|s| s.product == j)
                    .map(|s| s.units)
                    .sum(),
                installed: (0..self.n_nations)
                    .map(|i| self.installed_units(i, j))
                    .sum(),
                diverted: self.diverted[j],
                seized: self.seized[j],
                ..Places::default()
            };
            let name = &self.params[self.current].products[j].id;
            ledger::check(name, self.initial_units[j], self.produced[j], places).map_err(
                |imbalance| LedgerViolation {
                    month: self.setup.start.plus(t).to_string(),
                    imbalance,
                },
            )?;
        }
        Ok(())
    }

    /// Installed H100e of `nation` from firm `firm` (all firms when `None`).
    fn installed_h100e(&self, nation: usize, firm: Option<usize>) -> f64 {
        let p = self.params();
        p.products
            .iter()
            .enumerate()
            .filter(|(_, prod)| firm.is_none_or(|f| prod.vendor == f))
            .map(|(j, prod)| self.installed_units(nation, j) as f64 * prod.h100e_per_unit.value())
            .sum()
    }

    /// The month's series, per nation then per firm (see `Setup::series_names`).
    pub fn observe(&self, o: &mut impl Observer) {
        let p = self.params();
        for (i, n) in p.nations.iter().enumerate() {
            let e = n.id.as_str();
            o.value(e, Metric::Plain("demand_h100e"), self.flows.demand_h100e[i]);
            o.value(
                e,
                Metric::Plain("delivered_h100e"),
                self.flows.delivered_h100e[i],
            );
            o.value(e, Metric::Plain("denied_h100e"), self.flows.denied_h100e[i]);
            o.value(
                e,
                Metric::Plain("unfilled_h100e"),
                self.flows.unfilled_h100e[i],
            );
            o.value(e, Metric::Plain("backlog_h100e"), self.backlog_h100e[i]);
            o.value(e, Metric::Plain("alignment"), self.alignment[i]);
            self.observe_installed(o, i);
        }
        for (f, firm) in p.firms.iter().enumerate() {
            let e = firm.id.as_str();
            let inventory: u64 = (0..self.n_products)
                .filter(|&j| p.products[j].vendor == f)
                .map(|j| self.inventory[j])
                .sum();
            o.value(
                e,
                Metric::Plain("production_units"),
                self.flows.production_units[f] as f64,
            );
            o.value(
                e,
                Metric::Plain("shipped_units"),
                self.flows.shipped_units[f] as f64,
            );
            o.value(
                e,
                Metric::Plain("export_units"),
                self.flows.export_units[f] as f64,
            );
            o.value(e, Metric::Plain("inventory_units"), inventory as f64);
        }
        self.observe_hubs(o);
    }

    /// Per hub (M9): the month's imports, diversion, seizures, detections, and intermediaries
    /// free to trade; per destination: units diverted into it.
    fn observe_hubs(&self, o: &mut impl Observer) {
        let p = self.params();
        for (h, hub) in p.hubs.iter().enumerate() {
            let e = p.nations[hub.nation].id.as_str();
            let m = &self.hubs[h].month;
            observe_hub_flows(o, e, m);
            o.value(e, Metric::Plain("hub_diverters"), m.active_diverters as f64);
            let count: usize = self.hubs[h].populations.iter().map(|x| x.len()).sum();
            o.value(
                e,
                Metric::Plain("hub_active_intermediaries"),
                (count as u64 - m.barred) as f64,
            );
        }
        for (i, n) in p.nations.iter().enumerate() {
            if p.hubs.iter().any(|h| h.destination == i) {
                o.value(
                    &n.id,
                    Metric::Plain("diverted_in_h100e"),
                    self.diverted_in_h100e[i],
                );
            }
        }
    }

    /// Whether `nation` has chips installed from a foreign patron's firms (a power with a
    /// patron policy, M10): "ended with rival chips installed".
    fn rival_stack_installed(&self, nation: usize) -> bool {
        let p = self.params();
        p.products.iter().enumerate().any(|(j, prod)| {
            let home = p.firms[prod.vendor].home;
            home != nation
                && p.regulators
                    .iter()
                    .any(|r| r.nation == home && r.patron.is_some())
                && self.installed_units(nation, j) > 0
        })
    }

    /// Installed H100e of nation `i`, in all and by firm.
    fn observe_installed(&self, o: &mut impl Observer, i: usize) {
        let p = self.params();
        let e = p.nations[i].id.as_str();
        o.value(
            e,
            Metric::Plain("installed_h100e"),
            self.installed_h100e(i, None),
        );
        for (f, firm) in p.firms.iter().enumerate() {
            o.value(
                e,
                Metric::Per("installed_h100e", &firm.id),
                self.installed_h100e(i, Some(f)),
            );
        }
    }

    /// End-of-run outcomes (see `Setup::summary_names`): stocks at the end, totals over the run.
    pub fn summarise(&self, o: &mut impl Observer) {
        let p = self.params();
        for (i, n) in p.nations.iter().enumerate() {
            let e = n.id.as_str();
            self.observe_installed(o, i);
            o.value(
                e,
                Metric::Plain("denied_h100e"),
                self.totals.denied_h100e[i],
            );
            o.value(
                e,
                Metric::Plain("unfilled_h100e"),
                self.totals.unfilled_h100e[i],
            );
            o.value(e, Metric::Plain("alignment"), self.alignment[i]);
            for (k, kind) in COUNTED.iter().enumerate() {
                o.value(
                    e,
                    Metric::Per(kind.name(), "count"),
                    self.diplomacy.counts[i][k] as f64,
                );
            }
            o.value(
                e,
                Metric::Plain("rival_stack_installed"),
                f64::from(u8::from(self.rival_stack_installed(i))),
            );
        }
        for (f, firm) in p.firms.iter().enumerate() {
            let e = firm.id.as_str();
            let shipped = self.totals.shipped_units[f];
            let share = if shipped > 0 {
                self.totals.export_units[f] as f64 / shipped as f64
            } else {
                0.0
            };
            o.value(
                e,
                Metric::Plain("production_units"),
                self.totals.production_units[f] as f64,
            );
            o.value(e, Metric::Plain("shipped_units"), shipped as f64);
            o.value(e, Metric::Plain("export_share"), share);
        }
        for (h, hub) in p.hubs.iter().enumerate() {
            let e = p.nations[hub.nation].id.as_str();
            let m = &self.hubs[h].total;
            observe_hub_flows(o, e, m);
            o.value(e, Metric::Plain("hub_fines_usd"), m.fines_usd as f64);
        }
        for (i, n) in p.nations.iter().enumerate() {
            if p.hubs.iter().any(|h| h.destination == i) {
                o.value(
                    &n.id,
                    Metric::Plain("diverted_units"),
                    self.diverted_in_units_total[i] as f64,
                );
            }
        }
    }
}

/// A hub's imports, diversion, seizures and detections (of a month or of the run).
fn observe_hub_flows(o: &mut impl Observer, entity: &str, m: &PopulationMonth) {
    o.value(
        entity,
        Metric::Plain("hub_imported_units"),
        m.imported_units as f64,
    );
    o.value(
        entity,
        Metric::Plain("hub_diverted_units"),
        m.diverted_units as f64,
    );
    o.value(
        entity,
        Metric::Plain("hub_seized_units"),
        m.seized_units as f64,
    );
    o.value(entity, Metric::Plain("hub_detections"), m.detections as f64);
}

fn scope_code(s: GuidanceScope) -> f64 {
    match s {
        GuidanceScope::None => 0.0,
        GuidanceScope::HomeOnly => 1.0,
        GuidanceScope::Global => 2.0,
    }
}

fn change_event(k: usize, c: &Change) -> Event {
    Event {
        month: c.month,
        actor: c.actor,
        target: Party::TimelineChange(k),
        kind: EventKind::Timeline,
        magnitude: c.value.unwrap_or(f64::NAN),
    }
}
