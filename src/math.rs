//! Portable floating-point: every transcendental function chipdip computes, and the random
//! variates built on them.
//!
//! `f64::exp`, `ln` and `powf` call the platform's math library, whose last bit differs between
//! systems (glibc, musl, macOS, MSVC), so a run would give the same bytes only on the same
//! platform. Everything here goes through the [`libm`] crate instead: a pure-Rust port of musl's
//! math library built from IEEE-754 basic operations (which are correctly rounded everywhere),
//! so the same scenario and seed give the same bits on any machine.
//!
//! The samplers replace `rand_distr`'s (whose ziggurat and Beta samplers call the platform's
//! `exp`/`ln`). Each draws a fixed or rejection-driven number of `u64`s from the caller's
//! generator and nothing else, so streams stay reproducible:
//! - [`standard_normal`]: Doornik's ZIGNOR ziggurat (128 layers; "An Improved Ziggurat Method
//!   to Generate Normal Random Samples", 2005): one `u64` per attempt (53 bits for the abscissa,
//!   the low 7 for the layer), accepted without any transcendental call about 98.8% of the time;
//!   the wedges and the tail use [`exp`] and [`ln`]. Its tables were computed from the
//!   published constants with the same portable functions and are written out as bit patterns
//!   (a test recomputes them), so they too are the same everywhere;
//! - [`lognormal`]: `exp(mu + sigma z)`;
//! - [`gamma`]: Marsaglia–Tsang (2000) for shape ≥ 1, boosted by `U^(1/shape)` below 1
//!   ([`Gamma`] keeps one shape's constants for many draws, with the same bits);
//! - [`beta`]: `X / (X + Y)` with `X ~ Gamma(alpha)`, `Y ~ Gamma(beta)` ([`Beta`] likewise);
//! - [`poisson`]: Knuth's product of uniforms, a rounded normal above a mean of 30;
//! - [`geometric_gap`]: `⌊ln U / ln(1 − p)⌋`, the trials before the next success (one `u64`;
//!   [`Geometric`] keeps `ln(1 − p)` for many draws).
//!
//! Where a draw uses an `exp` or `ln` only to decide something coarser than its last bit (an
//! `f32`, a whole number, an acceptance), `quick` (`src/math/quick.rs`) decides it from a
//! cheap value with a proven error bound, and the portable function only when that cannot: the
//! same bits, for a fraction of the cost. [`PowOf`] (`src/math/pow_of.rs`) raises one base to
//! many powers with libm's bits, working out the base's logarithm once.

mod pow_of;
pub(crate) mod quick;

pub use pow_of::PowOf;

use rand::Rng;

/// `e^x`, portable.
#[inline]
pub fn exp(x: f64) -> f64 {
    libm::exp(x)
}

/// Natural logarithm, portable.
#[inline]
pub fn ln(x: f64) -> f64 {
    libm::log(x)
}

/// `x^y`, portable.
#[inline]
pub fn pow(x: f64, y: f64) -> f64 {
    libm::pow(x, y)
}

/// The standard normal distribution function `Φ(x) = (1 + erf(x / √2)) / 2`, portable.
#[inline]
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * (1.0 + libm::erf(x * std::f64::consts::FRAC_1_SQRT_2))
}

/// 2^52: from here on every `f64` is a whole number.
const WHOLE_FROM: f64 = 4_503_599_627_370_496.0;

/// `x.round() as u64` (half away from zero, saturating, NaN to 0) without the call `round` is
/// on x86-64 without SSE4.1: below 2^52 a non-negative `x` is its truncation plus one when the
/// fraction, `x − trunc(x)` (exact), is at least a half. The truncation goes through i64,
/// whose conversions take no branch (x86-64 has them for signed integers; u64's branch).
#[inline]
pub fn round_to_u64(x: f64) -> u64 {
    if (0.0..WHOLE_FROM).contains(&x) {
        let whole = x as i64;
        (whole + i64::from(x - whole as f64 >= 0.5)) as u64
    } else {
        x.round() as u64
    }
}

/// `x.ceil() as u64` (saturating, NaN to 0) without the call `ceil` is on x86-64 without
/// SSE4.1: below 2^52 a non-negative `x` is its truncation plus one when it has a fraction
/// (the truncation through i64, as in [`round_to_u64`]).
#[inline]
pub fn ceil_to_u64(x: f64) -> u64 {
    if (0.0..WHOLE_FROM).contains(&x) {
        let whole = x as i64;
        (whole + i64::from(x > whole as f64)) as u64
    } else {
        x.ceil() as u64
    }
}

/// `x^n` for a whole `n` by square-and-multiply, in exactly `bits` rounds (`bits` ≥ the bit
/// length of `n`; a round whose bit of `n` is clear multiplies by 1.0, which is exact): only
/// multiplications, correctly rounded on every platform. Squaring doubles the relative error of
/// the base, so the result is within about `n ε` relative (1e-12 at `n` = 4,000 units), far
/// below any effect on a probability drawn against. Used where a loop needs `b^n` for many
/// integers `n` and one base, instead of an `exp` per `n`; the fixed trip count and the
/// branch-free select keep the intermediary loop free of data-dependent branches (they
/// mispredicted on every lot when the loop stopped at the highest set bit).
#[inline]
pub fn powu_bits(mut base: f64, mut n: u64, bits: u32) -> f64 {
    debug_assert!(u64::BITS - n.leading_zeros() <= bits);
    let mut acc = 1.0;
    for _ in 0..bits {
        acc *= [1.0, base][(n & 1) as usize];
        base *= base;
        n >>= 1;
    }
    acc
}

/// Uniform on `[0, 1)` with 53 random bits (one `u64`).
#[inline]
pub fn unit(rng: &mut (impl Rng + ?Sized)) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Uniform on `(0, 1]` (one `u64`): safe to take the logarithm of.
#[inline]
fn unit_open_zero(rng: &mut (impl Rng + ?Sized)) -> f64 {
    ((rng.next_u64() >> 11) + 1) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Failures before the first success in Bernoulli(`p`) trials (geometric on {0, 1, …}), from
/// one uniform draw: `⌊ln U / ln(1 − p)⌋`, `U` uniform on (0, 1]. A loop over many trials of
/// a rare event counts this many down instead of drawing once a trial, with the same
/// distribution of events. `u64::MAX` (never) when `p <= 0`, 0 when `p >= 1`.
pub fn geometric_gap(rng: &mut (impl Rng + ?Sized), p: f64) -> u64 {
    Geometric::new(p).gap(rng)
}

/// Four times the most by which the quick quotient of [`Geometric::gap`] can differ from the
/// exact one, per unit of `1 / |ln(1 − p)|` (see there): the two logarithms' difference, and
/// the roundings' 1.3e-14.
const GAP_TOLERANCE: f64 = 4.0 * (quick::LN_ERROR + 7.2e-15 + 1.3e-14);

/// [`geometric_gap`] for one `p`, with `ln(1 − p)` computed once for many draws (the same
/// draws and bits).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Geometric {
    p: f64,
    /// `ln(1 − p)` for `0 < p < 1`, else NaN (unused).
    ln_q: f64,
    /// `1 / ln(1 − p)`, for the quick quotient.
    inv_ln_q: f64,
    /// Four times the most the quick quotient can differ from the exact one (see
    /// [`Geometric::gap`]): a fraction closer than this to a whole number goes to the exact one.
    tolerance: f64,
}

impl Geometric {
    pub fn new(p: f64) -> Geometric {
        let ln_q = if p > 0.0 && p < 1.0 {
            libm::log1p(-p)
        } else {
            f64::NAN
        };
        let inv_ln_q = 1.0 / ln_q;
        Geometric {
            p,
            ln_q,
            inv_ln_q,
            tolerance: GAP_TOLERANCE * inv_ln_q.abs(),
        }
    }

    /// The success probability `p`.
    pub fn p(&self) -> f64 {
        self.p
    }

    /// One gap (one `u64` drawn when `0 < p < 1`, none otherwise).
    ///
    /// The gap is `⌊ln U / ln(1 − p)⌋` with the portable `ln`. The quick quotient
    /// `t = quick_ln(U) × (1 / ln(1 − p))` is within `5e-14 / |ln(1 − p)|` of that quotient:
    /// the two logarithms are within `quick::LN_ERROR` + 7.2e-15 of each other (`U ≥ 2^-53`,
    /// so `|ln U| < 37`), and the reciprocal and the two roundings add 3.4e-16 relative, at most
    /// 1.3e-14 / |ln(1 − p)| for a quotient below `37 / |ln(1 − p)|`. When `t`'s fraction is
    /// farther than `tolerance`, four times that, from a whole number, both have the same
    /// whole part; otherwise (rarely) the portable quotient decides.
    #[inline]
    pub fn gap(&self, rng: &mut (impl Rng + ?Sized)) -> u64 {
        let p = self.p;
        if p.is_nan() || p <= 0.0 {
            return u64::MAX;
        }
        if p >= 1.0 {
            return 0;
        }
        self.gap_of(unit_open_zero(rng))
    }

    /// [`Geometric::gap`] for a drawn `u` in `(0, 1]` and `0 < p < 1`.
    #[inline]
    fn gap_of(&self, u: f64) -> u64 {
        let t = quick::quick_ln(quick::ln_table(), u) * self.inv_ln_q;
        // Below 2^52 the fraction is exact (NaN fails the test: the portable quotient).
        if t < WHOLE_FROM {
            // Through i64: one instruction (a t just below 0 truncates to 0 and fails below).
            let whole = t as i64;
            let fraction = t - whole as f64;
            if fraction > self.tolerance && fraction < 1.0 - self.tolerance {
                return whole as u64;
            }
        }
        self.exact_gap(u)
    }

    /// The definition of [`Geometric::gap`] for a drawn `u`.
    #[cold]
    #[inline(never)]
    fn exact_gap(&self, u: f64) -> u64 {
        let gap = ln(u) / self.ln_q;
        if gap >= u64::MAX as f64 {
            u64::MAX
        } else {
            gap as u64
        }
    }
}

/// Layers of the ziggurat.
const ZIG_LAYERS: usize = 128;
/// Where the tail starts (Doornik 2005, for 128 layers).
const ZIG_R: f64 = 3.442619855899;
/// The area of each layer (Doornik 2005); it enters only the tables, which a test recomputes.
#[cfg(test)]
const ZIG_V: f64 = 9.91256303526217e-3;

/// The ziggurat's layer edges `x[0..=128]` (`x[0] = V / f(R)`, `x[1] = R`, `x[128] = 0`) and
/// the ratios `x[i+1] / x[i]` under which a point is inside layer `i`'s rectangle.
struct Ziggurat {
    x: [f64; ZIG_LAYERS + 1],
    ratio: [f64; ZIG_LAYERS],
}

/// The tables, computed from the published constants with the portable functions
/// ([`ziggurat_tables`]) and written out as bit patterns, so that a draw reads a static table
/// instead of checking a lazily built one; a unit test checks they are that computation's
/// output to the bit.
static ZIGGURAT: Ziggurat = Ziggurat {
    x: from_bits(ZIG_X_BITS),
    ratio: from_bits(ZIG_RATIO_BITS),
};

const ZIG_X_BITS: [u64; ZIG_LAYERS + 1] = [
    0x400db4668fe7e4a4,
    0x400b8a7c476d2be8,
    0x4009c8e0c7c8098f,
    0x4008aa73e440ffbc,
    0x4007d45eb36eb842,
    0x4007279dd4ac3f9d,
    0x400695c2be68edc9,
    0x400616dff7c8f54a,
    0x4005a61edf7e8f32,
    0x40054052012a04a4,
    0x4004e3456b0e3a1b,
    0x40048d61806d6010,
    0x40043d75b60bca1d,
    0x4003f29848d3b416,
    0x4003ac11b8e206d6,
    0x4003694f3a3740d9,
    0x400329d9725e32f7,
    0x4002ed4df8099571,
    0x4002b35aa5ebee3e,
    0x40027bba2b5dbc92,
    0x400246317a6b53c0,
    0x4002128dd36bdf09,
    0x4001e0a342cf08f6,
    0x4001b04b731f6bcc,
    0x40018164be0c1c39,
    0x400153d16d45743d,
    0x40012777201834f3,
    0x4000fc3e4d95f278,
    0x4000d211dd28b00f,
    0x4000a8ded0ec371a,
    0x40008093fe3e40e1,
    0x40005921d1c4d769,
    0x4000327a1cc4cf5e,
    0x40000c8fea1720d4,
    0x3fffceaeb2ca5f17,
    0x3fff858aff31cbf0,
    0x3fff3da097460823,
    0x3ffef6dcddc7d392,
    0x3ffeb12e91486bbc,
    0x3ffe6c85a849b015,
    0x3ffe28d331c6723c,
    0x3ffde609397e09b8,
    0x3ffda41aaf79a343,
    0x3ffd62fb52580b85,
    0x3ffd229f9bfeefda,
    0x3ffce2fcb05f8c33,
    0x3ffca4084e091e33,
    0x3ffc65b8c04dbac1,
    0x3ffc2804d2c6b16f,
    0x3ffbeae3c60cd0e4,
    0x3ffbae4d457ee119,
    0x3ffb72395df5b73b,
    0x3ffb36a075498d64,
    0x3ffafb7b428fe7a1,
    0x3ffac0c2c6fc6382,
    0x3ffa867047516e4f,
    0x3ffa4c7d45d01a31,
    0x3ffa12e37c983369,
    0x3ff9d99cd86b58b4,
    0x3ff9a0a373c73f21,
    0x3ff967f1924c7b06,
    0x3ff92f819c682bf5,
    0x3ff8f74e1b37c6b8,
    0x3ff8bf51b49ef337,
    0x3ff88787278810a6,
    0x3ff84fe9484873b9,
    0x3ff81872fd21db73,
    0x3ff7e11f3adaeb92,
    0x3ff7a9e90168b8ee,
    0x3ff772cb58a39dd6,
    0x3ff73bc14d01a2c9,
    0x3ff704c5ec50cb80,
    0x3ff6cdd4426b88a5,
    0x3ff696e755e16b84,
    0x3ff65ffa248e016d,
    0x3ff62907a0176ebf,
    0x3ff5f20aaa4dfc1a,
    0x3ff5bafe11654817,
    0x3ff583dc8bff3219,
    0x3ff54ca0b4ffd349,
    0x3ff515450720f455,
    0x3ff4ddc3d83a5b84,
    0x3ff4a617543306cd,
    0x3ff46e39778de063,
    0x3ff436240982ad9d,
    0x3ff3fdd09591d2a5,
    0x3ff3c538647ef792,
    0x3ff38c54749b9033,
    0x3ff3531d7146a43e,
    0x3ff3198ba982d911,
    0x3ff2df97057e7efb,
    0x3ff2a536fae30e33,
    0x3ff26a627fb9d120,
    0x3ff22f0ffbaa1e55,
    0x3ff1f335374a10f8,
    0x3ff1b6c7492c9735,
    0x3ff179ba80463fec,
    0x3ff13c024b2c7ec6,
    0x3ff0fd911b97f236,
    0x3ff0be58456ff4ae,
    0x3ff07e47d87a40f6,
    0x3ff03d4e7391c5b6,
    0x3feff6b21fffe318,
    0x3fef70a5866c8f45,
    0x3feee848e956826e,
    0x3fee5d6909f51b68,
    0x3fedcfccc51c59ee,
    0x3fed3f340dda611a,
    0x3fecab56ac6a38d1,
    0x3fec13e2b014e85b,
    0x3feb787a7c516f39,
    0x3fead8b2506a137a,
    0x3fea340d1baf5b16,
    0x3fe989f85c753b2a,
    0x3fe8d9c6a9d35e39,
    0x3fe822a858af0e7a,
    0x3fe763a1600eec71,
    0x3fe69b7b213f3f65,
    0x3fe5c8afdbf02177,
    0x3fe4e94c08c0bab3,
    0x3fe3fabee1911cd3,
    0x3fe2f98d6bb4f41b,
    0x3fe1e0ce6b5969af,
    0x3fe0a936da5e55a9,
    0x3fde8e576e43fbe6,
    0x3fdb4c8fece48e78,
    0x3fd73949184db9d3,
    0x3fd16db47e193e0b,
    0x0000000000000000,
];

const ZIG_RATIO_BITS: [u64; ZIG_LAYERS] = [
    0x3fedab48848d3c16,
    0x3fedf5993967d2a6,
    0x3fee9c885d9a666b,
    0x3feeea42f70ceeac,
    0x3fef1803c6a0781b,
    0x3fef366d2afaee48,
    0x3fef4c3825de9f38,
    0x3fef5ca83ef26e1f,
    0x3fef69868793c530,
    0x3fef73e31c89895d,
    0x3fef7c6a977e305f,
    0x3fef838ffd4ec0ea,
    0x3fef89a30bcaa7bb,
    0x3fef8edcde8cde13,
    0x3fef93677b627e76,
    0x3fef97628687c107,
    0x3fef9ae64ccb1f64,
    0x3fef9e05ca2efdc3,
    0x3fefa0d00cfbb6cd,
    0x3fefa3512e9cb952,
    0x3fefa59305b35722,
    0x3fefa79da7e004a6,
    0x3fefa977c9ec13d6,
    0x3fefab27081a26dc,
    0x3fefacb01d4366f8,
    0x3fefae170d5cadc4,
    0x3fefaf5f46a24900,
    0x3fefb08bbbbc73bc,
    0x3fefb19ef88b6409,
    0x3fefb29b32d77103,
    0x3fefb38257d095ff,
    0x3fefb456170e2019,
    0x3fefb517eb94bd58,
    0x3fefb5c92349c858,
    0x3fefb66ae52354db,
    0x3fefb6fe3652f8b4,
    0x3fefb783fe9c00d0,
    0x3fefb7fd0bfb9735,
    0x3fefb86a15c1886f,
    0x3fefb8cbbf324034,
    0x3fefb92299c5d1df,
    0x3fefb96f271420e9,
    0x3fefb9b1da7b43fc,
    0x3fefb9eb1a8ade0c,
    0x3fefba1b423d4107,
    0x3fefba42a205a48c,
    0x3fefba6180b97b60,
    0x3fefba781c59edc6,
    0x3fefba86aac1a8c1,
    0x3fefba8d5a3a81cb,
    0x3fefba8c51fddb9d,
    0x3fefba83b2a23e8e,
    0x3fefba7396782fc8,
    0x3fefba5c11d7fba4,
    0x3fefba3d3361dd1b,
    0x3fefba170431ac58,
    0x3fefb9e9880706ab,
    0x3fefb9b4bd62b198,
    0x3fefb9789d99cec9,
    0x3fefb9351cdf4f98,
    0x3fefb8ea2a43f27a,
    0x3fefb897afacf29c,
    0x3fefb83d91c1719a,
    0x3fefb7dbafce8335,
    0x3fefb771e3a1a365,
    0x3fefb70001593e79,
    0x3fefb685d72ad163,
    0x3fefb6032d1e0430,
    0x3fefb577c4bbfa39,
    0x3fefb4e358b1e8d0,
    0x3fefb4459c65d654,
    0x3fefb39e3b7c2e57,
    0x3fefb2ecd94c9ba2,
    0x3fefb23110445454,
    0x3fefb16a7133b4f5,
    0x3fefb0988284ac3d,
    0x3fefafbabf570e44,
    0x3fefaed0967f6925,
    0x3fefadd96964622e,
    0x3fefacd48ab5f4e1,
    0x3fefabc13cf91f8f,
    0x3fefaa9eb0e19352,
    0x3fefa96c0371d81a,
    0x3fefa8283bd8f44d,
    0x3fefa6d24902fe34,
    0x3fefa568fecff9b7,
    0x3fefa3eb12e1f177,
    0x3fefa25718f03b34,
    0x3fefa0ab7e8a2982,
    0x3fef9ee6862ee1b5,
    0x3fef9d06419a6a63,
    0x3fef9b088b20ff67,
    0x3fef98eafde8e73b,
    0x3fef96aaecc7e5e7,
    0x3fef9445577b49f4,
    0x3fef91b6dddf8427,
    0x3fef8efbb0b5013f,
    0x3fef8c0f7f61e36f,
    0x3fef88ed61f8e779,
    0x3fef858fbe99f8ad,
    0x3fef81f028fc2adf,
    0x3fef7e073a948fe3,
    0x3fef79cc61506b25,
    0x3fef7535a22e3d3f,
    0x3fef70374c1451aa,
    0x3fef6ac395f78bd5,
    0x3fef64ca218dbb22,
    0x3fef5e37591f6ccf,
    0x3fef56f39b2b0508,
    0x3fef4ee220c3043f,
    0x3fef45df82cd25b9,
    0x3fef3bbfb4b67d61,
    0x3fef304b35b5d591,
    0x3fef233b16d764d8,
    0x3fef143339d7d789,
    0x3fef02b9c88c7353,
    0x3feeee2a3186b514,
    0x3feed5a0a98bc7cd,
    0x3feeb7d8a7ccd9ed,
    0x3fee92f39746c228,
    0x3fee641170f50caf,
    0x3fee26896f5fbf47,
    0x3fedd2487adcb4e3,
    0x3fed58014742e543,
    0x3fec96d1a883d303,
    0x3feb3911e9b8053b,
    0x3fe803c6d4f93b41,
    0x0000000000000000,
];

const fn from_bits<const N: usize>(bits: [u64; N]) -> [f64; N] {
    let mut out = [0.0; N];
    let mut i = 0;
    while i < N {
        out[i] = f64::from_bits(bits[i]);
        i += 1;
    }
    out
}

/// The ziggurat's tables from Doornik's constants `R` and `V`: the source of [`ZIGGURAT`].
#[cfg(test)]
fn ziggurat_tables() -> Ziggurat {
    let mut x = [0.0; ZIG_LAYERS + 1];
    let mut f = exp(-0.5 * ZIG_R * ZIG_R);
    x[0] = ZIG_V / f;
    x[1] = ZIG_R;
    for i in 2..ZIG_LAYERS {
        x[i] = (-2.0 * ln(ZIG_V / x[i - 1] + f)).sqrt();
        f = exp(-0.5 * x[i] * x[i]);
    }
    let mut ratio = [0.0; ZIG_LAYERS];
    for i in 0..ZIG_LAYERS {
        ratio[i] = x[i + 1] / x[i];
    }
    Ziggurat { x, ratio }
}

/// A standard normal variate (ziggurat; see the module documentation).
#[inline]
pub fn standard_normal(rng: &mut (impl Rng + ?Sized)) -> f64 {
    let z = &ZIGGURAT;
    let bits = rng.next_u64();
    let u = 2.0 * ((bits >> 11) as f64 * (1.0 / (1u64 << 53) as f64)) - 1.0;
    let i = (bits & 0x7F) as usize;
    // Inside the layer's rectangle: the common case.
    if u.abs() < z.ratio[i] {
        return u * z.x[i];
    }
    normal_outside(rng, u, i)
}

/// [`standard_normal`] when its first point `(u, i)` falls outside its layer's rectangle:
/// the wedge or the tail, then further attempts.
#[cold]
#[inline(never)]
fn normal_outside(rng: &mut (impl Rng + ?Sized), u: f64, i: usize) -> f64 {
    let z = &ZIGGURAT;
    let (mut u, mut i) = (u, i);
    loop {
        if i == 0 {
            return normal_tail(rng, u < 0.0);
        }
        // In the wedge between the rectangle and the density.
        let x = u * z.x[i];
        let f0 = exp(-0.5 * (z.x[i] * z.x[i] - x * x));
        let f1 = exp(-0.5 * (z.x[i + 1] * z.x[i + 1] - x * x));
        if f1 + unit(rng) * (f0 - f1) < 1.0 {
            return x;
        }
        let bits = rng.next_u64();
        u = 2.0 * ((bits >> 11) as f64 * (1.0 / (1u64 << 53) as f64)) - 1.0;
        i = (bits & 0x7F) as usize;
        if u.abs() < z.ratio[i] {
            return u * z.x[i];
        }
    }
}

/// The normal tail beyond `ZIG_R` (Marsaglia 1964), on the side `negative` says.
fn normal_tail(rng: &mut (impl Rng + ?Sized), negative: bool) -> f64 {
    loop {
        let x = ln(unit_open_zero(rng)) / ZIG_R;
        let y = ln(unit_open_zero(rng));
        if -2.0 * y >= x * x {
            return if negative { x - ZIG_R } else { ZIG_R - x };
        }
    }
}

/// A lognormal variate: `exp(mu + sigma z)`, `z` standard normal (median `e^mu`).
pub fn lognormal(rng: &mut (impl Rng + ?Sized), mu: f64, sigma: f64) -> f64 {
    exp(mu + sigma * standard_normal(rng))
}

/// [`lognormal`] rounded to `f32` (`lognormal(..) as f32`, the same draws and bits), its `exp`
/// decided from a quick value (`quick::exp_to_f32`).
#[inline]
pub fn lognormal_f32(rng: &mut (impl Rng + ?Sized), mu: f64, sigma: f64) -> f32 {
    quick::exp_to_f32(mu + sigma * standard_normal(rng))
}

/// A Poisson draw with mean `lambda` (≥ 0): Knuth's product of uniforms below 30, a rounded
/// normal approximation above.
pub fn poisson(rng: &mut (impl Rng + ?Sized), lambda: f64) -> u64 {
    if lambda <= 0.0 {
        return 0;
    }
    if lambda >= 30.0 {
        let z = standard_normal(rng);
        return (lambda + lambda.sqrt() * z).round().max(0.0) as u64;
    }
    let limit = exp(-lambda);
    let (mut k, mut prod) = (0u64, unit(rng));
    while prod > limit {
        k += 1;
        prod *= unit(rng);
    }
    k
}

/// A Gamma(`shape`, 1) variate, `shape > 0` (Marsaglia and Tsang, "A simple method for
/// generating gamma variables", ACM TOMS 26(3), 2000). Rejection: the expected number of
/// normal draws per variate is below 1.05 for shape ≥ 1.
pub fn gamma(rng: &mut (impl Rng + ?Sized), shape: f64) -> f64 {
    Gamma::new(shape).sample(rng)
}

/// [`gamma`] for one shape, with Marsaglia and Tsang's constants (a square root and two
/// divisions) computed once for many draws; the same draws and the same bits as [`gamma`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Gamma {
    /// `1 / shape` when shape < 1 (the boost `U^(1/shape)`), else NaN (no boost).
    boost: f64,
    /// `d = a − 1/3`, `c = 1 / √(9d)` with `a` the shape, or shape + 1 below 1.
    d: f64,
    c: f64,
}

impl Gamma {
    pub fn new(shape: f64) -> Gamma {
        debug_assert!(shape > 0.0);
        // Gamma(a) = Gamma(a + 1) × U^(1/a) below 1.
        let (boost, a) = if shape < 1.0 {
            (1.0 / shape, shape + 1.0)
        } else {
            (f64::NAN, shape)
        };
        let d = a - 1.0 / 3.0;
        Gamma {
            boost,
            d,
            c: 1.0 / (9.0 * d).sqrt(),
        }
    }

    /// One variate.
    #[inline]
    pub fn sample(&self, rng: &mut (impl Rng + ?Sized)) -> f64 {
        if self.boost.is_nan() {
            return self.core(rng);
        }
        let boost = pow(unit_open_zero(rng), self.boost);
        self.core(rng) * boost
    }

    /// Marsaglia–Tsang for a shape ≥ 1.
    #[inline]
    fn core(&self, rng: &mut (impl Rng + ?Sized)) -> f64 {
        let (d, c) = (self.d, self.c);
        loop {
            let z = standard_normal(rng);
            let v = 1.0 + c * z;
            if v <= 0.0 {
                continue;
            }
            let v = v * v * v;
            let u = unit_open_zero(rng);
            let z2 = z * z;
            if u < 1.0 - 0.0331 * z2 * z2 || accepts(u, z2, d, v) {
                return d * v;
            }
        }
    }
}

/// The factor of [`accepts`]' margin (see there): over 25 times the two logarithms' difference.
const ACCEPTANCE_MARGIN: f64 = 1e-12;
const _: () = assert!(ACCEPTANCE_MARGIN > 25.0 * (quick::LN_ERROR + 7.2e-15));

/// Marsaglia–Tsang's acceptance test past its squeeze, `ln u < z²/2 + d (1 − v + ln v)` with
/// the portable `ln`, decided from [`quick::quick_ln`] when the two sides are farther apart
/// than the quick and the portable logarithms can make them differ.
///
/// Each logarithm is within `quick::LN_ERROR` + 7.2e-15 of the portable one (for `u` and `v`
/// in `[2^-62, 2^62)`; `u ≥ 2^-53`, and `v` is checked), so the left side moves by at most
/// 3.8e-14, the right by `d` times that, and the roundings of the right side's three
/// operations, each within 1.2e-16 of its result (the inner two then scaled by `d`), by at
/// most 2.3e-16 × (`z²/2 + 3 d (1 + v + |ln v|)`) between the two evaluations. The margin,
/// 10^-12 × (1 + `z²/2 + d (2 + v + |ln v|)`), is more than 25 times that.
#[inline]
fn accepts(u: f64, z2: f64, d: f64, v: f64) -> bool {
    if (2f64.powi(-62)..2f64.powi(62)).contains(&v) {
        let table = quick::ln_table();
        let ln_v = quick::quick_ln(table, v);
        let bound = 0.5 * z2 + d * (1.0 - v + ln_v);
        let margin = ACCEPTANCE_MARGIN * (1.0 + 0.5 * z2 + d * (2.0 + v + ln_v.abs()));
        let ln_u = quick::quick_ln(table, u);
        if ln_u < bound - margin {
            return true;
        }
        if ln_u > bound + margin {
            return false;
        }
    }
    exactly_accepts(u, z2, d, v)
}

/// The definition of [`accepts`].
#[cold]
#[inline(never)]
fn exactly_accepts(u: f64, z2: f64, d: f64, v: f64) -> bool {
    ln(u) < 0.5 * z2 + d * (1.0 - v + ln(v))
}

/// A Beta(`alpha`, `beta`) variate in `[0, 1]`, both shapes `> 0`.
pub fn beta(rng: &mut (impl Rng + ?Sized), alpha: f64, beta: f64) -> f64 {
    Beta::new(alpha, beta).sample(rng)
}

/// [`beta`] for one pair of shapes, its two [`Gamma`]s set up once.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Beta {
    x: Gamma,
    y: Gamma,
}

impl Beta {
    pub fn new(alpha: f64, beta: f64) -> Beta {
        Beta {
            x: Gamma::new(alpha),
            y: Gamma::new(beta),
        }
    }

    /// One variate: `X / (X + Y)`.
    #[inline]
    pub fn sample(&self, rng: &mut (impl Rng + ?Sized)) -> f64 {
        let x = self.x.sample(rng);
        let y = self.y.sample(rng);
        if x + y > 0.0 { x / (x + y) } else { 0.5 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_to_u64_without_the_call_is_the_call() {
        let mut xs = vec![
            0.0,
            -0.0,
            0.5,
            1.5,
            2.5,
            0.49999999999999994,
            0.5000000000000001,
            4_503_599_627_370_495.5,
            WHOLE_FROM,
            WHOLE_FROM + 2.0,
            -0.5,
            -0.4,
            -3.7,
            1e19,
            2e19,
            f64::MAX,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            f64::MIN_POSITIVE,
            5e-324,
        ];
        let mut rng = crate::rng::stream(3, crate::rng::Purpose::Demand, 0);
        for _ in 0..200_000 {
            let scale = [1.0, 10.0, 1e3, 1e6, 1e12, 1e16][(unit(&mut rng) * 6.0) as usize];
            let x = unit(&mut rng) * scale;
            xs.extend([x, x.floor() + 0.5, x.floor(), -x]);
        }
        for x in xs {
            assert_eq!(round_to_u64(x), x.round() as u64, "round {x:e}");
            assert_eq!(ceil_to_u64(x), x.ceil() as u64, "ceil {x:e}");
            // The cast alone truncates, which for every `x` is what the floor cast gives.
            assert_eq!(x as u64, x.floor() as u64, "floor {x:e}");
        }
    }

    /// The textbook square-and-multiply, stopping at the highest set bit: the reference
    /// `powu_bits` must match to the bit.
    fn powu(mut base: f64, mut n: u64) -> f64 {
        let mut acc = 1.0;
        while n > 0 {
            if n & 1 == 1 {
                acc *= base;
            }
            base *= base;
            n >>= 1;
        }
        acc
    }
    use rand::SeedableRng;
    use rand::rngs::Xoshiro256PlusPlus;

    fn rng() -> Xoshiro256PlusPlus {
        Xoshiro256PlusPlus::seed_from_u64(2025)
    }

    fn mean_var(v: &[f64]) -> (f64, f64) {
        let n = v.len() as f64;
        let m = v.iter().sum::<f64>() / n;
        (
            m,
            v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0),
        )
    }

    #[test]
    fn wrappers_agree_with_std_to_an_ulp_or_two() {
        for &x in &[1e-300, 0.1, 0.5, 1.0, 2.0, 10.0, 1e10, 1e300] {
            assert!((ln(x) - f64::ln(x)).abs() <= 2.0 * f64::EPSILON * f64::ln(x).abs().max(1.0));
        }
        for &x in &[-700.0, -10.0, -0.5, 0.0, 0.5, 10.0, 700.0] {
            assert!((exp(x) / f64::exp(x) - 1.0).abs() <= 4.0 * f64::EPSILON);
        }
        assert_eq!(pow(2.0, 10.0), 1024.0);
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(ln(1.0), 0.0);
    }

    #[test]
    fn powu_matches_pow() {
        assert_eq!(powu(3.0, 0), 1.0);
        assert_eq!(powu(3.0, 5), 243.0);
        for n in [1u64, 7, 50, 999, 4096] {
            let b = 0.9993;
            let rel = (powu(b, n) / pow(b, n as f64) - 1.0).abs();
            assert!(rel < 4.0 * n as f64 * f64::EPSILON, "n = {n}: {rel}");
        }
    }

    #[test]
    fn powu_bits_is_powu_to_the_bit() {
        for n in [0u64, 1, 2, 3, 7, 8, 50, 999, 1023, 4096] {
            for b in [0.5, 0.9993, 1.0, 1.7] {
                let bits = u64::BITS - n.leading_zeros();
                for extra in [0, 3] {
                    assert_eq!(
                        powu_bits(b, n, bits + extra).to_bits(),
                        powu(b, n).to_bits(),
                        "{b}^{n}"
                    );
                }
            }
        }
    }

    #[test]
    fn ziggurat_tables_are_the_computed_ones_to_the_bit() {
        let computed = ziggurat_tables();
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<u64>>();
        assert_eq!(bits(&ZIGGURAT.x), bits(&computed.x));
        assert_eq!(bits(&ZIGGURAT.ratio), bits(&computed.ratio));
        assert_eq!(ZIGGURAT.x[1], ZIG_R);
        assert_eq!(ZIGGURAT.x[ZIG_LAYERS], 0.0);
    }

    #[test]
    fn normal_has_mean_zero_and_unit_variance() {
        let mut r = rng();
        let v: Vec<f64> = (0..200_000).map(|_| standard_normal(&mut r)).collect();
        let (m, var) = mean_var(&v);
        assert!(m.abs() < 0.01, "mean {m}");
        assert!((var - 1.0).abs() < 0.015, "variance {var}");
        assert!(v.iter().all(|x| x.is_finite()));
    }

    #[test]
    fn normal_matches_the_normal_cdf_and_its_tails() {
        let mut r = rng();
        let n = 400_000;
        let mut v: Vec<f64> = (0..n).map(|_| standard_normal(&mut r)).collect();
        v.sort_by(f64::total_cmp);
        // Kolmogorov-Smirnov distance to Phi; the 0.1% critical value is 1.95 / sqrt(n).
        let phi = |x: f64| 0.5 * (1.0 + libm::erf(x / std::f64::consts::SQRT_2));
        let d = v
            .iter()
            .enumerate()
            .map(|(k, &x)| {
                let p = phi(x);
                (p - k as f64 / n as f64)
                    .abs()
                    .max(((k + 1) as f64 / n as f64 - p).abs())
            })
            .fold(0.0, f64::max);
        assert!(d < 1.95 / (n as f64).sqrt(), "KS distance {d}");
        // The tail beyond R = 3.44 (the ziggurat's base layer) has its share on both sides.
        let beyond = v.iter().filter(|x| x.abs() > ZIG_R).count() as f64 / n as f64;
        let want = 2.0 * (1.0 - phi(ZIG_R));
        assert!(
            (beyond / want - 1.0).abs() < 0.2,
            "tail share {beyond} vs {want}"
        );
        assert!(v[0] < -3.8 && v[n - 1] > 3.8, "tails reached");
    }

    #[test]
    fn geometric_gaps_give_bernoulli_trials_their_rate_and_spacing() {
        let mut r = rng();
        for p in [0.002, 0.05, 0.3] {
            let n = 200_000;
            let gaps: Vec<u64> = (0..n).map(|_| geometric_gap(&mut r, p)).collect();
            // Mean (1 − p) / p, and P(gap = 0) = p.
            let mean = gaps.iter().map(|&g| g as f64).sum::<f64>() / n as f64;
            let want = (1.0 - p) / p;
            let sd = (1.0 - p).sqrt() / p / (n as f64).sqrt();
            assert!(
                (mean - want).abs() < 5.0 * sd,
                "p {p}: mean {mean} vs {want}"
            );
            let zeros = gaps.iter().filter(|&&g| g == 0).count() as f64 / n as f64;
            let sd0 = (p * (1.0 - p) / n as f64).sqrt();
            assert!((zeros - p).abs() < 5.0 * sd0, "p {p}: P(0) {zeros}");
        }
        assert_eq!(geometric_gap(&mut r, 0.0), u64::MAX);
        assert_eq!(geometric_gap(&mut r, f64::NAN), u64::MAX);
        assert_eq!(geometric_gap(&mut r, 1.0), 0);
    }

    #[test]
    fn quick_geometric_gaps_are_the_exact_ones() {
        let mut r = rng();
        let mut edges = 0u64;
        // 1e-17: quotients beyond 2^52, which the quick path leaves to the portable one.
        for p in [
            1e-17,
            1e-12,
            1e-9,
            1e-6,
            1e-3,
            0.02,
            0.3,
            0.9,
            0.999_999,
            1.0 - 1e-15,
        ] {
            let g = Geometric::new(p);
            let check = |u: f64| {
                assert_eq!(g.gap_of(u), g.exact_gap(u), "p {p}, u {u:e}");
            };
            for _ in 0..200_000 {
                check(unit_open_zero(&mut r));
            }
            for u in [1.0, f64::EPSILON / 2.0, 0.5, 1.0 - f64::EPSILON / 2.0] {
                check(u);
            }
            // Next to the edges: `u` whose quotient is (nearly) a whole number `n`.
            let most = (37.0 / -g.ln_q).min(1e15);
            for _ in 0..2_000 {
                let n = (unit(&mut r) * most).floor().max(1.0);
                let u = exp(n * g.ln_q);
                for d in -64i64..=64 {
                    let near = f64::from_bits((u.to_bits() as i64 + d) as u64);
                    if near > 0.0 && near <= 1.0 {
                        let t = quick::quick_ln(quick::ln_table(), near) * g.inv_ln_q;
                        let fraction = t - t.floor();
                        edges +=
                            u64::from(fraction <= g.tolerance || fraction >= 1.0 - g.tolerance);
                        check(near);
                    }
                }
            }
        }
        assert!(edges > 100_000, "{edges} draws next to an edge");
    }

    #[test]
    fn quick_gamma_acceptance_is_the_exact_one() {
        let mut r = rng();
        let mut edges = 0u64;
        for shape in [1.0, 1.5, 2.5, 9.0, 300.0] {
            let g = Gamma::new(shape);
            let (d, c) = (g.d, g.c);
            for _ in 0..200_000 {
                let z = standard_normal(&mut r) * 1.5;
                let v = 1.0 + c * z;
                if v <= 0.0 {
                    continue;
                }
                let (v, z2) = (v * v * v, z * z);
                let u = unit_open_zero(&mut r);
                assert_eq!(accepts(u, z2, d, v), exactly_accepts(u, z2, d, v));
                // Next to the edge: u = e^bound and the floats around it.
                let bound = 0.5 * z2 + d * (1.0 - v + ln(v));
                if bound < 0.0 && bound > -37.0 {
                    let edge = exp(bound);
                    for k in -8i64..=8 {
                        let u = f64::from_bits((edge.to_bits() as i64 + k) as u64);
                        let margin = 1e-12 * (1.0 + 0.5 * z2 + d * (2.0 + v + ln(v).abs()));
                        edges += u64::from((ln(u) - bound).abs() <= margin);
                        assert_eq!(
                            accepts(u, z2, d, v),
                            exactly_accepts(u, z2, d, v),
                            "shape {shape}, z {z}, u {u:e}"
                        );
                    }
                }
            }
        }
        assert!(edges > 100_000, "{edges} draws next to the edge");
        // A `v` outside the quick logarithm's range (a normal draw near `−1/c`).
        for v in [1e-300, 1e-20, 2f64.powi(-62) / 2.0] {
            for u in [1e-16, 0.5, 1.0] {
                assert_eq!(accepts(u, 4.0, 2.0, v), exactly_accepts(u, 4.0, 2.0, v));
            }
        }
    }

    #[test]
    fn lognormal_median_is_e_to_the_mu() {
        let mut r = rng();
        let mut v: Vec<f64> = (0..100_001).map(|_| lognormal(&mut r, 2.0, 0.8)).collect();
        v.sort_by(f64::total_cmp);
        let median = v[50_000];
        assert!((median / exp(2.0) - 1.0).abs() < 0.02, "median {median}");
    }

    #[test]
    fn gamma_and_beta_have_their_moments() {
        let mut r = rng();
        for shape in [0.3, 1.0, 2.5, 9.0] {
            let v: Vec<f64> = (0..100_000).map(|_| gamma(&mut r, shape)).collect();
            let (m, var) = mean_var(&v);
            assert!((m / shape - 1.0).abs() < 0.03, "shape {shape}: mean {m}");
            assert!(
                (var / shape - 1.0).abs() < 0.06,
                "shape {shape}: variance {var}"
            );
        }
        for (a, b) in [(2.0, 3.0), (2.0, 8.0), (0.5, 0.5)] {
            let v: Vec<f64> = (0..100_000).map(|_| beta(&mut r, a, b)).collect();
            let (m, var) = mean_var(&v);
            let (m0, var0) = (a / (a + b), a * b / ((a + b) * (a + b) * (a + b + 1.0)));
            assert!((m - m0).abs() < 0.005, "Beta({a},{b}) mean {m} vs {m0}");
            assert!(
                (var / var0 - 1.0).abs() < 0.05,
                "Beta({a},{b}) var {var} vs {var0}"
            );
            assert!(v.iter().all(|x| (0.0..=1.0).contains(x)));
        }
    }

    #[test]
    fn same_seed_same_bits() {
        let (mut a, mut b) = (rng(), rng());
        for _ in 0..1000 {
            assert_eq!(
                beta(&mut a, 2.0, 5.0).to_bits(),
                beta(&mut b, 2.0, 5.0).to_bits()
            );
        }
    }
}
