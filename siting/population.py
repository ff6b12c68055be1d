"""Rasters: population (WorldPop-style) and elevation, read over the study area only.

Population is additive (people per pixel), so it is never resampled by
interpolation. Each pixel (or tile) is split into ``s x s`` equal sub-points
carrying ``1/s^2`` of its people; the sub-points are reprojected to the
working CRS, those outside the study area are left out, and each is added to
its nearest demand cell. The people inside the study area are therefore
preserved exactly up to the sub-sampling of pixels cut by the boundary
(``s`` is chosen so sub-points are at most a quarter of a demand cell apart,
which keeps the total within 0.1% of the exact area-weighted figure).

Sources
-------
- GeoTIFF (or any raster GDAL reads) of people per pixel, e.g. WorldPop
  ``chn_ppp_2020_*``: only the window covering the study area is read; nodata
  pixels count as nobody.
- The WorldPop tile table (CSV with ``WGS84 coordinate`` = lower-left
  ``(lat, lon)``, ``Upper-Right WGS84 Coordinate`` and ``population (unit)``):
  each tile (about one WorldPop 30-arc-second pixel) holds the population given.
- DEM GeoTIFF: read over the study area and reprojected (bilinear) to the
  working CRS, see :func:`read_dem`.
"""

from __future__ import annotations

import logging
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from affine import Affine
from pyproj import CRS, Transformer
from scipy.spatial import cKDTree

from siting._errors import LayerError

__all__ = [
    "Raster",
    "Surface",
    "aggregate_to_cells",
    "mass_inside",
    "read_dem",
    "read_population",
    "read_population_raster",
    "read_raster_window",
    "read_worldpop_tiles",
    "surface_to_raster",
    "tiles_surface",
    "write_raster",
]

log = logging.getLogger(__name__)

#: Sub-points per demand cell side when splitting pixels (4 -> spacing <= cell / 4).
SUBSAMPLES_PER_CELL = 4
#: Fewest sub-points per pixel side (accuracy of pixels cut by the boundary).
MIN_SUBSAMPLES = 8
#: Most sub-points per pixel side.
MAX_SUBSAMPLES = 64
#: Most sub-points in one aggregation (the sub-sampling is coarsened beyond).
MAX_POINTS = 6_000_000
_TILE_COLUMNS = ("WGS84 coordinate", "Upper-Right WGS84 Coordinate", "population (unit)")
_PAIR = re.compile(r"\(\s*([-+\d.eE]+)\s*,\s*([-+\d.eE]+)\s*\)")


@dataclass(frozen=True)
class Surface:
    """An additive quantity (people) on axis-aligned rectangles of a CRS.

    Attributes
    ----------
    bounds
        ``(n, 4)`` rectangles ``xmin, ymin, xmax, ymax`` in ``crs``.
    values
        ``(n,)`` amount in each rectangle (people), >= 0.
    crs
        CRS of the rectangles.
    """

    bounds: np.ndarray
    values: np.ndarray
    crs: CRS

    @property
    def total(self) -> float:
        """Sum of all values."""
        return float(self.values.sum())

    def boxes(self) -> gpd.GeoDataFrame:
        """The rectangles as polygons with a ``population`` column."""
        b = self.bounds
        return gpd.GeoDataFrame(
            {"population": self.values},
            geometry=shapely.box(b[:, 0], b[:, 1], b[:, 2], b[:, 3]),
            crs=self.crs,
        )


@dataclass(frozen=True)
class Raster:
    """A single-band raster window.

    Attributes
    ----------
    values
        2-D float64 array (rows from the top); NaN where there is no data.
    transform
        Affine transform of the window (pixel corner to CRS coordinates).
    crs
        CRS of the raster.
    """

    values: np.ndarray
    transform: Affine
    crs: CRS

    def sample(self, xy: np.ndarray) -> np.ndarray:
        """Value of the pixel holding each point (NaN outside the window).

        Parameters
        ----------
        xy
            ``(n, 2)`` coordinates in the raster's CRS.

        Returns
        -------
        numpy.ndarray
            ``(n,)`` float64 values.
        """
        cols, rows = ~self.transform * (xy[:, 0], xy[:, 1])
        cols, rows = np.floor(cols).astype(np.int64), np.floor(rows).astype(np.int64)
        h, w = self.values.shape
        ok = (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)
        out = np.full(len(xy), np.nan)
        out[ok] = self.values[rows[ok], cols[ok]]
        return out


def _area_union(area: gpd.GeoDataFrame) -> shapely.Geometry:
    if area.crs is None:
        raise LayerError("the study area has no CRS; set one before reading rasters")
    return shapely.union_all(area.geometry.values)


def read_raster_window(
    path: str | Path, *, area: gpd.GeoDataFrame, name: str = "raster", margin: int = 1
) -> Raster:
    """Read band 1 of a raster over the study area's bounding box only.

    Parameters
    ----------
    path
        A raster file GDAL reads (GeoTIFF).
    area
        The study area (any CRS).
    name
        Layer name for messages.
    margin
        Extra pixels read around the area's box.

    Returns
    -------
    Raster
        The window in the raster's own CRS; nodata as NaN.

    Raises
    ------
    LayerError
        If the file is missing or unreadable, has no CRS, is rotated, or does not
        overlap the study area.
    """
    import rasterio
    from rasterio.errors import RasterioIOError, WindowError
    from rasterio.windows import Window, from_bounds, intersection

    path = Path(path)
    if not path.exists():
        raise LayerError(f"layer {name!r}: file {path} does not exist; check `path:` in the config")
    try:
        src = rasterio.open(path)
    except RasterioIOError as exc:
        raise LayerError(f"layer {name!r}: cannot read raster {path}: {exc}") from exc
    with src:
        if src.crs is None:
            raise LayerError(
                f"layer {name!r}: raster {path} has no CRS; assign one (gdal_edit.py -a_srs ...)"
            )
        if src.transform.b != 0 or src.transform.d != 0:
            raise LayerError(f"layer {name!r}: raster {path} is rotated; warp it north-up first")
        box = area.to_crs(src.crs).total_bounds
        win = from_bounds(*box, transform=src.transform)
        win = Window(
            np.floor(win.col_off) - margin,
            np.floor(win.row_off) - margin,
            np.ceil(win.width) + 2 * margin + 1,
            np.ceil(win.height) + 2 * margin + 1,
        )
        try:
            win = intersection(win, Window(0, 0, src.width, src.height))
        except WindowError:
            win = None
        if win is None or win.width < 1 or win.height < 1:
            raise LayerError(
                f"layer {name!r}: raster {path} does not overlap the study area (raster bounds "
                f"{tuple(round(v, 4) for v in src.bounds)} in {src.crs.to_string()}, study area "
                f"{tuple(round(v, 4) for v in box)}); check the file and its CRS"
            )
        win = Window(int(win.col_off), int(win.row_off), int(win.width), int(win.height))
        data = src.read(1, window=win, masked=True).astype("float64")
        transform = src.window_transform(win)
        crs = CRS.from_user_input(src.crs.to_wkt())
    values = np.ma.filled(data, np.nan)
    log.info("layer %r: read a %d x %d window of %s", name, *values.shape, path)
    return Raster(values=values, transform=transform, crs=crs)


def _raster_surface(raster: Raster, *, name: str) -> Surface:
    """Turn a population raster window into a surface of pixel rectangles."""
    values = raster.values
    negative = np.isfinite(values) & (values < 0)
    if negative.any():
        warnings.warn(
            f"layer {name!r}: {int(negative.sum())} pixel(s) hold negative population; "
            "counted as 0",
            UserWarning,
            stacklevel=3,
        )
    keep = np.isfinite(values) & (values > 0)
    rows, cols = np.nonzero(keep)
    t = raster.transform
    x0, y0 = t * (cols, rows)
    x1, y1 = t * (cols + 1, rows + 1)
    bounds = np.column_stack(
        [np.minimum(x0, x1), np.minimum(y0, y1), np.maximum(x0, x1), np.maximum(y0, y1)]
    )
    return Surface(bounds=bounds, values=values[keep], crs=raster.crs)


def read_population_raster(
    path: str | Path, *, area: gpd.GeoDataFrame, name: str = "population"
) -> Surface:
    """Read a population GeoTIFF (people per pixel) over the study area.

    Parameters
    ----------
    path
        The raster.
    area
        The study area.
    name
        Layer name for messages.

    Returns
    -------
    Surface
        The populated pixels of the window, in the raster's CRS.
    """
    return _raster_surface(read_raster_window(path, area=area, name=name), name=name)


def _parse_pairs(values: pd.Series, *, column: str, path: Path) -> np.ndarray:
    pairs = values.astype(str).str.extract(_PAIR).astype(float).to_numpy()
    bad = ~np.isfinite(pairs).all(axis=1)
    if bad.any():
        raise LayerError(
            f"layer 'population': {int(bad.sum())} row(s) of {path} have no '(lat, lon)' pair "
            f"in column {column!r} (first at file line {int(np.flatnonzero(bad)[0]) + 2})"
        )
    return pairs


def read_worldpop_tiles(path: str | Path) -> gpd.GeoDataFrame:
    """Read the WorldPop tile table into tile polygons with their population.

    Parameters
    ----------
    path
        CSV with the columns ``WGS84 coordinate`` (lower-left ``(lat, lon)``),
        ``Upper-Right WGS84 Coordinate`` and ``population (unit)``.

    Returns
    -------
    geopandas.GeoDataFrame
        One box per tile in EPSG:4326 with ``population`` (float64).

    Raises
    ------
    LayerError
        If the file lacks the columns or holds unparsable corners.
    """
    path = Path(path)
    try:
        df = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise LayerError(f"layer 'population': cannot read CSV {path}: {exc}") from exc
    missing = [c for c in _TILE_COLUMNS if c not in df.columns]
    if missing:
        raise LayerError(
            f"layer 'population': {path} is not a WorldPop tile table: missing column(s) "
            f"{missing} (columns are {list(df.columns)}); give a GeoTIFF or the tile table"
        )
    ll = _parse_pairs(df[_TILE_COLUMNS[0]], column=_TILE_COLUMNS[0], path=path)
    ur = _parse_pairs(df[_TILE_COLUMNS[1]], column=_TILE_COLUMNS[1], path=path)
    pop = pd.to_numeric(df[_TILE_COLUMNS[2]], errors="coerce").fillna(0.0).clip(lower=0)
    return gpd.GeoDataFrame(
        {"population": pop.to_numpy(dtype=float)},
        geometry=shapely.box(ll[:, 1], ll[:, 0], ur[:, 1], ur[:, 0]),
        crs="EPSG:4326",
    )


def tiles_surface(tiles: gpd.GeoDataFrame, *, area: gpd.GeoDataFrame | None = None) -> Surface:
    """Make a surface of tile rectangles, keeping tiles that touch the area's box.

    Parameters
    ----------
    tiles
        Output of :func:`read_worldpop_tiles` (or any box polygons with
        ``population``).
    area
        Optional study area; tiles outside its bounding box are left out.

    Returns
    -------
    Surface
        The tiles in their own CRS.
    """
    bounds = tiles.geometry.bounds.to_numpy()
    values = tiles["population"].to_numpy(dtype=float)
    if area is not None:
        x0, y0, x1, y1 = area.to_crs(tiles.crs).total_bounds
        keep = (bounds[:, 2] > x0) & (bounds[:, 0] < x1) & (bounds[:, 3] > y0) & (bounds[:, 1] < y1)
        bounds, values = bounds[keep], values[keep]
    return Surface(bounds=bounds, values=values, crs=CRS.from_user_input(tiles.crs))


def read_population(path: str | Path, *, area: gpd.GeoDataFrame) -> Surface:
    """Read a population source: a GeoTIFF or the WorldPop tile table (CSV).

    Parameters
    ----------
    path
        The file.
    area
        The study area.

    Returns
    -------
    Surface
        Population over the area's window.

    Raises
    ------
    LayerError
        For a missing, unreadable or non-overlapping source.
    """
    path = Path(path)
    if not path.exists():
        raise LayerError(
            f"layer 'population': file {path} does not exist; check `path:` in the config"
        )
    if path.suffix.lower() == ".csv":
        surface = tiles_surface(read_worldpop_tiles(path), area=area)
        if len(surface.values) == 0:
            raise LayerError(
                f"layer 'population': no tile of {path} overlaps the study area; check the file"
            )
        return surface
    return read_population_raster(path, area=area)


def _pixel_size(surface: Surface, crs: CRS) -> float:
    """Typical pixel side in the working CRS's units."""
    b = surface.bounds[len(surface.bounds) // 2]
    tr = Transformer.from_crs(surface.crs, crs, always_xy=True)
    xs, ys = tr.transform(np.array([b[0], b[2], b[0]]), np.array([b[1], b[1], b[3]]))
    return float(
        np.sqrt(np.hypot(xs[1] - xs[0], ys[1] - ys[0]) * np.hypot(xs[2] - xs[0], ys[2] - ys[0]))
    )


def _subsample(surface: Surface, s: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split every rectangle into ``s x s`` sub-points (source CRS)."""
    frac = (np.arange(s) + 0.5) / s
    fx, fy = (a.ravel() for a in np.meshgrid(frac, frac))
    b = surface.bounds
    x = b[:, [0]] + fx[None, :] * (b[:, [2]] - b[:, [0]])
    y = b[:, [1]] + fy[None, :] * (b[:, [3]] - b[:, [1]])
    mass = np.repeat(surface.values / (s * s), s * s)
    return x.ravel(), y.ravel(), mass


def _points_in_area(
    surface: Surface, area: gpd.GeoDataFrame, *, spacing: float
) -> tuple[np.ndarray, np.ndarray]:
    """Sub-points (working CRS) inside the area and the people they carry."""
    crs = CRS.from_user_input(area.crs)
    if len(surface.values) == 0:
        return np.empty((0, 2)), np.empty(0)
    size = _pixel_size(surface, crs)
    s = int(np.clip(np.ceil(size / spacing), MIN_SUBSAMPLES, MAX_SUBSAMPLES))
    s = max(1, min(s, int(np.sqrt(MAX_POINTS / len(surface.values)))))
    x, y, mass = _subsample(surface, s)
    if not CRS.from_user_input(surface.crs).equals(crs):
        x, y = Transformer.from_crs(surface.crs, crs, always_xy=True).transform(x, y)
    poly = _area_union(area)
    shapely.prepare(poly)
    inside = shapely.contains_xy(poly, x, y)
    return np.column_stack([x[inside], y[inside]]), mass[inside]


def aggregate_to_cells(
    surface: Surface, cell_xy: np.ndarray, *, cell_size: float, area: gpd.GeoDataFrame
) -> np.ndarray:
    """Sum a population surface onto demand cells, preserving the total.

    Parameters
    ----------
    surface
        People on rectangles (any CRS).
    cell_xy
        ``(n, 2)`` demand cell centres in the area's (working) CRS.
    cell_size
        Demand cell side in metres.
    area
        The study area in the working CRS; people outside it are left out.

    Returns
    -------
    numpy.ndarray
        ``(n,)`` people per cell; their sum equals the people of the surface
        inside the area (to the sub-sampling of boundary pixels).
    """
    if len(cell_xy) == 0:
        return np.zeros(0)
    xy, mass = _points_in_area(surface, area, spacing=cell_size / SUBSAMPLES_PER_CELL)
    if len(mass) == 0:
        return np.zeros(len(cell_xy))
    nearest = cKDTree(cell_xy).query(xy)[1]
    return np.bincount(nearest, weights=mass, minlength=len(cell_xy))


def mass_inside(surface: Surface, area: gpd.GeoDataFrame) -> float:
    """People of a surface inside the area, by exact polygon overlap.

    Each rectangle is reprojected (densified) to the area's CRS and its people
    are counted in proportion to the share of its area inside.

    Parameters
    ----------
    surface
        The surface.
    area
        The area (projected CRS).

    Returns
    -------
    float
        People inside the area.
    """
    boxes = surface.boxes()
    boxes["geometry"] = boxes.geometry.segmentize(
        max(float(np.median(surface.bounds[:, 2] - surface.bounds[:, 0])) / 8, 1e-9)
    )
    boxes = boxes.to_crs(area.crs)
    poly = _area_union(area)
    share = shapely.area(shapely.intersection(boxes.geometry.values, poly)) / shapely.area(
        boxes.geometry.values
    )
    return float(np.sum(share * boxes["population"].to_numpy()))


def surface_to_raster(surface: Surface, *, area: gpd.GeoDataFrame, resolution: float) -> Raster:
    """Rasterise a population surface on a regular grid of the working CRS.

    Sum-preserving: each sub-point adds its people to the pixel holding it.

    Parameters
    ----------
    surface
        The surface.
    area
        Study area in the working CRS (its bounding box is the raster extent,
        people outside it are left out).
    resolution
        Pixel side in metres.

    Returns
    -------
    Raster
        People per pixel (0 where nobody), north-up, in the area's CRS.
    """
    xy, mass = _points_in_area(surface, area, spacing=resolution / SUBSAMPLES_PER_CELL)
    x0, y0, x1, y1 = area.total_bounds
    n_cols = int(np.ceil((x1 - x0) / resolution))
    n_rows = int(np.ceil((y1 - y0) / resolution))
    top = y0 + n_rows * resolution
    cols = np.clip(((xy[:, 0] - x0) // resolution).astype(np.int64), 0, n_cols - 1)
    rows = np.clip(((top - xy[:, 1]) // resolution).astype(np.int64), 0, n_rows - 1)
    grid = np.bincount(rows * n_cols + cols, weights=mass, minlength=n_rows * n_cols)
    return Raster(
        values=grid.reshape(n_rows, n_cols),
        transform=Affine(resolution, 0.0, x0, 0.0, -resolution, top),
        crs=CRS.from_user_input(area.crs),
    )


def write_raster(raster: Raster, path: str | Path, *, nodata: float = -99999.0) -> Path:
    """Write a raster as a compressed single-band float32 GeoTIFF.

    Parameters
    ----------
    raster
        The raster.
    path
        Output file (its folder must exist).
    nodata
        Value written for NaN.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    import rasterio

    path = Path(path)
    data = np.where(np.isfinite(raster.values), raster.values, nodata).astype("float32")
    profile = {
        "driver": "GTiff",
        "height": data.shape[0],
        "width": data.shape[1],
        "count": 1,
        "dtype": "float32",
        "crs": raster.crs.to_wkt(),
        "transform": raster.transform,
        "nodata": nodata,
        "compress": "deflate",
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)
    return path


def read_dem(
    path: str | Path,
    *,
    area: gpd.GeoDataFrame,
    resolution: float | None = None,
    name: str = "dem",
) -> Raster:
    """Read an elevation raster over the study area, reprojected to its CRS.

    Parameters
    ----------
    path
        The DEM (GeoTIFF, metres).
    area
        Study area in the working CRS.
    resolution
        Output pixel side in metres (default: the source pixel size).
    name
        Layer name for messages.

    Returns
    -------
    Raster
        Elevation in the working CRS (bilinear), NaN where unknown.
    """
    from rasterio.warp import Resampling, calculate_default_transform, reproject

    window = read_raster_window(path, area=area, name=name)
    h, w = window.values.shape
    left, top = window.transform * (0, 0)
    right, bottom = window.transform * (w, h)
    dst_crs = CRS.from_user_input(area.crs)
    kwargs = {"resolution": resolution} if resolution else {}
    transform, width, height = calculate_default_transform(
        window.crs, dst_crs, w, h, left=left, bottom=bottom, right=right, top=top, **kwargs
    )
    out = np.full((height, width), np.nan)
    reproject(
        source=window.values,
        destination=out,
        src_transform=window.transform,
        src_crs=window.crs,
        dst_transform=transform,
        dst_crs=dst_crs,
        src_nodata=np.nan,
        dst_nodata=np.nan,
        resampling=Resampling.bilinear,
    )
    return Raster(values=out, transform=transform, crs=dst_crs)
