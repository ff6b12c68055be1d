"""Stage 2: candidate sites from poles, rooftops and existing sites.

Contract of the returned GeoDataFrame (working CRS, one Point per candidate,
sorted by ``candidate_id``, default RangeIndex):

==================  =======  ====================================================
column              dtype    meaning
==================  =======  ====================================================
candidate_id        str      stable ID: ``P-<pole_id>``, ``R-<building_id>``,
                             ``E-<site_id>``, ``T-<parcel_id>-<n>``
source              str      ``pole``, ``rooftop``, ``existing`` or ``tower``
                             (a new tower on land that allows one)
site_class          str      one of :data:`siting.config.SITE_CLASSES`
kind                str      pole kind, building use or ``existing``
name                str      display name (may be empty)
owner               str      asset owner
responsible_unit    str      unit responsible for opening the asset
height_m            float    antenna height above ground
band                str      NR band
cost                float    cost of building the site (CNY)
town_id             str      town containing the site ("" outside every town)
env                 str      ``urban``, ``suburban`` or ``rural``
existing            bool     an existing site (co-location / upgrade)
fixed               bool     must be in every plan (existing sites kept)
==================  =======  ====================================================
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from siting._errors import ConfigError
from siting._geo import classify_environment, points_xy, town_of
from siting.config import CandidatesConfig, Config
from siting.layers import Layers

__all__ = ["CANDIDATE_COLUMNS", "build_candidates", "validate_candidates"]

CANDIDATE_COLUMNS: tuple[str, ...] = (
    "candidate_id",
    "source",
    "site_class",
    "kind",
    "name",
    "owner",
    "responsible_unit",
    "height_m",
    "band",
    "cost",
    "town_id",
    "env",
    "existing",
    "fixed",
)

#: Extra mast height above a rooftop (metres).
ROOFTOP_MAST_M = 3.0
#: Extra cost of a power upgrade for a pole without power (CNY).
POWER_UPGRADE_COST = 20_000.0


def _class_values(classes: pd.Series, cfg: CandidatesConfig, attr: str) -> np.ndarray:
    """Look up one attribute of each row's site class."""
    table = {name: getattr(c, attr) for name, c in cfg.classes.items()}
    return classes.map(table).to_numpy()


def _from_poles(poles: gpd.GeoDataFrame, cfg: CandidatesConfig) -> gpd.GeoDataFrame:
    """Small-cell candidates on public poles."""
    cls = poles["kind"].map(cfg.pole_classes)
    height = poles["height_m"].to_numpy(dtype=float)
    height = np.where(np.isfinite(height), height, _class_values(cls, cfg, "height_m"))
    cost = _class_values(cls, cfg, "cost") + np.where(
        poles["has_power"].to_numpy(bool), 0.0, POWER_UPGRADE_COST
    )
    return gpd.GeoDataFrame(
        {
            "candidate_id": "P-" + poles["pole_id"].astype(str),
            "source": "pole",
            "site_class": cls.to_numpy(),
            "kind": poles["kind"].to_numpy(),
            "name": poles["name"].to_numpy(),
            "owner": poles["owner"].to_numpy(),
            "height_m": height,
            "cost": cost,
        },
        geometry=poles.geometry.values,
        crs=poles.crs,
    )


def _thin_by_grid(xy: np.ndarray, height: np.ndarray, spacing: float) -> np.ndarray:
    """Keep the tallest point per ``spacing``-sized grid square; return kept positions."""
    if spacing <= 0 or len(xy) == 0:
        return np.arange(len(xy))
    key = np.floor(xy / spacing).astype(np.int64)
    order = np.lexsort((-height, key[:, 1], key[:, 0]))
    k = key[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = np.any(k[1:] != k[:-1], axis=1)
    return np.sort(order[first])


def _from_rooftops(buildings: gpd.GeoDataFrame, cfg: CandidatesConfig) -> gpd.GeoDataFrame:
    """Macro candidates on rooftops of tall enough buildings of suitable use."""
    ok = (buildings["height_m"].to_numpy(dtype=float) >= cfg.rooftop_min_height_m) & buildings[
        "use"
    ].isin(cfg.rooftop_uses).to_numpy()
    b = buildings[ok]
    points = shapely.point_on_surface(b.geometry.values)
    keep = _thin_by_grid(
        shapely.get_coordinates(points), b["height_m"].to_numpy(float), cfg.rooftop_min_spacing_m
    )
    b = b.iloc[keep]
    site = cfg.classes["macro_rooftop"]
    return gpd.GeoDataFrame(
        {
            "candidate_id": "R-" + b["building_id"].astype(str).to_numpy(),
            "source": "rooftop",
            "site_class": "macro_rooftop",
            "kind": b["use"].to_numpy(),
            "name": "",
            "owner": b["owner"].to_numpy(),
            "height_m": b["height_m"].to_numpy(float) + ROOFTOP_MAST_M,
            "cost": site.cost,
        },
        geometry=points[keep],
        crs=buildings.crs,
    )


def _from_parcels(parcels: gpd.GeoDataFrame, cfg: CandidatesConfig) -> gpd.GeoDataFrame:
    """New-tower candidates on a grid over parcels whose land use allows towers."""
    ok = parcels[parcels["land_use"].isin(cfg.tower_land_uses)]
    if len(ok) == 0 or cfg.tower_spacing_m <= 0:
        return gpd.GeoDataFrame(geometry=[], crs=parcels.crs)
    step = cfg.tower_spacing_m
    minx, miny, maxx, maxy = ok.total_bounds
    gx, gy = np.meshgrid(
        np.arange(np.floor(minx / step) * step + step / 2, maxx, step),
        np.arange(np.floor(miny / step) * step + step / 2, maxy, step),
    )
    points = shapely.points(gx.ravel(), gy.ravel())
    pt, parcel = shapely.STRtree(ok.geometry.values).query(points, predicate="within")
    first = np.unique(pt, return_index=True)[1]
    pt, parcel = pt[first], parcel[first]
    pid = ok["parcel_id"].to_numpy()[parcel].astype(str)
    nth = pd.Series(pid).groupby(pid).cumcount().to_numpy()
    site = cfg.classes["macro_tower"]
    return gpd.GeoDataFrame(
        {
            "candidate_id": np.char.add(np.char.add("T-", pid), np.char.add("-", nth.astype(str))),
            "source": "tower",
            "site_class": "macro_tower",
            "kind": ok["land_use"].to_numpy()[parcel],
            "name": "",
            "owner": "",
            "height_m": site.height_m,
            "cost": site.cost,
        },
        geometry=points[pt],
        crs=parcels.crs,
    )


def _from_existing(sites: gpd.GeoDataFrame, cfg: CandidatesConfig) -> gpd.GeoDataFrame:
    """Co-location candidates on existing sites."""
    site = cfg.classes["colocation"]
    height = sites["height_m"].to_numpy(dtype=float)
    return gpd.GeoDataFrame(
        {
            "candidate_id": "E-" + sites["site_id"].astype(str),
            "source": "existing",
            "site_class": "colocation",
            "kind": "existing",
            "name": sites["name"].to_numpy(),
            "owner": sites["operator"].to_numpy(),
            "height_m": np.where(np.isfinite(height), height, site.height_m),
            "cost": site.cost,
        },
        geometry=sites.geometry.values,
        crs=sites.crs,
    )


def build_candidates(layers: Layers, cfg: Config) -> gpd.GeoDataFrame:
    """Make one candidate row per possible site.

    Parameters
    ----------
    layers
        The validated input layers.
    cfg
        The run configuration (its ``candidates`` section).

    Returns
    -------
    geopandas.GeoDataFrame
        Candidates following the module's contract.

    Raises
    ------
    ConfigError
        If no candidate is left after the class filter.
    """
    cc = cfg.candidates
    parts = []
    if len(layers.poles):
        parts.append(_from_poles(layers.poles, cc))
    if len(layers.buildings):
        parts.append(_from_rooftops(layers.buildings, cc))
    if len(layers.parcels) and cc.tower_land_uses:
        parts.append(_from_parcels(layers.parcels, cc))
    if len(layers.existing_sites) and cc.existing != "ignore":
        parts.append(_from_existing(layers.existing_sites, cc))
    if not parts:
        raise ConfigError(
            "no candidate sites: give a poles, buildings, parcels or existing_sites layer"
        )
    cand = pd.concat(parts, ignore_index=True)
    if cc.allowed_classes is not None:
        allowed = cand["site_class"].isin(cc.allowed_classes) | (
            (cand["source"] == "existing") & (cc.existing == "keep")
        )
        cand = cand[allowed]
    if len(cand) == 0:
        raise ConfigError(
            f"no candidate sites left after candidates.allowed_classes={cc.allowed_classes}; "
            "allow more classes"
        )
    cand = cand.sort_values("candidate_id", kind="stable").reset_index(drop=True)
    cand = gpd.GeoDataFrame(cand, geometry="geometry", crs=layers.crs)
    return _attribute(cand, layers, cfg)


def _attribute(cand: gpd.GeoDataFrame, layers: Layers, cfg: Config) -> gpd.GeoDataFrame:
    """Add band, responsible unit, town, environment and the fixed flag."""
    cc = cfg.candidates
    cand["band"] = _class_values(cand["site_class"], cc, "band")
    unit = cand["site_class"].map(cc.responsible_units).fillna("")
    rooftop = (cand["source"] == "rooftop") & (cand["owner"] != "")
    cand["responsible_unit"] = np.where(rooftop, cand["owner"], unit)
    cand["town_id"] = town_of(cand.geometry, layers.towns)
    cand["env"] = classify_environment(points_xy(cand), layers.buildings)
    cand["existing"] = (cand["source"] == "existing").to_numpy()
    cand["fixed"] = cand["existing"].to_numpy() & (cc.existing == "keep")
    cand["height_m"] = cand["height_m"].astype("float64")
    cand["cost"] = cand["cost"].astype("float64")
    return cand[[*CANDIDATE_COLUMNS, "geometry"]]


def validate_candidates(cand: gpd.GeoDataFrame) -> list[str]:
    """Check a candidate table against the contract.

    Parameters
    ----------
    cand
        The candidates.

    Returns
    -------
    list of str
        The problems found (empty when valid).
    """
    problems = [f"candidates: missing column {c!r}" for c in CANDIDATE_COLUMNS if c not in cand]
    if cand.crs is None or not cand.crs.is_projected:
        problems.append("candidates: CRS must be projected")
    if "candidate_id" in cand and cand["candidate_id"].duplicated().any():
        problems.append("candidates: candidate_id values are not unique")
    if "cost" in cand and (cand["cost"] < 0).any():
        problems.append("candidates: negative cost")
    if len(cand) and not (cand.geom_type == "Point").all():
        problems.append("candidates: geometries must be points")
    return problems
