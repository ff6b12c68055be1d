"""Tests of the capacitated model: optima checked by enumeration with an independent LP."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import linprog

from siting._errors import ConfigError
from siting.optimize import ZoneRequirement, check_solution, solve_matrix
from tests.test_optimize import random_instance


def served_value(A, subset, w, d, cap, *, k=1, hard=(), target=None):
    """Best weighted served demand of a fixed plan (scipy linprog), or None if infeasible."""
    coo = sp.coo_array(A)
    m = A.shape[0]
    sel = np.isin(coo.col, list(subset))
    r, c = coo.row[sel], coo.col[sel]
    ne = r.size
    counts = np.bincount(r, minlength=m)
    # variables: z (ne), s (m); maximise w @ s
    obj = np.concatenate([np.zeros(ne), -w])
    eq = sp.hstack([sp.coo_array((np.ones(ne), (r, np.arange(ne))), shape=(m, ne)),
                    sp.diags_array(-d)]).tocsr()
    ub_rows = [sp.hstack([sp.coo_array((np.ones(ne), (c, np.arange(ne))),
                                       shape=(A.shape[1], ne)),
                          sp.csr_array((A.shape[1], m))])]
    ub_rhs = [np.asarray(cap, dtype=float)]
    if target is not None:
        ub_rows.append(sp.csr_array(np.concatenate([np.zeros(ne), -w])[None, :]))
        ub_rhs.append(np.array([-target * w.sum()]))
    s_hi = np.where(counts >= k, 1.0, 0.0)
    s_lo = np.zeros(m)
    s_lo[list(hard)] = 1.0
    if (s_lo > s_hi).any():
        return None
    bounds = [(0, None)] * ne + list(zip(s_lo, s_hi, strict=True))
    res = linprog(obj, A_ub=sp.vstack(ub_rows), b_ub=np.concatenate(ub_rhs), A_eq=eq,
                  b_eq=np.zeros(m), bounds=bounds, method="highs")
    return None if res.status != 0 else -res.fun


def brute(A, w, d, cap, c, *, objective, p=None, hard=(), target=None, k=1):
    best = None
    n = A.shape[1]
    for size in range(n + 1):
        if p is not None and size > p:
            break
        for sub in itertools.combinations(range(n), size):
            val = served_value(A, sub, w, d, cap, k=k, hard=hard, target=target)
            if val is None:
                continue
            score = val if objective == "max_cover" else float(c[list(sub)].sum())
            better = best is None or (score > best if objective == "max_cover"
                                      else score < best)
            best = score if better else best
    return best


@pytest.mark.parametrize("solver", ["cbc", "highs"])
@pytest.mark.parametrize(("seed", "p", "cap"), [(1, 2, 15.0), (2, 3, 25.0), (3, 3, 8.0)])
def test_capacitated_max_cover_matches_enumeration(solver, seed, p, cap) -> None:
    A, w, c = random_instance(seed, m=14, n=7, density=0.35)
    d = np.random.default_rng(seed).integers(1, 8, 14).astype(float)
    caps = np.full(7, cap)
    best = brute(A, w, d, caps, c, objective="max_cover", p=p)
    res = solve_matrix(A, weights=w, max_sites=p, capacity=caps, demand=d, solver=solver)
    assert res.status == "optimal"
    assert res.objective == pytest.approx(best, rel=1e-6)
    assert res.objective == pytest.approx(w @ res.served)
    load = np.asarray(res.assignment.sum(axis=0)).ravel()
    assert (load <= caps + 1e-6).all()
    assert check_solution(A, res.selected, weights=w, max_sites=p, capacity=caps, demand=d,
                          assignment=res.assignment) == []


@pytest.mark.parametrize(("target", "hard"), [(0.5, ()), (0.4, (0, 1, 2)), (0.7, ())])
def test_capacitated_min_cost_matches_enumeration(target, hard) -> None:
    A, w, c = random_instance(4, m=12, n=7, density=0.4)
    caps = np.full(7, 20.0)
    zones = [ZoneRequirement("key", np.array(hard))] if hard else None
    best = brute(A, w, w, caps, c, objective="min_cost", hard=hard, target=target)
    res = solve_matrix(A, weights=w, costs=c, objective="min_cost", coverage_target=target,
                       zones=zones, capacity=caps, solver="highs")
    if best is None:
        assert res.status == "infeasible"
        return
    assert res.status == "optimal"
    assert res.objective == pytest.approx(best)
    assert check_solution(A, res.selected, weights=w, costs=c, coverage_target=target,
                          zones=zones, capacity=caps, assignment=res.assignment) == []


def test_capacity_binds_compared_with_uncapacitated() -> None:
    # one site covers both rows but can serve only one of them
    A = sp.csr_array(np.array([[1.0, 0.0], [1.0, 1.0]]))
    free = solve_matrix(A, weights=[3.0, 2.0], max_sites=1)
    capped = solve_matrix(A, weights=[3.0, 2.0], max_sites=1, capacity=[3.0, 3.0])
    assert free.objective == pytest.approx(5.0)
    assert capped.objective == pytest.approx(3.0)
    assert capped.served.tolist() == pytest.approx([1.0, 0.0])
    assert capped.assignment.shape == (2, 2)


@pytest.mark.parametrize(
    ("assignment", "match"),
    [
        (None, "no assignment was given"),
        ([[3.0, 0.0], [2.0, 0.0]], "serve more than their capacity"),
        ([[0.0, 0.0], [0.0, 2.0]], "unselected columns"),
        ([[4.0, 0.0], [0.0, 0.0]], "more than their demand"),
    ],
)
def test_checker_verifies_the_assignment(assignment, match) -> None:
    A = sp.csr_array(np.array([[1.0, 0.0], [1.0, 1.0]]))
    asg = None if assignment is None else sp.csr_array(np.array(assignment))
    problems = check_solution(A, [0], weights=[3.0, 2.0], capacity=[4.0, 4.0],
                              assignment=asg)
    assert any(match in p for p in problems), problems


def test_served_share_counts_for_zones_and_target() -> None:
    A = sp.csr_array(np.array([[1.0, 0.0], [1.0, 1.0]]))
    half = sp.csr_array(np.array([[3.0, 0.0], [1.0, 0.0]]))
    zone = [ZoneRequirement("hospital", np.array([1]))]
    problems = check_solution(A, [0], weights=[3.0, 2.0], capacity=[4.0, 4.0],
                              assignment=half, zones=zone, coverage_target=0.9)
    assert any("hospital" in p for p in problems)
    assert any("below the target" in p for p in problems)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"capacity": [1.0, -1.0]}, "capacity must be >= 0"),
        ({"capacity": [1.0]}, r"capacity has shape \(1,\)"),
        ({"demand": [1.0, 1.0]}, "demand is only used with capacity"),
        ({"capacity": [1.0, 1.0], "demand": [-1.0, 1.0]}, "demand has 1 negative"),
    ],
)
def test_bad_capacity_arguments(kw, match) -> None:
    A = sp.csr_array(np.array([[1.0, 0.0], [1.0, 1.0]]))
    with pytest.raises(ConfigError, match=match):
        solve_matrix(A, max_sites=1, **kw)


def test_unlimited_capacity_equals_uncapacitated() -> None:
    A, w, _ = random_instance(9, m=20, n=8)
    free = solve_matrix(A, weights=w, max_sites=3, solver="highs")
    inf = solve_matrix(A, weights=w, max_sites=3, capacity=np.full(8, np.inf), solver="highs")
    assert inf.objective == pytest.approx(free.objective)
