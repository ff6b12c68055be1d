"""The radio coverage model behind siting.coverage, and the RSRP GeoTIFF."""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import scipy.sparse as sp
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from siting._errors import ConfigError, LayerError
from siting.coverage import CoverageModel, build_coverage
from siting.radio import RadioConfig, RadioModel, best_server, link_budget, write_rsrp_geotiff
from siting.radio.linkbudget import rsrp_dbm

CRS = "EPSG:32651"
X0, Y0 = 330_000.0, 3_465_000.0


def _demand(xy: np.ndarray, *, thr: float = -110.0, indoor: float = 0.0) -> gpd.GeoDataFrame:
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    n = len(xy)
    return gpd.GeoDataFrame(
        {
            "cell_id": np.arange(n, dtype="int64"),
            "rsrp_min_dbm": np.full(n, thr, dtype="float32"),
            "indoor_share": np.full(n, indoor),
            "service_level": "ordinary",
        },
        geometry=shapely.points(xy[:, 0] + X0, xy[:, 1] + Y0),
        crs=CRS,
    )


def _candidates(rows: list[tuple[str, str, float, str, float, float]]) -> gpd.GeoDataFrame:
    """Rows of (id, class, height, env, x offset, y offset)."""
    return gpd.GeoDataFrame(
        {
            "candidate_id": [r[0] for r in rows],
            "site_class": [r[1] for r in rows],
            "height_m": [r[2] for r in rows],
            "env": [r[3] for r in rows],
        },
        geometry=shapely.points([(r[4] + X0, r[5] + Y0) for r in rows]),
        crs=CRS,
    )


def _buildings(*rows: tuple[float, float, float, float, float]) -> gpd.GeoDataFrame:
    arr = np.array(rows, dtype=float).reshape(-1, 5)
    return gpd.GeoDataFrame(
        {"building_id": [f"b{i}" for i in range(len(arr))], "height_m": arr[:, 4]},
        geometry=shapely.box(X0 + arr[:, 0], Y0 + arr[:, 1], X0 + arr[:, 2], Y0 + arr[:, 3]),
        crs=CRS,
    )


LAMP = [("s1", "small_cell_lamp", 10.0, "urban", 0.0, 0.0)]


def test_is_a_coverage_model() -> None:
    assert isinstance(RadioModel(), CoverageModel)
    assert RadioModel().name == "radio"


def test_tall_building_turns_los_into_nlos_and_removes_coverage() -> None:
    # a lamp-pole small cell and an outdoor cell 250 m east: covered under LOS
    # (UMi LOS reach ~480 m at -110 dBm, capped at 300 m) but not under NLOS (~155 m)
    demand = _demand([(250.0, 0.0)])
    cand = _candidates(LAMP)
    low = _buildings((140, -20, 160, 20, 4.0), (100, 60, 120, 80, 60.0))
    tall = _buildings((140, -20, 160, 20, 60.0), (100, 60, 120, 80, 60.0))
    open_sky = build_coverage(demand, cand, RadioModel(buildings=low))
    blocked = build_coverage(demand, cand, RadioModel(buildings=tall))
    assert open_sky.A.toarray().tolist() == [[1]]
    assert blocked.A.toarray().tolist() == [[0]]
    cfg = RadioConfig()
    b = link_budget(cfg, "small_cell_lamp", "n78")
    los_rsrp = float(rsrp_dbm(cfg, b, "umi", 250.0, h_bs_m=10.0, los=True))
    assert open_sky.rsrp.toarray()[0, 0] == pytest.approx(los_rsrp, abs=1e-4)


def test_without_obstruction_data_the_los_probability_decides() -> None:
    # p_LOS(UMi, 250 m) = 0.07 < 0.5: NLOS, so the same cell is not covered
    cm = build_coverage(_demand([(250.0, 0.0), (100.0, 0.0)]), _candidates(LAMP), RadioModel())
    assert cm.A.toarray().ravel().tolist() == [0, 1]


def test_indoor_cells_lose_o2i() -> None:
    cand = _candidates(LAMP)
    model = RadioModel({"los_mode": "nlos"})
    rows, cols, dist = np.array([0]), np.array([0]), np.array([60.0])
    out = model.evaluate(_demand([(60.0, 0.0)]), cand, rows, cols, dist).signal_dbm
    ind = model.evaluate(_demand([(60.0, 0.0)], indoor=0.7), cand, rows, cols, dist).signal_dbm
    cfg = RadioConfig()
    b = link_budget(cfg, "small_cell_lamp", "n78")
    expected = rsrp_dbm(cfg, b, "umi", 60.0, h_bs_m=10.0, los=False, indoor=True)
    assert float(ind[0]) == pytest.approx(float(expected), abs=1e-4)
    assert float(out[0] - ind[0]) > 15.0


@pytest.mark.parametrize("with_buildings", [False, True])
def test_matrix_consistent_with_thresholds_and_ranges(with_buildings: bool) -> None:
    rng = np.random.default_rng(11)
    gx, gy = np.meshgrid(np.arange(25, 1500, 50.0), np.arange(25, 1500, 50.0))
    demand = _demand(np.column_stack([gx.ravel(), gy.ravel()]))
    demand["rsrp_min_dbm"] = rng.choice([-110.0, -100.0], len(demand)).astype("float32")
    demand["indoor_share"] = rng.uniform(0, 1, len(demand))
    cand = _candidates(
        [
            ("m1", "macro_tower", 35.0, "urban", 750, 750),
            ("m2", "macro_rooftop", 28, "rural", 100, 1400),
        ]
        + [(f"s{i}", "small_cell_lamp", 9.0, "urban", *rng.uniform(0, 1500, 2)) for i in range(20)]
    )
    bx = rng.uniform(0, 1500, (150, 2))
    b = _buildings(
        *[(x, y, x + 25, y + 15, h) for (x, y), h in zip(bx, rng.uniform(6, 40, 150), strict=True)]
    )
    model = RadioModel(buildings=b if with_buildings else None)
    cm = build_coverage(demand, cand, model)
    assert cm.A.shape == cm.rsrp.shape == (len(demand), len(cand))
    assert cm.A.nnz == cm.rsrp.nnz > 0
    rows, cols = cm.rsrp.nonzero()
    thr = demand["rsrp_min_dbm"].to_numpy()[rows]
    assert np.all(np.asarray(cm.rsrp[rows, cols]).ravel() >= thr)
    d = shapely.distance(demand.geometry.values[rows], cand.geometry.values[cols])
    assert np.all(d <= model.max_range_m(cand)[cols])
    again = build_coverage(demand, cand, model)
    assert (again.rsrp != cm.rsrp).nnz == 0


def test_pairs_beyond_max_range_are_never_covered() -> None:
    model = RadioModel()
    cand = _candidates(LAMP)
    reach = float(model.max_range_m(cand)[0])
    d = np.array([reach - 1.0, reach + 1.0, 50.0])
    res = model.evaluate(_demand([(0, 0)]), cand, np.zeros(3, int), np.zeros(3, int), d)
    assert not res.covered[1]
    assert res.covered[2]


@settings(max_examples=25, deadline=None)
@given(st.floats(6.0, 12.0), st.floats(25.0, 45.0), st.sampled_from(["urban", "rural"]))
def test_no_coverage_beyond_max_range(h_small: float, h_macro: float, env: str) -> None:
    cand = _candidates(
        [("s", "small_cell_lamp", h_small, env, 0, 0), ("m", "macro_tower", h_macro, env, 0, 0)]
    )
    model = RadioModel()
    reach = model.max_range_m(cand)
    d = np.linspace(10.0, 3000.0, 300)
    demand = _demand(np.zeros((1, 2)), thr=-110.0)
    for j in range(2):
        res = model.evaluate(demand, cand, np.zeros(d.size, int), np.full(d.size, j), d)
        assert np.all(d[res.covered] <= reach[j])
    assert np.all(reach % 25 == 0)


def test_obstruction_reach_uses_los() -> None:
    cand = _candidates(LAMP)
    assert RadioModel(buildings=_buildings((0, 0, 5, 5, 10))).max_range_m(cand)[0] == 300.0
    assert RadioModel().max_range_m(cand)[0] < 200.0


def test_band_column_and_default_band() -> None:
    cand = _candidates([("m", "macro_tower", 35.0, "urban", 0, 0)] * 2)
    cand["band"] = ["n28", None]
    reach = RadioModel({"los_mode": "nlos"}).max_range_m(cand)
    assert reach[0] > reach[1]  # 700 MHz reaches further than the default n78


def test_low_threshold_cells_warn() -> None:
    demand = _demand([(50.0, 0.0)], thr=-120.0)
    with pytest.warns(UserWarning, match=r"1 demand cell\(s\) have rsrp_min_dbm below"):
        RadioModel().evaluate(
            demand, _candidates(LAMP), np.array([0]), np.array([0]), np.array([50.0])
        )


@pytest.mark.parametrize(
    ("rows", "band", "error", "match"),
    [
        (
            [("x", "small_cell_lamp", 10.0, "urban", 0, 0)],
            "n28",
            ConfigError,
            r"'small_cell_lamp' has no link budget on band 'n28'",
        ),
        (
            [("x", "zeppelin", 10.0, "urban", 0, 0)],
            None,
            ConfigError,
            r"site class 'zeppelin' has no link budget",
        ),
        (
            [("x", "small_cell_lamp", 40.0, "urban", 0, 0)],
            None,
            LayerError,
            r"1 candidate\(s\) have height_m outside 3-25, .* UMI \(x\)",
        ),
        (
            [("x", "macro_tower", 8.0, "rural", 0, 0)],
            None,
            LayerError,
            r"height_m outside 10-150, the validity range of 3GPP TR 38.901 RMA \(x\)",
        ),
        (
            [("x", "macro_tower", 30.0, "jungle", 0, 0)],
            None,
            LayerError,
            r"column 'env' has 1 value\(s\) outside",
        ),
    ],
)
def test_bad_candidates(rows: list, band: str | None, error: type, match: str) -> None:
    cand = _candidates(rows)
    if band is not None:
        cand["band"] = band
    with pytest.raises(error, match=match):
        RadioModel().max_range_m(cand)


def test_missing_columns_all_reported() -> None:
    cand = _candidates(LAMP).drop(columns=["height_m", "env"])
    with pytest.raises(LayerError, match=r"'height_m' is missing; .*'env' is missing"):
        RadioModel().max_range_m(cand)
    demand = _demand([(0.0, 0.0)]).drop(columns=["indoor_share"]).to_crs(4326)
    with pytest.raises(LayerError, match=r"'indoor_share' is missing; .*not projected"):
        RadioModel().evaluate(
            demand, _candidates(LAMP), np.array([0]), np.array([0]), np.array([5.0])
        )


def test_config_from_mapping_is_validated() -> None:
    with pytest.raises(ValueError, match="los_mode"):
        RadioModel({"los_mode": "sometimes"})


# --------------------------------------------------------------- GeoTIFF
def test_best_server_takes_the_max_over_selected_columns() -> None:
    rsrp = sp.csr_matrix(
        np.array([[-90.0, -80.0, 0.0], [0.0, -105.0, -95.0], [-70.0, 0.0, 0.0]], dtype="float32")
    )
    value, server = best_server(rsrp, [1, 2])
    assert value[:2].tolist() == [-80.0, -95.0] and np.isnan(value[2])
    assert server.tolist() == [1, 2, -1]
    value, server = best_server(rsrp, np.array([True, False, True]))
    assert value.tolist() == [-90.0, -95.0, -70.0] and server.tolist() == [0, 2, 0]


def test_write_rsrp_geotiff_round_trip(tmp_path: Path) -> None:
    gx, gy = np.meshgrid(np.arange(25.0, 200, 50), np.arange(25.0, 150, 50))
    demand = _demand(np.column_stack([gx.ravel(), gy.ravel()]))  # 4 x 3 cells
    n = len(demand)
    dense = np.zeros((n, 3), dtype="float32")
    dense[0, 0], dense[0, 1], dense[5, 2], dense[7, 1] = -100.0, -90.0, -85.0, -99.0
    rsrp = sp.csr_matrix(dense)
    out = write_rsrp_geotiff(tmp_path / "rsrp.tif", demand, rsrp, [0, 1], cell_size_m=50.0)
    with rasterio.open(out) as src:
        assert src.crs.to_epsg() == 32651 and src.res == (50.0, 50.0)
        assert src.descriptions == ("rsrp_dbm", "best_server")
        band, server = src.read(1), src.read(2)
        for i, (x, y) in enumerate(shapely.get_coordinates(demand.geometry.values)):
            r, c = src.index(x, y)
            want = {0: (-90.0, 1.0), 7: (-99.0, 1.0)}.get(i, (src.nodata, src.nodata))
            assert (band[r, c], server[r, c]) == want
    assert list(tmp_path.iterdir()) == [out]


def test_write_rsrp_geotiff_refuses_a_non_grid(tmp_path: Path) -> None:
    demand = _demand([(0.0, 0.0), (37.0, 0.0)])
    rsrp = sp.csr_matrix(np.full((2, 1), -80.0, dtype="float32"))
    with pytest.raises(LayerError, match=r"not on a 50 m square grid"):
        write_rsrp_geotiff(tmp_path / "x.tif", demand, rsrp, [0], cell_size_m=50.0)
    assert list(tmp_path.iterdir()) == []


def test_write_rsrp_geotiff_missing_folder(tmp_path: Path) -> None:
    demand = _demand([(25.0, 25.0)])
    rsrp = sp.csr_matrix(np.full((1, 1), -80.0, dtype="float32"))
    with pytest.raises(OSError, match=r"cannot write the RSRP raster"):
        write_rsrp_geotiff(tmp_path / "no" / "x.tif", demand, rsrp, [0], cell_size_m=50.0)


def test_no_warning_for_ordinary_input() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        build_coverage(_demand([(50.0, 0.0)]), _candidates(LAMP), RadioModel())
