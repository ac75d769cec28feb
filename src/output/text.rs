//! CSV text without `fmt`: numbers and fields appended to a reused byte buffer.
//!
//! The output files are written row by row from every replication, so the formatting is on the
//! hot path of a run. These functions give the **same bytes** as the slow path they replace
//! (pinned by the golden tests and by the unit tests below, which compare them over many
//! values): [`push_number`] the `{:?}` text of an `f64` (shortest round-trip digits, always a
//! `.` or an exponent), [`push_u64`] the `Display` text of an integer, and [`field`] a string
//! quoted as the `csv` crate quotes it.

/// Appends `v` as [`super::format_number`] prints it: the shortest text that reads back to the
/// same `f64`, `Debug` style (`0.0`, `-0.0`, `2437.0`, `0.0001`, `1e-5`, `1e16`), NaN as
/// nothing.
///
/// `ryu` and `Debug` both write the shortest digits that read back to `v`, the closest to `v`
/// among those. They differ in two places, which go through `fmt`:
/// - where they switch to exponent notation (`Debug`: below `1e-4` or from `1e16`; `ryu`:
///   below `1e-5` or from `1e16`): magnitudes in `[1e-6, 1e-4)`;
/// - exact ties, where `v` lies exactly halfway between the two closest shortest texts (`ryu`
///   rounds the last digit to even, `Debug` up): possible only with 16 or more digits, and
///   then told exactly by `is_tie`.
///
/// Whole numbers below `10^13` in magnitude (counts, units: most of the outputs) take a
/// shorter path: their shortest digits are the integer's own (a shorter text would be another
/// integer within half a unit of `v`), written with `itoa` and `.0`, the sign kept for `-0.0`.
/// `ryu` would find the same digits by removing trailing zeros one division at a time.
#[inline]
pub fn push_number(buf: &mut Vec<u8>, v: f64) {
    let a = v.abs();
    // Exact: |v| < 10^13 < 2^63, so the conversion truncates and `n == v` says v is whole.
    let n = v as i64;
    if a < 1e13 && n as f64 == v {
        if v.is_sign_negative() {
            buf.push(b'-');
        }
        push_u64(buf, n.unsigned_abs());
        buf.extend_from_slice(b".0");
        return;
    }
    if v.is_nan() {
        return;
    }
    let mut b = ryu::Buffer::new();
    let text = b.format_finite(v);
    if (a != 0.0 && (1e-6..1e-4).contains(&a)) || !a.is_finite() || is_tie(v, text.as_bytes()) {
        use std::io::Write;
        write!(buf, "{v:?}").expect("writing to memory");
        return;
    }
    buf.extend_from_slice(text.as_bytes());
}

/// The texts of recently written numbers, by their bits: a direct-mapped cache in front of
/// [`push_number`] for numbers that recur. A point's quantile rows are mostly bucket
/// representatives (`2γ^i / (γ + 1)` for the bucket `i` a quantile falls in), a few
/// thousand distinct values over its thousands of rows, each of whose texts would otherwise
/// be worked out again by `ryu` (a few hundred instructions) for every row it appears in.
pub struct NumberTexts {
    /// Per slot: the bits of the number whose text it holds (NaN's bits, which are never
    /// looked up, for an empty slot), the text's length and the text (at most 24 bytes:
    /// `-2.2250738585072014e-308`).
    slots: Vec<(u64, u8, [u8; 24])>,
}

impl NumberTexts {
    /// Slots: 2^12 (160 KiB).
    const BITS: u32 = 12;

    pub fn new() -> NumberTexts {
        NumberTexts {
            slots: vec![(f64::NAN.to_bits(), 0, [0; 24]); 1 << Self::BITS],
        }
    }

    /// Appends `v` as [`push_number`] does, from the cache when `v` was written recently.
    #[inline]
    pub fn push(&mut self, buf: &mut Vec<u8>, v: f64) {
        if v.is_nan() {
            return;
        }
        let bits = v.to_bits();
        // Fibonacci hashing: the top bits of the product mix every bit of the number.
        let k = (bits.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - Self::BITS)) as usize;
        let slot = &mut self.slots[k];
        if slot.0 == bits {
            buf.extend_from_slice(&slot.2[..usize::from(slot.1)]);
            return;
        }
        let start = buf.len();
        push_number(buf, v);
        let text = &buf[start..];
        slot.0 = bits;
        slot.1 = text.len() as u8;
        slot.2[..text.len()].copy_from_slice(text);
    }
}

impl Default for NumberTexts {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether the finite `v` is exactly halfway between `text` (its shortest digits, from `ryu`)
/// and the next text of as many digits (then `ryu` and `Debug` may round differently). A
/// tie needs 16 or more significant digits: with `n` digits the halfway point is a relative
/// `0.5·10^-n` or more away from both, which only the spacing of `f64` (2^-53 relative) allows
/// for `n >= 16`. Errs on the side of `true` where it cannot tell (integers of 17 or more
/// digits), which only costs the slow path.
fn is_tie(v: f64, text: &[u8]) -> bool {
    // 16 digits need 16 bytes (and rule out zero, whose M below would have no odd part).
    if text.len() < 16 {
        return false;
    }
    // |v| = M · 2^E with M odd.
    let bits = v.abs().to_bits();
    let (biased, fraction) = ((bits >> 52) as i32, bits & ((1 << 52) - 1));
    let (mut m, mut e) = if biased == 0 {
        (fraction, -1074)
    } else {
        (fraction | (1 << 52), biased - 1075)
    };
    let z = m.trailing_zeros();
    m >>= z;
    e += z as i32;
    // A quick answer for most numbers, before reading the digits: a tie below needs
    // E = K >= -27 (D5 = M · 5^-K < 2^64 with M >= 1), or K >= 0, hence |v| >= 10^16; with
    // E < -27, |v| < 2^53 · 2^-28 allows neither.
    if e < -27 {
        return false;
    }
    // The significant digits D and the power of ten K with |text| = D · 10^K.
    let (mut digits, mut n, mut point, mut exp, mut seen_point) = (0u64, 0u32, 0i32, 0i32, false);
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'-' => {}
            b'.' => seen_point = true,
            b'e' => {
                let x = std::str::from_utf8(&text[i + 1..]).expect("ASCII");
                exp = x.parse().expect("ryu writes an integer exponent");
                break;
            }
            d => {
                let d = u64::from(d - b'0');
                if n > 0 || d != 0 {
                    if n >= 18 {
                        return true;
                    }
                    digits = digits * 10 + d;
                    n += 1;
                }
                if seen_point {
                    point -= 1;
                }
            }
        }
        i += 1;
    }
    if n < 16 {
        return false;
    }
    // Trailing zeros (ryu writes `123.0`) are not significant.
    while digits % 10 == 0 && digits != 0 {
        digits /= 10;
        n -= 1;
        point += 1;
    }
    if n < 16 {
        return false;
    }
    // The halfway text: one more digit, a 5.
    let (d5, k) = (digits * 10 + 5, point + exp - 1);
    if k >= 0 {
        // An integer ending in 5 followed by zeros: rare, take the slow path.
        return true;
    }
    // D5 · 10^K = M · 2^E with D5 odd needs E = K and D5 = M · 5^-K.
    if e != k {
        return false;
    }
    let mut rhs = u128::from(m);
    for _ in 0..-k {
        rhs *= 5;
        if rhs > u128::from(u64::MAX) {
            return false;
        }
    }
    rhs == u128::from(d5)
}

/// Appends the decimal digits of `n` (as `n.to_string()`).
#[inline]
pub fn push_u64(buf: &mut Vec<u8>, n: u64) {
    let mut b = itoa::Buffer::new();
    buf.extend_from_slice(b.format(n).as_bytes());
}

/// `s` as one field of a CSV row written by the `csv` crate with its default settings (quoted
/// only when it must be), without the separator. Computed once per name, then copied into
/// rows.
///
/// A string without a byte the `csv` crate might quote for (delimiter, quote, line ends, and
/// `\` and `#` to be safe) is its own text. Only the others go through a `csv` writer, whose
/// zeroed 8 KiB buffer made a field cost about 8,000 instructions (about 400 fields are made
/// for each sweep point).
pub fn field(s: &str) -> Vec<u8> {
    if !s
        .bytes()
        .any(|b| matches!(b, b',' | b'"' | b'\r' | b'\n' | b'\\' | b'#'))
    {
        return s.as_bytes().to_vec();
    }
    let mut w = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    // A second, empty field: a record of one empty field would be quoted as `""`.
    w.write_record([s, ""]).expect("writing to memory");
    let mut bytes = w.into_inner().expect("memory writer cannot fail");
    // Drop the `,` and the line end.
    bytes.truncate(bytes.len() - 2);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn old(v: f64) -> String {
        if v.is_nan() {
            String::new()
        } else {
            format!("{v:?}")
        }
    }

    fn fast(v: f64) -> String {
        let mut b = Vec::new();
        push_number(&mut b, v);
        String::from_utf8(b).unwrap()
    }

    /// SplitMix64, to draw many values without a dependency.
    fn next(state: &mut u64) -> u64 {
        *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    #[test]
    fn numbers_are_formatted_as_debug_formats_them() {
        let mut values = vec![
            0.0,
            -0.0,
            1.0,
            -1.0,
            2437.0,
            0.1,
            0.0001,
            f64::from_bits(0.0001f64.to_bits() - 1),
            0.00001,
            0.000001,
            f64::from_bits(0.000001f64.to_bits() - 1),
            1e-7,
            1e15,
            9999999999999998.0,
            1e16,
            1.5e16,
            1e20,
            4_611_686_018_427_387_904.0,
            // Around the whole numbers' short path and its bound.
            -2437.0,
            9_999_999_999_999.0,
            -9_999_999_999_999.0,
            10_000_000_000_000.0,
            9_999_999_999_999.5,
            12_345_678_901_234.0,
            9_007_199_254_740_991.0,
            0.5,
            -0.5,
            f64::MAX,
            f64::MIN,
            f64::MIN_POSITIVE,
            f64::EPSILON,
            5e-324,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            1.0 / 3.0,
            123456789.123,
            // An exact tie: ryu writes ...32.62, Debug ...32.63.
            f64::from_bits(0xc2eec0b0716c3c14),
        ];
        // Every power of ten and its neighbours in both notations' ranges.
        for e in -330..310 {
            let p = format!("1e{e}").parse::<f64>().unwrap();
            values.extend([p, -p, f64::from_bits(p.to_bits() + 1), p * 0.999_999_9]);
            values.extend([
                f64::from_bits(p.to_bits().saturating_sub(1)),
                3.0 * p,
                7.5 * p,
            ]);
        }
        let mut state = 2026;
        for _ in 0..200_000 {
            // Random bit patterns (every magnitude, subnormals, NaNs) ...
            values.push(f64::from_bits(next(&mut state)));
            // ... whole numbers, and values of the outputs' usual sizes.
            values.push((next(&mut state) % 10_000_000) as f64);
            values.push(-((next(&mut state) >> (next(&mut state) % 64)) as f64));
            let u = (next(&mut state) >> 11) as f64 / (1u64 << 53) as f64;
            values.push((u - 0.3) * 10f64.powi((next(&mut state) % 40) as i32 - 20));
            // Binary fractions near 2^53, where exact ties happen.
            let whole = (next(&mut state) >> 12) as f64;
            values.push(whole + [0.5, 0.25, 0.125, 0.625, 0.375][(next(&mut state) % 5) as usize]);
        }
        let tie = f64::from_bits(0xc2eec0b0716c3c14);
        assert!(is_tie(tie, ryu::Buffer::new().format(tie).as_bytes()));
        assert!(!is_tie(2437.0, b"2437.0"));
        for v in values {
            assert_eq!(fast(v), old(v), "{:#x}", v.to_bits());
        }
    }

    #[test]
    fn cached_numbers_are_written_as_push_number_writes_them() {
        let mut cache = NumberTexts::new();
        let mut state = 11;
        // Values that recur (and collide in the cache's slots), the longest texts, NaN.
        let pool: Vec<f64> = (0..3000)
            .map(|_| f64::from_bits(next(&mut state)))
            .chain([
                -2.2250738585072014e-308,
                f64::MIN,
                -0.0,
                0.0,
                1.0 / 3.0,
                f64::NAN,
            ])
            .collect();
        let (mut cached, mut plain) = (Vec::new(), Vec::new());
        for _ in 0..50_000 {
            let v = pool[(next(&mut state) % pool.len() as u64) as usize];
            cache.push(&mut cached, v);
            push_number(&mut plain, v);
            cached.push(b',');
            plain.push(b',');
        }
        assert_eq!(cached, plain);
    }

    #[test]
    fn integers_and_fields_are_written_as_before() {
        let mut state = 7;
        for n in [0, 1, 9, 10, u64::MAX]
            .into_iter()
            .chain((0..10_000).map(|_| next(&mut state) >> (next(&mut state) % 64)))
        {
            let mut b = Vec::new();
            push_u64(&mut b, n);
            assert_eq!(b, n.to_string().as_bytes());
        }
        for s in [
            "MYS",
            "",
            "a,b",
            "say \"hi\"",
            "two\nlines",
            "x\r",
            " spaced ",
            "tab\there",
            "#comment",
            "back\\slash",
            "ünïcödé",
            "'single'",
            "2025-05",
        ] {
            let mut w = csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(Vec::new());
            w.write_record([s, "1"]).unwrap();
            let mut mine = field(s);
            mine.extend_from_slice(b",1\n");
            assert_eq!(mine, w.into_inner().unwrap(), "{s:?}");
        }
    }
}
