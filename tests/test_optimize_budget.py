"""Work budgets: searches stop by counted work, so the same input gives the same plan."""

from __future__ import annotations

import time

import numpy as np
import pytest

from siting.optimize import check_solution, solve_matrix
from siting.optimize import solve as solve_mod
from siting.optimize.bounds import best_bound
from siting.optimize.budget import Budget, as_budget
from siting.optimize.heuristics import greedy, heuristic
from siting.optimize.lns import large_neighbourhood_search
from siting.optimize.problem import make_problem
from siting.optimize.reduce import build_model
from tests.test_optimize import mid_instance, random_instance


def _min_cost_model(target: float = 0.9):
    A, w, c = mid_instance()
    kw = {"weights": w, "costs": c, "coverage_target": target}
    return A, kw, build_model(make_problem(A, objective="min_cost", **kw))


def test_mip_solvers_get_the_seconds_to_the_deadline_or_else_the_units_left() -> None:
    assert Budget(None).solver_seconds() is None
    b = Budget(8.0)
    b.charge(3.0)
    assert b.solver_seconds() == pytest.approx(5.0)  # a work limit alone still ends a MIP
    assert Budget(8.0, time.perf_counter() + 100.0).solver_seconds() == pytest.approx(100.0,
                                                                                      abs=1.0)


def test_budget_counts_units_through_its_parts_and_records_the_clock() -> None:
    b = Budget(10.0)
    part = b.part(4.0)
    part.charge(3.0)
    assert not part.done() and b.spent == 3.0 and b.units_left() == 7.0
    part.charge(1.5)
    assert part.done() and not b.done() and not b.clock_stopped
    assert b.part(100.0).units == pytest.approx(5.5)  # a part never exceeds what is left
    late = Budget(None, time.perf_counter() - 1.0)
    assert late.done() and late.clock_stopped
    assert as_budget(None).units is None and as_budget(None).deadline is None
    assert not as_budget(None).done()
    assert as_budget(b) is b
    clock = as_budget(5.0)
    assert clock.units is None and 4.0 < clock.seconds_left() <= 5.0


def test_window_search_with_a_work_budget_repeats_exactly() -> None:
    A, kw, model = _min_cost_model()
    every = np.ones(model.n, dtype=bool)
    runs = []
    for _ in range(2):
        budget = Budget(2.0)
        out, stats = large_neighbourhood_search(model, every, time_limit=budget, size=40,
                                                workers=2)
        assert not budget.clock_stopped and budget.spent >= 1.5  # most of it, by work
        runs.append((out, stats))
    (a, sa), (b, sb) = runs
    assert sa.windows == sb.windows and sa.improved == sb.improved >= 1
    assert np.array_equal(a, b) and sa.value == sb.value < model.n
    assert check_solution(A, model.cols[a], **kw) == []


def test_window_search_does_not_start_a_window_it_cannot_pay_for() -> None:
    _, _, model = _min_cost_model()
    every = np.ones(model.n, dtype=bool)
    one = Budget(1e-9)  # spent by the first window: only those started before any cost
    _, first = large_neighbourhood_search(model, every, time_limit=one, size=40, workers=2)
    assert first.windows == 3  # two workers and one window queued behind them
    budget = Budget(one.spent * (1 + 1e-6))  # left after the same three: less than one
    _, stats = large_neighbourhood_search(model, every, time_limit=budget, size=40, workers=2)
    assert stats.windows == first.windows and budget.spent == pytest.approx(one.spent)
    assert not budget.done()  # it stopped because another window would overrun


def test_a_window_solve_is_charged_for_its_simplex_iterations_when_they_dominate() -> None:
    from siting.optimize.backends import MipOutcome
    from siting.optimize.lns import ITERATION_UNIT, WINDOW_UNIT, _work
    from siting.optimize.milp import build_milp

    _, _, model = _min_cost_model()
    milp = build_milp(model)
    nnz, ncol = milp.A.nnz, milp.shape[1]
    shallow = MipOutcome("optimal", "Optimal", None, 0.0, 0.0, "highs", nodes=10,
                         iterations=1)
    unit = WINDOW_UNIT["min_cost"]
    assert _work(milp, shallow, unit) == pytest.approx(2 * nnz * unit)
    deep = MipOutcome("optimal", "Optimal", None, 0.0, 0.0, "highs", nodes=10,
                      iterations=10**6)
    assert _work(milp, deep, unit) == pytest.approx(ITERATION_UNIT * 1e6 * nnz / ncol)


def test_a_window_solve_that_improves_the_plan_is_charged_more() -> None:
    from siting.optimize.lns import IMPROVED_EXTRA, WINDOW_UNIT, _solve_window, _work
    from siting.optimize.milp import build_milp

    A, w, c = random_instance(3, m=80, n=15, density=0.3)
    model = build_model(make_problem(A, objective="min_cost", weights=w, costs=c,
                                     coverage_target=0.8))
    milp = build_milp(model)
    every = np.ones(model.n, dtype=bool)  # the dearest plan: the solve finds a cheaper one
    out, clocked, work, _ = _solve_window(model, milp, every, 30.0, 1)
    assert not clocked and float(model.costs @ (out.x[:model.n] > 0.5)) < model.costs.sum()
    assert work == pytest.approx((1 + IMPROVED_EXTRA)
                                 * _work(milp, out, WINDOW_UNIT["min_cost"]))
    cover = build_model(make_problem(A, weights=w, max_sites=4))
    cmilp = build_milp(cover)
    best = _solve_window(cover, cmilp, np.zeros(cover.n, dtype=bool), 30.0, 10**6)[0]
    x = best.x[:cover.n] > 0.5  # an optimal plan: nothing to improve, charged plainly
    again, _, work, exact = _solve_window(cover, cmilp, x, 30.0, 10**6)
    assert exact
    assert work == pytest.approx(_work(cmilp, again, WINDOW_UNIT["max_cover"]))


def test_heuristic_and_bound_with_a_work_budget_repeat_exactly() -> None:
    _, _, model = _min_cost_model()
    plans = [heuristic(model, time_limit=Budget(0.3)).x for _ in range(2)]
    assert np.array_equal(*plans)
    assert greedy(model).cost() >= float(model.costs[plans[0]].sum())
    bounds = [best_bound(model, incumbent=float(model.costs[plans[0]].sum()),
                         time_limit=Budget(1.0)) for _ in range(2)]
    assert bounds[0][0] == bounds[1][0] and bounds[0][1] == bounds[1][1]
    assert np.array_equal(bounds[0][2], bounds[1][2])


def test_work_limited_district_path_gives_the_same_plan_twice(monkeypatch) -> None:
    A, kw, _ = _min_cost_model()
    monkeypatch.setattr(solve_mod, "MIP_MAX_NNZ", 100)  # the window-search path
    res = [solve_matrix(A, objective="min_cost", work_limit=8.0, threads=2, **kw)
           for _ in range(2)]
    for r in res:
        assert r.solver_status.startswith("window search")
        assert r.reproducible, r.message  # ended by its work budget, not by the clock
        assert "wall clock" not in r.message and r.objective < r.heuristic_objective
    assert np.array_equal(res[0].selected, res[1].selected)
    assert res[0].bound == res[1].bound and res[0].objective == res[1].objective
    assert check_solution(A, res[0].selected, **kw) == []


@pytest.mark.parametrize("bad", [-1.0, "ten", float("nan")])
def test_bad_limits_are_refused(bad) -> None:
    from siting._errors import ConfigError

    A, kw, _ = _min_cost_model()
    with pytest.raises(ConfigError, match="work_limit must be a number"):
        solve_matrix(A, objective="min_cost", work_limit=bad, **kw)


def test_a_solve_cut_by_the_clock_says_so() -> None:
    A, w, _ = mid_instance()
    # CBC stops at its time limit long before proving this max-cover optimum
    res = solve_matrix(A, weights=w, max_sites=40, time_limit=1.0, solver="cbc",
                       heuristic_time=0.05)
    assert res.stop_reason == "time_limit" and res.gap > 0.01
    assert not res.reproducible and "wall clock" in res.message
    assert check_solution(A, res.selected, weights=w, max_sites=40) == []


def test_work_limited_rolling_rollout_repeats_exactly(monkeypatch) -> None:
    from siting.optimize import solve_phased

    A, w, c = mid_instance()
    monkeypatch.setattr(solve_mod, "MIP_MAX_NNZ", 100)  # every year: the window search
    kw = {"years": [2020, 2021], "cumulative_sites": [30, 45], "weights": w, "costs": c,
          "method": "rolling", "work_limit": 6.0, "threads": 2}
    runs = [solve_phased(A, **kw) for _ in range(2)]
    for r in runs:
        assert r.status in ("optimal", "feasible") and r.reproducible
        assert all(y.reproducible for y in r.results)
    assert np.array_equal(runs[0].year_of, runs[1].year_of)
    assert runs[0].objective == runs[1].objective and runs[0].bound == runs[1].bound
