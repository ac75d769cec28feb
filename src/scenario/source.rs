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
use super::{limits, paths};

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
        load_chain(path, &mut Vec::new(), None)
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

/// Reads `path`, then the chain of files it `extends`. `referrer` is where the `extends` that
/// named `path` was written (`None` for the file on the command line): errors about reaching
/// the file point there.
fn load_chain(
    path: &Path,
    chain: &mut Vec<PathBuf>,
    referrer: Option<&str>,
) -> Result<Source, ScenarioError> {
    let shown = path.display().to_string();
    let unreadable = |why: String| {
        let (at, key) = match referrer {
            Some(at) => (at.to_string(), Some("extends".to_string())),
            None => (shown.clone(), None),
        };
        let name = if referrer.is_some() {
            format!(" ({shown})")
        } else {
            String::new()
        };
        ScenarioError::at(at, key, format!("cannot read scenario file{name}: {why}"))
    };
    let canonical = path.canonicalize().map_err(|e| unreadable(e.to_string()))?;
    if chain.contains(&canonical) {
        return Err(unreadable("`extends` forms a cycle".into()));
    }
    if chain.len() >= limits::MAX_EXTENDS_DEPTH {
        return Err(unreadable(format!(
            "an `extends` chain may hold at most {} files",
            limits::MAX_EXTENDS_DEPTH
        )));
    }
    let text = read_scenario_text(&canonical).map_err(unreadable)?;
    chain.push(canonical);
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
        let lines = Lines::of(&text);
        record_origins(&lines, &shown, "", spanned.get_ref(), &mut origins);
    }
    let extends_at = origins
        .get("extends")
        .map_or(shown.clone(), |o| o.to_string());
    let mut source = match tree.remove("extends") {
        None => Source::default(),
        Some(Value::String(parent)) => {
            let parent_path = path.parent().unwrap_or(Path::new(".")).join(&parent);
            load_chain(&parent_path, chain, Some(&extends_at))?
        }
        Some(other) => {
            return Err(ScenarioError::at(
                extends_at,
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

/// The text of a scenario file: a regular file of at most [`limits::MAX_FILE_BYTES`], in
/// UTF-8. Checked before reading, so that `/dev/zero` or a mistyped multi-gigabyte path is
/// refused at once instead of read into memory.
fn read_scenario_text(path: &Path) -> Result<String, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let meta = file.metadata().map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    if meta.len() > limits::MAX_FILE_BYTES {
        return Err(format!(
            "{} bytes is more than the {} a scenario file may have",
            meta.len(),
            limits::MAX_FILE_BYTES
        ));
    }
    // The length is read again through a bounded reader: the file may grow meanwhile.
    let mut bytes = Vec::new();
    file.take(limits::MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > limits::MAX_FILE_BYTES {
        return Err(format!(
            "more than the {} bytes a scenario file may have",
            limits::MAX_FILE_BYTES
        ));
    }
    String::from_utf8(bytes).map_err(|e| format!("not UTF-8 text: {e}"))
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

/// Where a file's lines start, to name the line of a byte offset without counting the
/// newlines before it each time (a scenario with hundreds of nations has thousands of keys).
struct Lines(Vec<usize>);

impl Lines {
    fn of(text: &str) -> Lines {
        Lines(
            text.bytes()
                .enumerate()
                .filter_map(|(k, b)| (b == b'\n').then_some(k))
                .collect(),
        )
    }

    /// The 1-based line of byte `offset`: one more than the newlines before it.
    fn line(&self, offset: usize) -> usize {
        self.0.partition_point(|&newline| newline < offset) + 1
    }
}

fn record_origins(
    lines: &Lines,
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
                line: lines.line(key.span().start),
            },
        );
        if let DeValue::Table(t) = value.get_ref() {
            record_origins(lines, file, &path, t, out);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_keys_line_is_the_one_counting_newlines_gives() {
        let text = "a = 1\n\n[b]\nc = 2 # x\n\nd = 3";
        let lines = Lines::of(text);
        for offset in 0..=text.len() + 1 {
            assert_eq!(lines.line(offset), line_of(text, offset), "offset {offset}");
        }
        assert_eq!(lines.line(text.find('d').unwrap()), 6);
    }
}
