#!/usr/bin/env python3
"""Kills runs at random points, resumes them, and checks the bytes equal an uninterrupted run.

    cargo build --release && python3 scripts/kill_stress.py [--trials 40] [--reps 400]
        [--kills 3] [--from 0] [--to 1.2] [--seed 7] [--bin target/release/chipdip]

Each trial starts a run of the replay (`--seed 11 --threads 2 --timeseries`) into a fresh
folder and kills it (SIGKILL) `--kills` times, each after a random share in [--from, --to) of
an uninterrupted run's wall time (a resumed run is shorter, so later kills may land after it
finished), then runs the same command to the end and compares its CSVs with the uninterrupted
run's. A trial whose bytes differ, or whose last run fails, is reported and its folder kept.
The test `interrupts::runs_killed_at_random_points_resume_to_the_same_bytes` does four such
trials; this runs as many as asked, with kill times narrowed to a phase if wanted (a short run,
`--reps 11`, puts kills in the start-up; `--from 0.8` in the end). Python standard library only.
"""

import argparse
import filecmp
import random
import shutil
import subprocess
import tempfile
import time

FILES = ["summary.csv", "quantiles.csv", "events.csv", "timeseries.csv"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default="target/release/chipdip")
    ap.add_argument("--scenario", default="scenarios/malaysia_2025.toml")
    ap.add_argument("--trials", type=int, default=40)
    ap.add_argument("--reps", default="400")
    ap.add_argument("--kills", type=int, default=3)
    ap.add_argument("--from", dest="lo", type=float, default=0.0)
    ap.add_argument("--to", dest="hi", type=float, default=1.2)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    folder = tempfile.mkdtemp(prefix="chipdip-kill-stress-")

    def command(out):
        return [a.bin, "run", a.scenario, "--reps", a.reps, "--seed", "11", "--threads", "2",
                "--timeseries", "-q", "--out", out]

    start = time.perf_counter()
    subprocess.run(command(f"{folder}/whole"), check=True, stderr=subprocess.DEVNULL)
    length = time.perf_counter() - start
    rng = random.Random(a.seed)
    bad = 0
    for trial in range(a.trials):
        out = f"{folder}/trial{trial}"
        shares = [rng.uniform(a.lo, a.hi) for _ in range(a.kills)]
        for share in shares:
            p = subprocess.Popen(command(out), stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            try:
                p.wait(timeout=length * share)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        last = subprocess.run(command(out), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        kills = ", ".join(f"{s:.3f}" for s in shares)
        if last.returncode != 0:
            bad += 1
            print(f"trial {trial} (kills at {kills} of a run): the last run failed "
                  f"({last.returncode}): {last.stderr.decode().strip()} [{out}]", flush=True)
            continue
        differ = [f for f in FILES
                  if not filecmp.cmp(f"{folder}/whole/{f}", f"{out}/{f}", shallow=False)]
        if differ:
            bad += 1
            print(f"trial {trial} (kills at {kills} of a run): {', '.join(differ)} differ "
                  f"[{out}]", flush=True)
        else:
            shutil.rmtree(out)
    print(f"{bad} of {a.trials} trials went wrong (an uninterrupted run: {length:.2f} s); "
          f"folder {folder}")
    if bad == 0:
        shutil.rmtree(folder)
    raise SystemExit(1 if bad else 0)


if __name__ == "__main__":
    main()
