//! Calendar months (`YYYY-MM`), the model's time unit.

use std::fmt;
use std::str::FromStr;

/// A calendar month. Ordered, printable as `YYYY-MM`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct YearMonth {
    pub year: i32,
    /// 1..=12
    pub month: u32,
}

impl YearMonth {
    /// The month `n` months after this one.
    pub fn plus(self, n: u32) -> YearMonth {
        let idx = self.year as i64 * 12 + (self.month as i64 - 1) + n as i64;
        YearMonth {
            year: idx.div_euclid(12) as i32,
            month: idx.rem_euclid(12) as u32 + 1,
        }
    }

    /// Months from `earlier` to `self` (negative if `self` is before `earlier`).
    pub fn months_since(self, earlier: YearMonth) -> i64 {
        (self.year as i64 - earlier.year as i64) * 12 + self.month as i64 - earlier.month as i64
    }
}

impl fmt::Display for YearMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl FromStr for YearMonth {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not a month in YYYY-MM form");
        let (y, m) = s.split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(bad());
        }
        let year: i32 = y.parse().map_err(|_| bad())?;
        let month: u32 = m.parse().map_err(|_| bad())?;
        if !(1..=12).contains(&month) {
            return Err(bad());
        }
        Ok(YearMonth { year, month })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_formats_and_adds() {
        let m: YearMonth = "2025-11".parse().unwrap();
        assert_eq!(m.plus(2).to_string(), "2026-01");
        assert_eq!(m.plus(0), m);
        assert_eq!("2027-12".parse::<YearMonth>().unwrap().months_since(m), 25);
        for bad in ["2025-13", "2025-1", "25-01", "2025/01", "x"] {
            assert!(bad.parse::<YearMonth>().is_err(), "{bad}");
        }
    }
}
