//! Scenario source text: reading TOML files, following `extends`, remembering where every key
//! was written (file and line) and applying `--set PATH=VALUE` overrides.
//!
//! The result is one merged [`toml::Table`] plus a map from each dotted parameter path to its
//! [`Origin`], so that any later error about a path can name the file and line it came from.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use toml::de::{DeTable, DeValue};
use toml::{Table, Value};

use super::error::ScenarioError;
use super::paths;

/// Where a parameter's value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    File {
        path: String,
        line: usize,
    },
    /// A `--set` option on the command line.
    CommandLine,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File { path, line } => write!(f, "{path}:{line}"),
            Origin::CommandLine => write!(f, "--set"),
        }
    }
}

/// A merged scenario tree and where each of its paths was written.
#[derive(Clone, Debug, Default)]
pub struct Source {
    pub tree: Table,
    pub origins: BTreeMap<String, Origin>,
    /// The file that was loaded (the most derived one).
    pub file: String,
    /// Every file read, most derived first (for the manifest).
    pub files: Vec<String>,
}

impl Source {
    /// Reads `path` and every file it `extends`, child values overriding parent values.
    pub fn load(path: &Path) -> Result<Source, ScenarioError> {
        load_chain(path, &mut Vec::new())
    }

    /// Where `path` (or, failing that, its nearest written ancestor) came from.
    pub fn origin_of(&self, path: &str) -> String {
        let mut p = path;
        loop {
            if let Some(o) = self.origins.get(p) {
                return o.to_string();
            }
            match p.rfind('.') {
                Some(k) => p = &p[..k],
                None => return self.file.clone(),
            }
        }
    }

    /// An error about `path`, located at its origin.
    pub fn error_at(&self, path: &str, message: impl Into<String>) -> ScenarioError {
        ScenarioError::at(self.origin_of(path), Some(path.to_string()), message)
    }
}

fn load_chain(path: &Path, chain: &mut Vec<PathBuf>) -> Result<Source, ScenarioError> {
    let shown = path.display().to_string();
    let canonical = path.canonicalize().map_err(|e| {
        ScenarioError::at(
            shown.clone(),
            None,
            format!("cannot read scenario file: {e}"),
        )
    })?;
    if chain.contains(&canonical) {
        return Err(ScenarioError::at(
            shown,
            Some("extends".into()),
            "`extends` forms a cycle",
        ));
    }
    chain.push(canonical);
    let text = std::fs::read_to_string(path).map_err(|e| {
        ScenarioError::at(
            shown.clone(),
            None,
            format!("cannot read scenario file: {e}"),
        )
    })?;
    let mut tree: Table = toml::from_str(&text).map_err(|e| {
        let line = e.span().map(|s| line_of(&text, s.start)).unwrap_or(1);
        ScenarioError::at(
            format!("{shown}:{line}"),
            None,
            format!("invalid TOML: {}", e.message()),
        )
    })?;
    let mut origins = BTreeMap::new();
    if let Ok(spanned) = DeTable::parse(&text) {
        record_origins(&text, &shown, "", spanned.get_ref(), &mut origins);
    }
    let mut source = match tree.remove("extends") {
        None => Source::default(),
        Some(Value::String(parent)) => {
            let parent_path = path.parent().unwrap_or(Path::new(".")).join(&parent);
            load_chain(&parent_path, chain).map_err(|e| {
                if e.message.starts_with("cannot read scenario file") {
                    let at = origins
                        .get("extends")
                        .map_or(shown.clone(), |o| o.to_string());
                    ScenarioError::at(
                        at,
                        Some("extends".into()),
                        format!("{} ({})", e.message, parent_path.display()),
                    )
                } else {
                    e
                }
            })?
        }
        Some(other) => {
            let at = origins
                .get("extends")
                .map_or(shown.clone(), |o| o.to_string());
            return Err(ScenarioError::at(
                at,
                Some("extends".into()),
                format!("must be a file name (a string), got {}", other.type_str()),
            ));
        }
    };
    origins.remove("extends");
    merge(&mut source.tree, tree);
    source.origins.extend(origins);
    source.file = shown.clone();
    source.files.insert(0, shown);
    Ok(source)
}

/// Deep merge: tables merge key by key, anything else in `child` replaces `base`.
pub fn merge(base: &mut Table, child: Table) {
    for (k, v) in child {
        match (base.get_mut(&k), v) {
            (Some(Value::Table(b)), Value::Table(c)) => merge(b, c),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())]
        .bytes()
        .filter(|&b| b == b'\n')
        .count()
        + 1
}

fn record_origins(
    text: &str,
    file: &str,
    prefix: &str,
    table: &DeTable<'_>,
    out: &mut BTreeMap<String, Origin>,
) {
    for (key, value) in table.iter() {
        let path = paths::join(prefix, key.get_ref());
        out.insert(
            path.clone(),
            Origin::File {
                path: file.to_string(),
                line: line_of(text, key.span().start),
            },
        );
        if let DeValue::Table(t) = value.get_ref() {
            record_origins(text, file, &path, t, out);
        }
    }
}

/// Applies one `PATH=VALUE` override. The path must exist (defaults included) unless it names
/// a key inside a table the model keys by id; VALUE is read as TOML, or as a bare string when it
/// is not valid TOML (`--set regulators.USA.guidance.huawei=global`).
pub fn apply_set(source: &mut Source, assignment: &str) -> Result<(), ScenarioError> {
    let cli = |path: Option<&str>, msg: String| {
        ScenarioError::at("--set".to_string(), path.map(str::to_string), msg)
    };
    let (path, raw) = assignment
        .split_once('=')
        .ok_or_else(|| cli(None, format!("expected PATH=VALUE, got {assignment:?}")))?;
    let path = path.trim();
    let value = parse_value(raw.trim());
    set_path(&mut source.tree, path, value).map_err(|msg| cli(Some(path), msg))?;
    source.origins.insert(path.to_string(), Origin::CommandLine);
    Ok(())
}

/// A TOML value from command-line text: numbers, booleans, quoted strings, inline tables;
/// anything else is taken as a bare string.
pub fn parse_value(raw: &str) -> Value {
    match toml::from_str::<Table>(&format!("v = {raw}")) {
        Ok(mut t) => t
            .remove("v")
            .unwrap_or_else(|| Value::String(raw.to_string())),
        Err(_) => Value::String(raw.to_string()),
    }
}

/// Sets an existing dotted path in `tree`. Errors name the nearest existing paths.
pub fn set_path(tree: &mut Table, path: &str, value: Value) -> Result<(), String> {
    let segments = paths::split(path)?;
    if paths::get(tree, path).is_none() {
        return Err(format!(
            "no parameter `{path}`; {}",
            paths::nearest_message(path, &paths::flatten(tree))
        ));
    }
    let (last, parents) = segments
        .split_last()
        .ok_or_else(|| "empty path".to_string())?;
    let mut table = &mut *tree;
    for seg in parents {
        table = table
            .get_mut(seg.as_str())
            .and_then(Value::as_table_mut)
            .expect("path checked above");
    }
    table.insert(last.clone(), value);
    Ok(())
}
