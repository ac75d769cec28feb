//! Diplomacy: the event-driven mechanisms resolved at the start of each month, before orders.
//!
//! Code for `docs/model.md` §§ M6, M8, M10 and the event part of M7:
//! - [`pressure`] (M6): announcements, pressure, the target's retract/hold decision, the
//!   punishment a held build meets;
//! - [`patron`] (M10): the rival patron's counter-offers and retaliation;
//! - [`deals`] (M8): security-agreement offers, acceptance, breaches and revocation, and what
//!   an accepted deal does (priority allocation, licence exemption, rival chips barred).
//!
//! Order within the month: investment stocks grow (see [`Diplomacy::investment`]); for each
//! nation in index order, each of its planned builds due this
//! month is announced, pressed, countered and decided ([`pressure`]); then every deal is
//! resolved ([`deals`]); then alignments are clamped to `[−1, 1]`. Alignment moves with each
//! event by the amounts the policies set (M7 event shifts live here, in the mechanism that
//! causes them; the market drift is [`super::alignment`]). Every draw of a decision comes from
//! the deciding nation's `Diplomacy` stream.
//!
//! Parameter paths: `diplomacy.*`, `regulators.*.pressure.*`, `regulators.*.patron.*`,
//! `regulators.*.deals.*`, `nations.*.projects.*`, `nations.*.reputation_cost`,
//! `nations.*.dependence.*`, `nations.*.strategic_value`, `nations.*.investment_stock_usd.*`,
//! `diplomacy.{investment_growth_annual, investment_alignment_response}`.

pub mod deals;
pub mod patron;
pub mod pressure;

use super::alignment::Alignment;
use super::index::Grid;
use super::params::Params;
use super::record::{Event, EventKind, Party};
use crate::rng::Stream;
use std::sync::Arc;

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
    projects: Vec<Vec<ProjectStatus>>,
    /// `deals[regulator][k]`, in the order of `RegulatorParams::deals`.
    deals: Vec<Vec<DealStatus>>,
    /// Month each deal was accepted (meaningful while accepted).
    accepted_at: Vec<Vec<u32>>,
    /// Demand multiplier per nation (tariffs, withdrawn investment, retaliation) and the month
    /// it lasts until (exclusive).
    demand_cut: Vec<(f64, u32)>,
    /// Licence multiplier per (regulator, nation) from imposed licence cuts, and until when.
    licence_cut: Grid<(f64, u32)>,
    /// Diplomatic events each nation took part in, by kind (see [`COUNTED`]).
    counts: Vec<[u32; COUNTED.len()]>,
    /// The pairs that can hold an investment stock, shared by a setup's replications.
    investors: Arc<Investors>,
    /// The stock (USD) of each pair of `investors.invested`, now.
    investment: Vec<f64>,
}

/// The `(i, k)` whose stock held in nation `i` by nation `k`'s firms was positive at the
/// start, and those stocks. Growth and withdrawal multiply, so the other pairs' stocks stay 0:
/// held sparsely, a replication with hundreds of nations neither allocates nor copies a
/// nations × nations table nor does a month's growth visit every cell. The stocks at the start
/// are not drawn, so a setup works the pairs out once for all its replications
/// (`world::Prepared`) rather than each replication scanning every pair of nations.
#[derive(Debug)]
pub struct Investors {
    /// The pairs, in order of `i`, then `k`.
    invested: Vec<(usize, usize)>,
    /// Nation `i`'s investors are `invested[first_investor[i]..first_investor[i + 1]]`.
    first_investor: Vec<usize>,
    /// The stock (USD) of each pair at the start.
    at_start: Vec<f64>,
}

impl Investors {
    /// The pairs of `p`'s nations with a positive stock at the start.
    pub fn new(p: &Params) -> Investors {
        let (mut invested, mut at_start) = (Vec::new(), Vec::new());
        let mut first_investor = Vec::with_capacity(p.nations.len() + 1);
        for (i, n) in p.nations.iter().enumerate() {
            first_investor.push(invested.len());
            for (k, &stock) in n.investment_stock_usd.iter().enumerate() {
                if stock != 0.0 {
                    invested.push((i, k));
                    at_start.push(stock);
                }
            }
        }
        first_investor.push(invested.len());
        Investors {
            invested,
            first_investor,
            at_start,
        }
    }
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
        Diplomacy::with_investors(p, Arc::new(Investors::new(p)))
    }

    /// [`Diplomacy::new`] with the pairs `Investors::new(p)` gives, worked out before.
    pub fn with_investors(p: &Params, investors: Arc<Investors>) -> Diplomacy {
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
            accepted_at: p
                .regulators
                .iter()
                .map(|r| vec![0; r.deals.len()])
                .collect(),
            demand_cut: vec![(1.0, 0); nn],
            licence_cut: Grid::new(p.regulators.len(), nn, (1.0, 0)),
            counts: vec![[0; COUNTED.len()]; nn],
            investment: investors.at_start.clone(),
            investors,
        }
    }

    /// Investment stock (USD) held in `nation` by `investor`'s firms now. It starts at
    /// `nations.NATION.investment_stock_usd.INVESTOR` and grows each month by
    /// `(diplomacy.investment_growth_annual + investment_alignment_response × a_nation ×
    /// sign(a_investor))
    /// / 12` (alignment toward the investor attracts its investment, alignment away repels it);
    /// a presser withdraws part of it from a nation that holds against it (M6).
    #[inline]
    pub fn investment(&self, nation: usize, investor: usize) -> f64 {
        self.invested_index(nation, investor)
            .map_or(0.0, |x| self.investment[x])
    }

    /// Where `(nation, investor)` is in `invested`, if its stock was positive at the start.
    fn invested_index(&self, nation: usize, investor: usize) -> Option<usize> {
        let Investors {
            invested,
            first_investor,
            ..
        } = &*self.investors;
        let first = first_investor[nation];
        let investors = &invested[first..first_investor[nation + 1]];
        (investors.binary_search_by_key(&investor, |&(_, k)| k).ok()).map(|x| first + x)
    }

    /// Scales the stock `investor`'s firms hold in `nation` by `kept` (>= 0): a stock that
    /// was 0 at the start stays 0.
    pub(super) fn keep_investment(&mut self, nation: usize, investor: usize, kept: f64) {
        if let Some(x) = self.invested_index(nation, investor) {
            self.investment[x] *= kept;
        }
    }

    /// One month of investment growth, from the alignments at the start of the month.
    fn grow_investment(&mut self, p: &Params, alignment: &Alignment) {
        let a = alignment.values();
        let (growth, response) = (
            p.diplomacy.investment_growth_annual,
            p.diplomacy.investment_alignment_response,
        );
        for (&(i, k), v) in self.investors.invested.iter().zip(&mut self.investment) {
            let toward = a[i] * if a[k] < 0.0 { -1.0 } else { 1.0 };
            let rate = (growth + response * toward) / 12.0;
            *v = (*v * (1.0 + rate)).max(0.0);
        }
    }

    /// Where planned build `k` of `nation` stands.
    #[inline]
    pub fn project(&self, nation: usize, k: usize) -> ProjectStatus {
        self.projects[nation][k]
    }

    /// Where deal `k` of regulator `r` stands.
    pub fn deal(&self, r: usize, k: usize) -> DealStatus {
        self.deals[r][k]
    }

    /// Months deal `k` of regulator `r` has been in force at month `t` (None unless accepted).
    pub fn deal_age(&self, r: usize, k: usize, t: u32) -> Option<u32> {
        (self.deals[r][k] == DealStatus::Accepted).then(|| t.saturating_sub(self.accepted_at[r][k]))
    }

    /// Diplomatic events of kind `COUNTED[k]` `nation` took part in so far.
    pub fn count(&self, nation: usize, k: usize) -> u32 {
        self.counts[nation][k]
    }

    /// Demand multiplier of `nation` in month `t`.
    #[inline]
    pub fn demand_factor(&self, nation: usize, t: u32) -> f64 {
        let (f, until) = self.demand_cut[nation];
        if t < until { f } else { 1.0 }
    }

    /// Licence multiplier (caps and approval odds) of `regulator` toward `nation` in month `t`.
    #[inline]
    pub fn licence_factor(&self, regulator: usize, nation: usize, t: u32) -> f64 {
        let (f, until) = self.licence_cut[(regulator, nation)];
        if t < until { f } else { 1.0 }
    }

    /// Regulator `r` multiplies its licences toward `nation` by `factor` until month `until`
    /// (M6 pressure punishment, M9 enforcement response); replaces any cut in force.
    pub fn cut_licences(&mut self, r: usize, nation: usize, factor: f64, until: u32) {
        self.licence_cut[(r, nation)] = (factor, until);
    }

    /// Counts an event for the nations it involves and logs it.
    fn emit(&mut self, round: &mut Round, kind: EventKind, actor: usize, target: usize, x: f64) {
        let e = nation_event(round.t, actor, target, kind, x);
        let k = COUNTED
            .iter()
            .position(|c| *c == e.kind)
            .expect("diplomatic kind");
        for party in [e.actor, e.target] {
            if let Party::Nation(i) = party {
                self.counts[i][k] += 1;
            }
        }
        round.events.push(e);
    }

    /// Resolves month `t`'s diplomacy (see the module doc). `rngs` has one stream per nation.
    pub fn resolve(
        &mut self,
        t: u32,
        p: &Params,
        alignment: &mut Alignment,
        rngs: &mut [Stream],
        events: &mut Vec<Event>,
    ) {
        let mut round = Round {
            t,
            p,
            alignment,
            rngs,
            events,
        };
        self.grow_investment(p, round.alignment);
        for i in 0..p.nations.len() {
            for k in 0..p.nations[i].projects.len() {
                self.resolve_project(&mut round, i, k);
            }
        }
        self.resolve_deals(&mut round);
        round.alignment.clamp();
    }
}

/// What a month's diplomacy works with: the month, its parameters, the alignments it moves,
/// the nations' streams and the event log.
pub(crate) struct Round<'a, 'p> {
    t: u32,
    p: &'p Params,
    alignment: &'a mut Alignment,
    rngs: &'a mut [Stream],
    events: &'a mut Vec<Event>,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixture::{self, CHN, MYS, USA};
    use crate::rng::{Purpose, stream};

    #[test]
    fn investment_grows_toward_the_aligned_investor_and_zero_stays_zero() {
        let mut p = fixture::params();
        p.nations[MYS].investment_stock_usd = vec![100.0, 50.0, 0.0].into();
        (p.nations[MYS].alignment, p.nations[USA].alignment) = (0.5, 1.0);
        p.nations[CHN].alignment = -1.0;
        (
            p.diplomacy.investment_growth_annual,
            p.diplomacy.investment_alignment_response,
        ) = (0.12, 0.24);
        let mut d = Diplomacy::new(&p);
        let mut a = Alignment::new(&p);
        let mut rngs: Vec<Stream> = (0..3).map(|i| stream(2, Purpose::Diplomacy, i)).collect();
        d.resolve(0, &p, &mut a, &mut rngs, &mut Vec::new());
        // Toward the US (+0.5): (0.12 + 0.24 × 0.5) / 12 = 2% a month; away from China: 0%.
        assert!((d.investment(MYS, USA) - 102.0).abs() < 1e-9);
        assert!((d.investment(MYS, CHN) - 50.0).abs() < 1e-9);
        assert_eq!(d.investment(MYS, MYS), 0.0);
        assert_eq!(d.investment(USA, CHN), 0.0);
        // Withdrawal scales a stock, and leaves one that was 0 at 0.
        d.keep_investment(MYS, CHN, 0.5);
        d.keep_investment(USA, CHN, 0.5);
        assert!((d.investment(MYS, CHN) - 25.0).abs() < 1e-9);
        assert!((d.investment(MYS, USA) - 102.0).abs() < 1e-9);
        assert_eq!(d.investment(USA, CHN), 0.0);
    }
}
