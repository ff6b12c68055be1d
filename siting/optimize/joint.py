r"""The joint multi-year MIP: every year's plan chosen together.

One copy of the single-year MIP (:mod:`siting.optimize.milp`) per year :math:`t = 1..T`,
over the same kept columns, with :math:`x_{jt} = 1` when site :math:`j` is built by the
end of year :math:`t`, linked by

.. math::

    x_{j,t-1} - x_{jt} \le 0 \ \ (\text{built stays built}),\qquad
    \sum_j c_j (x_{jt} - x_{j,t-1}) \le B_t \ \ (x_{j0} = \text{existing}),

and the objective

.. math::

    \max \sum_t \sum_g w_g y_{gt}\ \ (\text{weighted coverage summed over the years})
    \quad\text{or}\quad \min \sum_j c_j x_{jT}\ \ (\text{cost of the final plan}).

Each year's copy carries that year's cumulative site cap, coverage target and the key
zones due by then. The columns are reduced once, on the union of every year's rows
(a column dominated there is dominated in every year, so the optimum is kept), and the
years' copies are then built without further dominance so that they share columns.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp

from siting.optimize.backends import MipOutcome, run_mip
from siting.optimize.checker import check_problem, coverage_counts
from siting.optimize.milp import Milp, build_milp, full_start
from siting.optimize.problem import Problem
from siting.optimize.reduce import Model, build_model

log = logging.getLogger(__name__)

_INF = np.inf
_RAW_FACTOR = 10  # the reductions rarely shrink a matrix more than this


@dataclass(frozen=True)
class JointModel:
    """The years' reduced models over shared columns and the stacked MIP."""

    problems: list[Problem]
    models: list[Model]
    year_milps: list[Milp]
    milp: Milp
    offsets: list[int]  # first MIP column of each year's block

    @property
    def cols(self) -> np.ndarray:
        """Original indices of the shared kept columns."""
        return self.models[0].cols

    @property
    def nnz(self) -> int:
        """Non-zeros of the years' models together."""
        return int(sum(m.nnz for m in self.models))


def joint_model(base: Problem, problems: Sequence[Problem],
                budgets: Sequence[float | None], *,
                max_nnz: int | None = None) -> JointModel | None:
    """Reduce the years' problems to shared columns and stack their MIPs.

    Parameters
    ----------
    base
        The problem with every year's zones (its columns decide the shared reduction).
    problems
        One problem per year: existing sites fixed, that year's cap, target and zones, and
        at most the cumulative budget (implied by the yearly ones; it tightens each year's
        own bound).
    budgets
        Budget of the sites new in each year (``None``: no limit that year); the linking
        rows enforce these.
    max_nnz
        Give up (return ``None``) when the years' reduced models would have more
        non-zeros together; checked before anything large is built.
    """
    years = len(problems)
    if max_nnz is not None and base.csr.nnz * years > _RAW_FACTOR * max_nnz:
        return None
    shared = build_model(replace(base, budget=None, max_sites=None))
    if max_nnz is not None and shared.nnz * years > max_nnz:
        return None
    keep = shared.cols
    drop = np.ones(base.shape[1], dtype=bool)
    drop[keep] = False
    probs = [replace(p, forbidden=p.forbidden | drop) for p in problems]
    models = [build_model(p, dominance=False) for p in probs]
    milps = [build_milp(m) for m in models]
    return JointModel(probs, models, milps, *_stack(models, milps, budgets))


def _stack(models: list[Model], milps: list[Milp],
           budgets: Sequence[float | None]) -> tuple[Milp, list[int]]:
    n = models[0].n
    widths = [m.shape[1] for m in milps]
    offsets = np.concatenate([[0], np.cumsum(widths)[:-1]]).astype(np.int64).tolist()
    ncol = int(sum(widths))
    blocks = [sp.block_diag([m.A for m in milps], format="csr")]
    lo = [np.concatenate([m.row_lo for m in milps])]
    hi = [np.concatenate([m.row_hi for m in milps])]
    j = np.arange(n)
    for t in range(1, len(models)):  # x_{j,t-1} - x_{jt} <= 0
        rows = np.concatenate([j, j])
        colv = np.concatenate([offsets[t - 1] + j, offsets[t] + j])
        vals = np.concatenate([np.ones(n), -np.ones(n)])
        blocks.append(sp.csr_array((vals, (rows, colv)), shape=(n, ncol)))
        lo.append(np.full(n, -_INF))
        hi.append(np.zeros(n))
    costs = models[0].costs
    spent0 = float(costs[models[0].fixed].sum())
    for t, b in enumerate(budgets):
        if b is None:
            continue
        colv = [offsets[t] + j] + ([offsets[t - 1] + j] if t else [])
        vals = [costs] + ([-costs] if t else [])
        row = sp.csr_array((np.concatenate(vals),
                            (np.zeros(n * len(colv), dtype=np.int64), np.concatenate(colv))),
                           shape=(1, ncol))
        blocks.append(row)
        lo.append(np.array([-_INF]))
        hi.append(np.array([float(b) + (spent0 if t == 0 else 0.0)]))
    A = sp.csc_array(sp.vstack(blocks, format="csc"))
    A.sort_indices()
    if models[0].objective == "max_cover":
        c, sign = np.concatenate([m.c for m in milps]), -1.0
    else:
        c = np.zeros(ncol)
        c[offsets[-1]:offsets[-1] + n] = costs
        sign = 1.0
    milp = Milp(c=c, lb=np.concatenate([m.lb for m in milps]),
                ub=np.concatenate([m.ub for m in milps]), A=A, row_lo=np.concatenate(lo),
                row_hi=np.concatenate(hi),
                integrality=np.concatenate([m.integrality for m in milps]), n_x=n, sign=sign)
    return milp, offsets


def plan_value(problems: Sequence[Problem], plans: Sequence[np.ndarray]) -> float:
    """Joint objective of a rollout: weighted coverage summed over the years (max cover)
    or the cost of the final plan (min cost), from the full matrix.

    Parameters
    ----------
    problems
        The years' problems.
    plans
        Column indices built by the end of each year.
    """
    last = problems[-1]
    if last.objective == "min_cost":
        return float(last.costs[plans[-1]].sum())
    return float(sum(p.weights[coverage_counts(p, s) >= p.k].sum()
                     for p, s in zip(problems, plans, strict=True)))


def rollout_violations(problems: Sequence[Problem], plans: Sequence[np.ndarray],
                       budgets: Sequence[float | None]) -> list[str]:
    """Every broken rule of a rollout: each year's own rules, built sites that disappear,
    and yearly budgets (new sites of the year against its budget).

    Parameters
    ----------
    problems
        The years' problems (existing sites fixed, the year's cap, target and zones).
    plans
        Column indices built by the end of each year.
    budgets
        Budget of the sites new in each year (``None``: no limit).
    """
    out: list[str] = []
    prev = np.flatnonzero(problems[0].fixed)
    costs = problems[0].costs
    for t, (p, s, b) in enumerate(zip(problems, plans, budgets, strict=True)):
        out += [f"year {t + 1}: {v}" for v in check_problem(p, s)]
        gone = np.setdiff1d(prev, s)
        if gone.size:
            out.append(f"year {t + 1}: {gone.size} sites built earlier are missing "
                       f"(e.g. column {int(gone[0])})")
        spent = float(costs[np.setdiff1d(s, prev)].sum())
        if b is not None and spent > float(b) * (1 + 1e-9) + 1e-6:
            out.append(f"year {t + 1}: new sites cost {spent:.6g} over the budget {b:.6g}")
        prev = s
    return out


def joint_start(jm: JointModel, plans: Sequence[np.ndarray]) -> np.ndarray | None:
    """The MIP vector of a rollout, or ``None`` when it uses a column the reduction
    removed."""
    cols = jm.cols
    parts = []
    for model, milp, s in zip(jm.models, jm.year_milps, plans, strict=True):
        pos = np.searchsorted(cols, s)
        if s.size and (pos.max() >= cols.size or not np.array_equal(cols[pos], s)):
            return None
        x = np.zeros(cols.size)
        x[pos] = 1.0
        parts.append(full_start(model, milp, x))
    return np.concatenate(parts)


def solve_joint(
    jm: JointModel, start: np.ndarray | None, *, solver: str, time_limit: float | None,
    mip_gap: float, threads: int | None, seed: int,
) -> tuple[list[np.ndarray] | None, MipOutcome]:
    """Solve the joint MIP; return each year's plan (column indices, ``None`` when the
    solver gave none) and the solver's outcome (objective and bound in the MIP's
    minimisation sense)."""
    out = run_mip(solver, jm.milp, start, time_limit=time_limit, mip_gap=mip_gap,
                  threads=threads, seed=seed)
    log.info("joint rollout, %s: %s", out.solver, out.raw_status)
    if out.x is None or out.kind not in ("optimal", "time_limit"):
        return None, out
    n = jm.cols.size
    plans = [np.sort(jm.cols[out.x[o:o + n] > 0.5]) for o in jm.offsets]
    return plans, out
