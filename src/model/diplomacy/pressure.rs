//! M6 Announcements, pressure, retraction.
//!
//! Code for `docs/model.md` § M6. For each planned build due this month (nations in index
//! order, builds in file order):
//! 1. **Announce** if `units × h100e_per_unit ≥ diplomacy.announce_threshold_h100e`; a smaller
//!    build just proceeds.
//! 2. **Press.** Each power with an enabled pressure policy, other than the target and the
//!    build's stack home, presses with probability
//!    `1 − exp(−propensity × strategic_value × size / size_scale_h100e)` (one draw from the
//!    power's stream), threatening `intensity × dependence[power]`; the target moves
//!    `backlash` away from it (M7). Unpressed builds proceed.
//! 3. **Counter** (M10, [`super::patron`]).
//! 4. **Decide.** The target retracts when
//!    `Σ threatened + N(0, decision_noise_sd) > value + reputation_cost + counter-offer`.
//!    Retracting, it moves `compliance_shift` toward each presser and may meet retaliation
//!    (M10). Holding, it proceeds (a standing order) and each presser imposes its cost for
//!    `punishment_months`: `licence_cut` multiplies its licences by `1 − intensity`; `tariff`
//!    and `investment_withdrawn` multiply the target's demand by `1 − intensity / 2`.
//!
//! Parameter paths: `diplomacy.announce_threshold_h100e`, `diplomacy.decision_noise_sd`,
//! `regulators.*.pressure.{enabled, propensity, size_scale_h100e, intensity, cost,
//! punishment_months, backlash, compliance_shift}`, `nations.*.projects.*`,
//! `nations.*.strategic_value`, `nations.*.dependence.*`, `nations.*.reputation_cost`.

use rand::RngExt;

use super::{Diplomacy, ProjectStatus, Round};
use crate::math;
use crate::model::params::PressureCost;
use crate::model::record::EventKind;

impl Diplomacy {
    /// Announces, presses and decides planned build `k` of nation `i` if it is due.
    pub(super) fn resolve_project(&mut self, round: &mut Round, i: usize, k: usize) {
        let p = round.p;
        let (nation, project) = (&p.nations[i], &p.nations[i].projects[k]);
        if project.month != round.t || self.projects[i][k] != ProjectStatus::Planned {
            return;
        }
        let prod = &p.products[project.product];
        let size = project.units as f64 * prod.h100e_per_unit.value();
        let stack_home = p.firms[prod.vendor].home;
        if size < p.diplomacy.announce_threshold_h100e {
            self.projects[i][k] = ProjectStatus::Proceeding;
            return;
        }
        let units = project.units as f64;
        self.emit(round, EventKind::Announce, i, stack_home, units);
        let (threatened, pressers) = self.press(round, i, stack_home, size);
        if pressers.is_empty() {
            self.projects[i][k] = ProjectStatus::Proceeding;
            return;
        }
        let patron = prod.regulator.and_then(|r| p.regulators[r].patron.as_ref());
        let counter = self.counter(round, patron, i, stack_home);
        let noise: f64 = math::standard_normal(&mut round.rngs[i]) * p.diplomacy.decision_noise_sd;
        if threatened + noise > project.value + nation.reputation_cost + counter {
            self.projects[i][k] = ProjectStatus::Retracted;
            self.emit(round, EventKind::Retract, i, stack_home, units);
            for &r in &pressers {
                let reg = &p.regulators[r];
                let shift = reg.pressure.as_ref().map_or(0.0, |x| x.compliance_shift);
                round.alignment.move_toward(i, reg.nation, shift);
            }
            self.retaliate(round, patron, i, stack_home);
        } else {
            self.projects[i][k] = ProjectStatus::Proceeding;
            self.emit(round, EventKind::Hold, i, stack_home, units);
            self.reward_hold(round, patron, counter, i, stack_home);
            self.punish(round, &pressers, i);
        }
    }

    /// Powers decide whether to press nation `i` over a build of `size` H100e of
    /// `stack_home`'s stack (each from its own stream). Returns the threatened cost and the
    /// pressers (regulator indices).
    fn press(
        &mut self,
        round: &mut Round,
        i: usize,
        stack_home: usize,
        size: f64,
    ) -> (f64, Vec<usize>) {
        let p = round.p;
        let nation = &p.nations[i];
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
                    -policy.propensity * nation.strategic_value * size / policy.size_scale_h100e,
                );
            if round.rngs[reg.nation].random::<f64>() < chance {
                self.emit(round, EventKind::Pressure, reg.nation, i, policy.intensity);
                threatened += policy.intensity * nation.dependence[reg.nation];
                round.alignment.move_away(i, reg.nation, policy.backlash);
                pressers.push(r);
            }
        }
        (threatened, pressers)
    }

    /// Each presser imposes its threatened cost on nation `i`, which held.
    fn punish(&mut self, round: &mut Round, pressers: &[usize], i: usize) {
        for &r in pressers {
            let policy = round.p.regulators[r]
                .pressure
                .as_ref()
                .expect("pressers have a policy");
            let until = round.t + policy.punishment_months;
            match policy.cost {
                PressureCost::LicenceCut => {
                    self.cut_licences(r, i, (1.0 - policy.intensity).max(0.0), until);
                }
                PressureCost::InvestmentWithdrawn | PressureCost::Tariff => {
                    self.demand_cut[i] = ((1.0 - 0.5 * policy.intensity).max(0.0), until);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::model::alignment::Alignment;
    use crate::model::diplomacy::{COUNTED, Diplomacy, ProjectStatus};
    use crate::model::fixture::{self, CHN, MYS, USA};
    use crate::model::params::{Params, PressureCost};
    use crate::model::record::{Event, EventKind};
    use crate::rng::{Purpose, Stream, stream};

    /// The fixture with MYS planning a 1,000-unit Ascend build in month 0 and the US pressing
    /// with `propensity` and `intensity` (MYS depends on the US at 0.6).
    fn pressed(propensity: f64, intensity: f64) -> Params {
        let mut p = fixture::pressed_build(
            fixture::params(),
            propensity,
            100.0,
            intensity,
            PressureCost::LicenceCut,
        );
        p.nations[MYS].dependence[USA] = 0.6;
        p
    }

    fn resolve(p: &Params, seed: u64) -> (Diplomacy, Alignment, Vec<Event>) {
        let mut d = Diplomacy::new(p);
        let mut a = Alignment::new(p);
        let mut rngs: Vec<Stream> = (0..3)
            .map(|i| stream(seed, Purpose::Diplomacy, i))
            .collect();
        let mut events = Vec::new();
        d.resolve(0, p, &mut a, &mut rngs, &mut events);
        (d, a, events)
    }

    fn kinds(events: &[Event]) -> Vec<EventKind> {
        events.iter().map(|e| e.kind).collect()
    }

    #[test]
    fn with_no_propensity_there_is_no_pressure() {
        for seed in 0..20 {
            let (d, _, events) = resolve(&pressed(0.0, 1.0), seed);
            assert_eq!(kinds(&events), vec![EventKind::Announce]);
            assert_eq!(d.project(MYS, 0), ProjectStatus::Proceeding);
        }
    }

    #[test]
    fn certain_pressure_with_a_huge_threat_makes_the_nation_retract() {
        let p = pressed(1e6, 1.0); // threatened 0.6 > value 0.3
        let (d, a, events) = resolve(&p, 1);
        assert_eq!(
            kinds(&events),
            vec![EventKind::Announce, EventKind::Pressure, EventKind::Retract]
        );
        assert_eq!(d.project(MYS, 0), ProjectStatus::Retracted);
        // Backlash away from the US, then compliance toward it (alignment 0 counts as +).
        assert!((a.values()[MYS] - 0.1).abs() < 1e-12);
        let k = COUNTED
            .iter()
            .position(|x| *x == EventKind::Pressure)
            .unwrap();
        assert_eq!(
            (d.count(MYS, k), d.count(USA, k), d.count(CHN, k)),
            (1, 1, 0)
        );
        assert_eq!(d.licence_factor(0, MYS, 1), 1.0);
    }

    #[test]
    fn a_nation_that_holds_is_punished() {
        let p = pressed(1e6, 0.25); // threatened 0.15 < value 0.3
        let (d, _, events) = resolve(&p, 1);
        assert_eq!(events.last().unwrap().kind, EventKind::Hold);
        assert_eq!(d.project(MYS, 0), ProjectStatus::Proceeding);
        assert_eq!(d.licence_factor(0, MYS, 5), 0.75);
        assert_eq!(d.licence_factor(0, MYS, 6), 1.0);
        assert_eq!(d.demand_factor(MYS, 0), 1.0);
    }
}
