"""Line of sight from 2.5D buildings and a DEM, on a height grid.

Buildings are rasterised once onto a north-up grid of building numbers (taller
buildings drawn last, so they win where footprints overlap); a DEM (or DSM) is
read with a windowed read and reprojected onto the same grid. A ray from the
antenna to the UE is sampled at a fixed step, all rays at once with numpy: a
ray is blocked where the surface (ground plus building height) reaches the
straight line between the two antennas. The buildings under the two end points
are ignored (a rooftop antenna's own roof, an indoor user's own walls: O2I loss
accounts for those).

Each ray is first checked finely next to the UE (in built-up areas most rays
end there). A coarse pass then screens the rest: the highest surface per block
of ``BLOCK_CELLS`` x ``BLOCK_CELLS`` cells, dilated by one block, is compared with
the lowest point of the ray over each block-length segment; only segments that
may be obstructed are sampled finely, outwards from the UE, and a ray found
blocked is not sampled further. The coarse pass only skips work: the result is
that of sampling every ray at ``step_m``.

Raster semantics: the raster is the ground elevation (a DEM). Antenna heights are
measured above it at each end point. A DSM is accepted as well; its surface then
both obstructs and serves as the reference of the antenna heights.
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
import shapely
from affine import Affine
from numpy.typing import ArrayLike, NDArray
from pyproj import CRS
from rasterio.enums import Resampling
from rasterio.features import rasterize
from rasterio.warp import reproject, transform_bounds
from rasterio.windows import Window, from_bounds
from scipy.ndimage import maximum_filter

from siting._errors import LayerError

__all__ = ["HeightGrid", "build_height_grid", "line_of_sight", "validate_buildings"]

#: Grid cells per side of a coarse block (the coarse pass samples once per block).
BLOCK_CELLS = 4
#: Coarse segments (from the UE end) after which the fine pass drops blocked rays.
_STAGE_SEGMENTS: tuple[int, ...] = (2, 6, 16)
#: Ray segments processed at once (bounds memory).
_MAX_SEGMENTS = 1_000_000


@dataclass(frozen=True)
class HeightGrid:
    """Building numbers and ground elevation on one north-up grid.

    Attributes
    ----------
    transform
        Affine transform of the grid (working CRS, metres).
    shape
        ``(rows, cols)``.
    crs
        Working CRS.
    building_id
        int32 ``(rows, cols)``: 0 where no building, else 1 + the building's row.
    building_height
        float32 height per building number (index 0 is 0 m).
    ground
        float32 ``(rows, cols)`` ground elevation, or ``None`` (flat ground at 0).
    block
        Cells per side of a coarse block.
    coarse_max
        float32 highest surface per coarse block, dilated by one block.
    """

    transform: Affine
    shape: tuple[int, int]
    crs: CRS
    building_id: NDArray[np.int32]
    building_height: NDArray[np.float32]
    ground: NDArray[np.float32] | None
    block: int
    coarse_max: NDArray[np.float32]

    @property
    def resolution(self) -> float:
        """Cell size in metres."""
        return float(self.transform.a)

    def pixel(self, xy: ArrayLike) -> NDArray[np.float64]:
        """Fractional ``(col, row)`` pixel coordinates of ``(n, 2)`` points."""
        p = np.asarray(xy, dtype="float64")
        col = (p[:, 0] - self.transform.c) / self.transform.a
        row = (p[:, 1] - self.transform.f) / self.transform.e
        return np.column_stack([col, row])

    def flat_index(self, pix: NDArray[np.floating]) -> NDArray[np.int64]:
        """Flat cell index of fractional pixel coordinates (clipped to the grid)."""
        rows, cols = self.shape
        c = np.clip(pix[..., 0].astype(np.int64), 0, cols - 1)
        r = np.clip(pix[..., 1].astype(np.int64), 0, rows - 1)
        return r * cols + c

    def building_at(self, xy: ArrayLike) -> NDArray[np.int32]:
        """Building number under each point (0 = none)."""
        return self.building_id.ravel()[self.flat_index(self.pixel(xy))]

    def ground_at(self, xy: ArrayLike) -> NDArray[np.float64]:
        """Ground elevation under each point (0 without a DEM)."""
        n = len(np.asarray(xy))
        if self.ground is None:
            return np.zeros(n)
        return self.ground.ravel()[self.flat_index(self.pixel(xy))].astype("float64")


def validate_buildings(buildings: gpd.GeoDataFrame, *, crs: CRS | str) -> gpd.GeoDataFrame:
    """Check the buildings layer and return the usable rows.

    Required: polygonal geometry, a ``height_m`` column, the working CRS. Rows
    with a missing or non-positive height, or an empty geometry, are dropped
    with a warning that counts them.

    Raises
    ------
    LayerError
        Every schema problem found, in one message.
    """
    problems = []
    if buildings.crs is None:
        problems.append("it has no CRS; call gdf.set_crs(...) or set `crs:` in the config")
    elif CRS.from_user_input(buildings.crs) != CRS.from_user_input(crs):
        problems.append(
            f"its CRS {CRS.from_user_input(buildings.crs).to_string()} differs from the working "
            f"CRS {CRS.from_user_input(crs).to_string()}; reproject it with gdf.to_crs(...)"
        )
    if "height_m" not in buildings.columns:
        problems.append("column 'height_m' (building height in metres) is missing")
    kinds = set(shapely.get_type_id(buildings.geometry.values[~buildings.geometry.is_empty]))
    if kinds - {3, 6}:
        problems.append("geometries must be Polygon or MultiPolygon")
    if problems:
        raise LayerError("layer 'buildings': " + "; ".join(problems))
    h = buildings["height_m"].to_numpy(dtype="float64", na_value=np.nan)
    bad = ~(h > 0) | buildings.geometry.is_empty.to_numpy() | buildings.geometry.isna().to_numpy()
    if bad.any():
        warnings.warn(
            f"layer 'buildings': {int(bad.sum())} of {len(buildings)} rows have no positive "
            "height_m or no geometry and are ignored for line of sight",
            UserWarning,
            stacklevel=2,
        )
    return buildings.loc[~bad]


def _read_terrain(
    path: str | Path,
    *,
    crs: CRS,
    transform: Affine,
    shape: tuple[int, int],
) -> NDArray[np.float32]:
    """Windowed read of a DEM/DSM, reprojected onto the grid (NaN-free)."""
    rows, cols = shape
    bounds = (
        transform.c,
        transform.f + rows * transform.e,
        transform.c + cols * transform.a,
        transform.f,
    )
    with rasterio.open(path) as src:
        if src.crs is None:
            raise LayerError(
                f"raster {Path(path).name!r} has no CRS; write one with `rio edit-info --crs "
                "EPSG:...` or export it with its CRS"
            )
        sb = transform_bounds(crs, src.crs, *bounds, densify_pts=21)
        rb = src.bounds
        if sb[0] >= rb.right or sb[2] <= rb.left or sb[1] >= rb.top or sb[3] <= rb.bottom:
            raise LayerError(
                f"raster {Path(path).name!r} (bounds {tuple(round(v, 3) for v in rb)} in "
                f"{src.crs.to_string()}) does not overlap the study area (bounds "
                f"{tuple(round(v, 3) for v in sb)}); give a raster that covers it"
            )
        full = Window(0, 0, src.width, src.height)
        window = from_bounds(*sb, transform=src.transform)
        window = (
            Window(window.col_off - 2, window.row_off - 2, window.width + 4, window.height + 4)
            .round_offsets()
            .round_lengths()
        )
        window = window.intersection(full)
        data = src.read(1, window=window, out_dtype="float32")
        if src.nodata is not None:
            data[data == np.float32(src.nodata)] = np.nan
        dst = np.full(shape, np.nan, dtype="float32")
        reproject(
            source=data,
            destination=dst,
            src_transform=src.window_transform(window),
            src_crs=src.crs,
            src_nodata=np.nan,
            dst_transform=transform,
            dst_crs=crs,
            dst_nodata=np.nan,
            resampling=Resampling.bilinear,
        )
    missing = np.isnan(dst)
    if missing.all():
        raise LayerError(
            f"raster {Path(path).name!r} has no valid elevation over the study area; "
            "give a raster that covers it"
        )
    if missing.any():
        fill = float(np.nanmedian(dst))
        warnings.warn(
            f"raster {Path(path).name!r}: {int(missing.sum())} of {missing.size} grid cells "
            f"have no elevation; they are set to the median {fill:.1f} m",
            UserWarning,
            stacklevel=3,
        )
        dst[missing] = fill
    return dst


def build_height_grid(
    bounds: tuple[float, float, float, float],
    *,
    crs: CRS | str,
    resolution_m: float,
    buildings: gpd.GeoDataFrame | None = None,
    raster_path: str | Path | None = None,
) -> HeightGrid:
    """Rasterise buildings and read terrain onto one grid covering ``bounds``.

    Parameters
    ----------
    bounds
        ``(minx, miny, maxx, maxy)`` in the working CRS (metres).
    crs
        Working (projected) CRS.
    resolution_m
        Cell size (metres).
    buildings
        Building footprints with ``height_m`` (see :func:`validate_buildings`).
    raster_path
        DEM/DSM GeoTIFF in any CRS.

    Returns
    -------
    HeightGrid
        The grid, two cells of margin beyond ``bounds`` (rays never leave it).
    """
    crs = CRS.from_user_input(crs)
    res = float(resolution_m)
    x0, y1 = bounds[0] - 2 * res, bounds[3] + 2 * res
    cols = int(np.ceil((bounds[2] + 2 * res - x0) / res))
    rows = int(np.ceil((y1 - (bounds[1] - 2 * res)) / res))
    if rows * cols >= 2**31:
        raise LayerError(
            f"the height grid would have {rows} x {cols} cells; raise "
            "obstruction_resolution_m or split the study area"
        )
    transform = Affine(res, 0.0, x0, 0.0, -res, y1)
    ids = np.zeros((rows, cols), dtype="int32")
    heights = np.zeros(1, dtype="float32")
    if buildings is not None and len(buildings):
        b = validate_buildings(buildings, crs=crs)
        order = np.argsort(b["height_m"].to_numpy(dtype="float64"), kind="stable")
        geoms = b.geometry.values[order]
        heights = np.concatenate([[0.0], b["height_m"].to_numpy(dtype="float32")[order]])
        if len(geoms):
            ids = rasterize(
                zip(geoms, range(1, len(geoms) + 1), strict=True),
                out_shape=(rows, cols),
                transform=transform,
                fill=0,
                dtype="int32",
            )
    ground = None
    if raster_path is not None:
        ground = _read_terrain(raster_path, crs=crs, transform=transform, shape=(rows, cols))
    return HeightGrid(
        transform=transform,
        shape=(rows, cols),
        crs=crs,
        building_id=ids,
        building_height=heights.astype("float32"),
        ground=ground,
        block=BLOCK_CELLS,
        coarse_max=_coarse_max(ids, heights.astype("float32"), ground, BLOCK_CELLS),
    )


def _coarse_max(
    ids: NDArray[np.int32],
    heights: NDArray[np.float32],
    ground: NDArray[np.float32] | None,
    block: int,
) -> NDArray[np.float32]:
    """Highest surface per block of ``block`` x ``block`` cells, dilated by one block.

    Every point within half a block of a block's cells lies in its 3 x 3
    neighbourhood, so a ray sampled once per block length is clear wherever the
    ray is above this value over the half-block around each sample.
    """
    surface = heights[ids]
    if ground is not None:
        surface = surface + ground
    rows, cols = surface.shape
    pr, pc = -rows % block, -cols % block
    padded = np.pad(surface, ((0, pr), (0, pc)), mode="edge")
    pooled = padded.reshape(padded.shape[0] // block, block, padded.shape[1] // block, block)
    return maximum_filter(pooled.max(axis=(1, 3)), size=3, mode="nearest")


@dataclass(frozen=True)
class _Rays:
    """Per-ray quantities, the UE end as origin (pixel units for positions)."""

    e_col: NDArray[np.float32]
    e_row: NDArray[np.float32]
    d_col: NDArray[np.float32]
    d_row: NDArray[np.float32]
    length_m: NDArray[np.float32]
    z_e: NDArray[np.float32]
    dz: NDArray[np.float32]
    id_s: NDArray[np.int32]
    id_e: NDArray[np.int32]

    def take(self, idx: NDArray[np.int64]) -> _Rays:
        """The rays at ``idx``."""
        return _Rays(**{k: v[idx] for k, v in vars(self).items()})


def _suspects(grid: HeightGrid, rays: _Rays, block_m: float, clear: float) -> NDArray[np.bool_]:
    """Coarse pass: which block-length segments of each ray may be obstructed."""
    n_seg = int(np.ceil(float(rays.length_m.max()) / block_m))
    s = ((np.arange(n_seg, dtype="float32") + 0.5) * np.float32(block_m))[None, :]
    d = rays.length_m[:, None]
    half = np.float32(block_m / 2)
    inside = (s - half) < d  # the segment starts before the ray ends
    u = np.minimum(s / d, 1)  # a last, partial segment is within half a block of the end
    inv_b = np.float32(1.0 / grid.block)
    c = ((rays.e_col * inv_b)[:, None] + u * (rays.d_col * inv_b)[:, None]).astype(np.int32)
    r = ((rays.e_row * inv_b)[:, None] + u * (rays.d_row * inv_b)[:, None]).astype(np.int32)
    r *= np.int32(grid.coarse_max.shape[1])
    r += c
    top = np.take(grid.coarse_max, r)
    # the ray is linear: its lowest point over the segment is at one of the ends
    u_low = np.where(rays.dz[:, None] >= 0, s - half, s + half) / d
    np.clip(u_low, 0, 1, out=u_low)
    z_low = rays.z_e[:, None] + rays.dz[:, None] * u_low
    top += np.float32(clear)
    return inside & (top > z_low)


def _fine_hits(
    grid: HeightGrid,
    rays: _Rays,
    ray: NDArray[np.int64],
    seg: NDArray[np.int64],
    *,
    block_m: float,
    step_m: float,
    clear: float,
) -> NDArray[np.bool_]:
    """Fine pass over segments ``seg`` of rays ``ray``: is each segment obstructed?"""
    per_seg = int(np.ceil(block_m / step_m))
    offs = ((np.arange(per_seg, dtype="float32") + 0.5) * np.float32(step_m))[None, :]
    s = (seg.astype("float32") * np.float32(block_m))[:, None] + offs
    u = s / rays.length_m[ray][:, None]
    inside = u < 1
    np.minimum(u, 1, out=u)
    cols = (rays.e_col[ray][:, None] + u * rays.d_col[ray][:, None]).astype(np.int32)
    idx = (rays.e_row[ray][:, None] + u * rays.d_row[ray][:, None]).astype(np.int32)
    idx *= np.int32(grid.shape[1])
    idx += cols
    bid = np.take(grid.building_id, idx)
    surf = np.take(grid.building_height, bid)
    own = (bid == rays.id_s[ray][:, None]) | (bid == rays.id_e[ray][:, None])
    surf[own] = 0.0
    if grid.ground is not None:
        surf += np.take(grid.ground, idx)
    surf += np.float32(clear)
    z = rays.z_e[ray][:, None] + u * rays.dz[ray][:, None]
    return (inside & (surf > z)).any(axis=1)


def _trace(grid: HeightGrid, rays: _Rays, *, step_m: float, clear: float) -> NDArray[np.bool_]:
    """Blocked flag per ray.

    First the segments next to the UE are checked finely (in built-up areas
    most rays end there); the coarse pass then screens the remaining rays and
    only its suspect segments are checked finely, outwards from the UE.
    """
    block_m = grid.block * grid.resolution
    blocked = np.zeros(rays.length_m.size, dtype=bool)
    n_near = _STAGE_SEGMENTS[0]
    near_seg = np.repeat(np.arange(n_near, dtype=np.int64)[None, :], rays.length_m.size, axis=0)
    near_ray = np.repeat(np.arange(rays.length_m.size, dtype=np.int64), n_near)
    keep = near_seg.ravel() * block_m < rays.length_m[near_ray]
    _fine_pass(
        grid,
        rays,
        near_ray[keep],
        near_seg.ravel()[keep],
        blocked,
        block_m=block_m,
        step_m=step_m,
        clear=clear,
    )
    rest = np.flatnonzero(~blocked & (rays.length_m > n_near * block_m))
    if rest.size == 0:
        return blocked
    sub = rays.take(rest)
    suspect = _suspects(grid, sub, block_m, clear)
    suspect[:, :n_near] = False
    sub_blocked = np.zeros(rest.size, dtype=bool)
    bounds = [n_near, *(b for b in _STAGE_SEGMENTS[1:] if b < suspect.shape[1]), suspect.shape[1]]
    for j0, j1 in itertools.pairwise(bounds):
        ray, seg = np.nonzero(suspect[:, j0:j1] & ~sub_blocked[:, None])
        _fine_pass(
            grid, sub, ray, seg + j0, sub_blocked, block_m=block_m, step_m=step_m, clear=clear
        )
    blocked[rest] = sub_blocked
    return blocked


def _fine_pass(
    grid: HeightGrid,
    rays: _Rays,
    ray: NDArray[np.int64],
    seg: NDArray[np.int64],
    blocked: NDArray[np.bool_],
    *,
    block_m: float,
    step_m: float,
    clear: float,
) -> None:
    """Mark in ``blocked`` the rays with an obstructed segment among ``(ray, seg)``."""
    for a in range(0, ray.size, _MAX_SEGMENTS):
        part = slice(a, a + _MAX_SEGMENTS)
        hit = _fine_hits(
            grid, rays, ray[part], seg[part], block_m=block_m, step_m=step_m, clear=clear
        )
        blocked[ray[part][hit]] = True


def _chunk_edges(weights: NDArray[np.floating], cap: int) -> NDArray[np.int64]:
    """Edges splitting ``weights`` into consecutive chunks of about ``cap`` in total."""
    cum = np.cumsum(weights)
    cuts = np.searchsorted(cum, np.arange(cap, cum[-1], cap), side="right")
    return np.unique(np.concatenate([[0], cuts, [weights.size]])).astype(np.int64)


def line_of_sight(
    grid: HeightGrid,
    site_xy: ArrayLike,
    site_h: ArrayLike,
    ue_xy: ArrayLike,
    ue_h: ArrayLike,
    *,
    step_m: float | None = None,
    clearance_m: float = 0.0,
) -> NDArray[np.bool_]:
    """Decide LOS for each (site, UE) ray from the height grid.

    Parameters
    ----------
    grid
        Building and terrain heights.
    site_xy, ue_xy
        ``(n, 2)`` end points in the grid's CRS.
    site_h, ue_h
        Antenna heights above ground at each end (metres).
    step_m
        Sampling step along the ray; ``None``: the grid resolution.
    clearance_m
        Blocked where the surface comes within this of the ray.

    Returns
    -------
    numpy.ndarray
        True where no building or terrain cuts the ray.
    """
    s_xy = np.asarray(site_xy, dtype="float64").reshape(-1, 2)
    e_xy = np.asarray(ue_xy, dtype="float64").reshape(-1, 2)
    if s_xy.shape[0] == 0:
        return np.zeros(0, dtype=bool)
    step = grid.resolution if step_m is None else float(step_m)
    length = np.maximum(np.hypot(*(s_xy - e_xy).T), 1e-3)
    z_s = grid.ground_at(s_xy) + np.broadcast_to(np.asarray(site_h, dtype="float64"), length.shape)
    z_e = grid.ground_at(e_xy) + np.broadcast_to(np.asarray(ue_h, dtype="float64"), length.shape)
    e_pix, s_pix = grid.pixel(e_xy), grid.pixel(s_xy)
    f32 = np.float32
    rays = _Rays(
        e_col=e_pix[:, 0].astype(f32),
        e_row=e_pix[:, 1].astype(f32),
        d_col=(s_pix[:, 0] - e_pix[:, 0]).astype(f32),
        d_row=(s_pix[:, 1] - e_pix[:, 1]).astype(f32),
        length_m=length.astype(f32),
        z_e=z_e.astype(f32),
        dz=(z_s - z_e).astype(f32),
        id_s=grid.building_at(s_xy),
        id_e=grid.building_at(e_xy),
    )
    n_seg_all = np.ceil(length / (grid.block * grid.resolution)).astype(np.int32)
    order = np.argsort(n_seg_all, kind="stable")
    n_seg = n_seg_all[order]
    blocked = np.zeros(length.size, dtype=bool)
    for a, b in itertools.pairwise(_chunk_edges(n_seg, _MAX_SEGMENTS // 2)):
        idx = order[a:b]
        blocked[idx] = _trace(grid, rays.take(idx), step_m=step, clear=clearance_m)
    return ~blocked
