//! Quick `exp` and `ln` for results that are decided to the bit anyway.
//!
//! The portable `exp` and `ln` ([`super::exp`], [`super::ln`]: musl's, through the `libm`
//! crate) are accurate to within one unit in the last place, and cost a division and a
//! polynomial: 60–80 cycles of latency a call. Several places use them only to decide
//! something coarser than their last bit:
//! - which `f32` an `exp` rounds to (an intermediary's size is a lognormal draw kept as
//!   `f32`: [`exp_to_f32`]);
//! - which whole number a quotient of logarithms truncates to (a geometric gap,
//!   [`super::Geometric`]);
//! - which side of a bound a logarithm falls on (the acceptance test of a gamma variate,
//!   [`super::Gamma`]);
//! - which bucket of a quantile sketch a value falls in (`output::sketch`).
//!
//! Each of them works the decision out from a quick value with a proven error bound
//! ([`quick_exp`], [`quick_ln`]: a table lookup and a short polynomial, no division), and
//! takes it when the exact value's decision is certain: when the quick value is farther from
//! the decision's edge than the quick and the portable function can differ. Otherwise, rarely
//! (about one call in 30,000 for [`exp_to_f32`]; for a geometric gap a share of about
//! `4e-13 / |ln(1 − p)|` of the draws, so every draw when `p` is below about 1e-12), it
//! computes the decision with the portable function. So every result is the portable one to
//! the bit, on every platform with IEEE double arithmetic (as the portable functions
//! themselves assume; not the x87 unit of 32-bit x86 without SSE2). The tests compare the
//! decisions over millions of arguments, uniform ones and over a million chosen next to a
//! decision's edge.
//!
//! The quick functions hold their bounds only on their stated domains (checked in debug
//! builds), so they stay inside the crate, behind the decisions that check them.

use std::f64::consts::LN_2;
use std::sync::OnceLock;

/// Rows of [`quick_ln`]'s table: the top bits of the mantissa kept.
const LN_BITS: u32 = 8;

/// Per row `j`: the row's centre `c = 1 + (j + 1/2) / 2^LN_BITS`, `1/c` and `ln c` (an array
/// of the rows' number, so that a row's index, `LN_BITS` bits, needs no bounds check).
pub type LnTable = [[f64; 3]; 1 << LN_BITS];

/// The [`LnTable`], worked out once (`ln` is not a `const fn`).
pub fn ln_table() -> &'static LnTable {
    static TABLE: OnceLock<LnTable> = OnceLock::new();
    TABLE.get_or_init(|| {
        std::array::from_fn(|j| {
            let c = 1.0 + (j as f64 + 0.5) / f64::from(1u32 << LN_BITS);
            [c, 1.0 / c, super::ln(c)]
        })
    })
}

/// Within how much [`quick_ln`] is of the true `ln m` (absolute), for a normal `m` in
/// `[2^-62, 2^63)`.
pub const LN_ERROR: f64 = 3e-14;

/// `ln m` for a normal positive `m`, within [`LN_ERROR`] (absolute) for `m` in
/// `[2^-62, 2^63)`: `m = 2^e · f` with `f` in `[1, 2)`, `ln m = e ln 2 + ln c + ln(1 + r)`
/// with `c` the centre of `f`'s row in [`ln_table`] and `r = (f - c) / c`, `|r| <= 2^-9`, so
/// the series `r - r²/2 + r³/3 - r⁴/4` errs by at most `|r|^5 / 5 < 6e-15`; the rounding of the
/// few operations adds at most about 2e-14 (`e ln 2` and the sum, `|e| <= 62`). The portable
/// `ln` is within one unit in the last place of the true value: 7.2e-15 for `|ln m| < 44`.
#[inline(always)]
pub fn quick_ln(table: &LnTable, m: f64) -> f64 {
    let bits = m.to_bits();
    let e = ((bits >> 52) & 0x7ff) as i32 - 1023;
    let j = ((bits >> (52 - LN_BITS)) & ((1 << LN_BITS) - 1)) as usize;
    let f = f64::from_bits((bits & ((1 << 52) - 1)) | (1023 << 52));
    let [c, inv, ln_c] = table[j];
    let r = (f - c) * inv;
    // Estrin's scheme: r² and r⁴ in parallel with the rest (a shorter chain than Horner's).
    let r2 = r * r;
    let series = r + r2 * (-0.5 + r * (1.0 / 3.0)) - 0.25 * (r2 * r2);
    f64::from(e) * LN_2 + ln_c + series
}

/// Rows of [`quick_exp`]'s table: `x` is split at multiples of `ln 2 / 2^EXP_BITS`.
const EXP_BITS: u32 = 6;
const EXP_ROWS: usize = 1 << EXP_BITS;

/// `2^(j / 2^EXP_BITS)` for each row `j`.
pub type ExpTable = [f64; EXP_ROWS];

/// The [`ExpTable`], worked out once with the portable `exp2` (within one unit in the last
/// place).
pub fn exp_table() -> &'static ExpTable {
    static TABLE: OnceLock<ExpTable> = OnceLock::new();
    TABLE.get_or_init(|| std::array::from_fn(|j| libm::exp2(j as f64 / EXP_ROWS as f64)))
}

/// Where [`quick_exp`] holds its bound.
pub const EXP_DOMAIN: f64 = 700.0;

/// Within how much [`quick_exp`] is of the true `e^x` (relative) for `|x| <= EXP_DOMAIN`:
/// a proven bound of about 8e-16 (see there), with margin; the tests measure at most 5.6e-16.
pub const EXP_ERROR: f64 = 2e-15;

/// `ln 2 / 2^EXP_BITS` in two parts (fdlibm's split of `ln 2`, scaled by a power of two, so
/// both stay exact): the high part has 32 significant bits, so its product with a whole
/// number below 2^21 is exact.
const LN2_ROW_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000) / EXP_ROWS as f64;
const LN2_ROW_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76) / EXP_ROWS as f64;

/// Adding 1.5 × 2^52 to a float below 2^51 in magnitude rounds it to a whole number.
const ROUNDING_SHIFT: f64 = 6_755_399_441_055_744.0;

/// `e^x` for `|x| <= EXP_DOMAIN`, within [`EXP_ERROR`] (relative), with no division:
/// `x = (2^EXP_BITS m + j) ln 2 / 2^EXP_BITS + r`, `|r| <= ln 2 / 2^(EXP_BITS + 1)`, so
/// `e^x = 2^m · 2^(j / 2^EXP_BITS) · e^r`, and `e^r` is its Taylor polynomial of degree 5,
/// which errs by at most `|r|^6 / 720 < 4e-17`. `r` is exact but for the low part's product
/// (an absolute error of about 2e-23) and the last subtraction (1.1e-16 relative to `r`,
/// which is below 0.0055). The table entry is within one unit in the last place (2.2e-16),
/// the polynomial's rounding at most about 3.3e-16, the last product 1.1e-16: about 7.7e-16
/// in all.
#[inline(always)]
pub fn quick_exp(table: &ExpTable, x: f64) -> f64 {
    debug_assert!(x.abs() <= EXP_DOMAIN, "{x}");
    let t = x * (EXP_ROWS as f64 / LN_2);
    let shifted = t + ROUNDING_SHIFT;
    let k = shifted - ROUNDING_SHIFT;
    // `x − k ln 2 / 2^EXP_BITS`: `k × LN2_ROW_HI` is exact (|k| < 2^21) and so is its
    // difference with `x` (the two are within a factor of two of each other, or k is 0).
    let r = (x - k * LN2_ROW_HI) - k * LN2_ROW_LO;
    // k as a whole number, read from the shifted sum's bits (its mantissa holds 2^51 + k):
    // no conversion, whose saturating form costs a comparison and a branch.
    let whole = shifted.to_bits().wrapping_sub(ROUNDING_SHIFT.to_bits()) as i64;
    let row = (whole & (EXP_ROWS as i64 - 1)) as usize;
    // 2^m × the row's entry, by adding m to its exponent (m = ⌊k / 2^EXP_BITS⌋; the result
    // stays normal for |x| <= EXP_DOMAIN).
    let m = whole >> EXP_BITS;
    // Bits, not numbers: the sum is the entry's bits with m added to the exponent field
    // (wrapping, as a negative m borrows from the bits above).
    let scale = f64::from_bits(table[row].to_bits().wrapping_add((m << 52) as u64));
    let r2 = r * r;
    let poly =
        (1.0 + r) + r2 * (0.5 + r * (1.0 / 6.0)) + (r2 * r2) * (1.0 / 24.0 + r * (1.0 / 120.0));
    scale * poly
}

/// How far apart, relative, two values may be and still round to the same `f32` in
/// [`exp_to_f32`]: the quick `exp`'s bound plus the portable one's (2.2e-16), with a wide
/// margin (2^-40 ≈ 9.1e-13). An `f32` rounding edge falls within it of a value about once in
/// 2^15 draws.
const EXP_TO_F32_TOLERANCE: f64 = 1.0 / (1u64 << 40) as f64;
const _: () = assert!(EXP_TO_F32_TOLERANCE > 100.0 * (EXP_ERROR + 2.3e-16));

/// `exp(x) as f32` with the portable `exp`, to the bit: when the quick value's interval of
/// ± 2^-40 (relative) rounds to one `f32`, the portable value (which lies in it)
/// rounds to that one too, since rounding to `f32` is monotone; otherwise the portable `exp`
/// decides. Outside `|x| <= 80` (where `e^x` is a normal `f32`) the portable `exp` decides.
#[inline]
pub fn exp_to_f32(x: f64) -> f32 {
    if x.abs() <= 80.0 {
        let y = quick_exp(exp_table(), x);
        let low = (y * (1.0 - EXP_TO_F32_TOLERANCE)) as f32;
        let high = (y * (1.0 + EXP_TO_F32_TOLERANCE)) as f32;
        if low == high {
            return low;
        }
    }
    exact_exp_to_f32(x)
}

/// The definition of [`exp_to_f32`].
#[cold]
#[inline(never)]
fn exact_exp_to_f32(x: f64) -> f32 {
    super::exp(x) as f32
}

#[cfg(test)]
mod tests {
    use super::super::{exp, ln};
    use super::*;

    /// A small xorshift generator: the tests' arguments, reproducible.
    struct Xorshift(u64);

    impl Xorshift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        /// Uniform on `[low, high)`.
        fn uniform(&mut self, low: f64, high: f64) -> f64 {
            low + (high - low) * ((self.next() >> 11) as f64 / (1u64 << 53) as f64)
        }
    }

    #[test]
    fn quick_exp_is_within_its_bound() {
        let mut rng = Xorshift(7);
        let table = exp_table();
        let mut worst: f64 = 0.0;
        let mut check = |x: f64| {
            let error = (quick_exp(table, x) / exp(x) - 1.0).abs();
            worst = worst.max(error);
        };
        for _ in 0..2_000_000 {
            check(rng.uniform(-EXP_DOMAIN, EXP_DOMAIN));
            check(rng.uniform(-2.0, 2.0));
        }
        // Row edges, where `r` is largest, and around zero.
        for k in -200..=200 {
            let edge = (f64::from(k) + 0.5) * LN_2 / EXP_ROWS as f64;
            for d in -3i64..=3 {
                check(f64::from_bits((edge.to_bits() as i64 + d) as u64));
            }
        }
        for x in [0.0, -0.0, 1e-300, -1e-300, EXP_DOMAIN, -EXP_DOMAIN] {
            check(x);
        }
        // The portable `exp` adds up to one unit in the last place of its own.
        assert!(
            worst < EXP_ERROR - 2.3e-16,
            "worst relative error {worst:e}"
        );
        assert!(worst > 0.0);
    }

    #[test]
    fn the_split_of_ln_2_is_exact_enough() {
        let (hi, lo) = (LN2_ROW_HI * EXP_ROWS as f64, LN2_ROW_LO * EXP_ROWS as f64);
        assert_eq!(hi + lo, LN_2);
        // 32 significant bits: products with whole numbers below 2^21 are exact.
        assert_eq!(hi.to_bits() & ((1 << 21) - 1), 0);
        // The low part carries ln 2 beyond `LN_2`'s bits (ln 2 − LN_2 = 2.3190468138463e-17):
        // the two parts are within 1.2e-26 of ln 2.
        assert!(((hi - LN_2) + lo - 2.319_046_813_846_3e-17).abs() < 2e-26);
    }

    #[test]
    fn exp_to_f32_is_the_portable_exp_rounded() {
        let mut rng = Xorshift(11);
        let (mut checked, mut edges) = (0u64, 0u64);
        let mut check = |x: f64| {
            assert_eq!(
                exp_to_f32(x).to_bits(),
                (exp(x) as f32).to_bits(),
                "x = {x:e} ({:#x})",
                x.to_bits()
            );
            checked += 1;
        };
        for _ in 0..2_000_000 {
            check(rng.uniform(-90.0, 90.0));
            check(rng.uniform(0.0, 12.0));
        }
        // Next to the edges: `x` whose `exp` is (nearly) halfway between two `f32`s, and the
        // floats around it.
        for _ in 0..200_000 {
            let v = f32::from_bits((rng.next() >> 33) as u32 % 0x7f7f_ffff);
            if !(1e-34..1e34).contains(&v) {
                continue;
            }
            let halfway = (f64::from(v) + f64::from(f32::from_bits(v.to_bits() + 1))) / 2.0;
            let x = ln(halfway);
            for d in -4i64..=4 {
                let near = f64::from_bits((x.to_bits() as i64 + d) as u64);
                let y = quick_exp(exp_table(), near);
                let low = (y * (1.0 - EXP_TO_F32_TOLERANCE)) as f32;
                edges += u64::from(low != (y * (1.0 + EXP_TO_F32_TOLERANCE)) as f32);
                check(near);
            }
        }
        for x in [
            f64::NAN,
            f64::INFINITY,
            -f64::INFINITY,
            80.0,
            -80.0,
            88.8,
            -104.0,
            0.0,
        ] {
            check(x);
        }
        assert!(checked > 5_000_000);
        // Most arguments next to an edge go to the portable `exp`.
        assert!(edges > 1_000_000, "{edges} edges");
    }

    #[test]
    fn quick_ln_is_within_its_bound() {
        let mut rng = Xorshift(13);
        let table = ln_table();
        let check = |m: f64| {
            let error = (quick_ln(table, m) - ln(m)).abs();
            // The portable `ln` is itself within 7.2e-15 of the true value.
            assert!(error < LN_ERROR - 7.2e-15, "{m:e}: {error:e}");
        };
        for _ in 0..1_000_000 {
            // Uniform draws on (0, 1] as the samplers make them, and any binary exponent.
            check(((rng.next() >> 11) + 1) as f64 / (1u64 << 53) as f64);
            check(rng.uniform(1.0, 2.0) * 2f64.powi((rng.next() % 125) as i32 - 62));
        }
        // Row edges and centres.
        for j in 0..=(1u64 << LN_BITS) {
            let edge = 1.0 + j as f64 / f64::from(1u32 << LN_BITS);
            for d in -3i64..=3 {
                for scale in [2f64.powi(-62), 2f64.powi(-53), 0.5, 1.0, 2f64.powi(62)] {
                    check(f64::from_bits((edge.to_bits() as i64 + d) as u64) * scale);
                }
            }
        }
        check(1.0);
        check(f64::MIN_POSITIVE * 2f64.powi(960));
    }
}
