//! The `[sweep]` section of a scenario file (README, Sweeps): factors (parameter paths with value
//! lists or ranges) and a design, turned into the points of an experiment.
//!
//! ```toml
//! [sweep]
//! design = "latin_hypercube"        # grid | random | latin_hypercube | sobol | saltelli | morris
//! points = 12                       # random, latin_hypercube, sobol only
//! # saltelli: base_samples = N [, second_order = true]; morris: trajectories = r [, levels = p]
//! seed = 2025                       # default: simulation.seed
//! [sweep.factors."regulators.USA.pressure.intensity"]
//! min = 0.1
//! max = 1.5
//! [sweep.factors."regulators.USA.tiers.tier2.frontier.delay_months"]
//! values = [0, 2, 6]
//! ```
//!
//! Each point is the resolved scenario with every factor's path set to the point's value
//! (integer parameters get integers), validated like the base scenario: a bad point is an error
//! before anything runs, located at the factor and naming the point's values. The design's
//! values come from [`super::design`]. A swept value is the point's value from the start; a
//! timeline entry that sets the same path still replaces it from its month on (to sweep the
//! dated change itself, sweep `timeline.ID.set."PATH"`).
//!
//! A parameter that holds text or a boolean (a guidance scope, a tier, a timeline entry's
//! `enabled`, a cost type) is swept through `values` of its own type:
//!
//! ```toml
//! [sweep.factors."regulators.USA.guidance.huawei"]
//! values = ["none", "home_only", "global"]
//! ```
//!
//! Such a *categorical* factor works in every design: the design chooses a position in the
//! list (a grid takes every level; sampled designs take position `floor(u * len)`), the point's
//! numeric value ([`Point::values`]) is that position, and its label ([`Point::labels`], the
//! CSV columns) is the level itself.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use toml::Value;

use super::design::{Design, FactorValues, Sensitivity, design_points};
use super::source::{self, Source};
use super::{Point, ScenarioError, Settings, build_setup, limits, origin_from, paths};

/// `[sweep]`: which parameters vary, and how points are chosen.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SweepFile {
    /// `grid`, `random`, `latin_hypercube`, `sobol`, `saltelli` or `morris`.
    pub design: String,
    /// Number of points (sampled designs only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points: Option<usize>,
    /// Seed of the design (default: `simulation.seed`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "super::file::seed_text::option"
    )]
    pub seed: Option<u64>,
    /// `saltelli`: base samples `N` (`N·(k+2)` points).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_samples: Option<usize>,
    /// `saltelli`: also the `BA` rows for second-order indices (`N·(2k+2)` points).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub second_order: Option<bool>,
    /// `morris`: number of trajectories `r` (`r·(k+1)` points).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trajectories: Option<usize>,
    /// `morris`: grid levels `p` per factor (even; default 4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub levels: Option<usize>,
    /// Parameter path → its values or range.
    pub factors: BTreeMap<String, FactorFile>,
}

/// One swept parameter: `values = [...]`, or `min`/`max` with optional `log`, `integer`,
/// `levels` (grid).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FactorFile {
    /// Numbers for a numeric parameter; strings or booleans for a categorical one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    #[serde(default)]
    pub log: bool,
    #[serde(default)]
    pub integer: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub levels: Option<usize>,
}

impl FactorFile {
    /// The factor as the design sees it, checked on its own (`values` or `min`/`max`, finite,
    /// `min < max`, ...); errors are messages for the caller to locate.
    pub fn to_values(&self, design: Design) -> Result<FactorValues, String> {
        let values = match (&self.values, self.min, self.max) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
                return Err("give either `values` or `min` and `max`, not both".into());
            }
            (Some(values), None, None) => {
                if self.log || self.integer || self.levels.is_some() {
                    return Err(
                        "`log`, `integer` and `levels` apply to ranges (`min`, `max`), not to \
                         `values`"
                            .into(),
                    );
                }
                let numbers = values
                    .iter()
                    .map(|v| match v {
                        Value::Float(x) => Ok(*x),
                        Value::Integer(i) => Ok(*i as f64),
                        other => Err(format!(
                            "`values` mixes numbers with a {} ({other}); a numeric parameter \
                             takes numbers",
                            other.type_str()
                        )),
                    })
                    .collect::<Result<Vec<f64>, String>>()?;
                FactorValues::List(numbers)
            }
            (None, Some(min), Some(max)) => FactorValues::Range {
                min,
                max,
                log: self.log,
                integer: self.integer,
                levels: self.levels,
            },
            (None, _, _) => {
                return Err("needs `values = [...]`, or both `min` and `max`".into());
            }
        };
        if self.levels.is_some() && design != Design::Grid {
            return Err(format!(
                "`levels` is used only by design = \"grid\", not by {design}; remove it"
            ));
        }
        values.validate()?;
        Ok(values)
    }
}

/// A swept parameter: its path, where its factor was written, and what it holds.
struct Target<'a> {
    path: &'a str,
    /// `sweep.factors."<path>"`: where errors about this factor point.
    at: String,
    integer: bool,
    /// The levels of a categorical factor (text or booleans), by position; empty for numbers.
    levels: Vec<Value>,
}

/// What a swept path holds: a number (integer or not), or a categorical type.
#[derive(Clone, Copy, PartialEq)]
enum Holds {
    Integer,
    Float,
    Text,
    Boolean,
}

/// The label of a categorical level in the CSVs: the text itself, or `true`/`false`.
fn level_label(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl SweepFile {
    /// The design's seed: `sweep.seed`, else the master seed.
    pub fn design_seed(&self, master_seed: u64) -> u64 {
        self.seed.unwrap_or(master_seed)
    }

    /// The size settings of a sensitivity design (`None` for the other designs), checked
    /// against the settings the design does not use. Errors: (key to locate, message).
    pub fn sensitivity(&self, design: Design) -> Result<Option<Sensitivity>, (String, String)> {
        let unused = |key: &str, present: bool| -> Result<(), (String, String)> {
            if present {
                Err((
                    format!("sweep.{key}"),
                    format!("`{key}` is not used by design = \"{design}\"; remove it"),
                ))
            } else {
                Ok(())
            }
        };
        let needs = |key: &str, what: &str| {
            (
                "sweep".to_string(),
                format!("design = \"{design}\" needs `{key} = N` ({what})"),
            )
        };
        let sensitivity = match design {
            Design::Saltelli => {
                unused("points", self.points.is_some())?;
                unused("trajectories", self.trajectories.is_some())?;
                unused("levels", self.levels.is_some())?;
                Sensitivity::Saltelli {
                    base_samples: self
                        .base_samples
                        .ok_or_else(|| needs("base_samples", "N·(k+2) points"))?,
                    second_order: self.second_order.unwrap_or(false),
                }
            }
            Design::Morris => {
                unused("points", self.points.is_some())?;
                unused("base_samples", self.base_samples.is_some())?;
                unused("second_order", self.second_order.is_some())?;
                Sensitivity::Morris {
                    trajectories: self
                        .trajectories
                        .ok_or_else(|| needs("trajectories", "r·(k+1) points"))?,
                    levels: self.levels.unwrap_or(4),
                }
            }
            _ => {
                unused("base_samples", self.base_samples.is_some())?;
                unused("second_order", self.second_order.is_some())?;
                unused("trajectories", self.trajectories.is_some())?;
                unused("levels", self.levels.is_some())?;
                return Ok(None);
            }
        };
        Ok(Some(sensitivity))
    }

    /// Every point of the sweep over `source`'s resolved tree: the design's values set at the
    /// factors' paths and each point validated like the base scenario, all before anything
    /// runs. Factors are in path order; point ids follow the design's order. The points are
    /// built in parallel on the current rayon pool (the caller's, else rayon's global one);
    /// what comes back does not depend on the pool.
    pub(crate) fn points(
        &self,
        source: &Source,
        settings: &Settings,
    ) -> Result<Vec<Point>, ScenarioError> {
        let design: Design = self
            .design
            .parse()
            .map_err(|e: String| source.error_at("sweep.design", e))?;
        if self.factors.is_empty() {
            return Err(source.error_at(
                "sweep.factors",
                "a sweep needs at least one factor: [sweep.factors.\"PATH\"] with `values` or \
                 `min`/`max`",
            ));
        }
        let sensitivity = self
            .sensitivity(design)
            .map_err(|(at, m)| source.error_at(&at, m))?;
        let (targets, factors) = self.factors(source, design)?;
        let rows = if let Some(sensitivity) = sensitivity {
            for (t, f) in targets.iter().zip(&factors) {
                sensitivity_factor(f).map_err(|m| source.error_at(&t.at, m))?;
                if !t.levels.is_empty() {
                    return Err(source.error_at(
                        &t.at,
                        format!(
                            "`{}` is categorical (text or booleans); Sobol' and Morris indices \
                             need a numeric factor: sweep it with a grid or a sampled design, \
                             or run one sensitivity sweep per level",
                            t.path
                        ),
                    ));
                }
            }
            if let Some(n) = sensitivity.point_count(factors.len()) {
                limits::POINTS
                    .check(n as u64, "points")
                    .map_err(|m| source.error_at("sweep", m))?;
            }
            sensitivity
                .points(&factors, self.design_seed(settings.seed))
                .map_err(|m| source.error_at("sweep", m))?
        } else {
            self.sampled_or_grid(design, &factors, source, settings)?
        };
        // Errors about a swept parameter point at its factor.
        let mut located = source.clone();
        for t in &targets {
            located
                .origins
                .insert(t.path.to_string(), origin_from(&source.origin_of(&t.at)));
        }
        // Points are independent and each costs a few milliseconds (a tree copied, set and
        // deserialised once per dated change), seconds for a sensitivity design of hundreds:
        // they are built on the current rayon pool. The error is the first failing point in
        // point order, as a sequential build reports it: every point before the lowest one
        // known to fail is built, those after it are skipped.
        let first_bad = AtomicUsize::new(usize::MAX);
        let built: Vec<Option<Result<Point, ScenarioError>>> = rows
            .into_par_iter()
            .enumerate()
            .map_init(
                || located.clone(),
                |located, (index, row)| {
                    if index > first_bad.load(Ordering::Relaxed) {
                        return None;
                    }
                    let point = point_at(index, row, &targets, source, located, settings);
                    if point.is_err() {
                        first_bad.fetch_min(index, Ordering::Relaxed);
                    }
                    Some(point)
                },
            )
            .collect();
        built.into_iter().flatten().collect()
    }

    /// The rows of a grid or sampled design (`points`, `seed`).
    fn sampled_or_grid(
        &self,
        design: Design,
        factors: &[FactorValues],
        source: &Source,
        settings: &Settings,
    ) -> Result<Vec<Vec<f64>>, ScenarioError> {
        // Every point is validated (tens of kB, milliseconds) before anything runs: refuse a
        // sampled design's size before drawing it, a grid's once its levels are known.
        let too_many = |n: usize| {
            limits::POINTS
                .check(n as u64, "points")
                .map_err(|m| source.error_at("sweep.points", m))
        };
        if let Some(n) = self.points {
            too_many(n)?;
        }
        let rows = design_points(
            design,
            factors,
            self.points,
            self.design_seed(settings.seed),
        )
        .map_err(|m| {
            let at = if self.points.is_none() && design != Design::Grid {
                "sweep"
            } else if design == Design::Grid {
                "sweep.factors"
            } else {
                "sweep.points"
            };
            source.error_at(at, m)
        })?;
        if let (Design::Grid, Some(n)) = (design, self.points)
            && n != rows.len()
        {
            return Err(source.error_at(
                "sweep.points",
                format!(
                    "the grid has {} points (the product of the factors' levels), not {n}; \
                     remove `points` or change the levels",
                    rows.len()
                ),
            ));
        }
        if design == Design::Grid {
            too_many(rows.len()).map_err(|e| source.error_at("sweep.factors", e.message))?;
        }
        Ok(rows)
    }

    /// Each factor's target and values under `design`, in path order.
    fn factors<'a>(
        &'a self,
        source: &Source,
        design: Design,
    ) -> Result<(Vec<Target<'a>>, Vec<FactorValues>), ScenarioError> {
        let mut targets = Vec::with_capacity(self.factors.len());
        let mut factors = Vec::with_capacity(self.factors.len());
        for (path, factor) in &self.factors {
            let (mut target, holds) = target(source, path)?;
            let values = if matches!(holds, Holds::Text | Holds::Boolean) {
                target.levels = categorical_levels(factor, holds, design).map_err(|(key, m)| {
                    let at = if key.is_empty() {
                        target.at.clone()
                    } else {
                        paths::join(&target.at, key)
                    };
                    source.error_at(&at, m)
                })?;
                FactorValues::List((0..target.levels.len()).map(|i| i as f64).collect())
            } else {
                if let Some(v) = factor.values.iter().flatten().find(|v| !is_number(v)) {
                    return Err(source.error_at(
                        &paths::join(&target.at, "values"),
                        format!(
                            "`{path}` holds a number, but `values` holds a {} ({v}); a numeric \
                             parameter takes numbers",
                            v.type_str()
                        ),
                    ));
                }
                factor
                    .to_values(design)
                    .map_err(|m| source.error_at(&target.at, m))?
            };
            if target.integer && !produces_integers(&values) {
                return Err(source.error_at(
                    &target.at,
                    format!(
                        "`{path}` holds an integer; give integer `values`, or `integer = true` \
                         for a range"
                    ),
                ));
            }
            targets.push(target);
            factors.push(values);
        }
        Ok((targets, factors))
    }
}

/// Sweep point `index`: the design's `row` set at the targets' paths of the base tree, then
/// validated like the base scenario (errors name the point and its values).
fn point_at(
    index: usize,
    row: Vec<f64>,
    targets: &[Target],
    source: &Source,
    located: &mut Source,
    settings: &Settings,
) -> Result<Point, ScenarioError> {
    let mut values = Vec::with_capacity(row.len());
    let mut labels = Vec::with_capacity(row.len());
    located.tree = source.tree.clone();
    for (t, v) in targets.iter().zip(row) {
        let (value, shown, label) = if !t.levels.is_empty() {
            let level = t.levels[v as usize].clone();
            let label = level_label(&level);
            (level, v, label)
        } else if t.integer {
            let i = v.round() as i64;
            (Value::Integer(i), i as f64, i.to_string())
        } else {
            (Value::Float(v), v, crate::output::format_number(v))
        };
        source::set_path(&mut located.tree, t.path, value)
            .map_err(|m| source.error_at(&t.at, m))?;
        values.push((t.path.to_string(), shown));
        labels.push(label);
    }
    let setup = build_setup(located, settings).map_err(|mut e| {
        let at: Vec<String> = values
            .iter()
            .zip(&labels)
            .map(|((p, _), l)| format!("{p} = {l}"))
            .collect();
        e.message = format!("{} (at sweep point {index}: {})", e.message, at.join(", "));
        e
    })?;
    Ok(Point {
        index,
        values,
        labels,
        setup,
    })
}

/// The levels of a categorical factor: `values` of the parameter's type (text or booleans),
/// distinct, and nothing else. Errors carry the key they are about (`values`, `min`, ...).
fn categorical_levels(
    f: &FactorFile,
    holds: Holds,
    design: Design,
) -> Result<Vec<Value>, (&'static str, String)> {
    let kind = if holds == Holds::Text {
        "text"
    } else {
        "a boolean"
    };
    for (key, given) in [
        ("min", f.min.is_some()),
        ("max", f.max.is_some()),
        ("log", f.log),
        ("integer", f.integer),
        ("levels", f.levels.is_some()),
    ] {
        if given {
            return Err((
                key,
                format!("the parameter holds {kind}: sweep it with `values = [...]`, not `{key}`"),
            ));
        }
    }
    let Some(values) = &f.values else {
        return Err((
            "",
            format!("the parameter holds {kind}: give `values = [...]`"),
        ));
    };
    if values.is_empty() {
        return Err(("values", "value list is empty".into()));
    }
    for (i, v) in values.iter().enumerate() {
        let fits = match holds {
            Holds::Text => v.is_str(),
            _ => v.is_bool(),
        };
        if !fits {
            return Err((
                "values",
                format!(
                    "the parameter holds {kind}; value {} of the list is {v}",
                    i + 1
                ),
            ));
        }
        if values[..i].contains(v) {
            return Err(("values", format!("{v} is listed twice")));
        }
    }
    let _ = design; // every design takes a list of levels
    Ok(values.clone())
}

/// Checks that `path` names a parameter of the resolved tree that a sweep may set: a number,
/// text or a boolean (not a table or a list).
fn target<'a>(source: &Source, path: &'a str) -> Result<(Target<'a>, Holds), ScenarioError> {
    let at = paths::join("sweep.factors", path);
    let segments = paths::split(path).map_err(|m| source.error_at(&at, m))?;
    if let Some(first @ ("simulation" | "sweep" | "name" | "description")) =
        segments.first().map(String::as_str)
    {
        return Err(source.error_at(
            &at,
            format!("`{first}` settings cannot be swept; sweep model parameters"),
        ));
    }
    // set_path on a scratch copy: an unknown path gets the nearest valid ones.
    if paths::get(&source.tree, path).is_none() {
        let mut scratch = source.tree.clone();
        let message = source::set_path(&mut scratch, path, Value::Float(0.0))
            .expect_err("the path does not exist");
        return Err(source.error_at(&at, message));
    }
    let holds = match paths::get(&source.tree, path) {
        Some(Value::Integer(_)) => Holds::Integer,
        Some(Value::Float(_)) => Holds::Float,
        Some(Value::String(_)) => Holds::Text,
        Some(Value::Boolean(_)) => Holds::Boolean,
        Some(other) => {
            return Err(source.error_at(
                &at,
                format!(
                    "`{path}` holds a {}; a sweep sets numbers, text or booleans{}",
                    other.type_str(),
                    if other.is_table() {
                        " (a range is swept through its `.min`, `.mode` or `.max`)"
                    } else {
                        ""
                    }
                ),
            ));
        }
        None => unreachable!("checked above"),
    };
    let target = Target {
        path,
        at,
        integer: holds == Holds::Integer,
        levels: Vec::new(),
    };
    Ok((target, holds))
}

fn is_number(v: &Value) -> bool {
    matches!(v, Value::Integer(_) | Value::Float(_))
}

/// Whether a factor can take part in a sensitivity design: numbers on an ordered scale
/// (a range, or a list of numbers read as ordered levels). Other kinds of factor (categorical
/// values) have no unit-cube step and are refused here.
fn sensitivity_factor(values: &FactorValues) -> Result<(), String> {
    match values {
        FactorValues::List(_) | FactorValues::Range { .. } => Ok(()),
    }
}

fn produces_integers(values: &FactorValues) -> bool {
    match values {
        FactorValues::List(v) => v.iter().all(|x| x.fract() == 0.0),
        FactorValues::Range { integer, .. } => *integer,
    }
}
