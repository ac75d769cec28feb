//! Scenario discovery by PRIM, the patient rule induction method (Friedman & Fisher 1999), as
//! the EMA Workbench uses it: which box of the factor space holds the cases of interest.
//!
//! Cases are the sweep's replications: each has its point's factor values and is *of interest*
//! when its outcome satisfies the condition (`mys_hub_diverted_units > 50000`). The box starts as
//! the whole range of every factor. Each step peels one face: for every factor, the candidate
//! cuts off the lowest or the highest [`PEEL_ALPHA`] of the cases still in the box (at least one
//! distinct value; a face whose values are all tied cannot be peeled); the step keeps the
//! candidate whose remaining box has the highest density (share of cases of interest), ties to
//! the first factor, lower face first. Peeling stops when the box would hold less than
//! [`MIN_MASS`] of all cases.
//!
//! Each step reports the box's **coverage** (cases of interest inside / all cases of interest),
//! **density** (cases of interest inside / cases inside) and **mass** (cases inside / all
//! cases). The chosen box is the densest one whose coverage is at least the given minimum
//! (default [`MIN_COVERAGE`]), the earliest (largest) one on ties: the trade-off an analyst makes
//! by eye on the peeling trajectory, fixed so the command's output is reproducible.

/// Share of the box's cases one peel removes.
pub const PEEL_ALPHA: f64 = 0.05;

/// Smallest mass of a box.
pub const MIN_MASS: f64 = 0.05;

/// Default smallest coverage of the chosen box.
pub const MIN_COVERAGE: f64 = 0.5;

/// One box of the peeling trajectory.
#[derive(Clone, Debug, PartialEq)]
pub struct PrimStep {
    /// 0 for the whole space.
    pub step: usize,
    pub coverage: f64,
    pub density: f64,
    pub mass: f64,
    /// Cases inside.
    pub cases: usize,
    /// Per factor: the box's (lower, upper) limit: the range of all cases, moved by each peel
    /// of that face.
    pub bounds: Vec<(f64, f64)>,
}

/// The peeling trajectory and the chosen step.
#[derive(Clone, Debug, PartialEq)]
pub struct Prim {
    pub steps: Vec<PrimStep>,
    pub chosen: usize,
    /// Share of all cases that are of interest (the density of the whole space).
    pub base_rate: f64,
}

/// Runs PRIM on `x[case][factor]` with `interesting[case]`.
pub fn prim(x: &[Vec<f64>], interesting: &[bool], min_coverage: f64) -> Result<Prim, String> {
    let n = x.len();
    let k = x.first().map_or(0, Vec::len);
    if n == 0 || k == 0 || interesting.len() != n {
        return Err(format!(
            "PRIM needs cases with factors: {n} cases, {k} factors, {} outcomes",
            interesting.len()
        ));
    }
    let total_interesting = interesting.iter().filter(|&&i| i).count();
    if total_interesting == 0 {
        return Err("no case satisfies the condition; nothing to discover".to_string());
    }
    let describe = |inside: &[usize], step: usize, bounds: Vec<(f64, f64)>| -> PrimStep {
        let hits = inside.iter().filter(|&&c| interesting[c]).count();
        PrimStep {
            step,
            coverage: hits as f64 / total_interesting as f64,
            density: hits as f64 / inside.len() as f64,
            mass: inside.len() as f64 / n as f64,
            cases: inside.len(),
            bounds,
        }
    };
    let mut inside: Vec<usize> = (0..n).collect();
    let mut bounds: Vec<(f64, f64)> = (0..k)
        .map(|d| {
            x.iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), c| {
                    (lo.min(c[d]), hi.max(c[d]))
                })
        })
        .collect();
    let mut steps = vec![describe(&inside, 0, bounds.clone())];
    loop {
        // (density, cases kept, factor, face, new limit)
        let mut best: Option<(f64, Vec<usize>, usize, bool, f64)> = None;
        #[allow(clippy::needless_range_loop)] // d indexes both cases' factors and bounds
        for d in 0..k {
            let mut values: Vec<f64> = inside.iter().map(|&c| x[c][d]).collect();
            values.sort_by(f64::total_cmp);
            let m = values.len();
            let cut = ((PEEL_ALPHA * m as f64) as usize).max(1).min(m - 1);
            // Lower face: keep values >= the cut (past the ties with the minimum, if any).
            let bottom = values[0];
            let lower = if values[cut] > bottom {
                Some(values[cut])
            } else {
                values.iter().copied().find(|&v| v > bottom)
            };
            // Upper face: keep values <= the mirror cut.
            let top = values[m - 1];
            let upper = if values[m - 1 - cut] < top {
                Some(values[m - 1 - cut])
            } else {
                values.iter().rev().copied().find(|&v| v < top)
            };
            let faces = [lower.map(|lo| (lo, true)), upper.map(|hi| (hi, false))];
            for (bound, is_lower) in faces.into_iter().flatten() {
                let kept: Vec<usize> = inside
                    .iter()
                    .copied()
                    .filter(|&c| {
                        if is_lower {
                            x[c][d] >= bound
                        } else {
                            x[c][d] <= bound
                        }
                    })
                    .collect();
                if (kept.len() as f64) < MIN_MASS * n as f64 || kept.is_empty() {
                    continue;
                }
                let density =
                    kept.iter().filter(|&&c| interesting[c]).count() as f64 / kept.len() as f64;
                if best.as_ref().is_none_or(|b| density > b.0) {
                    best = Some((density, kept, d, is_lower, bound));
                }
            }
        }
        let Some((_, kept, d, is_lower, bound)) = best else {
            break;
        };
        inside = kept;
        if is_lower {
            bounds[d].0 = bound;
        } else {
            bounds[d].1 = bound;
        }
        steps.push(describe(&inside, steps.len(), bounds.clone()));
    }
    let base_rate = steps[0].density;
    let chosen = steps
        .iter()
        .filter(|s| s.coverage >= min_coverage)
        .fold(None::<&PrimStep>, |best, s| match best {
            Some(b) if b.density >= s.density => Some(b),
            _ => Some(s),
        })
        .map_or(0, |s| s.step);
    Ok(Prim {
        steps,
        chosen,
        base_rate,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prim_finds_the_corner_where_the_outcome_lives() {
        // 30 × 30 grid; interesting when x0 < 0.3 and x1 > 0.5, plus a little noise elsewhere.
        let mut x = Vec::new();
        let mut hit = Vec::new();
        for i in 0..30 {
            for j in 0..30 {
                let (a, b) = (i as f64 / 29.0, j as f64 / 29.0);
                x.push(vec![a, b, ((i * 7 + j * 3) % 11) as f64]);
                hit.push((a < 0.3 && b > 0.5) || (i * 31 + j * 17) % 23 == 0);
            }
        }
        let p = prim(&x, &hit, 0.8).unwrap();
        let chosen = &p.steps[p.chosen];
        assert!(chosen.density > 0.9, "{chosen:?}");
        assert!(chosen.coverage >= 0.8, "{chosen:?}");
        assert!(chosen.density > 3.0 * p.base_rate);
        assert!(chosen.bounds[0].1 < 0.35, "{chosen:?}");
        assert!(chosen.bounds[1].0 > 0.45, "{chosen:?}");
        // The third factor is irrelevant: left whole.
        assert_eq!(chosen.bounds[2], (0.0, 10.0));
        // Densities never fall along the trajectory's chosen peels' masses.
        for w in p.steps.windows(2) {
            assert!(w[1].mass < w[0].mass);
        }
        assert!(p.steps.last().unwrap().mass >= MIN_MASS);
        assert!(prim(&x, &vec![false; x.len()], 0.5).is_err());
    }
}
