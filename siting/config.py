"""The run configuration: a YAML file validated into typed, documented settings.

Every section rejects unknown keys and suggests the closest valid key, so a typo
never passes silently. Relative layer paths are resolved against the folder of
the configuration file.

Examples
--------
>>> from siting.config import Config
>>> cfg = Config.model_validate({"name": "x", "layers": {"study_area": {"path": "a.gpkg"}}})
>>> cfg.demand.cell_size_m
100.0
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from siting._errors import ConfigError

__all__ = [
    "OSM_LAYERS",
    "SITE_CLASSES",
    "SOLVERS",
    "CandidatesConfig",
    "Config",
    "CoverageConfig",
    "DemandConfig",
    "LayerSource",
    "LayersConfig",
    "OSMTagRule",
    "OptimizeConfig",
    "OutputsConfig",
    "QuotaConfig",
    "ServiceLevel",
    "SiteClassConfig",
    "load_config",
    "scenario_config",
    "scenario_configs",
]

#: Solvers selectable by name.
SOLVERS: tuple[str, ...] = ("cbc", "highs")

#: Site classes a candidate can belong to.
SITE_CLASSES: tuple[str, ...] = (
    "macro_rooftop",
    "macro_tower",
    "colocation",
    "small_cell_lamp",
    "small_cell_signal",
    "small_cell_cctv",
    "small_cell_utility",
    "small_cell_smart_pole",
    "small_cell_other",
)

POLE_KINDS: tuple[str, ...] = (
    "street_lamp",
    "utility",
    "traffic_signal",
    "cctv",
    "smart_pole",
    "other",
)


class _Strict(BaseModel):
    """Base of every config section: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


#: Layers an OSM tag rule can send a feature to.
OSM_LAYERS: tuple[str, ...] = ("buildings", "parcels", "poles", "existing_sites", "pois")


class OSMTagRule(_Strict):
    """One row of the OSM tag-mapping table (see :data:`siting.osm.DEFAULT_TAG_RULES`).

    Attributes
    ----------
    layer
        Layer the matching features go to: ``buildings``, ``parcels``, ``poles``,
        ``existing_sites`` or ``pois``.
    key
        OSM tag key, e.g. ``highway`` or ``tower:type``.
    value
        Tag value to match; ``"*"`` matches any value except ``no``.
    kind
        What the feature becomes: the pole kind (poles), land use (parcels),
        building use (buildings) or POI kind (pois); unused for existing sites.
        ``None`` keeps the tag value (``"other"`` for ``*`` rules on buildings).
    """

    layer: Literal["buildings", "parcels", "poles", "existing_sites", "pois"]
    key: str = Field(min_length=1)
    value: str = "*"
    kind: str | None = None


class LayerSource(_Strict):
    """Where one input layer comes from.

    Attributes
    ----------
    path
        File to read (GeoPackage, GeoJSON, Shapefile, FlatGeobuf, CSV, XLSX,
        OSM ``.osm.pbf`` / ``.osm`` XML; GeoTIFF for ``population`` and ``dem``;
        the WorldPop tile table CSV for ``population``); relative paths are
        resolved against the configuration file's folder.
    layer
        Layer name inside a multi-layer file such as a GeoPackage; for an OSM file
        the mapped layer to take (default: the layer's own name).
    crs
        CRS to assign when the file has none (CSV/XLSX files default to EPSG:4326).
    x, y
        Coordinate columns of a CSV/XLSX file (default ``lon`` / ``lat``; Chinese
        headers such as ``经度`` / ``纬度`` are recognised when these are absent).
    columns
        Renames applied after reading, ``{name_in_file: name_in_schema}``.
    sheet
        Worksheet of an XLSX file (name or 0-based position; default the first).
    coords
        Coordinate system of lon/lat data: ``wgs84`` (default), ``gcj02``
        (Amap, Tencent) or ``bd09`` (Baidu); offset data are converted to WGS84.
    outside
        Points outside the study area: ``error`` (default) fails, ``drop``
        removes them with a warning giving the count.
    duplicates
        Rows with a repeated ID or location (inventories): ``error`` (default)
        fails, ``drop`` keeps the first with a warning giving the count.
    defaults
        Constant columns filled in when the file lacks them, e.g.
        ``{kind: traffic_signal}`` for a layer of signal poles.
    osm_tags
        Extra OSM tag rules for an OSM source, applied before the built-in table.
    metres_per_level
        Height of one storey when a building has levels but no height.
    """

    path: Path
    layer: str | None = None
    crs: str | None = None
    x: str = "lon"
    y: str = "lat"
    columns: dict[str, str] = Field(default_factory=dict)
    sheet: str | int | None = None
    coords: Literal["wgs84", "gcj02", "bd09"] = "wgs84"
    outside: Literal["error", "drop"] = "error"
    duplicates: Literal["error", "drop"] = "error"
    defaults: dict[str, str | float | int | bool] = Field(default_factory=dict)
    osm_tags: list[OSMTagRule] = Field(default_factory=list)
    metres_per_level: float = Field(default=3.0, gt=0)


class LayersConfig(_Strict):
    """The input layers; only ``study_area`` is required.

    ``population`` (a WorldPop-style GeoTIFF of people per pixel, or a WorldPop
    tile table CSV) replaces building populations in the demand grid; ``dem``
    is an elevation GeoTIFF read over the study area.
    """

    study_area: LayerSource
    towns: LayerSource | None = None
    parcels: LayerSource | None = None
    buildings: LayerSource | None = None
    poles: LayerSource | None = None
    existing_sites: LayerSource | None = None
    key_zones: LayerSource | None = None
    population: LayerSource | None = None
    dem: LayerSource | None = None


class SiteClassConfig(_Strict):
    """Cost and reach of one site class.

    Attributes
    ----------
    cost
        Cost of building a site of this class (CNY: equipment, power, land).
    range_m
        Coverage radius of the simple range model (metres).
    height_m
        Antenna height when the source asset has none (metres).
    band
        NR band the class transmits on by default.
    """

    cost: float = Field(ge=0)
    range_m: float = Field(gt=0)
    height_m: float = Field(gt=0)
    band: str = "n78"


def _default_classes() -> dict[str, SiteClassConfig]:
    rows = {
        "macro_rooftop": (350_000, 450.0, 30.0),
        "macro_tower": (600_000, 600.0, 35.0),
        "colocation": (150_000, 450.0, 30.0),
        "small_cell_lamp": (60_000, 180.0, 10.0),
        "small_cell_signal": (65_000, 160.0, 7.0),
        "small_cell_cctv": (65_000, 160.0, 7.0),
        "small_cell_utility": (70_000, 200.0, 12.0),
        "small_cell_smart_pole": (50_000, 200.0, 12.0),
        "small_cell_other": (80_000, 150.0, 8.0),
    }
    return {k: SiteClassConfig(cost=c, range_m=r, height_m=h) for k, (c, r, h) in rows.items()}


def _default_pole_classes() -> dict[str, str]:
    return {
        "street_lamp": "small_cell_lamp",
        "utility": "small_cell_utility",
        "traffic_signal": "small_cell_signal",
        "cctv": "small_cell_cctv",
        "smart_pole": "small_cell_smart_pole",
        "other": "small_cell_other",
    }


def _default_units() -> dict[str, str]:
    return {
        "small_cell_lamp": "District Landscaping and City Appearance Bureau",
        "small_cell_signal": "District Public Security Traffic Police",
        "small_cell_cctv": "District Public Security Bureau",
        "small_cell_utility": "State Grid Jiading Power Supply Company",
        "small_cell_smart_pole": "China Tower Jiading",
        "small_cell_other": "China Tower Jiading",
        "macro_rooftop": "Town government",
        "macro_tower": "District Planning and Natural Resources Bureau",
        "colocation": "Site operator",
    }


class CandidatesConfig(_Strict):
    """How candidate sites are made from poles, rooftops and existing sites.

    Attributes
    ----------
    classes
        Cost, range, height and band per site class.
    pole_classes
        Site class of a small cell on each pole kind.
    allowed_classes
        Site classes that may be used; ``None`` allows every class.
    rooftop_min_height_m
        Buildings at least this tall are rooftop (macro) candidates.
    rooftop_uses
        Building uses whose rooftops may be opened as sites.
    rooftop_min_spacing_m
        At most one rooftop candidate (the tallest) per square of this side.
    tower_land_uses
        Land uses of parcels where a new tower may be built (public-utility
        land); new-tower candidates sit on a grid over those parcels.
    tower_spacing_m
        Spacing of the new-tower candidate grid (metres).
    existing
        ``"keep"``: existing sites are kept and upgraded (fixed, at their class
        cost); ``"optional"``: they are cheap candidates; ``"ignore"``: unused.
    responsible_units
        Responsible unit per site class (for rooftops the building owner is used
        when present).
    """

    classes: dict[str, SiteClassConfig] = Field(default_factory=_default_classes)
    pole_classes: dict[str, str] = Field(default_factory=_default_pole_classes)
    allowed_classes: list[str] | None = None
    rooftop_min_height_m: float = Field(default=18.0, ge=0)
    rooftop_uses: list[str] = Field(
        default_factory=lambda: ["residential", "commercial", "public", "education", "health"]
    )
    rooftop_min_spacing_m: float = Field(default=150.0, ge=0)
    tower_land_uses: list[str] = Field(
        default_factory=lambda: ["park", "agricultural", "transport"]
    )
    tower_spacing_m: float = Field(default=500.0, ge=0)
    existing: Literal["keep", "optional", "ignore"] = "keep"
    responsible_units: dict[str, str] = Field(default_factory=_default_units)

    @model_validator(mode="after")
    def _known_classes(self) -> CandidatesConfig:
        named = (
            set(self.classes) | set(self.pole_classes.values()) | set(self.allowed_classes or [])
        )
        unknown = sorted(named - set(SITE_CLASSES))
        if unknown:
            raise ValueError(
                f"unknown site class(es) {unknown}; valid classes are {list(SITE_CLASSES)}"
            )
        bad_kinds = sorted(set(self.pole_classes) - set(POLE_KINDS))
        if bad_kinds:
            raise ValueError(
                f"unknown pole kind(s) {bad_kinds}; valid kinds are {list(POLE_KINDS)}"
            )
        missing = sorted(set(SITE_CLASSES) - set(self.classes))
        if missing:
            defaults = _default_classes()
            self.classes = {**{m: defaults[m] for m in missing}, **self.classes}
        return self


class ServiceLevel(_Strict):
    """A required quality of service for demand cells.

    Attributes
    ----------
    rsrp_min_dbm
        Received power a cell needs to count as covered (radio model).
    k
        Number of distinct selected sites that must cover a cell (2 for ICV
        roads: handover and redundancy).
    priority
        Multiplier of the cell's weight in the coverage objective.
    range_factor
        Share of a class's range that still gives this level (range model):
        1.0 for ordinary service, lower for a stricter level.
    """

    rsrp_min_dbm: float = -110.0
    k: int = Field(default=1, ge=1)
    priority: float = Field(default=1.0, gt=0)
    range_factor: float = Field(default=1.0, gt=0, le=1.0)


def _default_levels() -> dict[str, ServiceLevel]:
    return {
        "ordinary": ServiceLevel(rsrp_min_dbm=-110.0, k=1, priority=1.0, range_factor=1.0),
        "key": ServiceLevel(rsrp_min_dbm=-100.0, k=1, priority=5.0, range_factor=0.8),
        "icv": ServiceLevel(rsrp_min_dbm=-100.0, k=2, priority=10.0, range_factor=0.8),
    }


class DemandConfig(_Strict):
    """The demand grid.

    Attributes
    ----------
    cell_size_m
        Side of a square demand cell (metres).
    area_weight
        Weight every cell gets on top of its population, so that empty land
        still counts towards area coverage.
    service_levels
        Named service levels; key zones refer to them by name.
    default_service_level
        Level of cells outside every key zone.
    indoor_share
        Share of a populated cell's demand that is indoors (radio model O2I).
    """

    cell_size_m: float = Field(default=100.0, gt=0)
    area_weight: float = Field(default=1.0, ge=0)
    service_levels: dict[str, ServiceLevel] = Field(default_factory=_default_levels)
    default_service_level: str = "ordinary"
    indoor_share: float = Field(default=0.0, ge=0, le=1)

    @model_validator(mode="after")
    def _default_level_exists(self) -> DemandConfig:
        if self.default_service_level not in self.service_levels:
            raise ValueError(
                f"default_service_level {self.default_service_level!r} is not one of the "
                f"service_levels {sorted(self.service_levels)}"
            )
        return self


class CoverageConfig(_Strict):
    """Which model decides that a candidate covers a demand cell.

    Attributes
    ----------
    model
        ``"range"``: a per-class radius; ``"radio"``: link budget and
        3GPP TR 38.901 path loss.
    radio
        Settings of the radio model (see ``siting.radio``).
    """

    model: Literal["range", "radio"] = "range"
    radio: dict[str, Any] = Field(default_factory=dict)


class QuotaConfig(_Strict):
    """A minimum and/or maximum number of sites per group of candidates.

    Attributes
    ----------
    by
        Candidate column that forms the groups.
    value
        The one group the rule applies to; ``None`` applies it to every group
        (e.g. "at least 20 sites in each town").
    min, max
        Bounds on the number of selected sites of the group.
    """

    by: Literal["town_id", "owner", "site_class", "responsible_unit", "source"]
    value: str | None = None
    min: int | None = Field(default=None, ge=0)
    max: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _has_bound(self) -> QuotaConfig:
        if self.min is None and self.max is None:
            raise ValueError("a quota needs min or max")
        return self


class OptimizeConfig(_Strict):
    """The integer program and its solver.

    Attributes
    ----------
    objective
        ``"max_cover"``: maximum weighted coverage under ``max_sites`` and/or
        ``budget``; ``"min_cost"``: minimum cost reaching ``coverage_target``.
        Key zones are hard constraints in both.
    max_sites
        Most sites in the plan, existing sites kept included.
    budget
        Most total cost (CNY).
    coverage_target
        Share of the total weight that must be covered (``min_cost``).
    solver
        ``"cbc"`` (bundled with PuLP) or ``"highs"``.
    time_limit_s
        Time limit in seconds for the whole optimisation; the searches spend it as
        work units (about a second each), so a run that ends within it is repeatable.
    work_limit
        Work units for the optimisation instead of ``time_limit_s``'s seconds: the
        plan is then the same on any machine under any load. A ``time_limit_s``
        given as well still stops a run that takes longer (the plan then says it is
        not reproducible); the default one does not apply (see :attr:`clock_limit`).
    mip_gap
        Relative gap at which the solver may stop.
    threads
        Solver threads; ``None`` lets the solver choose.
    targets
        Cumulative site targets per year, e.g. ``{2020: 2000, 2021: 3000}``;
        sites are given rollout years in order of marginal gain.
    year
        Rollout year of every site when ``targets`` is empty.
    min_spacing_m
        Minimum distance between two new sites of the same class, per class.
    exclude
        Candidate IDs that may not be selected.
    quotas
        Minimum / maximum site counts per town, owner, class or unit.
    rollout
        ``"order"``: one plan for the last target, then rollout years by
        marginal gain; ``"phased"``: each year its own cumulative target,
        sites once built stay built, key zones due in the first year (solved
        as ``phasing`` says).
    phasing
        How a ``"phased"`` rollout is solved: ``"auto"`` (one MIP over all
        the years when it fits, else year by year), ``"joint"`` or
        ``"rolling"`` (year by year).
    yearly_budget
        Budget of new sites per year (``"phased"`` rollout).
    capacity
        Residents one site of a class can serve, per class (classes left out
        are unlimited); when given, residents are assigned to covering sites
        and the plan maximises (or costs) the residents actually served.
        Medium-size instances only: a town, not the whole district.
    """

    objective: Literal["max_cover", "min_cost"] = "max_cover"
    max_sites: int | None = Field(default=None, ge=1)
    budget: float | None = Field(default=None, gt=0)
    coverage_target: float | None = Field(default=None, gt=0, le=1)
    solver: str = "cbc"
    time_limit_s: float = Field(default=60.0, gt=0)
    work_limit: float | None = Field(default=None, gt=0)
    mip_gap: float = Field(default=0.005, ge=0)
    threads: int | None = Field(default=None, ge=1)
    targets: dict[int, int] = Field(default_factory=dict)
    year: int = 2020
    min_spacing_m: dict[str, float] = Field(default_factory=dict)
    exclude: list[str] = Field(default_factory=list)
    quotas: list[QuotaConfig] = Field(default_factory=list)
    rollout: Literal["order", "phased"] = "order"
    phasing: Literal["auto", "joint", "rolling"] = "auto"
    yearly_budget: dict[int, float] = Field(default_factory=dict)
    capacity: dict[str, float] = Field(default_factory=dict)

    @property
    def clock_limit(self) -> float | None:
        """Seconds the optimisation may take: ``time_limit_s``, or ``None`` (no clock
        limit) when ``work_limit`` is set and ``time_limit_s`` was left at its default."""
        if self.work_limit is not None and "time_limit_s" not in self.model_fields_set:
            return None
        return self.time_limit_s

    @field_validator("solver")
    @classmethod
    def _known_solver(cls, value: str) -> str:
        name = value.lower()
        if name not in SOLVERS:
            raise ValueError(f"unknown solver {value!r}; valid solvers are {list(SOLVERS)}")
        return name

    @field_validator("min_spacing_m", "capacity")
    @classmethod
    def _spacing_classes(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - set(SITE_CLASSES))
        if unknown:
            raise ValueError(f"unknown site class(es) {unknown}; valid: {list(SITE_CLASSES)}")
        return value

    @model_validator(mode="after")
    def _phased_needs_targets(self) -> OptimizeConfig:
        if self.rollout == "phased":
            if not self.targets:
                raise ValueError("rollout 'phased' needs targets, e.g. {2020: 2000, 2021: 3000}")
            if self.budget is not None and not self.yearly_budget:
                raise ValueError(
                    "rollout 'phased' spends yearly_budget per year; give yearly_budget "
                    "instead of budget"
                )
            if self.capacity:
                raise ValueError("capacity is not supported with rollout 'phased'; use 'order'")
            extra = sorted(set(self.yearly_budget) - set(self.targets))
            if extra:
                raise ValueError(f"yearly_budget years {extra} are not target years")
        return self

    @model_validator(mode="after")
    def _objective_has_limits(self) -> OptimizeConfig:
        limited = self.max_sites is not None or self.budget is not None
        if self.rollout == "phased":
            limited = limited or bool(self.targets)
        if self.objective == "max_cover" and not limited:
            raise ValueError("objective 'max_cover' needs max_sites or budget (or both)")
        if self.objective == "min_cost" and self.coverage_target is None:
            raise ValueError("objective 'min_cost' needs coverage_target (e.g. 0.95)")
        return self


class OutputsConfig(_Strict):
    """What a run writes besides the site list, statistics and manifest.

    Attributes
    ----------
    map
        Write ``map.html``.
    report
        Write ``report.html`` and its charts.
    spreadsheets
        Write ``sites.xlsx``, ``sites.kml`` and the candidate registry.
    curve_budgets
        Budgets (CNY) of a coverage vs cost curve solved with the plan and
        shown in the report (``curve.csv``); empty: no curve.
    """

    map: bool = True
    report: bool = True
    spreadsheets: bool = True
    curve_budgets: list[float] = Field(default_factory=list)


class Config(_Strict):
    """A whole run.

    Attributes
    ----------
    name
        Name of the plan (used in file titles).
    crs
        Projected working CRS for all metric work.
    layers, candidates, demand, coverage, optimize, outputs
        The sections documented in their own classes.
    seed
        Seed of every random choice (same input, same output).
    scenarios
        Named variants that share the layers and override a few settings,
        e.g. ``{"no_cctv": {"candidates": {"allowed_classes": [...]}}}``; each
        override is merged into the base settings and validated like them.
    scenario
        Name of the scenario this configuration was built for (``None`` for
        the base configuration).
    """

    name: str
    crs: str = "EPSG:32651"
    layers: LayersConfig
    candidates: CandidatesConfig = Field(default_factory=CandidatesConfig)
    demand: DemandConfig = Field(default_factory=DemandConfig)
    coverage: CoverageConfig = Field(default_factory=CoverageConfig)
    optimize: OptimizeConfig = Field(
        default_factory=lambda: OptimizeConfig(objective="max_cover", max_sites=100)
    )
    outputs: OutputsConfig = Field(default_factory=OutputsConfig)
    seed: int = 0
    scenarios: dict[str, dict[str, Any]] = Field(default_factory=dict)
    scenario: str | None = None

    @field_validator("crs")
    @classmethod
    def _projected(cls, value: str) -> str:
        from pyproj import CRS
        from pyproj.exceptions import CRSError

        try:
            crs = CRS.from_user_input(value)
        except CRSError as exc:
            raise ValueError(f"crs {value!r} is not a CRS pyproj knows ({exc})") from exc
        if not crs.is_projected:
            raise ValueError(
                f"crs {value!r} is not projected; metric work needs a projected CRS "
                "such as EPSG:32651 (UTM 51N, Shanghai)"
            )
        return value

    def resolve_paths(self, base: Path) -> Config:
        """Return a copy whose relative layer paths are anchored at ``base``."""
        layers = {}
        for name in LayersConfig.model_fields:
            src = getattr(self.layers, name)
            if src is not None and not src.path.is_absolute():
                src = src.model_copy(update={"path": (base / src.path).resolve()})
            layers[name] = src
        return self.model_copy(update={"layers": LayersConfig(**layers)})


def _fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Return the valid keys of the section at ``loc`` of a validation error."""
    current: Any = model
    for part in loc[:-1]:
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        field = current.model_fields.get(str(part))
        if field is None:
            return []
        current = _section_type(field.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _section_type(annotation: Any) -> Any:
    """Unwrap ``X | None`` and ``dict[str, X]`` to the model type X if any."""
    args = getattr(annotation, "__args__", ())
    for arg in (annotation, *args):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return annotation


def format_validation_error(exc: ValidationError, *, source: str) -> str:
    """Turn a pydantic error into one readable message listing every problem.

    Parameters
    ----------
    exc
        The validation error.
    source
        Name of the file or object validated, for the message.

    Returns
    -------
    str
        One line per problem, with the closest valid key for unknown keys.
    """
    lines = [f"invalid configuration in {source}:"]
    for err in exc.errors():
        loc = tuple(err["loc"])
        where = ".".join(str(p) for p in loc) or "(top level)"
        if err["type"] == "extra_forbidden":
            valid = _fields_at(Config, loc)
            close = difflib.get_close_matches(str(loc[-1]), valid, n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            lines.append(
                f"  - {where}: unknown key{hint} Valid keys here: {', '.join(valid) or '-'}"
            )
        else:
            msg = err["msg"].removeprefix("Value error, ")
            lines.append(f"  - {where}: {msg}")
    return "\n".join(lines)


def _read_yaml(path: Path) -> dict[str, Any]:
    """Read a YAML mapping, with a clear error for anything else."""
    if not path.is_file():
        raise ConfigError(f"configuration file {path} does not exist; check the path")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"configuration file {path} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"configuration file {path} must hold a mapping of settings")
    return raw


def load_config(path: str | Path, *, scenario: str | None = None) -> Config:
    """Read and validate a YAML configuration file.

    Parameters
    ----------
    path
        The YAML file.
    scenario
        Name of a scenario of the file to build the configuration for; ``None``
        gives the base configuration.

    Returns
    -------
    Config
        The validated configuration with layer paths made absolute.

    Raises
    ------
    ConfigError
        If the file is missing, is not YAML, breaks the schema, or names an
        unknown scenario; the message lists every problem at once.
    """
    path = Path(path)
    raw = _read_yaml(path)
    cfg = config_from_dict(raw, base=path.parent, source=str(path))
    if scenario is None:
        return cfg
    return scenario_config(raw, scenario, base=path.parent, source=str(path))


def scenario_configs(path: str | Path) -> dict[str, Config]:
    """Every configuration of a file: ``"base"`` and each named scenario.

    Parameters
    ----------
    path
        The YAML file.

    Returns
    -------
    dict
        Scenario name -> validated configuration, base first.
    """
    path = Path(path)
    raw = _read_yaml(path)
    out = {"base": config_from_dict(raw, base=path.parent, source=str(path))}
    for name in raw.get("scenarios") or {}:
        out[name] = scenario_config(raw, name, base=path.parent, source=str(path))
    return out


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Merge ``override`` into ``base``: mappings recursively, other values replaced."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def scenario_config(raw: dict[str, Any], name: str, *, base: Path, source: str) -> Config:
    """Build the configuration of one scenario from the raw settings.

    Parameters
    ----------
    raw
        The whole file's settings.
    name
        The scenario.
    base
        Folder relative layer paths are resolved against.
    source
        Name used in error messages.

    Returns
    -------
    Config
        The base settings with the scenario's overrides merged in.
    """
    scenarios = raw.get("scenarios") or {}
    if name not in scenarios:
        close = difflib.get_close_matches(name, list(scenarios), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(
            f"{source} has no scenario {name!r}{hint} Scenarios: {sorted(scenarios) or 'none'}"
        )
    override = scenarios[name] or {}
    if not isinstance(override, dict) or {"scenarios", "scenario"} & set(override):
        raise ConfigError(
            f"scenario {name!r} in {source} must be a mapping of settings to override "
            "(and may not define scenarios itself)"
        )
    merged = _deep_merge({k: v for k, v in raw.items() if k != "scenarios"}, override)
    merged["scenario"] = name
    return config_from_dict(merged, base=base, source=f"{source}, scenario {name!r}")


def config_from_dict(raw: dict[str, Any], *, base: Path, source: str = "config") -> Config:
    """Validate a configuration given as a mapping.

    Scenarios in it are validated too, so a typo in any of them is caught.

    Parameters
    ----------
    raw
        The settings, as read from YAML.
    base
        Folder relative layer paths are resolved against.
    source
        Name used in error messages.

    Returns
    -------
    Config
        The validated configuration.
    """
    try:
        cfg = Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, source=source)) from None
    if cfg.coverage.model == "radio":
        _validate_radio(cfg, source=source)
    if cfg.scenario is None:
        for name in cfg.scenarios:
            scenario_config(raw, name, base=base, source=source)
    return cfg.resolve_paths(base)


def _validate_radio(cfg: Config, *, source: str) -> None:
    """Validate the radio section with the radio model's own schema."""
    from siting.radio import RadioConfig

    try:
        RadioConfig.model_validate(cfg.coverage.radio)
    except ValidationError as exc:
        problems = "; ".join(
            f"coverage.radio.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"invalid configuration in {source}: {problems}") from None
