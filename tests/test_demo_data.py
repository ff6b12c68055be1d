"""Checks of the embedded Jiading demo dataset against its contract (data/README.md)."""

from __future__ import annotations

import functools
import importlib.util
import sqlite3
import sys
from pathlib import Path
from types import ModuleType

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Transformer

from siting.layers import LAND_USES

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "data" / "jiading_demo.gpkg"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
CENSUS_2020 = 1_834_258

SCHEMAS = {
    "study_area": ({"name": "str", "name_zh": "str", "source": "str"}, {"Polygon", "MultiPolygon"}),
    "towns": (
        {
            "town_id": "str",
            "name": "str",
            "name_en": "str",
            "area_km2": "float64",
            "approximate": "bool",
            "population": "int64",
        },
        {"Polygon", "MultiPolygon"},
    ),
    "parcels": ({"parcel_id": "str", "land_use": "str", "town_id": "str"}, {"Polygon"}),
    "buildings": (
        {
            "building_id": "str",
            "height_m": "float64",
            "levels": "int64",
            "use": "str",
            "population": "float64",
            "owner": "str",
            "town_id": "str",
        },
        {"Polygon"},
    ),
    "roads": ({"road_id": "str", "kind": "str", "name": "str"}, {"LineString"}),
    "poles": (
        {
            "pole_id": "str",
            "kind": "str",
            "owner": "str",
            "height_m": "float64",
            "has_power": "bool",
            "town_id": "str",
        },
        {"Point"},
    ),
    "existing_sites": (
        {"site_id": "str", "operator": "str", "height_m": "float64", "town_id": "str"},
        {"Point"},
    ),
    "key_zones": (
        {
            "zone_id": "str",
            "name": "str",
            "name_en": "str",
            "kind": "str",
            "service_level": "str",
            "min_coverage": "float64",
            "approximate": "bool",
            "source": "str",
        },
        {"Polygon", "MultiPolygon", "LineString", "MultiLineString"},
    ),
}
ID_COLUMNS = {
    "towns": "town_id",
    "parcels": "parcel_id",
    "buildings": "building_id",
    "roads": "road_id",
    "poles": "pole_id",
    "existing_sites": "site_id",
    "key_zones": "zone_id",
}
ALLOWED = {
    ("parcels", "land_use"): set(LAND_USES),
    ("buildings", "use"): {
        "residential",
        "commercial",
        "industrial",
        "public",
        "education",
        "health",
        "other",
    },
    ("roads", "kind"): {"expressway", "arterial", "secondary", "local"},
    ("poles", "kind"): {"street_lamp", "utility", "traffic_signal", "cctv", "smart_pole", "other"},
    ("existing_sites", "operator"): {
        "China Mobile",
        "China Unicom",
        "China Telecom",
        "China Tower",
    },
    ("key_zones", "kind"): {
        "auto_city",
        "icv_test_zone",
        "icv_test_road",
        "venue",
        "campus",
        "park",
        "hospital",
        "school",
        "industrial_park",
    },
    ("key_zones", "service_level"): {"key", "icv"},
}
TOWN_IDS = {
    "anting",
    "malu",
    "nanxiang",
    "jiangqiao",
    "waigang",
    "xuhang",
    "huating",
    "jiading_industrial_zone",
    "juyuan",
    "xinchenglu",
    "zhenxin",
    "jiadingzhen",
}
# Stated areas (km2) from the shared landmarks table; the towns are scaled to the outline.
STATED_AREAS = {
    "anting": 89.28,
    "malu": 57.16,
    "nanxiang": 33.31,
    "jiangqiao": 42.36,
    "waigang": 50.91,
    "xuhang": 40.0,
    "huating": 39.54,
    "jiading_industrial_zone": 78.1,
    "juyuan": 18.61,
    "xinchenglu": 5.49,
    "zhenxin": 5.25,
    "jiadingzhen": 4.17,
}
# Zones placed at stated coordinates: (lon, lat).
STATED_CENTRES = {
    "f1_circuit": (121.21972, 31.33889),
    "tongji_jiading": (121.20989, 31.28795),
    "tongji_icv_base": (121.20808, 31.29255),
    "guyi_garden": (121.317, 31.2916),
}
POLE_HEIGHTS = {
    "street_lamp": (8.0, 12.0),
    "traffic_signal": (6.0, 7.0),
    "cctv": (6.0, 8.0),
    "utility": (10.0, 15.0),
    "smart_pole": (10.0, 15.0),
}
COUNT_RANGES = {
    "study_area": (1, 1),
    "towns": (12, 12),
    "parcels": (2_000, 9_999),
    "buildings": (30_000, 60_000),
    "poles": (25_000, 45_000),
    "existing_sites": (200, 400),
    "key_zones": (17, 30),
}


@functools.cache
def load_script() -> ModuleType:
    """Import scripts/build_demo_data.py as a module."""
    spec = importlib.util.spec_from_file_location(
        "build_demo_data", REPO / "scripts" / "build_demo_data.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def layers() -> dict[str, gpd.GeoDataFrame]:
    return {name: gpd.read_file(DEMO, layer=name) for name in SCHEMAS}


@pytest.fixture(scope="module")
def study_area(layers: dict[str, gpd.GeoDataFrame]) -> shapely.Geometry:
    return layers["study_area"].geometry.iloc[0]


def test_layers_are_exactly_the_documented_ones() -> None:
    names = {name for name, _ in pyogrio.list_layers(DEMO)}
    assert names == set(SCHEMAS)


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_schema_crs_and_geometry_types(layers: dict[str, gpd.GeoDataFrame], name: str) -> None:
    columns, geom_types = SCHEMAS[name]
    frame = layers[name]
    assert frame.crs is not None and frame.crs.to_epsg() == 32651
    dtypes = {c: str(frame[c].dtype) for c in columns}
    assert dtypes == columns
    assert set(frame.geom_type) <= geom_types
    assert frame.geometry.is_valid.all()
    assert not frame.geometry.is_empty.any()


@pytest.mark.parametrize("name", sorted(COUNT_RANGES))
def test_row_counts(layers: dict[str, gpd.GeoDataFrame], name: str) -> None:
    low, high = COUNT_RANGES[name]
    assert low <= len(layers[name]) <= high


@pytest.mark.parametrize("name", sorted(ID_COLUMNS))
def test_ids_are_unique_and_non_empty(layers: dict[str, gpd.GeoDataFrame], name: str) -> None:
    ids = layers[name][ID_COLUMNS[name]]
    assert ids.is_unique
    assert (ids.str.len() > 0).all()


@pytest.mark.parametrize(("name", "column"), sorted(ALLOWED))
def test_categorical_values(layers: dict[str, gpd.GeoDataFrame], name: str, column: str) -> None:
    assert set(layers[name][column]) <= ALLOWED[(name, column)]


@pytest.mark.parametrize("name", ["parcels", "buildings", "poles", "existing_sites"])
def test_town_ids_refer_to_towns(layers: dict[str, gpd.GeoDataFrame], name: str) -> None:
    assert set(layers[name]["town_id"]) <= TOWN_IDS


def test_study_area_is_jiading_at_its_real_place(study_area: shapely.Geometry) -> None:
    assert study_area.area / 1e6 == pytest.approx(463.6, abs=2.0)
    to_lonlat = Transformer.from_crs(32651, 4326, always_xy=True)
    lon, lat = to_lonlat.transform(study_area.centroid.x, study_area.centroid.y)
    assert 121.20 < lon < 121.28
    assert 31.33 < lat < 31.38


@pytest.mark.parametrize("name", ["towns", "parcels"])
def test_partitions_the_study_area(
    layers: dict[str, gpd.GeoDataFrame], study_area: shapely.Geometry, name: str
) -> None:
    geoms = layers[name].geometry.values
    union = shapely.union_all(geoms)
    assert shapely.symmetric_difference(union, study_area).area < 1.0
    assert shapely.area(geoms).sum() == pytest.approx(study_area.area, abs=1.0)


def test_parcels_lie_in_their_town(layers: dict[str, gpd.GeoDataFrame]) -> None:
    towns = layers["towns"].set_index("town_id").geometry
    parcels = layers["parcels"]
    rep = shapely.point_on_surface(parcels.geometry.values)
    holder = towns.loc[parcels["town_id"]].values
    assert shapely.covers(holder, rep).all()


def test_town_areas_follow_the_stated_ones(layers: dict[str, gpd.GeoDataFrame]) -> None:
    towns = layers["towns"].set_index("town_id")
    scale = towns["area_km2"].sum() / sum(STATED_AREAS.values())
    expected = pd.Series(STATED_AREAS) * scale
    got = towns["area_km2"].reindex(expected.index)
    assert np.allclose(got, expected, rtol=0.03)
    assert np.allclose(got, towns.area.reindex(expected.index) / 1e6, atol=0.001)
    assert towns["approximate"].all()


@pytest.mark.parametrize("name", ["parcels", "buildings", "roads", "poles", "existing_sites"])
def test_features_inside_the_study_area(
    layers: dict[str, gpd.GeoDataFrame], study_area: shapely.Geometry, name: str
) -> None:
    area = shapely.buffer(study_area, 1.0)
    shapely.prepare(area)
    assert shapely.covers(area, layers[name].geometry.values).all()


def test_key_zones_inside_the_study_area(
    layers: dict[str, gpd.GeoDataFrame], study_area: shapely.Geometry
) -> None:
    zones = layers["key_zones"].geometry.values
    assert shapely.covers(shapely.buffer(study_area, 1.0), zones).all()


def test_population_sums_to_the_census(layers: dict[str, gpd.GeoDataFrame]) -> None:
    b = layers["buildings"]
    assert b["population"].sum() == pytest.approx(CENSUS_2020, abs=0.5)
    assert (b["population"] >= 0).all()
    assert (b.loc[b["use"] != "residential", "population"] == 0).all()
    per_town = b.groupby("town_id")["population"].sum().round().astype("int64")
    towns = layers["towns"].set_index("town_id")["population"]
    assert per_town.reindex(towns.index).equals(towns)
    assert towns.sum() == CENSUS_2020


def test_population_is_denser_in_town_than_in_the_rural_north_west(
    layers: dict[str, gpd.GeoDataFrame],
) -> None:
    towns = layers["towns"].set_index("town_id")
    density = towns["population"] / towns["area_km2"]
    for urban in ("zhenxin", "jiadingzhen", "xinchenglu", "jiangqiao", "nanxiang"):
        for rural in ("huating", "waigang", "xuhang"):
            assert density[urban] > 2 * density[rural]


def test_buildings_do_not_overlap_and_sit_in_parcels(layers: dict[str, gpd.GeoDataFrame]) -> None:
    b = layers["buildings"].geometry.values
    a, c = shapely.STRtree(b).query(b, predicate="intersects")
    assert (a == c).all()
    parcels = layers["parcels"]
    owner = shapely.STRtree(parcels.geometry.values).query(b, predicate="within")
    assert len(np.unique(owner[0])) == len(b)
    land_use = parcels["land_use"].to_numpy()[owner[1]]
    assert not np.isin(land_use, ["water"]).any()


def test_building_heights_follow_levels(layers: dict[str, gpd.GeoDataFrame]) -> None:
    b = layers["buildings"]
    assert (b["levels"] >= 1).all()
    assert (b["height_m"] >= 2.5 * b["levels"]).all()
    assert (b["height_m"] <= 6.5 * b["levels"] + 6).all()


@pytest.mark.parametrize("kind", sorted(POLE_HEIGHTS))
def test_pole_heights_by_kind(layers: dict[str, gpd.GeoDataFrame], kind: str) -> None:
    low, high = POLE_HEIGHTS[kind]
    h = layers["poles"].loc[lambda d: d["kind"] == kind, "height_m"]
    assert len(h) > 0
    assert h.between(low, high).all()


def test_every_pole_kind_present_and_lamps_dominate(layers: dict[str, gpd.GeoDataFrame]) -> None:
    counts = layers["poles"]["kind"].value_counts()
    assert set(counts.index) == ALLOWED[("poles", "kind")]
    assert counts.idxmax() == "street_lamp"


def test_existing_sites_heights(layers: dict[str, gpd.GeoDataFrame]) -> None:
    h = layers["existing_sites"]["height_m"]
    assert h.between(25.0, 40.0).all()


@pytest.mark.parametrize(
    "zone_id",
    [
        "auto_city_core",
        "icv_open_test_roads",
        "f1_circuit",
        "tongji_jiading",
        "tongji_icv_base",
        "guyi_garden",
        "huilongtan_park",
        "jiabei_country_park",
        "ruijin_north",
    ],
)
def test_key_zone_present(layers: dict[str, gpd.GeoDataFrame], zone_id: str) -> None:
    zones = layers["key_zones"].set_index("zone_id")
    assert zone_id in zones.index
    assert zones.loc[zone_id, "source"]


def test_icv_test_roads(layers: dict[str, gpd.GeoDataFrame]) -> None:
    zones = layers["key_zones"].set_index("zone_id")
    icv = zones.loc["icv_open_test_roads"]
    assert icv.geometry.geom_type == "MultiLineString"
    assert 11_000 < icv.geometry.length < 13_000
    assert icv["service_level"] == "icv"
    assert icv["min_coverage"] == 1.0
    assert icv["kind"] == "icv_test_road"
    # The test roads are also in the road layer, by name.
    roads = layers["roads"]
    for name in ("博园路", "北安德路", "安拓路", "墨玉南路", "安驰路"):
        assert (roads["name"] == name).any()
    named = shapely.union_all(roads.loc[roads["name"].isin(["博园路", "安驰路"])].geometry.values)
    assert shapely.covers(shapely.buffer(named, 0.5), icv.geometry.geoms[0])


def test_key_zone_service_levels(layers: dict[str, gpd.GeoDataFrame]) -> None:
    zones = layers["key_zones"].set_index("zone_id")
    assert zones.loc["auto_city_core", "min_coverage"] == 0.95
    others = zones[~zones["kind"].isin(["auto_city", "icv_test_road"])]
    assert (others["min_coverage"] == 0.9).all()
    assert (others["service_level"] == "key").all()
    assert zones.loc["auto_city_core"].geometry.within(
        layers["towns"].set_index("town_id").loc["anting"].geometry
    )


def test_schools(layers: dict[str, gpd.GeoDataFrame]) -> None:
    zones = layers["key_zones"]
    schools = zones[zones["kind"] == "school"]
    assert 8 <= len(schools) <= 15
    assert schools["approximate"].all()


@pytest.mark.parametrize(("zone_id", "lonlat"), sorted(STATED_CENTRES.items()))
def test_zones_at_stated_coordinates(
    layers: dict[str, gpd.GeoDataFrame], zone_id: str, lonlat: tuple[float, float]
) -> None:
    zone = layers["key_zones"].set_index("zone_id").loc[zone_id]
    x, y = Transformer.from_crs(4326, 32651, always_xy=True).transform(*lonlat)
    assert zone.geometry.centroid.distance(shapely.Point(x, y)) < 50.0
    assert not zone["approximate"]


@pytest.mark.parametrize(
    ("zone_id", "km2", "rel"),
    [
        ("f1_circuit", 2.5, 0.05),
        ("tongji_jiading", 1.3, 0.05),
        ("guyi_garden", 0.10, 0.05),
        ("huilongtan_park", 0.047, 0.05),
        ("jiabei_country_park", 7.39, 0.03),
    ],
)
def test_zone_areas(
    layers: dict[str, gpd.GeoDataFrame], zone_id: str, km2: float, rel: float
) -> None:
    zone = layers["key_zones"].set_index("zone_id").loc[zone_id]
    assert zone.geometry.area / 1e6 == pytest.approx(km2, rel=rel)


@pytest.mark.parametrize(
    ("layer", "word"),
    [
        ("towns", "approximate"),
        ("parcels", "synthetic"),
        ("buildings", "synthetic"),
        ("roads", "synthetic"),
        ("poles", "synthetic"),
        ("existing_sites", "synthetic"),
    ],
)
def test_layer_descriptions_label_generated_data(layer: str, word: str) -> None:
    with sqlite3.connect(DEMO) as con:
        (text,) = con.execute(
            "SELECT description FROM gpkg_contents WHERE table_name = ?", (layer,)
        ).fetchone()
    assert word in text


def test_data_folder_size() -> None:
    size = sum(p.stat().st_size for p in (REPO / "data").rglob("*") if p.is_file())
    assert size <= 20 * 1024 * 1024


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.floats(0, 1e4, allow_nan=False), min_size=1, max_size=40),
    data=st.data(),
)
def test_largest_remainder_hits_group_totals(values: list[float], data: st.DataObject) -> None:
    module = load_script()
    n_groups = data.draw(st.integers(1, 4))
    groups = np.array(
        data.draw(
            st.lists(st.integers(0, n_groups - 1), min_size=len(values), max_size=len(values))
        )
    )
    v = np.array(values)
    totals = np.round(np.bincount(groups, weights=v, minlength=n_groups))
    out = module.largest_remainder(v, groups, totals)
    assert np.array_equal(np.bincount(groups, weights=out, minlength=n_groups), totals)
    assert (np.abs(out - v) < 1.0 + 1e-9).all()
    assert np.array_equal(out, np.round(out))


@pytest.mark.shared_data
def test_study_area_follows_the_real_outline(study_area: shapely.Geometry) -> None:
    source = SHARED / "jiading" / "district_boundary.gpkg"
    if not source.is_file():
        pytest.skip(f"shared reference data not found at {SHARED}")
    real = shapely.union_all(gpd.read_file(source).to_crs(32651).geometry.values)
    assert shapely.hausdorff_distance(real, study_area) < 30.0


@pytest.mark.slow
@pytest.mark.shared_data
def test_build_is_reproducible(tmp_path: Path, layers: dict[str, gpd.GeoDataFrame]) -> None:
    if not (SHARED / "jiading").is_dir():
        pytest.skip(f"shared reference data not found at {SHARED}")
    module = load_script()
    out = tmp_path / "demo.gpkg"
    assert module.main(["--shared", str(SHARED), "--out", str(out)]) == 0
    assert not list(tmp_path.glob(".jiading_demo-*"))
    for name in SCHEMAS:
        rebuilt = gpd.read_file(out, layer=name)
        assert_geodataframe_equal(rebuilt, layers[name], check_less_precise=True)
