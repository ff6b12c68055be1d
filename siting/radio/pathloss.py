"""3GPP TR 38.901 path loss, LOS probability and outdoor-to-indoor loss.

Every formula of TR 38.901 V17 Table 7.4.1-1 (path loss), Table 7.4.2-1 (LOS
probability) and clause 7.4.3 (O2I penetration loss) that the planner uses is
written once here, vectorised over numpy arrays. Units: distances and heights in
metres, frequency ``fc_ghz`` in GHz, losses in dB.

Scenarios
---------
``"uma"``
    Urban macro: 3GPP UMa.
``"umi"``
    Urban micro, street canyon: 3GPP UMi-Street Canyon.
``"rma"``
    Rural macro: 3GPP RMa.

Conventions (choices the standard leaves open)
----------------------------------------------
- ``d3D = sqrt(d2D**2 + (h_BS - h_UT)**2)``.
- The effective environment height of UMa and UMi is ``h_E = 1 m``. For UMa the
  standard draws ``h_E`` at random when ``h_UT >= 13 m``; this package keeps the
  deterministic 1 m (exact for every UE below 13 m, the usual 1.5 m UE included).
- RMa ``PL2 = PL1(d_BP) + 40 log10(d3D / d_BP)`` evaluates ``PL1`` at
  ``d3D = d_BP``, as the table writes it.
- Distances below the table's 10 m minimum are evaluated at 10 m (path loss
  grows with distance, so this is the smallest loss the model vouches for).
  Distances above the validity range raise :class:`~siting._errors.ConfigError`.
- Table 7.4.1-1 states calibrated base-station heights (UMa 25 m, UMi 10 m).
  The formulas depend on ``h_BS`` only through ``d3D`` and the breakpoint, so
  this package accepts UMa at 10-150 m (the RMa range) and UMi at 3-25 m
  (below-rooftop poles); see :data:`VALIDITY`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from siting._errors import ConfigError

__all__ = [
    "SCENARIOS",
    "VALIDITY",
    "Scenario",
    "Validity",
    "breakpoint_distance_m",
    "check_validity",
    "free_space_loss_db",
    "los_probability",
    "o2i_loss_db",
    "o2i_std_db",
    "path_loss_db",
    "shadow_fading_std_db",
]

Scenario = Literal["uma", "umi", "rma"]
SCENARIOS: tuple[str, ...] = ("uma", "umi", "rma")
O2I_MODELS: tuple[str, ...] = ("low", "high")

#: Speed of light used by TR 38.901 (m/s).
C_M_S = 3.0e8
#: Smallest 2D distance of Table 7.4.1-1 (metres).
D2D_MIN_M = 10.0
#: Effective environment height for UMa / UMi breakpoints (metres).
H_E_M = 1.0

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Validity:
    """Validity ranges of one scenario (closed intervals).

    Attributes
    ----------
    fc_ghz
        Carrier frequency range (GHz).
    h_bs_m
        Base-station antenna height range (metres).
    h_ut_m
        UE antenna height range (metres).
    d2d_los_m
        2D distance range of the LOS formula (metres).
    d2d_nlos_m
        2D distance range of the NLOS formula (metres).
    """

    fc_ghz: tuple[float, float]
    h_bs_m: tuple[float, float]
    h_ut_m: tuple[float, float]
    d2d_los_m: tuple[float, float]
    d2d_nlos_m: tuple[float, float]

    @property
    def d2d_max_m(self) -> float:
        """Largest distance at which both LOS and NLOS formulas hold."""
        return min(self.d2d_los_m[1], self.d2d_nlos_m[1])


#: Validity per scenario (Table 7.4.1-1; RMa frequency range per clause 7.4.1).
VALIDITY: dict[str, Validity] = {
    "uma": Validity((0.5, 100.0), (10.0, 150.0), (1.5, 22.5), (10.0, 5000.0), (10.0, 5000.0)),
    "umi": Validity((0.5, 100.0), (3.0, 25.0), (1.5, 22.5), (10.0, 5000.0), (10.0, 5000.0)),
    "rma": Validity((0.5, 30.0), (10.0, 150.0), (1.0, 10.0), (10.0, 10000.0), (10.0, 5000.0)),
}

#: Shadow-fading standard deviations of Table 7.4.1-1 (dB); RMa LOS: (PL1, PL2).
_SIGMA_SF = {
    "uma": {"los": 4.0, "nlos": 6.0},
    "umi": {"los": 4.0, "nlos": 7.82},
    "rma": {"los": (4.0, 6.0), "nlos": 8.0},
}


def _arr(x: ArrayLike) -> FloatArray:
    return np.asarray(x, dtype="float64")


def _scenario(scenario: str) -> str:
    key = str(scenario).lower()
    if key not in VALIDITY:
        raise ConfigError(f"unknown path-loss scenario {scenario!r}; choose one of {SCENARIOS}")
    return key


def _check_range(name: str, value: ArrayLike, bounds: tuple[float, float], where: str) -> None:
    v = _arr(value)
    if v.size == 0:
        return
    bad = ~((v >= bounds[0]) & (v <= bounds[1]))
    if bad.any():
        worst = v[bad].flat[0]
        raise ConfigError(
            f"{name} = {worst:g} is outside the validity range {bounds[0]:g}-{bounds[1]:g} "
            f"of {where} ({int(bad.sum())} value(s)); use a value inside that range"
        )


def check_validity(
    scenario: str,
    *,
    fc_ghz: ArrayLike,
    h_bs_m: ArrayLike,
    h_ut_m: ArrayLike,
    d2d_m: ArrayLike | None = None,
    los: bool | None = None,
) -> None:
    """Raise :class:`ConfigError` when an input is outside the scenario's validity.

    Parameters
    ----------
    scenario
        ``"uma"``, ``"umi"`` or ``"rma"``.
    fc_ghz, h_bs_m, h_ut_m
        Carrier frequency (GHz), base-station and UE heights (metres).
    d2d_m
        2D distances (metres); only the upper limit is checked (shorter
        distances are evaluated at 10 m).
    los
        Which formula's distance range applies; ``None`` checks the tighter one.
    """
    key = _scenario(scenario)
    v = VALIDITY[key]
    where = f"3GPP TR 38.901 {key.upper()}"
    _check_range("fc_ghz", fc_ghz, v.fc_ghz, where)
    _check_range("h_bs_m", h_bs_m, v.h_bs_m, where)
    _check_range("h_ut_m", h_ut_m, v.h_ut_m, where)
    if d2d_m is not None:
        upper = v.d2d_max_m if los is None else (v.d2d_los_m[1] if los else v.d2d_nlos_m[1])
        _check_range("d2d_m", d2d_m, (0.0, upper), f"{where} {_state(los)}")


def _state(los: bool | None) -> str:
    return "LOS/NLOS" if los is None else ("LOS" if los else "NLOS")


def free_space_loss_db(d3d_m: ArrayLike, fc_ghz: ArrayLike) -> FloatArray:
    """Free-space path loss ``20 log10(4 pi d fc / c)`` in dB (d in m, fc in GHz)."""
    return 20.0 * np.log10(4.0 * np.pi * _arr(d3d_m) * _arr(fc_ghz) * 1e9 / C_M_S)


def breakpoint_distance_m(
    scenario: str, *, fc_ghz: ArrayLike, h_bs_m: ArrayLike, h_ut_m: ArrayLike
) -> FloatArray:
    """Breakpoint distance of the LOS formula (Table 7.4.1-1, notes 1 and 5).

    UMa / UMi: ``d'_BP = 4 h'_BS h'_UT fc / c`` with ``h' = h - h_E``, ``h_E = 1 m``.
    RMa: ``d_BP = 2 pi h_BS h_UT fc / c``. ``fc`` in Hz inside the formula.
    """
    key = _scenario(scenario)
    f_hz = _arr(fc_ghz) * 1e9
    if key == "rma":
        return 2.0 * np.pi * _arr(h_bs_m) * _arr(h_ut_m) * f_hz / C_M_S
    return 4.0 * (_arr(h_bs_m) - H_E_M) * (_arr(h_ut_m) - H_E_M) * f_hz / C_M_S


def _d3d(d2d: FloatArray, h_bs: FloatArray, h_ut: FloatArray) -> FloatArray:
    return np.sqrt(d2d**2 + (h_bs - h_ut) ** 2)


def _uma_los(
    d2d: FloatArray, d3d: FloatArray, fc: FloatArray, h_bs: FloatArray, h_ut: FloatArray
) -> FloatArray:
    """UMa LOS: PL1 = 28.0 + 22 log10(d3D) + 20 log10(fc);
    PL2 = 28.0 + 40 log10(d3D) + 20 log10(fc) - 9 log10(d'BP^2 + (hBS - hUT)^2)."""
    dbp = breakpoint_distance_m("uma", fc_ghz=fc, h_bs_m=h_bs, h_ut_m=h_ut)
    pl1 = 28.0 + 22.0 * np.log10(d3d) + 20.0 * np.log10(fc)
    pl2 = (
        28.0
        + 40.0 * np.log10(d3d)
        + 20.0 * np.log10(fc)
        - 9.0 * np.log10(dbp**2 + (h_bs - h_ut) ** 2)
    )
    return np.where(d2d <= dbp, pl1, pl2)


def _uma_nlos(
    d2d: FloatArray, d3d: FloatArray, fc: FloatArray, h_bs: FloatArray, h_ut: FloatArray
) -> FloatArray:
    """UMa NLOS: max(PL_LOS, 13.54 + 39.08 log10(d3D) + 20 log10(fc) - 0.6 (hUT - 1.5))."""
    pl_nlos = 13.54 + 39.08 * np.log10(d3d) + 20.0 * np.log10(fc) - 0.6 * (h_ut - 1.5)
    return np.maximum(_uma_los(d2d, d3d, fc, h_bs, h_ut), pl_nlos)


def _umi_los(
    d2d: FloatArray, d3d: FloatArray, fc: FloatArray, h_bs: FloatArray, h_ut: FloatArray
) -> FloatArray:
    """UMi-Street Canyon LOS: PL1 = 32.4 + 21 log10(d3D) + 20 log10(fc);
    PL2 = 32.4 + 40 log10(d3D) + 20 log10(fc) - 9.5 log10(d'BP^2 + (hBS - hUT)^2)."""
    dbp = breakpoint_distance_m("umi", fc_ghz=fc, h_bs_m=h_bs, h_ut_m=h_ut)
    pl1 = 32.4 + 21.0 * np.log10(d3d) + 20.0 * np.log10(fc)
    pl2 = (
        32.4
        + 40.0 * np.log10(d3d)
        + 20.0 * np.log10(fc)
        - 9.5 * np.log10(dbp**2 + (h_bs - h_ut) ** 2)
    )
    return np.where(d2d <= dbp, pl1, pl2)


def _umi_nlos(
    d2d: FloatArray, d3d: FloatArray, fc: FloatArray, h_bs: FloatArray, h_ut: FloatArray
) -> FloatArray:
    """UMi NLOS: max(PL_LOS, 35.3 log10(d3D) + 22.4 + 21.3 log10(fc) - 0.3 (hUT - 1.5))."""
    pl_nlos = 35.3 * np.log10(d3d) + 22.4 + 21.3 * np.log10(fc) - 0.3 * (h_ut - 1.5)
    return np.maximum(_umi_los(d2d, d3d, fc, h_bs, h_ut), pl_nlos)


def _rma_pl1(d3d: FloatArray, fc: FloatArray, h: float) -> FloatArray:
    """RMa PL1 = 20 log10(40 pi d3D fc / 3) + min(0.03 h^1.72, 10) log10(d3D)
    - min(0.044 h^1.72, 14.77) + 0.002 log10(h) d3D."""
    return (
        20.0 * np.log10(40.0 * np.pi * d3d * fc / 3.0)
        + np.minimum(0.03 * h**1.72, 10.0) * np.log10(d3d)
        - np.minimum(0.044 * h**1.72, 14.77)
        + 0.002 * np.log10(h) * d3d
    )


def _rma_los(
    d2d: FloatArray, d3d: FloatArray, fc: FloatArray, h_bs: FloatArray, h_ut: FloatArray, h: float
) -> FloatArray:
    """RMa LOS: PL1 up to d_BP, then PL2 = PL1(d_BP) + 40 log10(d3D / d_BP)."""
    dbp = breakpoint_distance_m("rma", fc_ghz=fc, h_bs_m=h_bs, h_ut_m=h_ut)
    pl2 = _rma_pl1(dbp, fc, h) + 40.0 * np.log10(d3d / dbp)
    return np.where(d2d <= dbp, _rma_pl1(d3d, fc, h), pl2)


def _rma_nlos(
    d2d: FloatArray,
    d3d: FloatArray,
    fc: FloatArray,
    h_bs: FloatArray,
    h_ut: FloatArray,
    h: float,
    w: float,
) -> FloatArray:
    """RMa NLOS: max(PL_LOS, PL') with PL' = 161.04 - 7.1 log10(W) + 7.5 log10(h)
    - (24.37 - 3.7 (h/hBS)^2) log10(hBS) + (43.42 - 3.1 log10(hBS)) (log10(d3D) - 3)
    + 20 log10(fc) - (3.2 (log10(11.75 hUT))^2 - 4.97)."""
    pl_nlos = (
        161.04
        - 7.1 * np.log10(w)
        + 7.5 * np.log10(h)
        - (24.37 - 3.7 * (h / h_bs) ** 2) * np.log10(h_bs)
        + (43.42 - 3.1 * np.log10(h_bs)) * (np.log10(d3d) - 3.0)
        + 20.0 * np.log10(fc)
        - (3.2 * np.log10(11.75 * h_ut) ** 2 - 4.97)
    )
    return np.maximum(_rma_los(d2d, d3d, fc, h_bs, h_ut, h), pl_nlos)


def path_loss_db(
    scenario: str,
    d2d_m: ArrayLike,
    *,
    fc_ghz: ArrayLike,
    h_bs_m: ArrayLike,
    h_ut_m: ArrayLike,
    los: ArrayLike,
    building_height_m: float = 5.0,
    street_width_m: float = 20.0,
    check: bool = True,
) -> FloatArray:
    """Basic path loss of TR 38.901 Table 7.4.1-1, without shadow fading.

    Parameters
    ----------
    scenario
        ``"uma"``, ``"umi"`` or ``"rma"``.
    d2d_m
        2D (horizontal) distances in metres.
    fc_ghz
        Carrier frequency in GHz.
    h_bs_m, h_ut_m
        Base-station and UE antenna heights in metres.
    los
        True for line of sight (bool or bool array broadcast with ``d2d_m``).
    building_height_m, street_width_m
        RMa average building height ``h`` and street width ``W`` (5-50 m each).
    check
        Check the validity ranges first (the coverage model checks once per
        candidate and passes ``False``).

    Returns
    -------
    numpy.ndarray
        Path loss in dB, broadcast shape of the inputs.

    Raises
    ------
    ConfigError
        A frequency, height or distance outside the scenario's validity.

    Examples
    --------
    >>> round(float(path_loss_db("uma", 200.0, fc_ghz=3.5, h_bs_m=25.0,
    ...                          h_ut_m=1.5, los=True)), 2)
    89.57
    """
    key = _scenario(scenario)
    los_arr = np.asarray(los, dtype=bool)
    if check:
        check_validity(key, fc_ghz=fc_ghz, h_bs_m=h_bs_m, h_ut_m=h_ut_m)
        d = _arr(d2d_m)
        _check_range(
            "d2d_m",
            np.where(los_arr, d, 0.0),
            (0.0, VALIDITY[key].d2d_los_m[1]),
            f"3GPP TR 38.901 {key.upper()} LOS",
        )
        _check_range(
            "d2d_m",
            np.where(los_arr, 0.0, d),
            (0.0, VALIDITY[key].d2d_nlos_m[1]),
            f"3GPP TR 38.901 {key.upper()} NLOS",
        )
        if key == "rma":
            _check_range("building_height_m", building_height_m, (5.0, 50.0), "3GPP RMa")
            _check_range("street_width_m", street_width_m, (5.0, 50.0), "3GPP RMa")
    d2d, fc, h_bs, h_ut = np.broadcast_arrays(
        np.maximum(_arr(d2d_m), D2D_MIN_M), _arr(fc_ghz), _arr(h_bs_m), _arr(h_ut_m)
    )
    d3d = _d3d(d2d, h_bs, h_ut)
    if key == "uma":
        return np.where(
            los_arr, _uma_los(d2d, d3d, fc, h_bs, h_ut), _uma_nlos(d2d, d3d, fc, h_bs, h_ut)
        )
    if key == "umi":
        return np.where(
            los_arr, _umi_los(d2d, d3d, fc, h_bs, h_ut), _umi_nlos(d2d, d3d, fc, h_bs, h_ut)
        )
    h, w = float(building_height_m), float(street_width_m)
    return np.where(
        los_arr, _rma_los(d2d, d3d, fc, h_bs, h_ut, h), _rma_nlos(d2d, d3d, fc, h_bs, h_ut, h, w)
    )


def los_probability(scenario: str, d2d_m: ArrayLike, *, h_ut_m: ArrayLike = 1.5) -> FloatArray:
    """LOS probability of TR 38.901 Table 7.4.2-1 (outdoor distance ``d2d_m``).

    UMi-Street Canyon: 1 for d <= 18 m, else ``18/d + exp(-d/36) (1 - 18/d)``.
    UMa: 1 for d <= 18 m, else ``(18/d + exp(-d/63) (1 - 18/d))
    (1 + C'(hUT) 5/4 (d/100)^3 exp(-d/150))`` with ``C' = 0`` for hUT <= 13 m and
    ``((hUT - 13)/10)^1.5`` for 13 < hUT <= 23 m.
    RMa: 1 for d <= 10 m, else ``exp(-(d - 10)/1000)``.
    """
    key = _scenario(scenario)
    d = np.maximum(_arr(d2d_m), 1e-9)
    if key == "rma":
        return np.where(d <= 10.0, 1.0, np.exp(-(d - 10.0) / 1000.0))
    scale = 36.0 if key == "umi" else 63.0
    p = 18.0 / d + np.exp(-d / scale) * (1.0 - 18.0 / d)
    if key == "uma":
        h = _arr(h_ut_m)
        c = np.where(h <= 13.0, 0.0, (np.clip(h, 13.0, 23.0) - 13.0) / 10.0) ** 1.5
        p = p * (1.0 + c * 1.25 * (d / 100.0) ** 3 * np.exp(-d / 150.0))
    return np.where(d <= 18.0, 1.0, np.minimum(p, 1.0))


def shadow_fading_std_db(
    scenario: str,
    d2d_m: ArrayLike,
    *,
    los: ArrayLike,
    fc_ghz: ArrayLike = 3.5,
    h_bs_m: ArrayLike = 35.0,
    h_ut_m: ArrayLike = 1.5,
) -> FloatArray:
    """Shadow-fading standard deviation ``sigma_SF`` of Table 7.4.1-1 (dB).

    UMa 4 (LOS) / 6 (NLOS); UMi 4 / 7.82; RMa 4 before and 6 after the
    breakpoint (LOS), 8 (NLOS). Heights and frequency matter only for the RMa
    breakpoint.
    """
    key = _scenario(scenario)
    los_arr = np.asarray(los, dtype=bool)
    d = _arr(d2d_m)
    sig = _SIGMA_SF[key]
    if key == "rma":
        dbp = breakpoint_distance_m("rma", fc_ghz=fc_ghz, h_bs_m=h_bs_m, h_ut_m=h_ut_m)
        los_sigma = np.where(d <= dbp, sig["los"][0], sig["los"][1])  # type: ignore[index]
    else:
        los_sigma = np.full(d.shape, sig["los"])
    return np.where(los_arr, los_sigma, sig["nlos"]).astype("float64")


def _penetration_db(fc_ghz: FloatArray) -> dict[str, FloatArray]:
    """Material penetration losses of Table 7.4.3-1 (dB, fc in GHz)."""
    return {
        "glass": 2.0 + 0.2 * fc_ghz,
        "irr_glass": 23.0 + 0.3 * fc_ghz,
        "concrete": 5.0 + 4.0 * fc_ghz,
    }


def o2i_loss_db(
    fc_ghz: ArrayLike, *, model: str = "low", indoor_distance_m: ArrayLike = 25.0 / 3.0
) -> FloatArray:
    """Outdoor-to-indoor building penetration loss, TR 38.901 Table 7.4.3-2.

    ``PL_tw + PL_in`` without the random part:
    low loss ``PL_tw = 5 - 10 log10(0.3 * 10^(-L_glass/10) + 0.7 * 10^(-L_concrete/10))``,
    high loss ``PL_tw = 5 - 10 log10(0.7 * 10^(-L_IRRglass/10) + 0.3 * 10^(-L_concrete/10))``,
    ``PL_in = 0.5 d2D-in``.

    Parameters
    ----------
    fc_ghz
        Carrier frequency in GHz.
    model
        ``"low"`` or ``"high"`` (the standard applies only ``"low"`` to RMa).
    indoor_distance_m
        Indoor distance ``d2D-in``; the default 25/3 m is the mean of the
        standard's ``min(U(0, 25), U(0, 25))`` for UMa / UMi (RMa: 10/3 m).
    """
    if model not in O2I_MODELS:
        raise ConfigError(f"unknown O2I model {model!r}; choose one of {O2I_MODELS}")
    mat = _penetration_db(_arr(fc_ghz))
    if model == "low":
        mix = 0.3 * 10.0 ** (-mat["glass"] / 10.0) + 0.7 * 10.0 ** (-mat["concrete"] / 10.0)
    else:
        mix = 0.7 * 10.0 ** (-mat["irr_glass"] / 10.0) + 0.3 * 10.0 ** (-mat["concrete"] / 10.0)
    return 5.0 - 10.0 * np.log10(mix) + 0.5 * _arr(indoor_distance_m)


def o2i_std_db(model: str = "low") -> float:
    """Standard deviation ``sigma_P`` of the O2I loss: 4.4 dB (low), 6.5 dB (high)."""
    if model not in O2I_MODELS:
        raise ConfigError(f"unknown O2I model {model!r}; choose one of {O2I_MODELS}")
    return 4.4 if model == "low" else 6.5
