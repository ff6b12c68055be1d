"""The radio coverage model: link budget, 38.901 path loss and obstruction.

:class:`RadioModel` plugs into :func:`siting.coverage.build_coverage`: it bounds
each candidate's reach (:meth:`RadioModel.max_range_m`), then computes the RSRP
of every candidate pair and judges it against the cell's service-level
threshold (:meth:`RadioModel.evaluate`).

LOS decision per pair: with buildings and/or a DEM, geometric line of sight on a
height grid (:mod:`siting.radio.obstruction`), traced only for pairs that the
LOS state could still make covered (RSRP under LOS reaches the threshold);
without them, ``RadioConfig.los_mode`` applied to the 38.901 LOS probability.
A demand cell is judged for an indoor user (O2I loss) when its ``indoor_share``
is at least ``RadioConfig.indoor_share_threshold``.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import rasterio.errors
import scipy.sparse as sp
import shapely
from affine import Affine
from numpy.typing import ArrayLike, NDArray
from pyproj import CRS

from siting._errors import LayerError, OutputError
from siting.coverage import PairEvaluation
from siting.radio.linkbudget import (
    ENVIRONMENTS,
    LinkBudget,
    RadioConfig,
    combine_rsrp,
    link_budget,
    los_weight,
    max_range_m,
    path_terms,
)
from siting.radio.obstruction import HeightGrid, build_height_grid, line_of_sight
from siting.radio.pathloss import SCENARIOS, VALIDITY

__all__ = ["RadioModel", "best_server", "write_rsrp_geotiff"]

#: Candidate reaches are rounded up to a multiple of this (few distinct k-d tree queries).
RANGE_STEP_M = 25.0
#: Antenna heights are binned this finely when bounding reaches (metres).
HEIGHT_BIN_M = 0.25
#: Value of GeoTIFF cells with no selected site in reach.
NODATA = -9999.0


@dataclass(frozen=True)
class _Candidates:
    """Per-candidate radio parameters (positions follow the candidates frame)."""

    budgets: list[LinkBudget]
    budget: NDArray[np.int64]
    scenario: NDArray[np.int64]
    fc: NDArray[np.float64]
    h_bs: NDArray[np.float64]
    h_ut: NDArray[np.float64]
    gain: NDArray[np.float64]
    penetration: NDArray[np.float64]
    margin: NDArray[np.float64]
    cap: NDArray[np.float64]


def _missing_columns(gdf: gpd.GeoDataFrame, layer: str, columns: tuple[str, ...]) -> list[str]:
    problems = [f"column {c!r} is missing" for c in columns if c not in gdf.columns]
    if gdf.crs is None:
        problems.append("it has no CRS; call gdf.set_crs(...)")
    elif not CRS.from_user_input(gdf.crs).is_projected:
        problems.append(f"its CRS {gdf.crs.to_string()} is not projected; use gdf.to_crs(32651)")
    if len(gdf) and not (shapely.get_type_id(gdf.geometry.values) == 0).all():
        problems.append("geometries must be Points")
    return [f"layer {layer!r}: {p}" for p in problems]


def _ids(frame: pd.DataFrame, mask: NDArray[np.bool_], column: str) -> str:
    ids = frame[column].to_numpy()[mask] if column in frame.columns else np.flatnonzero(mask)
    more = f" and {mask.sum() - 5} more" if mask.sum() > 5 else ""
    return ", ".join(map(str, ids[:5])) + more


class RadioModel:
    """Coverage from link budgets, TR 38.901 path loss and obstruction.

    Parameters
    ----------
    config
        A :class:`RadioConfig`, or a mapping validated into one; ``None`` for
        the defaults.
    buildings
        Footprints with ``height_m`` in the working CRS, for geometric LOS.
    raster_path
        DEM/DSM GeoTIFF (any CRS; read windowed and reprojected).

    Examples
    --------
    >>> model = RadioModel({"los_mode": "nlos"})
    >>> model.name
    'radio'
    """

    name = "radio"

    def __init__(
        self,
        config: RadioConfig | Mapping[str, Any] | None = None,
        *,
        buildings: gpd.GeoDataFrame | None = None,
        raster_path: str | Path | None = None,
    ) -> None:
        if config is None:
            config = RadioConfig()
        elif not isinstance(config, RadioConfig):
            config = RadioConfig.model_validate(dict(config))
        self.config: RadioConfig = config
        self.buildings = buildings
        self.raster_path = None if raster_path is None else Path(raster_path)
        self._grid: HeightGrid | None = None
        self._grid_bounds: tuple[float, float, float, float] | None = None

    @property
    def has_obstruction(self) -> bool:
        """Whether LOS is decided geometrically (buildings or a raster given)."""
        return (self.buildings is not None and len(self.buildings) > 0) or (
            self.raster_path is not None
        )

    # ----------------------------------------------------------------- candidates
    def _candidates(self, candidates: gpd.GeoDataFrame) -> _Candidates:
        problems = _missing_columns(candidates, "candidates", ("site_class", "height_m", "env"))
        if problems:
            raise LayerError("; ".join(problems))
        cfg = self.config
        band = (
            candidates["band"].fillna(cfg.default_band).astype(str).to_numpy()
            if "band" in candidates.columns
            else np.full(len(candidates), cfg.default_band, dtype=object)
        )
        cls = candidates["site_class"].astype(str).to_numpy()
        env = candidates["env"].astype(str).to_numpy()
        bad_env = ~np.isin(env, ENVIRONMENTS)
        if bad_env.any():
            raise LayerError(
                f"layer 'candidates': column 'env' has {int(bad_env.sum())} value(s) outside "
                f"{ENVIRONMENTS} (e.g. {env[bad_env][0]!r}, candidates "
                f"{_ids(candidates, bad_env, 'candidate_id')}); fix them"
            )
        codes, uniques = pd.factorize(pd.MultiIndex.from_arrays([cls, band]))
        budgets = [link_budget(cfg, c, b) for c, b in uniques]
        env_code = pd.Categorical(env, categories=ENVIRONMENTS).codes
        scen_table = np.array(
            [[SCENARIOS.index(b.params.scenarios[e]) for e in ENVIRONMENTS] for b in budgets],
            dtype=np.int64,
        ).reshape(len(budgets), len(ENVIRONMENTS))

        def per(values: list[float | None]) -> NDArray[np.float64]:
            return np.array([np.nan if v is None else v for v in values], dtype="float64")[codes]

        cand = _Candidates(
            budgets=budgets,
            budget=codes.astype(np.int64),
            scenario=scen_table[codes, env_code],
            fc=per([b.fc_ghz for b in budgets]),
            h_bs=candidates["height_m"].to_numpy(dtype="float64", na_value=np.nan),
            h_ut=per([b.params.ue_height_m for b in budgets]),
            gain=per([b.gain_db for b in budgets]),
            penetration=per([b.params.penetration_loss_db for b in budgets]),
            margin=per([b.params.shadow_fading_margin_db for b in budgets]),
            cap=per([b.params.max_range_m for b in budgets]),
        )
        self._check_heights(candidates, cand)
        return cand

    def _check_heights(self, candidates: gpd.GeoDataFrame, cand: _Candidates) -> None:
        problems = []
        for code, scen in enumerate(SCENARIOS):
            v = VALIDITY[scen]
            sel = cand.scenario == code
            for label, values, (lo, hi) in (
                ("height_m", cand.h_bs, v.h_bs_m),
                ("UE height", cand.h_ut, v.h_ut_m),
                ("frequency (GHz)", cand.fc, v.fc_ghz),
            ):
                bad = sel & ~((values >= lo) & (values <= hi))
                if bad.any():
                    problems.append(
                        f"{int(bad.sum())} candidate(s) have {label} outside {lo:g}-{hi:g}, the "
                        f"validity range of 3GPP TR 38.901 {scen.upper()} "
                        f"({_ids(candidates, bad, 'candidate_id')})"
                    )
        if problems:
            raise LayerError(
                "layer 'candidates': "
                + "; ".join(problems)
                + "; fix the heights, or change the class's band or scenarios in coverage.radio"
            )

    def max_range_m(self, candidates: gpd.GeoDataFrame) -> np.ndarray:
        """Distance beyond which a candidate cannot cover any cell (metres).

        The RSRP of an outdoor user must reach ``range_threshold_dbm``; LOS is
        assumed possible at any distance when obstruction data exist, otherwise
        ``los_mode`` applies. Rounded up to a multiple of 25 m.
        """
        cand = self._candidates(candidates)
        out = np.zeros(len(candidates))
        los = True if self.has_obstruction else None
        groups = pd.DataFrame({"b": cand.budget, "s": cand.scenario}).groupby(["b", "s"]).indices
        for (b, s), pos in groups.items():
            # reach at the two ends of each height's 0.25 m bin, the larger kept:
            # few distinct heights to evaluate, and within a bin the reach
            # varies by far less than the 25 m rounding below
            low = np.floor(cand.h_bs[pos] / HEIGHT_BIN_M) * HEIGHT_BIN_M
            heights, inverse = np.unique(
                np.concatenate([low, low + HEIGHT_BIN_M]), return_inverse=True
            )
            reach = max_range_m(
                self.config,
                cand.budgets[b],
                SCENARIOS[s],
                h_bs_m=heights,
                threshold_dbm=self.config.range_threshold_dbm,
                los=los,
            )[inverse]
            out[pos] = np.maximum(reach[: pos.size], reach[pos.size :])
        return np.ceil(out / RANGE_STEP_M) * RANGE_STEP_M

    # --------------------------------------------------------------------- grid
    def height_grid(self, bounds: tuple[float, float, float, float], crs: Any) -> HeightGrid:
        """The building / terrain grid covering ``bounds`` (built once, then reused)."""
        cached = self._grid_bounds
        if (
            self._grid is not None
            and cached is not None
            and cached[0] <= bounds[0]
            and cached[1] <= bounds[1]
            and cached[2] >= bounds[2]
            and cached[3] >= bounds[3]
            and self._grid.crs == CRS.from_user_input(crs)
        ):
            return self._grid
        self._grid = build_height_grid(
            bounds,
            crs=crs,
            resolution_m=self.config.obstruction_resolution_m,
            buildings=self.buildings,
            raster_path=self.raster_path,
        )
        self._grid_bounds = bounds
        return self._grid

    # ----------------------------------------------------------------- evaluate
    def _demand(self, demand: gpd.GeoDataFrame) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
        problems = _missing_columns(demand, "demand", ("rsrp_min_dbm", "indoor_share"))
        if problems:
            raise LayerError("; ".join(problems))
        thr = demand["rsrp_min_dbm"].to_numpy(dtype="float64", na_value=np.nan)
        if np.isnan(thr).any():
            raise LayerError(
                f"layer 'demand': column 'rsrp_min_dbm' is empty in {int(np.isnan(thr).sum())} "
                f"cell(s) ({_ids(demand, np.isnan(thr), 'cell_id')}); give every service level "
                "a threshold"
            )
        if len(thr) and thr.min() < self.config.range_threshold_dbm:
            n_low = int((thr < self.config.range_threshold_dbm).sum())
            warnings.warn(
                f"{n_low} demand cell(s) have rsrp_min_dbm below range_threshold_dbm "
                f"({self.config.range_threshold_dbm:g} dBm, minimum {thr.min():g}); candidate "
                "reaches are bounded by range_threshold_dbm, so lower it to match",
                UserWarning,
                stacklevel=3,
            )
        share = demand["indoor_share"].to_numpy(dtype="float64", na_value=0.0)
        return thr, share >= self.config.indoor_share_threshold

    def evaluate(
        self,
        demand: gpd.GeoDataFrame,
        candidates: gpd.GeoDataFrame,
        rows: np.ndarray,
        cols: np.ndarray,
        dist_m: np.ndarray,
    ) -> PairEvaluation:
        """RSRP and coverage of each (cell, candidate) pair.

        Parameters
        ----------
        demand
            Demand cells: Point geometry, ``rsrp_min_dbm``, ``indoor_share``.
        candidates
            Candidates: Point geometry, ``site_class``, ``height_m``, ``env``,
            optional ``band``.
        rows, cols
            Positions of each pair in ``demand`` and ``candidates``.
        dist_m
            Horizontal distance of each pair (metres).

        Returns
        -------
        PairEvaluation
            ``covered`` (RSRP >= the cell's threshold and within the class's
            range) and float32 ``signal_dbm``. Pairs that fail even under LOS are
            not traced and carry their NLOS RSRP.
        """
        thr, indoor = self._demand(demand)
        cand = self._candidates(candidates)
        if CRS.from_user_input(demand.crs) != CRS.from_user_input(candidates.crs):
            raise LayerError(
                f"layer 'candidates' has CRS {CRS.from_user_input(candidates.crs).to_string()} "
                f"but 'demand' has {CRS.from_user_input(demand.crs).to_string()}; reproject one"
            )
        rows = np.asarray(rows, dtype=np.int64)
        cols = np.asarray(cols, dtype=np.int64)
        dist = np.asarray(dist_m, dtype="float64")
        d_xy = shapely.get_coordinates(demand.geometry.values)
        c_xy = shapely.get_coordinates(candidates.geometry.values)
        grid = None
        if self.has_obstruction and rows.size:
            xy = np.vstack([d_xy, c_xy])
            bounds = (*xy.min(axis=0), *xy.max(axis=0))
            grid = self.height_grid(tuple(map(float, bounds)), demand.crs)  # type: ignore[arg-type]
        signal = np.empty(rows.size, dtype=np.float32)
        step = self.config.chunk_pairs
        for start in range(0, rows.size, step):
            part = slice(start, start + step)
            signal[part] = self._rsrp(
                cand, grid, thr, indoor, d_xy, c_xy, rows[part], cols[part], dist[part]
            )
        covered = (signal >= thr[rows]) & (dist <= np.nan_to_num(cand.cap[cols], nan=np.inf))
        return PairEvaluation(covered=covered, signal_dbm=signal)

    def _rsrp(
        self,
        cand: _Candidates,
        grid: HeightGrid | None,
        thr: NDArray[np.float64],
        indoor: NDArray[np.bool_],
        d_xy: NDArray[np.float64],
        c_xy: NDArray[np.float64],
        rows: NDArray[np.int64],
        cols: NDArray[np.int64],
        dist: NDArray[np.float64],
    ) -> NDArray[np.float64]:
        """RSRP of one chunk of pairs (each scenario evaluated vectorised)."""
        cfg = self.config
        out = np.empty(rows.size)
        for code, scen in enumerate(SCENARIOS):
            sel = np.flatnonzero(cand.scenario[cols] == code)
            if sel.size == 0:
                continue
            r, c = rows[sel], cols[sel]
            d = np.minimum(dist[sel], VALIDITY[scen].d2d_los_m[1])
            terms = path_terms(
                cfg,
                scen,
                d,
                fc_ghz=cand.fc[c],
                h_bs_m=cand.h_bs[c],
                h_ut_m=cand.h_ut[c],
                indoor=indoor[r],
                penetration_loss_db=cand.penetration[c],
            )
            kw = {"gain_db": cand.gain[c], "margin_db": cand.margin[c]}
            if grid is None:
                out[sel] = combine_rsrp(cfg, terms, los_weight=los_weight(cfg, terms), **kw)
                continue
            rsrp_los = combine_rsrp(cfg, terms, los_weight=1.0, **kw)
            rsrp_nlos = combine_rsrp(cfg, terms, los_weight=0.0, **kw)
            need = np.flatnonzero(rsrp_los >= thr[r])
            los = np.zeros(sel.size, dtype=bool)
            los[need] = line_of_sight(
                grid,
                c_xy[c[need]],
                cand.h_bs[c[need]],
                d_xy[r[need]],
                cand.h_ut[c[need]],
                step_m=cfg.ray_step_m,
                clearance_m=cfg.los_clearance_m,
            )
            out[sel] = np.where(los, rsrp_los, rsrp_nlos)
        return out


# ------------------------------------------------------------------------ raster
def best_server(
    rsrp: sp.csr_matrix, selected: ArrayLike
) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
    """Strongest RSRP per row over the selected columns, and which column gives it.

    Parameters
    ----------
    rsrp
        CSR float32 RSRP (dBm), rows = demand cells, columns = candidates.
    selected
        Column positions of the chosen sites, or a boolean mask over columns.

    Returns
    -------
    tuple of numpy.ndarray
        RSRP per row (NaN where no selected column has a value) and the column
        position of the best server (-1 where none).
    """
    sel = np.asarray(selected)
    if sel.dtype == bool:
        sel = np.flatnonzero(sel)
    sub = sp.csr_matrix(rsrp)[:, sel.astype(np.int64)].tocsr()
    sub.sort_indices()
    n = sub.shape[0]
    value = np.full(n, np.nan, dtype=np.float32)
    server = np.full(n, -1, dtype=np.int64)
    counts = np.diff(sub.indptr)
    nonempty = np.flatnonzero(counts)
    if nonempty.size:
        starts = sub.indptr[nonempty]
        value[nonempty] = np.maximum.reduceat(sub.data, starts)
        row_of = np.repeat(np.arange(n), counts)
        is_max = sub.data == value[row_of]
        first = np.full(n, -1, dtype=np.int64)
        hit = np.flatnonzero(is_max)
        first[row_of[hit[::-1]]] = sub.indices[hit[::-1]]
        server[nonempty] = sel[first[nonempty]]
    return value, server


def write_rsrp_geotiff(
    path: str | Path,
    demand: gpd.GeoDataFrame,
    rsrp: sp.csr_matrix,
    selected: ArrayLike,
    *,
    cell_size_m: float,
) -> Path:
    """Write the best-server RSRP of a plan as a two-band GeoTIFF.

    Band 1 (``rsrp_dbm``): the strongest RSRP over the selected sites per demand
    cell. Band 2 (``best_server``): the column position of that site in the
    coverage matrix. Both are ``-9999`` where no selected site reaches the cell.

    Parameters
    ----------
    path
        Output file (written to a temporary file first, then renamed).
    demand
        Demand cells (Point geometry at square cell centres, projected CRS);
        row order matches ``rsrp``.
    rsrp
        CSR float32 RSRP matrix (``CoverageMatrix.rsrp``).
    selected
        Column positions of the plan's sites, or a boolean column mask.
    cell_size_m
        Side of a demand cell (metres).

    Returns
    -------
    pathlib.Path
        The written file.
    """
    if rsrp.shape[0] != len(demand):
        raise LayerError(
            f"rsrp has {rsrp.shape[0]} rows but 'demand' has {len(demand)} cells; pass the "
            "demand frame the coverage matrix was built from"
        )
    if demand.crs is None:
        raise LayerError("layer 'demand' has no CRS; call gdf.set_crs(...)")
    xy = shapely.get_coordinates(demand.geometry.values)
    cs = float(cell_size_m)
    x0, y1 = xy[:, 0].min() - cs / 2, xy[:, 1].max() + cs / 2
    colf = (xy[:, 0] - x0) / cs - 0.5
    rowf = (y1 - xy[:, 1]) / cs - 0.5
    col, row = np.rint(colf).astype(np.int64), np.rint(rowf).astype(np.int64)
    off = np.maximum(np.abs(colf - col), np.abs(rowf - row))
    if off.size and off.max() > 0.01:
        raise LayerError(
            f"layer 'demand': cell centres are not on a {cs:g} m square grid (worst offset "
            f"{off.max() * cs:.1f} m); pass the grid's cell_size_m"
        )
    shape = (int(row.max()) + 1, int(col.max()) + 1)
    value, server = best_server(rsrp, selected)
    bands = np.full((2, *shape), NODATA, dtype=np.float32)
    have = ~np.isnan(value)
    bands[0, row[have], col[have]] = value[have]
    bands[1, row[have], col[have]] = server[have]
    out = Path(path)
    profile = {
        "driver": "GTiff",
        "height": shape[0],
        "width": shape[1],
        "count": 2,
        "dtype": "float32",
        "crs": demand.crs.to_wkt(),
        "transform": Affine(cs, 0.0, x0, 0.0, -cs, y1),
        "nodata": NODATA,
        "compress": "deflate",
    }
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(suffix=".tif", dir=out.parent)
        os.close(fd)
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(bands)
            dst.set_band_description(1, "rsrp_dbm")
            dst.set_band_description(2, "best_server")
        os.replace(tmp, out)
        tmp = None
    except (OSError, rasterio.errors.RasterioError) as exc:
        raise OutputError(
            f"cannot write the RSRP raster {out}: {exc}; check that the folder exists and is "
            "writable"
        ) from exc
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.remove(tmp)
    return out
