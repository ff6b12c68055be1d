"""Time the demo end to end, stage by stage, and report peak memory.

Usage: python scripts/bench_demo.py [--config data/jiading_demo.yaml] [--repeat 1] [--out DIR]

Targets (issue: foundation): the whole demo under 2 minutes on 2 cores after
install, peak memory under 3 GB, coverage matrix and model build a few seconds.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from pathlib import Path

from siting.config import load_config
from siting.demo import demo_config_path
from siting.outputs import write_plan
from siting.plan import make_plan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=demo_config_path())
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--time-limit", type=float, default=None)
    args = parser.parse_args()
    cfg = load_config(args.config)
    if args.time_limit:
        cfg.optimize.time_limit_s = args.time_limit
    totals, stages = [], {}
    for _ in range(args.repeat):
        start = time.perf_counter()
        plan = make_plan(cfg)
        with tempfile.TemporaryDirectory() as tmp:
            write_plan(plan, Path(tmp) / "plan")
        totals.append(time.perf_counter() - start)
        for name, sec in plan.timings.items():
            stages.setdefault(name, []).append(sec)
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(f"config: {args.config}")
    print(f"cells x candidates: {len(plan.demand):,} x {len(plan.candidates):,}")
    print(f"{'stage':<12s} {'median s':>9s}")
    for name, values in stages.items():
        print(f"{name:<12s} {statistics.median(values):9.2f}")
    for name, sec in plan.solve.get("timings", {}).items():
        print(f"  optimize.{name:<10s} {sec:9.2f}")
    print(f"{'total':<12s} {statistics.median(totals):9.2f}  (target < 120 s)")
    print(f"peak RSS: {peak_gb:.2f} GB (target < 3 GB)")
    v = plan.solve
    print(
        f"status {v['status']} ({v['stop_reason']}), objective {v['objective']:,.1f}, "
        f"bound {v['bound']:,.1f} ({v['bound_source']}), gap {v['gap']:.3%}"
    )


if __name__ == "__main__":
    main()
