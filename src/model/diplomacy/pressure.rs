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
