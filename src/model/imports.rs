//! M11 Import policy: a nation regulating its own imports (China's stance toward foreign chips).
//!
//! Code for `docs/model.md` § M11. Read by vendor choice (M5) when nations place their orders.
//! A nation with a regulator role may hold, per foreign product, a stance
//! `regulators.NATION.imports.PRODUCT = "allow" | "discourage" | "ban"` (products not listed are
//! allowed). For a buyer `i` and product `j`:
//!
//! ```text
//! stance_cost(i, j) = 0                                        allow (or no regulator role)
//!                   = regulators.i.discourage_cost             discourage (a utility cost)
//!                   = +∞                                       ban (not an option)
//! ```
//!
//! so a ban is a constraint and a discouragement a cost in the buyer's commercial choice. The
//! stance changes on the timeline (China's summons over the H20, 2025-07-31: "discourage").
//! The stance applies to purchases through the vendor (licensed or allowed exports), not to the
//! grey market (M9), which the state does not see.
//!
//! Parameter paths: `regulators.*.imports.PRODUCT`, `regulators.*.discourage_cost`.

use super::params::{ImportStance, Params};

/// Utility a buyer in nation `i` loses by its own state's stance toward product `j`;
/// `f64::INFINITY` when the state bans it.
pub fn stance_cost(p: &Params, i: usize, j: usize) -> f64 {
    let Some(r) = p.regulator_of(i) else {
        return 0.0;
    };
    match r.imports[j] {
        ImportStance::Allow => 0.0,
        ImportStance::Discourage => r.discourage_cost.value(),
        ImportStance::Ban => f64::INFINITY,
    }
}

/// The stance as the number logged in an `import_stance` event: 0 allow, 1 discourage, 2 ban.
pub fn stance_code(s: ImportStance) -> f64 {
    match s {
        ImportStance::Allow => 0.0,
        ImportStance::Discourage => 1.0,
        ImportStance::Ban => 2.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixture::{self, ASCEND, CHN, H100, MYS};
    use crate::model::params::Uncertain;

    #[test]
    fn a_stance_is_a_cost_or_a_constraint_for_the_states_own_buyers_only() {
        let mut p = fixture::params();
        assert_eq!(stance_cost(&p, CHN, H100), 0.0);
        p.regulators[1].discourage_cost = Uncertain::Fixed(3.0);
        p.regulators[1].imports[H100] = ImportStance::Discourage;
        assert_eq!(stance_cost(&p, CHN, H100), 3.0);
        assert_eq!(stance_cost(&p, CHN, ASCEND), 0.0);
        p.regulators[1].imports[H100] = ImportStance::Ban;
        assert_eq!(stance_cost(&p, CHN, H100), f64::INFINITY);
        // MYS has no regulator role: China's stance is not its own.
        assert_eq!(stance_cost(&p, MYS, H100), 0.0);
        assert_eq!(stance_code(ImportStance::Ban), 2.0);
    }
}
