"""Tests of OSM reading (.osm XML, .osm.pbf), the tag-mapping table and `siting import-osm`."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
import yaml
from click.testing import CliRunner

from siting._errors import LayerError, OutputError
from siting.cli import main
from siting.cli.import_osm import import_osm
from siting.config import LayerSource, OSMTagRule
from siting.layers import read_layer
from siting.osm import (
    DEFAULT_TAG_RULES,
    DROP_BROKEN,
    DROP_OUTSIDE,
    DROP_UNMAPPED,
    _parse_metres,
    download_osm,
    read_osm,
    write_osm_layers,
)

if "import-osm" not in main.commands:
    main.add_command(import_osm)

DATA = Path(__file__).resolve().parent / "data"
XML = DATA / "small_town.osm"
AREA = DATA / "small_town_area.geojson"


@pytest.fixture
def karhula(shared_data: Path) -> Path:
    return shared_data / "osm" / "karhula_finland.osm.pbf"


def test_xml_fixture_mapped_to_layers() -> None:
    res = read_osm(XML)
    assert res.counts() == {
        "buildings": 3,
        "parcels": 2,
        "poles": 6,
        "existing_sites": 1,
        "pois": 3,
    }
    poles = res.layers["poles"].set_index("pole_id")
    assert poles["kind"].to_dict() == {
        "n101": "street_lamp",
        "n102": "street_lamp",
        "n103": "traffic_signal",
        "n104": "utility",
        "n105": "cctv",
        "n109": "street_lamp",
    }
    assert poles.loc["n102", "owner"] == "Lighting Office" and poles.loc["n102", "height_m"] == 9
    b = res.layers["buildings"].set_index("building_id")
    assert b.loc["w1001", "height_m"] == 18.0  # 6 levels x 3 m
    assert b.loc["w1002", "height_m"] == 42.5 and b.loc["w1002", "min_height_m"] == 3.0
    assert b.loc["w1005", "use"] == "other"  # building=yes; bow-tie ring repaired by osmnx
    assert set(res.layers["parcels"]["land_use"]) == {"park", "education"}
    assert set(res.layers["pois"]["kind"]) == {"hospital", "park", "school"}
    sites = res.layers["existing_sites"]
    assert sites["operator"].tolist() == ["China Mobile"] and sites["height_m"].tolist() == [35.0]
    # a bench and a residential road match no rule
    assert res.dropped[DROP_UNMAPPED] == 2
    assert all(gdf.crs.to_epsg() == 4326 for gdf in res.layers.values())


def test_metres_per_level_is_configurable() -> None:
    b = read_osm(XML, metres_per_level=3.5).layers["buildings"].set_index("building_id")
    assert b.loc["w1001", "height_m"] == 21.0


def test_area_filter_counts_what_it_drops() -> None:
    res = read_osm(XML, area=gpd.read_file(AREA))
    assert "n109" not in set(res.layers["poles"]["pole_id"])
    assert res.dropped[DROP_OUTSIDE] == 1


def test_user_rules_extend_and_take_precedence() -> None:
    extra = (
        OSMTagRule(layer="poles", key="amenity", value="bench", kind="other"),
        OSMTagRule(layer="poles", key="highway", value="street_lamp", kind="smart_pole"),
    )
    res = read_osm(XML, rules=(*extra, *DEFAULT_TAG_RULES))
    poles = res.layers["poles"].set_index("pole_id")
    assert poles.loc["n108", "kind"] == "other"
    assert poles.loc["n101", "kind"] == "smart_pole"
    assert res.dropped[DROP_UNMAPPED] == 1


@pytest.mark.parametrize(
    ("text", "metres"),
    [
        ("12", 12.0),
        ("12.5 m", 12.5),
        ("12,5", 12.5),
        ("100 ft", 30.48),
        ("10'", 3.048),
        ("tall", np.nan),
    ],
)
def test_parse_lengths(text: str, metres: float) -> None:
    got = _parse_metres(pd.Series([text]))[0]
    assert (np.isnan(got) and np.isnan(metres)) or got == pytest.approx(metres)


def test_karhula_pbf(karhula: Path) -> None:
    res = read_osm(karhula)
    counts = res.counts()
    # 2,219 building ways; those with broken rings are dropped and counted
    assert counts["buildings"] + res.dropped[DROP_BROKEN] >= 2219
    assert 2200 <= counts["buildings"] <= 2219
    assert res.dropped[DROP_BROKEN] > 0
    kinds = res.layers["poles"]["kind"].value_counts().to_dict()
    assert "street_lamp" not in kinds  # the extract has no street lamps
    assert kinds == {"other": 36, "utility": 4}  # bus stops and power towers
    assert counts["parcels"] >= 54
    assert res.layers["buildings"]["building_id"].is_unique


def test_config_layer_from_osm_source(tmp_path: Path) -> None:
    src = LayerSource(path=XML, outside="drop")
    poles = read_layer(src, "poles", crs="EPSG:32651")
    assert len(poles) == 6 and poles.crs.to_epsg() == 32651
    sites = read_layer(LayerSource(path=XML, layer="existing_sites"), "existing_sites", crs=None)
    assert sites["site_id"].tolist() == ["n106"]


def test_config_layer_with_no_mapped_feature(karhula: Path) -> None:
    with pytest.raises(LayerError, match=r"layer 'existing_sites': no feature of .* maps to"):
        read_layer(LayerSource(path=karhula), "existing_sites", crs=None)


def test_write_is_atomic_and_refuses_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "layers.gpkg"
    res = read_osm(XML)
    write_osm_layers(res, out)
    assert sorted(pyogrio.list_layers(out)[:, 0]) == sorted(res.layers)
    with pytest.raises(OutputError, match="exists; choose another file"):
        write_osm_layers(res, out)
    assert [p.name for p in tmp_path.iterdir()] == ["layers.gpkg"]


def test_cli_import_osm_xml_with_area(tmp_path: Path) -> None:
    out = tmp_path / "layers.gpkg"
    res = CliRunner().invoke(main, ["import-osm", str(XML), "--out", str(out), "--area", str(AREA)])
    assert res.exit_code == 0, res.output
    assert "poles: 5" in res.output and "outside the area: 1" in res.output
    assert len(gpd.read_file(out, layer="poles")) == 5


def _truncated(src: Path, dst: Path) -> Path:
    dst.write_bytes(src.read_bytes()[:5000])
    return dst


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda d: (d / "t.osm").write_text(XML.read_text()[:900]) and d / "t.osm",
            "corrupt or truncated",
        ),
        (
            lambda d: (d / "x.osm.pbf").write_bytes(b"\x00\x01garbage" * 50) and d / "x.osm.pbf",
            "cannot read OSM file",
        ),
        (lambda d: (d / "notes.txt").write_text("hello") and d / "notes.txt", "not an OSM file"),
    ],
)
def test_cli_bad_files_write_nothing(tmp_path: Path, make, message: str) -> None:
    src = make(tmp_path)
    out = tmp_path / "out" / "layers.gpkg"
    out.parent.mkdir()
    res = CliRunner().invoke(main, ["import-osm", str(src), "--out", str(out)])
    assert res.exit_code == 1, res.output
    assert message in res.output
    assert list(out.parent.iterdir()) == []


def test_cli_truncated_pbf(tmp_path: Path, karhula: Path) -> None:
    src = _truncated(karhula, tmp_path / "cut.osm.pbf")
    out = tmp_path / "layers.gpkg"
    res = CliRunner().invoke(main, ["import-osm", str(src), "--out", str(out)])
    assert res.exit_code != 0
    assert "cannot read OSM file" in res.output or "no OSM feature" in res.output
    assert not out.exists()


def test_cli_usage_errors(tmp_path: Path) -> None:
    out = tmp_path / "layers.gpkg"
    out.write_bytes(b"")
    res = CliRunner().invoke(main, ["import-osm", str(XML), "--out", str(out)])
    assert res.exit_code == 2 and "--overwrite" in res.output
    res = CliRunner().invoke(main, ["import-osm", "--out", str(tmp_path / "a.gpkg")])
    assert res.exit_code == 2 and "either FILE or --place" in res.output


def test_offline_download_gives_clear_error(tmp_path: Path) -> None:
    # A place name fails fast offline (the geocoder is unreachable); a polygon query
    # waits on the Overpass status endpoint first, so it is not used here.
    try:
        res = download_osm(place="Jiading, Shanghai", cache_folder=tmp_path / "cache", timeout_s=5)
    except LayerError as exc:
        assert "cannot download OSM data" in str(exc) and "import-osm" in str(exc)
        return
    pytest.skip(f"the network is open here ({sum(res.counts().values())} features downloaded)")


def test_karhula_full_plan_from_cli(tmp_path: Path, karhula: Path) -> None:
    runner = CliRunner()
    layers = tmp_path / "karhula.gpkg"
    res = runner.invoke(main, ["import-osm", str(karhula), "--out", str(layers)])
    assert res.exit_code == 0, res.output
    assert "buildings: 22" in res.output and "broken geometry" in res.output
    buildings = gpd.read_file(layers, layer="buildings")
    crs = buildings.estimate_utm_crs()  # Finland: UTM 35N
    area = gpd.GeoDataFrame(
        {"name": ["Karhula"]}, geometry=[shapely.box(*buildings.total_bounds)], crs=4326
    )
    area.to_file(tmp_path / "area.gpkg", engine="pyogrio")
    config = {
        "name": "karhula",
        "crs": crs.to_string(),
        "layers": {
            "study_area": {"path": "area.gpkg"},
            "towns": {"path": "area.gpkg", "defaults": {"town_id": "karhula"}},
            "buildings": {"path": "karhula.gpkg", "layer": "buildings"},
            "parcels": {"path": "karhula.gpkg", "layer": "parcels"},
            # no street lamps in the extract: bus stops and power towers are the poles
            "poles": {"path": "karhula.gpkg", "layer": "poles"},
        },
        "candidates": {
            "rooftop_min_height_m": 3,
            "rooftop_uses": ["residential", "public", "commercial", "education", "other"],
        },
        "demand": {"cell_size_m": 100},
        "optimize": {"objective": "max_cover", "max_sites": 20, "time_limit_s": 10},
    }
    cfg_path = tmp_path / "karhula.yaml"
    cfg_path.write_text(yaml.safe_dump(config))
    out = tmp_path / "plan"
    res = runner.invoke(main, ["plan", str(cfg_path), "--out", str(out)])
    assert res.exit_code == 0, res.output
    sites = pd.read_csv(out / "sites.csv")
    assert 0 < len(sites) <= 20
    assert crs.to_epsg() == 32635
