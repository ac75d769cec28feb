#!/usr/bin/env python3
"""What a user pays for a run, measured with whole processes (README, "Speed").

    cargo build --release && python3 scripts/speed.py [--bin target/release/chipdip]

Every figure is a slope between two `chipdip run` processes that differ in one thing, so that
start-up (loading the scenario, the manifest, the final files' fixed part) cancels out; each is
the median over --pairs pairs. CPU time is user + system time of the child process
(`os.wait4`, i.e. getrusage of that process alone).

- replication: (CPU of 200 replications - CPU of 1) / 199, `malaysia_2025`, `--threads 1`;
- nation-month: the replication slope of the replay with 200 extra nations (generated here,
  each like Thailand) minus the plain replay's, per extra nation and month: over 21
  replications (one chunk), and over 200 as the replication's slope (a point of four chunks,
  whose sketches are added up for its quantile rows);
- intermediary-month: the replication slope with every hub population ×10 and ×100, minus the
  ×1 slope, per extra intermediary (at the start) and month;
- threads: wall time of 1,000 replications on 1 thread / on 2 threads (`--threads`); and,
  as the ceiling to read it against, the same 1-thread wall time / that of two independent
  1-thread processes of 500 replications each started together (nothing shared but the
  machine: on a VM whose cores slow each other down, this is the most two threads can give;
  the CPU they use together / the 1-thread run's says by how much the cores slowed).

With `--instructions`, the same slopes are counted in instructions instead, under valgrind's
cachegrind (`valgrind --tool=cachegrind --cache-sim=no`, which must be installed): they do
not move with the machine's load, as CPU time does on a shared VM, so they are the figures to
compare between versions. One run each (counts are deterministic to within ~1%, the threads'
interleaving); fewer replications, since valgrind runs ~50x slower, and each slope between
two runs of the same kind, so that what a run's size changes besides its replications does
not count as theirs: the replay 51 vs 101 (points of two and three chunks: a point of one
chunk has its quantile rows appended from memory, cheaper than through a part file), extra
nations 11 vs 21 against the replay's 11 vs 21 (points of one chunk), populations x1 and x10
1 vs 11 (one chunk); no thread ratio. Under valgrind, SHA-256 runs its software path (the CPU's SHA
instructions are not reported to the program), so the counts overstate hashing. With
`--branches` as well, cachegrind also simulates the branch predictor (`--branch-sim=yes`) and
each row adds the slope of mispredicted branches: what instructions miss when a change trades
a branch for a few more instructions (a mispredicted branch costs ~15-20 cycles).

With `--against OTHER_BIN` (CPU mode), each measure wanted also runs whole processes of both
binaries alternately, --pairs times, in turn first (the replay: 400 replications; +200
nations: 200; populations x100: 11), and reports the median and range of the ratio of their
CPU times (--bin / OTHER_BIN): on a shared VM whose speed drifts by 2x between spells, runs
side by side are the comparison the load moves least. For threads, it alternates runs of
1,000 replications on 2 threads and on 1 and reports the median and range of their wall
times' differences (--bin - OTHER_BIN, ms): a change to what runs alone at the end of a run
(a few ms of a 0.5 s run) moves the thread ratio by less than the VM's noise, but shows in
the differences of runs side by side (30 pairs resolve ~5 ms).

Python standard library only. Runs into a temporary folder it removes.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

REPLAY = "scenarios/malaysia_2025.toml"
MONTHS = 36
# The replay's hub populations (scenarios/baseline.toml, scenarios/malaysia_2025.toml).
POPULATIONS = {
    "MYS.populations.shells": 500,
    "MYS.populations.fronts": 10,
    "SGP.populations.shells": 270,
    "SGP.populations.fronts": 5,
    "THA.populations.shells": 100,
}
EXTRA_NATIONS = 200

NATION = """
[nations.{id}]
demand_h100e_per_month = 4000
demand_growth_annual = {{ min = 0.3, max = 0.8 }}
demand_noise_sigma = 0.2
backlog_decay = 0.3
alignment = 0.1
strategic_value = 0.4
dependence = {{ USA = 0.5, CHN = 0.5 }}
ecosystem = {{ nvidia = 1.0 }}
installed_units = {{ h100 = 5000 }}
"""


def nation_id(k):
    """Three letters, none a code the replay uses (they all start with Z here)."""
    return "Z" + chr(ord("A") + k // 26) + chr(ord("A") + k % 26)


def extra_nations_scenario(folder, n):
    path = os.path.join(folder, "extra_nations.toml")
    with open(path, "w") as f:
        f.write(f'extends = "{os.path.abspath(REPLAY)}"\nname = "extra_nations"\n')
        for k in range(n):
            f.write(NATION.format(id=nation_id(k)))
    return path


def run(binary, scenario, reps, threads, folder, sets=()):
    """(CPU seconds, wall seconds) of one `chipdip run` process."""
    return run_together(binary, scenario, reps, threads, folder, 1, sets)


def run_together(binary, scenario, reps, threads, folder, processes, sets=()):
    """(CPU seconds, wall seconds) of `processes` identical `chipdip run` processes started
    together, each into its own folder: their CPU summed, the wall time until the last ends."""
    args, outs = [], []
    for _ in range(processes):
        out = tempfile.mkdtemp(dir=folder)
        os.rmdir(out)
        outs.append(out)
        a = [binary, "run", scenario, "--reps", str(reps), "--threads", str(threads),
             "--out", out, "-q"]
        for s in sets:
            a += ["--set", s]
        args.append(a)
    start = time.perf_counter()
    children = [subprocess.Popen(a, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                for a in args]
    cpu = 0.0
    for a, p in zip(args, children):
        _, status, usage = os.wait4(p.pid, 0)
        cpu += usage.ru_utime + usage.ru_stime
        p.returncode = os.waitstatus_to_exitcode(status)
        err = p.stderr.read().decode()
        p.stderr.close()
        if p.returncode != 0:
            sys.exit(f"{' '.join(a)} failed ({p.returncode}):\n{err}")
    wall = time.perf_counter() - start
    subprocess.run(["rm", "-rf", *outs], check=True)
    return cpu, wall


def instructions(binary, scenario, reps, folder, sets=(), branches=False):
    """(instructions, simulated branch mispredictions or 0) of one `chipdip run` process
    under cachegrind, one thread; mispredictions only with `branches` (`--branch-sim=yes`)."""
    out = tempfile.mkdtemp(dir=folder)
    os.rmdir(out)
    args = ["valgrind", "--tool=cachegrind", "--cache-sim=no",
            f"--branch-sim={'yes' if branches else 'no'}", "--cachegrind-out-file=/dev/null",
            binary, "run", scenario, "--reps", str(reps), "--threads", "1", "--out", out, "-q"]
    for s in sets:
        args += ["--set", s]
    p = subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.exit(f"{' '.join(args)} failed ({p.returncode}):\n{p.stderr}")
    subprocess.run(["rm", "-rf", out], check=True)
    counts = {}
    for line in p.stderr.splitlines():
        for key, label in (("I", "refs:"), ("M", "Mispredicts:")):
            if label in line and key not in counts:
                counts[key] = int(line.split(label)[1].split()[0].replace(",", ""))
    if "I" not in counts or (branches and "M" not in counts):
        sys.exit(f"no instruction or misprediction count in valgrind's output:\n{p.stderr}")
    return counts["I"], counts.get("M", 0)


def instruction_slope(binary, scenario, folder, few, many, sets=(), branches=False):
    """(instructions, mispredictions) of `many` replications minus those of `few`, per
    replication between them."""
    fewer = instructions(binary, scenario, few, folder, sets, branches)
    lots = instructions(binary, scenario, many, folder, sets, branches)
    return tuple((a - b) / (many - few) for a, b in zip(lots, fewer))


def instruction_rows(binary, want, folder, branches=False):
    rows = []

    def show(instr, mispredicted):
        """The row's text: instructions, and mispredictions when they were counted."""
        return f"{instr}, {mispredicted} mispredictions" if branches else instr

    if "replication" in want:
        base = instruction_slope(binary, REPLAY, folder, 51, 101, (), branches)
        rows.append(("replication, malaysia_2025, 51 vs 101 reps",
                     show(f"{base[0] / 1e6:.2f} M instructions", f"{base[1] / 1e3:.1f} k")))
    if "nations" in want:
        base = instruction_slope(binary, REPLAY, folder, 11, 21, (), branches)
        extra = extra_nations_scenario(folder, EXTRA_NATIONS)
        many = instruction_slope(binary, extra, folder, 11, 21, (), branches)
        per = [(a - b) / (EXTRA_NATIONS * MONTHS) for a, b in zip(many, base)]
        rows.append((f"nation-month, +{EXTRA_NATIONS} nations, 11 vs 21 reps",
                     show(f"{per[0] / 1e3:.1f} k instructions", f"{per[1]:.0f}")))
    if "intermediaries" in want:
        n = sum(POPULATIONS.values())
        one = instruction_slope(binary, REPLAY, folder, 1, 11, scaled(1), branches)
        ten = instruction_slope(binary, REPLAY, folder, 1, 11, scaled(10), branches)
        per = [(a - b) / (n * 9 * MONTHS) for a, b in zip(ten, one)]
        rows.append((f"intermediary-month, populations x10 ({n * 10}), 1 vs 11 reps",
                     show(f"{per[0]:.0f} instructions", f"{per[1]:.2f}")))
    return rows


def slope(binary, scenario, folder, pairs, many, sets=()):
    """Median over pairs of (CPU(many reps) - CPU(1 rep)) / (many - 1), seconds/replication."""
    vals = []
    for _ in range(pairs):
        one, _ = run(binary, scenario, 1, 1, folder, sets)
        lots, _ = run(binary, scenario, many, 1, folder, sets)
        vals.append((lots - one) / (many - 1))
    return statistics.median(vals)


def scaled(factor):
    return [f"hubs.{k}.count={v * factor}" for k, v in POPULATIONS.items()]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default="target/release/chipdip")
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--only", choices=["replication", "nations", "intermediaries", "threads"],
                    action="append", help="measure only these (repeatable)")
    ap.add_argument("--instructions", action="store_true",
                    help="count instructions under cachegrind instead of timing (see above)")
    ap.add_argument("--branches", action="store_true",
                    help="with --instructions, also count simulated branch mispredictions")
    ap.add_argument("--against", metavar="OTHER_BIN",
                    help="also alternate whole runs with this binary and report the median "
                         "CPU ratio (--bin / OTHER_BIN) per measure, and for threads the wall "
                         "times' difference (see above)")
    a = ap.parse_args()
    want = set(a.only or ["replication", "nations", "intermediaries", "threads"])
    rows = []
    if a.instructions:
        with tempfile.TemporaryDirectory() as folder:
            rows = instruction_rows(a.bin, want, folder, a.branches)
        print_rows(rows, "one run")
        return
    with tempfile.TemporaryDirectory() as folder:
        base = None
        if want & {"replication", "nations"}:
            base = slope(a.bin, REPLAY, folder, a.pairs, 200)
            rows.append(("replication, malaysia_2025, 1 vs 200 reps",
                         f"{base * 1e3:.3f} ms CPU"))
        if "nations" in want:
            extra = extra_nations_scenario(folder, EXTRA_NATIONS)
            for many in (21, 200):
                with_extra = slope(a.bin, extra, folder, a.pairs, many)
                per = (with_extra - base) / (EXTRA_NATIONS * MONTHS)
                rows.append((f"nation-month, +{EXTRA_NATIONS} nations, 1 vs {many} reps",
                             f"{per * 1e6:.2f} µs CPU"))
        if "intermediaries" in want:
            n = sum(POPULATIONS.values())
            one = slope(a.bin, REPLAY, folder, a.pairs, 51, scaled(1))
            for factor, many in [(10, 51), (100, 11)]:
                s = slope(a.bin, REPLAY, folder, a.pairs, many, scaled(factor))
                per = (s - one) / (n * (factor - 1) * MONTHS)
                rows.append((f"intermediary-month, populations x{factor} ({n * factor}), "
                             f"1 vs {many} reps", f"{per * 1e9:.1f} ns CPU"))
        if "threads" in want:
            ratios, ceilings, inflation = [], [], []
            for _ in range(a.pairs):
                c1, w1 = run(a.bin, REPLAY, 1000, 1, folder)
                _, w2 = run(a.bin, REPLAY, 1000, 2, folder)
                c_apart, w_apart = run_together(a.bin, REPLAY, 500, 1, folder, 2)
                ratios.append(w1 / w2)
                ceilings.append(w1 / w_apart)
                inflation.append(c_apart / c1)
            rows.append(("1,000 reps, wall 1 thread / 2 threads",
                         f"{statistics.median(ratios):.2f}x"))
            rows.append(("the machine's ceiling: 1 thread / two 500-rep processes at once",
                         f"{statistics.median(ceilings):.2f}x"))
            rows.append(("  their CPU summed / the 1-thread run's",
                         f"{statistics.median(inflation):.2f}"))
        if a.against:
            rows += alternated(a.bin, a.against, want, folder, a.pairs)
    print_rows(rows, f"median of {a.pairs}")


def alternated(binary, other, want, folder, pairs):
    """Rows of the CPU ratio binary / other over whole runs taken alternately; for threads,
    the difference of their wall times."""
    cases = []
    if "replication" in want:
        cases.append(("replay, 400 reps", REPLAY, 400, ()))
    if "nations" in want:
        extra = extra_nations_scenario(folder, EXTRA_NATIONS)
        cases.append((f"+{EXTRA_NATIONS} nations, 200 reps", extra, 200, ()))
    if "intermediaries" in want:
        cases.append(("populations x100, 11 reps", REPLAY, 11, scaled(100)))
    rows = []
    for name, scenario, reps, sets in cases:
        ratios = []
        for k in range(pairs):
            order = [binary, other] if k % 2 == 0 else [other, binary]
            cpu = [run(b, scenario, reps, 1, folder, sets)[0] for b in order]
            mine, theirs = (cpu[0], cpu[1]) if k % 2 == 0 else (cpu[1], cpu[0])
            ratios.append(mine / theirs)
        rows.append((f"{name}, CPU --bin / --against, alternated",
                     f"{statistics.median(ratios):.3f} ({min(ratios):.3f}-{max(ratios):.3f})"))
    if "threads" in want:
        for threads in (2, 1):
            diffs = []
            for k in range(pairs):
                order = [binary, other] if k % 2 == 0 else [other, binary]
                wall = [run(b, REPLAY, 1000, threads, folder)[1] for b in order]
                mine, theirs = (wall[0], wall[1]) if k % 2 == 0 else (wall[1], wall[0])
                diffs.append((mine - theirs) * 1e3)
            rows.append((f"1,000 reps on {threads} thread(s), wall --bin - --against, "
                         "alternated",
                         f"{statistics.median(diffs):+.1f} ms "
                         f"({min(diffs):+.1f} to {max(diffs):+.1f})"))
    return rows


def print_rows(rows, how):
    width = max(len(r[0]) for r in rows)
    print(f"{'measure'.ljust(width)} | {how}")
    print(f"{'-' * width}-|-{'-' * 14}")
    for name, value in rows:
        print(f"{name.ljust(width)} | {value}")


if __name__ == "__main__":
    main()
