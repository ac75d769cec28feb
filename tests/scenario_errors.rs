//! Bad input: each broken scenario file or `--set` exits 2 with one message
//! naming the file (or `--set`), the line and the parameter path — with the nearest valid key
//! when a key is unknown — and leaves no output folder behind.

use std::fs;

use crate::util::*;

/// One broken input: a scenario file (`BASE` stands for the baseline's absolute path; most
/// extend it and break one thing), extra arguments, and what the error must mention (`a|b`:
/// either wording).
struct Broken {
    name: &'static str,
    body: &'static str,
    args: &'static [&'static str],
    mentions: &'static [&'static str],
}

const BROKEN: &[Broken] = &[
    Broken {
        name: "typo.toml",
        body: "extends = \"BASE\"\n[nations.MYS]\nalignmnet = 0.2\n",
        args: &[],
        mentions: &[
            "typo.toml:3",
            "nations.MYS.alignmnet",
            "did you mean `alignment`",
        ],
    },
    Broken {
        name: "section.toml",
        body: "extends = \"BASE\"\n[simulaton]\nmonths = 12\n",
        args: &[],
        mentions: &["section.toml:2", "simulaton", "did you mean `simulation`"],
    },
    Broken {
        name: "type.toml",
        body: "extends = \"BASE\"\n[nations.MYS]\n\nalignment = \"high\"\n",
        args: &[],
        mentions: &["type.toml:4", "nations.MYS.alignment"],
    },
    Broken {
        name: "integer.toml",
        body: "extends = \"BASE\"\n[simulation]\nmonths = 12.5\n",
        args: &[],
        mentions: &["integer.toml:3", "simulation.months"],
    },
    Broken {
        name: "prob.toml",
        body: "extends = \"BASE\"\n[regulators.USA.tiers.tier2.frontier]\napproval_probability = 1.5\n",
        args: &[],
        mentions: &[
            "prob.toml:3",
            "regulators.USA.tiers.tier2.frontier.approval_probability",
            "[0, 1]",
        ],
    },
    Broken {
        name: "capacity.toml",
        body: "extends = \"BASE\"\n[products.h100]\ncapacity_units_per_month = -5\n",
        args: &[],
        mentions: &["capacity.toml:3", "products.h100.capacity_units_per_month"],
    },
    Broken {
        name: "demand.toml",
        body: "extends = \"BASE\"\n[nations.MYS]\ndemand_h100e_per_month = -1\n",
        args: &[],
        mentions: &["demand.toml:3", "nations.MYS.demand_h100e_per_month"],
    },
    Broken {
        name: "nan.toml",
        body: "extends = \"BASE\"\n[nations.MYS]\nalignment = nan\n",
        args: &[],
        mentions: &["nan.toml:3", "nations.MYS.alignment"],
    },
    Broken {
        name: "nation.toml",
        body: "extends = \"BASE\"\n[regulators.USA.destinations]\nMYX = \"tier2\"\n",
        args: &[],
        mentions: &[
            "nation.toml:3",
            "regulators.USA.destinations.MYX",
            "did you mean `MYS`",
        ],
    },
    Broken {
        name: "dependence.toml",
        body: "extends = \"BASE\"\n[nations.MYS]\ndependence = { USX = 0.5 }\n",
        args: &[],
        mentions: &[
            "dependence.toml:3",
            "nations.MYS.dependence.USX",
            "did you mean `USA`",
        ],
    },
    Broken {
        name: "vendor.toml",
        body: "extends = \"BASE\"\n[products.h100]\nvendor = \"nvidea\"\n",
        args: &[],
        mentions: &["vendor.toml:3", "products.h100.vendor", "nvidia"],
    },
    Broken {
        name: "tier.toml",
        body: "extends = \"BASE\"\n[regulators.USA.destinations]\nMYS = \"tier9\"\n",
        args: &[],
        mentions: &["tier.toml:3", "regulators.USA.destinations.MYS", "tier9"],
    },
    Broken {
        name: "status.toml",
        body: "extends = \"BASE\"\n[regulators.USA.tiers.tier2.frontier]\nstatus = \"licenced\"\n",
        args: &[],
        mentions: &[
            "status.toml:3",
            "regulators.USA.tiers.tier2.frontier.status",
            "licence",
        ],
    },
    Broken {
        name: "badset.toml",
        body: "extends = \"BASE\"\n",
        args: &["--set", "nations.MYS.alignmnet=0.1"],
        mentions: &[
            "--set",
            "nations.MYS.alignmnet",
            "nations.MYS.alignment|did you mean `alignment`",
        ],
    },
    Broken {
        name: "badsetvalue.toml",
        body: "extends = \"BASE\"\n",
        args: &["--set", "simulation.months=lots"],
        mentions: &["--set", "simulation.months"],
    },
    Broken {
        name: "badsetrange.toml",
        body: "extends = \"BASE\"\n",
        args: &["--set", "nations.MYS.alignment=2"],
        mentions: &["--set", "nations.MYS.alignment", "[-1, 1]"],
    },
    Broken {
        name: "badsettier.toml",
        body: "extends = \"BASE\"\n",
        args: &["--set", "regulators.USA.destinations.ARE=tier7"],
        mentions: &["--set", "regulators.USA.destinations.ARE", "tier7"],
    },
    Broken {
        name: "badsetform.toml",
        body: "extends = \"BASE\"\n",
        args: &["--set", "nations.MYS.alignment"],
        mentions: &["--set", "PATH=VALUE"],
    },
    Broken {
        name: "extends.toml",
        body: "extends = \"nowhere.toml\"\n",
        args: &[],
        mentions: &["extends.toml:1", "extends", "nowhere.toml"],
    },
    Broken {
        name: "cycle.toml",
        body: "# a file that extends itself\nextends = \"cycle.toml\"\n",
        args: &[],
        mentions: &["cycle.toml:2", "extends", "cycle"],
    },
    Broken {
        name: "syntax.toml",
        body: "extends = \"BASE\"\n[nations.MYS\nalignment = 0.1\n",
        args: &[],
        mentions: &["syntax.toml:2", "invalid TOML"],
    },
    Broken {
        name: "duplicate.toml",
        body: "extends = \"BASE\"\n[nations.MYS]\nalignment = 0.1\nalignment = 0.2\n",
        args: &[],
        mentions: &["duplicate.toml:4", "duplicate"],
    },
    Broken {
        name: "month.toml",
        body: "extends = \"BASE\"\n[simulation]\nstart_month = \"2025-13\"\n",
        args: &[],
        mentions: &["month.toml:3", "simulation.start_month"],
    },
    Broken {
        name: "timeline.toml",
        body: "extends = \"BASE\"\n[timeline.x]\nmonth = \"2025-06\"\nset = { \"nations.MYS.alignment\" = 3.0 }\n",
        args: &[],
        mentions: &["timeline.toml:4", "nations.MYS.alignment", "[-1, 1]"],
    },
    Broken {
        name: "timelinepath.toml",
        body: "extends = \"BASE\"\n[timeline.x]\nmonth = \"2025-06\"\nset = { \"nations.MYS.alignmnt\" = 0.3 }\n",
        args: &[],
        mentions: &[
            "timelinepath.toml:4",
            "nations.MYS.alignmnt",
            "nations.MYS.alignment",
        ],
    },
    Broken {
        name: "datedstart.toml",
        body: "extends = \"BASE\"\n[timeline.x]\nmonth = \"2025-06\"\nset = { \"hubs.MYS.populations.shells.count\" = 10 }\n",
        args: &[],
        mentions: &[
            "datedstart.toml:4",
            "hubs.MYS.populations.shells.count",
            "read only when a replication starts",
        ],
    },
    Broken {
        name: "datedframe.toml",
        body: "extends = \"BASE\"\n[timeline.x]\nmonth = \"2025-06\"\nset = { \"simulation.seed\" = 9 }\n",
        args: &[],
        mentions: &["datedframe.toml:4", "simulation.seed", "frame"],
    },
    Broken {
        name: "case.toml",
        body: "extends = \"BASE\"\n[nations.mys]\ndemand_h100e_per_month = 10.0\nalignment = 0.0\n",
        args: &[],
        mentions: &["case.toml:2", "nations.mys", "only in case"],
    },
    Broken {
        name: "timelinemonth.toml",
        body: "extends = \"BASE\"\n[timeline.x]\nmonth = \"2024-01\"\nset = { \"nations.MYS.alignment\" = 0.3 }\n",
        args: &[],
        mentions: &["timelinemonth.toml:3", "timeline.x.month", "2024-01"],
    },
    Broken {
        name: "devzero.toml",
        body: "\n\nextends = \"/dev/zero\"\n",
        args: &[],
        mentions: &["devzero.toml:3", "extends", "not a regular file"],
    },
    Broken {
        name: "manypoints.toml",
        body: "extends = \"BASE\"\n[sweep]\ndesign = \"random\"\npoints = 16000000\n[sweep.factors.\"nations.MYS.alignment\"]\nmin = 0.0\nmax = 0.5\n",
        args: &[],
        mentions: &["manypoints.toml:4", "sweep.points", "CHIPDIP_MAX_POINTS"],
    },
    Broken {
        name: "threads.toml",
        body: "extends = \"BASE\"\n",
        args: &["--threads", "100000"],
        mentions: &["--threads 100000", "1024"],
    },
    // A file two levels up: the error names the file that holds the mistake, not the one run.
    Broken {
        name: "child.toml",
        body: "extends = \"parent.toml\"\n[nations.MYS]\nalignment = 0.1\n",
        args: &[],
        mentions: &[
            "parent.toml:3",
            "nations.SGP.strategic_valu",
            "did you mean `strategic_value`",
        ],
    },
];

/// Written beside the broken files: `child.toml` extends it.
const PARENT: &str = "extends = \"BASE\"\n[nations.SGP]\nstrategic_valu = 0.3\n";

#[test]
fn broken_scenarios_get_located_errors_and_leave_no_folder() {
    let d = tmp();
    let base = p(&baseline()).to_string();
    fs::write(d.path().join("parent.toml"), PARENT.replace("BASE", &base)).unwrap();
    let mut failed = Vec::new();
    for b in BROKEN {
        let file = d.path().join(b.name);
        fs::write(&file, b.body.replace("BASE", &base)).unwrap();
        let never = d.path().join(format!("never-{}", b.name));
        let mut args = vec!["run", p(&file), "--reps", "2", "--out", p(&never)];
        args.extend(b.args);
        let out = chipdip(&args);
        let err = stderr(&out);
        if out.status.code() != Some(2) {
            failed.push(format!(
                "{}: exit {:?}, stderr {err}",
                b.name,
                out.status.code()
            ));
        }
        for m in b.mentions {
            if !m.split('|').any(|alt| err.contains(alt)) {
                failed.push(format!("{}: error does not mention {m:?}: {err}", b.name));
            }
        }
        if err.lines().filter(|l| l.starts_with("error")).count() != 1 {
            failed.push(format!("{}: not one error line: {err}", b.name));
        }
        if never.exists() {
            failed.push(format!("{}: an output folder was created", b.name));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

#[test]
fn check_and_params_report_the_same_errors_as_run() {
    let d = tmp();
    let file = scenario(d.path(), "typo.toml", "[nations.MYS]\nalignmnet = 0.2\n");
    let run = chipdip(&["run", p(&file), "--out", p(&d.path().join("never"))]);
    for cmd in ["check", "params"] {
        let out = chipdip(&[cmd, p(&file)]);
        assert_eq!(out.status.code(), Some(2), "{cmd}");
        assert_eq!(stderr(&out), stderr(&run), "{cmd}");
        assert!(stdout(&out).is_empty(), "{cmd} printed {}", stdout(&out));
    }
    assert!(!d.path().join("never").exists());
    // A missing scenario file is bad input too.
    let missing = chipdip(&["check", "scenarios/no-such-file.toml"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("no-such-file.toml"));
}

#[test]
fn bad_numbers_of_replications_are_refused_before_anything_is_written() {
    let d = tmp();
    let never = d.path().join("never");
    for args in [
        &["--reps", "0"][..],
        &["--set", "simulation.months=0"],
        &["--shard", "2/2"],
        &["--shard", "abc"],
        &["--shard", "0/0"],
        &["--shard-from-env"],
    ] {
        let r = chipdip(
            &[
                &["run", "scenarios/baseline.toml", "--out", p(&never)][..],
                args,
            ]
            .concat(),
        );
        // Bad input, like a bad scenario: exit 2.
        assert_eq!(r.status.code(), Some(2), "{args:?}: {}", stderr(&r));
        assert!(!never.exists(), "{args:?} created the folder");
    }
}

/// A key read only when a replication starts may be set by a change dated at the start (it is
/// part of the first month's parameters), but not later (see the `datedstart` case above).
#[test]
fn a_start_only_key_may_be_set_by_a_change_dated_at_the_start() {
    let d = tmp();
    let path = scenario(
        d.path(),
        "dated0.toml",
        "[timeline.x]\nmonth = \"2025-01\"\nset = { \"hubs.MYS.populations.shells.count\" = 10 }\n",
    );
    let out = chipdip(&["check", p(&path)]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn oversized_scenario_files_are_refused_before_they_are_read() {
    let d = tmp();
    let big = d.path().join("big.toml");
    let mut body = String::from("name = \"big\"\n");
    while body.len() <= 1 << 20 {
        body.push_str("# padding padding padding padding padding padding padding padding\n");
    }
    fs::write(&big, body).unwrap();
    let out = chipdip(&["check", p(&big)]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("bytes"), "{}", stderr(&out));
}

#[test]
fn seeds_cover_the_whole_u64_range_on_the_command_line_and_in_files() {
    let d = tmp();
    let top = u64::MAX.to_string();
    let a = d.path().join("a");
    ok(&[
        "run",
        p(&baseline()),
        "--reps",
        "2",
        "--seed",
        &top,
        "--out",
        p(&a),
        "--quiet",
    ]);
    assert_eq!(manifest(&a)["master_seed"].as_u64(), Some(u64::MAX));
    // In a file, a seed above TOML's integers is a string, and gives the same run.
    let file = scenario(
        d.path(),
        "topseed.toml",
        &format!("[simulation]\nseed = \"{top}\"\n"),
    );
    let b = d.path().join("b");
    ok(&["run", p(&file), "--reps", "2", "--out", p(&b), "--quiet"]);
    let (ka, kb) = (csv_files(&a), csv_files(&b));
    assert_eq!(ka.len(), kb.len());
    for ((na, ba), (nb, bb)) in ka.iter().zip(&kb) {
        assert_eq!(na, nb);
        assert!(
            ba == bb,
            "{na} differs between --seed and a string seed in the file"
        );
    }
    let neg = chipdip(&["check", p(&baseline()), "--set", "simulation.seed=-1"]);
    assert_eq!(neg.status.code(), Some(2));
    assert!(stderr(&neg).contains("simulation.seed"), "{}", stderr(&neg));
}

#[test]
fn runs_beyond_the_replication_ceiling_are_refused_before_planning() {
    let out = chipdip(&[
        "run",
        p(&baseline()),
        "--reps",
        "4000000000",
        "--out",
        "/nonexistent/x",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    for m in [
        "--set",
        "simulation.replications",
        "CHIPDIP_MAX_REPLICATIONS",
    ] {
        assert!(err.contains(m), "{m}: {err}");
    }
}

#[test]
fn more_intermediaries_than_the_ceiling_are_refused_before_anything_runs() {
    let out = chipdip(&argv(
        "check scenarios/malaysia_2025.toml --set hubs.MYS.populations.shells.count=9000000",
        &[],
    ));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("hubs") && err.contains("CHIPDIP_MAX_INTERMEDIARIES"),
        "{err}"
    );
}
