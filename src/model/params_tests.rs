//! Unit tests of the validated parameters' own logic (`Params::export_rule`,
//! `Uncertain::draw`), kept apart from `params.rs`.

use super::fixture::{self, ASCEND, CHN, H100, MYS, USA};
use super::params::*;

#[test]
fn export_rule_uses_the_products_regulator_and_class() {
    let mut p = fixture::params();
    assert_eq!(p.export_rule(H100, MYS), fixture::MYS_LICENCE);
    assert_eq!(p.export_rule(H100, CHN).status, ExportStatus::Prohibited);
    // Home sales, unclassed products and products without a regulator are allowed.
    assert_eq!(p.export_rule(H100, USA), ExportRule::ALLOWED);
    assert_eq!(p.export_rule(ASCEND, MYS), ExportRule::ALLOWED);
    p.products[H100].regulator = None;
    assert_eq!(p.export_rule(H100, CHN), ExportRule::ALLOWED);
}

#[test]
fn draws_stay_in_bounds_and_are_the_same_for_the_same_seed() {
    let u = Uncertain::Uniform {
        min: 1.0,
        max: 3.0,
        key: 17,
    };
    let t = Uncertain::Triangular {
        min: 0.0,
        mode: 0.2,
        max: 1.0,
        key: 99,
    };
    assert_eq!(u.value(), 2.0);
    assert!((t.value() - 0.4).abs() < 1e-12);
    let mut seen = Vec::new();
    for seed in 0..200 {
        for x in [u, t] {
            let Uncertain::Fixed(v) = x.draw(seed) else {
                panic!("a draw is fixed")
            };
            let (lo, hi) = x.bounds();
            assert!((lo..=hi).contains(&v), "{v} outside {lo}..{hi}");
            assert_eq!(x.draw(seed), x.draw(seed));
        }
        seen.push(u.draw(seed).value());
    }
    let mean = seen.iter().sum::<f64>() / seen.len() as f64;
    assert!((mean - 2.0).abs() < 0.15, "uniform mean {mean}");
    assert_eq!(Uncertain::Fixed(5.0).draw(3), Uncertain::Fixed(5.0));
    let flat = Uncertain::Triangular {
        min: 2.0,
        mode: 2.0,
        max: 2.0,
        key: 1,
    };
    assert_eq!(flat.draw(4), Uncertain::Fixed(2.0));
}

#[test]
fn realise_draws_every_uncertain_parameter_once() {
    let mut p = fixture::params();
    p.products[H100].capacity_growth_annual = Uncertain::Uniform {
        min: 0.0,
        max: 1.0,
        key: 5,
    };
    let r = p.realise(11);
    assert!(matches!(
        r.products[H100].capacity_growth_annual,
        Uncertain::Fixed(_)
    ));
    assert_eq!(r, p.realise(11));
}
