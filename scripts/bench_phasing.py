"""Compare the joint and the rolling multi-year rollout on the demo's coverage matrix.

Usage: python scripts/bench_phasing.py [--time-limit 120] [--solver highs]
       [--sites 2000 3000] [--budgets 250e6 150e6]

Plans 2020 and 2021 (cumulative site caps, yearly budgets, the key zones due in 2020)
with ``method="rolling"`` and with ``method="joint"``, and prints for each: seconds,
coverage summed over the years (the joint objective), its proven bound and gap when
there is one, and each year's sites and weighted coverage.
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
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
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
        sec = time.perf_counter() - t0
        print(f"{method:8s} {sec:6.1f} s  {res.status:9s} coverage-years {res.objective:,.0f}"
              f"  bound {res.bound:,.0f}  gap {res.gap:.3%}")
        for year, r in zip(res.years, res.results, strict=True):
            print(f"         {year}: {r.n_selected:,} sites, weighted coverage "
                  f"{r.objective:,.0f} (bound of the year {r.bound:,.0f}, {r.bound_source})")


if __name__ == "__main__":
    main()
