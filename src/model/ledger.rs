//! The chip ledger (docs/model.md, The ledger): every unit that exists is in exactly one place.
//!
//! Units enter by production (or exist at month 0: vendor inventory and installed stock) and
//! then move between places; nothing else creates or destroys them. The world checks the
//! balance for every product every month; a violation is a bug and fails the run.

use std::fmt;

/// Where units of one product are, in whole units.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Places {
    pub vendor_inventory: u64,
    pub in_transit: u64,
    pub installed: u64,
    /// Imported by hub intermediaries and not yet sold on or diverted.
    pub intermediary_held: u64,
    /// Diverted to a prohibited destination.
    pub diverted: u64,
    pub seized: u64,
}

impl Places {
    pub fn total(&self) -> u64 {
        self.vendor_inventory
            + self.in_transit
            + self.installed
            + self.intermediary_held
            + self.diverted
            + self.seized
    }
}

/// A failed balance: `initial + produced != places.total()`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Imbalance {
    pub product: String,
    pub initial: u64,
    pub produced: u64,
    pub places: Places,
}

impl fmt::Display for Imbalance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "product {}: initial {} + produced {} != {} in places {:?}",
            self.product,
            self.initial,
            self.produced,
            self.places.total(),
            self.places
        )
    }
}

/// Checks one product's balance.
pub fn check(product: &str, initial: u64, produced: u64, places: Places) -> Result<(), Imbalance> {
    if initial + produced == places.total() {
        Ok(())
    } else {
        Err(Imbalance {
            product: product.to_string(),
            initial,
            produced,
            places,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balance_holds_only_when_every_unit_is_placed() {
        let places = Places {
            vendor_inventory: 5,
            installed: 10,
            diverted: 2,
            ..Places::default()
        };
        assert!(check("h100", 7, 10, places).is_ok());
        let err = check("h100", 7, 11, places).unwrap_err();
        assert!(err.to_string().contains("produced 11"));
    }
}
