r"""Conflict pairs for minimum spacing and exclusion lists.

A conflict pair :math:`(a, b)` becomes the constraint :math:`x_a + x_b \le 1` in
:func:`~siting.optimize.solve_matrix` (argument ``conflicts``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy.spatial import cKDTree

from siting._errors import ConfigError


def spacing_conflicts(
    xy: object, min_distance: object, *, exempt: object = None
) -> np.ndarray:
    """Pairs of columns closer than their minimum spacing.

    Two candidates conflict when their distance is below the larger of their two minimum
    distances (so a macro site keeps its wider spacing from small cells). Pairs of two
    exempt columns (e.g. existing sites, already built) never conflict.

    Parameters
    ----------
    xy
        (n, 2) candidate coordinates in a projected CRS, metres.
    min_distance
        Minimum distance in metres, one value or one per column (0 = no spacing rule).
    exempt
        Bool mask or indices of columns whose mutual pairs are not constrained.

    Returns
    -------
    numpy.ndarray
        (m, 2) int64 pairs with ``a < b``, sorted.

    Examples
    --------
    >>> spacing_conflicts([[0, 0], [50, 0], [500, 0]], 100.0).tolist()
    [[0, 1]]
    """
    pts = np.asarray(xy, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise ConfigError(f"xy must be an (n, 2) array of projected coordinates, got "
                          f"shape {pts.shape}")
    n = pts.shape[0]
    d = np.broadcast_to(np.asarray(min_distance, dtype=np.float64), (n,))
    if (d < 0).any() or not np.isfinite(d).all():
        raise ConfigError("min_distance must be finite and >= 0 (metres)")
    if n == 0 or d.max() <= 0:
        return np.zeros((0, 2), dtype=np.int64)
    pairs = cKDTree(pts).query_pairs(float(d.max()), output_type="ndarray").astype(np.int64)
    if pairs.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    dist = np.linalg.norm(pts[pairs[:, 0]] - pts[pairs[:, 1]], axis=1)
    keep = dist < np.maximum(d[pairs[:, 0]], d[pairs[:, 1]])
    if exempt is not None:
        ex = np.zeros(n, dtype=bool)
        ex[np.asarray(exempt)] = True
        keep &= ~(ex[pairs[:, 0]] & ex[pairs[:, 1]])
    pairs = np.sort(pairs[keep], axis=1)
    return np.unique(pairs, axis=0) if pairs.size else np.zeros((0, 2), dtype=np.int64)


def exclusion_conflicts(exclusions: Mapping[int, object]) -> np.ndarray:
    """Conflict pairs from per-site exclusion lists ``{column: columns it excludes}``.

    Examples
    --------
    >>> exclusion_conflicts({0: [3, 4], 4: [0]}).tolist()
    [[0, 3], [0, 4]]
    """
    if not exclusions:
        return np.zeros((0, 2), dtype=np.int64)
    a = np.concatenate([np.full(np.size(v), k, dtype=np.int64) for k, v in exclusions.items()])
    b = np.concatenate([np.asarray(v, dtype=np.int64).ravel() for v in exclusions.values()])
    pairs = np.sort(np.column_stack([a, b]), axis=1)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    return np.unique(pairs, axis=0) if pairs.size else np.zeros((0, 2), dtype=np.int64)
