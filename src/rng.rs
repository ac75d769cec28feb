//! Seeds and random streams.
//!
//! A run is a pure function of (scenario, master seed). Every random draw comes from a
//! [`Stream`] (Xoshiro256++, a named, portable algorithm) whose seed is derived by
//! [`splitmix64`] mixing from:
//!
//! - the replication seed: [`replication_seed`]`(master, point, replication)`
//!   `= mix(mix(mix(master) ^ point) ^ replication) >> 11`, written to every `summary.csv`
//!   row. It is kept below 2^53 so that every reader gets it back exactly: R has no 64-bit
//!   integer and reads numbers as doubles (53-bit mantissa), and polars reads integers above
//!   2^63 as Int128. The master seed (`--seed`) may be any u64;
//! - a stream id that names what the stream is for and which agent owns it
//!   ([`stream_id`]`(purpose, agent)`), so each agent draws from its own stream and adding a
//!   draw for one agent never shifts another agent's numbers.
//!
//! Nothing depends on thread ids, time or iteration order of hash maps.

use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;

/// The generator every stream uses: Xoshiro256++ (portable, documented output).
pub type Stream = Xoshiro256PlusPlus;

/// SplitMix64 finaliser (Steele, Lea & Flood 2014): a bijective 64-bit mixer.
pub const fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Seed of replication `replication` of sweep point `point` (point 0 when there is no sweep).
/// It is below 2^53 ([`MAX_REPLICATION_SEED`]): a 53-bit seed still keys 9·10^15 distinct
/// replications, and a double holds it exactly (see the module documentation).
pub const fn replication_seed(master: u64, point: u64, replication: u64) -> u64 {
    splitmix64(splitmix64(splitmix64(master) ^ point) ^ replication) >> 11
}

/// Every replication seed is at most this (2^53 − 1), the largest integer of a double's range
/// of consecutive integers.
pub const MAX_REPLICATION_SEED: u64 = (1 << 53) - 1;

/// What a stream is used for; the discriminant enters the stream seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u64)]
pub enum Purpose {
    /// Per-nation demand noise.
    Demand = 1,
    /// Per-product production yield.
    Yield = 2,
    /// Per-regulator licence decisions.
    Licensing = 3,
    /// Per-nation diplomatic decisions (announce, defy, accept).
    Diplomacy = 4,
    /// Per-hub intermediary population.
    Intermediaries = 5,
    /// Per-regulator enforcement and breach detection.
    Enforcement = 6,
    /// Per-regulator licence-queue reviews (M3).
    LicenceQueue = 7,
    /// Per-destination entry of intermediaries and their choice of hub (M9).
    Entry = 8,
}

/// Stream id for `purpose` owned by agent number `agent` (its index in the scenario).
pub const fn stream_id(purpose: Purpose, agent: usize) -> u64 {
    ((purpose as u64) << 32) | agent as u64
}

/// The stream `stream_id` of the replication with seed `rep_seed`.
pub fn stream(rep_seed: u64, purpose: Purpose, agent: usize) -> Stream {
    Stream::seed_from_u64(splitmix64(rep_seed ^ splitmix64(stream_id(purpose, agent))))
}

/// A uniform number in [0, 1) determined by (`rep_seed`, `key`) alone: used to draw uncertain
/// parameters so that the same parameter gets the same draw in every timeline snapshot.
pub fn unit_from_key(rep_seed: u64, key: u64) -> f64 {
    let bits = splitmix64(rep_seed ^ splitmix64(key ^ 0xA5A5_5A5A_DEAD_BEEF));
    (bits >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Stable 64-bit FNV-1a hash of a string (parameter paths, scenario text): the same on every
/// machine and Rust version, unlike `std::hash`.
pub fn fnv1a(s: &str) -> u64 {
    fnv1a_more(FNV1A_START, s)
}

/// [`fnv1a`]'s state before any byte.
pub const FNV1A_START: u64 = 0xcbf2_9ce4_8422_2325;

/// [`fnv1a`] continued from state `h` over `s`: a text hashed in pieces hashes as a whole.
pub fn fnv1a_more(mut h: u64, s: &str) -> u64 {
    for b in s.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn replication_seeds_differ_by_point_and_replication() {
        let a = replication_seed(7, 0, 0);
        assert_ne!(a, replication_seed(7, 0, 1));
        assert_ne!(a, replication_seed(7, 1, 0));
        assert_ne!(a, replication_seed(8, 0, 0));
        // Seeds are exact in a double, hence in R and in any CSV reader.
        for (m, p, r) in [(u64::MAX, 0, 0), (0, u64::MAX, 7), (7, 3, u64::MAX)] {
            let s = replication_seed(m, p, r);
            assert!(s <= MAX_REPLICATION_SEED);
            assert_eq!(s as f64 as u64, s);
        }
        // SplitMix64's published first output from state 0: the mixer is the documented one.
        assert_eq!(splitmix64(0), 0xE220_A839_7B1D_CDAF);
    }

    #[test]
    fn streams_are_independent_of_each_other() {
        let mut s1 = stream(42, Purpose::Demand, 0);
        let mut s2 = stream(42, Purpose::Demand, 1);
        let mut s3 = stream(42, Purpose::Yield, 0);
        let (a, b, c) = (s1.next_u64(), s2.next_u64(), s3.next_u64());
        assert!(a != b && a != c && b != c);
        let mut again = stream(42, Purpose::Demand, 0);
        assert_eq!(again.next_u64(), a);
    }

    #[test]
    fn unit_from_key_is_in_range_and_keyed() {
        for k in 0..1000 {
            let u = unit_from_key(3, k);
            assert!((0.0..1.0).contains(&u));
        }
        assert_ne!(unit_from_key(3, 1), unit_from_key(3, 2));
        assert_ne!(unit_from_key(3, 1), unit_from_key(4, 1));
    }
}
