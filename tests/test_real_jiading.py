"""Integration test: plan Jiading from the real reference data (data/jiading_real.yaml)."""

from __future__ import annotations

import runpy
from pathlib import Path

import pandas as pd
import pytest
import yaml

from siting.config import config_from_dict
from siting.outputs import write_plan
from siting.plan import make_plan
from tests.conftest import REPO

CONFIG = REPO / "data" / "jiading_real.yaml"
CENSUS_JIADING = 1_834_258


@pytest.fixture(scope="module")
def real_plan(tmp_path_factory: pytest.TempPathFactory):
    shared = Path(__file__).resolve().parents[2] / "shared" / "data"
    if not shared.is_dir():
        pytest.skip(f"shared data folder {shared} not present")
    out = tmp_path_factory.mktemp("jiading-real")
    build = runpy.run_path(str(REPO / "scripts" / "build_real_layers.py"))["build"]
    generated = build(out / "inputs", shared=shared)
    raw = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    for name in ("parcels", "key_zones"):
        raw["layers"][name]["path"] = str(generated)
    cfg = config_from_dict(raw, base=CONFIG.parent, source=str(CONFIG))
    with pytest.warns(UserWarning, match="outside the study area"):
        plan = make_plan(cfg)
    write_plan(plan, out / "plan")
    return plan, out / "plan"


def test_real_population_near_census(real_plan) -> None:
    plan, _ = real_plan
    assert plan.stats["population"] == pytest.approx(CENSUS_JIADING, rel=0.05)


def test_real_existing_sites_and_signals(real_plan) -> None:
    plan, _ = real_plan
    cand = plan.candidates
    existing = cand[cand["existing"]]
    assert len(existing) == 154  # telecom sites inside the district; 2,888 dropped
    assert existing["fixed"].all()
    signals = cand[cand["kind"] == "traffic_signal"]
    assert 250 <= len(signals) <= 320  # the OSM signals that fall inside the district
    assert plan.stats["n_existing_sites"] == 154


def test_real_towns_attribute_cells_and_sites(real_plan) -> None:
    plan, folder = real_plan
    cells = plan.demand
    assert (cells["town_id"] != "").mean() > 0.99
    assert (plan.sites["town_id"] != "").mean() > 0.99
    towns = plan.towns.set_index("name")
    assert {"安亭镇", "江桥镇", "南翔镇", "嘉定工业区"} <= set(towns.index)
    assert towns["n_sites"].sum() == pytest.approx((plan.sites["town_id"] != "").sum())
    assert towns.loc["安亭镇", "population"] > 200_000
    written = list(folder.glob("*town*.csv"))
    assert written, sorted(p.name for p in folder.iterdir())
    assert len(pd.read_csv(written[0])) >= 12


def test_real_key_zones_met(real_plan) -> None:
    plan, _ = real_plan
    zones = plan.zones.set_index("zone_id")
    assert {"tongji_jiading", "f1_circuit", "guyi_garden", "icv_test_base"} <= set(zones.index)
    assert zones["met"].all()
    assert plan.solve["status"] in ("optimal", "feasible")
