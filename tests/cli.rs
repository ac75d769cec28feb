//! The command line and its files: the five tidy files of a run and what is in
//! them, quantiles that agree with the replications, `params`, `check` and `--help`, and run
//! folders that are never overwritten.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use crate::util::*;

const FILES: [&str; 5] = [
    "summary.csv",
    "quantiles.csv",
    "timeseries.csv",
    "events.csv",
    "manifest.json",
];

/// `chipdip run scenarios/baseline.toml --reps 60 --timeseries` into `dir/name`.
fn baseline_run(dir: &Path, name: &str) -> std::path::PathBuf {
    let out = dir.join(name);
    ok(&argv(
        "run scenarios/baseline.toml --reps 60 --timeseries --out",
        &[p(&out)],
    ));
    out
}

#[test]
fn baseline_run_writes_the_five_files_and_a_complete_manifest() {
    let d = tmp();
    let out = baseline_run(d.path(), "run");
    for f in FILES {
        assert!(out.join(f).is_file(), "missing {f}");
    }
    assert!(!out.join("parts").exists(), "part files left behind");
    let leftovers: Vec<_> = fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");

    let m = manifest(&out);
    assert_eq!(m["complete"], true);
    assert_eq!(m["program"], "chipdip");
    assert_eq!(m["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(m["replications"], 60);
    assert_eq!(m["months"], 36);
    assert_eq!(m["master_seed"], 20250113, "the baseline's seed");
    assert_eq!(m["timeseries"], true);
    let hash = m["scenario_hash"].as_str().expect("scenario_hash");
    assert!(
        hash.len() == 64 && hash.chars().all(|c| c.is_ascii_hexdigit()),
        "not a SHA-256: {hash}"
    );
    assert!(
        m["scenario"]["nations"]["MYS"].is_object(),
        "manifest lacks the resolved scenario"
    );
    let argv: Vec<&str> = m["command_line"]
        .as_array()
        .expect("command_line")
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(
        argv.contains(&"--timeseries") && argv.contains(&"60"),
        "{argv:?}"
    );
    assert!(m["threads"].as_u64().unwrap() >= 1);
    for t in ["started_at", "finished_at"] {
        let s = m[t].as_str().unwrap_or_else(|| panic!("no {t}"));
        assert!(s.len() == 20 && s.ends_with('Z'), "{t} = {s}");
    }
    assert!(m["started_at"].as_str() <= m["finished_at"].as_str());
    let mut listed: Vec<&str> = m["outputs"]
        .as_array()
        .expect("outputs")
        .iter()
        .map(|o| o.as_str().unwrap())
        .collect();
    listed.sort();
    let files = csv_files(&out);
    assert_eq!(listed, names(&files), "manifest outputs vs files");

    let (h, rows) = read_csv(&out.join("summary.csv"));
    assert_eq!(&h[..4], &["scenario", "point", "replication", "seed"]);
    assert_eq!(rows.len(), 60);
    assert!(
        rows.iter().all(|r| r[0] == "baseline"),
        "the scenario column"
    );
    let reps: Vec<u32> = rows.iter().map(|r| r[2].parse().unwrap()).collect();
    assert_eq!(
        reps,
        (0..60).collect::<Vec<_>>(),
        "rows in replication order"
    );
    for c in [
        "ARE_installed_h100e_nvidia",
        "ARE_denied_h100e",
        "MYS_installed_h100e_huawei",
        "MYS_alignment",
        "huawei_export_share",
    ] {
        assert!(h.iter().any(|x| x == c), "summary lacks {c}");
    }

    let (qh, q) = read_csv(&out.join("quantiles.csv"));
    assert_eq!(
        qh,
        [
            "scenario", "point", "month", "entity", "metric", "mean", "p05", "p25", "p50", "p75",
            "p95"
        ]
    );
    let months: BTreeSet<&str> = q.iter().map(|r| r[2].as_str()).collect();
    let want: BTreeSet<String> = (2025..=2027)
        .flat_map(|y| (1..=12).map(move |m| format!("{y}-{m:02}")))
        .collect();
    assert_eq!(
        months,
        want.iter().map(String::as_str).collect(),
        "months 2025-01..2027-12"
    );
    let entities: BTreeSet<&str> = q.iter().map(|r| r[3].as_str()).collect();
    for e in [
        "USA", "CHN", "MYS", "ARE", "SAU", "SGP", "nvidia", "amd", "huawei",
    ] {
        assert!(entities.contains(e), "no entity {e} in quantiles.csv");
    }
    for r in &q {
        let v: Vec<f64> = r[6..].iter().map(|x| x.parse().unwrap()).collect();
        assert!(
            v.windows(2).all(|w| w[0] <= w[1]),
            "unordered quantiles {r:?}"
        );
    }

    let (eh, events) = read_csv(&out.join("events.csv"));
    assert_eq!(
        eh,
        [
            "point",
            "replication",
            "month",
            "seq",
            "actor",
            "target",
            "kind",
            "magnitude"
        ]
    );
    let kinds: BTreeSet<&str> = events.iter().map(|r| r[6].as_str()).collect();
    // The monthly licence logs are in the denied_h100e series, not in events.csv by default.
    assert!(
        !kinds.contains("licence_deny") && !kinds.contains("cap_reached"),
        "{kinds:?}"
    );
    let (th, _) = read_csv(&out.join("timeseries.csv"));
    assert_eq!(
        th,
        ["point", "replication", "month", "entity", "metric", "value"]
    );
}

#[test]
fn every_csv_row_has_its_headers_fields_and_tidy_values() {
    let d = tmp();
    let out = baseline_run(d.path(), "run");
    let files = csv_files(&out);
    assert_eq!(
        names(&files),
        [
            "dictionary.csv",
            "events.csv",
            "points.csv",
            "quantiles.csv",
            "summary.csv",
            "timeseries.csv"
        ]
    );
    let is_month = |s: &str| {
        let b = s.as_bytes();
        b.len() == 7
            && b[4] == b'-'
            && s[..4].parse::<u32>().is_ok()
            && s[5..].parse::<u32>().is_ok_and(|m| (1..=12).contains(&m))
    };
    for (name, bytes) in &files {
        // A strict reader: a row with another number of fields than the header is an error.
        let mut r = csv::Reader::from_reader(&bytes[..]);
        let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
        for c in &header {
            assert!(
                !c.is_empty() && c.chars().all(|x| x.is_ascii_alphanumeric() || x == '_'),
                "{name}: column {c:?} is not snake_case (after an uppercase entity code)"
            );
        }
        let month = header.iter().position(|c| c == "month");
        let mut n = 0;
        // Each column holds one type, so that readers that guess a column's type from its
        // first rows (polars, readr) never meet `23766.97` in a column they took for integers.
        let mut kinds: Vec<Option<&str>> = vec![None; header.len()];
        for rec in r.records() {
            let rec = rec.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(rec.len(), header.len(), "{name} row {n}");
            for (k, cell) in rec.iter().enumerate() {
                let kind = if cell.is_empty() {
                    continue;
                } else if cell.parse::<i64>().is_ok() {
                    "integer"
                } else if cell.parse::<f64>().is_ok() {
                    "float"
                } else {
                    "text"
                };
                let first = *kinds[k].get_or_insert(kind);
                assert_eq!(first, kind, "{name} row {n}, {}: {cell:?}", header[k]);
            }
            if let Some(k) = month {
                assert!(is_month(&rec[k]), "{name} row {n}: month {:?}", &rec[k]);
            }
            n += 1;
        }
        assert!(n > 0, "{name} has no rows");
        assert!(bytes.ends_with(b"\n"), "{name} does not end with a newline");
    }
}

/// Nearest rank, as `quantiles.csv` documents it: the `max(1, ceil(q·n))`-th smallest value.
fn nearest_rank(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    let k = ((q * n as f64).ceil() as usize).max(1);
    sorted[k - 1]
}

#[test]
fn quantiles_agree_with_the_replications_in_the_timeseries() {
    let d = tmp();
    let out = baseline_run(d.path(), "run");
    let mut series: BTreeMap<(String, String, String), Vec<f64>> = BTreeMap::new();
    let (_, ts) = read_csv(&out.join("timeseries.csv"));
    for r in ts {
        let v: f64 = r[5].parse().unwrap_or_else(|_| panic!("value {:?}", r[5]));
        series
            .entry((r[2].clone(), r[3].clone(), r[4].clone()))
            .or_default()
            .push(v);
    }
    let (_, q) = read_csv(&out.join("quantiles.csv"));
    assert_eq!(
        q.len(),
        series.len(),
        "one quantile row per (month, entity, metric)"
    );
    for r in &q {
        let key = (r[2].clone(), r[3].clone(), r[4].clone());
        let mut v = series
            .remove(&key)
            .unwrap_or_else(|| panic!("{key:?} not in the timeseries"));
        assert_eq!(v.len(), 60, "{key:?}");
        // The mean is exact (a fixed-point sum); the float sum here is within rounding of it.
        let exact = mean(&v);
        let got: f64 = r[5].parse().unwrap();
        assert!(
            (got - exact).abs() <= 1e-12 * exact.abs().max(1.0),
            "{key:?}: mean {got} vs {exact}"
        );
        // Quantiles: within the sketch's 0.5% relative accuracy of the nearest-rank value.
        v.sort_by(f64::total_cmp);
        for (j, qq) in [0.05, 0.25, 0.5, 0.75, 0.95].into_iter().enumerate() {
            let exact = nearest_rank(&v, qq);
            let got: f64 = r[6 + j].parse().unwrap();
            let tolerance = 0.005 * exact.abs() * (1.0 + 1e-9) + 1e-12;
            assert!(
                (got - exact).abs() <= tolerance,
                "{key:?} p{}: {got} vs nearest rank {exact}",
                qq * 100.0
            );
        }
    }
}

#[test]
fn params_lists_every_path_with_a_value_and_a_meaning() {
    for s in [
        "baseline",
        "malaysia_2025",
        "enforcement_surge",
        "sweep_enforcement_pressure",
    ] {
        let out = ok(&["params", &format!("scenarios/{s}.toml")]);
        let listing = stdout(&out);
        let mut rows = listing.lines();
        assert_eq!(rows.next(), Some("path\tvalue\tmeaning"));
        let mut paths = BTreeSet::new();
        for row in rows {
            let cols: Vec<&str> = row.split('\t').collect();
            assert_eq!(cols.len(), 3, "{s}: {row}");
            assert!(!cols[0].is_empty() && !cols[1].is_empty(), "{s}: {row}");
            assert!(
                !cols[2].trim().is_empty(),
                "{s}: no meaning for {}",
                cols[0]
            );
            assert!(paths.insert(cols[0].to_string()), "{s}: {} twice", cols[0]);
        }
        assert!(paths.len() > 100, "{s}: only {} paths", paths.len());
        assert!(listing.contains("nations.MYS.dependence.USA\t0.6\t"), "{s}");
        for want in [
            "simulation.seed",
            "regulators.USA.destinations.ARE",
            "regulators.USA.tiers.tier2.frontier.annual_cap_h100e",
            "regulators.USA.guidance.huawei",
            "products.ascend_910c.capacity_units_per_month",
            "firms.huawei.home_priority",
            "market.sanction_weight",
            "alignment.denial_push",
        ] {
            assert!(paths.contains(want), "{s}: no path {want}");
        }
    }
    // Every path listed is one `--set` accepts, with the value listed.
    let listing = stdout(&ok(&argv(
        "params scenarios/baseline.toml --set nations.MYS.dependence.USA=0.8",
        &[],
    )));
    assert!(listing.contains("nations.MYS.dependence.USA\t0.8\t"));
}

#[test]
fn check_accepts_every_shipped_scenario() {
    let mut n = 0;
    for entry in fs::read_dir(Path::new(ROOT).join("scenarios")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let out = ok(&["check", p(&path)]);
        assert!(stdout(&out).contains(": ok"), "{}", stdout(&out));
        n += 1;
    }
    assert!(n >= 2, "scenarios/ holds {n} scenarios");
}

#[test]
fn help_names_the_commands_and_flags() {
    let top = stdout(&ok(&["--help"]));
    for c in ["run", "params", "check", "merge"] {
        assert!(top.contains(c), "--help lacks {c}");
    }
    let run = stdout(&ok(&["run", "--help"]));
    for f in [
        "--out",
        "--reps",
        "--seed",
        "--threads",
        "--set",
        "--timeseries",
        "--shard",
        "--quiet",
    ] {
        assert!(run.contains(f), "run --help lacks {f}");
    }
    assert!(stdout(&ok(&["--version"])).contains(env!("CARGO_PKG_VERSION")));
    // No subcommand: usage on stderr, exit 2.
    let none = chipdip(&[]);
    assert_eq!(none.status.code(), Some(2));
    assert!(stderr(&none).contains("Usage"));
}

#[test]
fn unwritable_output_is_an_error() {
    let d = tmp();
    let file = d.path().join("a-file");
    fs::write(&file, "x").unwrap();
    let out = chipdip(&argv(
        "run scenarios/baseline.toml --reps 2 --out",
        &[p(&file.join("sub"))],
    ));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("a-file"), "{}", stderr(&out));
}

#[test]
fn a_complete_folder_is_never_overwritten() {
    let d = tmp();
    let out = d.path().join("run");
    let args = argv("run scenarios/baseline.toml --reps 10 --out", &[p(&out)]);
    ok(&args);
    let snapshot = || {
        let mut v: Vec<(String, Vec<u8>, std::time::SystemTime)> = fs::read_dir(&out)
            .unwrap()
            .map(|e| {
                let path = e.unwrap().path();
                (
                    path.file_name().unwrap().to_string_lossy().into_owned(),
                    fs::read(&path).unwrap(),
                    fs::metadata(&path).unwrap().modified().unwrap(),
                )
            })
            .collect();
        v.sort();
        v
    };
    let before = snapshot();
    // The same command: nothing to do, exit 0, nothing touched (bytes and times).
    let again = ok(&args);
    assert!(
        stderr(&again).contains("already complete"),
        "{}",
        stderr(&again)
    );
    assert!(
        before == snapshot(),
        "the same command rewrote a complete folder"
    );
    // Any thread count is the same run.
    let threads = ok(&[&args[..], &["--threads", "1"]].concat());
    assert!(stderr(&threads).contains("already complete"));
    // Another seed, another scenario or other files into it: refused, nothing touched.
    for other in [
        &["--seed", "99"][..],
        &["--set", "regulators.USA.destinations.ARE=tier1"],
        &["--timeseries"],
    ] {
        let r = chipdip(&[&args[..], other].concat());
        assert_eq!(r.status.code(), Some(1), "{other:?}: {}", stderr(&r));
        assert!(stderr(&r).contains("holds another run"), "{}", stderr(&r));
        assert!(before == snapshot(), "{other:?} touched a complete folder");
    }
    // A folder that is not a run folder and not empty is refused too.
    let foreign = d.path().join("notes");
    fs::create_dir(&foreign).unwrap();
    fs::write(foreign.join("thesis.txt"), "mine").unwrap();
    let r = chipdip(&argv(
        "run scenarios/baseline.toml --reps 2 --out",
        &[p(&foreign)],
    ));
    assert!(!r.status.success());
    assert!(
        stderr(&r).contains("not a chipdip run folder"),
        "{}",
        stderr(&r)
    );
    assert_eq!(fs::read_dir(&foreign).unwrap().count(), 1);
}

/// A run killed after its final manifest but before removing `parts/` is complete; the next
/// run into the folder removes the leftover parts and leaves the outputs as they were.
#[test]
fn a_complete_folder_with_leftover_parts_is_healed_by_the_next_run() {
    let d = tmp();
    let out = d.path().join("run");
    let args = argv("run scenarios/baseline.toml --reps 4 --out", &[p(&out)]);
    ok(&args);
    let before = csv_files(&out);
    fs::create_dir(out.join("parts")).unwrap();
    fs::write(out.join("parts/chunk-000000.sketch"), "left over").unwrap();
    let again = ok(&args);
    assert!(
        stderr(&again).contains("already complete"),
        "{}",
        stderr(&again)
    );
    assert!(!out.join("parts").exists(), "leftover parts/ still there");
    assert!(before == csv_files(&out), "outputs changed");
}

/// The README's "Adding a nation" snippet, taken from the README itself so that it cannot rot:
/// appended to a scenario extending the baseline, it adds a nation to every output.
#[test]
fn the_readme_nation_snippet_adds_a_nation_to_every_output() {
    let readme = fs::read_to_string(Path::new(ROOT).join("README.md")).unwrap();
    let section = readme
        .split_once("### Adding a nation")
        .expect("README has an 'Adding a nation' section")
        .1;
    let snippet = section
        .split_once("```toml\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .expect("a toml block in 'Adding a nation'")
        .0;
    let id = snippet
        .lines()
        .find_map(|l| l.strip_prefix("[nations.")?.strip_suffix(']'))
        .expect("the snippet declares a [nations.ID]");
    let d = tmp();
    let file = scenario(d.path(), "added.toml", snippet);
    let out = d.path().join("run");
    ok(&["run", p(&file), "--reps", "5", "--out", p(&out)]);
    let (_, q) = read_csv(&out.join("quantiles.csv"));
    assert!(
        q.iter().any(|r| r[3] == id),
        "no entity {id} in quantiles.csv"
    );
    let installed = column_mean(&out, &format!("{}_installed_h100e", id.to_lowercase()));
    assert!(installed > 0.0, "{id} installs nothing");
}

/// One process per run folder: while another process holds a folder's lock, a run into it is
/// refused at once, naming the holder, and writes nothing; once it is free the run completes
/// with a single run's bytes. Two runs started together into one folder: one completes, the
/// other is refused or finds the folder complete, and the folder holds a single run's bytes.
#[test]
fn a_run_folder_in_use_by_another_process_is_refused() {
    use chipdip::output::lock::FolderLock;
    let d = tmp();
    let out = d.path().join("run");
    let args = argv("run scenarios/baseline.toml --reps 30 -q --out", &[p(&out)]);
    let mut held = FolderLock::acquire(&out).expect("free");
    held.record_holder("a test").unwrap();
    let r = chipdip(&args);
    assert!(!r.status.success(), "a held folder was run into");
    assert!(stderr(&r).contains("in use by process"), "{}", stderr(&r));
    assert!(
        !out.join("manifest.json").exists(),
        "a refused run wrote its manifest"
    );
    drop(held);
    ok(&args);
    let single = d.path().join("single");
    ok(&argv(
        "run scenarios/baseline.toml --reps 30 -q --out",
        &[p(&single)],
    ));
    assert_same_csvs(&out, &single);

    let both = d.path().join("both");
    let race = argv(
        "run scenarios/baseline.toml --reps 600 -q --out",
        &[p(&both)],
    );
    let (a, b) = (
        command(&race)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
        command(&race)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(
        a.status.success() || b.status.success(),
        "neither run completed"
    );
    for r in [&a, &b] {
        assert!(
            // "in use by process N on HOST since T (chipdip run)", or "by another chipdip
            // process" when it is refused before the holder has written its name.
            r.status.success() || stderr(r).contains(" is in use by "),
            "{}",
            stderr(r)
        );
    }
    let alone = d.path().join("alone");
    ok(&argv(
        "run scenarios/baseline.toml --reps 600 -q --out",
        &[p(&alone)],
    ));
    assert_same_csvs(&both, &alone);
}
