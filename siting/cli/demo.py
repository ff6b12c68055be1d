"""``siting demo [--out DIR]``: plan the embedded Jiading demo."""

from __future__ import annotations

from pathlib import Path

import click

from siting.cli._options import solver_options
from siting.cli.plan import apply_overrides, run_and_write
from siting.config import load_config
from siting.demo import demo_config_path


@click.command()
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("out/jiading-demo"),
    show_default=True,
    help="Plan folder to write (replaced if it exists).",
)
@solver_options
def demo(
    out: Path, solver: str | None, time_limit: float | None, work_limit: float | None
) -> None:
    """Run the annual siting plan of the embedded Jiading demo."""
    cfg = apply_overrides(
        load_config(demo_config_path()), solver=solver, time_limit=time_limit, work_limit=work_limit
    )
    run_and_write(cfg, out, overwrite=True)
