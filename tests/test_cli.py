"""Tests of the command line: exit codes 0 ok, 1 bad input/infeasible, 2 usage."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from click.testing import CliRunner

from siting.cli import main
from siting.cli.plan import apply_overrides, echo_summary
from siting.config import load_config
from siting.outputs import load_plan
from tests.conftest import small_config


def _run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_validate_ok(case_config: Path) -> None:
    res = _run("validate", str(case_config))
    assert res.exit_code == 0, res.output
    assert "configuration and layers are valid" in res.output
    assert "poles" in res.output and "220" in res.output


def test_validate_reports_problems(case_config: Path) -> None:
    raw = small_config(case_config.parent)
    raw["layers"]["poles"]["layer"] = "towns"  # polygons where points are expected
    raw["layers"]["buildings"]["layer"] = "nope"
    case_config.write_text(yaml.safe_dump(raw, allow_unicode=True))
    res = _run("validate", str(case_config))
    assert res.exit_code == 1
    assert "layer 'poles' must hold Point geometries" in res.output
    assert "layer 'buildings': cannot read" in res.output


def test_config_typo_exit_1(case_config: Path) -> None:
    raw = small_config(case_config.parent)
    raw["optimize"]["max_site"] = 3
    case_config.write_text(yaml.safe_dump(raw, allow_unicode=True))
    res = _run("plan", str(case_config), "--out", str(case_config.parent / "out"))
    assert res.exit_code == 1
    assert "did you mean 'max_sites'" in res.output
    assert not (case_config.parent / "out").exists()


def test_plan_writes_folder_and_refuses_to_overwrite(case_config: Path) -> None:
    out = case_config.parent / "plan"
    res = _run("plan", str(case_config), "--out", str(out), "--time-limit", "10")
    assert res.exit_code == 0, res.output
    assert "status" in res.output and "plan folder:" in res.output
    assert (out / "sites.csv").exists() and (out / "map.html").exists()
    res = _run("plan", str(case_config), "--out", str(out))
    assert res.exit_code == 1
    assert "exists and is not empty" in res.output
    res = _run("plan", str(case_config), "--out", str(out), "--overwrite", "--solver", "highs")
    assert res.exit_code == 0, res.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["optimize"]["solver"] == "highs"


def test_plan_work_limit_gives_the_same_plan(case_config: Path, capsys) -> None:
    sites = []
    for name in ("a", "b"):
        out = case_config.parent / name
        res = _run("plan", str(case_config), "--out", str(out), "--work-limit", "5")
        assert res.exit_code == 0, res.output
        manifest = json.loads((out / "manifest.json").read_text())
        assert manifest["config"]["optimize"]["work_limit"] == 5
        # the case's time_limit_s no longer applies, and the manifest says so
        assert (manifest["solve"]["time_limit_s"], manifest["solve"]["work_limit"]) == (None, 5)
        assert manifest["solve"]["reproducible"] is True
        sites.append((out / "sites.csv").read_text())
        assert "wall clock" not in res.output
    assert sites[0] == sites[1]
    plan = load_plan(out)
    plan.solve["reproducible"] = False  # as after a run the deadline stopped
    echo_summary(plan, out)
    assert "a clock limit came before the work limit" in capsys.readouterr().out
    plan.config["optimize"]["work_limit"] = None  # as after a run limited by seconds only
    echo_summary(plan, out)
    assert "--work-limit gives the same plan on any machine" in capsys.readouterr().out
    assert _run("plan", str(case_config), "--out", "x", "--work-limit", "0").exit_code == 2


def test_work_limit_on_the_command_line_replaces_the_configured_time_limit(
        case_config: Path) -> None:
    cfg = load_config(case_config)
    assert cfg.optimize.clock_limit == 20  # the case sets time_limit_s
    worked = apply_overrides(cfg, solver=None, time_limit=None, work_limit=5)
    assert (worked.optimize.clock_limit, worked.optimize.work_limit) == (None, 5)
    assert worked.optimize.max_sites == cfg.optimize.max_sites  # the rest is kept
    both = apply_overrides(cfg, solver="highs", time_limit=30, work_limit=5)
    assert (both.optimize.clock_limit, both.optimize.work_limit) == (30, 5)
    assert both.optimize.solver == "highs"
    assert apply_overrides(cfg, solver=None, time_limit=None).optimize.clock_limit == 20


def test_usage_errors_exit_2(case_config: Path) -> None:
    assert _run("plan", str(case_config)).exit_code == 2  # --out missing
    res = _run("plan", str(case_config), "--out", "x", "--solver", "gurobi")
    assert res.exit_code == 2
    assert "'cbc', 'highs'" in res.output
    assert _run("plan", "does-not-exist.yaml", "--out", "x").exit_code == 2


def test_infeasible_exit_1_names_zone(case_config: Path) -> None:
    raw = small_config(case_config.parent, max_sites=4)
    case_config.write_text(yaml.safe_dump(raw, allow_unicode=True))
    res = _run("plan", str(case_config), "--out", str(case_config.parent / "out"))
    assert res.exit_code == 1
    assert "Error:" in res.output
    assert "Core" in res.output or "Test road" in res.output or "max_sites" in res.output
    assert not (case_config.parent / "out").exists()
