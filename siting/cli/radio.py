"""``siting radio``: link-budget tables and one-off 3GPP TR 38.901 path losses."""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np

from siting._errors import ConfigError
from siting.radio.linkbudget import ENVIRONMENTS, LinkBudget, RadioConfig, link_budget, max_range_m
from siting.radio.pathloss import SCENARIOS, path_loss_db

__all__ = ["radio"]

#: Calibrated base-station height of each scenario in Table 7.4.1-1 (metres).
_DEFAULT_HBS = {"uma": 25.0, "umi": 10.0, "rma": 35.0}
_FLAG_OF = {"fc_ghz": "--fc", "h_bs_m": "--hbs", "h_ut_m": "--hut", "d2d_m": "--d"}


def _single_case(
    fc: float, d: float, hbs: float | None, hut: float, scenario: str, los: bool | None
) -> None:
    """Print the path loss of one case (both states when ``los`` is None)."""
    h_bs = _DEFAULT_HBS[scenario] if hbs is None else hbs
    states = [True, False] if los is None else [los]
    for state in states:
        try:
            pl = path_loss_db(scenario, d, fc_ghz=fc, h_bs_m=h_bs, h_ut_m=hut, los=state)
        except ConfigError as exc:
            flag = next((f for k, f in _FLAG_OF.items() if str(exc).startswith(k)), None)
            raise click.BadParameter(str(exc), param_hint=flag) from None
        label = "" if los is not None else ("LOS  " if state else "NLOS ")
        click.echo(f"{label}{float(pl):.2f} dB")


def _load(config: Path | None) -> tuple[RadioConfig, dict[str, float]]:
    """Radio settings and service-level thresholds, from a run config or the defaults."""
    from siting.config import DemandConfig, load_config

    if config is None:
        levels = DemandConfig().service_levels
        return RadioConfig(), {k: v.rsrp_min_dbm for k, v in levels.items()}
    cfg = load_config(config)
    levels = cfg.demand.service_levels
    radio_cfg = RadioConfig.model_validate(cfg.coverage.radio)
    return radio_cfg, {k: v.rsrp_min_dbm for k, v in levels.items()}


def _budgets(
    cfg: RadioConfig, classes: tuple[str, ...], bands: tuple[str, ...]
) -> list[LinkBudget]:
    """Every (class, band) pair that has a link budget, in config order."""
    out = []
    for cls in classes or tuple(cfg.classes):
        if cls not in cfg.classes:
            raise click.BadParameter(
                f"unknown class {cls!r}; choose from {sorted(cfg.classes)}", param_hint="--class"
            )
        for band in bands or cfg.classes[cls].bands:
            if band not in cfg.bands:
                raise click.BadParameter(
                    f"unknown band {band!r}; choose from {sorted(cfg.bands)}", param_hint="--band"
                )
            if band in cfg.classes[cls].bands:
                out.append(link_budget(cfg, cls, band))
    return out


def _table(
    cfg: RadioConfig,
    budgets: list[LinkBudget],
    *,
    env: str,
    distances: list[float],
    levels: dict[str, float],
) -> None:
    """Print the link-budget table."""
    click.echo(
        f"Link budget per class and band ({env}; RSRP per resource element; "
        f"edge probability {cfg.cell_edge_probability:g}; O2I {cfg.o2i_model} loss)"
    )
    click.echo(
        f"{'class':22s} {'band':4s} {'scen':4s} {'h_m':>5s} {'P_RE':>6s} {'gain':>6s} {'N_RE':>7s}"
    )
    for b in budgets:
        scen = b.params.scenarios[env]
        click.echo(
            f"{b.site_class:22s} {b.band:4s} {scen:4s} {b.params.height_m:5.1f} "
            f"{b.power_per_re_dbm:6.1f} {b.gain_db:6.1f} {b.noise_per_re_dbm:7.1f}"
        )
    click.echo("")
    pl_head = " ".join(f"{f'PL@{d:g}m':>9s}" for d in distances)
    rng_head = " ".join(f"{f'{k}/out':>10s} {f'{k}/in':>9s}" for k in levels)
    click.echo(f"{'class':22s} {'band':4s} {'state':5s} {pl_head} | max range (m): {rng_head}")
    d_arr = np.asarray(distances, dtype="float64")
    for b in budgets:
        scen = b.params.scenarios[env]
        limit = min(d_arr.max(), 5000.0)
        for los in (True, False):
            pl = path_loss_db(
                scen,
                np.minimum(d_arr, limit),
                fc_ghz=b.fc_ghz,
                h_bs_m=b.params.height_m,
                h_ut_m=b.params.ue_height_m,
                los=los,
                building_height_m=cfg.rma_building_height_m,
                street_width_m=cfg.rma_street_width_m,
            )
            ranges = []
            for thr in levels.values():
                for indoor in (False, True):
                    r = max_range_m(
                        cfg,
                        b,
                        scen,
                        h_bs_m=b.params.height_m,
                        threshold_dbm=thr,
                        los=los,
                        indoor=indoor,
                    )
                    ranges.append(float(r[0]))
            pl_txt = " ".join(f"{v:9.1f}" for v in np.atleast_1d(pl))
            rng_txt = " ".join(
                f"{ranges[2 * i]:10.0f} {ranges[2 * i + 1]:9.0f}" for i in range(len(levels))
            )
            state = "LOS" if los else "NLOS"
            click.echo(
                f"{b.site_class:22s} {b.band:4s} {state:5s} {pl_txt} |                {rng_txt}"
            )


def _distances(value: str) -> list[float]:
    try:
        out = [float(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a comma-separated list of metres, e.g. 100,200,500",
            param_hint="--distances",
        ) from None
    if not out or min(out) <= 0:
        raise click.BadParameter(
            "give positive distances, e.g. 100,200,500", param_hint="--distances"
        )
    return out


@click.command()
@click.option(
    "--config",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Run config whose coverage.radio and service levels to use.",
)
@click.option("--class", "classes", multiple=True, help="Site class(es) to show (default: all).")
@click.option("--band", "bands", multiple=True, help="Band(s) to show (default: all of a class).")
@click.option(
    "--env",
    type=click.Choice(ENVIRONMENTS),
    default="urban",
    show_default=True,
    help="Environment that picks each class's scenario.",
)
@click.option(
    "--distances",
    default="50,100,200,500,1000",
    show_default=True,
    help="Distances (m) of the path-loss columns.",
)
@click.option("--fc", type=float, default=None, help="One case: carrier frequency (GHz).")
@click.option("--d", "d", type=float, default=None, help="One case: 2D distance (m).")
@click.option(
    "--hbs",
    type=float,
    default=None,
    help="One case: base-station height (m; default 25 UMa, 10 UMi, 35 RMa).",
)
@click.option("--hut", type=float, default=1.5, show_default=True, help="One case: UE height (m).")
@click.option(
    "--scenario",
    type=click.Choice(SCENARIOS, case_sensitive=False),
    default=None,
    help="One case: 38.901 scenario.",
)
@click.option("--los/--nlos", "los", default=None, help="One case: LOS state (default: both).")
def radio(
    config: Path | None,
    classes: tuple[str, ...],
    bands: tuple[str, ...],
    env: str,
    distances: str,
    fc: float | None,
    d: float | None,
    hbs: float | None,
    hut: float,
    scenario: str | None,
    los: bool | None,
) -> None:
    """Print the link budget per class and band, or one path loss.

    Without --fc/--d: for each site class and band, the budget, the 38.901 path
    loss at --distances and the maximum range at each service level (outdoor and
    indoor user), LOS and NLOS.

    With --fc, --d and --scenario: the path loss in dB of that one case, e.g.
    `siting radio --fc 3.5 --d 200 --hbs 25 --hut 1.5 --scenario uma --los`.
    """
    if fc is not None or d is not None or scenario is not None:
        missing = [f for f, v in (("--fc", fc), ("--d", d), ("--scenario", scenario)) if v is None]
        if missing:
            raise click.UsageError(f"one path-loss case needs {', '.join(missing)} as well")
        assert fc is not None and d is not None and scenario is not None
        _single_case(fc, d, hbs, hut, scenario.lower(), los)
        return
    cfg, levels = _load(config)
    _table(
        cfg, _budgets(cfg, classes, bands), env=env, distances=_distances(distances), levels=levels
    )
