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
