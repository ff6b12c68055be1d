"""``siting compare PLAN_A PLAN_B --out DIR``: what changed between two plans."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from siting._errors import SitingError

__all__ = ["compare"]

logger = logging.getLogger(__name__)


@click.command("compare")
@click.argument("plan_a", type=click.Path(path_type=Path))
@click.argument("plan_b", type=click.Path(path_type=Path))
@click.option("--out", "out", required=True, type=click.Path(path_type=Path),
              help="Folder to create for the comparison (must not exist or be empty).")
def compare(plan_a: Path, plan_b: Path, out: Path) -> None:
    """Compare plan folder PLAN_B against PLAN_A.

    Writes sites_diff.csv (sites added / removed / kept), towns_delta.csv and
    zones_delta.csv (coverage delta), summary.json (cost delta) and compare_map.html (both
    plans on one map) into --out. Nothing is written when an input is bad.
    """
    from siting.compare import compare_plans, write_comparison

    try:
        cmp = compare_plans(plan_a, plan_b)
        folder = write_comparison(cmp, out)
    except SitingError as exc:
        raise click.ClickException(str(exc)) from exc
    counts = cmp.counts()
    click.echo(
        f"{cmp.name_b} vs {cmp.name_a}: {counts['added']:,} sites added, "
        f"{counts['removed']:,} removed, {counts['kept']:,} kept; "
        f"cost {cmp.cost_delta:+,.0f} CNY"
    )
    click.echo(f"comparison written to {folder}")
