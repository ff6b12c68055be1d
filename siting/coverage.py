"""Stage 4: which candidate covers which demand cell, as a sparse matrix.

Pairs within a candidate's maximum range are found with a k-d tree (one query
per distinct range, never a dense distance matrix); a :class:`CoverageModel`
then judges each pair. The simple :class:`RangeModel` covers a cell when it is
within the class range scaled by the cell's service level; the radio model in
:mod:`siting.radio` computes RSRP from a link budget and 3GPP TR 38.901 path
loss behind the same interface.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import geopandas as gpd
import numpy as np
import scipy.sparse as sp
from scipy.spatial import cKDTree

from siting._errors import ConfigError
from siting._geo import points_xy
from siting.config import Config

__all__ = [
    "CoverageMatrix",
    "CoverageModel",
    "PairEvaluation",
    "RangeModel",
    "build_coverage",
    "candidate_pairs",
    "make_model",
]


@dataclass(frozen=True)
class PairEvaluation:
    """A coverage model's verdict on candidate pairs.

    Attributes
    ----------
    covered
        Whether each pair counts as covered.
    signal_dbm
        RSRP of each pair in dBm (float32), or ``None`` for models without one.
    """

    covered: np.ndarray
    signal_dbm: np.ndarray | None = None


@runtime_checkable
class CoverageModel(Protocol):
    """What the pipeline needs from a coverage model."""

    name: str

    def max_range_m(self, candidates: gpd.GeoDataFrame) -> np.ndarray:
        """Per candidate, the distance beyond which no cell can be covered."""
        ...

    def evaluate(
        self,
        demand: gpd.GeoDataFrame,
        candidates: gpd.GeoDataFrame,
        rows: np.ndarray,
        cols: np.ndarray,
        dist_m: np.ndarray,
    ) -> PairEvaluation:
        """Judge the pairs (``rows``/``cols`` are positions, ``dist_m`` metres)."""
        ...


@dataclass(frozen=True)
class CoverageMatrix:
    """The sparse demand x candidate coverage matrix with its two indexes.

    Attributes
    ----------
    A
        CSR matrix of shape ``(n_cells, n_candidates)``, 1 where covered (int8).
    rsrp
        CSR float32 RSRP in dBm for the covered pairs, or ``None``.
    demand_ids
        ``cell_id`` of each row.
    candidate_ids
        ``candidate_id`` of each column.
    model
        Name of the coverage model.
    """

    A: sp.csr_matrix
    rsrp: sp.csr_matrix | None
    demand_ids: np.ndarray
    candidate_ids: np.ndarray
    model: str

    @property
    def nnz(self) -> int:
        """Number of covered pairs."""
        return int(self.A.nnz)


class RangeModel:
    """Covered when within the class range times the level's range factor.

    Parameters
    ----------
    ranges_m
        Range in metres per site class.
    """

    name = "range"

    def __init__(self, ranges_m: dict[str, float]) -> None:
        self.ranges_m = dict(ranges_m)

    @classmethod
    def from_config(cls, cfg: Config) -> RangeModel:
        """Build the model from the ``candidates.classes`` ranges."""
        return cls({k: v.range_m for k, v in cfg.candidates.classes.items()})

    def max_range_m(self, candidates: gpd.GeoDataFrame) -> np.ndarray:
        """Range of each candidate's class."""
        ranges = candidates["site_class"].map(self.ranges_m)
        if ranges.isna().any():
            missing = sorted(candidates.loc[ranges.isna(), "site_class"].unique())
            raise ConfigError(f"no range for site class(es) {missing}; add them to the config")
        return ranges.to_numpy(dtype=float)

    def evaluate(
        self,
        demand: gpd.GeoDataFrame,
        candidates: gpd.GeoDataFrame,
        rows: np.ndarray,
        cols: np.ndarray,
        dist_m: np.ndarray,
    ) -> PairEvaluation:
        """Covered when ``dist <= range(class) * range_factor(cell)``."""
        reach = self.max_range_m(candidates)[cols] * demand["range_factor"].to_numpy()[rows]
        return PairEvaluation(covered=dist_m <= reach)


def candidate_pairs(
    demand_xy: np.ndarray, cand_xy: np.ndarray, max_range: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Find every (cell, candidate) pair within the candidate's maximum range.

    Parameters
    ----------
    demand_xy
        ``(n, 2)`` cell centres.
    cand_xy
        ``(m, 2)`` candidate positions.
    max_range
        ``(m,)`` maximum range per candidate (metres).

    Returns
    -------
    tuple of numpy.ndarray
        ``rows`` (int64 cell positions), ``cols`` (int64 candidate positions) and
        ``dist`` (float64 metres), sorted by row then column.
    """
    tree = cKDTree(demand_xy)
    rows, cols, dist = [], [], []
    for r in np.unique(max_range):
        sel = np.flatnonzero(max_range == r)
        pairs = tree.sparse_distance_matrix(cKDTree(cand_xy[sel]), r, output_type="ndarray")
        rows.append(pairs["i"])
        cols.append(sel[pairs["j"]])
        dist.append(pairs["v"])
    rows_a = np.concatenate(rows).astype(np.int64)
    cols_a = np.concatenate(cols).astype(np.int64)
    dist_a = np.concatenate(dist)
    order = np.lexsort((cols_a, rows_a))
    return rows_a[order], cols_a[order], dist_a[order]


def build_coverage(
    demand: gpd.GeoDataFrame, candidates: gpd.GeoDataFrame, model: CoverageModel
) -> CoverageMatrix:
    """Build the sparse coverage matrix.

    Parameters
    ----------
    demand
        Demand cells (see :mod:`siting.demand`).
    candidates
        Candidate sites (see :mod:`siting.candidates`).
    model
        The coverage model judging each pair.

    Returns
    -------
    CoverageMatrix
        Rows follow ``demand`` order, columns ``candidates`` order.
    """
    rows, cols, dist = candidate_pairs(
        points_xy(demand), points_xy(candidates), model.max_range_m(candidates)
    )
    verdict = model.evaluate(demand, candidates, rows, cols, dist)
    keep = np.asarray(verdict.covered, dtype=bool)
    shape = (len(demand), len(candidates))
    A = sp.csr_matrix(
        (np.ones(int(keep.sum()), dtype=np.int8), (rows[keep], cols[keep])), shape=shape
    )
    rsrp = None
    if verdict.signal_dbm is not None:
        rsrp = sp.csr_matrix(
            (np.asarray(verdict.signal_dbm, dtype=np.float32)[keep], (rows[keep], cols[keep])),
            shape=shape,
        )
    return CoverageMatrix(
        A=A,
        rsrp=rsrp,
        demand_ids=demand["cell_id"].to_numpy(),
        candidate_ids=candidates["candidate_id"].to_numpy(),
        model=model.name,
    )


def make_model(cfg: Config, *, buildings: gpd.GeoDataFrame | None = None) -> CoverageModel:
    """Build the coverage model the configuration asks for.

    Parameters
    ----------
    cfg
        The run configuration (its ``coverage`` section).
    buildings
        Building footprints, used by the radio model for obstruction (with the
        ``layers.dem`` raster when the config names one).

    Returns
    -------
    CoverageModel
        A :class:`RangeModel` or a :class:`siting.radio.RadioModel`.
    """
    if cfg.coverage.model == "range":
        return RangeModel.from_config(cfg)
    from siting.radio import RadioConfig, RadioModel

    radio_cfg = RadioConfig.model_validate(cfg.coverage.radio)
    dem = cfg.layers.dem.path if cfg.layers.dem is not None else None
    return RadioModel(radio_cfg, buildings=buildings, raster_path=dem)
