//! Every parameter of the model, declared once (see [`crate::model::schema`]).
//!
//! Each `declare_params!` section below gives, for every key: its name, file type, default
//! (`None`: required), valid range and unit, with its doc comment as its meaning. From it come
//! the scenario file format (`*File` types), the validated parameters the simulation reads
//! (`*Params` types: ids resolved to indices, strings to enums, every value range-checked),
//! `chipdip params` and `docs/parameters.md`. The model never sees ids it has to look up or
//! values it has to check. One [`Params`] value holds the parameters in force between two
//! timeline changes; a replication holds one per timeline snapshot.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::schema::*;
use super::smuggling::{PopulationFile, PopulationParams};
use crate::declare_params;
use crate::rng::unit_from_key;

/// A parameter that is either known or an estimate drawn once per replication.
///
/// Estimates (docs/calibration.md rows tagged E or M with a range) are written in a scenario as
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

/// What an export rule says about a destination for one class of products (M3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportStatus {
    Allowed,
    Licence,
    Prohibited,
}

/// Scope of a regulator's warning against a rival's chips (M4).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GuidanceScope {
    #[default]
    None,
    /// Only in the rival firm's home market.
    HomeOnly,
    /// In third countries too: every buyer outside the regulator's own nation (the 2025
    /// Ascend guidance, before and after its softening). `global` is accepted as a synonym.
    #[serde(alias = "global")]
    ThirdCountries,
}

/// The cost a presser threatens (M6) and imposes if the target holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PressureCost {
    /// Licence caps and approval odds cut by the intensity.
    LicenceCut,
    /// Investment withdrawn: the target's demand falls by half the intensity.
    InvestmentWithdrawn,
    /// A tariff: the target's demand falls by half the intensity.
    Tariff,
}

/// A nation's stance toward buying a foreign product (M11: China's own import policy).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportStance {
    /// Buyers may buy it.
    #[default]
    Allow,
    /// Buyers are told to avoid it (summons, window guidance): a utility cost.
    Discourage,
    /// Buyers may not buy it.
    Ban,
}

impl Choice for ImportStance {
    const WORDS: &'static str = "allow | discourage | ban";
}
impl Choice for ExportStatus {
    const WORDS: &'static str = "allowed | licence | prohibited";
}
impl Choice for GuidanceScope {
    const WORDS: &'static str = "none | home_only | third_countries";
}
impl Choice for PressureCost {
    const WORDS: &'static str = "licence_cut | investment_withdrawn | tariff";
}
crate::choice_value!(ExportStatus, GuidanceScope, PressureCost, ImportStance);
crate::nothing_to_draw!(ExportStatus, GuidanceScope, PressureCost, ImportStance);

declare_params! {
    /// A chip product (`[products.ID]`).
    pub struct ProductParams from ProductFile {
        /// Firm that makes the product.
        vendor: FirmId = None, Range::Any, "";
        /// Performance per unit in H100-equivalents (a range is drawn per replication).
        h100e_per_unit: UncertainFile = None, Range::Within(0.0, 1e3), "H100e/unit";
        /// List price per unit.
        price_usd: f64 = None, Range::Above(0.0), "USD/unit";
        /// Export-control class the vendor's regulator applies (none: never controlled).
        export_class: Option<ClassName> = Some(None), Range::Any, "";
        /// Units the line can start per month at month 0 (before yield).
        capacity_units_per_month: f64 = None, Range::AtLeast(0.0), "units/month";
        /// Annual growth of capacity, compounded monthly (0.5 = +50%/yr).
        capacity_growth_annual: UncertainFile = Some(0.0.into()), Range::Closed(-0.99, 100.0), "1/yr";
        /// Share of started units that are good at month 0, ramping linearly to the target.
        yield_start: UncertainFile = Some(1.0.into()), Range::Closed(0.0, 1.0), "share";
        /// Yield reached after the ramp.
        yield_target: UncertainFile = Some(1.0.into()), Range::Closed(0.0, 1.0), "share";
        /// Months to ramp from the starting to the target yield.
        yield_ramp_months: f64 = Some(0.0), Range::AtLeast(0.0), "months";
        /// Standard deviation of the monthly yield draw around its ramp (0: deterministic).
        yield_sd: f64 = Some(0.0), Range::Closed(0.0, 1.0), "share";
        /// Units in the vendor's inventory at month 0.
        initial_inventory_units: u64 = Some(0), Range::Any, "units", AtStart;
        /// Power drawn per H100e of this product relative to an H100 (M3: a chip cut down for
        /// export, such as the H20, draws more per unit of compute, so it fills a nation's
        /// data-centre capacity, `nations.*.kw_per_h100e` per H100e, faster).
        power_per_h100e: f64 = Some(1.0), Range::Within(0.0, 100.0), "x H100";
        /// Nations the vendor sells the product to (`{ CHN = true }`: a variant made for one
        /// market, as the H20 was for China); empty: every nation. Other buyers cannot order
        /// it (M5), so stock no one may buy stays with the vendor.
        sold_to: PerNation<bool> = Some(PerNation::default()), Range::Any, "";
        /// Logic dies a started unit takes from its vendor's die supply (`firms.*.die_supply_per_month`):
        /// 2 for a package of two dies such as the Ascend 910C.
        dies_per_unit: f64 = Some(1.0), Range::Within(0.0, 64.0), "dies/unit";
    }
    derived {
        /// The product's id.
        id: String;
        /// Index of the vendor's home nation.
        home: usize;
        /// Index into [`Params::regulators`] of the home nation's regulator role, which
        /// governs the product's exports; `None` when the home nation regulates nothing.
        /// Resolved once at validation, so the model never searches for it.
        regulator: Option<usize>;
    }

    /// A firm (`[firms.ID]`).
    pub struct FirmParams from FirmFile {
        /// Nation the firm is headquartered in (its regulator).
        home: NationId = None, Range::Any, "";
        /// Serve the home nation's orders before exports (M10: China supplies itself first).
        home_priority: bool = Some(false), Range::Any, "";
        /// Price discount offered to foreign buyers (M10 patron incentive).
        export_discount: f64 = Some(0.0), Range::Closed(0.0, 0.95), "share of price";
        /// Good logic dies a month that all the firm's lines share at month 0 (M1: a foundry
        /// allocation such as Huawei's at SMIC's 7 nm node); 0: no shared limit.
        die_supply_per_month: UncertainFile = Some(0.0.into()), Range::AtLeast(0.0), "dies/month";
        /// Annual growth of the die supply, compounded monthly.
        die_supply_growth_annual: UncertainFile = Some(0.0.into()), Range::Closed(-0.99, 100.0), "1/yr";
    }
    derived {
        /// The firm's id.
        id: String;
    }

    /// A discrete build a nation plans (M2), e.g. "3,000 Ascend servers by 2026"
    /// (`[nations.X.projects.ID]`).
    pub struct ProjectParams from ProjectFile {
        /// Month the planned build places its order.
        month: Month = None, Range::Any, "YYYY-MM";
        /// Product the planned build uses.
        product: ProductId = None, Range::Any, "";
        /// Units the planned build orders.
        units: u64 = None, Range::Any, "units";
        /// What the build is worth to the nation (M6), on the same scale as pressure costs.
        value: f64 = Some(0.2), Range::Closed(0.0, 10.0), "0-1 scale";
    }
    derived {
        /// The project's id.
        id: String;
    }

    /// A nation (`[nations.ID]`).
    pub struct NationParams from NationFile {
        /// New compute wanted per month at month 0.
        demand_h100e_per_month: f64 = None, Range::AtLeast(0.0), "H100e/month";
        /// Annual growth of demand (a range is drawn per replication).
        demand_growth_annual: UncertainFile = Some(0.0.into()), Range::Closed(-0.99, 100.0), "1/yr";
        /// Sigma of the monthly mean-one lognormal demand shock.
        demand_noise_sigma: f64 = Some(0.0), Range::Closed(0.0, 3.0), "";
        /// Share of unmet demand that lapses each month; the rest carries over as backlog.
        backlog_decay: f64 = Some(0.5), Range::Closed(0.0, 1.0), "share/month";
        /// Initial alignment, -1 China-aligned to +1 US-aligned.
        alignment: f64 = None, Range::Closed(-1.0, 1.0), "";
        /// How much the powers care about this nation (scales their will to press it).
        strategic_value: f64 = Some(0.5), Range::Closed(0.0, 1.0), "0-1";
        /// Dependence on each nation (trade, investment, security): what pressure from it costs.
        dependence: PerNation<f64> = Some(PerNation::default()), Range::Closed(0.0, 1.0), "0-1";
        /// Utility bonus for each firm's stack (ecosystem pull).
        ecosystem: PerFirm<f64> = Some(PerFirm::default()), Range::Closed(-20.0, 20.0), "utility";
        /// Units of each product installed at month 0.
        installed_units: PerProduct<u64> = Some(PerProduct::default()), Range::Any, "units", AtStart;
        /// Planned builds (M2, M6).
        projects: BTreeMap<String, ProjectFile> = Some(BTreeMap::new()), Range::Any, "";
        /// Cost of backing down after announcing (M6), on the scale of pressure costs.
        reputation_cost: f64 = Some(0.1), Range::Closed(0.0, 10.0), "0-1 scale";
        /// Gross domestic product: the scale against which investment and trade at stake are
        /// weighed (M6; 0 leaves them out).
        gdp_usd: f64 = Some(0.0), Range::AtLeast(0.0), "USD";
        /// Investment stock held in this nation by each nation's firms at month 0 (M6: what
        /// pressure can threaten; it then grows with alignment toward the investor).
        investment_stock_usd: PerNation<f64> = Some(PerNation::default()), Range::AtLeast(0.0), "USD", AtStart;
        /// Investment this nation has pledged in each nation (M3: a pledge to the regulator's
        /// nation raises the odds of its licences).
        pledged_investment_usd: PerNation<f64> = Some(PerNation::default()), Range::AtLeast(0.0), "USD";
        /// Data-centre capacity online at month 0 for AI chips (M3: deliveries beyond what it
        /// can power wait; 0: unconstrained).
        datacentre_mw: f64 = Some(0.0), Range::AtLeast(0.0), "MW", AtStart;
        /// Capacity coming online each month (a timeline change sets a new pace).
        datacentre_mw_per_month: f64 = Some(0.0), Range::AtLeast(0.0), "MW/month";
        /// Power per installed H100e, facility included.
        kw_per_h100e: f64 = Some(1.4), Range::Above(0.0), "kW/H100e";
        /// Exports to each nation as a share of GDP (M6: what a tariff threat reaches).
        export_exposure: PerNation<f64> = Some(PerNation::default()), Range::Closed(0.0, 1.0), "share of GDP";
    }
    derived {
        /// The nation's id.
        id: String;
    }

    /// An export rule for one (tier, export class) (`[regulators.X.tiers.TIER.CLASS]`, M3).
    #[derive(Copy)]
    pub struct ExportRule from RuleFile {
        /// allowed | licence | prohibited for that tier and class.
        status: ExportStatus = None, Range::Any, "";
        /// Chance that a month's licence application is approved.
        approval_probability: f64 = Some(1.0), Range::Closed(0.0, 1.0), "probability";
        /// Months from approval to delivery.
        delay_months: u32 = Some(0), Range::Closed(0.0, 60.0), "months";
        /// Licensed H100e a destination may receive per calendar year (none: no cap).
        annual_cap_h100e: Option<f64> = Some(None), Range::AtLeast(0.0), "H100e/yr";
        /// H100e per year that ship without a licence (low-volume exception), outside the cap.
        exempt_h100e_per_year: f64 = Some(0.0), Range::AtLeast(0.0), "H100e/yr";
        /// Share of the value of licensed sales paid to the exporting government as a licence
        /// condition (H20 15% from 2025-08, H200 25% from 2025-12); passed on to the buyer.
        revenue_share: f64 = Some(0.0), Range::Closed(0.0, 1.0), "share of price";
    }

    /// A nation's regulator role (`[regulators.NATION]`): export rules for its firms' products
    /// and guidance against rival firms.
    pub struct RegulatorParams from RegulatorFile {
        /// Guidance against that firm's chips: none | home_only | global (M4).
        guidance: PerFirm<GuidanceScope> = Some(PerFirm::default()), Range::Any, "";
        /// Sanction cost of adopting a warned-against product when enforced, as a share of its
        /// price, for an adopter fully dependent on this regulator (M4).
        guidance_sanction_share: f64 = Some(0.0), Range::Closed(0.0, 10.0), "share of price";
        /// How likely its guidance is enforced (M4); absent: certain.
        guidance_enforcement: Option<GuidanceEnforcementFile> = Some(None), Range::Any, "";
        /// How this nation presses others over rival-stack deployments (M6), if it does.
        pressure: Option<PressureFile> = Some(None), Range::Any, "";
        /// How this nation backs its own firms' stack abroad (M10), if it does.
        patron: Option<PatronFile> = Some(None), Range::Any, "";
        /// Allocations it offers for security agreements (M8).
        deals: BTreeMap<String, DealFile> = Some(BTreeMap::new()), Range::Any, "";
        /// Its queue for large licences, such as those a deal asks for (M3), if any.
        licence_queue: Option<LicenceQueueFile> = Some(None), Range::Any, "";
        /// Its enforcement against diversion of its firms' chips (M9), if any.
        enforcement: Option<EnforcementFile> = Some(None), Range::Any, "";
        /// Its own import policy (M11): stance toward buying each foreign product,
        /// allow | discourage | ban (not listed: allow).
        imports: PerProduct<ImportStance> = Some(PerProduct::default()), Range::Any, "";
        /// Utility a buyer of a discouraged product loses (M11; a range is drawn per replication).
        discourage_cost: UncertainFile = Some(0.0.into()), Range::Closed(0.0, 50.0), "utility";
    }
    file_only {
        /// Tier of destinations not listed.
        default_tier: Option<String> = Some(None);
        /// Export tier of each destination.
        destinations: PerNation<String> = Some(PerNation::default());
        /// The rules of each tier, per export class.
        tiers: BTreeMap<String, PerEntity<OfClass, RuleFile>> = Some(BTreeMap::new());
    }
    derived {
        /// Index of the regulating nation.
        nation: usize;
        /// Rule for each (destination nation, export class): `rules[nation][class]` (shared
        /// between copies of the parameters, like the per-entity tables).
        rules: Shared<Vec<ExportRule>>;
    }

    /// M9: a regulator's enforcement against diversion as a caseload
    /// (`[regulators.X.enforcement]`).
    pub struct EnforcementParams from EnforcementFile {
        /// Investigations of diversion through hubs the regulator opens a year (its capacity;
        /// a range is drawn per replication).
        investigations_per_year: UncertainFile = None, Range::Closed(0.0, 1e5), "cases/yr";
        /// Shortest months an investigation runs (its duration is a uniform integer between
        /// this and `case_months_max`).
        case_months_min: u32 = Some(3), Range::Closed(1.0, 120.0), "months";
        /// Longest months an investigation runs.
        case_months_max: u32 = Some(12), Range::Closed(1.0, 120.0), "months";
        /// Share of cases that close with a seizure of the month's imports and a penalty (a
        /// range is drawn).
        seizure_share: UncertainFile = Some(0.2.into()), Range::Closed(0.0, 1.0), "share of cases";
        /// Share of cases that close with a prosecution (penalty, the intermediary leaves).
        prosecution_share: UncertainFile = Some(0.3.into()), Range::Closed(0.0, 1.0), "share of cases";
        /// Share of cases that close with a cut of the hub's licences (`response_licence_cut`
        /// for `response_months`); the rest close with nothing.
        licence_cut_share: UncertainFile = Some(0.1.into()), Range::Closed(0.0, 1.0), "share of cases";
        /// Chance that an intermediary stops diverting while its case is open.
        deterrence: UncertainFile = Some(0.5.into()), Range::Closed(0.0, 1.0), "probability";
        /// How much more likely intermediaries think a case is than last year's caseload per
        /// unit diverted says (publicised cases, prison terms; a range is drawn).
        salience: UncertainFile = Some(1.0.into()), Range::Closed(0.0, 1e4), "x caseload rate";
        /// How much more conspicuous a hub's diversion is under its full permit regime
        /// (end-user declarations, 30 days' notice): weight of the hub in targeting and in
        /// perceived risk is `1 + permit_conspicuity × permit_regime`.
        permit_conspicuity: f64 = Some(0.0), Range::Closed(0.0, 1000.0), "x";
        /// Fine per violation (the penalty is the greater of this and the value multiple).
        fine_per_violation_usd: f64 = None, Range::AtLeast(0.0), "USD";
        /// Penalty as a multiple of the transaction value (the lots a case covers).
        penalty_value_multiple: f64 = None, Range::Closed(0.0, 100.0), "x value";
        /// Licence cut for a hub where a case closes with a licence cut.
        response_licence_cut: f64 = None, Range::Closed(0.0, 1.0), "share";
        /// Months the response lasts.
        response_months: u32 = None, Range::Any, "months";
        /// Strength of a know-your-customer / remote-access restriction on the hubs' data
        /// centres renting this regulator's firms' compute to prohibited destinations, 0-1
        /// (off in 2025; M9 remote access).
        remote_access_rule: f64 = Some(0.0), Range::Closed(0.0, 1.0), "0-1";
        /// Share of the rentals a rule in force stops (its enforcement; a range is drawn).
        remote_access_enforcement: UncertainFile = Some(0.8.into()), Range::Closed(0.0, 1.0), "share";
    }

    /// M9: a transshipment hub and its intermediary populations (`[hubs.NATION]`).
    pub struct HubParams from HubFile {
        /// Prohibited destination the hub's intermediaries divert to.
        destination: NationId = None, Range::Any, "", AtStart;
        /// Controlled product the intermediaries import.
        product: ProductId = None, Range::Any, "", AtStart;
        /// The hub's own export-permit regime (Malaysia's from 2025-07).
        permit_regime: f64 = Some(0.0), Range::Closed(0.0, 1.0), "0-1";
        /// Investigations of diversion the hub's own authorities open a year under a full
        /// permit regime (scaled by `permit_regime`; their outcomes and penalties are the
        /// product regulator's).
        investigations_per_year: f64 = Some(0.0), Range::Closed(0.0, 1e5), "cases/yr";
        /// Share of the hub's installed compute from the product regulator's firms that its
        /// data centres rent to the destination at the reference premium (M9 remote access; a
        /// range is drawn).
        remote_access_share: UncertainFile = Some(0.0.into()), Range::Closed(0.0, 1.0), "share";
        /// Data-centre capacity the hub's operators offer to the destination (bounds the
        /// rentals).
        remote_access_mw: f64 = Some(0.0), Range::AtLeast(0.0), "MW";
        /// Populations of intermediaries, by name.
        populations: Populations = None, Range::Any, "", AtStart;
    }
    derived {
        /// Index of the hub nation.
        nation: usize;
    }

    /// M9: the grey market at prohibited destinations (`[smuggling]`).
    pub struct SmugglingParams from SmugglingFile {
        /// Share of the destination's unmet demand met by last month's smuggled supply at which
        /// the grey market clears at the reference premium (M9; a range is drawn).
        reference_supply_share: UncertainFile = Some(0.1.into()), Range::Within(0.0, 1.0), "share of unmet demand";
        /// Grey-market premium at the reference supply share (≈0.5 in 2024–25).
        premium_at_reference: f64 = Some(0.5), Range::Closed(0.0, 10.0), "share of list price";
        /// Price elasticity of the destination's demand for grey chips: the premium is
        /// `premium_at_reference × (share / reference_supply_share)^(−1 / elasticity)` (M9; a
        /// range is drawn).
        demand_elasticity: UncertainFile = Some(1.0.into()), Range::Closed(0.05, 20.0), "";
        /// Highest premium, what the destination pays when almost nothing is smuggled in.
        max_premium: f64 = Some(2.0), Range::Closed(0.0, 100.0), "share of list price";
        /// Share of the way from last month's premium to the clearing premium that the premium
        /// moves in a month (1: clears at once; less damps a cobweb between supply and price).
        premium_adjustment: UncertainFile = Some(0.5.into()), Range::Closed(0.01, 1.0), "share per month";
        /// Intermediaries entering the trade per month, per destination, for each unit of
        /// expected margin (share of the lot's value) summed over its hubs (M9; a range is
        /// drawn per replication).
        entry_per_month: UncertainFile = Some(0.0.into()), Range::Closed(0.0, 1e6), "entrants/month per unit margin";
        /// Monthly probability that an intermediary in the trade winds up, caught or not
        /// (M9; a range is drawn).
        attrition_per_month: UncertainFile = Some(0.0.into()), Range::Closed(0.0, 1.0), "share per month";
        /// Logit weight of an entrant's choice of hub on the hub's expected margin (M9).
        route_choice_weight: f64 = Some(5.0), Range::Closed(0.0, 1000.0), "utility per unit margin";
        /// Utility an intermediary leaving an unprofitable hub loses by setting up in another
        /// (M9), against leaving the trade at utility 0.
        switching_cost: f64 = Some(1.0), Range::Closed(0.0, 100.0), "utility";
        /// H100e a megawatt of data-centre capacity holds (≈1.4 kW per H100 all-in; M9 remote
        /// access).
        h100e_per_mw: f64 = Some(700.0), Range::Above(0.0), "H100e/MW";
    }

    /// M3: a regulator's queue of licence applications per (destination, export class)
    /// (`[regulators.X.licence_queue]`).
    #[derive(Copy)]
    pub struct LicenceQueueParams from LicenceQueueFile {
        /// Months an application waits before its first review.
        processing_months: u32 = Some(3), Range::Closed(0.0, 60.0), "months";
        /// Months a deal's application saves in the queue (its priority).
        deal_months_saved: u32 = Some(0), Range::Closed(0.0, 60.0), "months";
        /// Monthly odds of approval once reviewed, for a destination with no standing.
        base_odds: f64 = Some(0.2), Range::Closed(0.0, 1.0), "probability/month";
        /// Odds added by a signed security agreement (an accepted deal) with the destination.
        security_agreement_odds: f64 = Some(0.0), Range::Closed(0.0, 1.0), "probability/month";
        /// Odds added once the deal's safeguards are verified (in force for `safeguards_months`).
        safeguards_odds: f64 = Some(0.0), Range::Closed(0.0, 1.0), "probability/month";
        /// Months a deal must be in force before its safeguards count as verified.
        safeguards_months: u32 = Some(3), Range::Closed(0.0, 60.0), "months";
        /// Odds added by investment the destination pledged in the regulator's nation, at the
        /// pledge scale (linear below it).
        investment_odds: f64 = Some(0.0), Range::Closed(0.0, 1.0), "probability/month";
        /// Pledge that earns the full investment odds.
        pledge_scale_usd: f64 = Some(1e12), Range::Above(0.0), "USD";
        /// Odds lost per other application pending at the regulator (its backlog).
        backlog_penalty: f64 = Some(0.0), Range::Closed(0.0, 1.0), "probability/application";
    }

    /// M4: how likely a regulator's guidance is enforced against an adopter in scope
    /// (`[regulators.X.guidance_enforcement]`).
    #[derive(Copy)]
    pub struct GuidanceEnforcement from GuidanceEnforcementFile {
        /// Chance that the guidance is enforced against an adopter in scope (M4): 1 for a
        /// warning that use "anywhere in the world" violates controls, lower once it only
        /// "alerts industry to the risks".
        certainty: f64 = Some(1.0), Range::Closed(0.0, 1.0), "probability";
        /// Share of that certainty a softened wording removes (M4): a dated softening sets
        /// it, so `certainty` stays the lever on enforcement itself.
        softening: f64 = Some(0.0), Range::Closed(0.0, 1.0), "share";
    }

    /// M6: a power's policy of pressing nations that announce rival-stack deployments
    /// (`[regulators.X.pressure]`).
    pub struct PressurePolicy from PressureFile {
        /// Whether this power presses nations over rival-stack builds (M6).
        enabled: bool = Some(true), Range::Any, "";
        /// Weight of a rival-stack build in the presser's stakes:
        /// stake = propensity x strategic value x (1 - exp(-size / size scale)).
        propensity: f64 = None, Range::Closed(0.0, 100.0), "";
        /// Deployment size at which the presser's stake is 63% of its maximum.
        size_scale_h100e: f64 = None, Range::Above(0.0), "H100e";
        /// Highest intensity the presser may choose (share of its threats put on the table).
        intensity: f64 = None, Range::Closed(0.0, 10.0), "0-1 scale";
        /// Tariff threatened at intensity 1 on the target's exports to the presser.
        tariff_rate: f64 = Some(0.0), Range::Closed(0.0, 10.0), "share";
        /// Share of the presser's investment stock in the target threatened at intensity 1
        /// (withdrawn, times the intensity, if the target holds).
        investment_at_risk: f64 = Some(0.0), Range::Closed(0.0, 1.0), "share";
        /// Cost to the presser of pressing, per unit of intensity (goodwill, its firms' sales).
        press_cost: f64 = Some(0.1), Range::Closed(0.0, 10.0), "0-1 scale";
        /// licence_cut | investment_withdrawn | tariff: the cost imposed if the target holds.
        cost: PressureCost = None, Range::Any, "";
        /// Months the imposed cost lasts.
        punishment_months: u32 = None, Range::Any, "months";
        /// Alignment the target moves away from the presser when pressed.
        backlash: f64 = None, Range::Closed(0.0, 1.0), "alignment";
        /// Alignment the target moves toward the presser when it retracts.
        compliance_shift: f64 = None, Range::Closed(0.0, 1.0), "alignment";
    }

    /// M10: a rival patron's counter-offers and retaliation (`[regulators.X.patron]`).
    pub struct PatronPolicy from PatronFile {
        /// Value to the patron of a build of its stack going ahead in a nation of strategic
        /// value 1 (face, a foothold for its stack) (M10).
        face_weight: f64 = None, Range::Closed(0.0, 10.0), "0-1 scale";
        /// Value to the patron per share of the nation's GDP exported to it (the trade it
        /// stands to keep by standing by the nation).
        trade_weight: f64 = Some(0.0), Range::Closed(0.0, 100.0), "0-1 scale per GDP";
        /// Largest counter-offer it can make (discounts, financing, investment).
        counter_offer_value: f64 = None, Range::Closed(0.0, 10.0), "0-1 scale";
        /// Alignment toward the patron when a target holds with its offer.
        alignment_shift: f64 = None, Range::Closed(0.0, 1.0), "alignment";
        /// Cost to the patron of retaliating against a nation that retracts (its own trade and
        /// goodwill); it retaliates when the face lost exceeds it.
        retaliation_cost: f64 = None, Range::Closed(0.0, 10.0), "0-1 scale";
        /// Share of the target's demand lost to retaliation.
        retaliation_intensity: f64 = None, Range::Closed(0.0, 1.0), "share";
        /// Months retaliation lasts.
        retaliation_months: u32 = None, Range::Any, "months";
        /// Alignment away from the patron after retaliation.
        retaliation_alignment_shift: f64 = None, Range::Closed(0.0, 1.0), "alignment";
    }

    /// M8: an allocation offered for a security agreement (`[regulators.X.deals.ID]`).
    pub struct DealParams from DealFile {
        /// Whether the deal is offered (M8).
        enabled: bool = Some(true), Range::Any, "";
        /// Partner the deal is offered to.
        nation: NationId = None, Range::Any, "";
        /// Product allocated.
        product: ProductId = None, Range::Any, "";
        /// Month the deal is offered.
        month: Month = None, Range::Any, "YYYY-MM";
        /// Allocation, served first.
        units_per_year: f64 = None, Range::AtLeast(0.0), "units/yr";
        /// An accepted partner imports the regulator's products without licences or caps (a
        /// counterfactual; in 2025 deals went through licensing).
        licence_exempt: bool = Some(true), Range::Any, "";
        /// Units each licence application under the deal asks for (M3 queue; 0: none).
        licensed_units: f64 = Some(0.0), Range::AtLeast(0.0), "units";
        /// Cost to the partner of the monitoring and reporting the deal requires.
        monitoring_cost: f64 = Some(0.0), Range::Closed(0.0, 10.0), "0-1 scale";
        /// Cost of the security constraints (no rival chips, KYC, anti-diversion) to the partner.
        constraint_cost: f64 = None, Range::Closed(0.0, 10.0), "0-1 scale";
        /// Monthly chance the partner breaches.
        breach_probability: f64 = Some(0.0), Range::Closed(0.0, 1.0), "probability/month";
        /// Chance a breach is detected (revoking the deal).
        detection_probability: f64 = Some(0.0), Range::Closed(0.0, 1.0), "probability";
        /// Alignment the partner moves toward the regulator on accepting.
        alignment_shift: f64 = Some(0.0), Range::Closed(0.0, 1.0), "alignment";
    }
    derived {
        /// The deal's id.
        id: String;
    }

    /// M6/M8 settings shared by all nations (`[diplomacy]`).
    pub struct DiplomacyParams from DiplomacyFile {
        /// Planned builds at least this large are announced (M6).
        announce_threshold_h100e: f64 = Some(5000.0), Range::AtLeast(0.0), "H100e";
        /// Noise on a nation's retract/hold and accept/reject choices.
        decision_noise_sd: f64 = Some(0.1), Range::Closed(0.0, 10.0), "sd";
        /// Value of a deal allocation covering a year of the nation's demand (M8).
        deal_value_weight: f64 = Some(0.5), Range::Closed(0.0, 10.0), "0-1 scale";
        /// Decision value of losing a share 1 of GDP (investment or exports) (M6).
        stakes_weight: f64 = Some(0.0), Range::Closed(0.0, 100.0), "0-1 scale per GDP";
        /// Value a build gains per unit of its stack's ecosystem pull for the nation (M6).
        ecosystem_value_weight: f64 = Some(0.0), Range::Closed(0.0, 10.0), "0-1 scale/utility";
        /// How a deal partner's ties to a rival patron raise its monthly breach chance (M8):
        /// `breach_probability × (1 + breach_tie_weight × Σ dependence on rival patrons)`.
        breach_tie_weight: f64 = Some(0.0), Range::Closed(0.0, 100.0), "";
        /// Annual growth of every investment stock at neutral alignment (M6).
        investment_growth_annual: f64 = Some(0.0), Range::Closed(-0.99, 10.0), "1/yr";
        /// Extra annual growth of an investor's stock per unit of alignment toward it (M6).
        investment_alignment_response: f64 = Some(0.0), Range::Closed(0.0, 10.0), "1/yr";
    }

    /// Vendor-choice weights shared by all nations (`[market]`, M5).
    pub struct MarketParams from MarketFile {
        /// Vendor choice: weight on ln(H100e per $10k).
        price_performance_weight: f64 = None, Range::Closed(0.0, 100.0), "utility";
        /// Vendor choice: weight on the expected sanction cost (share of price).
        sanction_weight: f64 = None, Range::Closed(0.0, 1000.0), "utility";
        /// Vendor choice: weight on ln(licence approval probability x expected fill rate).
        availability_weight: f64 = None, Range::Closed(0.0, 100.0), "utility";
        /// Vendor choice: utility lost per month of licence delay.
        lead_time_weight_per_month: f64 = None, Range::Closed(0.0, 100.0), "utility/month";
        /// Vendor choice: weight on ln(power per H100e relative to an H100), for nations whose
        /// data-centre capacity is modelled (`nations.*.datacentre_mw` > 0): scarce power makes
        /// compute per kW count as compute per dollar does.
        power_weight: f64 = Some(0.0), Range::Closed(0.0, 100.0), "utility";
    }

    /// How alignment moves between events (`[alignment]`, M7).
    pub struct AlignmentParams from AlignmentFile {
        /// Share of the gap to its initial alignment a nation closes each month.
        reversion_per_month: f64 = None, Range::Closed(0.0, 1.0), "share/month";
        /// Alignment move per month toward the side a nation buys from (scaled by its import mix).
        purchase_pull: f64 = None, Range::Closed(0.0, 1.0), "alignment/month";
        /// Alignment move per month away from a regulator denying all of a nation's demand.
        denial_push: f64 = None, Range::Closed(0.0, 1.0), "alignment/month";
    }
}

impl ProductParams {
    /// Whether the vendor sells the product to nation `i` (validation fills an empty
    /// `sold_to` with every nation).
    #[inline]
    pub fn sells_to(&self, i: usize) -> bool {
        self.sold_to[i]
    }
}

impl Default for ExportRule {
    /// No rule: exports allowed (a destination or class a regulator does not list).
    fn default() -> ExportRule {
        ExportRule::ALLOWED
    }
}

impl ExportRule {
    pub const ALLOWED: ExportRule = ExportRule {
        status: ExportStatus::Allowed,
        approval_probability: 1.0,
        delay_months: 0,
        annual_cap_h100e: None,
        exempt_h100e_per_year: 0.0,
        revenue_share: 0.0,
    };
}

/// A section every key of which has a default, as an absent section reads.
fn all_defaults<T: FileValue>() -> T {
    T::deserialize(serde::de::value::MapDeserializer::<
        std::iter::Empty<(String, String)>,
        serde::de::value::Error,
    >::new(std::iter::empty()))
    .expect("every key of the section has a default")
}

impl Default for DiplomacyFile {
    fn default() -> Self {
        all_defaults()
    }
}

impl Default for SmugglingFile {
    fn default() -> Self {
        all_defaults()
    }
}

/// A hub's intermediary populations by name (`[hubs.X.populations.NAME]`), kept with their
/// names.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Populations(pub BTreeMap<String, PopulationFile>);

impl FileValue for Populations {
    type Model = Vec<(String, PopulationParams)>;
    fn resolve(&self, path: &KeyPath, range: Range, cx: &Cx) -> Result<Self::Model, ParamError> {
        self.0
            .iter()
            .map(|(name, p)| Ok((name.clone(), p.resolve(&path.key(name), range, cx)?)))
            .collect()
    }
    fn text(&self) -> String {
        "{}".to_string()
    }
    fn shape() -> Shape {
        Shape::Map("by name", PopulationFile::shape)
    }
}

impl Realise for (String, PopulationParams) {
    fn realise(&mut self, _: u64) {}
    fn realise_from(&mut self, _: &Self, _: u64) {}
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
        // Every uncertain parameter of every section (generated with the declarations).
        p.products.realise(rep_seed);
        p.firms.realise(rep_seed);
        p.nations.realise(rep_seed);
        p.regulators.realise(rep_seed);
        p.hubs.realise(rep_seed);
        p.market.realise(rep_seed);
        p.alignment.realise(rep_seed);
        p.diplomacy.realise(rep_seed);
        p.smuggling.realise(rep_seed);
        p
    }

    /// Makes `out`, a realised copy of these parameters (for any seed), the copy
    /// [`Params::realise`] gives for `rep_seed`, drawing the uncertain values again in place
    /// (see [`Realise::realise_from`]): no clone, no allocation.
    pub fn realise_into(&self, out: &mut Params, rep_seed: u64) {
        // Named in full, so that a new section cannot be left out.
        let Params {
            products,
            firms,
            nations,
            regulators,
            export_classes: _,
            market,
            alignment,
            diplomacy,
            hubs,
            smuggling,
        } = out;
        products.realise_from(&self.products, rep_seed);
        firms.realise_from(&self.firms, rep_seed);
        nations.realise_from(&self.nations, rep_seed);
        regulators.realise_from(&self.regulators, rep_seed);
        hubs.realise_from(&self.hubs, rep_seed);
        market.realise_from(&self.market, rep_seed);
        alignment.realise_from(&self.alignment, rep_seed);
        diplomacy.realise_from(&self.diplomacy, rep_seed);
        smuggling.realise_from(&self.smuggling, rep_seed);
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
