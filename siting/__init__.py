"""siting: plan 5G base-station sites for a city district.

The pipeline runs in stages, one module each: :mod:`siting.layers` (input
layers), :mod:`siting.candidates`, :mod:`siting.demand`, :mod:`siting.coverage`
(with :mod:`siting.radio`), :mod:`siting.optimize`, :mod:`siting.plan` and
:mod:`siting.outputs` (with :mod:`siting.maps`).

Examples
--------
>>> import siting
>>> cfg = siting.load_config(siting.demo_config_path())  # doctest: +SKIP
>>> plan = siting.make_plan(cfg)  # doctest: +SKIP
>>> siting.write_plan(plan, "out/my-plan")  # doctest: +SKIP
"""

from siting._errors import (
    ConfigError,
    InfeasibleError,
    LayerError,
    OutputError,
    PlanCheckError,
    SitingError,
    SolverError,
)
from siting.config import Config, load_config
from siting.demo import demo_config_path
from siting.outputs import load_plan, write_plan
from siting.plan import Plan, make_plan, prepare

__version__ = "0.1.0"

__all__ = [
    "Config",
    "ConfigError",
    "InfeasibleError",
    "LayerError",
    "OutputError",
    "Plan",
    "PlanCheckError",
    "SitingError",
    "SolverError",
    "__version__",
    "demo_config_path",
    "load_config",
    "load_plan",
    "make_plan",
    "prepare",
    "write_plan",
]
