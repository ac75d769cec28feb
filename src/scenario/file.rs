//! The scenario file format: exactly what the TOML says, strictly (unknown keys are errors).
//!
//! The sections of the model (`[products.X]`, `[market]`, ...) are declared once in
//! [`crate::model::params`], which generates their file types; this module adds the scenario's
//! own frame around them (name, simulation settings, timeline, sweep). Ids stay strings here;
//! `validate` resolves them and checks every value. Defaults are filled in on reading, and the
//! resolved tree (defaults included) is what `chipdip params` lists and the manifest records.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use toml::Value;

pub use crate::model::params::{
    AlignmentFile, DealFile, DiplomacyFile, EnforcementFile, FirmFile, HubFile, MarketFile,
    NationFile, PatronFile, PressureFile, ProductFile, ProjectFile, RegulatorFile, RuleFile,
    SmugglingFile,
};
pub use crate::model::schema::UncertainFile;

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
    /// Any u64. TOML integers stop at 2^63 - 1, so a larger seed is written as a string
    /// (`seed = "18446744073709551615"`); `--seed` takes either.
    #[serde(with = "seed_text")]
    pub seed: u64,
}

/// A u64 seed in TOML: an integer when it fits in TOML's i64, else a decimal string.
pub mod seed_text {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(seed: &u64, s: S) -> Result<S::Ok, S::Error> {
        match i64::try_from(*seed) {
            Ok(n) => s.serialize_i64(n),
            Err(_) => s.serialize_str(&seed.to_string()),
        }
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum IntOrText {
        Int(i64),
        Text(String),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        let why = "a seed is an integer in 0..=18446744073709551615 (as a string above \
                   9223372036854775807)";
        match IntOrText::deserialize(d)? {
            IntOrText::Int(n) => u64::try_from(n).map_err(|_| D::Error::custom(why)),
            IntOrText::Text(t) => t.trim().parse().map_err(|_| D::Error::custom(why)),
        }
    }

    /// The same for an optional seed (`sweep.seed`).
    pub mod option {
        use serde::{Deserializer, Serializer};

        pub fn serialize<S: Serializer>(seed: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
            match seed {
                Some(v) => super::serialize(v, s),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
            super::deserialize(d).map(Some)
        }
    }
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

fn yes() -> bool {
    true
}
