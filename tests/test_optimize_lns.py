"""Window search (large-neighbourhood search): keeps every rule, never worsens, finds optima."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from siting.optimize import Quota, ZoneRequirement, check_solution, solve_matrix
from siting.optimize import solve as solve_mod
from siting.optimize.heuristics import State, greedy
from siting.optimize.lns import large_neighbourhood_search, window
from siting.optimize.problem import make_problem
from siting.optimize.reduce import build_model
from tests.test_optimize import brute_force, mid_instance, random_instance


def _all_columns(model) -> np.ndarray:
    x = np.zeros(model.n, dtype=bool)
    x[~model.fixed] = True
    x[model.fixed] = True
    return x


def _value(model, x: np.ndarray) -> float:
    st_ = State(model)
    for j in np.flatnonzero(x):
        st_.add(int(j))
    return st_.value()


@pytest.mark.parametrize(
    "objective, extra",
    [
        ("min_cost", {"coverage_target": 0.7}),
        ("min_cost", {"coverage_target": 0.6,
                      "zones": [ZoneRequirement("icv", np.arange(6), 0.5, k=2)]}),
        ("min_cost", {"coverage_target": 0.5, "zones": [ZoneRequirement("core", np.arange(4),
                                                                         1.0)]}),
        ("max_cover", {"max_sites": 3}),
        ("max_cover", {"budget": 8.0, "quotas": [Quota("cctv", np.arange(3), max=1)]}),
    ],
)
def test_one_window_over_every_column_finds_the_optimum(objective: str, extra: dict) -> None:
    A, w, c = random_instance(7, m=40, n=9, density=0.3)
    kw = {"weights": w, "costs": c, **extra}
    best = brute_force(A, objective=objective, **kw)
    assert best is not None
    model = build_model(make_problem(A, objective=objective, **kw))
    x = _all_columns(model) if objective == "min_cost" else greedy(model).x
    assert check_solution(A, model.cols[x], **kw) == []
    out, stats = large_neighbourhood_search(model, x, time_limit=20.0, size=model.n,
                                            window_time=10.0)
    assert check_solution(A, model.cols[out], **kw) == []
    assert _value(model, out) == pytest.approx(best)
    assert stats.windows >= 1 and stats.value == pytest.approx(best)


instances = st.tuples(st.integers(0, 10_000), st.integers(10, 40), st.integers(4, 9),
                      st.floats(0.15, 0.5))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inst=instances, target=st.floats(0.3, 0.9), zone=st.booleans(), quota=st.booleans(),
       conflict=st.booleans(), size=st.integers(1, 4), scored=st.booleans(),
       workers=st.sampled_from([1, 2]))
def test_small_windows_keep_every_rule_and_never_raise_cost(
    inst, target: float, zone: bool, quota: bool, conflict: bool, size: int, scored: bool,
    workers: int,
) -> None:
    seed, m, n, dens = inst
    A, w, c = random_instance(seed, m=m, n=n, density=dens)
    kw = {"weights": w, "costs": c, "coverage_target": target,
          "zones": [ZoneRequirement("icv", np.arange(4), 0.5, k=2)] if zone else None,
          "quotas": [Quota("cctv", np.arange(2), max=1)] if quota else None,
          "conflicts": [[1, 2]] if conflict else None}
    model = build_model(make_problem(A, objective="min_cost", **kw))
    start = greedy(model)
    if not start.feasible():
        return
    before = start.cost()
    scores = np.random.default_rng(seed).normal(size=model.n) if scored else None
    out, stats = large_neighbourhood_search(model, start.x, time_limit=5.0, size=size,
                                            window_time=1.0, scores=scores, reach=2 * size,
                                            workers=workers)
    assert check_solution(A, model.cols[out], **kw) == []
    assert float(model.costs[out].sum()) <= before + 1e-9
    assert stats.value == pytest.approx(float(model.costs[out].sum()))
    best = brute_force(A, objective="min_cost", **kw)
    assert best is not None and stats.value >= best - 1e-9


def test_window_grows_by_rows_shared_and_respects_its_size() -> None:
    A, w, _ = mid_instance()
    model = build_model(make_problem(A, weights=w, max_sites=50))
    AoT = model.Ao.T.tocsr()
    W = window(model, 0, 40, AoT)
    assert W.size == 40 and 0 in W
    ring1 = np.unique(model.Ao[AoT[[0]].indices].indices)  # columns sharing a row with 0
    small = window(model, 0, ring1.size, AoT)
    assert set(small) == set(ring1)


def test_scored_window_offers_the_selected_and_the_best_scored_columns() -> None:
    from siting.optimize import bounds
    from siting.optimize.lns import _scored_window

    A, w, _ = mid_instance()
    model = build_model(make_problem(A, weights=w, objective="min_cost",
                                     coverage_target=0.9))
    plan = greedy(model)
    _, _, scores = bounds.best_bound(model, incumbent=float("nan"), time_limit=0.0)
    assert scores is None  # no time: no Lagrangian, no reduced costs
    _, _, scores = bounds.best_bound(model, incumbent=plan.cost(), time_limit=3.0)
    if scores is None:  # the LP finished first; price the columns at the volume's duals
        _, _, mult = bounds.volume(model, upper=plan.cost(), time_limit=2.0)
        scores = bounds.reduced_costs(model, mult)
    assert scores.shape == (model.n,) and (scores < 0).any()
    seed = int(np.flatnonzero(plan.x)[0])
    AoT = model.Ao.T.tocsr()
    W = _scored_window(model, plan.x, seed, 10, 80, scores, AoT)
    wide = window(model, seed, 80, AoT)
    assert set(wide[plan.x[wide]]) <= set(W)
    others = np.setdiff1d(W, wide[plan.x[wide]])
    assert others.size == 10 and set(others) <= set(wide)
    assert scores[others].max() <= np.sort(scores[wide[~plan.x[wide]]])[9] + 1e-12


def test_window_search_improves_a_mid_instance_plan() -> None:
    A, w, _ = mid_instance()
    kw = {"weights": w, "coverage_target": 0.9}
    model = build_model(make_problem(A, objective="min_cost", **kw))
    every = np.ones(model.n, dtype=bool)  # a poor but feasible plan: every site
    out, stats = large_neighbourhood_search(model, every, time_limit=8.0, size=60,
                                            window_time=2.0, workers=2)
    assert stats.improved >= 1
    assert stats.start_value == model.n and stats.value < model.n
    assert stats.value <= 1.1 * greedy(model).cost()  # windows alone reach a greedy's level
    assert check_solution(A, model.cols[out], **kw) == []


def test_large_models_use_the_window_search(monkeypatch) -> None:
    A, w, _ = mid_instance()
    monkeypatch.setattr(solve_mod, "MIP_MAX_NNZ", 100)  # treat the mid instance as large
    res = solve_matrix(A, weights=w, objective="min_cost", coverage_target=0.9,
                       time_limit=15.0, heuristic_time=0.2)
    assert res.solver == "highs" and res.solver_status.startswith("window search")
    assert "window_search" in res.timings and "mip" not in res.timings
    assert res.status in ("feasible", "optimal")
    assert res.objective <= res.heuristic_objective
    assert res.bound <= res.objective and res.gap == pytest.approx(
        (res.objective - res.bound) / res.objective)
    assert check_solution(A, res.selected, weights=w, coverage_target=0.9) == []


def test_highs_thread_count_can_change_between_solves() -> None:
    # HiGHS keeps one thread scheduler per process; a later solve asking for another
    # thread count used to fail with no status (and a stale bound)
    A, w, _ = mid_instance()
    for threads in (None, 1, 2):
        res = solve_matrix(A, weights=w, max_sites=30, solver="highs", threads=threads,
                           time_limit=3.0)
        assert res.solver_status in ("Optimal", "Time limit reached")
        assert check_solution(A, res.selected, weights=w, max_sites=30) == []


def _slack_instance():
    """Two regions sharing no row. Region A: s1 covers a0, a1, a2; s3 covers a1, a2, a3
    (one more unit of weight at the same cost). Region B: t1 covers b1, b2 and t2 covers
    b2, b3. The plan {s1, t1, t2} sits exactly at the target (19 of 21); the optimum
    {s3, t1} needs the unit region A can gain to pay for dropping t2 in region B."""
    import scipy.sparse as sp

    #              a0 a1 a2 a3 b1 b2 b3
    cols = {"s1": [0, 1, 2], "s3": [1, 2, 3], "t1": [4, 5], "t2": [5, 6]}
    r = np.concatenate(list(cols.values()))
    c = np.repeat(np.arange(4), [len(v) for v in cols.values()])
    A = sp.csr_array((np.ones(r.size), (r, c)), shape=(7, 4))
    w = np.array([1.0, 5.0, 5.0, 2.0, 2.0, 5.0, 1.0])
    return A, w, np.array([0, 2, 3])


def test_min_cost_windows_gain_weight_at_equal_cost_so_others_can_drop_a_site() -> None:
    A, w, start = _slack_instance()
    kw = {"weights": w, "coverage_target": 19.0 / 21.0}
    model = build_model(make_problem(A, objective="min_cost", **kw))
    assert model.n == 4
    x = np.zeros(model.n, dtype=bool)
    x[np.searchsorted(model.cols, start)] = True
    assert check_solution(A, model.cols[x], **kw) == []
    # no window can make its part cheaper: region B needs both sites for its own weight
    out, stats = large_neighbourhood_search(model, x, time_limit=10.0, size=2,
                                            window_time=2.0)
    assert stats.value == 2 and set(model.cols[out]) == {1, 2}
    assert stats.improved == 2  # region A: s1 -> s3 at equal cost; region B: t2 dropped
    assert check_solution(A, model.cols[out], **kw) == []


def test_weight_milp_maximises_weight_within_the_cost_cap() -> None:
    from siting.optimize.backends import solve_highs
    from siting.optimize.lns import weight_milp
    from siting.optimize.milp import build_milp

    A, w, _ = _slack_instance()
    costs = np.array([1.0, 1.5, 1.0, 1.0])
    model = build_model(make_problem(A, objective="min_cost", weights=w, costs=costs,
                                     coverage_target=0.5))
    milp = weight_milp(model, build_milp(model), 2.5)
    out = solve_highs(milp, None, time_limit=10.0, mip_gap=0.0, threads=None, seed=0)
    x = out.x[:model.n] > 0.5
    assert set(model.cols[x]) == {1, 2}  # s3 + t1: 19, the most weight for at most 2.5
    assert out.objective == pytest.approx(-19.0)
    tight = solve_highs(weight_milp(model, build_milp(model), 2.0), None, time_limit=10.0,
                        mip_gap=0.0, threads=None, seed=0)
    assert set(model.cols[tight.x[:model.n] > 0.5]) == {0, 2}  # s1 + t1: 18 for 2.0


def test_windows_in_flight_block_every_column_sharing_a_row() -> None:
    from siting.optimize.lns import _blocked_columns
    A, w, c = random_instance(11, m=40, n=12, density=0.2)
    zone = ZoneRequirement("icv", np.arange(5), 0.6, k=2)
    model = build_model(make_problem(A, weights=w, costs=c, objective="min_cost",
                                     coverage_target=0.6, zones=[zone]))
    transposes = (model.Ao.T.tocsr(), model.Ah.T.tocsr(),
                  *(z.A.T.tocsr() for z in model.frac))
    for j in range(model.n):
        W = np.array([j])
        rows = [M[:, [j]].toarray().ravel() > 0 for M in (model.Ao, model.Ah,
                                                          *(z.A for z in model.frac))]
        share = [(M[r] != 0).toarray().any(axis=0) for M, r in zip(
            (model.Ao, model.Ah, *(z.A for z in model.frac)), rows, strict=True)]
        expected = np.flatnonzero(np.logical_or.reduce([*share, np.arange(model.n) == j]))
        assert np.array_equal(_blocked_columns(model, W, transposes), expected)


def test_window_rows_alike_inside_the_window_are_merged_without_changing_its_optimum() -> None:
    import itertools

    from siting.optimize.backends import solve_highs
    from siting.optimize.lns import _feasible, window_model
    from siting.optimize.milp import build_milp
    A, w, c = random_instance(5, m=80, n=12, density=0.3)
    kw = {"weights": w, "costs": c, "coverage_target": 0.8,
          "zones": [ZoneRequirement("icv", np.arange(10), 0.6, k=2),
                    ZoneRequirement("core", np.arange(10, 16), 1.0)]}
    model = build_model(make_problem(A, objective="min_cost", **kw))
    x = greedy(model).x
    transposes = (model.Ao.T.tocsr(), model.Ah.T.tocsr(),
                  *(z.A.T.tocsr() for z in model.frac))
    W = np.arange(5)
    sub, Wk = window_model(model, x, W, transposes)
    assert np.array_equal(Wk, W) and x[W].any()
    outside = x.copy()
    outside[W] = False
    open_rows = (model.Ao[:, W].toarray().any(axis=1)
                 & (model.Ao @ outside.astype(float) < model.ko))
    assert sub.Ao.shape[0] < open_rows.sum()  # 5 columns have at most 31 patterns
    keys = {(tuple(r), k) for r, k in zip(sub.Ao.toarray().astype(int), sub.ko, strict=True)}
    assert len(keys) == sub.Ao.shape[0]
    assert sub.wo.sum() == pytest.approx(model.wo[open_rows].sum())
    best = np.inf
    for bits in itertools.product([False, True], repeat=W.size):
        trial = x.copy()
        trial[W] = bits
        if _feasible(model, trial):
            best = min(best, float(model.costs[W][list(bits)].sum()))
    out = solve_highs(build_milp(sub), None, time_limit=10.0, mip_gap=0.0, threads=None,
                      seed=0)
    assert out.objective == pytest.approx(best)
