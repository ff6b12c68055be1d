"""District-scale benchmark of the optimisation engine (prints figures, not a test).

A synthetic district: a 45 m demand grid over 21 x 22 km (228,363 cells, or another with
--cell), population weights concentrated around town centres, 50,000 candidates placed
more densely where people live, 250 m coverage radius. Runs max cover with 3,000 sites,
then min cost for 95 % coverage with a few key zones (one at k = 2), and prints
time-to-gap lines (the window search logs its plan value every minute), a digest of the
plan (equal digests on two runs: the same plan) and the peak resident memory.

    python scripts/bench_district.py [--cell 45] [--candidates 50000] [--time-limit 600]
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import resource
import time

import numpy as np
import scipy.sparse as sp
from scipy.spatial import cKDTree

from siting.optimize import ZoneRequirement, solve_matrix


def district(cell: float, n_cand: int, radius: float, seed: int = 0):
    """Coverage matrix, weights and demand points of a synthetic district."""
    rng = np.random.default_rng(seed)
    xs, ys = np.arange(cell / 2, 21000, cell), np.arange(cell / 2, 22000, cell)
    X, Y = np.meshgrid(xs, ys)
    pts = np.column_stack([X.ravel(), Y.ravel()])
    centres = rng.uniform([2000, 2000], [19000, 20000], (12, 2))
    scale = rng.uniform(800, 2500, 12)
    dens = np.zeros(len(pts))
    for c, s in zip(centres, scale, strict=True):
        dens += np.exp(-((pts - c) ** 2).sum(axis=1) / (2 * s * s))
    w = np.round(rng.lognormal(0, 0.5, len(pts)) * (5 + 1000 * dens))
    p = dens + 0.05
    idx = rng.choice(len(pts), n_cand, p=p / p.sum())
    cand = pts[idx] + rng.uniform(-cell / 2, cell / 2, (n_cand, 2))
    lists = cKDTree(pts).query_ball_point(cand, radius)
    lens = np.fromiter((len(v) for v in lists), dtype=np.int64, count=n_cand)
    rows = np.concatenate([np.asarray(v, dtype=np.int64) for v in lists])
    cols = np.repeat(np.arange(n_cand), lens)
    A = sp.csr_array((np.ones(rows.size), (rows, cols)), shape=(len(pts), n_cand))
    return A, w, pts, cand


def key_zones(pts: np.ndarray) -> list[ZoneRequirement]:
    """The district's key zones: a core and a hospital fully covered, a test road 95 %
    covered by at least two sites."""
    zones = []
    for name, (x, y), r, k in (("auto-city core", (6000, 9000), 1200, 1),
                              ("ICV test road", (5000, 8000), 300, 2),
                              ("hospital", (14000, 12000), 400, 1)):
        rows = np.flatnonzero(((pts - (x, y)) ** 2).sum(axis=1) < r * r)
        zones.append(ZoneRequirement(name, rows, 1.0 if k == 1 else 0.95, k=k))
    return zones


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def report(label: str, res, t_build: float) -> None:
    print(f"{label}: status={res.status} stop={res.stop_reason} sites={res.n_selected} "
          f"objective={res.objective:,.0f} heuristic={res.heuristic_objective:,.0f} "
          f"bound={res.bound:,.0f} ({res.bound_source}) gap={res.gap:.3%} "
          f"reproducible={res.reproducible}")
    digest = hashlib.sha256(np.sort(res.selected).astype(np.int64).tobytes()).hexdigest()
    print(f"  plan digest (sha256 of the sorted selected columns): {digest[:16]}")
    t = res.timings
    run = 0.0
    for step in ("validate", "diagnose", "reduce", "heuristic", "bound", "milp_build", "mip",
                 "window_search", "check"):
        if step in t:
            run += t[step]
            print(f"  t={t_build + run:7.1f}s  after {step:<10} ({t[step]:.1f}s)")
    print(f"  reductions: {res.reductions}")
    if res.solver_status:
        print(f"  solver: {res.solver_status}")
    print(f"  time to gap {res.gap:.3%}: {t_build + t['total']:.1f}s "
          f"(matrix build {t_build:.1f}s); peak RSS {peak_rss_gb():.2f} GB")


def tile(A, w, pts, side: float, time_limit: float, solver: str) -> None:
    """Min cost (95 %) on one tile: how far are the LP, the heuristic and the window search
    from what the full MIP can prove on a problem small enough for it?"""
    from siting.optimize.bounds import lp_relaxation
    from siting.optimize.problem import make_problem
    from siting.optimize.reduce import build_model

    x0, y0 = 5000.0, 7000.0  # the dense centre of the synthetic district
    rows = np.flatnonzero((pts[:, 0] >= x0) & (pts[:, 0] < x0 + side)
                          & (pts[:, 1] >= y0) & (pts[:, 1] < y0 + side))
    B = A[rows]
    cols = np.flatnonzero(np.diff(B.tocsc().indptr) > 0)
    B, wt = sp.csr_array(B[:, cols]), w[rows]
    print(f"tile {side / 1000:.1f} km: {B.shape[0]:,} x {B.shape[1]:,}, {B.nnz:,} non-zeros")
    kw = {"weights": wt, "objective": "min_cost", "coverage_target": 0.95}
    lp = lp_relaxation(build_model(make_problem(B, **kw)), time_limit=time_limit,
                       method="simplex")
    print(f"  LP relaxation: {lp.value:.2f} ({lp.status})")
    h = solve_matrix(B, heuristic_only=True, time_limit=time_limit, **kw)
    print(f"  heuristic: {h.objective:.0f} in {h.timings['total']:.1f}s")
    import siting.optimize.solve as engine

    limit, engine.MIP_MAX_NNZ = engine.MIP_MAX_NNZ, 0  # force the window search
    ws = solve_matrix(B, time_limit=min(time_limit, 120.0), **kw)
    engine.MIP_MAX_NNZ = limit
    print(f"  window search: {ws.objective:.0f} in {ws.timings['total']:.1f}s")
    full = solve_matrix(B, time_limit=time_limit, solver=solver, **kw)
    print(f"  full MIP ({solver}): {full.objective:.0f}, proven bound {full.bound:.2f} "
          f"({full.bound_source}), gap {full.gap:.2%}, {full.status}/{full.stop_reason}, "
          f"{full.timings['total']:.0f}s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cell", type=float, default=45.0)
    ap.add_argument("--candidates", type=int, default=50_000)
    ap.add_argument("--radius", type=float, default=250.0)
    ap.add_argument("--sites", type=int, default=3000)
    ap.add_argument("--time-limit", type=float, default=600.0)
    ap.add_argument("--swap-time", type=float, default=None,
                    help="seconds for the swap search (default: the engine's own share)")
    ap.add_argument("--solver", default="highs")
    ap.add_argument("--heuristic-only", action="store_true",
                    help="stop after the heuristic and the bound (no window search)")
    ap.add_argument("--objective", choices=("both", "max_cover", "min_cost"), default="both")
    ap.add_argument("--tile", type=float, default=0.0, metavar="KM",
                    help="instead: min cost on one KM x KM tile of the dense centre, to compare "
                         "the LP bound, the heuristic, the window search and the full MIP")
    args = ap.parse_args()
    logging.basicConfig(format="  %(asctime)s %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("siting.optimize.lns").setLevel(logging.INFO)
    t0 = time.perf_counter()
    A, w, pts, _ = district(args.cell, args.candidates, args.radius)
    t_build = time.perf_counter() - t0
    print(f"instance: {A.shape[0]:,} rows x {A.shape[1]:,} columns, {A.nnz:,} non-zeros, "
          f"total weight {w.sum():,.0f}, built in {t_build:.1f}s")
    if args.tile:
        tile(A, w, pts, args.tile * 1000.0, args.time_limit, args.solver)
        return
    if args.objective in ("both", "max_cover"):
        res = solve_matrix(A, weights=w, max_sites=args.sites, time_limit=args.time_limit,
                           solver=args.solver, heuristic_only=args.heuristic_only,
                           heuristic_time=args.swap_time)
        report(f"max_cover p={args.sites}", res, t_build)
    if args.objective == "max_cover":
        return
    zones = key_zones(pts)
    res2 = solve_matrix(A, weights=w, objective="min_cost", coverage_target=0.95, zones=zones,
                        time_limit=args.time_limit, solver=args.solver,
                        heuristic_only=args.heuristic_only, heuristic_time=args.swap_time)
    report("min_cost target 95% + 3 key zones", res2, t_build)


if __name__ == "__main__":
    main()
