//! Diplomacy: announcements, pressure and retraction (M6), event-driven alignment (M7), deals
//! for security guarantees (M8), and the rival patron's counter-offers and retaliation (M10).
//!
//! Resolved at the start of each month, before orders, in a fixed order:
//! 1. **Announce.** A nation's planned build of this month at least
//!    `diplomacy.announce_threshold_h100e` large is announced.
//! 2. **Press.** Every power with a pressure policy whose firms do not make the build's chips
//!    presses with probability `1 − exp(−propensity × strategic value × size / size_scale)`,
//!    threatening a cost of `intensity` (times the target's dependence on it).
//! 3. **Counter.** The patron of the build's stack (its vendor's home, if it has a patron
//!    policy) counters with probability `counter_offer_probability`, worth `counter_offer_value`.
//! 4. **Decide.** The target retracts if
//!    `Σ intensity × dependence + noise > build value + reputation cost + counter-offer`,
//!    noise ~ N(0, `decision_noise_sd`). A held build is ordered (served first, as a standing
//!    order); a retracted one is not. Pressers impose their threatened cost on a target that
//!    holds; the patron may retaliate (a demand cut) against one that retracts.
//! 5. **Deals.** Offers due this month are accepted if
//!    `deal_value_weight × min(allocation / annual demand, 2) + noise > constraint_cost`.
//!    An accepted deal serves the allocation first, can exempt the partner from licences, and
//!    bars rival chips. Each month a partner may breach; a detected breach revokes the deal.
//!
//! Alignment moves with each of these events by the amounts the policies set (M7).

use rand::RngExt;

use super::params::{Params, PressureCost};
use super::record::{Event, EventKind, Party};
use crate::math;
use crate::rng::Stream;

/// Where a planned build stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProjectStatus {
    Planned,
    /// Going ahead (below the threshold, not pressed, or held against pressure).
    Proceeding,
    Retracted,
}

/// Where a deal stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DealStatus {
    NotOffered,
    Accepted,
    Rejected,
    Revoked,
}

/// Diplomatic state of one replication.
#[derive(Clone, Debug)]
pub struct Diplomacy {
    /// `projects[nation][k]`, in the order of `NationParams::projects`.
    pub projects: Vec<Vec<ProjectStatus>>,
    /// `deals[regulator][k]`, in the order of `RegulatorParams::deals`.
    pub deals: Vec<Vec<DealStatus>>,
    /// Demand multiplier per nation (tariffs, withdrawn investment, retaliation) and the month
    /// it lasts until (exclusive).
    pub demand_cut: Vec<(f64, u32)>,
    /// Licence multiplier per (regulator, nation) from imposed licence cuts, and until when.
    pub licence_cut: Vec<(f64, u32)>,
    /// Diplomatic events each nation took part in, by kind (see [`COUNTED`]).
    pub counts: Vec<[u32; COUNTED.len()]>,
}

/// The event kinds counted per nation in `summary.csv`.
pub const COUNTED: [EventKind; 11] = [
    EventKind::Announce,
    EventKind::Pressure,
    EventKind::CounterOffer,
    EventKind::Retract,
    EventKind::Hold,
    EventKind::Retaliate,
    EventKind::DealOffer,
    EventKind::DealAccept,
    EventKind::DealReject,
    EventKind::Breach,
    EventKind::Revoke,
];

impl Diplomacy {
    pub fn new(p: &Params) -> Diplomacy {
        let nn = p.nations.len();
        Diplomacy {
            projects: p
                .nations
                .iter()
                .map(|n| vec![ProjectStatus::Planned; n.projects.len()])
                .collect(),
            deals: p
                .regulators
                .iter()
                .map(|r| vec![DealStatus::NotOffered; r.deals.len()])
                .collect(),
            demand_cut: vec![(1.0, 0); nn],
            licence_cut: vec![(1.0, 0); p.regulators.len() * nn],
            counts: vec![[0; COUNTED.len()]; nn],
        }
    }

    /// Demand multiplier of `nation` in month `t`.
    pub fn demand_factor(&self, nation: usize, t: u32) -> f64 {
        let (f, until) = self.demand_cut[nation];
        if t < until { f } else { 1.0 }
    }

    /// Licence multiplier (caps and approval odds) of `regulator` toward `nation` in month `t`.
    pub fn licence_factor(&self, regulator: usize, nation: usize, nations: usize, t: u32) -> f64 {
        let (f, until) = self.licence_cut[regulator * nations + nation];
        if t < until { f } else { 1.0 }
    }

    /// The accepted deal of `regulator` with `nation`, if any (its index).
    pub fn accepted_deal(&self, regulator: usize, nation: usize, p: &Params) -> Option<usize> {
        p.regulators[regulator]
            .deals
            .iter()
            .enumerate()
            .find(|(k, d)| d.nation == nation && self.deals[regulator][*k] == DealStatus::Accepted)
            .map(|(k, _)| k)
    }

    /// Whether `nation` is barred from `firm`'s chips by an accepted deal with another power.
    pub fn barred(&self, nation: usize, firm: usize, p: &Params) -> bool {
        let home = p.firms[firm].home;
        p.regulators.iter().enumerate().any(|(r, reg)| {
            reg.nation != home
                && p.regulators.iter().any(|x| x.nation == home)
                && self.accepted_deal(r, nation, p).is_some()
        })
    }

    fn emit(&mut self, events: &mut Vec<Event>, e: Event) {
        let k = COUNTED
            .iter()
            .position(|x| *x == e.kind)
            .expect("diplomatic kind");
        for party in [e.actor, e.target] {
            if let Party::Nation(i) = party {
                self.counts[i][k] += 1;
            }
        }
        events.push(e);
    }

    /// Resolves month `t`'s diplomacy (see the module doc). `rngs` has one stream per nation;
    /// every draw of a decision comes from the deciding nation's stream.
    pub fn resolve(
        &mut self,
        t: u32,
        p: &Params,
        alignment: &mut [f64],
        rngs: &mut [Stream],
        events: &mut Vec<Event>,
    ) {
        let nn = p.nations.len();
        let d = &p.diplomacy;
        let ev = |actor, target, kind, magnitude| nation_event(t, actor, target, kind, magnitude);
        for i in 0..nn {
            let nation = &p.nations[i];
            for (k, project) in nation.projects.iter().enumerate() {
                if project.month != t || self.projects[i][k] != ProjectStatus::Planned {
                    continue;
                }
                let prod = &p.products[project.product];
                let size = project.units as f64 * prod.h100e_per_unit.value();
                let stack_home = p.firms[prod.vendor].home;
                if size < d.announce_threshold_h100e {
                    self.projects[i][k] = ProjectStatus::Proceeding;
                    continue;
                }
                self.emit(
                    events,
                    ev(i, stack_home, EventKind::Announce, project.units as f64),
                );
                // Powers decide whether to press (each from its own stream).
                let mut threatened = 0.0;
                let mut pressers = Vec::new();
                for (r, reg) in p.regulators.iter().enumerate() {
                    let Some(policy) = reg.pressure.as_ref().filter(|x| x.enabled) else {
                        continue;
                    };
                    if reg.nation == stack_home || reg.nation == i {
                        continue;
                    }
                    let chance = 1.0
                        - math::exp(
                            -policy.propensity * nation.strategic_value * size
                                / policy.size_scale_h100e,
                        );
                    if rngs[reg.nation].random::<f64>() < chance {
                        self.emit(
                            events,
                            ev(reg.nation, i, EventKind::Pressure, policy.intensity),
                        );
                        threatened += policy.intensity * nation.dependence[reg.nation];
                        alignment[i] -= policy.backlash * alignment[reg.nation].signum();
                        pressers.push(r);
                    }
                }
                if pressers.is_empty() {
                    self.projects[i][k] = ProjectStatus::Proceeding;
                    continue;
                }
                // The stack's patron counters.
                let patron = p
                    .regulators
                    .iter()
                    .find(|r| r.nation == stack_home)
                    .and_then(|r| r.patron.as_ref());
                let mut counter = 0.0;
                if let Some(pat) = patron
                    && rngs[stack_home].random::<f64>() < pat.counter_offer_probability
                {
                    counter = pat.counter_offer_value;
                    self.emit(events, ev(stack_home, i, EventKind::CounterOffer, counter));
                }
                let noise: f64 = math::standard_normal(&mut rngs[i]) * d.decision_noise_sd;
                if threatened + noise > project.value + nation.reputation_cost + counter {
                    self.projects[i][k] = ProjectStatus::Retracted;
                    self.emit(
                        events,
                        ev(i, stack_home, EventKind::Retract, project.units as f64),
                    );
                    for &r in &pressers {
                        let reg = &p.regulators[r];
                        let shift = reg.pressure.as_ref().map_or(0.0, |x| x.compliance_shift);
                        alignment[i] += shift * alignment[reg.nation].signum();
                    }
                    if let Some(pat) = patron
                        && rngs[stack_home].random::<f64>() < pat.retaliation_probability
                    {
                        self.emit(
                            events,
                            ev(
                                stack_home,
                                i,
                                EventKind::Retaliate,
                                pat.retaliation_intensity,
                            ),
                        );
                        self.demand_cut[i] =
                            (1.0 - pat.retaliation_intensity, t + pat.retaliation_months);
                        alignment[i] -=
                            pat.retaliation_alignment_shift * alignment[stack_home].signum();
                    }
                } else {
                    self.projects[i][k] = ProjectStatus::Proceeding;
                    self.emit(
                        events,
                        ev(i, stack_home, EventKind::Hold, project.units as f64),
                    );
                    if counter > 0.0
                        && let Some(pat) = patron
                    {
                        alignment[i] += pat.alignment_shift * alignment[stack_home].signum();
                    }
                    for &r in &pressers {
                        let reg = &p.regulators[r];
                        let policy = reg.pressure.as_ref().expect("pressers have a policy");
                        let until = t + policy.punishment_months;
                        match policy.cost {
                            PressureCost::LicenceCut => {
                                self.licence_cut[r * nn + i] =
                                    ((1.0 - policy.intensity).max(0.0), until);
                            }
                            PressureCost::InvestmentWithdrawn | PressureCost::Tariff => {
                                self.demand_cut[i] =
                                    ((1.0 - 0.5 * policy.intensity).max(0.0), until);
                            }
                        }
                    }
                }
            }
        }
        self.resolve_deals(t, p, alignment, rngs, events);
        alignment.iter_mut().for_each(|a| *a = a.clamp(-1.0, 1.0));
    }

    fn resolve_deals(
        &mut self,
        t: u32,
        p: &Params,
        alignment: &mut [f64],
        rngs: &mut [Stream],
        events: &mut Vec<Event>,
    ) {
        let d = &p.diplomacy;
        for (r, reg) in p.regulators.iter().enumerate() {
            for (k, deal) in reg.deals.iter().enumerate() {
                let i = deal.nation;
                let ev = |actor, target, kind, magnitude| {
                    nation_event(t, actor, target, kind, magnitude)
                };
                match self.deals[r][k] {
                    DealStatus::NotOffered if deal.enabled && deal.month == t => {
                        self.emit(
                            events,
                            ev(reg.nation, i, EventKind::DealOffer, deal.units_per_year),
                        );
                        let h = p.products[deal.product].h100e_per_unit.value();
                        let annual_demand = 12.0 * p.nations[i].demand_h100e_per_month;
                        let coverage = if annual_demand > 0.0 {
                            (deal.units_per_year * h / annual_demand).min(2.0)
                        } else {
                            0.0
                        };
                        let noise: f64 = math::standard_normal(&mut rngs[i]) * d.decision_noise_sd;
                        if d.deal_value_weight * coverage + noise > deal.constraint_cost {
                            self.deals[r][k] = DealStatus::Accepted;
                            self.emit(
                                events,
                                ev(i, reg.nation, EventKind::DealAccept, deal.units_per_year),
                            );
                            alignment[i] += deal.alignment_shift * alignment[reg.nation].signum();
                        } else {
                            self.deals[r][k] = DealStatus::Rejected;
                            self.emit(
                                events,
                                ev(i, reg.nation, EventKind::DealReject, deal.units_per_year),
                            );
                        }
                    }
                    DealStatus::Accepted => {
                        // Both draws every month, so a lever on one does not shift the other.
                        let breach = rngs[i].random::<f64>() < deal.breach_probability;
                        let detected =
                            rngs[reg.nation].random::<f64>() < deal.detection_probability;
                        if breach && detected {
                            self.emit(events, ev(i, reg.nation, EventKind::Breach, 1.0));
                            self.emit(
                                events,
                                ev(reg.nation, i, EventKind::Revoke, deal.units_per_year),
                            );
                            self.deals[r][k] = DealStatus::Revoked;
                        }
                    }
                    _ => {}
                }
            }
        }
    }
}

/// An event between two nations in month `t`.
fn nation_event(t: u32, actor: usize, target: usize, kind: EventKind, magnitude: f64) -> Event {
    Event {
        month: t,
        actor: Party::Nation(actor),
        target: Party::Nation(target),
        kind,
        magnitude,
    }
}
