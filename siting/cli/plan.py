"""``siting plan CONFIG --out DIR``: run the pipeline and write the plan."""

from __future__ import annotations

from pathlib import Path

import click

from siting._errors import ConfigError, OutputError
from siting.cli._options import config_argument, out_option, overwrite_option, solver_options
from siting.config import Config, load_config, scenario_configs
from siting.outputs import load_plan, write_plan
from siting.plan import Plan, make_plan
from siting.scenarios import comparison_table, run_scenarios


def apply_overrides(
    cfg: Config, *, solver: str | None, time_limit: float | None, work_limit: float | None = None
) -> Config:
    """Return the config with command-line overrides applied.

    ``--work-limit`` without ``--time-limit`` replaces the config's ``time_limit_s``
    (the run is then limited by its work alone and repeats on any machine); with both,
    the time limit stays as a safety net, as in a config that sets both.
    """
    update: dict[str, object] = {}
    if solver:
        update["solver"] = solver.lower()
    if time_limit:
        update["time_limit_s"] = time_limit
    if work_limit:
        update["work_limit"] = work_limit
    if not update:
        return cfg
    opt = cfg.optimize
    if work_limit and not time_limit:  # as if time_limit_s had been left at its default
        kept = {name: getattr(opt, name) for name in opt.model_fields_set - {"time_limit_s"}}
        opt = type(opt).model_construct(_fields_set=set(kept), **kept)
    return cfg.model_copy(update={"optimize": opt.model_copy(update=update)})


def run_and_write(cfg: Config, out: Path, *, overwrite: bool, previous: Path | None = None) -> Plan:
    """Plan, write the folder and print a summary."""
    plan = make_plan(cfg, previous=load_plan(previous) if previous else None)
    write_plan(plan, out, overwrite=overwrite)
    echo_summary(plan, out)
    return plan


def echo_summary(plan: Plan, out: Path) -> None:
    """Print the headline figures of a written plan."""
    s, v = plan.stats, plan.solve
    click.echo(
        f"{plan.name}: {s['n_sites']} sites ({s['n_new_sites']} new), cost {s['cost']:,.0f} CNY, "
        f"population coverage {s['coverage']:.1%}, weighted coverage {s['weighted_coverage']:.1%}"
    )
    click.echo(
        f"solver {v['solver'] or 'not needed (heuristic plan meets the bound)'}: "
        f"status {v['status']} ({v['stop_reason']}), objective "
        f"{v['objective']:,.1f}, bound {v['bound']:,.1f} ({v['bound_source']}), gap {v['gap']:.3%}"
    )
    if v.get("reproducible") is False:
        worked = (plan.config.get("optimize") or {}).get("work_limit") is not None
        fix = ("a clock limit came before the work limit: leave out --time-limit"
               if worked else "--work-limit gives the same plan on any machine")
        click.echo(f"stopped by the wall clock: a repeated run may give another plan ({fix})")
    zones = plan.zones
    if len(zones):
        click.echo(f"key zones met: {int(zones['met'].sum())} of {len(zones)}")
    map_path = out / "map.html"
    if map_path.exists():
        click.echo(f"map: {map_path.resolve()}")
    click.echo(f"plan folder: {out.resolve()}")


@click.command()
@config_argument
@out_option
@overwrite_option
@solver_options
@click.option("--scenario", default=None, help="Plan this scenario of CONFIG.")
@click.option(
    "--from-plan",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Last year's plan: its approved, under-construction and built sites are kept, "
    "its rejected sites excluded.",
)
@click.option(
    "--all-scenarios",
    is_flag=True,
    help="Plan the base and every scenario into --out/NAME/ and write scenarios.csv.",
)
def plan(
    config: Path,
    out: Path,
    overwrite: bool,
    solver: str | None,
    time_limit: float | None,
    work_limit: float | None,
    scenario: str | None,
    from_plan: Path | None,
    all_scenarios: bool,
) -> None:
    """Plan the sites of CONFIG and write the plan folder to --out."""
    if scenario and all_scenarios:
        raise click.UsageError("give either --scenario or --all-scenarios, not both")
    if not all_scenarios:
        cfg = load_config(config, scenario=scenario)
        run_and_write(
            apply_overrides(cfg, solver=solver, time_limit=time_limit, work_limit=work_limit),
            out,
            overwrite=overwrite,
            previous=from_plan,
        )
        return
    configs = {
        name: apply_overrides(cfg, solver=solver, time_limit=time_limit, work_limit=work_limit)
        for name, cfg in scenario_configs(config).items()
    }
    if len(configs) == 1:
        raise ConfigError(f"{config} defines no scenarios; add a `scenarios:` section")
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise OutputError(f"output folder {out} exists and is not empty; pass --overwrite")
    plans = run_scenarios(configs)
    for name, p in plans.items():
        write_plan(p, out / name, overwrite=overwrite)
        echo_summary(p, out / name)
    table = comparison_table(plans)
    table.to_csv(out / "scenarios.csv", index=False)
    click.echo(table.to_string(index=False))
