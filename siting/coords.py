"""Chinese web-map coordinates: GCJ-02 and BD-09 to and from WGS84.

Most Chinese web maps and geocoders (Amap/Gaode, Tencent, Google China) publish
**GCJ-02** ("Mars coordinates"): WGS84 longitude/latitude shifted by a
non-linear, location-dependent offset of a few hundred metres (about 500 m in
Shanghai). Baidu adds a further rotation-like offset on top of GCJ-02:
**BD-09**. Inventories geocoded with these services land hundreds of metres
from their true place when read as WGS84.

The forward transforms are the public formulas. GCJ-02 -> WGS84 and
BD-09 -> GCJ-02 have no closed form; they are inverted here by fixed-point
iteration to well under a millimetre (the one-step "subtract the offset"
inverse seen in many tools is off by up to a few metres). Points outside China
are returned unchanged, as the web maps do.

Every function is vectorised over numpy arrays.

Examples
--------
>>> import numpy as np
>>> lon, lat = wgs84_to_gcj02(np.array([121.2]), np.array([31.3]))
>>> back = gcj02_to_wgs84(lon, lat)
>>> bool(abs(back[0][0] - 121.2) < 1e-9 and abs(back[1][0] - 31.3) < 1e-9)
True
"""

from __future__ import annotations

from typing import Literal

import geopandas as gpd
import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray

from siting._errors import ConfigError, LayerError

__all__ = [
    "COORD_SYSTEMS",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "convert",
    "convert_frame",
    "convert_geometries",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "in_china",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

CoordSystem = Literal["wgs84", "gcj02", "bd09"]
#: Names of the coordinate systems understood by :func:`convert`.
COORD_SYSTEMS: tuple[str, ...] = ("wgs84", "gcj02", "bd09")

_A = 6378245.0  # semi-major axis of Krasovsky 1940, used by GCJ-02
_EE = 0.00669342162296594323  # its first eccentricity squared
_X_PI = np.pi * 3000.0 / 180.0
_TOL_DEG = 1e-11  # about 1 micrometre
_MAX_ITER = 50

FloatArray = NDArray[np.float64]


def in_china(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_]:
    """Return True where a point lies in the rough box where GCJ-02 applies.

    Parameters
    ----------
    lon, lat
        Longitudes and latitudes in degrees.

    Returns
    -------
    numpy.ndarray
        Boolean mask; points outside the box are never shifted.
    """
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    return (lon >= 72.004) & (lon <= 137.8347) & (lat >= 0.8293) & (lat <= 55.8271)


def _delta_lat(x: FloatArray, y: FloatArray) -> FloatArray:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    return ret


def _delta_lon(x: FloatArray, y: FloatArray) -> FloatArray:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    return ret


def _as_arrays(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    lon_a = np.array(lon, dtype=np.float64, ndmin=1)
    lat_a = np.array(lat, dtype=np.float64, ndmin=1)
    if lon_a.shape != lat_a.shape:
        raise ValueError(f"lon and lat differ in shape: {lon_a.shape} vs {lat_a.shape}")
    return lon_a, lat_a


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Shift WGS84 coordinates to GCJ-02.

    Parameters
    ----------
    lon, lat
        WGS84 longitudes and latitudes in degrees.

    Returns
    -------
    tuple of numpy.ndarray
        GCJ-02 longitudes and latitudes (unchanged outside China).
    """
    lon, lat = _as_arrays(lon, lat)
    x, y = lon - 105.0, lat - 35.0
    dlat, dlon = _delta_lat(x, y), _delta_lon(x, y)
    radlat = np.radians(lat)
    magic = 1.0 - _EE * np.sin(radlat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * np.cos(radlat) * np.pi)
    inside = in_china(lon, lat)
    return np.where(inside, lon + dlon, lon), np.where(inside, lat + dlat, lat)


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Shift GCJ-02 coordinates to Baidu's BD-09.

    Parameters
    ----------
    lon, lat
        GCJ-02 longitudes and latitudes in degrees.

    Returns
    -------
    tuple of numpy.ndarray
        BD-09 longitudes and latitudes (unchanged outside China).
    """
    lon, lat = _as_arrays(lon, lat)
    z = np.hypot(lon, lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    inside = in_china(lon, lat)
    bd_lon = z * np.cos(theta) + 0.0065
    bd_lat = z * np.sin(theta) + 0.006
    return np.where(inside, bd_lon, lon), np.where(inside, bd_lat, lat)


def _invert(forward: object, lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Invert a forward shift by fixed-point iteration (vectorised)."""
    x, y = lon.copy(), lat.copy()
    for _ in range(_MAX_ITER):
        fx, fy = forward(x, y)  # type: ignore[operator]
        dx, dy = fx - lon, fy - lat
        x -= dx
        y -= dy
        if not len(x) or max(np.nanmax(np.abs(dx)), np.nanmax(np.abs(dy))) < _TOL_DEG:
            break
    return x, y


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert GCJ-02 coordinates to WGS84 with the iterative inverse.

    Parameters
    ----------
    lon, lat
        GCJ-02 longitudes and latitudes in degrees.

    Returns
    -------
    tuple of numpy.ndarray
        WGS84 longitudes and latitudes; re-shifting them gives the input back to
        about a micrometre. Points outside China are unchanged.
    """
    lon, lat = _as_arrays(lon, lat)
    return _invert(wgs84_to_gcj02, lon, lat)


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert BD-09 coordinates to GCJ-02 with the iterative inverse.

    Parameters
    ----------
    lon, lat
        BD-09 longitudes and latitudes in degrees.

    Returns
    -------
    tuple of numpy.ndarray
        GCJ-02 longitudes and latitudes (unchanged outside China).
    """
    lon, lat = _as_arrays(lon, lat)
    return _invert(gcj02_to_bd09, lon, lat)


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Shift WGS84 coordinates to BD-09 (through GCJ-02)."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert BD-09 coordinates to WGS84 (through GCJ-02, both steps iterative)."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


_STEPS = {
    ("wgs84", "gcj02"): wgs84_to_gcj02,
    ("gcj02", "wgs84"): gcj02_to_wgs84,
    ("gcj02", "bd09"): gcj02_to_bd09,
    ("bd09", "gcj02"): bd09_to_gcj02,
    ("wgs84", "bd09"): wgs84_to_bd09,
    ("bd09", "wgs84"): bd09_to_wgs84,
}


def _check_system(name: str, param: str) -> str:
    key = str(name).lower().replace("-", "").replace("_", "")
    if key not in COORD_SYSTEMS:
        raise ConfigError(
            f"unknown coordinate system {name!r} for {param}; valid systems are "
            f"{list(COORD_SYSTEMS)}"
        )
    return key


def convert(lon: ArrayLike, lat: ArrayLike, *, src: str, dst: str) -> tuple[FloatArray, FloatArray]:
    """Convert longitudes/latitudes between ``wgs84``, ``gcj02`` and ``bd09``.

    Parameters
    ----------
    lon, lat
        Coordinates in degrees.
    src, dst
        Source and target systems (one of :data:`COORD_SYSTEMS`).

    Returns
    -------
    tuple of numpy.ndarray
        Converted longitudes and latitudes.

    Raises
    ------
    ConfigError
        If a system name is unknown.
    """
    src, dst = _check_system(src, "src"), _check_system(dst, "dst")
    if src == dst:
        return _as_arrays(lon, lat)
    return _STEPS[(src, dst)](lon, lat)


def convert_geometries(geoms: ArrayLike, *, src: str, dst: str) -> np.ndarray:
    """Convert every vertex of shapely geometries in lon/lat degrees.

    Parameters
    ----------
    geoms
        Array of shapely geometries with lon/lat coordinates.
    src, dst
        Source and target systems.

    Returns
    -------
    numpy.ndarray
        New geometries with converted coordinates.
    """
    src, dst = _check_system(src, "src"), _check_system(dst, "dst")

    def _shift(xy: np.ndarray) -> np.ndarray:
        lon, lat = convert(xy[:, 0], xy[:, 1], src=src, dst=dst)
        return np.column_stack([lon, lat])

    return shapely.transform(np.asarray(geoms, dtype=object), _shift)


def convert_frame(gdf: gpd.GeoDataFrame, *, src: str, dst: str) -> gpd.GeoDataFrame:
    """Convert a GeoDataFrame between WGS84, GCJ-02 and BD-09.

    GCJ-02 and BD-09 are offsets of longitude/latitude, so the frame is first
    brought to EPSG:4326 (a layer in another CRS is taken to carry the offset
    coordinates in that CRS) and the result is in EPSG:4326.

    Parameters
    ----------
    gdf
        The layer; it must have a CRS.
    src, dst
        Source and target systems.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy in EPSG:4326 with converted coordinates.

    Raises
    ------
    LayerError
        If the frame has no CRS.
    """
    if gdf.crs is None:
        raise LayerError(
            "cannot convert coordinates of a layer without CRS; set one with gdf.set_crs(...)"
        )
    out = gdf.to_crs("EPSG:4326") if not gdf.crs.equals("EPSG:4326") else gdf.copy()
    if len(out):
        out[out.geometry.name] = convert_geometries(out.geometry.values, src=src, dst=dst)
    return out
