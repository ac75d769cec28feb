//! Allocation and shipping (M1, M10, M8): each product's inventory shared among the month's
//! approved orders and hubs' requests, and shipped to where it is installed.
//!
//! Code for the allocation paragraph of `docs/model.md` § M1 (and M10's home priority, M8's
//! deal allocations). Runs after licensing, product by product. Each nation has two claims on
//! a product ([`Claims`]): the part served first (priority 0) — all of it in the home market of
//! a firm with `home_priority`, else its standing orders (M2) plus its deals' monthly
//! allocations (M8), at most what was approved — and the rest (priority 1); each hub (M9) has
//! one claim at priority 1. [`allocate`] serves priority classes in order, pro rata within a
//! class, remainders to the largest fractional claims (then by claim order).
//!
//! Shipped units leave the vendor: exempt units are installed at once, licensed units after the
//! rule's `delay_months` ([`Stock`]); arrivals are installed at [`Stock::deliver`].
//!
//! Parameter paths: `firms.*.home_priority`, `regulators.*.deals.*.units_per_year`,
//! `regulators.*.tiers.*.*.delay_months`, `nations.*.installed_units.*`.

use super::flows::Flows;
use super::index::Grid;
use super::params::Params;

/// One buyer's claim on a product's supply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request {
    /// Lower is served first (0: security-deal partners and the home market of a firm that
    /// serves it first; 1: everyone else).
    pub priority: u8,
    pub units: u64,
}

/// Shares `available` units among `requests`: priority classes in order, pro rata within a
/// class, remainders by largest fractional share and then by request order (so the result is a
/// pure function of the inputs). Writes the units granted to each request into `granted` and
/// returns the units left over.
pub fn allocate(available: u64, requests: &[Request], granted: &mut [u64]) -> u64 {
    allocate_into(available, requests, granted, &mut Vec::new())
}

/// [`allocate`] with the scratch space for the remainders given (reused month to month).
fn allocate_into(
    available: u64,
    requests: &[Request],
    granted: &mut [u64],
    order: &mut Vec<u128>,
) -> u64 {
    debug_assert_eq!(requests.len(), granted.len());
    granted.iter_mut().for_each(|g| *g = 0);
    let mut left = available;
    let max_priority = requests.iter().map(|r| r.priority).max().unwrap_or(0);
    for priority in 0..=max_priority {
        let wanted: u64 = requests
            .iter()
            .filter(|r| r.priority == priority)
            .map(|r| r.units)
            .sum();
        if wanted == 0 {
            continue;
        }
        if wanted <= left {
            for (g, r) in granted.iter_mut().zip(requests) {
                if r.priority == priority {
                    *g = r.units;
                }
            }
            left -= wanted;
            continue;
        }
        // Pro rata: floor shares first, then one more unit to each of the `extra` requests
        // with the largest fractional claims (ties to the earlier request). The remainders
        // sum to `extra × wanted` and each is below `wanted`, so more than `extra` of them are
        // positive: only those are candidates, and nobody gets more than one extra unit.
        order.clear();
        let mut given = 0;
        for (k, (g, r)) in granted.iter_mut().zip(requests).enumerate() {
            if r.priority == priority {
                let (share, remainder) = pro_rata(r.units, left, wanted);
                *g = share;
                given += *g;
                if remainder > 0 {
                    order.push(claim_key(remainder, k));
                }
            }
        }
        let extra = (left - given) as usize;
        if extra > 0 {
            // The order is total (indices differ), so the `extra` first are the same whichever
            // way they are found; a partial selection instead of a sort.
            order.select_nth_unstable(extra - 1);
            for &key in &order[..extra] {
                granted[claim_index(key)] += 1;
            }
        }
        return 0;
    }
    left
}

/// `units × left / wanted` as (quotient, remainder), exact: in 64-bit arithmetic when the
/// product fits (a 128-bit division is a library call, several times slower), else in 128.
/// The remainder is below `wanted`, so it fits 64 bits.
#[inline]
fn pro_rata(units: u64, left: u64, wanted: u64) -> (u64, u64) {
    match units.checked_mul(left) {
        Some(claim) => (claim / wanted, claim % wanted),
        None => {
            let claim = u128::from(units) * u128::from(left);
            let wanted = u128::from(wanted);
            ((claim / wanted) as u64, (claim % wanted) as u64)
        }
    }
}

/// A fractional claim (its remainder) of request `k` as one number that orders as the extra
/// units go: ascending keys are descending remainders, ties by ascending request index.
#[inline]
fn claim_key(remainder: u64, k: usize) -> u128 {
    (u128::from(u64::MAX - remainder) << 64) | k as u128
}

/// The request index of a [`claim_key`].
#[inline]
fn claim_index(key: u128) -> usize {
    key as u64 as usize
}

/// The claims on one product's supply in a month, in named slots: per nation, the part served
/// first and the rest; then one per hub.
pub struct Claims {
    nations: usize,
    requests: Vec<Request>,
    granted: Vec<u64>,
    /// Scratch space for the fractional claims of a pro-rata class.
    order: Vec<u128>,
}

impl Claims {
    pub fn new(nations: usize, hubs: usize) -> Claims {
        let n = 2 * nations + hubs;
        Claims {
            nations,
            requests: vec![
                Request {
                    priority: 1,
                    units: 0
                };
                n
            ],
            granted: vec![0; n],
            order: Vec::with_capacity(n),
        }
    }

    #[inline]
    fn first(i: usize) -> usize {
        2 * i
    }

    #[inline]
    fn rest(i: usize) -> usize {
        2 * i + 1
    }

    #[inline]
    fn hub(&self, h: usize) -> usize {
        2 * self.nations + h
    }

    /// Nation `i`'s claims on product `j`: `approved` units, of which those served first are
    /// all of them in the home market of a firm serving it first, else `reserved` (standing
    /// orders and deal allocations) up to `approved`.
    #[inline]
    pub fn set_nation(&mut self, p: &Params, i: usize, j: usize, approved: u64, reserved: u64) {
        let firm = &p.firms[p.products[j].vendor];
        let first = if firm.home_priority && firm.home == i {
            approved
        } else {
            reserved.min(approved)
        };
        self.requests[Self::first(i)] = Request {
            priority: 0,
            units: first,
        };
        self.requests[Self::rest(i)] = Request {
            priority: 1,
            units: approved - first,
        };
    }

    /// Hub `h`'s claim.
    #[inline]
    pub fn set_hub(&mut self, h: usize, units: u64) {
        let k = self.hub(h);
        self.requests[k] = Request { priority: 1, units };
    }

    /// Shares `available` units among the claims; returns the units left over.
    pub fn allocate(&mut self, available: u64) -> u64 {
        allocate_into(
            available,
            &self.requests,
            &mut self.granted,
            &mut self.order,
        )
    }

    /// Nation `i`'s (requested, granted) units.
    #[inline]
    pub fn nation(&self, i: usize) -> (u64, u64) {
        let (a, b) = (Self::first(i), Self::rest(i));
        (
            self.requests[a].units + self.requests[b].units,
            self.granted[a] + self.granted[b],
        )
    }

    /// Units granted to hub `h`.
    #[inline]
    pub fn hub_granted(&self, h: usize) -> u64 {
        self.granted[self.hub(h)]
    }
}

/// Units on their way to a nation.
#[derive(Clone, Copy, Debug)]
struct Shipment {
    arrives: u32,
    nation: usize,
    product: usize,
    units: u64,
}

/// Units installed in each nation, and in transit to it.
pub struct Stock {
    installed: Grid<u64>,
    transit: Vec<Shipment>,
}

impl Stock {
    /// The installed base at month 0.
    pub fn new(p: &Params) -> Stock {
        let mut installed = Grid::new(p.nations.len(), p.products.len(), 0);
        for (i, n) in p.nations.iter().enumerate() {
            installed.row_mut(i).copy_from_slice(&n.installed_units);
        }
        Stock {
            installed,
            transit: Vec::new(),
        }
    }

    /// Units of `product` installed in `nation`.
    #[inline]
    pub fn installed(&self, nation: usize, product: usize) -> u64 {
        self.installed[(nation, product)]
    }

    /// Units of `product` installed anywhere.
    pub fn installed_total(&self, product: usize) -> u64 {
        self.installed.column(product).sum()
    }

    /// Units of `product` in transit.
    pub fn in_transit(&self, product: usize) -> u64 {
        self.transit
            .iter()
            .filter(|s| s.product == product)
            .map(|s| s.units)
            .sum()
    }

    /// Data-centre capacity, in H100e of H100 power, taken up by what is installed in or in
    /// transit to `nation`, all products.
    pub fn committed_h100e(&self, p: &Params, nation: usize) -> f64 {
        // H100e weighted by each product's power per H100e: the capacity the stock takes up.
        let h = |j: usize| p.products[j].h100e_per_unit.value() * p.products[j].power_per_h100e;
        let installed: f64 = (0..p.products.len())
            .map(|j| self.installed[(nation, j)] as f64 * h(j))
            .sum();
        let transit: f64 = (self.transit.iter())
            .filter(|s| s.nation == nation)
            .map(|s| s.units as f64 * h(s.product))
            .sum();
        installed + transit
    }

    /// Ships `units` of `product` (`h` H100e each) to `nation` in month `t`, arriving after
    /// `delay` months (installed at once when 0).
    #[allow(clippy::too_many_arguments)]
    #[inline]
    pub fn ship(
        &mut self,
        t: u32,
        nation: usize,
        product: usize,
        h: f64,
        units: u64,
        delay: u32,
        flows: &mut Flows,
    ) {
        if units == 0 {
            return;
        }
        if delay == 0 {
            self.install(nation, product, units, h, flows);
        } else {
            self.transit.push(Shipment {
                arrives: t + delay,
                nation,
                product,
                units,
            });
        }
    }

    /// Installs `units` of `product` in `nation`: delivered this month.
    #[inline]
    pub fn install(
        &mut self,
        nation: usize,
        product: usize,
        units: u64,
        h: f64,
        flows: &mut Flows,
    ) {
        self.installed[(nation, product)] += units;
        flows.delivered_h100e[nation] += units as f64 * h;
    }

    /// Shipments arriving by month `t` are installed.
    pub fn deliver(&mut self, p: &Params, t: u32, flows: &mut Flows) {
        let mut k = 0;
        while k < self.transit.len() {
            if self.transit[k].arrives <= t {
                let s = self.transit.swap_remove(k);
                let h = p.products[s.product].h100e_per_unit.value();
                self.install(s.nation, s.product, s.units, h, flows);
            } else {
                k += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pro_rata_in_64_bits_is_the_128_bit_division() {
        let big = u64::MAX;
        for (units, left, wanted) in [
            (300, 250, 400),
            (0, 7, 3),
            (1 << 32, 1 << 31, 12_345),
            (1 << 32, 1 << 32, 12_345), // the product overflows 64 bits
            (big, big, big),
            (big - 1, 3, 7),
        ] {
            let claim = u128::from(units) * u128::from(left);
            let direct = (claim / u128::from(wanted), claim % u128::from(wanted));
            let (share, remainder) = pro_rata(units, left, wanted);
            assert_eq!((u128::from(share), u128::from(remainder)), direct);
        }
    }

    #[test]
    fn claim_keys_order_as_the_claims_by_remainder_then_index() {
        let claims = [
            (5u64, 3usize),
            (7, 9),
            (5, 1),
            (u64::MAX - 1, 4),
            (1, 0),
            (7, 2),
        ];
        let mut keys: Vec<u128> = claims.iter().map(|&(r, k)| claim_key(r, k)).collect();
        keys.sort_unstable();
        let mut direct = claims.to_vec();
        direct.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let indices: Vec<usize> = keys.iter().map(|&key| claim_index(key)).collect();
        assert_eq!(indices, direct.iter().map(|c| c.1).collect::<Vec<_>>());
    }

    #[test]
    fn allocation_serves_priority_first_then_pro_rata() {
        let reqs = [
            Request {
                priority: 1,
                units: 300,
            },
            Request {
                priority: 0,
                units: 100,
            },
            Request {
                priority: 1,
                units: 100,
            },
        ];
        let mut g = [0; 3];
        let left = allocate(200, &reqs, &mut g);
        assert_eq!(left, 0);
        assert_eq!(g, [75, 100, 25]);
    }

    #[test]
    fn allocation_conserves_units_with_remainders() {
        let reqs = [
            Request {
                priority: 1,
                units: 1,
            },
            Request {
                priority: 1,
                units: 1,
            },
            Request {
                priority: 1,
                units: 1,
            },
        ];
        let mut g = [0; 3];
        allocate(2, &reqs, &mut g);
        assert_eq!(g.iter().sum::<u64>(), 2);
        assert_eq!(g, [1, 1, 0]);
        let left = allocate(10, &reqs, &mut g);
        assert_eq!((left, g), (7, [1, 1, 1]));
    }

    /// The extra units go to the largest remainders, ties to the earlier request, exactly as a
    /// full sort of the remainders would give them (checked over random claims).
    #[test]
    fn remainders_go_where_a_full_sort_would_send_them() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(7);
        for _ in 0..2000 {
            let n = rng.random_range(1..40);
            let reqs: Vec<Request> = (0..n)
                .map(|_| Request {
                    priority: rng.random_range(0..2),
                    units: rng.random_range(0..50),
                })
                .collect();
            let wanted: u64 = reqs.iter().map(|r| r.units).sum();
            let available = rng.random_range(0..wanted + 2);
            let mut g = vec![0; n];
            let left = allocate(available, &reqs, &mut g);
            // Reference: serve the classes in turn; in the class cut short, floor shares and
            // then +1 by a full sort of (remainder desc, index asc).
            let mut want = vec![0; n];
            let mut rest = available;
            for priority in 0..2 {
                let class: u64 = (reqs.iter().filter(|r| r.priority == priority))
                    .map(|r| r.units)
                    .sum();
                if class <= rest {
                    for (w, r) in want.iter_mut().zip(&reqs) {
                        if r.priority == priority {
                            *w = r.units;
                        }
                    }
                    rest -= class;
                    continue;
                }
                let mut order = Vec::new();
                let mut given = 0;
                for (k, r) in reqs.iter().enumerate() {
                    if r.priority == priority {
                        want[k] = r.units * rest / class;
                        given += want[k];
                        order.push((r.units * rest % class, k));
                    }
                }
                order.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
                for &(_, k) in order.iter().take((rest - given) as usize) {
                    want[k] += 1;
                }
                rest = 0;
                break;
            }
            assert_eq!((g, left), (want, rest), "{reqs:?}, {available}");
        }
    }

    #[test]
    fn home_priority_and_reserved_units_are_served_first() {
        use crate::model::fixture::{self, ASCEND, CHN, H100, MYS, USA};
        let p = fixture::params();
        let mut c = Claims::new(3, 1);
        // Huawei serves China first: all of China's approved order is priority 0.
        c.set_nation(&p, CHN, ASCEND, 400, 0);
        c.set_nation(&p, MYS, ASCEND, 400, 0);
        c.set_nation(&p, USA, ASCEND, 0, 0);
        c.set_hub(0, 200);
        assert_eq!(c.allocate(500), 0);
        assert_eq!(c.nation(CHN), (400, 400));
        assert_eq!(c.nation(MYS), (400, 67));
        assert_eq!(c.hub_granted(0), 33);
        // Nvidia has no home priority: only reserved units (standing, deals) go first.
        c.set_nation(&p, USA, H100, 300, 0);
        c.set_nation(&p, MYS, H100, 300, 100);
        c.set_nation(&p, CHN, H100, 0, 0);
        c.set_hub(0, 0);
        assert_eq!(c.allocate(300), 0);
        assert_eq!(c.nation(MYS), (300, 180));
        assert_eq!(c.nation(USA), (300, 120));
    }

    #[test]
    fn shipments_install_now_or_on_arrival() {
        use crate::model::fixture::{self, H100, MYS};
        let p = fixture::params();
        let mut s = Stock::new(&p);
        let mut flows = Flows::new(3, 2);
        assert_eq!(s.installed(MYS, H100), 10);
        s.ship(0, MYS, H100, 1.0, 5, 0, &mut flows);
        s.ship(0, MYS, H100, 1.0, 7, 2, &mut flows);
        assert_eq!((s.installed(MYS, H100), s.in_transit(H100)), (15, 7));
        s.deliver(&p, 1, &mut flows);
        assert_eq!(s.in_transit(H100), 7);
        s.deliver(&p, 2, &mut flows);
        assert_eq!((s.installed(MYS, H100), s.in_transit(H100)), (22, 0));
        assert_eq!(flows.delivered_h100e[MYS], 12.0);
        assert_eq!(s.installed_total(H100), 100 + 22);
    }
}
