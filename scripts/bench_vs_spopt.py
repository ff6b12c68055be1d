"""Side-by-side benchmark: PySAL spopt MCLP versus siting.optimize.solve_matrix.

spopt is not a dependency of this project. Install it for measurement into a separate
folder and point SPOPT_PATH at it (it is appended to sys.path so the project's own
numpy / scipy stay in use):

    pip install --target /some/dir spopt
    SPOPT_PATH=/some/dir python scripts/bench_vs_spopt.py --sizes small,medium

Without spopt the script still runs our side and says so. Sizes:
small 2,000 x 1,000 (p=100), medium 10,000 x 4,000 (p=400), large 11,500 x 5,000
(p=500; 400 m radius on a 200 m grid over 21 x 22 km; spopt needs about 9 minutes).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
import scipy.sparse as sp
from scipy.spatial import cKDTree

from siting.optimize import solve_matrix

SIZES = {
    "small": (2000, 1000, 100),
    "medium": (10000, 4000, 400),
    "large": (11550, 5000, 500),
}


def instance(name: str, seed: int = 0):
    """Demand points, candidate points, weights and radius of a named size."""
    m, n, p = SIZES[name]
    rng = np.random.default_rng(seed)
    radius = 400.0
    if name == "large":
        xs, ys = np.arange(100, 21000, 200.0), np.arange(100, 22000, 200.0)
        X, Y = np.meshgrid(xs, ys)
        dem = np.column_stack([X.ravel(), Y.ravel()])
    else:
        side = np.sqrt(m) * 200.0  # same density as the 200 m grid
        dem = rng.uniform(0, side, (m, 2))
    lo, hi = dem.min(axis=0), dem.max(axis=0)
    cand = rng.uniform(lo, hi, (n, 2))
    w = rng.integers(1, 1000, dem.shape[0]).astype(float)
    return dem, cand, w, radius, p


def ours(dem, cand, w, radius, p, time_limit, solver):
    t0 = time.perf_counter()
    pairs = cKDTree(cand).query_ball_tree(cKDTree(dem), radius)
    lens = np.fromiter((len(v) for v in pairs), dtype=np.int64, count=len(pairs))
    rows = np.concatenate([np.asarray(v, dtype=np.int64) for v in pairs])
    cols = np.repeat(np.arange(len(pairs)), lens)
    A = sp.csr_array((np.ones(rows.size), (rows, cols)), shape=(len(dem), len(cand)))
    build = time.perf_counter() - t0
    res = solve_matrix(A, weights=w, max_sites=p, time_limit=time_limit, solver=solver)
    return build, res.timings["total"], res.objective, res.bound, res


def spopt_run(dem, cand, w, radius, p, time_limit):
    import pulp
    from scipy.spatial.distance import cdist
    from spopt.locate import MCLP

    t0 = time.perf_counter()
    cost = cdist(dem, cand)
    model = MCLP.from_cost_matrix(cost, w, radius, p_facilities=p, name="bench")
    build = time.perf_counter() - t0
    t1 = time.perf_counter()
    model.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit))
    solve = time.perf_counter() - t1
    chosen = np.array([i for i, v in enumerate(model.fac_vars) if (v.value() or 0) > 0.5])
    covered = (cost[:, chosen] <= radius).any(axis=1) if chosen.size else np.zeros(len(dem))
    status = pulp.LpStatus[model.problem.status]
    return build, solve, float(w[covered].sum()), status


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="small,medium", help="comma list of small,medium,large")
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--solver", default="cbc")
    ap.add_argument("--no-spopt", action="store_true")
    args = ap.parse_args()
    if os.environ.get("SPOPT_PATH"):
        sys.path.append(os.environ["SPOPT_PATH"])
    have = False
    if not args.no_spopt:
        try:
            import spopt  # noqa: F401
            have = True
        except ImportError:
            print("spopt is not installed: only our side is measured (see the docstring)")
    for name in args.sizes.split(","):
        dem, cand, w, radius, p = instance(name)
        print(f"\n== {name}: {len(dem):,} demand x {len(cand):,} candidates, p={p}, "
              f"radius {radius:.0f} m, time limit {args.time_limit:.0f}s")
        b, s, obj, bound, res = ours(dem, cand, w, radius, p, args.time_limit, args.solver)
        print(f"ours ({args.solver}): build {b:.2f}s  solve {s:.2f}s  objective {obj:,.0f}  "
              f"bound {bound:,.0f} ({res.bound_source})  gap {res.gap:.3%}  "
              f"status {res.status}/{res.stop_reason}  heuristic {res.heuristic_objective:,.0f}"
              f" ({res.timings.get('heuristic', 0):.2f}s)")
        sys.stdout.flush()
        if have:
            b2, s2, obj2, st2 = spopt_run(dem, cand, w, radius, p, args.time_limit)
            print(f"spopt MCLP (CBC via PuLP): build {b2:.2f}s  solve {s2:.2f}s  objective "
                  f"{obj2:,.0f}  bound n/a  PuLP status {st2!r}")
            print(f"ratio total time spopt/ours: {(b2 + s2) / max(b + s, 1e-9):.1f}x; "
                  f"objective ours - spopt: {obj - obj2:+,.0f}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
