//! `x^y` for one base and many exponents, bit for bit [`libm::pow`].
//!
//! libm's `pow` is fdlibm's `e_pow.c` (Sun Microsystems, 2004, freely usable with this notice
//! kept: "Permission to use, copy, modify, and distribute this software is freely granted,
//! provided that this notice is preserved."). It works out `log2 |x|` in two pieces, `t1 +
//! t2`, from `x` alone, then `2^(y (t1 + t2))`. The model raises one base to a new power every
//! month (demand's `(1 + growth)^(t/12)` per nation, capacity's and the die supply's per
//! product and firm), so [`PowOf`] keeps the first half for its base and does only the second
//! per call: the same operations in the same order on the same values, hence the same bits.
//! Every case that libm treats apart (a base that is not a positive normal number other than 1;
//! an exponent that is 0, ±1, 2, 0.5, not finite, or whose high word is above 2^31's) goes to
//! libm itself.
//! Tests compare the two over millions of arguments.

/// `x^y` for the base `x` and any `y`: [`PowOf::pow`] is `libm::pow(x, y)` to the bit.
#[derive(Clone, Copy, Debug)]
pub struct PowOf {
    x: f64,
    /// `log2 x` as libm splits it (`t1` with its low 32 bits zero, `t2` the rest); `None`
    /// for a base libm treats apart.
    log2: Option<(f64, f64)>,
}

/// The base `NaN`: nothing worked out, every call goes to libm (a base of the same NaN bits
/// too, which is libm's answer as well).
impl Default for PowOf {
    fn default() -> PowOf {
        PowOf::new(f64::NAN)
    }
}

impl PowOf {
    /// Base `x`.
    pub fn new(x: f64) -> PowOf {
        let regular = x.is_normal() && x > 0.0 && x != 1.0;
        PowOf {
            x,
            log2: regular.then(|| log2_parts(x)),
        }
    }

    /// `x^y` for this or another base `x`: the base's logarithm is worked out again only
    /// when `x`'s bits differ from the last base's.
    #[inline]
    pub fn raise(&mut self, x: f64, y: f64) -> f64 {
        if x.to_bits() != self.x.to_bits() {
            *self = PowOf::new(x);
        }
        self.pow(y)
    }

    /// `x^y`, the bits of `libm::pow(x, y)`.
    #[inline]
    pub fn pow(&self, y: f64) -> f64 {
        let Some((t1, t2)) = self.log2 else {
            return libm::pow(self.x, y);
        };
        let bits = y.to_bits();
        let (iy, ly) = ((bits >> 32) as u32 & 0x7fff_ffff, bits as u32);
        // libm's own paths: y zero, NaN or infinite (high word at or above 0x7ff00000, so
        // inside the next test), high word above 2^31's, or ±1, ±2, ±0.5 (of which it treats
        // only +2 and +0.5 apart; the others go to it too, which is the same).
        let special = (iy | ly) == 0
            || iy > 0x41e0_0000
            || (ly == 0 && matches!(iy, 0x3ff0_0000 | 0x4000_0000 | 0x3fe0_0000));
        if special {
            return libm::pow(self.x, y);
        }
        exp2_of_product(t1, t2, y)
    }
}

fn with_set_low_word(f: f64, lo: u32) -> f64 {
    f64::from_bits((f.to_bits() & 0xffff_ffff_0000_0000) | lo as u64)
}

fn with_set_high_word(f: f64, hi: u32) -> f64 {
    f64::from_bits((f.to_bits() & 0x0000_0000_ffff_ffff) | ((hi as u64) << 32))
}

fn high_word(x: f64) -> u32 {
    (x.to_bits() >> 32) as u32
}

// fdlibm's constants, as the bit patterns its comments give (HUGE and TINY as it writes them).
const BP: [f64; 2] = [
    f64::from_bits(0x3ff00000_00000000),
    f64::from_bits(0x3ff80000_00000000),
];
const DP_H: [f64; 2] = [
    f64::from_bits(0x00000000_00000000),
    f64::from_bits(0x3fe2b803_40000000),
];
const DP_L: [f64; 2] = [
    f64::from_bits(0x00000000_00000000),
    f64::from_bits(0x3e4cfdeb_43cfd006),
];
const HUGE: f64 = 1.0e300;
const TINY: f64 = 1.0e-300;
const L1: f64 = f64::from_bits(0x3fe33333_33333303);
const L2: f64 = f64::from_bits(0x3fdb6db6_db6fabff);
const L3: f64 = f64::from_bits(0x3fd55555_518f264d);
const L4: f64 = f64::from_bits(0x3fd17460_a91d4101);
const L5: f64 = f64::from_bits(0x3fcd864a_93c9db65);
const L6: f64 = f64::from_bits(0x3fca7e28_4a454eef);
const P1: f64 = f64::from_bits(0x3fc55555_5555553e);
const P2: f64 = f64::from_bits(0xbf66c16c_16bebd93);
const P3: f64 = f64::from_bits(0x3f11566a_af25de2c);
const P4: f64 = f64::from_bits(0xbebbbd41_c5d26bf1);
const P5: f64 = f64::from_bits(0x3e663769_72bea4d0);
const LG2: f64 = f64::from_bits(0x3fe62e42_fefa39ef);
const LG2_H: f64 = f64::from_bits(0x3fe62e43_00000000);
const LG2_L: f64 = f64::from_bits(0xbe205c61_0ca86c39);
const OVT: f64 = f64::from_bits(0x3c971547_652b82fe);
const CP: f64 = f64::from_bits(0x3feec709_dc3a03fd);
const CP_H: f64 = f64::from_bits(0x3feec709_e0000000);
const CP_L: f64 = f64::from_bits(0xbe3e2fe0_145b01f5);

/// `log2 x` in libm's two pieces, for a positive normal `x` other than 1 (the `|y| ≤ 2^31`
/// branch of `e_pow.c`, whose results do not depend on `y`).
fn log2_parts(x: f64) -> (f64, f64) {
    let mut ix = (high_word(x) & 0x7fff_ffff) as i32;
    let mut ax = x.abs();
    let mut n: i32 = (ix >> 20) - 0x3ff;
    let j = ix & 0x000f_ffff;
    // The interval: |x| < sqrt(3/2), < sqrt(3), or above (then halved).
    let k: usize;
    ix = j | 0x3ff0_0000;
    if j <= 0x3988e {
        k = 0;
    } else if j < 0xbb67a {
        k = 1;
    } else {
        k = 0;
        n += 1;
        ix -= 0x0010_0000;
    }
    ax = with_set_high_word(ax, ix as u32);
    // ss = s_h + s_l = (x − 1)/(x + 1) or (x − 1.5)/(x + 1.5).
    let u = ax - BP[k];
    let v = 1.0 / (ax + BP[k]);
    let ss = u * v;
    let s_h = with_set_low_word(ss, 0);
    let t_h = with_set_high_word(
        0.0,
        ((ix as u32 >> 1) | 0x2000_0000) + 0x0008_0000 + ((k as u32) << 18),
    );
    let t_l = ax - (t_h - BP[k]);
    let s_l = v * ((u - s_h * t_h) - s_h * t_l);
    // log(ax).
    let s2 = ss * ss;
    let mut r = s2 * s2 * (L1 + s2 * (L2 + s2 * (L3 + s2 * (L4 + s2 * (L5 + s2 * L6)))));
    r += s_l * (s_h + ss);
    let s2 = s_h * s_h;
    let t_h = with_set_low_word(3.0 + s2 + r, 0);
    let t_l = r - ((t_h - 3.0) - s2);
    let u = s_h * t_h;
    let v = s_l * t_h + t_l * ss;
    // 2/(3 log 2) (ss + ...).
    let p_h = with_set_low_word(u + v, 0);
    let p_l = v - (p_h - u);
    let z_h = CP_H * p_h;
    let z_l = CP_L * p_h + p_l * CP + DP_L[k];
    // log2(ax) = n + dp_h + z_h + z_l.
    let t = n as f64;
    let t1 = with_set_low_word(((z_h + z_l) + DP_H[k]) + t, 0);
    let t2 = z_l - (((t1 - t) - DP_H[k]) - z_h);
    (t1, t2)
}

/// `2^(y (t1 + t2))` as the rest of `e_pow.c` works it out (a positive base: the sign is 1).
fn exp2_of_product(t1: f64, t2: f64, y: f64) -> f64 {
    // Split y into y1 + y2 and compute (y1 + y2)(t1 + t2).
    let y1 = with_set_low_word(y, 0);
    let p_l = (y - y1) * t1 + y * t2;
    let mut p_h = y1 * t1;
    let z = p_l + p_h;
    let mut j = (z.to_bits() >> 32) as i32;
    let i = z.to_bits() as i32;
    if j >= 0x4090_0000 {
        // z ≥ 1024.
        if (j - 0x4090_0000) | i != 0 || p_l + OVT > z - p_h {
            return HUGE * HUGE;
        }
    } else if (j & 0x7fff_ffff) >= 0x4090_cc00 {
        // z ≤ −1075.
        if ((j as u32).wrapping_sub(0xc090_cc00) | (i as u32)) != 0 || p_l <= z - p_h {
            return TINY * TINY;
        }
    }
    // 2^(p_h + p_l).
    let i = j & 0x7fff_ffff;
    let mut k = (i >> 20) - 0x3ff;
    let mut n: i32 = 0;
    if i > 0x3fe0_0000 {
        // |z| > 0.5: n = [z + 0.5].
        n = j + (0x0010_0000 >> (k + 1));
        k = ((n & 0x7fff_ffff) >> 20) - 0x3ff;
        let t = with_set_high_word(0.0, (n & !(0x000f_ffff >> k)) as u32);
        n = ((n & 0x000f_ffff) | 0x0010_0000) >> (20 - k);
        if j < 0 {
            n = -n;
        }
        p_h -= t;
    }
    let t = with_set_low_word(p_l + p_h, 0);
    let u = t * LG2_H;
    let v = (p_l - (t - p_h)) * LG2 + t * LG2_L;
    let mut z = u + v;
    let w = v - (z - u);
    let t = z * z;
    let t1 = z - t * (P1 + t * (P2 + t * (P3 + t * (P4 + t * P5))));
    let r = (z * t1) / (t1 - 2.0) - (w + z * w);
    z = 1.0 - (r - z);
    j = high_word(z) as i32;
    j += n << 20;
    if (j >> 20) <= 0 {
        // A subnormal result.
        libm::scalbn(z, n)
    } else {
        with_set_high_word(z, j as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::Xoshiro256PlusPlus;
    use rand::{RngExt, SeedableRng};

    fn same(x: f64, y: f64) {
        let (a, b) = (PowOf::new(x).pow(y), libm::pow(x, y));
        assert!(
            a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
            "pow({x:e}, {y:e}): {a:e} against libm's {b:e}"
        );
    }

    #[test]
    fn the_model_s_bases_and_exponents_give_libm_s_bits() {
        // Growth factors 1 + g over the ranges scenarios use, months 0..240 in twelfths.
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        for _ in 0..20_000 {
            let x = 1.0 + rng.random_range(-0.99..5.0);
            let of = PowOf::new(x);
            for t in 0..240 {
                let y = t as f64 / 12.0;
                assert_eq!(of.pow(y).to_bits(), libm::pow(x, y).to_bits(), "{x} {y}");
            }
        }
    }

    #[test]
    fn any_bits_give_libm_s_bits() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(2);
        // Uniform bit patterns (every exponent, both signs, NaNs and infinities) and
        // magnitudes near 1 and near overflow and underflow of the result.
        for _ in 0..2_000_000 {
            let x = f64::from_bits(rng.random());
            let y = f64::from_bits(rng.random());
            same(x, y);
            let x = rng.random_range(1e-3..1e3);
            same(x, rng.random_range(-1100.0..1100.0));
            same(x, rng.random_range(-5.0..5.0));
            // Near 1, with exponents up to libm's 2^31 (beyond, libm decides anyway).
            same(
                1.0 + rng.random_range(-1e-6..1e-6),
                rng.random_range(-2e9..2e9),
            );
        }
    }

    #[test]
    fn arguments_at_the_algorithm_s_edges_give_libm_s_bits() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
        for _ in 0..500_000 {
            // Bases at the edges of the logarithm's intervals (√(3/2) and √3 in the high
            // word of the mantissa), any exponent of two and any low word.
            let high = [0x3988e_u64, 0x3988f, 0xbb679, 0xbb67a][rng.random_range(0..4)];
            let e = rng.random_range(1..2046_u64);
            let low = rng.random::<u32>() as u64;
            let x = f64::from_bits((e << 52) | (high << 32) | low);
            // Exponents up to those whose result nears over- or underflow, where an error in
            // the logarithm's low piece shows most.
            let reach = 1000.0 / libm::log2(x).abs().max(0.5);
            same(x, rng.random_range(-3.0..3.0));
            same(x, rng.random_range(-reach..reach));
            // Exponents that put y log2 x a few ulps from where the second half changes
            // course: |z| = 0.5 (whether a whole power of two is split off), the overflow
            // at 1024, the subnormal results below −1022 and the underflow at −1075.
            let x = rng.random_range(1e-3..1e3);
            let log2 = libm::log2(x);
            if log2.abs() < 1e-6 {
                continue;
            }
            let z = [0.5, -0.5, 1024.0, -1022.0, -1075.0][rng.random_range(0..5)];
            let y = f64::from_bits(
                (z / log2)
                    .to_bits()
                    .wrapping_add_signed(rng.random_range(-8..=8)),
            );
            same(x, y);
        }
    }

    #[test]
    fn the_cases_libm_treats_apart_give_libm_s_bits() {
        let xs = [
            0.0,
            -0.0,
            1.0,
            -1.0,
            2.0,
            0.5,
            f64::MIN_POSITIVE,
            f64::MIN_POSITIVE / 3.0,
            f64::MAX,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            -2.5,
            1.0 + f64::EPSILON,
            1.0 - f64::EPSILON / 2.0,
        ];
        let ys = [
            0.0,
            -0.0,
            1.0,
            -1.0,
            2.0,
            -2.0,
            0.5,
            -0.5,
            3.0,
            1e10,
            2147483648.0,
            2147483649.0,
            -2147483649.0,
            1e300,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            1024.0,
            -1075.0,
            1_023.999_999_999_999_9,
            -1074.5,
        ];
        for &x in &xs {
            for &y in &ys {
                same(x, y);
            }
        }
    }
}
