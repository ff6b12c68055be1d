"""Tests of layer reading and validation: every bad input gets a clear message."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
import yaml

from siting._errors import LayerError
from siting.config import LayerSource, load_config
from siting.layers import SCHEMAS, load_layers, read_layer, validate_layer
from tests.conftest import CRS, X0, Y0, small_config, write_case


def _replace_layer(
    folder: Path, name: str, gdf: gpd.GeoDataFrame, *, suffix: str = ".gpkg", **source: object
) -> Path:
    """Write ``gdf`` as its own file and point the case config's layer at it."""
    config = write_case(folder)
    path = folder / f"{name}{suffix}"
    if suffix == ".csv":
        gdf.to_csv(path, index=False)
    else:
        gdf.to_file(path, engine="pyogrio")
    raw = small_config(folder)
    raw["layers"][name] = {"path": path.name, **source}
    config.write_text(yaml.safe_dump(raw, allow_unicode=True))
    return config


def test_case_loads(case_config: Path) -> None:
    layers = load_layers(load_config(case_config))
    assert len(layers.poles) == 220
    assert layers.crs.to_epsg() == 32651
    assert len(layers.study_area) == 1
    assert set(layers.sources) == {
        "study_area",
        "towns",
        "buildings",
        "poles",
        "existing_sites",
        "key_zones",
    }


def test_layer_without_crs(tmp_path: Path, case_layers: dict) -> None:
    config = _replace_layer(tmp_path, "poles", case_layers["poles"], suffix=".shp")
    (tmp_path / "poles.prj").unlink()
    with pytest.raises(LayerError, match=r"layer 'poles' .* has no CRS; set `crs:`"):
        load_layers(load_config(config))


def test_crs_mismatch_names_both(tmp_path: Path, case_layers: dict) -> None:
    config = _replace_layer(tmp_path, "poles", case_layers["poles"], crs="EPSG:4326")
    with pytest.raises(
        LayerError, match=r"CRS mismatch: the config declares EPSG:4326 .* EPSG:32651"
    ):
        load_layers(load_config(config))


def test_missing_required_column(tmp_path: Path, case_layers: dict) -> None:
    poles = case_layers["poles"].drop(columns="kind")
    config = _replace_layer(tmp_path, "poles", poles)
    with pytest.raises(
        LayerError, match=r"layer 'poles' is missing required column\(s\) \['kind'\]"
    ):
        load_layers(load_config(config))


def test_wrong_geometry_type(tmp_path: Path, case_layers: dict) -> None:
    poles = case_layers["poles"].copy()
    poles["geometry"] = poles.buffer(1.0)
    config = _replace_layer(tmp_path, "poles", poles)
    with pytest.raises(LayerError, match=r"layer 'poles' must hold Point geometries; 220 feature"):
        load_layers(load_config(config))


def test_empty_layer(tmp_path: Path, case_layers: dict) -> None:
    config = _replace_layer(tmp_path, "poles", case_layers["poles"].iloc[:0])
    with pytest.raises(LayerError, match=r"layer 'poles' is empty"):
        load_layers(load_config(config))


def test_invalid_polygon_repaired_with_warning(case_layers: dict) -> None:
    buildings = case_layers["buildings"].copy()
    bow = shapely.Polygon([(X0, Y0), (X0 + 10, Y0 + 10), (X0 + 10, Y0), (X0, Y0 + 10)])
    buildings.loc[0, "geometry"] = bow
    with pytest.warns(UserWarning, match=r"repaired 1 invalid geometry"):
        fixed, problems = validate_layer(buildings, "buildings")
    assert problems == []
    assert fixed.geometry.is_valid.all()
    assert fixed.geometry.iloc[0].area == pytest.approx(50.0)


def test_duplicate_ids(tmp_path: Path, case_layers: dict) -> None:
    poles = case_layers["poles"].copy()
    poles.loc[1, "pole_id"] = poles.loc[0, "pole_id"]
    config = _replace_layer(tmp_path, "poles", poles)
    with pytest.raises(LayerError, match=r"1 duplicate pole_id value\(s\), e.g. \['p0000'\]"):
        load_layers(load_config(config))


def test_swapped_lon_lat_detected(tmp_path: Path, case_layers: dict) -> None:
    geo = case_layers["poles"].to_crs(4326)
    table = pd.DataFrame(
        {
            "pole_id": geo["pole_id"],
            "kind": geo["kind"],
            "lon": geo.geometry.y,
            "lat": geo.geometry.x,
        }
    )
    config = _replace_layer(tmp_path, "poles", table, suffix=".csv")
    with pytest.raises(
        LayerError, match=r"220 of 220 point\(s\) lie outside .* swapping lon/lat puts 220"
    ):
        load_layers(load_config(config))


def test_csv_points_load(tmp_path: Path, case_layers: dict) -> None:
    geo = case_layers["poles"].to_crs(4326)
    table = pd.DataFrame(
        {
            "编号": geo["pole_id"],
            "kind": geo["kind"],
            "经度": geo.geometry.x,
            "纬度": geo.geometry.y,
        }
    )
    config = _replace_layer(
        tmp_path, "poles", table, suffix=".csv", x="经度", y="纬度", columns={"编号": "pole_id"}
    )
    layers = load_layers(load_config(config))
    assert len(layers.poles) == 220
    assert layers.poles.crs.to_epsg() == 32651


def test_unknown_category_and_all_problems_at_once(tmp_path: Path, case_layers: dict) -> None:
    poles = case_layers["poles"].copy()
    poles.loc[0, "kind"] = "lamp"
    poles.loc[2, "pole_id"] = poles.loc[1, "pole_id"]
    config = _replace_layer(tmp_path, "poles", poles)
    with pytest.raises(LayerError, match=r"(?s)duplicate pole_id.*unknown value\(s\) \['lamp'\]"):
        load_layers(load_config(config))


def test_zone_with_unknown_service_level(tmp_path: Path, case_layers: dict) -> None:
    zones = case_layers["key_zones"].copy()
    zones.loc[0, "service_level"] = "premium"
    config = _replace_layer(tmp_path, "key_zones", zones)
    with pytest.raises(LayerError, match=r"unknown service level\(s\) \['premium'\]"):
        load_layers(load_config(config))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(LayerError, match="does not exist"):
        read_layer(LayerSource(path=tmp_path / "nope.gpkg"), "poles", crs=CRS)


def test_corrupt_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.gpkg"
    bad.write_bytes(b"not a geopackage at all")
    with pytest.raises(LayerError, match=r"layer 'poles': cannot read"):
        read_layer(LayerSource(path=bad), "poles", crs=CRS)


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_schemas_name_their_id_column(name: str) -> None:
    schema = SCHEMAS[name]
    assert schema.id_column is None or schema.id_column in schema.required
