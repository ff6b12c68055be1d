"""Tests of siting.export: sites.xlsx, sites.kml and the candidate registry."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyogrio
import pytest

from siting import export
from siting._errors import ConfigError, LayerError, OutputError
from tests.test_maps import HOSTILE, make_plan


@pytest.fixture(scope="module")
def plan():
    p = make_plan(seed=3)
    p.sites.loc[2, "owner"] = "=HYPERLINK(\"http://x\",\"y\")"
    return p


def test_sites_xlsx_has_summary_and_a_sheet_per_year(plan, tmp_path: Path) -> None:
    path = export.write_sites_xlsx(plan, tmp_path / "sites.xlsx")
    sheets = pd.read_excel(path, sheet_name=None)
    assert list(sheets) == ["汇总 Summary", "2020年 2020", "2021年 2021"]
    y2020 = sheets["2020年 2020"]
    assert list(y2020.columns) == list(export.SITE_HEADERS.values())
    assert len(y2020) + len(sheets["2021年 2021"]) == len(plan.sites)
    assert (y2020["建设年份 Rollout year"] == 2020).all()
    assert HOSTILE in set(y2020["名称 Name"]) | set(sheets["2021年 2021"]["名称 Name"])
    lon = y2020["经度 Longitude (WGS84)"]
    assert lon.between(121.0, 121.5).all()


def test_formula_like_text_is_not_a_formula(plan, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    path = export.write_sites_xlsx(plan, tmp_path / "sites.xlsx")
    wb = load_workbook(path)
    values = [c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row]
    assert not any(isinstance(v, str) and v.startswith("=") for v in values)
    assert "'=HYPERLINK(\"http://x\",\"y\")" in values


def test_kml_opens_with_gdal_and_escapes_descriptions(plan, tmp_path: Path) -> None:
    path = export.write_sites_kml(plan, tmp_path / "sites.kml")
    back = pyogrio.read_dataframe(path)
    assert len(back) == len(plan.sites)
    assert set(back["Name"]) == set(plan.sites["candidate_id"])
    assert back.crs.to_epsg() == 4326
    text = path.read_text(encoding="utf-8")
    assert "<img" not in text and "&amp;lt;img src=x" in text


def test_candidate_registry_status(plan, tmp_path: Path) -> None:
    paths = export.write_candidate_registry(plan, tmp_path)
    assert sorted(p.name for p in paths) == ["candidates.csv", "candidates.xlsx"]
    reg = pd.read_csv(tmp_path / "candidates.csv", encoding="utf-8-sig")
    assert len(reg) == len(plan.candidates)
    status = reg.set_index("资源编号 Candidate ID")["状态 Status"]
    site = plan.sites.iloc[0]
    assert status[site["candidate_id"]] == f"selected 入选 {site['rollout_year']}"
    assert (status == "candidate 候选").sum() == len(plan.candidates) - len(plan.sites)


def test_export_plan_writes_everything(plan, tmp_path: Path) -> None:
    paths = export.export_plan(plan, tmp_path / "out")
    assert sorted(paths) == ["candidates.csv", "candidates.xlsx", "sites.kml", "sites.xlsx"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(paths)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda p, t: export.write_candidate_registry(p, t, formats=("pdf",)), ConfigError,
         r"unknown registry format\(s\) \['pdf'\]"),
        (lambda p, t: export.write_sites_xlsx(p, t / "f" / "x.xlsx"), OutputError,
         "cannot write the site list"),
    ],
)
def test_bad_calls(plan, tmp_path: Path, call, error, match) -> None:
    (tmp_path / "f").write_text("a file, not a folder")
    with pytest.raises(error, match=match):
        call(plan, tmp_path)


def test_missing_column_is_named(tmp_path: Path) -> None:
    p = make_plan(n_candidates=20, n_sites=4)
    p.sites = p.sites.drop(columns="rollout_year")
    with pytest.raises(LayerError, match=r"plan.sites lacks column\(s\) \['rollout_year'\]"):
        export.write_sites_xlsx(p, tmp_path / "s.xlsx")
    assert not list(tmp_path.iterdir())
