//! M7 Alignment: where each nation stands, −1 (China) … +1 (US), and its monthly market drift.
//!
//! Code for `docs/model.md` § M7. The event shifts (pressure backlash, compliance,
//! counter-offers, retaliation, deals) are applied by the diplomatic mechanisms that cause them
//! ([`super::diplomacy`]) through [`Alignment::move_toward`] / [`Alignment::move_away`]: a move
//! of `x` toward nation `k` adds `x × sign(alignment[k])`. After the month's deliveries and
//! backlog, [`Alignment::drift`] moves every nation from where all stood (two-phase):
//!
//! `Δ = reversion_per_month × (initial − a)`, and for nations without a regulator role also
//! `+ purchase_pull × Σ_j ordered_h100e_j × sign(a[home_j]) / Σ_j ordered_h100e_j` (foreign
//! products only) `− Σ_r denial_push × min(1, refused_r / wanted) × sign(a[r])`, with wanted
//! the month's demand plus backlog; then `a ← clamp(a + Δ, −1, 1)`. Powers only revert.
//!
//! Parameter paths: `alignment.reversion_per_month`, `alignment.purchase_pull`,
//! `alignment.denial_push`, `nations.*.alignment` (initial), and the event shifts
//! `regulators.*.pressure.{backlash, compliance_shift}`,
//! `regulators.*.patron.{alignment_shift, retaliation_alignment_shift}`,
//! `regulators.*.deals.*.alignment_shift`.

use super::index::Grid;
use super::params::Params;

/// Every nation's alignment.
pub struct Alignment {
    now: Vec<f64>,
    /// Scratch copy of `now` at the start of the drift.
    before: Vec<f64>,
}

impl Alignment {
    /// Every nation at its initial alignment.
    pub fn new(p: &Params) -> Alignment {
        Alignment {
            now: p.nations.iter().map(|n| n.alignment).collect(),
            before: vec![0.0; p.nations.len()],
        }
    }

    /// Alignment of every nation now.
    #[inline]
    pub fn values(&self) -> &[f64] {
        &self.now
    }

    /// Nation `i` moves `amount` toward nation `k`'s side.
    #[inline]
    pub fn move_toward(&mut self, i: usize, k: usize, amount: f64) {
        self.now[i] += amount * self.now[k].signum();
    }

    /// Nation `i` moves `amount` away from nation `k`'s side.
    #[inline]
    pub fn move_away(&mut self, i: usize, k: usize, amount: f64) {
        self.now[i] -= amount * self.now[k].signum();
    }

    /// Clamps every alignment to `[−1, 1]`.
    pub fn clamp(&mut self) {
        self.now.iter_mut().for_each(|a| *a = a.clamp(-1.0, 1.0));
    }

    /// The month's market drift (see the module doc): `orders[(nation, product)]` in units,
    /// `wanted(i)` H100e demand plus backlog, `refused(r, i)` H100e regulator `r` refused `i`.
    pub fn drift(
        &mut self,
        p: &Params,
        orders: &Grid<u64>,
        wanted: impl Fn(usize) -> f64,
        refused: impl Fn(usize, usize) -> f64,
    ) {
        let a = &p.alignment;
        // Every nation moves from where all stood at the start of the step (two-phase).
        self.before.copy_from_slice(&self.now);
        let old = &self.before;
        for i in 0..p.nations.len() {
            let mut da = a.reversion_per_month * (p.nations[i].alignment - old[i]);
            // Powers (nations with a regulator role) hold their stance: they only revert.
            let is_power = p.regulators.iter().any(|r| r.nation == i);
            let want = wanted(i);
            if !is_power {
                let (mut pull, mut total) = (0.0, 0.0);
                for (j, &units) in orders.row(i).iter().enumerate() {
                    let h100e = units as f64 * p.products[j].h100e_per_unit.value();
                    let home = p.products[j].home;
                    if home != i {
                        pull += h100e * old[home].signum();
                        total += h100e;
                    }
                }
                if total > 0.0 {
                    da += a.purchase_pull * pull / total;
                }
                if want > 0.0 {
                    for (r, reg) in p.regulators.iter().enumerate() {
                        da -= a.denial_push
                            * (refused(r, i) / want).min(1.0)
                            * old[reg.nation].signum();
                    }
                }
            }
            self.now[i] = (old[i] + da).clamp(-1.0, 1.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixture::{self, ASCEND, CHN, H100, MYS, USA};

    fn orders(mys_h100: u64, mys_ascend: u64) -> Grid<u64> {
        let mut o = Grid::new(3, 2, 0);
        o[(MYS, H100)] = mys_h100;
        o[(MYS, ASCEND)] = mys_ascend;
        // Powers buying abroad must not move.
        o[(USA, ASCEND)] = 1000;
        o[(CHN, H100)] = 1000;
        o
    }

    #[test]
    fn buyers_drift_toward_where_they_buy_and_powers_only_revert() {
        let p = fixture::params();
        let mut a = Alignment::new(&p);
        a.drift(&p, &orders(100, 0), |_| 100.0, |_, _| 0.0);
        assert!((a.values()[MYS] - 0.1).abs() < 1e-12, "{}", a.values()[MYS]);
        assert_eq!(a.values()[USA], 1.0);
        assert_eq!(a.values()[CHN], -1.0);
        let mut b = Alignment::new(&p);
        b.drift(&p, &orders(0, 100), |_| 100.0, |_, _| 0.0);
        assert!(b.values()[MYS] < 0.0);
        let mut c = Alignment::new(&p);
        c.drift(&p, &orders(50, 50), |_| 100.0, |_, _| 0.0);
        assert_eq!(c.values()[MYS], 0.0);
    }

    #[test]
    fn denial_pushes_away_and_reversion_pulls_back() {
        let p = fixture::params();
        let mut a = Alignment::new(&p);
        // All of MYS's demand refused by the US regulator (index 0): pushed toward China.
        a.drift(
            &p,
            &orders(0, 0),
            |_| 100.0,
            |r, _| if r == 0 { 500.0 } else { 0.0 },
        );
        assert!((a.values()[MYS] + 0.1).abs() < 1e-12);
        // Events move it; reversion closes 5% of the gap to the initial stance.
        a.move_toward(USA, CHN, 1.0);
        a.clamp();
        assert_eq!(a.values()[USA], 0.0);
        a.drift(&p, &orders(0, 0), |_| 0.0, |_, _| 0.0);
        assert!((a.values()[USA] - 0.05).abs() < 1e-12);
        a.move_away(MYS, USA, 5.0);
        a.clamp();
        assert_eq!(a.values()[MYS], -1.0);
    }
}
