"""Tests of spacing, phasing and Pareto sweeps of the optimisation engine."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from siting._errors import ConfigError
from siting.optimize import (
    ZoneRequirement,
    check_solution,
    exclusion_conflicts,
    pareto_front,
    solve_matrix,
    solve_phased,
    spacing_conflicts,
)
from siting.optimize.phasing import EXISTING, NOT_SELECTED
from tests.test_optimize import brute_force, random_instance


@pytest.mark.parametrize(
    ("d", "exempt", "expected"),
    [
        (100.0, None, [[0, 1]]),
        (600.0, None, [[0, 1], [0, 2], [1, 2]]),
        ([0.0, 0.0, 480.0], None, [[0, 2], [1, 2]]),
        (100.0, [0, 1], []),
    ],
)
def test_spacing_conflicts(d, exempt, expected) -> None:
    xy = [[0.0, 0.0], [50.0, 0.0], [470.0, 0.0]]
    assert spacing_conflicts(xy, d, exempt=exempt).tolist() == expected


def test_spacing_rejects_bad_input() -> None:
    with pytest.raises(ConfigError, match=r"\(n, 2\)"):
        spacing_conflicts(np.zeros(3), 10.0)
    with pytest.raises(ConfigError, match="min_distance"):
        spacing_conflicts(np.zeros((2, 2)), -1.0)


def test_exclusion_lists_feed_the_solver() -> None:
    A, w, _c = random_instance(4)
    pairs = exclusion_conflicts({0: [1, 2], 3: [4]})
    assert pairs.tolist() == [[0, 1], [0, 2], [3, 4]]
    kw = {"weights": w, "max_sites": 4, "conflicts": pairs}
    res = solve_matrix(A, **kw)
    assert res.objective == pytest.approx(brute_force(A, **kw))


def test_spacing_from_coordinates_matches_enumeration() -> None:
    A, w, _ = random_instance(8)
    xy = np.column_stack([np.arange(9) * 60.0, np.zeros(9)])
    kw = {"weights": w, "max_sites": 4, "conflicts": spacing_conflicts(xy, 100.0)}
    res = solve_matrix(A, **kw)
    assert res.objective == pytest.approx(brute_force(A, **kw))
    assert np.all(np.diff(res.selected) >= 2)


# -- phasing -------------------------------------------------------------------------
def test_phased_rollout_keeps_built_sites_and_zones_first() -> None:
    A, w, _c = random_instance(6, m=50, n=10)
    zone = ZoneRequirement("Anting core", np.arange(3), 1.0)
    res = solve_phased(A, years=[2020, 2021], cumulative_sites=[3, 5], weights=w,
                       fixed=[9], zones_by_year={2020: [zone]}, method="rolling")
    assert res.status in ("optimal", "feasible")
    assert res.year_of[9] == EXISTING
    first, last = res.selected(2020), res.selected()
    assert set(first) <= set(last)
    assert first.size <= 3 and last.size <= 5
    assert check_solution(A, first, zones=[zone]) == []
    assert ((res.year_of == 2021).sum()) == last.size - first.size
    assert res.method == "rolling"
    # the bound of year 1 on its own is its optimum (solved to optimality)
    best = brute_force(A, weights=w, max_sites=3, fixed=[9], zones=[zone])
    assert res.year_bounds[0] == pytest.approx(best, rel=1e-4)
    assert res.results[0].objective <= best + 1e-9
    assert res.results[1].objective >= res.results[0].objective


def test_phased_yearly_budget_and_target() -> None:
    A, w, c = random_instance(9, m=50, n=10)
    res = solve_phased(A, years=[1, 2], objective="min_cost", costs=c, weights=w,
                       cumulative_target=[0.5, 0.8])
    assert res.status == "optimal"
    for year, target in ((1, 0.5), (2, 0.8)):
        assert check_solution(A, res.selected(year), weights=w, coverage_target=target) == []
    res_b = solve_phased(A, years=[1, 2], costs=c, weights=w, yearly_budget=[4.0, 4.0])
    spent1 = c[res_b.year_of == 1].sum()
    spent2 = c[res_b.year_of == 2].sum()
    assert spent1 <= 4.0 + 1e-9 and spent2 <= 4.0 + 1e-9
    assert not (res_b.year_of == NOT_SELECTED).all()


def test_phased_infeasible_year_is_reported() -> None:
    A = sp.csr_array(np.array([[1, 0], [0, 1]], dtype=float))
    zones = {2: [ZoneRequirement("north", np.array([0])), ZoneRequirement("south",
                                                                           np.array([1]))]}
    res = solve_phased(A, years=[1, 2], cumulative_sites=[1, 1], zones_by_year=zones)
    assert res.status == "infeasible"
    assert "proved the joint model infeasible" in res.message
    assert "year 2" in res.message
    res = solve_phased(A, years=[1, 2], cumulative_sites=[1, 1], zones_by_year=zones,
                       method="rolling")
    assert res.status == "infeasible"
    assert res.message.startswith("year 2")


def brute_force_rollout(A, years_kw, *, budgets=(None, None), objective="max_cover",
                        weights=None, costs=None, fixed=()):
    """Best two-year rollout by enumeration: every pair of plans S1 within S2 that passes
    the checker with each year's rules and the yearly budgets; the objective is coverage
    summed over both years (max cover) or the final cost (min cost)."""
    n = A.shape[1]
    w = np.ones(A.shape[0]) if weights is None else np.asarray(weights, dtype=float)
    c = np.ones(n) if costs is None else np.asarray(costs, dtype=float)
    masks = ((np.arange(2**n)[:, None] >> np.arange(n)) & 1).astype(bool)
    feas = [np.array([not check_solution(A, np.flatnonzero(mk), weights=w, costs=c,
                                         fixed=list(fixed), **kw) for mk in masks])
            for kw in years_kw]
    counts = [(A @ masks.T.astype(float)) for _ in years_kw]
    ks = [np.broadcast_to(kw.get("k", 1), (A.shape[0],))[:, None] for kw in years_kw]
    val = [w @ (cnt >= k) for cnt, k in zip(counts, ks, strict=True)]
    cost = masks @ c
    s1, s2 = np.meshgrid(np.arange(2**n), np.arange(2**n), indexing="ij")
    ok = ((s1 & s2) == s1) & feas[0][s1] & feas[1][s2]
    spent0 = c[list(fixed)].sum()
    if budgets[0] is not None:
        ok &= cost[s1] - spent0 <= budgets[0] + 1e-9
    if budgets[1] is not None:
        ok &= cost[s2] - cost[s1] <= budgets[1] + 1e-9
    if not ok.any():
        return None
    total = val[0][s1] + val[1][s2] if objective == "max_cover" else cost[s2]
    return float(total[ok].max() if objective == "max_cover" else total[ok].min())


def _rollout_cases():
    zone = ZoneRequirement("Anting core", np.arange(4), 1.0)
    icv = ZoneRequirement("icv", np.arange(6), 0.5, k=2)
    return [
        ({"cumulative_sites": [3, 5], "zones_by_year": {1: [zone]}, "fixed": [8]},
         [{"max_sites": 3, "zones": [zone]}, {"max_sites": 5, "zones": [zone]}], (None, None)),
        ({"yearly_budget": [6.0, 5.0]}, [{}, {}], (6.0, 5.0)),
        ({"cumulative_sites": [2, 4], "zones_by_year": {2: [icv]}},
         [{"max_sites": 2}, {"max_sites": 4, "zones": [icv]}], (None, None)),
    ]


@pytest.mark.parametrize("solver", ["cbc", "highs"])
@pytest.mark.parametrize("seed", [3, 11])
@pytest.mark.parametrize("case", range(3))
def test_joint_rollout_matches_enumeration(solver, seed, case) -> None:
    A, w, c = random_instance(seed, m=30, n=9, density=0.3)
    kw, years_kw, budgets = _rollout_cases()[case]
    best = brute_force_rollout(A, years_kw, budgets=budgets, weights=w, costs=c,
                               fixed=kw.get("fixed", ()))
    res = solve_phased(A, years=[1, 2], weights=w, costs=c, solver=solver, **kw)
    assert res.method == "joint" and res.status == "optimal"
    assert res.objective == pytest.approx(best)
    assert res.bound == pytest.approx(best, rel=1e-3)
    first, last = res.selected(1), res.selected(2)
    assert set(first) <= set(last)
    for sel, ykw in ((first, years_kw[0]), (last, years_kw[1])):
        assert check_solution(A, sel, weights=w, costs=c, fixed=kw.get("fixed", []),
                              **ykw) == []
    for t, b in enumerate(budgets, start=1):
        if b is not None:
            assert c[res.year_of == t].sum() <= b + 1e-9
    assert res.objective >= res.results[0].objective + res.results[1].objective - 1e-9
    assert res.year_bounds == tuple(r.bound for r in res.results)


def _min_cost_rollout(**kw):
    """A two-year min-cost rollout (targets 50 % then 80 %, a key zone in year 2): its
    enumerated best final cost and the rollout ``solve_phased`` gives with ``kw``."""
    A, w, c = random_instance(5, m=30, n=9, density=0.3)
    zone = ZoneRequirement("key", np.arange(3), 1.0)
    best = brute_force_rollout(A, [{"coverage_target": 0.5},
                                   {"coverage_target": 0.8, "zones": [zone]}],
                               objective="min_cost", weights=w, costs=c)
    res = solve_phased(A, years=[1, 2], objective="min_cost", weights=w, costs=c,
                       cumulative_target=[0.5, 0.8], zones_by_year={2: [zone]}, **kw)
    return best, res


@pytest.mark.parametrize("solver", ["cbc", "highs"])
def test_joint_min_cost_rollout_matches_enumeration(solver) -> None:
    best, res = _min_cost_rollout(solver=solver)
    assert res.method == "joint" and res.status == "optimal"
    assert res.objective == pytest.approx(best)
    assert res.results[-1].objective == pytest.approx(best)


def test_backward_pass_finds_what_the_forward_pass_cannot() -> None:
    # Forward takes column 0 in year 1 (three rows); year 2 then cannot cover row 1 with
    # one site. Backward solves year 2 alone (column 1: rows 0 and 1, the only site that
    # serves both zones), and year 1 keeps it.
    A = sp.csr_array(np.array([[1, 1, 0], [0, 1, 1], [1, 0, 0], [1, 0, 0]], dtype=float))
    zones = {1: [ZoneRequirement("z1", np.array([0]))], 2: [ZoneRequirement("z2",
                                                                            np.array([1]))]}
    kw = {"years": [1, 2], "cumulative_sites": [1, 1], "zones_by_year": zones}
    res = solve_phased(A, method="rolling", **kw)
    assert (res.method, res.direction) == ("rolling", "backward")
    assert res.year_of.tolist() == [NOT_SELECTED, 1, NOT_SELECTED]
    assert "the forward pass found no rollout (year 2: infeasible)" in res.message
    # year 1 alone covers 3 rows (column 0), year 2 alone 2: the bound is 5, the plan 4
    assert res.year_bounds == pytest.approx((3.0, 2.0))
    assert (res.objective, res.bound) == pytest.approx((4.0, 5.0))
    assert res.status == "feasible" and res.gap == pytest.approx(0.25)


def test_forward_pass_kept_when_the_backward_one_fails() -> None:
    # Year 1 needs 5 of 7 rows with one site: only column 1. Year 2 alone covers all 7 rows
    # with columns 0 and 2, neither of which reaches 5 rows, so the backward pass fails;
    # forward adds column 0 (row 6) to column 1: 5 + 6 = 11, and that is the optimum.
    A = sp.csr_array(np.array([[0, 1, 1, 1], [1, 1, 1, 1], [0, 1, 1, 0], [1, 1, 0, 0],
                               [1, 1, 0, 1], [0, 0, 1, 0], [1, 0, 0, 0]], dtype=float))
    kw = {"years": [1, 2], "cumulative_sites": [1, 2], "cumulative_target": [0.6, None]}
    res = solve_phased(A, method="rolling", **kw)
    assert res.direction == "forward" and res.year_of.tolist() == [2, 1, NOT_SELECTED,
                                                                   NOT_SELECTED]
    assert "the backward pass found no rollout (year 1: infeasible)" in res.message
    assert res.year_bounds == pytest.approx((5.0, 7.0))
    assert (res.objective, res.bound) == pytest.approx((11.0, 12.0))
    joint = solve_phased(A, method="joint", **kw)
    assert joint.status == "optimal" and joint.objective == pytest.approx(11.0)
    assert joint.bound == pytest.approx(11.0)  # the MIP's bound, tighter than the years'


def test_backward_pass_lowers_the_final_cost() -> None:
    # Year 1 needs row 0 (half the weight): column 0 costs 1, column 1 costs 2. Year 2
    # needs both rows: only column 1. Forward builds 0 then 1 (3); backward builds 1 (2).
    A = sp.csr_array(np.array([[1, 1], [0, 1]], dtype=float))
    res = solve_phased(A, years=[1, 2], objective="min_cost", weights=[5.0, 5.0],
                       costs=[1.0, 2.0], cumulative_target=[0.5, 1.0], method="rolling")
    assert res.direction == "backward" and res.year_of.tolist() == [NOT_SELECTED, 1]
    assert res.objective == pytest.approx(2.0) and res.bound == pytest.approx(2.0)
    assert res.status == "optimal" and "forward pass gave 3" in res.message


def test_backward_rollout_that_breaks_a_yearly_budget_is_dropped() -> None:
    # Year 2 alone may spend both years' budgets (2 sites); year 1 may build nothing, so
    # the backward rollout spends 2 in year 2 against a budget of 1.
    A, w, _ = random_instance(7, m=40, n=8)
    res = solve_phased(A, years=[1, 2], cumulative_sites=[0, 3], yearly_budget=[1.0, 1.0],
                       weights=w, method="rolling")
    assert res.direction == "forward"
    assert ("backward pass found no rollout (its rollout breaks year 2: new sites cost 2"
            in res.message)
    assert (res.year_of == 1).sum() == 0 and (res.year_of == 2).sum() == 1


@pytest.mark.parametrize("seed", [3, 11, 17])
@pytest.mark.parametrize("case", range(3))
def test_rolling_rollout_bound_holds_against_enumeration(seed, case) -> None:
    A, w, c = random_instance(seed, m=30, n=9, density=0.3)
    kw, years_kw, budgets = _rollout_cases()[case]
    best = brute_force_rollout(A, years_kw, budgets=budgets, weights=w, costs=c,
                               fixed=kw.get("fixed", ()))
    res = solve_phased(A, years=[1, 2], weights=w, costs=c, method="rolling", **kw)
    if best is None:  # no rollout at all: both passes must fail
        assert res.status == "infeasible"
        return
    assert res.method == "rolling" and res.status in ("optimal", "feasible")
    assert res.objective <= best + 1e-9 <= res.bound + 2e-9
    assert len(res.year_bounds) == 2 and np.isfinite(res.year_bounds).all()
    assert res.bound == pytest.approx(sum(res.year_bounds))
    assert res.status == ("optimal" if res.gap <= 1e-4 + 1e-9 else "feasible")
    first, last = res.selected(1), res.selected(2)
    assert set(first) <= set(last)
    for t, b in enumerate(budgets, start=1):
        if b is not None:
            assert c[res.year_of == t].sum() <= b + 1e-9


def test_rolling_min_cost_bound_holds_against_enumeration() -> None:
    best, res = _min_cost_rollout(method="rolling")
    assert res.bound - 1e-9 <= best <= res.objective + 1e-9
    # the final cost is bounded by the last year's own bound; year 1's comes with its plan
    assert res.bound == pytest.approx(res.year_bounds[1])
    assert res.year_bounds[0] <= res.results[0].objective + 1e-9


def test_joint_rollout_beats_rolling_on_coverage_over_the_years() -> None:
    A, w, _ = random_instance(2, m=60, n=12, density=0.2)
    kw = {"years": [1, 2], "cumulative_sites": [2, 5], "weights": w}
    rolled = solve_phased(A, method="rolling", **kw)
    joint = solve_phased(A, method="joint", **kw)
    assert rolled.method == "rolling"
    assert joint.status == "optimal"
    assert rolled.objective <= joint.objective <= rolled.bound + 1e-9


def test_auto_rollout_falls_back_to_rolling_when_too_large(monkeypatch) -> None:
    from siting.optimize import phasing

    A, w, _ = random_instance(4, m=30, n=9)
    monkeypatch.setattr(phasing, "JOINT_MAX_NNZ", 1)
    kw = {"years": [1, 2], "cumulative_sites": [2, 4], "weights": w}
    assert solve_phased(A, **kw).method == "rolling"
    assert solve_phased(A, method="joint", **kw).method == "joint"


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"years": [2021, 2020]}, "strictly increasing"),
        ({"years": [1, 2], "cumulative_sites": [3]}, "one per year"),
        ({"years": [1], "zones_by_year": {5: []}}, r"not in years"),
        ({"years": [1, 2], "method": "best"}, "method must be one of"),
    ],
)
def test_phased_bad_arguments(kw, match) -> None:
    A, _, _ = random_instance(0)
    with pytest.raises(ConfigError, match=match):
        solve_phased(A, **kw)


# -- Pareto ---------------------------------------------------------------------------
def test_pareto_front_is_monotone_and_exact() -> None:
    A, w, c = random_instance(12)
    front = pareto_front(A, budgets=[8, 2, 5], weights=w, costs=c)
    assert front.limits.tolist() == [2, 5, 8]
    assert np.all(np.diff(front.objectives) >= -1e-9)
    for lim, r in zip(front.limits, front.results, strict=True):
        assert r.objective == pytest.approx(brute_force(A, weights=w, costs=c, budget=lim))
    sites = pareto_front(A, site_counts=[1, 2, 3], weights=w, heuristic_only=True)
    assert sites.n_sites.tolist() == [1, 2, 3]
    assert np.all(sites.bounds >= sites.objectives)


def test_pareto_needs_one_kind_of_limit() -> None:
    A, _, _ = random_instance(0)
    with pytest.raises(ConfigError, match="exactly one of budgets or site_counts"):
        pareto_front(A, budgets=[1], site_counts=[1])


def test_highs_bound_is_in_the_plan_frame_with_a_start() -> None:
    # HiGHS 1.16 given this start reports objective and bound 2 (without the constant that
    # presolve moved out); the optimum is 5. The back-end must not return that bound.
    from siting.optimize.backends import solve_highs
    from siting.optimize.joint import joint_model, joint_start
    from siting.optimize.phasing import _joint_problems, _Rollout
    from siting.optimize.problem import make_problem

    A, w, c = random_instance(5, m=30, n=9, density=0.3)
    zone = ZoneRequirement("key", np.arange(3), 1.0)
    base = make_problem(A, weights=w, costs=c, objective="min_cost", coverage_target=0.5,
                        zones=[zone])
    ro = _Rollout(base, [1, 2], {2: [zone]}, [None, None], [None, None], [0.5, 0.8])
    jm = joint_model(base, _joint_problems(ro), ro.budgets)
    rolled = solve_phased(A, years=[1, 2], objective="min_cost", weights=w, costs=c,
                          cumulative_target=[0.5, 0.8], zones_by_year={2: [zone]},
                          method="rolling")
    start = joint_start(jm, [rolled.selected(1), rolled.selected(2)])
    out = solve_highs(jm.milp, start, time_limit=30, mip_gap=1e-4, threads=1, seed=0)
    assert out.kind == "optimal"
    assert out.objective == pytest.approx(float(jm.milp.c @ out.x))
    assert out.bound == pytest.approx(5.0)
