"""Link budgets per site class and band, and the radio configuration.

The downlink quantity the planner judges is the RSRP of one resource element::

    RSRP = P_tx - 10 log10(12 N_RB) + G_tx - L_feeder - L_pattern
           - PL(d) + G_UE - L_body - L_O2I - M_SF

``P_tx`` is the total power of one sector over the carrier, ``N_RB`` the number of
resource blocks of the carrier, ``PL`` the 3GPP TR 38.901 path loss
(:mod:`siting.radio.pathloss`), ``L_O2I`` the outdoor-to-indoor loss (indoor
users only) and ``M_SF = z(p_edge) * sigma`` the shadow-fading margin that makes
the threshold hold at the cell edge with probability ``p_edge``; ``sigma`` is the
scenario's ``sigma_SF`` (combined with the O2I ``sigma_P`` for indoor users).

Where no building or terrain data decides line of sight, the 38.901 LOS
probability ``p`` decides it (``los_mode``): ``"threshold"`` (default) takes LOS
where ``p >= los_threshold`` (0.5, the more likely state), ``"expected"`` uses the
expected loss in dB ``p PL_LOS + (1 - p) PL_NLOS`` (and likewise for ``sigma``),
``"nlos"`` assumes NLOS everywhere (the pessimistic planner's choice).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pydantic import BaseModel, ConfigDict, Field, model_validator
from scipy.special import ndtri

from siting._errors import ConfigError
from siting.radio.pathloss import (
    VALIDITY,
    los_probability,
    o2i_loss_db,
    o2i_std_db,
    path_loss_db,
    shadow_fading_std_db,
)

__all__ = [
    "ENVIRONMENTS",
    "BandConfig",
    "LinkBudget",
    "PathTerms",
    "RadioConfig",
    "SiteClassConfig",
    "combine_rsrp",
    "link_budget",
    "los_weight",
    "max_range_m",
    "path_terms",
    "rsrp_dbm",
]

ENVIRONMENTS: tuple[str, ...] = ("urban", "suburban", "rural")
LOS_MODES: tuple[str, ...] = ("threshold", "expected", "nlos")
#: Thermal noise density at 290 K (dBm/Hz).
THERMAL_NOISE_DBM_HZ = -174.0
#: Points of the distance grid used to find a maximum range.
_RANGE_GRID_POINTS = 600

FloatArray = NDArray[np.float64]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BandConfig(_Strict):
    """One NR carrier.

    Attributes
    ----------
    fc_ghz
        Centre frequency (GHz).
    bandwidth_mhz
        Channel bandwidth (MHz).
    scs_khz
        Subcarrier spacing (kHz).
    n_rb
        Resource blocks of the carrier (TS 38.101-1 Table 5.3.2-1).
    """

    fc_ghz: float = Field(gt=0)
    bandwidth_mhz: float = Field(gt=0)
    scs_khz: Literal[15, 30, 60] = 30
    n_rb: int = Field(gt=0)

    @model_validator(mode="after")
    def _fits(self) -> BandConfig:
        used_mhz = self.n_rb * 12 * self.scs_khz / 1000.0
        if used_mhz > self.bandwidth_mhz:
            raise ValueError(
                f"n_rb={self.n_rb} at {self.scs_khz} kHz occupies {used_mhz:g} MHz, more than "
                f"bandwidth_mhz={self.bandwidth_mhz:g}; lower n_rb or raise the bandwidth"
            )
        return self


def _default_bands() -> dict[str, dict[str, Any]]:
    return {
        "n78": {"fc_ghz": 3.5, "bandwidth_mhz": 100.0, "scs_khz": 30, "n_rb": 273},
        "n41": {"fc_ghz": 2.6, "bandwidth_mhz": 100.0, "scs_khz": 30, "n_rb": 273},
        "n79": {"fc_ghz": 4.9, "bandwidth_mhz": 100.0, "scs_khz": 30, "n_rb": 273},
        "n28": {"fc_ghz": 0.7, "bandwidth_mhz": 30.0, "scs_khz": 15, "n_rb": 160},
    }


class SiteClassConfig(_Strict):
    """Link-budget parameters of one site class.

    Attributes
    ----------
    tx_power_dbm
        Total transmit power of one sector over the carrier (dBm).
    antenna_gain_dbi
        Antenna (beam) gain towards the user (dBi).
    feeder_loss_db
        Cable, feeder and connector loss (dB; ~0.5 for an active antenna unit).
    pattern_loss_db
        Mean horizontal pattern loss across a sector (dB): 3.4 for 3 sectors of
        65 degrees under the 38.901 Table 7.3-1 pattern, 0 for omni.
    sectors
        Number of sectors (informational: the table prints it).
    height_m
        Typical antenna height, used by the link-budget table (metres).
    ue_height_m, ue_gain_dbi
        UE antenna height (metres) and gain (dBi).
    body_loss_db
        Body loss at the UE (dB).
    noise_figure_db
        UE noise figure (dB), for the SNR column of the table.
    penetration_loss_db
        Fixed O2I loss for indoor users (dB); ``None`` uses TR 38.901 7.4.3.
    shadow_fading_margin_db
        Fixed shadow-fading margin (dB); ``None`` derives it from ``sigma_SF``
        and the configuration's ``cell_edge_probability``.
    bandwidth_mhz
        Carrier bandwidth used by this class (MHz); ``None`` uses the band's. A
        narrower carrier concentrates the power on fewer resource blocks.
    bands
        Bands this class can carry; a candidate on another band has no link
        budget and is refused.
    scenarios
        Path-loss scenario per environment (``"urban"``, ``"suburban"``,
        ``"rural"``): ``"uma"``, ``"umi"`` or ``"rma"``.
    max_range_m
        Serving-distance limit (metres; defaults 1,000 for macro classes and
        300 for small cells, typical of a dense urban layer with a 400-500 m
        inter-site distance). Under LOS a 3.5 GHz macro would reach the 5 km
        validity limit of the path-loss models, and buildings (the only clutter
        the model sees) are absent from open land, so an explicit limit keeps
        far pairs out; raise it for rural or low-band layers (e.g. n28), or set
        ``None`` to use the link budget alone (at most 5 km).
    """

    tx_power_dbm: float
    antenna_gain_dbi: float
    feeder_loss_db: float = Field(ge=0)
    pattern_loss_db: float = Field(ge=0)
    sectors: int = Field(ge=1, le=6)
    height_m: float = Field(gt=0)
    ue_height_m: float = Field(default=1.5, gt=0)
    ue_gain_dbi: float = 0.0
    body_loss_db: float = Field(default=3.0, ge=0)
    noise_figure_db: float = Field(default=7.0, ge=0)
    penetration_loss_db: float | None = Field(default=None, ge=0)
    shadow_fading_margin_db: float | None = Field(default=None, ge=0)
    bandwidth_mhz: float | None = Field(default=None, gt=0)
    bands: tuple[str, ...]
    scenarios: dict[Literal["urban", "suburban", "rural"], Literal["uma", "umi", "rma"]]
    max_range_m: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _every_environment(self) -> SiteClassConfig:
        missing = sorted(set(ENVIRONMENTS) - set(self.scenarios))
        if missing:
            raise ValueError(
                f"scenarios lacks environment(s) {missing}; give all of {ENVIRONMENTS}"
            )
        return self


_MACRO = {
    "tx_power_dbm": 53.0,
    "antenna_gain_dbi": 24.0,
    "feeder_loss_db": 0.5,
    "pattern_loss_db": 3.4,
    "sectors": 3,
    "bands": ("n78", "n41", "n79", "n28"),
    "scenarios": {"urban": "uma", "suburban": "uma", "rural": "rma"},
    "max_range_m": 1000.0,
}
_SMALL = {
    "tx_power_dbm": 40.0,
    "antenna_gain_dbi": 10.0,
    "feeder_loss_db": 0.5,
    "pattern_loss_db": 0.0,
    "sectors": 1,
    "bands": ("n78", "n41", "n79"),
    "scenarios": {"urban": "umi", "suburban": "umi", "rural": "umi"},
    "max_range_m": 300.0,
}


def _default_classes() -> dict[str, dict[str, Any]]:
    return {
        "macro_rooftop": {**_MACRO, "height_m": 30.0},
        "macro_tower": {**_MACRO, "height_m": 35.0},
        "colocation": {**_MACRO, "height_m": 30.0, "antenna_gain_dbi": 21.0},
        "small_cell_lamp": {**_SMALL, "height_m": 10.0},
        "small_cell_signal": {**_SMALL, "height_m": 7.0},
        "small_cell_cctv": {**_SMALL, "height_m": 7.0},
        "small_cell_utility": {**_SMALL, "height_m": 12.0},
        "small_cell_smart_pole": {**_SMALL, "height_m": 12.0, "tx_power_dbm": 43.0},
        "small_cell_other": {**_SMALL, "height_m": 8.0},
    }


def _merge(defaults: dict[str, dict[str, Any]], given: Any) -> Any:
    """Overlay partial per-key overrides onto the defaults (new keys pass as given)."""
    if not isinstance(given, dict):
        return given
    out: dict[str, Any] = {k: dict(v) for k, v in defaults.items()}
    for key, value in given.items():
        if isinstance(value, dict) and key in defaults:
            out[key] = {**defaults[key], **value}
        else:
            out[key] = value
    return out


class RadioConfig(_Strict):
    """Settings of the radio coverage model (``coverage.radio`` in the config).

    ``bands`` and ``classes`` are overlaid on the defaults: give only what
    changes, e.g. ``{"classes": {"macro_tower": {"tx_power_dbm": 50}}}``.

    Attributes
    ----------
    bands
        Carriers by band name (defaults n78, n41, n79, n28).
    classes
        Link budget per site class.
    default_band
        Band of candidates without a ``band`` column.
    range_threshold_dbm
        Loosest RSRP threshold any demand cell uses; bounds each candidate's reach.
    cell_edge_probability
        Probability that RSRP meets the threshold at a cell (sets the margin).
    los_mode
        How the LOS probability decides when no obstruction data exist:
        ``"threshold"``, ``"expected"`` or ``"nlos"`` (see the module docstring).
    los_threshold
        LOS when ``p_LOS >= los_threshold`` (``los_mode="threshold"``).
    o2i_model
        38.901 O2I building loss, ``"low"`` or ``"high"`` (RMa always uses low).
    indoor_share_threshold
        A cell is judged for an indoor user when its ``indoor_share`` is at
        least this (0.5: the majority of its demand).
    indoor_distance_m
        Indoor distance of the O2I loss; ``None``: the standard's mean (25/3 m
        UMa/UMi, 10/3 m RMa).
    rma_building_height_m, rma_street_width_m
        RMa average building height ``h`` and street width ``W`` (metres).
    obstruction_resolution_m
        Cell size of the building / terrain height grid (metres; 10 m keeps
        footprints of ordinary buildings and a district-size grid in memory; use
        5 m for narrow buildings).
    ray_step_m
        Sampling step along a ray; ``None``: the grid resolution.
    los_clearance_m
        A ray is blocked where the surface is within this of the ray.
    chunk_pairs
        Pairs evaluated at once (bounds memory).
    """

    bands: dict[str, BandConfig] = Field(default_factory=lambda: _as_bands(_default_bands()))
    classes: dict[str, SiteClassConfig] = Field(
        default_factory=lambda: _as_classes(_default_classes())
    )
    default_band: str = "n78"
    range_threshold_dbm: float = -110.0
    cell_edge_probability: float = Field(default=0.9, ge=0.5, lt=1.0)
    los_mode: Literal["threshold", "expected", "nlos"] = "threshold"
    los_threshold: float = Field(default=0.5, gt=0.0, le=1.0)
    o2i_model: Literal["low", "high"] = "low"
    indoor_share_threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    indoor_distance_m: float | None = Field(default=None, ge=0)
    rma_building_height_m: float = Field(default=5.0, ge=5.0, le=50.0)
    rma_street_width_m: float = Field(default=20.0, ge=5.0, le=50.0)
    obstruction_resolution_m: float = Field(default=10.0, gt=0)
    ray_step_m: float | None = Field(default=None, gt=0)
    los_clearance_m: float = Field(default=0.0, ge=0)
    chunk_pairs: int = Field(default=2_000_000, ge=1000)

    @model_validator(mode="before")
    @classmethod
    def _overlay_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if "bands" in data:
            data["bands"] = _merge(_default_bands(), data["bands"])
        if "classes" in data:
            data["classes"] = _merge(_default_classes(), data["classes"])
        return data

    @model_validator(mode="after")
    def _bands_known(self) -> RadioConfig:
        if self.default_band not in self.bands:
            raise ValueError(
                f"default_band {self.default_band!r} is not one of the bands {sorted(self.bands)}"
            )
        for name, cls_cfg in self.classes.items():
            unknown = sorted(set(cls_cfg.bands) - set(self.bands))
            if unknown:
                raise ValueError(
                    f"class {name!r} lists unknown band(s) {unknown}; "
                    f"known bands are {sorted(self.bands)}"
                )
        return self

    @property
    def edge_z(self) -> float:
        """Standard-normal quantile of ``cell_edge_probability``."""
        return float(ndtri(self.cell_edge_probability))


def _as_bands(raw: dict[str, dict[str, Any]]) -> dict[str, BandConfig]:
    return {k: BandConfig(**v) for k, v in raw.items()}


def _as_classes(raw: dict[str, dict[str, Any]]) -> dict[str, SiteClassConfig]:
    return {k: SiteClassConfig(**v) for k, v in raw.items()}


@dataclass(frozen=True)
class LinkBudget:
    """The resolved link budget of one site class on one band.

    Attributes
    ----------
    site_class, band
        Names.
    fc_ghz, scs_khz, n_rb, bandwidth_mhz
        Carrier.
    power_per_re_dbm
        Transmit power per resource element (dBm).
    gain_db
        ``P_RE + G_tx - L_feeder - L_pattern + G_UE - L_body``: RSRP plus the path
        loss, O2I loss and margin (dB).
    params
        The class parameters it was built from.
    """

    site_class: str
    band: str
    fc_ghz: float
    scs_khz: float
    n_rb: int
    bandwidth_mhz: float
    power_per_re_dbm: float
    gain_db: float
    params: SiteClassConfig

    @property
    def noise_per_re_dbm(self) -> float:
        """UE noise power in one subcarrier (dBm)."""
        return (
            THERMAL_NOISE_DBM_HZ
            + 10.0 * math.log10(self.scs_khz * 1e3)
            + self.params.noise_figure_db
        )


def link_budget(config: RadioConfig, site_class: str, band: str | None = None) -> LinkBudget:
    """Resolve the link budget of ``site_class`` on ``band``.

    Parameters
    ----------
    config
        Radio configuration.
    site_class
        Site class name (a key of ``config.classes``).
    band
        Band name; ``None`` uses ``config.default_band``.

    Raises
    ------
    ConfigError
        Unknown class or band, or a class that does not carry the band.
    """
    band = config.default_band if band is None else band
    if site_class not in config.classes:
        raise ConfigError(
            f"site class {site_class!r} has no link budget; known classes are "
            f"{sorted(config.classes)}; add it under coverage.radio.classes"
        )
    if band not in config.bands:
        raise ConfigError(
            f"band {band!r} is unknown; known bands are {sorted(config.bands)}; "
            "add it under coverage.radio.bands"
        )
    params = config.classes[site_class]
    if band not in params.bands:
        raise ConfigError(
            f"site class {site_class!r} has no link budget on band {band!r}; it carries "
            f"{list(params.bands)}; add {band!r} to coverage.radio.classes.{site_class}.bands"
        )
    carrier = config.bands[band]
    bw = carrier.bandwidth_mhz if params.bandwidth_mhz is None else params.bandwidth_mhz
    n_rb = max(1, int(carrier.n_rb * bw / carrier.bandwidth_mhz))
    p_re = params.tx_power_dbm - 10.0 * math.log10(12 * n_rb)
    gain = (
        p_re
        + params.antenna_gain_dbi
        - params.feeder_loss_db
        - params.pattern_loss_db
        + params.ue_gain_dbi
        - params.body_loss_db
    )
    return LinkBudget(
        site_class=site_class,
        band=band,
        fc_ghz=carrier.fc_ghz,
        scs_khz=float(carrier.scs_khz),
        n_rb=n_rb,
        bandwidth_mhz=bw,
        power_per_re_dbm=p_re,
        gain_db=gain,
        params=params,
    )


def _indoor_distance(config: RadioConfig, scenario: str) -> float:
    if config.indoor_distance_m is not None:
        return config.indoor_distance_m
    return 10.0 / 3.0 if scenario == "rma" else 25.0 / 3.0


@dataclass(frozen=True)
class PathTerms:
    """Loss terms of a set of pairs for both LOS states (dB, per pair).

    Attributes
    ----------
    pl_los, pl_nlos
        38.901 path loss if LOS / NLOS.
    sigma_los, sigma_nlos
        Shadow-fading standard deviation if LOS / NLOS.
    p_los
        38.901 LOS probability.
    o2i
        O2I loss of an indoor user (0 for outdoor pairs).
    sigma_o2i
        O2I standard deviation (0 for outdoor pairs).
    """

    pl_los: FloatArray
    pl_nlos: FloatArray
    sigma_los: FloatArray
    sigma_nlos: FloatArray
    p_los: FloatArray
    o2i: FloatArray
    sigma_o2i: FloatArray


def path_terms(
    config: RadioConfig,
    scenario: str,
    d2d_m: ArrayLike,
    *,
    fc_ghz: ArrayLike,
    h_bs_m: ArrayLike,
    h_ut_m: ArrayLike,
    indoor: ArrayLike = False,
    penetration_loss_db: ArrayLike = np.nan,
) -> PathTerms:
    """Compute every loss term of one scenario once, for both LOS states.

    Parameters
    ----------
    config
        Radio configuration (O2I model, RMa parameters).
    scenario
        ``"uma"``, ``"umi"`` or ``"rma"``.
    d2d_m
        Horizontal distances (metres).
    fc_ghz, h_bs_m, h_ut_m
        Frequency (GHz) and antenna heights (metres) per pair.
    indoor
        Pairs judged for an indoor user.
    penetration_loss_db
        Fixed O2I loss per pair; NaN uses TR 38.901 7.4.3.
    """
    d = np.asarray(d2d_m, dtype="float64")
    kw = {"fc_ghz": fc_ghz, "h_bs_m": h_bs_m, "h_ut_m": h_ut_m}
    rma = {
        "building_height_m": config.rma_building_height_m,
        "street_width_m": config.rma_street_width_m,
    }
    indoor_arr = np.asarray(indoor, dtype=bool)
    model = "low" if scenario == "rma" else config.o2i_model
    fixed = np.asarray(penetration_loss_db, dtype="float64")
    o2i = np.where(
        np.isnan(fixed),
        o2i_loss_db(fc_ghz, model=model, indoor_distance_m=_indoor_distance(config, scenario)),
        fixed,
    )
    return PathTerms(
        pl_los=path_loss_db(scenario, d, los=True, check=False, **kw, **rma),
        pl_nlos=path_loss_db(scenario, d, los=False, check=False, **kw, **rma),
        sigma_los=shadow_fading_std_db(scenario, d, los=True, **kw),
        sigma_nlos=shadow_fading_std_db(scenario, d, los=False, **kw),
        p_los=los_probability(scenario, d, h_ut_m=h_ut_m),
        o2i=np.where(indoor_arr, o2i, 0.0),
        sigma_o2i=np.where(indoor_arr, o2i_std_db(model), 0.0),
    )


def los_weight(config: RadioConfig, terms: PathTerms, los: ArrayLike | None = None) -> FloatArray:
    """Weight of the LOS terms per pair: the geometric decision when given,
    else ``config.los_mode`` applied to the LOS probability."""
    if los is not None:
        return np.broadcast_to(np.asarray(los, dtype="float64"), terms.p_los.shape)
    if config.los_mode == "nlos":
        return np.zeros_like(terms.p_los)
    if config.los_mode == "expected":
        return terms.p_los
    return (terms.p_los >= config.los_threshold).astype("float64")


def combine_rsrp(
    config: RadioConfig,
    terms: PathTerms,
    *,
    gain_db: ArrayLike,
    los_weight: ArrayLike,
    margin_db: ArrayLike = np.nan,
) -> FloatArray:
    """RSRP (dBm) from the loss terms: gain - PL - O2I - margin.

    Parameters
    ----------
    config
        Radio configuration (edge probability).
    terms
        Output of :func:`path_terms`.
    gain_db
        :attr:`LinkBudget.gain_db` per pair.
    los_weight
        1 for LOS, 0 for NLOS, between for the expected loss.
    margin_db
        Fixed shadow-fading margin per pair; NaN derives ``z * sigma``.
    """
    w = np.asarray(los_weight, dtype="float64")
    pl = w * terms.pl_los + (1.0 - w) * terms.pl_nlos
    sigma_sf = w * terms.sigma_los + (1.0 - w) * terms.sigma_nlos
    sigma = np.sqrt(sigma_sf**2 + terms.sigma_o2i**2)
    fixed = np.asarray(margin_db, dtype="float64")
    margin = np.where(np.isnan(fixed), config.edge_z * sigma, fixed)
    return np.asarray(gain_db, dtype="float64") - pl - terms.o2i - margin


def rsrp_dbm(
    config: RadioConfig,
    budget: LinkBudget,
    scenario: str,
    d2d_m: ArrayLike,
    *,
    h_bs_m: ArrayLike,
    los: ArrayLike | None = None,
    indoor: ArrayLike = False,
) -> FloatArray:
    """RSRP (dBm) of one link budget at the given distances.

    Parameters
    ----------
    config
        Radio configuration.
    budget
        Resolved link budget (:func:`link_budget`).
    scenario
        ``"uma"``, ``"umi"`` or ``"rma"``.
    d2d_m
        Horizontal distances (metres).
    h_bs_m
        Antenna height(s) (metres).
    los
        Geometric LOS; ``None`` applies ``config.los_mode``.
    indoor
        Judge for an indoor user.
    """
    terms = path_terms(
        config,
        scenario,
        d2d_m,
        fc_ghz=budget.fc_ghz,
        h_bs_m=h_bs_m,
        h_ut_m=budget.params.ue_height_m,
        indoor=indoor,
        penetration_loss_db=_fixed(budget.params.penetration_loss_db),
    )
    return combine_rsrp(
        config,
        terms,
        gain_db=budget.gain_db,
        los_weight=los_weight(config, terms, los),
        margin_db=_fixed(budget.params.shadow_fading_margin_db),
    )


def _fixed(value: float | None) -> float:
    return np.nan if value is None else float(value)


def max_range_m(
    config: RadioConfig,
    budget: LinkBudget,
    scenario: str,
    *,
    h_bs_m: ArrayLike,
    threshold_dbm: float,
    los: bool | None = None,
    indoor: bool = False,
) -> FloatArray:
    """Largest distance at which RSRP still meets ``threshold_dbm``.

    Evaluated on a fine logarithmic distance grid (10 m to the scenario's
    validity limit, capped by the class's ``max_range_m``) and rounded up to the
    next grid point, so no covered distance lies beyond the returned range.

    Parameters
    ----------
    config
        Radio configuration.
    budget
        Resolved link budget.
    scenario
        ``"uma"``, ``"umi"`` or ``"rma"``.
    h_bs_m
        Antenna heights (one range per height).
    threshold_dbm
        RSRP threshold.
    los
        True / False force the LOS state; ``None`` applies ``config.los_mode``.
    indoor
        Judge for an indoor user.

    Returns
    -------
    numpy.ndarray
        Range per height in metres; 0 where even 10 m fails.
    """
    h = np.atleast_1d(np.asarray(h_bs_m, dtype="float64"))
    limit = VALIDITY[scenario].d2d_max_m
    if budget.params.max_range_m is not None:
        limit = min(limit, budget.params.max_range_m)
    grid = np.geomspace(10.0, limit, _RANGE_GRID_POINTS)
    rsrp = rsrp_dbm(
        config,
        budget,
        scenario,
        grid[None, :],
        h_bs_m=h[:, None],
        los=None if los is None else np.full(grid.shape, los),
        indoor=indoor,
    )
    ok = rsrp >= threshold_dbm
    last = np.where(ok.any(axis=1), grid.size - 1 - np.argmax(ok[:, ::-1], axis=1), -1)
    return np.where(last < 0, 0.0, grid[np.minimum(last + 1, grid.size - 1)])
