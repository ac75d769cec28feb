//! The `[sweep]` section of a scenario file (MODEL.md §4): factors (parameter paths with value
//! lists or ranges) and a design.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `[sweep]`: which parameters vary, and how points are chosen.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SweepFile {
    /// `grid`, `random`, `latin_hypercube` or `sobol`.
    pub design: String,
    /// Number of points (sampled designs only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points: Option<usize>,
    /// Seed of the design (default: `simulation.seed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Parameter path → its values or range.
    pub factors: BTreeMap<String, FactorFile>,
}

/// One swept parameter: `values = [...]`, or `min`/`max` with optional `log`, `integer`,
/// `levels` (grid).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FactorFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<f64>>,
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
