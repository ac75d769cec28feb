#!/usr/bin/env python3
"""Check `chipdip analyze` against SALib on the same samples and outputs.

    python scripts/check_salib.py RUN_FOLDER [RUN_FOLDER ...]

Each folder is a finished saltelli or morris sweep on which `chipdip analyze` has written
sensitivity.csv. The script averages each point's replications from summary.csv (as chipdip
does), hands the point means to SALib's `sobol.analyze` (calc_second_order as designed) or
`morris.analyze` (X = points.csv, whose values move in the same direction as the unit-cube
coordinates), and requires every S1, ST, mu, mu_star and sigma to agree to 1e-9 relative
(relative to max(|SALib|, 1e-6): an index of zero needs |chipdip| <= 1e-15, since
sums of rounding errors of ~1e-17 differ with the order numpy and chipdip add in). Prints the largest relative
difference found; exits 1 on a disagreement.
"""
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from SALib.analyze import morris, sobol

REL = 1e-9
FLOOR = 1e-6


def check(folder: Path) -> float:
    manifest = json.loads((folder / "manifest.json").read_text())
    sweep = manifest["scenario"]["sweep"]
    factors = sorted(sweep["factors"])
    points = pd.read_csv(folder / "points.csv")
    summary = pd.read_csv(folder / "summary.csv")
    ours = pd.read_csv(folder / "sensitivity.csv", keep_default_na=False)
    ours = ours[ours["method"] != "replications"]
    problem = {
        "num_vars": len(factors),
        "names": factors,
        "bounds": [[0.0, 1.0]] * len(factors),
    }
    X = points.sort_values("point")[factors].to_numpy(dtype=float)
    worst = 0.0
    compared = 0
    for metric, rows in ours.groupby("metric", sort=False):
        Y = summary.groupby("point")[metric].mean().sort_index().to_numpy(dtype=float)
        if not np.all(np.isfinite(Y)) or np.std(Y) == 0:
            continue
        if sweep["design"] == "saltelli":
            si = sobol.analyze(
                problem, Y, calc_second_order=bool(sweep.get("second_order", False)),
                num_resamples=10, seed=1,
            )
            theirs = {("S1", f): si["S1"][i] for i, f in enumerate(factors)}
            theirs.update({("ST", f): si["ST"][i] for i, f in enumerate(factors)})
        else:
            si = morris.analyze(
                problem, X, Y, num_levels=int(sweep.get("levels", 4)), num_resamples=10, seed=1
            )
            theirs = {}
            for key in ("mu", "mu_star", "sigma"):
                theirs.update({(key, f): si[key][i] for i, f in enumerate(factors)})
        for _, r in rows.iterrows():
            want = float(theirs[(r["index"], r["factor"])])
            got = float(r["estimate"]) if r["estimate"] != "" else float("nan")
            if np.isnan(want) and np.isnan(got):
                continue
            diff = abs(got - want)
            rel = diff / max(abs(want), FLOOR)
            worst = max(worst, rel)
            compared += 1
            if not rel <= REL:
                sys.exit(
                    f"{folder}: {metric} {r['factor']} {r['index']}: chipdip {got!r}, "
                    f"SALib {want!r} (relative difference {rel:.3g})"
                )
    if compared == 0:
        sys.exit(f"{folder}: nothing compared")
    print(f"{folder.name}: {sweep['design']}, {compared} indices agree with SALib; "
          f"largest relative difference {worst:.3g}")
    return worst


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for arg in sys.argv[1:]:
        check(Path(arg))
