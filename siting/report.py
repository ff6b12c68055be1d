"""The planner report: ``report.html`` (self-contained, charts embedded) and the charts as PNG.

Contents: headline KPIs (sites by class and year, cost, population and area covered, key
zones met / not met), coverage and cost per town and per responsible unit, the yearly
rollout against the cumulative targets (2,000 / 3,000 for Jiading), the coverage vs cost
curve when one is given, the top sites by marginal gain, and the run's status, bound and gap.
Charts are drawn with matplotlib (Agg backend); labels use English names so that they render
without CJK fonts, while the HTML tables keep the Chinese names.
"""

from __future__ import annotations

import base64
import html
import io
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import geopandas as gpd
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from siting._errors import LayerError, OutputError

__all__ = ["report_figures", "report_tables", "write_report"]

logger = logging.getLogger(__name__)


class ReportPlan(Protocol):
    """What the report reads from a plan (see ``siting.plan.Plan``)."""

    name: str
    sites: gpd.GeoDataFrame
    demand: gpd.GeoDataFrame
    zones: gpd.GeoDataFrame
    towns: gpd.GeoDataFrame
    stats: dict
    solve: dict
    cell_size_m: float
    targets: dict


# ----------------------------------------------------------------------------------------------
# tables


def report_tables(plan: ReportPlan) -> dict[str, pd.DataFrame]:
    """The report's tables: kpis, towns, units, zones, rollout, top_sites.

    Parameters
    ----------
    plan
        The plan.

    Returns
    -------
    dict of pandas.DataFrame
    """
    for name, cols in (("sites", ("candidate_id", "site_class", "cost", "rollout_year")),
                       ("towns", ("town_id", "coverage")), ("zones", ("zone_id", "met"))):
        gdf = getattr(plan, name)
        missing = [c for c in cols if c not in gdf.columns]
        if missing:
            raise LayerError(f"plan.{name} lacks column(s) {missing}; build it with "
                             "siting.plan")
    sites = pd.DataFrame(plan.sites.drop(columns=plan.sites.geometry.name))
    return {
        "kpis": _kpis(plan, sites),
        "towns": _towns(plan),
        "units": _units(sites),
        "zones": _zones(plan),
        "rollout": _rollout(sites, plan.targets or {}),
        "top_sites": _top_sites(sites),
    }


def _kpis(plan: ReportPlan, sites: pd.DataFrame) -> pd.DataFrame:
    stats = dict(plan.stats or {})
    solve = dict(plan.solve or {})
    demand = plan.demand
    area = np.nan
    if "covered" in demand.columns and plan.cell_size_m:
        area = float(demand["covered"].fillna(False).astype(bool).sum()) * plan.cell_size_m**2
    met = plan.zones["met"].fillna(False).astype(bool)
    rows = [
        ("Sites 站点", f"{len(sites):,}"),
        ("New sites 新建站点", _num(stats.get("n_new_sites"))),
        ("Existing sites kept 利旧站点",
         _num(int(sites["existing"].sum())) if "existing" in sites else "–"),
        ("Total cost 总造价", "CNY " + _num(pd.to_numeric(sites["cost"]).sum())),
        ("Population 人口", _num(stats.get("population"))),
        ("Population covered 覆盖人口", _num(stats.get("covered_population"))),
        ("Coverage 人口覆盖率", _pct(stats.get("coverage"))),
        ("Weighted coverage 加权覆盖率", _pct(stats.get("weighted_coverage"))),
        ("Area covered 覆盖面积", "–" if np.isnan(area) else f"{area / 1e6:,.1f} km²"),
        ("Key zones met 重点区域达标", f"{int(met.sum())} of {len(met)}"),
        ("Solver status 求解状态", str(solve.get("status", "–"))),
        ("Stop reason 停止原因", str(solve.get("stop_reason", "–"))),
        ("Objective 目标值", _num(solve.get("objective"), 1)),
        ("Bound 界", _num(solve.get("bound"), 1)
         + (f" ({solve['bound_source']})" if solve.get("bound_source") else "")),
        ("Gap 间隙", _pct(solve.get("gap"), 2)),
        ("Solver 求解器", str(solve.get("solver", "–"))),
        ("Limit 求解限制", _limit(solve)),
        ("Reproducible 可复现", _yes_no(solve.get("reproducible"))),
        *_rollout_rows(solve.get("rollout")),
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=["Indicator 指标", "Value 数值"])


_ROLLOUT_METHODS = {
    "joint": "joint: all years in one MIP",
    "rolling forward": "rolling: year by year, the years before each one fixed",
    "rolling backward": "rolling, backward: last year first, earlier years among its sites",
}


def _limit(solve: dict) -> str:
    """The work and clock limits a plan was solved under, '–' when neither is known."""
    parts = []
    if solve.get("work_limit") is not None:
        parts.append(f"{float(solve['work_limit']):g} work units")
    if solve.get("time_limit_s") is not None:
        parts.append(f"{float(solve['time_limit_s']):g} s")
    return ", ".join(parts) or "–"


def _yes_no(value: object) -> str:
    """'yes' / 'no' for a flag, '–' when absent (plans written before it existed)."""
    return "–" if value is None else ("yes 是" if value else "no 否")


def _rollout_rows(rollout: dict | None) -> list[tuple[str, str]]:
    """The phased rollout's own status and gap: joint, or rolling (forward: the years
    before each one fixed; backward: the last year first, earlier years among its sites)."""
    if not rollout:
        return []
    method = str(rollout.get("method", "–"))
    key = method if method != "rolling" else f"rolling {rollout.get('direction') or 'forward'}"
    return [("Rollout method 分期方法", _ROLLOUT_METHODS.get(key, method)),
            ("Rollout status 分期状态", str(rollout.get("status", "–"))),
            ("Rollout gap 分期间隙", _pct(rollout.get("gap"), 2))]


def _towns(plan: ReportPlan) -> pd.DataFrame:
    t = pd.DataFrame(plan.towns.drop(columns=plan.towns.geometry.name))
    cols = [c for c in ("town_id", "name", "name_en", "population", "covered_population",
                        "coverage", "n_sites", "cost") if c in t.columns]
    return t[cols].sort_values("coverage", kind="stable").reset_index(drop=True)


def _units(sites: pd.DataFrame) -> pd.DataFrame:
    if "responsible_unit" not in sites.columns:
        return pd.DataFrame(columns=["responsible_unit", "n_sites", "cost", "population_new"])
    pop = sites["population_new"] if "population_new" in sites else 0.0
    g = sites.assign(population_new=pop).groupby("responsible_unit", dropna=False)
    out = g.agg(n_sites=("candidate_id", "size"), cost=("cost", "sum"),
                population_new=("population_new", "sum"))
    total = out["population_new"].sum()
    out["share_of_new_coverage"] = out["population_new"] / total if total > 0 else np.nan
    return out.sort_values("n_sites", ascending=False).reset_index()


def _zones(plan: ReportPlan) -> pd.DataFrame:
    z = pd.DataFrame(plan.zones.drop(columns=plan.zones.geometry.name))
    cols = [c for c in ("zone_id", "name", "name_en", "kind", "service_level", "min_coverage",
                        "covered_fraction", "met", "sites_serving") if c in z.columns]
    return z[cols].reset_index(drop=True)


def _rollout(sites: pd.DataFrame, targets: dict) -> pd.DataFrame:
    years = pd.to_numeric(sites["rollout_year"], errors="coerce")
    per = sites.assign(year=years).groupby("year").agg(n=("candidate_id", "size"),
                                                       cost=("cost", "sum"))
    tgt = {int(k): float(v) for k, v in targets.items()}
    idx = sorted(set(per.index.dropna().astype(int)) | set(tgt))
    per = per.reindex(idx, fill_value=0)
    per["cumulative"] = per["n"].cumsum()
    per["target"] = [tgt.get(int(y), np.nan) for y in per.index]
    per["met"] = per["cumulative"] >= per["target"]
    per.index.name = "year"
    return per.reset_index()


def _top_sites(sites: pd.DataFrame, n: int = 15) -> pd.DataFrame:
    cols = [c for c in ("candidate_id", "name", "site_class", "responsible_unit", "rollout_year",
                        "cost", "marginal_gain", "population_new") if c in sites.columns]
    if "marginal_gain" not in sites.columns:
        return sites[cols].head(0)
    return sites.sort_values("marginal_gain", ascending=False, kind="stable")[cols].head(n)


def _num(v: Any, digits: int = 0) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return "–"
    return "–" if not np.isfinite(f) else f"{f:,.{digits}f}"


def _pct(v: Any, digits: int = 1) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return "–"
    return "–" if not np.isfinite(f) else f"{100 * f:.{digits}f} %"


# ----------------------------------------------------------------------------------------------
# figures


def report_figures(
    plan: ReportPlan, *, curve: pd.DataFrame | None = None
) -> dict[str, Figure]:
    """The report's charts as matplotlib figures (close them when done).

    Parameters
    ----------
    plan
        The plan.
    curve
        Optional coverage vs cost curve: a frame with columns ``cost`` and ``coverage``
        (fraction), one row per computed plan.

    Returns
    -------
    dict of matplotlib.figure.Figure
        Keys: sites_by_class, towns, units, rollout, top_sites, and curve when given.
    """
    tables = report_tables(plan)
    sites = pd.DataFrame(plan.sites.drop(columns=plan.sites.geometry.name))
    figs = {
        "sites_by_class": _fig_sites(sites),
        "towns": _fig_towns(tables["towns"]),
        "units": _fig_units(tables["units"]),
        "rollout": _fig_rollout(tables["rollout"]),
        "top_sites": _fig_top(tables["top_sites"]),
    }
    if curve is not None:
        missing = [c for c in ("cost", "coverage") if c not in curve.columns]
        if missing:
            raise LayerError(f"the coverage vs cost curve lacks column(s) {missing}")
        figs["curve"] = _fig_curve(curve, plan)
    return figs


def _fig_sites(sites: pd.DataFrame) -> Figure:
    fig, ax = plt.subplots(figsize=(7, 3.8), layout="constrained")
    ct = pd.crosstab(sites["site_class"], sites["rollout_year"])
    ct.plot.barh(stacked=True, ax=ax, colormap="tab10", width=0.75)
    ax.set_xlabel("sites")
    ax.set_ylabel("")
    ax.set_title("Selected sites by class and rollout year")
    ax.legend(title="year", fontsize=8)
    return fig


def _label(df: pd.DataFrame, key: str) -> pd.Series:
    if "name_en" in df.columns:
        return df["name_en"].fillna(df[key]).astype(str)
    return df[key].astype(str)


def _fig_towns(towns: pd.DataFrame) -> Figure:
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 0.3 * len(towns) + 1.6),
                                 layout="constrained", sharey=True)
    y = np.arange(len(towns))
    a1.barh(y, 100 * towns["coverage"].astype(float), color="#1a9850")
    a1.set_yticks(y, _label(towns, "town_id"))
    a1.set_xlabel("population covered (%)")
    a1.set_xlim(0, 100)
    a2.barh(y, towns["cost"].astype(float) / 1e6 if "cost" in towns else 0, color="#1f4e9c")
    a2.set_xlabel("cost (million CNY)")
    fig.suptitle("Coverage and cost per town")
    return fig


def _fig_units(units: pd.DataFrame) -> Figure:
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 0.3 * len(units) + 1.6),
                                 layout="constrained", sharey=True)
    y = np.arange(len(units))
    a1.barh(y, units["population_new"].astype(float), color="#1a9850")
    a1.set_yticks(y, [_ascii_or_index(u, i) for i, u in enumerate(units["responsible_unit"])])
    a1.set_xlabel("population newly covered")
    a2.barh(y, units["cost"].astype(float) / 1e6, color="#1f4e9c")
    a2.set_xlabel("cost (million CNY)")
    fig.suptitle("Coverage and cost per responsible unit")
    return fig


def _ascii_or_index(text: Any, i: int) -> str:
    """A chart label: the text when it renders with the default font, else 'unit <n>'."""
    s = str(text)
    return s if s.isascii() else f"unit {i + 1} (see table)"


def _fig_rollout(rollout: pd.DataFrame) -> Figure:
    fig, ax = plt.subplots(figsize=(6, 3.6), layout="constrained")
    x = rollout["year"].astype(int).astype(str)
    ax.bar(x, rollout["cumulative"], color="#1f4e9c", label="sites planned (cumulative)")
    if rollout["target"].notna().any():
        ax.plot(x, rollout["target"], "o--", color="#d73027", label="target (cumulative)")
        for xi, t in zip(x, rollout["target"], strict=True):
            if np.isfinite(t):
                ax.annotate(f"{t:,.0f}", (xi, t), textcoords="offset points", xytext=(0, 6),
                            ha="center", color="#d73027", fontsize=8)
    ax.set_ylabel("sites")
    ax.set_title("Yearly rollout vs targets")
    ax.legend(fontsize=8)
    return fig


def _fig_top(top: pd.DataFrame) -> Figure:
    fig, ax = plt.subplots(figsize=(7, 0.28 * max(len(top), 1) + 1.4), layout="constrained")
    if len(top):
        y = np.arange(len(top))[::-1]
        ax.barh(y, top["marginal_gain"].astype(float), color="#ff7f0e")
        ax.set_yticks(y, [_ascii_or_index(v, i) for i, v in enumerate(top["candidate_id"])])
    ax.set_xlabel("marginal gain (weighted demand newly covered)")
    ax.set_title("Top sites by marginal gain")
    return fig


def _fig_curve(curve: pd.DataFrame, plan: ReportPlan) -> Figure:
    fig, ax = plt.subplots(figsize=(6, 3.8), layout="constrained")
    c = curve.sort_values("cost")
    ax.plot(c["cost"] / 1e6, 100 * c["coverage"], "o-", color="#1f4e9c")
    cost = pd.to_numeric(plan.sites["cost"], errors="coerce").sum()
    cov = (plan.stats or {}).get("coverage")
    if cov is not None:
        ax.plot([cost / 1e6], [100 * float(cov)], "*", ms=14, color="#d73027", label="this plan")
        ax.legend(fontsize=8)
    ax.set_xlabel("cost (million CNY)")
    ax.set_ylabel("population covered (%)")
    ax.set_title("Coverage vs cost")
    return fig


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


# ----------------------------------------------------------------------------------------------
# HTML


def _table_html(df: pd.DataFrame, formats: dict[str, Callable[[Any], str]] | None = None) -> str:
    formats = formats or {}
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = []
    for row in df.itertuples(index=False):  # small summary tables only
        cells = []
        for col, v in zip(df.columns, row, strict=True):
            text = formats[col](v) if col in formats else ("–" if pd.isna(v) else str(v))
            cells.append(f"<td>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


_CSS = """
body { font: 14px/1.45 system-ui, "Noto Sans CJK SC", "Microsoft YaHei", sans-serif;
       margin: 24px auto; max-width: 1050px; color: #222; }
h1 { font-size: 22px; } h2 { font-size: 17px; margin-top: 28px; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 8px 0; font-size: 13px; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; }
th { background: #f4f4f4; } img { max-width: 100%; }
.bad { color: #b2182b; font-weight: 600; } .ok { color: #1a9850; font-weight: 600; }
"""


def _report_html(plan: ReportPlan, tables: dict[str, pd.DataFrame],
                 pngs: dict[str, bytes]) -> str:
    def img(key: str, alt: str) -> str:
        if key not in pngs:
            return ""
        data = base64.b64encode(pngs[key]).decode("ascii")
        return f'<p><img alt="{html.escape(alt)}" src="data:image/png;base64,{data}"></p>'

    pct = _pct
    money = _num
    solve = dict(plan.solve or {})
    status = str(solve.get("status", "–"))
    cls = "ok" if status.lower() == "optimal" else "bad" if status.lower() in {
        "infeasible", "no_solution", "error"} else ""
    parts = [
        "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">",
        f"<title>{html.escape(str(plan.name))} – 5G siting report</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(str(plan.name))}: 5G siting plan report 规划报告</h1>",
        f"<p>Run status: <span class=\"{cls}\">{html.escape(status)}</span>; "
        f"bound {html.escape(_num(solve.get('bound'), 1))}, gap "
        f"{html.escape(_pct(solve.get('gap'), 2))}. "
        f"{html.escape(str(solve.get('message') or ''))}</p>",
        "<h2>Headline figures 关键指标</h2>", _table_html(tables["kpis"]),
        img("sites_by_class", "sites by class and year"),
        "<h2>Rollout vs targets 年度建设与目标</h2>",
        _table_html(tables["rollout"], {"cost": money, "target": money, "cumulative": money}),
        img("rollout", "rollout vs targets"),
        "<h2>Key zones 重点区域</h2>",
        _table_html(tables["zones"], {"min_coverage": pct, "covered_fraction": pct}),
        "<h2>Towns 街镇</h2>",
        _table_html(tables["towns"], {"coverage": pct, "cost": money, "population": money,
                                      "covered_population": money}),
        img("towns", "coverage and cost per town"),
        "<h2>Responsible units 责任单位</h2>",
        _table_html(tables["units"], {"cost": money, "population_new": money,
                                      "share_of_new_coverage": pct}),
        img("units", "coverage and cost per responsible unit"),
    ]
    if "curve" in pngs:
        parts += ["<h2>Coverage vs cost 覆盖率与造价</h2>", img("curve", "coverage vs cost")]
    parts += [
        "<h2>Top sites by marginal gain 边际增益最高的站点</h2>",
        _table_html(tables["top_sites"], {"cost": money,
                                          "marginal_gain": lambda v: _num(v, 1),
                                          "population_new": money}),
        img("top_sites", "top sites by marginal gain"),
        "</body></html>",
    ]
    return "\n".join(parts)


def write_report(
    plan: ReportPlan, out_dir: str | os.PathLike[str], *, curve: pd.DataFrame | None = None
) -> Path:
    """Write ``report.html`` and the charts as ``report_<name>.png`` into ``out_dir``.

    The files are written into a temporary folder beside ``out_dir`` and moved in at the end.

    Parameters
    ----------
    plan
        The plan.
    out_dir
        The folder (made if missing; existing report files are replaced).
    curve
        Optional coverage vs cost curve (columns ``cost`` and ``coverage``).

    Returns
    -------
    pathlib.Path
        The path of report.html.
    """
    tables = report_tables(plan)
    pngs = {k: _png(f) for k, f in report_figures(plan, curve=curve).items()}
    text = _report_html(plan, tables, pngs)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".report.", dir=out))
    except OSError as exc:
        raise OutputError(f"cannot write the report to {out}: {exc}; choose a writable "
                          "folder") from exc
    try:
        for key, data in pngs.items():
            (tmp / f"report_{key}.png").write_bytes(data)
        (tmp / "report.html").write_text(text, encoding="utf-8")
        for f in sorted(tmp.iterdir()):
            os.replace(f, out / f.name)
    except OSError as exc:
        raise OutputError(f"cannot write the report to {out}: {exc}") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    logger.info("wrote report %s", out / "report.html")
    return out / "report.html"
