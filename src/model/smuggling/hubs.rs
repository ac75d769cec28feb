//! M9 hubs, on the world's side: what each hub's intermediaries ask for, the grey-market
//! premium at the prohibited destination, and where the imported units end up.
//!
//! Code for `docs/model.md` § M9 (the agents are [`super::intermediaries`]). In the month:
//! 1. **Request** (during allocation, M1): the premium at the destination is the one the grey
//!    market cleared at *last month* (step 4; two-phase; before any supply,
//!    `premium_at_reference`, the level of 2024–25), times the hub product's list price;
//!    utilisation is `min(1, premium / (premium_at_reference × list price))` (1 with no
//!    reference premium);
//!    the hub asks for `floor(free intermediaries' capacity × utilisation)`, bounded by its
//!    licence room (M3, [`crate::model::export_rules::ExportRules::hub_room`]). It is served
//!    at priority 1 with the nations' unreserved claims.
//! 2. **Transship** ([`Hubs::step`], right after allocation): the granted units are shared
//!    among the hub's populations by capacity (`count × size_median_units`; the last takes the
//!    rest), each steps with the enforcement of the product's regulator; granted but not
//!    imported units go back to the vendor; retained units are installed in the hub, diverted
//!    units reach the destination (`divert` event), seized units are held (`seizure` event); a
//!    detection makes the regulator cut the hub's licences by `response_licence_cut` for
//!    `response_months` (applied by the world).
//! 3. **Entry and route choice** ([`Hubs::enter`], after every hub has stepped): each hub's
//!    expected margin `m_h` is that of a median lot of its largest population
//!    ([`super::intermediaries::Population::expected_margin`]: premium, detection odds at this
//!    month's hazard incl. the hub's permit regime, penalty). Per destination,
//!    `Poisson(entry_per_month × max_h m_h)` intermediaries enter (entry rises with the profit
//!    of the best route); each picks a hub by logit over the hubs with `m_h > 0`, weight
//!    `exp(route_choice_weight × m_h)`, and a population in it in proportion to the
//!    populations' starting counts. Each intermediary that left a hub this month because
//!    diverting did not pay chooses again among the other hubs, at weight
//!    `exp(route_choice_weight × m_h − switching_cost)`, against leaving the trade (weight 1).
//!    Enforcement or a permit regime in one hub thus moves entrants and movers to the others.
//! 4. **Clearing** ([`Hubs::clear_market`]): the grey market at each destination clears on a
//!    downward-sloping demand for grey chips. With `Q` the H100e smuggled in this month plus
//!    the month's new remote-access rentals (compute rented is a substitute for chips) and
//!    `G = denied + unfilled` its unmet legal demand, the clearing premium is
//!    [`clearing_premium`]`(Q / G)` — `premium_at_reference × ((Q / G) / reference_supply_share)
//!    ^(−1 / demand_elasticity)`, at most `max_premium` (reached only when almost nothing is
//!    smuggled in), 0 when nothing is unmet — and the premium moves `premium_adjustment` of
//!    the way to it: `π ← π + λ (π* − π)`. More smuggled supply lowers the premium, the margin
//!    and entry, so the trade's size settles where entry balances exits. Grey chips bought
//!    and new rentals feed back into demand: they meet part of the destination's backlog
//!    (M2), and rentals lost add to it.
//!
//! Parameter paths: `hubs.*.{nation, destination, product, permit_regime}`,
//! `hubs.*.populations.*.*`, `smuggling.{reference_supply_share, premium_at_reference,
//! demand_elasticity, max_premium, premium_adjustment, entry_per_month, route_choice_weight,
//! switching_cost}`, `regulators.*.enforcement.*`.

use super::intermediaries::{
    CaseEvent, CaseRules, Enforcer, HubConditions, Outcome, Population, PopulationMonth,
    clearing_premium,
};
use super::remote_access;
use crate::math;
use crate::model::export_rules::{ExportRules, RulesInForce};
use crate::model::flows::Flows;
use crate::model::params::{HubParams, Params};
use crate::model::record::{Event, EventKind, Party};
use crate::rng::{Purpose, Stream, stream};

/// Every hub of a replication, and where their units went.
pub struct Hubs {
    hubs: Vec<Hub>,
    /// Units each hub's intermediaries may import this month (granted by allocation).
    granted: Vec<u64>,
    /// This month's premium per hub, USD per unit.
    premium: Vec<f64>,
    /// The grey premium at each nation as it cleared last month, share of list price.
    premium_share: Vec<f64>,
    /// Units per product diverted to prohibited destinations, and seized, so far.
    diverted: Vec<u64>,
    seized: Vec<u64>,
    /// H100e diverted into each nation this month, and units over the run.
    diverted_in_h100e: Vec<f64>,
    diverted_in_units_total: Vec<u64>,
    /// Units diverted into each nation this month (for route shares).
    diverted_in_units: Vec<u64>,
    /// Entry and route choice per destination nation.
    entry_rng: Vec<Stream>,
    /// Scratch: expected margin per hub this month.
    margin: Vec<f64>,
    /// This month's logit weight of each hub for a new entrant, `exp(route_choice_weight ×
    /// margin)` (0 without a positive margin), computed once for all the month's choices.
    route_weight: Vec<f64>,
    /// What each hub's intermediaries could import when the replication started (units/month).
    start_capacity: Vec<f64>,
    /// H100e each hub's data centres rent to its destination this month (remote access), and
    /// per nation, H100e it rents abroad.
    remote_h100e: Vec<f64>,
    remote_in_h100e: Vec<f64>,
    /// Per nation, what it rented abroad last month, and what it got from abroad this month
    /// in H100e: smuggled in plus the change in its rentals (negative when rentals are lost).
    remote_in_last_h100e: Vec<f64>,
    met_abroad_h100e: Vec<f64>,
    /// Units moved by diverters through each hub last month (none before the first month).
    moved_last: Option<Vec<f64>>,
    /// Last year's caseload per hub, as exponential averages (weight 1/12 a month) of the
    /// cases opened and the units diverted there a month (intermediaries' perceived risk).
    avg_opened: Vec<f64>,
    avg_moved: Vec<f64>,
    /// Investigations open now, in the order they opened.
    open_cases: Vec<OpenCase>,
    /// Id of the next case (1, 2, … in the order cases open in a replication).
    next_case: u64,
    /// Cases opened and closed this month and over the run, per enforcing nation.
    opened_month: Vec<u64>,
    closed_month: Vec<u64>,
    opened_total: Vec<u64>,
    closed_total: Vec<u64>,
}

/// An open investigation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct OpenCase {
    id: u64,
    hub: usize,
    population: usize,
    slot: u32,
    /// The enforcing nation (the product's regulator or the hub).
    enforcer: usize,
    opened: u32,
}

/// One hub's month as the world needs it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Transshipped {
    pub month: PopulationMonth,
    /// Granted but not imported: back to the vendor's inventory.
    pub returned_units: u64,
}

impl Hubs {
    pub fn new(p: &Params, rep_seed: u64) -> Hubs {
        Hubs::new_in(p, rep_seed, None)
    }

    /// [`Hubs::new`], the populations in the memory of `spare`'s (an earlier replication's
    /// hubs: see [`Population::new_in`]).
    pub fn new_in(p: &Params, rep_seed: u64, spare: Option<Hubs>) -> Hubs {
        let (nn, np, nh) = (p.nations.len(), p.products.len(), p.hubs.len());
        let mut spare = spare.map_or_else(Vec::new, |s| s.hubs).into_iter();
        let hubs: Vec<Hub> = p
            .hubs
            .iter()
            .enumerate()
            .map(|(h, hp)| {
                let populations = spare.next().map_or_else(Vec::new, |s| s.populations);
                Hub::new(hp, h, rep_seed, populations)
            })
            .collect();
        Hubs {
            start_capacity: hubs.iter().map(|h| h.demand_units() as f64).collect(),
            hubs,
            granted: vec![0; nh],
            premium: vec![0.0; nh],
            // The market starts at the premium of 2024–25.
            premium_share: vec![p.smuggling.premium_at_reference; nn],
            diverted: vec![0; np],
            seized: vec![0; np],
            diverted_in_h100e: vec![0.0; nn],
            diverted_in_units_total: vec![0; nn],
            diverted_in_units: vec![0; nn],
            entry_rng: (0..nn)
                .map(|i| stream(rep_seed, Purpose::Entry, i))
                .collect(),
            margin: vec![0.0; nh],
            route_weight: vec![0.0; nh],
            moved_last: None,
            remote_h100e: vec![0.0; nh],
            remote_in_h100e: vec![0.0; nn],
            remote_in_last_h100e: vec![0.0; nn],
            met_abroad_h100e: vec![0.0; nn],
            avg_opened: vec![0.0; nh],
            avg_moved: vec![0.0; nh],
            open_cases: Vec::with_capacity(64),
            next_case: 1,
            opened_month: vec![0; nn],
            closed_month: vec![0; nn],
            opened_total: vec![0; nn],
            closed_total: vec![0; nn],
        }
    }

    /// Units hub `h` asks for this month (step 1 of the module doc; draws its licence).
    pub fn request(&mut self, h: usize, rules: &RulesInForce, export: &mut ExportRules) -> u64 {
        let p = rules.params();
        let hub = &p.hubs[h];
        // Intermediaries import more when the destination pays more: utilisation is the
        // premium over its reference level, capped at full capacity. With the premium cleared
        // on last month's smuggled supply, a hub that diverts less leaves a higher premium for
        // the others (the balloon effect).
        let list = p.products[hub.product].price_usd;
        let premium_now = self.premium_share[hub.destination] * list;
        self.premium[h] = premium_now;
        let reference = p.smuggling.premium_at_reference * list;
        let utilisation = if reference > 0.0 {
            (premium_now / reference).min(1.0)
        } else {
            1.0
        };
        let pops = &self.hubs[h].populations;
        let free = self.hubs[h].demand_units();
        let demand = (free as f64 * utilisation) as u64;
        let consignees: usize = pops.iter().map(|x| x.len()).sum();
        export.hub_room(rules, hub.product, hub.nation, consignees, demand)
    }

    /// Allocation granted hub `h` `units`.
    pub fn grant(&mut self, h: usize, units: u64) {
        self.granted[h] = units;
    }

    /// Starts the month's transshipment: nothing diverted in yet.
    pub fn begin_transship(&mut self) {
        self.diverted_in_h100e.iter_mut().for_each(|x| *x = 0.0);
        self.diverted_in_units.iter_mut().for_each(|x| *x = 0);
        self.opened_month.iter_mut().for_each(|x| *x = 0);
        self.closed_month.iter_mut().for_each(|x| *x = 0);
        std::mem::swap(&mut self.remote_in_h100e, &mut self.remote_in_last_h100e);
        self.remote_in_h100e.iter_mut().for_each(|x| *x = 0.0);
    }

    /// Remote access (see [`super::remote_access`]): hub `h`'s data centres, holding
    /// `installed_h100e` of compute from the product regulator's firms, rent some of it to the
    /// destination this month.
    pub fn rent(&mut self, p: &Params, h: usize, installed_h100e: f64) {
        let hub = &p.hubs[h];
        let enforcement = p.products[hub.product]
            .regulator
            .and_then(|r| p.regulators[r].enforcement.as_ref());
        let reference = p.smuggling.premium_at_reference;
        let ratio = if reference > 0.0 {
            self.premium_share[hub.destination] / reference
        } else {
            1.0
        };
        let rented = remote_access::rented_h100e(
            installed_h100e,
            hub.remote_access_share.value(),
            hub.remote_access_mw * p.smuggling.h100e_per_mw,
            ratio,
            enforcement.map_or(0.0, |e| e.remote_access_rule),
            enforcement.map_or(0.0, |e| e.remote_access_enforcement.value()),
        );
        self.remote_h100e[h] = rented;
        self.remote_in_h100e[hub.destination] += rented;
    }

    /// H100e hub `h` rents to its destination this month.
    pub fn remote_access(&self, h: usize) -> f64 {
        self.remote_h100e[h]
    }

    /// H100e `nation` rents in the hubs this month.
    pub fn remote_access_in(&self, nation: usize) -> f64 {
        self.remote_in_h100e[nation]
    }

    /// Hub `h`'s intermediaries import what they were granted and divert some of it; cases
    /// open and close (step 2).
    pub fn step(&mut self, p: &Params, h: usize, t: u32, events: &mut Vec<Event>) -> Transshipped {
        let hub = &p.hubs[h];
        let j = hub.product;
        let prod = &p.products[j];
        let conditions = self.conditions(p, h);
        let mut m = self.hubs[h].step(t, self.granted[h], conditions);
        let returned_units = self.granted[h] - m.imported_units;
        self.granted[h] = 0;
        let unit = prod.h100e_per_unit.value();
        self.diverted[j] += m.diverted_units;
        self.seized[j] += m.seized_units;
        self.diverted_in_h100e[hub.destination] += m.diverted_units as f64 * unit;
        self.diverted_in_units_total[hub.destination] += m.diverted_units;
        self.diverted_in_units[hub.destination] += m.diverted_units;
        let event = |actor, target, kind, magnitude: f64| Event {
            month: t,
            actor: Party::Nation(actor),
            target: Party::Nation(target),
            kind,
            magnitude,
        };
        if m.diverted_units > 0 {
            let units = m.diverted_units as f64;
            events.push(event(hub.nation, hub.destination, EventKind::Divert, units));
        }
        let regulator = prod.regulator.map(|r| &p.regulators[r]);
        let enforcement = regulator.and_then(|r| r.enforcement.as_ref());
        let log = std::mem::take(&mut self.hubs[h].case_log);
        for &(population, case) in &log {
            let enforcer = match case.enforcer {
                Enforcer::Regulator => regulator.map_or(hub.nation, |r| r.nation),
                Enforcer::Hub => hub.nation,
            };
            if case.opened {
                let id = self.next_case;
                self.next_case += 1;
                self.open_cases.push(OpenCase {
                    id,
                    hub: h,
                    population,
                    slot: case.slot,
                    enforcer,
                    opened: t,
                });
                self.opened_month[enforcer] += 1;
                self.opened_total[enforcer] += 1;
                let kind = EventKind::InvestigationOpen;
                events.push(event(enforcer, hub.nation, kind, id as f64));
                continue;
            }
            let Some(k) = self
                .open_cases
                .iter()
                .position(|c| (c.hub, c.population, c.slot) == (h, population, case.slot))
            else {
                continue;
            };
            let open = self.open_cases.remove(k);
            self.closed_month[enforcer] += 1;
            self.closed_total[enforcer] += 1;
            let kind = EventKind::InvestigationClose;
            events.push(event(enforcer, hub.nation, kind, open.id as f64));
            if case.outcome == Outcome::Seizure {
                let units = case.seized_units as f64;
                events.push(event(enforcer, hub.nation, EventKind::Seizure, units));
            }
            if matches!(case.outcome, Outcome::Seizure | Outcome::Prosecution) {
                let months = (t - open.opened).max(1) as f64;
                let fine = conditions.penalty(case.units as f64, months);
                m.fines_usd += fine as u64;
                events.push(event(enforcer, hub.nation, EventKind::Fine, fine));
            }
            if case.outcome == Outcome::LicenceCut {
                let cut = enforcement.map_or(0.0, |e| e.response_licence_cut);
                events.push(event(enforcer, hub.nation, EventKind::LicenceCut, cut));
            }
        }
        self.hubs[h].case_log = log;
        self.hubs[h].case_log.clear();
        let hub_state = &mut self.hubs[h];
        hub_state.total.fines_usd += m.fines_usd - hub_state.month.fines_usd;
        hub_state.month = m;
        Transshipped {
            month: m,
            returned_units,
        }
    }

    /// What hub `h`'s intermediaries face this month: its grant, premium and the caseload.
    fn conditions(&self, p: &Params, h: usize) -> HubConditions {
        let hub = &p.hubs[h];
        let prod = &p.products[hub.product];
        let enforcement = prod
            .regulator
            .and_then(|r| p.regulators[r].enforcement.as_ref());
        let cases = enforcement.map_or(CaseRules::default(), |e| {
            // The regulator spreads its investigations across the hubs of its products in
            // proportion to last year's units moved through them (before any history, their
            // starting capacity), weighted by their permit regimes (a regime makes shipments
            // conspicuous): attention follows the trade with a lag. Within a hub it targets by
            // units moved last month.
            let weight = |k: usize| {
                let volume = if self.avg_moved.iter().any(|&v| v > 0.0) {
                    self.avg_moved[k]
                } else {
                    self.start_capacity[k]
                };
                volume * (1.0 + e.permit_conspicuity * p.hubs[k].permit_regime)
            };
            let moved = |k: usize| match &self.moved_last {
                Some(v) => v[k],
                None => self.start_capacity[k],
            };
            let same_regulator =
                |k: &usize| p.products[p.hubs[*k].product].regulator == prod.regulator;
            let total: f64 = (0..p.hubs.len()).filter(same_regulator).map(weight).sum();
            let budget = e.investigations_per_year.value() / 12.0 * weight(h) / total.max(1e-9);
            let target_rate_regulator = budget / moved(h).max(1.0);
            let own = hub.investigations_per_year * hub.permit_regime / 12.0;
            let target_rate_hub = own / moved(h).max(1.0);
            let shares = [
                e.seizure_share.value(),
                e.prosecution_share.value(),
                e.licence_cut_share.value(),
            ];
            let punitive = shares.iter().sum::<f64>().min(1.0);
            // Last year's opened cases per unit diverted here; before any history, the rate
            // the enforcers target at now.
            let rate = if self.avg_moved[h] > 0.0 {
                self.avg_opened[h] / self.avg_moved[h]
            } else {
                target_rate_regulator + target_rate_hub
            };
            CaseRules {
                target_rate_regulator,
                target_rate_hub,
                perceived_rate: e.salience.value() * punitive * rate,
                case_months_min: e.case_months_min,
                case_months_max: e.case_months_max,
                outcome_shares: shares,
                deterrence: e.deterrence.value(),
            }
        });
        HubConditions {
            import_allowance_units: self.granted[h],
            unit_value_usd: prod.price_usd,
            premium_usd_per_unit: self.premium[h],
            cases,
            fine_per_violation_usd: enforcement.map_or(0.0, |e| e.fine_per_violation_usd),
            penalty_value_multiple: enforcement.map_or(0.0, |e| e.penalty_value_multiple),
            attrition: p.smuggling.attrition_per_month.value(),
        }
    }

    /// Ends the month's caseload bookkeeping: units moved per hub (next month's targeting)
    /// and last year's averages (perceived risk). Called after every hub has stepped.
    fn update_caseload(&mut self) {
        let moved = self
            .moved_last
            .get_or_insert_with(|| vec![0.0; self.hubs.len()]);
        for (h, hub) in self.hubs.iter().enumerate() {
            let m = &hub.month;
            moved[h] = (m.diverted_units + m.seized_units) as f64;
            self.avg_opened[h] += (m.cases_opened as f64 - self.avg_opened[h]) / 12.0;
            self.avg_moved[h] += (moved[h] - self.avg_moved[h]) / 12.0;
        }
    }

    /// Entry and route choice (step 3 of the module doc), after every hub has stepped.
    pub fn enter(&mut self, p: &Params) {
        self.update_caseload();
        for (h, hub) in self.hubs.iter().enumerate() {
            let c = self.conditions(p, h);
            // The margin a typical entrant expects: that of the hub's largest population.
            self.margin[h] = hub
                .populations
                .iter()
                .max_by_key(|x| x.params().count)
                .map_or(0.0, |x| x.expected_margin(&c));
        }
        let s = &p.smuggling;
        let nh = p.hubs.len();
        for h in 0..nh {
            self.route_weight[h] = if self.margin[h] > 0.0 {
                math::exp(s.route_choice_weight * self.margin[h])
            } else {
                0.0
            };
        }
        // A mover's weights: the entrant's times exp(−switching_cost).
        let moving = math::exp(-s.switching_cost);
        for d in 0..p.nations.len() {
            let serves = |h: &usize| p.hubs[*h].destination == d && self.margin[*h] > 0.0;
            let best = (0..nh)
                .filter(serves)
                .map(|h| self.margin[h])
                .fold(0.0, f64::max);
            if best <= 0.0 {
                continue;
            }
            // New entrants: as many as the best route's margin calls for, each choosing a hub.
            let n = math::poisson(&mut self.entry_rng[d], s.entry_per_month.value() * best);
            let total = self.route_total(p, d, None, 1.0);
            for _ in 0..n {
                let u = math::unit(&mut self.entry_rng[d]);
                if let Some(h) = self.pick_hub(p, (d, None, 1.0), total, u) {
                    self.admit(h, d);
                }
            }
            // Intermediaries that left an unprofitable hub this month may move to another one,
            // at a switching cost, or leave the trade (utility 0).
            for from in 0..nh {
                let hub = &self.hubs[from];
                if p.hubs[from].destination != d {
                    continue;
                }
                let movers = hub.month.exits - hub.month.detections - hub.month.retired;
                let total = self.route_total(p, d, Some(from), moving);
                for _ in 0..movers {
                    let u = math::unit(&mut self.entry_rng[d]);
                    if let Some(h) = self.pick_hub(p, (d, Some(from), moving), total, u) {
                        self.admit(h, d);
                    }
                }
            }
        }
    }

    /// Weight of hub `h` for an intermediary bound for `d` coming from `from` (none for a
    /// new entrant): `factor × route_weight`, 0 for a hub serving another destination or the
    /// one it comes from.
    fn hub_weight(&self, p: &Params, d: usize, from: Option<usize>, factor: f64, h: usize) -> f64 {
        if p.hubs[h].destination != d || Some(h) == from {
            0.0
        } else {
            factor * self.route_weight[h]
        }
    }

    /// The logit's denominator for intermediaries bound for `d` from `from`: the hubs'
    /// weights, plus 1 for leaving the trade when `from` is given. The same for every such
    /// intermediary in the month, so it is summed once for all of them.
    fn route_total(&self, p: &Params, d: usize, from: Option<usize>, factor: f64) -> f64 {
        let outside = if from.is_some() { 1.0 } else { 0.0 };
        outside
            + (0..p.hubs.len())
                .map(|h| self.hub_weight(p, d, from, factor, h))
                .sum::<f64>()
    }

    /// A hub for an intermediary bound for destination `d`, by logit over the hubs with a
    /// positive margin (weight `factor × route_weight`, the hubs other than `from`), with
    /// leaving the trade as an option of weight 1 when `from` is given; `total` is
    /// [`Hubs::route_total`] and `u` the uniform draw.
    fn pick_hub(
        &self,
        p: &Params,
        (d, from, factor): (usize, Option<usize>, f64),
        total: f64,
        u: f64,
    ) -> Option<usize> {
        if total <= 0.0 {
            return None;
        }
        let outside = if from.is_some() { 1.0 } else { 0.0 };
        let mut left = u * total - outside;
        if left < 0.0 {
            return None;
        }
        let mut chosen = None;
        for h in 0..p.hubs.len() {
            let x = self.hub_weight(p, d, from, factor, h);
            if x > 0.0 {
                chosen = Some(h);
                left -= x;
                if left < 0.0 {
                    break;
                }
            }
        }
        chosen
    }

    /// One intermediary enters hub `h` (bound for `d`), in a population chosen in proportion
    /// to the populations' starting counts.
    fn admit(&mut self, h: usize, d: usize) {
        let rng = &mut self.entry_rng[d];
        let hub = &mut self.hubs[h];
        let mut v = (math::unit(rng) * hub.count as f64) as usize;
        let last = hub.populations.len() - 1;
        for (k, pop) in hub.populations.iter_mut().enumerate() {
            let c = pop.params().count;
            if v < c || k == last {
                pop.enter(1, rng);
                break;
            }
            v -= c;
        }
        hub.month.entrants += 1;
        hub.total.entrants += 1;
    }

    /// Intermediaries in the trade in hub `h` now.
    pub fn active_intermediaries(&self, h: usize) -> usize {
        self.hubs[h].populations.iter().map(|x| x.active()).sum()
    }

    /// Share of the units diverted into hub `h`'s destination this month that went through it.
    pub fn route_share(&self, p: &Params, h: usize) -> f64 {
        let total = self.diverted_in_units[p.hubs[h].destination];
        if total == 0 {
            0.0
        } else {
            self.hubs[h].month.diverted_units as f64 / total as f64
        }
    }

    /// Clears the grey market at every nation on this month's smuggled supply against its
    /// unmet legal demand, for next month's premium (step 4).
    pub fn clear_market(&mut self, p: &Params, flows: &Flows) {
        let s = &p.smuggling;
        let lambda = s.premium_adjustment.value();
        for (i, premium) in self.premium_share.iter_mut().enumerate() {
            // Rentals substitute for chips: a month's new rentals are supply like smuggled
            // chips, and rentals lost add to what is unmet (M2's backlog).
            let met =
                self.diverted_in_h100e[i] + self.remote_in_h100e[i] - self.remote_in_last_h100e[i];
            self.met_abroad_h100e[i] = met;
            let unmet = flows.denied_h100e[i] + flows.unfilled_h100e[i];
            let target = if unmet > 0.0 {
                clearing_premium(
                    met.max(0.0) / unmet,
                    s.reference_supply_share.value(),
                    s.premium_at_reference,
                    s.demand_elasticity.value(),
                    s.max_premium,
                )
            } else {
                0.0
            };
            *premium += lambda * (target - *premium);
        }
    }

    /// The grey premium at `nation` for next month, share of list price.
    pub fn premium_share(&self, nation: usize) -> f64 {
        self.premium_share[nation]
    }

    /// H100e diverted into each nation this month.
    pub fn diverted_in_h100e(&self) -> &[f64] {
        &self.diverted_in_h100e
    }

    /// What each nation got from abroad this month, H100e: diverted into it plus the change
    /// in what it rents abroad (negative when rentals are lost). Set by [`Hubs::clear_market`].
    pub fn met_abroad_h100e(&self) -> &[f64] {
        &self.met_abroad_h100e
    }

    /// Units diverted into `nation` over the run.
    pub fn diverted_in_units_total(&self, nation: usize) -> u64 {
        self.diverted_in_units_total[nation]
    }

    /// Units of `product` diverted and seized so far.
    pub fn diverted_and_seized(&self, product: usize) -> (u64, u64) {
        (self.diverted[product], self.seized[product])
    }

    /// Hub `h`'s outcome this month and over the run.
    pub fn outcome(&self, h: usize) -> (&PopulationMonth, &PopulationMonth) {
        (&self.hubs[h].month, &self.hubs[h].total)
    }

    /// Intermediaries in hub `h`.
    pub fn intermediaries(&self, h: usize) -> usize {
        self.hubs[h].populations.iter().map(|x| x.len()).sum()
    }

    /// Investigations of enforcing nation `nation`: open now, opened and closed this month.
    pub fn investigations(&self, nation: usize) -> (u64, u64, u64) {
        let open = self
            .open_cases
            .iter()
            .filter(|c| c.enforcer == nation)
            .count();
        (
            open as u64,
            self.opened_month[nation],
            self.closed_month[nation],
        )
    }

    /// Investigations of enforcing nation `nation` opened and closed over the run.
    pub fn investigations_total(&self, nation: usize) -> (u64, u64) {
        (self.opened_total[nation], self.closed_total[nation])
    }

    /// Investigations open now against intermediaries in hub `h` (any enforcer).
    pub fn hub_investigations_active(&self, h: usize) -> u64 {
        self.open_cases.iter().filter(|c| c.hub == h).count() as u64
    }

    /// This month's premium at hub `h`, USD per unit.
    pub fn premium(&self, h: usize) -> f64 {
        self.premium[h]
    }
}

/// One hub's intermediaries during a replication.
struct Hub {
    populations: Vec<Population>,
    /// Expected monthly import capacity of each population (count × median size): the key
    /// by which the hub's allowance is shared.
    weights: Vec<f64>,
    /// Σ of the populations' starting counts: an entrant joins a population in proportion
    /// to its count.
    count: usize,
    rng: Stream,
    /// This month's outcome, summed over populations.
    month: PopulationMonth,
    /// Totals over the run.
    total: PopulationMonth,
    /// Scratch: the month's cases of one population, then of the hub (population, case).
    cases: Vec<CaseEvent>,
    case_log: Vec<(usize, CaseEvent)>,
}

impl Hub {
    /// Hub `index`, its populations in the memory of `spare`'s (see [`Population::new_in`]).
    fn new(h: &HubParams, index: usize, rep_seed: u64, spare: Vec<Population>) -> Hub {
        let mut rng = stream(rep_seed, Purpose::Intermediaries, index);
        let mut spare = spare.into_iter();
        let populations = h
            .populations
            .iter()
            .map(|(_, pp)| Population::new_in(pp, &mut rng, spare.next()))
            .collect();
        Hub {
            populations,
            weights: h
                .populations
                .iter()
                .map(|(_, pp)| pp.count as f64 * pp.size_median_units)
                .collect(),
            count: h.populations.iter().map(|(_, pp)| pp.count).sum(),
            rng,
            month: PopulationMonth::default(),
            total: PopulationMonth::default(),
            cases: Vec::with_capacity(64),
            case_log: Vec::with_capacity(64),
        }
    }

    /// Units the hub's free intermediaries would import this month.
    fn demand_units(&self) -> u64 {
        self.populations.iter().map(|x| x.demand_units()).sum()
    }

    /// Steps every population with `allowance` units to share; returns the month's outcome.
    fn step(&mut self, t: u32, allowance: u64, conditions: HubConditions) -> PopulationMonth {
        let total_weight: f64 = self.weights.iter().sum();
        let mut out = PopulationMonth::default();
        let mut left = allowance;
        let last = self.populations.len().saturating_sub(1);
        for (k, pop) in self.populations.iter_mut().enumerate() {
            let share = if k == last || total_weight <= 0.0 {
                left
            } else {
                ((allowance as f64 * self.weights[k] / total_weight).floor() as u64).min(left)
            };
            let c = HubConditions {
                import_allowance_units: share,
                ..conditions
            };
            let m = pop.step(t, &c, &mut self.rng, &mut self.cases);
            self.case_log.extend(self.cases.drain(..).map(|e| (k, e)));
            left -= m.imported_units.min(left);
            out += m;
        }
        self.month = out;
        self.total += out;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::diplomacy::Diplomacy;
    use crate::model::fixture::{self, CHN, H100, MYS};
    use crate::model::params::{EnforcementParams, Uncertain};
    use crate::model::smuggling::PopulationParams;

    /// The fixture with a hub in MYS diverting h100s to CHN: 100 shell buyers of ≈10 units.
    fn with_hub() -> Params {
        let mut p = fixture::params();
        p.hubs.push(HubParams {
            nation: MYS,
            destination: CHN,
            product: H100,
            permit_regime: 0.0,
            investigations_per_year: 0.0,
            remote_access_share: Uncertain::Fixed(0.05),
            remote_access_mw: 10.0,
            populations: vec![(
                "shells".into(),
                PopulationParams {
                    count: 100,
                    size_median_units: 10.0,
                    size_sigma: 0.0,
                    risk_appetite_alpha: 2.0,
                    risk_appetite_beta: 2.0,
                    max_divert_fraction: 1.0,
                    exit_after_idle_months: 3,
                },
            )],
        });
        p
    }

    fn request(p: &Params, hubs: &mut Hubs) -> u64 {
        let d = Diplomacy::new(p);
        let rules = RulesInForce::new(p, &d, 0);
        hubs.request(0, &rules, &mut ExportRules::new(p, 1))
    }

    /// Diverts what is granted `units` in month 0 and returns the diverted units.
    fn divert(p: &Params, hubs: &mut Hubs, units: u64) -> u64 {
        request(p, hubs);
        hubs.grant(0, units);
        hubs.begin_transship();
        hubs.step(p, 0, 0, &mut Vec::new()).month.diverted_units
    }

    #[test]
    fn premium_clears_on_smuggled_supply_and_drives_the_request() {
        let mut p = with_hub();
        let list = p.products[H100].price_usd;
        let mut hubs = Hubs::new(&p, 1);
        // The market starts at the reference premium: full utilisation of 100 × 10 units.
        assert_eq!(request(&p, &mut hubs), 1000);
        assert_eq!(hubs.premium(0), 0.5 * list);
        // Nothing unmet: no premium, no request.
        hubs.clear_market(&p, &Flows::new(3, 2));
        assert_eq!(request(&p, &mut hubs), 0);
        // Unmet demand and nothing smuggled in: the highest premium.
        let mut flows = Flows::new(3, 2);
        flows.denied_h100e[CHN] = 5000.0;
        hubs.clear_market(&p, &flows);
        assert_eq!(hubs.premium_share(CHN), 2.0);
        // Smuggled supply at the reference share (0.1) of unmet demand: the reference premium;
        // at twice that share (unit elasticity) half of it, and the hub asks for half.
        let d = divert(&p, &mut hubs, 1000);
        assert!(d > 0);
        flows.denied_h100e[CHN] = 10.0 * d as f64;
        hubs.clear_market(&p, &flows);
        assert!((hubs.premium_share(CHN) - 0.5).abs() < 1e-12);
        flows.denied_h100e[CHN] = 5.0 * d as f64;
        hubs.clear_market(&p, &flows);
        assert!((hubs.premium_share(CHN) - 0.25).abs() < 1e-12);
        assert!((495..=505).contains(&request(&p, &mut hubs)));
        // Partial adjustment: the premium moves only part of the way to the clearing level.
        p.smuggling.premium_adjustment = Uncertain::Fixed(0.5);
        flows.denied_h100e[CHN] = 10.0 * d as f64;
        hubs.clear_market(&p, &flows);
        assert!((hubs.premium_share(CHN) - 0.375).abs() < 1e-12);
    }

    #[test]
    fn licence_room_caps_what_the_hub_asks_for() {
        let mut p = with_hub();
        let rule = &mut p.regulators[0].rules[MYS][0];
        rule.annual_cap_h100e = Some(50.0);
        rule.exempt_h100e_per_year = 1.2; // 100 consignees × 1.2 / 12 = 10 units
        let mut hubs = Hubs::new(&p, 1);
        assert_eq!(request(&p, &mut hubs), 60);
    }

    #[test]
    fn granted_units_are_imported_or_returned_and_diversion_is_logged() {
        let p = with_hub();
        let mut hubs = Hubs::new(&p, 1);
        request(&p, &mut hubs);
        hubs.grant(0, 2000);
        hubs.begin_transship();
        let mut events = Vec::new();
        let x = hubs.step(&p, 0, 0, &mut events);
        let m = x.month;
        assert_eq!(m.imported_units + x.returned_units, 2000);
        assert_eq!(
            m.imported_units,
            m.retained_units + m.diverted_units + m.seized_units
        );
        assert!(m.diverted_units > 0, "no enforcement: shells divert");
        assert_eq!(hubs.diverted_in_h100e()[CHN], m.diverted_units as f64);
        assert_eq!(hubs.diverted_and_seized(H100), (m.diverted_units, 0));
        assert_eq!(events[0].kind, EventKind::Divert);
        assert_eq!(hubs.intermediaries(0), 100);
        // Smuggled supply that meets all unmet demand (10× the reference share) cuts the
        // premium to a tenth of the reference, and the request with it.
        let mut flows = Flows::new(3, 2);
        flows.denied_h100e[CHN] = m.diverted_units as f64;
        hubs.clear_market(&p, &flows);
        assert!((hubs.premium_share(CHN) - 0.05).abs() < 1e-12);
        assert!((95..=105).contains(&request(&p, &mut hubs)));
    }

    /// The US opens cases against the hub's shells: every case opens and closes once, in
    /// order, with an id, the close followed by its outcome's row; a licence cut is reported to
    /// the world; counts per enforcing nation match the events.
    #[test]
    fn cases_open_and_close_as_numbered_events_with_their_outcomes() {
        let mut p = with_hub();
        p.regulators[0].enforcement = Some(EnforcementParams {
            investigations_per_year: Uncertain::Fixed(120.0),
            case_months_min: 1,
            case_months_max: 3,
            seizure_share: Uncertain::Fixed(0.3),
            prosecution_share: Uncertain::Fixed(0.3),
            licence_cut_share: Uncertain::Fixed(0.2),
            deterrence: Uncertain::Fixed(0.5),
            salience: Uncertain::Fixed(1.0),
            permit_conspicuity: 0.0,
            fine_per_violation_usd: 374_474.0,
            penalty_value_multiple: 2.0,
            response_licence_cut: 0.1,
            response_months: 3,
            remote_access_rule: 0.0,
            remote_access_enforcement: Uncertain::Fixed(0.8),
        });
        let mut hubs = Hubs::new(&p, 3);
        let mut flows = Flows::new(3, 2);
        let (mut events, mut cuts, mut fines) = (Vec::new(), 0, 0);
        for t in 0..24 {
            request(&p, &mut hubs);
            hubs.grant(0, 1000);
            hubs.begin_transship();
            let m = hubs.step(&p, 0, t, &mut events).month;
            assert_eq!(
                m.imported_units,
                m.retained_units + m.diverted_units + m.seized_units
            );
            let (_, opened, closed) = hubs.investigations(fixture::USA);
            assert_eq!((opened, closed), (m.cases_opened, m.cases_closed));
            cuts += m.licence_cuts;
            fines += m.fines_usd;
            hubs.enter(&p);
            flows.denied_h100e[CHN] = 50_000.0;
            hubs.clear_market(&p, &flows);
        }
        let kinds: Vec<EventKind> = events.iter().map(|e| e.kind).collect();
        let ids = |k| -> Vec<u64> {
            events
                .iter()
                .filter(|e| e.kind == k)
                .map(|e| e.magnitude as u64)
                .collect()
        };
        let opened = ids(EventKind::InvestigationOpen);
        assert!(opened.len() > 20, "{} cases", opened.len());
        assert_eq!(opened, (1..=opened.len() as u64).collect::<Vec<_>>());
        let mut closed = ids(EventKind::InvestigationClose);
        closed.sort_unstable();
        closed.dedup();
        assert_eq!(closed.len(), ids(EventKind::InvestigationClose).len());
        assert!(closed.iter().all(|id| opened.contains(id)));
        assert!(closed.len() + 3 >= opened.len() / 2);
        // Every outcome row follows a close (or another outcome row of the same close).
        for (k, kind) in kinds.iter().enumerate() {
            if matches!(
                kind,
                EventKind::Seizure | EventKind::Fine | EventKind::LicenceCut
            ) {
                let before = kinds[..k]
                    .iter()
                    .rev()
                    .find(|x| !matches!(x, EventKind::Seizure | EventKind::Fine));
                assert_eq!(before, Some(&EventKind::InvestigationClose), "{kinds:?}");
            }
        }
        assert!(cuts > 0 && ids(EventKind::LicenceCut).len() as u64 == cuts);
        let fined: f64 = events
            .iter()
            .filter(|e| e.kind == EventKind::Fine)
            .map(|e| e.magnitude)
            .sum();
        assert!(fines > 0 && (fined - fines as f64).abs() < fined * 1e-9 + 100.0);
        let (open_now, _, _) = hubs.investigations(fixture::USA);
        assert_eq!(open_now, hubs.hub_investigations_active(0));
        assert_eq!(open_now as usize, opened.len() - closed.len());
    }
}
