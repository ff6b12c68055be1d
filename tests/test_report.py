"""Tests of siting.report: report.html (self-contained) and its PNG charts."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pandas as pd
import pytest

from siting import report
from siting._errors import LayerError
from tests.test_maps import HOSTILE, make_plan


@pytest.fixture(scope="module")
def plan():
    return make_plan(seed=5)


def test_report_html_and_pngs(plan, tmp_path: Path) -> None:
    curve = pd.DataFrame({"cost": [1e6, 5e6, 1e7], "coverage": [0.3, 0.7, 0.85]})
    path = report.write_report(plan, tmp_path, curve=curve)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["report.html", "report_curve.png", "report_rollout.png",
                     "report_sites_by_class.png", "report_top_sites.png", "report_towns.png",
                     "report_units.png"]
    text = path.read_text(encoding="utf-8")
    assert len(re.findall(r'src="data:image/png;base64,', text)) == 6
    assert not re.search(r'src="(?!data:)', text)  # nothing fetched
    assert HOSTILE not in text and html_escaped(HOSTILE) in text
    assert "安亭镇" in text
    for png in tmp_path.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def html_escaped(s: str) -> str:
    import html

    return html.escape(s)


def test_tables_figures(plan) -> None:
    t = report.report_tables(plan)
    kpis = dict(zip(t["kpis"].iloc[:, 0], t["kpis"].iloc[:, 1], strict=True))
    assert kpis["Sites 站点"] == f"{len(plan.sites):,}"
    assert kpis["Key zones met 重点区域达标"].endswith("of 2")
    assert kpis["Gap 间隙"] == "5.00 %"
    assert kpis["Limit 求解限制"] == "–"  # plans written before the limits were recorded
    limited = copy.copy(plan)  # the fixture is shared
    limited.solve = {**plan.solve, "work_limit": 60.0, "time_limit_s": None}
    limits = report.report_tables(limited)["kpis"].set_index("Indicator 指标")["Value 数值"]
    assert limits["Limit 求解限制"] == "60 work units"
    roll = t["rollout"].set_index("year")
    assert roll.loc[2021, "cumulative"] == len(plan.sites)
    assert roll.loc[2020, "target"] == 2000 and not roll.loc[2020, "met"]
    assert t["units"]["n_sites"].sum() == len(plan.sites)
    assert t["top_sites"]["marginal_gain"].is_monotonic_decreasing


def test_missing_columns_named(tmp_path: Path) -> None:
    p = make_plan(n_candidates=20, n_sites=4)
    p.towns = p.towns.drop(columns="coverage")
    with pytest.raises(LayerError, match=r"plan.towns lacks column\(s\) \['coverage'\]"):
        report.write_report(p, tmp_path / "r")
    assert not (tmp_path / "r").exists()


def test_bad_curve_is_refused(plan) -> None:
    with pytest.raises(LayerError, match=r"curve lacks column\(s\) \['coverage'\]"):
        report.report_figures(plan, curve=pd.DataFrame({"cost": [1.0]}))
