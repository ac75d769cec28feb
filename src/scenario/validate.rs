//! Checks every value of a scenario and resolves ids into the model's [`Params`].
//!
//! Range checks and id resolution of each key come from its declaration in
//! [`crate::model::params`] (`FileValue::resolve`); this module only builds the resolution
//! context, resolves section by section, and links what spans sections: a regulator's tiers and
//! destinations into its rule table, a hub's and a regulator's nation, a product's home and
//! regulator. Each error names the parameter path; the caller's [`Source`] turns the path into a
//! file and line. Unknown ids get the nearest known one.

use super::Settings;
use super::error::ScenarioError;
use super::file::ScenarioFile;
use super::source::Source;
use crate::model::params::*;
use crate::model::schema::{Cx, FileValue, KeyPath, Kind, ParamError, Range, index_among};

/// Validates `file` into parameters; `source` locates errors.
pub fn params(
    file: &ScenarioFile,
    settings: &Settings,
    source: &Source,
) -> Result<Params, ScenarioError> {
    resolve(file, settings).map_err(|e| source.error_at(&e.path, e.message))
}

fn resolve(file: &ScenarioFile, settings: &Settings) -> Result<Params, ParamError> {
    let cx = context(file, settings)?;
    let mut products = file
        .products
        .resolve(&KeyPath::Root("products"), Range::Any, &cx)?;
    let firms = file
        .firms
        .resolve(&KeyPath::Root("firms"), Range::Any, &cx)?;
    let nations = file
        .nations
        .resolve(&KeyPath::Root("nations"), Range::Any, &cx)?;
    let regulators = regulators(file, &cx)?;
    let hubs = hubs(file, &cx)?;
    for prod in &mut products {
        prod.home = firms[prod.vendor].home;
        prod.regulator = regulators.iter().position(|r| r.nation == prod.home);
        // No market listed: sold to every nation (so the model reads one flag per buyer).
        if !prod.sold_to.contains(&true) {
            prod.sold_to.fill(true);
        }
    }
    Ok(Params {
        products,
        firms,
        nations,
        regulators,
        export_classes: cx.export_classes.clone(),
        market: file
            .market
            .resolve(&KeyPath::Root("market"), Range::Any, &cx)?,
        alignment: file
            .alignment
            .resolve(&KeyPath::Root("alignment"), Range::Any, &cx)?,
        diplomacy: file
            .diplomacy
            .resolve(&KeyPath::Root("diplomacy"), Range::Any, &cx)?,
        hubs,
        smuggling: file
            .smuggling
            .resolve(&KeyPath::Root("smuggling"), Range::Any, &cx)?,
    })
}

/// The ids every reference resolves against; export classes are those products name.
fn context(file: &ScenarioFile, settings: &Settings) -> Result<Cx, ParamError> {
    let ids = |m: Vec<&String>| m.into_iter().cloned().collect::<Vec<_>>();
    let cx = Cx {
        nations: ids(file.nations.keys().collect()),
        firms: ids(file.firms.keys().collect()),
        products: ids(file.products.keys().collect()),
        export_classes: {
            let mut c: Vec<String> = file
                .products
                .values()
                .filter_map(|p| p.export_class.as_ref().map(|k| k.0.clone()))
                .collect();
            c.sort();
            c.dedup();
            c
        },
        start: Some(settings.start),
    };
    for (section, ids) in [
        ("nations", &cx.nations),
        ("firms", &cx.firms),
        ("products", &cx.products),
    ] {
        unique_ignoring_case(section, ids)?;
    }
    if cx.nations.is_empty() || cx.firms.is_empty() || cx.products.is_empty() {
        return Err(ParamError::at(
            "nations",
            "a scenario needs at least one nation, firm and product",
        ));
    }
    Ok(cx)
}

/// Ids become column names (`MYS.installed_h100e`) and are matched by eye: two that differ only
/// in case (`MYS`, `mys`) are refused.
fn unique_ignoring_case(section: &str, ids: &[String]) -> Result<(), ParamError> {
    for (k, id) in ids.iter().enumerate() {
        if let Some(other) = ids[..k].iter().find(|o| o.eq_ignore_ascii_case(id)) {
            return Err(ParamError::at(
                KeyPath::Root(section).key(id),
                format!("`{id}` differs from `{other}` only in case; ids must differ in more"),
            ));
        }
    }
    Ok(())
}

/// Regulator roles, with each destination's tier turned into its rules per export class.
fn regulators(file: &ScenarioFile, cx: &Cx) -> Result<Vec<RegulatorParams>, ParamError> {
    let section = KeyPath::Root("regulators");
    let mut out = file.regulators.resolve(&section, Range::Any, cx)?;
    for ((id, r), reg) in file.regulators.iter().zip(&mut out) {
        let this = section.key(id);
        reg.nation = cx.index(this, Kind::Nation, id)?;
        let classes = cx.export_classes.len().max(1);
        let mut tier_rules = r.tiers.resolve(&this.key("tiers"), Range::Any, cx)?;
        tier_rules
            .iter_mut()
            .for_each(|rules| rules.resize(classes, ExportRule::ALLOWED));
        let tier_names: Vec<&str> = r.tiers.keys().map(String::as_str).collect();
        let default_tier = match &r.default_tier {
            Some(t) => Some(index_among(
                this.key("default_tier"),
                "tier",
                t,
                &tier_names,
            )?),
            None => None,
        };
        let destinations_at = this.key("destinations");
        let destinations = r.destinations.resolve(&destinations_at, Range::Any, cx)?;
        let mut rules = Vec::with_capacity(cx.nations.len());
        for (n, tier) in cx.nations.iter().zip(&destinations) {
            let tier = if tier.is_empty() {
                default_tier
            } else {
                Some(index_among(
                    destinations_at.key(n),
                    "tier",
                    tier,
                    &tier_names,
                )?)
            };
            rules.push(match tier {
                Some(k) => tier_rules[k].to_vec(),
                None => vec![ExportRule::ALLOWED; classes],
            });
        }
        reg.rules = rules.into();
    }
    Ok(out)
}

/// Transshipment hubs, each at the nation its key names.
fn hubs(file: &ScenarioFile, cx: &Cx) -> Result<Vec<HubParams>, ParamError> {
    let section = KeyPath::Root("hubs");
    let mut out = file.hubs.resolve(&section, Range::Any, cx)?;
    for (id, hub) in file.hubs.keys().zip(&mut out) {
        hub.nation = cx.index(section.key(id), Kind::Nation, id)?;
    }
    Ok(out)
}
