//! The scenario file format: exactly what the TOML says, strictly (unknown keys are errors).
//!
//! Ids stay strings here; `validate` resolves them and checks every value. Defaults are filled
//! in by serde, and the resolved tree (defaults included) is what `chipdip params` lists and the
//! manifest records.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use toml::Value;

/// A whole scenario file.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub simulation: SimulationFile,
    pub market: MarketFile,
    pub alignment: AlignmentFile,
    #[serde(default)]
    pub diplomacy: DiplomacyFile,
    pub products: BTreeMap<String, ProductFile>,
    pub firms: BTreeMap<String, FirmFile>,
    pub nations: BTreeMap<String, NationFile>,
    #[serde(default)]
    pub regulators: BTreeMap<String, RegulatorFile>,
    #[serde(default)]
    pub timeline: BTreeMap<String, TimelineEntryFile>,
    /// Transshipment hubs (M9), keyed by hub nation.
    #[serde(default)]
    pub hubs: BTreeMap<String, HubFile>,
    #[serde(default)]
    pub smuggling: SmugglingFile,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<super::sweep::SweepFile>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SimulationFile {
    pub start_month: String,
    pub months: u32,
    pub replications: u32,
    pub seed: u64,
}

/// A number, or a range drawn once per replication: `{ min, max }` (uniform) or
/// `{ min, mode, max }` (triangular).
#[derive(Clone, Copy, Debug, Serialize, PartialEq)]
#[serde(untagged)]
pub enum UncertainFile {
    Fixed(f64),
    Range {
        min: f64,
        #[serde(skip_serializing_if = "Option::is_none")]
        mode: Option<f64>,
        max: f64,
    },
}

impl<'de> Deserialize<'de> for UncertainFile {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Range {
            min: f64,
            mode: Option<f64>,
            max: f64,
        }
        match Value::deserialize(d)? {
            Value::Integer(i) => Ok(UncertainFile::Fixed(i as f64)),
            Value::Float(f) => Ok(UncertainFile::Fixed(f)),
            Value::Table(t) => {
                let r: Range = Value::Table(t)
                    .try_into()
                    .map_err(|e: toml::de::Error| D::Error::custom(e.message()))?;
                Ok(UncertainFile::Range {
                    min: r.min,
                    mode: r.mode,
                    max: r.max,
                })
            }
            other => Err(D::Error::custom(format!(
                "expected a number, {{ min, max }} or {{ min, mode, max }}, got {}",
                other.type_str()
            ))),
        }
    }
}

impl From<f64> for UncertainFile {
    fn from(v: f64) -> Self {
        UncertainFile::Fixed(v)
    }
}

fn zero() -> UncertainFile {
    UncertainFile::Fixed(0.0)
}
fn one() -> UncertainFile {
    UncertainFile::Fixed(1.0)
}
fn one_f() -> f64 {
    1.0
}
fn half() -> f64 {
    0.5
}
fn yes() -> bool {
    true
}
fn fifth() -> f64 {
    0.2
}
fn tenth() -> f64 {
    0.1
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProductFile {
    pub vendor: String,
    pub h100e_per_unit: UncertainFile,
    pub price_usd: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export_class: Option<String>,
    pub capacity_units_per_month: f64,
    #[serde(default = "zero")]
    pub capacity_growth_annual: UncertainFile,
    #[serde(default = "one")]
    pub yield_start: UncertainFile,
    #[serde(default = "one")]
    pub yield_target: UncertainFile,
    #[serde(default)]
    pub yield_ramp_months: f64,
    #[serde(default)]
    pub yield_sd: f64,
    #[serde(default)]
    pub initial_inventory_units: u64,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FirmFile {
    pub home: String,
    #[serde(default)]
    pub home_priority: bool,
    #[serde(default)]
    pub export_discount: f64,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectFile {
    pub month: String,
    pub product: String,
    pub units: u64,
    #[serde(default = "fifth")]
    pub value: f64,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NationFile {
    pub demand_h100e_per_month: f64,
    #[serde(default = "zero")]
    pub demand_growth_annual: UncertainFile,
    #[serde(default)]
    pub demand_noise_sigma: f64,
    #[serde(default = "half")]
    pub backlog_decay: f64,
    pub alignment: f64,
    #[serde(default = "half")]
    pub strategic_value: f64,
    #[serde(default)]
    pub dependence: BTreeMap<String, f64>,
    #[serde(default)]
    pub ecosystem: BTreeMap<String, f64>,
    #[serde(default)]
    pub installed_units: BTreeMap<String, u64>,
    #[serde(default)]
    pub projects: BTreeMap<String, ProjectFile>,
    #[serde(default = "tenth")]
    pub reputation_cost: f64,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum StatusFile {
    Allowed,
    Licence,
    Prohibited,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    pub status: StatusFile,
    #[serde(default = "one_f")]
    pub approval_probability: f64,
    #[serde(default)]
    pub delay_months: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annual_cap_h100e: Option<f64>,
    #[serde(default)]
    pub exempt_h100e_per_year: f64,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ScopeFile {
    None,
    HomeOnly,
    Global,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RegulatorFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_tier: Option<String>,
    #[serde(default)]
    pub destinations: BTreeMap<String, String>,
    /// tier name → export class → rule.
    #[serde(default)]
    pub tiers: BTreeMap<String, BTreeMap<String, RuleFile>>,
    /// firm id → scope.
    #[serde(default)]
    pub guidance: BTreeMap<String, ScopeFile>,
    #[serde(default)]
    pub guidance_sanction_share: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pressure: Option<PressureFile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patron: Option<PatronFile>,
    #[serde(default)]
    pub deals: BTreeMap<String, DealFile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforcement: Option<EnforcementFile>,
}

/// `[regulators.X.enforcement]` (M9): effort against diversion of its firms' chips.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EnforcementFile {
    pub effort: f64,
    pub capacity_cases: f64,
    pub fine_per_violation_usd: f64,
    pub penalty_value_multiple: f64,
    pub permit_hazard: f64,
    pub response_licence_cut: f64,
    pub response_months: u32,
}

/// `[hubs.X]` (M9): a transshipment hub and its intermediary populations.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HubFile {
    /// The prohibited destination diverted chips go to.
    pub destination: String,
    /// The controlled product intermediaries import.
    pub product: String,
    /// The hub's own export-permit regime, 0 (none) to 1.
    #[serde(default)]
    pub permit_regime: f64,
    pub populations: BTreeMap<String, crate::model::smuggling::PopulationParams>,
}

/// `[smuggling]`: the grey market at prohibited destinations.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SmugglingFile {
    /// Unmet demand (units of the hub product) at which the premium is `premium_at_reference`.
    pub reference_gap_units: f64,
    /// Premium at the reference gap, as a share of list price.
    pub premium_at_reference: f64,
    pub elasticity: f64,
    /// Highest premium, as a share of list price.
    pub max_premium: f64,
}

impl Default for SmugglingFile {
    fn default() -> Self {
        SmugglingFile {
            reference_gap_units: 100_000.0,
            premium_at_reference: 0.5,
            elasticity: 1.0,
            max_premium: 2.0,
        }
    }
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PressureCostFile {
    LicenceCut,
    InvestmentWithdrawn,
    Tariff,
}

/// `[regulators.X.pressure]` (M6).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PressureFile {
    #[serde(default = "yes")]
    pub enabled: bool,
    pub propensity: f64,
    pub size_scale_h100e: f64,
    pub intensity: f64,
    pub cost: PressureCostFile,
    pub punishment_months: u32,
    pub backlash: f64,
    pub compliance_shift: f64,
}

/// `[regulators.X.patron]` (M10).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PatronFile {
    pub counter_offer_probability: f64,
    pub counter_offer_value: f64,
    pub alignment_shift: f64,
    pub retaliation_probability: f64,
    pub retaliation_intensity: f64,
    pub retaliation_months: u32,
    pub retaliation_alignment_shift: f64,
}

/// `[regulators.X.deals.ID]` (M8).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DealFile {
    #[serde(default = "yes")]
    pub enabled: bool,
    pub nation: String,
    pub product: String,
    pub month: String,
    pub units_per_year: f64,
    #[serde(default = "yes")]
    pub licence_exempt: bool,
    pub constraint_cost: f64,
    #[serde(default)]
    pub breach_probability: f64,
    #[serde(default)]
    pub detection_probability: f64,
    #[serde(default)]
    pub alignment_shift: f64,
}

/// `[diplomacy]`: settings shared by all nations (M6, M8).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DiplomacyFile {
    #[serde(default = "announce_threshold")]
    pub announce_threshold_h100e: f64,
    #[serde(default = "tenth")]
    pub decision_noise_sd: f64,
    #[serde(default = "half")]
    pub deal_value_weight: f64,
}

fn announce_threshold() -> f64 {
    5000.0
}

impl Default for DiplomacyFile {
    fn default() -> Self {
        DiplomacyFile {
            announce_threshold_h100e: announce_threshold(),
            decision_noise_sd: tenth(),
            deal_value_weight: half(),
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MarketFile {
    pub price_performance_weight: f64,
    pub alignment_weight: f64,
    pub sanction_weight: f64,
    pub availability_weight: f64,
    pub lead_time_weight_per_month: f64,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AlignmentFile {
    pub reversion_per_month: f64,
    pub purchase_pull: f64,
    pub denial_push: f64,
}

/// A dated change: `[timeline.rescind]` with `month`, `set = { "path" = value, ... }`.
/// Keyed by id so that a derived scenario can override or disable an inherited change.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TimelineEntryFile {
    pub month: String,
    #[serde(default)]
    pub note: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    pub set: BTreeMap<String, Value>,
}
