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
                       fixed=[9], zones_by_year={2020: [zone]})
    assert res.status == "optimal"
    assert res.year_of[9] == EXISTING
    first, last = res.selected(2020), res.selected()
    assert set(first) <= set(last)
    assert first.size <= 3 and last.size <= 5
    assert check_solution(A, first, zones=[zone]) == []
    assert ((res.year_of == 2021).sum()) == last.size - first.size
    # year 1 is the optimum for its own constraints
    best = brute_force(A, weights=w, max_sites=3, fixed=[9], zones=[zone])
    assert res.results[0].objective == pytest.approx(best)
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
    assert res.message.startswith("year 2")


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"years": [2021, 2020]}, "strictly increasing"),
        ({"years": [1, 2], "cumulative_sites": [3]}, "one per year"),
        ({"years": [1], "zones_by_year": {5: []}}, r"not in years"),
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
