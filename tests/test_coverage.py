"""Tests of the sparse coverage matrix."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import scipy.sparse as sp
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from siting.coverage import RangeModel, build_coverage, candidate_pairs

CRS = "EPSG:32651"


def _demand(xy: np.ndarray, factor: float = 1.0) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"cell_id": np.arange(len(xy)), "range_factor": factor},
        geometry=shapely.points(xy),
        crs=CRS,
    )


def _cands(xy: np.ndarray, classes: list[str]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"candidate_id": [f"c{i}" for i in range(len(xy))], "site_class": classes},
        geometry=shapely.points(xy),
        crs=CRS,
    )


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 60),
    m=st.integers(1, 20),
    seed=st.integers(0, 10_000),
)
def test_pairs_match_brute_force(n: int, m: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    dxy = rng.uniform(0, 1000, size=(n, 2))
    cxy = rng.uniform(0, 1000, size=(m, 2))
    radius = rng.choice([100.0, 250.0, 400.0], size=m)
    rows, cols, dist = candidate_pairs(dxy, cxy, radius)
    full = np.hypot(dxy[:, None, 0] - cxy[None, :, 0], dxy[:, None, 1] - cxy[None, :, 1])
    want = np.argwhere(full <= radius[None, :])
    got = np.column_stack([rows, cols])
    assert sorted(map(tuple, got)) == sorted(map(tuple, want))
    np.testing.assert_allclose(dist, full[rows, cols])


def test_range_model_and_service_level_factor() -> None:
    demand = _demand(np.array([[0, 0], [150, 0], [300, 0]], dtype=float))
    cands = _cands(np.array([[0, 0], [300, 0]], dtype=float), ["a", "b"])
    model = RangeModel({"a": 160.0, "b": 100.0})
    cov = build_coverage(demand, cands, model)
    assert isinstance(cov.A, sp.csr_matrix)
    assert cov.A.toarray().tolist() == [[1, 0], [1, 0], [0, 1]]
    assert cov.rsrp is None
    strict = build_coverage(
        _demand(demand.geometry.get_coordinates().to_numpy(), 0.5), cands, model
    )
    assert strict.A.toarray().tolist() == [[1, 0], [0, 0], [0, 1]]
    assert list(cov.candidate_ids) == ["c0", "c1"]


def test_unknown_class_range() -> None:
    cands = _cands(np.zeros((1, 2)), ["nope"])
    with pytest.raises(ValueError, match=r"no range for site class\(es\) \['nope'\]"):
        RangeModel({"a": 1.0}).max_range_m(cands)
