r"""Large-neighbourhood search: re-solve one window of the plan exactly, keep the rest.

At district scale the full MIP does not get past its root LP in minutes, but a window of
about a hundred neighbouring candidates is re-solved in a fraction of a second. Given a
feasible plan :math:`x`, a window :math:`W` (a seed column and the columns that share a
row with it, grown ring by ring) and :math:`\bar x = x` outside :math:`W`, the window
problem is the model restricted to the rows :math:`W` touches, with everything outside
held fixed:

.. math::

    \min \sum_{j \in W} c_j x_j \ \ \text{or}\ \ \max \sum_{g \in R} w_g y_g
    \quad\text{s.t.}\quad
    k'_g y_g \le \sum_{j \in W} a_{gj} x_j,\quad
    k'_g = k_g - \sum_{j \notin W} a_{gj} \bar x_j,

with the site count, budget, quotas, coverage target and zone needs reduced by what the
fixed part already provides, columns in conflict with a fixed selected site removed, and
rows the fixed part already covers dropped (their weight counts as a constant). Rows that
differ only outside the window are the same row inside it and are merged (weights and zone
multiplicities summed): a window of the district benchmark keeps about 58 % of its rows,
and its solve takes less than half the time (60 early windows of the min-cost search: 9.1 s
instead of 20.6 s, the same plans). Any
solution of the window problem joined with :math:`\bar x` is feasible for the whole
model, and the current plan restricted to :math:`W` is a feasible start, so a window
solve never makes the plan worse. Windows are visited from seeds spread over the plan;
each solve is warm-started and time-limited. This is a primal heuristic: it improves the
plan, not the bound.

Min cost with a coverage target is solved lexicographically in each window: cheapest
first; when the window has no cheaper plan, the most covered weight at its current cost
(the window MIP with the objective :math:`\max \sum_g w_g y_g` and the row
:math:`\sum_{j \in W} c_j x_j \le \sum_{j \in W} c_j \bar x_j`), and a window plan of
equal cost that covers more weight is kept. The window's target is what the rest of the
plan leaves to it, so weight gained in one window is slack over the target that a later
window can spend on dropping a site: without it the windows of a plan that sits just at
its target can only trade sites for cheaper ones covering the same weight. (A single
MIP with the weight as a tie-break, :math:`\min c^\top x - \varepsilon w^\top y`, does
the same in one solve but is slower: its objective is no longer integral.)
"""

from __future__ import annotations

import logging
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp

from siting.optimize.backends import MipOutcome, solve_highs
from siting.optimize.budget import Budget, as_budget
from siting.optimize.milp import Milp, build_milp, full_start
from siting.optimize.reduce import FracZone, Model, merge_hard_rows, merge_rows

log = logging.getLogger(__name__)

_EPS = 1e-9

WINDOWS = {"max_cover": (100, 1000), "min_cost": (60, 200)}
"""Default window per objective: columns (offered, for a scored window) and reach
(columns a scored window is chosen from). Many small windows beat few large ones at
district scale (228,363 x 50,000, from the same heuristic plan, 2 workers, windows then
limited to a time each). Min cost (95 % and key zones, scored windows), after 120 s: 150
columns in 1,000 with 2 s each 2,011 -> 1,979 sites; 60 in 200 with 0.3 s 1,917; 40 in
150 with 0.2 s 1,911; after 500 s: 60 in 200 1,833, 80 in 300 with 0.5 s 1,848, 40 in 150
1,853. Max cover with 2,000 sites (plain windows), after 120 s: 150 columns with 2 s
133.75 M, 100 with 0.5 s 133.86 M, 60 with 0.3 s 133.62 M. With window rows merged and
node-limited solves, min cost with ``time_limit=600``: 60 in 200 1,803 sites, 80 in 300
1,815, 40 in 150 1,819; a heuristic of 5 units instead of 30 left the windows more time
but ended at 1,808."""

WINDOW_HIGHS: dict[str, object] = {
    "mip_max_nodes": 1, "mip_allow_restart": False, "mip_heuristic_effort": 0.02}
"""HiGHS options of a window solve. The node limit (multiplied by :data:`NODES_GROWTH`
each time the windows widen) ends a solve at the same point on every run; a window's
root, with its cuts and heuristics, finds most of what the window has to give. Restarts
off: a window is too small to gain from one. On the district (min cost, same start,
120 s): windows stopped at 0.3 s 1,917 sites; with the cost-unit gap (below) 1,892; also
without restarts 1,872-1,882; node-limited (this) 1,881; after 300 s 1,833 (windows
stopped at 0.3 s: 1,833 after 500 s)."""

NODES_GROWTH = 4
"""Factor on the node limit each time the windows widen."""

WINDOW_UNIT = {"max_cover": 3.0e-5, "min_cost": 4.4e-5}
"""Work units charged per non-zero of a window MIP per solve, and a tenth as much again
per branch-and-bound node it explored, or :data:`ITERATION_UNIT` per simplex iteration if
that is more (more for a solve that improves the plan, :data:`IMPROVED_EXTRA`, less for
the second solve of a min-cost window, :data:`SECOND_SHARE`; divided among the windows in
flight). Per objective: a min-cost window MIP (with its coverage target row) takes longer
per non-zero than a max-cover one. On the district benchmark (228,363 x 50,000, two
workers, windows of about 6,000 non-zeros, over fifths or sixths of the window search) this
charges min cost 1.0-1.2 units per second; max cover with 3,000 sites 1.0-1.2 while the
windows are small and 0.7-0.9 once they have grown (600 s: ends by its units at 577 s),
with 2,000 sites 1.2-1.75 (120 s: ends at 111 s). Short max-cover runs end early, long
ones do not reach their deadline."""

ITERATION_UNIT = 2.4e-5
"""Work units per simplex iteration of a window solve per non-zero of an average column of
its MIP. Windows that have grown (hundreds of columns, a node limit of 64 or more) spend
their time in the simplex iterations of their search tree, which the charge per non-zero
and node misses: on 2.5 and 3.3 km tiles of the district benchmark (85,000 and 157,000
non-zeros, 150 s, one worker) it charged 0.53 and 0.84 units per second in all, 0.41 and
0.17 on the windows taking over 5 s; the larger of the two measures charges 1.0 and 1.8
units per second there."""

IMPROVED_EXTRA = 1.0
"""Extra share of its units charged to a window solve that finds a better plan. Such a
solve takes longer for work HiGHS does not count in iterations or nodes: it separates
hundreds of root cuts (one early district window spent 1.6 s of its 2.5 s on 829 cuts
with 134 simplex iterations of separation) and runs the sub-MIP heuristics that find the
better plan. On the district benchmark an improving window took 1.7 times the seconds per
non-zero of one that did not, for either objective. Without this share, and with the
second solve of a min-cost window charged in full, the district min-cost search was
charged 0.8 units per second in the first fifth of its window search and 1.6 in the
fourth."""

SECOND_SHARE = 0.25
"""Share of its units charged to the second solve of a min-cost window (the most weight
at the window's cost, see the module docstring): it starts from the first solve's plan
and bound and is much quicker than its size says."""

WINDOW_SECONDS = 60.0
"""Wall-clock safety limit of one window solve (a solve reaching it makes the run
non-reproducible, see :mod:`siting.optimize.budget`)."""

GROW_BELOW = 0.1
"""A pass over every selected site in which at most this share of the windows improved
the plan widens the windows (columns and reach times 1.5): the small neighbourhoods are
then close to exhausted."""


@dataclass(frozen=True)
class LnsStats:
    """What a search did: windows solved, windows that improved the plan, seconds."""

    windows: int
    improved: int
    seconds: float
    start_value: float
    value: float


def window(model: Model, seed: int, size: int, AoT: sp.csr_array) -> np.ndarray:
    """Kept-column positions of the window around ``seed``: rings of row-sharing columns.

    Grows ring by ring (columns sharing a row with the current window) and stops at the
    first ring that reaches ``size`` columns, keeping the ``size`` columns closest (in
    rings) to the seed.
    """
    inw = np.zeros(model.n, dtype=bool)
    inw[seed] = True
    ring = np.array([seed])
    Ao = model.Ao
    while inw.sum() < size and ring.size:
        rows = np.unique(AoT[ring].indices)
        cols = np.unique(Ao[rows].indices) if rows.size else np.zeros(0, dtype=np.int64)
        new = cols[~inw[cols]]
        if new.size == 0:
            break
        room = size - int(inw.sum())
        if new.size > room:  # keep the columns sharing the most rows with the window
            share = np.asarray(Ao[rows][:, new].sum(axis=0)).ravel()
            new = new[np.argsort(-share, kind="stable")[:room]]
        inw[new] = True
        ring = new
    return np.flatnonzero(inw)


def _scored_window(model: Model, x: np.ndarray, seed: int, size: int, reach: int,
                   scores: np.ndarray | None, AoT: sp.csr_array) -> np.ndarray:
    """A plain window of ``size`` columns, or (with scores) the selected columns and the
    ``size`` best scored ones among ``reach`` neighbouring columns."""
    if scores is None:
        return window(model, seed, size, AoT)
    W = window(model, seed, max(reach, size), AoT)
    sel, rest = W[x[W]], W[~x[W]]
    rest = rest[np.argsort(scores[rest], kind="stable")[:size]]
    return np.union1d(sel, rest)


def _touched(M: sp.csr_array, MT: sp.csr_array, W: np.ndarray) -> np.ndarray:
    """Rows of ``M`` with a non-zero in a column of ``W`` (``MT`` is ``M.T`` in CSR)."""
    if M.shape[0] == 0 or W.size == 0:
        return np.zeros(0, dtype=np.int64)
    return np.unique(MT[W].indices)


def window_model(model: Model, x: np.ndarray, W: np.ndarray,
                 transposes: tuple[sp.csr_array, ...]) -> tuple[Model, np.ndarray] | None:
    """The window problem (see the module docstring) and the window columns it keeps.

    Returns ``None`` when the window has nothing to decide.
    """
    xo = x.astype(np.float64)
    xo[W] = 0.0
    if model.conflicts.size:  # a column clashing with a fixed selected site cannot enter
        a, b = model.conflicts[:, 0], model.conflicts[:, 1]
        bad = np.concatenate([a[xo[b] > 0], b[xo[a] > 0]])
        keep = ~np.isin(W, bad) | x[W]
        W = W[keep]
    if W.size == 0:
        return None
    AoT, AhT, *fzT = transposes
    ro = _touched(model.Ao, AoT, W)
    k_left = model.ko[ro] - np.rint(model.Ao[ro] @ xo).astype(np.int64)
    act = k_left > 0
    Ao, ko, wo = merge_rows(sp.csr_array(model.Ao[ro[act]][:, W]), k_left[act],
                            model.wo[ro[act]])
    target = None
    if model.target is not None:
        covered = (model.Ao @ x.astype(np.float64)) >= model.ko - 0.5
        outside = np.ones(model.Ao.shape[0], dtype=bool)
        outside[ro[act]] = False
        target = max(float(model.target) - float(model.wo[covered & outside].sum()), 0.0)
    rh = _touched(model.Ah, AhT, W)
    kh_left = model.kh[rh] - np.rint(model.Ah[rh] @ xo).astype(np.int64)
    Ah, kh = merge_hard_rows(sp.csr_array(model.Ah[rh[kh_left > 0]][:, W]),
                             kh_left[kh_left > 0])
    frac = tuple(_window_zone(z, zT, x, xo, W) for z, zT in zip(model.frac, fzT, strict=True))
    nout = int(xo.sum())
    spent = float(model.costs @ xo)
    pos = np.full(model.n, -1, dtype=np.int64)
    pos[W] = np.arange(W.size)
    conf = pos[model.conflicts] if model.conflicts.size else model.conflicts
    conf = conf[(conf >= 0).all(axis=1)] if conf.size else np.zeros((0, 2), dtype=np.int64)
    quotas = []
    for name, cols, qmin, qmax in model.quotas:
        cnt = int(xo[cols].sum())
        sub = pos[cols][pos[cols] >= 0]
        quotas.append((name, sub, None if qmin is None else max(qmin - cnt, 0),
                       None if qmax is None else qmax - cnt))
    sub = Model(
        objective=model.objective, cols=model.cols[W], costs=model.costs[W],
        fixed=model.fixed[W], Ao=Ao, wo=wo, ko=ko, Ah=Ah, kh=kh,
        frac=frac,
        max_sites=None if model.max_sites is None else model.max_sites - nout,
        budget=None if model.budget is None else model.budget - spent,
        target=target, conflicts=conf, quotas=tuple(quotas), capacity=None,
    )
    return sub, W


def _window_zone(z: FracZone, zT: sp.csr_array, x: np.ndarray, xo: np.ndarray,
                 W: np.ndarray) -> FracZone:
    rz = _touched(z.A, zT, W)
    inside = np.zeros(z.A.shape[0], dtype=bool)
    inside[rz] = True
    cov = (z.A @ x.astype(np.float64)) >= z.k - 0.5
    k_left = z.k[rz] - np.rint(z.A[rz] @ xo).astype(np.int64)
    done = k_left <= 0
    have = float(z.mult[cov & ~inside].sum()) + float(z.mult[rz[done]].sum())
    rows = rz[~done]
    A, k, mult = merge_rows(sp.csr_array(z.A[rows][:, W]), k_left[~done], z.mult[rows])
    return FracZone(z.name, A, mult, k, int(max(np.ceil(z.need - have - _EPS), 0)))


def large_neighbourhood_search(
    model: Model, x: np.ndarray, *, time_limit: float | Budget, size: int | None = None,
    window_time: float = WINDOW_SECONDS, seed: int = 0, scores: np.ndarray | None = None,
    reach: int | None = None, workers: int = 1,
) -> tuple[np.ndarray, LnsStats]:
    """Improve a feasible plan window by window with HiGHS (see the module docstring).

    Windows are seeded at selected sites not yet visited, in a random order fixed by
    ``seed``; when every selected site has been visited a new pass starts, with windows
    half as large again (and a node limit :data:`NODES_GROWTH` times higher) when few
    windows of the last pass improved the plan (:data:`GROW_BELOW`). The search ends when
    its budget is spent, when fewer units are left than the windows in flight and one more
    would cost at the last window's price (a large last window would overrun the
    deadline), or when a window over the whole model is solved to optimality.

    Parameters
    ----------
    model
        The reduced model.
    x
        A feasible plan (bool per kept column); not modified.
    time_limit
        Seconds for the whole search, or a :class:`~siting.optimize.budget.Budget` of work
        units (a window solve costs :data:`WINDOW_UNIT` per non-zero of its MIP).
    size
        Columns per window (default per objective, :data:`WINDOWS`).
    window_time
        Wall-clock safety limit of each window solve, in seconds (solves end by their
        node limit, :data:`WINDOW_HIGHS`).
    seed
        Order in which selected sites seed windows.
    scores
        Optional promise of each column, lower is better (e.g. Lagrangian reduced costs,
        :func:`~siting.optimize.bounds.reduced_costs`). With it a window spans ``reach``
        neighbouring columns but offers only the selected ones and the ``size`` best
        scored: the same solve effort re-plans a wider area.
    reach
        Columns around the seed a scored window is chosen from (default per objective).
    workers
        Windows solved at the same time (HiGHS runs without the interpreter lock). The
        windows in flight (one more than the workers, so that none waits) share no row,
        and their outcomes are applied in the order they were started: the same plans
        on every run.

    Returns
    -------
    tuple
        The improved plan and what the search did.
    """
    t0 = time.perf_counter()
    budget = as_budget(time_limit)
    d_size, d_reach = WINDOWS[model.objective]
    search = _Search(model, x.copy(), budget, workers=max(int(workers), 1),
                     size=d_size if size is None else size,
                     reach=d_reach if reach is None else reach,
                     nodes=int(WINDOW_HIGHS.get("mip_max_nodes", 2**31 - 1)),
                     window_time=window_time, scores=scores, rng=np.random.default_rng(seed))
    start_value = _plan_value(model, x)
    with ThreadPoolExecutor(search.workers) as pool:
        search.run(pool, t0)
    stats = LnsStats(search.windows, search.improved, time.perf_counter() - t0, start_value,
                     _plan_value(model, search.x))
    log.info("window search: %d windows, %d improved, %s -> %s in %.1fs", search.windows,
             search.improved, f"{start_value:.6g}", f"{stats.value:.6g}", stats.seconds)
    return search.x, stats


@dataclass(frozen=True)
class _Flight:
    """A window being solved: its problem, columns, the columns it blocks (every column
    sharing a row with it), its share of the workers and the pending outcome."""

    sub: Model
    W: np.ndarray
    blocks: np.ndarray
    share: int
    future: Future


class _Search:
    """State of one window search (see :func:`large_neighbourhood_search`).

    Windows are solved in a pipeline: up to ``workers + 1`` windows, no two sharing a
    row, are in flight, and outcomes are applied in the order the windows were
    submitted, so a worker that finishes early starts the next window at once while the
    sequence of plans stays the same on every run. Each window is charged its work
    divided by the windows in flight when it was submitted (at most ``workers``).
    """

    def __init__(self, model: Model, x: np.ndarray, budget: Budget, *, workers: int,
                 size: int, reach: int, nodes: int, window_time: float,
                 scores: np.ndarray | None, rng: np.random.Generator) -> None:
        self.model, self.x, self.budget, self.workers = model, x, budget, workers
        self.size, self.reach, self.nodes = size, reach, nodes
        self.window_time, self.scores, self.rng = window_time, scores, rng
        self.depth = workers + 1 if workers > 1 else 1
        self.transposes = (sp.csr_array(model.Ao.T), sp.csr_array(model.Ah.T),
                           *(sp.csr_array(z.A.T) for z in model.frac))
        self.visited = np.zeros(model.n, dtype=bool)
        self.windows = self.improved = self.pass_improved = self.pass_windows = 0
        self.last_charge = 0.0  # units the last window solved cost
        self.proved = False  # a window over the whole model was solved exactly

    def run(self, pool: ThreadPoolExecutor, t0: float) -> None:
        """Submit and apply windows until the budget is spent or nothing is left."""
        pending: deque[_Flight] = deque()
        next_log = t0 + 60.0
        while True:
            if time.perf_counter() >= next_log:
                log.info("window search: %.0fs, %d windows, plan value %s",
                         time.perf_counter() - t0, self.windows,
                         f"{_plan_value(self.model, self.x):.6g}")
                next_log += 60.0
            while len(pending) < self.depth and self._may_start(len(pending)):
                flight = self._submit(pool, pending)
                if flight is None:
                    break
                pending.append(flight)
            if pending:
                self._apply(pending.popleft())
                if self.proved:
                    for flight in pending:  # nothing is left to find: do not wait
                        flight.future.cancel()
                    break
                continue
            if not self._may_start(0):
                break
            if self._seeds().size == 0:  # every selected site has seeded a window
                if self.pass_windows == 0:  # a pass without a window: nothing to solve
                    break
                self._next_pass()

    def _may_start(self, in_flight: int) -> bool:
        """Whether the budget allows one more window, with ``in_flight`` still unpaid."""
        return (not self.proved and not self.budget.done()
                and self.budget.affords(self.last_charge * (in_flight + 1)))

    def _seeds(self, blocked: np.ndarray | None = None) -> np.ndarray:
        """Selected, unvisited, free columns (and not ``blocked``) a window may start at."""
        ok = self.x & ~self.visited & ~self.model.fixed
        return np.flatnonzero(ok if blocked is None else ok & ~blocked)

    def _next_pass(self) -> None:
        """Start a new pass over the selected sites, with wider windows after a pass in
        which few windows improved the plan (:data:`GROW_BELOW`)."""
        log.debug("window search pass: %d windows, %d improved, size %d, reach %d, "
                  "%d nodes", self.pass_windows, self.pass_improved, self.size, self.reach,
                  self.nodes)
        if self.pass_improved <= GROW_BELOW * self.pass_windows:
            self.size, self.reach = int(1.5 * self.size) + 1, int(1.5 * self.reach) + 1
            self.nodes = min(self.nodes * NODES_GROWTH, 2**31 - 1)
        self.visited[:] = False
        self.pass_improved = self.pass_windows = 0

    def _submit(self, pool: ThreadPoolExecutor, pending: deque[_Flight]) -> _Flight | None:
        """Build a window sharing no row with the pending ones and start solving it;
        ``None`` when no seed is left for now. Marks its selected columns visited."""
        model = self.model
        blocked = np.zeros(model.n, dtype=bool)
        for flight in pending:
            blocked[flight.blocks] = True
        for _ in range(4):
            seeds = self._seeds(blocked)
            if seeds.size == 0:
                return None
            W = _scored_window(model, self.x, int(self.rng.choice(seeds)), self.size,
                               self.reach, self.scores, self.transposes[0])
            W = W[~blocked[W]]
            self.visited[W[self.x[W]]] = True
            built = window_model(model, self.x, W, self.transposes)
            if built is not None:
                break
        else:
            return None
        sub, W = built
        milp = build_milp(sub)
        seconds = self.budget.seconds_left()
        limit = self.window_time if seconds is None else min(self.window_time,
                                                             max(seconds, 0.01))
        future = pool.submit(_solve_window, sub, milp, self.x[W], limit, self.nodes)
        return _Flight(sub, W, _blocked_columns(model, W, self.transposes),
                       min(len(pending) + 1, self.workers), future)

    def _apply(self, flight: _Flight) -> None:
        """Charge a solved window and keep its plan if it improves the whole plan."""
        out, clocked, work, exact = flight.future.result()
        self.last_charge = work / flight.share
        self.budget.charge(self.last_charge)
        if clocked:
            self.budget.stop_by_clock()
        self.windows += 1
        self.pass_windows += 1
        if out.x is None:
            return
        sub, W = flight.sub, flight.W
        nw = out.x[:W.size] > 0.5
        if not _improves(sub, self.x[W], nw, self.model.objective == "max_cover"):
            self.proved = exact and W.size >= self.model.n
            return
        trial = self.x.copy()
        trial[W] = nw
        if _feasible(self.model, trial):  # windows in flight share no row, but the
            self.x = trial                # target and the limits are global
            self.improved += 1
            self.pass_improved += 1
            self.visited[W] = False  # the neighbourhood changed: worth another look
            self.visited[W[nw]] = True


def _blocked_columns(model: Model, W: np.ndarray,
                     transposes: tuple[sp.csr_array, ...]) -> np.ndarray:
    """Columns sharing a row (of any kind) with a column of ``W``."""
    parts = [W]
    for M, MT in ((model.Ao, transposes[0]), (model.Ah, transposes[1]),
                  *((z.A, zT) for z, zT in zip(model.frac, transposes[2:], strict=True))):
        rows = _touched(M, MT, W)
        if rows.size:
            parts.append(M[rows].indices)
    return np.unique(np.concatenate(parts))


def _solve_window(sub: Model, milp: Milp, xw: np.ndarray, limit: float,
                  nodes: int) -> tuple[MipOutcome, bool, float, bool]:
    """Solve one window; for min cost with a target, when no cheaper plan is found, also
    look for more covered weight at the same cost (see the module docstring).

    Returns the outcome, whether a solve stopped at its wall-clock ``limit``, the work
    units it is charged (:data:`WINDOW_UNIT`, :data:`IMPROVED_EXTRA`,
    :data:`SECOND_SHARE`), and whether the first (objective) solve was proved optimal.
    """
    t0 = time.perf_counter()
    start = full_start(sub, milp, xw.astype(np.float64))
    opts = {**WINDOW_HIGHS, "mip_max_nodes": int(nodes)}
    unit = _cost_unit(sub.costs) if sub.objective == "min_cost" else None
    if unit is not None:  # a plan cheaper by less than a unit does not exist
        opts["mip_abs_gap"] = unit * (1 - 1e-6)
    out = solve_highs(milp, start, time_limit=limit, mip_gap=1e-6, threads=None, seed=0,
                      options=opts)
    clocked = out.raw_status == _CLOCK
    exact = out.kind == "optimal"
    better = out.x is not None and _improves(sub, xw, out.x[:sub.n] > 0.5,
                                             sub.objective == "max_cover")
    per_nnz = WINDOW_UNIT[sub.objective]
    work = _work(milp, out, per_nnz) * (1.0 + IMPROVED_EXTRA * better)
    if better or sub.objective != "min_cost" or sub.target is None or sub.Ao.shape[0] == 0:
        return out, clocked, work, exact
    second = weight_milp(sub, milp, float(sub.costs @ xw))
    left = max(limit - (time.perf_counter() - t0), 0.5 * limit)
    opts.pop("mip_abs_gap", None)
    more = solve_highs(second, start, time_limit=left, mip_gap=1e-6, threads=None, seed=0,
                       options=opts)
    clocked = clocked or more.raw_status == _CLOCK
    work += SECOND_SHARE * _work(second, more, per_nnz)
    return (more if more.x is not None else out), clocked, work, exact


def _work(milp: Milp, out: MipOutcome, unit: float) -> float:
    """Work units of one window solve at ``unit`` per non-zero (see :data:`WINDOW_UNIT`
    and :data:`ITERATION_UNIT`)."""
    per_column = milp.A.nnz / max(milp.shape[1], 1)
    by_iterations = ITERATION_UNIT * out.iterations * per_column
    return max(unit * milp.A.nnz * (1 + 0.1 * out.nodes), by_iterations)


_CLOCK = "Time limit reached"
"""HiGHS's status text for a solve stopped by its time limit."""


def _cost_unit(costs: np.ndarray) -> float | None:
    """The largest unit every cost is a whole multiple of (``None`` if not integral)."""
    if costs.size == 0 or not np.all(costs == np.round(costs)) or costs.max() > 2**52:
        return None
    unit = int(np.gcd.reduce(np.abs(costs).astype(np.int64)))
    return float(unit) if unit > 0 else None


def weight_milp(sub: Model, milp: Milp, cost: float) -> Milp:
    """The window MIP with the objective "most covered weight" and its cost capped at
    ``cost`` (a row added to the min-cost MIP of ``sub``)."""
    n, ny = milp.n_x, sub.Ao.shape[0]
    c = np.zeros(milp.shape[1])
    c[n:n + ny] = -sub.wo
    row = sp.csr_array(np.concatenate([sub.costs, np.zeros(milp.shape[1] - n)])[None, :])
    A = sp.csc_array(sp.vstack([milp.A, row], format="csc"))
    A.sort_indices()
    return replace(milp, c=c, A=A, row_lo=np.append(milp.row_lo, -np.inf),
                   row_hi=np.append(milp.row_hi, cost * (1 + 1e-12) + 1e-9), sign=-1.0)


def _improves(sub: Model, old: np.ndarray, new: np.ndarray, maxc: bool) -> bool:
    """Whether a window plan beats the current one: more weight (max cover), or lower
    cost, or (min cost with a target) the same cost and more covered weight."""
    a, b = _plan_value(sub, old.astype(np.float64)), _plan_value(sub, new.astype(np.float64))
    if maxc:
        return b > a + _EPS
    if b < a - _EPS * max(1.0, abs(a)):
        return True
    if sub.target is None or b > a + _EPS * max(1.0, abs(a)):
        return False
    return _covered(sub, new) > _covered(sub, old) + _EPS * max(1.0, float(sub.wo.sum()))


def _covered(model: Model, x: np.ndarray) -> float:
    """Weight of the objective rows a plan covers."""
    return float(model.wo[(model.Ao @ x.astype(np.float64)) >= model.ko - 0.5].sum())


def _plan_value(model: Model, x: np.ndarray) -> float:
    """Cost (min cost) or covered weight (max cover) of a plan of the model."""
    xf = x.astype(np.float64)
    if model.objective == "min_cost":
        return float(model.costs @ xf)
    return _covered(model, xf)


def _feasible(model: Model, x: np.ndarray) -> bool:
    """Whole-model check of a plan (a window solve should never break a rule)."""
    xf = x.astype(np.float64)
    if model.target is not None:
        if _covered(model, xf) < model.target * (1 - 1e-9) - 1e-9:
            return False
    if ((model.Ah @ xf) < model.kh - 0.5).any():
        return False
    for z in model.frac:
        if float(z.mult[(z.A @ xf) >= z.k - 0.5].sum()) < z.need - 1e-9:
            return False
    if model.max_sites is not None and int(x.sum()) > model.max_sites:
        return False
    if model.budget is not None and float(model.costs @ xf) > model.budget * (1 + 1e-9) + 1e-9:
        return False
    if model.conflicts.size and (x[model.conflicts[:, 0]] & x[model.conflicts[:, 1]]).any():
        return False
    if not x[model.fixed].all():
        return False
    for _name, cols, qmin, qmax in model.quotas:
        cnt = int(x[cols].sum())
        if (qmin is not None and cnt < qmin) or (qmax is not None and cnt > qmax):
            return False
    return True
