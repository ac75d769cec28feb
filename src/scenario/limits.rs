//! Ceilings on what one run may ask for, checked before anything runs.
//!
//! A scenario that would exhaust memory, disk or time is refused up front with a located error
//! rather than discovered hours later (or never, when the machine starts swapping). Every
//! ceiling is far above what a study of this model needs; the ones where a big cluster job
//! could legitimately want more can be raised through an environment variable, read once
//! when a scenario is loaded.
//!
//! | what | default | override |
//! |---|---|---|
//! | bytes of one scenario file | 1 MiB | — |
//! | depth of an `extends` chain | 16 files | — |
//! | months of a run | 1,200 | — |
//! | points of a sweep | 10,000 | `CHIPDIP_MAX_POINTS` |
//! | replications of a run (points × replications) | 2^28 ≈ 268M | `CHIPDIP_MAX_REPLICATIONS` |
//! | worker threads | 1,024 | — |
//! | intermediaries at the start of a replication (all hubs and populations) | 2,000,000 | `CHIPDIP_MAX_INTERMEDIARIES` |
//!
//! The per-point cost of a sweep is its validated parameter snapshots, built before anything
//! runs so that a bad point is an error at once: about 75 kB and 5–10 ms a point for the 2025
//! replay (2,000 points: 157 MB, 58 s on a loaded 2-core machine). That is what bounds
//! points; 10,000 points is about 750 MB and a minute or two of checking.

/// Largest scenario file read (a shipped scenario is about 10 kB).
pub const MAX_FILE_BYTES: u64 = 1 << 20;
/// Longest `extends` chain (the file itself included).
pub const MAX_EXTENDS_DEPTH: usize = 16;
/// Longest run, in months.
pub const MAX_MONTHS: u32 = 1200;
/// Most worker threads (`--threads`): more than this only costs stacks.
pub const MAX_THREADS: usize = 1024;

/// Default ceiling on a sweep's points; `CHIPDIP_MAX_POINTS` overrides it.
pub const DEFAULT_MAX_POINTS: u64 = 10_000;
/// Default ceiling on points × replications; `CHIPDIP_MAX_REPLICATIONS` overrides it.
pub const DEFAULT_MAX_REPLICATIONS: u64 = 1 << 28;

/// A ceiling that an environment variable may raise (or lower).
#[derive(Clone, Copy, Debug)]
pub struct Ceiling {
    /// The variable that overrides it.
    pub variable: &'static str,
    /// Its value when the variable is not set.
    pub default: u64,
}

/// The ceiling on the intermediaries a replication starts with: they are the one state that
/// grows with a scenario's numbers rather than its structure (tens of bytes each, on every
/// worker thread at once; 40 populations of 10M would need gigabytes a replication).
pub const INTERMEDIARIES: Ceiling = Ceiling {
    variable: "CHIPDIP_MAX_INTERMEDIARIES",
    default: 2_000_000,
};

/// The ceiling on a sweep's points.
pub const POINTS: Ceiling = Ceiling {
    variable: "CHIPDIP_MAX_POINTS",
    default: DEFAULT_MAX_POINTS,
};

/// The ceiling on a run's replications (points × replications per point).
pub const REPLICATIONS: Ceiling = Ceiling {
    variable: "CHIPDIP_MAX_REPLICATIONS",
    default: DEFAULT_MAX_REPLICATIONS,
};

impl Ceiling {
    /// The ceiling in force: the variable's value when it is set to a positive integer, else
    /// the default. An unreadable value is an error, not silently the default.
    pub fn value(&self) -> Result<u64, String> {
        match std::env::var(self.variable) {
            Err(_) => Ok(self.default),
            Ok(v) => v
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| {
                    format!(
                        "environment variable {}={v:?} must be a positive integer",
                        self.variable
                    )
                }),
        }
    }

    /// `Ok` when `wanted` is within the ceiling; else a message naming it, its variable and
    /// what was asked (`what`: "points", ...).
    pub fn check(&self, wanted: u64, what: &str) -> Result<(), String> {
        let max = self.value()?;
        if wanted > max {
            return Err(format!(
                "{wanted} {what} is more than the ceiling of {max} (set {} to raise it)",
                self.variable
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ceiling_refuses_what_is_above_it_and_names_its_variable() {
        let c = Ceiling {
            variable: "CHIPDIP_TEST_CEILING_NEVER_SET",
            default: 10,
        };
        assert!(c.check(10, "points").is_ok());
        let e = c.check(11, "points").unwrap_err();
        assert!(e.contains("11 points") && e.contains("CHIPDIP_TEST_CEILING_NEVER_SET"));
    }
}
