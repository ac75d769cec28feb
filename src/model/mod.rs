//! The simulation core: parameters, world state and the monthly step. Pure: no files, no
//! threads, no clocks. Randomness comes in through named, seeded streams (`crate::rng`).
//!
//! One module per mechanism of `docs/model.md` (each opens with its formulas, its place in the
//! month and its parameter paths):
//!
//! | module | mechanism |
//! |---|---|
//! | [`supply`] | M1 production: capacity growth, yield ramp and noise, vendor inventory |
//! | [`demand`] | M2 new demand, planned builds as standing orders, orders, backlog |
//! | [`export_rules`] | M3 rules in force, licensing, the annual cap / exempt-quota ledger |
//! | [`guidance`] | M4 foreign-chip guidance: expected sanction cost |
//! | [`vendor_choice`] | M5 utility, logit shares, expected fill rates |
//! | [`imports`] | M11 a nation's own import policy: stance per foreign product (allow, discourage, ban) |
//! | [`diplomacy`] | M6 [`diplomacy::pressure`], M8 [`diplomacy::deals`], M10 [`diplomacy::patron`], M7 event shifts |
//! | [`alignment`] | M7 alignment state and its monthly market drift |
//! | [`allocation`] | M1/M8/M10 priority allocation of inventory; shipping, transit, installed stock |
//! | [`smuggling`] | M9 transshipment: [`smuggling::intermediaries`] (agents), [`smuggling::hubs`] (world side) |
//! | [`ledger`] | the chip ledger check (principle 5) |
//! | [`world`] | the state of a replication and the order of the month; its report |
//! | [`record`] | events, metric names, observers |
//! | [`flows`] | the month's flows (demand, deliveries, denials, production, shipping) |
//! | [`index`] | dense tables indexed by (nation, product), (regulator, nation, class), … |
//! | [`params`] | every parameter, declared once: file format, range, unit, meaning, model type |
//! | [`schema`] | the `declare_params!` machinery: resolution, range checks, the parameter table |
//!
//! ```
//! # use chipdip::scenario::Scenario;
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let scenario = Scenario::load("scenarios/baseline.toml".as_ref(), &[])?;
//! let setup = &scenario.points[0].setup;
//! let outcome = chipdip::model::run_replication(setup, 12345)?;
//! assert_eq!(outcome.months, setup.months);
//! # Ok(()) }
//! ```

pub mod alignment;
pub mod allocation;
pub mod demand;
pub mod diplomacy;
pub mod export_rules;
pub mod flows;
pub mod guidance;
pub mod imports;
pub mod index;
pub mod ledger;
pub mod licence_queue;
pub mod params;
pub mod record;
pub mod schema;
pub mod smuggling;
pub mod supply;
pub mod vendor_choice;
pub mod world;

#[cfg(test)]
mod fixture;
#[cfg(test)]
mod params_tests;

use crate::calendar::YearMonth;
pub use params::Params;
pub use record::{Event, EventKind, Metric, Names, Observer, Party};
pub use world::{LedgerViolation, World};

/// Parameters in force from `month` (index from the start) until the next snapshot.
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    pub month: u32,
    pub params: Params,
}

/// One dated parameter change, kept for the event log.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    pub month: u32,
    /// The parameter path, e.g. `regulators.USA.guidance.huawei`.
    pub path: String,
    /// The entity the path belongs to (its second segment, e.g. USA).
    pub actor: Party,
    /// The new value if it is a number (or a scope or status coded as a number).
    pub value: Option<f64>,
}

/// Everything a replication needs: the calendar and the parameters over time.
///
/// Read-only outside the crate: each timeline snapshot holds its own copy of the parameters, so
/// editing one snapshot would be silently undone at the next change. To change a parameter for
/// the whole run, set it on the scenario ([`crate::Scenario::with_set`], or `--set`), which
/// rebuilds every snapshot.
#[derive(Clone, Debug, PartialEq)]
pub struct Setup {
    pub start: YearMonth,
    pub months: u32,
    /// Sorted by month; the first starts at month 0.
    pub(crate) snapshots: Vec<Snapshot>,
    pub(crate) changes: Vec<Change>,
}

impl Setup {
    /// The parameter snapshots, sorted by month; the first starts at month 0.
    pub fn snapshots(&self) -> &[Snapshot] {
        &self.snapshots
    }

    /// The dated changes of the timeline, in the order the event log numbers them.
    pub fn changes(&self) -> &[Change] {
        &self.changes
    }

    /// Parameters at month 0 (ids and entity lists, which the timeline cannot change).
    pub fn base(&self) -> &Params {
        &self.snapshots[0].params
    }

    /// The (entity, metric) names of the monthly series, in the order `World::observe` emits.
    pub fn series_names(&self) -> Vec<(String, String)> {
        let mut names = Names::default();
        World::new(self, 0).observe(&mut names);
        names.0
    }

    /// The (entity, metric) names of the end-of-run outcomes, in `World::summarise` order.
    pub fn summary_names(&self) -> Vec<(String, String)> {
        let mut names = Names::default();
        World::new(self, 0).summarise(&mut names);
        names.0
    }
}

/// The result of one replication, in memory: a few tens of kB for the replay, a few MB with
/// hundreds of nations.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outcome {
    pub months: u32,
    /// `months × series_names().len()` values, month-major.
    pub series: Vec<f64>,
    /// In `summary_names()` order.
    pub summary: Vec<f64>,
    pub events: Vec<Event>,
}

/// Largest magnitude a reported value may have, 2^62: the quantile sketch keeps exact sums of
/// up to 2^64 such values. A replication with a larger (or a non-finite) value is recorded as
/// failed rather than written.
pub const MAX_OUTPUT_MAGNITUDE: f64 = 4_611_686_018_427_387_904.0;

impl Outcome {
    /// The first value that cannot be reported (not finite, or beyond ±2^62), described for
    /// `failures.csv`; `None` when every value can.
    pub fn unreportable(&self, setup: &Setup) -> Option<String> {
        // Not finite or beyond the bound (an infinity is beyond it).
        let bad = |v: &f64| v.is_nan() || v.abs() > MAX_OUTPUT_MAGNITUDE;
        // Almost always every value can: a pass without an early exit vectorises, and only
        // when it finds one does the search for the first follow.
        let any_bad = |vs: &[f64]| vs.iter().fold(false, |b, v| b | bad(v));
        if any_bad(&self.series)
            && let Some(k) = self.series.iter().position(bad)
        {
            let names = setup.series_names();
            let (month, (entity, metric)) = (k / names.len(), &names[k % names.len()]);
            return Some(format!(
                "{entity}.{metric} in month {} is {}, beyond what can be reported (|x| <= 2^62)",
                setup.start.plus(month as u32),
                self.series[k]
            ));
        }
        let k = self.summary.iter().position(bad)?;
        let (entity, metric) = &setup.summary_names()[k];
        Some(format!(
            "{entity}.{metric} is {} at the end, beyond what can be reported (|x| <= 2^62)",
            self.summary[k]
        ))
    }
}

/// Runs one replication from month 0 to the end.
pub fn run_replication(setup: &Setup, rep_seed: u64) -> Result<Outcome, LedgerViolation> {
    Replicator::new(setup).run(rep_seed)
}

/// Runs replications of one setup one after another (a chunk of an experiment), keeping
/// between them what does not depend on the seed: the copies of the timeline snapshots'
/// parameters, whose uncertain values each replication draws again in place
/// ([`Params::realise_into`]) rather than cloning every snapshot and dropping it at the end.
/// With hundreds of nations that clone and drop were a tenth of a replication's work.
///
/// Each replication's outcome is the one [`run_replication`] gives for its seed, to the bit:
/// the world only reads its parameters, and the copy drawn again equals a fresh one (checked
/// in debug builds and unit tests). Holding the setup borrowed, a `Replicator` cannot outlive
/// it or see it change.
pub struct Replicator<'s> {
    setup: &'s Setup,
    /// The snapshots' parameters as the last replication drew them; empty before the first
    /// (or after a replication that panicked).
    params: Vec<Params>,
    /// What the snapshots decide alone (vendor choice's sanction shares, which export rules
    /// each changes), worked out at the first replication: `None` before it (or after a
    /// replication that panicked).
    prepared: Option<world::Prepared>,
    /// An outcome handed back once recorded ([`Replicator::recycle`]), whose memory the next
    /// replication writes its outcome into.
    spare: Option<Outcome>,
    /// The last replication's hubs, whose populations' memory the next one's reuse.
    hubs: Option<smuggling::hubs::Hubs>,
}

/// The memory a [`Replicator`] keeps that does not depend on its setup: an outcome's and the
/// hubs' populations'. A worker hands it from one chunk's replicator to the next (of any
/// sweep point), so that the populations' slots, grown with their entrants to several times
/// their starting count, and the outcome's series are not grown again in fresh memory at
/// each chunk: fresh memory costs the kernel's time to zero it, a 2 MB page at a time.
/// Memory of another setup's replications gives the same outcomes as none.
#[derive(Default)]
pub struct ReplicationMemory {
    outcome: Option<Outcome>,
    hubs: Option<smuggling::hubs::Hubs>,
}

impl<'s> Replicator<'s> {
    pub fn new(setup: &'s Setup) -> Replicator<'s> {
        Replicator::with_memory(setup, ReplicationMemory::default())
    }

    /// A replicator of `setup` whose replications write into `memory` (see
    /// [`ReplicationMemory`]).
    pub fn with_memory(setup: &'s Setup, memory: ReplicationMemory) -> Replicator<'s> {
        Replicator {
            setup,
            params: Vec::new(),
            prepared: None,
            spare: memory.outcome,
            hubs: memory.hubs,
        }
    }

    /// The memory the next replicator, of any setup, can use (see [`ReplicationMemory`]).
    pub fn into_memory(self) -> ReplicationMemory {
        ReplicationMemory {
            outcome: self.spare,
            hubs: self.hubs,
        }
    }

    /// Keeps `outcome`, once it has been recorded, so that the next replication writes into
    /// its memory instead of new memory. A replication's series are `months × series` values
    /// (1.1 MB with 200 extra nations), allocated and freed once per replication, and memory
    /// the allocator has handed back to the system comes back zeroed by the kernel: page by
    /// page, a replication's worth each time.
    pub fn recycle(&mut self, outcome: Outcome) {
        self.spare = Some(outcome);
    }

    /// Runs the replication with seed `rep_seed` from month 0 to the end.
    pub fn run(&mut self, rep_seed: u64) -> Result<Outcome, LedgerViolation> {
        let snapshots = &self.setup.snapshots;
        let mut params = std::mem::take(&mut self.params);
        if params.len() == snapshots.len() {
            for (p, s) in params.iter_mut().zip(snapshots) {
                s.params.realise_into(p, rep_seed);
            }
        } else {
            params = (snapshots.iter())
                .map(|s| s.params.realise(rep_seed))
                .collect();
        }
        if cfg!(any(test, debug_assertions)) {
            for (p, s) in params.iter().zip(snapshots) {
                assert_eq!(*p, s.params.realise(rep_seed), "realised again in place");
            }
        }
        let prepared = (self.prepared.take()).unwrap_or_else(|| world::Prepared::new(self.setup));
        let mut world =
            World::with_params(self.setup, rep_seed, params, prepared, self.hubs.take());
        let outcome = simulate(&mut world, self.setup.months, self.spare.take());
        (self.params, self.prepared, self.hubs) = {
            let (params, prepared, hubs) = world.into_parts();
            (params, Some(prepared), Some(hubs))
        };
        outcome
    }
}

/// Steps `world` from month 0 to `months`, recording its series, events and summary (into
/// `spare`'s memory, emptied, when given).
fn simulate(
    world: &mut World,
    months: u32,
    spare: Option<Outcome>,
) -> Result<Outcome, LedgerViolation> {
    let Outcome {
        mut series,
        mut summary,
        mut events,
        ..
    } = spare.unwrap_or_default();
    series.clear();
    summary.clear();
    events.clear();
    for t in 0..months {
        world.step(&mut events)?;
        world.observe(&mut series);
        if t == 0 {
            // Every month reports as many values as the first: one allocation for the run.
            series.reserve_exact(series.len() * (months as usize - 1));
        }
    }
    world.summarise(&mut summary);
    Ok(Outcome {
        months,
        series,
        summary,
        events,
    })
}

#[cfg(test)]
mod unreportable_tests {
    use super::*;

    #[test]
    fn the_first_unreportable_value_is_found_wherever_it_is() {
        let setup = fixture::setup(fixture::params(), 4);
        let outcome = run_replication(&setup, 3).unwrap();
        assert_eq!(outcome.unreportable(&setup), None);
        let n = outcome.series.len();
        for bad in [
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            -1e19,
            2.0 * MAX_OUTPUT_MAGNITUDE,
        ] {
            for k in [0, n / 2, n - 1] {
                let mut o = outcome.clone();
                o.series[k] = bad;
                if k + 1 < n {
                    // A later one is not the one reported.
                    o.series[k + 1] = if bad.is_nan() {
                        f64::INFINITY
                    } else {
                        f64::NAN
                    };
                }
                let said = o.unreportable(&setup).expect("reported");
                assert!(said.contains(&format!(" is {bad},")), "{said}");
            }
            let mut o = outcome.clone();
            o.summary[0] = bad;
            assert!(o.unreportable(&setup).unwrap().contains("at the end"));
        }
        let mut o = outcome.clone();
        o.series[0] = -MAX_OUTPUT_MAGNITUDE;
        o.series[n - 1] = MAX_OUTPUT_MAGNITUDE;
        assert_eq!(o.unreportable(&setup), None);
    }
}

#[cfg(test)]
mod replicator_tests {
    use super::fixture::{self, MYS};
    use super::*;

    #[test]
    fn a_replicator_gives_the_outcomes_of_fresh_replications_in_any_order() {
        // Two snapshots with uncertain values; the second changes some of them.
        let mut p = fixture::params();
        p.nations[MYS].demand_h100e_per_month = 2000.0;
        p.nations[MYS].demand_growth_annual = params::Uncertain::Uniform {
            min: 0.0,
            max: 2.0,
            key: 3,
        };
        let mut later = p.clone();
        later.nations[MYS].demand_growth_annual = params::Uncertain::Triangular {
            min: 0.5,
            mode: 1.0,
            max: 4.0,
            key: 4,
        };
        // The later snapshot changes MYS's export rule (its row of the rules in force, which
        // each step checks against working out every rule, cfg(test)) and adds guidance (the
        // sanction shares, which vendor choice checks against working them out).
        later.regulators[0].rules[MYS][0].approval_probability = 0.3;
        later.regulators[0].guidance[1] = params::GuidanceScope::ThirdCountries;
        later.nations[MYS].dependence[0] = 0.5;
        let mut setup = fixture::setup(p.clone(), 12);
        setup.snapshots.push(Snapshot {
            month: 6,
            params: later,
        });
        let other = fixture::setup(p, 12);
        let (mut a, mut b) = (Replicator::new(&setup), Replicator::new(&other));
        let mut outcomes = Vec::new();
        // Each run also checks its copy against a fresh draw (cfg(test)).
        for seed in [1, 2, 3, 1] {
            let x = a.run(seed).unwrap();
            assert_eq!(x, run_replication(&setup, seed).unwrap(), "seed {seed}");
            assert_eq!(b.run(seed).unwrap(), run_replication(&other, seed).unwrap());
            outcomes.push(x);
        }
        assert_eq!(outcomes[0], outcomes[3]);
        assert_ne!(outcomes[0], outcomes[1], "the draws matter");
    }

    #[test]
    fn a_recycled_outcome_holds_the_next_replication_in_its_memory() {
        let setup = fixture::setup(fixture::params(), 12);
        let mut r = Replicator::new(&setup);
        for seed in [5, 6, 5] {
            let first = r.run(seed).unwrap();
            let memory = first.series.as_ptr();
            r.recycle(first);
            let again = r.run(seed + 1).unwrap();
            assert_eq!(again.series.as_ptr(), memory, "seed {seed}");
            assert_eq!(
                again,
                run_replication(&setup, seed + 1).unwrap(),
                "seed {seed}"
            );
            r.recycle(again);
        }
    }
}
