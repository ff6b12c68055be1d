"""Tests of population and DEM rasters: windowed reads, reprojection, sum-preserving aggregation."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
import yaml
from affine import Affine
from hypothesis import given, settings
from hypothesis import strategies as st

from siting._errors import LayerError
from siting.config import load_config
from siting.demand import build_demand
from siting.layers import load_layers
from siting.population import (
    Raster,
    aggregate_to_cells,
    mass_inside,
    read_dem,
    read_population,
    read_population_raster,
    read_worldpop_tiles,
    surface_to_raster,
    tiles_surface,
    write_raster,
)
from tests.conftest import CRS, SIDE, X0, Y0, small_config, write_case

CENSUS_JIADING = 1_834_258


def _area(x0: float = X0, y0: float = Y0, side: float = SIDE) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(geometry=[shapely.box(x0, y0, x0 + side, y0 + side)], crs=CRS)


def _write_geo_raster(
    path: Path, values: np.ndarray, *, west: float, north: float, res: float = 0.001
) -> Path:
    """A lon/lat GeoTIFF (WorldPop-style: people per pixel, -99999 nodata)."""
    raster = Raster(
        values=values,
        transform=Affine(res, 0, west, 0, -res, north),
        crs=rasterio.crs.CRS.from_epsg(4326),
    )
    return write_raster(raster, path)


def _cells(area: gpd.GeoDataFrame, size: float) -> np.ndarray:
    x0, y0, x1, y1 = area.total_bounds
    xs, ys = np.meshgrid(np.arange(x0 + size / 2, x1, size), np.arange(y0 + size / 2, y1, size))
    return np.column_stack([xs.ravel(), ys.ravel()])


@pytest.fixture
def geo_box() -> tuple[float, float, float, float]:
    """Lon/lat bounds of the small case area."""
    return tuple(_area().to_crs(4326).total_bounds)


def test_raster_inside_area_is_preserved_exactly(tmp_path: Path, geo_box) -> None:
    west, _, _, north = geo_box
    rng = np.random.default_rng(1)
    values = rng.gamma(2.0, 50.0, size=(10, 12))
    # a small raster well inside the study area
    path = _write_geo_raster(tmp_path / "pop.tif", values, west=west + 0.005, north=north - 0.005)
    area = _area()
    surface = read_population_raster(path, area=area)
    cells = aggregate_to_cells(surface, _cells(area, 100.0), cell_size=100.0, area=area)
    assert cells.sum() == pytest.approx(values.astype("float32").sum(), rel=1e-6)


@settings(max_examples=10, deadline=None)
@given(cell=st.sampled_from([50.0, 100.0, 200.0]), shift=st.floats(-0.004, 0.004))
def test_partial_overlap_within_0_1_percent(tmp_path_factory, cell: float, shift: float) -> None:
    area = _area()
    west, _, _, north = area.to_crs(4326).total_bounds
    values = np.full((50, 50), 40.0)
    values[10:20, 5:30] = 400.0
    path = _write_geo_raster(
        tmp_path_factory.mktemp("r") / "pop.tif",
        values,
        west=west - 0.01 + shift,
        north=north + 0.01,
    )
    surface = read_population_raster(path, area=area)
    exact = mass_inside(surface, area)
    got = aggregate_to_cells(surface, _cells(area, cell), cell_size=cell, area=area).sum()
    assert got == pytest.approx(exact, rel=1e-3)
    assert surface.total > exact  # the raster spills over the area


def test_windowed_read_reads_only_the_area(tmp_path: Path, geo_box) -> None:
    west, south, east, north = geo_box
    big = np.ones((2000, 2000))
    path = _write_geo_raster(tmp_path / "big.tif", big, west=west - 1.0, north=north + 1.0)
    surface = read_population_raster(path, area=_area())
    n_pixels_area = (east - west) / 0.001 * (north - south) / 0.001
    assert len(surface.values) < 2 * n_pixels_area + 400
    assert len(surface.values) < big.size / 100


def test_nodata_counts_as_nobody(tmp_path: Path, geo_box) -> None:
    west, _, _, north = geo_box
    values = np.full((5, 5), 10.0)
    values[0, :] = np.nan  # written as -99999 nodata
    path = _write_geo_raster(tmp_path / "pop.tif", values, west=west + 0.005, north=north - 0.005)
    assert read_population_raster(path, area=_area()).total == pytest.approx(200.0)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda d, b: _write_geo_raster(d / "far.tif", np.ones((5, 5)), west=10.0, north=50.0),
            "does not overlap the study area",
        ),
        (
            lambda d, b: (d / "bad.tif").write_bytes(b"II*\x00garbage") and d / "bad.tif",
            "cannot read raster",
        ),
        (lambda d, b: d / "missing.tif", "does not exist"),
        (
            lambda d, b: (d / "t.csv").write_text("a,b\n1,2\n") and d / "t.csv",
            "not a WorldPop tile table",
        ),
    ],
)
def test_bad_rasters(tmp_path: Path, geo_box, make, message: str) -> None:
    path = make(tmp_path, geo_box)
    with pytest.raises(LayerError, match=message):
        read_population(path, area=_area())


def test_population_layer_drives_demand(tmp_path: Path, geo_box) -> None:
    west, _, _, north = geo_box
    values = np.full((8, 8), 25.0)
    _write_geo_raster(tmp_path / "pop.tif", values, west=west + 0.004, north=north - 0.004)
    config = write_case(tmp_path)
    raw = small_config(tmp_path)
    raw["layers"]["population"] = {"path": "pop.tif"}
    config.write_text(yaml.safe_dump(raw, allow_unicode=True))
    cfg = load_config(config)
    layers = load_layers(cfg)
    grid = build_demand(layers, cfg)
    assert grid.cells["population"].sum() == pytest.approx(64 * 25.0, rel=1e-6)
    assert "population" in layers.sources


def test_population_layer_that_misses_the_area_is_reported(tmp_path: Path) -> None:
    _write_geo_raster(tmp_path / "pop.tif", np.ones((4, 4)), west=100.0, north=20.0)
    config = write_case(tmp_path)
    raw = small_config(tmp_path)
    raw["layers"]["population"] = {"path": "pop.tif"}
    config.write_text(yaml.safe_dump(raw, allow_unicode=True))
    with pytest.raises(LayerError, match=r"invalid input layers:\n.*does not overlap"):
        load_layers(load_config(config))


def test_dem_reprojected_to_working_crs(tmp_path: Path, geo_box) -> None:
    west, _, _, north = geo_box
    n = 60
    lon = west - 0.01 + (np.arange(n) + 0.5) * 0.001
    dem = np.tile(lon * 100.0, (n, 1))  # elevation grows eastwards
    path = _write_geo_raster(tmp_path / "dem.tif", dem, west=west - 0.01, north=north + 0.01)
    area = _area()
    raster = read_dem(path, area=area, resolution=30.0)
    assert raster.crs.to_epsg() == 32651 and raster.transform.a == pytest.approx(30.0)
    xy = np.array([[X0 + 500, Y0 + 1500], [X0 + 2500, Y0 + 1500]])
    z = raster.sample(xy)
    lon_pts = gpd.GeoSeries(shapely.points(xy), crs=CRS).to_crs(4326).x.to_numpy()
    np.testing.assert_allclose(z, lon_pts * 100.0, atol=0.15)


def test_real_worldpop_tiles_total_near_census(shared_data: Path, tmp_path: Path) -> None:
    tiles = read_worldpop_tiles(shared_data / "jiading" / "worldpop_2020_tiles_shanghai.csv")
    assert len(tiles) == 5168
    district = gpd.read_file(shared_data / "jiading" / "district_boundary.gpkg").to_crs(CRS)
    surface = tiles_surface(tiles, area=district)
    exact = mass_inside(surface, district)
    assert exact == pytest.approx(CENSUS_JIADING, rel=0.05)
    # the population surface (100 m GeoTIFF) keeps the total
    raster = surface_to_raster(surface, area=district, resolution=100.0)
    assert raster.values.sum() == pytest.approx(exact, rel=1e-3)
    path = write_raster(raster, tmp_path / "jiading_pop_100m.tif")
    again = read_population_raster(path, area=district)
    assert again.total == pytest.approx(exact, rel=1e-3)
    cells = aggregate_to_cells(again, _cells(district, 200.0), cell_size=200.0, area=district)
    assert cells.sum() == pytest.approx(mass_inside(again, district), rel=1e-3)
