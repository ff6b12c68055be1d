"""Line of sight from rasterised buildings and a DEM."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Transformer

from siting._errors import LayerError
from siting.radio.obstruction import (
    HeightGrid,
    build_height_grid,
    line_of_sight,
    validate_buildings,
)

CRS = "EPSG:32651"
X0, Y0 = 330_000.0, 3_465_000.0
BOUNDS = (X0, Y0 - 100.0, X0 + 400.0, Y0 + 100.0)


def _buildings(*rows: tuple[float, float, float, float, float]) -> gpd.GeoDataFrame:
    """Boxes (x-offset min, y-offset min, x max, y max, height) relative to (X0, Y0)."""
    arr = np.array(rows, dtype=float).reshape(-1, 5)
    return gpd.GeoDataFrame(
        {"building_id": [f"b{i}" for i in range(len(arr))], "height_m": arr[:, 4]},
        geometry=shapely.box(X0 + arr[:, 0], Y0 + arr[:, 1], X0 + arr[:, 2], Y0 + arr[:, 3]),
        crs=CRS,
    )


def _los(grid: HeightGrid, site: object, site_h: float, ue: object) -> np.ndarray:
    """LOS for offsets relative to (X0, Y0); the UE antenna is at 1.5 m."""
    origin = np.array([X0, Y0])
    s = np.array(site, dtype=float).reshape(-1, 2) + origin
    u = np.array(ue, dtype=float).reshape(-1, 2) + origin
    return line_of_sight(grid, s, site_h, u, 1.5)


@pytest.mark.parametrize(
    ("height", "site_h", "expected"),
    [
        # ray from 25 m at x=0 to 1.5 m at x=300: 25 - 23.5 * x / 300 m over the wall at x=150
        (40.0, 25.0, False),  # wall taller than the ray (13.25 m there)
        (12.0, 25.0, True),  # wall lower than the ray
        (14.0, 25.0, False),
        (14.0, 40.0, True),  # a taller mast clears it
    ],
)
def test_wall_between_site_and_ue(height: float, site_h: float, expected: bool) -> None:
    grid = build_height_grid(
        BOUNDS, crs=CRS, resolution_m=2.0, buildings=_buildings((145, -30, 155, 30, height))
    )
    assert _los(grid, (0, 0), site_h, (300, 0)).tolist() == [expected]


def test_building_beside_the_path_does_not_block() -> None:
    grid = build_height_grid(
        BOUNDS, crs=CRS, resolution_m=2.0, buildings=_buildings((145, 20, 155, 60, 80))
    )
    assert _los(grid, [(0, 0), (0, 40)], 25.0, [(300, 0), (300, 40)]).tolist() == [True, False]


def test_end_point_buildings_are_ignored() -> None:
    # a rooftop antenna on a 30 m roof, and a UE inside a 20 m building
    b = _buildings((-10, -10, 10, 10, 30.0), (290, -10, 310, 10, 20.0))
    grid = build_height_grid(BOUNDS, crs=CRS, resolution_m=2.0, buildings=b)
    assert _los(grid, (0, 0), 35.0, (300, 0)).tolist() == [True]
    # a third building in between still blocks
    b3 = _buildings((-10, -10, 10, 10, 30.0), (290, -10, 310, 10, 20.0), (200, -5, 210, 5, 30.0))
    grid = build_height_grid(BOUNDS, crs=CRS, resolution_m=2.0, buildings=b3)
    assert _los(grid, (0, 0), 35.0, (300, 0)).tolist() == [False]


def test_taller_building_wins_where_footprints_overlap() -> None:
    b = _buildings((100, -20, 200, 20, 50.0), (120, -10, 180, 10, 5.0))
    grid = build_height_grid(BOUNDS, crs=CRS, resolution_m=2.0, buildings=b)
    assert _los(grid, (0, 0), 25.0, (300, 0)).tolist() == [False]


def test_clearance_blocks_grazing_rays() -> None:
    grid = build_height_grid(
        BOUNDS, crs=CRS, resolution_m=2.0, buildings=_buildings((145, -30, 155, 30, 12.0))
    )
    site, ue = np.array([[X0, Y0]]), np.array([[X0 + 300, Y0]])
    assert line_of_sight(grid, site, 25.0, ue, 1.5).tolist() == [True]
    assert line_of_sight(grid, site, 25.0, ue, 1.5, clearance_m=3.0).tolist() == [False]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.floats(0, 380), st.floats(-90, 90)), min_size=1, max_size=30),
    st.floats(5.0, 40.0),
    st.floats(0.0, 30.0),
)
def test_raising_the_mast_never_loses_los(ues: list, h: float, extra: float) -> None:
    rng = np.random.default_rng(3)
    xy = rng.uniform([0, -90], [380, 90], (40, 2))
    b = _buildings(
        *[(x, y, x + 12, y + 8, hh) for (x, y), hh in zip(xy, rng.uniform(5, 45, 40), strict=True)]
    )
    grid = build_height_grid(BOUNDS, crs=CRS, resolution_m=4.0, buildings=b)
    sites = np.zeros((len(ues), 2))
    low = _los(grid, sites, h, ues)
    high = _los(grid, sites, h + extra, ues)
    assert np.all(high | ~low)


def test_validate_buildings_reports_every_problem() -> None:
    b = gpd.GeoDataFrame({"name": ["x"]}, geometry=[shapely.Point(0, 0)], crs="EPSG:4326")
    with pytest.raises(LayerError, match=r"(?s)EPSG:4326 differs.*'height_m'.*Polygon"):
        validate_buildings(b, crs=CRS)


def test_validate_buildings_drops_bad_heights_with_count() -> None:
    b = _buildings((0, 0, 10, 10, 20.0), (20, 0, 30, 10, 0.0))
    b.loc[1, "height_m"] = np.nan
    with pytest.warns(UserWarning, match=r"1 of 2 rows have no positive height_m"):
        assert len(validate_buildings(b, crs=CRS)) == 1


# ------------------------------------------------------------------------ DEM
def _dem(path: Path, *, crs: str | None, ridge_m: float, lon_shift: float = 0.0) -> Path:
    """A 4326 (or CRS-less) DEM over the test area with a north-south ridge at x = X0 + 150 m."""
    to_ll = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    lon0, lat0 = to_ll.transform(X0 - 200, Y0 + 300)
    lon1, lat1 = to_ll.transform(X0 + 600, Y0 - 300)
    ridge_lon, _ = to_ll.transform(X0 + 150, Y0)
    n = 400
    res_x, res_y = (lon1 - lon0) / n, (lat0 - lat1) / n
    lons = lon0 + (np.arange(n) + 0.5) * res_x
    dem = np.where(np.abs(lons - ridge_lon) < 4 * res_x, 10.0 + ridge_m, 10.0)
    data = np.tile(dem, (n, 1)).astype("float32")
    profile = {
        "driver": "GTiff",
        "height": n,
        "width": n,
        "count": 1,
        "dtype": "float32",
        "transform": Affine(res_x, 0, lon0 + lon_shift, 0, -res_y, lat0),
    }
    if crs is not None:
        profile["crs"] = crs
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)
    return path


@pytest.mark.parametrize(("ridge", "expected"), [(30.0, False), (0.0, True)])
def test_dem_ridge_blocks(tmp_path: Path, ridge: float, expected: bool) -> None:
    dem = _dem(tmp_path / "dem.tif", crs="EPSG:4326", ridge_m=ridge)
    grid = build_height_grid(BOUNDS, crs=CRS, resolution_m=2.0, raster_path=dem)
    assert grid.ground is not None
    assert float(np.median(grid.ground)) == pytest.approx(10.0)
    assert _los(grid, (0, 0), 25.0, (300, 0)).tolist() == [expected]


def test_dem_without_crs(tmp_path: Path) -> None:
    dem = _dem(tmp_path / "nocrs.tif", crs=None, ridge_m=0.0)
    with pytest.raises(LayerError, match=r"raster 'nocrs.tif' has no CRS"):
        build_height_grid(BOUNDS, crs=CRS, resolution_m=2.0, raster_path=dem)


def test_dem_not_overlapping(tmp_path: Path) -> None:
    dem = _dem(tmp_path / "far.tif", crs="EPSG:4326", ridge_m=0.0, lon_shift=2.0)
    with pytest.raises(LayerError, match=r"raster 'far.tif' .* does not overlap the study area"):
        build_height_grid(BOUNDS, crs=CRS, resolution_m=2.0, raster_path=dem)


def test_coarse_screening_matches_brute_force_sampling() -> None:
    """The coarse pass only skips work: every sample of every ray checked directly agrees."""
    rng = np.random.default_rng(5)
    xy = rng.uniform([0, -90], [380, 90], (120, 2))
    b = _buildings(
        *[(x, y, x + 15, y + 10, h) for (x, y), h in zip(xy, rng.uniform(3, 40, 120), strict=True)]
    )
    grid = build_height_grid(BOUNDS, crs=CRS, resolution_m=2.0, buildings=b)
    n = 300
    site = rng.uniform([0, -95], [400, 95], (n, 2)) + np.array([X0, Y0])
    ue = rng.uniform([0, -95], [400, 95], (n, 2)) + np.array([X0, Y0])
    h = rng.uniform(3, 40, n)
    got = line_of_sight(grid, site, h, ue, 1.5)
    want = np.ones(n, dtype=bool)
    for i in range(n):  # reference: one ray at a time, samples every 2 m from the UE
        d = float(np.hypot(*(site[i] - ue[i])))
        s = (np.arange(int(np.ceil(d / 2.0)) + 1) + 0.5) * 2.0
        s = s[s < d]
        pts = ue[i] + (s / d)[:, None] * (site[i] - ue[i])
        bid = grid.building_at(pts)
        own = (bid == grid.building_at(site[i : i + 1])[0]) | (
            bid == grid.building_at(ue[i : i + 1])[0]
        )
        surf = np.where(own, 0.0, grid.building_height[bid])
        want[i] = not np.any(surf > 1.5 + (s / d) * (h[i] - 1.5))
    assert got.tolist() == want.tolist()
    assert 0 < got.sum() < n
