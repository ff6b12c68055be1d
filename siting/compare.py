"""Compare two plan folders: sites added / removed / kept, coverage and cost deltas.

>>> cmp = compare_plans("out/plan-2020", "out/plan-2021")      # doctest: +SKIP
>>> write_comparison(cmp, "out/compare")                        # doctest: +SKIP

A plan folder is what the planner writes (``plan.gpkg`` with the layers sites, demand,
zones, towns and study_area, and ``manifest.json``). Sites are matched by their stable
``candidate_id``. Both plans must use the same CRS and the same study area.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from siting._errors import LayerError, OutputError

__all__ = ["Comparison", "compare_plans", "comparison_map", "write_comparison"]

logger = logging.getLogger(__name__)

_LAYERS = ("sites", "towns", "zones", "study_area")
_COVERAGE = {"towns": ("town_id", "coverage"), "zones": ("zone_id", "covered_fraction")}
_AREA_TOLERANCE = 1e-3  # share of the union area the two study areas may differ by


@dataclass(frozen=True)
class _PlanData:
    name: str
    path: Path
    sites: gpd.GeoDataFrame
    towns: gpd.GeoDataFrame
    zones: gpd.GeoDataFrame
    study_area: gpd.GeoDataFrame
    manifest: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Comparison:
    """The difference between plan A and plan B.

    Attributes
    ----------
    name_a, name_b
        The plans' names.
    sites
        Every site of either plan (B's geometry for kept ones) with ``change`` in
        {"added", "removed", "kept"} (added = in B only).
    towns
        Per town: coverage, site count and cost in A and B, and ``coverage_delta`` (B - A).
    zones
        Per key zone: covered fraction and met in A and B, and ``coverage_delta``.
    cost_a, cost_b
        Total cost of each plan (CNY).
    study_area
        The (shared) study area.
    """

    name_a: str
    name_b: str
    sites: gpd.GeoDataFrame
    towns: pd.DataFrame
    zones: pd.DataFrame
    cost_a: float
    cost_b: float
    study_area: gpd.GeoDataFrame

    @property
    def cost_delta(self) -> float:
        """Cost of B minus cost of A."""
        return self.cost_b - self.cost_a

    def counts(self) -> dict[str, int]:
        """Number of sites added, removed and kept."""
        vc = self.sites["change"].value_counts()
        return {k: int(vc.get(k, 0)) for k in ("added", "removed", "kept")}

    def summary(self) -> dict[str, Any]:
        """Headline figures as a JSON-ready dict."""
        return {
            "plan_a": self.name_a,
            "plan_b": self.name_b,
            "sites": self.counts(),
            "cost_a": self.cost_a,
            "cost_b": self.cost_b,
            "cost_delta": self.cost_delta,
            "towns_better": int((self.towns["coverage_delta"] > 1e-9).sum()),
            "towns_worse": int((self.towns["coverage_delta"] < -1e-9).sum()),
            "zones_met_a": int(self.zones["met_a"].fillna(False).astype(bool).sum()),
            "zones_met_b": int(self.zones["met_b"].fillna(False).astype(bool).sum()),
        }


# ----------------------------------------------------------------------------------------------
# reading


def _read_plan(folder: str | os.PathLike[str]) -> _PlanData:
    """Read the layers a comparison needs from a plan folder (clear errors, no guessing)."""
    import pyogrio
    from pyogrio.errors import DataLayerError, DataSourceError

    path = Path(folder)
    if not path.is_dir():
        raise OutputError(f"plan folder {path} does not exist; pass a folder written by "
                          "`siting plan`")
    gpkg = path / "plan.gpkg"
    if not gpkg.is_file():
        raise OutputError(f"plan folder {path} has no plan.gpkg; it is not a complete plan "
                          "(re-run `siting plan`)")
    try:
        present = {str(row[0]) for row in pyogrio.list_layers(gpkg)}
    except (DataSourceError, OSError) as exc:
        raise OutputError(f"cannot read {gpkg}: {exc}; the file is corrupt, re-run "
                          "`siting plan`") from exc
    missing = [name for name in _LAYERS if name not in present]
    if missing:
        raise LayerError(f"{gpkg} lacks layer(s) {missing}; re-run `siting plan` to write a "
                         "complete plan")
    layers = {}
    for name in _LAYERS:
        try:
            layers[name] = gpd.read_file(gpkg, layer=name, engine="pyogrio")
        except (DataSourceError, DataLayerError, OSError, ValueError) as exc:
            raise OutputError(f"cannot read layer {name!r} of {gpkg}: {exc}; re-run "
                              "`siting plan`") from exc
    for name, (key, cov) in _COVERAGE.items():
        lacking = [c for c in (key, cov) if c not in layers[name].columns]
        if lacking:
            raise LayerError(f"layer {name!r} of {gpkg} has no coverage data (missing "
                             f"{lacking}); run the coverage stage before comparing")
    if "candidate_id" not in layers["sites"].columns:
        raise LayerError(f"layer 'sites' of {gpkg} has no candidate_id column")
    manifest = _read_manifest(path)
    name = str(manifest.get("name") or path.name)
    return _PlanData(name=name, path=path, manifest=manifest, **layers)


def _read_manifest(path: Path) -> dict[str, Any]:
    file = path / "manifest.json"
    if not file.is_file():
        return {}
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise OutputError(f"cannot read {file}: {exc}; the manifest is corrupt") from exc
    if not isinstance(data, dict):
        raise OutputError(f"{file} is not a JSON object; the manifest is corrupt")
    return data


def _check_same_frame(a: _PlanData, b: _PlanData) -> None:
    crs = {(p.path, n): getattr(p, n).crs for p in (a, b) for n in _LAYERS}
    if any(c is None for c in crs.values()):
        raise LayerError("a layer of the plans has no CRS; re-run `siting plan`")
    if a.sites.crs != b.sites.crs or a.study_area.crs != b.study_area.crs:
        raise LayerError(
            f"plans use different CRSs: {a.path} has {a.study_area.crs.to_string()}, "
            f"{b.path} has {b.study_area.crs.to_string()}; plan both in the same CRS"
        )
    area_a = a.study_area.union_all()
    area_b = b.study_area.to_crs(a.study_area.crs).union_all()
    union = area_a.union(area_b).area
    diff = area_a.symmetric_difference(area_b).area
    if union <= 0 or diff / union > _AREA_TOLERANCE:
        raise LayerError(
            f"plans cover different study areas ({100 * diff / max(union, 1e-9):.1f} % of "
            f"their union differs): {a.path} vs {b.path}; compare plans of the same area"
        )


# ----------------------------------------------------------------------------------------------
# comparing


def compare_plans(a_dir: str | os.PathLike[str], b_dir: str | os.PathLike[str]) -> Comparison:
    """Compare plan B against plan A.

    Parameters
    ----------
    a_dir, b_dir
        Plan folders written by the planner.

    Returns
    -------
    Comparison
        Sites added / removed / kept, coverage delta per town and zone, cost delta.

    Raises
    ------
    OutputError
        When a folder is missing or a file in it is corrupt.
    LayerError
        When the plans use different CRSs or study areas, or a plan lacks coverage data.
    """
    a, b = _read_plan(a_dir), _read_plan(b_dir)
    _check_same_frame(a, b)
    sites = _site_changes(a.sites, b.sites.to_crs(a.sites.crs))
    return Comparison(
        name_a=a.name,
        name_b=b.name,
        sites=sites,
        towns=_delta(a.towns, b.towns, key="town_id", value="coverage",
                     extra=("n_sites", "cost", "population", "covered_population")),
        zones=_delta(a.zones, b.zones, key="zone_id", value="covered_fraction",
                     extra=("met", "sites_serving")),
        cost_a=_total(a.sites, "cost"),
        cost_b=_total(b.sites, "cost"),
        study_area=a.study_area,
    )


def _total(gdf: pd.DataFrame, col: str) -> float:
    return float(pd.to_numeric(gdf[col], errors="coerce").sum()) if col in gdf else float("nan")


def _site_changes(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    ida = a["candidate_id"].astype(str)
    idb = b["candidate_id"].astype(str)
    in_a = idb.isin(set(ida))
    in_b = ida.isin(set(idb))
    kept = b.loc[in_a.to_numpy()].assign(change="kept")
    added = b.loc[~in_a.to_numpy()].assign(change="added")
    removed = a.loc[~in_b.to_numpy()].assign(change="removed")
    out = pd.concat([added, removed, kept], ignore_index=True)
    year_a = pd.Series(a["rollout_year"].to_numpy(), index=ida) if "rollout_year" in a else None
    if year_a is not None:
        out["rollout_year_a"] = out["candidate_id"].astype(str).map(year_a)
    return gpd.GeoDataFrame(out, geometry=a.geometry.name, crs=a.crs)


def _delta(
    a: pd.DataFrame, b: pd.DataFrame, *, key: str, value: str, extra: tuple[str, ...]
) -> pd.DataFrame:
    keep = [key, value, *[c for c in extra if c in a.columns or c in b.columns]]
    names = [c for c in ("name", "name_en") if c in a.columns or c in b.columns]
    ta = pd.DataFrame(a.drop(columns=a.geometry.name)).reindex(columns=keep + names)
    tb = pd.DataFrame(b.drop(columns=b.geometry.name)).reindex(columns=keep + names)
    ta[key] = ta[key].astype(str)
    tb[key] = tb[key].astype(str)
    merged = ta.merge(tb, on=key, how="outer", suffixes=("_a", "_b"), sort=True)
    for n in names:
        merged[n] = merged[f"{n}_b"].fillna(merged[f"{n}_a"])
        merged = merged.drop(columns=[f"{n}_a", f"{n}_b"])
    merged["coverage_delta"] = (
        pd.to_numeric(merged[f"{value}_b"], errors="coerce")
        - pd.to_numeric(merged[f"{value}_a"], errors="coerce")
    )
    return merged[[key, *names, *[c for c in merged.columns if c not in (key, *names)]]]


# ----------------------------------------------------------------------------------------------
# writing


def write_comparison(cmp: Comparison, out_dir: str | os.PathLike[str]) -> Path:
    """Write a comparison folder: tables (CSV), summary.json and compare_map.html.

    Everything is written into a temporary folder beside ``out_dir`` and renamed at the end;
    on any error nothing is left behind.

    Parameters
    ----------
    cmp
        The comparison.
    out_dir
        The folder to create; it must not exist yet (or be empty).

    Returns
    -------
    pathlib.Path
        The folder written.
    """
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise OutputError(f"{out} already exists and is not an empty folder; remove it or "
                          "choose another --out")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    except OSError as exc:
        raise OutputError(f"cannot create {out}: {exc}; choose a writable folder") from exc
    try:
        _write_tables(cmp, tmp)
        _write_map(cmp, tmp / "compare_map.html")
        if out.exists():
            out.rmdir()
        os.replace(tmp, out)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise OutputError(f"cannot write the comparison to {out}: {exc}") from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    logger.info("wrote comparison %s", out)
    return out


def _write_tables(cmp: Comparison, folder: Path) -> None:
    wgs = cmp.sites.geometry.to_crs("EPSG:4326")
    sites = pd.DataFrame(cmp.sites.drop(columns=cmp.sites.geometry.name))
    sites["lon"] = np.round(wgs.x.to_numpy(), 6)
    sites["lat"] = np.round(wgs.y.to_numpy(), 6)
    first = ["change", "candidate_id"]
    sites = sites[first + [c for c in sites.columns if c not in first]]
    sites.to_csv(folder / "sites_diff.csv", index=False, encoding="utf-8-sig")
    cmp.towns.to_csv(folder / "towns_delta.csv", index=False, encoding="utf-8-sig")
    cmp.zones.to_csv(folder / "zones_delta.csv", index=False, encoding="utf-8-sig")
    (folder / "summary.json").write_text(
        json.dumps(cmp.summary(), ensure_ascii=False, indent=2, default=float), encoding="utf-8"
    )


_CHANGE_STYLE = {"added": "#1a9850", "removed": "#d73027", "kept": "#666666"}
_SITE_TIPS = [
    ("Site ID 站点编号", "candidate_id", "text"),
    ("Name 名称", "name", "text"),
    ("Class 类型", "site_class", "text"),
    ("Owner 产权单位", "owner", "text"),
    ("Cost 造价", "cost", "cny"),
    ("Rollout year 建设年份", "rollout_year", "text"),
]


def comparison_map(cmp: Comparison) -> Any:
    """A folium map with both plans: added (green), removed (red) and kept (grey) sites.

    Parameters
    ----------
    cmp
        The comparison.

    Returns
    -------
    folium.Map
        The self-contained map (shows inline in a notebook).
    """
    from siting import maps

    study = cmp.study_area.to_crs(maps.MAP_CRS)
    m = maps._base_map(study, base="osm")
    sites = cmp.sites.to_crs(maps.MAP_CRS)
    for change in ("kept", "added", "removed"):
        part = sites.loc[sites["change"] == change]
        data = maps._point_data(
            part,
            plain=("candidate_id", "name", "cost"),
            encoded=("site_class", "owner", "rollout_year"),
        )
        data["r"] = [5] * len(part)
        label = {"kept": "Kept 保留", "added": f"Added in {cmp.name_b} 新增",
                 "removed": f"Removed (only in {cmp.name_a}) 删除"}[change]
        spec = {"color": _CHANGE_STYLE[change], "fields": _SITE_TIPS}
        maps._JsLayer("points", data, spec, name=f"{label} ({len(part):,})").add_to(m)
    maps._add_study_area(m, study)
    maps._LayerControl(collapsed=False, position="topright").add_to(m)
    return m


def _write_map(cmp: Comparison, path: Path) -> None:
    """Write :func:`comparison_map` to ``path``."""
    path.write_text(comparison_map(cmp).get_root().render(), encoding="utf-8")
