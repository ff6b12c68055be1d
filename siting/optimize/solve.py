"""``solve_matrix``: heuristic, bounds and MIP over a sparse coverage matrix."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp

from siting._errors import ConfigError, PlanCheckError
from siting.optimize.backends import MipOutcome, check_solver, run_mip
from siting.optimize.bounds import best_bound
from siting.optimize.budget import Budget
from siting.optimize.capacity import (
    assignment_from,
    build_capacity_milp,
    evaluate_plan,
    served_share,
)
from siting.optimize.checker import check_problem, coverage_counts
from siting.optimize.diagnose import constraint_families, diagnose, relaxation_text
from siting.optimize.heuristics import heuristic
from siting.optimize.milp import Milp, build_milp, full_start
from siting.optimize.problem import Problem, Quota, ZoneRequirement, make_problem
from siting.optimize.reduce import Model, build_model
from siting.optimize.result import SolveResult, relative_gap

log = logging.getLogger(__name__)

_GAP_EPS = 1e-9


def solve_matrix(
    A: object,
    *,
    weights: object = None,
    costs: object = None,
    objective: str = "max_cover",
    max_sites: int | None = None,
    budget: float | None = None,
    coverage_target: float | None = None,
    k: object = None,
    zones: Sequence[ZoneRequirement] | None = None,
    fixed: object = None,
    forbidden: object = None,
    conflicts: object = None,
    quotas: Sequence[Quota] | None = None,
    time_limit: float | None = None,
    work_limit: float | None = None,
    mip_gap: float = 1e-4,
    solver: str = "cbc",
    threads: int | None = None,
    seed: int = 0,
    heuristic_only: bool = False,
    heuristic_time: float | None = None,
    start: object = None,
    capacity: object = None,
    demand: object = None,
) -> SolveResult:
    r"""Choose candidate columns of a sparse coverage matrix.

    Max cover maximises the weight of covered rows under a site count and/or budget;
    min cost minimises the cost of a plan meeting a weighted coverage target. Both keep
    every key zone at its service level. The formulation (see
    :mod:`siting.optimize.milp` for the full model):

    .. math::

        \max \sum_i w_i y_i \ \text{ or } \ \min \sum_j c_j x_j \quad \text{s.t.}\quad
        k_i y_i \le \sum_j a_{ij} x_j,\ \sum_j x_j \le p,\ \sum_j c_j x_j \le B,\
        \sum_i w_i y_i \ge t \sum_i w_i,\ \text{zones},\ x_j = 1\ (j \in F),\
        x_j = 0\ (j \in \bar F),\ x_a + x_b \le 1\ ((a,b) \in C),\ \text{quotas}.

    Steps: reductions, a greedy + swap heuristic (for min cost: greedy by cost per unit of
    remaining need, several rankings, redundant sites dropped), the tightest bound
    available (trivial, LP relaxation with HiGHS, Lagrangian relaxation; see
    :func:`~siting.optimize.bounds.best_bound`), then the MIP solver warm-started with the
    heuristic plan for whatever time is left (CBC is held to the wall-clock budget). Models
    above :data:`MIP_MAX_NNZ` non-zeros (a couple of square kilometres and up) spend that time in
    the window search instead (:mod:`siting.optimize.lns`: HiGHS re-solves about a hundred
    neighbouring candidates at a time, everything else fixed; 60 work units without a
    limit).
    The best plan is re-checked by :func:`~siting.optimize.check_solution` before it is
    returned.

    Parameters
    ----------
    A
        Demand x candidate coverage matrix (any scipy.sparse format; non-zero = covers).
    weights
        Weight of each row (default 1).
    costs
        Cost of each column (default 1). An existing site that may be upgraded is a
        column whose cost is its upgrade cost; one that is kept regardless is ``fixed``.
    objective
        "max_cover" or "min_cost".
    max_sites, budget
        Limits on the number and the total cost of selected columns (fixed ones count).
    coverage_target
        Fraction of the total weight that must be covered (needed for min_cost unless
        zones drive it; a hard floor for max_cover).
    k
        Sites needed to cover each row (int or array per row; default 1).
    zones
        Key zones with their hard service level.
    fixed, forbidden
        Columns that must / may not be selected.
    conflicts
        (m, 2) pairs of columns that may not both be selected (minimum spacing,
        exclusion lists); see :func:`~siting.optimize.spacing_conflicts`.
    quotas
        Minimum / maximum counts per group of columns.
    time_limit
        Seconds for the whole call (``None``: no limit). The searches spend it as work
        units (about a second each here; :mod:`siting.optimize.budget`), so a run that
        ends within it gives the same plan every time; the clock only stops a run on a
        slow or busy machine, and the result then says so (``reproducible``).
    work_limit
        Work units for the whole call instead of ``time_limit``'s seconds: with no time
        limit, the plan is the same on any machine under any load (the full MIP of a small
        model, which stops by the clock, gets as many seconds as units are left).
    mip_gap
        Relative gap at which the MIP stops.
    solver
        "cbc" or "highs".
    threads
        Threads for the MIP solver, and windows solved at once by the window search
        (default there: the cores, at most 4).
    seed
        Random seed given to the solver.
    heuristic_only
        Skip the MIP solver (heuristic plan with the best bound available).
    heuristic_time
        Work units (seconds) for the swap search (default: 30 % of the time limit, at most
        30 and, on instances under 100,000 non-zeros unless ``heuristic_only``, at most 10
        microseconds per non-zero).
    start
        Column indices of a known plan to warm-start from (used when feasible).
    capacity
        Demand units each column can serve (``inf`` for no limit); ``None`` (default)
        switches the capacitated model off. With it, demand is assigned fractionally to
        selected covering sites, the objective and target count weighted *served*
        demand, and the result holds the ``assignment``; see
        :mod:`siting.optimize.capacity` for the formulation. Medium instances only (one
        variable per non-zero of ``A``).
    demand
        Demand units of each row (default: the weights); capacity only.

    Returns
    -------
    SolveResult
        Infeasible problems give a result with status "infeasible" (no exception).

    Raises
    ------
    ConfigError
        For bad arguments.
    SolverError
        For an unknown or unavailable solver.
    PlanCheckError
        If a plan about to be returned breaks a hard rule (a bug, never expected).
    """
    t0 = time.perf_counter()
    check_solver(solver)
    check_limits(time_limit=time_limit, work_limit=work_limit)
    problem = make_problem(
        A, weights=weights, costs=costs, objective=objective, max_sites=max_sites,
        budget=budget, coverage_target=coverage_target, k=k, zones=zones, fixed=fixed,
        forbidden=forbidden, conflicts=conflicts, quotas=quotas, capacity=capacity,
        demand=demand,
    )
    opts = SolveOptions(time_limit=time_limit, mip_gap=float(mip_gap), solver=solver,
                        threads=threads, seed=int(seed), heuristic_only=heuristic_only,
                        heuristic_time=heuristic_time, work_limit=work_limit)
    starts = None if start is None else [np.asarray(start, dtype=np.int64)]
    return solve_problem(problem, opts, t0=t0, starts=starts)


def check_limits(**limits: object) -> None:
    """Raise :class:`ConfigError` unless every limit is ``None`` or a number >= 0."""
    for name, value in limits.items():
        if value is not None and not (isinstance(value, int | float) and value >= 0):
            raise ConfigError(f"{name} must be a number >= 0 (or None for no limit); got "
                              f"{value!r}")


@dataclass(frozen=True)
class SolveOptions:
    """Solver settings shared by every solve function."""

    time_limit: float | None = None
    mip_gap: float = 1e-4
    solver: str = "cbc"
    threads: int | None = None
    seed: int = 0
    heuristic_only: bool = False
    heuristic_time: float | None = None
    work_limit: float | None = None
    budget: Budget | None = None
    """A budget handed down by a caller that shares one among several solves (a
    rollout's years); it replaces ``time_limit`` and ``work_limit``."""


class _Clock:
    """Step timings, and the work budget of a solve (see :mod:`siting.optimize.budget`)."""

    def __init__(self, t0: float, limit: float | None, work: float | None = None,
                 budget: Budget | None = None) -> None:
        self.t0 = t0
        self.last = t0
        self.timings: dict[str, float] = {}
        self.budget = budget if budget is not None else Budget.for_limits(limit, work, t0)

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.timings[name] = self.timings.get(name, 0.0) + now - self.last
        self.last = now

    def left(self) -> float | None:
        """Seconds left for a MIP solver (see :meth:`Budget.solver_seconds`)."""
        return self.budget.solver_seconds()

    def share(self, frac: float, cap: float) -> float:
        left = self.budget.units_left()
        return cap if left is None else min(cap, frac * left)


def solve_problem(
    problem: Problem, opts: SolveOptions, *, t0: float | None = None,
    starts: list[np.ndarray] | None = None,
) -> SolveResult:
    """Solve a validated :class:`Problem` (the engine behind :func:`solve_matrix`)."""
    clock = _Clock(time.perf_counter() if t0 is None else t0, opts.time_limit, opts.work_limit,
                   opts.budget)
    clock.lap("validate")
    diag = diagnose(problem)
    clock.lap("diagnose")
    if diag.infeasible:
        return _infeasible(problem, diag.text(), diag.names, clock, opts, "presolve", "")
    if problem.capacity is not None:
        return _solve_capacitated(problem, opts, clock, starts)
    model = build_model(problem)
    clock.lap("reduce")
    htime = opts.heuristic_time if opts.heuristic_time is not None else _swap_time(
        model, clock, opts.heuristic_only)
    st = heuristic(model, time_limit=clock.budget.part(htime))
    heur_x = st.x.copy() if st.feasible() else None
    heur_x = _better_start(model, problem, heur_x, starts)
    clock.lap("heuristic")
    heur_obj = _value(problem, model, heur_x)
    bound, source, scores = _cheap_bound(model, heur_obj, clock)
    clock.lap("bound")
    outcome: MipOutcome | None = None
    need_mip = not opts.heuristic_only and (
        heur_x is None or relative_gap(heur_obj, bound) > opts.mip_gap)
    if need_mip and heur_x is not None and model.nnz > MIP_MAX_NNZ:
        heur_x, outcome = _window_search(model, heur_x, scores, opts, clock)
    elif need_mip:
        outcome = _run_mip(model, heur_x, opts, clock)
    return _finish(problem, model, heur_x, heur_obj, bound, source, outcome, opts, clock)


MIP_MAX_NNZ = 100_000
"""Above this many non-zeros (reduced model) the time left after the heuristic and the
bound goes to the window search (:mod:`siting.optimize.lns`) instead of the full MIP.
Measured on tiles of the district benchmark, 120 s each: min cost (95 %) at 85,000
non-zeros the window search 35 sites, HiGHS 35 (proven bound 33), CBC 36; at 157,000 the
window search 59, HiGHS 61, CBC 65 (the heuristic's plan); max cover (a site per 40
candidates) at 157,000 the window search 4.027 M, HiGHS and CBC 3.975 M (the heuristic's
plan). Both MIP solvers spend such time in the root (no node after 30 s on tiles of
81,000 and 84,000 non-zeros). Below this size they prove optimality (min cost at 22,000
non-zeros: HiGHS in 7 s, CBC in 2 s) or a bound beyond the LP (at 85,000: 33 against
32.7). Above two million non-zeros the MIP's root LP alone does not finish in minutes."""


def _window_search(model: Model, x: np.ndarray, scores: np.ndarray | None,
                   opts: SolveOptions, clock: _Clock) -> tuple[np.ndarray, MipOutcome]:
    """Improve the heuristic plan window by window for the time left."""
    from siting.optimize.lns import large_neighbourhood_search

    left = clock.budget.units_left()
    units = 60.0 if left is None else max(left - 1.0, 0.0)
    workers = opts.threads if opts.threads is not None else min(os.cpu_count() or 1, 4)
    x, stats = large_neighbourhood_search(model, x, time_limit=clock.budget.part(units),
                                          seed=opts.seed, scores=scores, workers=workers)
    clock.lap("window_search")
    raw = (f"window search: {stats.windows} windows solved with HiGHS, {stats.improved} "
           f"improved the plan")
    return x, MipOutcome("time_limit", raw, None, float("nan"), float("nan"), "highs")


_SMALL_NNZ = 100_000


def _swap_time(model: Model, clock: _Clock, heuristic_only: bool) -> float:
    """Default work units (seconds) for the swap search: 30 % of the units left, at most
    30; on a small instance (under 100,000 non-zeros) that the MIP solver follows, no more
    than 10 microseconds per non-zero (the solver is then quicker than a long search, while
    on larger ones a better start saves it more time than the search costs)."""
    cap = clock.share(0.3, 30.0)
    nnz = model.nnz
    if heuristic_only or nnz >= _SMALL_NNZ:
        return cap
    return min(cap, 0.05 + 1e-5 * nnz)


def _better_start(
    model: Model, problem: Problem, x: np.ndarray | None, starts: list[np.ndarray] | None
) -> np.ndarray | None:
    """Keep the best of the heuristic plan and any feasible given start."""
    best = x
    for s in starts or []:
        if check_problem(problem, s):
            continue
        pos = np.searchsorted(model.cols, s)
        pos = np.clip(pos, 0, max(model.n - 1, 0))
        if model.n == 0 or not np.array_equal(model.cols[pos], s):
            continue  # uses a column removed by the reductions
        cand = np.zeros(model.n, dtype=bool)
        cand[pos] = True
        if best is None or _better(model.objective, _value(problem, model, cand),
                                   _value(problem, model, best)):
            best = cand
    return best


def _better(objective: str, a: float, b: float) -> bool:
    return a > b if objective == "max_cover" else a < b


def _value(problem: Problem, model: Model, x: np.ndarray | None) -> float:
    """Real objective of a plan over kept columns, recomputed on the full matrix."""
    if x is None:
        return float("nan")
    sel = model.cols[x]
    if problem.objective == "min_cost":
        return float(problem.costs[sel].sum())
    cnt = coverage_counts(problem, sel)
    return float(problem.weights[cnt >= problem.k].sum())


def _cheap_bound(model: Model, heur_obj: float,
                 clock: _Clock) -> tuple[float, str, np.ndarray | None]:
    """Tightest bound from the trivial one, the LP relaxation and the Lagrangian (and the
    reduced costs of the columns, when the Lagrangian gave them)."""
    return best_bound(model, incumbent=heur_obj,
                      time_limit=clock.budget.part(clock.share(0.4, 60.0)))


def _run_mip(model: Model, x: np.ndarray | None, opts: SolveOptions,
             clock: _Clock) -> MipOutcome:
    milp = build_milp(model)
    start = None if x is None else full_start(model, milp, x.astype(np.float64))
    clock.lap("milp_build")
    left = clock.left()
    outcome = run_mip(opts.solver, milp, start, time_limit=left, mip_gap=opts.mip_gap,
                      threads=opts.threads, seed=opts.seed)
    if outcome.kind in ("time_limit", "no_solution"):
        clock.budget.stop_by_clock()  # a MIP solver stops by the wall clock
    clock.lap("mip")
    log.info("%s: %s", outcome.solver, outcome.raw_status)
    return outcome


def _finish(
    problem: Problem, model: Model, heur_x: np.ndarray | None, heur_obj: float, bound: float,
    source: str, out: MipOutcome | None, opts: SolveOptions, clock: _Clock,
) -> SolveResult:
    maxc = problem.objective == "max_cover"
    best_x, from_mip = heur_x, False
    if out is not None and out.x is not None and out.kind in ("optimal", "time_limit"):
        mx = out.x[:model.n] > 0.5
        if check_problem(problem, model.cols[mx]):
            log.warning("%s returned a plan that breaks hard rules; it is ignored", out.solver)
        elif heur_x is None or not _better(problem.objective, heur_obj,
                                           _value(problem, model, mx)):
            best_x, from_mip = mx, True
    if out is not None and np.isfinite(out.bound):
        mb = -out.bound if maxc else out.bound
        if (maxc and mb < bound) or (not maxc and mb > bound):
            bound, source = mb, "mip"
    if best_x is None:
        if out is not None and out.kind == "infeasible":
            names, text = _explain_infeasible(problem, opts)
            return _infeasible(problem, "The solver proved that no plan meets every hard "
                               "constraint together, though each zone is reachable on its "
                               "own. " + text, names, clock, opts, "infeasible",
                               out.raw_status)
        return _no_plan(problem, out, opts, clock, heur_obj)
    selected = np.sort(model.cols[best_x]).astype(np.int64)
    objective = _value(problem, model, best_x)
    bound = max(bound, objective) if maxc else min(bound, objective)
    gap = relative_gap(objective, bound)
    status, stop = _status(out, gap, opts, from_mip)
    problems = check_problem(problem, selected)
    clock.lap("check")
    if problems:
        raise PlanCheckError("the plan breaks hard constraints: " + "; ".join(problems))
    counts = coverage_counts(problem, selected)
    clock.timings["total"] = time.perf_counter() - clock.t0
    return SolveResult(
        selected=selected, objective=objective, bound=float(bound), bound_source=source,
        gap=gap, status=status, stop_reason=stop,
        solver="" if out is None else out.solver,
        solver_status="" if out is None else out.raw_status,
        message=_message(problem, status, stop, objective, bound, gap, selected.size,
                         clock.budget.clock_stopped),
        covered=counts >= problem.k, coverage_count=counts, heuristic_objective=heur_obj,
        timings=dict(clock.timings), reductions=dict(model.reductions),
        objective_name=problem.objective, reproducible=not clock.budget.clock_stopped,
    )


def _explain_infeasible(problem: Problem, opts: SolveOptions) -> tuple[list[str], str]:
    """Relax each constraint family in turn and report those whose removal helps."""
    families = constraint_families(problem)
    freeing = []
    for name, relaxed in families:
        if diagnose(relaxed).infeasible:
            continue
        model = build_model(relaxed)
        out = run_mip(opts.solver, build_milp(model), None, time_limit=5.0, mip_gap=1.0,
                      threads=opts.threads, seed=opts.seed)
        if out.kind in ("optimal", "time_limit") and out.x is not None:
            freeing.append(name)
    return freeing, relaxation_text(freeing, len(families))


def _status(out: MipOutcome | None, gap: float, opts: SolveOptions,
            from_mip: bool) -> tuple[str, str]:
    within = gap <= opts.mip_gap + _GAP_EPS
    exact = gap <= _GAP_EPS
    if out is None:
        if opts.heuristic_only:
            return ("optimal" if within else "feasible"), "heuristic_only"
        return "optimal", ("optimal" if exact else "gap_reached")
    if out.kind == "optimal" or within:
        return "optimal", ("optimal" if exact else "gap_reached")
    if out.kind in ("time_limit", "no_solution"):
        return "feasible", "time_limit"
    return "feasible", "solver_failed"


def _message(problem: Problem, status: str, stop: str, objective: float, bound: float,
             gap: float, nsel: int, clocked: bool = False) -> str:
    what = "weighted coverage" if problem.objective == "max_cover" else "cost"
    side = "upper" if problem.objective == "max_cover" else "lower"
    head = {"optimal": "Optimal plan", "feasible": "Feasible plan"}[status]
    why = {"optimal": "proven optimal", "gap_reached": "within the requested gap",
           "time_limit": "time limit reached", "heuristic_only": "heuristic only",
           "solver_failed": "the MIP solver failed, heuristic plan kept"}[stop]
    text = (f"{head} with {nsel} sites: {what} {objective:.6g}, proven {side} bound "
            f"{bound:.6g}, gap {gap:.3%} ({why}).")
    if clocked:
        text += " Stopped by the wall clock: a repeated run may give another plan."
    return text


def _empty(problem: Problem, status: str, stop: str, message: str, clock: _Clock,
           opts: SolveOptions, raw: str, diagnosis: str, names: list[str],
           heur_obj: float = float("nan")) -> SolveResult:
    m = problem.shape[0]
    clock.timings["total"] = time.perf_counter() - clock.t0
    inf = float("inf") if problem.objective == "max_cover" else float("-inf")
    return SolveResult(
        selected=np.zeros(0, dtype=np.int64), objective=float("nan"), bound=inf,
        bound_source="trivial", gap=float("inf"), status=status, stop_reason=stop,
        solver="" if not raw else opts.solver, solver_status=raw, message=message,
        covered=np.zeros(m, dtype=bool), coverage_count=np.zeros(m, dtype=np.int64),
        heuristic_objective=heur_obj, timings=dict(clock.timings), diagnosis=diagnosis,
        infeasible_zones=names, objective_name=problem.objective,
        reproducible=not clock.budget.clock_stopped,
    )


def _infeasible(problem: Problem, diagnosis: str, names: list[str], clock: _Clock,
                opts: SolveOptions, stop: str, raw: str) -> SolveResult:
    what = ", ".join(repr(n) for n in names) if names else "the constraints together"
    msg = f"No plan can meet every hard constraint: {what} cannot be satisfied."
    return _empty(problem, "infeasible", stop, msg, clock, opts, raw, diagnosis, names)


def _no_plan(problem: Problem, out: MipOutcome | None, opts: SolveOptions, clock: _Clock,
             heur_obj: float) -> SolveResult:
    if out is None:
        msg = ("The heuristic found no plan meeting every hard constraint and the MIP "
               "solver was not run (heuristic_only); run without heuristic_only.")
        stop = "heuristic_only"
    else:
        msg = (f"Neither the heuristic nor {out.solver} ({out.raw_status}) found a plan "
               "meeting every hard constraint; raise time_limit or relax constraints.")
        stop = "time_limit" if out.kind in ("time_limit", "no_solution") else "solver_failed"
    return _empty(problem, "no_solution", stop, msg, clock, opts,
                  "" if out is None else out.raw_status, "", [], heur_obj)


# -- capacitated -----------------------------------------------------------------------
def _solve_capacitated(problem: Problem, opts: SolveOptions, clock: _Clock,
                       starts: list[np.ndarray] | None) -> SolveResult:
    """Heuristic plan of the uncapacitated problem, repaired by the capacitated MIP."""
    free = replace(problem, capacity=None, demand=None)
    model = build_model(free)
    clock.lap("reduce")
    st = heuristic(model, time_limit=clock.budget.part(clock.share(0.2, 10.0)))
    heur_x = _better_start(model, free, st.x.copy() if st.feasible() else None, starts)
    clock.lap("heuristic")
    bound, source, _ = _cheap_bound(model, _value(free, model, heur_x), clock)
    clock.lap("bound")
    best, heur_obj = None, float("nan")
    if heur_x is not None:
        vec, lay, milp = evaluate_plan(problem, model.cols[heur_x], time_limit=clock.left())
        if vec is not None:
            best, heur_obj = (vec, lay, milp), _capacity_value(problem, milp, vec)
    clock.lap("heuristic")
    out = None
    if not opts.heuristic_only and (best is None or relative_gap(heur_obj, bound) > opts.mip_gap):
        milp, lay = build_capacity_milp(problem)
        clock.lap("milp_build")
        startv = None if best is None else best[0]
        out = run_mip(opts.solver, milp, startv, time_limit=clock.left(), mip_gap=opts.mip_gap,
                      threads=opts.threads, seed=opts.seed)
        if out.kind in ("time_limit", "no_solution"):
            clock.budget.stop_by_clock()
        clock.lap("mip")
        maxc = problem.objective == "max_cover"
        if out.x is not None and out.kind in ("optimal", "time_limit"):
            val = _capacity_value(problem, milp, out.x)
            if best is None or _better(problem.objective, val, heur_obj) or (
                    val == heur_obj):
                best = (out.x, lay, milp)
        if np.isfinite(out.bound):
            mb = -out.bound if maxc else out.bound
            if (maxc and mb < bound) or (not maxc and mb > bound):
                bound, source = mb, "mip"
        if best is None and out.kind == "infeasible":
            names, text = ["capacity"], ("The solver proved that no assignment of demand "
                                         "within the site capacities meets every hard rule; "
                                         "raise capacities or lower the target or zones.")
            return _infeasible(problem, text, names, clock, opts, "infeasible", out.raw_status)
    if best is None:
        return _no_plan(problem, out, opts, clock, heur_obj)
    return _capacity_result(problem, best, bound, source, out, heur_obj, opts, clock)


def _capacity_value(problem: Problem, milp: Milp, vec: np.ndarray) -> float:
    return float(milp.sign * (milp.c @ vec))


def _capacity_result(problem: Problem, best: tuple, bound: float, source: str,
                     out: MipOutcome | None, heur_obj: float, opts: SolveOptions,
                     clock: _Clock) -> SolveResult:
    vec, lay, _milp = best
    selected = np.flatnonzero(vec[:lay.n] > 0.5).astype(np.int64)
    asg = assignment_from(lay, vec)
    x = np.zeros(lay.n)
    x[selected] = 1.0
    asg = sp.csr_array(asg.multiply(x[None, :]))  # no demand on unselected columns
    counts = coverage_counts(problem, selected)
    share = served_share(problem, counts, asg)
    maxc = problem.objective == "max_cover"
    objective = float(problem.weights @ share) if maxc else float(problem.costs[selected].sum())
    bound = max(bound, objective) if maxc else min(bound, objective)
    gap = relative_gap(objective, bound)
    from_mip = out is not None and out.x is not None and vec is out.x
    status, stop = _status(out, gap, opts, from_mip)
    problems = check_problem(problem, selected, assignment=asg)
    clock.lap("check")
    if problems:
        raise PlanCheckError("the capacitated plan breaks hard constraints: "
                             + "; ".join(problems))
    clock.timings["total"] = time.perf_counter() - clock.t0
    return SolveResult(
        selected=selected, objective=objective, bound=float(bound), bound_source=source,
        gap=gap, status=status, stop_reason=stop,
        solver="" if out is None else out.solver,
        solver_status="" if out is None else out.raw_status,
        message=_message(problem, status, stop, objective, bound, gap, selected.size,
                         clock.budget.clock_stopped),
        covered=counts >= problem.k, coverage_count=counts, heuristic_objective=heur_obj,
        timings=dict(clock.timings), reductions={}, objective_name=problem.objective,
        assignment=asg, served=share, reproducible=not clock.budget.clock_stopped,
    )
