"""Small vectorised geometry helpers shared by the pipeline stages."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from scipy.spatial import cKDTree

__all__ = ["ENV_RADIUS_M", "classify_environment", "points_xy", "town_of"]

#: Radius (metres) of the neighbourhood used to classify a point's environment.
ENV_RADIUS_M = 500.0
#: Buildings within ENV_RADIUS_M from which a point counts as urban / suburban.
URBAN_MIN_BUILDINGS = 40
SUBURBAN_MIN_BUILDINGS = 8


def points_xy(gdf: gpd.GeoDataFrame) -> np.ndarray:
    """Return an ``(n, 2)`` float64 array of point coordinates."""
    return shapely.get_coordinates(gdf.geometry.values).astype("float64", copy=False)


def classify_environment(xy: np.ndarray, buildings: gpd.GeoDataFrame) -> np.ndarray:
    """Classify points as urban, suburban or rural by nearby building count.

    Parameters
    ----------
    xy
        ``(n, 2)`` point coordinates in the working CRS (metres).
    buildings
        Building footprints in the same CRS.

    Returns
    -------
    numpy.ndarray
        ``"urban"``, ``"suburban"`` or ``"rural"`` per point (object dtype).
    """
    if len(buildings) == 0 or len(xy) == 0:
        return np.full(len(xy), "rural", dtype=object)
    centres = shapely.get_coordinates(shapely.centroid(buildings.geometry.values))
    counts = cKDTree(centres).query_ball_point(xy, ENV_RADIUS_M, return_length=True)
    env = np.full(len(xy), "rural", dtype=object)
    env[counts >= SUBURBAN_MIN_BUILDINGS] = "suburban"
    env[counts >= URBAN_MIN_BUILDINGS] = "urban"
    return env


def town_of(points: gpd.GeoSeries, towns: gpd.GeoDataFrame) -> np.ndarray:
    """Return the ``town_id`` containing each point ("" outside every town).

    Points on a shared border go to the first town in ``towns`` order.
    """
    out = np.full(len(points), "", dtype=object)
    if len(towns) == 0 or len(points) == 0:
        return out
    tree = shapely.STRtree(towns.geometry.values)
    pt_idx, town_idx = tree.query(points.values, predicate="intersects")
    order = np.lexsort((town_idx, pt_idx))
    pt_idx, town_idx = pt_idx[order], town_idx[order]
    first = np.unique(pt_idx, return_index=True)[1]
    out[pt_idx[first]] = towns["town_id"].to_numpy()[town_idx[first]]
    return out
