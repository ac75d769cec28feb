//! Dotted parameter paths (docs/model.md): one scheme for `--set`, timeline changes,
//! sweeps and `chipdip params`.
//!
//! A path names a scalar in the resolved scenario tree: `nations.MYS.dependence.USA`,
//! `regulators.USA.tiers.tier2.frontier.status`, `products.ascend_910c.h100e_per_unit.min`.
//! Segments that contain dots are double-quoted (`timeline.x.set."nations.MYS.alignment"`).

use toml::{Table, Value};

/// `prefix.key`, quoting `key` when it contains a dot.
pub fn join(prefix: &str, key: &str) -> String {
    let key = if key.contains('.') {
        format!("\"{key}\"")
    } else {
        key.to_string()
    };
    if prefix.is_empty() {
        key
    } else {
        format!("{prefix}.{key}")
    }
}

/// Splits a path into segments, honouring double-quoted segments.
pub fn split(path: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in path.chars() {
        match c {
            '"' => quoted = !quoted,
            '.' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    if quoted {
        return Err(format!("unclosed quote in path `{path}`"));
    }
    out.push(cur);
    if out.iter().any(|s| s.is_empty()) {
        return Err(format!("empty segment in path `{path}`"));
    }
    Ok(out)
}

/// Every scalar (and array) path in `tree` with its value, sorted by path.
pub fn flatten(tree: &Table) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    walk(tree, "", &mut out);
    out
}

fn walk(t: &Table, prefix: &str, out: &mut Vec<(String, Value)>) {
    for (k, v) in t {
        let p = join(prefix, k);
        match v {
            Value::Table(inner) => walk(inner, &p, out),
            v => out.push((p, v.clone())),
        }
    }
}

/// Value of `path` in `tree`, if it exists.
pub fn get<'t>(tree: &'t Table, path: &str) -> Option<&'t Value> {
    let segs = split(path).ok()?;
    let (last, parents) = segs.split_last()?;
    let mut t = tree;
    for s in parents {
        t = t.get(s.as_str())?.as_table()?;
    }
    t.get(last.as_str())
}

pub use crate::model::schema::{edit_distance, nearest};

/// "nearest valid: a, b, c" for an unknown path.
pub fn nearest_message(wanted: &str, flat: &[(String, Value)]) -> String {
    let near = nearest(wanted, flat.iter().map(|(p, _)| p.as_str()), 3);
    format!("nearest valid paths: {}", near.join(", "))
}

/// The meaning of `path`, if documented (see [`super::reference`]).
pub fn meaning(path: &str) -> Option<&'static str> {
    super::reference::meaning(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_and_join_quote_dotted_segments() {
        let p = join("timeline.x.set", "nations.MYS.alignment");
        assert_eq!(p, "timeline.x.set.\"nations.MYS.alignment\"");
        assert_eq!(
            split(&p).unwrap(),
            vec!["timeline", "x", "set", "nations.MYS.alignment"]
        );
        assert!(split("a..b").is_err());
        assert!(split("a.\"b").is_err());
    }

    #[test]
    fn nearest_finds_the_typo() {
        let c = [
            "nations.MYS.alignment",
            "nations.MYS.backlog_decay",
            "simulation.months",
        ];
        assert_eq!(
            nearest("nations.MYS.alignmnet", c, 1),
            vec!["nations.MYS.alignment"]
        );
    }
}
