//! A tiny hand-made world for the mechanism unit tests: three nations (USA and CHN are
//! powers with regulator roles, MYS a buyer), two firms (nvidia of the USA, huawei of CHN,
//! which serves China first) and two products (`h100`, export class `frontier`, licensed to
//! MYS with a cap and an exempt quota, prohibited to CHN; `ascend`, never controlled).

use super::params::*;
use super::{Setup, Snapshot};
use crate::calendar::YearMonth;

pub const USA: usize = 0;
pub const CHN: usize = 1;
pub const MYS: usize = 2;
pub const NVIDIA: usize = 0;
pub const HUAWEI: usize = 1;
pub const H100: usize = 0;
pub const ASCEND: usize = 1;

fn nation(id: &str, demand: f64, alignment: f64, installed: Vec<u64>) -> NationParams {
    NationParams {
        id: id.into(),
        demand_h100e_per_month: demand,
        demand_growth_annual: Uncertain::Fixed(0.0),
        demand_noise_sigma: 0.0,
        backlog_decay: 0.5,
        alignment,
        strategic_value: 1.0,
        dependence: vec![0.0, 0.0, 0.0].into(),
        ecosystem: vec![0.0, 0.0].into(),
        installed_units: installed.into(),
        projects: Vec::new(),
        reputation_cost: 0.0,
        gdp_usd: 0.0,
        pledged_investment_usd: vec![0.0, 0.0, 0.0].into(),
        datacentre_mw: 0.0,
        datacentre_mw_per_month: 0.0,
        kw_per_h100e: 1.4,
        investment_stock_usd: vec![0.0, 0.0, 0.0].into(),
        export_exposure: vec![0.0, 0.0, 0.0].into(),
    }
}

fn product(id: &str, vendor: usize, class: Option<usize>, capacity: f64) -> ProductParams {
    ProductParams {
        id: id.into(),
        vendor,
        home: vendor,
        regulator: Some(vendor),
        h100e_per_unit: Uncertain::Fixed(1.0),
        price_usd: 20_000.0,
        export_class: class,
        capacity_units_per_month: capacity,
        capacity_growth_annual: Uncertain::Fixed(0.0),
        yield_start: Uncertain::Fixed(1.0),
        yield_target: Uncertain::Fixed(1.0),
        yield_ramp_months: 0.0,
        yield_sd: 0.0,
        initial_inventory_units: 0,
        power_per_h100e: 1.0,
        sold_to: vec![true; 3].into(),
        dies_per_unit: 1.0,
    }
}

/// The MYS licence: approval certain, 1,000 H100e a year under the cap, 100 exempt.
pub const MYS_LICENCE: ExportRule = ExportRule {
    status: ExportStatus::Licence,
    approval_probability: 1.0,
    delay_months: 2,
    annual_cap_h100e: Some(1000.0),
    exempt_h100e_per_year: 100.0,
    revenue_share: 0.0,
};

fn regulator(nation: usize, rules: Vec<Vec<ExportRule>>) -> RegulatorParams {
    RegulatorParams {
        nation,
        rules: rules.into(),
        guidance: vec![GuidanceScope::None; 2].into(),
        guidance_sanction_share: 0.5,
        guidance_enforcement: None,
        pressure: None,
        patron: None,
        deals: Vec::new(),
        licence_queue: None,
        enforcement: None,
        imports: vec![ImportStance::Allow; 2].into(),
        discourage_cost: Uncertain::Fixed(0.0),
    }
}

/// The tiny world's parameters.
pub fn params() -> Params {
    let prohibited = ExportRule {
        status: ExportStatus::Prohibited,
        ..ExportRule::ALLOWED
    };
    Params {
        products: vec![
            product("h100", NVIDIA, Some(0), 1000.0),
            product("ascend", HUAWEI, None, 500.0),
        ],
        firms: vec![
            FirmParams {
                id: "nvidia".into(),
                home: USA,
                home_priority: false,
                export_discount: 0.0,
                die_supply_per_month: Uncertain::Fixed(0.0),
                die_supply_growth_annual: Uncertain::Fixed(0.0),
            },
            FirmParams {
                id: "huawei".into(),
                home: CHN,
                home_priority: true,
                export_discount: 0.2,
                die_supply_per_month: Uncertain::Fixed(0.0),
                die_supply_growth_annual: Uncertain::Fixed(0.0),
            },
        ],
        nations: vec![
            nation("USA", 600.0, 1.0, vec![100, 0]),
            nation("CHN", 400.0, -1.0, vec![0, 50]),
            nation("MYS", 200.0, 0.0, vec![10, 0]),
        ],
        regulators: vec![
            regulator(
                USA,
                vec![
                    vec![ExportRule::ALLOWED],
                    vec![prohibited],
                    vec![MYS_LICENCE],
                ],
            ),
            regulator(CHN, vec![vec![ExportRule::ALLOWED]; 3]),
        ],
        export_classes: vec!["frontier".into()],
        market: MarketParams {
            price_performance_weight: 2.0,
            sanction_weight: 4.0,
            availability_weight: 1.0,
            lead_time_weight_per_month: 0.1,
            power_weight: 0.0,
        },
        alignment: AlignmentParams {
            reversion_per_month: 0.05,
            purchase_pull: 0.1,
            denial_push: 0.1,
        },
        diplomacy: DiplomacyParams {
            announce_threshold_h100e: 100.0,
            decision_noise_sd: 0.0,
            deal_value_weight: 1.0,
            stakes_weight: 1.0,
            breach_tie_weight: 0.0,
            ecosystem_value_weight: 0.0,
            investment_growth_annual: 0.0,
            investment_alignment_response: 0.0,
        },
        hubs: Vec::new(),
        smuggling: SmugglingParams {
            reference_supply_share: Uncertain::Fixed(0.1),
            premium_at_reference: 0.5,
            demand_elasticity: Uncertain::Fixed(1.0),
            max_premium: 2.0,
            premium_adjustment: Uncertain::Fixed(1.0),
            entry_per_month: Uncertain::Fixed(0.0),
            attrition_per_month: Uncertain::Fixed(0.0),
            route_choice_weight: 5.0,
            switching_cost: 1.0,
            h100e_per_mw: 700.0,
        },
    }
}

/// A setup of `months` months from January 2025 with `p` throughout.
pub fn setup(p: Params, months: u32) -> Setup {
    Setup {
        start: YearMonth {
            year: 2025,
            month: 1,
        },
        months,
        snapshots: vec![Snapshot {
            month: 0,
            params: p,
        }],
        changes: Vec::new(),
    }
}

/// `p` with MYS planning a 1,000-unit Ascend build in month 0 (worth 0.3) and the US pressing
/// over it with `propensity` over a size scale of `size_scale_h100e`, at most at `intensity`,
/// imposing `cost`: the M6 situation the diplomacy tests vary. The US threatens a tariff of
/// 100% on MYS exports worth 1 GDP (so at stakes weight 1 its leverage is 1 per unit of
/// intensity) and pressing is free (it presses at its highest intensity).
pub fn pressed_build(
    mut p: Params,
    propensity: f64,
    size_scale_h100e: f64,
    intensity: f64,
    cost: PressureCost,
) -> Params {
    p.nations[MYS].projects.push(ProjectParams {
        id: "campus".into(),
        month: 0,
        product: ASCEND,
        units: 1000,
        value: 0.3,
    });
    p.nations[MYS].export_exposure[USA] = 1.0;
    p.regulators[0].pressure = Some(PressurePolicy {
        enabled: true,
        propensity,
        size_scale_h100e,
        intensity,
        cost,
        punishment_months: 6,
        backlash: 0.1,
        compliance_shift: 0.2,
        tariff_rate: 1.0,
        investment_at_risk: 0.0,
        press_cost: 0.0,
    });
    p
}

/// A US deal with MYS for 1,200 H100 a year, offered in `month`, with every cost, risk and
/// shift at zero and licences lifted (`licence_exempt`): tests set what they vary.
pub fn deal(month: u32) -> DealParams {
    DealParams {
        id: "campus".into(),
        enabled: true,
        nation: MYS,
        product: H100,
        month,
        units_per_year: 1200.0,
        licence_exempt: true,
        licensed_units: 0.0,
        monitoring_cost: 0.0,
        constraint_cost: 0.0,
        breach_probability: 0.0,
        detection_probability: 0.0,
        alignment_shift: 0.0,
    }
}
