//! M8 Deals and security guarantees.
//!
//! Code for `docs/model.md` § M8. After the month's builds are decided, each regulator's deals
//! in file order:
//! - an enabled deal due this month is offered; the partner accepts when
//!   `value + N(0, decision_noise_sd) > cost` (one draw from its stream), with
//!   `value = deal_value_weight × min(units_per_year × h100e_per_unit / (12 ×
//!   demand_h100e_per_month), 2)` and `cost` = `constraint_cost + monitoring_cost +
//!   ecosystem_value_weight × Σ_{rival firms} max(0, ecosystem[firm])` ([`acceptance_cost`]:
//!   the rival stacks given up), moving `alignment_shift` toward the regulator;
//! - an accepted deal: every month the partner breaches with [`breach_chance`]
//!   (`breach_probability`, raised by its ties to rival patrons) and the
//!   regulator detects with `detection_probability` (both drawn every month, so a lever on one
//!   does not shift the other); breach and detection revoke the deal.
//!
//! While accepted, a deal reserves `round(units_per_year / 12)` units of its product a month
//! for the partner, served first ([`Diplomacy::deal_allocation`], read by allocation); files
//! `licensed_units` at a time in the regulator's licence queue ([`crate::model::licence_queue`],
//! unless `licence_exempt`, a counterfactual that lifts licences and caps); and bars chips of other
//! powers' firms ([`Diplomacy::barred`], read by vendor choice).
//!
//! Parameter paths: `regulators.*.deals.*.{enabled, nation, product, month, units_per_year,
//! licence_exempt, licensed_units, monitoring_cost, constraint_cost, breach_probability, detection_probability,
//! alignment_shift}`, `diplomacy.deal_value_weight`, `diplomacy.decision_noise_sd`.

use rand::RngExt;

use super::{DealStatus, Diplomacy, Round};
use crate::math;
use crate::model::params::Params;
use crate::model::record::EventKind;

impl Diplomacy {
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

    /// Units of `product` accepted deals reserve for `nation` this month.
    pub fn deal_allocation(&self, p: &Params, nation: usize, product: usize) -> u64 {
        p.regulators
            .iter()
            .enumerate()
            .filter_map(|(r, reg)| {
                let k = self.accepted_deal(r, nation, p)?;
                let deal = &reg.deals[k];
                (deal.product == product).then(|| (deal.units_per_year / 12.0).round() as u64)
            })
            .sum()
    }

    pub(super) fn resolve_deals(&mut self, round: &mut Round) {
        let p = round.p;
        for (r, reg) in p.regulators.iter().enumerate() {
            for (k, deal) in reg.deals.iter().enumerate() {
                let i = deal.nation;
                match self.deals[r][k] {
                    DealStatus::NotOffered if deal.enabled && deal.month == round.t => {
                        self.offer(round, r, k);
                    }
                    DealStatus::Accepted => {
                        let chance = breach_chance(p, r, k);
                        let breach = round.rngs[i].random::<f64>() < chance;
                        let detected =
                            round.rngs[reg.nation].random::<f64>() < deal.detection_probability;
                        if breach && detected {
                            self.emit(round, EventKind::Breach, i, reg.nation, 1.0);
                            let units = deal.units_per_year;
                            self.emit(round, EventKind::Revoke, reg.nation, i, units);
                            self.deals[r][k] = DealStatus::Revoked;
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    /// Regulator `r` offers deal `k`; its partner accepts or rejects.
    fn offer(&mut self, round: &mut Round, r: usize, k: usize) {
        let p = round.p;
        let (reg, deal) = (&p.regulators[r], &p.regulators[r].deals[k]);
        let (i, units) = (deal.nation, deal.units_per_year);
        self.emit(round, EventKind::DealOffer, reg.nation, i, units);
        let h = p.products[deal.product].h100e_per_unit.value();
        let annual_demand = 12.0 * p.nations[i].demand_h100e_per_month;
        let coverage = if annual_demand > 0.0 {
            (deal.units_per_year * h / annual_demand).min(2.0)
        } else {
            0.0
        };
        let d = &p.diplomacy;
        let noise: f64 = math::standard_normal(&mut round.rngs[i]) * d.decision_noise_sd;
        if d.deal_value_weight * coverage + noise > acceptance_cost(p, r, k) {
            self.deals[r][k] = DealStatus::Accepted;
            self.accepted_at[r][k] = round.t;
            self.emit(round, EventKind::DealAccept, i, reg.nation, units);
            round
                .alignment
                .move_toward(i, reg.nation, deal.alignment_shift);
        } else {
            self.deals[r][k] = DealStatus::Rejected;
            self.emit(round, EventKind::DealReject, i, reg.nation, units);
        }
    }
}

/// Monthly chance that the partner of deal `k` of regulator `r` breaches it:
/// `breach_probability × (1 + breach_tie_weight × Σ dependence on rival patrons)`, the rival
/// patrons being the other nations with a patron policy (M10), clamped to 1.
pub fn breach_chance(p: &Params, r: usize, k: usize) -> f64 {
    let (reg, deal) = (&p.regulators[r], &p.regulators[r].deals[k]);
    let ties: f64 = (p.regulators.iter())
        .filter(|x| x.nation != reg.nation && x.patron.is_some())
        .map(|x| p.nations[deal.nation].dependence[x.nation])
        .sum();
    (deal.breach_probability * (1.0 + p.diplomacy.breach_tie_weight * ties)).min(1.0)
}

/// What accepting deal `k` of regulator `r` costs its partner: the security constraints, the
/// monitoring and reporting, and the rival stacks it gives up (`ecosystem_value_weight ×` the
/// positive ecosystem pull of every firm not at home with the regulator).
pub fn acceptance_cost(p: &Params, r: usize, k: usize) -> f64 {
    let (reg, deal) = (&p.regulators[r], &p.regulators[r].deals[k]);
    let nation = &p.nations[deal.nation];
    let rival_pull: f64 = (p.firms.iter().enumerate())
        .filter(|(_, f)| f.home != reg.nation)
        .map(|(f, _)| nation.ecosystem[f].max(0.0))
        .sum();
    deal.constraint_cost + deal.monitoring_cost + p.diplomacy.ecosystem_value_weight * rival_pull
}

#[cfg(test)]
mod tests {
    use crate::model::alignment::Alignment;
    use crate::model::diplomacy::{DealStatus, Diplomacy};
    use crate::model::fixture::{self, H100, HUAWEI, MYS, NVIDIA};
    use crate::model::params::{DealParams, Params};
    use crate::model::record::EventKind;
    use crate::rng::{Purpose, Stream, stream};

    fn with_deal(constraint_cost: f64, breach: f64) -> Params {
        let mut p = fixture::params();
        p.regulators[0].deals.push(DealParams {
            constraint_cost,
            breach_probability: breach,
            detection_probability: 1.0,
            alignment_shift: 0.2,
            ..fixture::deal(1)
        });
        p
    }

    fn months(p: &Params, n: u32) -> (Diplomacy, Vec<EventKind>) {
        let mut d = Diplomacy::new(p);
        let mut a = Alignment::new(p);
        let mut rngs: Vec<Stream> = (0..3).map(|i| stream(2, Purpose::Diplomacy, i)).collect();
        let mut events = Vec::new();
        for t in 0..n {
            d.resolve(t, p, &mut a, &mut rngs, &mut events);
        }
        (d, events.iter().map(|e| e.kind).collect())
    }

    #[test]
    fn an_accepted_deal_reserves_units_and_bars_rival_chips() {
        let p = with_deal(0.1, 0.0); // coverage 1200 / 2400 = 0.5 > 0.1
        let (d, kinds) = months(&p, 1);
        assert!(kinds.is_empty(), "not offered before its month");
        assert_eq!(d.accepted_deal(0, MYS, &p), None);
        let (d, kinds) = months(&p, 2);
        assert_eq!(kinds, vec![EventKind::DealOffer, EventKind::DealAccept]);
        assert_eq!(d.deal(0, 0), DealStatus::Accepted);
        assert_eq!(d.accepted_deal(0, MYS, &p), Some(0));
        assert_eq!(d.deal_allocation(&p, MYS, H100), 100);
        assert!(d.barred(MYS, HUAWEI, &p));
        assert!(!d.barred(MYS, NVIDIA, &p));
    }

    #[test]
    fn ties_to_a_rival_patron_raise_the_breach_chance() {
        use crate::model::fixture::CHN;
        let mut p = with_deal(0.1, 0.1);
        assert!((super::breach_chance(&p, 0, 0) - 0.1).abs() < 1e-12);
        p.diplomacy.breach_tie_weight = 2.0;
        p.nations[MYS].dependence[CHN] = 0.5;
        assert!(
            (super::breach_chance(&p, 0, 0) - 0.1).abs() < 1e-12,
            "CHN is no patron"
        );
        p.regulators[1].patron = Some(crate::model::params::PatronPolicy {
            face_weight: 0.0,
            trade_weight: 0.0,
            counter_offer_value: 0.0,
            alignment_shift: 0.0,
            retaliation_cost: 0.0,
            retaliation_intensity: 0.0,
            retaliation_months: 0,
            retaliation_alignment_shift: 0.0,
        });
        assert!((super::breach_chance(&p, 0, 0) - 0.2).abs() < 1e-12);
    }

    #[test]
    fn a_costly_deal_is_rejected_and_a_detected_breach_revokes() {
        let (d, kinds) = months(&with_deal(0.9, 0.0), 3);
        assert_eq!(kinds, vec![EventKind::DealOffer, EventKind::DealReject]);
        assert_eq!(d.deal(0, 0), DealStatus::Rejected);
        let p = with_deal(0.1, 1.0);
        let (d, kinds) = months(&p, 3);
        assert_eq!(
            kinds,
            vec![
                EventKind::DealOffer,
                EventKind::DealAccept,
                EventKind::Breach,
                EventKind::Revoke
            ]
        );
        assert_eq!(d.deal(0, 0), DealStatus::Revoked);
        assert_eq!(d.deal_allocation(&p, MYS, H100), 0);
    }
}
