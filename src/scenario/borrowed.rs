//! Deserialising a scenario from a borrowed `toml` tree.
//!
//! `toml::Value` deserialises only by value, so every timeline snapshot of every sweep point
//! copied the whole resolved tree (and dropped it again) to read it: about half of what a
//! snapshot's deserialisation cost. [`from_table`] reads the same tree in place, with the
//! same visits in the same order as `toml`'s own deserializer (`toml::Value`'s
//! `Deserializer` impl, mirrored here method by method), so a tree that deserialises one way
//! deserialises the same way. What this mirror does not cover (a date-time, an enum variant
//! given as a table) is an error here, and [`super::deserialize`] then takes `toml`'s path,
//! which also gives every error its message: nothing is accepted or refused here that is not
//! there.

use serde::de::{self, Deserializer, IntoDeserializer, Visitor};
use toml::{Table, Value};

/// The error of this deserializer: only ever "take `toml`'s path" (its message is unused).
#[derive(Debug)]
pub(crate) struct Unsupported(String);

impl std::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unsupported {}

impl de::Error for Unsupported {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        Unsupported(msg.to_string())
    }
}

/// `T` from `table` read in place, as `T::deserialize(Value::Table(table.clone()))` would
/// give it, or an error where that might differ or fail.
pub(crate) fn from_table<'a, T: de::Deserialize<'a>>(table: &'a Table) -> Result<T, Unsupported> {
    T::deserialize(Ref::Table(table))
}

/// A part of the tree read in place: the top table, or a value in it.
#[derive(Clone, Copy)]
enum Ref<'a> {
    Table(&'a Table),
    Value(&'a Value),
}

impl<'de> Deserializer<'de> for Ref<'de> {
    type Error = Unsupported;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unsupported> {
        let value = match self {
            Ref::Table(t) => return visit_table(t, visitor),
            Ref::Value(v) => v,
        };
        match value {
            Value::Boolean(v) => visitor.visit_bool(*v),
            Value::Integer(n) => visitor.visit_i64(*n),
            Value::Float(n) => visitor.visit_f64(*n),
            Value::String(v) => visitor.visit_borrowed_str(v),
            Value::Datetime(_) => Err(unsupported("a date-time")),
            Value::Array(v) => {
                let mut seq = de::value::SeqDeserializer::new(v.iter().map(Ref::Value));
                let out = visitor.visit_seq(&mut seq)?;
                seq.end()?;
                Ok(out)
            }
            Value::Table(t) => visit_table(t, visitor),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Unsupported> {
        match self {
            Ref::Value(Value::String(variant)) => {
                visitor.visit_enum(variant.as_str().into_deserializer())
            }
            _ => Err(unsupported("an enum variant that is not a string")),
        }
    }

    // `None` is a missing field, so a present one is `Some` (as in `toml`).
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unsupported> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Unsupported> {
        visitor.visit_newtype_struct(self)
    }

    // `toml` reads a date-time struct from a date-time; here a date-time is unsupported
    // whatever it is read as, and anything else is read as `toml` reads it: `struct` is
    // forwarded to `deserialize_any` with the rest.
    serde::forward_to_deserialize_any! {
        bool u8 u16 u32 u64 i8 i16 i32 i64 f32 f64 char str string unit seq
        bytes byte_buf map unit_struct tuple_struct struct
        tuple ignored_any identifier
    }
}

impl<'de> IntoDeserializer<'de, Unsupported> for Ref<'de> {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

/// A table's entries in order, each key as a string; every entry must be taken (as in
/// `toml`, where a map visitor that stops early is an error).
fn visit_table<'de, V: Visitor<'de>>(
    table: &'de Table,
    visitor: V,
) -> Result<V::Value, Unsupported> {
    let entries = table.iter().map(|(k, v)| (k.as_str(), Ref::Value(v)));
    let mut map = de::value::MapDeserializer::new(entries);
    let out = visitor.visit_map(&mut map)?;
    map.end()?;
    Ok(out)
}

fn unsupported(what: &str) -> Unsupported {
    Unsupported(format!("{what}: read by `toml` instead"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    fn both<T: for<'a> Deserialize<'a> + PartialEq + std::fmt::Debug>(text: &str) -> Option<T> {
        let table: Table = text.parse().unwrap();
        let owned = T::deserialize(Value::Table(table.clone())).ok();
        let borrowed = from_table::<T>(&table).ok();
        if let Some(b) = &borrowed {
            assert_eq!(Some(b), owned.as_ref(), "{text}");
        }
        borrowed
    }

    #[derive(Deserialize, Debug, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Frame {
        name: String,
        count: u32,
        share: f64,
        on: Option<bool>,
        kind: Kind,
        list: Vec<i64>,
        inner: std::collections::BTreeMap<String, Inner>,
        #[serde(default)]
        any: Option<Value>,
    }

    #[derive(Deserialize, Debug, PartialEq)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        Grid,
        Random,
    }

    #[derive(Deserialize, Debug, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        x: f64,
    }

    #[test]
    fn reads_what_toml_reads_and_refuses_what_it_refuses() {
        let good = "name = \"a\"\ncount = 3\nshare = 2\non = true\nkind = \"grid\"\n\
                    list = [1, 2]\ninner = { b = { x = 1.5 }, a = { x = -2 } }\n\
                    any = { t = [1, \"x\", { y = 2.5 }] }\n";
        let frame: Frame = both(good).expect("reads");
        assert_eq!(frame.share, 2.0);
        assert_eq!(frame.inner.len(), 2);
        // Each of these fails `toml`'s way too (`both` checks that nothing is accepted here
        // that `toml` refuses): an unknown key, a wrong type, a missing key, a bad variant,
        // a negative count.
        for bad in [
            good.replace("count = 3", "count = 3\nextra = 1"),
            good.replace("share = 2", "share = \"2\""),
            good.replace("count = 3\n", ""),
            good.replace("\"grid\"", "\"sobol\""),
            good.replace("count = 3", "count = -3"),
            good.replace("{ x = 1.5 }", "{ x = 1.5, z = 0 }"),
        ] {
            assert!(both::<Frame>(&bad).is_none(), "{bad}");
        }
        // A date-time is left to `toml`.
        let table: Table = "when = 2025-05-19".parse().unwrap();
        assert!(from_table::<std::collections::BTreeMap<String, Value>>(&table).is_err());
    }

    /// Every shipped scenario, and each with its dated changes applied one after another (as
    /// timeline snapshots are built), reads here exactly as `toml` reads it.
    #[test]
    fn every_shipped_scenario_and_its_snapshots_read_as_toml_reads_them() {
        use crate::scenario::{Scenario, file::ScenarioFile, source};
        let check = |tree: &Table| {
            let owned = ScenarioFile::deserialize(Value::Table(tree.clone())).unwrap();
            let borrowed: ScenarioFile = from_table(tree).unwrap();
            assert_eq!(Value::try_from(&borrowed), Value::try_from(&owned));
        };
        let mut read = 0;
        for entry in std::fs::read_dir("scenarios").unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "toml") {
                continue;
            }
            let mut tree = Scenario::load(&path, &[]).unwrap().resolved;
            check(&tree);
            let file: ScenarioFile = from_table(&tree).unwrap();
            for change in file.timeline.values() {
                for (key, value) in &change.set {
                    source::set_path(&mut tree, key, value.clone()).unwrap();
                }
                check(&tree);
            }
            read += 1;
        }
        assert!(read >= 5, "{read} scenarios");
    }
}
