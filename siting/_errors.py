"""Exceptions and warnings raised by siting.

Every error the package raises derives from :class:`SitingError`; each subclass
also derives from the matching built-in exception so callers can catch either.
"""

from __future__ import annotations


class SitingError(Exception):
    """Base class of every error raised by siting."""


class ConfigError(SitingError, ValueError):
    """The configuration file or an option is invalid."""


class LayerError(SitingError, ValueError):
    """An input layer is missing, unreadable or breaks its schema."""


class SolverError(SitingError, RuntimeError):
    """A solver is unknown, unavailable or failed to run."""


class InfeasibleError(SitingError, RuntimeError):
    """The optimisation problem has no feasible plan.

    Parameters
    ----------
    message
        What cannot be satisfied and what to do about it.
    zones
        Names of the key zones (or constraint groups) that cannot be met.
    """

    def __init__(self, message: str, *, zones: list[str] | None = None) -> None:
        super().__init__(message)
        self.zones = list(zones or [])


class PlanCheckError(SitingError, AssertionError):
    """A plan returned by a solver failed the independent checker."""


class OutputError(SitingError, OSError):
    """An output folder could not be written or read."""
