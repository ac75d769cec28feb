//! M10 Rival patron: counter-offers against pressure and retaliation against retraction.
//!
//! Code for `docs/model.md` § M10 (its diplomatic half; the market half is the vendor's
//! `home_priority` in [`crate::model::allocation`] and `export_discount` in
//! [`crate::model::vendor_choice`]). The patron of a build's stack is the vendor's home nation
//! when it has a patron policy. When a build of its stack is pressed (M6):
//! - it counters with probability `counter_offer_probability` (one draw from its stream), worth
//!   `counter_offer_value` in the target's decision;
//! - if the target holds with a counter-offer, the target moves `alignment_shift` toward it;
//! - if the target retracts, it retaliates with probability `retaliation_probability` (one
//!   draw): the target's demand is multiplied by `1 − retaliation_intensity` for
//!   `retaliation_months`, and the target moves `retaliation_alignment_shift` away from it.
//!
//! Parameter paths: `regulators.*.patron.{counter_offer_probability, counter_offer_value,
//! alignment_shift, retaliation_probability, retaliation_intensity, retaliation_months,
//! retaliation_alignment_shift}`.

use rand::RngExt;

use super::{Diplomacy, Round};
use crate::model::params::PatronPolicy;
use crate::model::record::EventKind;

impl Diplomacy {
    /// The patron's counter-offer to nation `i` (0 if none).
    pub(super) fn counter(
        &mut self,
        round: &mut Round,
        patron: Option<&PatronPolicy>,
        i: usize,
        home: usize,
    ) -> f64 {
        if let Some(pat) = patron
            && round.rngs[home].random::<f64>() < pat.counter_offer_probability
        {
            let counter = pat.counter_offer_value;
            self.emit(round, EventKind::CounterOffer, home, i, counter);
            counter
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
        if let Some(pat) = patron
            && round.rngs[home].random::<f64>() < pat.retaliation_probability
        {
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
            counter_offer_probability: 1.0,
            counter_offer_value: counter_value,
            alignment_shift: 0.2,
            retaliation_probability: 1.0,
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
}
