"""Options shared by several subcommands."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from siting.config import SOLVERS

config_argument = click.argument(
    "config", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
out_option = click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Plan folder to write.",
)
overwrite_option = click.option(
    "--overwrite", is_flag=True, help="Replace the output folder if it exists."
)


def solver_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add --solver, --time-limit and --work-limit, overriding the config."""
    func = click.option(
        "--solver",
        type=click.Choice(SOLVERS, case_sensitive=False),
        default=None,
        help="Solver (overrides optimize.solver).",
    )(func)
    func = click.option(
        "--work-limit",
        type=click.FloatRange(min=0, min_open=True),
        default=None,
        help="Work units for the optimisation instead of the time limit's seconds: the "
        "same plan on any machine (overrides optimize.work_limit).",
    )(func)
    return click.option(
        "--time-limit",
        type=click.FloatRange(min=0, min_open=True),
        default=None,
        help="Solver time limit in seconds (overrides optimize.time_limit_s).",
    )(func)
