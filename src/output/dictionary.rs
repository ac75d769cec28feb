//! The data dictionary: what every column, metric and event kind of a run's files means.
//!
//! `dictionary.csv` is written into every run folder (and printed by `chipdip dictionary
//! SCENARIO`). One row per column of each file, per metric of the long files
//! (`timeseries.csv`, `quantiles.csv`: `name` is `metric=<name>`) and per event kind of
//! `events.csv` (`name` is `kind=<name>`), with:
//!
//! - `type`: `integer`, `float`, `text`, `boolean` or `month` (`YYYY-MM`);
//! - `unit`: `H100e` (compute in H100 equivalents), `units` (chips), `USD`, `count`, `share`,
//!   `index`, ... (empty for labels);
//! - `measure`: `stock` (a level at the end of the month or run), `flow` (a total over the month
//!   or the run), `state`, `label` or `id`, with the period (`flow over the run`);
//! - `meaning`; for event kinds also who the `actor` and `target` are and the unit of
//!   `magnitude`.

use crate::model::EventKind;
use crate::scenario::Scenario;

/// One row of the dictionary.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub file: &'static str,
    pub name: String,
    pub r#type: &'static str,
    pub unit: &'static str,
    pub measure: String,
    pub meaning: String,
}

/// The header of `dictionary.csv`.
pub const HEADER: [&str; 6] = ["file", "name", "type", "unit", "measure", "meaning"];

/// A metric's unit, measure in the monthly series, measure in the summary, and meaning.
struct MetricInfo {
    unit: &'static str,
    monthly: &'static str,
    total: &'static str,
    meaning: &'static str,
}

const FLOW_M: &str = "flow over the month";
const FLOW_R: &str = "flow over the run (sum of the months)";
const STOCK_M: &str = "stock at the end of the month";
const STOCK_R: &str = "stock at the end of the run";

/// What a metric name (without its entity) means; `None` for a name this table lacks.
fn metric_info(metric: &str) -> Option<MetricInfo> {
    let m = |unit, monthly, total, meaning| {
        Some(MetricInfo {
            unit,
            monthly,
            total,
            meaning,
        })
    };
    if let Some(kind) = metric.strip_suffix("_count") {
        let _ = kind;
        return m(
            "count",
            FLOW_M,
            FLOW_R,
            "diplomatic events of this kind (see events.csv, kind=...) in which the nation took part",
        );
    }
    if metric.starts_with("installed_h100e_") {
        return m(
            "H100e",
            STOCK_M,
            STOCK_R,
            "compute installed in the nation from the firm named after `installed_h100e_`",
        );
    }
    match metric {
        "demand_h100e" => m("H100e", FLOW_M, FLOW_R, "compute the nation ordered"),
        "delivered_h100e" => m("H100e", FLOW_M, FLOW_R, "compute delivered to the nation"),
        "denied_h100e" => m(
            "H100e",
            FLOW_M,
            FLOW_R,
            "compute refused by export licensing or annual caps (M3)",
        ),
        "unfilled_h100e" => m(
            "H100e",
            FLOW_M,
            FLOW_R,
            "compute ordered but not supplied (short supply, not licensing)",
        ),
        "backlog_h100e" => m("H100e", STOCK_M, STOCK_R, "orders waiting to be filled"),
        "alignment" => m(
            "index",
            "state at the end of the month",
            "state at the end of the run",
            "alignment between the US (+1) and China (-1) (M7)",
        ),
        "installed_h100e" => m("H100e", STOCK_M, STOCK_R, "compute installed in the nation"),
        "rival_stack_installed" => m(
            "indicator",
            "state at the end of the month",
            "state at the end of the run (1 yes, 0 no)",
            "the nation has chips of a foreign patron's firms installed (M10)",
        ),
        "production_units" => m("units", FLOW_M, FLOW_R, "chips the firm produced"),
        "shipped_units" => m("units", FLOW_M, FLOW_R, "chips the firm shipped"),
        "export_units" => m("units", FLOW_M, FLOW_R, "chips the firm shipped abroad"),
        "inventory_units" => m("units", STOCK_M, STOCK_R, "chips in the firm's inventory"),
        "export_share" => m(
            "share",
            "ratio over the month",
            "ratio over the run",
            "share of the firm's shipped chips that went abroad",
        ),
        "hub_imported_units" => m("units", FLOW_M, FLOW_R, "chips the hub imported (M9)"),
        "hub_diverted_units" => m(
            "units",
            FLOW_M,
            FLOW_R,
            "chips the hub's intermediaries diverted to restricted destinations (M9)",
        ),
        "hub_seized_units" => m("units", FLOW_M, FLOW_R, "diverted chips seized in the hub"),
        "hub_detections" => m(
            "count",
            FLOW_M,
            FLOW_R,
            "investigations of the hub's intermediaries that closed with a seizure, a \
             prosecution or a licence cut (M9)",
        ),
        "hub_investigations_active" => m(
            "count",
            STOCK_M,
            STOCK_R,
            "investigations open against the hub's intermediaries, by any enforcer (M9)",
        ),
        "hub_remote_access_h100e" => m(
            "H100e",
            "level during the month",
            "level in the last month",
            "compute in the hub's data centres rented by its destination (remote access, M9)",
        ),
        "remote_access_h100e" => m(
            "H100e",
            "level during the month",
            "level in the last month",
            "compute the nation rents in the hubs' data centres without importing chips \
             (remote access, M9)",
        ),
        "investigations_active" => m(
            "count",
            STOCK_M,
            STOCK_R,
            "investigations of diversion the nation has open, as a regulator or as a hub with a \
             permit regime (M9)",
        ),
        "investigations_opened" => m(
            "count",
            FLOW_M,
            FLOW_R,
            "investigations of diversion the nation opened (M9)",
        ),
        "investigations_closed" => m(
            "count",
            FLOW_M,
            FLOW_R,
            "investigations of diversion the nation closed, with any outcome (M9)",
        ),
        "hub_fines_usd" => m(
            "USD",
            FLOW_M,
            FLOW_R,
            "penalties of the investigations closed against the hub's intermediaries (M9)",
        ),
        "hub_diverters" => m(
            "count",
            "state during the month",
            "state at the end of the run",
            "intermediaries that diverted chips",
        ),
        "hub_active_intermediaries" => m(
            "count",
            STOCK_M,
            STOCK_R,
            "intermediaries free to trade (not barred)",
        ),
        "hub_entrants" => m(
            "count",
            FLOW_M,
            FLOW_R,
            "intermediaries that entered the trade through the hub (M9)",
        ),
        "hub_exits" => m(
            "count",
            FLOW_M,
            FLOW_R,
            "intermediaries that left the hub: caught, idle too long, or gone to another hub (M9)",
        ),
        "hub_grey_premium_usd_per_unit" => m(
            "USD/unit",
            "price during the month",
            "price in the last month",
            "grey-market premium over list a smuggled chip fetches at the hub's destination (M9)",
        ),
        "hub_route_share" => m(
            "share",
            "ratio over the month",
            "ratio in the last month",
            "the hub's share of all chips diverted to its destination (M9)",
        ),
        "licence_revenue_share_usd" => m(
            "USD",
            FLOW_M,
            FLOW_R,
            "revenue share the exporting government took on licensed sales to the nation (M3)",
        ),
        "diverted_in_h100e" => m(
            "H100e",
            FLOW_M,
            FLOW_R,
            "compute diverted into the nation through the hubs",
        ),
        "diverted_units" => m(
            "units",
            FLOW_M,
            FLOW_R,
            "chips diverted into the nation through the hubs",
        ),
        _ => None,
    }
}

/// Every event kind, in the order the dictionary lists them (`event_info` matches them all, so
/// a new kind cannot be left undocumented).
pub const EVENT_KINDS: &[EventKind] = EventKind::ALL;

/// The event kinds `events.csv` holds unless `--events` says otherwise: all but the monthly
/// licence logs (`licence_deny`, `cap_reached`), which repeat the `denied_h100e` series month by
/// month and made most of the rows of a large run.
pub fn default_events() -> Vec<String> {
    EVENT_KINDS
        .iter()
        .filter(|k| !matches!(k, EventKind::LicenceDeny | EventKind::CapReached))
        .map(|k| k.name().to_string())
        .collect()
}

/// The kinds named by `--events`: `all`, `default`, or kinds separated by commas.
pub fn parse_events(text: &str) -> Result<Vec<String>, String> {
    match text.trim() {
        "all" => return Ok(EVENT_KINDS.iter().map(|k| k.name().to_string()).collect()),
        "default" => return Ok(default_events()),
        _ => {}
    }
    let mut v: Vec<String> = Vec::new();
    for k in text.split(',').map(str::trim).filter(|k| !k.is_empty()) {
        if !EVENT_KINDS.iter().any(|e| e.name() == k) {
            let known: Vec<&str> = EVENT_KINDS.iter().map(|e| e.name()).collect();
            return Err(format!(
                "--events: unknown event kind `{k}`; kinds: {}, or all, or default",
                known.join(", ")
            ));
        }
        if !v.iter().any(|x| x == k) {
            v.push(k.to_string());
        }
    }
    // In the dictionary's order, so that the same selection is the same run.
    v.sort_by_key(|k| EVENT_KINDS.iter().position(|e| e.name() == k));
    Ok(v)
}

/// Who an event kind's `actor` and `target` are and what its `magnitude` is.
pub fn event_info(kind: EventKind) -> (&'static str, &'static str, &'static str, &'static str) {
    use EventKind::*;
    // (actor, target, unit of magnitude, meaning)
    match kind {
        Timeline => (
            "",
            "the parameter path changed",
            "none (0)",
            "a dated change of the scenario's timeline took effect",
        ),
        Guidance => (
            "regulating nation",
            "firm",
            "scope code (0 none, 1 home only, 2 third countries)",
            "the regulator changed the scope of its guidance against the firm's chips (M4)",
        ),
        LicenceDeny => (
            "regulating nation",
            "destination nation",
            "H100e refused this month",
            "licensed exports refused this month (M3); the denied_h100e series holds the same \
             (written only with --events)",
        ),
        ImportStance => (
            "importing nation",
            "product",
            "stance code (0 allow, 1 discourage, 2 ban)",
            "the nation changed its stance toward its firms buying this foreign product (M11)",
        ),
        LicenceGrant => (
            "regulating nation",
            "destination nation",
            "units licensed",
            "the regulator's licence queue approved a deal's application for this many units of \
             its product (M3)",
        ),
        CapReached => (
            "regulating nation",
            "destination nation",
            "H100e refused this month",
            "the destination's licensed imports hit the annual cap (M3; written only with --events)",
        ),
        Announce => (
            "nation",
            "home nation of the stack",
            "units",
            "a planned build of a rival stack was announced (M6)",
        ),
        Pressure => (
            "pressing nation",
            "pressed nation",
            "intensity (share of dependence at stake)",
            "a power pressed the nation over its announced build (M6)",
        ),
        CounterOffer => (
            "patron nation",
            "pressed nation",
            "offer value (share of demand)",
            "the stack's patron countered the pressure (M10)",
        ),
        Retract => (
            "nation",
            "pressing nation",
            "units",
            "the build was withdrawn (M6)",
        ),
        Hold => (
            "nation",
            "pressing nation",
            "units",
            "the nation went ahead despite pressure (M6)",
        ),
        Retaliate => (
            "patron nation",
            "nation",
            "share of demand lost",
            "the patron punished a retraction (M10)",
        ),
        DealOffer => (
            "regulating nation",
            "nation",
            "units per year",
            "an allocation offered for a security agreement (M8)",
        ),
        DealAccept => (
            "nation",
            "regulating nation",
            "units per year",
            "the security agreement was accepted (M8)",
        ),
        DealReject => (
            "nation",
            "regulating nation",
            "units per year",
            "the security agreement was rejected (M8)",
        ),
        Breach => (
            "nation",
            "regulating nation",
            "units per year of the agreement",
            "a breach of the agreement was detected (M8)",
        ),
        Revoke => (
            "regulating nation",
            "nation",
            "units per year",
            "the regulator revoked the agreement (M8)",
        ),
        Divert => (
            "hub nation",
            "destination nation",
            "units this month",
            "the hub's intermediaries diverted chips (M9)",
        ),
        Seizure => (
            "enforcing nation",
            "hub nation",
            "units seized",
            "an investigation closed with the seizure of the intermediary's imports of the month \
             (M9); follows its investigation_close",
        ),
        InvestigationOpen => (
            "enforcing nation (the product's regulator, or the hub's own authorities)",
            "hub nation",
            "case id (1, 2, ... in the order cases open in the replication)",
            "an investigation opened against an intermediary diverting through the hub (M9)",
        ),
        InvestigationClose => (
            "enforcing nation",
            "hub nation",
            "case id (as in its investigation_open)",
            "an investigation closed (M9); the seizure, fine or licence_cut rows right after it \
             in the same month give its outcome, none: closed with nothing; its duration is the \
             months between its open and close rows",
        ),
        Fine => (
            "enforcing nation",
            "hub nation",
            "USD",
            "the penalty of a closed investigation: the greater of the fine per violation and \
             the value multiple of the lots the case covered (M9)",
        ),
        LicenceCut => (
            "regulating or enforcing nation",
            "hub nation",
            "share of the hub's licence room cut",
            "a closed investigation made the product's regulator cut the hub's licences for \
             response_months (M9)",
        ),
    }
}

/// The type of a factor column, from its labels.
fn label_type(labels: impl Iterator<Item = String>) -> &'static str {
    let labels: Vec<String> = labels.collect();
    if labels.iter().all(|l| l.parse::<i64>().is_ok()) {
        "integer"
    } else if labels.iter().all(|l| l.parse::<f64>().is_ok()) {
        "float"
    } else if labels.iter().all(|l| l == "true" || l == "false") {
        "boolean"
    } else {
        "text"
    }
}

/// The dictionary of `scenario`'s run folder.
pub fn entries(scenario: &Scenario) -> Vec<Entry> {
    let mut v = Vec::new();
    let e = |file, name: &str, t, unit, measure: &str, meaning: &str| Entry {
        file,
        name: name.to_string(),
        r#type: t,
        unit,
        measure: measure.to_string(),
        meaning: meaning.to_string(),
    };
    let point0 = &scenario.points[0];
    let factors: Vec<Entry> = point0
        .values
        .iter()
        .enumerate()
        .map(|(k, (path, _))| {
            let t = label_type(scenario.points.iter().map(|p| p.labels[k].clone()));
            e(
                "",
                path,
                t,
                "",
                "label",
                "the swept parameter's value at this point (see `chipdip params`)",
            )
        })
        .collect();
    let scenario_col = "the scenario's name (its `name`), to tell stacked runs apart";
    let point_col = "sweep point (0 without a sweep); its factor values are in points.csv";
    for file in ["points.csv", "summary.csv", "quantiles.csv"] {
        v.push(e(file, "scenario", "text", "", "label", scenario_col));
        v.push(e(file, "point", "integer", "", "id", point_col));
        if file == "summary.csv" {
            v.push(e(
                file,
                "replication",
                "integer",
                "",
                "id",
                "replication of the point",
            ));
            v.push(e(
                file,
                "seed",
                "integer",
                "",
                "id",
                "the replication's seed (below 2^53, exact in every reader): how the row is rerun",
            ));
        }
        for f in &factors {
            v.push(Entry { file, ..f.clone() });
        }
        if file == "summary.csv" {
            for (entity, metric) in point0.setup.summary_names() {
                let info = metric_info(&metric);
                let name = super::summary_column(&entity, &metric);
                let (unit, measure, meaning) = match info {
                    Some(i) => (i.unit, i.total, format!("{entity}: {}", i.meaning)),
                    None => ("", "", format!("{entity}: see docs/model.md")),
                };
                v.push(e(file, &name, "float", unit, measure, &meaning));
            }
        }
    }
    let month = "calendar month, YYYY-MM";
    let entity = "nation, firm or hub code (uppercase nation codes as in the scenario)";
    // The key columns the two long files share, in their order.
    let series_keys = |v: &mut Vec<Entry>, file: &'static str| {
        v.push(e(file, "month", "month", "", "id", month));
        v.push(e(file, "entity", "text", "", "id", entity));
        let metric = "the series (rows metric=... below)";
        v.push(e(file, "metric", "text", "", "id", metric));
    };
    let q = "quantiles.csv";
    series_keys(&mut v, q);
    v.push(e(
        q,
        "mean",
        "float",
        "as metric",
        "",
        "mean over the point's replications",
    ));
    for p in ["p05", "p25", "p50", "p75", "p95"] {
        v.push(e(
            q,
            p,
            "float",
            "as metric",
            "",
            "quantile over the point's replications (nearest rank, within 0.5%)",
        ));
    }
    let t = "timeseries.csv";
    v.push(e(t, "point", "integer", "", "id", point_col));
    v.push(e(
        t,
        "replication",
        "integer",
        "",
        "id",
        "replication of the point",
    ));
    series_keys(&mut v, t);
    v.push(e(t, "value", "float", "as metric", "", "the series' value"));
    let mut seen = std::collections::BTreeSet::new();
    for (_, metric) in point0.setup.series_names() {
        if !seen.insert(metric.clone()) {
            continue;
        }
        let info = metric_info(&metric);
        let (unit, measure, meaning) = match info {
            Some(i) => (i.unit, i.monthly, i.meaning.to_string()),
            None => ("", "", "see docs/model.md".to_string()),
        };
        v.push(e(
            "timeseries.csv quantiles.csv",
            &format!("metric={metric}"),
            "float",
            unit,
            measure,
            &meaning,
        ));
    }
    let ev = "events.csv";
    v.push(e(ev, "point", "integer", "", "id", point_col));
    v.push(e(
        ev,
        "replication",
        "integer",
        "",
        "id",
        "replication of the point",
    ));
    v.push(e(ev, "month", "month", "", "id", month));
    v.push(e(
        ev,
        "seq",
        "integer",
        "",
        "id",
        "order of the event within its month and replication (announced, then pressed, then \
         retracted reads as increasing seq)",
    ));
    v.push(e(
        ev,
        "actor",
        "text",
        "",
        "id",
        "who acted (per kind below)",
    ));
    v.push(e(
        ev,
        "target",
        "text",
        "",
        "id",
        "who was acted on (per kind below)",
    ));
    v.push(e(
        ev,
        "kind",
        "text",
        "",
        "id",
        "the event kind (rows kind=... below)",
    ));
    v.push(e(
        ev,
        "magnitude",
        "float",
        "per kind",
        "",
        "size of the event, in the unit its kind gives below",
    ));
    for &kind in EVENT_KINDS {
        let (actor, target, unit, meaning) = event_info(kind);
        v.push(Entry {
            file: ev,
            name: format!("kind={}", kind.name()),
            r#type: "event",
            unit: "",
            measure: format!("magnitude: {unit}"),
            meaning: format!("{meaning}; actor: {actor}; target: {target}"),
        });
    }
    v
}

/// `dictionary.csv` as bytes.
pub fn to_csv(entries: &[Entry]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(HEADER).expect("writing to memory");
    for d in entries {
        w.write_record([d.file, &d.name, d.r#type, d.unit, &d.measure, &d.meaning])
            .expect("writing to memory");
    }
    w.into_inner().expect("memory writer cannot fail")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_summary_column_series_and_event_kind_is_described_with_a_unit() {
        let s = Scenario::load("scenarios/malaysia_2025.toml".as_ref(), &[]).expect("shipped");
        let d = entries(&s);
        let names = s.points[0].setup.summary_names();
        for (e, m) in &names {
            let col = crate::output::summary_column(e, m);
            let row = d
                .iter()
                .find(|x| x.file == "summary.csv" && x.name == col)
                .unwrap_or_else(|| panic!("{col} not in the dictionary"));
            assert!(!row.unit.is_empty(), "{col} has no unit");
            assert!(row.measure.contains("run"), "{col}: {}", row.measure);
        }
        for (_, m) in s.points[0].setup.series_names() {
            let row = d.iter().find(|x| x.name == format!("metric={m}")).unwrap();
            assert!(!row.unit.is_empty() && row.measure.contains("month"), "{m}");
        }
        for k in EVENT_KINDS {
            let row = d.iter().find(|x| x.name == format!("kind={}", k.name()));
            assert!(row.unwrap().measure.starts_with("magnitude: "), "{k:?}");
        }
        let bytes = to_csv(&d);
        assert!(bytes.starts_with(b"file,name,type,unit,measure,meaning\n"));
    }
}
