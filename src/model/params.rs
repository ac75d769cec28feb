//! Validated model parameters: what the simulation reads.
//!
//! The scenario module turns a TOML file into these types (ids resolved to indices, strings to
//! enums, every value range-checked). The model never sees ids it has to look up or values it
//! has to check. One [`Params`] value holds the parameters in force between two timeline
//! changes; a replication holds one per timeline snapshot.

use crate::rng::unit_from_key;

/// A parameter that is either known or an estimate drawn once per replication.
///
/// Estimates (CALIBRATION.md rows tagged E or M with a range) are written in a scenario as
/// `{ min = .., max = .. }` (uniform) or `{ min = .., mode = .., max = .. }` (triangular). The
/// draw for replication seed `s` is the inverse CDF at `unit_from_key(s, key)`, where `key` is
/// the hash of the parameter's path, so every timeline snapshot sees the same draw.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Uncertain {
    Fixed(f64),
    Uniform {
        min: f64,
        max: f64,
        key: u64,
    },
    Triangular {
        min: f64,
        mode: f64,
        max: f64,
        key: u64,
    },
}

impl Uncertain {
    /// The value in force: the fixed value, or for an undrawn estimate its central value.
    /// Replications only ever see drawn (fixed) values; see [`Params::realise`].
    pub fn value(&self) -> f64 {
        match *self {
            Uncertain::Fixed(v) => v,
            Uncertain::Uniform { min, max, .. } => 0.5 * (min + max),
            Uncertain::Triangular { min, mode, max, .. } => (min + mode + max) / 3.0,
        }
    }

    /// The draw for replication seed `rep_seed`.
    pub fn draw(&self, rep_seed: u64) -> Uncertain {
        match *self {
            Uncertain::Fixed(_) => *self,
            Uncertain::Uniform { min, max, key } => {
                Uncertain::Fixed(min + unit_from_key(rep_seed, key) * (max - min))
            }
            Uncertain::Triangular {
                min,
                mode,
                max,
                key,
            } => {
                let u = unit_from_key(rep_seed, key);
                let width = max - min;
                if width <= 0.0 {
                    return Uncertain::Fixed(min);
                }
                let split = (mode - min) / width;
                let v = if u < split {
                    min + (u * width * (mode - min)).sqrt()
                } else {
                    max - ((1.0 - u) * width * (max - mode)).sqrt()
                };
                Uncertain::Fixed(v)
            }
        }
    }

    /// Smallest and largest value it can take.
    pub fn bounds(&self) -> (f64, f64) {
        match *self {
            Uncertain::Fixed(v) => (v, v),
            Uncertain::Uniform { min, max, .. } | Uncertain::Triangular { min, max, .. } => {
                (min, max)
            }
        }
    }
}

/// A chip product (MODEL.md §2).
#[derive(Clone, Debug, PartialEq)]
pub struct ProductParams {
    pub id: String,
    /// Index of the firm that makes it.
    pub vendor: usize,
    /// Index of the vendor's home nation (resolved once at validation).
    pub home: usize,
    /// Index into [`Params::regulators`] of the home nation's regulator role, which governs
    /// the product's exports; `None` when the home nation regulates nothing (resolved once at
    /// validation, so the model never searches for it or falls back to another regulator).
    pub regulator: Option<usize>,
    pub h100e_per_unit: Uncertain,
    pub price_usd: f64,
    /// Export-control class (index into [`Params::export_classes`]); `None` = never controlled.
    pub export_class: Option<usize>,
    /// Units per month the line can start at month 0 (before yield).
    pub capacity_units_per_month: f64,
    /// Annual growth of capacity, compounded monthly.
    pub capacity_growth_annual: Uncertain,
    /// Share of started units that are good at month 0, ramping linearly to `yield_target`.
    pub yield_start: Uncertain,
    pub yield_target: Uncertain,
    pub yield_ramp_months: f64,
    /// Standard deviation of the monthly yield draw around its ramp (0 = deterministic).
    pub yield_sd: f64,
    /// Units in the vendor's inventory at month 0.
    pub initial_inventory_units: u64,
}

/// A firm (MODEL.md §2).
#[derive(Clone, Debug, PartialEq)]
pub struct FirmParams {
    pub id: String,
    /// Index of the nation it is headquartered in (its regulator).
    pub home: usize,
    /// Serve the home nation's orders before exports (M10: China supplies itself first).
    pub home_priority: bool,
    /// Price discount offered to foreign buyers (M10 patron incentive), in [0, 1).
    pub export_discount: f64,
}

/// A discrete build a nation plans (MODEL.md M2), e.g. "3,000 Ascend servers by 2026".
#[derive(Clone, Debug, PartialEq)]
pub struct ProjectParams {
    pub id: String,
    /// Month index at which the order is placed.
    pub month: u32,
    pub product: usize,
    pub units: u64,
    /// What the build is worth to the nation (M6), on the same 0–1 scale as pressure costs.
    pub value: f64,
}

/// A nation (MODEL.md §2).
#[derive(Clone, Debug, PartialEq)]
pub struct NationParams {
    pub id: String,
    /// New compute wanted per month at month 0, in H100e.
    pub demand_h100e_per_month: f64,
    pub demand_growth_annual: Uncertain,
    /// Sigma of the monthly lognormal demand shock (mean-one).
    pub demand_noise_sigma: f64,
    /// Share of unmet demand that lapses each month; the rest carries over as backlog.
    pub backlog_decay: f64,
    /// Alignment at month 0, in [-1, 1] (-1 China-aligned, +1 US-aligned).
    pub alignment: f64,
    /// How much the nation matters to the powers (scales their will to press it), in [0, 1].
    pub strategic_value: f64,
    /// Dependence on each nation (indexed by nation): what pressure from it costs, in [0, 1].
    pub dependence: Vec<f64>,
    /// Utility bonus for each firm's stack (indexed by firm): ecosystem pull.
    pub ecosystem: Vec<f64>,
    /// Units installed at month 0 (indexed by product).
    pub installed_units: Vec<u64>,
    pub projects: Vec<ProjectParams>,
    /// Cost of backing down after announcing (M6), 0–1 scale.
    pub reputation_cost: f64,
}

/// What an export rule says about a destination for one class of products (MODEL.md M3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportStatus {
    Allowed,
    Licence,
    Prohibited,
}

/// An export rule for one (tier, export class).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ExportRule {
    pub status: ExportStatus,
    /// Chance that a month's licence application is approved.
    pub approval_probability: f64,
    /// Months between approval and delivery.
    pub delay_months: u32,
    /// Licensed H100e a destination may receive per calendar year (None = no cap).
    pub annual_cap_h100e: Option<f64>,
    /// H100e per year that ship without a licence (low-volume exception), outside the cap.
    pub exempt_h100e_per_year: f64,
}

impl ExportRule {
    pub const ALLOWED: ExportRule = ExportRule {
        status: ExportStatus::Allowed,
        approval_probability: 1.0,
        delay_months: 0,
        annual_cap_h100e: None,
        exempt_h100e_per_year: 0.0,
    };
}

/// Scope of a regulator's warning against a rival's chips (MODEL.md M4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum GuidanceScope {
    None,
    /// Only in the rival firm's home market.
    HomeOnly,
    /// Anywhere in the world.
    Global,
}

/// A nation's regulator role (MODEL.md §2): export rules for its firms' products and guidance
/// against rival firms.
#[derive(Clone, Debug, PartialEq)]
pub struct RegulatorParams {
    /// Index of the regulating nation.
    pub nation: usize,
    /// Rule for each (destination nation, export class): `rules[nation][class]`.
    pub rules: Vec<Vec<ExportRule>>,
    /// Guidance scope against each firm (indexed by firm).
    pub guidance: Vec<GuidanceScope>,
    /// Expected sanction cost of adopting a warned-against product, as a share of its price,
    /// for an adopter fully dependent on this regulator.
    pub guidance_sanction_share: f64,
    /// How this nation presses others over rival-stack deployments (M6), if it does.
    pub pressure: Option<PressurePolicy>,
    /// How this nation backs its own firms' stack abroad (M10), if it does.
    pub patron: Option<PatronPolicy>,
    /// Allocations it offers for security agreements (M8).
    pub deals: Vec<DealParams>,
    /// Its enforcement against diversion of its firms' chips (M9), if any.
    pub enforcement: Option<EnforcementParams>,
}

/// M9: a regulator's enforcement against diversion.
#[derive(Clone, Debug, PartialEq)]
pub struct EnforcementParams {
    /// Detection hazard per case when capacity is not stretched.
    pub effort: f64,
    /// Cases a month it can pursue at full attention.
    pub capacity_cases: f64,
    pub fine_per_violation_usd: f64,
    pub penalty_value_multiple: f64,
    /// Hazard a hub's full permit regime adds.
    pub permit_hazard: f64,
    /// After a detection in a hub: licence cut for the hub (share) and for how long.
    pub response_licence_cut: f64,
    pub response_months: u32,
}

/// M9: a transshipment hub.
#[derive(Clone, Debug, PartialEq)]
pub struct HubParams {
    pub nation: usize,
    /// The prohibited destination its intermediaries divert to.
    pub destination: usize,
    /// The controlled product they import.
    pub product: usize,
    /// The hub's own permit regime, 0–1 (Malaysia's from 2025-07).
    pub permit_regime: f64,
    pub populations: Vec<(String, crate::model::smuggling::PopulationParams)>,
}

/// M9: the grey market at prohibited destinations.
#[derive(Clone, Debug, PartialEq)]
pub struct SmugglingParams {
    pub reference_gap_units: f64,
    /// Premium at the reference gap, share of list price (≈0.5 in 2024–25).
    pub premium_at_reference: f64,
    pub elasticity: f64,
    pub max_premium: f64,
}

/// The cost a presser threatens (M6) and imposes if the target holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PressureCost {
    /// Licence caps and approval odds cut by the intensity.
    LicenceCut,
    /// Investment withdrawn: the target's demand falls by half the intensity.
    InvestmentWithdrawn,
    /// A tariff: the target's demand falls by half the intensity.
    Tariff,
}

/// M6: a power's policy of pressing nations that announce rival-stack deployments.
#[derive(Clone, Debug, PartialEq)]
pub struct PressurePolicy {
    pub enabled: bool,
    /// Chance of pressing = 1 - exp(-propensity × strategic value × size / size_scale).
    pub propensity: f64,
    pub size_scale_h100e: f64,
    /// Threatened cost, 0–1 (times the target's dependence on the presser).
    pub intensity: f64,
    pub cost: PressureCost,
    /// Months the threatened cost lasts when the target holds.
    pub punishment_months: u32,
    /// Alignment the target moves away from the presser when pressed (backlash).
    pub backlash: f64,
    /// Alignment the target moves toward the presser when it complies.
    pub compliance_shift: f64,
}

/// M10: a rival patron's counter-offers and retaliation.
#[derive(Clone, Debug, PartialEq)]
pub struct PatronPolicy {
    /// Chance it counters pressure on a deployment of its stack.
    pub counter_offer_probability: f64,
    /// Value of the counter-offer (discounts, financing, investment), 0–1 scale.
    pub counter_offer_value: f64,
    /// Alignment a target moves toward the patron when it holds with a counter-offer.
    pub alignment_shift: f64,
    /// Chance it retaliates against a nation that retracts under pressure.
    pub retaliation_probability: f64,
    /// Trade cost of retaliation: the target's demand falls by this share.
    pub retaliation_intensity: f64,
    pub retaliation_months: u32,
    /// Alignment a retaliated-against nation moves away from the patron.
    pub retaliation_alignment_shift: f64,
}

/// M8: an allocation offered for a security agreement.
#[derive(Clone, Debug, PartialEq)]
pub struct DealParams {
    pub id: String,
    pub enabled: bool,
    pub nation: usize,
    pub product: usize,
    /// Month index of the offer.
    pub month: u32,
    pub units_per_year: f64,
    /// Accepted: the nation imports the regulator's products without licences or caps.
    pub licence_exempt: bool,
    /// Cost of the constraints (no rival chips, KYC, anti-diversion), 0–1 scale.
    pub constraint_cost: f64,
    /// Monthly chance the partner breaches, and that a breach is detected (revoking the deal).
    pub breach_probability: f64,
    pub detection_probability: f64,
    /// Alignment the partner moves toward the regulator on accepting.
    pub alignment_shift: f64,
}

/// M6/M8 settings shared by all nations.
#[derive(Clone, Debug, PartialEq)]
pub struct DiplomacyParams {
    /// Planned builds of at least this size (H100e) are announced.
    pub announce_threshold_h100e: f64,
    /// Standard deviation of the noise on a nation's retract/hold and accept/reject choices.
    pub decision_noise_sd: f64,
    /// Value of a deal allocation covering a year of the nation's demand, 0–1 scale.
    pub deal_value_weight: f64,
}

/// Vendor-choice weights (MODEL.md M5), shared by all nations.
#[derive(Clone, Debug, PartialEq)]
pub struct MarketParams {
    /// Weight on ln(H100e per $10k).
    pub price_performance_weight: f64,
    /// Weight on alignment × vendor-home alignment.
    pub alignment_weight: f64,
    /// Weight on the expected sanction cost (share of price).
    pub sanction_weight: f64,
    /// Weight on ln(licence approval probability).
    pub availability_weight: f64,
    /// Utility lost per month of licence delay.
    pub lead_time_weight_per_month: f64,
}

/// How alignment moves between events (MODEL.md M7).
#[derive(Clone, Debug, PartialEq)]
pub struct AlignmentParams {
    /// Share of the gap to its initial alignment a nation closes each month.
    pub reversion_per_month: f64,
    /// Alignment move per month for buying only from one side (scaled by the import mix).
    pub purchase_pull: f64,
    /// Alignment move away from a regulator per month for having all demand denied by it.
    pub denial_push: f64,
}

/// All parameters in force at one time.
#[derive(Clone, Debug, PartialEq)]
pub struct Params {
    pub products: Vec<ProductParams>,
    pub firms: Vec<FirmParams>,
    pub nations: Vec<NationParams>,
    /// Regulator roles, at most one per nation.
    pub regulators: Vec<RegulatorParams>,
    /// Names of the export classes products belong to.
    pub export_classes: Vec<String>,
    pub market: MarketParams,
    pub alignment: AlignmentParams,
    pub diplomacy: DiplomacyParams,
    pub hubs: Vec<HubParams>,
    pub smuggling: SmugglingParams,
}

impl Params {
    /// A copy with every uncertain parameter drawn for replication seed `rep_seed`.
    pub fn realise(&self, rep_seed: u64) -> Params {
        let mut p = self.clone();
        for prod in &mut p.products {
            for u in [
                &mut prod.h100e_per_unit,
                &mut prod.capacity_growth_annual,
                &mut prod.yield_start,
                &mut prod.yield_target,
            ] {
                *u = u.draw(rep_seed);
            }
        }
        for n in &mut p.nations {
            n.demand_growth_annual = n.demand_growth_annual.draw(rep_seed);
        }
        p
    }

    /// The regulator role of nation `nation`, if it has one.
    pub fn regulator_of(&self, nation: usize) -> Option<&RegulatorParams> {
        self.regulators.iter().find(|r| r.nation == nation)
    }

    /// The rule governing sales of `product` to `destination`: the vendor's home regulator's
    /// rule for the product's class, or `ALLOWED` when there is no regulator, no class, or the
    /// destination is the vendor's home.
    pub fn export_rule(&self, product: usize, destination: usize) -> ExportRule {
        let prod = &self.products[product];
        match (prod.export_class, prod.regulator) {
            (Some(class), Some(r)) if destination != prod.home => {
                self.regulators[r].rules[destination][class]
            }
            _ => ExportRule::ALLOWED,
        }
    }
}
