"""Files for operators: the site list as XLSX and KML, and the candidate registry.

* :func:`write_sites_xlsx` - ``sites.xlsx``: a summary sheet and one sheet per rollout year,
  headers in Chinese and English;
* :func:`write_sites_kml` - ``sites.kml`` (GDAL's KML driver through pyogrio; opens in
  Google Earth);
* :func:`write_candidate_registry` - the "pole resource library" (杆塔资源库): every candidate
  with its owner, class and status, as ``candidates.xlsx`` and ``candidates.csv``;
* :func:`export_plan` - all of the above into one folder.

Coordinates in the files are WGS84 (EPSG:4326). Text cells that a spreadsheet would read as
a formula (starting with ``=``, ``+``, ``-``, ``@``) are written with a leading apostrophe.
Each file is written under a temporary name and renamed at the end.
"""

from __future__ import annotations

import html
import logging
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

import geopandas as gpd
import numpy as np
import pandas as pd

from siting._errors import LayerError, OutputError
from siting.maps import SITE_CLASSES

__all__ = [
    "CANDIDATE_HEADERS",
    "SITE_HEADERS",
    "export_plan",
    "site_table",
    "write_candidate_registry",
    "write_sites_kml",
    "write_sites_xlsx",
]

logger = logging.getLogger(__name__)

#: Column -> bilingual header of the site list.
SITE_HEADERS: dict[str, str] = {
    "candidate_id": "站点编号 Site ID",
    "name": "名称 Name",
    "class_label": "站点类型 Class",
    "site_class": "类型代码 Class code",
    "source": "来源 Source",
    "owner": "产权单位 Owner",
    "responsible_unit": "责任单位 Responsible unit",
    "town": "街镇 Town",
    "lon": "经度 Longitude (WGS84)",
    "lat": "纬度 Latitude (WGS84)",
    "height_m": "挂高(米) Height (m)",
    "band": "频段 Band",
    "cost": "造价(元) Cost (CNY)",
    "rollout_year": "建设年份 Rollout year",
    "existing": "现有站 Existing site",
    "population_new": "新增覆盖人口 Population newly covered",
    "marginal_gain": "边际增益 Marginal gain",
    "status": "状态 Status",
}
#: Column -> bilingual header of the candidate registry.
CANDIDATE_HEADERS: dict[str, str] = {
    "candidate_id": "资源编号 Candidate ID",
    "name": "名称 Name",
    "class_label": "站点类型 Class",
    "site_class": "类型代码 Class code",
    "source": "来源 Source",
    "owner": "产权单位 Owner",
    "responsible_unit": "责任单位 Responsible unit",
    "town": "街镇 Town",
    "lon": "经度 Longitude (WGS84)",
    "lat": "纬度 Latitude (WGS84)",
    "height_m": "挂高(米) Height (m)",
    "band": "频段 Band",
    "cost": "造价(元) Cost (CNY)",
    "existing": "现有站 Existing site",
    "status": "状态 Status",
}
_DANGEROUS_PREFIX = ("=", "+", "-", "@", "\t", "\r")


class ExportPlan(Protocol):
    """What the exports read from a plan (see ``siting.plan.Plan``)."""

    name: str
    sites: gpd.GeoDataFrame
    candidates: gpd.GeoDataFrame
    towns: gpd.GeoDataFrame
    stats: dict
    solve: dict
    targets: dict


# ----------------------------------------------------------------------------------------------
# tables


def site_table(plan: ExportPlan) -> pd.DataFrame:
    """The site list with WGS84 coordinates, class and town labels (internal column names).

    Parameters
    ----------
    plan
        The plan.

    Returns
    -------
    pandas.DataFrame
        One row per selected site, columns of :data:`SITE_HEADERS` in that order, sorted by
        rollout year and then by decreasing marginal gain.
    """
    sites = _require(plan.sites, "sites", ("candidate_id", "site_class", "rollout_year"))
    table = _base_table(sites, plan.towns)
    table["status"] = sites["status"].to_numpy() if "status" in sites else "proposed"
    table = table.reindex(columns=list(SITE_HEADERS))
    return table.sort_values(
        ["rollout_year", "marginal_gain"], ascending=[True, False], kind="stable"
    ).reset_index(drop=True)


def candidate_table(plan: ExportPlan) -> pd.DataFrame:
    """The candidate registry: every candidate with owner, class and status (internal names).

    The status is ``"selected <year>"`` for candidates in the plan, else ``"candidate"``.
    """
    cands = _require(plan.candidates, "candidates", ("candidate_id", "site_class"))
    table = _base_table(cands, plan.towns)
    years = (
        plan.sites.set_index(plan.sites["candidate_id"].astype(str))["rollout_year"]
        if len(plan.sites) else pd.Series(dtype="object")
    )  # fmt: skip
    year = table["candidate_id"].astype(str).map(years)
    selected = year.notna()
    if "selected" in cands.columns:
        selected |= cands["selected"].fillna(False).astype(bool).to_numpy()
    year_txt = pd.to_numeric(year, errors="coerce").astype("Int64").astype("string").fillna("")
    table["status"] = np.where(selected, ("selected 入选 " + year_txt).str.strip(),
                               "candidate 候选")
    return table.reindex(columns=list(CANDIDATE_HEADERS)).reset_index(drop=True)


def _require(gdf: Any, name: str, columns: tuple[str, ...]) -> gpd.GeoDataFrame:
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise LayerError(f"plan.{name} is {type(gdf).__name__}, not a GeoDataFrame")
    if gdf.crs is None:
        raise LayerError(f"plan.{name} has no CRS; set it with gdf.set_crs('EPSG:32651')")
    missing = [c for c in columns if c not in gdf.columns]
    if missing:
        raise LayerError(f"plan.{name} lacks column(s) {missing}; build it with siting.plan")
    return gdf


def _base_table(gdf: gpd.GeoDataFrame, towns: gpd.GeoDataFrame) -> pd.DataFrame:
    wgs = gdf.geometry.to_crs("EPSG:4326")
    table = pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).reset_index(drop=True)
    table["lon"] = np.round(wgs.x.to_numpy(), 6)
    table["lat"] = np.round(wgs.y.to_numpy(), 6)
    labels = {k: v[0] for k, v in SITE_CLASSES.items()}
    cls = table["site_class"].astype(str)
    table["class_label"] = cls.map(labels).fillna(cls)
    if "town_id" in table.columns and {"town_id", "name"} <= set(towns.columns):
        names = pd.Series(towns["name"].astype(str).to_numpy(),
                          index=towns["town_id"].astype(str))
        tid = table["town_id"].astype(str)
        table["town"] = tid.map(names).fillna(tid)
    return table


def _defuse(df: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells that a spreadsheet would run as a formula with an apostrophe."""
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s):
            text = s.astype("string")
            bad = text.str.startswith(_DANGEROUS_PREFIX).fillna(False)
            if bad.any():
                out[col] = s.astype(object).where(~bad, "'" + text)
    return out


def _headed(df: pd.DataFrame, headers: Mapping[str, str]) -> pd.DataFrame:
    return _defuse(df).rename(columns=dict(headers))


# ----------------------------------------------------------------------------------------------
# writers


def write_sites_xlsx(plan: ExportPlan, path: str | os.PathLike[str]) -> Path:
    """Write ``sites.xlsx``: a summary sheet and one sheet per rollout year.

    Parameters
    ----------
    plan
        The plan.
    path
        The file to write.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    table = site_table(plan)
    summary = _summary_tables(plan, table)

    def write(tmp: Path) -> None:
        with pd.ExcelWriter(tmp, engine="openpyxl") as xw:
            row = 0
            for title, df in summary:
                pd.DataFrame({title: []}).to_excel(xw, sheet_name="汇总 Summary", startrow=row,
                                                   index=False)
                _defuse(df).to_excel(xw, sheet_name="汇总 Summary", startrow=row + 1,
                                     index=False)
                row += len(df) + 4
            years = table["rollout_year"]
            for year in sorted(years.dropna().unique()):
                part = table.loc[years == year]
                _headed(part, SITE_HEADERS).to_excel(xw, sheet_name=f"{int(year)}年 {int(year)}",
                                                     index=False)
            if years.isna().any():
                _headed(table.loc[years.isna()], SITE_HEADERS).to_excel(
                    xw, sheet_name="未排期 Unscheduled", index=False)
            _autofit(xw)

    return _write_atomic(Path(path), write, what="site list")


def _summary_tables(plan: ExportPlan, table: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    stats = dict(getattr(plan, "stats", {}) or {})
    solve = dict(getattr(plan, "solve", {}) or {})
    kpis = pd.DataFrame(
        [
            ("方案 Plan", str(plan.name)),
            ("站点数 Sites", len(table)),
            ("新建站点 New sites", stats.get("n_new_sites")),
            ("总造价(元) Total cost (CNY)", float(table["cost"].sum())),
            ("人口 Population", stats.get("population")),
            ("覆盖人口 Covered population", stats.get("covered_population")),
            ("人口覆盖率 Coverage", stats.get("coverage")),
            ("加权覆盖率 Weighted coverage", stats.get("weighted_coverage")),
            ("求解状态 Solver status", solve.get("status")),
            ("目标值 Objective", solve.get("objective")),
            ("界 Bound", solve.get("bound")),
            ("间隙 Gap", solve.get("gap")),
        ],
        columns=["指标 Indicator", "数值 Value"],
    )
    targets = {int(k): v for k, v in (getattr(plan, "targets", {}) or {}).items()}
    by_year = table.groupby("rollout_year", dropna=True).agg(
        n=("candidate_id", "size"), cost=("cost", "sum")
    )
    by_year["cumulative"] = by_year["n"].cumsum()
    by_year["target"] = [targets.get(int(y)) for y in by_year.index]
    by_year = by_year.reset_index().rename(columns={
        "rollout_year": "建设年份 Year", "n": "站点数 Sites", "cost": "造价(元) Cost (CNY)",
        "cumulative": "累计站点 Cumulative sites", "target": "累计目标 Cumulative target",
    })  # fmt: skip
    by_class = pd.crosstab(table["class_label"], table["rollout_year"], margins=True,
                           margins_name="合计 Total")
    by_class.index.name = "站点类型 Class"
    by_class.columns = [str(c) for c in by_class.columns]
    return [
        ("关键指标 Headline figures", kpis),
        ("年度建设 Rollout by year", by_year),
        ("分类型 Sites by class and year", by_class.reset_index()),
    ]


def _autofit(xw: pd.ExcelWriter) -> None:
    """Column widths from the header lengths (CJK characters count double)."""
    for ws in xw.book.worksheets:
        for cells in ws.iter_cols(min_row=1, max_row=min(ws.max_row, 50)):
            width = max(
                (sum(2 if ord(ch) > 0x2E80 else 1 for ch in str(c.value)) for c in cells
                 if c.value is not None),
                default=8,
            )
            ws.column_dimensions[cells[0].column_letter].width = min(max(width + 2, 8), 48)


def write_sites_kml(plan: ExportPlan, path: str | os.PathLike[str]) -> Path:
    """Write ``sites.kml`` (one placemark per site, WGS84) with GDAL's KML driver.

    The placemark name is the site ID; its description is a small HTML table whose values
    are HTML-escaped (Google Earth renders descriptions as HTML).
    """
    table = site_table(plan)
    fields = ["name", "class_label", "owner", "responsible_unit", "town", "height_m", "band",
              "cost", "rollout_year", "population_new", "marginal_gain", "status"]
    rows = [
        f"<tr><th>{html.escape(SITE_HEADERS[c])}</th><td>"
        + table[c].astype("string").fillna("").map(html.escape) + "</td></tr>"
        for c in fields
    ]
    description = pd.concat(rows, axis=1).sum(axis=1) if len(table) else pd.Series([], dtype=str)
    gdf = gpd.GeoDataFrame(
        {
            "Name": table["candidate_id"].astype(str).to_numpy(),
            "Description": ("<table>" + description + "</table>").to_numpy(),
            "site_class": table["site_class"].astype(str).to_numpy(),
            "rollout_year": pd.to_numeric(table["rollout_year"], errors="coerce").to_numpy(),
        },
        geometry=gpd.points_from_xy(table["lon"], table["lat"]),
        crs="EPSG:4326",
    )

    def write(tmp: Path) -> None:
        import pyogrio

        pyogrio.write_dataframe(gdf, tmp, driver="KML", layer="sites")

    return _write_atomic(Path(path), write, what="KML", suffix=".kml")


def write_candidate_registry(
    plan: ExportPlan, out_dir: str | os.PathLike[str], *, formats: tuple[str, ...] = ("xlsx", "csv")
) -> list[Path]:
    """Write the candidate registry (``candidates.xlsx`` / ``candidates.csv``) into a folder.

    Parameters
    ----------
    plan
        The plan.
    out_dir
        The folder (made if missing).
    formats
        Any of ``"xlsx"`` and ``"csv"``.

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    from siting._errors import ConfigError

    unknown = sorted(set(formats) - {"xlsx", "csv"})
    if unknown:
        raise ConfigError(f"unknown registry format(s) {unknown}; use 'xlsx' and/or 'csv'")
    table = _headed(candidate_table(plan), CANDIDATE_HEADERS)
    out = Path(out_dir)
    written = []
    if "xlsx" in formats:
        def write_x(tmp: Path) -> None:
            with pd.ExcelWriter(tmp, engine="openpyxl") as xw:
                table.to_excel(xw, sheet_name="资源库 Registry", index=False)
                _autofit(xw)

        written.append(_write_atomic(out / "candidates.xlsx", write_x, what="registry"))
    if "csv" in formats:
        written.append(_write_atomic(
            out / "candidates.csv",
            lambda tmp: table.to_csv(tmp, index=False, encoding="utf-8-sig"),
            what="registry", suffix=".csv",
        ))  # fmt: skip
    return written


def export_plan(plan: ExportPlan, out_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """Write sites.xlsx, sites.kml, candidates.xlsx and candidates.csv into ``out_dir``.

    Returns
    -------
    dict
        File name -> path written.
    """
    out = Path(out_dir)
    paths = {
        "sites.xlsx": write_sites_xlsx(plan, out / "sites.xlsx"),
        "sites.kml": write_sites_kml(plan, out / "sites.kml"),
    }
    for p in write_candidate_registry(plan, out):
        paths[p.name] = p
    return paths


def _write_atomic(
    path: Path, write: Callable[[Path], Any], *, what: str, suffix: str = ".xlsx"
) -> Path:
    """Run ``write(tmp)`` on a temporary file beside ``path``, then rename it into place."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmpdir = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    except OSError as exc:
        raise OutputError(f"cannot write the {what} to {path}: {exc}; choose a writable "
                          "folder") from exc
    tmp = tmpdir / f"out{suffix}"
    try:
        write(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        raise OutputError(f"cannot write the {what} to {path}: {exc}; choose a writable "
                          "folder") from exc
    finally:
        for p in tmpdir.glob("*"):
            p.unlink(missing_ok=True)
        tmpdir.rmdir()
    logger.info("wrote %s %s", what, path)
    return path
