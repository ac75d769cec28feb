//! Outputs for analysts: the data dictionary in every run folder and from `chipdip dictionary`,
//! `chipdip compare` (paired intervals narrower than unpaired ones; unpaired runs refused),
//! `chipdip collect`, and plain progress lines off a terminal.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::util::*;

const REPLAY: &str = "scenarios/malaysia_2025.toml";
const NO_PRESSURE: &str = "scenarios/malaysia_2025_no_pressure.toml";

#[test]
fn the_dictionary_is_in_the_run_folder_and_printed_by_the_subcommand() {
    let d = tmp();
    let out = d.path().join("run");
    ok(&["run", REPLAY, "--reps", "2", "--out", p(&out), "-q"]);
    let printed = stdout(&ok(&["dictionary", REPLAY]));
    let written = fs::read_to_string(out.join("dictionary.csv")).unwrap();
    assert_eq!(printed, written);
    let (h, rows) = read_csv(&out.join("dictionary.csv"));
    assert_eq!(h, ["file", "name", "type", "unit", "measure", "meaning"]);
    let (sh, _) = read_csv(&out.join("summary.csv"));
    for c in &sh {
        assert!(
            rows.iter().any(|r| r[0] == "summary.csv" && &r[1] == c),
            "summary column {c} undocumented"
        );
    }
    let divert = rows.iter().find(|r| r[1] == "kind=divert").unwrap();
    assert!(
        divert[4].contains("units") && divert[5].contains("actor: hub"),
        "{divert:?}"
    );
    let denied = rows
        .iter()
        .find(|r| r[0] == "summary.csv" && r[1] == "MYS_denied_h100e")
        .unwrap();
    assert_eq!(denied[3], "H100e");
    assert!(denied[4].starts_with("flow over the run"), "{denied:?}");
}

#[test]
fn compare_pairs_replications_and_refuses_runs_that_do_not_pair() {
    let d = tmp();
    let (a, b, c) = (d.path().join("a"), d.path().join("b"), d.path().join("c"));
    ok(&[
        "run",
        REPLAY,
        "--reps",
        "60",
        "--seed",
        "11",
        "--out",
        p(&a),
        "-q",
    ]);
    ok(&[
        "run",
        NO_PRESSURE,
        "--reps",
        "60",
        "--seed",
        "11",
        "--out",
        p(&b),
        "-q",
    ]);
    let cmp = d.path().join("cmp.csv");
    ok(&["compare", p(&a), p(&b), "--out", p(&cmp)]);
    let (h, rows) = read_csv(&cmp);
    assert_eq!(
        h,
        [
            "metric",
            "point",
            "n",
            "mean_a",
            "mean_b",
            "mean_diff",
            "paired_ci_low",
            "paired_ci_high",
            "unpaired_ci_low",
            "unpaired_ci_high"
        ]
    );
    let num = |r: &Vec<String>, k: usize| r[k].parse::<f64>().unwrap();
    let row = rows.iter().find(|r| r[0] == "CHN_installed_h100e").unwrap();
    let (md, pl, ph, ul, uh) = (
        num(row, 5),
        num(row, 6),
        num(row, 7),
        num(row, 8),
        num(row, 9),
    );
    assert!((md - (num(row, 4) - num(row, 3))).abs() <= 1e-6 * md.abs().max(1.0));
    assert!(
        ((pl + ph) / 2.0 - md).abs() <= 1e-6 * md.abs().max(1.0),
        "centred"
    );
    assert!(
        ph - pl < uh - ul,
        "paired [{pl}, {ph}] not narrower than [{ul}, {uh}]"
    );
    // Another master seed: the replications do not pair, and compare says why.
    ok(&[
        "run",
        NO_PRESSURE,
        "--reps",
        "60",
        "--seed",
        "12",
        "--out",
        p(&c),
        "-q",
    ]);
    let r = chipdip(&["compare", p(&a), p(&c)]);
    assert_eq!(r.status.code(), Some(2));
    assert!(
        stderr(&r).contains("do not pair") && stderr(&r).contains("--seed"),
        "{}",
        stderr(&r)
    );

    // collect stacks the runs' summaries, labelled by run (the scenario column is there).
    let (ch, crow) = read_csv_text(&stdout(&ok(&["collect", p(&a), p(&b)])));
    assert_eq!(ch[..3], ["run", "scenario", "point"]);
    assert_eq!(crow.len(), 120);
    assert_eq!(crow[0][..2], ["a", "malaysia_2025"]);
    assert_eq!(crow[119][..2], ["b", "malaysia_2025_no_pressure"]);
    // events.csv has no scenario column: collect adds it from the manifest.
    let ev = stdout(&ok(&["collect", p(&a), p(&b), "--file", "events.csv"]));
    assert!(
        ev.starts_with("run,scenario,point,replication,month,"),
        "{}",
        &ev[..80]
    );
}

fn read_csv_text(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let h = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|x| x.unwrap().iter().map(String::from).collect())
        .collect();
    (h, rows)
}

#[test]
fn off_a_terminal_progress_comes_as_plain_lines() {
    let d = tmp();
    let out = d.path().join("run");
    let r = command(&["run", REPLAY, "--reps", "100", "--out", p(&out)])
        .env("CHIPDIP_PROGRESS_SECONDS", "0")
        .output()
        .unwrap();
    assert!(r.status.success());
    let err = stderr(&r);
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("progress: "))
        .collect();
    assert!(!lines.is_empty(), "{err}");
    let last = lines.last().unwrap();
    assert!(
        last.contains("100/100 replications (100.0%)") && last.contains("reps/s, ETA"),
        "{last}"
    );
    assert!(!err.contains('\r'), "no bar off a terminal");
}

/// Bytes of the files in `dir` and its `parts/` (0 for what is gone).
fn bytes_in(dir: &Path) -> u64 {
    let size = |d: &Path| -> u64 {
        fs::read_dir(d)
            .map(|rd| {
                rd.filter_map(Result::ok)
                    .filter_map(|e| e.metadata().ok())
                    .filter(|m| m.is_file())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0)
    };
    size(dir) + size(&dir.join("parts"))
}

/// A sweep of a few hundred points: each point's chunk sketches are merged into its quantile
/// rows as soon as the point is done, so the folder never holds much more than its final files
/// and their parts (it held every chunk's sketch until the end before).
#[test]
fn a_sweep_of_hundreds_of_points_peaks_under_two_and_a_half_times_its_output() {
    let d = tmp();
    let out = d.path().join("sweep");
    let mut child = command(&argv(
        "run scenarios/sweep_enforcement_pressure.toml --set sweep.points=200 --reps 55 -q --out",
        &[p(&out)],
    ))
    .spawn()
    .unwrap();
    let (mut peak, deadline) = (0, Instant::now() + Duration::from_secs(600));
    while child.try_wait().unwrap().is_none() {
        peak = peak.max(bytes_in(&out));
        assert!(
            Instant::now() < deadline,
            "the sweep did not finish in 10 minutes"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    let final_bytes = bytes_in(&out);
    assert_eq!(manifest(&out)["complete"], true);
    assert!(
        (peak as f64) < 2.5 * final_bytes as f64,
        "peak {peak} bytes vs final {final_bytes}"
    );
    eprintln!(
        "peak {peak} bytes, final {final_bytes} ({:.2}x)",
        peak as f64 / final_bytes as f64
    );
}

/// `--events` selects the kinds written to events.csv; the licence logs come back on request,
/// a kind that does not exist is bad input, and another selection is another run.
#[test]
fn events_selects_the_kinds_written() {
    let d = tmp();
    let (a, b) = (d.path().join("a"), d.path().join("b"));
    ok(&argv(
        "run scenarios/baseline.toml --reps 3 --out",
        &[p(&a), "-q"],
    ));
    // events.csv: point, replication, month, seq, actor, target, kind, magnitude.
    let kinds = |dir: &Path| -> std::collections::BTreeSet<String> {
        read_csv(&dir.join("events.csv"))
            .1
            .into_iter()
            .map(|r| r[6].clone())
            .collect()
    };
    let default = kinds(&a);
    assert!(!default.contains("licence_deny") && !default.contains("cap_reached"));
    ok(&argv(
        "run scenarios/baseline.toml --reps 3 --events cap_reached,licence_deny --out",
        &[p(&b), "-q"],
    ));
    let chosen = kinds(&b);
    assert!(
        !chosen.is_empty()
            && chosen
                .iter()
                .all(|k| k == "licence_deny" || k == "cap_reached"),
        "{chosen:?}"
    );
    assert_eq!(
        manifest(&b)["events"],
        serde_json::json!(["licence_deny", "cap_reached"])
    );
    // The summaries do not depend on which events are written.
    assert_eq!(
        fs::read(a.join("summary.csv")).unwrap(),
        fs::read(b.join("summary.csv")).unwrap()
    );
    let r = chipdip(&argv(
        "run scenarios/baseline.toml --events licence_denied --out",
        &[p(&d.path().join("c"))],
    ));
    assert_eq!(r.status.code(), Some(2));
    assert!(
        stderr(&r).contains("unknown event kind `licence_denied`"),
        "{}",
        stderr(&r)
    );
    let r = chipdip(&argv(
        "run scenarios/baseline.toml --reps 3 --events all --out",
        &[p(&a)],
    ));
    assert_eq!(
        r.status.code(),
        Some(1),
        "another selection into a's folder is refused"
    );
}

/// Ctrl-C (SIGINT) stops a run with a line saying how to resume it, and that command resumes.
#[cfg(unix)]
#[test]
fn ctrl_c_says_how_to_resume() {
    let d = tmp();
    let out = d.path().join("run");
    let args = [
        "run",
        REPLAY,
        "--reps",
        "3000",
        "--threads",
        "1",
        "--out",
        p(&out),
    ];
    let child = command(&args)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while !out.join("parts/c000000.rows").exists() {
        assert!(Instant::now() < deadline, "no chunk finished in 120 s");
        std::thread::sleep(Duration::from_millis(5));
    }
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let r = child.wait_with_output().unwrap();
    assert_eq!(r.status.code(), Some(130));
    let err = stderr(&r);
    assert!(
        err.contains("interrupted") && err.contains("rerun the same command to resume"),
        "{err}"
    );
    assert!(err.contains(&args.join(" ")), "the command is shown: {err}");
    assert_eq!(manifest(&out)["complete"], false);
    let again = stderr(&ok(&args));
    assert!(again.contains("resuming"), "{again}");
}
