"""Fast heuristics: lazy greedy construction, swap local search, redundancy removal.

They work on a reduced :class:`~siting.optimize.reduce.Model` and return a bool mask
over its columns. The plan they give is the MIP start and the fallback answer.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

from siting.optimize.budget import Budget, as_budget
from siting.optimize.reduce import Model

_EPS = 1e-9

SCAN_UNIT = 5.5e-9
"""Work units per entry a swap try scans: every column once (the best site to drop),
the non-zeros around the column it brings in, and :data:`TRY_ENTRIES` for its fixed
overhead."""

TRY_ENTRIES = 29_000
"""The fixed cost of a swap try, in scanned entries (about 0.15 ms here)."""

GREEDY_UNIT = 7.0e-7
"""Work units per non-zero of the model per greedy pass."""


class State:
    """Selected columns of a model with the coverage counts kept up to date."""

    def __init__(self, model: Model) -> None:
        self.model = model
        n = model.n
        self.Aoc = model.Ao.tocsc()
        self.Ahc = model.Ah.tocsc()
        self.fzc = [z.A.tocsc() for z in model.frac]
        self.x = np.zeros(n, dtype=bool)
        self.co = np.zeros(model.Ao.shape[0], dtype=np.int64)
        self.ch = np.zeros(model.Ah.shape[0], dtype=np.int64)
        self.cf = [np.zeros(z.A.shape[0], dtype=np.int64) for z in model.frac]
        self.spent = 0.0
        self.nsel = 0
        self.cw = 0.0  # covered weight of the objective rows, kept up to date
        self.conf = _conflict_adjacency(model.conflicts, n)
        self.nconf = np.zeros(n, dtype=np.int64)
        self.Q, self.qmin, self.qmax = _quota_matrix(model, n)
        self.qcount = np.zeros(self.Q.shape[1], dtype=np.int64)

    # -- moves -------------------------------------------------------------------------
    def _shift(self, j: int, d: int) -> None:
        m = self.model
        r = self.Aoc.indices[self.Aoc.indptr[j]:self.Aoc.indptr[j + 1]]
        before = float(m.wo[r][self.co[r] >= m.ko[r]].sum())
        for M, c in ((self.Aoc, self.co), (self.Ahc, self.ch), *zip(self.fzc, self.cf,
                                                                    strict=True)):
            c[M.indices[M.indptr[j]:M.indptr[j + 1]]] += d
        a = self.conf
        self.nconf[a.indices[a.indptr[j]:a.indptr[j + 1]]] += d
        q = self.Q
        self.qcount[q.indices[q.indptr[j]:q.indptr[j + 1]]] += d
        self.spent += d * float(m.costs[j])
        self.cw += float(m.wo[r][self.co[r] >= m.ko[r]].sum()) - before
        self.nsel += d
        self.x[j] = d > 0

    def add(self, j: int) -> None:
        """Select column ``j``."""
        self._shift(j, 1)

    def remove(self, j: int) -> None:
        """Unselect column ``j``."""
        self._shift(j, -1)

    def can_add(self, j: int) -> bool:
        """Whether selecting ``j`` keeps the count, budget, conflicts and quota caps."""
        m = self.model
        if self.x[j] or self.nconf[j] > 0:
            return False
        if m.max_sites is not None and self.nsel + 1 > m.max_sites:
            return False
        if m.budget is not None and self.spent + m.costs[j] > m.budget * (1 + 1e-12) + 1e-9:
            return False
        q = self.Q
        groups = q.indices[q.indptr[j]:q.indptr[j + 1]]
        return not (self.qcount[groups] + 1 > self.qmax[groups]).any()

    # -- measures ----------------------------------------------------------------------
    def covered_weight(self) -> float:
        """Weighted coverage of the objective rows."""
        return self.cw

    def zones_ok(self) -> bool:
        """Whether every zone requirement holds."""
        if (self.ch < self.model.kh).any():
            return False
        return all(float(z.mult[c >= z.k].sum()) >= z.need - 1e-9
                   for z, c in zip(self.model.frac, self.cf, strict=True))

    def quota_min_ok(self) -> bool:
        """Whether every quota minimum holds."""
        return bool((self.qcount >= self.qmin).all())

    def feasible(self) -> bool:
        """Whether the current plan meets every hard rule of the model."""
        m = self.model
        if not (self.zones_ok() and self.quota_min_ok()):
            return False
        if m.target is not None and self.covered_weight() < m.target * (1 - 1e-9) - 1e-9:
            return False
        return not (m.max_sites is not None and self.nsel > m.max_sites)

    def cost(self) -> float:
        """Cost of the current plan."""
        return float(self.model.costs[self.x].sum())

    def value(self) -> float:
        """Objective value: covered weight (max_cover) or cost (min_cost)."""
        return self.covered_weight() if self.model.objective == "max_cover" else self.cost()


def _conflict_adjacency(pairs: np.ndarray, n: int) -> sp.csr_array:
    if pairs.size == 0:
        return sp.csr_array((n, n), dtype=np.int8)
    r = np.concatenate([pairs[:, 0], pairs[:, 1]])
    c = np.concatenate([pairs[:, 1], pairs[:, 0]])
    return sp.csr_array((np.ones(r.size, dtype=np.int8), (r, c)), shape=(n, n))


def _quota_matrix(model: Model, n: int) -> tuple[sp.csr_array, np.ndarray, np.ndarray]:
    """Columns x quota groups incidence (CSR over columns) with min and max counts."""
    nq = len(model.quotas)
    if nq == 0:
        return sp.csr_array((n, 0), dtype=np.int8), np.zeros(0), np.zeros(0)
    rows = np.concatenate([q[1] for q in model.quotas])
    grp = np.concatenate([np.full(q[1].size, i) for i, q in enumerate(model.quotas)])
    Q = sp.csr_array((np.ones(rows.size, dtype=np.int8), (rows, grp)), shape=(n, nq))
    qmin = np.array([q[2] or 0 for q in model.quotas], dtype=np.int64)
    qmax = np.array([np.iinfo(np.int64).max if q[3] is None else q[3] for q in model.quotas],
                    dtype=np.int64)
    return Q, qmin, qmax


# -- gains -----------------------------------------------------------------------------
def _col_rows(M: sp.csc_array, j: int) -> np.ndarray:
    return M.indices[M.indptr[j]:M.indptr[j + 1]]


def objective_gain(st: State, j: int) -> float:
    """Partial-credit gain of adding ``j``: w_i / k_i for every row still short of k_i."""
    rows = _col_rows(st.Aoc, j)
    m = st.model
    short = st.co[rows] < m.ko[rows]
    return float((m.wo[rows][short] / m.ko[rows][short]).sum())


def objective_gain_all(st: State) -> np.ndarray:
    """:func:`objective_gain` for every column at once."""
    m = st.model
    v = np.where(st.co < m.ko, m.wo / m.ko, 0.0)
    return st.Aoc.T @ v


def zone_gain(st: State, j: int) -> float:
    """Progress towards the unmet zone requirements made by adding ``j``."""
    m = st.model
    rows = _col_rows(st.Ahc, j)
    short = st.ch[rows] < m.kh[rows]
    g = float((1.0 / m.kh[rows][short]).sum())
    for z, M, c in zip(m.frac, st.fzc, st.cf, strict=True):
        left = z.need - float(z.mult[c >= z.k].sum())
        if left <= 1e-9:
            continue
        r = _col_rows(M, j)
        s = c[r] < z.k[r]
        g += min(float((z.mult[r][s] / z.k[r][s]).sum()), left)
    return g


def zone_gain_all(st: State) -> np.ndarray:
    """:func:`zone_gain` for every column at once."""
    m = st.model
    g = st.Ahc.T @ np.where(st.ch < m.kh, 1.0 / np.maximum(m.kh, 1), 0.0)
    for z, M, c in zip(m.frac, st.fzc, st.cf, strict=True):
        left = z.need - float(z.mult[c >= z.k].sum())
        if left > 1e-9:
            g = g + np.minimum(M.T @ np.where(c < z.k, z.mult / z.k, 0.0), left)
    return g


def _lazy(
    st: State,
    prio: Callable[[int], float],
    init: np.ndarray,
    done: Callable[[], bool],
) -> None:
    """Lazy greedy: pop the best stale priority, refresh it, select if still the best."""
    heap = [(-float(p), int(j)) for j, p in enumerate(init) if p > _EPS and not st.x[j]]
    heapq.heapify(heap)
    while heap and not done():
        _, j = heapq.heappop(heap)
        if not st.can_add(j):
            continue
        p = prio(j)
        if p <= _EPS:
            continue
        if heap and p < -heap[0][0] - 1e-12:
            heapq.heappush(heap, (-p, j))
            continue
        st.add(j)


def _per_cost(st: State, use_cost: bool, power: float = 1.0) -> np.ndarray:
    if not use_cost or power == 0:
        return np.ones(st.model.n)
    c = st.model.costs
    return np.maximum(c, 1e-9 * max(1.0, float(c.max(initial=0.0)))) ** power


def _fill_quota_mins(st: State, use_cost: bool) -> None:
    div = _per_cost(st, use_cost)
    for gi in range(st.Q.shape[1]):
        if st.qcount[gi] >= st.qmin[gi]:
            continue
        cols = st.model.quotas[gi][1]
        score = objective_gain_all(st)[cols] / div[cols] + zone_gain_all(st)[cols] * 1e6
        for j in cols[np.argsort(-score, kind="stable")]:
            if st.qcount[gi] >= st.qmin[gi]:
                break
            if st.can_add(int(j)):
                st.add(int(j))


def _satisfy_zones(st: State, use_cost: bool, power: float = 1.0) -> None:
    div = _per_cost(st, use_cost, power)
    og = objective_gain_all(st)
    tie = 1e-3 / max(float(og.max(initial=0.0)), 1e-12)

    def prio(j: int) -> float:
        zg = zone_gain(st, j)
        return (zg + tie * objective_gain(st, j)) / div[j] if zg > _EPS else 0.0

    init = np.where(zone_gain_all(st) > _EPS, (zone_gain_all(st) + tie * og) / div, 0.0)
    _lazy(st, prio, init, st.zones_ok)


def greedy(model: Model, *, use_cost: bool | None = None, cost_power: float = 1.0) -> State:
    """Build a plan greedily: fixed sites, quota minimums, zones, then the objective.

    For min cost each step takes the column with the most progress per unit cost, where
    progress is capped at what is still needed (zone rows still short, then the weight
    still missing from the coverage target), until every zone and the target are met.

    Parameters
    ----------
    model
        The reduced model.
    use_cost
        Rank columns by gain per unit cost (default: for min_cost, or when a budget is set).
    cost_power
        Rank by gain / cost ** cost_power (1: per unit cost; 0: ignore costs, which
        needs fewer sites when a site count caps the plan).

    Returns
    -------
    State
        The plan; it may break a hard rule when the greedy could not meet it.
    """
    st = State(model)
    if use_cost is None:
        use_cost = model.objective == "min_cost" or model.budget is not None
    for j in np.flatnonzero(model.fixed):
        st.add(int(j))
    _fill_quota_mins(st, use_cost)
    _satisfy_zones(st, use_cost, cost_power)
    div = _per_cost(st, use_cost, cost_power)

    def prio(j: int) -> float:
        return objective_gain(st, j) / div[j]

    if model.objective == "max_cover":
        def full():
            return (model.max_sites is not None and st.nsel >= model.max_sites)
        _lazy(st, prio, objective_gain_all(st) / div, full)
    elif model.target is not None:
        goal = model.target * (1 - 1e-12)

        def capped(j: int) -> float:
            return min(objective_gain(st, j), max(goal - st.cw, 0.0)) / div[j]

        init = np.minimum(objective_gain_all(st), max(goal - st.cw, 0.0)) / div
        _lazy(st, capped, init, lambda: st.covered_weight() >= goal)
        if st.covered_weight() < goal:  # partial credit of k > 1 rows can stall: plain gain
            _lazy(st, prio, objective_gain_all(st) / div, lambda: st.covered_weight() >= goal)
    return st


def drop_redundant(st: State) -> None:
    """Remove selected, non-fixed sites whose removal keeps every hard rule (costly first)."""
    m = st.model
    order = np.flatnonzero(st.x & ~m.fixed)
    order = order[np.argsort(-m.costs[order], kind="stable")]
    for j in order:
        j = int(j)
        st.remove(j)
        if not st.feasible():
            st.add(j)


class _SwapSearch:
    """Exchange one selected site for one unselected site while the objective improves."""

    def __init__(self, st: State, *, keep_target: bool = True) -> None:
        self.st = st
        self.keep_target = keep_target
        m = st.model
        self.Aor = sp.csr_array(m.Ao)
        self._refresh()
        self.scale = max(float(m.wo.sum()), 1.0) * 1e-12
        rows, n = max(m.Ao.shape[0], 1), max(m.n, 1)
        nnz = float(m.Ao.nnz)
        self.step = SCAN_UNIT * (n + (nnz / n) * (nnz / rows) + TRY_ENTRIES)  # per try

    def _refresh(self) -> None:
        st, m = self.st, self.st.model
        self.loss = st.Aoc.T @ (m.wo * (st.co == m.ko))
        self.gain = st.Aoc.T @ (m.wo * (st.co == m.ko - 1))

    def _update(self, rows: np.ndarray, before: tuple[np.ndarray, np.ndarray]) -> None:
        st, m = self.st, self.st.model
        lo_new = (st.co[rows] == m.ko[rows]).astype(np.float64)
        ga_new = (st.co[rows] == m.ko[rows] - 1).astype(np.float64)
        sub = self.Aor[rows]
        w = m.wo[rows]
        self.loss += sub.T @ (w * (lo_new - before[0]))
        self.gain += sub.T @ (w * (ga_new - before[1]))

    def _flags(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        st, m = self.st, self.st.model
        return ((st.co[rows] == m.ko[rows]).astype(np.float64),
                (st.co[rows] == m.ko[rows] - 1).astype(np.float64))

    def _interaction(self, j: int) -> tuple[np.ndarray, np.ndarray]:
        """Selected sites sharing rows with ``j`` and the correction of their swap delta."""
        st, m = self.st, self.st.model
        rows = _col_rows(st.Aoc, j)
        sub = self.Aor[rows]
        val = m.wo[rows] * ((st.co[rows] == m.ko[rows]).astype(np.float64)
                            - (st.co[rows] == m.ko[rows] - 1))
        lens = np.diff(sub.indptr)
        cols = sub.indices
        vals = np.repeat(val, lens)
        keep = st.x[cols] & ~m.fixed[cols]
        cols, vals = cols[keep], vals[keep]
        if cols.size == 0:
            return cols, vals
        u, inv = np.unique(cols, return_inverse=True)
        return u, np.bincount(inv, weights=vals)

    def _feasible_swap(self, s: int, j: int) -> bool:
        st = self.st
        st.remove(s)
        ok = st.can_add(j)
        if ok:
            st.add(j)
            ok = st.zones_ok() and st.quota_min_ok()
            if st.model.target is not None and self.keep_target:
                ok = ok and st.covered_weight() >= st.model.target * (1 - 1e-9) - 1e-9
            st.remove(j)
        st.add(s)
        return ok

    def _apply(self, s: int, j: int) -> None:
        st = self.st
        rows = np.union1d(_col_rows(st.Aoc, s), _col_rows(st.Aoc, j))
        before = self._flags(rows)
        st.remove(s)
        st.add(j)
        self._update(rows, before)

    def toggle(self, j: int) -> None:
        """Select or unselect ``j`` and keep the loss and gain vectors up to date."""
        rows = _col_rows(self.st.Aoc, j)
        before = self._flags(rows)
        if self.st.x[j]:
            self.st.remove(j)
        else:
            self.st.add(j)
        self._update(rows, before)

    def try_column(self, j: int, removable: np.ndarray) -> bool:
        """Try the best swap bringing ``j`` in; apply it if it improves the objective."""
        g = float(self.gain[j])
        if g <= self.scale or self.st.x[j]:
            return False
        u, inter = self._interaction(j)
        loss = np.where(removable, self.loss, np.inf)
        cand = [int(np.argmin(loss))] if np.isfinite(loss).any() else []
        if u.size:
            sc = inter - self.loss[u]
            cand += [int(u[i]) for i in np.argsort(-sc)[:3]]
        best = {}
        for s in dict.fromkeys(cand):
            if not removable[s]:
                continue
            pos = np.searchsorted(u, s)
            it = float(inter[pos]) if pos < u.size and u[pos] == s else 0.0
            best[s] = g - float(self.loss[s]) + it
        for s, d in sorted(best.items(), key=lambda t: -t[1]):
            if d <= self.scale:
                break
            if self._feasible_swap(s, j):
                self._apply(s, j)
                self.last = (s, j)
                return True
        return False


def swap_search(st: State, *, time_limit: float | Budget, max_passes: int = 50) -> int:
    """Improve a max-cover plan by 1-for-1 swaps until no swap helps or time runs out.

    ``time_limit`` is in seconds, or a :class:`~siting.optimize.budget.Budget` charged
    per swap tried (0.7 of :data:`SCAN_UNIT`'s count; district benchmark, max cover with
    2,000 sites: 30 units took 18 s charged in full, 40 s charged half).

    Returns
    -------
    int
        Number of swaps applied.
    """
    if st.model.objective != "max_cover" or st.nsel == 0:
        return 0
    budget = as_budget(time_limit)
    search = _SwapSearch(st)
    swaps = 0
    for _ in range(max_passes):
        improved = 0
        removable = st.x & ~st.model.fixed
        order = np.argsort(-search.gain, kind="stable")
        order = order[search.gain[order] > search.scale]
        for j in order:
            if budget.done():
                return swaps + improved
            budget.charge(0.7 * search.step)  # no repair: less than a cost-search try
            if search.try_column(int(j), removable):
                improved += 1
                removable = st.x & ~st.model.fixed
        swaps += improved
        if not improved:
            break
    return swaps


def _drop_slack(search: _SwapSearch) -> int:
    """Drop selected sites whose lost weight fits in the slack over the target (costly first)."""
    st, m = search.st, search.st.model
    goal = m.target * (1 - 1e-9) - 1e-9 if m.target is not None else 0.0
    cand = np.flatnonzero(st.x & ~m.fixed & (search.loss <= st.cw - goal))
    dropped = 0
    for j in cand[np.argsort(-m.costs[cand], kind="stable")]:
        j = int(j)
        if search.loss[j] > st.cw - goal:
            continue
        search.toggle(j)
        if st.feasible():
            dropped += 1
        else:
            search.toggle(j)
    return dropped


def _near(search: _SwapSearch, j: int) -> np.ndarray:
    """Unselected columns covering a row of ``j`` that is now short of its k."""
    st, m = search.st, search.st.model
    rows = _col_rows(st.Aoc, j)
    short = rows[st.co[rows] < m.ko[rows]]
    cols = np.unique(search.Aor[short].indices)
    return cols[~st.x[cols]]


def _repair(search: _SwapSearch, near: np.ndarray, *, budget: Budget, width: int,
            max_swaps: int) -> tuple[list[tuple[int, int]], bool]:
    """Swap sites (never for a dearer one) until the coverage target holds again.

    The columns in ``near`` (around the dropped site) are tried first, then the columns
    of largest gain.
    """
    st, m = search.st, search.st.model
    goal = m.target * (1 - 1e-9) - 1e-9
    swaps: list[tuple[int, int]] = []
    width = min(width, m.n)
    while st.cw < goal and len(swaps) < max_swaps and not budget.done():
        budget.charge(search.step)
        gain = np.where(st.x, 0.0, search.gain)
        top = np.argpartition(-gain, width - 1)[:width]
        top = top[np.argsort(-gain[top], kind="stable")]
        if near.size:
            near = near[~st.x[near]]
            top = np.concatenate([near[np.argsort(-gain[near], kind="stable")], top])
        base = st.x & ~m.fixed
        moved = False
        for j in top[gain[top] > search.scale]:
            budget.charge(search.step)
            if search.try_column(int(j), base & (m.costs >= m.costs[j])):
                swaps.append(search.last)
                moved = True
                break
        if not moved:
            break
    return swaps, st.cw >= goal


def cost_search(st: State, *, time_limit: float | Budget, width: int = 200,
                max_swaps: int = 8) -> int:
    """Lower the cost of a feasible min-cost plan by local search; returns sites dropped.

    Moves, each keeping every hard rule and never raising the cost: drop a site whose
    uniquely covered weight fits in the slack over the coverage target; and
    drop-and-repair: drop the site losing the least weight per unit cost, then apply up
    to ``max_swaps`` 1-for-1 swaps (each to a site no dearer, each raising the covered
    weight) until the target holds again, or undo it all. A drop followed by one swap is
    a 2-for-1 replacement. Loss and gain per column are kept up to date with sparse
    products over the rows a move touches.

    Parameters
    ----------
    st
        A feasible plan of a min-cost model (left unchanged otherwise).
    time_limit
        Seconds allowed, or a :class:`~siting.optimize.budget.Budget` charged per swap
        tried (:data:`SCAN_UNIT`).
    width
        Columns with the largest gain tried per repair swap.
    max_swaps
        Swaps allowed to repair one drop.
    """
    m = st.model
    if m.objective != "min_cost" or not st.feasible() or m.n == 0:
        return 0
    budget = as_budget(time_limit)
    search = _SwapSearch(st, keep_target=False)
    dropped = _drop_slack(search)
    if m.target is None:
        return dropped
    unit = np.maximum(m.costs, 1e-9 * max(1.0, float(m.costs.max(initial=0.0))))
    tried = np.zeros(m.n, dtype=bool)
    while not budget.done():
        budget.charge(search.step)
        cand = st.x & ~m.fixed & ~tried
        if not cand.any():
            break
        s = int(np.argmin(np.where(cand, search.loss / unit, np.inf)))
        tried[s] = True
        search.toggle(s)
        ok = st.zones_ok() and st.quota_min_ok()
        swaps, ok = _repair(search, _near(search, s), budget=budget, width=width,
                            max_swaps=max_swaps) if ok else ([], False)
        if ok and st.feasible():
            dropped += 1 + _drop_slack(search)
            tried[:] = False
            continue
        for a, b in reversed(swaps):
            search._apply(b, a)
        search.toggle(s)
    return dropped


def heuristic(model: Model, *, time_limit: float | Budget = 5.0) -> State:
    """Greedy plus local search; returns the best plan found (possibly infeasible).

    Min cost runs the cost-ratio greedy (then drops redundant sites); when that plan
    breaks a rule (typically a site count reached before the target) or the budget
    allows, it also tries ranking by gain / sqrt(cost) and by gain alone, and keeps the
    cheapest feasible plan, then lowers its cost with :func:`cost_search` with what is
    left.

    Parameters
    ----------
    model
        The reduced model.
    time_limit
        Seconds allowed to the swap search (and to the extra min-cost greedy passes), or
        a :class:`~siting.optimize.budget.Budget` of work units (a greedy pass costs
        :data:`GREEDY_UNIT` per non-zero).
    """
    budget = as_budget(time_limit)
    if model.objective == "min_cost":
        return _min_cost_heuristic(model, budget)
    st = greedy(model)
    if model.budget is not None:
        alt = greedy(model, use_cost=False)
        if alt.feasible() and (not st.feasible() or alt.value() > st.value()):
            st = alt
    if st.feasible():
        swap_search(st, time_limit=budget)
    return st


def _min_cost_heuristic(model: Model, budget: Budget) -> State:
    best: State | None = None
    per_pass = GREEDY_UNIT * model.nnz
    for power in (1.0, 0.5, 0.0):
        start = budget.seconds_left()
        st = greedy(model, use_cost=True, cost_power=power)
        if st.feasible():
            drop_redundant(st)
        budget.charge(per_pass)
        if best is None or (st.feasible() and (not best.feasible() or st.cost() < best.cost())):
            best = st
        took = None if start is None else start - (budget.seconds_left() or 0.0)
        if best.feasible() and not budget.affords(per_pass, took):
            break
    assert best is not None
    if best.feasible():
        cost_search(best, time_limit=budget)
    return best
