//! M6 Announcements, pressure, retraction, decided from the world's state.
//!
//! Code for `docs/model.md` § M6. For each planned build due this month (nations in index
//! order, builds in file order):
//! 1. **Announce** if `size = units × h100e_per_unit ≥ diplomacy.announce_threshold_h100e`; a
//!    smaller build just proceeds.
//! 2. **What the target stands to lose and gain**, each from the world:
//!    - `S` = the expected sanction cost of the guidance in force against the build's vendor
//!      ([`guidance::sanction_share`]: scope × certainty × sanction share × dependence);
//!    - per power `r`, its leverage at intensity 1:
//!      `L_r = stakes_weight × (tariff_rate_r × export_exposure_i[r] + investment_at_risk_r
//!      × investment_i[r] / gdp_usd_i)`, where `investment_i[r]` is the
//!      stock of `r`'s investment in `i` now (see [`Diplomacy::investment`]);
//!    - `V` = `value + ecosystem_value_weight × ecosystem_i[vendor] + reputation_cost`: the
//!      build's worth (with the pull of its stack's ecosystem) and the cost of backing down.
//! 3. **Press.** Each power with an enabled pressure policy, other than the target and the
//!    build's stack home, weighs its own stakes: `stake = propensity × strategic_value ×
//!    (1 − exp(−size / size_scale_h100e))`. For `x` in `{¼, ½, ¾, 1} × intensity` it expects
//!    the target to retract with `q(x) = Φ((S + x L_r − V) / decision_noise_sd)` and nets
//!    `stake × q(x) − press_cost × x`; it takes the best `x` (the highest among equals) and
//!    presses when `stake > 0` and `net + N(0, decision_noise_sd) ≥ 0` (one draw from its
//!    stream). The `pressure` event's magnitude is `x`; the target moves `backlash` away.
//!    Unpressed builds proceed.
//! 4. **Counter** (M10, [`super::patron`]).
//! 5. **Decide.** The target retracts when `S + Σ_r x_r L_r + N(0, decision_noise_sd) > V +
//!    counter-offer`. Retracting, it moves `compliance_shift` toward each presser and may meet
//!    retaliation (M10). Holding, it proceeds (a standing order) and each presser imposes its
//!    cost for `punishment_months`: `licence_cut` multiplies its licences by `1 − x`; `tariff`
//!    and `investment_withdrawn` multiply the target's demand by `1 − x / 2`; and the presser
//!    withdraws `x × investment_at_risk` of its investment stock in the target.
//!
//! Events of a month carry their order (`seq` in `events.csv`): announce, pressure,
//! counter-offer, then retract or hold.
//!
//! Parameter paths: `diplomacy.{announce_threshold_h100e, decision_noise_sd, stakes_weight,
//! ecosystem_value_weight}`, `regulators.*.pressure.{enabled, propensity, size_scale_h100e,
//! intensity, tariff_rate, investment_at_risk, press_cost, cost, punishment_months, backlash,
//! compliance_shift}`, `regulators.*.guidance*` (M4), `nations.*.projects.*`,
//! `nations.*.{strategic_value, dependence, ecosystem, reputation_cost, gdp_usd,
//! investment_stock_usd, export_exposure}`.

use super::{Diplomacy, ProjectStatus, Round};
use crate::math;
use crate::model::guidance;
use crate::model::params::{Params, PressureCost, PressurePolicy};
use crate::model::record::EventKind;

/// The intensities a presser chooses among, as shares of its policy's highest intensity.
const INTENSITY_STEPS: [f64; 4] = [0.25, 0.5, 0.75, 1.0];

/// What the announcing nation weighs, before any pressure: the guidance's expected sanction
/// cost `S` and the value `V` of going ahead (build, ecosystem pull, reputation).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stance {
    pub sanction: f64,
    pub value: f64,
}

/// Chance that a target whose net loss from going ahead is `margin` retracts, with decision
/// noise `sd` (a step at 0 when `sd` is 0).
fn retract_chance(margin: f64, sd: f64) -> f64 {
    if sd > 0.0 {
        math::normal_cdf(margin / sd)
    } else if margin > 0.0 {
        1.0
    } else {
        0.0
    }
}

impl Diplomacy {
    /// The stance of nation `i` on its planned build `k` (see the module doc).
    pub fn stance(&self, p: &Params, i: usize, k: usize) -> Stance {
        let (nation, project) = (&p.nations[i], &p.nations[i].projects[k]);
        let vendor = p.products[project.product].vendor;
        Stance {
            sanction: guidance::sanction_share(p, i, vendor),
            value: project.value
                + p.diplomacy.ecosystem_value_weight * nation.ecosystem[vendor]
                + nation.reputation_cost,
        }
    }

    /// What pressure from regulator `r` at intensity 1 threatens nation `i` with: `L_r`.
    pub fn leverage(&self, p: &Params, i: usize, r: usize) -> f64 {
        let (nation, reg) = (&p.nations[i], &p.regulators[r]);
        let Some(policy) = reg.pressure.as_ref() else {
            return 0.0;
        };
        let tariff = policy.tariff_rate * nation.export_exposure[reg.nation];
        let investment = if nation.gdp_usd > 0.0 {
            policy.investment_at_risk * self.investment(i, reg.nation) / nation.gdp_usd
        } else {
            0.0
        };
        p.diplomacy.stakes_weight * (tariff + investment)
    }

    /// Regulator `r`'s choice over a build of `size` H100e by nation `i`: the intensity that
    /// nets most and that net (see the module doc, step 3).
    pub fn press_choice(&self, p: &Params, r: usize, i: usize, size: f64, s: Stance) -> (f64, f64) {
        let policy = p.regulators[r]
            .pressure
            .as_ref()
            .expect("a pressure policy");
        let stake = stake(policy, p.nations[i].strategic_value, size);
        let lever = self.leverage(p, i, r);
        let sd = p.diplomacy.decision_noise_sd;
        let mut best = (0.0, f64::NEG_INFINITY);
        for step in INTENSITY_STEPS {
            let x = step * policy.intensity;
            let q = retract_chance(s.sanction + x * lever - s.value, sd);
            let net = stake * q - policy.press_cost * x;
            if net >= best.1 {
                best = (x, net);
            }
        }
        if stake > 0.0 {
            best
        } else {
            (0.0, f64::NEG_INFINITY)
        }
    }

    /// Announces, presses and decides planned build `k` of nation `i` if it is due.
    pub(super) fn resolve_project(&mut self, round: &mut Round, i: usize, k: usize) {
        let p = round.p;
        let project = &p.nations[i].projects[k];
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
        let stance = self.stance(p, i, k);
        let pressers = self.press(round, i, stack_home, size, stance);
        if pressers.is_empty() {
            self.projects[i][k] = ProjectStatus::Proceeding;
            return;
        }
        let patron = prod.regulator.and_then(|r| p.regulators[r].patron.as_ref());
        let threatened: f64 = stance.sanction
            + pressers
                .iter()
                .map(|&(r, x)| x * self.leverage(p, i, r))
                .sum::<f64>();
        let counter = self.counter(round, patron, i, stack_home, threatened - stance.value);
        let noise: f64 = math::standard_normal(&mut round.rngs[i]) * p.diplomacy.decision_noise_sd;
        if threatened + noise > stance.value + counter {
            self.projects[i][k] = ProjectStatus::Retracted;
            self.emit(round, EventKind::Retract, i, stack_home, units);
            for &(r, _) in &pressers {
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

    /// Powers decide whether and how hard to press nation `i` over a build of `size` H100e of
    /// `stack_home`'s stack (each from its own stream). Returns the pressers (regulator index,
    /// intensity).
    fn press(
        &mut self,
        round: &mut Round,
        i: usize,
        stack_home: usize,
        size: f64,
        stance: Stance,
    ) -> Vec<(usize, f64)> {
        let p = round.p;
        let mut pressers = Vec::new();
        for (r, reg) in p.regulators.iter().enumerate() {
            let Some(policy) = reg.pressure.as_ref().filter(|x| x.enabled) else {
                continue;
            };
            if reg.nation == stack_home || reg.nation == i {
                continue;
            }
            let (x, net) = self.press_choice(p, r, i, size, stance);
            let sd = p.diplomacy.decision_noise_sd;
            let noise = math::standard_normal(&mut round.rngs[reg.nation]) * sd;
            if net + noise >= 0.0 {
                self.emit(round, EventKind::Pressure, reg.nation, i, x);
                round.alignment.move_away(i, reg.nation, policy.backlash);
                pressers.push((r, x));
            }
        }
        pressers
    }

    /// Each presser imposes its threatened cost, at the intensity it chose, on nation `i`,
    /// which held.
    fn punish(&mut self, round: &mut Round, pressers: &[(usize, f64)], i: usize) {
        for &(r, x) in pressers {
            let reg = &round.p.regulators[r];
            let policy = reg.pressure.as_ref().expect("pressers have a policy");
            let until = round.t + policy.punishment_months;
            match policy.cost {
                PressureCost::LicenceCut => {
                    self.cut_licences(r, i, (1.0 - x).max(0.0), until);
                }
                PressureCost::InvestmentWithdrawn | PressureCost::Tariff => {
                    self.demand_cut[i] = ((1.0 - 0.5 * x).max(0.0), until);
                }
            }
            let kept = (1.0 - x * policy.investment_at_risk).max(0.0);
            self.keep_investment(i, reg.nation, kept);
        }
    }
}

/// The presser's stake in a build of `size` H100e by a nation of `strategic_value`.
fn stake(policy: &PressurePolicy, strategic_value: f64, size: f64) -> f64 {
    policy.propensity * strategic_value * (1.0 - math::exp(-size / policy.size_scale_h100e))
}

#[cfg(test)]
mod tests {
    use crate::math;
    use crate::model::alignment::Alignment;
    use crate::model::diplomacy::{COUNTED, Diplomacy, ProjectStatus};
    use crate::model::fixture::{self, CHN, HUAWEI, MYS, USA};
    use crate::model::params::{GuidanceEnforcement, GuidanceScope, Params, PressureCost};
    use crate::model::record::{Event, EventKind};
    use crate::rng::{Purpose, Stream, stream};

    /// The fixture with MYS planning a 1,000-unit Ascend build in month 0 and the US pressing
    /// with `propensity`, at most at `intensity` (leverage 1 per unit; see the fixture).
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
        let p = pressed(1e6, 1.0); // threatened 1.0 > value 0.3
        let (d, a, events) = resolve(&p, 1);
        assert_eq!(
            kinds(&events),
            vec![EventKind::Announce, EventKind::Pressure, EventKind::Retract]
        );
        assert_eq!(events[1].magnitude, 1.0, "the highest intensity");
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
    fn a_nation_that_holds_is_punished_and_loses_investment() {
        let mut p = pressed(1e6, 0.25); // threatened 0.25 < value 0.3
        p.nations[MYS].investment_stock_usd[USA] = 100.0;
        p.regulators[0]
            .pressure
            .as_mut()
            .unwrap()
            .investment_at_risk = 0.4;
        let (d, _, events) = resolve(&p, 1);
        assert_eq!(events.last().unwrap().kind, EventKind::Hold);
        assert_eq!(d.project(MYS, 0), ProjectStatus::Proceeding);
        assert_eq!(d.licence_factor(0, MYS, 5), 0.75);
        assert_eq!(d.licence_factor(0, MYS, 6), 1.0);
        assert_eq!(d.demand_factor(MYS, 0), 1.0);
        assert!((d.investment(MYS, USA) - 100.0 * (1.0 - 0.25 * 0.4)).abs() < 1e-9);
    }

    #[test]
    fn a_costly_press_that_cannot_work_is_not_made() {
        let mut p = pressed(1.0, 0.25); // cannot move a build worth 0.3
        p.regulators[0].pressure.as_mut().unwrap().press_cost = 0.5;
        let (_, _, events) = resolve(&p, 1);
        assert_eq!(kinds(&events), vec![EventKind::Announce]);
        // The same cost is worth paying when pressing works.
        let mut p = pressed(1.0, 1.0);
        p.regulators[0].pressure.as_mut().unwrap().press_cost = 0.5;
        let (_, _, events) = resolve(&p, 1);
        assert_eq!(events[1].kind, EventKind::Pressure);
    }

    /// The 2025 situation in small: a third-country Ascend guidance, US investment and
    /// exports at stake, decision noise; `edit` changes one lever. Returns the share of 400
    /// seeds in which MYS retracts.
    fn retraction_share(edit: impl Fn(&mut Params)) -> f64 {
        let mut p = pressed(1.0, 1.0);
        p.diplomacy.decision_noise_sd = 0.15;
        p.diplomacy.stakes_weight = 5.0;
        p.regulators[0].guidance[HUAWEI] = GuidanceScope::ThirdCountries;
        p.regulators[0].guidance_enforcement = Some(GuidanceEnforcement {
            certainty: 0.8,
            softening: 0.0,
        });
        let pressure = p.regulators[0].pressure.as_mut().unwrap();
        (pressure.tariff_rate, pressure.investment_at_risk) = (0.25, 0.5);
        let mys = &mut p.nations[MYS];
        (mys.gdp_usd, mys.investment_stock_usd[USA]) = (400.0, 16.0);
        mys.export_exposure[USA] = 0.1;
        edit(&mut p);
        let n = 400;
        let retracted = (0..n)
            .filter(|&seed| resolve(&p, seed).0.project(MYS, 0) == ProjectStatus::Retracted)
            .count();
        retracted as f64 / n as f64
    }

    #[test]
    fn certainty_investment_and_dependence_move_retraction_as_expected() {
        // Threat 0.8·0.5·0.6 + 5·(0.025 + 0.5·0.04) = 0.465 against 0.3: Φ(1.1) ≈ 0.86.
        let base = retraction_share(|_| {});
        assert!(
            (base - math::normal_cdf(0.165 / 0.15)).abs() < 0.06,
            "{base}"
        );
        let no_certainty = retraction_share(|p| {
            p.regulators[0]
                .guidance_enforcement
                .as_mut()
                .unwrap()
                .certainty = 0.0;
        });
        let no_investment = retraction_share(|p| p.nations[MYS].investment_stock_usd[USA] = 0.0);
        let more_dependence = retraction_share(|p| p.nations[MYS].dependence[USA] = 0.9);
        let softened = retraction_share(|p| {
            p.regulators[0]
                .guidance_enforcement
                .as_mut()
                .unwrap()
                .softening = 0.5;
        });
        assert!(no_certainty < base - 0.3, "{no_certainty} vs {base}");
        assert!(no_investment < base - 0.15, "{no_investment} vs {base}");
        assert!(more_dependence > base + 0.05, "{more_dependence} vs {base}");
        assert!(softened < base - 0.1, "{softened} vs {base}");
    }
}
