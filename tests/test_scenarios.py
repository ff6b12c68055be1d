"""Tests of scenarios: overrides, validation, reuse of the coverage matrix."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from siting._errors import ConfigError
from siting.cli import main
from siting.config import load_config, scenario_configs
from siting.scenarios import comparison_table, inputs_key, run_scenarios
from tests.conftest import small_config


def _with_scenarios(config: Path, scenarios: dict) -> Path:
    raw = small_config(config.parent)
    raw["scenarios"] = scenarios
    config.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False))
    return config


SCENARIOS = {
    "small_budget": {"optimize": {"max_sites": 25}},
    "no_cctv": {
        "candidates": {
            "allowed_classes": [
                "macro_rooftop",
                "small_cell_lamp",
                "small_cell_signal",
                "small_cell_utility",
                "small_cell_smart_pole",
            ]
        }
    },
}


def test_overrides_merge_into_base(case_config: Path) -> None:
    config = _with_scenarios(case_config, SCENARIOS)
    cfgs = scenario_configs(config)
    assert list(cfgs) == ["base", "small_budget", "no_cctv"]
    assert cfgs["small_budget"].optimize.max_sites == 25
    assert cfgs["small_budget"].optimize.solver == "cbc"  # untouched settings stay
    assert cfgs["small_budget"].scenario == "small_budget"
    # only optimisation settings differ: same coverage matrix
    assert inputs_key(cfgs["base"]) == inputs_key(cfgs["small_budget"])
    assert inputs_key(cfgs["base"]) != inputs_key(cfgs["no_cctv"])


def test_unknown_setting_in_scenario(case_config: Path) -> None:
    config = _with_scenarios(case_config, {"bad": {"optimize": {"max_sitez": 3}}})
    with pytest.raises(ConfigError, match=r"(?s)scenario 'bad'.*did you mean 'max_sites'"):
        load_config(config)


def test_unknown_layer_in_scenario(case_config: Path) -> None:
    config = _with_scenarios(case_config, {"bad": {"layers": {"lamps": {"path": "x.gpkg"}}}})
    with pytest.raises(ConfigError, match=r"layers\.lamps: unknown key"):
        load_config(config)


def test_unknown_scenario_name(case_config: Path) -> None:
    config = _with_scenarios(case_config, SCENARIOS)
    with pytest.raises(
        ConfigError, match=r"no scenario 'small_budgt'; did you mean 'small_budget'"
    ):
        load_config(config, scenario="small_budgt")


def test_run_scenarios_reuses_inputs(case_config: Path) -> None:
    config = _with_scenarios(case_config, SCENARIOS)
    plans = run_scenarios(config)
    assert list(plans) == ["base", "small_budget", "no_cctv"]
    assert plans["small_budget"].stats["n_sites"] <= 25
    assert "small_cell_cctv" not in set(plans["no_cctv"].sites["site_class"])
    # a smaller budget never covers more
    assert plans["small_budget"].solve["objective"] <= plans["base"].solve["bound"] + 1e-6
    table = comparison_table(plans)
    assert table["scenario"].tolist() == ["base", "small_budget", "no_cctv"]


def test_cli_all_scenarios(case_config: Path) -> None:
    config = _with_scenarios(case_config, {"small_budget": SCENARIOS["small_budget"]})
    out = case_config.parent / "runs"
    res = CliRunner().invoke(main, ["plan", str(config), "--out", str(out), "--all-scenarios"])
    assert res.exit_code == 0, res.output
    assert (out / "base" / "sites.csv").exists() and (out / "small_budget" / "map.html").exists()
    table = pd.read_csv(out / "scenarios.csv")
    assert table["scenario"].tolist() == ["base", "small_budget"]
    res = CliRunner().invoke(main, ["plan", str(config), "--out", str(out), "--scenario", "nope"])
    assert res.exit_code == 1 and "no scenario 'nope'" in res.output
