//! M4 Foreign-chip guidance: the expected sanction cost of buying a warned-against firm's chips.
//!
//! Code for `docs/model.md` § M4. Read by vendor choice (M5) when nations place their orders.
//! For nation `i` and firm `f` (home `h`), summed over regulators `r` other than `i` and `h`:
//!
//! `sanction_share = Σ_r [i in scope of r's guidance against f] × guidance_sanction_share_r ×
//! dependence_i[r]`, where the scope is `none` (never), `home_only` (`i = h`) or `global`
//! (always). It enters utility as `− market.sanction_weight × sanction_share`.
//!
//! Parameter paths: `regulators.*.guidance.FIRM`, `regulators.*.guidance_sanction_share`,
//! `nations.*.dependence.*`, `market.sanction_weight`.

use super::params::{GuidanceScope, Params};

/// Whether guidance of `scope` against a firm at home in `home` reaches `nation`.
#[inline]
pub fn in_scope(scope: GuidanceScope, nation: usize, home: usize) -> bool {
    match scope {
        GuidanceScope::None => false,
        GuidanceScope::HomeOnly => nation == home,
        GuidanceScope::Global => true,
    }
}

/// Expected sanction cost (share of price) for nation `i` of adopting `firm`'s chips.
pub fn sanction_share(p: &Params, i: usize, firm: usize) -> f64 {
    let home = p.firms[firm].home;
    p.regulators
        .iter()
        .filter(|r| r.nation != i && r.nation != home)
        .map(|r| {
            if in_scope(r.guidance[firm], i, home) {
                r.guidance_sanction_share * p.nations[i].dependence[r.nation]
            } else {
                0.0
            }
        })
        .sum()
}

/// The scope as the number logged in a `guidance` event: 0 none, 1 home only, 2 global.
pub fn scope_code(s: GuidanceScope) -> f64 {
    match s {
        GuidanceScope::None => 0.0,
        GuidanceScope::HomeOnly => 1.0,
        GuidanceScope::Global => 2.0,
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
        let p = with_guidance(GuidanceScope::Global);
        assert_eq!(sanction_share(&p, MYS, HUAWEI), 0.5 * 0.6);
        assert_eq!(sanction_share(&p, CHN, HUAWEI), 0.5 * 0.2);
        // The regulator's own nation and other firms bear nothing.
        assert_eq!(sanction_share(&p, USA, HUAWEI), 0.0);
        assert_eq!(sanction_share(&p, MYS, NVIDIA), 0.0);
    }

    #[test]
    fn cost_scales_with_dependence_and_home_only_reaches_home_buyers() {
        let mut p = with_guidance(GuidanceScope::Global);
        p.nations[MYS].dependence[USA] = 0.0;
        assert_eq!(sanction_share(&p, MYS, HUAWEI), 0.0);
        p.nations[MYS].dependence[USA] = 1.0;
        assert_eq!(sanction_share(&p, MYS, HUAWEI), 0.5);
        assert!(in_scope(GuidanceScope::HomeOnly, CHN, CHN));
        assert!(!in_scope(GuidanceScope::HomeOnly, MYS, CHN));
        assert_eq!(scope_code(GuidanceScope::Global), 2.0);
    }
}
