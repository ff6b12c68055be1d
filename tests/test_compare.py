"""Tests of siting.compare and the `siting compare` command."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from siting._errors import LayerError, OutputError
from siting.cli.compare import compare
from siting.compare import compare_plans, write_comparison
from tests.test_maps import make_plan


def write_plan_dir(plan, folder: Path, *, layers=("sites", "candidates", "towns", "zones",
                                                   "study_area")) -> Path:
    """A plan folder as the planner writes it (plan.gpkg + manifest.json)."""
    folder.mkdir(parents=True)
    for name in layers:
        getattr(plan, name).to_file(folder / "plan.gpkg", layer=name, driver="GPKG")
    (folder / "manifest.json").write_text(
        json.dumps({"name": plan.name, "crs": "EPSG:32651"}, ensure_ascii=False),
        encoding="utf-8",
    )
    return folder


@pytest.fixture(scope="module")
def two_plans(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, object, object]:
    root = tmp_path_factory.mktemp("plans")
    a = make_plan(seed=1, name="方案A")
    b = make_plan(seed=1, name="方案B")
    # B drops 3 sites of A and adds 2 candidates; its first town is better covered
    b.sites = pd.concat([b.sites.iloc[3:], b.candidates.loc[~b.candidates["selected"]]
                         .iloc[:2].drop(columns="selected").assign(
                             rollout_year=2021, marginal_gain=1.0, population_new=1.0,
                             status="proposed")], ignore_index=True)
    b.towns.loc[0, "coverage"] = a.towns.loc[0, "coverage"] + 0.1
    return write_plan_dir(a, root / "a"), write_plan_dir(b, root / "b"), a, b


def test_sites_added_removed_kept_and_deltas(two_plans, tmp_path: Path) -> None:
    pa, pb, a, b = two_plans
    cmp = compare_plans(pa, pb)
    assert cmp.counts() == {"added": 2, "removed": 3, "kept": len(a.sites) - 3}
    assert cmp.name_a == "方案A" and cmp.name_b == "方案B"
    assert cmp.cost_delta == pytest.approx(b.sites["cost"].sum() - a.sites["cost"].sum())
    town = cmp.towns.set_index("town_id").loc["T01"]
    assert town["coverage_delta"] == pytest.approx(0.1)
    assert set(cmp.zones["zone_id"]) == {"Z1", "Z2"}
    assert (cmp.zones["coverage_delta"] == 0).all()


def test_write_comparison_folder(two_plans, tmp_path: Path) -> None:
    pa, pb, *_ = two_plans
    out = write_comparison(compare_plans(pa, pb), tmp_path / "cmp")
    names = sorted(p.name for p in out.iterdir())
    assert names == ["compare_map.html", "sites_diff.csv", "summary.json", "towns_delta.csv",
                     "zones_delta.csv"]
    diff = pd.read_csv(out / "sites_diff.csv", encoding="utf-8-sig")
    assert diff["change"].value_counts().to_dict()["added"] == 2
    html = (out / "compare_map.html").read_text(encoding="utf-8")
    assert "cdn.jsdelivr" not in html and "<img src=x" not in html
    assert json.loads((out / "summary.json").read_text())["sites"]["removed"] == 3


def test_cli_compare(two_plans, tmp_path: Path) -> None:
    pa, pb, *_ = two_plans
    res = CliRunner().invoke(compare, [str(pa), str(pb), "--out", str(tmp_path / "c")])
    assert res.exit_code == 0, res.output
    assert "2 sites added, 3 removed" in res.output
    assert (tmp_path / "c" / "summary.json").is_file()


def _corrupt(folder: Path) -> None:
    (folder / "plan.gpkg").write_bytes(b"not a geopackage")


def _no_coverage(folder: Path) -> None:
    import geopandas as gpd

    towns = gpd.read_file(folder / "plan.gpkg", layer="towns").drop(columns="coverage")
    towns.to_file(folder / "plan.gpkg", layer="towns", driver="GPKG", mode="w")


def _other_crs(folder: Path) -> None:
    import geopandas as gpd

    for layer in ("sites", "towns", "zones", "study_area"):
        gdf = gpd.read_file(folder / "plan.gpkg", layer=layer).to_crs("EPSG:3857")
        gdf.to_file(folder / "plan.gpkg", layer=layer, driver="GPKG", mode="w")


def _other_area(folder: Path) -> None:
    import geopandas as gpd

    area = gpd.read_file(folder / "plan.gpkg", layer="study_area")
    area["geometry"] = area.translate(5000, 0)
    area.to_file(folder / "plan.gpkg", layer="study_area", driver="GPKG", mode="w")


@pytest.mark.parametrize(
    ("spoil", "error", "match"),
    [
        (lambda f: __import__("shutil").rmtree(f), OutputError, "does not exist"),
        (lambda f: (f / "plan.gpkg").unlink(), OutputError, "has no plan.gpkg"),
        (_corrupt, OutputError, "corrupt"),
        (_no_coverage, LayerError, "no coverage data.*coverage"),
        (_other_crs, LayerError, "different CRSs.*EPSG:3857"),
        (_other_area, LayerError, "different study areas"),
    ],
)
def test_bad_input_clear_error_nothing_written(two_plans, tmp_path: Path, spoil, error,
                                               match) -> None:
    pa, _, _, b = two_plans
    pb = write_plan_dir(b, tmp_path / "b")
    spoil(pb)
    with pytest.raises(error, match=match):
        compare_plans(pa, pb)
    res = CliRunner().invoke(compare, [str(pa), str(pb), "--out", str(tmp_path / "out")])
    assert res.exit_code == 1
    assert not (tmp_path / "out").exists()
    assert not list(tmp_path.glob(".out*"))


def test_existing_out_folder_is_refused(two_plans, tmp_path: Path) -> None:
    pa, pb, *_ = two_plans
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("x")
    with pytest.raises(OutputError, match="already exists"):
        write_comparison(compare_plans(pa, pb), tmp_path / "out")
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["keep.txt"]
