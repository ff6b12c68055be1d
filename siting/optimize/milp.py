r"""The mixed-integer program, built straight from the sparse matrices of a model.

Variables: :math:`x_j \in \{0,1\}` per kept column (site selected), :math:`y_g \in [0,1]`
per objective row group (covered; integer when :math:`k_g > 1`), :math:`u_g` per row
group of a partially required zone (same meaning). Always posed as a minimisation.

.. math::

    \min\; \sigma\Big(\sum_g w_g y_g\Big)\ \text{(max cover, } \sigma = -1\text{)}
    \quad\text{or}\quad \sum_j c_j x_j\ \text{(min cost)}

subject to

.. math::

    k_g y_g - \sum_j a_{gj} x_j &\le 0 && \text{(coverage, objective groups)}\\
    \sum_j a_{hj} x_j &\ge k_h && \text{(zone rows required at 100 \%)}\\
    k_g u_g - \sum_j a_{gj} x_j \le 0,\quad \sum_{g \in Z} m_g u_g &\ge \lceil f_Z |Z| \rceil
    && \text{(zone } Z \text{ at fraction } f_Z\text{)}\\
    \sum_j x_j \le p,\quad \sum_j c_j x_j &\le B,\quad \sum_g w_g y_g \ge T\\
    x_a + x_b &\le 1 && \text{(conflicting pairs)}\\
    q^{\min}_G \le \sum_{j \in G} x_j &\le q^{\max}_G && \text{(quotas)}\\
    x_j &= 1 && (j \text{ fixed}).

All blocks are assembled with ``scipy.sparse`` (no loop per element or per row).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from siting.optimize.reduce import Model

_INF = np.inf


@dataclass(frozen=True)
class Milp:
    """A minimisation MIP in column-wise sparse form."""

    c: np.ndarray
    lb: np.ndarray
    ub: np.ndarray
    A: sp.csc_array
    row_lo: np.ndarray
    row_hi: np.ndarray
    integrality: np.ndarray  # int32: 1 integer, 0 continuous
    n_x: int
    sign: float  # objective of the model = sign * (real objective)

    @property
    def shape(self) -> tuple[int, int]:
        """Rows and columns of the constraint matrix."""
        return self.A.shape


def _uses_y(model: Model) -> bool:
    return model.objective == "max_cover" or model.target is not None


def build_milp(model: Model) -> Milp:
    """Assemble the MIP of a reduced model (see the module docstring)."""
    n = model.n
    ny = model.Ao.shape[0] if _uses_y(model) else 0
    nus = [z.A.shape[0] for z in model.frac]
    nu = int(sum(nus))
    ncol = n + ny + nu
    blocks: list[sp.csr_array] = []
    lo: list[np.ndarray] = []
    hi: list[np.ndarray] = []

    def add(M: sp.spmatrix | sp.sparray, lo_v: np.ndarray, hi_v: np.ndarray) -> None:
        blocks.append(sp.csr_array(M))
        lo.append(np.asarray(lo_v, dtype=np.float64))
        hi.append(np.asarray(hi_v, dtype=np.float64))

    def pad(Mx: sp.sparray | None, My: sp.sparray | None, Mu: sp.sparray | None,
            rows: int) -> sp.csr_array:
        parts = [Mx if Mx is not None else sp.csr_array((rows, n)),
                 My if My is not None else sp.csr_array((rows, ny)),
                 Mu if Mu is not None else sp.csr_array((rows, nu))]
        return sp.csr_array(sp.hstack(parts, format="csr"))

    g = model.Ao.shape[0]
    if ny:
        add(pad(-model.Ao, sp.diags_array(model.ko.astype(np.float64)), None, g),
            np.full(g, -_INF), np.zeros(g))
    h = model.Ah.shape[0]
    if h:
        add(pad(model.Ah, None, None, h), model.kh.astype(np.float64), np.full(h, _INF))
    off = 0
    for z, nz in zip(model.frac, nus, strict=True):
        Mu = sp.csr_array((z.k.astype(np.float64), (np.arange(nz), off + np.arange(nz))),
                          shape=(nz, nu))
        add(pad(-z.A, None, Mu, nz), np.full(nz, -_INF), np.zeros(nz))
        row = sp.csr_array((z.mult, (np.zeros(nz, dtype=np.int64), off + np.arange(nz))),
                           shape=(1, nu))
        add(pad(None, None, row, 1), [float(z.need)], [_INF])
        off += nz
    ones = sp.csr_array(np.ones((1, n)))
    if model.max_sites is not None:
        add(pad(ones, None, None, 1), [-_INF], [float(model.max_sites)])
    if model.budget is not None:
        add(pad(sp.csr_array(model.costs[None, :]), None, None, 1), [-_INF], [model.budget])
    if model.target is not None:
        add(pad(None, sp.csr_array(model.wo[None, :]), None, 1), [model.target], [_INF])
    if model.conflicts.size:
        mc = model.conflicts.shape[0]
        r = np.repeat(np.arange(mc), 2)
        C = sp.csr_array((np.ones(2 * mc), (r, model.conflicts.ravel())), shape=(mc, n))
        add(pad(C, None, None, mc), np.full(mc, -_INF), np.ones(mc))
    for _name, cols, qmin, qmax in model.quotas:
        Q = sp.csr_array((np.ones(cols.size), (np.zeros(cols.size, dtype=np.int64), cols)),
                         shape=(1, n))
        add(pad(Q, None, None, 1), [-_INF if qmin is None else float(qmin)],
            [_INF if qmax is None else float(qmax)])
    if blocks:
        A = sp.csc_array(sp.vstack(blocks, format="csc"))
    else:
        A = sp.csc_array((0, ncol))
    if model.objective == "max_cover":
        c = np.concatenate([np.zeros(n), -model.wo, np.zeros(nu)])
        sign = -1.0
    else:
        c = np.concatenate([model.costs, np.zeros(ny + nu)])
        sign = 1.0
    lb = np.zeros(ncol)
    lb[:n] = model.fixed.astype(np.float64)
    ub = np.ones(ncol)
    integ = np.zeros(ncol, dtype=np.int32)
    integ[:n] = 1
    if ny:
        integ[n:n + ny] = (model.ko > 1).astype(np.int32)
    if nu:
        integ[n + ny:] = np.concatenate([(z.k > 1).astype(np.int32) for z in model.frac])
    A.sort_indices()
    return Milp(c=c, lb=lb, ub=ub, A=A, row_lo=np.concatenate(lo) if lo else np.zeros(0),
                row_hi=np.concatenate(hi) if hi else np.zeros(0), integrality=integ, n_x=n,
                sign=sign)


def full_start(model: Model, milp: Milp, x: np.ndarray) -> np.ndarray:
    """Complete a column plan ``x`` (0/1 per kept column) to a full MIP solution vector."""
    parts = [x.astype(np.float64)]
    if milp.shape[1] > model.n:
        if _uses_y(model):
            parts.append((model.Ao @ x >= model.ko - 0.5).astype(np.float64))
        for z in model.frac:
            covered = (z.A @ x >= z.k - 0.5).astype(np.float64)
            parts.append(covered)
    return np.concatenate(parts)
