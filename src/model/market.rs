//! Market clearing: vendor choice shares (M5) and supply allocation by priority (M1).
//!
//! Pure functions on slices so they can be tested on their own and reused by later
//! mechanisms (deals add a priority class; transshipment adds buyers).

/// Multinomial-logit shares of `utilities`; `f64::NEG_INFINITY` marks an option that cannot be
/// chosen. Writes shares summing to 1 into `shares`, or all zeros when nothing can be chosen.
pub fn logit_shares(utilities: &[f64], shares: &mut [f64]) {
    debug_assert_eq!(utilities.len(), shares.len());
    let max = utilities.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if max == f64::NEG_INFINITY {
        shares.iter_mut().for_each(|s| *s = 0.0);
        return;
    }
    let mut total = 0.0;
    for (s, &u) in shares.iter_mut().zip(utilities) {
        *s = crate::math::exp(u - max);
        total += *s;
    }
    shares.iter_mut().for_each(|s| *s /= total);
}

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
        // Pro rata: floor shares first, then one more unit to each of the requests with the
        // largest fractional claims (ties to the earlier request). The remainder is smaller
        // than the number of requests in the class, so nobody gets more than one extra unit.
        let mut order: Vec<(u128, usize)> = Vec::new();
        let mut given = 0;
        for (k, (g, r)) in granted.iter_mut().zip(requests).enumerate() {
            if r.priority == priority {
                let claim = r.units as u128 * left as u128;
                *g = (claim / wanted as u128) as u64;
                given += *g;
                order.push((claim % wanted as u128, k));
            }
        }
        order.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        for &(_, k) in order.iter().take((left - given) as usize) {
            granted[k] += 1;
        }
        return 0;
    }
    left
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logit_shares_sum_to_one_and_favour_higher_utility() {
        let mut s = [0.0; 3];
        logit_shares(&[1.0, 0.0, f64::NEG_INFINITY], &mut s);
        assert!((s.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(s[0] > s[1] && s[2] == 0.0);
        logit_shares(&[f64::NEG_INFINITY; 3], &mut s);
        assert_eq!(s, [0.0; 3]);
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
}
