"""Tests of CSV/XLSX pole and site registries: headers, sheets, swaps, duplicates, outside points."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from siting._errors import LayerError
from siting.config import config_from_dict, load_config
from siting.layers import load_layers
from tests.conftest import small_config, write_case


def _poles_table(case_layers: dict, n: int | None = None) -> pd.DataFrame:
    geo = case_layers["poles"].to_crs(4326).iloc[:n]
    return pd.DataFrame(
        {
            "编号": geo["pole_id"].to_numpy(),
            "类型": geo["kind"].to_numpy(),
            "经度": geo.geometry.x.to_numpy(),
            "纬度": geo.geometry.y.to_numpy(),
        }
    )


def _config(folder: Path, table: pd.DataFrame, *, suffix: str = ".csv", **source: object) -> Path:
    config = write_case(folder)
    path = folder / f"registry{suffix}"
    if suffix == ".xlsx":
        with pd.ExcelWriter(path, engine="openpyxl") as xl:
            pd.DataFrame({"说明": ["路灯台账"]}).to_excel(xl, sheet_name="封面", index=False)
            table.to_excel(xl, sheet_name="杆塔", index=False)
    else:
        table.to_csv(path, index=False, encoding=source.pop("encoding", "utf-8"))
    raw = small_config(folder)
    raw["layers"]["poles"] = {
        "path": path.name,
        "columns": {"编号": "pole_id", "类型": "kind"},
        **source,
    }
    config.write_text(yaml.safe_dump(raw, allow_unicode=True))
    return config


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_chinese_headers_found_without_config(
    tmp_path: Path, case_layers: dict, encoding: str
) -> None:
    config = _config(tmp_path, _poles_table(case_layers), encoding=encoding)
    layers = load_layers(load_config(config))
    assert len(layers.poles) == 220
    np.testing.assert_allclose(
        layers.poles.geometry.x.to_numpy(), case_layers["poles"].geometry.x.to_numpy(), atol=1e-6
    )


def test_xlsx_named_sheet(tmp_path: Path, case_layers: dict) -> None:
    config = _config(tmp_path, _poles_table(case_layers), suffix=".xlsx", sheet="杆塔")
    assert len(load_layers(load_config(config)).poles) == 220


@pytest.mark.parametrize(
    ("sheet", "message"),
    [
        ("Sheet1", r"has no sheet 'Sheet1'; its sheets are \['封面', '杆塔'\]"),
        (5, "no sheet number 5"),
    ],
)
def test_xlsx_wrong_sheet(tmp_path: Path, case_layers: dict, sheet: object, message: str) -> None:
    config = _config(tmp_path, _poles_table(case_layers), suffix=".xlsx", sheet=sheet)
    with pytest.raises(LayerError, match=message):
        load_layers(load_config(config))


def test_xlsx_default_first_sheet_has_no_coordinates(tmp_path: Path, case_layers: dict) -> None:
    config = _config(tmp_path, _poles_table(case_layers), suffix=".xlsx")
    with pytest.raises(LayerError, match=r"no coordinate column\(s\) .* set `x:` and `y:`"):
        load_layers(load_config(config))


def test_corrupt_xlsx(tmp_path: Path, case_layers: dict) -> None:
    config = _config(tmp_path, _poles_table(case_layers), suffix=".xlsx")
    (tmp_path / "registry.xlsx").write_bytes(b"PK\x03\x04 truncated workbook")
    with pytest.raises(LayerError, match="is not a readable XLSX workbook"):
        load_layers(load_config(config))


def test_duplicates_dropped_with_counts(tmp_path: Path, case_layers: dict) -> None:
    table = _poles_table(case_layers)
    table = pd.concat([table, table.iloc[[0]]], ignore_index=True)  # same ID and place
    table.loc[2, ["经度", "纬度"]] = table.loc[1, ["经度", "纬度"]].to_numpy()  # same place
    config = _config(tmp_path, table, duplicates="drop")
    with pytest.warns(
        UserWarning, match=r"1 row\(s\) repeat an ID .*1 row\(s\) repeat the location"
    ):
        layers = load_layers(load_config(config))
    assert len(layers.poles) == 219  # 221 rows, 2 duplicates


def test_duplicates_refused_by_default(tmp_path: Path, case_layers: dict) -> None:
    table = _poles_table(case_layers)
    table = pd.concat([table, table.iloc[[3]]], ignore_index=True)
    with pytest.raises(LayerError, match=r"1 row\(s\) repeat an ID .* `duplicates: drop`"):
        load_layers(load_config(_config(tmp_path, table)))


def test_outside_points_dropped_or_refused(tmp_path: Path, case_layers: dict) -> None:
    table = _poles_table(case_layers)
    table.loc[:4, "经度"] += 1.0  # five poles 95 km east
    with pytest.raises(LayerError, match=r"5 of 220 point\(s\) lie outside .* `outside: drop`"):
        load_layers(load_config(_config(tmp_path / "a", table)))
    with pytest.warns(UserWarning, match=r"dropped 5 of 220 point\(s\) outside the study area"):
        layers = load_layers(load_config(_config(tmp_path / "b", table, outside="drop")))
    assert len(layers.poles) == 215


def test_no_point_in_area_is_an_error_even_with_drop(tmp_path: Path, case_layers: dict) -> None:
    table = _poles_table(case_layers)
    table["经度"] += 2.0
    config = _config(tmp_path, table, outside="drop")
    with pytest.raises(LayerError, match=r"none of its 220 point\(s\) lie in the study area"):
        load_layers(load_config(config))


def test_swapped_columns_are_an_error_even_with_drop(tmp_path: Path, case_layers: dict) -> None:
    table = _poles_table(case_layers).rename(columns={"经度": "纬度", "纬度": "经度"})
    config = _config(tmp_path, table, outside="drop")
    with pytest.raises(LayerError, match=r"swapping lon/lat puts 220 of them inside"):
        load_layers(load_config(config))


def test_mixed_crs_rows_refused(tmp_path: Path, case_layers: dict) -> None:
    table = _poles_table(case_layers)
    utm = case_layers["poles"]
    table.loc[:9, "经度"] = utm.geometry.x.to_numpy()[:10]  # ten rows in UTM metres
    table.loc[:9, "纬度"] = utm.geometry.y.to_numpy()[:10]
    with pytest.raises(
        LayerError, match=r"10 of 220 row\(s\) have coordinates that are not lon/lat"
    ):
        load_layers(load_config(_config(tmp_path, table)))


def test_projected_xy_with_named_crs(tmp_path: Path, case_layers: dict) -> None:
    utm = case_layers["poles"]
    table = pd.DataFrame(
        {"编号": utm["pole_id"], "类型": utm["kind"], "X": utm.geometry.x, "Y": utm.geometry.y}
    )
    config = _config(tmp_path, table, crs="EPSG:32651")
    assert len(load_layers(load_config(config)).poles) == 220


def _real_config(shared: Path, existing: dict) -> dict:
    jd = shared / "jiading"
    return {
        "name": "telecom",
        "layers": {
            "study_area": {"path": str(jd / "district_boundary.gpkg")},
            "existing_sites": existing,
        },
    }


def test_real_telecom_sites_outside_dropped_with_counts(shared_data: Path) -> None:
    csv = shared_data / "jiading" / "shanghai_telecom_base_stations.csv"
    existing = {
        "path": str(csv),
        "x": "longitude",
        "y": "latitude",
        "columns": {"id": "site_id"},
        "outside": "drop",
    }
    cfg = config_from_dict(_real_config(shared_data, existing), base=shared_data)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        layers = load_layers(cfg)
    text = " ".join(str(w.message) for w in caught)
    assert "dropped 2888 of 3042 point(s) outside the study area" in text
    sites = layers.existing_sites
    assert len(sites) == 154 and sites["site_id"].is_unique
    # the rows far outside Shanghai (e.g. lon 102-118) are among those dropped
    raw = pd.read_csv(csv)
    far = raw.loc[(raw["longitude"] < 120) | (raw["latitude"] > 32), "id"].astype(str)
    assert len(far) >= 25 and not set(far) & set(sites["site_id"])
    assert sites.within(layers.study_area.geometry.iloc[0]).all()


def test_real_amap_points_declared_wgs84_get_a_gcj02_hint(
    shared_data: Path, tmp_path: Path
) -> None:
    raw = json.loads(
        (shared_data / "jiading" / "residential_compounds_gcj02.json").read_text("utf-8")
    )
    rows = [(r["lnglat"][0], r["lnglat"][1]) for zone in raw.values() for r in zone]
    table = pd.DataFrame(rows, columns=["lng", "lat"]).drop_duplicates()
    table["site_id"] = [f"c{i}" for i in range(len(table))]
    path = tmp_path / "compounds.csv"
    table.to_csv(path, index=False)
    source = {"path": str(path), "x": "lng", "outside": "drop"}
    cfg = config_from_dict(_real_config(shared_data, source), base=tmp_path)
    with pytest.warns(UserWarning, match=r"if the layer were GCJ-02 .* set `coords: gcj02`"):
        as_wgs = load_layers(cfg)
    cfg = config_from_dict(_real_config(shared_data, {**source, "coords": "gcj02"}), base=tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        converted = load_layers(cfg)
    assert not any("coords: gcj02" in str(w.message) for w in caught)
    assert len(converted.existing_sites) > len(as_wgs.existing_sites)
