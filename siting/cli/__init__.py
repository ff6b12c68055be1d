"""The ``siting`` command line: one module per subcommand.

Exit codes: 0 success, 1 bad input or infeasible plan, 2 usage error.
"""

from __future__ import annotations

import logging
from typing import Any

import click

from siting._errors import SitingError
from siting.cli.compare import compare
from siting.cli.coords import coords
from siting.cli.demo import demo
from siting.cli.import_osm import import_osm
from siting.cli.plan import plan
from siting.cli.progress import progress, status
from siting.cli.radio import radio
from siting.cli.validate import validate

__all__ = ["main"]


class _Group(click.Group):
    """A click group that turns SitingError into a message and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SitingError as exc:
            click.secho(f"Error: {exc}", err=True, fg="red")
            ctx.exit(1)


def _setup_logging(verbosity: int) -> None:
    """Send library logs to the terminal (the CLI alone configures logging)."""
    from rich.logging import RichHandler

    level = {0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    handler = RichHandler(show_path=False, markup=False, log_time_format="[%X]")
    root = logging.getLogger("siting")
    root.handlers[:] = [handler]
    root.setLevel(level)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More messages (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors.")
@click.version_option(package_name="siting")
def main(verbose: int, quiet: bool) -> None:
    """Plan 5G base-station sites for a city district."""
    _setup_logging(-1 if quiet else verbose + 1)


for _command in (plan, validate, demo, radio, compare, progress, status, import_osm, coords):
    main.add_command(_command)
