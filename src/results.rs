//! Results of a run held in memory, read by name.
//!
//! The model reports numbers in catalogue order (`Setup::summary_names`, `series_names`); an
//! embedding program wants them by name: a summary outcome by entity and metric (or by its
//! `summary.csv` column), a monthly series by entity, metric and month, events by kind. The
//! values are those the CSVs of a run with the same scenario and seed hold.

use crate::calendar::YearMonth;
use crate::experiment::Failure;
use crate::model::record::seq_in_month;
use crate::model::{EventKind, Outcome, Setup};
use crate::output::parts::party_name;
use crate::output::summary_column;
use crate::scenario::Scenario;
use crate::scenario::paths::nearest;

/// One replication that ran to the end.
#[derive(Clone, Debug, PartialEq)]
pub struct Replication {
    /// The sweep point (0 without a sweep).
    pub point: usize,
    /// The replication within the point.
    pub replication: u32,
    /// Its seed (as in `summary.csv`), to rerun it alone.
    pub seed: u64,
    /// What the model reported.
    pub outcome: Outcome,
}

/// One event of one replication, with names as `events.csv` writes them.
#[derive(Clone, Debug, PartialEq)]
pub struct ReplicationEvent {
    /// The sweep point.
    pub point: usize,
    /// The replication within the point.
    pub replication: u32,
    /// The month it happened.
    pub month: YearMonth,
    /// Its order within the month and replication (0 first; `seq` in `events.csv`).
    pub seq: u32,
    /// Who acted (a nation, firm or product id, or a timeline change's path).
    pub actor: String,
    /// Who it was done to (empty when nobody).
    pub target: String,
    /// What happened.
    pub kind: EventKind,
    /// How much (units depend on the kind; see `EventKind`).
    pub magnitude: f64,
}

/// A name that is not in the results.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    /// No summary outcome or series of that entity and metric.
    #[error("no {what} `{name}`; nearest: {nearest}")]
    UnknownName {
        /// "summary outcome" or "series".
        what: &'static str,
        /// The name asked for, as `ENTITY.metric` or a column name.
        name: String,
        /// The closest valid names.
        nearest: String,
    },
    /// A month that is not `YYYY-MM` or not within the run.
    #[error("{0}")]
    Month(String),
}

/// The names behind one point's numbers.
#[derive(Clone, Debug)]
struct Catalogue {
    setup: Setup,
    summary: Vec<(String, String)>,
    series: Vec<(String, String)>,
}

/// Every replication of a run, in (point, replication) order, and the failed ones.
#[derive(Clone, Debug)]
pub struct Results {
    points: Vec<Catalogue>,
    replications: Vec<Replication>,
    failures: Vec<Failure>,
}

impl Results {
    /// Results of `scenario` from its replications and failures (any order; sorted here).
    pub fn new(
        scenario: &Scenario,
        mut replications: Vec<Replication>,
        mut failures: Vec<Failure>,
    ) -> Results {
        replications.sort_by_key(|r| (r.point, r.replication));
        failures.sort_by_key(|f| (f.point, f.replication));
        let points = scenario
            .points
            .iter()
            .map(|p| Catalogue {
                setup: p.setup.clone(),
                summary: p.setup.summary_names(),
                series: p.setup.series_names(),
            })
            .collect();
        Results {
            points,
            replications,
            failures,
        }
    }

    /// The replications that ran to the end, in (point, replication) order.
    pub fn replications(&self) -> &[Replication] {
        &self.replications
    }

    /// The replications that failed (a model bug, reported with its seed).
    pub fn failures(&self) -> &[Failure] {
        &self.failures
    }

    /// The (entity, metric) names of the end-of-run outcomes (of point 0).
    pub fn summary_names(&self) -> &[(String, String)] {
        &self.points[0].summary
    }

    /// The (entity, metric) names of the monthly series (of point 0).
    pub fn series_names(&self) -> &[(String, String)] {
        &self.points[0].series
    }

    /// An end-of-run outcome, one value per replication (the `summary.csv` column
    /// `<entity>_<metric>`): `summary("MYS", "retract_count")`.
    pub fn summary(&self, entity: &str, metric: &str) -> Result<Vec<f64>, LookupError> {
        let wanted = (entity, metric);
        self.collect(
            "summary outcome",
            wanted,
            |c| &c.summary,
            |r, k| r.outcome.summary[k],
        )
    }

    /// An end-of-run outcome by name: `ENTITY.metric` (`MYS.retract_count`) or its
    /// `summary.csv` column (`MYS_retract_count`; the entity's case does not matter).
    pub fn summary_by_name(&self, name: &str) -> Result<Vec<f64>, LookupError> {
        if let Some((entity, metric)) = name.split_once('.') {
            return self.summary(entity, metric);
        }
        let found = self
            .summary_names()
            .iter()
            .find(|(e, m)| summary_column(e, m).eq_ignore_ascii_case(name));
        match found {
            Some((e, m)) => self.summary(e, m),
            None => Err(self.unknown("summary outcome", name, |c| &c.summary)),
        }
    }

    /// A monthly series at `month` (`YYYY-MM`), one value per replication (the rows of
    /// `timeseries.csv` for that entity, metric and month).
    pub fn series(&self, entity: &str, metric: &str, month: &str) -> Result<Vec<f64>, LookupError> {
        let at: YearMonth = month.parse().map_err(LookupError::Month)?;
        let setup = &self.points[0].setup;
        let m = at.months_since(setup.start);
        if !(0..setup.months as i64).contains(&m) {
            let last = setup.start.plus(setup.months - 1);
            let msg = format!("{at} is outside the run ({} to {last})", setup.start);
            return Err(LookupError::Month(msg));
        }
        self.collect(
            "series",
            (entity, metric),
            |c| &c.series,
            |r, k| {
                let width = self.points[r.point].series.len();
                r.outcome.series[m as usize * width + k]
            },
        )
    }

    /// Every event of every replication, in (point, replication, month) order; filter by
    /// `kind` for one kind.
    pub fn events(&self) -> impl Iterator<Item = ReplicationEvent> + '_ {
        self.replications.iter().flat_map(move |r| {
            let setup = &self.points[r.point].setup;
            let base = setup.base();
            let events = &r.outcome.events;
            events
                .iter()
                .zip(seq_in_month(events))
                .map(move |(e, seq)| ReplicationEvent {
                    point: r.point,
                    replication: r.replication,
                    month: setup.start.plus(e.month),
                    seq,
                    actor: party_name(setup, base, e.actor),
                    target: party_name(setup, base, e.target),
                    kind: e.kind,
                    magnitude: e.magnitude,
                })
        })
    }

    /// The share of replications (that ran to the end) with at least one event of `kind`;
    /// 0 when there are none.
    pub fn share_with_event(&self, kind: EventKind) -> f64 {
        if self.replications.is_empty() {
            return 0.0;
        }
        let with = self
            .replications
            .iter()
            .filter(|r| r.outcome.events.iter().any(|e| e.kind == kind))
            .count();
        with as f64 / self.replications.len() as f64
    }

    /// The value at `wanted`'s position in each replication's point catalogue.
    fn collect(
        &self,
        what: &'static str,
        wanted: (&str, &str),
        names: fn(&Catalogue) -> &Vec<(String, String)>,
        value: impl Fn(&Replication, usize) -> f64,
    ) -> Result<Vec<f64>, LookupError> {
        let index: Vec<Option<usize>> = self
            .points
            .iter()
            .map(|c| {
                names(c)
                    .iter()
                    .position(|(e, m)| (e.as_str(), m.as_str()) == wanted)
            })
            .collect();
        if index.iter().any(Option::is_none) {
            let name = format!("{}.{}", wanted.0, wanted.1);
            return Err(self.unknown(what, &name, names));
        }
        Ok(self
            .replications
            .iter()
            .map(|r| value(r, index[r.point].expect("checked above")))
            .collect())
    }

    fn unknown(
        &self,
        what: &'static str,
        name: &str,
        names: fn(&Catalogue) -> &Vec<(String, String)>,
    ) -> LookupError {
        let valid: Vec<String> = names(&self.points[0])
            .iter()
            .map(|(e, m)| format!("{e}.{m}"))
            .collect();
        let near = nearest(name, valid.iter().map(String::as_str), 3);
        LookupError::UnknownName {
            what,
            name: name.to_string(),
            nearest: near.join(", "),
        }
    }
}
