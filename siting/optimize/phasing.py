r"""Multi-year phasing: which site is built in which year.

Joint formulation, with :math:`x_{jt} = 1` when site :math:`j` is built by the end of
year :math:`t` (:math:`t = 1..T`) and :math:`y_{it}` covered in year :math:`t`:

.. math::

    \max \sum_t \sum_i w_i y_{it} \ \ (\text{or } \min \sum_j c_j x_{jT})
    \quad\text{s.t.}\quad
    x_{j,t-1} \le x_{jt}\ \ (\text{built stays built}),\quad
    k_i y_{it} \le \sum_j a_{ij} x_{jt},

.. math::

    \sum_j x_{jt} \le P_t,\quad
    \sum_j c_j (x_{jt} - x_{j,t-1}) \le B_t,\quad
    \sum_i w_i y_{it} \ge T_t \sum_i w_i,\quad
    \text{zones of every year } s \le t \text{ met in year } t.

It is solved by a rolling decomposition that scales to the district: year 1 is solved
with the zones due in year 1 (key zones first), then each following year is solved with
every site built so far fixed, its cumulative site count :math:`P_t`, a budget of the
fixed sites' cost plus :math:`B_t`, and its cumulative target. Each year's plan is
optimal (or has a proven gap) given the earlier years; the sequence is not guaranteed
jointly optimal, which each year's message states.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from siting._errors import ConfigError
from siting.optimize.problem import Problem, Quota, ZoneRequirement, make_problem
from siting.optimize.result import SolveResult
from siting.optimize.solve import SolveOptions, solve_problem

NOT_SELECTED = -1
EXISTING = 0


@dataclass(frozen=True)
class PhasedResult:
    """Rollout plan over several years.

    Attributes
    ----------
    years
        The years, in order.
    year_of
        Per column: the year it is built, ``EXISTING`` (0) for fixed (existing) sites,
        ``NOT_SELECTED`` (-1) otherwise.
    results
        One :class:`SolveResult` per year solved (cumulative plan of that year).
    status
        "optimal" if every year is optimal, "feasible", or the first failing status.
    message
        One sentence.
    """

    years: list[int]
    year_of: np.ndarray
    results: list[SolveResult] = field(default_factory=list)
    status: str = "feasible"
    message: str = ""

    def selected(self, year: int | None = None) -> np.ndarray:
        """Columns built by the end of ``year`` (default: the last year), existing included."""
        y = self.years[-1] if year is None else year
        return np.flatnonzero((self.year_of != NOT_SELECTED) & (self.year_of <= y))


def _per_year(values: Sequence[float] | None, n: int, name: str) -> list[float | None]:
    if values is None:
        return [None] * n
    vals = list(values)
    if len(vals) != n:
        raise ConfigError(f"{name} has {len(vals)} values for {n} years; give one per year")
    return vals


def solve_phased(
    A: object,
    *,
    years: Sequence[int],
    cumulative_sites: Sequence[int] | None = None,
    yearly_budget: Sequence[float] | None = None,
    cumulative_target: Sequence[float] | None = None,
    zones_by_year: Mapping[int, Sequence[ZoneRequirement]] | None = None,
    objective: str = "max_cover",
    weights: object = None,
    costs: object = None,
    k: object = None,
    fixed: object = None,
    forbidden: object = None,
    conflicts: object = None,
    quotas: Sequence[Quota] | None = None,
    time_limit: float | None = None,
    mip_gap: float = 1e-4,
    solver: str = "cbc",
    threads: int | None = None,
    seed: int = 0,
    heuristic_only: bool = False,
) -> PhasedResult:
    """Plan a multi-year rollout (see the module docstring for the formulation).

    Parameters
    ----------
    A
        Demand x candidate coverage matrix.
    years
        Years in increasing order, e.g. ``[2020, 2021]``.
    cumulative_sites
        Maximum number of sites built by the end of each year (existing included).
    yearly_budget
        Budget for new sites in each year.
    cumulative_target
        Weighted coverage fraction required by the end of each year.
    zones_by_year
        Key zones due by each year; they stay required in later years.
    objective, weights, costs, k, fixed, forbidden, conflicts, quotas
        As in :func:`~siting.optimize.solve_matrix`.
    time_limit
        Seconds for the whole rollout, shared equally between the years.
    mip_gap, solver, threads, seed, heuristic_only
        As in :func:`~siting.optimize.solve_matrix`.

    Returns
    -------
    PhasedResult
        The year of every selected column and each year's result.
    """
    from siting.optimize.backends import check_solver

    check_solver(solver)
    yrs = [int(y) for y in years]
    if not yrs or yrs != sorted(set(yrs)):
        raise ConfigError(f"years must be non-empty and strictly increasing, got {yrs}")
    zby = dict(zones_by_year or {})
    unknown = sorted(set(zby) - set(yrs))
    if unknown:
        raise ConfigError(f"zones_by_year has years {unknown} not in years {yrs}")
    sites = _per_year(cumulative_sites, len(yrs), "cumulative_sites")
    budgets = _per_year(yearly_budget, len(yrs), "yearly_budget")
    targets = _per_year(cumulative_target, len(yrs), "cumulative_target")
    base = make_problem(A, weights=weights, costs=costs, objective=objective, k=k,
                        fixed=fixed, forbidden=forbidden, conflicts=conflicts, quotas=quotas,
                        coverage_target=next((t for t in targets if t is not None), None),
                        zones=[z for y in yrs for z in zby.get(y, [])])
    per = None if time_limit is None else time_limit / len(yrs)
    opts = SolveOptions(time_limit=per, mip_gap=mip_gap, solver=solver, threads=threads,
                        seed=seed, heuristic_only=heuristic_only)
    year_of = np.full(base.shape[1], NOT_SELECTED, dtype=np.int64)
    year_of[base.fixed] = EXISTING
    results: list[SolveResult] = []
    built = base.fixed.copy()
    for i, y in enumerate(yrs):
        prob = _year_problem(base, built, zby, yrs[: i + 1], sites[i], budgets[i], targets[i])
        res = solve_problem(prob, opts, starts=[np.flatnonzero(built)])
        results.append(res)
        if not res.ok:
            return PhasedResult(yrs, year_of, results, res.status,
                                f"year {y}: {res.message} {res.diagnosis}".strip())
        new = np.zeros_like(built)
        new[res.selected] = True
        year_of[new & ~built] = y
        built = new
    status = "optimal" if all(r.status == "optimal" for r in results) else "feasible"
    msg = (f"{int((year_of > 0).sum())} new sites over {len(yrs)} years; each year "
           f"{'optimal' if status == 'optimal' else 'feasible'} given the years before it "
           "(rolling plan, not proven jointly optimal).")
    return PhasedResult(yrs, year_of, results, status, msg)


def _year_problem(
    base: Problem, built: np.ndarray, zby: Mapping[int, Sequence[ZoneRequirement]],
    upto: list[int], max_sites: int | None, budget: float | None, target: float | None,
) -> Problem:
    zones = tuple(z for y in upto for z in base.zones
                  if any(z.name == o.name for o in zby.get(y, [])))
    if max_sites is not None and max_sites < int(built.sum()):
        raise ConfigError(f"cumulative_sites for year {upto[-1]} ({max_sites}) is below the "
                          f"{int(built.sum())} sites already built; cumulative counts must grow")
    spent = float(base.costs[built].sum())
    return replace(
        base, fixed=built.copy(), zones=zones,
        max_sites=None if max_sites is None else int(max_sites),
        budget=None if budget is None else spent + float(budget),
        coverage_target=None if target is None else float(target),
    )
