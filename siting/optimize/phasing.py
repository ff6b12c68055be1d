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

Two methods solve it. The joint method (:mod:`siting.optimize.joint`) solves the
whole formulation as one MIP, so the rollout is optimal over all the years together (or
has a proven gap on the joint objective: weighted coverage summed over the years, or the
final cost). The rolling method scales to the district; it plans year by year in two
passes and keeps the better rollout:

- forward: year 1 is solved with the zones due in year 1 (key zones first), then each
  following year with every site built so far fixed, its cumulative site count
  :math:`P_t`, a budget of the fixed sites' cost plus :math:`B_t`, and its cumulative
  target; each year is optimal (or has a proven gap) given the earlier years;
- backward: the last year is solved on its own, then each earlier year among the sites of
  the year after it (the others forbidden) with its own rules, so the final plan is as
  good as a single-year plan can be; the rollout is kept only when every yearly budget
  holds (an earlier year must spend enough that the next year's new sites fit its budget).

Neither pass is guaranteed jointly optimal, but together they give a proven bound on the
joint objective: a year's rules on their own (only the existing sites fixed) relax the
rollout, so the sum of the years' own bounds bounds the coverage summed over the years,
and the last year's own bound bounds the final cost. The forward pass's first year and the
backward pass's last year are exactly those problems, so their bounds come with the
plans; a middle year's own bound is computed with the LP or Lagrangian relaxation.
``method="auto"`` uses the joint MIP when its years together have at most
:data:`JOINT_MAX_NNZ` non-zeros, starting it from the rolling plan (which gets two thirds
of the time), and keeps the better rollout; larger rollouts are planned by the rolling
method (on the demo's matrix, 0.6 M non-zeros over two years, the rolling rollout was
within 0.82 % of its bound in 73 s, the joint MIP within 0.83 % after 120 s).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from siting._errors import ConfigError
from siting.optimize.bounds import best_bound
from siting.optimize.budget import Budget
from siting.optimize.checker import coverage_counts
from siting.optimize.joint import (
    JointModel,
    joint_model,
    joint_start,
    plan_value,
    rollout_violations,
    solve_joint,
)
from siting.optimize.problem import Problem, Quota, ZoneRequirement, make_problem
from siting.optimize.reduce import Model, build_model
from siting.optimize.result import SolveResult, relative_gap
from siting.optimize.solve import SolveOptions, check_limits, solve_problem

log = logging.getLogger(__name__)

NOT_SELECTED = -1
EXISTING = 0
METHODS = ("auto", "joint", "rolling")
_GAP_EPS = 1e-9
_YEAR_BOUND_S = 5.0
_ROLLING_SHARE = 2.0 / 3.0
JOINT_MAX_NNZ = 100_000
"""``method="auto"`` plans jointly up to this many non-zeros over all the years. Above it
the joint MIP did not improve its rolling start: max cover over 2020 and 2021 on tiles of
the district benchmark (HiGHS, 120 s), 80,000 non-zeros (21 then 31 sites) and 171,000
(39 then 59): the joint MIP reached its time limit without a better plan or bound, and
the rolling rollout alone, with all 120 s, gave the same plan. Below it the joint MIP
costs little (the rolling start with two thirds of the time gave the same plan) and proves
small rollouts optimal; it is the size limit of the full MIP of one year
(:data:`siting.optimize.solve.MIP_MAX_NNZ`)."""


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
        One :class:`SolveResult` per year (the cumulative plan of that year). With the
        rolling method each year's bound holds given the other years as its pass fixed
        them (forward: the earlier years; backward: the later year's sites, none for the
        last year); with the joint method it is a proven bound of that year on its own.
    status
        "optimal" (jointly optimal within the gap, i.e. ``gap <= mip_gap``), "feasible",
        or the failing status.
    message
        One sentence.
    method
        "joint" or "rolling": which method gave the plan.
    direction
        For a rolling plan, the pass that gave it: "forward" or "backward" ("" for joint).
    objective
        Joint objective of the plan: weighted coverage summed over the years (max cover)
        or the cost of the final plan (min cost).
    bound
        Proven bound on the joint objective (``nan`` when none could be computed).
    gap
        Relative gap between ``objective`` and ``bound`` (``inf`` without a bound).
    year_bounds
        Proven bound of each year's rules on their own, only the existing sites fixed
        (``nan`` where unknown): an upper bound on any rollout's coverage in that year
        (max cover) or a lower bound on its cost (min cost).
    year_bound_sources
        Where each of ``year_bounds`` comes from ("mip", "lp", "lagrangian", "trivial";
        "" where unknown).
    reproducible
        Whether every step ended by its work budget or by optimality rather than by the
        wall clock (see :attr:`SolveResult.reproducible`).
    """

    years: list[int]
    year_of: np.ndarray
    results: list[SolveResult] = field(default_factory=list)
    status: str = "feasible"
    message: str = ""
    method: str = "rolling"
    objective: float = float("nan")
    bound: float = float("nan")
    gap: float = float("inf")
    direction: str = ""
    year_bounds: tuple[float, ...] = ()
    year_bound_sources: tuple[str, ...] = ()
    reproducible: bool = True

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


@dataclass(frozen=True)
class _Rollout:
    """The validated rollout settings."""

    base: Problem
    years: list[int]
    zones_by_year: dict[int, list[ZoneRequirement]]
    sites: list[float | None]
    budgets: list[float | None]
    targets: list[float | None]


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
    method: str = "auto",
    work_limit: float | None = None,
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
        Seconds for the whole rollout, spent as work units and shared among the years
        and passes by the units left (see :func:`~siting.optimize.solve_matrix`).
    mip_gap, solver, threads, seed, heuristic_only
        As in :func:`~siting.optimize.solve_matrix` (``heuristic_only`` implies rolling).
    method
        "auto" (joint when it fits, see the module docstring), "joint" (always, whatever
        the size) or "rolling".
    work_limit
        Work units for the whole rollout instead of ``time_limit``'s seconds.

    Returns
    -------
    PhasedResult
        The year of every selected column and each year's result.
    """
    from siting.optimize.backends import check_solver

    check_solver(solver)
    if method not in METHODS:
        raise ConfigError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    yrs = [int(y) for y in years]
    if not yrs or yrs != sorted(set(yrs)):
        raise ConfigError(f"years must be non-empty and strictly increasing, got {yrs}")
    zby = {y: list(z) for y, z in (zones_by_year or {}).items()}
    unknown = sorted(set(zby) - set(yrs))
    if unknown:
        raise ConfigError(f"zones_by_year has years {unknown} not in years {yrs}")
    targets = _per_year(cumulative_target, len(yrs), "cumulative_target")
    base = make_problem(A, weights=weights, costs=costs, objective=objective, k=k,
                        fixed=fixed, forbidden=forbidden, conflicts=conflicts, quotas=quotas,
                        coverage_target=next((t for t in targets if t is not None), None),
                        zones=[z for y in yrs for z in zby.get(y, [])])
    ro = _Rollout(base, yrs, zby, _per_year(cumulative_sites, len(yrs), "cumulative_sites"),
                  _per_year(yearly_budget, len(yrs), "yearly_budget"), targets)
    check_limits(time_limit=time_limit, work_limit=work_limit)
    budget = Budget.for_limits(time_limit, work_limit)
    opts = SolveOptions(time_limit=time_limit, mip_gap=mip_gap, solver=solver,
                        threads=threads, seed=seed, heuristic_only=heuristic_only,
                        budget=budget)
    jm = None
    if method != "rolling" and not heuristic_only and len(yrs) > 1:
        jm = _joint_model(ro, forced=method == "joint")
    if jm is None:
        return _rolling(ro, opts)
    rolled = _rolling(ro, replace(opts, budget=budget.part(_units(budget, _ROLLING_SHARE))))
    reserve = _YEAR_BOUND_S * max(len(yrs) - 2, 0)  # middle years' own bounds (min cost)
    left = budget.solver_seconds()
    left = None if left is None else max(left - reserve, 1.0)
    return _joint(ro, jm, rolled, replace(opts, time_limit=left))


@dataclass(frozen=True)
class _Pass:
    """One year-by-year pass: each year's result (``None`` for years not reached) and, when
    it found no rollout, the failing status and why."""

    direction: str
    results: list[SolveResult | None]
    status: str = "feasible"
    failure: str = ""
    brief: str = ""  # the failure in a few words

    @property
    def ok(self) -> bool:
        return not self.failure

    def plans(self) -> list[np.ndarray]:
        return [r.selected for r in self.results if r is not None]


def _rolling(ro: _Rollout, opts: SolveOptions) -> PhasedResult:
    """The forward and the backward pass (see the module docstring), the better rollout
    kept, with a proven bound on the joint objective from the years' own bounds."""
    probs = _joint_problems(ro)
    n_years = len(ro.years)
    maxc = ro.base.objective == "max_cover"
    reserve = _YEAR_BOUND_S * max(n_years - 2, 0) if maxc else 0.0  # middle years' bounds
    budget = opts.budget
    if n_years == 1:
        return _rolled(ro, probs, _forward(ro, opts), None, opts)
    fwd = _forward(ro, replace(opts, budget=budget.part(_units(budget, _FORWARD_SHARE))))
    if fwd.status == "infeasible" and len(fwd.results) == 1:  # year 1 alone: no rollout
        return _rolled(ro, probs, fwd, None, opts)
    left = budget.units_left()
    left = None if left is None else max(left - reserve, min(1.0, left))
    bwd = _backward(ro, probs, replace(opts, budget=budget.part(left)))
    return _rolled(ro, probs, fwd, bwd, opts)


_FORWARD_SHARE = 0.5
"""Share of a rolling rollout's time for the forward pass (the backward pass gets the
rest, the time the forward pass did not use included)."""
_LAST_SHARE = 0.75
"""Share of the backward pass's time for its last year (solved on its own, at full size;
the earlier years choose among its sites)."""


def _repro(opts: SolveOptions) -> bool:
    """Whether nothing under the rollout's budget was stopped by the wall clock."""
    return opts.budget is None or not opts.budget.clock_stopped


def _units(budget: Budget, share: float) -> float | None:
    """``share`` of the units left in ``budget`` (``None`` when unlimited)."""
    left = budget.units_left()
    return None if left is None else left * share


def _forward(ro: _Rollout, opts: SolveOptions) -> _Pass:
    """Year by year, every site built earlier fixed; each year gets an equal share of the
    work units left, so units a year does not use go to the next."""
    yrs, base = ro.years, ro.base
    results: list[SolveResult | None] = []
    built = base.fixed.copy()
    for i, y in enumerate(yrs):
        prob = _year_problem(base, built, ro.zones_by_year, yrs[: i + 1], ro.sites[i],
                             ro.budgets[i], ro.targets[i])
        res = solve_problem(prob, replace(opts, budget=_share(opts.budget, len(yrs) - i)),
                            starts=[np.flatnonzero(built)])
        results.append(res)
        if not res.ok:
            return _Pass("forward", results, res.status,
                         f"year {y}: {res.message} {res.diagnosis}".strip(),
                         f"year {y}: {res.status}")
        built = np.zeros_like(built)
        built[res.selected] = True
    return _Pass("forward", results)


def _backward(ro: _Rollout, probs: list[Problem], opts: SolveOptions) -> _Pass:
    """The last year on its own, then each earlier year among the sites of the year after
    it; the rollout is kept only when every yearly budget holds."""
    n_years = len(probs)
    results: list[SolveResult | None] = [None] * n_years
    allowed: np.ndarray | None = None
    for i in reversed(range(n_years)):
        prob = probs[i] if allowed is None else replace(
            probs[i], forbidden=probs[i].forbidden | ~allowed)
        part = (opts.budget.part(_units(opts.budget, _LAST_SHARE)) if i == n_years - 1
                else _share(opts.budget, i + 1))
        res = solve_problem(prob, replace(opts, budget=part))
        results[i] = res
        if not res.ok:
            return _Pass("backward", results, res.status,
                         f"year {ro.years[i]}: {res.message} {res.diagnosis}".strip(),
                         f"year {ro.years[i]}: {res.status}")
        allowed = np.zeros(prob.shape[1], dtype=bool)
        allowed[res.selected] = True
    bad = rollout_violations(probs, [r.selected for r in results if r is not None],
                             ro.budgets)
    if bad:
        why = "its rollout breaks " + "; ".join(bad[:3])
        return _Pass("backward", results, "infeasible", why, why)
    return _Pass("backward", results)


def _rolled(ro: _Rollout, probs: list[Problem], fwd: _Pass, bwd: _Pass | None,
            opts: SolveOptions) -> PhasedResult:
    """The better pass as a rollout, its joint objective, bound and gap."""
    yrs = ro.years
    maxc = ro.base.objective == "max_cover"
    passes = [p for p in (fwd, bwd) if p is not None and p.ok]
    if not passes:
        done = [r for r in fwd.results if r is not None]
        msg = fwd.failure if bwd is None else f"{fwd.failure} Backward pass: {bwd.failure}"
        return PhasedResult(yrs, _year_of(ro, [r.selected for r in done]), done,
                            fwd.status, msg, "rolling", direction="forward",
                            reproducible=_repro(opts))
    values = [plan_value(probs, p.plans()) for p in passes]
    best = 0 if len(passes) == 1 or not _better(maxc, values[1], values[0]) else 1
    chosen, value = passes[best], values[best]
    plans = chosen.plans()
    own = _own_bounds(ro, probs, fwd, bwd, plans, opts.budget)
    bound = _joint_bound(maxc, [b for b, _ in own], value)
    gap = relative_gap(value, bound)
    within = gap <= opts.mip_gap + _GAP_EPS
    year_of = _year_of(ro, plans)
    what = "weighted coverage summed over the years" if maxc else "final cost"
    how = ("the sum of the years' own bounds" if maxc else "the last year's own bound")
    other = [p for p in (fwd, bwd) if p is not None and p is not chosen]
    note = "".join(
        f"; the {p.direction} pass gave {values[1 - best]:.6g}" if p.ok
        else f"; the {p.direction} pass found no rollout ({p.brief})" for p in other)
    msg = (f"{int((year_of > 0).sum())} new sites over {len(yrs)} years, planned year by "
           f"year ({chosen.direction} pass{note}): {what} {value:.6g}, proven bound "
           f"{bound:.6g} ({how}), gap {gap:.3%}"
           f"{' (jointly optimal)' if within else ''}.")
    results = [r for r in chosen.results if r is not None]
    return PhasedResult(yrs, year_of, results, "optimal" if within else "feasible", msg,
                        "rolling", value, bound, gap, chosen.direction,
                        tuple(b for b, _ in own), tuple(s for _, s in own),
                        reproducible=_repro(opts))


def _own_bounds(ro: _Rollout, probs: list[Problem], fwd: _Pass, bwd: _Pass | None,
                plans: list[np.ndarray], budget: Budget | None) -> list[tuple[float, str]]:
    """Each year's own bound (its rules alone, only existing sites fixed): the forward
    pass's first year and the backward pass's last year are those problems; the others
    (max cover only: min cost needs the last year's alone) are computed here."""
    n_years = len(probs)
    maxc = ro.base.objective == "max_cover"
    own: list[tuple[float, str]] = [(float("nan"), "")] * n_years
    for r, i in ((fwd.results[0] if fwd.results else None, 0),
                 (bwd.results[-1] if bwd is not None else None, n_years - 1)):
        if r is not None and np.isfinite(r.bound):
            own[i] = (float(r.bound), r.bound_source)
    for i in range(n_years):
        if np.isfinite(own[i][0]) or not (maxc or i == n_years - 1):
            continue
        value = plan_value([probs[i]], [plans[i]])
        bound, source, _ = best_bound(build_model(probs[i]), incumbent=value,
                                      time_limit=_bound_budget(budget))
        own[i] = (max(bound, value) if maxc else min(bound, value), source)
    return own


def _joint_bound(maxc: bool, own: Sequence[float], value: float) -> float:
    """Bound on the joint objective from the years' own bounds (``nan`` if one is
    missing): their sum (max cover) or the last year's (min cost)."""
    bound = float(sum(own)) if maxc else float(own[-1])
    if not np.isfinite(bound):
        return float("nan")
    return max(bound, value) if maxc else min(bound, value)


def _share(budget: Budget, years_left: int) -> Budget:
    """An equal share of the units left for each of the years left."""
    left = budget.units_left()
    return budget.part(None if left is None else left / years_left)


def _year_problem(
    base: Problem, built: np.ndarray, zby: Mapping[int, Sequence[ZoneRequirement]],
    upto: list[int], max_sites: float | None, budget: float | None, target: float | None,
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


# -- joint ------------------------------------------------------------------------------
def _joint_problems(ro: _Rollout) -> list[Problem]:
    """Each year's own rules with only the existing sites fixed; the budget is the
    cumulative one (implied by the yearly budgets, it tightens each year's bound)."""
    out = []
    for i in range(len(ro.years)):
        spent = ro.budgets[: i + 1]
        budget = None if any(b is None for b in spent) else float(sum(spent))
        out.append(_year_problem(ro.base, ro.base.fixed, ro.zones_by_year, ro.years[: i + 1],
                                 ro.sites[i], budget, ro.targets[i]))
    return out


def _joint_model(ro: _Rollout, *, forced: bool) -> JointModel | None:
    """The joint model, or ``None`` when "auto" finds it too large for the full MIP."""
    jm = joint_model(ro.base, _joint_problems(ro), ro.budgets,
                     max_nnz=None if forced else JOINT_MAX_NNZ)
    if jm is None:
        log.info("joint rollout model over %d non-zeros: rolling plan", JOINT_MAX_NNZ)
    return jm


def _joint(ro: _Rollout, jm: JointModel, rolled: PhasedResult,
           opts: SolveOptions) -> PhasedResult:
    """Solve the joint MIP from the rolling plan and keep the better rollout."""
    t0 = time.perf_counter()
    maxc = ro.base.objective == "max_cover"
    probs = jm.problems
    plans0 = [rolled.selected(y) for y in ro.years] if rolled.status in (
        "optimal", "feasible") else None
    start = None if plans0 is None else joint_start(jm, plans0)
    plans, out = solve_joint(jm, start, solver=opts.solver, time_limit=opts.time_limit,
                             mip_gap=opts.mip_gap, threads=opts.threads, seed=opts.seed)
    if out.kind in ("time_limit", "no_solution") and opts.budget is not None:
        opts.budget.stop_by_clock()  # the MIP solver stops by the wall clock
    if plans is not None:
        bad = rollout_violations(probs, plans, ro.budgets)
        if bad:
            log.warning("%s returned a rollout that breaks rules (%s); it is ignored",
                        out.solver, "; ".join(bad[:3]))
            plans = None
    if plans0 is not None and (plans is None or _better(
            maxc, plan_value(probs, plans0), plan_value(probs, plans))):
        plans = plans0
    bound = float("nan")
    if np.isfinite(out.bound):
        bound = -out.bound if maxc else out.bound
    mip_bound = bound
    if np.isfinite(rolled.bound):  # the years' own bounds may be tighter than the MIP's
        bound = rolled.bound if not np.isfinite(bound) else (min if maxc else max)(
            bound, rolled.bound)
    if plans is None:
        if out.kind == "infeasible":
            msg = (f"No rollout meets every year's rules: {out.solver} proved the joint "
                   f"model infeasible ({out.raw_status}). {rolled.message}")
            return replace(rolled, status="infeasible", message=msg.strip(), method="joint")
        return replace(rolled, message=f"{rolled.message} The joint MIP found no rollout "
                                       f"({out.raw_status}).")
    value = plan_value(probs, plans)
    if np.isfinite(bound):
        bound = max(bound, value) if maxc else min(bound, value)
    gap = relative_gap(value, bound)
    within = gap <= opts.mip_gap + _GAP_EPS
    status = "optimal" if within else "feasible"
    stop = (("optimal" if gap <= _GAP_EPS else "gap_reached") if within
            else "solver_failed" if out.kind == "failed" else "time_limit")
    year_of = _year_of(ro, plans)
    results = []
    for i, (p, m, s) in enumerate(zip(probs, jm.models, plans, strict=True)):
        known = _rolled_bound(rolled, i)
        if i == len(plans) - 1 and not maxc and np.isfinite(mip_bound) and (
                known is None or mip_bound > known[0]):
            known = (mip_bound, "mip")  # the joint MIP's bound on the final cost
        results.append(_year_result(p, m, s, opts, stop, time.perf_counter() - t0,
                                    out.solver, out.raw_status, known))
    what = "weighted coverage summed over the years" if maxc else "final cost"
    roll = (f"the rolling plan gave {rolled.objective:.6g}" if plans0 is not None
            else "the rolling plan failed")
    msg = (f"{int((year_of > 0).sum())} new sites over {len(ro.years)} years, planned "
           f"jointly: {what} {value:.6g}, proven bound {bound:.6g}, gap {gap:.3%} "
           f"({'jointly optimal' if within else stop.replace('_', ' ')}; {roll}).")
    return PhasedResult(ro.years, year_of, results, status, msg, "joint", value, bound, gap,
                        "", tuple(r.bound for r in results),
                        tuple(r.bound_source for r in results),
                        reproducible=_repro(opts))


def _better(maxc: bool, a: float, b: float) -> bool:
    return a > b if maxc else a < b


def _year_of(ro: _Rollout, plans: Sequence[np.ndarray]) -> np.ndarray:
    year_of = np.full(ro.base.shape[1], NOT_SELECTED, dtype=np.int64)
    for y, s in zip(reversed(ro.years[: len(plans)]), reversed(plans), strict=True):
        year_of[s] = y
    year_of[ro.base.fixed] = EXISTING
    return year_of


def _rolled_bound(rolled: PhasedResult, i: int) -> tuple[float, str] | None:
    """Year ``i``'s own bound found by the rolling method (its rules alone, only existing
    sites fixed: the joint model's year ``i``), or ``None``."""
    if i >= len(rolled.year_bounds) or not np.isfinite(rolled.year_bounds[i]):
        return None
    return float(rolled.year_bounds[i]), rolled.year_bound_sources[i]


def _bound_budget(budget: Budget | None) -> Budget:
    """The work allowed to one year's own bound (:data:`_YEAR_BOUND_S` units)."""
    return Budget(_YEAR_BOUND_S) if budget is None else budget.part(_YEAR_BOUND_S)


def _year_result(problem: Problem, model: Model, selected: np.ndarray, opts: SolveOptions,
                 stop: str, elapsed: float, solver: str, raw: str,
                 known: tuple[float, str] | None) -> SolveResult:
    """One year of a joint rollout, with a proven bound of that year on its own: the
    ``known`` bound found earlier, or else the LP or Lagrangian bound found within
    :data:`_YEAR_BOUND_S` work units."""
    maxc = problem.objective == "max_cover"
    counts = coverage_counts(problem, selected)
    covered = counts >= problem.k
    objective = (float(problem.weights[covered].sum()) if maxc
                 else float(problem.costs[selected].sum()))
    if known is None:
        bound, source, _ = best_bound(model, incumbent=objective,
                                      time_limit=_bound_budget(opts.budget))
    else:
        bound, source = known
    bound = max(bound, objective) if maxc else min(bound, objective)
    gap = relative_gap(objective, bound)
    within = gap <= opts.mip_gap + _GAP_EPS
    what = "weighted coverage" if maxc else "cost"
    msg = (f"{'Optimal' if within else 'Feasible'} year plan with {selected.size} sites in "
           f"a jointly planned rollout: {what} {objective:.6g}, proven bound of this year "
           f"alone {bound:.6g}, gap {gap:.3%}.")
    return SolveResult(
        selected=np.asarray(selected, dtype=np.int64), objective=objective,
        bound=float(bound), bound_source=source, gap=gap,
        status="optimal" if within else "feasible", stop_reason=stop,
        solver=solver, solver_status=raw, message=msg, covered=covered,
        coverage_count=counts, heuristic_objective=float("nan"),
        timings={"total": elapsed}, reductions=dict(model.reductions),
        objective_name=problem.objective,
        reproducible=_repro(opts),
    )
