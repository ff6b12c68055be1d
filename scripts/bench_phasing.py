"""Compare the joint and the rolling multi-year rollout on the demo's coverage matrix.

Usage: python scripts/bench_phasing.py [--time-limit 120] [--solver highs]
       [--sites 2000 3000] [--budgets 250e6 150e6] [--district]

Plans 2020 and 2021 (cumulative site caps, yearly budgets, the key zones due in 2020)
with ``method="rolling"`` and with ``method="joint"``, and prints for each: seconds,
coverage summed over the years (the joint objective), its proven bound and gap, which
pass gave a rolling plan, and each year's sites, weighted coverage and own bound.

With ``--district`` it plans the synthetic district of ``bench_district.py`` (228,363
cells x 50,000 candidates, its three key zones due in 2020, no budgets) by the rolling
method only: the joint MIP is far beyond reach at that size.
"""

from __future__ import annotations

import argparse
import logging
import time

from siting.config import load_config
from siting.demo import demo_config_path
from siting.optimize import solve_phased
from siting.plan import hard_constraints, prepare


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-limit", type=float, default=120.0)
    parser.add_argument("--solver", default="highs")
    parser.add_argument("--sites", type=int, nargs=2, default=[2000, 3000])
    parser.add_argument("--budgets", type=float, nargs=2, default=[250e6, 150e6])
    parser.add_argument("--district", action="store_true",
                        help="the synthetic district of bench_district.py, rolling only")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.district:
        district_rollout(args)
        return
    cfg = load_config(demo_config_path())
    inputs = prepare(cfg)
    hard = hard_constraints(inputs, cfg)
    zones = hard.pop("zones")
    for key in ("max_sites", "budget", "coverage_target"):
        hard.pop(key)
    A = inputs.coverage.A
    print(f"matrix {A.shape[0]:,} x {A.shape[1]:,}, {A.nnz:,} non-zeros; "
          f"limit {args.time_limit:.0f} s, {args.solver}")
    for method in ("rolling", "joint"):
        t0 = time.perf_counter()
        res = solve_phased(A, years=[2020, 2021], cumulative_sites=args.sites,
                           yearly_budget=args.budgets, zones_by_year={2020: zones},
                           time_limit=args.time_limit, mip_gap=cfg.optimize.mip_gap,
                           solver=args.solver, method=method, **hard)
        report(method, res, time.perf_counter() - t0)


def report(method: str, res, sec: float) -> None:
    """Print a rollout: joint objective, bound, gap, and each year."""
    how = f" ({res.direction} pass)" if res.direction else ""
    print(f"{method:8s} {sec:6.1f} s  {res.status:9s} coverage-years {res.objective:,.0f}"
          f"  bound {res.bound:,.0f}  gap {res.gap:.3%}{how}"
          f"{'' if res.reproducible else '  (stopped by the clock)'}")
    own = res.year_bounds or (float("nan"),) * len(res.years)
    for year, r, b in zip(res.years, res.results, own, strict=True):
        print(f"         {year}: {r.n_selected:,} sites, weighted coverage {r.objective:,.0f}"
              f" (bound in the plan {r.bound:,.0f}, {r.bound_source}; of the year alone "
              f"{b:,.0f})")


def district_rollout(args: argparse.Namespace) -> None:
    """The rolling rollout on the synthetic district (see the module docstring)."""
    from bench_district import district, key_zones

    A, w, pts, _ = district(45.0, 50_000, 250.0)
    zones = key_zones(pts)
    print(f"district {A.shape[0]:,} x {A.shape[1]:,}, {A.nnz:,} non-zeros; "
          f"limit {args.time_limit:.0f} s, {args.solver}")
    t0 = time.perf_counter()
    res = solve_phased(A, years=[2020, 2021], cumulative_sites=args.sites, weights=w,
                       zones_by_year={2020: zones}, time_limit=args.time_limit,
                       solver=args.solver, method="rolling")
    report("rolling", res, time.perf_counter() - t0)


if __name__ == "__main__":
    main()
