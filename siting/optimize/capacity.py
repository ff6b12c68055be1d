r"""Capacitated siting: a site serves at most :math:`C_j` demand units (off by default).

Each row :math:`i` has a demand :math:`d_i` (default: its weight) that is assigned,
fractionally, to selected sites covering it; :math:`s_i \in [0, 1]` is the share of it
that is served. With :math:`z_{ij} \ge 0` for every covering pair (:math:`a_{ij} = 1`),
:math:`v_i` covered at :math:`k_i` (integer when :math:`k_i > 1`) and :math:`u_i \in
\{0,1\}` per row of a partially required zone:

.. math::

    \max \sum_i w_i s_i \ \text{ or } \ \min \sum_j c_j x_j \quad \text{s.t.}

.. math::

    \sum_j z_{ij} &= d_i s_i && \text{(served share)}\\
    s_i \le v_i,\quad k_i v_i &\le \sum_j a_{ij} x_j && \text{(served only if covered)}\\
    \sum_i z_{ij} &\le C_j x_j && \text{(capacity)}\\
    z_{ij} &\le d_i x_j && \text{(only selected sites serve)}\\
    \sum_i w_i s_i &\ge T && \text{(coverage target)}\\
    s_i = 1,\ \sum_j a_{ij} x_j &\ge k_Z && (i \in Z,\ Z \text{ required at 100 \%})\\
    u_i \le s_i,\ k_Z u_i \le \sum_j a_{ij} x_j,\ \sum_{i \in Z} u_i &\ge
    \lceil f_Z |Z| \rceil && (Z \text{ at fraction } f_Z)

plus the site count, budget, conflicts, quotas, fixed and forbidden columns of the
uncapacitated model. "Weighted coverage" becomes weighted served demand
:math:`\sum_i w_i s_i`; a zone row counts as covered only when it is fully served.

The model has one variable and one row per non-zero of the coverage matrix, so it is
meant for medium instances (up to some 10^5 non-zeros); no rows are merged and no
columns are dropped as dominated. The uncapacitated bounds stay valid (capacity only
removes plans) and are used until the MIP solver proves a better one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from siting.optimize.milp import Milp
from siting.optimize.problem import Problem, zone_need, zone_row_k

_INF = np.inf
_TOL = 1e-6


@dataclass(frozen=True)
class CapacityLayout:
    """Where each variable block starts in the capacitated MIP."""

    n: int
    m: int
    nnz: int
    rows: np.ndarray  # row index of each z variable (CSR order of the matrix)
    cols: np.ndarray  # column index of each z variable
    nu: int

    @property
    def v0(self) -> int:
        """First v (covered at k) variable."""
        return self.n

    @property
    def s0(self) -> int:
        """First s (served share) variable."""
        return self.n + self.m

    @property
    def z0(self) -> int:
        """First z (assignment) variable."""
        return self.n + 2 * self.m

    @property
    def u0(self) -> int:
        """First u (partial-zone row) variable."""
        return self.z0 + self.nnz


def demand_of(problem: Problem) -> np.ndarray:
    """Demand units per row: the given demand, else the weights."""
    return problem.weights if problem.demand is None else problem.demand


def build_capacity_milp(
    problem: Problem, *, fix: np.ndarray | None = None
) -> tuple[Milp, CapacityLayout]:
    """Assemble the capacitated MIP of a problem (see the module docstring).

    Parameters
    ----------
    problem
        A problem with ``capacity`` set.
    fix
        Bool mask of columns: when given, x is fixed to it (the MIP then only assigns
        demand, which evaluates a plan).
    """
    m, n = problem.shape
    A = problem.csr
    d = demand_of(problem).astype(np.float64)
    cap = np.asarray(problem.capacity, dtype=np.float64)
    rows = np.repeat(np.arange(m), np.diff(A.indptr))
    cols = A.indices.astype(np.int64)
    nnz = int(A.nnz)
    frac = [z for z in problem.zones if z.min_fraction < 1.0]
    nu = int(sum(z.rows.size for z in frac))
    lay = CapacityLayout(n, m, nnz, rows, cols, nu)
    ncol = lay.u0 + nu
    blocks: list[sp.csr_array] = []
    lo: list[np.ndarray] = []
    hi: list[np.ndarray] = []

    def add(r: np.ndarray, c: np.ndarray, v: np.ndarray, nrow: int, lo_v: object,
            hi_v: object) -> None:
        blocks.append(sp.csr_array((np.asarray(v, dtype=np.float64), (r, c)),
                                   shape=(nrow, ncol)))
        lo.append(np.broadcast_to(np.asarray(lo_v, dtype=np.float64), (nrow,)))
        hi.append(np.broadcast_to(np.asarray(hi_v, dtype=np.float64), (nrow,)))

    e = np.arange(nnz)
    im = np.arange(m)
    # served share: sum_j z_ij - d_i s_i = 0
    add(np.concatenate([rows, im]), np.concatenate([lay.z0 + e, lay.s0 + im]),
        np.concatenate([np.ones(nnz), -d]), m, 0.0, 0.0)
    # s_i - v_i <= 0
    add(np.concatenate([im, im]), np.concatenate([lay.s0 + im, lay.v0 + im]),
        np.concatenate([np.ones(m), -np.ones(m)]), m, -_INF, 0.0)
    # k_i v_i - sum_j a_ij x_j <= 0
    add(np.concatenate([im, rows]), np.concatenate([lay.v0 + im, cols]),
        np.concatenate([problem.k.astype(np.float64), -np.ones(nnz)]), m, -_INF, 0.0)
    # capacity: sum_i z_ij - C_j x_j <= 0 (finite capacities only)
    fin = np.isfinite(cap)
    pos = np.cumsum(fin) - 1
    zin = fin[cols]
    nf = int(fin.sum())
    add(np.concatenate([pos[cols[zin]], pos[fin]]),
        np.concatenate([lay.z0 + e[zin], np.flatnonzero(fin)]),
        np.concatenate([np.ones(int(zin.sum())), -cap[fin]]), nf, -_INF, 0.0)
    # z_ij - d_i x_j <= 0
    add(np.concatenate([e, e]), np.concatenate([lay.z0 + e, cols]),
        np.concatenate([np.ones(nnz), -d[rows]]), nnz, -_INF, 0.0)
    if problem.target_weight is not None:
        add(np.zeros(m, dtype=np.int64), lay.s0 + im, problem.weights, 1,
            problem.target_weight, _INF)
    lb = np.zeros(ncol)
    ub = np.ones(ncol)
    ub[lay.z0:lay.u0] = _INF
    _zone_rows(problem, lay, add, lb, ncol)
    _site_rows(problem, add)
    lb[:n] = problem.fixed.astype(np.float64)
    ub[:n] = (~problem.forbidden).astype(np.float64)
    if fix is not None:
        lb[:n] = ub[:n] = fix.astype(np.float64)
    integ = np.zeros(ncol, dtype=np.int32)
    integ[:n] = 1
    integ[lay.v0:lay.v0 + m] = (problem.k > 1).astype(np.int32)
    integ[lay.u0:] = 1
    if problem.objective == "max_cover":
        c = np.zeros(ncol)
        c[lay.s0:lay.s0 + m] = -problem.weights
        sign = -1.0
    else:
        c = np.zeros(ncol)
        c[:n] = problem.costs
        sign = 1.0
    Acsc = sp.csc_array(sp.vstack(blocks, format="csc"))
    Acsc.sort_indices()
    milp = Milp(c=c, lb=lb, ub=ub, A=Acsc, row_lo=np.concatenate(lo),
                row_hi=np.concatenate(hi), integrality=integ, n_x=n, sign=sign)
    return milp, lay


def _zone_rows(problem: Problem, lay: CapacityLayout, add, lb: np.ndarray,
               ncol: int) -> None:
    A = problem.csr
    off = 0
    for z in problem.zones:
        kz = zone_row_k(problem, z).astype(np.float64)
        sub = sp.coo_array(A[z.rows])
        nz = z.rows.size
        if z.min_fraction >= 1.0:
            lb[lay.s0 + z.rows] = 1.0
            add(sub.row, sub.col, np.ones(sub.nnz), nz, kz, _INF)
            continue
        iu = lay.u0 + off + np.arange(nz)
        add(np.concatenate([np.arange(nz)] * 2), np.concatenate([iu, lay.s0 + z.rows]),
            np.concatenate([np.ones(nz), -np.ones(nz)]), nz, -_INF, 0.0)
        add(np.concatenate([np.arange(nz), sub.row]), np.concatenate([iu, sub.col]),
            np.concatenate([kz, -np.ones(sub.nnz)]), nz, -_INF, 0.0)
        add(np.zeros(nz, dtype=np.int64), iu, np.ones(nz), 1, float(zone_need(z)), _INF)
        off += nz


def _site_rows(problem: Problem, add) -> None:
    n = problem.shape[1]
    cols = np.arange(n)
    zeros = np.zeros(n, dtype=np.int64)
    if problem.max_sites is not None:
        add(zeros, cols, np.ones(n), 1, -_INF, float(problem.max_sites))
    if problem.budget is not None:
        add(zeros, cols, problem.costs, 1, -_INF, problem.budget)
    if problem.conflicts.size:
        mc = problem.conflicts.shape[0]
        add(np.repeat(np.arange(mc), 2), problem.conflicts.ravel(), np.ones(2 * mc), mc,
            -_INF, 1.0)
    for q in problem.quotas:
        add(np.zeros(q.cols.size, dtype=np.int64), q.cols, np.ones(q.cols.size), 1,
            -_INF if q.min is None else float(q.min), _INF if q.max is None else float(q.max))


def assignment_from(lay: CapacityLayout, x: np.ndarray) -> sp.csr_array:
    """The (rows x columns) demand units served, from a solution vector of the MIP."""
    z = np.maximum(x[lay.z0:lay.u0], 0.0)
    keep = z > _TOL
    return sp.csr_array((z[keep], (lay.rows[keep], lay.cols[keep])), shape=(lay.m, lay.n))


def served_share(problem: Problem, counts: np.ndarray, assignment: sp.csr_array) -> np.ndarray:
    """Share of each row's demand served (0 unless covered at its k), clipped to 1."""
    d = demand_of(problem)
    got = np.asarray(assignment.sum(axis=1)).ravel()
    share = np.where(d > 0, got / np.where(d > 0, d, 1.0), 1.0)
    share = np.clip(share, 0.0, 1.0)
    share[share > 1.0 - _TOL] = 1.0
    return np.where(counts >= problem.k, share, 0.0)


def evaluate_plan(
    problem: Problem, selected: np.ndarray, *, time_limit: float | None
) -> tuple[np.ndarray | None, CapacityLayout, Milp]:
    """Best assignment of demand to the sites of a plan (HiGHS, x fixed).

    Returns
    -------
    tuple
        The full MIP vector (``None`` when no assignment meets the target and zones),
        the layout and the MIP it belongs to.
    """
    from siting.optimize.backends import solve_highs

    fix = np.zeros(problem.shape[1], dtype=bool)
    fix[selected] = True
    milp, lay = build_capacity_milp(problem, fix=fix)
    out = solve_highs(milp, None, time_limit=time_limit, mip_gap=1e-6, threads=None, seed=0)
    return (out.x if out.kind == "optimal" else None), lay, milp
