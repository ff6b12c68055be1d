"""Stage 7: write a plan folder atomically, and read one back.

A plan folder holds:

==================  ===========================================================
file                content
==================  ===========================================================
plan.gpkg           every layer of the plan in the working CRS: sites,
                    candidates, demand, zones, towns, study_area
sites.gpkg          the selected sites in WGS84 (EPSG:4326)
sites.csv           the selected sites with ``lon``/``lat`` (WGS84)
stats_towns.csv     population, coverage, sites and cost per town
stats_zones.csv     achieved coverage per key zone
stats_classes.csv   sites and cost per site class and rollout year
site_coverage.npz   sparse cells x sites matrix: which site covers which cell
rsrp.tif            best-server RSRP and best server per cell (radio model)
curve.csv           coverage vs cost over ``outputs.curve_budgets``
map.html            the interactive map (when ``outputs.map``)
report.html         the planner report with its charts as report_*.png
                    (when ``outputs.report``)
sites.xlsx          a sheet per rollout year and a summary, bilingual headers;
sites.kml           with candidates.xlsx / candidates.csv, the candidate
                    registry (when ``outputs.spreadsheets``)
manifest.json       name, CRS, config, input hashes, versions, solver status,
                    objective, bound, gap, statistics and timings per stage
==================  ===========================================================

Everything is written into a hidden temporary folder beside the target and
renamed at the end, so a failure never leaves a half-written plan.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import shutil
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import scipy.sparse as sp

from siting._errors import OutputError
from siting.plan import Plan

__all__ = ["PLAN_LAYERS", "load_plan", "write_plan"]

log = logging.getLogger(__name__)

PLAN_LAYERS: tuple[str, ...] = ("sites", "candidates", "demand", "zones", "towns", "study_area")
SITE_CSV_COLUMNS: tuple[str, ...] = (
    "candidate_id",
    "site_class",
    "source",
    "kind",
    "name",
    "owner",
    "responsible_unit",
    "town_id",
    "height_m",
    "band",
    "cost",
    "existing",
    "rollout_year",
    "marginal_gain",
    "population_new",
    "status",
    "lon",
    "lat",
)
_PACKAGES = (
    "siting",
    "geopandas",
    "shapely",
    "pyogrio",
    "pyproj",
    "numpy",
    "scipy",
    "pandas",
    "pulp",
    "highspy",
    "folium",
)

Writer = Callable[[Plan, Path], None]


def versions() -> dict[str, str]:
    """Versions of Python, GDAL and the packages a plan depends on."""
    import pyogrio

    out = {"python": platform.python_version(), "gdal": pyogrio.__gdal_version_string__}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _sites_wgs84(sites: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Sites in EPSG:4326 with lon/lat columns."""
    out = sites.to_crs(4326)
    out["lon"] = out.geometry.x.round(7)
    out["lat"] = out.geometry.y.round(7)
    return out


def _write_tables(plan: Plan, folder: Path) -> None:
    """Write the GeoPackages and CSV statistics."""
    gpkg = folder / "plan.gpkg"
    for layer in PLAN_LAYERS:
        gdf: gpd.GeoDataFrame = getattr(plan, layer)
        gdf.to_file(gpkg, layer=layer, driver="GPKG", engine="pyogrio")
    sites = _sites_wgs84(plan.sites)
    sites.to_file(folder / "sites.gpkg", layer="sites", driver="GPKG", engine="pyogrio")
    sites[list(SITE_CSV_COLUMNS)].to_csv(folder / "sites.csv", index=False)
    plan.towns.drop(columns="geometry").to_csv(folder / "stats_towns.csv", index=False)
    plan.zones.drop(columns="geometry").to_csv(folder / "stats_zones.csv", index=False)
    classes = (
        plan.sites.groupby(["rollout_year", "site_class"])
        .agg(n_sites=("candidate_id", "size"), cost=("cost", "sum"))
        .reset_index()
    )
    classes.to_csv(folder / "stats_classes.csv", index=False)
    if plan.curve is not None:
        plan.curve.to_csv(folder / "curve.csv", index=False)
    if plan.site_coverage is not None:
        sp.save_npz(folder / "site_coverage.npz", sp.csc_matrix(plan.site_coverage))


def manifest(plan: Plan) -> dict[str, Any]:
    """The run manifest: everything needed to reproduce and audit the plan."""
    return {
        "name": plan.name,
        "crs": plan.sites.crs.to_string() if plan.sites.crs else None,
        "created_by": f"siting {versions()['siting']}",
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "config": plan.config,
        "inputs": plan.inputs,
        "versions": versions(),
        "solve": plan.solve,
        "stats": plan.stats,
        "targets": {str(k): v for k, v in plan.targets.items()},
        "cell_size_m": plan.cell_size_m,
        "timings": plan.timings,
    }


def _write_rsrp(plan: Plan, folder: Path) -> None:
    """Best-server RSRP GeoTIFF of the plan (radio model only)."""
    if plan.site_rsrp is None:
        return
    from siting.radio import write_rsrp_geotiff

    path = write_rsrp_geotiff(
        folder / "rsrp.tif",
        plan.demand,
        sp.csr_matrix(plan.site_rsrp),
        np.arange(plan.site_rsrp.shape[1]),
        cell_size_m=plan.cell_size_m,
    )
    plan.rsrp_path = path


def _write_map(plan: Plan, folder: Path) -> None:
    from siting.maps import write_map

    write_map(plan, folder / "map.html")


def _write_report(plan: Plan, folder: Path) -> None:
    from siting.report import write_report

    write_report(plan, folder, curve=plan.curve)


def _write_spreadsheets(plan: Plan, folder: Path) -> None:
    from siting.export import export_plan

    export_plan(plan, folder)


def _default_writers(plan: Plan) -> list[Writer]:
    """Writers of the optional outputs the configuration asks for."""
    outputs = plan.config.get("outputs", {})
    chosen = [
        (True, _write_rsrp),
        (outputs.get("map", True), _write_map),
        (outputs.get("report", True), _write_report),
        (outputs.get("spreadsheets", True), _write_spreadsheets),
    ]
    return [writer for wanted, writer in chosen if wanted]


def write_plan(
    plan: Plan,
    out_dir: str | Path,
    *,
    overwrite: bool = False,
    writers: list[Writer] | None = None,
) -> Path:
    """Write a plan folder atomically.

    Parameters
    ----------
    plan
        The plan.
    out_dir
        Target folder.
    overwrite
        Replace an existing non-empty folder; otherwise refuse.
    writers
        Extra outputs, each called as ``writer(plan, folder)``; by default the map
        (and the other outputs the configuration enables).

    Returns
    -------
    pathlib.Path
        The written folder.

    Raises
    ------
    OutputError
        If the folder exists and ``overwrite`` is false, or writing fails.
    """
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise OutputError(
            f"output folder {out} exists and is not empty; choose another --out or pass --overwrite"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    timings = plan.timings
    try:
        start = time.perf_counter()
        _write_tables(plan, tmp)
        for writer in _default_writers(plan) if writers is None else writers:
            writer(plan, tmp)
        timings["outputs"] = round(time.perf_counter() - start, 3)
        (tmp / "manifest.json").write_text(
            json.dumps(manifest(plan), indent=2, ensure_ascii=False, default=str),
            encoding="utf-8",
        )
        _swap_into_place(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if plan.rsrp_path is not None:
        plan.rsrp_path = out / plan.rsrp_path.name
    log.info("plan written to %s", out)
    return out


def _swap_into_place(tmp: Path, out: Path) -> None:
    """Rename the finished temporary folder to its target."""
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    if out.exists():
        out.rename(old)
    tmp.rename(out)
    shutil.rmtree(old, ignore_errors=True)


def load_plan(plan_dir: str | Path) -> Plan:
    """Read a plan folder written by :func:`write_plan`.

    Parameters
    ----------
    plan_dir
        The folder.

    Returns
    -------
    Plan
        The plan (``rsrp_path`` set when the folder holds ``rsrp.tif``).

    Raises
    ------
    OutputError
        If the folder, its manifest or its GeoPackage is missing or corrupt.
    """
    folder = Path(plan_dir)
    man_path, gpkg = folder / "manifest.json", folder / "plan.gpkg"
    for path in (folder, man_path, gpkg):
        if not path.exists():
            raise OutputError(
                f"{path} does not exist; is {folder} a plan folder written by siting?"
            )
    try:
        man = json.loads(man_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise OutputError(f"{man_path} is not valid JSON ({exc}); rewrite the plan") from exc
    layers = _read_layers(gpkg)
    rsrp = folder / "rsrp.tif"
    cov_path = folder / "site_coverage.npz"
    return Plan(
        name=man.get("name", folder.name),
        **layers,
        stats=man.get("stats", {}),
        solve=man.get("solve", {}),
        cell_size_m=float(man.get("cell_size_m", 100.0)),
        targets={int(k): int(v) for k, v in man.get("targets", {}).items()},
        rsrp_path=rsrp if rsrp.exists() else None,
        config=man.get("config", {}),
        timings=man.get("timings", {}),
        inputs=man.get("inputs", {}),
        site_coverage=sp.load_npz(cov_path).tocsc() if cov_path.exists() else None,
    )


def _read_layers(gpkg: Path) -> dict[str, gpd.GeoDataFrame]:
    """Read every plan layer of a plan GeoPackage."""
    from pyogrio.errors import DataLayerError, DataSourceError

    out = {}
    for layer in PLAN_LAYERS:
        try:
            gdf = gpd.read_file(gpkg, layer=layer, engine="pyogrio")
        except (DataSourceError, DataLayerError) as exc:
            raise OutputError(
                f"{gpkg}: cannot read layer {layer!r} ({exc}); rewrite the plan"
            ) from exc
        out[layer] = gdf
    demand = out["demand"]
    if "covered" not in demand.columns:
        raise OutputError(f"{gpkg}: layer 'demand' has no 'covered' column; rewrite the plan")
    out["demand"] = demand.astype({"covered": bool})
    return out
