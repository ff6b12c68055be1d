r"""Proven bounds that do not need a MIP solver.

Max cover. With :math:`y_i \in [0, 1]` and :math:`x_j \in \{0, 1\}`,

.. math::

    \max \sum_i w_i y_i \quad\text{s.t.}\quad k_i y_i \le \sum_j a_{ij} x_j,\quad
    \sum_j x_j \le p,\quad \sum_j c_j x_j \le B,\quad x_j = 1\ (j \in F).

Relaxing the coverage rows with multipliers :math:`\lambda \ge 0` gives, for every
:math:`\lambda`, the upper bound

.. math::

    L(\lambda) = \sum_i \max(0, w_i - k_i \lambda_i) + \sum_{j \in F} s_j
    + \max_{x \in X} \sum_{j \notin F} s_j x_j,\qquad s = A^\top \lambda,

where the last term is the sum of the :math:`p - |F|` largest positive :math:`s_j`, or the
fractional knapsack over the remaining budget, or the smaller of the two when both
limits apply (dropping one limit can only raise a maximum, so each is a valid bound).
Zone, floor, conflict and quota constraints are dropped, which also keeps it an upper
bound. :math:`L` is minimised by projected subgradient steps with the Polyak step size.
"""

from __future__ import annotations

import time

import numpy as np

from siting.optimize.reduce import Model


def trivial_bound(model: Model) -> float:
    """All reachable weight (max_cover) or the cost of the fixed sites (min_cost)."""
    if model.objective == "max_cover":
        return float(model.wo.sum())
    return float(model.costs[model.fixed].sum())


def _best_free(
    s: np.ndarray, model: Model, free: np.ndarray, p_free: int | None, b_free: float | None
) -> tuple[float, np.ndarray]:
    """Value and (fractional) x of the relaxed column problem for scores ``s``."""
    sf = np.where(free, s, 0.0)
    pos = np.flatnonzero(sf > 0)
    options: list[tuple[float, np.ndarray]] = []
    if p_free is not None:
        top = pos if pos.size <= p_free else pos[np.argpartition(-sf[pos], p_free - 1)[:p_free]]
        x = np.zeros(s.size)
        x[top] = 1.0
        options.append((float(sf[top].sum()), x))
    if b_free is not None:
        c = model.costs[pos]
        order = pos[np.lexsort((-sf[pos], -sf[pos] / np.maximum(c, 1e-300)))]
        cum = np.cumsum(model.costs[order])
        x = np.zeros(s.size)
        full = cum <= b_free
        x[order[full]] = 1.0
        val = float(sf[order[full]].sum())
        nxt = int(full.sum())
        if nxt < order.size:
            left = b_free - (cum[nxt - 1] if nxt else 0.0)
            frac = left / model.costs[order[nxt]]
            x[order[nxt]] = frac
            val += frac * float(sf[order[nxt]])
        options.append((val, x))
    if not options:
        x = np.zeros(s.size)
        x[pos] = 1.0
        return float(sf[pos].sum()), x
    return min(options, key=lambda t: t[0])


def lagrangian_bound(
    model: Model,
    *,
    lower: float,
    time_limit: float = 5.0,
    max_iter: int = 500,
) -> tuple[float, int]:
    """Lagrangian upper bound for max cover by projected subgradient optimisation.

    Parameters
    ----------
    model
        The reduced max-cover model.
    lower
        Objective of the best known plan (used in the Polyak step size).
    time_limit
        Seconds allowed.
    max_iter
        Maximum number of subgradient iterations.

    Returns
    -------
    tuple
        The best (smallest) bound found and the number of iterations done.
    """
    if model.objective != "max_cover":
        raise ValueError("lagrangian_bound is for max_cover models")
    A, w, k = model.Ao, model.wo, model.ko.astype(np.float64)
    AT = A.T.tocsr()
    free = ~model.fixed
    nfix = int(model.fixed.sum())
    p_free = None if model.max_sites is None else max(model.max_sites - nfix, 0)
    b_free = None if model.budget is None else max(
        model.budget - float(model.costs[model.fixed].sum()), 0.0)
    best = float(w.sum())
    lam = 0.5 * w / k
    beta, stall = 2.0, 0
    t_end = time.perf_counter() + time_limit
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007
        s = AT @ lam
        red = w - k * lam
        val_free, x = _best_free(s, model, free, p_free, b_free)
        val = float(np.maximum(red, 0.0).sum()) + float(s[model.fixed].sum()) + val_free
        if val < best - 1e-12 * max(best, 1.0):
            best, stall = val, 0
        else:
            stall += 1
            if stall >= 15:
                beta, stall = beta / 2, 0
        x = x + model.fixed
        g = A @ x - k * (red > 0)
        norm = float(g @ g)
        gap = val - lower
        if norm <= 0 or gap <= 1e-9 * max(abs(lower), 1.0) or beta < 1e-4:
            break
        lam = np.maximum(lam - beta * gap / norm * g, 0.0)
        if time.perf_counter() > t_end:
            break
    return best, it
