//! How a parameter is declared: once, with its name, type, default, valid range, unit and
//! meaning, in a [`declare_params!`](crate::declare_params) block; the scenario file format, validation, the model's
//! typed parameters, `chipdip params` and `docs/parameters.md` all come from that declaration.
//!
//! # Why a `macro_rules!` declaration
//! A section such as `[market]` or `[products.X]` is written once as a block of fields. The
//! macro generates, from that one block:
//! - the **file struct** (`MarketFile`): what the TOML says, strictly deserialised (unknown keys
//!   and missing required keys give serde's usual messages, which the scenario loader locates
//!   and answers with the nearest valid key), serialised back with every default filled in;
//! - the **model struct** (`MarketParams`): what the simulation reads, with ids resolved to
//!   indices, months to month indices and ranges to [`Uncertain`] draws. Its field types follow
//!   from the file types through [`FileValue::Model`], so they are not written twice;
//! - `resolve`: range checks and id resolution, each error naming the parameter path;
//! - `fields()`: the [`FieldSpec`] table (name, type, default, range, unit, meaning) from which
//!   `chipdip params` and the documentation are generated.
//!
//! A derive macro would need a proc-macro crate (a second crate, `syn`, longer builds); a
//! hand-written table beside the structs would be a second declaration. `macro_rules!` keeps it
//! in one place at no cost: adding a numeric parameter to a mechanism is one line in its
//! section's block plus the code that uses it.
//!
//! Three kinds of lines in a block:
//! - `name: FileType = default, range, "unit";` a parameter, in both structs. `default` is
//!   `Some(value)` or `None` (required). `range` is a [`Range`]. A parameter the model reads
//!   only when a replication starts ends with `, AtStart` ([`Read`]); dated changes of it are
//!   refused.
//! - in `file_only { .. }`: keys of the file that validation combines by hand (a regulator's
//!   tiers and destinations become its rule table);
//! - in `derived { .. }`: model fields that validation fills from other sections (a product's
//!   home nation and regulator). A derived field named `id` holds the entity's key.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::calendar::YearMonth;
use crate::model::params::Uncertain;
use crate::rng::{FNV1A_START, fnv1a_more};

/// A value that failed validation, at a parameter path (the scenario loader adds file and line).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamError {
    pub path: String,
    pub message: String,
}

impl ParamError {
    pub fn at(path: impl fmt::Display, message: impl Into<String>) -> ParamError {
        ParamError {
            path: path.to_string(),
            message: message.into(),
        }
    }
}

/// Where a key is in the scenario (`nations.MYS.dependence.USA`), kept as validation descends
/// to it: a top-level section, or a parent's path and the key's name. The text is written out
/// only when an error names the key or a draw's key is hashed from it: formatting every
/// key's path as it was resolved was about a third of the instructions of `chipdip check` on
/// a sweep (with mimalloc; every point validates once per month with dated changes).
#[derive(Clone, Copy, Debug)]
pub enum KeyPath<'a> {
    /// A path given whole (`products`, `regulators.USA.tiers`).
    Root(&'a str),
    /// `parent.name`.
    Key(&'a KeyPath<'a>, &'a str),
}

impl<'a> KeyPath<'a> {
    /// The path of the key `name` under this one.
    pub fn key(&'a self, name: &'a str) -> KeyPath<'a> {
        KeyPath::Key(self, name)
    }

    /// Hands the path's text to `f` piece by piece, in order.
    fn pieces(&self, f: &mut impl FnMut(&str)) {
        match *self {
            KeyPath::Root(text) => f(text),
            KeyPath::Key(parent, name) => {
                parent.pieces(f);
                f(".");
                f(name);
            }
        }
    }

    /// [`fnv1a`](crate::rng::fnv1a) of the path's text, without writing it out.
    pub fn fnv1a(&self) -> u64 {
        let mut h = FNV1A_START;
        self.pieces(&mut |piece| h = fnv1a_more(h, piece));
        h
    }
}

impl fmt::Display for KeyPath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut written = Ok(());
        self.pieces(&mut |piece| {
            if written.is_ok() {
                written = f.write_str(piece);
            }
        });
        written
    }
}

/// The valid values of a numeric parameter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Range {
    /// Anything of the type (ids, flags, choices); a number must be finite.
    Any,
    /// `lo <= v <= hi`.
    Closed(f64, f64),
    /// `v >= lo`.
    AtLeast(f64),
    /// `v > lo`.
    Above(f64),
    /// `lo < v <= hi`.
    Within(f64, f64),
}

/// The largest magnitude of any numeric parameter: a quantity of 1e15 units a month summed
/// over 1,200 months and a few dozen agents still fits the ±2^62 the outputs hold exactly
/// ([`super::MAX_OUTPUT_MAGNITUDE`]), while no real quantity of this model comes near it.
pub const MAX_PARAMETER_MAGNITUDE: f64 = 1e15;

impl Range {
    /// `Ok(v)` when `v` is finite, in range and within [`MAX_PARAMETER_MAGNITUDE`], else the
    /// message users see.
    pub fn check(self, path: impl fmt::Display, v: f64) -> Result<f64, ParamError> {
        let ok = match self {
            Range::Any => v.is_finite(),
            Range::Closed(lo, hi) => v.is_finite() && v >= lo && v <= hi,
            Range::AtLeast(lo) => v.is_finite() && v >= lo,
            Range::Above(lo) => v.is_finite() && v > lo,
            Range::Within(lo, hi) => v.is_finite() && v > lo && v <= hi,
        };
        if ok && v.abs() <= MAX_PARAMETER_MAGNITUDE {
            return Ok(v);
        }
        if ok {
            return Err(ParamError::at(
                path,
                format!(
                    "{v} is beyond ±{MAX_PARAMETER_MAGNITUDE:e}, the largest magnitude a \
                     parameter may have (its sums over months and agents must stay exact)"
                ),
            ));
        }
        // Only a failing check formats its message.
        let message = match self {
            Range::Any => format!("must be a finite number, got {v}"),
            Range::Closed(lo, hi) => format!("must be in [{lo}, {hi}], got {v}"),
            Range::AtLeast(lo) => format!("must be a number >= {lo}, got {v}"),
            Range::Above(lo) => format!("must be a number > {lo}, got {v}"),
            Range::Within(lo, hi) => format!("must be in ({lo}, {hi}], got {v}"),
        };
        Err(ParamError::at(path, message))
    }

    /// As the documentation shows it.
    pub fn text(self) -> String {
        match self {
            Range::Any => String::new(),
            Range::Closed(lo, hi) => format!("[{lo}, {hi}]"),
            Range::AtLeast(lo) => format!(">= {lo}"),
            Range::Above(lo) => format!("> {lo}"),
            Range::Within(lo, hi) => format!("({lo}, {hi}]"),
        }
    }
}

/// What validation resolves against: the ids of each kind of entity and the first month.
#[derive(Clone, Debug, Default)]
pub struct Cx {
    pub nations: Vec<String>,
    pub firms: Vec<String>,
    pub products: Vec<String>,
    pub export_classes: Vec<String>,
    pub start: Option<YearMonth>,
}

/// The kinds of entity an id can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Nation,
    Firm,
    Product,
    ExportClass,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Nation => "nation",
            Kind::Firm => "firm",
            Kind::Product => "product",
            Kind::ExportClass => "export class",
        }
    }
}

impl Cx {
    pub fn ids(&self, kind: Kind) -> &[String] {
        match kind {
            Kind::Nation => &self.nations,
            Kind::Firm => &self.firms,
            Kind::Product => &self.products,
            Kind::ExportClass => &self.export_classes,
        }
    }

    /// Index of `id` among the ids of `kind`, or an error naming the nearest one.
    pub fn index(
        &self,
        path: impl fmt::Display,
        kind: Kind,
        id: &str,
    ) -> Result<usize, ParamError> {
        let ids: Vec<&str> = self.ids(kind).iter().map(String::as_str).collect();
        index_among(path, kind.name(), id, &ids)
    }
}

/// Index of `id` among `ids`, or an error naming the nearest: "unknown tier `tier9`; did you
/// mean `tier2`? (known: tier1, tier2, tier3)".
pub fn index_among(
    path: impl fmt::Display,
    what: &str,
    id: &str,
    ids: &[&str],
) -> Result<usize, ParamError> {
    ids.iter().position(|x| *x == id).ok_or_else(|| {
        let hint = nearest(id, ids.iter().copied(), 1)
            .first()
            .map(|b| format!("; did you mean `{b}`?"))
            .unwrap_or_default();
        ParamError::at(
            path,
            format!("unknown {what} `{id}`{hint} (known: {})", ids.join(", ")),
        )
    })
}

/// Levenshtein distance (small strings only).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The candidates closest to `wanted`, best first (at most `n`).
pub fn nearest<'a>(
    wanted: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    n: usize,
) -> Vec<&'a str> {
    let mut scored: Vec<(usize, &str)> = candidates
        .into_iter()
        .map(|c| (edit_distance(wanted, c), c))
        .collect();
    scored.sort();
    scored.into_iter().take(n).map(|(_, c)| c).collect()
}

/// The shape of a key's value, for the parameter table: a value, a table of named fields, or
/// a table keyed by ids (`*` in a path pattern).
#[derive(Clone, Copy)]
pub enum Shape {
    Value(&'static str),
    Table(fn() -> Vec<FieldSpec>),
    Map(&'static str, fn() -> Shape),
}

/// One declared key: what `chipdip params` and `docs/parameters.md` show.
#[derive(Clone)]
pub struct FieldSpec {
    pub name: &'static str,
    /// The declaration's doc comment, lines joined.
    pub meaning: String,
    /// The default as written in a scenario, or `None` when the key is required.
    pub default: Option<String>,
    pub range: Range,
    pub unit: &'static str,
    pub shape: Shape,
    /// When the model reads it: a dated change can only alter a parameter read every month.
    pub read: Read,
}

/// When the model reads a parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Read {
    /// Every month, from the parameters in force: a dated change takes effect that month.
    Monthly,
    /// Once, when a replication starts (initial stocks, the intermediary populations, what
    /// shapes the output): a dated change after the first month would be ignored, so it is
    /// refused.
    AtStart,
}

/// Every (path pattern, spec) under `prefix` for the fields of one table, depth first; `*`
/// stands for any id.
pub fn flatten_specs(prefix: &str, fields: &[FieldSpec], out: &mut Vec<(String, FieldSpec)>) {
    for f in fields {
        let path = if prefix.is_empty() {
            f.name.to_string()
        } else {
            format!("{prefix}.{}", f.name)
        };
        flatten_shape(&path, f, f.shape, out);
    }
}

fn flatten_shape(path: &str, f: &FieldSpec, shape: Shape, out: &mut Vec<(String, FieldSpec)>) {
    match shape {
        Shape::Value(_) => out.push((path.to_string(), f.clone())),
        Shape::Table(fields) => flatten_specs(path, &fields(), out),
        Shape::Map(_, inner) => flatten_shape(&format!("{path}.*"), f, inner(), out),
    }
}

/// A type a scenario key can hold: how it is checked and resolved into the model's type, shown
/// as a default, and whether it is left out when written back (an absent optional section).
pub trait FileValue: Clone + fmt::Debug + Serialize + DeserializeOwned {
    /// What the model reads.
    type Model: Clone + fmt::Debug + PartialEq;
    /// Checks against `range` and resolves ids; `path` names the key in errors.
    fn resolve(&self, path: &KeyPath, range: Range, cx: &Cx) -> Result<Self::Model, ParamError>;
    /// The value as a scenario file would write it (for defaults in the documentation).
    fn text(&self) -> String;
    /// Its shape in the parameter table.
    fn shape() -> Shape;
    /// Left out of the resolved tree (an optional section not given).
    fn is_absent(&self) -> bool {
        false
    }
    /// Sets the `id` of a model value read from a table keyed by id (declared sections with a
    /// derived `id`); nothing for other values.
    fn set_key(_model: &mut Self::Model, _key: &str) {}
}

macro_rules! number_value {
    ($($t:ty => $name:literal),*) => {$(
        impl FileValue for $t {
            type Model = $t;
            fn resolve(&self, path: &KeyPath, range: Range, _: &Cx) -> Result<$t, ParamError> {
                range.check(path, *self as f64)?;
                Ok(*self)
            }
            fn text(&self) -> String {
                self.to_string()
            }
            fn shape() -> Shape {
                Shape::Value($name)
            }
        }
    )*};
}
number_value!(f64 => "number", u32 => "integer", u64 => "integer", usize => "integer");

impl FileValue for bool {
    type Model = bool;
    fn resolve(&self, _: &KeyPath, _: Range, _: &Cx) -> Result<bool, ParamError> {
        Ok(*self)
    }
    fn text(&self) -> String {
        self.to_string()
    }
    fn shape() -> Shape {
        Shape::Value("true | false")
    }
}

impl FileValue for String {
    type Model = String;
    fn resolve(&self, _: &KeyPath, _: Range, _: &Cx) -> Result<String, ParamError> {
        Ok(self.clone())
    }
    fn text(&self) -> String {
        format!("{self:?}")
    }
    fn shape() -> Shape {
        Shape::Value("text")
    }
}

/// An enum written as a snake_case word (`status = "licence"`): resolved as it is.
pub trait Choice: Copy + fmt::Debug + PartialEq + Serialize + DeserializeOwned {
    /// Every word it accepts, for the documentation.
    const WORDS: &'static str;
}

/// Implements [`FileValue`] for [`Choice`] enums.
#[macro_export]
macro_rules! choice_value {
    ($($t:ty),*) => {$(
        impl $crate::model::schema::FileValue for $t {
            type Model = $t;
            fn resolve(
                &self,
                _: &$crate::model::schema::KeyPath,
                _: $crate::model::schema::Range,
                _: &$crate::model::schema::Cx,
            ) -> Result<$t, $crate::model::schema::ParamError> {
                Ok(*self)
            }
            fn text(&self) -> String {
                serde_json::to_value(self)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default()
            }
            fn shape() -> $crate::model::schema::Shape {
                $crate::model::schema::Shape::Value(<$t as $crate::model::schema::Choice>::WORDS)
            }
        }
    )*};
}

/// An optional key or section: absent means `None`; a given value is checked against the range.
impl<T: FileValue> FileValue for Option<T> {
    type Model = Option<T::Model>;
    fn resolve(&self, path: &KeyPath, range: Range, cx: &Cx) -> Result<Self::Model, ParamError> {
        self.as_ref()
            .map(|v| v.resolve(path, range, cx))
            .transpose()
    }
    fn text(&self) -> String {
        self.as_ref().map_or_else(|| "none".to_string(), T::text)
    }
    fn shape() -> Shape {
        T::shape()
    }
    fn is_absent(&self) -> bool {
        self.is_none()
    }
}

/// A number, or a range drawn once per replication: `{ min, max }` (uniform) or
/// `{ min, mode, max }` (triangular). The draw's key is the hash of the parameter path, so
/// every timeline snapshot of a replication sees the same draw.
#[derive(Clone, Copy, Debug, Serialize, PartialEq)]
#[serde(untagged)]
pub enum UncertainFile {
    Fixed(f64),
    Range {
        min: f64,
        #[serde(skip_serializing_if = "Option::is_none")]
        mode: Option<f64>,
        max: f64,
    },
}

impl<'de> Deserialize<'de> for UncertainFile {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        use toml::Value;
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct RangeFile {
            min: f64,
            mode: Option<f64>,
            max: f64,
        }
        match Value::deserialize(d)? {
            Value::Integer(i) => Ok(UncertainFile::Fixed(i as f64)),
            Value::Float(f) => Ok(UncertainFile::Fixed(f)),
            Value::Table(t) => {
                let r: RangeFile = Value::Table(t)
                    .try_into()
                    .map_err(|e: toml::de::Error| D::Error::custom(e.message()))?;
                Ok(UncertainFile::Range {
                    min: r.min,
                    mode: r.mode,
                    max: r.max,
                })
            }
            other => Err(D::Error::custom(format!(
                "expected a number, {{ min, max }} or {{ min, mode, max }}, got {}",
                other.type_str()
            ))),
        }
    }
}

impl From<f64> for UncertainFile {
    fn from(v: f64) -> Self {
        UncertainFile::Fixed(v)
    }
}

impl FileValue for UncertainFile {
    type Model = Uncertain;
    /// Every possible draw must lie in `range`.
    fn resolve(&self, path: &KeyPath, range: Range, _: &Cx) -> Result<Uncertain, ParamError> {
        let key = path.fnv1a();
        match *self {
            UncertainFile::Fixed(v) => Ok(Uncertain::Fixed(range.check(path, v)?)),
            UncertainFile::Range { min, mode, max } => {
                range.check(path.key("min"), min)?;
                range.check(path.key("max"), max)?;
                Range::AtLeast(min).check(path.key("max"), max)?;
                match mode {
                    None => Ok(Uncertain::Uniform { min, max, key }),
                    Some(mode) => {
                        Range::Closed(min, max).check(path.key("mode"), mode)?;
                        Ok(Uncertain::Triangular {
                            min,
                            mode,
                            max,
                            key,
                        })
                    }
                }
            }
        }
    }
    fn text(&self) -> String {
        match *self {
            UncertainFile::Fixed(v) => v.to_string(),
            UncertainFile::Range { min, mode, max } => match mode {
                Some(m) => format!("{{ min = {min}, mode = {m}, max = {max} }}"),
                None => format!("{{ min = {min}, max = {max} }}"),
            },
        }
    }
    fn shape() -> Shape {
        Shape::Value("number or { min, [mode,] max }")
    }
}

/// A kind of entity an id refers to, at the type level.
pub trait EntityKind: Clone + fmt::Debug {
    const KIND: Kind;
}

macro_rules! entity_kinds {
    ($($t:ident => $k:ident),*) => {$(
        #[doc = concat!("Marks ids of `", stringify!($k), "` entities.")]
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub struct $t;
        impl EntityKind for $t {
            const KIND: Kind = Kind::$k;
        }
    )*};
}
entity_kinds!(OfNation => Nation, OfFirm => Firm, OfProduct => Product, OfClass => ExportClass);

/// The id of an entity of kind `K` (`vendor = "nvidia"`), resolved to its index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Id<K>(pub String, PhantomData<K>);

impl<K> Id<K> {
    pub fn new(id: impl Into<String>) -> Id<K> {
        Id(id.into(), PhantomData)
    }
}

impl<K> Serialize for Id<K> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de, K> Deserialize<'de> for Id<K> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Id::new)
    }
}

impl<K: EntityKind> FileValue for Id<K> {
    type Model = usize;
    fn resolve(&self, path: &KeyPath, _: Range, cx: &Cx) -> Result<usize, ParamError> {
        cx.index(path, K::KIND, &self.0)
    }
    fn text(&self) -> String {
        format!("{:?}", self.0)
    }
    fn shape() -> Shape {
        Shape::Value(match K::KIND {
            Kind::Nation => "nation id",
            Kind::Firm => "firm id",
            Kind::Product => "product id",
            Kind::ExportClass => "export class",
        })
    }
}

pub type NationId = Id<OfNation>;
pub type FirmId = Id<OfFirm>;
pub type ProductId = Id<OfProduct>;
pub type ClassName = Id<OfClass>;

/// A month written `YYYY-MM`, resolved to its index from the start (never before it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Month(pub String);

impl FileValue for Month {
    type Model = u32;
    fn resolve(&self, path: &KeyPath, _: Range, cx: &Cx) -> Result<u32, ParamError> {
        let m: YearMonth = self
            .0
            .parse()
            .map_err(|e: String| ParamError::at(path, e))?;
        let start = cx
            .start
            .expect("the start month is known before months are resolved");
        let index = m.months_since(start);
        if index < 0 {
            return Err(ParamError::at(
                path,
                format!("{} is before the start {start}", self.0),
            ));
        }
        Ok(index.min(u32::MAX as i64) as u32)
    }
    fn text(&self) -> String {
        format!("{:?}", self.0)
    }
    fn shape() -> Shape {
        Shape::Value("YYYY-MM")
    }
}

/// A value per entity of kind `K` (`dependence = { USA = 0.6 }`), resolved to a vector indexed
/// by entity; entities not listed get the model type's default (0, `none`).
#[derive(Clone, Debug, PartialEq)]
pub struct PerEntity<K, T>(pub BTreeMap<String, T>, PhantomData<K>);

impl<K, T> Default for PerEntity<K, T> {
    fn default() -> Self {
        PerEntity(BTreeMap::new(), PhantomData)
    }
}

impl<K, T: Serialize> Serialize for PerEntity<K, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de, K, T: Deserialize<'de>> Deserialize<'de> for PerEntity<K, T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        BTreeMap::deserialize(d).map(|m| PerEntity(m, PhantomData))
    }
}

/// A model's table of values per entity (`dependence`, `sold_to`, a regulator's import
/// stances), shared between the copies of the parameters: every replication copies each
/// timeline snapshot's parameters to draw its uncertain values, and with hundreds of nations
/// these tables (N values for each of N nations) were most of that copy. Cloning a `Shared`
/// copies a pointer; writing through it (fixtures, tests) copies the table first if another
/// copy holds it. Its values hold nothing to draw ([`Certain`]).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Shared<T>(Arc<Vec<T>>);

impl<T> std::ops::Deref for Shared<T> {
    type Target = Vec<T>;
    #[inline]
    fn deref(&self) -> &Vec<T> {
        &self.0
    }
}

impl<T: Clone> std::ops::DerefMut for Shared<T> {
    fn deref_mut(&mut self) -> &mut Vec<T> {
        Arc::make_mut(&mut self.0)
    }
}

impl<'a, T> IntoIterator for &'a Shared<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl<T> From<Vec<T>> for Shared<T> {
    fn from(v: Vec<T>) -> Shared<T> {
        Shared(Arc::new(v))
    }
}

/// A value with nothing to draw per replication, so a [`Shared`] table of it is never copied
/// to be realised.
pub trait Certain {}

impl<T: Certain> Realise for Shared<T> {
    #[inline]
    fn realise(&mut self, _: u64) {}
    #[inline]
    fn realise_from(&mut self, _: &Self, _: u64) {}
}

impl<K: EntityKind, T: FileValue> FileValue for PerEntity<K, T>
where
    T::Model: Default,
{
    type Model = Shared<T::Model>;
    fn resolve(&self, path: &KeyPath, range: Range, cx: &Cx) -> Result<Self::Model, ParamError> {
        let mut out = vec![T::Model::default(); cx.ids(K::KIND).len()];
        for (id, v) in &self.0 {
            let at = path.key(id);
            let k = cx.index(at, K::KIND, id)?;
            out[k] = v.resolve(&at, range, cx)?;
        }
        Ok(out.into())
    }
    fn text(&self) -> String {
        if self.0.is_empty() {
            "{}".to_string()
        } else {
            let items: Vec<String> = self
                .0
                .iter()
                .map(|(k, v)| format!("{k} = {}", v.text()))
                .collect();
            format!("{{ {} }}", items.join(", "))
        }
    }
    fn shape() -> Shape {
        Shape::Map(
            match K::KIND {
                Kind::Nation => "per nation",
                Kind::Firm => "per firm",
                Kind::Product => "per product",
                Kind::ExportClass => "per export class",
            },
            T::shape,
        )
    }
}

pub type PerNation<T> = PerEntity<OfNation, T>;
pub type PerFirm<T> = PerEntity<OfFirm, T>;
pub type PerProduct<T> = PerEntity<OfProduct, T>;

/// Values keyed by a name (`[nations.MYS.projects.ascend_dc]`, `[regulators.USA.tiers.tier2]`),
/// resolved in name order.
impl<T: FileValue> FileValue for BTreeMap<String, T> {
    type Model = Vec<T::Model>;
    fn resolve(&self, path: &KeyPath, range: Range, cx: &Cx) -> Result<Self::Model, ParamError> {
        self.iter()
            .map(|(id, v)| {
                let mut m = v.resolve(&path.key(id), range, cx)?;
                T::set_key(&mut m, id);
                Ok(m)
            })
            .collect()
    }
    fn text(&self) -> String {
        "{}".to_string()
    }
    fn shape() -> Shape {
        Shape::Map("by id", T::shape)
    }
}

/// Draws a replication's values of every [`Uncertain`] parameter in a model value.
pub trait Realise {
    fn realise(&mut self, rep_seed: u64);

    /// Makes `self` what `src.clone()` then [`Realise::realise`] would, when `self` is already
    /// a realised copy of `src` (for any seed): only the uncertain values are drawn again;
    /// everything else is left as it is, since it already equals `src`'s. A replication
    /// thus reuses the last one's copy of the parameters (see `model::Replicator`) instead of
    /// cloning them: with hundreds of nations the clone and its drop were a tenth of a
    /// replication. Tables whose lengths differ from `src`'s are copied whole.
    fn realise_from(&mut self, src: &Self, rep_seed: u64);
}

impl Realise for Uncertain {
    fn realise(&mut self, rep_seed: u64) {
        *self = self.draw(rep_seed);
    }
    #[inline]
    fn realise_from(&mut self, src: &Self, rep_seed: u64) {
        *self = src.draw(rep_seed);
    }
}

impl<T: Realise + Clone> Realise for Option<T> {
    fn realise(&mut self, rep_seed: u64) {
        if let Some(v) = self {
            v.realise(rep_seed);
        }
    }
    fn realise_from(&mut self, src: &Self, rep_seed: u64) {
        match (self.as_mut(), src) {
            (Some(v), Some(s)) => v.realise_from(s, rep_seed),
            (None, None) => {}
            _ => {
                *self = src.clone();
                self.realise(rep_seed);
            }
        }
    }
}

impl<T: Realise + Clone> Realise for Vec<T> {
    fn realise(&mut self, rep_seed: u64) {
        self.iter_mut().for_each(|v| v.realise(rep_seed));
    }
    fn realise_from(&mut self, src: &Self, rep_seed: u64) {
        if self.len() == src.len() {
            for (v, s) in self.iter_mut().zip(src) {
                v.realise_from(s, rep_seed);
            }
        } else {
            *self = src.clone();
            self.realise(rep_seed);
        }
    }
}

/// Implements [`Realise`] as a no-op for types that hold no uncertain value.
#[macro_export]
macro_rules! nothing_to_draw {
    ($($t:ty),*) => {$(
        impl $crate::model::schema::Realise for $t {
            #[inline]
            fn realise(&mut self, _: u64) {}
            #[inline]
            fn realise_from(&mut self, _: &Self, _: u64) {}
        }
        impl $crate::model::schema::Certain for $t {}
    )*};
}
nothing_to_draw!(f64, u32, u64, usize, bool, String);

/// Declares sections; see the module documentation.
#[macro_export]
macro_rules! declare_params {
    ($(
        $(#[doc = $sdoc:literal])*
        $(#[derive($($der:ident),*)])?
        pub struct $model:ident from $file:ident {
            $(
                $(#[doc = $doc:literal])*
                $name:ident : $fty:ty = $default:expr, $range:expr, $unit:literal $(, $read:ident)?;
            )*
        }
        $(file_only {
            $(
                $(#[doc = $odoc:literal])*
                $oname:ident : $oty:ty = $odefault:expr;
            )*
        })?
        $(derived {
            $(
                $(#[doc = $ddoc:literal])*
                $dname:ident : $dty:ty;
            )*
        })?
    )*) => {$(
        $(#[doc = $sdoc])*
        #[doc = ""]
        #[doc = concat!("The model's side of `", stringify!($file), "` (declared once, with `declare_params!`).")]
        #[derive(Clone, Debug, PartialEq $($(, $der)*)?)]
        pub struct $model {
            $( $(#[doc = $doc])* pub $name: <$fty as $crate::model::schema::FileValue>::Model, )*
            $($( $(#[doc = $ddoc])* pub $dname: $dty, )*)?
        }

        $(#[doc = $sdoc])*
        #[doc = ""]
        #[doc = "As the scenario file writes it."]
        #[derive(Clone, Debug, PartialEq)]
        pub struct $file {
            $( $(#[doc = $doc])* pub $name: $fty, )*
            $($( $(#[doc = $odoc])* pub $oname: $oty, )*)?
        }

        impl $file {
            /// Every key, in declaration order.
            pub const KEYS: &'static [&'static str] =
                &[$(stringify!($name),)* $($(stringify!($oname),)*)?];

            /// The declared keys: name, meaning, default, range, unit and shape.
            pub fn fields() -> Vec<$crate::model::schema::FieldSpec> {
                use $crate::model::schema::FileValue as _;
                vec![
                    $($crate::model::schema::FieldSpec {
                        name: stringify!($name),
                        meaning: [$($doc),*].iter().map(|l: &&str| l.trim()).collect::<Vec<_>>().join(" "),
                        default: {
                            let d: Option<$fty> = $default;
                            d.map(|v| v.text())
                        },
                        range: $range,
                        unit: $unit,
                        shape: <$fty>::shape(),
                        read: {
                            #[allow(unused_variables)]
                            let read = $crate::model::schema::Read::Monthly;
                            $( let read = $crate::model::schema::Read::$read; )?
                            read
                        },
                    },)*
                    $($($crate::model::schema::FieldSpec {
                        name: stringify!($oname),
                        meaning: [$($odoc),*].iter().map(|l: &&str| l.trim()).collect::<Vec<_>>().join(" "),
                        default: {
                            let d: Option<$oty> = $odefault;
                            d.map(|v| v.text())
                        },
                        range: $crate::model::schema::Range::Any,
                        unit: "",
                        shape: <$oty>::shape(),
                        read: $crate::model::schema::Read::Monthly,
                    },)*)?
                ]
            }
        }

        impl $crate::model::schema::FileValue for $file {
            type Model = $model;
            fn resolve(
                &self,
                path: &$crate::model::schema::KeyPath,
                _: $crate::model::schema::Range,
                cx: &$crate::model::schema::Cx,
            ) -> Result<$model, $crate::model::schema::ParamError> {
                Ok($model {
                    $( $name: self.$name.resolve(&path.key(stringify!($name)), $range, cx)?, )*
                    $($( $dname: Default::default(), )*)?
                })
            }
            fn text(&self) -> String {
                "{}".to_string()
            }
            fn shape() -> $crate::model::schema::Shape {
                $crate::model::schema::Shape::Table(Self::fields)
            }
            #[allow(unused_variables)]
            fn set_key(model: &mut $model, key: &str) {
                $($( $crate::__set_key!(model, $dname, key); )*)?
            }
        }


        impl $crate::model::schema::Realise for $model {
            fn realise(&mut self, rep_seed: u64) {
                $( $crate::model::schema::Realise::realise(&mut self.$name, rep_seed); )*
            }
            #[allow(unused_variables)]
            fn realise_from(&mut self, src: &Self, rep_seed: u64) {
                // Derived fields (ids, indices, rule tables) hold nothing to draw.
                $( $crate::model::schema::Realise::realise_from(&mut self.$name, &src.$name, rep_seed); )*
            }
        }

        impl serde::Serialize for $file {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeStruct;
                use $crate::model::schema::FileValue as _;
                let mut st = s.serialize_struct(stringify!($file), Self::KEYS.len())?;
                $( if self.$name.is_absent() {
                    st.skip_field(stringify!($name))?;
                } else {
                    st.serialize_field(stringify!($name), &self.$name)?;
                } )*
                $($( if self.$oname.is_absent() {
                    st.skip_field(stringify!($oname))?;
                } else {
                    st.serialize_field(stringify!($oname), &self.$oname)?;
                } )*)?
                st.end()
            }
        }

        impl<'de> serde::Deserialize<'de> for $file {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> serde::de::Visitor<'de> for V {
                    type Value = $file;
                    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                        write!(f, "a table of {}", stringify!($file))
                    }
                    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<$file, A::Error> {
                        use serde::de::Error;
                        $( let mut $name: Option<$fty> = None; )*
                        $($( let mut $oname: Option<$oty> = None; )*)?
                        while let Some(key) = map.next_key::<String>()? {
                            match key.as_str() {
                                $( stringify!($name) => {
                                    if $name.is_some() {
                                        return Err(A::Error::duplicate_field(stringify!($name)));
                                    }
                                    $name = Some(map.next_value()?);
                                } )*
                                $($( stringify!($oname) => {
                                    if $oname.is_some() {
                                        return Err(A::Error::duplicate_field(stringify!($oname)));
                                    }
                                    $oname = Some(map.next_value()?);
                                } )*)?
                                other => return Err(A::Error::unknown_field(other, $file::KEYS)),
                            }
                        }
                        Ok($file {
                            $( $name: match $name {
                                Some(v) => v,
                                None => {
                                    let d: Option<$fty> = $default;
                                    d.ok_or_else(|| A::Error::missing_field(stringify!($name)))?
                                }
                            }, )*
                            $($( $oname: match $oname {
                                Some(v) => v,
                                None => {
                                    let d: Option<$oty> = $odefault;
                                    d.ok_or_else(|| A::Error::missing_field(stringify!($oname)))?
                                }
                            }, )*)?
                        })
                    }
                }
                d.deserialize_struct(stringify!($file), $file::KEYS, V)
            }
        }
    )*};
}

/// Sets a model's `id` from its key; other derived fields are left to validation.
#[doc(hidden)]
#[macro_export]
macro_rules! __set_key {
    ($m:ident, id, $key:ident) => {
        $m.id = $key.to_string();
    };
    ($m:ident, $other:ident, $key:ident) => {};
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::fnv1a;

    #[test]
    fn a_key_path_writes_and_hashes_as_its_text() {
        let root = KeyPath::Root("regulators.USA");
        let tier = root.key("tiers");
        let path = tier.key("tier2");
        assert_eq!(path.to_string(), "regulators.USA.tiers.tier2");
        assert_eq!(path.fnv1a(), fnv1a("regulators.USA.tiers.tier2"));
        assert_eq!(root.fnv1a(), fnv1a("regulators.USA"));
        assert_ne!(path.fnv1a(), fnv1a("regulators.USA.tiers"));
        // An error made at a key names its whole path.
        let err = Range::Closed(0.0, 1.0).check(path.key("max"), 2.0);
        assert_eq!(err.unwrap_err().path, "regulators.USA.tiers.tier2.max");
    }
}
