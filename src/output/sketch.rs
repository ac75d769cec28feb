//! Mergeable quantile sketch behind `quantiles.csv`.
//!
//! One [`QuantileSketch`] summarises one (point, month, entity, metric) series across Monte
//! Carlo replications. Two requirements shape it:
//!
//! - **Memory does not grow with the number of replications.** Values are counted in
//!   logarithmic buckets (the DDSketch scheme): the number of buckets depends on the spread of
//!   the values (their log-range), not on how many there are.
//! - **Results are bit-identical whatever the insertion order and however partial sketches are
//!   merged.** Shards and chunks run in parallel and are merged afterwards, and the merged
//!   `quantiles.csv` must be byte-identical to an unsharded run. Everything a sketch holds is
//!   therefore an order-independent function of the multiset of inserted values: bucket counts
//!   (integer addition), exact minimum and maximum, and an *exact* sum held as a wide
//!   fixed-point integer (integer addition again, so associative and commutative — unlike a
//!   floating-point sum, whose rounding depends on the order).
//!
//! # Buckets and accuracy
//!
//! With `a =` [`RELATIVE_ACCURACY`] and `γ = (1 + a) / (1 - a)`, a value `x` with
//! `|x| >= 1e-12` goes to bucket `i = ceil(ln|x| / ln γ)` of the store for its sign, so the
//! bucket holds `γ^(i-1) < |x| <= γ^i`. The bucket's representative value is
//! `±2 γ^i / (γ + 1)`, which is within a relative `a` of every value in the bucket. Values with
//! `|x| < 1e-12` are counted as zeros (representative `0`). Hence, for the quantile defined
//! below, the returned `v` and the exact order statistic `x_k` satisfy
//! `|v - x_k| <= a |x_k|` (plus floating-point rounding of `ln` at bucket boundaries, about
//! `1e-15` relative) when `|x_k| >= 1e-12`, and `|v - x_k| < 1e-12` otherwise.
//!
//! The bucket index is defined with [`crate::math::ln`] (the pure-Rust `libm` crate, built from
//! IEEE-exact operations; no fast-math, so no contraction or reassociation), so the same `x`
//! maps to the same bucket on every platform, and shards run on different machines merge
//! byte-for-byte. It is computed with a cheaper logarithm of known error and falls back to the
//! definition whenever that error could change the ceiling (near a bucket edge): same buckets,
//! without an `ln` per insert (see `index_of`).
//!
//! # Quantile definition
//!
//! Nearest rank: for `n` values and `q` in `[0, 1]`, rank `k = max(1, ceil(q·n))` (computed in
//! `f64`; for the decimal quantiles used in the CSV, e.g. 0.05 and 0.95, this gives the
//! intended rank for every `n` up to 10^7). The result is the representative value of the
//! bucket holding the `k`-th smallest value, clamped to `[min, max]` — except that ranks `1` and
//! `n` return the exact minimum and maximum, which the sketch keeps. Clamping can only move the
//! answer towards the true value, and it makes a constant series return exactly that constant
//! for every `q`. So `q = 0` and `q = 1` (and any `q <= 1/n` or `q > (n-1)/n`) are exact.
//!
//! # Mean
//!
//! Each value is added exactly to a 256-bit two's-complement fixed-point sum with 128
//! fractional bits (resolution `2^-128`). Every `f64` with `|x| >= 2^-76` is representable
//! exactly; bits of smaller values below `2^-128` are truncated toward zero, deterministically
//! per value. Values must satisfy `|x| <= 2^62` (≈ 4.6e18), which leaves room for `2^64`
//! values without overflow. [`QuantileSketch::mean`] is the exact sum divided by the count,
//! **correctly rounded** to `f64`: the true mean of the inserted values, so a constant series
//! has exactly that constant as its mean and the bits never depend on order or merging.
//!
//! # Binary format (version 2, written; version 1 is still read)
//!
//! ```text
//! "CDQS" | version u32 = 2 | count varint | zero_count varint | min f64 | max f64 | sum
//! negative store | positive store
//!   sum   = t u8 | len u8 | len bytes        (the i256 sum's little-endian two's-complement
//!                                             bytes t..t+len; below: zero, above: the sign)
//!   store = k varint | if k > 0: first zigzag-varint | count varint | (k-1) × (gap varint | count varint)
//! ```
//!
//! Fixed-width fields are little-endian; a varint is unsigned LEB128 (7 bits a byte, low
//! first). A store lists only its `k` non-empty buckets: the first bucket's index (zigzag
//! varint), then for each further one the gap since the previous (index difference minus 1).
//! A chunk's sketch has at most one non-empty bucket per replication, a few dozen among the
//! hundreds its values span, so this is about a tenth of the dense counts of version 1:
//!
//! ```text
//! "CDQS" | version u32 = 1 | count u64 | zero_count u64 | min f64 | max f64 | sum i256 (32 bytes)
//! negative store | positive store      where store = offset i32 | len u32 | len × count u64
//! ```
//!
//! (a version-1 store is trimmed to its first and last non-zero bucket; `offset` is the index of
//! the first, and an empty store is `0, 0`).
//!
//! An empty sketch has `min = +inf`, `max = -inf`, `sum = 0`. Every field has one encoding
//! (shortest varints, trimmed sums and stores), so equal sketches serialise to equal bytes.
//! [`QuantileSketch::read_from`] reads exactly one sketch of either version (several can follow
//! one another in a stream) and rejects bad magic, an unknown version, out-of-range or
//! non-canonical fields, and counts, min, max or sum that do not fit together with
//! [`io::ErrorKind::InvalidData`]; a truncated input gives [`io::ErrorKind::UnexpectedEof`].

use crate::math::quick::{LnTable, ln_table, quick_ln};
use std::cell::RefCell;
use std::io::{self, Read, Write};

/// The relative accuracy `a` of every quantile (see the module documentation): 0.5 %.
pub const RELATIVE_ACCURACY: f64 = 0.005;

/// `γ = (1 + a) / (1 - a)`, the ratio between consecutive bucket bounds.
const GAMMA: f64 = (1.0 + RELATIVE_ACCURACY) / (1.0 - RELATIVE_ACCURACY);

/// `ln γ`, written out rather than computed so that it is one fixed constant everywhere
/// (a test checks it against `ln(GAMMA)`).
const LN_GAMMA: f64 = 0.010000083334583179;

/// Values with a smaller magnitude count as zeros (the log buckets would need ever more buckets
/// for values that are zero up to rounding noise).
const ZERO_THRESHOLD: f64 = 1e-12;

/// Largest accepted magnitude, 2^62: keeps the exact sum within 128 integer bits for up to 2^64
/// values, and the bucket range small.
const MAX_ABS: f64 = crate::model::MAX_OUTPUT_MAGNITUDE;

/// Bucket index of [`ZERO_THRESHOLD`], the lowest index any value can have (checked by a test).
const MIN_INDEX: i32 = -2763;
/// Bucket index of [`MAX_ABS`], the highest index any value can have (checked by a test).
const MAX_INDEX: i32 = 4298;

/// Magic bytes opening a serialised sketch.
const MAGIC: [u8; 4] = *b"CDQS";
/// Version of the binary format written (version 1 is still read).
const VERSION: u32 = 2;

/// Order-independent, mergeable summary of a series of `f64` values: count, exact mean, exact
/// min and max, and quantiles within [`RELATIVE_ACCURACY`]. See the module documentation.
///
/// Two sketches compare equal (`==`) exactly when they hold the same count, bucket counts, min,
/// max and exact sum — i.e. when they serialise to the same bytes. Sketches fed the same
/// multiset of values, in any order and through any merge grouping, are equal. (Their `Debug`
/// output may still differ, as it shows spare capacity in the bucket stores.)
#[derive(Clone, Debug, PartialEq)]
pub struct QuantileSketch {
    count: u64,
    /// Values with `|x| < ZERO_THRESHOLD`.
    zero: u64,
    /// Exact minimum; `+inf` while empty.
    min: f64,
    /// Exact maximum; `-inf` while empty.
    max: f64,
    sum: ExactSum,
    /// Buckets of `|x|` for negative `x`.
    neg: Store,
    /// Buckets of `x` for positive `x`.
    pos: Store,
}

impl Default for QuantileSketch {
    fn default() -> Self {
        Self::new()
    }
}

impl QuantileSketch {
    /// An empty sketch. Allocates nothing until values arrive.
    pub fn new() -> Self {
        QuantileSketch {
            count: 0,
            zero: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            sum: ExactSum::default(),
            neg: Store::default(),
            pos: Store::default(),
        }
    }

    /// Adds one value. O(1) amortised: a `ln`, a few integer additions, and rarely a store
    /// growth.
    ///
    /// # Panics
    ///
    /// If `x` is NaN, infinite or `|x| > 2^62`. A non-finite series value is a model bug, and
    /// silently dropping it would make the quantiles describe a different set of replications
    /// than the other outputs.
    #[inline]
    pub fn insert(&mut self, x: f64) {
        if x.is_nan() || x.abs() > MAX_ABS {
            rejected(x);
        }
        // -0.0 + 0.0 == +0.0: without this, whether min/max hold -0.0 or +0.0 would depend on
        // the insertion order.
        let x = x + 0.0;
        self.count += 1;
        if x < self.min {
            self.min = x;
        }
        if x > self.max {
            self.max = x;
        }
        self.sum.add_f64(x);
        let magnitude = x.abs();
        if magnitude < ZERO_THRESHOLD {
            self.zero += 1;
        } else if x > 0.0 {
            self.pos.add(index_of(magnitude), 1);
        } else {
            self.neg.add(index_of(magnitude), 1);
        }
    }

    /// Adds all of `other`'s values. The result is identical (`==`, same bytes, same mean bits)
    /// to a sketch fed both sets of values in any order.
    pub fn merge(&mut self, other: &QuantileSketch) {
        if other.count == 0 {
            return;
        }
        let mut head = self.head();
        head.add(&other.head());
        (self.count, self.zero, self.min, self.max) = (head.count, head.zero, head.min, head.max);
        self.sum.add(&other.sum);
        self.neg.merge(&other.neg);
        self.pos.merge(&other.pos);
    }

    /// Number of values inserted.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The arithmetic mean, correctly rounded from the exact sum (see the module
    /// documentation); NaN if empty.
    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            return f64::NAN;
        }
        self.sum.div_to_f64(self.count)
    }

    /// The exact smallest value; NaN if empty.
    pub fn min(&self) -> f64 {
        if self.count == 0 { f64::NAN } else { self.min }
    }

    /// The exact largest value; NaN if empty.
    pub fn max(&self) -> f64 {
        if self.count == 0 { f64::NAN } else { self.max }
    }

    /// The nearest-rank `q`-quantile within [`RELATIVE_ACCURACY`] (definition in the module
    /// documentation); NaN if empty. O(number of buckets).
    ///
    /// # Panics
    ///
    /// If `q` is not in `[0, 1]`.
    pub fn quantile(&self, q: f64) -> f64 {
        let mut out = [0.0];
        self.quantiles(&[q], &mut out);
        out[0]
    }

    /// The quantiles `qs` (ascending) into `out`, each as [`quantile`](Self::quantile) gives
    /// it, in one walk over the buckets.
    ///
    /// # Panics
    ///
    /// If a `q` is not in `[0, 1]`, `qs` is not ascending or `out` is not as long.
    pub fn quantiles(&self, qs: &[f64], out: &mut [f64]) {
        self.head()
            .quantiles(self.neg.buckets().rev(), self.pos.buckets(), qs, out);
    }

    fn head(&self) -> Head {
        Head {
            count: self.count,
            zero: self.zero,
            min: self.min,
            max: self.max,
        }
    }

    /// Empties the sketch (as [`new`](Self::new)) but keeps its bucket stores' memory, so that
    /// a sketch reused for the next chunk of a series grows rarely, if ever.
    pub fn clear(&mut self) {
        let (neg, pos) = (std::mem::take(&mut self.neg), std::mem::take(&mut self.pos));
        *self = QuantileSketch::new();
        self.neg = neg.cleared();
        self.pos = pos.cleared();
    }

    /// Writes the binary format (the current version, 2) described in the module
    /// documentation.
    pub fn write_to<W: Write>(&self, w: &mut W) -> io::Result<()> {
        let mut buf = Vec::with_capacity(128);
        self.write_into(&mut buf);
        w.write_all(&buf)
    }

    /// Appends the binary format (version 2) to `buf` (as [`write_to`](Self::write_to),
    /// without an allocation of its own beyond `buf`'s growth).
    pub fn write_into(&self, buf: &mut Vec<u8>) {
        write_head(buf, &self.head(), &self.sum);
        for store in [&self.neg, &self.pos] {
            store.write_sparse(buf);
        }
    }

    /// Appends the version-1 format (dense counts): what earlier releases wrote, kept to test
    /// that such files still read.
    #[cfg(test)]
    fn write_v1_into(&self, buf: &mut Vec<u8>) {
        buf.extend_from_slice(&MAGIC);
        buf.extend_from_slice(&1u32.to_le_bytes());
        buf.extend_from_slice(&self.count.to_le_bytes());
        buf.extend_from_slice(&self.zero.to_le_bytes());
        buf.extend_from_slice(&self.min.to_le_bytes());
        buf.extend_from_slice(&self.max.to_le_bytes());
        for limb in self.sum.limbs() {
            buf.extend_from_slice(&limb.to_le_bytes());
        }
        for store in [&self.neg, &self.pos] {
            let (offset, counts) = store.span();
            buf.extend_from_slice(&offset.to_le_bytes());
            buf.extend_from_slice(&(counts.len() as u32).to_le_bytes());
            for c in counts {
                buf.extend_from_slice(&c.to_le_bytes());
            }
        }
    }

    /// Reads one sketch written by [`write_to`](Self::write_to) — format version 2, or
    /// version 1 as earlier releases wrote it — consuming exactly its bytes.
    /// Errors: [`io::ErrorKind::InvalidData`] for anything that is not a valid sketch (an
    /// unknown version included), [`io::ErrorKind::UnexpectedEof`] if the input ends early.
    pub fn read_from<R: Read>(r: &mut R) -> io::Result<Self> {
        let version = read_version(r)?;
        let (count, zero, min, max, sum, neg, pos) = match version {
            1 => {
                let count = u64::from_le_bytes(read_array(r)?);
                let zero = u64::from_le_bytes(read_array(r)?);
                let min = f64::from_le_bytes(read_array(r)?);
                let max = f64::from_le_bytes(read_array(r)?);
                let mut limbs = [0u64; 4];
                for limb in &mut limbs {
                    *limb = u64::from_le_bytes(read_array(r)?);
                }
                let sum = ExactSum::from_limbs(limbs);
                let neg = Store::read_dense(r)?;
                (count, zero, min, max, sum, neg, Store::read_dense(r)?)
            }
            VERSION => {
                let (
                    Head {
                        count,
                        zero,
                        min,
                        max,
                    },
                    sum,
                ) = read_head_fields(r)?;
                let neg = Store::read_sparse(r)?;
                (count, zero, min, max, sum, neg, Store::read_sparse(r)?)
            }
            _ => {
                return Err(invalid(format!(
                    "quantile sketch format version {version}, but this chipdip reads \
                     versions 1 and {VERSION} (written by a newer chipdip?)"
                )));
            }
        };
        let sketch = QuantileSketch {
            count,
            zero,
            min,
            max,
            sum,
            neg,
            pos,
        };
        sketch.validate().map_err(invalid)?;
        Ok(sketch)
    }

    /// Checks that the fields of a deserialised sketch fit together.
    fn validate(&self) -> Result<(), String> {
        let total = [self.neg.total(), self.pos.total()]
            .into_iter()
            .try_fold(self.zero, |a, b| a.checked_add(b?))
            .ok_or("bucket counts overflow")?;
        if total != self.count {
            return Err(format!(
                "bucket counts add up to {total}, but the count is {}",
                self.count
            ));
        }
        if !self.sum.in_range() {
            return Err("sum out of range".into());
        }
        if self.count == 0 {
            let empty = QuantileSketch::new();
            if self.min.to_bits() != empty.min.to_bits()
                || self.max.to_bits() != empty.max.to_bits()
                || self.sum != empty.sum
            {
                return Err("empty sketch with a min, max or sum".into());
            }
            return Ok(());
        }
        let within = |v: f64| v.abs() <= MAX_ABS;
        if !within(self.min) || !within(self.max) || self.min > self.max {
            return Err(format!(
                "min {} and max {} out of range",
                self.min, self.max
            ));
        }
        // insert() stores zeros as +0.0; -0.0 would compare equal but serialise differently.
        if self.min.to_bits() == (-0.0f64).to_bits() || self.max.to_bits() == (-0.0f64).to_bits() {
            return Err("min or max is -0".into());
        }
        if Some(locate(self.min)) != self.first_bucket() {
            return Err(format!("min {} is not in the lowest bucket", self.min));
        }
        if Some(locate(self.max)) != self.last_bucket() {
            return Err(format!("max {} is not in the highest bucket", self.max));
        }
        Ok(())
    }

    /// The bucket of the smallest value.
    fn first_bucket(&self) -> Option<Bucket> {
        if let Some(i) = self.neg.highest() {
            Some(Bucket::Neg(i))
        } else if self.zero > 0 {
            Some(Bucket::Zero)
        } else {
            self.pos.lowest().map(Bucket::Pos)
        }
    }

    /// The bucket of the largest value.
    fn last_bucket(&self) -> Option<Bucket> {
        if let Some(i) = self.pos.highest() {
            Some(Bucket::Pos(i))
        } else if self.zero > 0 {
            Some(Bucket::Zero)
        } else {
            self.neg.lowest().map(Bucket::Neg)
        }
    }
}

/// The panic of [`QuantileSketch::insert`], out of line to keep `insert` small.
#[cold]
#[inline(never)]
#[track_caller]
fn rejected(x: f64) -> ! {
    panic!(
        "QuantileSketch::insert({x}): values must be finite with |x| <= 2^62 \
         (a NaN or infinite series value is a bug in the model)"
    )
}

/// What a quantile needs of a sketch besides its buckets.
#[derive(Clone, Copy, Debug)]
struct Head {
    count: u64,
    zero: u64,
    min: f64,
    max: f64,
}

impl Head {
    /// The head of both sketches' values together.
    fn add(&mut self, other: &Head) {
        self.count += other.count;
        self.zero += other.zero;
        if other.min < self.min {
            self.min = other.min;
        }
        if other.max > self.max {
            self.max = other.max;
        }
    }

    /// The nearest-rank quantiles `qs` (ascending) into `out`, from the buckets in ascending
    /// order of value: `neg` the negative store's (descending index), `pos` the positive
    /// store's (ascending index). Empty buckets among them are passed by. One walk for all of
    /// `qs`.
    fn quantiles(
        &self,
        neg: impl Iterator<Item = (i32, u64)>,
        pos: impl Iterator<Item = (i32, u64)>,
        qs: &[f64],
        out: &mut [f64],
    ) {
        assert_eq!(qs.len(), out.len(), "one output per quantile");
        for q in qs {
            assert!(
                (0.0..=1.0).contains(q),
                "QuantileSketch::quantile({q}): q must be in [0, 1]"
            );
        }
        assert!(qs.is_sorted(), "quantiles in ascending order");
        if self.count == 0 {
            out.fill(f64::NAN);
            return;
        }
        let mut j = 0;
        // The extreme order statistics are known exactly (their bucket's representative,
        // clamped, need not be).
        while j < qs.len() && rank(qs[j], self.count) == 1 {
            out[j] = self.min;
            j += 1;
        }
        // Ascending order: most negative first (highest index of the negative store).
        let zero = (self.zero > 0).then_some((Bucket::Zero, self.zero));
        let buckets = neg
            .map(|(i, c)| (Bucket::Neg(i), c))
            .chain(zero)
            .chain(pos.map(|(i, c)| (Bucket::Pos(i), c)));
        let Some(&q) = qs.get(j) else {
            return;
        };
        let mut k = rank(q, self.count);
        let mut seen = 0u64;
        for (bucket, c) in buckets {
            seen += c;
            if k > seen {
                continue;
            }
            let v = match bucket {
                Bucket::Neg(i) => -representative(i),
                Bucket::Zero => 0.0,
                Bucket::Pos(i) => representative(i),
            };
            while k <= seen {
                out[j] = if k == self.count {
                    self.max
                } else {
                    v.clamp(self.min, self.max)
                };
                j += 1;
                let Some(&q) = qs.get(j) else {
                    return;
                };
                k = rank(q, self.count);
            }
        }
        unreachable!("bucket counts add up to the count")
    }
}

/// Appends the version-2 head of a sketch: magic, version, count, zeros, min, max, sum.
fn write_head(buf: &mut Vec<u8>, head: &Head, sum: &ExactSum) {
    buf.extend_from_slice(&MAGIC);
    buf.extend_from_slice(&VERSION.to_le_bytes());
    push_varint(buf, head.count);
    push_varint(buf, head.zero);
    buf.extend_from_slice(&head.min.to_le_bytes());
    buf.extend_from_slice(&head.max.to_le_bytes());
    push_sum(buf, sum);
}

/// Appends a version-2 store: `k` (varint, the number of non-empty buckets), then if `k > 0`
/// the first bucket's index (zigzag varint) and count (varint), and for each further bucket
/// the gap since the previous one (varint: index difference minus 1) and its count (varint).
/// `buckets` are the `k` non-empty buckets in ascending order of index.
fn write_store(buf: &mut Vec<u8>, k: usize, mut buckets: impl Iterator<Item = (i32, u64)>) {
    push_varint(buf, k as u64);
    let Some((first, c)) = buckets.next() else {
        return;
    };
    push_varint(buf, zigzag(first));
    push_varint(buf, c);
    let mut previous = first;
    for (i, c) in buckets {
        push_varint(buf, (i - previous - 1) as u64);
        push_varint(buf, c);
        previous = i;
    }
}

/// Read access to a set of sketches, one per (month, series) of a point: what its rows of
/// `quantiles.csv` are made from.
pub trait Sketches {
    /// How many sketches.
    fn len(&self) -> usize;
    /// Whether there are none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Values in sketch `k`.
    fn count(&self, k: usize) -> u64;
    /// Sketch `k`'s [`QuantileSketch::mean`].
    fn mean(&self, k: usize) -> f64;
    /// Sketch `k`'s [`QuantileSketch::quantiles`].
    fn quantiles(&self, k: usize, qs: &[f64], out: &mut [f64]);
    /// The same sketches, if several threads may read them at once and their rows are worth
    /// writing in halves: a point's dense sketches are. A point's sparse chunks
    /// ([`ChunkSets`]) keep the sketch last read decoded for one reader, and one chunk's
    /// sketches ([`SparseSketches`], a sweep's point of up to 50 replications, while every
    /// thread is busy) are too few for halves to repay their second buffer.
    fn shared(&self) -> Option<&(dyn Sketches + Sync)> {
        None
    }
}

impl Sketches for Vec<QuantileSketch> {
    fn len(&self) -> usize {
        <[QuantileSketch]>::len(self)
    }
    fn count(&self, k: usize) -> u64 {
        self[k].count()
    }
    fn mean(&self, k: usize) -> f64 {
        self[k].mean()
    }
    fn quantiles(&self, k: usize, qs: &[f64], out: &mut [f64]) {
        self[k].quantiles(qs, out);
    }
    fn shared(&self) -> Option<&(dyn Sketches + Sync)> {
        Some(self)
    }
}

/// Sketches of a few values each — the series of one chunk of replications — built at once
/// from their values and held sparsely: per sketch, its non-empty buckets only, with their
/// counts. A [`QuantileSketch`] keeps dense counts from its lowest to its highest bucket,
/// which suits many values; for a chunk's fifty values a series spans hundreds of buckets of
/// which a few dozen are used, and filling, writing and clearing the dense counts of
/// thousands of series costs a cache miss a value. Here a series' values are put in bucket
/// order in a small scratch vector instead.
///
/// Sketch `k` equals (same bytes, mean and quantiles) a [`QuantileSketch`] fed the same
/// values: [`write_into`](Self::write_into) writes the same format version 2. Sets of
/// the same series are added up by [`PointSketches`].
#[derive(Clone, Debug, Default)]
pub struct SparseSketches {
    heads: Vec<SparseHead>,
    /// The non-empty buckets of every sketch, sketch after sketch: its negative store's, then
    /// its positive store's, each in ascending order of index.
    buckets: Vec<Bucketed>,
    /// Scratch: the bucket keys of the sketch being added (see [`SparseSketches::push`]).
    keys: Vec<i32>,
    /// Scratch: a count per key of the sketch being added, from its lowest (all zero between
    /// sketches; [`HISTOGRAM`] of them once used).
    counts: Vec<u32>,
}

/// The widest range of keys [`SparseSketches::push`] counts in a histogram rather than sorts
/// (a multiple of 64): a factor of about 170 between the smallest and largest magnitude.
const HISTOGRAM: usize = 512;

/// A non-empty bucket of a chunk's sketch: its index and count (a chunk's sketch holds far
/// fewer than 2^32 values, and half the bytes of a `u64` count are half the memory a point
/// holds its chunks' sketches in). Counts are added up as `u64`.
type Bucketed = (i32, u32);

/// A bucket's count as the sketches' other counts are held.
#[inline(always)]
fn widened(&(index, count): &Bucketed) -> (i32, u64) {
    (index, u64::from(count))
}

#[derive(Clone, Copy, Debug)]
struct SparseHead {
    head: Head,
    sum: ExactSum,
    /// Where its buckets start in `buckets`, how many are negative, how many positive.
    start: usize,
    neg: usize,
    pos: usize,
}

impl SparseSketches {
    /// No sketches; the memory is kept.
    pub fn clear(&mut self) {
        self.heads.clear();
        self.buckets.clear();
    }

    /// Room for `sketches` more sketches of `values` values in all (each value takes a
    /// bucket at most), so that [`push`](Self::push)ing them never copies the sets' arrays
    /// into new memory as they grow. Memory reserved but not written to is not touched.
    pub fn reserve(&mut self, sketches: usize, values: usize) {
        self.heads.reserve(sketches);
        self.buckets.reserve(values);
    }

    /// Adds a sketch of `values` (as [`QuantileSketch::insert`] of each, with its panics).
    ///
    /// Two passes over the values, each with few values to keep at hand (in one, the bucket
    /// index's constants pushed the count, minimum and maximum out of registers, and every
    /// value waited on their round trip through memory). The first counts them, with their
    /// minimum, maximum, zeros and exact sum (whole values summed as integers, added to the
    /// exact sum once). The second gives each non-zero value a key, increasing with the value
    /// (its bucket index shifted to be >= 1, negated for a negative value; a value equal to
    /// the one before it reuses its key); the keys are counted in a small histogram over
    /// their range (a bit per key in use, so that reading it out costs a step per bucket in
    /// use), or sorted when they span more than `HISTOGRAM` (512) keys.
    ///
    /// # Panics
    ///
    /// As [`QuantileSketch::insert`], and if there are 2^32 values or more.
    pub fn push(&mut self, values: &[f64]) {
        assert!(
            u32::try_from(values.len()).is_ok(),
            "a sparse sketch holds fewer than 2^32 values"
        );
        let mut head = Head {
            count: 0,
            zero: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        };
        let mut sum = ExactSum::default();
        let mut whole: i128 = 0;
        for &x in values {
            if x.is_nan() || x.abs() > MAX_ABS {
                rejected(x);
            }
            let x = x + 0.0;
            // `min`/`max` without their NaN cases (x is a number, and +0 for a zero).
            head.min = if x < head.min { x } else { head.min };
            head.max = if x > head.max { x } else { head.max };
            // Exact: |x| <= 2^62.
            let n = x as i64;
            if n as f64 == x {
                whole += i128::from(n);
            } else {
                sum.add_f64(x);
            }
            head.zero += u64::from(x.abs() < ZERO_THRESHOLD);
        }
        head.count = values.len() as u64;
        sum.add(&ExactSum {
            lo: 0,
            hi: whole as u128,
        });
        let keys = &mut self.keys;
        keys.clear();
        let (mut lowest, mut highest) = (i32::MAX, i32::MIN);
        // The last value with a key, and its key.
        let mut last = (f64::NAN.to_bits(), 0);
        let table = ln_table();
        for &x in values {
            let x = x + 0.0;
            let magnitude = x.abs();
            if magnitude < ZERO_THRESHOLD {
                continue;
            }
            let key = if x.to_bits() == last.0 {
                last.1
            } else {
                let key = index_in(table, magnitude) - MIN_INDEX + 1;
                let key = if x > 0.0 { key } else { -key };
                last = (x.to_bits(), key);
                key
            };
            keys.push(key);
            lowest = lowest.min(key);
            highest = highest.max(key);
        }
        // The buckets in ascending order of key, and how many are negative.
        let start = self.buckets.len();
        let mut neg = 0;
        let buckets = &mut self.buckets;
        let mut emit = |key: i32, count: u32| {
            if key < 0 {
                neg += 1;
                buckets.push((-key + MIN_INDEX - 1, count));
            } else {
                buckets.push((key + MIN_INDEX - 1, count));
            }
        };
        if keys.is_empty() {
        } else if highest - lowest < HISTOGRAM as i32 {
            let span = (highest - lowest) as usize;
            let counts = &mut self.counts;
            counts.resize(HISTOGRAM, 0);
            let mut used = [0u64; HISTOGRAM / 64];
            for &k in keys.iter() {
                let j = (k - lowest) as usize;
                counts[j] += 1;
                used[j / 64] |= 1 << (j % 64);
            }
            for (w, bits) in used[..=span / 64].iter_mut().enumerate() {
                while *bits != 0 {
                    let j = w * 64 + bits.trailing_zeros() as usize;
                    *bits &= *bits - 1;
                    emit(lowest + j as i32, counts[j]);
                    counts[j] = 0;
                }
            }
        } else {
            keys.sort_unstable();
            for run in keys.chunk_by(|a, b| a == b) {
                // Fewer than 2^32 values (checked above).
                emit(run[0], run.len() as u32);
            }
        }
        // The negative store's buckets in ascending order of index.
        self.buckets[start..start + neg].reverse();
        self.heads.push(SparseHead {
            head,
            sum,
            start,
            neg,
            pos: self.buckets.len() - start - neg,
        });
    }

    /// Sketch `k`'s negative and positive stores' buckets, each in ascending order of index.
    fn stores(&self, k: usize) -> (&[Bucketed], &[Bucketed]) {
        stores_of(&self.buckets, &self.heads[k])
    }

    /// Appends `sketch` (one read back from a file) as the set's next sketch.
    ///
    /// # Panics
    ///
    /// If it holds 2^32 values or more (see [`SparseSketches::push`]).
    pub fn push_sketch(&mut self, sketch: &QuantileSketch) {
        assert!(
            u32::try_from(sketch.count).is_ok(),
            "a sparse sketch holds fewer than 2^32 values"
        );
        // Each count is at most the sketch's.
        let narrowed = |(i, c): (i32, u64)| (i, c as u32);
        let start = self.buckets.len();
        self.buckets.extend(sketch.neg.nonzero().map(narrowed));
        let neg = self.buckets.len() - start;
        self.buckets.extend(sketch.pos.nonzero().map(narrowed));
        self.heads.push(SparseHead {
            head: sketch.head(),
            sum: sketch.sum,
            start,
            neg,
            pos: self.buckets.len() - start - neg,
        });
    }

    /// Appends sketch `k` in format version 2: the bytes [`QuantileSketch::write_into`]
    /// writes for the same values.
    pub fn write_into(&self, k: usize, buf: &mut Vec<u8>) {
        let h = &self.heads[k];
        write_head(buf, &h.head, &h.sum);
        let (neg, pos) = self.stores(k);
        write_store(buf, neg.len(), neg.iter().map(widened));
        write_store(buf, pos.len(), pos.iter().map(widened));
    }

    /// Adds sketch `k`'s values to `into` (as inserting them would).
    pub fn merge_into(&self, k: usize, into: &mut QuantileSketch) {
        let h = &self.heads[k];
        if h.head.count == 0 {
            return;
        }
        into.count += h.head.count;
        into.zero += h.head.zero;
        into.min = into.min.min(h.head.min);
        into.max = into.max.max(h.head.max);
        into.sum.add(&h.sum);
        let (neg, pos) = self.stores(k);
        into.neg.add_buckets(neg);
        into.pos.add_buckets(pos);
    }
}

impl Sketches for SparseSketches {
    fn len(&self) -> usize {
        self.heads.len()
    }
    fn count(&self, k: usize) -> u64 {
        self.heads[k].head.count
    }
    fn mean(&self, k: usize) -> f64 {
        let h = &self.heads[k];
        if h.head.count == 0 {
            return f64::NAN;
        }
        h.sum.div_to_f64(h.head.count)
    }
    fn quantiles(&self, k: usize, qs: &[f64], out: &mut [f64]) {
        let (neg, pos) = self.stores(k);
        self.heads[k].head.quantiles(
            neg.iter().rev().map(widened),
            pos.iter().map(widened),
            qs,
            out,
        );
    }
}

/// The sketches of one point's chunks, added up chunk by chunk: what its rows of
/// `quantiles.csv` are made from.
///
/// Sparse ([`ChunkSets`]) for a point of few chunks: the chunks' sketches are kept as their
/// sketch files encode them and added up only as each sketch is read, so adding a chunk costs
/// nothing and no bucket is copied. Dense (a [`QuantileSketch`] per series and month) for a
/// point of many: adding a chunk then costs the chunk's buckets, and the dense counts cost once
/// per point their whole range, to zero and to walk for the quantiles (for the replay about
/// 8 MB, as much as ten replications), which only many chunks repay.
#[derive(Debug)]
pub enum PointSketches {
    Sparse(ChunkSets),
    Dense(Vec<QuantileSketch>),
}

/// The most chunks whose sketches [`PointSketches`] keeps sparse. Reading a sketch of a
/// sparse point decodes each chunk's buckets of it, and a sparse point holds every chunk's
/// sketch file; past about eight chunks, dense counts cost fewer instructions in all
/// (replay, 1,000 replications, measured when the chunks' buckets were read through a k-way
/// union) and a fixed amount of memory.
pub const SPARSE_CHUNKS: usize = 8;

/// A chunk's sketches in the bytes of its sketch file (format version 2: the sketch count,
/// then each sketch as [`QuantileSketch::write_into`] writes it), with where each sketch
/// starts: what a point holds of its chunks until its rows are written. About a third of the
/// memory of the [`SparseSketches`] they encode (for the replay's chunk of 50 replications,
/// 0.4 MB against 1.4 MB), and the bytes the chunk's part file is written from anyway.
#[derive(Clone, Debug, Default)]
pub struct EncodedSketches {
    bytes: Vec<u8>,
    /// Where sketch `k` starts in `bytes`.
    starts: Vec<usize>,
}

impl EncodedSketches {
    /// Encodes `set`, in place of what was held.
    pub fn encode(&mut self, set: &SparseSketches) {
        self.bytes.clear();
        self.starts.clear();
        self.bytes
            .extend_from_slice(&(set.len() as u64).to_le_bytes());
        for k in 0..set.len() {
            self.starts.push(self.bytes.len());
            set.write_into(k, &mut self.bytes);
        }
    }

    /// The sketch file's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// How many sketches.
    pub fn len(&self) -> usize {
        self.starts.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }

    /// No sketches; the memory is kept.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.starts.clear();
    }

    /// Sketch `k`'s bytes onward (to the end of the set).
    fn at(&self, k: usize) -> &[u8] {
        &self.bytes[self.starts[k]..]
    }

    /// Sketch `k`'s head and exact sum; its negative store's buckets are added to `neg`, its
    /// positive store's to `pos`.
    fn decode_into(&self, k: usize, neg: &mut Added, pos: &mut Added) -> (Head, ExactSum) {
        let r = &mut self.at(k);
        let head = read_head(r).expect("sketches this process encoded");
        decode_buckets(r, neg);
        decode_buckets(r, pos);
        head
    }

    /// Sketch `k` as a [`QuantileSketch`].
    fn sketch(&self, k: usize) -> QuantileSketch {
        QuantileSketch::read_from(&mut self.at(k)).expect("sketches this process encoded")
    }
}

/// A point's chunks' sketches, each chunk's as its sketch file encodes it
/// ([`EncodedSketches`]), read as their sum: sketch `k`'s count, mean and quantiles are those of
/// all the chunks' values of series `k`, as [`QuantileSketch`]es merged would give them (each
/// sketch decoded from every chunk as it is read, its buckets added up in `Added`).
///
/// Holding the chunks' encoded sketches rather than merging them into one keeps a point's
/// memory at the size of its chunks' sketch files: merging two by two wrote the growing sum
/// again at every chunk, in memory freshly taken from the system (with 200 extra nations, 124
/// MB for three chunks, and a third of the run's CPU in the kernel zeroing pages); holding the
/// chunks' [`SparseSketches`] themselves took three times the memory of their files.
#[derive(Debug, Default)]
pub struct ChunkSets {
    sets: Vec<EncodedSketches>,
    /// Emptied sets with their memory, handed to the chunks that come next.
    spare: Vec<EncodedSketches>,
    /// The sketch last read, added up from every chunk (quantile rows read a sketch's count,
    /// mean and quantiles one after the other).
    decoded: RefCell<Decoded>,
}

/// One sketch of a point's chunks, decoded from each and added up ([`ChunkSets`]).
#[derive(Debug, Default)]
struct Decoded {
    /// Which sketch (`None`: none, or the chunks changed since).
    k: Option<usize>,
    /// Per chunk: the sketch's head and exact sum.
    heads: Vec<(Head, ExactSum)>,
    /// The negative and positive stores' buckets of all the chunks.
    neg: Added,
    pos: Added,
}

/// A store's buckets added up from several chunks: a count for every bucket index a value can
/// have ([`MIN_INDEX`]..=[`MAX_INDEX`], 57 KB), a bit per index in use, and the span of words
/// of bits in use, so that filling, reading and clearing it costs a few instructions a bucket
/// in use (a k-way union of the chunks' bucket lists cost tens, a step over every chunk's
/// next bucket for each bucket yielded).
#[derive(Debug, Default)]
struct Added {
    counts: Vec<u64>,
    used: Vec<u64>,
    /// The words of `used` that may have bits set.
    words: std::ops::Range<usize>,
}

impl Added {
    /// Empties it (the counts are zero again), keeping the memory.
    fn clear(&mut self) {
        for w in self.words.clone() {
            let bits = &mut self.used[w];
            while *bits != 0 {
                self.counts[w * 64 + bits.trailing_zeros() as usize] = 0;
                *bits &= *bits - 1;
            }
        }
        self.words = 0..0;
    }

    /// Its counts and bits, to add buckets to (made on first use); the words of bits they
    /// set must then be given to [`cover`](Self::cover).
    #[inline]
    fn arrays(&mut self) -> (&mut [u64], &mut [u64]) {
        if self.counts.is_empty() {
            let words = (MAX_INDEX - MIN_INDEX) as usize / 64 + 1;
            self.counts = vec![0; 64 * words];
            self.used = vec![0; words];
        }
        (&mut self.counts, &mut self.used)
    }

    /// Counts the words of bits `words` as in use.
    #[inline]
    fn cover(&mut self, words: std::ops::Range<usize>) {
        self.words = if self.words.is_empty() {
            words
        } else {
            self.words.start.min(words.start)..self.words.end.max(words.end)
        };
    }

    /// The buckets in use, `(index, count)`, in ascending order of index, or descending with
    /// `DESC`.
    fn buckets<const DESC: bool>(&self) -> impl Iterator<Item = (i32, u64)> + '_ {
        let (words, n) = (self.words.clone(), self.words.len());
        (0..n).flat_map(move |m| {
            let w = if DESC {
                words.end - 1 - m
            } else {
                words.start + m
            };
            let mut bits = self.used[w];
            std::iter::from_fn(move || {
                if bits == 0 {
                    return None;
                }
                let b = if DESC {
                    63 - bits.leading_zeros()
                } else {
                    bits.trailing_zeros()
                };
                bits &= !(1 << b);
                let j = w * 64 + b as usize;
                Some((MIN_INDEX + j as i32, self.counts[j]))
            })
        })
    }
}

impl ChunkSets {
    /// An emptied set's memory, or new memory as large as `like`'s, so that a chunk's
    /// sketches fill it without a copy at each doubling.
    fn spare_like(&mut self, like: &EncodedSketches) -> EncodedSketches {
        self.spare.pop().unwrap_or_else(|| EncodedSketches {
            bytes: Vec::with_capacity(like.bytes.len() + like.bytes.len() / 8),
            starts: Vec::with_capacity(like.starts.len()),
        })
    }

    /// Takes `chunk`'s encoded sketches as the next chunk's, leaving `chunk` empty (in an
    /// emptied set's memory if there is one).
    fn take(&mut self, chunk: &mut EncodedSketches) {
        let mut taken = self.spare_like(chunk);
        std::mem::swap(&mut taken, chunk);
        self.sets.push(taken);
        self.decoded.get_mut().k = None;
    }

    /// Encodes `chunk` as the next chunk's sketches.
    fn encode(&mut self, chunk: &SparseSketches) {
        let mut set = self.spare.pop().unwrap_or_default();
        set.encode(chunk);
        self.sets.push(set);
        self.decoded.get_mut().k = None;
    }

    fn clear(&mut self) {
        for mut set in self.sets.drain(..) {
            set.clear();
            self.spare.push(set);
        }
        self.decoded.get_mut().k = None;
    }

    /// Sketch `k` of every chunk, decoded.
    fn decoded(&self, k: usize) -> std::cell::Ref<'_, Decoded> {
        {
            let mut d = self.decoded.borrow_mut();
            if d.k != Some(k) {
                let d = &mut *d;
                d.heads.clear();
                d.neg.clear();
                d.pos.clear();
                for s in &self.sets {
                    d.heads.push(s.decode_into(k, &mut d.neg, &mut d.pos));
                }
                d.k = Some(k);
            }
        }
        self.decoded.borrow()
    }
}

impl Sketches for ChunkSets {
    fn len(&self) -> usize {
        self.sets.first().map_or(0, EncodedSketches::len)
    }
    fn count(&self, k: usize) -> u64 {
        self.decoded(k).heads.iter().map(|(h, _)| h.count).sum()
    }
    fn mean(&self, k: usize) -> f64 {
        let (mut count, mut sum) = (0, ExactSum::default());
        for (head, chunk_sum) in &self.decoded(k).heads {
            count += head.count;
            sum.add(chunk_sum);
        }
        if count == 0 {
            return f64::NAN;
        }
        sum.div_to_f64(count)
    }
    fn quantiles(&self, k: usize, qs: &[f64], out: &mut [f64]) {
        let d = self.decoded(k);
        let Some(((first, _), rest)) = d.heads.split_first() else {
            panic!("quantiles of a point with no chunk");
        };
        let mut head = *first;
        for (h, _) in rest {
            head.add(h);
        }
        head.quantiles(d.neg.buckets::<true>(), d.pos.buckets::<false>(), qs, out);
    }
}

impl PointSketches {
    /// `sketches` empty sketches for a point of `chunks` chunks, in `spare`'s memory if it
    /// is of the right kind (sparse or dense), emptied here: a point's sketches are emptied
    /// when the next point takes their memory, not when their rows are written, so the last
    /// point of a run (its 3,420 dense sketches cleared took ≈ 2 ms with every other thread
    /// idle) leaves them as they are.
    pub fn new(chunks: usize, sketches: usize, spare: Option<PointSketches>) -> PointSketches {
        let spare = spare.map(|mut s| {
            s.clear();
            s
        });
        match (chunks <= SPARSE_CHUNKS, spare) {
            (true, Some(PointSketches::Sparse(s))) => PointSketches::Sparse(s),
            (true, _) => PointSketches::Sparse(ChunkSets::default()),
            (false, Some(PointSketches::Dense(mut d))) => {
                d.resize_with(sketches, QuantileSketch::new);
                PointSketches::Dense(d)
            }
            (false, _) => PointSketches::Dense(vec![QuantileSketch::new(); sketches]),
        }
    }

    /// Adds each sketch of `chunk` to the sketch at the same position: sparse, `chunk` is
    /// encoded and held; dense, its buckets are added. A sparse point given more than
    /// [`SPARSE_CHUNKS`] chunks turns dense.
    ///
    /// # Panics
    ///
    /// If `chunk` holds another number of sketches than those added before (or, dense, than
    /// [`new`](Self::new) was given).
    pub fn add(&mut self, chunk: &SparseSketches) {
        match self.sparse_for(chunk.len()) {
            Some(c) => c.encode(chunk),
            None => self.add_dense(chunk),
        }
    }

    /// [`add`](Self::add) of a chunk whose sketches `encoded` already holds encoded (its
    /// sketch file's bytes): sparse, the point takes them and leaves `encoded` empty (in an
    /// emptied set's memory), with no copy; dense, `chunk`'s buckets are added and `encoded`
    /// is left as it is.
    ///
    /// # Panics
    ///
    /// As [`add`](Self::add), and if `encoded` holds another number of sketches than `chunk`.
    pub fn add_encoded(&mut self, chunk: &SparseSketches, encoded: &mut EncodedSketches) {
        assert_eq!(encoded.len(), chunk.len(), "the chunk's sketches, encoded");
        match self.sparse_for(chunk.len()) {
            Some(c) => c.take(encoded),
            None => self.add_dense(chunk),
        }
    }

    /// The chunk sets a chunk of `width` sketches is to join, if the point is sparse (turned
    /// dense here if it holds [`SPARSE_CHUNKS`] chunks already).
    ///
    /// # Panics
    ///
    /// If the point holds chunks of another width.
    fn sparse_for(&mut self, width: usize) -> Option<&mut ChunkSets> {
        if let PointSketches::Sparse(c) = self
            && c.sets.len() == SPARSE_CHUNKS
        {
            let mut dense = vec![QuantileSketch::new(); width];
            for set in &c.sets {
                assert_eq!(set.len(), dense.len(), "sketches of one point's series");
                for (k, sketch) in dense.iter_mut().enumerate() {
                    sketch.merge(&set.sketch(k));
                }
            }
            *self = PointSketches::Dense(dense);
        }
        match self {
            PointSketches::Sparse(c) => {
                if let Some(first) = c.sets.first() {
                    assert_eq!(first.len(), width, "sketches of one point's series");
                }
                Some(c)
            }
            PointSketches::Dense(_) => None,
        }
    }

    fn add_dense(&mut self, chunk: &SparseSketches) {
        let PointSketches::Dense(d) = self else {
            unreachable!("called for a dense point")
        };
        assert_eq!(d.len(), chunk.len(), "sketches of one point's series");
        for (k, sketch) in d.iter_mut().enumerate() {
            chunk.merge_into(k, sketch);
        }
    }

    /// Empties the sketches, keeping their memory.
    pub fn clear(&mut self) {
        match self {
            PointSketches::Sparse(c) => c.clear(),
            PointSketches::Dense(d) => d.iter_mut().for_each(QuantileSketch::clear),
        }
    }
}

impl Sketches for PointSketches {
    fn len(&self) -> usize {
        match self {
            PointSketches::Sparse(c) => c.len(),
            PointSketches::Dense(d) => d.len(),
        }
    }
    fn count(&self, k: usize) -> u64 {
        match self {
            PointSketches::Sparse(c) => c.count(k),
            PointSketches::Dense(d) => d[k].count(),
        }
    }
    fn mean(&self, k: usize) -> f64 {
        match self {
            PointSketches::Sparse(c) => c.mean(k),
            PointSketches::Dense(d) => d[k].mean(),
        }
    }
    fn quantiles(&self, k: usize, qs: &[f64], out: &mut [f64]) {
        match self {
            PointSketches::Sparse(c) => Sketches::quantiles(c, k, qs, out),
            PointSketches::Dense(d) => d[k].quantiles(qs, out),
        }
    }
    fn shared(&self) -> Option<&(dyn Sketches + Sync)> {
        match self {
            PointSketches::Sparse(_) => None,
            PointSketches::Dense(d) => Some(d),
        }
    }
}

/// A sparse sketch's negative and positive stores' buckets, each in ascending order of index.
fn stores_of<'b>(buckets: &'b [Bucketed], h: &SparseHead) -> (&'b [Bucketed], &'b [Bucketed]) {
    let (neg, rest) = buckets[h.start..].split_at(h.neg);
    (neg, &rest[..h.pos])
}

/// Nearest rank `k = max(1, ceil(q·n))`, at most `n`.
fn rank(q: f64, n: u64) -> u64 {
    crate::math::ceil_to_u64(q * n as f64).clamp(1, n)
}

/// Bucket index of a magnitude `m >= ZERO_THRESHOLD`: `ceil(ln m / ln γ)`, with `ln` from
/// [`crate::math::ln`] (the definition, [`exact_index`]).
///
/// Computed first from a cheap logarithm ([`quick_ln`], within 3e-14 of the true `ln m`), so
/// `t = quick_ln(m) / ln γ` — taken as a product with `1 / ln γ`, shifted by [`INDEX_SHIFT`]
/// to be positive — is within 5e-12 of the true quotient (shifted), as is the exact one. When
/// `t` is more than 1e-9 from an integer, both lie on the same side of it and have the same
/// ceiling, `floor(t) + 1` (a conversion to an integer: `floor` and `ceil` are calls on
/// x86-64 without SSE4.1); otherwise (about one value in 10^9) the exact definition decides.
/// So the index is always the exact one, on every platform, at a fraction of the cost of `ln`.
#[inline]
fn index_of(m: f64) -> i32 {
    index_in(ln_table(), m)
}

/// [`index_of`] with [`ln_table`] at hand (a loop over many values looks it up once).
#[inline(always)]
fn index_in(table: &LnTable, m: f64) -> i32 {
    let t = quick_ln(table, m) * (1.0 / LN_GAMMA) + INDEX_SHIFT;
    // Truncation is the floor: t > 0.
    let floor = t as i32;
    let fraction = t - f64::from(floor);
    if fraction > 1e-9 && fraction < 1.0 - 1e-9 {
        floor + 1 - INDEX_SHIFT as i32
    } else {
        exact_index(m)
    }
}

/// Added to `ln m / ln γ` in [`index_of`] so that it is positive for every accepted `m`
/// (a power of two above `-MIN_INDEX`, so that the sum is exact to 1e-12).
const INDEX_SHIFT: f64 = 4096.0;

/// The definition of the bucket index: `ceil(ln m / ln γ)` with the portable `ln`.
#[cold]
fn exact_index(m: f64) -> i32 {
    (crate::math::ln(m) / LN_GAMMA).ceil() as i32
}

/// Representative magnitude of bucket `i`: `2 γ^i / (γ + 1)`, within a relative
/// `RELATIVE_ACCURACY` of all of `(γ^(i-1), γ^i]`. `γ^i` is taken as `exp(i ln γ)`, consistent
/// with [`index_of`].
fn representative(i: i32) -> f64 {
    2.0 * crate::math::exp(f64::from(i) * LN_GAMMA) / (GAMMA + 1.0)
}

/// Which bucket a value falls in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Bucket {
    Neg(i32),
    Zero,
    Pos(i32),
}

fn locate(x: f64) -> Bucket {
    let m = x.abs();
    if m < ZERO_THRESHOLD {
        Bucket::Zero
    } else if x > 0.0 {
        Bucket::Pos(index_of(m))
    } else {
        Bucket::Neg(index_of(m))
    }
}

/// Dense bucket counts for one sign: `counts[j]` is bucket `offset + j`.
///
/// The vector may carry zero-count slack at either end: growth adds room in the direction it
/// grew, so a series drifting one bucket at a time costs amortised O(1) rather than a copy per
/// new bucket. Slack is invisible: equality and serialisation use the trimmed [`span`].
///
/// [`span`]: Store::span
#[derive(Clone, Debug, Default)]
struct Store {
    offset: i32,
    counts: Vec<u64>,
}

impl PartialEq for Store {
    fn eq(&self, other: &Store) -> bool {
        self.span() == other.span()
    }
}

impl Store {
    /// The store with every count zero, keeping its range and memory.
    fn cleared(mut self) -> Store {
        self.counts.fill(0);
        self
    }

    #[inline]
    fn add(&mut self, index: i32, n: u64) {
        // A negative difference wraps to a huge usize and misses, like one past the end.
        let j = index.wrapping_sub(self.offset) as isize as usize;
        if let Some(c) = self.counts.get_mut(j) {
            *c += n;
        } else {
            self.grow(index, index);
            self.counts[(index - self.offset) as usize] += n;
        }
    }

    /// Makes the store cover buckets `lo..=hi`, adding slack (half the current length, at
    /// least 4, within the possible index range) on each side that had to grow.
    #[cold]
    #[inline(never)]
    fn grow(&mut self, lo: i32, hi: i32) {
        if self.counts.is_empty() {
            self.offset = lo;
            self.counts = vec![0; (hi - lo + 1) as usize];
            return;
        }
        let old_lo = self.offset;
        let old_hi = old_lo + self.counts.len() as i32 - 1;
        if lo >= old_lo && hi <= old_hi {
            return;
        }
        let slack = (self.counts.len() as i32 / 2).max(4);
        let new_lo = if lo < old_lo {
            (lo - slack).max(MIN_INDEX.min(lo))
        } else {
            old_lo
        };
        let new_hi = if hi > old_hi {
            (hi + slack).min(MAX_INDEX.max(hi))
        } else {
            old_hi
        };
        let mut counts = vec![0; (new_hi - new_lo + 1) as usize];
        let start = (old_lo - new_lo) as usize;
        counts[start..start + self.counts.len()].copy_from_slice(&self.counts);
        self.offset = new_lo;
        self.counts = counts;
    }

    fn merge(&mut self, other: &Store) {
        let (lo, counts) = other.span();
        if counts.is_empty() {
            return;
        }
        self.grow(lo, lo + counts.len() as i32 - 1);
        let start = (lo - self.offset) as usize;
        for (mine, theirs) in self.counts[start..].iter_mut().zip(counts) {
            *mine += theirs;
        }
    }

    /// The counts from the first to the last non-zero bucket, with the index of the first;
    /// `(0, [])` if empty. This is the store's canonical content.
    fn span(&self) -> (i32, &[u64]) {
        let Some(first) = self.counts.iter().position(|&c| c != 0) else {
            return (0, &[]);
        };
        let last = self.counts.iter().rposition(|&c| c != 0).unwrap_or(first);
        (self.offset + first as i32, &self.counts[first..=last])
    }

    fn lowest(&self) -> Option<i32> {
        let (lo, counts) = self.span();
        (!counts.is_empty()).then_some(lo)
    }

    fn highest(&self) -> Option<i32> {
        let (lo, counts) = self.span();
        (!counts.is_empty()).then(|| lo + counts.len() as i32 - 1)
    }

    /// Sum of the counts; `None` on overflow (only possible for corrupt input).
    fn total(&self) -> Option<u64> {
        self.counts.iter().try_fold(0u64, |a, &c| a.checked_add(c))
    }

    /// Reads a version-1 store: `offset i32 | len u32 | len × count u64`, trimmed.
    fn read_dense<R: Read>(r: &mut R) -> io::Result<Store> {
        let offset = i32::from_le_bytes(read_array(r)?);
        let len = u32::from_le_bytes(read_array(r)?) as usize;
        if len == 0 {
            return if offset == 0 {
                Ok(Store::default())
            } else {
                Err(invalid(format!("empty bucket store with offset {offset}")))
            };
        }
        // Check the range before allocating, so garbage cannot ask for gigabytes.
        let end = i64::from(offset) + len as i64 - 1;
        if offset < MIN_INDEX || end > i64::from(MAX_INDEX) {
            return Err(invalid(format!(
                "bucket store {offset}..={end} outside {MIN_INDEX}..={MAX_INDEX}"
            )));
        }
        let mut bytes = vec![0u8; 8 * len];
        r.read_exact(&mut bytes)?;
        let counts: Vec<u64> = bytes
            .chunks_exact(8)
            .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
            .collect();
        if counts[0] == 0 || counts[len - 1] == 0 {
            return Err(invalid("bucket store not trimmed to non-zero ends".into()));
        }
        Ok(Store { offset, counts })
    }

    /// Every bucket from the lowest non-empty one to the highest, empty ones too, as
    /// `(index, count)`: for a walk that passes an empty bucket by (its count adds nothing)
    /// rather than branch on each whether it is empty.
    fn buckets(&self) -> impl DoubleEndedIterator<Item = (i32, u64)> + '_ {
        let (lo, counts) = self.span();
        (counts.iter().enumerate()).map(move |(j, &c)| (lo + j as i32, c))
    }

    /// The non-empty buckets, `(index, count)` in ascending order of index.
    fn nonzero(&self) -> impl DoubleEndedIterator<Item = (i32, u64)> + '_ {
        let (lo, counts) = self.span();
        counts
            .iter()
            .enumerate()
            .filter(|(_, c)| **c != 0)
            .map(move |(j, &c)| (lo + j as i32, c))
    }

    /// Appends the version-2 store ([`write_store`]).
    fn write_sparse(&self, buf: &mut Vec<u8>) {
        let k = self.span().1.iter().filter(|&&c| c != 0).count();
        write_store(buf, k, self.nonzero());
    }

    /// Adds `buckets`, `(index, count)` in ascending order of index.
    fn add_buckets(&mut self, buckets: &[Bucketed]) {
        let (Some(&(lo, _)), Some(&(hi, _))) = (buckets.first(), buckets.last()) else {
            return;
        };
        self.grow(lo, hi);
        for &(i, c) in buckets {
            self.counts[(i - self.offset) as usize] += u64::from(c);
        }
    }

    /// Reads a store [`write_sparse`](Self::write_sparse) wrote, rejecting indices outside
    /// the possible range, zero counts and more buckets than the range holds.
    fn read_sparse<R: Read>(r: &mut R) -> io::Result<Store> {
        let mut store = Store::default();
        read_buckets(r, |index, c| {
            if store.counts.is_empty() {
                store.offset = index;
            }
            store.counts.resize((index - store.offset) as usize, 0);
            store.counts.push(c);
        })?;
        Ok(store)
    }
}

/// Exact sum: a 256-bit two's-complement integer counting units of 2^-128, as two `u128`
/// halves (`lo` holds the fraction, `hi` the integer part; two halves make the per-value
/// addition a handful of add-with-carry instructions). Integer addition is associative and
/// commutative, so the sum — and the mean derived from it — cannot depend on insertion order
/// or merge grouping.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct ExactSum {
    lo: u128,
    hi: u128,
}

/// Fractional bits of [`ExactSum`].
const FRAC_BITS: i32 = 128;

impl ExactSum {
    /// Adds `x` (`|x| <= 2^62`), exactly unless `|x| < 2^-76`, in which case bits below
    /// 2^-128 are truncated toward zero.
    #[inline]
    fn add_f64(&mut self, x: f64) {
        let bits = x.to_bits();
        let biased = ((bits >> 52) & 0x7ff) as i32;
        let fraction = bits & ((1 << 52) - 1);
        // x = ±mantissa · 2^exponent
        let (mantissa, exponent) = if biased == 0 {
            (fraction, -1074)
        } else {
            (fraction | (1 << 52), biased - 1075)
        };
        // Position of the mantissa's lowest bit in the fixed-point number.
        // |x| <= 2^62 keeps it below 139, so the mantissa's top bit stays below bit 192.
        let shift = exponent + FRAC_BITS;
        let m = u128::from(mantissa);
        let (lo, hi) = if shift >= 128 {
            (0, m << (shift - 128))
        } else if shift > 0 {
            (m << shift, m >> (128 - shift))
        } else if shift > -53 {
            (m >> -shift, 0)
        } else {
            (0, 0)
        };
        let term = ExactSum { lo, hi };
        if bits >> 63 == 0 {
            self.add(&term);
        } else {
            self.sub(&term);
        }
    }

    /// Wrapping 256-bit addition (never wraps for sums of accepted values).
    #[inline]
    fn add(&mut self, other: &ExactSum) {
        let (lo, carry) = self.lo.overflowing_add(other.lo);
        self.lo = lo;
        self.hi = self
            .hi
            .wrapping_add(other.hi)
            .wrapping_add(u128::from(carry));
    }

    /// Wrapping 256-bit subtraction.
    #[inline]
    fn sub(&mut self, other: &ExactSum) {
        let (lo, borrow) = self.lo.overflowing_sub(other.lo);
        self.lo = lo;
        self.hi = self
            .hi
            .wrapping_sub(other.hi)
            .wrapping_sub(u128::from(borrow));
    }

    /// Little-endian 64-bit limbs (the serialised order).
    fn limbs(&self) -> [u64; 4] {
        [
            self.lo as u64,
            (self.lo >> 64) as u64,
            self.hi as u64,
            (self.hi >> 64) as u64,
        ]
    }

    fn from_limbs(l: [u64; 4]) -> ExactSum {
        ExactSum {
            lo: u128::from(l[0]) | (u128::from(l[1]) << 64),
            hi: u128::from(l[2]) | (u128::from(l[3]) << 64),
        }
    }

    /// Whether the value is within ±2^126 (i.e. ±2^254 units): the bound that sums of at most
    /// 2^64 values of magnitude at most 2^62 respect.
    fn in_range(&self) -> bool {
        matches!((self.hi as i128) >> 126, 0 | -1)
    }

    /// `self · 2^-128 / n`, correctly rounded (to nearest, ties to even).
    ///
    /// The magnitude is shifted left so its leading bit is bit 383 of a 384-bit dividend and
    /// divided by `n` in long division; the quotient then has at least 320 significant bits, of
    /// which the top 64 are converted to `f64` with every lower bit (and the remainder) folded
    /// into the lowest one as a sticky bit — which makes the `u64 → f64` rounding exact.
    fn div_to_f64(&self, n: u64) -> f64 {
        debug_assert!(n > 0);
        let negative = (self.hi as i128) < 0;
        let magnitude = if negative {
            let mut m = ExactSum::default();
            m.sub(self);
            m.limbs()
        } else {
            self.limbs()
        };
        let Some(top) = (0..4).rev().find(|&i| magnitude[i] != 0) else {
            return 0.0;
        };
        let lead = top * 64 + 63 - magnitude[top].leading_zeros() as usize;
        let shift = 383 - lead;
        let (limbs, bits) = (shift / 64, shift % 64);
        let mut dividend = [0u64; 6];
        for (i, &m) in magnitude.iter().enumerate() {
            let wide = u128::from(m) << bits;
            if i + limbs < 6 {
                dividend[i + limbs] |= wide as u64;
            }
            if i + limbs + 1 < 6 {
                dividend[i + limbs + 1] |= (wide >> 64) as u64;
            }
        }
        let mut quotient = [0u64; 6];
        let mut remainder = 0u64;
        for (q, &d) in quotient.iter_mut().zip(&dividend).rev() {
            let current = (u128::from(remainder) << 64) | u128::from(d);
            *q = (current / u128::from(n)) as u64;
            remainder = (current % u128::from(n)) as u64;
        }
        let qtop = (0..6)
            .rev()
            .find(|&i| quotient[i] != 0)
            .expect("quotient >= 2^319");
        let qlead = qtop * 64 + 63 - quotient[qtop].leading_zeros() as usize;
        let low = qlead - 63;
        let (li, bi) = (low / 64, low % 64);
        let mut window = quotient[li] >> bi;
        let mut sticky = remainder != 0 || quotient[..li].iter().any(|&w| w != 0);
        if bi > 0 {
            window |= quotient[li + 1] << (64 - bi);
            sticky |= quotient[li] << (64 - bi) != 0;
        }
        let rounded = (window | u64::from(sticky)) as f64;
        // value = window · 2^low · 2^-(128 + shift); the result is a normal number (between
        // 2^-192 and 2^62), so scaling by a power of two is exact.
        let exponent = low as i32 - FRAC_BITS - shift as i32;
        let v = rounded * pow2(exponent);
        if negative { -v } else { v }
    }
}

/// `2^e` for `e` in the normal range.
fn pow2(e: i32) -> f64 {
    debug_assert!((-1022..=1023).contains(&e));
    f64::from_bits(((e + 1023) as u64) << 52)
}

#[inline]
fn read_array<R: Read, const N: usize>(r: &mut R) -> io::Result<[u8; N]> {
    let mut b = [0u8; N];
    r.read_exact(&mut b)?;
    Ok(b)
}

/// Reads a sketch's magic bytes, rejecting anything else, and its format version.
fn read_version<R: Read>(r: &mut R) -> io::Result<u32> {
    if read_array::<R, 4>(r)? != MAGIC {
        return Err(invalid("not a quantile sketch (bad magic bytes)".into()));
    }
    Ok(u32::from_le_bytes(read_array(r)?))
}

/// Reads the head of a version-2 sketch ([`write_head`]): its magic, version, head and sum.
fn read_head<R: Read>(r: &mut R) -> io::Result<(Head, ExactSum)> {
    let version = read_version(r)?;
    if version != VERSION {
        return Err(invalid(format!(
            "sketch format version {version}, not {VERSION}"
        )));
    }
    read_head_fields(r)
}

/// The fields of [`write_head`] after the version: count, zeros, min, max and sum.
fn read_head_fields<R: Read>(r: &mut R) -> io::Result<(Head, ExactSum)> {
    let count = read_varint(r)?;
    let zero = read_varint(r)?;
    let min = f64::from_le_bytes(read_array(r)?);
    let max = f64::from_le_bytes(read_array(r)?);
    let head = Head {
        count,
        zero,
        min,
        max,
    };
    Ok((head, read_sum(r)?))
}

/// Reads a store [`write_store`] wrote, giving `bucket` each non-empty bucket's index and count
/// in ascending order of index; rejects indices outside the possible range, zero counts and
/// more buckets than the range holds.
fn read_buckets<R: Read>(r: &mut R, mut bucket: impl FnMut(i32, u64)) -> io::Result<()> {
    let k = read_varint(r)?;
    if k == 0 {
        return Ok(());
    }
    let buckets = (MAX_INDEX - MIN_INDEX + 1) as u64;
    if k > buckets {
        return Err(invalid(format!(
            "bucket store of {k} buckets, more than the {buckets} possible"
        )));
    }
    let mut index = unzigzag(read_varint(r)?);
    if !(i64::from(MIN_INDEX)..=i64::from(MAX_INDEX)).contains(&index) {
        return Err(invalid(format!(
            "bucket index {index} outside {MIN_INDEX}..={MAX_INDEX}"
        )));
    }
    for j in 0..k {
        if j > 0 {
            let gap = read_varint(r)?;
            // Both at most about 2^64: no overflow in i128.
            let next = i128::from(index) + 1 + i128::from(gap);
            if next > i128::from(MAX_INDEX) {
                return Err(invalid(format!(
                    "bucket index {next} outside {MIN_INDEX}..={MAX_INDEX}"
                )));
            }
            index = next as i64;
        }
        let c = read_varint(r)?;
        if c == 0 {
            return Err(invalid(format!("bucket {index} listed with a zero count")));
        }
        // In MIN_INDEX..=MAX_INDEX (checked above).
        bucket(index as i32, c);
    }
    Ok(())
}

/// The inverse of [`write_store`] for bytes this process wrote ([`EncodedSketches`]): its
/// buckets added to `into`. [`read_buckets`] without the checks that bytes from a file need, a
/// few instructions a bucket instead of tens, for a point's quantile rows decode every bucket
/// of its chunks. The tests of [`ChunkSets`] compare what it decodes with the buckets of the
/// sketches encoded.
#[inline]
fn decode_buckets(r: &mut &[u8], into: &mut Added) {
    let k = decode_varint(r);
    if k == 0 {
        return;
    }
    // The bucket's position in `into`: its index from the lowest.
    let mut j = (unzigzag(decode_varint(r)) - i64::from(MIN_INDEX)) as usize;
    let (first, mut count) = (j, decode_varint(r));
    let (counts, used) = into.arrays();
    for n in 0..k {
        if n > 0 {
            // Most gaps and counts are below 128, a byte each: both read at once.
            let gap;
            (gap, count) = match r {
                [g, c, rest @ ..] if (g | c) < 0x80 => {
                    *r = rest;
                    (usize::from(*g), u64::from(*c))
                }
                _ => (decode_varint(r) as usize, decode_varint(r)),
            };
            j += gap + 1;
        }
        counts[j] += count;
        used[j / 64] |= 1 << (j % 64);
    }
    into.cover(first / 64..j / 64 + 1);
}

/// A varint [`push_varint`] wrote, from bytes this process wrote (see [`decode_buckets`]).
#[inline(always)]
fn decode_varint(r: &mut &[u8]) -> u64 {
    let (&b, rest) = r.split_first().expect("a varint this process wrote");
    *r = rest;
    // Most are one byte: counts, gaps between buckets in use.
    if b < 0x80 {
        return u64::from(b);
    }
    let (mut v, mut shift) = (u64::from(b & 0x7f), 7);
    loop {
        let (&b, rest) = r.split_first().expect("a varint this process wrote");
        *r = rest;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return v;
        }
        shift += 7;
    }
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

/// Appends `v` as an unsigned LEB128 varint (7 bits a byte, low first, high bit = more).
#[inline]
fn push_varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push(v as u8 | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

/// Reads a varint [`push_varint`] wrote, rejecting overlong encodings (so that a value has one
/// encoding) and values past `u64::MAX`.
#[inline]
fn read_varint<R: Read>(r: &mut R) -> io::Result<u64> {
    let mut v = 0u64;
    for k in 0..10 {
        let [b] = read_array(r)?;
        let bits = u64::from(b & 0x7f);
        if k == 9 && b > 1 {
            return Err(invalid("varint past u64::MAX".into()));
        }
        v |= bits << (7 * k);
        if b & 0x80 == 0 {
            if k > 0 && b == 0 {
                return Err(invalid("overlong varint".into()));
            }
            return Ok(v);
        }
    }
    unreachable!("the tenth byte ends the varint or is rejected")
}

/// Signed to unsigned, small magnitudes to small numbers: 0, -1, 1, -2, ... to 0, 1, 2, 3, ...
fn zigzag(i: i32) -> u64 {
    u64::from(((i << 1) ^ (i >> 31)) as u32)
}

/// The inverse of [`zigzag`] (on any `u64`, for range checks by the caller).
fn unzigzag(u: u64) -> i64 {
    (u >> 1) as i64 ^ -((u & 1) as i64)
}

/// Sign extension byte of `b`: all ones if its top bit is set.
fn extension(b: u8) -> u8 {
    if b & 0x80 != 0 { 0xff } else { 0 }
}

/// Appends the exact sum's 32 little-endian two's-complement bytes, trimmed: `t` (one byte,
/// the number of low zero bytes dropped), `len` (one byte), then the `len` bytes from byte `t`
/// on, the top ones that merely repeat the sign dropped. Zero is `0, 0`. Most sums are short:
/// the fraction's low bytes are zero unless a value had bits that far down, and the high bytes
/// just carry the sign.
fn push_sum(buf: &mut Vec<u8>, sum: &ExactSum) {
    let mut b = [0u8; 32];
    for (chunk, limb) in b.chunks_exact_mut(8).zip(sum.limbs()) {
        chunk.copy_from_slice(&limb.to_le_bytes());
    }
    let Some(t) = b.iter().position(|&x| x != 0) else {
        buf.extend_from_slice(&[0, 0]);
        return;
    };
    let mut top = 32;
    while top - t >= 2 && b[top - 1] == extension(b[top - 2]) {
        top -= 1;
    }
    buf.push(t as u8);
    buf.push((top - t) as u8);
    buf.extend_from_slice(&b[t..top]);
}

/// Reads a sum [`push_sum`] wrote, rejecting encodings it would not write.
fn read_sum<R: Read>(r: &mut R) -> io::Result<ExactSum> {
    let [t, len] = read_array(r)?;
    let (t, len) = (usize::from(t), usize::from(len));
    if len == 0 {
        return if t == 0 {
            Ok(ExactSum::default())
        } else {
            Err(invalid("exact sum: zero with a shift".into()))
        };
    }
    if t + len > 32 {
        return Err(invalid(format!("exact sum of {t} + {len} bytes, past 32")));
    }
    let mut b = [0u8; 32];
    r.read_exact(&mut b[t..t + len])?;
    let top = b[t + len - 1];
    if b[t] == 0 || (len >= 2 && top == extension(b[t + len - 2])) {
        return Err(invalid("exact sum not trimmed".into()));
    }
    b[t + len..].fill(extension(top));
    let mut limbs = [0u64; 4];
    for (limb, chunk) in limbs.iter_mut().zip(b.chunks_exact(8)) {
        *limb = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
    }
    Ok(ExactSum::from_limbs(limbs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::{exp, ln};

    /// SplitMix64: a tiny deterministic generator, so the tests need no dependency.
    struct Rng(u64);

    impl Rng {
        fn next_u64(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
        /// Uniform in [0, 1).
        fn uniform(&mut self) -> f64 {
            (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next_u64() % n as u64) as usize
        }
        fn normal(&mut self) -> f64 {
            let u = 1.0 - self.uniform();
            let v = self.uniform();
            (-2.0 * ln(u)).sqrt() * libm::cos(std::f64::consts::TAU * v)
        }
        fn shuffle<T>(&mut self, v: &mut [T]) {
            for i in (1..v.len()).rev() {
                v.swap(i, self.below(i + 1));
            }
        }
    }

    fn sketch_of(values: &[f64]) -> QuantileSketch {
        let mut s = QuantileSketch::new();
        for &x in values {
            s.insert(x);
        }
        s
    }

    fn bytes(s: &QuantileSketch) -> Vec<u8> {
        let mut b = Vec::new();
        s.write_to(&mut b).unwrap();
        b
    }

    fn bytes_v1(s: &QuantileSketch) -> Vec<u8> {
        let mut b = Vec::new();
        s.write_v1_into(&mut b);
        b
    }

    /// Exact nearest-rank quantile of `values` (independent of the sketch).
    fn exact_quantile(values: &[f64], q: f64) -> f64 {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let k = ((q * sorted.len() as f64).ceil() as usize).max(1);
        sorted[k - 1]
    }

    fn quantile_grid() -> Vec<f64> {
        let mut qs: Vec<f64> = (0..=100).map(|i| f64::from(i) / 100.0).collect();
        qs.extend([0.05, 0.25, 0.5, 0.75, 0.95, 0.001, 0.999, 1.0 / 3.0]);
        qs
    }

    fn check_accuracy(name: &str, values: &[f64]) {
        let s = sketch_of(values);
        assert_eq!(s.count(), values.len() as u64);
        for q in quantile_grid() {
            let exact = exact_quantile(values, q);
            let got = s.quantile(q);
            let tolerance = RELATIVE_ACCURACY * exact.abs() * (1.0 + 1e-9) + ZERO_THRESHOLD;
            assert!(
                (got - exact).abs() <= tolerance,
                "{name}, n = {}, q = {q}: got {got}, exact {exact}",
                values.len()
            );
        }
    }

    const SIZES: [usize; 12] = [1, 2, 3, 4, 5, 7, 10, 20, 99, 100, 333, 1000];

    #[test]
    fn accurate_for_uniform_values() {
        let mut rng = Rng(1);
        for n in SIZES {
            let v: Vec<f64> = (0..n).map(|_| 100.0 * rng.uniform()).collect();
            check_accuracy("uniform", &v);
        }
    }

    #[test]
    fn accurate_for_lognormal_values() {
        let mut rng = Rng(2);
        for n in SIZES {
            let v: Vec<f64> = (0..n).map(|_| exp(3.0 * rng.normal())).collect();
            check_accuracy("lognormal", &v);
        }
    }

    #[test]
    fn accurate_with_negatives_zeros_and_tiny_values() {
        let mut rng = Rng(3);
        for n in SIZES {
            let v: Vec<f64> = (0..n)
                .map(|_| match rng.below(6) {
                    0 => 0.0,
                    1 => -0.0,
                    2 => 1e-13 * (rng.uniform() - 0.5),
                    3 => -exp(2.0 * rng.normal()),
                    _ => 1e6 * rng.normal(),
                })
                .collect();
            check_accuracy("mixed", &v);
        }
    }

    #[test]
    fn accurate_at_bucket_edges_and_extremes() {
        let mut v = Vec::new();
        for i in [-2763, -100, -1, 0, 1, 2, 100, 1000, 4297] {
            let edge = exp(f64::from(i) * LN_GAMMA);
            for x in [edge, edge.next_up(), edge.next_down()] {
                v.push(x);
                v.push(-x);
            }
        }
        v.extend([MAX_ABS, -MAX_ABS, ZERO_THRESHOLD, -ZERO_THRESHOLD]);
        v.retain(|x| x.abs() <= MAX_ABS);
        check_accuracy("edges", &v);
        // Each value alone is returned exactly (clamped to itself).
        for &x in &v {
            assert_eq!(sketch_of(&[x]).quantile(0.5), x);
        }
    }

    #[test]
    fn rank_is_nearest_rank_for_the_csv_quantiles() {
        assert_eq!(rank(0.05, 20), 1);
        assert_eq!(rank(0.05, 100), 5);
        assert_eq!(rank(0.95, 100), 95);
        assert_eq!(rank(0.5, 1), 1);
        assert_eq!(rank(0.0, 7), 1);
        assert_eq!(rank(1.0, 7), 7);
        assert_eq!(rank(0.5, 7), 4);
        for (q, num, den) in [
            (0.05, 1, 20),
            (0.25, 1, 4),
            (0.5, 1, 2),
            (0.75, 3, 4),
            (0.95, 19, 20),
        ] {
            for n in 1..=100_000u64 {
                assert_eq!(
                    rank(q, n),
                    (num * n).div_ceil(den).max(1),
                    "q = {q}, n = {n}"
                );
            }
        }
    }

    #[test]
    fn constant_series_is_exact() {
        for c in [
            0.1,
            -2.5,
            0.0,
            1e-13,
            -7e14,
            3.0,
            0.35,
            123_456.789,
            MAX_ABS,
            1e-300,
        ] {
            for n in [1, 2, 3, 7, 10, 49, 1000] {
                let s = sketch_of(&vec![c; n]);
                for q in quantile_grid() {
                    assert_eq!(
                        s.quantile(q).to_bits(),
                        c.to_bits(),
                        "c = {c}, n = {n}, q = {q}"
                    );
                }
                assert_eq!(s.min().to_bits(), c.to_bits());
                assert_eq!(s.max().to_bits(), c.to_bits());
                // Values below 2^-76 lose bits in the fixed-point sum.
                if c.abs() >= 2f64.powi(-76) || c == 0.0 {
                    assert_eq!(s.mean().to_bits(), c.to_bits(), "mean, c = {c}, n = {n}");
                }
            }
        }
    }

    #[test]
    fn negative_zero_is_stored_as_zero() {
        let a = sketch_of(&[-0.0, 0.0, 1.0]);
        let b = sketch_of(&[0.0, -0.0, 1.0]);
        assert_eq!(bytes(&a), bytes(&b));
        assert_eq!(a.min().to_bits(), 0.0f64.to_bits());
        assert_eq!(sketch_of(&[-0.0]).quantile(0.5).to_bits(), 0.0f64.to_bits());
    }

    #[test]
    fn single_value() {
        let s = sketch_of(&[42.5]);
        assert_eq!(s.count(), 1);
        assert_eq!(s.mean(), 42.5);
        assert_eq!(s.min(), 42.5);
        assert_eq!(s.max(), 42.5);
        for q in quantile_grid() {
            assert_eq!(s.quantile(q), 42.5);
        }
    }

    #[test]
    fn empty_sketch() {
        let s = QuantileSketch::new();
        assert_eq!(s, QuantileSketch::default());
        assert_eq!(s.count(), 0);
        assert!(s.mean().is_nan());
        assert!(s.min().is_nan());
        assert!(s.max().is_nan());
        for q in quantile_grid() {
            assert!(s.quantile(q).is_nan());
        }
        let mut t = QuantileSketch::new();
        t.merge(&s);
        assert_eq!(bytes(&t), bytes(&s));
    }

    #[test]
    fn min_max_and_extreme_quantiles_are_exact() {
        let mut rng = Rng(4);
        let v: Vec<f64> = (0..500).map(|_| 10.0 * rng.normal()).collect();
        let s = sketch_of(&v);
        let min = v.iter().copied().fold(f64::INFINITY, f64::min);
        let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        assert_eq!(s.min(), min);
        assert_eq!(s.max(), max);
        assert_eq!(s.quantile(0.0), min);
        assert_eq!(s.quantile(1.0), max);
        // One sign only, where clamping alone would not make them exact.
        for sign in [1.0, -1.0] {
            let w: Vec<f64> = (0..500).map(|_| sign * exp(rng.normal())).collect();
            let s = sketch_of(&w);
            let min = w.iter().copied().fold(f64::INFINITY, f64::min);
            let max = w.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            for q in [0.0, 0.001, 0.002] {
                assert_eq!(s.quantile(q), min, "q = {q}");
            }
            for q in [0.999, 1.0] {
                assert_eq!(s.quantile(q), max, "q = {q}");
            }
        }
    }

    #[test]
    fn mean_is_correctly_rounded() {
        // Integers: the exact mean S/n is correctly rounded by one f64 division when S and n are
        // exact in f64.
        let mut rng = Rng(5);
        for n in SIZES {
            let v: Vec<i64> = (0..n)
                .map(|_| rng.below(1 << 21) as i64 - (1 << 20))
                .collect();
            let total: i64 = v.iter().sum();
            let s = sketch_of(&v.iter().map(|&x| x as f64).collect::<Vec<_>>());
            assert_eq!(
                s.mean().to_bits(),
                (total as f64 / n as f64).to_bits(),
                "n = {n}"
            );
            // Dyadic fractions: scaling by 2^-20 is exact.
            let d = sketch_of(
                &v.iter()
                    .map(|&x| x as f64 / 1_048_576.0)
                    .collect::<Vec<_>>(),
            );
            let expected = total as f64 / n as f64 / 1_048_576.0;
            assert_eq!(d.mean().to_bits(), expected.to_bits(), "n = {n}");
        }
        // Cancellation a floating-point sum gets wrong.
        assert_eq!(sketch_of(&[1e16, 1.0, -1e16]).mean(), 1.0 / 3.0);
        assert_eq!(sketch_of(&[MAX_ABS, 1e-20, -MAX_ABS]).mean(), 1e-20 / 3.0);
        assert_eq!(sketch_of(&[0.1, 0.2, 0.3]).mean(), 0.2);
        // Ties and near-ties far below the top 64 quotient bits: the sticky bit decides.
        let b = 2f64.powi(-52) + 2f64.powi(-69);
        assert_eq!(sketch_of(&[2.0, b]).mean(), 1.0 + 2f64.powi(-52));
        assert_eq!(sketch_of(&[2.0, 2f64.powi(-52)]).mean(), 1.0);
        assert_eq!(sketch_of(&[-2.0, -b]).mean(), -1.0 - 2f64.powi(-52));
        assert_eq!(sketch_of(&[-1.0, 1.0]).mean(), 0.0);
        assert_eq!(sketch_of(&[-3.0, 1.0]).mean(), -1.0);
        // Close to a float mean for ordinary data.
        let x: Vec<f64> = (0..1000).map(|_| exp(2.0 * rng.normal())).collect();
        let naive = x.iter().sum::<f64>() / 1000.0;
        assert!((sketch_of(&x).mean() - naive).abs() <= 1e-12 * naive);
    }

    /// Mixed-sign values spanning the buckets, zeros included.
    fn mixed_values(rng: &mut Rng, n: usize) -> Vec<f64> {
        (0..n)
            .map(|_| match rng.below(5) {
                0 => 0.0,
                1 => -exp(rng.normal() * 3.0),
                2 => 1e-14 * rng.normal(),
                _ => 1e3 * rng.uniform() + 0.1 * rng.normal(),
            })
            .collect()
    }

    #[test]
    fn insertion_order_does_not_matter() {
        let mut rng = Rng(6);
        for n in [2, 10, 1000, 5000] {
            let v = mixed_values(&mut rng, n);
            let one = sketch_of(&v);
            for _ in 0..5 {
                let mut w = v.clone();
                rng.shuffle(&mut w);
                let other = sketch_of(&w);
                assert_eq!(other, one);
                assert_eq!(bytes(&other), bytes(&one));
                assert_eq!(other.mean().to_bits(), one.mean().to_bits());
            }
            // Sorted ascending and descending grow the stores in opposite directions.
            let mut w = v.clone();
            w.sort_by(f64::total_cmp);
            assert_eq!(bytes(&sketch_of(&w)), bytes(&one));
            w.reverse();
            assert_eq!(bytes(&sketch_of(&w)), bytes(&one));
        }
    }

    #[test]
    fn the_quick_bucket_index_is_the_exact_one() {
        let mut rng = Rng(17);
        let mut checked = 0;
        let mut check = |m: f64| {
            if (ZERO_THRESHOLD..=MAX_ABS).contains(&m) {
                assert_eq!(index_of(m), exact_index(m), "{m:e} ({:#x})", m.to_bits());
                let error = (quick_ln(ln_table(), m) - ln(m)).abs();
                assert!(error < crate::math::quick::LN_ERROR, "{m:e}");
                checked += 1;
            }
        };
        // Around every bucket boundary, where the two could disagree.
        for i in MIN_INDEX..=MAX_INDEX {
            let edge = exp(f64::from(i) * LN_GAMMA);
            for d in -40i64..=40 {
                check(f64::from_bits((edge.to_bits() as i64 + d) as u64));
            }
            // Just outside the margin, where the quick path decides: t within 1e-8 of i.
            for k in 1..=10 {
                let k = f64::from(k) * 1e-11;
                check(edge * (1.0 + k));
                check(edge * (1.0 - k));
            }
        }
        // Any magnitude, and the outputs' usual ones.
        for _ in 0..1_000_000 {
            let e = rng.uniform() * 105.0 - 28.0;
            check(exp(e));
            check(1e3 * exp(rng.normal()));
            check(rng.below(10_000_000) as f64);
        }
        assert!(checked > 3_000_000);
    }

    #[test]
    fn a_cleared_sketch_refilled_equals_a_fresh_one() {
        let mut rng = Rng(16);
        let mut reused = QuantileSketch::new();
        for n in [1000, 3, 0, 50, 2000] {
            let v = mixed_values(&mut rng, n);
            reused.clear();
            for &x in &v {
                reused.insert(x);
            }
            let fresh = sketch_of(&v);
            assert_eq!(reused, fresh);
            assert_eq!(bytes(&reused), bytes(&fresh));
            assert_eq!(reused.mean().to_bits(), fresh.mean().to_bits());
            let mut appended = Vec::new();
            reused.write_into(&mut appended);
            assert_eq!(appended, bytes(&fresh));
        }
    }

    #[test]
    fn merging_any_split_in_any_grouping_matches_one_pass() {
        let mut rng = Rng(7);
        for n in [0, 1, 3, 100, 3000] {
            let v = mixed_values(&mut rng, n);
            let one = sketch_of(&v);
            let want = bytes(&one);
            for _ in 0..10 {
                let mut cuts = [rng.below(n + 1), rng.below(n + 1)];
                cuts.sort();
                let a = sketch_of(&v[..cuts[0]]);
                let b = sketch_of(&v[cuts[0]..cuts[1]]);
                let c = sketch_of(&v[cuts[1]..]);
                let groupings = [[&a, &b, &c], [&c, &b, &a], [&b, &a, &c], [&c, &a, &b]];
                for [x, y, z] in groupings {
                    // (x + y) + z
                    let mut left = x.clone();
                    left.merge(y);
                    left.merge(z);
                    // x + (y + z), into an empty sketch
                    let mut yz = y.clone();
                    yz.merge(z);
                    let mut right = QuantileSketch::new();
                    right.merge(x);
                    right.merge(&yz);
                    for merged in [&left, &right] {
                        assert_eq!(*merged, one);
                        assert_eq!(bytes(merged), want);
                        assert_eq!(merged.mean().to_bits(), one.mean().to_bits());
                        for q in quantile_grid() {
                            assert_eq!(merged.quantile(q).to_bits(), one.quantile(q).to_bits());
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn quantiles_in_one_walk_are_each_quantile() {
        let mut rng = Rng(18);
        let qs = {
            let mut q = quantile_grid();
            q.sort_by(f64::total_cmp);
            q
        };
        for n in [0, 1, 2, 3, 20, 50, 1000] {
            let s = sketch_of(&mixed_values(&mut rng, n));
            let mut out = vec![0.0; qs.len()];
            s.quantiles(&qs, &mut out);
            for (q, got) in qs.iter().zip(&out) {
                assert_eq!(got.to_bits(), s.quantile(*q).to_bits(), "n = {n}, q = {q}");
            }
        }
    }

    /// The values of a chunk's series: few, mixed signs, zeros, repeats and constants.
    fn chunk_series(rng: &mut Rng) -> Vec<Vec<f64>> {
        let mut all = vec![Vec::new(), vec![0.0], vec![-0.0, 0.0], vec![7.5; 50]];
        // Keys spanning just within and just beyond the histogram, of either sign, and tiny
        // values of both signs (keys close together around zero).
        let h = HISTOGRAM as i32;
        for sign in [1.0, -1.0] {
            for top in [h - 1, h] {
                all.push(
                    [0, 1, 1, top / 2, top]
                        .map(|i| sign * representative(i))
                        .to_vec(),
                );
            }
        }
        all.push(vec![2e-12, -2e-12, 3e-12, 0.0, -3e-12, 2e-12]);
        // Values whose bits below 2^-128 the exact sum drops (tiny, subnormal) beside the
        // largest accepted, of both signs.
        all.push(vec![
            1e-30, -3e-25, 2.5e-23, 5e-324, -5e-324, 1e-300, 0.75, -MAX_ABS, MAX_ABS, 1.5e-5,
            -1e-30,
        ]);
        // Whole numbers, fractions and repeats mixed.
        all.push(vec![3.0, 3.0, 2.5, -4.0, 3.0, 1e15, 1e15 + 0.5, 0.1, 0.1]);
        for n in [1, 2, 3, 17, 49, 50, 200] {
            all.push(mixed_values(rng, n));
            all.push((0..n).map(|_| 1e3 * exp(rng.normal())).collect());
            all.push((0..n).map(|_| -(rng.below(5) as f64)).collect());
        }
        all
    }

    #[test]
    fn sparse_sketches_equal_inserted_ones() {
        let mut rng = Rng(19);
        let series = chunk_series(&mut rng);
        let mut set = SparseSketches::default();
        // Twice: the second time into a cleared set.
        for _ in 0..2 {
            set.clear();
            for v in &series {
                set.push(v);
            }
            assert_eq!(set.len(), series.len());
            for (k, v) in series.iter().enumerate() {
                let s = sketch_of(v);
                let mut b = Vec::new();
                set.write_into(k, &mut b);
                assert_eq!(b, bytes(&s), "{v:?}");
                assert_eq!(set.count(k), s.count());
                assert_eq!(set.mean(k).to_bits(), s.mean().to_bits(), "{v:?}");
                let mut got = [0.0; 5];
                let mut want = [0.0; 5];
                let qs = [0.05, 0.25, 0.5, 0.75, 0.95];
                Sketches::quantiles(&set, k, &qs, &mut got);
                s.quantiles(&qs, &mut want);
                assert_eq!(got.map(f64::to_bits), want.map(f64::to_bits), "{v:?}");
                let mut into = QuantileSketch::new();
                set.merge_into(k, &mut into);
                assert_eq!(into, s);
            }
        }
    }

    /// A store's non-empty buckets, `(index, count)`.
    type Buckets = Vec<(i32, u64)>;

    /// The buckets of point `total`'s sketch `k`, as the sparse point reads them: the
    /// negative store's in descending order of index, then the positive store's ascending.
    fn added_of(total: &ChunkSets, k: usize) -> (Buckets, Buckets) {
        let d = total.decoded(k);
        (
            d.neg.buckets::<true>().collect(),
            d.pos.buckets::<false>().collect(),
        )
    }

    /// Point `total`'s sketch `k` has the count, mean and quantiles `qs` of `want`, to the bit.
    fn assert_point_is(total: &PointSketches, k: usize, want: &QuantileSketch, qs: [f64; 5]) {
        assert_eq!(total.count(k), want.count(), "{k}");
        assert_eq!(total.mean(k).to_bits(), want.mean().to_bits(), "{k}");
        let (mut got, mut expected) = ([0.0; 5], [0.0; 5]);
        total.quantiles(k, &qs, &mut got);
        want.quantiles(&qs, &mut expected);
        assert_eq!(got.map(f64::to_bits), expected.map(f64::to_bits), "{k}");
    }

    #[test]
    fn sketches_added_up_sparse_or_dense_equal_one_sketch_of_all_values() {
        let mut rng = Rng(23);
        // Chunks of one point: the same series, each with other values (a chunk's series
        // shuffled into another position, so that sketches of different ranges and signs
        // meet), some chunks read back from their dense form.
        let chunks: Vec<Vec<Vec<f64>>> = (0..5)
            .map(|c| {
                let mut series = chunk_series(&mut rng);
                series.rotate_left(3 * c);
                series
            })
            .collect();
        let width = chunks[0].len();
        let mut spare = None;
        // Sparse and dense, each twice: the second time in the first's memory, emptied by
        // `new`.
        for of_point in [5, SPARSE_CHUNKS + 1, 5, SPARSE_CHUNKS + 1] {
            let mut total = PointSketches::new(of_point, width, spare.take());
            assert_eq!(
                matches!(total, PointSketches::Sparse(_)),
                of_point <= SPARSE_CHUNKS
            );
            let mut all = vec![Vec::new(); width];
            for (c, series) in chunks.iter().enumerate() {
                let mut set = SparseSketches::default();
                for (k, v) in series.iter().enumerate() {
                    if c % 2 == 1 {
                        set.push_sketch(&sketch_of(v));
                    } else {
                        set.push(v);
                    }
                    all[k].extend_from_slice(v);
                }
                if c % 3 == 0 {
                    total.add(&set);
                } else {
                    // A sparse point takes the encoded set, a dense one leaves it.
                    let mut encoded = EncodedSketches::default();
                    encoded.encode(&set);
                    total.add_encoded(&set, &mut encoded);
                    let sparse = matches!(total, PointSketches::Sparse(_));
                    assert_eq!(encoded.is_empty(), sparse);
                }
                assert_eq!(total.len(), width);
                for (k, values) in all.iter().enumerate() {
                    let want = sketch_of(values);
                    if let PointSketches::Sparse(sets) = &total {
                        let (neg, pos) = added_of(sets, k);
                        let want_neg: Vec<_> = want.neg.nonzero().rev().collect();
                        assert_eq!(neg, want_neg, "{k}");
                        assert_eq!(pos, want.pos.nonzero().collect::<Vec<_>>(), "{k}");
                    }
                    assert_point_is(&total, k, &want, [0.0, 0.05, 0.5, 0.95, 1.0]);
                }
            }
            // Handed over full: `new` empties it.
            spare = Some(total);
        }
    }

    #[test]
    fn a_sparse_point_hands_emptied_sets_back_and_turns_dense_past_its_chunks() {
        let mut rng = Rng(29);
        let chunks: Vec<Vec<Vec<f64>>> = (0..SPARSE_CHUNKS + 2)
            .map(|_| chunk_series(&mut rng))
            .collect();
        let width = chunks[0].len();
        let mut total = PointSketches::new(2, width, None);
        let mut all = vec![Vec::new(); width];
        let (mut set, mut encoded) = (SparseSketches::default(), EncodedSketches::default());
        for (c, series) in chunks.iter().enumerate() {
            for (k, v) in series.iter().enumerate() {
                set.push(v);
                all[k].extend_from_slice(v);
            }
            encoded.encode(&set);
            total.add_encoded(&set, &mut encoded);
            // More chunks than the point was made for: dense beyond SPARSE_CHUNKS, and a
            // dense point leaves the encoded set where it was.
            let dense = matches!(total, PointSketches::Dense(_));
            assert_eq!(dense, c >= SPARSE_CHUNKS, "{c}");
            assert_eq!(encoded.is_empty(), !dense, "{c}");
            set.clear();
        }
        for (k, values) in all.iter().enumerate() {
            assert_point_is(&total, k, &sketch_of(values), [0.0, 0.25, 0.5, 0.75, 1.0]);
        }
        // Emptied, a sparse point gives the chunks that come next its sets' memory.
        let mut total = PointSketches::new(2, width, None);
        for v in &chunks[0] {
            set.push(v);
        }
        encoded.encode(&set);
        total.add_encoded(&set, &mut encoded);
        total.clear();
        encoded.encode(&set);
        total.add_encoded(&set, &mut encoded);
        assert!(encoded.is_empty() && encoded.bytes.capacity() > 0);
        assert!(encoded.starts.capacity() >= width);
    }

    #[test]
    fn sparse_sketches_reserved_for_their_values_do_not_move() {
        let mut rng = Rng(31);
        let series = chunk_series(&mut rng);
        let values: usize = series.iter().map(Vec::len).sum();
        let mut set = SparseSketches::default();
        set.reserve(series.len(), values);
        let (heads, buckets) = (set.heads.as_ptr(), set.buckets.as_ptr());
        for v in &series {
            set.push(v);
        }
        assert_eq!((set.heads.as_ptr(), set.buckets.as_ptr()), (heads, buckets));
        assert_eq!(set.len(), series.len());
    }

    #[test]
    fn a_sparse_point_read_between_chunks_reads_every_chunk_added() {
        // The sketch last read is kept decoded: adding or clearing chunks must not leave it.
        let (mut first, mut second) = (SparseSketches::default(), SparseSketches::default());
        first.push(&[1.0, 2.0]);
        second.push(&[3.0]);
        let mut total = PointSketches::new(2, 1, None);
        total.add(&first);
        assert_eq!(total.count(0), 2);
        let mut encoded = EncodedSketches::default();
        encoded.encode(&second);
        total.add_encoded(&second, &mut encoded);
        assert_point_is(
            &total,
            0,
            &sketch_of(&[1.0, 2.0, 3.0]),
            [0.0, 0.25, 0.5, 0.75, 1.0],
        );
        total.clear();
        total.add(&second);
        assert_point_is(&total, 0, &sketch_of(&[3.0]), [0.0, 0.25, 0.5, 0.75, 1.0]);
    }

    #[test]
    #[should_panic(expected = "sketches of one point's series")]
    fn sparse_sets_of_other_lengths_are_not_added() {
        let mut set = SparseSketches::default();
        set.push(&[1.0]);
        let mut other = set.clone();
        other.push(&[2.0]);
        let mut total = PointSketches::new(2, 1, None);
        total.add(&set);
        total.add(&other);
    }

    #[test]
    #[should_panic(expected = "values must be finite")]
    fn sparse_sketches_refuse_nan() {
        SparseSketches::default().push(&[1.0, f64::NAN]);
    }

    #[test]
    fn round_trip() {
        let mut rng = Rng(8);
        let sketches = [
            QuantileSketch::new(),
            sketch_of(&[0.0]),
            sketch_of(&[-5.0]),
            sketch_of(&mixed_values(&mut rng, 1000)),
        ];
        // Several sketches back to back in one stream, as in the part files.
        let mut stream = Vec::new();
        for s in &sketches {
            s.write_to(&mut stream).unwrap();
        }
        let mut r = stream.as_slice();
        for s in &sketches {
            let back = QuantileSketch::read_from(&mut r).unwrap();
            assert_eq!(back, *s);
            assert_eq!(bytes(&back), bytes(s));
            assert_eq!(back.mean().to_bits(), s.mean().to_bits());
        }
        assert!(r.is_empty());
    }

    #[test]
    fn truncated_input_is_unexpected_eof() {
        let mut rng = Rng(9);
        let sketch = sketch_of(&mixed_values(&mut rng, 200));
        for full in [bytes(&sketch), bytes_v1(&sketch)] {
            for len in 0..full.len() {
                let err = QuantileSketch::read_from(&mut &full[..len]).unwrap_err();
                assert_eq!(
                    err.kind(),
                    io::ErrorKind::UnexpectedEof,
                    "prefix of {len} bytes"
                );
            }
        }
    }

    #[test]
    fn garbage_is_invalid_data_in_version_1() {
        let mut rng = Rng(10);
        let good = bytes_v1(&sketch_of(&[1.0, 2.0, -3.0, 0.0]));
        let invalid_after = |edit: &dyn Fn(&mut Vec<u8>)| {
            let mut b = good.clone();
            edit(&mut b);
            let err = QuantileSketch::read_from(&mut b.as_slice()).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{err}");
        };
        invalid_after(&|b| b[0] = b'X'); // magic
        invalid_after(&|b| b[4] = 3); // version
        invalid_after(&|b| b[8] += 1); // count
        invalid_after(&|b| b[16] += 1); // zero count
        invalid_after(&|b| b[24..32].copy_from_slice(&f64::NAN.to_le_bytes())); // min
        invalid_after(&|b| b[24..32].copy_from_slice(&5.0f64.to_le_bytes())); // min > max
        invalid_after(&|b| b[24..32].copy_from_slice(&(-2.0f64).to_le_bytes())); // min's bucket
        invalid_after(&|b| b[32..40].copy_from_slice(&9.0f64.to_le_bytes())); // max's bucket
        let zeros = bytes_v1(&sketch_of(&[0.0, 0.0]));
        let mut b = zeros.clone();
        b[24..32].copy_from_slice(&(-0.0f64).to_le_bytes());
        let err = QuantileSketch::read_from(&mut b.as_slice()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        invalid_after(&|b| b[71] = 0x40); // sum out of range
        invalid_after(&|b| b[76..80].copy_from_slice(&u32::MAX.to_le_bytes())); // store length
        invalid_after(&|b| b[72..76].copy_from_slice(&i32::MIN.to_le_bytes())); // store offset
        invalid_after(&|b| b[80] = 0); // untrimmed store (negative store's only count)
        // Random bytes after a valid header.
        for _ in 0..2000 {
            let len = rng.below(200);
            let mut b = good[..8].to_vec();
            b.extend((0..len).map(|_| rng.next_u64() as u8));
            // Must not panic; anything readable must be a consistent sketch.
            match QuantileSketch::read_from(&mut b.as_slice()) {
                Ok(s) => panic!("random bytes read as {s:?}"),
                Err(e) => assert!(matches!(
                    e.kind(),
                    io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof
                )),
            }
        }
        // Empty input.
        let err = QuantileSketch::read_from(&mut &[][..]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }

    /// A magnitude in bucket `i` (the representative, within the range of magnitudes).
    fn in_bucket(i: i32) -> f64 {
        representative(i).clamp(ZERO_THRESHOLD, MAX_ABS)
    }

    /// A sketch of any content, built field by field (counts `insert` cannot reach in a test).
    fn sketch_with(
        zero: u64,
        neg: &[(i32, u64)],
        pos: &[(i32, u64)],
        sum: ExactSum,
    ) -> QuantileSketch {
        let store = |buckets: &[(i32, u64)]| {
            let mut s = Store::default();
            for &(i, c) in buckets {
                s.add(i, c);
            }
            s
        };
        let (neg, pos) = (store(neg), store(pos));
        let count = zero + neg.total().unwrap() + pos.total().unwrap();
        let mut s = QuantileSketch {
            count,
            zero,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            sum,
            neg,
            pos,
        };
        let value = |b: Bucket| match b {
            Bucket::Neg(i) => -in_bucket(i),
            Bucket::Zero => 0.0,
            Bucket::Pos(i) => in_bucket(i),
        };
        if count > 0 {
            s.min = value(s.first_bucket().unwrap());
            s.max = value(s.last_bucket().unwrap());
        }
        s.validate().unwrap();
        s
    }

    /// Writes `s` in both versions, reads each back, and checks that the result is `s` and
    /// writes the same version-2 bytes.
    fn assert_round_trip(s: &QuantileSketch) {
        let v2 = bytes(s);
        for b in [v2.clone(), bytes_v1(s)] {
            let mut r = b.as_slice();
            let back = QuantileSketch::read_from(&mut r).unwrap();
            assert!(r.is_empty());
            assert_eq!(back, *s);
            assert_eq!(bytes(&back), v2);
            assert_eq!(back.mean().to_bits(), s.mean().to_bits());
        }
    }

    #[test]
    fn version_2_round_trips_any_sketch() {
        let mut rng = Rng(18);
        let some_sum = |x: f64| {
            let mut sum = ExactSum::default();
            sum.add_f64(x);
            sum
        };
        assert_round_trip(&QuantileSketch::new());
        // One bucket, at either end of the range, of either sign, zeros.
        for i in [MIN_INDEX, -1, 0, 1, MAX_INDEX] {
            assert_round_trip(&sketch_of(&[in_bucket(i)]));
            assert_round_trip(&sketch_of(&[-in_bucket(i)]));
        }
        assert_round_trip(&sketch_of(&[0.0]));
        assert_round_trip(&sketch_of(&[MAX_ABS, -MAX_ABS, 0.0]));
        // Every bucket of both signs.
        let every: Vec<f64> = (MIN_INDEX..=MAX_INDEX)
            .flat_map(|i| [in_bucket(i), -in_bucket(i)])
            .chain([0.0])
            .collect();
        let all = sketch_of(&every);
        assert_eq!(all.pos.span().1.len(), (MAX_INDEX - MIN_INDEX + 1) as usize);
        assert_round_trip(&all);
        // Counts near u64::MAX, one bucket or split, with sums of any sign and size.
        let big = u64::MAX;
        assert_round_trip(&sketch_with(big, &[], &[], some_sum(0.0)));
        assert_round_trip(&sketch_with(0, &[], &[(MAX_INDEX, big)], some_sum(MAX_ABS)));
        assert_round_trip(&sketch_with(0, &[(MIN_INDEX, big)], &[], some_sum(-1e-300)));
        assert_round_trip(&sketch_with(
            1,
            &[(7, big / 2 - 3)],
            &[(MIN_INDEX, 1), (0, big / 2)],
            some_sum(-3.5),
        ));
        // Random sketches: few or many values, narrow or wide, sparse or dense buckets.
        for _ in 0..300 {
            let n = [1, 2, 50, 1000][rng.below(4)];
            let spread = [0.01, 1.0, 10.0][rng.below(3)];
            let values: Vec<f64> = (0..n)
                .map(|_| {
                    let x = if rng.below(10) == 0 {
                        0.0
                    } else {
                        (1e3 * exp(spread * rng.normal())).min(MAX_ABS)
                    };
                    if rng.below(4) == 0 { -x } else { x }
                })
                .collect();
            assert_round_trip(&sketch_of(&values));
            let mut buckets = Vec::new();
            for _ in 0..rng.below(20) {
                let i = MIN_INDEX + rng.below((MAX_INDEX - MIN_INDEX + 1) as usize) as i32;
                buckets.push((i, rng.next_u64() >> (1 + rng.below(63))));
            }
            let half = buckets.len() / 2;
            let sum = some_sum(rng.normal() * exp(rng.normal() * 20.0));
            assert_round_trip(&sketch_with(
                rng.next_u64() >> 2,
                &buckets[..half],
                &buckets[half..],
                sum,
            ));
        }
    }

    #[test]
    fn version_2_is_compact() {
        let mut rng = Rng(19);
        // As in a chunk: 50 values spread over a few hundred buckets.
        let s = sketch_of(&(0..50).map(|_| 1e3 * exp(rng.normal())).collect::<Vec<_>>());
        let (v1, v2) = (bytes_v1(&s).len(), bytes(&s).len());
        assert!(v2 * 4 < v1, "{v2} bytes, {v1} in version 1");
        assert!(v2 <= 40 + 2 + 2 * 8 + 2 + 32 + 2 * 50 + 5, "{v2}");
        assert_eq!(
            bytes(&QuantileSketch::new()).len(),
            8 + 1 + 1 + 16 + 2 + 1 + 1
        );
    }

    #[test]
    fn varints_and_sums_have_one_encoding() {
        for v in [0, 1, 127, 128, 300, 1 << 35, u64::MAX - 1, u64::MAX] {
            let mut b = Vec::new();
            push_varint(&mut b, v);
            assert_eq!(read_varint(&mut b.as_slice()).unwrap(), v);
        }
        let bad = |b: &[u8]| read_varint(&mut &b[..]).unwrap_err().kind();
        assert_eq!(bad(&[0x80, 0x00]), io::ErrorKind::InvalidData); // overlong 0
        assert_eq!(
            bad(&[0xff; 9].iter().copied().chain([0x02]).collect::<Vec<_>>()),
            io::ErrorKind::InvalidData
        );
        assert_eq!(bad(&[0xff; 10]), io::ErrorKind::InvalidData);
        assert_eq!(bad(&[0x80]), io::ErrorKind::UnexpectedEof);
        for i in [MIN_INDEX, -1, 0, 1, MAX_INDEX, i32::MIN, i32::MAX] {
            assert_eq!(unzigzag(zigzag(i)), i64::from(i));
        }
        let sum_bytes = |x: &[f64]| {
            let mut b = Vec::new();
            push_sum(&mut b, &sketch_of(x).sum);
            b
        };
        assert_eq!(sum_bytes(&[]), [0, 0]);
        // 1.0 is 2^128: byte 16 alone.
        assert_eq!(sum_bytes(&[1.0]), [16, 1, 1]);
        assert_eq!(sum_bytes(&[-1.0]), [16, 1, 0xff]);
        assert_eq!(sum_bytes(&[128.0]), [16, 2, 0x80, 0]);
        assert_eq!(sum_bytes(&[-128.0]), [16, 1, 0x80]);
        let rejects = |b: &[u8]| read_sum(&mut &b[..]).unwrap_err().kind();
        assert_eq!(rejects(&[1, 0]), io::ErrorKind::InvalidData); // zero with a shift
        assert_eq!(rejects(&[15, 2, 0, 1]), io::ErrorKind::InvalidData); // low zero kept
        assert_eq!(rejects(&[16, 2, 1, 0]), io::ErrorKind::InvalidData); // sign byte kept
        assert_eq!(rejects(&[16, 2, 0xff, 0xff]), io::ErrorKind::InvalidData);
        assert_eq!(rejects(&[30, 3, 1, 1, 1]), io::ErrorKind::InvalidData); // past 32 bytes
        assert_eq!(rejects(&[16, 2, 1]), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn corrupt_version_2_is_an_error_not_a_panic() {
        let mut rng = Rng(20);
        let good = bytes(&sketch_of(&[1.0, 2.0, -3.0, 0.0, 1e6]));
        let kind = |b: &[u8]| QuantileSketch::read_from(&mut &b[..]).unwrap_err().kind();
        let mut b = good.clone();
        b[4] = 9;
        let err = QuantileSketch::read_from(&mut b.as_slice()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("version 9"), "{err}");
        b = good.clone();
        b[8] += 1; // count
        assert_eq!(kind(&b), io::ErrorKind::InvalidData);
        // A store listing more buckets than exist, a zero count, indices out of range.
        let mut first_too_high = vec![1];
        push_varint(&mut first_too_high, zigzag(MAX_INDEX + 1));
        first_too_high.push(1);
        let mut too_many = Vec::new();
        push_varint(&mut too_many, 1u64 << 40);
        // A gap of 65535, far past the range.
        let gap_too_far = vec![2, 0, 1, 0xff, 0xff, 0x03, 1];
        for store in [vec![1, 0, 0], first_too_high, too_many, gap_too_far] {
            let err = Store::read_sparse(&mut store.as_slice()).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{store:?}");
        }
        // Random corruption: an error, or (rarely) another valid sketch whose bytes are
        // exactly the input read (one encoding per sketch).
        for _ in 0..20_000 {
            let mut b = good.clone();
            for _ in 0..1 + rng.below(3) {
                let at = 8 + rng.below(b.len() - 8);
                match rng.below(3) {
                    0 => b[at] ^= 1 << rng.below(8),
                    1 => b[at] = rng.next_u64() as u8,
                    _ => {
                        b.remove(at);
                    }
                }
            }
            let mut r = b.as_slice();
            match QuantileSketch::read_from(&mut r) {
                Ok(s) => assert_eq!(bytes(&s), b[..b.len() - r.len()]),
                Err(e) => assert!(matches!(
                    e.kind(),
                    io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof
                )),
            }
        }
        // Random bytes after a valid header.
        for _ in 0..5000 {
            let mut b = good[..8].to_vec();
            b.extend((0..rng.below(200)).map(|_| rng.next_u64() as u8));
            let mut r = b.as_slice();
            if let Ok(s) = QuantileSketch::read_from(&mut r) {
                assert_eq!(bytes(&s), b[..b.len() - r.len()]);
            }
        }
    }

    #[test]
    fn memory_is_bounded_by_the_log_range() {
        let mut rng = Rng(11);
        let mut s = QuantileSketch::new();
        for _ in 0..1_000_000 {
            s.insert(1.0 + 999.0 * rng.uniform());
        }
        // Buckets needed for [1, 1000]: ln(1000)/ln(γ) + 1 ≈ 692.
        let needed = (ln(1000.0) / LN_GAMMA).ceil() as usize + 1;
        assert!(s.pos.span().1.len() <= needed);
        assert!(
            s.pos.counts.len() <= 2 * needed + 16,
            "{}",
            s.pos.counts.len()
        );
        assert!(s.neg.counts.is_empty());
        assert!(bytes(&s).len() <= 96 + 8 * needed);
        // Drifting one bucket at a time, in either direction, stays bounded too.
        for sign in [1.0, -1.0] {
            let mut d = QuantileSketch::new();
            for i in 0..=2000 {
                d.insert(sign * representative(i));
            }
            let store = if sign > 0.0 { &d.pos } else { &d.neg };
            assert!(store.counts.len() <= 2 * 2001 + 16);
        }
        let mut d = QuantileSketch::new();
        for i in (0..=2000).rev() {
            d.insert(representative(i));
        }
        assert!(d.pos.counts.len() <= 2 * 2001 + 16);
        assert_eq!(QuantileSketch::new().pos.counts.capacity(), 0);
    }

    #[test]
    fn constants_are_consistent() {
        assert!((ln(GAMMA) - LN_GAMMA).abs() <= 2.0 * f64::EPSILON * LN_GAMMA);
        assert_eq!(index_of(ZERO_THRESHOLD), MIN_INDEX);
        assert_eq!(index_of(MAX_ABS), MAX_INDEX);
        // Representatives are within the accuracy of their bucket's bounds.
        for i in [MIN_INDEX, -1, 0, 1, MAX_INDEX] {
            let upper = exp(f64::from(i) * LN_GAMMA);
            let lower = exp(f64::from(i - 1) * LN_GAMMA);
            let r = representative(i);
            assert!((r - upper).abs() <= RELATIVE_ACCURACY * upper * (1.0 + 1e-12));
            assert!((r - lower).abs() <= RELATIVE_ACCURACY * lower * (1.0 + 1e-12));
        }
    }

    #[test]
    #[should_panic(expected = "values must be finite")]
    fn nan_is_a_bug() {
        QuantileSketch::new().insert(f64::NAN);
    }

    #[test]
    #[should_panic(expected = "values must be finite")]
    fn infinity_is_a_bug() {
        QuantileSketch::new().insert(f64::NEG_INFINITY);
    }

    #[test]
    #[should_panic(expected = "|x| <= 2^62")]
    fn huge_values_are_refused() {
        QuantileSketch::new().insert(1e19);
    }

    #[test]
    #[should_panic(expected = "q must be in [0, 1]")]
    fn quantile_outside_unit_interval_is_a_bug() {
        sketch_of(&[1.0]).quantile(1.5);
    }

    /// Prints the cost of `insert` (run with `--release -- --nocapture`); asserts nothing.
    #[test]
    fn insert_timing() {
        let mut rng = Rng(12);
        let wide: Vec<f64> = (0..1 << 20).map(|_| 1e3 * exp(rng.normal())).collect();
        let narrow: Vec<f64> = (0..1 << 20)
            .map(|_| 1e3 * (1.0 + 0.1 * rng.normal()))
            .collect();
        let per_value =
            |start: std::time::Instant, n: usize| start.elapsed().as_nanos() as f64 / n as f64;
        for (name, values) in [("lognormal(0, 1)", &wide), ("normal, 10% sd", &narrow)] {
            let start = std::time::Instant::now();
            let mut one = QuantileSketch::new();
            for &x in values {
                one.insert(x);
            }
            let hot = per_value(start, values.len());
            // As in a run: each replication feeds one value to each of ~4000 fresh sketches.
            let mut many = vec![QuantileSketch::new(); 4000];
            let mut spread = [0.0; 2];
            for pass in &mut spread {
                let start = std::time::Instant::now();
                for chunk in values.chunks(4000) {
                    for (s, &x) in many.iter_mut().zip(chunk) {
                        s.insert(x);
                    }
                }
                *pass = per_value(start, values.len());
            }
            let start = std::time::Instant::now();
            let ln_sum: f64 = values.iter().map(|x| ln(*x)).sum();
            let ln = per_value(start, values.len());
            println!(
                "insert, {name}: {hot:.1} ns into one sketch; across 4000 sketches {:.1} ns \
                 (fresh), {:.1} ns (grown); ln alone {ln:.1} ns [{}]",
                spread[0],
                spread[1],
                one.count() + u64::from(ln_sum.is_nan())
            );
        }
    }
}
