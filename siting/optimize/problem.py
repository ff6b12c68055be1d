"""Validated, normalised description of a siting problem at matrix level.

Every public entry point of :mod:`siting.optimize` turns its arguments into a
:class:`Problem` through :func:`make_problem`, so argument checking is written once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from siting._errors import ConfigError

OBJECTIVES = ("max_cover", "min_cost")


@dataclass(frozen=True)
class ZoneRequirement:
    """A hard service level for a group of demand rows (a key zone).

    Parameters
    ----------
    name
        Name of the zone, used in messages and diagnoses.
    rows
        Row indices of the demand cells in the zone.
    min_fraction
        Fraction of the zone's rows (counted, not weighted) that must be covered.
    k
        Number of selected sites that must cover a row for it to count as covered in this
        zone (e.g. 2 for the ICV test roads). ``None`` uses the per-row ``k`` of the problem.
    """

    name: str
    rows: np.ndarray
    min_fraction: float = 1.0
    k: int | None = None


@dataclass(frozen=True)
class Quota:
    """A minimum and/or maximum number of selected sites within a group of columns.

    Parameters
    ----------
    name
        Name of the group (a town, an owner, an asset class).
    cols
        Column indices of the candidates in the group.
    min
        At least this many selected candidates of the group (``None``: no minimum).
    max
        At most this many selected candidates of the group (``None``: no maximum).
    """

    name: str
    cols: np.ndarray
    min: int | None = None
    max: int | None = None


@dataclass(frozen=True)
class Problem:
    """A checked problem: binary coverage matrix in CSR and CSC forms plus every option."""

    csr: sp.csr_array
    csc: sp.csc_array
    weights: np.ndarray
    costs: np.ndarray
    k: np.ndarray
    objective: str
    max_sites: int | None
    budget: float | None
    coverage_target: float | None
    zones: tuple[ZoneRequirement, ...]
    fixed: np.ndarray  # bool mask per column
    forbidden: np.ndarray  # bool mask per column
    conflicts: np.ndarray  # (m, 2) int64, i < j, unique
    quotas: tuple[Quota, ...] = field(default_factory=tuple)
    capacity: np.ndarray | None = None  # per column, demand units; None = uncapacitated
    demand: np.ndarray | None = None  # per row, demand units (capacity only; None = weights)

    @property
    def shape(self) -> tuple[int, int]:
        """Number of demand rows and candidate columns."""
        return self.csr.shape

    @property
    def total_weight(self) -> float:
        """Sum of all row weights (the denominator of ``coverage_target``)."""
        return float(self.weights.sum())

    @property
    def target_weight(self) -> float | None:
        """Weighted coverage required by ``coverage_target`` (``None`` when not set)."""
        if self.coverage_target is None:
            return None
        return float(self.coverage_target) * self.total_weight


def as_binary_matrix(A: object) -> tuple[sp.csr_array, sp.csc_array]:
    """Convert any scipy.sparse matrix to binary float64 CSR and CSC arrays.

    Parameters
    ----------
    A
        Demand x candidate coverage matrix; any non-zero entry means "covers".

    Returns
    -------
    tuple
        The matrix as ``csr_array`` and ``csc_array`` with sorted indices and data 1.0.
    """
    if not sp.issparse(A):
        raise ConfigError(
            f"A must be a scipy.sparse matrix (demand x candidate), got {type(A).__name__}; "
            "build it with scipy.sparse.csr_array((data, (rows, cols)), shape=...)"
        )
    if A.ndim != 2:
        raise ConfigError(f"A must be two-dimensional, got shape {A.shape}")
    csr = sp.csr_array(A, dtype=np.float64, copy=True)
    csr.eliminate_zeros()
    csr.sum_duplicates()
    csr.data[:] = 1.0
    csr.sort_indices()
    csc = csr.tocsc()
    csc.sort_indices()
    return csr, csc


def _vector(
    values: object, n: int, *, name: str, default: float, dtype: type = np.float64
) -> np.ndarray:
    if values is None:
        return np.full(n, default, dtype=dtype)
    arr = np.asarray(values)
    if arr.ndim == 0:
        arr = np.full(n, arr.item())
    if arr.shape != (n,):
        raise ConfigError(f"{name} has shape {arr.shape}, expected ({n},) to match A; pass one "
                          f"value per {'row' if name in ('weights', 'k', 'demand') else 'column'}")
    if not np.issubdtype(arr.dtype, np.number) and arr.dtype != bool:
        raise ConfigError(f"{name} must be numeric, got dtype {arr.dtype}")
    if not np.all(np.isfinite(arr.astype(np.float64))):
        bad = int(np.flatnonzero(~np.isfinite(arr.astype(np.float64)))[0])
        raise ConfigError(f"{name}[{bad}] is not finite; replace NaN/inf values")
    return arr.astype(dtype)


def column_mask(indices: object, n: int, *, name: str) -> np.ndarray:
    """Turn a list of column indices (or a bool mask) into a bool mask, checking the range."""
    mask = np.zeros(n, dtype=bool)
    if indices is None:
        return mask
    arr = np.asarray(indices)
    if arr.dtype == bool:
        if arr.shape != (n,):
            raise ConfigError(f"{name} as a bool mask must have shape ({n},), got {arr.shape}")
        return arr.copy()
    arr = arr.astype(np.int64).ravel()
    _check_range(arr, n, name=name, what="column")
    mask[arr] = True
    return mask


def _check_range(arr: np.ndarray, n: int, *, name: str, what: str) -> None:
    bad = (arr < 0) | (arr >= n)
    if bad.any():
        raise ConfigError(
            f"{name} has {int(bad.sum())} {what} index(es) out of range 0..{n - 1} "
            f"(first: {int(arr[bad][0])}); indices refer to {what}s of A"
        )


def _check_zones(zones: Sequence[ZoneRequirement] | None, m: int) -> tuple[ZoneRequirement, ...]:
    out = []
    names: set[str] = set()
    for z in zones or ():
        if not isinstance(z, ZoneRequirement):
            raise ConfigError(f"zones must hold ZoneRequirement objects, got {type(z).__name__}")
        rows = np.unique(np.asarray(z.rows, dtype=np.int64).ravel())
        _check_range(rows, m, name=f"zone {z.name!r} rows", what="row")
        if not 0.0 <= float(z.min_fraction) <= 1.0:
            raise ConfigError(
                f"zone {z.name!r} has min_fraction {z.min_fraction}; use a value in [0, 1]"
            )
        if z.k is not None and int(z.k) < 1:
            raise ConfigError(f"zone {z.name!r} has k={z.k}; k must be >= 1")
        if z.name in names:
            raise ConfigError(f"zone name {z.name!r} is used twice; zone names must be unique")
        names.add(z.name)
        out.append(ZoneRequirement(z.name, rows, float(z.min_fraction),
                                   None if z.k is None else int(z.k)))
    return tuple(out)


def _check_quotas(quotas: Sequence[Quota] | None, n: int) -> tuple[Quota, ...]:
    out = []
    for q in quotas or ():
        if not isinstance(q, Quota):
            raise ConfigError(f"quotas must hold Quota objects, got {type(q).__name__}")
        cols = np.unique(np.asarray(q.cols, dtype=np.int64).ravel())
        _check_range(cols, n, name=f"quota {q.name!r} cols", what="column")
        lo = None if q.min is None else int(q.min)
        hi = None if q.max is None else int(q.max)
        if (lo is not None and lo < 0) or (hi is not None and hi < 0):
            raise ConfigError(f"quota {q.name!r} has a negative min or max; use counts >= 0")
        if lo is not None and hi is not None and lo > hi:
            raise ConfigError(f"quota {q.name!r} has min {lo} > max {hi}; swap or fix them")
        out.append(Quota(q.name, cols, lo, hi))
    return tuple(out)


def check_conflicts(conflicts: object, n: int) -> np.ndarray:
    """Normalise conflict pairs to a unique, sorted (m, 2) int64 array with i < j."""
    if conflicts is None:
        return np.zeros((0, 2), dtype=np.int64)
    arr = np.asarray(conflicts, dtype=np.int64)
    if arr.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ConfigError(f"conflicts must be an (m, 2) array of column pairs, got {arr.shape}")
    _check_range(arr.ravel(), n, name="conflicts", what="column")
    arr = np.sort(arr, axis=1)
    arr = arr[arr[:, 0] != arr[:, 1]]
    return np.unique(arr, axis=0)


def make_problem(
    A: object,
    *,
    weights: object = None,
    costs: object = None,
    objective: str = "max_cover",
    max_sites: int | None = None,
    budget: float | None = None,
    coverage_target: float | None = None,
    k: object = None,
    zones: Sequence[ZoneRequirement] | None = None,
    fixed: object = None,
    forbidden: object = None,
    conflicts: object = None,
    quotas: Sequence[Quota] | None = None,
    capacity: object = None,
    demand: object = None,
) -> Problem:
    """Check every argument of a solve call and return a normalised :class:`Problem`.

    Raises
    ------
    ConfigError
        For a shape mismatch, negative weights or costs, ``k < 1``, an index out of
        range, an unknown objective, a fixed column that is also forbidden, or a bad
        capacity / demand.
    """
    if objective not in OBJECTIVES:
        raise ConfigError(f"unknown objective {objective!r}; use one of {', '.join(OBJECTIVES)}")
    csr, csc = as_binary_matrix(A)
    m, n = csr.shape
    w = _vector(weights, m, name="weights", default=1.0)
    c = _vector(costs, n, name="costs", default=1.0)
    if (w < 0).any():
        raise ConfigError(f"weights has {int((w < 0).sum())} negative value(s); weights are >= 0")
    if (c < 0).any():
        raise ConfigError(f"costs has {int((c < 0).sum())} negative value(s); costs are >= 0")
    kk = _vector(k, m, name="k", default=1, dtype=np.float64)
    if (kk < 1).any() or (kk != np.round(kk)).any():
        raise ConfigError("k must hold integers >= 1 (sites needed to cover each row)")
    kk = kk.astype(np.int64)
    if max_sites is not None and (int(max_sites) != max_sites or max_sites < 0):
        raise ConfigError(f"max_sites must be a non-negative integer, got {max_sites!r}")
    if budget is not None and not (np.isfinite(budget) and budget >= 0):
        raise ConfigError(f"budget must be a finite number >= 0, got {budget!r}")
    if coverage_target is not None and not 0.0 <= float(coverage_target) <= 1.0:
        raise ConfigError(
            f"coverage_target is a fraction of the total weight in [0, 1], got {coverage_target!r}"
        )
    fixed_m = column_mask(fixed, n, name="fixed")
    forb_m = column_mask(forbidden, n, name="forbidden")
    both = fixed_m & forb_m
    if both.any():
        raise ConfigError(f"{int(both.sum())} column(s) are both fixed and forbidden "
                          f"(first: {int(np.flatnonzero(both)[0])}); remove them from one list")
    zs = _check_zones(zones, m)
    if objective == "min_cost" and coverage_target is None and not zs:
        raise ConfigError("objective 'min_cost' needs coverage_target and/or zones; "
                          "otherwise the cheapest plan selects nothing")
    cap, dem = _capacity(capacity, demand, m, n)
    return Problem(
        csr=csr, csc=csc, weights=w, costs=c, k=kk, objective=objective,
        max_sites=None if max_sites is None else int(max_sites),
        budget=None if budget is None else float(budget),
        coverage_target=None if coverage_target is None else float(coverage_target),
        zones=zs, fixed=fixed_m, forbidden=forb_m,
        conflicts=check_conflicts(conflicts, n), quotas=_check_quotas(quotas, n),
        capacity=cap, demand=dem,
    )


def _capacity(
    capacity: object, demand: object, m: int, n: int
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Check the per-column capacity (``inf`` allowed) and the per-row demand."""
    if capacity is None:
        if demand is not None:
            raise ConfigError("demand is only used with capacity; pass capacity= per column "
                              "or drop demand")
        return None, None
    arr = np.asarray(capacity, dtype=np.float64)
    cap = np.full(n, arr.item()) if arr.ndim == 0 else arr
    if cap.shape != (n,):
        raise ConfigError(f"capacity has shape {cap.shape}, expected ({n},) to match A; pass "
                          "one value per column")
    if np.isnan(cap).any() or (cap < 0).any():
        raise ConfigError("capacity must be >= 0 per column (demand units a site can serve; "
                          "inf for no limit), got NaN or a negative value")
    dem = None
    if demand is not None:
        dem = _vector(demand, m, name="demand", default=0.0)
        if (dem < 0).any():
            raise ConfigError(f"demand has {int((dem < 0).sum())} negative value(s); demand "
                              "units are >= 0")
    return cap.copy(), dem


def zone_row_k(problem: Problem, zone: ZoneRequirement) -> np.ndarray:
    """Per-row k requirement of a zone (the zone's k or the rows' own k)."""
    if zone.k is not None:
        return np.full(zone.rows.size, zone.k, dtype=np.int64)
    return problem.k[zone.rows]


def zone_need(zone: ZoneRequirement) -> int:
    """Number of the zone's rows that must be covered."""
    return int(np.ceil(zone.min_fraction * zone.rows.size - 1e-9))
