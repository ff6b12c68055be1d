"""End-to-end tests of the pipeline on the small case, and of the plan folder."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from siting._errors import InfeasibleError, OutputError, PlanCheckError
from siting.config import load_config
from siting.outputs import load_plan, write_plan
from siting.plan import _independent_check, make_plan, prepare, solve_plan
from tests.conftest import CRS, X0, Y0, small_config, write_case


@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    cfg = load_config(write_case(tmp_path_factory.mktemp("case")))
    inputs = prepare(cfg)
    return cfg, inputs, make_plan(cfg, inputs=inputs)


def test_plan_meets_its_constraints(solved) -> None:
    cfg, inputs, plan = solved
    assert plan.stats["n_sites"] <= cfg.optimize.max_sites
    assert plan.sites["candidate_id"].is_unique
    # existing sites are kept and come first in the rollout order
    assert plan.sites["existing"].sum() == 3
    assert plan.sites["existing"].iloc[:3].all()
    assert plan.zones["met"].all()
    assert (plan.zones["covered_fraction"] >= plan.zones["min_coverage"]).all()
    assert plan.solve["status"] in {"optimal", "feasible"}
    assert plan.solve["bound"] >= plan.solve["objective"] - 1e-6
    # a plan proven within its gap is repeatable; one stopped by the clock says it may not be
    assert plan.solve["reproducible"] is (plan.solve["stop_reason"] != "time_limit")
    # the stats agree with a recount from the raw matrix
    A = inputs.coverage.A.tocsc()
    cols = inputs.candidates.index[
        inputs.candidates["candidate_id"].isin(plan.sites["candidate_id"])
    ]
    counts = np.asarray(A[:, cols].sum(axis=1)).ravel()
    covered = counts >= plan.demand["k"].to_numpy()
    assert (covered == plan.demand["covered"].to_numpy()).all()
    w = plan.demand["weight"].to_numpy()
    assert plan.solve["objective"] == pytest.approx(w[covered].sum())
    assert plan.stats["coverage"] == pytest.approx(
        plan.demand.loc[covered, "population"].sum() / plan.demand["population"].sum()
    )


def test_marginal_gains_sum_to_objective(solved) -> None:
    _, _, plan = solved
    # with 1/k credit per needed site the gains add up to at least the covered weight
    assert plan.sites["marginal_gain"].sum() >= plan.solve["objective"] - 1e-6
    assert plan.sites["population_new"].sum() == pytest.approx(plan.stats["covered_population"])


def test_town_stats_add_up(solved) -> None:
    _, _, plan = solved
    assert plan.towns["n_sites"].sum() == plan.stats["n_sites"]
    assert plan.towns["cost"].sum() == pytest.approx(plan.stats["cost"])
    assert plan.towns["population"].sum() == pytest.approx(plan.stats["population"])


def test_same_input_same_output(solved) -> None:
    cfg, inputs, plan = solved
    again = make_plan(cfg, inputs=inputs)
    assert again.sites["candidate_id"].tolist() == plan.sites["candidate_id"].tolist()


def test_highs_gives_an_equally_good_plan(solved) -> None:
    cfg, inputs, plan = solved
    cfg2 = cfg.model_copy(update={"optimize": cfg.optimize.model_copy(update={"solver": "highs"})})
    other = make_plan(cfg2, inputs=inputs)
    assert other.solve["objective"] >= plan.solve["objective"] * (1 - 2 * cfg.optimize.mip_gap)


def test_checker_rejects_a_broken_plan(solved) -> None:
    cfg, inputs, _ = solved
    result = solve_plan(inputs, cfg)
    broken = replace(result, selected=np.arange(cfg.optimize.max_sites + 5))
    with pytest.raises(PlanCheckError, match="breaks hard constraints"):
        _independent_check(inputs, cfg, broken)


def test_unreachable_zone_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "case"
    config = write_case(folder)
    far = gpd.GeoDataFrame(
        {
            "zone_id": ["lake"],
            "name": ["湖心岛"],
            "name_en": ["Lake island"],
            "kind": ["park"],
            "service_level": ["key"],
            "min_coverage": [1.0],
        },
        geometry=[shapely.box(X0 + 2700, Y0 + 2700, X0 + 2990, Y0 + 2990)],
        crs=CRS,
    )
    far.to_file(folder / "zones.gpkg", engine="pyogrio")
    raw = small_config(folder)
    raw["layers"]["key_zones"] = {"path": "zones.gpkg"}
    raw["candidates"] = {"allowed_classes": ["small_cell_lamp"], "existing": "ignore"}
    import yaml

    config.write_text(yaml.safe_dump(raw, allow_unicode=True))
    with pytest.raises(InfeasibleError, match=r"Lake island") as info:
        make_plan(load_config(config))
    assert any("lake" in z for z in info.value.zones)


def test_write_and_load_round_trip(solved, tmp_path: Path) -> None:
    _, _, plan = solved
    out = write_plan(plan, tmp_path / "plan", writers=[])
    names = {p.name for p in out.iterdir()}
    assert {
        "plan.gpkg",
        "sites.gpkg",
        "sites.csv",
        "stats_towns.csv",
        "stats_zones.csv",
        "stats_classes.csv",
        "manifest.json",
    } <= names
    man = json.loads((out / "manifest.json").read_text())
    assert man["solve"]["status"] == plan.solve["status"]
    assert set(man["inputs"]) >= {"poles", "buildings"}
    assert all(len(h) == 64 for h in man["inputs"].values())
    assert "cbc" in json.dumps(man["config"])
    assert {"layers", "candidates", "demand", "coverage", "optimize"} <= set(man["timings"])
    csv = pd.read_csv(out / "sites.csv")
    assert csv["candidate_id"].tolist() == plan.sites["candidate_id"].tolist()
    assert csv["lon"].between(121, 122).all() and csv["lat"].between(31, 32).all()
    back = load_plan(out)
    assert back.sites["candidate_id"].tolist() == plan.sites["candidate_id"].tolist()
    assert back.demand["covered"].dtype == bool
    assert back.sites.crs == plan.sites.crs


def test_existing_folder_refused_and_failure_writes_nothing(solved, tmp_path: Path) -> None:
    _, _, plan = solved
    out = tmp_path / "plan"
    write_plan(plan, out, writers=[])
    before = sorted(p.name for p in out.iterdir())
    with pytest.raises(OutputError, match="exists and is not empty"):
        write_plan(plan, out, writers=[])

    def failing(_plan, _folder) -> None:
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_plan(plan, out, overwrite=True, writers=[failing])
    assert sorted(p.name for p in out.iterdir()) == before
    assert [p.name for p in tmp_path.iterdir()] == ["plan"]
    with pytest.raises(OSError, match="disk full"):
        write_plan(plan, tmp_path / "fresh", writers=[failing])
    assert not (tmp_path / "fresh").exists()


@pytest.mark.parametrize("damage", ["missing", "manifest", "gpkg"])
def test_load_plan_bad_folder(solved, tmp_path: Path, damage: str) -> None:
    _, _, plan = solved
    out = write_plan(plan, tmp_path / "plan", writers=[])
    if damage == "missing":
        out = tmp_path / "nowhere"
    elif damage == "manifest":
        (out / "manifest.json").write_text("{not json")
    else:
        (out / "plan.gpkg").write_bytes(b"garbage")
    with pytest.raises(OutputError, match=r"(does not exist|not valid JSON|cannot read layer)"):
        load_plan(out)


def _variant(cfg, **optimize):
    return cfg.model_copy(update={"optimize": cfg.optimize.model_copy(update=optimize)})


def test_min_spacing_between_new_sites(solved) -> None:
    from siting.config import QuotaConfig  # noqa: F401  (documented alongside)

    cfg, inputs, _ = solved
    spacing = {"macro_rooftop": 500.0, "small_cell_lamp": 400.0}
    plan = make_plan(_variant(cfg, min_spacing_m=spacing), inputs=inputs)
    new = plan.sites[~plan.sites["existing"]]
    xy = np.column_stack([new.geometry.x, new.geometry.y])
    need = new["site_class"].map(spacing).fillna(0.0).to_numpy()
    d = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    same = new["site_class"].to_numpy()[:, None] == new["site_class"].to_numpy()[None, :]
    req = np.where(same, need[:, None], 0.0)
    np.fill_diagonal(d, np.inf)
    assert (d >= req).all()


def test_quotas_per_class_and_town(solved) -> None:
    from siting.config import QuotaConfig

    cfg, inputs, _ = solved
    rules = [
        QuotaConfig(by="site_class", value="small_cell_cctv", max=0),
        QuotaConfig(by="town_id", value="west", min=25),
    ]
    plan = make_plan(_variant(cfg, quotas=rules), inputs=inputs)
    assert "small_cell_cctv" not in set(plan.sites["site_class"])
    assert (plan.sites["town_id"] == "west").sum() >= 25


def test_next_year_keeps_committed_and_drops_rejected(solved) -> None:
    cfg, inputs, plan = solved
    prev = plan
    prev.sites = plan.sites.copy()
    new_ids = prev.sites.loc[~prev.sites["existing"], "candidate_id"].tolist()
    built, rejected = new_ids[:5], new_ids[5:8]
    prev.sites.loc[prev.sites["candidate_id"].isin(built), "status"] = "built"
    prev.sites.loc[prev.sites["candidate_id"].isin(rejected), "status"] = "rejected"
    nxt = make_plan(_variant(cfg, max_sites=50, year=2021), inputs=inputs, previous=prev)
    ids = set(nxt.sites["candidate_id"])
    assert set(built) <= ids
    assert not set(rejected) & ids
    kept = nxt.sites[nxt.sites["candidate_id"].isin(built)]
    assert (kept["status"] == "built").all()
    assert (kept["rollout_year"] == 2020).all()
    assert (
        nxt.sites.loc[~nxt.sites["candidate_id"].isin(prev.sites["candidate_id"]), "rollout_year"]
        == 2021
    ).all()


def test_radio_model_plan_writes_rsrp(tmp_path: Path) -> None:
    import rasterio

    folder = tmp_path / "case"
    config = write_case(folder, max_sites=60)
    raw = small_config(folder, max_sites=60)
    raw["coverage"] = {"model": "radio"}
    raw["outputs"] = {"report": False, "spreadsheets": False}
    import yaml

    config.write_text(yaml.safe_dump(raw, allow_unicode=True))
    plan = make_plan(load_config(config))
    assert plan.site_rsrp is not None
    covered = plan.demand["covered"].to_numpy()
    rsrp = plan.demand["best_rsrp_dbm"].to_numpy()
    # every covered cell hears its best server at or above its level's threshold
    assert (rsrp[covered] >= plan.demand["rsrp_min_dbm"].to_numpy()[covered] - 1e-3).all()
    out = write_plan(plan, tmp_path / "plan")
    with rasterio.open(out / "rsrp.tif") as src:
        band = src.read(1)
        assert src.crs.to_epsg() == 32651
    valid = band[band != -9999]
    assert valid.size >= covered.sum() and valid.max() == pytest.approx(np.nanmax(rsrp), abs=0.01)
    assert (out / "map.html").stat().st_size > 0


@pytest.mark.parametrize("phasing", ["auto", "rolling"])
def test_phased_rollout_years(solved, phasing: str) -> None:
    cfg, inputs, _ = solved
    phased = _variant(cfg, rollout="phased", targets={2020: 20, 2021: 40}, max_sites=None,
                      phasing=phasing)
    plan = make_plan(phased, inputs=inputs)
    years = plan.sites["rollout_year"]
    assert set(years) <= {2020, 2021}
    assert (years == 2020).sum() <= 20
    assert len(plan.sites) <= 40
    assert plan.sites["existing"].iloc[:3].all() and (years.iloc[:3] == 2020).all()
    # rollout order: every 2020 site comes before every 2021 site
    assert years.is_monotonic_increasing
    assert plan.zones["met"].all()
    rollout = plan.solve["rollout"]
    assert rollout["method"] == ("joint" if phasing == "auto" else "rolling")
    assert isinstance(rollout["reproducible"], bool)
    assert plan.solve["reproducible"] is rollout["reproducible"]
    assert rollout["bound"] >= rollout["objective"] - 1e-6
    if rollout["method"] == "joint":
        assert "planned jointly" in rollout["message"] and rollout["direction"] == ""
    else:
        assert "planned year by year" in rollout["message"]
        assert rollout["direction"] in ("forward", "backward")
    from siting.report import report_tables

    kpis = report_tables(plan)["kpis"].set_index("Indicator 指标")["Value 数值"]
    assert kpis["Rollout method 分期方法"].startswith(rollout["method"])
    assert kpis["Rollout gap 分期间隙"] == f"{100 * rollout['gap']:.2f} %"


def test_phased_needs_targets(tmp_path: Path) -> None:
    from siting._errors import ConfigError
    from siting.config import config_from_dict

    raw = small_config(tmp_path, rollout="phased", budget=1e7)
    with pytest.raises(ConfigError, match="rollout 'phased' needs targets"):
        config_from_dict(raw, base=tmp_path)
    raw = small_config(tmp_path, rollout="phased", budget=1e7, targets={2020: 10})
    with pytest.raises(ConfigError, match="give yearly_budget instead of budget"):
        config_from_dict(raw, base=tmp_path)


def test_coverage_curve_in_plan_and_report(solved, tmp_path: Path) -> None:
    cfg, inputs, _ = solved
    budgets = [4e6, 6e6, 9e6]
    with_curve = cfg.model_copy(
        update={"outputs": cfg.outputs.model_copy(update={"curve_budgets": budgets})}
    )
    plan = make_plan(_variant(with_curve, max_sites=None, budget=9e6), inputs=inputs)
    curve = plan.curve
    assert curve["limit"].tolist() == budgets
    assert (curve["cost"] <= curve["limit"] + 1e-6).all()
    assert curve["coverage"].is_monotonic_increasing
    assert (curve["bound"] >= curve["coverage"] - 1e-9).all()
    out = write_plan(plan, tmp_path / "plan")
    assert pd.read_csv(out / "curve.csv")["limit"].tolist() == budgets
    assert (out / "report_curve.png").exists()


def test_capacity_limits_residents_served(solved) -> None:
    cfg, inputs, plan = solved
    capacity = {name: 400.0 for name in cfg.candidates.classes}
    capped = make_plan(_variant(cfg, capacity=capacity, time_limit_s=30), inputs=inputs)
    served = capped.stats["served_population"]
    assert served <= 400.0 * capped.stats["n_sites"] + 1e-6
    assert served <= capped.stats["covered_population"] + 1e-6
    assert served < plan.stats["covered_population"]
    assert capped.solve["status"] in {"optimal", "feasible"}
