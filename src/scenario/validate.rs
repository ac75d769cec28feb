//! Checks every value of a scenario and resolves ids into the model's [`Params`].
//!
//! Each check names the parameter path; the caller's [`Source`] turns the path into a file and
//! line. Unknown ids get the nearest known one.

use super::Settings;
use super::error::ScenarioError;
use super::file::{PressureCostFile, ScenarioFile, ScopeFile, StatusFile, UncertainFile};
use super::paths;
use super::source::Source;
use crate::calendar::YearMonth;
use crate::model::params::*;
use crate::rng::fnv1a;

/// Validation context: where errors are located.
struct Check<'a> {
    source: &'a Source,
}

impl Check<'_> {
    fn err(&self, path: &str, msg: impl Into<String>) -> ScenarioError {
        self.source.error_at(path, msg)
    }

    fn range(&self, path: &str, v: f64, lo: f64, hi: f64) -> Result<f64, ScenarioError> {
        if v.is_finite() && v >= lo && v <= hi {
            Ok(v)
        } else {
            Err(self.err(path, format!("must be in [{lo}, {hi}], got {v}")))
        }
    }

    fn at_least(&self, path: &str, v: f64, lo: f64) -> Result<f64, ScenarioError> {
        if v.is_finite() && v >= lo {
            Ok(v)
        } else {
            Err(self.err(path, format!("must be a number >= {lo}, got {v}")))
        }
    }

    fn above(&self, path: &str, v: f64, lo: f64) -> Result<f64, ScenarioError> {
        if v.is_finite() && v > lo {
            Ok(v)
        } else {
            Err(self.err(path, format!("must be a number > {lo}, got {v}")))
        }
    }

    /// An uncertain value whose every possible draw lies in [lo, hi].
    fn uncertain(
        &self,
        path: &str,
        u: &UncertainFile,
        lo: f64,
        hi: f64,
    ) -> Result<Uncertain, ScenarioError> {
        let key = fnv1a(path);
        match *u {
            UncertainFile::Fixed(v) => Ok(Uncertain::Fixed(self.range(path, v, lo, hi)?)),
            UncertainFile::Range { min, mode, max } => {
                self.range(&format!("{path}.min"), min, lo, hi)?;
                self.range(&format!("{path}.max"), max, min, hi)?;
                match mode {
                    None => Ok(Uncertain::Uniform { min, max, key }),
                    Some(mode) => {
                        self.range(&format!("{path}.mode"), mode, min, max)?;
                        Ok(Uncertain::Triangular {
                            min,
                            mode,
                            max,
                            key,
                        })
                    }
                }
            }
        }
    }

    /// Index of `id` among `ids`, or an error naming the nearest one.
    fn id(&self, path: &str, what: &str, id: &str, ids: &[&str]) -> Result<usize, ScenarioError> {
        ids.iter().position(|x| *x == id).ok_or_else(|| {
            let near = paths::nearest(id, ids.iter().copied(), 1);
            let hint = near
                .first()
                .map(|b| format!("; did you mean `{b}`?"))
                .unwrap_or_default();
            self.err(
                path,
                format!("unknown {what} `{id}`{hint} (known: {})", ids.join(", ")),
            )
        })
    }

    fn month(&self, path: &str, s: &str, start: YearMonth) -> Result<i64, ScenarioError> {
        let m: YearMonth = s.parse().map_err(|e: String| self.err(path, e))?;
        Ok(m.months_since(start))
    }
}

/// Validates `file` into parameters; `source` locates errors.
pub fn params(
    file: &ScenarioFile,
    settings: &Settings,
    source: &Source,
) -> Result<Params, ScenarioError> {
    let c = Check { source };
    let nation_ids: Vec<&str> = file.nations.keys().map(String::as_str).collect();
    let firm_ids: Vec<&str> = file.firms.keys().map(String::as_str).collect();
    let product_ids: Vec<&str> = file.products.keys().map(String::as_str).collect();
    if nation_ids.is_empty() || firm_ids.is_empty() || product_ids.is_empty() {
        return Err(c.err(
            "nations",
            "a scenario needs at least one nation, firm and product",
        ));
    }
    let mut export_classes: Vec<String> = file
        .products
        .values()
        .filter_map(|p| p.export_class.clone())
        .collect();
    export_classes.sort();
    export_classes.dedup();

    let mut products = Vec::new();
    for (id, p) in &file.products {
        let at = |f: &str| format!("products.{id}.{f}");
        products.push(ProductParams {
            id: id.clone(),
            vendor: c.id(&at("vendor"), "firm", &p.vendor, &firm_ids)?,
            // Resolved below, once firms and regulators are known.
            home: 0,
            regulator: None,
            h100e_per_unit: {
                let u = c.uncertain(&at("h100e_per_unit"), &p.h100e_per_unit, 0.0, 1e3)?;
                if u.bounds().0 <= 0.0 {
                    return Err(c.err(&at("h100e_per_unit"), "must be > 0"));
                }
                u
            },
            price_usd: c.above(&at("price_usd"), p.price_usd, 0.0)?,
            export_class: p.export_class.as_ref().map(|k| {
                export_classes
                    .iter()
                    .position(|x| x == k)
                    .expect("collected above")
            }),
            capacity_units_per_month: c.at_least(
                &at("capacity_units_per_month"),
                p.capacity_units_per_month,
                0.0,
            )?,
            capacity_growth_annual: c.uncertain(
                &at("capacity_growth_annual"),
                &p.capacity_growth_annual,
                -0.99,
                100.0,
            )?,
            yield_start: c.uncertain(&at("yield_start"), &p.yield_start, 0.0, 1.0)?,
            yield_target: c.uncertain(&at("yield_target"), &p.yield_target, 0.0, 1.0)?,
            yield_ramp_months: c.at_least(&at("yield_ramp_months"), p.yield_ramp_months, 0.0)?,
            yield_sd: c.range(&at("yield_sd"), p.yield_sd, 0.0, 1.0)?,
            initial_inventory_units: p.initial_inventory_units,
        });
    }

    let mut firms = Vec::new();
    for (id, f) in &file.firms {
        let at = |k: &str| format!("firms.{id}.{k}");
        firms.push(FirmParams {
            id: id.clone(),
            home: c.id(&at("home"), "nation", &f.home, &nation_ids)?,
            home_priority: f.home_priority,
            export_discount: c.range(&at("export_discount"), f.export_discount, 0.0, 0.95)?,
        });
    }

    let mut nations = Vec::new();
    for (id, n) in &file.nations {
        let at = |k: &str| format!("nations.{id}.{k}");
        let mut dependence = vec![0.0; nation_ids.len()];
        for (other, v) in &n.dependence {
            let path = at(&format!("dependence.{other}"));
            let k = c.id(&path, "nation", other, &nation_ids)?;
            dependence[k] = c.range(&path, *v, 0.0, 1.0)?;
        }
        let mut ecosystem = vec![0.0; firm_ids.len()];
        for (firm, v) in &n.ecosystem {
            let path = at(&format!("ecosystem.{firm}"));
            let k = c.id(&path, "firm", firm, &firm_ids)?;
            ecosystem[k] = c.range(&path, *v, -20.0, 20.0)?;
        }
        let mut installed_units = vec![0; product_ids.len()];
        for (prod, v) in &n.installed_units {
            let path = at(&format!("installed_units.{prod}"));
            installed_units[c.id(&path, "product", prod, &product_ids)?] = *v;
        }
        let mut projects = Vec::new();
        for (pid, pr) in &n.projects {
            let pat = |k: &str| at(&format!("projects.{pid}.{k}"));
            let month = c.month(&pat("month"), &pr.month, settings.start)?;
            if month < 0 {
                return Err(c.err(
                    &pat("month"),
                    format!("{} is before the start {}", pr.month, settings.start),
                ));
            }
            projects.push(ProjectParams {
                id: pid.clone(),
                month: month.min(u32::MAX as i64) as u32,
                product: c.id(&pat("product"), "product", &pr.product, &product_ids)?,
                units: pr.units,
                value: c.range(&pat("value"), pr.value, 0.0, 10.0)?,
            });
        }
        nations.push(NationParams {
            id: id.clone(),
            demand_h100e_per_month: c.at_least(
                &at("demand_h100e_per_month"),
                n.demand_h100e_per_month,
                0.0,
            )?,
            demand_growth_annual: c.uncertain(
                &at("demand_growth_annual"),
                &n.demand_growth_annual,
                -0.99,
                100.0,
            )?,
            demand_noise_sigma: c.range(
                &at("demand_noise_sigma"),
                n.demand_noise_sigma,
                0.0,
                3.0,
            )?,
            backlog_decay: c.range(&at("backlog_decay"), n.backlog_decay, 0.0, 1.0)?,
            alignment: c.range(&at("alignment"), n.alignment, -1.0, 1.0)?,
            strategic_value: c.range(&at("strategic_value"), n.strategic_value, 0.0, 1.0)?,
            dependence,
            ecosystem,
            installed_units,
            projects,
            reputation_cost: c.range(&at("reputation_cost"), n.reputation_cost, 0.0, 10.0)?,
        });
    }

    let mut regulators = Vec::new();
    for (id, r) in &file.regulators {
        let at = |k: &str| format!("regulators.{id}.{k}");
        let nation = c.id(&format!("regulators.{id}"), "nation", id, &nation_ids)?;
        let tier_names: Vec<&str> = r.tiers.keys().map(String::as_str).collect();
        let mut tier_rules: Vec<Vec<ExportRule>> = Vec::new();
        for (tier, classes) in &r.tiers {
            let mut rules = vec![ExportRule::ALLOWED; export_classes.len().max(1)];
            for (class, rule) in classes {
                let rp = |k: &str| at(&format!("tiers.{tier}.{class}.{k}"));
                let class_ids: Vec<&str> = export_classes.iter().map(String::as_str).collect();
                let k = c.id(
                    &at(&format!("tiers.{tier}.{class}")),
                    "export class",
                    class,
                    &class_ids,
                )?;
                rules[k] = ExportRule {
                    status: match rule.status {
                        StatusFile::Allowed => ExportStatus::Allowed,
                        StatusFile::Licence => ExportStatus::Licence,
                        StatusFile::Prohibited => ExportStatus::Prohibited,
                    },
                    approval_probability: c.range(
                        &rp("approval_probability"),
                        rule.approval_probability,
                        0.0,
                        1.0,
                    )?,
                    delay_months: {
                        c.range(&rp("delay_months"), rule.delay_months as f64, 0.0, 60.0)?;
                        rule.delay_months
                    },
                    annual_cap_h100e: match rule.annual_cap_h100e {
                        Some(v) => Some(c.at_least(&rp("annual_cap_h100e"), v, 0.0)?),
                        None => None,
                    },
                    exempt_h100e_per_year: c.at_least(
                        &rp("exempt_h100e_per_year"),
                        rule.exempt_h100e_per_year,
                        0.0,
                    )?,
                };
            }
            tier_rules.push(rules);
        }
        let default_tier = match &r.default_tier {
            Some(t) => Some(c.id(&at("default_tier"), "tier", t, &tier_names)?),
            None => None,
        };
        let mut rules = Vec::new();
        for n in &nation_ids {
            let tier = match r.destinations.get(*n) {
                Some(t) => Some(c.id(&at(&format!("destinations.{n}")), "tier", t, &tier_names)?),
                None => default_tier,
            };
            rules.push(match tier {
                Some(k) => tier_rules[k].clone(),
                None => vec![ExportRule::ALLOWED; export_classes.len().max(1)],
            });
        }
        for dest in r.destinations.keys() {
            c.id(
                &at(&format!("destinations.{dest}")),
                "nation",
                dest,
                &nation_ids,
            )?;
        }
        let mut guidance = vec![GuidanceScope::None; firm_ids.len()];
        for (firm, scope) in &r.guidance {
            let k = c.id(&at(&format!("guidance.{firm}")), "firm", firm, &firm_ids)?;
            guidance[k] = match scope {
                ScopeFile::None => GuidanceScope::None,
                ScopeFile::HomeOnly => GuidanceScope::HomeOnly,
                ScopeFile::Global => GuidanceScope::Global,
            };
        }
        let pressure = match &r.pressure {
            None => None,
            Some(x) => {
                let pp = |k: &str| at(&format!("pressure.{k}"));
                Some(PressurePolicy {
                    enabled: x.enabled,
                    propensity: c.range(&pp("propensity"), x.propensity, 0.0, 100.0)?,
                    size_scale_h100e: c.above(&pp("size_scale_h100e"), x.size_scale_h100e, 0.0)?,
                    intensity: c.range(&pp("intensity"), x.intensity, 0.0, 10.0)?,
                    cost: match x.cost {
                        PressureCostFile::LicenceCut => PressureCost::LicenceCut,
                        PressureCostFile::InvestmentWithdrawn => PressureCost::InvestmentWithdrawn,
                        PressureCostFile::Tariff => PressureCost::Tariff,
                    },
                    punishment_months: x.punishment_months,
                    backlash: c.range(&pp("backlash"), x.backlash, 0.0, 1.0)?,
                    compliance_shift: c.range(
                        &pp("compliance_shift"),
                        x.compliance_shift,
                        0.0,
                        1.0,
                    )?,
                })
            }
        };
        let patron = match &r.patron {
            None => None,
            Some(x) => {
                let pp = |k: &str| at(&format!("patron.{k}"));
                Some(PatronPolicy {
                    counter_offer_probability: c.range(
                        &pp("counter_offer_probability"),
                        x.counter_offer_probability,
                        0.0,
                        1.0,
                    )?,
                    counter_offer_value: c.range(
                        &pp("counter_offer_value"),
                        x.counter_offer_value,
                        0.0,
                        10.0,
                    )?,
                    alignment_shift: c.range(
                        &pp("alignment_shift"),
                        x.alignment_shift,
                        0.0,
                        1.0,
                    )?,
                    retaliation_probability: c.range(
                        &pp("retaliation_probability"),
                        x.retaliation_probability,
                        0.0,
                        1.0,
                    )?,
                    retaliation_intensity: c.range(
                        &pp("retaliation_intensity"),
                        x.retaliation_intensity,
                        0.0,
                        1.0,
                    )?,
                    retaliation_months: x.retaliation_months,
                    retaliation_alignment_shift: c.range(
                        &pp("retaliation_alignment_shift"),
                        x.retaliation_alignment_shift,
                        0.0,
                        1.0,
                    )?,
                })
            }
        };
        let mut deals = Vec::new();
        for (did, d) in &r.deals {
            let dp = |k: &str| at(&format!("deals.{did}.{k}"));
            let month = c.month(&dp("month"), &d.month, settings.start)?;
            if month < 0 {
                return Err(c.err(
                    &dp("month"),
                    format!("{} is before the start {}", d.month, settings.start),
                ));
            }
            deals.push(DealParams {
                id: did.clone(),
                enabled: d.enabled,
                nation: c.id(&dp("nation"), "nation", &d.nation, &nation_ids)?,
                product: c.id(&dp("product"), "product", &d.product, &product_ids)?,
                month: month.min(u32::MAX as i64) as u32,
                units_per_year: c.at_least(&dp("units_per_year"), d.units_per_year, 0.0)?,
                licence_exempt: d.licence_exempt,
                constraint_cost: c.range(&dp("constraint_cost"), d.constraint_cost, 0.0, 10.0)?,
                breach_probability: c.range(
                    &dp("breach_probability"),
                    d.breach_probability,
                    0.0,
                    1.0,
                )?,
                detection_probability: c.range(
                    &dp("detection_probability"),
                    d.detection_probability,
                    0.0,
                    1.0,
                )?,
                alignment_shift: c.range(&dp("alignment_shift"), d.alignment_shift, 0.0, 1.0)?,
            });
        }
        let enforcement = match &r.enforcement {
            None => None,
            Some(x) => {
                let ep = |k: &str| at(&format!("enforcement.{k}"));
                Some(EnforcementParams {
                    effort: c.range(&ep("effort"), x.effort, 0.0, 100.0)?,
                    capacity_cases: c.at_least(&ep("capacity_cases"), x.capacity_cases, 0.0)?,
                    fine_per_violation_usd: c.at_least(
                        &ep("fine_per_violation_usd"),
                        x.fine_per_violation_usd,
                        0.0,
                    )?,
                    penalty_value_multiple: c.range(
                        &ep("penalty_value_multiple"),
                        x.penalty_value_multiple,
                        0.0,
                        100.0,
                    )?,
                    permit_hazard: c.range(&ep("permit_hazard"), x.permit_hazard, 0.0, 100.0)?,
                    response_licence_cut: c.range(
                        &ep("response_licence_cut"),
                        x.response_licence_cut,
                        0.0,
                        1.0,
                    )?,
                    response_months: x.response_months,
                })
            }
        };
        regulators.push(RegulatorParams {
            enforcement,
            nation,
            rules,
            guidance,
            guidance_sanction_share: c.range(
                &at("guidance_sanction_share"),
                r.guidance_sanction_share,
                0.0,
                10.0,
            )?,
            pressure,
            patron,
            deals,
        });
    }

    let m = &file.market;
    let market = MarketParams {
        price_performance_weight: c.range(
            "market.price_performance_weight",
            m.price_performance_weight,
            0.0,
            100.0,
        )?,
        alignment_weight: c.range("market.alignment_weight", m.alignment_weight, 0.0, 100.0)?,
        sanction_weight: c.range("market.sanction_weight", m.sanction_weight, 0.0, 1000.0)?,
        availability_weight: c.range(
            "market.availability_weight",
            m.availability_weight,
            0.0,
            100.0,
        )?,
        lead_time_weight_per_month: c.range(
            "market.lead_time_weight_per_month",
            m.lead_time_weight_per_month,
            0.0,
            100.0,
        )?,
    };
    let a = &file.alignment;
    let alignment = AlignmentParams {
        reversion_per_month: c.range(
            "alignment.reversion_per_month",
            a.reversion_per_month,
            0.0,
            1.0,
        )?,
        purchase_pull: c.range("alignment.purchase_pull", a.purchase_pull, 0.0, 1.0)?,
        denial_push: c.range("alignment.denial_push", a.denial_push, 0.0, 1.0)?,
    };
    let mut hubs = Vec::new();
    for (id, h) in &file.hubs {
        let at = |k: &str| format!("hubs.{id}.{k}");
        let mut populations = Vec::new();
        for (name, pf) in &h.populations {
            let pp = pf.clone();
            pp.validate().map_err(|m| {
                let field = m.split_whitespace().next().unwrap_or("").to_string();
                c.err(&at(&format!("populations.{name}.{field}")), m)
            })?;
            populations.push((name.clone(), pp));
        }
        hubs.push(HubParams {
            nation: c.id(&format!("hubs.{id}"), "nation", id, &nation_ids)?,
            destination: c.id(&at("destination"), "nation", &h.destination, &nation_ids)?,
            product: c.id(&at("product"), "product", &h.product, &product_ids)?,
            permit_regime: c.range(&at("permit_regime"), h.permit_regime, 0.0, 1.0)?,
            populations,
        });
    }
    let sm = &file.smuggling;
    let smuggling = SmugglingParams {
        reference_gap_units: c.above(
            "smuggling.reference_gap_units",
            sm.reference_gap_units,
            0.0,
        )?,
        premium_at_reference: c.range(
            "smuggling.premium_at_reference",
            sm.premium_at_reference,
            0.0,
            10.0,
        )?,
        elasticity: c.range("smuggling.elasticity", sm.elasticity, 0.0, 10.0)?,
        max_premium: c.range("smuggling.max_premium", sm.max_premium, 0.0, 100.0)?,
    };
    let d = &file.diplomacy;
    let diplomacy = DiplomacyParams {
        announce_threshold_h100e: c.at_least(
            "diplomacy.announce_threshold_h100e",
            d.announce_threshold_h100e,
            0.0,
        )?,
        decision_noise_sd: c.range(
            "diplomacy.decision_noise_sd",
            d.decision_noise_sd,
            0.0,
            10.0,
        )?,
        deal_value_weight: c.range(
            "diplomacy.deal_value_weight",
            d.deal_value_weight,
            0.0,
            10.0,
        )?,
    };
    for prod in &mut products {
        prod.home = firms[prod.vendor].home;
        prod.regulator = regulators.iter().position(|r| r.nation == prod.home);
    }
    Ok(Params {
        hubs,
        smuggling,
        diplomacy,
        products,
        firms,
        nations,
        regulators,
        export_classes,
        market,
        alignment,
    })
}
