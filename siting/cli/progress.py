"""``siting progress`` and ``siting status``: the planner's year."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from siting.progress import apply_status, progress_report, write_progress

plan_dir_argument = click.argument(
    "plan_dir", type=click.Path(exists=True, file_okay=False, path_type=Path)
)


@click.command()
@plan_dir_argument
@click.option(
    "--as-of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Assessment date (default today), YYYY-MM-DD.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write progress.html, progress.png and CSV tables to this folder.",
)
def progress(plan_dir: Path, as_of: dt.datetime | None, out: Path | None) -> None:
    """Report PLAN_DIR's progress against its cumulative targets, per town and unit."""
    report = progress_report(plan_dir, as_of=as_of.date() if as_of else None)
    t = report.totals
    click.echo(
        f"as of {report.as_of}: {t['sites_built']:,} built, {t['sites_pipeline']:,} approved or "
        f"under construction, {t['sites_planned']:,} planned, {t['sites_rejected']:,} rejected"
    )
    click.echo(
        f"population covered by built sites {t['built_coverage']:.1%} "
        f"(whole plan {t['planned_coverage']:.1%})"
    )
    if len(report.targets):
        click.echo(report.targets.to_string(index=False))
    click.echo(report.towns.to_string(index=False))
    if out is not None:
        write_progress(report, out, name=plan_dir.name)
        click.echo(f"progress written to {out.resolve()}")


@click.command()
@plan_dir_argument
@click.argument("returned", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write the updated plan to this new folder.",
)
@click.option("--in-place", is_flag=True, help="Replace PLAN_DIR with the updated plan.")
@click.option(
    "--allow-backwards", is_flag=True, help="Accept statuses that go backwards (built -> proposed)."
)
def status(
    plan_dir: Path, returned: Path, out: Path | None, in_place: bool, allow_backwards: bool
) -> None:
    """Update PLAN_DIR's site statuses from the RETURNED sites.xlsx."""
    plan = apply_status(
        plan_dir, returned, out=out, in_place=in_place, allow_backwards=allow_backwards
    )
    counts = plan.sites["status"].value_counts()
    click.echo(", ".join(f"{k}: {v}" for k, v in counts.items()))
    click.echo(f"updated plan: {(plan_dir if in_place else out).resolve()}")
