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

/// The fixture with an uncertain value in a product, a nation and a regulator.
fn uncertain_params(key: u64) -> Params {
    let mut p = fixture::params();
    p.products[H100].capacity_growth_annual = Uncertain::Uniform {
        min: 0.0,
        max: 1.0,
        key,
    };
    p.nations[MYS].demand_growth_annual = Uncertain::Triangular {
        min: 0.1,
        mode: 0.3,
        max: 0.9,
        key: key + 1,
    };
    p.regulators[1].discourage_cost = Uncertain::Uniform {
        min: 1.0,
        max: 3.0,
        key: key + 2,
    };
    p
}

#[test]
fn realising_again_in_place_gives_a_fresh_draw() {
    use crate::model::schema::Realise;
    let p = uncertain_params(5);
    let mut copy = p.realise(1);
    for seed in [2, 3, 1, 99] {
        p.realise_into(&mut copy, seed);
        assert_eq!(copy, p.realise(seed), "seed {seed}");
    }
    assert_ne!(p.realise(2), p.realise(3));
    // Tables of another length, or an option of another shape, are copied whole.
    let u = |key| Uncertain::Uniform {
        min: 0.0,
        max: 1.0,
        key,
    };
    let (short, long) = (vec![u(1)], vec![u(1), u(2), u(3)]);
    let mut v = short.clone();
    v.realise_from(&long, 4);
    let mut fresh = long.clone();
    fresh.realise(4);
    assert_eq!(v, fresh);
    v.realise_from(&short, 5);
    assert_eq!(v, vec![u(1).draw(5)]);
    let mut o: Option<Uncertain> = None;
    o.realise_from(&Some(u(7)), 6);
    assert_eq!(o, Some(u(7).draw(6)));
    o.realise_from(&None, 6);
    assert_eq!(o, None);
}
