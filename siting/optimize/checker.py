"""Independent checker of a plan: recompute coverage from the matrix and test every rule."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from siting.optimize.capacity import demand_of, served_share
from siting.optimize.problem import (
    Problem,
    Quota,
    ZoneRequirement,
    make_problem,
    zone_need,
    zone_row_k,
)

_TOL = 1e-6


def coverage_counts(problem: Problem, selected: np.ndarray) -> np.ndarray:
    """Number of selected columns covering each row, computed from the matrix itself."""
    x = np.zeros(problem.shape[1], dtype=np.float64)
    x[selected] = 1.0
    return np.rint(problem.csr @ x).astype(np.int64)


def check_solution(
    A: object,
    selected: object,
    *,
    weights: object = None,
    costs: object = None,
    k: object = None,
    zones: Sequence[ZoneRequirement] | None = None,
    fixed: object = None,
    forbidden: object = None,
    max_sites: int | None = None,
    budget: float | None = None,
    coverage_target: float | None = None,
    conflicts: object = None,
    quotas: Sequence[Quota] | None = None,
    capacity: object = None,
    demand: object = None,
    assignment: object = None,
) -> list[str]:
    """List every hard rule a plan breaks (empty when the plan is valid).

    Coverage is recomputed from ``A``; nothing from a solver is trusted.

    Parameters
    ----------
    A
        Demand x candidate coverage matrix (scipy.sparse, non-zero = covers).
    selected
        Column indices of the plan.
    weights, costs, k, zones, fixed, forbidden, max_sites, budget, coverage_target
        As in :func:`siting.optimize.solve_matrix`.
    conflicts, quotas
        Pairs of columns that may not both be selected; per-group min/max counts.
    capacity, demand, assignment
        Per-column capacity and per-row demand (default: the weights) in demand units,
        and the (rows x columns, sparse) demand units each selected column serves. With
        a capacity the assignment is required: coverage target and zones then count the
        served share of each row (a zone row counts only when fully served).

    Returns
    -------
    list of str
        One sentence per violation.
    """
    prob = make_problem(
        A, weights=weights, costs=costs, objective="max_cover", k=k, zones=zones,
        fixed=fixed, forbidden=forbidden, max_sites=max_sites, budget=budget,
        coverage_target=coverage_target, conflicts=conflicts, quotas=quotas,
        capacity=capacity, demand=demand,
    )
    return check_problem(prob, selected, assignment=assignment)


def check_problem(prob: Problem, selected: object, *, assignment: object = None) -> list[str]:
    """Same as :func:`check_solution` for an already validated :class:`Problem`."""
    n = prob.shape[1]
    sel = np.asarray(selected, dtype=np.int64).ravel()
    problems: list[str] = []
    if ((sel < 0) | (sel >= n)).any():
        return [f"selected holds column indices outside 0..{n - 1}"]
    if np.unique(sel).size != sel.size:
        problems.append(f"selected lists {sel.size - np.unique(sel).size} column(s) twice")
        sel = np.unique(sel)
    mask = np.zeros(n, dtype=bool)
    mask[sel] = True
    problems += _check_columns(prob, mask)
    counts = coverage_counts(prob, sel)
    problems += _check_conflicts_quotas(prob, mask)
    if prob.capacity is None:
        return problems + _check_coverage(prob, counts)
    if assignment is None:
        return [*problems, "capacity is set but no assignment was given; pass the "
                "result's assignment (demand units per row and column)"]
    asg = sp.csr_array(assignment, dtype=np.float64)
    if asg.shape != prob.shape:
        return [*problems, f"assignment has shape {asg.shape}, expected {prob.shape}"]
    problems += _check_capacity(prob, mask, asg)
    share = served_share(prob, counts, asg)
    return problems + _check_coverage(prob, counts, share=share)


def _check_columns(prob: Problem, mask: np.ndarray) -> list[str]:
    out = []
    if (mask & prob.forbidden).any():
        out.append(f"{int((mask & prob.forbidden).sum())} forbidden column(s) selected")
    if (prob.fixed & ~mask).any():
        out.append(f"{int((prob.fixed & ~mask).sum())} fixed column(s) not selected")
    if prob.max_sites is not None and mask.sum() > prob.max_sites:
        out.append(f"{int(mask.sum())} sites selected, more than max_sites={prob.max_sites}")
    cost = float(prob.costs[mask].sum())
    if prob.budget is not None and cost > prob.budget * (1 + _TOL) + _TOL:
        out.append(f"cost {cost:.6g} exceeds budget {prob.budget:.6g}")
    return out


def _check_coverage(prob: Problem, counts: np.ndarray, *,
                    share: np.ndarray | None = None) -> list[str]:
    """Target and zones; with ``share`` (capacity) rows count by their served share."""
    out = []
    if prob.target_weight is not None:
        got = float(prob.weights[counts >= prob.k].sum()) if share is None else float(
            prob.weights @ share)
        if got < prob.target_weight * (1 - _TOL) - _TOL:
            out.append(f"weighted coverage {got:.6g} below the target {prob.target_weight:.6g} "
                       f"({prob.coverage_target:.4%} of {prob.total_weight:.6g})")
    for z in prob.zones:
        ok_rows = counts[z.rows] >= zone_row_k(prob, z)
        if share is not None:
            ok_rows &= share[z.rows] >= 1.0 - _TOL
        ok = int(ok_rows.sum())
        if ok < zone_need(z):
            out.append(f"zone {z.name!r}: {ok} of {z.rows.size} rows covered, "
                       f"{zone_need(z)} required (min_fraction {z.min_fraction})")
    return out


def _check_conflicts_quotas(prob: Problem, mask: np.ndarray) -> list[str]:
    out = []
    if prob.conflicts.size:
        both = mask[prob.conflicts[:, 0]] & mask[prob.conflicts[:, 1]]
        if both.any():
            i, j = prob.conflicts[both][0]
            out.append(f"{int(both.sum())} conflicting pair(s) both selected (first: {i}, {j})")
    for q in prob.quotas:
        cnt = int(mask[q.cols].sum())
        if q.min is not None and cnt < q.min:
            out.append(f"quota {q.name!r}: {cnt} selected, at least {q.min} required")
        if q.max is not None and cnt > q.max:
            out.append(f"quota {q.name!r}: {cnt} selected, at most {q.max} allowed")
    return out


def _check_capacity(prob: Problem, mask: np.ndarray, asg: sp.csr_array) -> list[str]:
    out = []
    if (asg.data < -_TOL).any():
        out.append("assignment has negative entries")
    coo = asg.tocoo()
    pos = coo.data > _TOL
    rows, cols = coo.row[pos], coo.col[pos]
    if (~mask[cols]).any():
        out.append(f"{int((~mask[cols]).sum())} assignment(s) to unselected columns")
    covers = np.asarray(prob.csr[rows, cols]).ravel() > 0
    if (~covers).any():
        out.append(f"{int((~covers).sum())} assignment(s) to columns that do not cover the row")
    served = np.asarray(asg.sum(axis=1)).ravel()
    d = demand_of(prob)
    if (served > d * (1 + _TOL) + _TOL).any():
        out.append(f"{int((served > d * (1 + _TOL) + _TOL).sum())} row(s) are served more "
                   "than their demand")
    load = np.asarray(asg.sum(axis=0)).ravel()
    assert prob.capacity is not None
    over = load > prob.capacity * (1 + _TOL) + _TOL
    if over.any():
        out.append(f"{int(over.sum())} site(s) serve more than their capacity "
                   f"(first: column {int(np.flatnonzero(over)[0])})")
    return out
