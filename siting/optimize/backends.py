"""MIP solver back-ends: HiGHS through highspy and CBC (the binary bundled with PuLP).

Each back-end takes a :class:`~siting.optimize.milp.Milp`, a start vector and limits, and
returns a :class:`MipOutcome` with the solver's own status text, its incumbent, its best
objective and its proven dual bound (all in the minimisation sense of the MIP).
"""

from __future__ import annotations

import logging
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from siting._errors import SolverError
from siting.optimize.milp import Milp

log = logging.getLogger(__name__)

SOLVERS = ("cbc", "highs")


@dataclass(frozen=True)
class MipOutcome:
    """What a MIP solver reported.

    ``kind`` is one of "optimal", "time_limit", "infeasible", "no_solution", "failed".
    ``objective`` and ``bound`` are in the MIP's minimisation sense (``nan`` if absent).
    ``nodes`` and ``iterations`` count the branch-and-bound nodes and the simplex
    iterations of a HiGHS solve (0 when unknown), every run of it included.
    """

    kind: str
    raw_status: str
    x: np.ndarray | None
    objective: float
    bound: float
    solver: str
    nodes: int = 0
    iterations: int = 0


def available_solvers() -> list[str]:
    """Names of the MIP solvers that can run here."""
    out = []
    if _cbc_path() is not None:
        out.append("cbc")
    try:
        import highspy  # noqa: F401
    except ImportError:
        pass
    else:
        out.append("highs")
    return out


def check_solver(name: str) -> None:
    """Raise :class:`SolverError` if ``name`` is unknown or not available here."""
    if name not in SOLVERS:
        raise SolverError(f"unknown solver {name!r}; valid names: {', '.join(SOLVERS)}")
    avail = available_solvers()
    if name not in avail:
        raise SolverError(f"solver {name!r} is not available here; available: "
                          f"{', '.join(avail) or 'none (install pulp or highspy)'}")


def _cbc_path() -> str | None:
    try:
        import pulp
    except ImportError:
        return None
    path = pulp.PULP_CBC_CMD().path
    if path and Path(path).exists():
        return str(path)
    return shutil.which("cbc")


def highs_model(milp: Milp) -> object:
    """A silent HiGHS instance holding the MIP (or LP) ``milp``."""
    import highspy

    # The core class does the same work as ``highspy.Highs`` without printing a banner.
    core = getattr(getattr(highspy, "_core", None), "_Highs", None) or highspy.Highs
    h = core()
    h.setOptionValue("output_flag", False)
    A = milp.A
    ncol = milp.shape[1]
    st = h.passModel(
        ncol, milp.shape[0], int(A.nnz), 1, 1, 0.0,
        milp.c, milp.lb, milp.ub, milp.row_lo, milp.row_hi,
        A.indptr.astype(np.int32), A.indices.astype(np.int32), A.data.astype(np.float64),
        milp.integrality,
    )
    if st == highspy.HighsStatus.kError:
        raise SolverError("HiGHS rejected the model; this is a bug in the model builder")
    return h


def solve_highs(
    milp: Milp, start: np.ndarray | None, *, time_limit: float | None, mip_gap: float,
    threads: int | None, seed: int, options: dict[str, object] | None = None,
) -> MipOutcome:
    """Solve with HiGHS through highspy (arrays passed directly, heuristic as MIP start).

    Given a start, HiGHS can report an objective and dual bound that are not those of the
    solution it returns: off by a constant that presolve moved out of the objective (the
    start's value "in the reduced space" becomes the incumbent), or the value of a better
    plan while it returns the start itself (4 of 10 such window solves on the district
    benchmark had a cheaper plan). The reported objective then differs from ``c @ x``, and
    the run is repeated without the start; if the two still differ, its bound is dropped.
    The repeat runs whenever time is left, however little: whether it runs does not hang
    on the clock, and a repeat stopped by its time limit says so in its status.
    """
    t0 = time.perf_counter()
    out = _highs_run(milp, start, time_limit=time_limit, mip_gap=mip_gap, threads=threads,
                     seed=seed, options=options)
    if _same_frame(milp, out):
        return out
    log.info("HiGHS reported objective %.9g for a plan worth %.9g; solving again without "
             "the start", out.objective, float(milp.c @ out.x))
    left = None if time_limit is None else time_limit - (time.perf_counter() - t0)
    nodes, iterations = out.nodes, out.iterations
    if start is not None and (left is None or left > 0.0):
        again = _highs_run(milp, None, time_limit=left, mip_gap=mip_gap, threads=threads,
                           seed=seed, options=options)
        nodes, iterations = nodes + again.nodes, iterations + again.iterations
        if _same_frame(milp, again) and again.x is not None:
            return replace(again, nodes=nodes, iterations=iterations)
    value = float(milp.c @ out.x)
    return MipOutcome("time_limit", f"{out.raw_status} (its objective and bound were off "
                      "by a constant: bound dropped)", out.x, value, float("nan"), "highs",
                      nodes, iterations)


def _same_frame(milp: Milp, out: MipOutcome) -> bool:
    """Whether HiGHS's objective is the plan's own value (true when there is no plan)."""
    if out.x is None or not np.isfinite(out.objective):
        return True
    value = float(milp.c @ out.x)
    return abs(value - out.objective) <= 1e-6 * max(1.0, abs(value))


def _highs_run(
    milp: Milp, start: np.ndarray | None, *, time_limit: float | None, mip_gap: float,
    threads: int | None, seed: int, options: dict[str, object] | None = None,
) -> MipOutcome:
    import highspy

    h = highs_model(milp)
    if time_limit is not None:
        h.setOptionValue("time_limit", float(max(time_limit, 0.01)))
    h.setOptionValue("mip_rel_gap", float(mip_gap))
    h.setOptionValue("random_seed", int(seed))
    for name, value in (options or {}).items():
        h.setOptionValue(name, value)
    if threads is not None:
        # HiGHS keeps one thread scheduler per process: free it so that this count holds
        # (otherwise a run after another with a different count fails with no status).
        h.resetGlobalScheduler(True)
        h.setOptionValue("threads", int(threads))
    if start is not None:
        idx = np.arange(start.size, dtype=np.int32)
        h.setSolution(int(start.size), idx, start.astype(np.float64))
    run = h.run()
    ms = h.getModelStatus()
    raw = h.modelStatusToString(ms)
    if run == highspy.HighsStatus.kError or ms == highspy.HighsModelStatus.kNotset:
        return MipOutcome("failed", f"{raw} (HiGHS run error)", None, float("nan"),
                          float("nan"), "highs")
    info = h.getInfo()
    has_sol = info.primal_solution_status == 2
    x = np.asarray(h.getSolution().col_value, dtype=np.float64) if has_sol else None
    obj = float(info.objective_function_value) if has_sol else float("nan")
    bound = float(info.mip_dual_bound)
    M = highspy.HighsModelStatus
    if ms == M.kOptimal:
        kind = "optimal"
    elif ms == M.kInfeasible:
        kind = "infeasible"
    elif ms in (M.kTimeLimit, M.kIterationLimit, M.kSolutionLimit, M.kInterrupt):
        kind = "time_limit" if has_sol else "no_solution"
    else:
        kind = "failed" if not has_sol else "time_limit"
    if not np.isfinite(bound):
        bound = float("nan")
    return MipOutcome(kind, raw, x, obj, bound, "highs", int(info.mip_node_count),
                      int(info.simplex_iteration_count))


_CBC_RESULT = re.compile(r"^(?:Result - (.*)|(Problem is infeasible).*)$", re.M)
_CBC_OBJ = re.compile(r"^Objective value:\s+(\S+)", re.M)
_CBC_BOUND = re.compile(r"^Lower bound:\s+(\S+)", re.M)


def _write_mipstart(path: Path, start: np.ndarray, names: list[str]) -> None:
    lines = ["Stopped on time - objective value 0\n"]
    lines += [f"{i:>7} {nm} {v:.0f} 0\n" for i, (nm, v) in enumerate(zip(names, start,
                                                                            strict=True))]
    path.write_text("".join(lines))


def satisfies(milp: Milp, x: np.ndarray, *, tol: float = 1e-6) -> bool:
    """Whether ``x`` meets the bounds, rows and integrality of ``milp`` (within ``tol``)."""
    if x.shape != (milp.shape[1],) or not np.isfinite(x).all():
        return False
    if ((x < milp.lb - tol) | (x > milp.ub + tol)).any():
        return False
    integ = milp.integrality > 0
    if (np.abs(x[integ] - np.round(x[integ])) > tol).any():
        return False
    act = milp.A @ x
    return not ((act < milp.row_lo - tol) | (act > milp.row_hi + tol)).any()


def _parse_cbc_solution(path: Path, ncol: int) -> np.ndarray | None:
    if not path.exists():
        return None
    text = path.read_text().splitlines()
    if not text or text[0].startswith(("Infeasible", "Integer infeasible")):
        return None
    x = np.zeros(ncol)
    for line in text[1:]:
        parts = line.replace("**", " ").split()
        if len(parts) >= 3 and parts[1].startswith("c") and parts[1][1:].isdigit():
            x[int(parts[1][1:])] = float(parts[2])
    return x


_CBC_PARTIAL_BOUND = re.compile(r"best possible (\S+?)\)")
_CBC_SEC_SHARE = 0.85
_CBC_GRACE = 2.0


def cbc_seconds(time_limit: float) -> float:
    """The ``-sec`` given to CBC for a wall-clock budget of ``time_limit`` seconds.

    CBC checks its limit only between phases (the MIP start, some heuristics and the root
    cuts can overrun it), so it gets a share of the budget and is interrupted at the end
    of the whole budget.
    """
    return max(0.05, _CBC_SEC_SHARE * time_limit - 0.2)


def _run_cbc_process(cmd: list[str], log_path: Path, deadline: float | None) -> tuple[int, str]:
    """Run CBC with its output in ``log_path``; interrupt, then kill it, at the deadline.

    Returns the exit code (-9 when it had to be killed) and a note ("" when CBC exited
    on its own).
    """
    soft = None if deadline is None else max(deadline - _CBC_GRACE, 0.8 * deadline)
    with log_path.open("w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, text=True)
        try:
            return proc.wait(timeout=soft), ""
        except subprocess.TimeoutExpired:
            pass
        proc.send_signal(signal.SIGINT)  # CBC stops cleanly when it is in a phase that listens
        assert deadline is not None and soft is not None
        try:
            return proc.wait(timeout=deadline - soft + 0.05), "interrupted at the time limit"
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            return -9, "killed at the time limit"


def solve_cbc(
    milp: Milp, start: np.ndarray | None, *, time_limit: float | None, mip_gap: float,
    threads: int | None, seed: int,
) -> MipOutcome:
    """Solve with the CBC binary bundled with PuLP, reading its own status and bound.

    ``time_limit`` is a wall-clock budget: CBC gets :func:`cbc_seconds` of it as its own
    limit, is interrupted (SIGINT) two seconds before the budget is spent and killed when
    it is. When it had to be killed, whatever it printed is read: its bound ("best
    possible" or the root LP value) is kept and the outcome has no solution.
    """
    path = _cbc_path()
    if path is None:
        raise SolverError("CBC is not available; install pulp or pass solver='highs'")
    t0 = time.perf_counter()
    h = highs_model(milp)
    ncol = milp.shape[1]
    names = [f"c{i}" for i in range(ncol)]
    with tempfile.TemporaryDirectory(prefix="siting-cbc-") as tmp:
        mps, sol, mst = Path(tmp) / "model.mps", Path(tmp) / "sol.txt", Path(tmp) / "start.txt"
        h.writeModel(str(mps))
        cmd = [path, str(mps)]
        if start is not None:
            _write_mipstart(mst, start, names)
            cmd += ["-mips", str(mst)]
        deadline = None
        if time_limit is not None:
            left = max(time_limit - (time.perf_counter() - t0), 0.05)
            cmd += ["-timeMode", "elapsed", "-sec", f"{cbc_seconds(left):.3f}"]
            deadline = left
        cmd += ["-ratio", f"{mip_gap:.10g}", "-randomCbcSeed", str(int(seed) + 1)]
        if threads is not None:
            cmd += ["-threads", str(int(threads))]
        cmd += ["-solve", "-solution", str(sol)]
        code, note = _run_cbc_process(cmd, Path(tmp) / "cbc.log", deadline)
        out = (Path(tmp) / "cbc.log").read_text(errors="replace")
        x = _parse_cbc_solution(sol, ncol) if code != -9 else None
    x = x if x is None or satisfies(milp, x) else None  # an interrupted CBC may write junk
    if code == -9:
        return _killed_outcome(out, note)
    res = _CBC_RESULT.search(out)
    raw = (res.group(1) or res.group(2)).strip() if res else (
        f"no result line (exit code {code})")
    if note:
        raw = f"{raw} ({note})"
    log.debug("cbc said: %s", raw)
    obj_m, bnd_m = _CBC_OBJ.search(out), _CBC_BOUND.search(out)
    obj = float(obj_m.group(1)) if obj_m else float("nan")
    bound = float(bnd_m.group(1)) if bnd_m else _partial_bound(out)
    kind = cbc_kind(raw, interrupted=bool(note), has_solution=x is not None)
    if kind == "infeasible":
        x = None
    if kind == "optimal" and not np.isfinite(bound):
        bound = obj
    return MipOutcome(kind, raw, x, obj, bound, "cbc")


def cbc_kind(raw: str, *, interrupted: bool, has_solution: bool) -> str:
    """The outcome kind of a CBC run from its result line.

    Parameters
    ----------
    raw
        CBC's "Result - ..." text (or a note that it printed none).
    interrupted
        Whether we interrupted CBC at the wall-clock budget: that is a time limit, not a
        failure, even when CBC printed no result line.
    has_solution
        Whether CBC wrote a solution that satisfies the model.
    """
    low = raw.lower()
    if "infeasible" in low:
        return "infeasible"
    if low.startswith("optimal"):
        return "optimal"
    if "stopped" in low or interrupted:
        return "time_limit" if has_solution else "no_solution"
    return "time_limit" if has_solution else "failed"


def _partial_bound(out: str) -> float:
    """The last bound CBC printed before it stopped (``nan`` if none)."""
    found = _CBC_PARTIAL_BOUND.findall(out)
    if not found:
        return float("nan")
    try:
        return float(found[-1])
    except ValueError:
        return float("nan")


def _killed_outcome(out: str, note: str) -> MipOutcome:
    bound = _partial_bound(out)
    raw = (f"CBC did not stop at its time limit and was {note.split()[0]}; "
           f"{'its last bound was kept' if np.isfinite(bound) else 'it printed no bound'}")
    log.info("%s", raw)
    return MipOutcome("no_solution", raw, None, float("nan"), bound, "cbc")


def run_mip(
    solver: str, milp: Milp, start: np.ndarray | None, *, time_limit: float | None,
    mip_gap: float, threads: int | None, seed: int,
) -> MipOutcome:
    """Dispatch to the named back-end."""
    fn = solve_cbc if solver == "cbc" else solve_highs
    return fn(milp, start, time_limit=time_limit, mip_gap=mip_gap, threads=threads, seed=seed)
