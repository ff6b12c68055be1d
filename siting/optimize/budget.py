"""Work budgets: searches that stop at the same point on every run.

A search that stops when the wall clock says so stops at a different point on every run
(the machine's speed and load vary), so the same input would give a different plan. The
searches of the engine (greedy passes, local search, Lagrangian iterations, window
solves) therefore charge what they do to a :class:`Budget` in *work units* counted from
the work itself (non-zeros scanned, iterations, windows) and stop when the units run out.
A unit is calibrated to about a second of this engine on two cores (see the ``*_UNIT``
constants of the modules that charge), so a time limit of ``T`` seconds becomes a budget
of ``MARGIN * T`` units (:meth:`Budget.for_limits`).

The wall clock stays as a safety net: a budget also has a deadline, and a search that
reaches it first stops there. The budget then records that it was *stopped by the
clock*; a result whose budget was never stopped by the clock (and whose MIP solver, if
it ran, ended by optimality or gap rather than its time limit) is reproducible.

The full MIP solvers keep the clock: neither has a limit that stops it at the same point on
every run before its first branch-and-bound node, and that is where they spend a time
limit on the models they get (CBC and HiGHS both spent 30 s in the root of 81,000- and
84,000-non-zero tiles of the district benchmark without a node, HiGHS also on one of
226,000), so a node limit would not bound them; their plans repeat when they end proven
within the gap.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

MARGIN = 0.9
"""Share of a time limit handed out as work units: the rest absorbs the work no unit counts
(validation, reductions, building the models, the final check) and the spread of the
calibration (a unit costs 0.7-1.1 s here depending on the instance and the search's
progress)."""


@dataclass
class _Shared:
    """State shared by a budget and all its parts."""

    clock_stopped: bool = False


@dataclass
class Budget:
    """Work units a search may spend, with a wall-clock deadline as a safety net.

    Parameters
    ----------
    units
        Work units allowed (``None``: no limit on work).
    deadline
        ``time.perf_counter()`` value at which any search stops regardless (``None``:
        no deadline).

    Attributes
    ----------
    spent
        Work units charged so far (by this budget and its parts).
    """

    units: float | None
    deadline: float | None = None
    spent: float = 0.0
    _parent: Budget | None = field(default=None, repr=False)
    _shared: _Shared | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self._shared is None:
            self._shared = _Shared()

    @classmethod
    def clock(cls, seconds: float | None) -> Budget:
        """A budget limited by the wall clock only (``seconds`` from now; ``None``: none)."""
        if seconds is None:
            return cls(None)
        return cls(None, time.perf_counter() + max(float(seconds), 0.0))

    @classmethod
    def for_limits(cls, time_limit: float | None, work_limit: float | None = None,
                   t0: float | None = None) -> Budget:
        """The budget of a run: ``work_limit`` units, or else :data:`MARGIN` units per
        second of ``time_limit``; the deadline ``time_limit`` seconds after ``t0`` (now)."""
        start = time.perf_counter() if t0 is None else t0
        deadline = None if time_limit is None else start + max(float(time_limit), 0.0)
        units = work_limit if work_limit is not None else (
            None if time_limit is None else MARGIN * float(time_limit))
        return cls(None if units is None else max(float(units), 0.0), deadline)

    def charge(self, units: float) -> None:
        """Count ``units`` of work done (here and in every enclosing budget)."""
        b: Budget | None = self
        while b is not None:
            b.spent += units
            b = b._parent

    def units_left(self) -> float | None:
        """Work units not yet spent (``None`` when unlimited)."""
        return None if self.units is None else max(self.units - self.spent, 0.0)

    def seconds_left(self) -> float | None:
        """Seconds to the deadline (``None`` when there is none)."""
        return None if self.deadline is None else max(self.deadline - time.perf_counter(), 0.0)

    def solver_seconds(self) -> float | None:
        """Seconds for a MIP solver, which stops only by the clock: to the deadline, or
        else as many as work units are left (``None``: no limit)."""
        seconds = self.seconds_left()
        return self.units_left() if seconds is None else seconds

    def done(self) -> bool:
        """Whether the units are spent or the deadline has passed (recorded)."""
        if self.units is not None and self.spent >= self.units:
            return True
        if self.deadline is not None and time.perf_counter() >= self.deadline:
            self._shared.clock_stopped = True
            return True
        return False

    def affords(self, units: float, seconds: float | None = None) -> bool:
        """Whether ``units`` more work fit (and, against the deadline, ``seconds`` more)."""
        left = self.units_left()
        if left is not None and units > left:
            return False
        if self.units is None and seconds is not None:
            time_left = self.seconds_left()
            return time_left is None or seconds <= time_left
        return True

    def part(self, units: float | None, seconds: float | None = None) -> Budget:
        """A budget of at most ``units`` (no more than is left here) that charges this one,
        with this deadline or, if sooner, one ``seconds`` from now."""
        left = self.units_left()
        if units is None:
            units = left
        elif left is not None:
            units = min(float(units), left)
        deadline = self.deadline
        if seconds is not None:
            own = time.perf_counter() + max(float(seconds), 0.0)
            deadline = own if deadline is None else min(deadline, own)
        return Budget(units, deadline, _parent=self, _shared=self._shared)

    def stop_by_clock(self) -> None:
        """Record that something stopped at the deadline rather than by its work."""
        self._shared.clock_stopped = True

    @property
    def clock_stopped(self) -> bool:
        """Whether any search under this budget was stopped by the deadline."""
        return self._shared.clock_stopped


def as_budget(limit: float | Budget | None) -> Budget:
    """A :class:`Budget` from a time limit in seconds (clock only) or a budget itself."""
    return limit if isinstance(limit, Budget) else Budget.clock(limit)
