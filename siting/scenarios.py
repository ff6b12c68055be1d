"""Scenarios: named variants of a configuration, planned and compared.

A configuration file may hold ``scenarios:``, each a few settings merged into the
base settings (see :func:`siting.config.scenario_config`). Running several of
them reuses the layers, candidates, demand grid and coverage matrix whenever
only optimisation or output settings differ.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd

from siting.config import Config, scenario_configs
from siting.plan import Plan, PlanInputs, make_plan, prepare

__all__ = ["comparison_table", "inputs_key", "run_scenarios"]

log = logging.getLogger(__name__)

#: Settings that do not change the coverage matrix.
_OPTIMISATION_ONLY = {"name", "optimize", "outputs", "scenario", "scenarios"}


def inputs_key(cfg: Config) -> str:
    """A key equal for configurations that share their coverage matrix."""
    return json.dumps(cfg.model_dump(mode="json", exclude=_OPTIMISATION_ONLY), sort_keys=True)


def run_scenarios(
    configs: dict[str, Config] | str | Path, *, names: list[str] | None = None
) -> dict[str, Plan]:
    """Plan several scenarios, building each distinct coverage matrix once.

    Parameters
    ----------
    configs
        Scenario name -> configuration, or a configuration file (its base and
        every scenario).
    names
        The scenarios to run, in order; ``None`` runs all.

    Returns
    -------
    dict
        Scenario name -> plan.
    """
    if not isinstance(configs, dict):
        configs = scenario_configs(configs)
    cache: dict[str, PlanInputs] = {}
    plans: dict[str, Plan] = {}
    for name in names or list(configs):
        cfg = configs[name]
        key = inputs_key(cfg)
        if key in cache:
            log.info("scenario %s reuses the coverage matrix", name)
        else:
            cache[key] = prepare(cfg)
        inputs = cache[key]
        inputs.timings = {k: v for k, v in inputs.timings.items() if k not in _SOLVE_STAGES}
        plans[name] = make_plan(cfg, inputs=inputs)
    return plans


_SOLVE_STAGES = ("optimize", "check", "statistics")


def comparison_table(plans: dict[str, Plan]) -> pd.DataFrame:
    """Headline figures of several plans side by side.

    Parameters
    ----------
    plans
        Scenario name -> plan.

    Returns
    -------
    pandas.DataFrame
        One row per scenario: sites, new sites, cost, population and weighted
        coverage, key zones met, solver status, bound and gap.
    """
    rows = []
    for name, plan in plans.items():
        s, v = plan.stats, plan.solve
        rows.append(
            {
                "scenario": name,
                "sites": s["n_sites"],
                "new_sites": s["n_new_sites"],
                "cost": s["cost"],
                "population_coverage": s["coverage"],
                "weighted_coverage": s["weighted_coverage"],
                "area_coverage": s["area_coverage"],
                "zones_met": int(plan.zones["met"].sum()) if len(plan.zones) else 0,
                "zones": len(plan.zones),
                "status": v["status"],
                "objective": v["objective"],
                "bound": v["bound"],
                "gap": v["gap"],
            }
        )
    return pd.DataFrame(rows)
