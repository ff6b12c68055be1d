"""The planner's year: site statuses, the returned spreadsheet, and progress reports.

Every site of a plan carries a status: ``proposed`` -> ``approved`` ->
``under_construction`` -> ``built``, or ``rejected``. Operators return the plan's
``sites.xlsx`` with the status column updated; :func:`apply_status` reads it back
(keeping the IDs), refuses IDs that are not in the plan and statuses that go
backwards, and writes the updated plan. :func:`progress_report` assesses a plan
against its cumulative yearly targets per town and per responsible unit, with
the coverage actually reached by the built sites.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from siting._errors import LayerError, OutputError
from siting.outputs import load_plan, write_plan
from siting.plan import Plan

__all__ = [
    "STATUSES",
    "ProgressReport",
    "apply_status",
    "progress_report",
    "read_returned_sheet",
    "write_progress",
]

log = logging.getLogger(__name__)

STATUSES: tuple[str, ...] = ("proposed", "approved", "under_construction", "built", "rejected")

#: Status changes that are allowed (anything else goes backwards).
_FORWARD: dict[str, set[str]] = {
    "proposed": set(STATUSES),
    "approved": {"approved", "under_construction", "built", "rejected"},
    "under_construction": {"under_construction", "built", "rejected"},
    "built": {"built"},
    "rejected": {"rejected"},
}

#: Spellings operators use, mapped to a status.
def _allowed(old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """Whether each status change ``old -> new`` is allowed (vectorised)."""
    code = {name: i for i, name in enumerate(STATUSES)}
    table = np.array([[b in _FORWARD[a] for b in STATUSES] for a in STATUSES])
    o = pd.Series(old).map(code).fillna(0).to_numpy(dtype=int)
    n = pd.Series(new).map(code).fillna(0).to_numpy(dtype=int)
    return table[o, n]


_ALIASES: dict[str, str] = {
    "规划": "proposed",
    "拟建": "proposed",
    "批准": "approved",
    "已批准": "approved",
    "在建": "under_construction",
    "建设中": "under_construction",
    "under construction": "under_construction",
    "已建": "built",
    "已建成": "built",
    "建成": "built",
    "否决": "rejected",
    "不可用": "rejected",
}

_ID_HEADERS = ("candidate_id", "site id", "站点编号")
_STATUS_HEADERS = ("status", "状态")
_DATE_HEADERS = ("status_date", "status date", "状态日期")


def _find_column(columns: pd.Index, names: tuple[str, ...]) -> str | None:
    """The first column whose lower-cased name contains one of ``names``."""
    for col in columns:
        low = str(col).strip().lower()
        if any(n in low for n in names):
            return str(col)
    return None


def _normalise_status(values: pd.Series) -> pd.Series:
    """Map status spellings to :data:`STATUSES` (unknown ones kept as given)."""
    text = values.astype(str).str.strip()
    low = text.str.lower().str.replace("-", "_")
    return low.replace(_ALIASES).str.replace(" ", "_", regex=False)


def read_returned_sheet(path: str | Path) -> pd.DataFrame:
    """Read the site statuses of a returned spreadsheet (XLSX or CSV).

    Every sheet with a site-ID column and a status column counts (the summary
    sheets of ``sites.xlsx`` have neither and are skipped). Headers may be the
    bilingual ones of ``sites.xlsx`` ("站点编号 Site ID", "状态 Status") or plain
    ``candidate_id`` / ``status``; status values may be English or Chinese.

    Parameters
    ----------
    path
        The returned file.

    Returns
    -------
    pandas.DataFrame
        ``candidate_id``, ``status`` and ``status_date`` (datetime, NaT when
        not given), one row per site.

    Raises
    ------
    LayerError
        For an unreadable file, no usable sheet, unknown statuses, or one site
        given two different statuses.
    """
    path = Path(path)
    if not path.is_file():
        raise LayerError(f"returned spreadsheet {path} does not exist")
    try:
        if path.suffix.lower() == ".csv":
            sheets = {"csv": pd.read_csv(path, dtype=str)}
        else:
            sheets = pd.read_excel(path, sheet_name=None, dtype=str)
    except (ValueError, OSError, KeyError) as exc:
        raise LayerError(f"cannot read returned spreadsheet {path}: {exc}") from exc
    frames = []
    for name, df in sheets.items():
        id_col = _find_column(df.columns, _ID_HEADERS)
        st_col = _find_column(df.columns, _STATUS_HEADERS)
        if id_col is None or st_col is None:
            continue
        date_col = _find_column(df.columns, _DATE_HEADERS)
        part = pd.DataFrame(
            {
                "candidate_id": df[id_col].astype(str).str.strip(),
                "status": _normalise_status(df[st_col].fillna("proposed")),
                "status_date": pd.to_datetime(df[date_col], errors="coerce")
                if date_col
                else pd.NaT,
            }
        )
        part["sheet"] = name
        frames.append(part[part["candidate_id"].ne("") & part["candidate_id"].ne("nan")])
    if not frames:
        raise LayerError(
            f"{path}: no sheet has a site ID column ('站点编号 Site ID' or 'candidate_id') and a "
            "status column ('状态 Status' or 'status'); return the plan's sites.xlsx"
        )
    table = pd.concat(frames, ignore_index=True)
    _check_statuses(table, path)
    return table.drop_duplicates("candidate_id").drop(columns="sheet").reset_index(drop=True)


def _check_statuses(table: pd.DataFrame, path: Path) -> None:
    """Unknown status values and conflicting duplicates are errors."""
    bad = ~table["status"].isin(STATUSES)
    if bad.any():
        raise LayerError(
            f"{path}: {int(bad.sum())} row(s) have unknown status values "
            f"{sorted(table.loc[bad, 'status'].unique())[:5]}; allowed: {list(STATUSES)}"
        )
    per_id = table.groupby("candidate_id")["status"].nunique()
    clash = per_id[per_id > 1]
    if len(clash):
        raise LayerError(
            f"{path}: {len(clash)} site(s) appear with different statuses, e.g. "
            f"{clash.index[:5].tolist()}; give each site one status"
        )


def apply_status(
    plan_dir: str | Path,
    returned: str | Path,
    *,
    out: str | Path | None = None,
    in_place: bool = False,
    allow_backwards: bool = False,
) -> Plan:
    """Update a plan's site statuses from a returned spreadsheet.

    Parameters
    ----------
    plan_dir
        The plan folder.
    returned
        The returned ``sites.xlsx`` (or a CSV with ID and status columns).
    out
        Folder to write the updated plan to.
    in_place
        Replace ``plan_dir`` itself (only when asked).
    allow_backwards
        Accept statuses that go backwards (e.g. built -> proposed).

    Returns
    -------
    Plan
        The updated plan (site IDs unchanged).

    Raises
    ------
    LayerError
        Listing IDs not in the plan, or backward status changes.
    OutputError
        When neither ``out`` nor ``in_place`` says where to write.
    """
    if out is None and not in_place:
        raise OutputError("say where to write the updated plan: give --out DIR or --in-place")
    plan = load_plan(plan_dir)
    table = read_returned_sheet(returned)
    sites = plan.sites
    unknown = sorted(set(table["candidate_id"]) - set(sites["candidate_id"]))
    if unknown:
        raise LayerError(
            f"{returned}: {len(unknown)} site ID(s) are not in the plan {plan_dir}: "
            f"{unknown[:20]}{' ...' if len(unknown) > 20 else ''}; keep the plan's IDs"
        )
    new = sites["candidate_id"].map(table.set_index("candidate_id")["status"])
    old = sites["status"]
    backwards = ~_allowed(old.to_numpy(), new.fillna(old).to_numpy())
    if backwards.any() and not allow_backwards:
        pairs = [
            f"{i}: {o} -> {n}"
            for i, o, n in zip(
                sites.loc[backwards, "candidate_id"], old[backwards], new[backwards], strict=True
            )
        ]
        raise LayerError(
            f"{returned}: {len(pairs)} status change(s) go backwards: {pairs[:10]}; fix the "
            "sheet or pass --allow-backwards"
        )
    sites["status"] = new.fillna(old)
    dates = sites["candidate_id"].map(table.set_index("candidate_id")["status_date"])
    if "status_date" in sites:
        sites["status_date"] = pd.to_datetime(dates).fillna(pd.to_datetime(sites["status_date"]))
    else:
        sites["status_date"] = pd.to_datetime(dates)
    log.info("updated %d site statuses", int((new.notna() & (new != old)).sum()))
    write_plan(plan, plan_dir if in_place else out, overwrite=in_place)
    return plan


@dataclass(frozen=True)
class ProgressReport:
    """Progress of a plan at a date.

    Attributes
    ----------
    as_of
        The assessment date.
    targets
        Per target year: cumulative target, sites built by ``as_of``, sites in
        the pipeline (approved or under construction), planned, and whether the
        target is met (for years already due).
    towns
        Per town: sites by status, population, population covered by built
        sites and by the whole plan.
    units
        Per responsible unit: sites by status and cost.
    totals
        Headline figures.
    """

    as_of: dt.date
    targets: pd.DataFrame
    towns: pd.DataFrame
    units: pd.DataFrame
    totals: dict[str, float]


def _built_mask(sites: pd.DataFrame, as_of: dt.date) -> np.ndarray:
    """Sites built by ``as_of`` (a built site without a date counts)."""
    built = sites["status"].to_numpy() == "built"
    if "status_date" in sites:
        when = pd.to_datetime(sites["status_date"], errors="coerce")
        built &= (when.isna() | (when <= pd.Timestamp(as_of))).to_numpy()
    return built


def _status_counts(sites: pd.DataFrame, by: str) -> pd.DataFrame:
    """Sites per status (columns in STATUSES order) per group."""
    counts = pd.crosstab(sites[by], sites["status"]).reindex(columns=list(STATUSES), fill_value=0)
    counts["planned"] = counts.sum(axis=1) - counts["rejected"]
    return counts


def progress_report(plan: Plan | str | Path, *, as_of: dt.date | None = None) -> ProgressReport:
    """Assess a plan's progress at a date.

    Parameters
    ----------
    plan
        The plan or its folder.
    as_of
        The date (default today); targets of years ending on or before it are due.

    Returns
    -------
    ProgressReport
        Targets, towns and responsible units.

    Raises
    ------
    OutputError
        If the plan folder has no per-site coverage (written by an older siting).
    """
    if not isinstance(plan, Plan):
        plan = load_plan(plan)
    if plan.site_coverage is None:
        raise OutputError("the plan has no per-site coverage (site_coverage.npz); re-plan it")
    as_of = as_of or dt.date.today()
    sites = plan.sites.copy()
    built = _built_mask(sites, as_of)
    k = plan.demand["k"].to_numpy()
    pop = plan.demand["population"].to_numpy()
    cov = plan.site_coverage.tocsc()
    built_cov = np.asarray(cov[:, np.flatnonzero(built)].sum(axis=1)).ravel() >= k
    live = sites["status"].to_numpy() != "rejected"
    plan_cov = np.asarray(cov[:, np.flatnonzero(live)].sum(axis=1)).ravel() >= k
    towns = _town_progress(plan, sites, built_cov, plan_cov)
    units = _status_counts(sites, "responsible_unit")
    units["cost_planned"] = sites[live].groupby("responsible_unit")["cost"].sum()
    units["cost_built"] = sites[built].groupby("responsible_unit")["cost"].sum()
    units = units.fillna(0.0).reset_index()
    pipeline = int(sites["status"].isin(["approved", "under_construction"]).sum())
    targets = pd.DataFrame(
        [
            {
                "year": year,
                "target": target,
                "due": dt.date(year, 12, 31) <= as_of,
                "built": int(built.sum()),
                "pipeline": pipeline,
                "planned": int(live.sum()),
                "met": bool(built.sum() >= target) if dt.date(year, 12, 31) <= as_of else None,
                "remaining": max(target - int(built.sum()), 0),
            }
            for year, target in sorted(plan.targets.items())
        ]
    )
    totals = {
        "sites_planned": int(live.sum()),
        "sites_built": int(built.sum()),
        "sites_pipeline": pipeline,
        "sites_rejected": int((~live).sum()),
        "population": float(pop.sum()),
        "built_coverage": float(pop[built_cov].sum() / pop.sum()) if pop.sum() else 0.0,
        "planned_coverage": float(pop[plan_cov].sum() / pop.sum()) if pop.sum() else 0.0,
    }
    return ProgressReport(as_of=as_of, targets=targets, towns=towns, units=units, totals=totals)


def _town_progress(
    plan: Plan, sites: pd.DataFrame, built_cov: np.ndarray, plan_cov: np.ndarray
) -> pd.DataFrame:
    """Status counts and coverage reached per town."""
    demand = (
        pd.DataFrame(
            {
                "town_id": plan.demand["town_id"].to_numpy(),
                "population": plan.demand["population"].to_numpy(),
                "population_built": np.where(built_cov, plan.demand["population"], 0.0),
                "population_planned": np.where(plan_cov, plan.demand["population"], 0.0),
            }
        )
        .groupby("town_id")[["population", "population_built", "population_planned"]]
        .sum()
    )
    counts = _status_counts(sites, "town_id")
    names = plan.towns.set_index("town_id")[["name", "name_en"]] if len(plan.towns) else None
    table = counts.join(demand, how="outer").fillna(0)
    share = table["population"].clip(lower=1e-9)
    table["built_coverage"] = np.where(
        table["population"] > 0, table["population_built"] / share, 0.0
    )
    table["planned_coverage"] = np.where(
        table["population"] > 0, table["population_planned"] / share, 0.0
    )
    if names is not None:
        table = names.join(table, how="right")
    return table.reset_index().rename(columns={"index": "town_id"})


def _chart_png(report: ProgressReport) -> bytes:
    """Bar chart: built, pipeline and planned sites against the targets."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.6))
    t = report.totals
    bars = {
        "built": t["sites_built"],
        "approved / under construction": t["sites_pipeline"],
        "planned": t["sites_planned"],
    }
    ax.barh(list(bars), list(bars.values()), color=["#2b8a3e", "#f08c00", "#adb5bd"])
    for _, row in report.targets.iterrows():
        ax.axvline(row["target"], color="#c92a2a", linestyle="--")
        ax.text(
            row["target"],
            2.45,
            f"{row['year']}: {row['target']:,}",
            color="#c92a2a",
            ha="right",
            va="bottom",
            fontsize=8,
        )
    ax.set_xlabel("sites")
    ax.set_title(f"Progress as of {report.as_of.isoformat()}")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


def _html(report: ProgressReport, png: bytes, name: str) -> str:
    """A self-contained progress page."""
    t = report.totals

    def table(df: pd.DataFrame) -> str:
        return df.to_html(index=False, float_format=lambda v: f"{v:,.3f}", escape=True)

    return "\n".join(
        [
            "<!DOCTYPE html><html><head><meta charset='utf-8'>",
            f"<title>{html.escape(name)}: progress</title>",
            "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
            "td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}</style></head><body>",
            f"<h1>{html.escape(name)}: progress as of {report.as_of.isoformat()}</h1>",
            f"<p>{t['sites_built']:,} sites built, {t['sites_pipeline']:,} approved or under "
            f"construction, {t['sites_planned']:,} planned. Population covered by built sites: "
            f"{t['built_coverage']:.1%} (whole plan: {t['planned_coverage']:.1%}).</p>",
            f"<img alt='progress chart' src='data:image/png;base64,{base64.b64encode(png).decode()}'>",
            "<h2>Targets</h2>",
            table(report.targets),
            "<h2>Towns</h2>",
            table(report.towns),
            "<h2>Responsible units</h2>",
            table(report.units),
            "</body></html>",
        ]
    )


def write_progress(report: ProgressReport, out_dir: str | Path, *, name: str = "plan") -> Path:
    """Write progress.html, progress.png and the tables as CSV, atomically.

    Parameters
    ----------
    report
        The progress report.
    out_dir
        Folder to write (must not exist or be empty).
    name
        Plan name for titles.

    Returns
    -------
    pathlib.Path
        The folder.
    """
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise OutputError(f"output folder {out} exists and is not empty; choose another --out")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        png = _chart_png(report)
        (tmp / "progress.png").write_bytes(png)
        (tmp / "progress.html").write_text(_html(report, png, name), encoding="utf-8")
        report.targets.to_csv(tmp / "progress_targets.csv", index=False)
        report.towns.to_csv(tmp / "progress_towns.csv", index=False)
        report.units.to_csv(tmp / "progress_units.csv", index=False)
        if out.exists():
            out.rmdir()
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
