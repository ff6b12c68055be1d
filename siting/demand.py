"""Stage 3: the demand grid, weighted by population and zone priority.

Contract of :attr:`DemandGrid.cells` (working CRS, one Point per cell at its
centre, sorted by ``cell_id``, default RangeIndex):

=============  =========  ========================================================
column         dtype      meaning
=============  =========  ========================================================
cell_id        int64      ``row * n_cols + col`` of the grid anchored at the study
                          area's lower-left corner (stable for a given area and
                          cell size)
population     float64    residents of the cell (from the population raster or
                          tile table when the config gives one, else the sum
                          of building populations)
weight         float64    ``(population + area_weight) * priority``
town_id        str        town containing the cell centre ("" if none)
zone_id        str        highest-priority key zone of the cell ("" if none)
service_level  str        service level the cell must get
k              int64      distinct sites that must cover the cell
rsrp_min_dbm   float32    RSRP threshold of the service level (radio model)
range_factor   float64    share of a class range valid for the level (range model)
indoor_share   float64    share of demand indoors
env            str        ``urban``, ``suburban`` or ``rural``
=============  =========  ========================================================
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from siting._errors import LayerError
from siting._geo import classify_environment, town_of
from siting.config import Config, ServiceLevel
from siting.layers import LINEAR, Layers
from siting.population import aggregate_to_cells

__all__ = ["DEMAND_COLUMNS", "DemandGrid", "build_demand", "zone_membership"]

DEMAND_COLUMNS: tuple[str, ...] = (
    "cell_id",
    "population",
    "weight",
    "town_id",
    "zone_id",
    "service_level",
    "k",
    "rsrp_min_dbm",
    "range_factor",
    "indoor_share",
    "env",
)


@dataclass(frozen=True)
class DemandGrid:
    """The demand cells and which of them lie in each key zone.

    Attributes
    ----------
    cells
        The cells (see the module contract).
    zone_cells
        For each ``zone_id``, the sorted positions of its cells in ``cells``.
    cell_size_m
        Side of a cell in metres.
    """

    cells: gpd.GeoDataFrame
    zone_cells: dict[str, np.ndarray]
    cell_size_m: float


def _grid(area: gpd.GeoDataFrame, size: float) -> tuple[np.ndarray, np.ndarray]:
    """Cell ids and centres of the grid cells whose centre lies in the area."""
    minx, miny, maxx, maxy = area.total_bounds
    n_cols = int(np.ceil((maxx - minx) / size))
    n_rows = int(np.ceil((maxy - miny) / size))
    cols, rows = np.meshgrid(np.arange(n_cols), np.arange(n_rows))
    x = minx + (cols.ravel() + 0.5) * size
    y = miny + (rows.ravel() + 0.5) * size
    poly = area.geometry.values[0]
    shapely.prepare(poly)
    inside = shapely.contains_xy(poly, x, y)
    ids = (rows.ravel() * n_cols + cols.ravel()).astype(np.int64)
    return ids[inside], np.column_stack([x[inside], y[inside]])


def _population(xy: np.ndarray, buildings: gpd.GeoDataFrame) -> np.ndarray:
    """Sum building populations onto their nearest cell (the total is preserved)."""
    pop = np.zeros(len(xy))
    if len(buildings) == 0:
        return pop
    people = buildings["population"].to_numpy(dtype=float)
    has = people > 0
    if not has.any():
        return pop
    centres = shapely.get_coordinates(shapely.centroid(buildings.geometry.values[has]))
    nearest = cKDTree(xy).query(centres)[1]
    return np.bincount(nearest, weights=people[has], minlength=len(xy))


def zone_membership(
    zones: gpd.GeoDataFrame, xy: np.ndarray, *, cell_size_m: float
) -> dict[str, np.ndarray]:
    """Find the demand cells of each key zone.

    A polygon zone holds the cells whose centre it contains; a zone smaller than
    a cell holds the cell nearest its centroid. A line zone (a test road) holds
    every cell whose square it crosses.

    Parameters
    ----------
    zones
        Key zones with a ``zone_id`` column.
    xy
        ``(n, 2)`` cell centres.
    cell_size_m
        Cell side in metres.

    Returns
    -------
    dict
        ``zone_id`` -> sorted int64 positions into ``xy``.
    """
    half = cell_size_m / 2.0
    boxes = shapely.box(xy[:, 0] - half, xy[:, 1] - half, xy[:, 0] + half, xy[:, 1] + half)
    centres = shapely.points(xy)
    geoms = zones.geometry.values
    linear = np.isin(zones.geom_type.to_numpy(), LINEAR)
    tree = shapely.STRtree(boxes)
    z_line, c_line = tree.query(geoms[linear], predicate="intersects")
    tree_pts = shapely.STRtree(centres)
    z_poly, c_poly = tree_pts.query(geoms[~linear], predicate="intersects")
    zone_pos = np.concatenate([np.flatnonzero(linear)[z_line], np.flatnonzero(~linear)[z_poly]])
    cell_pos = np.concatenate([c_line, c_poly])
    ids = zones["zone_id"].to_numpy()
    out: dict[str, np.ndarray] = {}
    groups = pd.Series(cell_pos).groupby(zone_pos)
    for z, cells in groups:
        out[ids[z]] = np.unique(cells.to_numpy()).astype(np.int64)
    empty = [z for z in range(len(zones)) if ids[z] not in out]
    if empty:
        nearest = cKDTree(xy).query(shapely.get_coordinates(shapely.centroid(geoms[empty])))[1]
        for z, cell in zip(empty, nearest, strict=True):
            out[ids[z]] = np.array([cell], dtype=np.int64)
    return out


def _assign_levels(
    n: int,
    zones: gpd.GeoDataFrame,
    members: dict[str, np.ndarray],
    levels: dict[str, ServiceLevel],
    default: str,
) -> pd.DataFrame:
    """Give each cell the strictest service level of the zones it lies in."""
    zone_id = np.full(n, "", dtype=object)
    level = np.full(n, default, dtype=object)
    rank = np.full(n, -np.inf)
    priority = zones["service_level"].map({k: v.priority for k, v in levels.items()})
    for z in np.argsort(priority.to_numpy(), kind="stable"):
        row = zones.iloc[z]
        cells = members[row["zone_id"]]
        better = priority.iloc[z] >= rank[cells]
        zone_id[cells[better]] = row["zone_id"]
        level[cells[better]] = row["service_level"]
        rank[cells[better]] = priority.iloc[z]
    table = pd.DataFrame({"zone_id": zone_id, "service_level": level})
    for attr in ("k", "rsrp_min_dbm", "range_factor", "priority"):
        table[attr] = table["service_level"].map({k: getattr(v, attr) for k, v in levels.items()})
    # A cell in several zones needs the largest k any of them asks for.
    zone_level = zones.set_index("zone_id")["service_level"]
    for zid, cells in members.items():
        zone_k = levels[zone_level[zid]].k
        table.loc[cells, "k"] = np.maximum(table.loc[cells, "k"].to_numpy(), zone_k)
    return table


def build_demand(layers: Layers, cfg: Config) -> DemandGrid:
    """Lay the demand grid over the study area.

    Parameters
    ----------
    layers
        The validated input layers.
    cfg
        The run configuration (its ``demand`` section).

    Returns
    -------
    DemandGrid
        The cells and the key-zone membership.

    Raises
    ------
    LayerError
        If the study area is smaller than one cell.
    """
    dc = cfg.demand
    ids, xy = _grid(layers.study_area, dc.cell_size_m)
    if len(ids) == 0:
        raise LayerError(
            f"the study area holds no demand cell of {dc.cell_size_m} m; use a smaller "
            "demand.cell_size_m"
        )
    members = zone_membership(layers.key_zones, xy, cell_size_m=dc.cell_size_m)
    levels = _assign_levels(
        len(ids), layers.key_zones, members, dc.service_levels, dc.default_service_level
    )
    if layers.population is not None:
        population = aggregate_to_cells(
            layers.population, xy, cell_size=dc.cell_size_m, area=layers.study_area
        )
    else:
        population = _population(xy, layers.buildings)
    cells = gpd.GeoDataFrame(
        {
            "cell_id": ids,
            "population": population,
            "weight": (population + dc.area_weight) * levels["priority"].to_numpy(),
            "town_id": town_of(gpd.GeoSeries(shapely.points(xy)), layers.towns),
            "zone_id": levels["zone_id"].to_numpy(),
            "service_level": levels["service_level"].to_numpy(),
            "k": levels["k"].to_numpy(dtype=np.int64),
            "rsrp_min_dbm": levels["rsrp_min_dbm"].to_numpy(dtype=np.float32),
            "range_factor": levels["range_factor"].to_numpy(dtype=float),
            "indoor_share": np.where(population > 0, dc.indoor_share, 0.0),
            "env": classify_environment(xy, layers.buildings),
        },
        geometry=shapely.points(xy),
        crs=layers.crs,
    )
    return DemandGrid(cells=cells, zone_cells=members, cell_size_m=dc.cell_size_m)
