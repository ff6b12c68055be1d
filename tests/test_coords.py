"""Tests of GCJ-02 / BD-09 <-> WGS84 conversion, on known pairs and the real Amap data."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from siting._errors import ConfigError, LayerError
from siting.cli import main
from siting.cli.coords import coords
from siting.coords import (
    bd09_to_gcj02,
    convert,
    convert_frame,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    wgs84_to_gcj02,
)

if "coords" not in main.commands:
    main.add_command(coords)

M_PER_DEG = 111_320.0


@pytest.mark.parametrize(
    ("func", "given_xy", "expected"),
    [
        # Published reference values of the GCJ-02 / BD-09 formulas (Beijing, Tiananmen).
        (wgs84_to_gcj02, (116.404, 39.915), (116.41024449916938, 39.91640428150164)),
        (gcj02_to_bd09, (116.404, 39.915), (116.41036949371029, 39.92133699351021)),
    ],
)
def test_known_pairs(func, given_xy, expected) -> None:
    lon, lat = func(*given_xy)
    assert lon[0] == pytest.approx(expected[0], abs=1e-9)
    assert lat[0] == pytest.approx(expected[1], abs=1e-9)


@pytest.mark.parametrize(
    ("inverse", "given_xy", "one_step"),
    [
        # The one-step inverses published with the formulas are off by ~0.5 m; ours is exact.
        (gcj02_to_wgs84, (116.404, 39.915), (116.39775550083061, 39.91359571849836)),
        (bd09_to_gcj02, (116.404, 39.915), (116.39762729119315, 39.90865673957631)),
    ],
)
def test_iterative_inverse_beats_one_step(inverse, given_xy, one_step) -> None:
    lon, lat = inverse(*given_xy)
    forward = wgs84_to_gcj02 if inverse is gcj02_to_wgs84 else gcj02_to_bd09
    back = forward(lon, lat)
    err = np.hypot(back[0][0] - given_xy[0], back[1][0] - given_xy[1]) * M_PER_DEG
    assert err < 0.001
    assert np.hypot(lon[0] - one_step[0], lat[0] - one_step[1]) * M_PER_DEG < 2.0


@settings(max_examples=60, deadline=None)
@given(
    lon=st.floats(min_value=74.0, max_value=134.0),
    lat=st.floats(min_value=18.0, max_value=53.0),
    system=st.sampled_from(["gcj02", "bd09"]),
)
def test_round_trip_under_a_millimetre(lon: float, lat: float, system: str) -> None:
    x, y = convert(lon, lat, src="wgs84", dst=system)
    assert np.hypot(x[0] - lon, y[0] - lat) * M_PER_DEG > 1.0  # a real shift happened
    bx, by = convert(x, y, src=system, dst="wgs84")
    assert np.hypot(bx[0] - lon, by[0] - lat) * M_PER_DEG < 0.001


@pytest.mark.parametrize("point", [(24.94, 60.17), (-74.0, 40.7), (151.2, -33.9), (2.35, 48.85)])
@pytest.mark.parametrize("system", ["gcj02", "bd09"])
def test_outside_china_unchanged(point: tuple[float, float], system: str) -> None:
    for src, dst in (("wgs84", system), (system, "wgs84")):
        x, y = convert(*point, src=src, dst=dst)
        assert (x[0], y[0]) == point


def test_vectorised_and_shape_checked() -> None:
    lon = np.linspace(120.9, 121.5, 1000)
    lat = np.linspace(31.0, 31.5, 1000)
    x, _ = gcj02_to_wgs84(lon, lat)
    assert x.shape == (1000,) and np.all(np.abs(x - lon) > 0)
    with pytest.raises(ValueError, match="differ in shape"):
        wgs84_to_gcj02(lon, lat[:3])


def test_unknown_system_lists_valid_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown coordinate system 'mars'.*'gcj02'"):
        convert(121.0, 31.0, src="mars", dst="wgs84")


def test_frame_without_crs_refused() -> None:
    gdf = gpd.GeoDataFrame(geometry=[shapely.Point(121.2, 31.3)])
    with pytest.raises(LayerError, match="without CRS"):
        convert_frame(gdf, src="gcj02", dst="wgs84")


def test_frame_polygons_converted_vertex_by_vertex() -> None:
    poly = shapely.box(121.2, 31.3, 121.21, 31.31)
    gdf = gpd.GeoDataFrame({"a": [1]}, geometry=[poly], crs=4326)
    out = convert_frame(gdf, src="gcj02", dst="wgs84")
    xy = shapely.get_coordinates(out.geometry.values)
    ex, ey = gcj02_to_wgs84(*shapely.get_coordinates(poly).T)
    np.testing.assert_allclose(xy, np.column_stack([ex, ey]))
    assert out.crs.to_epsg() == 4326 and out["a"].tolist() == [1]


def _compounds(shared: Path) -> pd.DataFrame:
    raw = json.loads((shared / "jiading" / "residential_compounds_gcj02.json").read_text("utf-8"))
    rows = [(r["lnglat"][0], r["lnglat"][1], r["name"]) for zone in raw.values() for r in zone]
    df = pd.DataFrame(rows, columns=["lon", "lat", "name"])
    town = df["name"].str.extract(r"嘉定区(.+?(?:镇|街道|新区|工业区))")[0]
    df["town"] = town.replace({"嘉定镇": "嘉定镇街道"})
    # 56 points share one fallback location of the geocoder: leave them out.
    counts = df.groupby(["lon", "lat"])["name"].transform("size")
    return df[counts < 50].reset_index(drop=True)


def _scores(
    df: pd.DataFrame, lon: np.ndarray, lat: np.ndarray, shared: Path
) -> tuple[float, float]:
    district = gpd.read_file(shared / "jiading" / "district_boundary.gpkg").geometry.union_all()
    towns = gpd.read_file(shared / "jiading" / "townships.gpkg")
    inside = shapely.contains_xy(district, lon, lat).mean()
    pts = gpd.GeoDataFrame(geometry=shapely.points(lon, lat), crs=4326)
    hit = gpd.sjoin(pts, towns[["label_final", "geometry"]], how="left", predicate="within")
    label = hit[~hit.index.duplicated()]["label_final"].to_numpy()
    named = df["town"].notna().to_numpy()
    # The polygon labelled 徐行镇 also holds the north zone of 嘉定工业区.
    ok = (label == df["town"].to_numpy()) | (
        (df["town"].to_numpy() == "嘉定工业区") & (label == "徐行镇")
    )
    return float(inside), float(ok[named].mean())


def test_real_amap_compounds_land_in_district_and_township(shared_data: Path) -> None:
    df = _compounds(shared_data)
    assert len(df) > 1000
    lon, lat = gcj02_to_wgs84(df["lon"].to_numpy(), df["lat"].to_numpy())
    shift = np.hypot(
        (lon - df["lon"]) * M_PER_DEG * np.cos(np.radians(31.3)), (lat - df["lat"]) * M_PER_DEG
    )
    assert 400 < shift.median() < 650  # GCJ-02 sits ~500 m off in Shanghai
    inside_raw, town_raw = _scores(df, df["lon"].to_numpy(), df["lat"].to_numpy(), shared_data)
    inside, town = _scores(df, lon, lat, shared_data)
    assert inside >= 0.985
    assert town >= 0.85
    assert inside > inside_raw and town > town_raw


def test_cli_converts_a_vector_file(tmp_path: Path) -> None:
    src = tmp_path / "amap.geojson"
    pts = gpd.GeoDataFrame(
        {"name": ["a", "b"]}, geometry=shapely.points([121.25, 121.3], [31.35, 31.3]), crs=4326
    )
    pts.to_file(src, engine="pyogrio")
    dst = tmp_path / "wgs.gpkg"
    res = CliRunner().invoke(
        main, ["coords", str(src), str(dst), "--from", "gcj02", "--to", "wgs84"]
    )
    assert res.exit_code == 0, res.output
    assert "2 feature(s) converted" in res.output
    out = gpd.read_file(dst)
    ex, ey = gcj02_to_wgs84([121.25, 121.3], [31.35, 31.3])
    np.testing.assert_allclose(out.geometry.x, ex, atol=1e-9)
    np.testing.assert_allclose(out.geometry.y, ey, atol=1e-9)
    res = CliRunner().invoke(
        main, ["coords", str(src), str(dst), "--from", "gcj02", "--to", "wgs84"]
    )
    assert res.exit_code == 2 and "exists" in res.output


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--from", "mars", "--to", "wgs84"], 2, "'mars' is not one of"),
        (["--from", "gcj02", "--to", "wgs84"], 1, "cannot read"),
    ],
)
def test_cli_bad_input_writes_nothing(
    tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    src = tmp_path / "broken.geojson"
    src.write_text('{"type": "FeatureCollection", "features": [', encoding="utf-8")
    dst = tmp_path / "out.gpkg"
    res = CliRunner().invoke(main, ["coords", str(src), str(dst), *args])
    assert res.exit_code == code, res.output
    assert message in res.output
    assert list(tmp_path.iterdir()) == [src]
