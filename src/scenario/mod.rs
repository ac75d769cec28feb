//! Scenario files: TOML in, a validated [`Scenario`] out (README, Scenario files).
//!
//! The stages, each with one job:
//! 1. [`source`]: read the file and everything it `extends`, remember the line of every key;
//! 2. [`file`](mod@file): deserialise strictly into [`file::ScenarioFile`] (unknown keys, wrong types);
//!    the result, re-serialised with every default filled in, is the *resolved tree*;
//! 3. `--set PATH=VALUE` overrides edit the resolved tree (the path must exist);
//! 4. [`validate`]: check every value and resolve ids into [`crate::model::Params`], once for
//!    the start and once more after each month that has timeline changes.
//!
//! Every error names the file and line (or `--set`) and the parameter path.

mod borrowed;
pub mod design;
pub mod error;
pub mod file;
pub mod limits;
pub mod paths;
pub mod reference;
pub mod source;
pub mod sweep;
pub mod validate;

use std::collections::BTreeMap;
use std::path::Path;

use sha2::{Digest, Sha256};
use toml::{Table, Value};

use crate::calendar::YearMonth;
use crate::model::{Change, Party, Setup, Snapshot};
pub use error::ScenarioError;
use file::ScenarioFile;
use source::Source;

/// Run settings taken from `[simulation]` (after `--set`).
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub start: YearMonth,
    pub months: u32,
    pub replications: u32,
    pub seed: u64,
}

/// One point of the experiment: the scenario with some parameters set (no sweep: one point;
/// with a `[sweep]`, one per design point, see [`sweep`]).
#[derive(Clone, Debug)]
pub struct Point {
    pub index: usize,
    /// (path, value) of each swept parameter at this point (a categorical factor's value is
    /// the position of its level in the factor's `values`).
    pub values: Vec<(String, f64)>,
    /// Each swept parameter's value as the CSVs show it, in the order of `values`: an integer
    /// (`3`), a float (`0.5`), or a categorical level (`home_only`, `true`).
    pub labels: Vec<String>,
    pub setup: Setup,
}

/// A validated scenario, ready to run.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// The file named on the command line and the files it extends.
    pub files: Vec<String>,
    pub name: String,
    /// The fully resolved tree (defaults and `--set` applied): the manifest records it.
    pub resolved: Table,
    /// SHA-256 of the canonical JSON of `resolved`: identifies the scenario across shards.
    pub hash: String,
    pub settings: Settings,
    pub points: Vec<Point>,
}

impl Scenario {
    /// Loads, resolves and validates `path` with `--set` overrides applied in order.
    pub fn load(path: &Path, sets: &[String]) -> Result<Scenario, ScenarioError> {
        let (source, file) = resolve(path, sets)?;
        Scenario::build(source, file)
    }

    /// Rebuilds a scenario from a resolved tree (as a manifest records it).
    pub fn from_resolved(tree: Table, origin: &str) -> Result<Scenario, ScenarioError> {
        let source = Source {
            tree,
            origins: BTreeMap::new(),
            file: origin.to_string(),
            files: vec![origin.to_string()],
        };
        let file = deserialize(&source, &source.tree)?;
        Scenario::build(source, file)
    }

    fn build(source: Source, file: ScenarioFile) -> Result<Scenario, ScenarioError> {
        let settings = settings(&source, &file)?;
        let setup = build_setup(&source, &settings)?;
        let points = match &file.sweep {
            None => vec![Point {
                index: 0,
                values: Vec::new(),
                labels: Vec::new(),
                setup,
            }],
            Some(sweep) => sweep.points(&source, &settings)?,
        };
        // Intermediaries are allocated per replication on every worker: bound them per point.
        for point in &points {
            let start: u64 = point
                .setup
                .base()
                .hubs
                .iter()
                .flat_map(|h| h.populations.iter())
                .map(|(_, p)| p.count as u64)
                .sum();
            limits::INTERMEDIARIES
                .check(
                    start,
                    "intermediaries at the start (hubs.*.populations.*.count)",
                )
                .map_err(|m| source.error_at("hubs", m))?;
        }
        // The run's chunks are planned before the first replication: bound their number.
        limits::REPLICATIONS
            .check(
                points.len() as u64 * u64::from(settings.replications),
                "replications (points × simulation.replications)",
            )
            .map_err(|m| source.error_at("simulation.replications", m))?;
        let json = serde_json::to_string(&source.tree).expect("a TOML table serialises to JSON");
        let hash: String = Sha256::digest(json.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(Scenario {
            files: source.files.clone(),
            name: file.name.clone(),
            resolved: source.tree,
            hash,
            settings,
            points,
        })
    }

    /// Every parameter path with its resolved value and meaning (for `chipdip params`).
    pub fn parameter_table(&self) -> Vec<(String, String, &'static str)> {
        paths::flatten(&self.resolved)
            .into_iter()
            .map(|(p, v)| {
                let meaning = paths::meaning(&p).unwrap_or("");
                (p, display_value(&v), meaning)
            })
            .collect()
    }

    /// This scenario with parameter `path` set to `value` (TOML; bare words are strings),
    /// exactly as `--set PATH=VALUE` would: applied to the resolved tree and re-validated, so
    /// every timeline snapshot (and sweep point) sees it; errors are located at `--set`.
    pub fn with_set(&self, path: &str, value: &str) -> Result<Scenario, ScenarioError> {
        let mut source = Source {
            tree: self.resolved.clone(),
            origins: BTreeMap::new(),
            file: self.files.first().cloned().unwrap_or_default(),
            files: self.files.clone(),
        };
        source::apply_set(&mut source, &format!("{path}={value}"))?;
        let file = deserialize(&source, &source.tree)?;
        source.tree = to_tree(&file);
        Scenario::build(source, file)
    }
}

/// A value as `chipdip params` shows it (strings unquoted).
pub fn display_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Stages 1–3: the resolved source tree and its typed form.
fn resolve(path: &Path, sets: &[String]) -> Result<(Source, ScenarioFile), ScenarioError> {
    let mut source = Source::load(path)?;
    let file = deserialize(&source, &source.tree)?;
    source.tree = to_tree(&file);
    for s in sets {
        source::apply_set(&mut source, s)?;
    }
    let file = deserialize(&source, &source.tree)?;
    source.tree = to_tree(&file);
    Ok((source, file))
}

fn to_tree(file: &ScenarioFile) -> Table {
    match Value::try_from(file) {
        Ok(Value::Table(t)) => t,
        other => unreachable!("a scenario serialises to a table, got {other:?}"),
    }
}

/// Strict deserialisation with the failing path located in the source.
pub(crate) fn deserialize(source: &Source, tree: &Table) -> Result<ScenarioFile, ScenarioError> {
    // The tree read in place first: `toml`'s own deserializer takes it by value (a copy of
    // the whole tree per snapshot), and tracking the path costs a third more; only a tree
    // that fails here needs either (`toml`'s path then accepts it or gives the error).
    if let Ok(file) = borrowed::from_table::<ScenarioFile>(tree) {
        return Ok(file);
    }
    serde_path_to_error::deserialize(Value::Table(tree.clone())).map_err(|e| {
        let parent = e.path().to_string();
        let parent = if parent == "." { String::new() } else { parent };
        let message = e.inner().message().to_string();
        located_serde_error(source, &parent, &message)
    })
}

/// Turns a serde message into a located error; for unknown keys, names the nearest valid one.
fn located_serde_error(source: &Source, path: &str, message: &str) -> ScenarioError {
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (field, expected) = rest.split_once('`').unwrap_or((rest, ""));
        // serde's path for an unknown field already ends with the field itself.
        let full = if path.ends_with(field) {
            path.to_string()
        } else {
            paths::join(path, field)
        };
        let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
        let hint = match paths::nearest(field, candidates.iter().copied(), 1).first() {
            Some(best) => format!(
                "unknown key `{field}`; did you mean `{best}`? (valid: {})",
                candidates.join(", ")
            ),
            None => format!("unknown key `{field}`"),
        };
        return source.error_at(&full, hint);
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        let field = rest.split('`').next().unwrap_or(rest);
        let full = paths::join(path, field);
        let at = source.origin_of(path);
        return ScenarioError::at(at, Some(full), "required key is missing");
    }
    source.error_at(path, message.to_string())
}

fn settings(source: &Source, file: &ScenarioFile) -> Result<Settings, ScenarioError> {
    let s = &file.simulation;
    let start: YearMonth = s
        .start_month
        .parse()
        .map_err(|e: String| source.error_at("simulation.start_month", e))?;
    if !(1..=limits::MAX_MONTHS).contains(&s.months) {
        return Err(source.error_at(
            "simulation.months",
            format!("must be in 1..={}, got {}", limits::MAX_MONTHS, s.months),
        ));
    }
    if s.replications == 0 {
        return Err(source.error_at("simulation.replications", "must be at least 1"));
    }
    Ok(Settings {
        start,
        months: s.months,
        replications: s.replications,
        seed: s.seed,
    })
}

/// Stage 4 for one tree: the month-0 parameters and one snapshot per month with changes.
pub(crate) fn build_setup(source: &Source, settings: &Settings) -> Result<Setup, ScenarioError> {
    let file = deserialize(source, &source.tree)?;
    let base = validate::params(&file, settings, source)?;
    // Enabled timeline entries grouped by month index.
    let mut by_month: BTreeMap<u32, Vec<(&String, &file::TimelineEntryFile)>> = BTreeMap::new();
    for (id, entry) in file.timeline.iter().filter(|(_, e)| e.enabled) {
        let path = format!("timeline.{id}.month");
        let month: YearMonth = entry
            .month
            .parse()
            .map_err(|e: String| source.error_at(&path, e))?;
        let idx = month.months_since(settings.start);
        if idx < 0 {
            return Err(source.error_at(
                &path,
                format!("{month} is before the start {}", settings.start),
            ));
        }
        if idx < settings.months as i64 {
            by_month.entry(idx as u32).or_default().push((id, entry));
        }
    }
    let mut snapshots = vec![Snapshot {
        month: 0,
        params: base,
    }];
    let mut changes = Vec::new();
    let mut tree = source.tree.clone();
    let mut set_by: BTreeMap<String, String> = BTreeMap::new();
    for (month, entries) in by_month {
        let mut this_month: BTreeMap<&str, &str> = BTreeMap::new();
        for (id, entry) in entries {
            for (path, value) in &entry.set {
                let at = paths::join(&format!("timeline.{id}.set"), path);
                if month > 0
                    && let Some(why) = reference::dated_change_refused(path)
                {
                    return Err(source.error_at(&at, why));
                }
                if let Some(other) = this_month.insert(path, id) {
                    return Err(source.error_at(
                        &at,
                        format!(
                            "also set in the same month by timeline.{other}; merge the two changes"
                        ),
                    ));
                }
                source::set_path(&mut tree, path, value.clone())
                    .map_err(|m| source.error_at(&at, m))?;
                set_by.insert(path.clone(), at);
                changes.push(Change {
                    month,
                    path: path.clone(),
                    actor: actor_of(&snapshots[0].params, path),
                    value: numeric(value),
                });
            }
        }
        let snapshot =
            |located: &Source| validate::params(&deserialize(located, &tree)?, settings, located);
        // Errors in a snapshot point at the timeline entry that set the bad value: the
        // origins that say so are worked out only for a snapshot that fails (building them
        // copies the whole source, a fifth of the cost of a sweep point's snapshots).
        let params = match snapshot(source) {
            Ok(params) => params,
            Err(_) => {
                let mut located = source.clone();
                for (path, at) in &set_by {
                    located
                        .origins
                        .insert(path.clone(), origin_from(&source.origin_of(at)));
                }
                snapshot(&located)?
            }
        };
        if month == 0 {
            snapshots[0].params = params;
        } else {
            snapshots.push(Snapshot { month, params });
        }
    }
    Ok(Setup {
        start: settings.start,
        months: settings.months,
        snapshots,
        changes,
    })
}

fn origin_from(shown: &str) -> source::Origin {
    match shown.rsplit_once(':') {
        Some((path, line)) if line.parse::<usize>().is_ok() => source::Origin::File {
            path: path.to_string(),
            line: line.parse().unwrap_or(0),
        },
        _ => source::Origin::CommandLine,
    }
}

/// The entity a path belongs to (`regulators.USA....` → USA).
fn actor_of(p: &crate::model::Params, path: &str) -> Party {
    let segs = paths::split(path).unwrap_or_default();
    let (Some(kind), Some(id)) = (segs.first(), segs.get(1)) else {
        return Party::None;
    };
    let found = match kind.as_str() {
        "nations" | "regulators" => p
            .nations
            .iter()
            .position(|n| &n.id == id)
            .map(Party::Nation),
        "firms" => p.firms.iter().position(|f| &f.id == id).map(Party::Firm),
        "products" => p
            .products
            .iter()
            .position(|x| &x.id == id)
            .map(Party::Product),
        _ => None,
    };
    found.unwrap_or(Party::None)
}

/// A change's value as a number for the event log: numbers as they are, booleans 0/1, export
/// statuses 0 allowed / 1 licence / 2 prohibited, guidance scopes 0 none / 1 home_only / 2 global.
fn numeric(v: &Value) -> Option<f64> {
    match v {
        Value::Integer(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        Value::Boolean(b) => Some(f64::from(u8::from(*b))),
        Value::String(s) => match s.as_str() {
            "allowed" | "none" => Some(0.0),
            "licence" | "home_only" => Some(1.0),
            "prohibited" | "global" => Some(2.0),
            _ => None,
        },
        _ => None,
    }
}
