//! M10 Rival patron: counter-offers against pressure and retaliation against retraction,
//! decided from the patron's interests.
//!
//! Code for `docs/model.md` § M10 (its diplomatic half; the market half is the vendor's
//! `home_priority` in [`crate::model::allocation`] and `export_discount` in
//! [`crate::model::vendor_choice`]). The patron of a build's stack is the vendor's home nation
//! when it has a patron policy. Its stake in nation `i` is
//! `stake = face_weight × strategic_value_i + trade_weight × export_exposure_i[patron]`.
//! When a build of its stack is pressed (M6), with `m` the target's expected net loss from
//! going ahead (`S + Σ x L − V`, [`super::pressure`]) and `sd = decision_noise_sd`:
//! - **counter-offer**: for `c ∈ {¼, ½, ¾, 1} × counter_offer_value` it nets
//!   `stake × (Φ(m / sd) − Φ((m − c) / sd)) − c` (the holds it buys, less what it pays); it
//!   offers the best `c` when that net plus `N(0, sd)` (one draw from its stream) is positive;
//! - if the target holds with a counter-offer, the target moves `alignment_shift` toward it;
//! - **retaliation**: if the target retracts, it retaliates when `face_weight ×
//!   strategic_value_i − retaliation_cost + N(0, sd) > 0` (one draw): the target's demand is
//!   multiplied by `1 − retaliation_intensity` for `retaliation_months`, and the target moves
//!   `retaliation_alignment_shift` away from it.
//!
//! Parameter paths: `regulators.*.patron.{face_weight, trade_weight, counter_offer_value,
//! alignment_shift, retaliation_cost, retaliation_intensity, retaliation_months,
//! retaliation_alignment_shift}`, `nations.*.{strategic_value, export_exposure}`.

use super::{Diplomacy, Round};
use crate::math;
use crate::model::params::{Params, PatronPolicy};
use crate::model::record::EventKind;

/// The counter-offers a patron chooses among, as shares of its largest.
const OFFER_STEPS: [f64; 4] = [0.25, 0.5, 0.75, 1.0];

/// The patron's stake in nation `i` (see the module doc).
pub fn stake(p: &Params, pat: &PatronPolicy, i: usize, home: usize) -> f64 {
    let n = &p.nations[i];
    pat.face_weight * n.strategic_value + pat.trade_weight * n.export_exposure[home]
}

/// The patron's best counter-offer to a target whose expected net loss from going ahead is
/// `margin`, and what it nets (see the module doc).
pub fn best_offer(stake: f64, pat: &PatronPolicy, margin: f64, sd: f64) -> (f64, f64) {
    let retract = |m: f64| {
        if sd > 0.0 {
            math::normal_cdf(m / sd)
        } else if m > 0.0 {
            1.0
        } else {
            0.0
        }
    };
    let mut best = (0.0, f64::NEG_INFINITY);
    for step in OFFER_STEPS {
        let c = step * pat.counter_offer_value;
        let net = stake * (retract(margin) - retract(margin - c)) - c;
        if net > best.1 {
            best = (c, net);
        }
    }
    best
}

impl Diplomacy {
    /// The patron's counter-offer to nation `i`, whose expected net loss from going ahead is
    /// `margin` (0 if none).
    pub(super) fn counter(
        &mut self,
        round: &mut Round,
        patron: Option<&PatronPolicy>,
        i: usize,
        home: usize,
        margin: f64,
    ) -> f64 {
        let Some(pat) = patron else {
            return 0.0;
        };
        let p = round.p;
        let sd = p.diplomacy.decision_noise_sd;
        let (offer, net) = best_offer(stake(p, pat, i, home), pat, margin, sd);
        let noise = math::standard_normal(&mut round.rngs[home]) * sd;
        if offer > 0.0 && net + noise > 0.0 {
            self.emit(round, EventKind::CounterOffer, home, i, offer);
            offer
        } else {
            0.0
        }
    }

    /// The patron may retaliate against nation `i`, which retracted.
    pub(super) fn retaliate(
        &mut self,
        round: &mut Round,
        patron: Option<&PatronPolicy>,
        i: usize,
        home: usize,
    ) {
        let Some(pat) = patron else {
            return;
        };
        let p = round.p;
        let face = pat.face_weight * p.nations[i].strategic_value;
        let noise = math::standard_normal(&mut round.rngs[home]) * p.diplomacy.decision_noise_sd;
        if face - pat.retaliation_cost + noise > 0.0 {
            let intensity = pat.retaliation_intensity;
            self.emit(round, EventKind::Retaliate, home, i, intensity);
            self.demand_cut[i] = (1.0 - intensity, round.t + pat.retaliation_months);
            round
                .alignment
                .move_away(i, home, pat.retaliation_alignment_shift);
        }
    }

    /// Nation `i` held with a counter-offer: it moves toward the patron.
    pub(super) fn reward_hold(
        &mut self,
        round: &mut Round,
        patron: Option<&PatronPolicy>,
        counter: f64,
        i: usize,
        home: usize,
    ) {
        if counter > 0.0
            && let Some(pat) = patron
        {
            round.alignment.move_toward(i, home, pat.alignment_shift);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::model::alignment::Alignment;
    use crate::model::diplomacy::Diplomacy;
    use crate::model::fixture::{self, MYS, USA};
    use crate::model::params::{PatronPolicy, PressureCost};
    use crate::model::record::EventKind;
    use crate::rng::{Purpose, Stream, stream};

    fn run(counter_value: f64, intensity: f64) -> (Diplomacy, Vec<EventKind>, f64) {
        let mut p =
            fixture::pressed_build(fixture::params(), 1e6, 1.0, intensity, PressureCost::Tariff);
        p.nations[MYS].dependence[USA] = 1.0;
        if let Some(press) = p.regulators[0].pressure.as_mut() {
            press.punishment_months = 3;
            press.backlash = 0.0;
            press.compliance_shift = 0.0;
        }
        p.regulators[1].patron = Some(PatronPolicy {
            face_weight: 10.0,
            trade_weight: 0.0,
            counter_offer_value: counter_value,
            alignment_shift: 0.2,
            retaliation_cost: 0.0,
            retaliation_intensity: 0.4,
            retaliation_months: 2,
            retaliation_alignment_shift: 0.3,
        });
        let mut d = Diplomacy::new(&p);
        let mut a = Alignment::new(&p);
        let mut rngs: Vec<Stream> = (0..3).map(|i| stream(1, Purpose::Diplomacy, i)).collect();
        let mut events = Vec::new();
        d.resolve(0, &p, &mut a, &mut rngs, &mut events);
        let kinds = events.iter().map(|e| e.kind).collect();
        (d, kinds, a.values()[MYS])
    }

    #[test]
    fn a_counter_offer_can_turn_a_retraction_into_a_hold() {
        // Threat 0.8 against value 0.3: retracts without help, holds with a 0.6 offer.
        let (d, kinds, alignment) = run(0.6, 0.8);
        assert_eq!(
            kinds,
            vec![
                EventKind::Announce,
                EventKind::Pressure,
                EventKind::CounterOffer,
                EventKind::Hold
            ]
        );
        assert!((alignment + 0.2).abs() < 1e-12, "moves toward China");
        assert_eq!(
            d.demand_factor(MYS, 2),
            0.6,
            "the tariff halves the intensity"
        );
    }

    #[test]
    fn the_patron_retaliates_against_a_retraction() {
        let (d, kinds, alignment) = run(0.1, 0.8);
        assert_eq!(kinds.last(), Some(&EventKind::Retaliate));
        assert!(kinds.contains(&EventKind::Retract));
        assert_eq!(d.demand_factor(MYS, 1), 0.6);
        assert_eq!(d.demand_factor(MYS, 2), 1.0);
        assert!((alignment - 0.3).abs() < 1e-12, "moves away from China");
    }

    #[test]
    fn the_patron_moves_only_when_its_interests_justify_it() {
        use super::{best_offer, stake};
        let mut p = fixture::params();
        let mut pat = PatronPolicy {
            face_weight: 0.0,
            trade_weight: 2.0,
            counter_offer_value: 0.4,
            alignment_shift: 0.0,
            retaliation_cost: 0.5,
            retaliation_intensity: 0.1,
            retaliation_months: 1,
            retaliation_alignment_shift: 0.0,
        };
        p.nations[MYS].export_exposure[1] = 0.1;
        // Stake 0.2 (trade only): an offer of 0.4 that turns a sure retraction into a sure
        // hold buys 0.2 for 0.4: not worth it; with face weight 1 it is.
        let s0 = stake(&p, &pat, MYS, 1);
        assert!((s0 - 0.2).abs() < 1e-12);
        assert!(best_offer(s0, &pat, 0.35, 0.0).1 < 0.0);
        pat.face_weight = 1.0;
        let s1 = stake(&p, &pat, MYS, 1);
        assert_eq!(best_offer(s1, &pat, 0.35, 0.0).0, 0.4);
        // A target that would hold anyway gets nothing worth paying for.
        assert!(best_offer(s1, &pat, -0.5, 0.0).1 < 0.0);
    }
}
