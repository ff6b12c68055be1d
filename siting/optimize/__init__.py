"""Optimisation engine: choose candidate sites over a sparse demand x candidate matrix.

The matrix-level entry point is :func:`solve_matrix`; every plan it returns is re-checked
by :func:`check_solution`. :func:`solve_phased` plans a multi-year rollout and
:func:`pareto_front` sweeps budgets or site counts.
"""

from siting.optimize.backends import SOLVERS, available_solvers
from siting.optimize.checker import check_solution
from siting.optimize.pareto import ParetoFront, pareto_front
from siting.optimize.phasing import PhasedResult, solve_phased
from siting.optimize.problem import Quota, ZoneRequirement
from siting.optimize.result import SolveResult
from siting.optimize.solve import solve_matrix
from siting.optimize.spacing import exclusion_conflicts, spacing_conflicts

__all__ = [
    "SOLVERS",
    "ParetoFront",
    "PhasedResult",
    "Quota",
    "SolveResult",
    "ZoneRequirement",
    "available_solvers",
    "check_solution",
    "exclusion_conflicts",
    "pareto_front",
    "solve_matrix",
    "solve_phased",
    "spacing_conflicts",
]
