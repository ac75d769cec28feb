//! What the model reports: monthly series, end-of-run outcomes and events.
//!
//! The world never formats or writes anything. It hands values to an [`Observer`] in a fixed
//! order together with their names, so the same code feeds CSV writers, quantile sketches,
//! in-memory test collectors and benchmarks, and the column catalogue can never drift from the
//! values (it is built by running the same code with a name-collecting observer).

/// The name of a metric: a plain name or a family with one member per firm
/// (`installed_h100e_nvidia`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric<'a> {
    Plain(&'static str),
    /// `prefix` followed by `_` and a suffix (a firm or product id).
    Per(&'static str, &'a str),
}

impl Metric<'_> {
    pub fn name(&self) -> String {
        match self {
            Metric::Plain(n) => (*n).to_string(),
            Metric::Per(prefix, suffix) => format!("{prefix}_{suffix}"),
        }
    }
}

/// Receives one value per (entity, metric), always in the same order for a given scenario.
pub trait Observer {
    fn value(&mut self, entity: &str, metric: Metric<'_>, value: f64);
}

/// Collects values only (the names are fixed by the catalogue).
impl Observer for Vec<f64> {
    fn value(&mut self, _: &str, _: Metric<'_>, value: f64) {
        self.push(value);
    }
}

/// Collects (entity, metric) names: builds a catalogue.
#[derive(Default, Debug, Clone, PartialEq)]
pub struct Names(pub Vec<(String, String)>);

impl Observer for Names {
    fn value(&mut self, entity: &str, metric: Metric<'_>, _: f64) {
        self.0.push((entity.to_string(), metric.name()));
    }
}

/// Who did something or had it done to them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Party {
    Nation(usize),
    Firm(usize),
    Product(usize),
    /// The `k`-th change of the scenario's timeline (its target is the parameter path).
    TimelineChange(usize),
    None,
}

/// Declares [`EventKind`], its list [`EventKind::ALL`] (the order of the data dictionary and
/// of `--events`) and [`EventKind::name`] from one table, so a new kind cannot be missed by
/// either.
macro_rules! event_kinds {
    ($($(#[$doc:meta])* $kind:ident => $name:literal,)*) => {
        /// What happened. The snake_case name is the `kind` column of `events.csv`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum EventKind {
            $($(#[$doc])* $kind,)*
        }

        impl EventKind {
            /// Every kind, in declaration order.
            pub const ALL: &'static [EventKind] = &[$(EventKind::$kind,)*];

            pub fn name(self) -> &'static str {
                match self {
                    $(EventKind::$kind => $name,)*
                }
            }
        }
    };
}

event_kinds! {
    /// A dated parameter change from the scenario's timeline took effect.
    Timeline => "timeline",
    /// A regulator changed the scope of its guidance against a firm (magnitude 0 none,
    /// 1 home only, 2 global).
    Guidance => "guidance",
    /// A nation changed its stance toward buying a foreign product (M11; actor the nation,
    /// target the product; magnitude 0 allow, 1 discourage, 2 ban).
    ImportStance => "import_stance",
    /// A regulator refused licensed exports to a nation this month (magnitude H100e).
    LicenceDeny => "licence_deny",
    /// A nation's licensed imports hit the annual cap this month (magnitude H100e refused).
    CapReached => "cap_reached",
    /// A nation announced a planned build (magnitude units); target: the stack's home.
    Announce => "announce",
    /// A power pressed a nation over an announced build (magnitude intensity).
    Pressure => "pressure",
    /// The stack's patron countered pressure (magnitude offer value).
    CounterOffer => "counter_offer",
    /// The nation withdrew its announced build (magnitude units).
    Retract => "retract",
    /// The nation went ahead despite pressure (magnitude units).
    Hold => "hold",
    /// The patron punished a retraction (magnitude share of demand lost).
    Retaliate => "retaliate",
    /// A regulator offered an allocation for a security agreement (magnitude units/year).
    DealOffer => "deal_offer",
    DealAccept => "deal_accept",
    DealReject => "deal_reject",
    /// A regulator's licence queue approved an application (magnitude units licensed).
    LicenceGrant => "licence_grant",
    /// A detected breach of a security agreement.
    Breach => "breach",
    /// The regulator revoked the agreement (magnitude units/year).
    Revoke => "revoke",
    /// A hub's intermediaries diverted chips this month (magnitude units; actor the hub).
    Divert => "divert",
    /// An investigation closed with a seizure of an intermediary's imports (magnitude units;
    /// actor the enforcer, target the hub); follows its `investigation_close`.
    Seizure => "seizure",
    /// An enforcer opened an investigation against an intermediary in a hub (magnitude the
    /// case id; actor the enforcer, target the hub).
    InvestigationOpen => "investigation_open",
    /// An investigation closed (magnitude the case id); a `seizure`, `fine` or `licence_cut`
    /// row right after it gives its outcome, none: closed with nothing.
    InvestigationClose => "investigation_close",
    /// A closed investigation's penalty (magnitude USD).
    Fine => "fine",
    /// A closed investigation made the regulator cut the hub's licences (magnitude share
    /// cut).
    LicenceCut => "licence_cut",
}

/// One row of `events.csv` (point and replication are added by the runner).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Event {
    pub month: u32,
    pub actor: Party,
    pub target: Party,
    pub kind: EventKind,
    pub magnitude: f64,
}

/// The order of each event within its month (`seq` in `events.csv`: 0, 1, … in the order the
/// month's mechanisms produced them), for a replication's events in month order.
pub fn seq_in_month(events: &[Event]) -> impl Iterator<Item = u32> + '_ {
    let mut last = (u32::MAX, 0u32);
    events.iter().map(move |e| {
        last = if e.month == last.0 {
            (e.month, last.1 + 1)
        } else {
            (e.month, 0)
        };
        last.1
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seq_counts_within_each_month() {
        let e = |month| Event {
            month,
            actor: Party::None,
            target: Party::None,
            kind: EventKind::Announce,
            magnitude: 0.0,
        };
        let events = [e(0), e(0), e(2), e(2), e(2), e(3)];
        let seq: Vec<u32> = seq_in_month(&events).collect();
        assert_eq!(seq, vec![0, 1, 0, 1, 2, 0]);
    }
}
