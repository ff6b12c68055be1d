r"""Coverage versus cost: max cover solved over a range of budgets or site counts.

For each limit :math:`L_1 < L_2 < \dots` the problem

.. math::

    z(L) = \max \sum_i w_i y_i \quad\text{s.t.}\quad k_i y_i \le \sum_j a_{ij} x_j,\
    \sum_j c_j x_j \le L \ \ (\text{or } \sum_j x_j \le L),\ \text{all other constraints}

is solved in increasing order. The plan of :math:`L_t` is feasible for :math:`L_{t+1}`,
so it is passed as the warm start of the next solve and :math:`z` never decreases.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from siting._errors import ConfigError
from siting.optimize.backends import check_solver
from siting.optimize.problem import Quota, ZoneRequirement, make_problem
from siting.optimize.result import SolveResult
from siting.optimize.solve import SolveOptions, check_limits, solve_problem


@dataclass(frozen=True)
class ParetoFront:
    """Max-cover results over increasing limits.

    Attributes
    ----------
    kind
        "budget" or "max_sites".
    limits
        The limits, increasing.
    results
        One :class:`SolveResult` per limit.
    """

    kind: str
    limits: np.ndarray
    results: list[SolveResult] = field(default_factory=list)

    @property
    def objectives(self) -> np.ndarray:
        """Weighted coverage per limit."""
        return np.array([r.objective for r in self.results])

    @property
    def bounds(self) -> np.ndarray:
        """Proven upper bound per limit."""
        return np.array([r.bound for r in self.results])

    @property
    def n_sites(self) -> np.ndarray:
        """Number of selected sites per limit."""
        return np.array([r.n_selected for r in self.results])


def pareto_front(
    A: object,
    *,
    budgets: Sequence[float] | None = None,
    site_counts: Sequence[int] | None = None,
    weights: object = None,
    costs: object = None,
    k: object = None,
    zones: Sequence[ZoneRequirement] | None = None,
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
    work_limit: float | None = None,
) -> ParetoFront:
    """Solve max cover for each budget (or site count), warm-starting from the last plan.

    Parameters
    ----------
    A
        Demand x candidate coverage matrix.
    budgets, site_counts
        Exactly one of them: the limits to sweep.
    weights, costs, k, zones, fixed, forbidden, conflicts, quotas
        As in :func:`~siting.optimize.solve_matrix`.
    time_limit
        Seconds per point.
    mip_gap, solver, threads, seed, heuristic_only
        As in :func:`~siting.optimize.solve_matrix`.
    work_limit
        Work units per point instead of ``time_limit``'s seconds (see
        :func:`~siting.optimize.solve_matrix`).

    Returns
    -------
    ParetoFront
        Results in increasing order of the limit.
    """
    if (budgets is None) == (site_counts is None):
        raise ConfigError("pass exactly one of budgets or site_counts to pareto_front")
    check_solver(solver)
    check_limits(time_limit=time_limit, work_limit=work_limit)
    kind = "budget" if budgets is not None else "max_sites"
    limits = np.sort(np.asarray(budgets if budgets is not None else site_counts, dtype=float))
    if limits.size == 0 or (limits < 0).any():
        raise ConfigError(f"{kind} limits must be a non-empty list of values >= 0")
    base = make_problem(A, weights=weights, costs=costs, k=k, zones=zones, fixed=fixed,
                        forbidden=forbidden, conflicts=conflicts, quotas=quotas)
    opts = SolveOptions(time_limit=time_limit, mip_gap=mip_gap, solver=solver,
                        threads=threads, seed=seed, heuristic_only=heuristic_only,
                        work_limit=work_limit)
    results: list[SolveResult] = []
    start: list[np.ndarray] = []
    for lim in limits:
        prob = (replace(base, budget=float(lim)) if kind == "budget"
                else replace(base, max_sites=int(lim)))
        res = solve_problem(prob, opts, starts=start)
        results.append(res)
        start = [res.selected] if res.ok else []
    return ParetoFront(kind, limits, results)
