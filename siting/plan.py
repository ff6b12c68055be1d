"""Stage 5-6: run the pipeline and assemble the plan with its statistics.

``make_plan(cfg)`` runs layers -> candidates -> demand -> coverage -> optimise
-> check -> statistics and returns a :class:`Plan`. Writing it to a folder is
:func:`siting.outputs.write_plan`; reading a written folder back is
:func:`siting.outputs.load_plan`.
"""

from __future__ import annotations

import heapq
import logging
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp

from siting._errors import PlanCheckError
from siting.candidates import build_candidates, validate_candidates
from siting.config import Config, QuotaConfig
from siting.coverage import CoverageMatrix, build_coverage, make_model
from siting.demand import DemandGrid, build_demand
from siting.layers import Layers, load_layers
from siting.optimize import (
    PhasedResult,
    Quota,
    SolveResult,
    ZoneRequirement,
    check_solution,
    solve_matrix,
)

__all__ = ["Plan", "PlanInputs", "make_plan", "prepare", "solve_plan"]

log = logging.getLogger(__name__)


@dataclass
class Plan:
    """A siting plan and everything needed to explain it.

    Attributes
    ----------
    name
        Name of the plan.
    sites
        Selected sites: the candidate columns plus ``rollout_year`` (int),
        ``marginal_gain`` (weight newly covered when added in rollout order),
        ``population_new`` (residents newly covered) and ``status``.
    candidates
        Every candidate plus ``selected`` (bool).
    demand
        Demand cells plus ``covered`` (bool), ``n_serving`` (int) and
        ``best_rsrp_dbm`` (float32, NaN without a radio model).
    zones
        Key zones plus ``n_cells``, ``covered_fraction``, ``met``, ``sites_serving``.
    towns
        Towns plus ``population``, ``covered_population``, ``coverage``,
        ``n_sites``, ``cost``.
    study_area
        The study area (one polygon).
    stats
        Totals: n_sites, n_new_sites, cost, population, covered_population,
        coverage, weighted_coverage, area_coverage, sites_by_class, sites_by_year.
    solve
        status, stop_reason, objective, bound, bound_source, gap, solver,
        solver_status, message, heuristic_objective, reproducible (whether no step
        was stopped by the wall clock: a repeated run gives the same plan), timings,
        time_limit_s and work_limit (the limits that applied; ``None`` for none).
    cell_size_m
        Demand cell side (metres).
    targets
        Cumulative site targets per year.
    rsrp_path
        GeoTIFF of best-server RSRP when the radio model ran.
    config
        The configuration as a plain dict.
    timings
        Seconds per pipeline stage.
    inputs
        SHA-256 of every input file, keyed by layer.
    site_coverage
        Sparse ``(n_cells, n_sites)`` 0/1 matrix: which selected site (columns in
        ``sites`` order) covers which demand cell (rows in ``demand`` order).
    site_rsrp
        The same pairs' RSRP in dBm (float32) when the radio model ran.
    curve
        Coverage vs cost over ``outputs.curve_budgets`` (see :func:`coverage_curve`).
    """

    name: str
    sites: gpd.GeoDataFrame
    candidates: gpd.GeoDataFrame
    demand: gpd.GeoDataFrame
    zones: gpd.GeoDataFrame
    towns: gpd.GeoDataFrame
    study_area: gpd.GeoDataFrame
    stats: dict[str, Any]
    solve: dict[str, Any]
    cell_size_m: float
    targets: dict[int, int] = field(default_factory=dict)
    rsrp_path: Path | None = None
    config: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    inputs: dict[str, str] = field(default_factory=dict)
    site_coverage: sp.csc_matrix | None = None
    site_rsrp: sp.csc_matrix | None = None
    curve: pd.DataFrame | None = None


@dataclass
class PlanInputs:
    """Everything the optimiser needs, built once and reusable across runs.

    Attributes
    ----------
    layers
        The validated input layers.
    candidates
        Candidate sites.
    grid
        Demand cells and key-zone membership.
    coverage
        The sparse coverage matrix.
    timings
        Seconds per stage so far.
    """

    layers: Layers
    candidates: gpd.GeoDataFrame
    grid: DemandGrid
    coverage: CoverageMatrix
    timings: dict[str, float]


@contextmanager
def _stage(name: str, timings: dict[str, float]) -> Iterator[None]:
    """Time a pipeline stage and log its end."""
    log.info("%s ...", name)
    start = time.perf_counter()
    yield
    timings[name] = round(time.perf_counter() - start, 3)
    log.info("%s done in %.2f s", name, timings[name])


def prepare(cfg: Config) -> PlanInputs:
    """Run the stages up to the coverage matrix.

    Parameters
    ----------
    cfg
        The run configuration.

    Returns
    -------
    PlanInputs
        Layers, candidates, demand grid and coverage matrix.
    """
    timings: dict[str, float] = {}
    with _stage("layers", timings):
        layers = load_layers(cfg)
    with _stage("candidates", timings):
        candidates = build_candidates(layers, cfg)
        problems = validate_candidates(candidates)
        if problems:
            raise PlanCheckError("; ".join(problems))
    with _stage("demand", timings):
        grid = build_demand(layers, cfg)
    with _stage("coverage", timings):
        model = make_model(cfg, buildings=layers.buildings)
        coverage = build_coverage(grid.cells, candidates, model)
    log.info(
        "%d demand cells x %d candidates, %d covering pairs",
        len(grid.cells),
        len(candidates),
        coverage.nnz,
    )
    return PlanInputs(layers, candidates, grid, coverage, timings)


def zone_requirements(
    grid: DemandGrid, zones: gpd.GeoDataFrame, cfg: Config
) -> list[ZoneRequirement]:
    """Turn key zones into hard requirements of the optimiser.

    Parameters
    ----------
    grid
        The demand grid with its zone membership.
    zones
        The key-zone layer.
    cfg
        The run configuration (service levels).

    Returns
    -------
    list of ZoneRequirement
        One per zone: its cells, ``min_coverage`` and the level's ``k``.
    """
    levels = cfg.demand.service_levels
    return [
        ZoneRequirement(
            name=_zone_label(row),
            rows=grid.zone_cells[row.zone_id],
            min_fraction=float(row.min_coverage),
            k=levels[row.service_level].k,
        )
        for row in zones.itertuples()
    ]


def _zone_label(row: Any) -> str:
    """Readable zone name for messages: ``name (name_en, zone_id)``."""
    en = f"{row.name_en}, " if getattr(row, "name_en", "") else ""
    return f"{row.name} ({en}{row.zone_id})"


#: Statuses of a previous plan's sites that commit them (kept fixed next year).
COMMITTED = ("approved", "under_construction", "built")


def _previous_masks(cand: gpd.GeoDataFrame, previous: Plan | None) -> tuple[np.ndarray, np.ndarray]:
    """Columns fixed by a previous plan's committed sites, and those it rejected."""
    fixed = np.zeros(len(cand), dtype=bool)
    rejected = np.zeros(len(cand), dtype=bool)
    if previous is None:
        return fixed, rejected
    ids = cand["candidate_id"]
    status = previous.sites.set_index("candidate_id")["status"]
    unknown = sorted(set(status.index) - set(ids))
    if unknown:
        warnings.warn(
            f"{len(unknown)} site(s) of the previous plan are no longer candidates and are "
            f"ignored (e.g. {unknown[:5]})",
            UserWarning,
            stacklevel=3,
        )
    fixed[ids.isin(status.index[status.isin(COMMITTED)]).to_numpy()] = True
    rejected[ids.isin(status.index[status == "rejected"]).to_numpy()] = True
    return fixed, rejected


def hard_constraints(
    inputs: PlanInputs, cfg: Config, *, previous: Plan | None = None
) -> dict[str, Any]:
    """The hard constraints of a run, as keyword arguments of the optimiser.

    With ``optimize.capacity`` the per-site capacity and each cell's residents
    (``capacity``, ``demand``) are added.

    The same arguments go to :func:`siting.optimize.solve_matrix` and to the
    independent :func:`siting.optimize.check_solution`.

    Parameters
    ----------
    inputs
        The prepared inputs.
    cfg
        The run configuration.
    previous
        Last year's plan: its approved, under-construction and built sites are
        kept; its rejected sites are excluded.

    Returns
    -------
    dict
        weights, costs, k, zones, fixed, forbidden, conflicts, quotas,
        max_sites, budget, coverage_target.
    """
    oc = cfg.optimize
    cells, cand = inputs.grid.cells, inputs.candidates
    kept, rejected = _previous_masks(cand, previous)
    fixed = cand["fixed"].to_numpy() | kept
    forbidden = (rejected | cand["candidate_id"].isin(oc.exclude).to_numpy()) & ~fixed
    capacity = {}
    if oc.capacity:
        people = cells["population"].to_numpy()
        unlimited = float(people.sum()) + 1.0
        capacity = {
            "capacity": cand["site_class"].map(oc.capacity).fillna(unlimited).to_numpy(),
            "demand": people,
        }
    return {
        **capacity,
        "weights": cells["weight"].to_numpy(),
        "costs": cand["cost"].to_numpy(),
        "k": cells["k"].to_numpy(),
        "zones": zone_requirements(inputs.grid, inputs.layers.key_zones, cfg),
        "fixed": np.flatnonzero(fixed),
        "forbidden": np.flatnonzero(forbidden),
        "conflicts": spacing_conflicts(cand, oc.min_spacing_m, fixed=fixed),
        "quotas": quotas(cand, oc.quotas),
        "max_sites": oc.max_sites,
        "budget": oc.budget,
        "coverage_target": oc.coverage_target,
    }


def spacing_conflicts(
    cand: gpd.GeoDataFrame, min_spacing_m: dict[str, float], *, fixed: np.ndarray
) -> np.ndarray:
    """Pairs of new candidates of one class closer than that class's minimum spacing.

    Parameters
    ----------
    cand
        Candidates.
    min_spacing_m
        Minimum distance between two new sites of the same class, per class.
    fixed
        Columns kept whatever happens (never in a conflict).

    Returns
    -------
    numpy.ndarray
        ``(m, 2)`` int64 column pairs that may not both be selected.
    """
    if not min_spacing_m:
        return np.empty((0, 2), dtype=np.int64)
    from scipy.spatial import cKDTree

    spacing = cand["site_class"].map(min_spacing_m).fillna(0.0).to_numpy()
    xy = np.column_stack([cand.geometry.x, cand.geometry.y])
    pairs = cKDTree(xy).query_pairs(float(spacing.max()), output_type="ndarray")
    if len(pairs) == 0:
        return np.empty((0, 2), dtype=np.int64)
    a, b = pairs[:, 0], pairs[:, 1]
    dist = np.hypot(*(xy[a] - xy[b]).T)
    classes = cand["site_class"].to_numpy()
    keep = (classes[a] == classes[b]) & (dist < spacing[a]) & ~fixed[a] & ~fixed[b]
    return pairs[keep].astype(np.int64)


def quotas(cand: gpd.GeoDataFrame, rules: list[QuotaConfig]) -> list[Quota]:
    """Turn quota rules of the config into column groups.

    Parameters
    ----------
    cand
        Candidates.
    rules
        Each rule groups candidates by a column (``town_id``, ``owner``,
        ``site_class``, ``responsible_unit``, ``source``); with ``value`` it
        applies to that group only, otherwise to every group.

    Returns
    -------
    list of Quota
        One per group a rule applies to.
    """
    out = []
    for rule in rules:
        groups = cand.groupby(rule.by).indices
        values = [rule.value] if rule.value is not None else sorted(groups)
        for value in values:
            cols = groups.get(value, np.empty(0, dtype=np.int64))
            out.append(Quota(f"{rule.by}={value}", np.asarray(cols), min=rule.min, max=rule.max))
    return out


def solve_plan(inputs: PlanInputs, cfg: Config, *, previous: Plan | None = None) -> SolveResult:
    """Solve the siting problem of prepared inputs.

    Parameters
    ----------
    inputs
        Output of :func:`prepare`.
    cfg
        The run configuration (its ``optimize`` section).
    previous
        Last year's plan (see :func:`hard_constraints`).

    Returns
    -------
    SolveResult
        The optimiser's result; infeasible results raise ``InfeasibleError``.
    """
    oc = cfg.optimize
    with _stage("optimize", inputs.timings):
        result = solve_matrix(
            inputs.coverage.A,
            objective=oc.objective,
            time_limit=oc.clock_limit,
            work_limit=oc.work_limit,
            mip_gap=oc.mip_gap,
            solver=oc.solver,
            threads=oc.threads,
            seed=cfg.seed,
            **hard_constraints(inputs, cfg, previous=previous),
        )
    result.raise_for_status()
    return result


def make_plan(
    cfg: Config, *, inputs: PlanInputs | None = None, previous: Plan | None = None
) -> Plan:
    """Run the whole pipeline.

    Parameters
    ----------
    cfg
        The run configuration.
    inputs
        Prepared inputs to reuse (when only optimisation settings changed).
    previous
        Last year's plan: committed sites are kept, rejected ones excluded,
        and kept sites keep their rollout year and status.

    Returns
    -------
    Plan
        The checked plan with its statistics.

    Raises
    ------
    LayerError, ConfigError
        For bad input.
    InfeasibleError
        When no plan meets the hard constraints (naming the zones).
    PlanCheckError
        When the independent checker rejects the solver's plan.
    """
    if inputs is None:
        inputs = prepare(cfg)
    year_of, phased = None, None
    if cfg.optimize.rollout == "phased" and cfg.optimize.targets:
        result, phased = solve_phased_plan(inputs, cfg, previous=previous)
        year_of = phased.year_of
    else:
        result = solve_plan(inputs, cfg, previous=previous)
    with _stage("check", inputs.timings):
        _independent_check(inputs, cfg, result, previous=previous)
    with _stage("statistics", inputs.timings):
        plan = assemble_plan(inputs, cfg, result, previous=previous, year_of=year_of)
        if phased is not None:
            plan.solve["rollout"] = {
                key: _finite_or_none(_plain(getattr(phased, key)))
                for key in ("method", "direction", "status", "objective", "bound", "gap",
                            "message", "reproducible")
            }
            plan.solve["reproducible"] = bool(phased.reproducible)
    if cfg.outputs.curve_budgets:
        with _stage("curve", inputs.timings):
            plan.curve = coverage_curve(inputs, cfg, budgets=list(cfg.outputs.curve_budgets))
        plan.timings = dict(inputs.timings)
    return plan


def solve_phased_plan(
    inputs: PlanInputs, cfg: Config, *, previous: Plan | None = None
) -> tuple[SolveResult, PhasedResult]:
    """Solve a multi-year rollout: each year's cumulative target, key zones in year one.

    Jointly over the years or year by year, every site built earlier kept (see
    :func:`siting.optimize.solve_phased` and ``optimize.phasing``);
    ``optimize.targets`` gives the cumulative site caps and
    ``optimize.yearly_budget`` the budget of new sites per year.

    Parameters
    ----------
    inputs
        The prepared inputs.
    cfg
        The run configuration.
    previous
        Last year's plan (see :func:`hard_constraints`).

    Returns
    -------
    tuple
        The final year's result (the whole plan) and the rollout (its
        ``year_of``: the year of every candidate, 0 for kept sites, -1 when
        not selected; its method, joint objective, bound and gap).
    """
    from siting.optimize import solve_phased

    oc = cfg.optimize
    years = sorted(oc.targets)
    hard = hard_constraints(inputs, cfg, previous=previous)
    zones = hard.pop("zones")
    for key in ("max_sites", "budget", "coverage_target"):
        hard.pop(key)
    budgets = [oc.yearly_budget.get(y) for y in years] if oc.yearly_budget else None
    with _stage("optimize", inputs.timings):
        phased = solve_phased(
            inputs.coverage.A,
            years=years,
            cumulative_sites=[oc.targets[y] for y in years],
            yearly_budget=budgets,
            cumulative_target=[oc.coverage_target] * len(years) if oc.coverage_target else None,
            zones_by_year={years[0]: zones},
            objective=oc.objective,
            time_limit=oc.clock_limit,
            work_limit=oc.work_limit,
            mip_gap=oc.mip_gap,
            solver=oc.solver,
            threads=oc.threads,
            seed=cfg.seed,
            method=oc.phasing,
            **hard,
        )
    result = phased.results[-1]
    result.raise_for_status()
    log.info("%s", phased.message)
    return result, phased


def _independent_check(
    inputs: PlanInputs, cfg: Config, result: SolveResult, *, previous: Plan | None = None
) -> None:
    """Re-check every hard constraint of the plan from the raw matrix."""
    hard = hard_constraints(inputs, cfg, previous=previous)
    oc = cfg.optimize
    if oc.rollout == "phased" and oc.targets:
        hard["max_sites"] = oc.targets[max(oc.targets)]
        if oc.yearly_budget:
            hard["budget"] = float(hard["costs"][hard["fixed"]].sum()) + sum(
                oc.yearly_budget.values()
            )
    if "capacity" in hard:
        hard["assignment"] = result.assignment
    violations = check_solution(inputs.coverage.A, result.selected, **hard)
    if violations:
        raise PlanCheckError("the plan breaks hard constraints: " + "; ".join(violations))


def coverage_curve(
    inputs: PlanInputs,
    cfg: Config,
    *,
    budgets: list[float] | None = None,
    site_counts: list[int] | None = None,
) -> pd.DataFrame:
    """Weighted coverage against cost over a range of budgets (or site counts).

    Each point is a max-cover solve with every hard constraint of ``cfg``,
    warm-started from the previous point's plan.

    Parameters
    ----------
    inputs
        The prepared inputs.
    cfg
        The run configuration (solver settings; its own budget and site cap are
        replaced by each point's; capacities are left out of the curve).
    budgets, site_counts
        The limits to sweep (give one of them).

    Returns
    -------
    pandas.DataFrame
        One row per limit: ``limit``, ``cost``, ``n_sites``, ``coverage`` (share
        of weighted demand), ``population_coverage``, ``bound`` (as a share),
        ``status`` and ``gap``.
    """
    from siting.optimize import pareto_front

    oc = cfg.optimize
    hard = hard_constraints(inputs, cfg)
    for key in ("max_sites", "budget", "coverage_target", "capacity", "demand"):
        hard.pop(key, None)
    front = pareto_front(
        inputs.coverage.A,
        budgets=budgets,
        site_counts=site_counts,
        time_limit=oc.clock_limit,
        work_limit=oc.work_limit,
        mip_gap=oc.mip_gap,
        solver=oc.solver,
        threads=oc.threads,
        seed=cfg.seed,
        **hard,
    )
    weights = hard["weights"]
    pop = inputs.grid.cells["population"].to_numpy()
    costs = hard["costs"]
    rows = []
    for limit, res in zip(front.limits, front.results, strict=True):
        rows.append(
            {
                "limit": float(limit),
                "cost": float(costs[res.selected].sum()),
                "n_sites": len(res.selected),
                "coverage": float(weights[res.covered].sum() / weights.sum()),
                "population_coverage": float(pop[res.covered].sum() / pop.sum()),
                "bound": float(res.bound / weights.sum()),
                "status": res.status,
                "gap": float(res.gap),
            }
        )
    return pd.DataFrame(rows)


def rollout_order(
    A: sp.csc_matrix, weights: np.ndarray, k: np.ndarray, *, groups: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Order selected sites by marginal gain (lazy greedy), group by group.

    Parameters
    ----------
    A
        CSC coverage matrix restricted to the selected columns.
    weights
        Row weights.
    k
        Sites each row needs.
    groups
        Integer rank per column: columns of a lower rank come first (e.g. sites
        kept from earlier years, then each rollout year).

    Returns
    -------
    tuple of numpy.ndarray
        The column order; the weight each column newly adds in that order
        (``w/k`` for every row still short of its ``k``); and per row the
        column that completed its coverage (-1 if none).
    """
    n_rows = A.shape[0]
    counts = np.zeros(n_rows, dtype=np.int64)
    completed_by = np.full(n_rows, -1, dtype=np.int64)
    credit = weights / np.maximum(k, 1)
    indptr, indices = A.indptr, A.indices

    def gain(j: int) -> float:
        rows = indices[indptr[j] : indptr[j + 1]]
        return float(credit[rows][counts[rows] < k[rows]].sum())

    order: list[int] = []
    gains: list[float] = []
    for rank in np.unique(groups):
        group = np.flatnonzero(groups == rank)
        heap = [(-gain(int(j)), int(j)) for j in group]  # one entry per selected site
        heapq.heapify(heap)
        while heap:
            _, j = heapq.heappop(heap)
            g = gain(j)
            if heap and g < -heap[0][0] - 1e-12:
                heapq.heappush(heap, (-g, j))
                continue
            rows = indices[indptr[j] : indptr[j + 1]]
            counts[rows] += 1
            done = rows[(counts[rows] == k[rows]) & (completed_by[rows] < 0)]
            completed_by[done] = j
            order.append(j)
            gains.append(g)
    return np.asarray(order, dtype=np.int64), np.asarray(gains), completed_by


def _rollout_years(n: int, targets: dict[int, int], year: int) -> np.ndarray:
    """Years of sites in rollout order given cumulative targets."""
    if not targets:
        return np.full(n, year, dtype=np.int64)
    years = sorted(targets)
    cum = np.array([targets[y] for y in years])
    idx = np.searchsorted(cum, np.arange(1, n + 1), side="left")
    return np.array(years, dtype=np.int64)[np.minimum(idx, len(years) - 1)]


def _best_rsrp(rsrp: sp.csr_matrix | None, selected: np.ndarray, n: int) -> np.ndarray:
    """Best RSRP over the selected sites per cell (NaN where none reaches)."""
    if rsrp is None or len(selected) == 0:
        return np.full(n, np.nan, dtype=np.float32)
    sub = rsrp[:, selected].tocsr()
    shifted = sub.copy()
    shifted.data = shifted.data.astype(np.float64) + 1000.0
    best = np.asarray(shifted.max(axis=1).todense()).ravel()
    return np.where(best > 0, best - 1000.0, np.nan).astype(np.float32)


def assemble_plan(
    inputs: PlanInputs,
    cfg: Config,
    result: SolveResult,
    *,
    previous: Plan | None = None,
    year_of: np.ndarray | None = None,
) -> Plan:
    """Build the plan's tables and statistics from a solve result.

    Parameters
    ----------
    inputs
        The prepared inputs.
    cfg
        The run configuration.
    result
        A feasible solve result.
    previous
        Last year's plan, whose kept sites keep their rollout year and status.
    year_of
        Rollout year per candidate from a phased solve (``None``: years by
        cumulative target in order of marginal gain).

    Returns
    -------
    Plan
        The plan.
    """
    cells = inputs.grid.cells.copy()
    cand = inputs.candidates.copy()
    A = inputs.coverage.A
    selected = np.asarray(result.selected, dtype=np.int64)
    sub = A[:, selected].tocsc()
    counts = np.asarray(sub.sum(axis=1)).ravel().astype(np.int64)
    k = cells["k"].to_numpy()
    cells["covered"] = counts >= k
    cells["n_serving"] = counts
    cells["best_rsrp_dbm"] = _best_rsrp(inputs.coverage.rsrp, selected, len(cells))
    cand["selected"] = False
    cand.loc[selected, "selected"] = True
    years = None if year_of is None else np.asarray(year_of)[selected]
    sites, order = _sites_table(cand, cells, sub, selected, cfg, years=years)
    if previous is not None:
        sites = _carry_over(sites, previous)
    zones = _zone_stats(inputs, cells, sub, cfg)
    towns = _town_stats(inputs.layers.towns, cells, sites)
    stats = _totals(cells, sites, cfg)
    if result.served is not None:
        people = cells["population"].to_numpy()
        stats["served_population"] = float((people * result.served).sum())
        stats["served"] = stats["served_population"] / max(float(people.sum()), 1e-9)
    solve = {
        key: _plain(getattr(result, key, None))
        for key in (
            "status",
            "stop_reason",
            "objective",
            "bound",
            "bound_source",
            "gap",
            "solver",
            "solver_status",
            "message",
            "heuristic_objective",
            "reproducible",
        )
    }
    solve["timings"] = {k2: _plain(v) for k2, v in dict(result.timings).items()}
    # the limits that applied (the config keeps a default time_limit_s that a
    # work limit switches off, see OptimizeConfig.clock_limit)
    solve["time_limit_s"] = cfg.optimize.clock_limit
    solve["work_limit"] = cfg.optimize.work_limit
    return Plan(
        name=cfg.name,
        sites=sites,
        candidates=cand,
        demand=cells,
        zones=zones,
        towns=towns,
        study_area=inputs.layers.study_area,
        stats=stats,
        solve=solve,
        cell_size_m=inputs.grid.cell_size_m,
        targets=dict(cfg.optimize.targets),
        config=cfg.model_dump(mode="json"),
        timings=dict(inputs.timings),
        inputs=dict(inputs.layers.sources),
        site_coverage=sp.csc_matrix(sub[:, order]),
        site_rsrp=None
        if inputs.coverage.rsrp is None
        else sp.csc_matrix(inputs.coverage.rsrp[:, selected[order]]),
    )


def _finite_or_none(value: Any) -> Any:
    """``None`` for a float that is not finite (no bound), the value otherwise."""
    return None if isinstance(value, float) and not np.isfinite(value) else value


def _plain(value: Any) -> Any:
    """Convert numpy scalars to plain Python for JSON."""
    if isinstance(value, np.generic):
        return value.item()
    return value


def _sites_table(
    cand: gpd.GeoDataFrame,
    cells: gpd.GeoDataFrame,
    sub: sp.csc_matrix,
    selected: np.ndarray,
    cfg: Config,
    *,
    years: np.ndarray | None = None,
) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """Selected sites in rollout order, and that order as positions into ``selected``.

    Without ``years`` (the rollout year of each selected site from a phased
    solve) sites get years by cumulative target in order of marginal gain.
    """
    fixed = cand["fixed"].to_numpy()[selected]
    groups = np.where(fixed, 0, 1) if years is None else np.where(fixed, 0, years)
    order, gains, completed_by = rollout_order(
        sub, cells["weight"].to_numpy(), cells["k"].to_numpy(), groups=groups
    )
    done = completed_by >= 0
    pop_new = np.bincount(
        completed_by[done], weights=cells["population"].to_numpy()[done], minlength=len(selected)
    )
    sites = cand.iloc[selected[order]].drop(columns="selected").reset_index(drop=True)
    if years is None:
        sites["rollout_year"] = _rollout_years(len(order), cfg.optimize.targets, cfg.optimize.year)
    else:
        first_year = min(cfg.optimize.targets) if cfg.optimize.targets else cfg.optimize.year
        sites["rollout_year"] = np.where(fixed[order], first_year, years[order])
    sites["marginal_gain"] = gains
    sites["population_new"] = pop_new[order]
    sites["status"] = "proposed"
    return sites, order


def _carry_over(sites: gpd.GeoDataFrame, previous: Plan) -> gpd.GeoDataFrame:
    """Keep the rollout year and status of sites committed in the previous plan."""
    prev = previous.sites.set_index("candidate_id")
    prev = prev[prev["status"].isin(COMMITTED)]
    kept = sites["candidate_id"].isin(prev.index).to_numpy()
    ids = sites.loc[kept, "candidate_id"]
    sites.loc[kept, "rollout_year"] = prev.loc[ids, "rollout_year"].to_numpy()
    sites.loc[kept, "status"] = prev.loc[ids, "status"].to_numpy()
    return sites


def _zone_stats(
    inputs: PlanInputs, cells: gpd.GeoDataFrame, sub: sp.csc_matrix, cfg: Config
) -> gpd.GeoDataFrame:
    """Coverage achieved in each key zone."""
    zones = inputs.layers.key_zones.copy()
    levels = cfg.demand.service_levels
    counts = cells["n_serving"].to_numpy()
    sub_csr = sub.tocsr()
    n_cells, frac, serving = [], [], []
    for row in zones.itertuples():
        members = inputs.grid.zone_cells[row.zone_id]
        need = levels[row.service_level].k
        n_cells.append(len(members))
        frac.append(float(np.mean(counts[members] >= need)) if len(members) else 0.0)
        serving.append(int(np.unique(sub_csr[members].indices).size))
    zones["n_cells"] = np.asarray(n_cells, dtype=np.int64)
    zones["covered_fraction"] = frac
    zones["met"] = zones["covered_fraction"] >= zones["min_coverage"] - 1e-9
    zones["sites_serving"] = np.asarray(serving, dtype=np.int64)
    return zones


def _town_stats(
    towns: gpd.GeoDataFrame, cells: gpd.GeoDataFrame, sites: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    """Population, coverage, site count and cost per town."""
    towns = towns.copy()
    pop = cells.groupby("town_id")["population"].sum()
    cov = cells[cells["covered"]].groupby("town_id")["population"].sum()
    n = sites.groupby("town_id").size()
    cost = sites.groupby("town_id")["cost"].sum()
    tid = towns["town_id"]
    towns["population"] = tid.map(pop).fillna(0.0).to_numpy()
    towns["covered_population"] = tid.map(cov).fillna(0.0).to_numpy()
    towns["coverage"] = np.where(
        towns["population"] > 0, towns["covered_population"] / towns["population"].clip(1e-9), 0.0
    )
    towns["n_sites"] = tid.map(n).fillna(0).astype(np.int64).to_numpy()
    towns["cost"] = tid.map(cost).fillna(0.0).to_numpy()
    return towns


def _totals(cells: gpd.GeoDataFrame, sites: gpd.GeoDataFrame, cfg: Config) -> dict[str, Any]:
    """Headline figures of the plan."""
    pop = float(cells["population"].sum())
    covered = cells["covered"].to_numpy()
    weight = cells["weight"].to_numpy()
    by_class = sites.groupby("site_class").size()
    by_year = sites.groupby("rollout_year").size()
    return {
        "n_sites": len(sites),
        "n_new_sites": int((~sites["existing"]).sum()),
        "n_existing_sites": int(sites["existing"].sum()),
        "cost": float(sites["cost"].sum()),
        "population": pop,
        "covered_population": float(cells.loc[covered, "population"].sum()),
        "coverage": float(cells.loc[covered, "population"].sum() / pop) if pop else 0.0,
        "weighted_coverage": float(weight[covered].sum() / weight.sum()) if weight.sum() else 0.0,
        "area_coverage": float(covered.mean()) if len(covered) else 0.0,
        "n_cells": len(cells),
        "sites_by_class": {str(k): int(v) for k, v in by_class.items()},
        "sites_by_year": {str(k): int(v) for k, v in by_year.items()},
        "objective": cfg.optimize.objective,
    }
