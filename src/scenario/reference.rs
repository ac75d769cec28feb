//! The parameter reference: the meaning, type, default, range and unit of every scenario key,
//! generated from the declarations (`declare_params!` in [`crate::model::params`]) for
//! `chipdip params` and `docs/parameters.md`. Only the scenario's own frame (name, simulation
//! settings, timeline, sweep), which is not a model parameter, is described here by hand.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use crate::model::params::*;
use crate::model::schema::{FieldSpec, FileValue, Range, Read, Shape, flatten_specs};

use super::paths::split;

/// Keys of the scenario's frame, by pattern (`*` matches one segment).
#[rustfmt::skip]
const FRAME: &[(&str, &str, &str)] = &[
    ("name", "text", "scenario name"),
    ("description", "text", "what the scenario is for"),
    ("extends", "path", "scenario file this one starts from (its keys are overridden here)"),
    ("simulation.start_month", "YYYY-MM", "first simulated month"),
    ("simulation.months", "integer", "number of monthly steps, 1-1200"),
    ("simulation.replications", "integer", "Monte Carlo replications per point, at least 1"),
    ("simulation.seed", "integer", "master seed; replication seeds derive from it"),
    ("timeline.*.month", "YYYY-MM", "month a dated change takes effect"),
    ("timeline.*.note", "text", "what the dated change represents"),
    ("timeline.*.enabled", "true | false", "whether the dated change applies (false to drop an inherited one)"),
    ("timeline.*.set.*", "as the path", "parameter set by the dated change"),
    ("sweep.design", "grid | random | latin_hypercube | sobol", "sweep design"),
    ("sweep.points", "integer", "number of points of a sampled design"),
    ("sweep.seed", "integer", "seed of the sampled design"),
    ("sweep.factors.*.values", "list", "values of a swept parameter: numbers, or the levels of a text or boolean parameter"),
    ("sweep.factors.*.min", "number", "lower end of a swept parameter's range"),
    ("sweep.factors.*.max", "number", "upper end of a swept parameter's range"),
    ("sweep.factors.*.log", "true | false", "sample the range on a log scale"),
    ("sweep.factors.*.integer", "true | false", "round the swept parameter to integers"),
    ("sweep.factors.*.levels", "integer", "grid levels across the range"),
];

/// The model's sections, as `ScenarioFile` holds them.
fn sections() -> Vec<FieldSpec> {
    let section = |name, meaning: &str, shape| FieldSpec {
        name,
        meaning: meaning.to_string(),
        default: None,
        range: Range::Any,
        unit: "",
        shape,
        read: Read::Monthly,
    };
    vec![
        section(
            "products",
            "chip products",
            BTreeMap::<String, ProductFile>::shape(),
        ),
        section("firms", "firms", BTreeMap::<String, FirmFile>::shape()),
        section(
            "nations",
            "nations",
            BTreeMap::<String, NationFile>::shape(),
        ),
        section(
            "regulators",
            "regulator roles",
            BTreeMap::<String, RegulatorFile>::shape(),
        ),
        section("market", "vendor choice", MarketFile::shape()),
        section("alignment", "alignment", AlignmentFile::shape()),
        section("diplomacy", "diplomacy", DiplomacyFile::shape()),
        section(
            "hubs",
            "transshipment hubs",
            BTreeMap::<String, HubFile>::shape(),
        ),
        section("smuggling", "grey market", SmugglingFile::shape()),
    ]
}

/// Every declared key: (path pattern, spec), in declaration order.
pub fn declared() -> &'static [(String, FieldSpec)] {
    static DECLARED: OnceLock<Vec<(String, FieldSpec)>> = OnceLock::new();
    DECLARED.get_or_init(|| {
        let mut out = Vec::new();
        flatten_specs("", &sections(), &mut out);
        out
    })
}

fn matches(pattern: &str, segs: &[String]) -> bool {
    // Without collecting the pattern's segments: a lookup scans every declared pattern.
    let mut pat = pattern.split('.');
    segs.iter()
        .all(|s| pat.next().is_some_and(|p| p == "*" || p == s))
        && pat.next().is_none()
}

/// The declaration of the key at `path`. The `min`/`mode`/`max` of a range drawn per
/// replication belong to the parameter they bound.
pub fn spec(path: &str) -> Option<&'static FieldSpec> {
    let segs = split(path).ok()?;
    let declared = |segs: &[String]| {
        declared()
            .iter()
            .find(|(p, _)| matches(p, segs))
            .map(|(_, f)| f)
    };
    declared(&segs).or_else(|| {
        let (last, parent) = segs.split_last()?;
        ["min", "mode", "max"]
            .contains(&last.as_str())
            .then(|| declared(parent))
            .flatten()
    })
}

/// The meaning of `path`, if documented.
pub fn meaning(path: &str) -> Option<&'static str> {
    let segs = split(path).ok()?;
    FRAME
        .iter()
        .find(|(p, _, _)| matches(p, &segs))
        .map(|(_, _, m)| *m)
        .or_else(|| spec(path).map(|f| f.meaning.as_str()))
}

/// Why a dated change after the first month may not set `path`, if it may not: the scenario's
/// frame is fixed for a run, and a parameter read only at the start would be ignored.
pub fn dated_change_refused(path: &str) -> Option<String> {
    let top = path.split('.').next().unwrap_or("");
    if FRAME
        .iter()
        .any(|(p, _, _)| p.split('.').next() == Some(top))
    {
        return Some(format!(
            "`{path}` belongs to the scenario's frame, which is fixed for a run; set it in the \
             scenario, not in a dated change"
        ));
    }
    (spec(path)?.read == Read::AtStart).then(|| {
        format!(
            "`{path}` is read only when a replication starts, so a change after the first \
             month would be ignored; set it in the scenario (or in a change dated at the start)"
        )
    })
}

fn type_of(shape: Shape) -> &'static str {
    match shape {
        Shape::Value(t) => t,
        Shape::Table(_) => "table",
        Shape::Map(_, inner) => type_of(inner()),
    }
}

/// `docs/parameters.md`: every key with its type, default, range, unit and meaning.
pub fn markdown() -> String {
    let mut s = String::from(
        "# Parameter reference\n\n\
         Generated from the declarations in `src/model/params.rs` (`declare_params!`); do not \
         edit by hand. A test fails when this page and the declarations disagree; rewrite it with \
         `CHIPDIP_REPIN=1 cargo test --release parameter_reference`.\n\n\
         `*` stands for an id (a nation, firm, product, tier, export class, deal, project, hub or \
         population name). *required* keys have no default. A number marked \"or { min, [mode,] \
         max }\" may be given as a range, drawn once per replication (uniform, or triangular with \
         a mode).\n\n\
         *Dated change*: whether a `[timeline]` change after the first month may set the key \
         (keys read only when a replication starts may not).\n\n\
         ## The scenario frame\n\nFixed for a run: no dated change may set these keys.\n\n\
         | key | type | meaning |\n|---|---|---|\n",
    );
    for (p, t, m) in FRAME {
        s += &format!("| `{p}` | {t} | {m} |\n");
    }
    let mut section = "";
    for (path, f) in declared() {
        let top = path.split('.').next().unwrap_or("");
        if top != section {
            section = top;
            s += &format!(
                "\n## `{top}`\n\n| key | type | default | valid range | unit | dated change | meaning |\n\
                 |---|---|---|---|---|---|---|\n"
            );
        }
        let default = f.default.clone().unwrap_or_else(|| "*required*".into());
        let dated = match f.read {
            Read::Monthly => "yes",
            Read::AtStart => "no (read at start)",
        };
        s += &format!(
            "| `{path}` | {} | {} | {} | {} | {dated} | {} |\n",
            type_of(f.shape),
            default.replace('|', "\\|"),
            f.range.text(),
            f.unit,
            f.meaning.replace('|', "\\|"),
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meanings_match_by_pattern() {
        assert!(meaning("nations.MYS.dependence.USA").is_some());
        assert!(meaning("regulators.USA.tiers.tier2.frontier.status").is_some());
        assert!(meaning("products.h100.h100e_per_unit.min").is_some());
        assert!(meaning("hubs.MYS.populations.shells.count").is_some());
        assert!(meaning("simulation.seed").is_some());
        assert!(meaning("nations.MYS.nonsense").is_none());
    }

    #[test]
    fn every_declared_key_has_a_meaning_and_the_table_lists_it() {
        let md = markdown();
        for (path, f) in declared() {
            assert!(!f.meaning.is_empty(), "{path} has no doc comment");
            assert!(md.contains(&format!("`{path}`")), "{path} not in the table");
        }
        assert!(
            md.contains("| `market.price_performance_weight` | number | *required* | [0, 100]")
        );
        assert!(
            md.contains("| `nations.*.backlog_decay` | number | 0.5 | [0, 1] | share/month | yes")
        );
        assert!(md.contains("| `nations.*.installed_units.*` | integer | {} |  | units | no"));
    }

    #[test]
    fn dated_changes_of_start_only_keys_and_the_frame_are_refused() {
        assert!(dated_change_refused("hubs.MYS.populations.shells.count").is_some());
        assert!(dated_change_refused("nations.MYS.installed_units.h100").is_some());
        assert!(dated_change_refused("products.h100.initial_inventory_units").is_some());
        assert!(dated_change_refused("hubs.MYS.destination").is_some());
        assert!(dated_change_refused("simulation.seed").is_some());
        assert!(dated_change_refused("hubs.MYS.permit_regime").is_none());
        assert!(dated_change_refused("nations.MYS.alignment").is_none());
        assert!(dated_change_refused("products.ascend_910c.h100e_per_unit.max").is_none());
        assert!(dated_change_refused("regulators.USA.tiers.tier2.frontier.status").is_none());
    }
}
