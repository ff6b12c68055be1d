"""Tests of the configuration schema and its error messages."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from siting._errors import ConfigError
from siting.config import Config, config_from_dict, load_config
from tests.conftest import small_config


def _write(tmp_path: Path, raw: dict) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_valid_config_resolves_paths(case_config: Path) -> None:
    cfg = load_config(case_config)
    assert cfg.layers.poles is not None
    assert cfg.layers.poles.path.is_absolute()
    assert cfg.layers.poles.path.exists()
    assert cfg.optimize.solver == "cbc"


def test_typo_suggests_closest_key(tmp_path: Path) -> None:
    raw = small_config(tmp_path)
    raw["demand"] = {"cell_sise_m": 100}
    with pytest.raises(
        ConfigError, match=r"demand\.cell_sise_m: unknown key; did you mean 'cell_size_m'"
    ):
        load_config(_write(tmp_path, raw))


def test_top_level_typo(tmp_path: Path) -> None:
    raw = small_config(tmp_path)
    raw["optimise"] = raw.pop("optimize")
    with pytest.raises(ConfigError, match="did you mean 'optimize'"):
        load_config(_write(tmp_path, raw))


def test_unknown_solver_lists_valid_ones(tmp_path: Path) -> None:
    raw = small_config(tmp_path, solver="gurobi")
    with pytest.raises(
        ConfigError, match=r"unknown solver 'gurobi'; valid solvers are \['cbc', 'highs'\]"
    ):
        load_config(_write(tmp_path, raw))


def test_work_limit_lifts_only_the_default_clock_limit(tmp_path: Path) -> None:
    raw = small_config(tmp_path)
    raw["optimize"].pop("time_limit_s")
    assert load_config(_write(tmp_path, raw)).optimize.clock_limit == 60.0
    raw["optimize"]["work_limit"] = 30
    assert load_config(_write(tmp_path, raw)).optimize.clock_limit is None
    raw["optimize"]["time_limit_s"] = 90
    oc = load_config(_write(tmp_path, raw)).optimize
    assert (oc.clock_limit, oc.work_limit) == (90, 30)
    raw["optimize"]["work_limit"] = 0
    with pytest.raises(ConfigError, match=r"work_limit.*greater than 0"):
        load_config(_write(tmp_path, raw))


def test_every_problem_reported_at_once(tmp_path: Path) -> None:
    raw = small_config(tmp_path, solver="gurobi")
    raw["demand"] = {"cell_size_m": -5}
    with pytest.raises(ConfigError, match=r"(?s)cell_size_m.*greater than 0.*unknown solver"):
        load_config(_write(tmp_path, raw))


@pytest.mark.parametrize(
    ("optimize", "message"),
    [
        ({"objective": "max_cover"}, "needs max_sites or budget"),
        ({"objective": "min_cost"}, "needs coverage_target"),
        (
            {"objective": "max_cover", "max_sites": 3, "coverage_target": 1.5},
            "less than or equal to 1",
        ),
    ],
)
def test_objective_needs_its_limits(tmp_path: Path, optimize: dict, message: str) -> None:
    raw = small_config(tmp_path)
    raw["optimize"] = optimize
    with pytest.raises(ConfigError, match=message):
        config_from_dict(raw, base=tmp_path)


def test_geographic_crs_refused(tmp_path: Path) -> None:
    raw = small_config(tmp_path)
    raw["crs"] = "EPSG:4326"
    with pytest.raises(ConfigError, match="not projected"):
        config_from_dict(raw, base=tmp_path)


def test_unknown_site_class(tmp_path: Path) -> None:
    raw = small_config(tmp_path)
    raw["candidates"] = {"allowed_classes": ["small_cell_lamp", "drone"]}
    with pytest.raises(ConfigError, match=r"unknown site class\(es\) \['drone'\]"):
        config_from_dict(raw, base=tmp_path)


def test_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)


def test_defaults_are_documented_classes() -> None:
    cfg = Config.model_validate(
        {"name": "x", "layers": {"study_area": {"path": "a.gpkg"}}, "optimize": {"max_sites": 5}}
    )
    assert set(cfg.candidates.classes) >= {"macro_rooftop", "small_cell_lamp", "colocation"}
    assert cfg.demand.service_levels["icv"].k == 2
