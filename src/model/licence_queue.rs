//! M3 Licence queue: large licences, such as those a security deal asks for, wait in a
//! regulator's queue per (destination, export class) and are approved from the destination's
//! standing.
//!
//! Code for `docs/model.md` § M3 (the queue). Each month, after diplomacy and before
//! licensing:
//! 1. **File.** An accepted deal (M8) with `licensed_units > 0` that is not `licence_exempt`
//!    files an application for `licensed_units` of its product when it has none pending and
//!    less than half of that quantity left to ship under earlier grants.
//! 2. **Review.** An application filed in month `f` is first reviewed at
//!    `f + processing_months − deal_months_saved` (a deal's priority); from then on, each
//!    month, it is approved with odds
//!    `base_odds + security_agreement_odds × [deal accepted] + safeguards_odds × [deal in force
//!    ≥ safeguards_months] + investment_odds × min(1, pledged_investment_usd[regulator] /
//!    pledge_scale_usd) − backlog_penalty × (other applications pending)`, clamped to [0, 1]
//!    (one draw from the regulator's `LicenceQueue` stream per application reviewed).
//! 3. **Grant.** An approved application adds its units to the destination's grant
//!    ([`ExportRules::grant`]), from which licensed orders ship without a new approval or the
//!    annual cap (a `licence_grant` event, magnitude units). A deal thus changes the queue —
//!    priority, odds, quantity — and does not bypass it; deliveries are still bounded by the
//!    vendor's inventory, the deal's served-first allocation and the destination's data-centre
//!    capacity.
//!
//! Parameter paths: `regulators.*.licence_queue.{processing_months, deal_months_saved,
//! base_odds, security_agreement_odds, safeguards_odds, safeguards_months, investment_odds,
//! pledge_scale_usd, backlog_penalty}`, `regulators.*.deals.*.{licensed_units,
//! licence_exempt}`, `nations.*.pledged_investment_usd.*`.

use rand::RngExt;

use super::diplomacy::Diplomacy;
use super::export_rules::ExportRules;
use super::params::{LicenceQueueParams, Params};
use super::record::{Event, EventKind, Party};
use crate::rng::{Purpose, Stream, stream};

/// One pending application.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Application {
    regulator: usize,
    /// The deal it was filed under (index into the regulator's deals).
    deal: usize,
    filed: u32,
}

/// Every regulator's pending applications.
pub struct LicenceQueue {
    pending: Vec<Application>,
    rng: Vec<Stream>,
}

impl LicenceQueue {
    pub fn new(p: &Params, rep_seed: u64) -> LicenceQueue {
        LicenceQueue {
            pending: Vec::new(),
            rng: (0..p.regulators.len())
                .map(|r| stream(rep_seed, Purpose::LicenceQueue, r))
                .collect(),
        }
    }

    /// Applications pending at regulator `r`.
    pub fn backlog(&self, r: usize) -> usize {
        self.pending.iter().filter(|a| a.regulator == r).count()
    }

    /// Monthly approval odds of an application under deal `k` of regulator `r` at month `t`.
    pub fn odds(&self, p: &Params, d: &Diplomacy, r: usize, k: usize, t: u32) -> f64 {
        let reg = &p.regulators[r];
        let Some(q) = reg.licence_queue.as_ref() else {
            return 0.0;
        };
        let deal = &reg.deals[k];
        let age = d.deal_age(r, k, t);
        let pledged = p.nations[deal.nation].pledged_investment_usd[reg.nation];
        let others = self.backlog(r).saturating_sub(1) as f64;
        let odds = q.base_odds
            + if age.is_some() {
                q.security_agreement_odds
            } else {
                0.0
            }
            + if age.is_some_and(|a| a >= q.safeguards_months) {
                q.safeguards_odds
            } else {
                0.0
            }
            + q.investment_odds * (pledged / q.pledge_scale_usd).min(1.0)
            - q.backlog_penalty * others;
        odds.clamp(0.0, 1.0)
    }

    /// Files, reviews and grants month `t`'s applications (see the module doc).
    pub fn step(
        &mut self,
        p: &Params,
        d: &Diplomacy,
        export: &mut ExportRules,
        t: u32,
        events: &mut Vec<Event>,
    ) {
        for (r, reg) in p.regulators.iter().enumerate() {
            if reg.licence_queue.is_none() {
                continue;
            }
            for (k, deal) in reg.deals.iter().enumerate() {
                let open = self.pending.iter().any(|a| a.regulator == r && a.deal == k);
                let left = export.granted(deal.nation, deal.product) as f64;
                if d.deal_age(r, k, t).is_some()
                    && !deal.licence_exempt
                    && deal.licensed_units > 0.0
                    && !open
                    && left < 0.5 * deal.licensed_units
                {
                    self.pending.push(Application {
                        regulator: r,
                        deal: k,
                        filed: t,
                    });
                }
            }
        }
        let mut k = 0;
        while k < self.pending.len() {
            let a = self.pending[k];
            let reg = &p.regulators[a.regulator];
            let q: &LicenceQueueParams = reg.licence_queue.as_ref().expect("queued");
            let due = a.filed + q.processing_months.saturating_sub(q.deal_months_saved);
            if t < due {
                k += 1;
                continue;
            }
            let odds = self.odds(p, d, a.regulator, a.deal, t);
            if self.rng[a.regulator].random::<f64>() < odds {
                let deal = &reg.deals[a.deal];
                let units = deal.licensed_units.round() as u64;
                export.grant(deal.nation, deal.product, units);
                events.push(Event {
                    month: t,
                    actor: Party::Nation(reg.nation),
                    target: Party::Nation(deal.nation),
                    kind: EventKind::LicenceGrant,
                    magnitude: units as f64,
                });
                self.pending.remove(k);
            } else {
                k += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::alignment::Alignment;
    use crate::model::fixture::{self, H100, MYS, USA};
    use crate::model::params::DealParams;

    /// The fixture with a US deal for MYS (offered in month 0, accepted) that asks for 600
    /// H100 per licence through a queue with `processing` months and base `odds`.
    fn with_queue(processing: u32, odds: f64) -> Params {
        let mut p = fixture::params();
        p.regulators[0].deals.push(DealParams {
            licence_exempt: false,
            licensed_units: 600.0,
            ..fixture::deal(0)
        });
        p.regulators[0].licence_queue = Some(LicenceQueueParams {
            processing_months: processing,
            deal_months_saved: 0,
            base_odds: odds,
            security_agreement_odds: 0.0,
            safeguards_odds: 0.0,
            safeguards_months: 3,
            investment_odds: 0.0,
            pledge_scale_usd: 1e12,
            backlog_penalty: 0.0,
        });
        p
    }

    /// Runs `months` of diplomacy and the queue; returns the grant months and the export state.
    fn run(p: &Params, months: u32, seed: u64) -> (Vec<u32>, ExportRules) {
        let mut d = Diplomacy::new(p);
        let mut a = Alignment::new(p);
        let mut rngs: Vec<Stream> = (0..3)
            .map(|i| stream(seed, Purpose::Diplomacy, i))
            .collect();
        let (mut q, mut x) = (LicenceQueue::new(p, seed), ExportRules::new(p, seed));
        let mut events = Vec::new();
        for t in 0..months {
            d.resolve(t, p, &mut a, &mut rngs, &mut events);
            q.step(p, &d, &mut x, t, &mut events);
        }
        let grants = (events.iter())
            .filter(|e| e.kind == EventKind::LicenceGrant)
            .map(|e| e.month)
            .collect();
        (grants, x)
    }

    #[test]
    fn a_deal_waits_its_processing_time_and_is_then_granted_its_quantity() {
        let p = with_queue(4, 1.0);
        let (grants, x) = run(&p, 4, 1);
        assert!(grants.is_empty(), "nothing before the processing time");
        assert_eq!(x.granted(MYS, H100), 0);
        let (grants, x) = run(&p, 5, 1);
        assert_eq!(grants, vec![4]);
        assert_eq!(x.granted(MYS, H100), 600);
        // With the grant unused, no second application is filed.
        let (grants, _) = run(&p, 12, 1);
        assert_eq!(grants, vec![4]);
    }

    #[test]
    fn standing_raises_the_odds_and_backlog_lowers_them() {
        let mut p = with_queue(0, 0.1);
        let (d, q) = (Diplomacy::new(&p), LicenceQueue::new(&p, 1));
        assert!(
            (q.odds(&p, &d, 0, 0, 0) - 0.1).abs() < 1e-12,
            "not accepted yet"
        );
        let queue = p.regulators[0].licence_queue.as_mut().unwrap();
        (queue.investment_odds, queue.security_agreement_odds) = (0.2, 0.3);
        p.nations[MYS].pledged_investment_usd[USA] = 5e11;
        let (mut d, mut a) = (Diplomacy::new(&p), Alignment::new(&p));
        let mut rngs: Vec<Stream> = (0..3).map(|i| stream(1, Purpose::Diplomacy, i)).collect();
        d.resolve(0, &p, &mut a, &mut rngs, &mut Vec::new());
        let with = q.odds(&p, &d, 0, 0, 0);
        assert!((with - (0.1 + 0.3 + 0.2 * 0.5)).abs() < 1e-12, "{with}");
        // Zero odds: never granted.
        let (grants, _) = run(&with_queue(0, 0.0), 24, 3);
        assert!(grants.is_empty());
        // A licence-exempt deal files nothing.
        let mut p = with_queue(0, 1.0);
        p.regulators[0].deals[0].licence_exempt = true;
        assert!(run(&p, 6, 1).0.is_empty());
    }
}
