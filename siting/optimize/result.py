"""The result object returned by every solve function."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from siting._errors import InfeasibleError, SolverError

STATUSES = ("optimal", "feasible", "infeasible", "no_solution")


@dataclass(frozen=True)
class SolveResult:
    """Outcome of a solve: the plan, its real objective, a proven bound and honest status.

    Attributes
    ----------
    selected
        Sorted column indices of the plan (empty when there is no plan).
    objective
        Weighted coverage (max_cover) or cost (min_cost) of ``selected``, recomputed
        from the matrix.
    bound
        A proven bound on the optimum: upper for max_cover, lower for min_cost.
    bound_source
        Where the bound comes from: "mip", "lp", "lagrangian" or "trivial".
    gap
        ``|bound - objective| / max(|objective|, 1e-9)``.
    status
        "optimal" (within ``mip_gap``), "feasible", "infeasible" or "no_solution".
    stop_reason
        Why the search stopped: "optimal", "gap_reached", "time_limit",
        "heuristic_only", "solver_failed", "infeasible" or "presolve".
    solver, solver_status
        Name of the MIP solver and its own raw status text ("" when not run).
    message
        One human sentence.
    covered, coverage_count
        Per row: covered at its k, and number of selected columns covering it.
    heuristic_objective
        Objective of the greedy + local search plan (``nan`` when it had none).
    timings
        Seconds per step.
    reductions
        Counts from the reductions.
    diagnosis
        Why the problem is infeasible (empty otherwise).
    infeasible_zones
        Names of the zones (or constraint families) that cannot be met.
    objective_name
        "max_cover" or "min_cost".
    assignment
        Capacitated solves only: (rows x columns) sparse demand units each selected
        column serves (``None`` otherwise).
    served
        Capacitated solves only: share of each row's demand that is served, 0..1; the
        objective is then ``weights @ served``.
    reproducible
        Whether every step ended by its own work budget or by optimality, never by the
        wall clock: the same input and options then give the same plan on every run (see
        :mod:`siting.optimize.budget`). A run cut by the clock (a slow or busy machine, or
        a MIP solver at its time limit) may differ when repeated.
    """

    selected: np.ndarray
    objective: float
    bound: float
    bound_source: str
    gap: float
    status: str
    stop_reason: str
    solver: str
    solver_status: str
    message: str
    covered: np.ndarray
    coverage_count: np.ndarray
    heuristic_objective: float
    timings: dict[str, float] = field(default_factory=dict)
    reductions: dict[str, float] = field(default_factory=dict)
    diagnosis: str = ""
    infeasible_zones: list[str] = field(default_factory=list)
    objective_name: str = "max_cover"
    assignment: sp.csr_array | None = None
    served: np.ndarray | None = None
    reproducible: bool = True

    @property
    def n_selected(self) -> int:
        """Number of selected columns."""
        return int(self.selected.size)

    @property
    def ok(self) -> bool:
        """Whether the result holds a plan that meets every hard rule."""
        return self.status in ("optimal", "feasible")

    def raise_for_status(self) -> SolveResult:
        """Raise if there is no valid plan; return ``self`` otherwise.

        Raises
        ------
        InfeasibleError
            When the problem is infeasible (``.zones`` names what cannot be met).
        SolverError
            When no plan was found (status "no_solution").
        """
        if self.status == "infeasible":
            raise InfeasibleError(f"{self.message} {self.diagnosis}".strip(),
                                  zones=self.infeasible_zones)
        if self.status == "no_solution":
            raise SolverError(self.message)
        return self


def relative_gap(objective: float, bound: float) -> float:
    """``|bound - objective| / max(|objective|, 1e-9)``; ``inf`` when either is missing."""
    if not (np.isfinite(objective) and np.isfinite(bound)):
        return float("inf")
    return abs(bound - objective) / max(abs(objective), 1e-9)
