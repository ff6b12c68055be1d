"""Find obvious reasons why a problem has no feasible plan, before any solver runs."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from siting.optimize.problem import Problem, zone_need, zone_row_k


@dataclass(frozen=True)
class Diagnosis:
    """Reasons a problem is infeasible (``reasons`` empty when none was found)."""

    reasons: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)

    @property
    def infeasible(self) -> bool:
        """Whether at least one reason was found."""
        return bool(self.reasons)

    def text(self) -> str:
        """All reasons in one paragraph."""
        return " ".join(self.reasons)


def diagnose(problem: Problem) -> Diagnosis:
    """Check zones, the coverage target, fixed sites, conflicts and quotas one by one.

    Each check assumes every allowed column may be selected, so a reason found here is a
    proof of infeasibility on its own.
    """
    reasons: list[str] = []
    names: list[str] = []
    allowed = (~problem.forbidden).astype(np.float64)
    ncov = np.rint(problem.csr @ allowed).astype(np.int64)
    for z in problem.zones:
        kz = zone_row_k(problem, z)
        ok = ncov[z.rows] >= kz
        need = zone_need(z)
        if int(ok.sum()) < need:
            bad = z.rows[~ok]
            reasons.append(
                f"zone {z.name!r}: {bad.size} of its {z.rows.size} rows cannot be covered "
                f"{'by ' + str(int(kz.max())) + ' sites ' if kz.max() > 1 else ''}even with "
                f"every allowed candidate selected (first rows: {bad[:5].tolist()}), so at most "
                f"{int(ok.sum())} can be covered but {need} are required; add candidates near "
                "those cells, un-forbid some, or lower the zone's min_fraction or k."
            )
            names.append(z.name)
    if problem.target_weight is not None:
        reach = float(problem.weights[ncov >= problem.k].sum())
        if reach < problem.target_weight * (1 - 1e-12) - 1e-9:
            reasons.append(
                f"coverage_target {problem.coverage_target:.4%} needs weight "
                f"{problem.target_weight:.6g} but only {reach:.6g} is reachable with every "
                "allowed candidate selected; lower the target or add candidates."
            )
            names.append("coverage_target")
    reasons_fixed, names_fixed = _fixed_checks(problem)
    return Diagnosis(reasons + reasons_fixed, names + names_fixed)


def _fixed_checks(problem: Problem) -> tuple[list[str], list[str]]:
    reasons: list[str] = []
    names: list[str] = []
    nfix = int(problem.fixed.sum())
    if problem.max_sites is not None and nfix > problem.max_sites:
        reasons.append(f"{nfix} fixed sites already exceed max_sites={problem.max_sites}; "
                       "raise max_sites or fix fewer sites.")
        names.append("max_sites")
    fcost = float(problem.costs[problem.fixed].sum())
    if problem.budget is not None and fcost > problem.budget * (1 + 1e-12) + 1e-9:
        reasons.append(f"fixed sites cost {fcost:.6g}, more than the budget "
                       f"{problem.budget:.6g}; raise the budget or fix fewer sites.")
        names.append("budget")
    if problem.conflicts.size:
        both = problem.fixed[problem.conflicts].all(axis=1)
        if both.any():
            i, j = problem.conflicts[both][0]
            reasons.append(f"{int(both.sum())} pair(s) of fixed sites conflict (first: columns "
                           f"{i} and {j}); relax the spacing or unfix one of them.")
            names.append("conflicts")
    for q in problem.quotas:
        nf = int(problem.fixed[q.cols].sum())
        na = int((~problem.forbidden[q.cols]).sum())
        if q.max is not None and nf > q.max:
            reasons.append(f"quota {q.name!r}: {nf} fixed sites exceed its max {q.max}.")
            names.append(q.name)
        if q.min is not None and na < q.min:
            reasons.append(f"quota {q.name!r}: only {na} allowed candidates for a min of "
                           f"{q.min}.")
            names.append(q.name)
    if problem.max_sites is not None and problem.quotas:
        mins = sum(q.min or 0 for q in problem.quotas)
        cols = np.concatenate([q.cols for q in problem.quotas])
        if np.unique(cols).size == cols.size and mins > problem.max_sites:
            reasons.append(f"quota minimums add up to {mins} sites, more than "
                           f"max_sites={problem.max_sites}.")
            names.append("max_sites")
    return reasons, names


def constraint_families(problem: Problem) -> list[tuple[str, Problem]]:
    """Each hard constraint family (zone, limit, target, conflicts, quota) and the
    problem without it."""
    out: list[tuple[str, Problem]] = []
    for z in problem.zones:
        rest = tuple(o for o in problem.zones if o.name != z.name)
        out.append((z.name, replace(problem, zones=rest)))
    if problem.max_sites is not None:
        out.append(("max_sites", replace(problem, max_sites=None)))
    if problem.budget is not None:
        out.append(("budget", replace(problem, budget=None)))
    if problem.coverage_target is not None and problem.objective == "max_cover":
        out.append(("coverage_target", replace(problem, coverage_target=None)))
    if problem.conflicts.size:
        out.append(("conflicts", replace(problem, conflicts=np.zeros((0, 2), dtype=np.int64))))
    for q in problem.quotas:
        rest_q = tuple(o for o in problem.quotas if o.name != q.name)
        out.append((q.name, replace(problem, quotas=rest_q)))
    return out


def relaxation_text(freeing: list[str], tried: int) -> str:
    """Sentence describing which single relaxations restore feasibility."""
    if not tried:
        return "No constraint family can be relaxed to explain it."
    if not freeing:
        return (f"Dropping any single one of the {tried} constraint families does not restore "
                "feasibility, so at least two of them conflict with the others.")
    names = ", ".join(repr(f) for f in freeing)
    return (f"Dropping any one of {names} alone makes the problem feasible: these "
            "constraints conflict with each other; relax one of them.")
