r"""Reductions that shrink a problem without changing its optimum.

1. Forbidden columns are removed.
2. Rows that cannot be covered even when every allowed column is selected (fewer than
   :math:`k_i` allowed columns cover them) are dropped from the objective; they are
   reported, and zones containing them are diagnosed separately.
3. Dominated columns are removed when this is provably safe: every row requirement has
   :math:`k = 1` and there are no conflicts, quotas or capacities. Column :math:`j` is
   dominated by :math:`j'` when :math:`N(j) \subseteq N(j')` on the rows that matter and
   :math:`c_{j'} \le c_j` (ties broken by size, then index). Any plan using :math:`j` stays
   feasible and at least as good with :math:`j'` instead (or with :math:`j` dropped when
   :math:`j'` is already selected), so the optimum is unchanged.
4. Rows with identical covering sets (and identical :math:`k`) are merged: their
   weights are summed in the objective and their multiplicities counted in zones.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from siting.optimize.problem import Problem, zone_need, zone_row_k

_MAX_DOMINANCE_PRODUCTS = 4e8


@dataclass(frozen=True)
class FracZone:
    """A zone that must cover at least ``need`` of its (merged) rows."""

    name: str
    A: sp.csr_array
    mult: np.ndarray
    k: np.ndarray
    need: int


@dataclass(frozen=True)
class Model:
    """A reduced problem over kept columns and merged rows, ready for every method."""

    objective: str
    cols: np.ndarray  # original indices of the kept columns
    costs: np.ndarray
    fixed: np.ndarray  # bool per kept column
    Ao: sp.csr_array  # objective groups x kept columns
    wo: np.ndarray
    ko: np.ndarray
    Ah: sp.csr_array  # hard rows (zones at 100 %) x kept columns
    kh: np.ndarray
    frac: tuple[FracZone, ...]
    max_sites: int | None
    budget: float | None
    target: float | None  # weighted coverage floor, in objective weight units
    conflicts: np.ndarray  # pairs of kept-column positions
    quotas: tuple[tuple[str, np.ndarray, int | None, int | None], ...]
    capacity: np.ndarray | None
    reductions: dict[str, float] = field(default_factory=dict)

    @property
    def n(self) -> int:
        """Number of kept columns."""
        return int(self.cols.size)

    @property
    def nnz(self) -> int:
        """Non-zeros of the objective, zone and partial-zone matrices together."""
        return int(self.Ao.nnz + self.Ah.nnz + sum(z.A.nnz for z in self.frac))

    @property
    def Ao_csc(self) -> sp.csc_array:
        """Objective matrix in CSC form."""
        return self.Ao.tocsc()


def group_rows(M: sp.csr_array, keys: np.ndarray, *, seed: int = 20200101) -> np.ndarray:
    """Label rows of ``M`` so that rows with the same pattern and key share a label.

    Rows are hashed with two random projections, sorted, and every group is verified
    against its first row, so two different rows never share a label.

    Returns
    -------
    numpy.ndarray
        Group label per row, 0..g-1, in order of first appearance of each group.
    """
    nrow = M.shape[0]
    if nrow == 0:
        return np.zeros(0, dtype=np.int64)
    rng = np.random.default_rng(seed)
    r = rng.random((M.shape[1], 2))
    h = M @ r
    nnz = np.diff(M.indptr)
    order = np.lexsort((h[:, 1], h[:, 0], nnz, keys))
    hs, ks, ns = h[order], keys[order], nnz[order]
    new = np.ones(nrow, dtype=bool)
    new[1:] = (ks[1:] != ks[:-1]) | (ns[1:] != ns[:-1]) | (hs[1:] != hs[:-1]).any(axis=1)
    gid_sorted = np.cumsum(new) - 1
    first = order[new]  # representative row of each group
    gid = np.empty(nrow, dtype=np.int64)
    gid[order] = gid_sorted
    rep = first[gid]
    diff = M - M[rep]
    diff.eliminate_zeros()
    bad = np.flatnonzero(np.diff(diff.indptr) > 0)
    if bad.size:  # hash collision: give each such row its own group
        gid[bad] = gid.max() + 1 + np.arange(bad.size)
    _, labels = np.unique(gid, return_inverse=True)
    return labels.astype(np.int64)


def _merge(M: sp.csr_array, labels: np.ndarray) -> tuple[sp.csr_array, np.ndarray]:
    """One representative row per label and the index of that representative."""
    g = int(labels.max()) + 1 if labels.size else 0
    rep = np.full(g, -1, dtype=np.int64)
    rep[labels[::-1]] = np.arange(labels.size)[::-1]
    return sp.csr_array(M[rep]), rep


def merge_rows(M: sp.csr_array, k: np.ndarray,
               weights: np.ndarray) -> tuple[sp.csr_array, np.ndarray, np.ndarray]:
    """Merge rows with the same pattern and requirement, summing their weights.

    Parameters
    ----------
    M
        Rows x columns, binary, CSR.
    k
        Requirement per row (sites needed); rows merge only with equal ``k``.
    weights
        Weight (or multiplicity) per row.

    Returns
    -------
    tuple
        The representative rows, their ``k`` and their summed weights.
    """
    if M.shape[0] == 0:
        return M, k, weights
    labels = group_rows(M, k)
    G, rep = _merge(M, labels)
    return G, k[rep], np.bincount(labels, weights=weights, minlength=rep.size)


def merge_hard_rows(M: sp.csr_array, k: np.ndarray) -> tuple[sp.csr_array, np.ndarray]:
    """Merge required rows with the same pattern, keeping the largest requirement."""
    if M.shape[0] == 0:
        return M, k
    labels = group_rows(M, np.zeros(M.shape[0], dtype=np.int64))
    G, _ = _merge(M, labels)
    kmax = np.zeros(G.shape[0], dtype=np.int64)
    np.maximum.at(kmax, labels, k)
    return G, kmax


def dominated_columns(
    A: sp.csc_array, costs: np.ndarray, fixed: np.ndarray
) -> np.ndarray | None:
    """Bool mask of columns dominated by another column (``None`` if too costly to test).

    Parameters
    ----------
    A
        Relevant rows x allowed columns, binary, CSC.
    costs, fixed
        Cost and fixed flag of each column.
    """
    n = A.shape[1]
    size = np.diff(A.indptr)
    deg = np.diff(A.tocsr().indptr).astype(np.float64)
    if float((deg**2).sum()) > _MAX_DOMINANCE_PRODUCTS:
        return None
    dom = (size == 0) & ~fixed
    Ai = sp.csc_array(A, dtype=np.int32)
    AT = sp.csr_array(Ai.T)
    block = max(1, int(2e7 // max(1.0, float((deg**2).sum()) / max(n, 1))))
    for start in range(0, n, block):
        stop = min(n, start + block)
        M = (AT[start:stop] @ Ai).tocoo()
        j = M.row + start
        jp = M.col
        hit = (M.data == size[j]) & (jp != j) & (size[j] > 0)
        j, jp = j[hit], jp[hit]
        better = (costs[jp] < costs[j]) | (
            (costs[jp] == costs[j])
            & ((size[jp] > size[j]) | ((size[jp] == size[j]) & (jp < j)))
        )
        dom[j[better & ~fixed[j]]] = True
    return dom


def _k_is_one(problem: Problem) -> bool:
    if (problem.k != 1).any():
        return False
    return all(z.k in (None, 1) for z in problem.zones)


def build_model(problem: Problem, *, reduce: bool = True, dominance: bool = True) -> Model:
    """Apply the reductions and return the :class:`Model` every method works on.

    Parameters
    ----------
    problem
        The validated problem.
    reduce
        When false, only forbidden columns are removed and no rows are merged (used by
        tests to compare the optimum with and without reductions).
    dominance
        When false, dominated columns are kept (the joint multi-year model gives every
        year the same columns, chosen once on the union of the years' rows).
    """
    m, n = problem.shape
    red: dict[str, float] = {}
    allowed = ~problem.forbidden
    ncov = problem.csr @ allowed.astype(np.float64)
    reach = ncov >= problem.k - 0.5
    obj_rows = np.flatnonzero(reach & (problem.weights > 0)) if reduce else np.arange(m)
    red["forbidden_columns"] = int(problem.forbidden.sum())
    red["unreachable_rows"] = int((~reach).sum())
    red["unreachable_weight"] = float(problem.weights[~reach].sum())
    zone_rows = (np.unique(np.concatenate([z.rows for z in problem.zones]))
                 if problem.zones else np.zeros(0, dtype=np.int64))
    cols = np.flatnonzero(allowed)
    safe = (reduce and dominance and _k_is_one(problem) and problem.conflicts.size == 0
            and not problem.quotas and problem.capacity is None)
    red["dominated_columns"] = 0
    if safe:
        relevant = np.union1d(obj_rows, zone_rows[reach[zone_rows]])
        sub = sp.csc_array(problem.csr[relevant][:, cols])
        dom = dominated_columns(sub, problem.costs[cols], problem.fixed[cols])
        if dom is not None:
            red["dominated_columns"] = int(dom.sum())
            cols = cols[~dom]
    Acols = sp.csr_array(problem.csr[:, cols])
    Ao, wo, ko = _objective_groups(problem, Acols, obj_rows, reduce=reduce)
    red["rows"] = m
    red["objective_groups"] = int(Ao.shape[0])
    red["merged_rows"] = int(obj_rows.size - Ao.shape[0])
    fixed = problem.fixed[cols]
    Ah, kh, frac = _zone_groups(problem, Acols, fixed, reduce=reduce)
    red["hard_rows"] = int(Ah.shape[0])
    pos = np.full(n, -1, dtype=np.int64)
    pos[cols] = np.arange(cols.size)
    conf = pos[problem.conflicts] if problem.conflicts.size else problem.conflicts
    conf = conf[(conf >= 0).all(axis=1)] if conf.size else np.zeros((0, 2), dtype=np.int64)
    quotas = tuple((q.name, pos[q.cols][pos[q.cols] >= 0], q.min, q.max)
                   for q in problem.quotas)
    red["columns"] = n
    red["kept_columns"] = int(cols.size)
    return Model(
        objective=problem.objective, cols=cols, costs=problem.costs[cols], fixed=fixed,
        Ao=Ao, wo=wo, ko=ko, Ah=Ah, kh=kh, frac=frac, max_sites=problem.max_sites,
        budget=problem.budget, target=problem.target_weight, conflicts=conf, quotas=quotas,
        capacity=None if problem.capacity is None else problem.capacity[cols],
        reductions=red,
    )


def _objective_groups(
    problem: Problem, Acols: sp.csr_array, rows: np.ndarray, *, reduce: bool
) -> tuple[sp.csr_array, np.ndarray, np.ndarray]:
    M = sp.csr_array(Acols[rows])
    w, k = problem.weights[rows], problem.k[rows]
    if not reduce or problem.capacity is not None or rows.size == 0:
        return M, w.copy(), k.copy()
    G, kg, wg = merge_rows(M, k, w)
    return G, wg, kg


def _zone_groups(
    problem: Problem, Acols: sp.csr_array, fixed: np.ndarray, *, reduce: bool
) -> tuple[sp.csr_array, np.ndarray, tuple[FracZone, ...]]:
    hard_rows, hard_k, frac = [], [], []
    fixed_cover = np.rint(Acols @ fixed.astype(np.float64))
    for z in problem.zones:
        kz = zone_row_k(problem, z)
        if z.min_fraction >= 1.0:
            todo = fixed_cover[z.rows] < kz if reduce else np.ones(z.rows.size, dtype=bool)
            hard_rows.append(z.rows[todo])
            hard_k.append(kz[todo])
            continue
        ok = Acols[z.rows] @ np.ones(Acols.shape[1]) >= kz - 0.5
        rows, kk = z.rows[ok], kz[ok]
        M = sp.csr_array(Acols[rows])
        mult = np.ones(rows.size)
        if reduce:
            M, kk, mult = merge_rows(M, kk, mult)
        frac.append(FracZone(z.name, M, mult, kk, zone_need(z)))
    if hard_rows:
        rows = np.concatenate(hard_rows)
        kk = np.concatenate(hard_k)
    else:
        rows = np.zeros(0, dtype=np.int64)
        kk = np.zeros(0, dtype=np.int64)
    M = sp.csr_array(Acols[rows])
    if reduce:
        M, kk = merge_hard_rows(M, kk)
    return M, kk, tuple(frac)
