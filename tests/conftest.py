"""Shared fixtures: a small projected case written to real files, and the shared data."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
import yaml

CRS = "EPSG:32651"
X0, Y0 = 330_000.0, 3_465_000.0
SIDE = 3_000.0
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
REPO = Path(__file__).resolve().parents[1]


def _layers() -> dict[str, gpd.GeoDataFrame]:
    """A 3 km x 3 km town with buildings, poles, existing sites and key zones."""
    rng = np.random.default_rng(7)
    area = gpd.GeoDataFrame(
        {"name": ["Testville"]}, geometry=[shapely.box(X0, Y0, X0 + SIDE, Y0 + SIDE)], crs=CRS
    )
    towns = gpd.GeoDataFrame(
        {"town_id": ["west", "east"], "name": ["西镇", "东镇"], "name_en": ["West", "East"]},
        geometry=[
            shapely.box(X0, Y0, X0 + SIDE / 2, Y0 + SIDE),
            shapely.box(X0 + SIDE / 2, Y0, X0 + SIDE, Y0 + SIDE),
        ],
        crs=CRS,
    )
    gx, gy = np.meshgrid(np.arange(150, SIDE, 300), np.arange(150, SIDE, 300))
    bx, by = X0 + gx.ravel(), Y0 + gy.ravel()
    n_b = len(bx)
    buildings = gpd.GeoDataFrame(
        {
            "building_id": [f"b{i:03d}" for i in range(n_b)],
            "height_m": rng.choice([9.0, 15.0, 24.0, 30.0], size=n_b),
            "use": rng.choice(["residential", "commercial", "industrial"], size=n_b),
            "population": rng.integers(0, 400, size=n_b).astype(float),
            "owner": "owner",
        },
        geometry=shapely.box(bx - 20, by - 15, bx + 20, by + 15),
        crs=CRS,
    )
    px, py = np.meshgrid(np.arange(75, SIDE, 150), np.arange(0, SIDE + 1, 300))
    px, py = X0 + px.ravel(), Y0 + np.clip(py.ravel(), 5, SIDE - 5)
    kinds = np.array(["street_lamp", "utility", "traffic_signal", "cctv", "smart_pole"])
    poles = gpd.GeoDataFrame(
        {
            "pole_id": [f"p{i:04d}" for i in range(len(px))],
            "kind": kinds[np.arange(len(px)) % len(kinds)],
            "owner": "bureau",
            "height_m": 10.0,
            "has_power": True,
        },
        geometry=shapely.points(px, py),
        crs=CRS,
    )
    existing = gpd.GeoDataFrame(
        {"site_id": ["s1", "s2", "s3"], "operator": "China Mobile", "height_m": 30.0},
        geometry=shapely.points([X0 + 500, X0 + 1500, X0 + 2500], [Y0 + 500, Y0 + 2500, Y0 + 1400]),
        crs=CRS,
    )
    zones = gpd.GeoDataFrame(
        {
            "zone_id": ["core", "road"],
            "name": ["核心区", "测试道路"],
            "name_en": ["Core", "Test road"],
            "kind": ["auto_city", "icv_test_road"],
            "service_level": ["key", "icv"],
            "min_coverage": [0.9, 0.8],
        },
        geometry=[
            shapely.box(X0 + 1000, Y0 + 1000, X0 + 1600, Y0 + 1600),
            shapely.LineString([(X0 + 300, Y0 + 2130), (X0 + 1800, Y0 + 2130)]),
        ],
        crs=CRS,
    )
    return {
        "study_area": area,
        "towns": towns,
        "buildings": buildings,
        "poles": poles,
        "existing_sites": existing,
        "key_zones": zones,
    }


def small_config(folder: Path, **optimize: object) -> dict:
    """A configuration dict for the small case in ``folder``."""
    opt = {"objective": "max_cover", "max_sites": 40, "time_limit_s": 20, "solver": "cbc"}
    opt.update(optimize)
    layers = {name: {"path": "case.gpkg", "layer": name} for name in _layers()}
    return {
        "name": "testville",
        "crs": CRS,
        "layers": layers,
        "demand": {"cell_size_m": 100},
        "optimize": opt,
    }


def write_case(folder: Path, **optimize: object) -> Path:
    """Write the small case's layers and config into ``folder``; return the config path."""
    folder.mkdir(parents=True, exist_ok=True)
    gpkg = folder / "case.gpkg"
    if not gpkg.exists():
        for name, gdf in _layers().items():
            gdf.to_file(gpkg, layer=name, driver="GPKG", engine="pyogrio")
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(small_config(folder, **optimize), allow_unicode=True))
    return path


@pytest.fixture
def case_layers() -> dict[str, gpd.GeoDataFrame]:
    """The small case's layers as GeoDataFrames."""
    return _layers()


@pytest.fixture
def case_config(tmp_path: Path) -> Path:
    """Path of the small case's config, with its layers written beside it."""
    return write_case(tmp_path / "case")


@pytest.fixture
def shared_data() -> Path:
    """The real reference data beside the checkout (skips when absent)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data folder {SHARED_DATA} not present")
    return SHARED_DATA
