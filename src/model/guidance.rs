//! M4 Foreign-chip guidance: the expected sanction cost of buying a warned-against firm's chips.
//!
//! Code for `docs/model.md` § M4. Read by vendor choice (M5) when nations place their orders.
//! For nation `i` and firm `f` (home `h`), summed over regulators `r` other than `i` and `h`:
//!
//! `sanction_share = Σ_r [i in scope of r's guidance against f] × certainty_r ×
//! guidance_sanction_share_r × dependence_i[r]`, where the scope is `none` (never), `home_only`
//! (`i = h`) or `third_countries` (every buyer outside `r`; `global` is a synonym), and
//! `certainty_r = certainty × (1 − softening)` of `r`'s `guidance_enforcement` (1 without). Scope says
//! *who* is warned, certainty *how likely* the warning is enforced: the 2025 softening of the
//! Ascend guidance removed "anywhere in the world" from the press release but kept the
//! guidance for third countries, so it sets a softening (lowering certainty) and keeps the scope. The cost enters
//! vendor choice as `− market.sanction_weight × sanction_share` and, for an announced build of
//! the warned-against stack, the announcing nation's retract/hold decision (M6).
//!
//! Parameter paths: `regulators.*.guidance.FIRM`, `regulators.*.guidance_sanction_share`,
//! `regulators.*.guidance_enforcement.{certainty, softening}`,
//! `nations.*.dependence.*`, `market.sanction_weight`.

#[cfg(test)]
use super::params::GuidanceEnforcement;
use super::params::{GuidanceScope, Params, RegulatorParams};

/// Whether guidance of `scope` against a firm at home in `home` reaches `nation`.
#[inline]
pub fn in_scope(scope: GuidanceScope, nation: usize, home: usize) -> bool {
    match scope {
        GuidanceScope::None => false,
        GuidanceScope::HomeOnly => nation == home,
        GuidanceScope::ThirdCountries => true,
    }
}

/// Chance that regulator `r`'s guidance is enforced: `certainty × (1 − softening)` of its
/// `guidance_enforcement` (1 without one).
#[inline]
pub fn certainty(r: &RegulatorParams) -> f64 {
    r.guidance_enforcement
        .map_or(1.0, |e| e.certainty * (1.0 - e.softening))
}

/// Expected sanction cost (share of price) for nation `i` of adopting `firm`'s chips.
pub fn sanction_share(p: &Params, i: usize, firm: usize) -> f64 {
    let home = p.firms[firm].home;
    p.regulators
        .iter()
        .filter(|r| r.nation != i && r.nation != home)
        .map(|r| {
            if in_scope(r.guidance[firm], i, home) {
                certainty(r) * r.guidance_sanction_share * p.nations[i].dependence[r.nation]
            } else {
                0.0
            }
        })
        .sum()
}

/// The scope as the number logged in a `guidance` event: 0 none, 1 home only, 2 third
/// countries.
pub fn scope_code(s: GuidanceScope) -> f64 {
    match s {
        GuidanceScope::None => 0.0,
        GuidanceScope::HomeOnly => 1.0,
        GuidanceScope::ThirdCountries => 2.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixture::{self, CHN, HUAWEI, MYS, NVIDIA, USA};

    /// The fixture with the US warning against Huawei at `scope`; MYS and CHN depend on the US.
    fn with_guidance(scope: GuidanceScope) -> Params {
        let mut p = fixture::params();
        p.regulators[0].guidance[HUAWEI] = scope;
        p.nations[MYS].dependence[USA] = 0.6;
        p.nations[CHN].dependence[USA] = 0.2;
        p
    }

    #[test]
    fn scope_decides_who_bears_the_cost() {
        let p = with_guidance(GuidanceScope::None);
        assert_eq!(sanction_share(&p, MYS, HUAWEI), 0.0);
        assert_eq!(sanction_share(&p, CHN, HUAWEI), 0.0);
        let p = with_guidance(GuidanceScope::HomeOnly);
        assert_eq!(sanction_share(&p, MYS, HUAWEI), 0.0);
        assert_eq!(
            sanction_share(&p, CHN, HUAWEI),
            0.5 * 0.2,
            "home buyers are in scope"
        );
        let p = with_guidance(GuidanceScope::ThirdCountries);
        assert_eq!(sanction_share(&p, MYS, HUAWEI), 0.5 * 0.6);
        assert_eq!(sanction_share(&p, CHN, HUAWEI), 0.5 * 0.2);
        // The regulator's own nation and other firms bear nothing.
        assert_eq!(sanction_share(&p, USA, HUAWEI), 0.0);
        assert_eq!(sanction_share(&p, MYS, NVIDIA), 0.0);
    }

    #[test]
    fn cost_scales_with_dependence_and_home_only_reaches_home_buyers() {
        let mut p = with_guidance(GuidanceScope::ThirdCountries);
        p.nations[MYS].dependence[USA] = 0.0;
        assert_eq!(sanction_share(&p, MYS, HUAWEI), 0.0);
        p.nations[MYS].dependence[USA] = 1.0;
        assert_eq!(sanction_share(&p, MYS, HUAWEI), 0.5);
        assert!(in_scope(GuidanceScope::HomeOnly, CHN, CHN));
        assert!(!in_scope(GuidanceScope::HomeOnly, MYS, CHN));
        assert_eq!(scope_code(GuidanceScope::ThirdCountries), 2.0);
    }

    #[test]
    fn certainty_scales_the_cost_and_zero_certainty_removes_it() {
        let mut p = with_guidance(GuidanceScope::ThirdCountries);
        let e = GuidanceEnforcement {
            certainty: 0.4,
            softening: 0.0,
        };
        p.regulators[0].guidance_enforcement = Some(e);
        assert!((sanction_share(&p, MYS, HUAWEI) - 0.4 * 0.5 * 0.6).abs() < 1e-15);
        p.regulators[0].guidance_enforcement = Some(GuidanceEnforcement {
            softening: 0.5,
            ..e
        });
        assert!((sanction_share(&p, MYS, HUAWEI) - 0.2 * 0.5 * 0.6).abs() < 1e-15);
        p.regulators[0].guidance_enforcement = Some(GuidanceEnforcement {
            certainty: 0.0,
            ..e
        });
        assert_eq!(sanction_share(&p, MYS, HUAWEI), 0.0);
    }
}
