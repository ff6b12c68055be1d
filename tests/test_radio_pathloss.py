"""3GPP TR 38.901 path loss, LOS probability and O2I loss against hand computations.

Every expected value below is the formula of TR 38.901 V17 Table 7.4.1-1 (path
loss), Table 7.4.2-1 (LOS probability) or Tables 7.4.3-1/2 (O2I) written out
with plain arithmetic; ``log10`` is ``math.log10`` and ``d3D = hypot(d2D, hBS - hUT)``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from siting._errors import ConfigError
from siting.radio.pathloss import (
    VALIDITY,
    breakpoint_distance_m,
    free_space_loss_db,
    los_probability,
    o2i_loss_db,
    o2i_std_db,
    path_loss_db,
    shadow_fading_std_db,
)

log10 = math.log10


def pl(scenario: str, d: float, fc: float, hbs: float, hut: float, los: bool) -> float:
    return float(path_loss_db(scenario, d, fc_ghz=fc, h_bs_m=hbs, h_ut_m=hut, los=los))


# ---------------------------------------------------------------- breakpoints
def test_breakpoints_by_hand() -> None:
    # UMa/UMi note 1: d'BP = 4 (hBS - 1)(hUT - 1) fc[Hz] / 3e8
    assert breakpoint_distance_m("uma", fc_ghz=3.5, h_bs_m=25, h_ut_m=1.5) == pytest.approx(
        4 * 24 * 0.5 * 3.5e9 / 3e8
    )  # 560 m
    assert breakpoint_distance_m("umi", fc_ghz=3.5, h_bs_m=10, h_ut_m=1.5) == pytest.approx(
        4 * 9 * 0.5 * 3.5e9 / 3e8
    )  # 210 m
    # RMa note 5: dBP = 2 pi hBS hUT fc[Hz] / 3e8
    assert breakpoint_distance_m("rma", fc_ghz=3.5, h_bs_m=35, h_ut_m=1.5) == pytest.approx(
        2 * math.pi * 35 * 1.5 * 3.5e9 / 3e8
    )  # 3848.5 m


# ------------------------------------------------------------------------ UMa
# fc 3.5 GHz, hBS 25 m, hUT 1.5 m: d'BP = 560 m.
UMA_CASES = [
    # PL1 = 28.0 + 22 log10(d3D) + 20 log10(fc)
    (200.0, True, 28.0 + 22 * log10(math.hypot(200, 23.5)) + 20 * log10(3.5)),
    (559.0, True, 28.0 + 22 * log10(math.hypot(559, 23.5)) + 20 * log10(3.5)),
    # PL2 = 28.0 + 40 log10(d3D) + 20 log10(fc) - 9 log10(d'BP^2 + (hBS - hUT)^2)
    (
        561.0,
        True,
        28.0 + 40 * log10(math.hypot(561, 23.5)) + 20 * log10(3.5) - 9 * log10(560.0**2 + 23.5**2),
    ),
    (
        5000.0,
        True,
        28.0 + 40 * log10(math.hypot(5000, 23.5)) + 20 * log10(3.5) - 9 * log10(560.0**2 + 23.5**2),
    ),
    # NLOS: max(PL_LOS, 13.54 + 39.08 log10(d3D) + 20 log10(fc) - 0.6 (hUT - 1.5))
    (200.0, False, 13.54 + 39.08 * log10(math.hypot(200, 23.5)) + 20 * log10(3.5) - 0.0),
    (5000.0, False, 13.54 + 39.08 * log10(math.hypot(5000, 23.5)) + 20 * log10(3.5)),
    # 10 m, the lower edge: NLOS formula is below LOS there, so the max picks LOS
    (
        10.0,
        False,
        max(
            28.0 + 22 * log10(math.hypot(10, 23.5)) + 20 * log10(3.5),
            13.54 + 39.08 * log10(math.hypot(10, 23.5)) + 20 * log10(3.5),
        ),
    ),
]


@pytest.mark.parametrize(("d", "los", "expected"), UMA_CASES)
def test_uma_by_hand(d: float, los: bool, expected: float) -> None:
    assert pl("uma", d, 3.5, 25.0, 1.5, los) == pytest.approx(expected, abs=1e-9)


def test_uma_nlos_ut_height_term() -> None:
    # hUT = 11.5 m: d'BP = 4*24*10.5*3.5e9/3e8 = 11760 m, so LOS is PL1 at 300 m.
    d3 = math.hypot(300, 13.5)
    nlos = 13.54 + 39.08 * log10(d3) + 20 * log10(3.5) - 0.6 * (11.5 - 1.5)
    los = 28.0 + 22 * log10(d3) + 20 * log10(3.5)
    assert pl("uma", 300, 3.5, 25, 11.5, False) == pytest.approx(max(los, nlos), abs=1e-9)


# ------------------------------------------------------------------------ UMi
# fc 3.5 GHz, hBS 10 m, hUT 1.5 m: d'BP = 210 m.
UMI_CASES = [
    # PL1 = 32.4 + 21 log10(d3D) + 20 log10(fc)
    (100.0, True, 32.4 + 21 * log10(math.hypot(100, 8.5)) + 20 * log10(3.5)),
    (209.0, True, 32.4 + 21 * log10(math.hypot(209, 8.5)) + 20 * log10(3.5)),
    # PL2 = 32.4 + 40 log10(d3D) + 20 log10(fc) - 9.5 log10(d'BP^2 + (hBS - hUT)^2)
    (
        211.0,
        True,
        32.4 + 40 * log10(math.hypot(211, 8.5)) + 20 * log10(3.5) - 9.5 * log10(210.0**2 + 8.5**2),
    ),
    (
        1000.0,
        True,
        32.4 + 40 * log10(math.hypot(1000, 8.5)) + 20 * log10(3.5) - 9.5 * log10(210.0**2 + 8.5**2),
    ),
    # NLOS: max(PL_LOS, 35.3 log10(d3D) + 22.4 + 21.3 log10(fc) - 0.3 (hUT - 1.5))
    (100.0, False, 35.3 * log10(math.hypot(100, 8.5)) + 22.4 + 21.3 * log10(3.5)),
    (5000.0, False, 35.3 * log10(math.hypot(5000, 8.5)) + 22.4 + 21.3 * log10(3.5)),
]


@pytest.mark.parametrize(("d", "los", "expected"), UMI_CASES)
def test_umi_by_hand(d: float, los: bool, expected: float) -> None:
    assert pl("umi", d, 3.5, 10.0, 1.5, los) == pytest.approx(expected, abs=1e-9)


# ------------------------------------------------------------------------ RMa
# fc 3.5 GHz, hBS 35 m, hUT 1.5 m, h = 5 m, W = 20 m: dBP = 3848.45 m.
H, W = 5.0, 20.0
DBP_RMA = 2 * math.pi * 35 * 1.5 * 3.5e9 / 3e8


def rma_pl1(d3: float, fc: float = 3.5) -> float:
    # PL1 = 20 log10(40 pi d3D fc / 3) + min(0.03 h^1.72, 10) log10(d3D)
    #       - min(0.044 h^1.72, 14.77) + 0.002 log10(h) d3D
    return (
        20 * log10(40 * math.pi * d3 * fc / 3)
        + min(0.03 * H**1.72, 10) * log10(d3)
        - min(0.044 * H**1.72, 14.77)
        + 0.002 * log10(H) * d3
    )


def rma_nlos_prime(d3: float, fc: float = 3.5, hbs: float = 35.0, hut: float = 1.5) -> float:
    # PL' = 161.04 - 7.1 log10(W) + 7.5 log10(h) - (24.37 - 3.7 (h/hBS)^2) log10(hBS)
    #       + (43.42 - 3.1 log10(hBS)) (log10(d3D) - 3) + 20 log10(fc)
    #       - (3.2 (log10(11.75 hUT))^2 - 4.97)
    return (
        161.04
        - 7.1 * log10(W)
        + 7.5 * log10(H)
        - (24.37 - 3.7 * (H / hbs) ** 2) * log10(hbs)
        + (43.42 - 3.1 * log10(hbs)) * (log10(d3) - 3)
        + 20 * log10(fc)
        - (3.2 * log10(11.75 * hut) ** 2 - 4.97)
    )


RMA_CASES = [
    (100.0, True, rma_pl1(math.hypot(100, 33.5))),
    (1000.0, True, rma_pl1(math.hypot(1000, 33.5))),
    (3848.0, True, rma_pl1(math.hypot(3848, 33.5))),
    # PL2 = PL1(dBP) + 40 log10(d3D / dBP)
    (3849.0, True, rma_pl1(DBP_RMA) + 40 * log10(math.hypot(3849, 33.5) / DBP_RMA)),
    (10000.0, True, rma_pl1(DBP_RMA) + 40 * log10(math.hypot(10000, 33.5) / DBP_RMA)),
    # NLOS = max(PL_LOS, PL')
    (1000.0, False, max(rma_pl1(math.hypot(1000, 33.5)), rma_nlos_prime(math.hypot(1000, 33.5)))),
    (
        5000.0,
        False,
        max(
            rma_pl1(DBP_RMA) + 40 * log10(math.hypot(5000, 33.5) / DBP_RMA),
            rma_nlos_prime(math.hypot(5000, 33.5)),
        ),
    ),
]


@pytest.mark.parametrize(("d", "los", "expected"), RMA_CASES)
def test_rma_by_hand(d: float, los: bool, expected: float) -> None:
    assert pl("rma", d, 3.5, 35.0, 1.5, los) == pytest.approx(expected, abs=1e-9)


def test_rma_n28_by_hand() -> None:
    # 700 MHz, hBS 30 m: dBP = 2 pi 30 1.5 0.7e9 / 3e8 = 659.7 m, so 2 km is PL2.
    dbp = 2 * math.pi * 30 * 1.5 * 0.7e9 / 3e8
    d3 = math.hypot(2000, 28.5)
    los = rma_pl1(dbp, 0.7) + 40 * log10(d3 / dbp)
    assert pl("rma", 2000, 0.7, 30, 1.5, True) == pytest.approx(los, abs=1e-9)
    nlos = max(los, rma_nlos_prime(d3, 0.7, 30.0))
    assert pl("rma", 2000, 0.7, 30, 1.5, False) == pytest.approx(nlos, abs=1e-9)


# ------------------------------------------------------- continuity and edges
@pytest.mark.parametrize(("scenario", "hbs"), [("uma", 25.0), ("umi", 10.0)])
def test_los_continuous_at_breakpoint(scenario: str, hbs: float) -> None:
    dbp = float(breakpoint_distance_m(scenario, fc_ghz=3.5, h_bs_m=hbs, h_ut_m=1.5))
    below = pl(scenario, dbp - 1e-6, 3.5, hbs, 1.5, True)
    above = pl(scenario, dbp + 1e-6, 3.5, hbs, 1.5, True)
    assert above == pytest.approx(below, abs=1e-4)


@pytest.mark.parametrize("scenario", ["uma", "umi", "rma"])
def test_below_10_m_is_evaluated_at_10_m(scenario: str) -> None:
    hbs = {"uma": 25.0, "umi": 10.0, "rma": 35.0}[scenario]
    assert pl(scenario, 3.0, 3.5, hbs, 1.5, True) == pl(scenario, 10.0, 3.5, hbs, 1.5, True)


@pytest.mark.parametrize(
    ("scenario", "kwargs", "match"),
    [
        ("uma", {"fc_ghz": 0.4}, r"fc_ghz = 0.4 is outside the validity range 0.5-100"),
        ("umi", {"fc_ghz": 120.0}, r"fc_ghz = 120 .* 0.5-100 of 3GPP TR 38.901 UMI"),
        ("rma", {"fc_ghz": 31.0}, r"0.5-30 of 3GPP TR 38.901 RMA"),
        ("uma", {"h_ut_m": 1.0}, r"h_ut_m = 1 .* 1.5-22.5"),
        ("rma", {"h_ut_m": 12.0}, r"h_ut_m = 12 .* 1-10"),
        ("umi", {"h_bs_m": 40.0}, r"h_bs_m = 40 .* 3-25"),
        ("rma", {"h_bs_m": 200.0}, r"h_bs_m = 200 .* 10-150"),
        ("uma", {"d2d_m": 5001.0}, r"d2d_m = 5001 .* 0-5000 of 3GPP TR 38.901 UMA"),
        ("rma", {"d2d_m": 6000.0, "los": False}, r"0-5000 of 3GPP TR 38.901 RMA NLOS"),
    ],
)
def test_outside_validity_raises(scenario: str, kwargs: dict, match: str) -> None:
    args = {"d2d_m": 100.0, "fc_ghz": 3.5, "h_bs_m": 20.0, "h_ut_m": 1.5, "los": True} | kwargs
    with pytest.raises(ConfigError, match=match):
        path_loss_db(scenario, **args)


def test_rma_los_valid_to_10_km_but_not_beyond() -> None:
    assert np.isfinite(pl("rma", 10_000.0, 3.5, 35, 1.5, True))
    with pytest.raises(ConfigError, match=r"0-10000 of 3GPP TR 38.901 RMA LOS"):
        pl("rma", 10_001.0, 3.5, 35, 1.5, True)


@pytest.mark.parametrize(
    ("name", "value", "match"),
    [("building_height_m", 60.0, "building_height_m = 60"), ("street_width_m", 2.0, "street_w")],
)
def test_rma_environment_parameters_checked(name: str, value: float, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        path_loss_db("rma", 100.0, fc_ghz=3.5, h_bs_m=35, h_ut_m=1.5, los=False, **{name: value})


def test_unknown_scenario() -> None:
    with pytest.raises(ConfigError, match=r"unknown path-loss scenario 'umx'.*'uma', 'umi', 'rma'"):
        path_loss_db("umx", 100.0, fc_ghz=3.5, h_bs_m=25, h_ut_m=1.5, los=True)


# ---------------------------------------------------------------- free space
@pytest.mark.parametrize(
    ("scenario", "hbs", "tol_db"),
    # At 10-100 m: UMi PL1 - FSPL = log10(d3D) - 0.05; RMa's h terms are < 0.5 dB;
    # UMa PL1 - FSPL = 2 log10(d3D) - 4.45.
    [("umi", 10.0, 2.0), ("rma", 35.0, 0.5), ("uma", 25.0, 2.5)],
)
def test_free_space_agreement_at_short_range(scenario: str, hbs: float, tol_db: float) -> None:
    d = np.linspace(10.0, 60.0, 26)
    d3 = np.hypot(d, hbs - 1.5)
    got = path_loss_db(scenario, d, fc_ghz=3.5, h_bs_m=hbs, h_ut_m=1.5, los=True)
    # FSPL = 20 log10(4 pi d f / c) = 32.45 + 20 log10(d) + 20 log10(fc[GHz])
    fspl = 32.45 + 20 * np.log10(d3) + 20 * log10(3.5)
    np.testing.assert_allclose(free_space_loss_db(d3, 3.5), fspl, atol=0.01)
    assert np.abs(got - fspl).max() <= tol_db


# -------------------------------------------------------------- properties
def _heights(scenario: str) -> tuple[st.SearchStrategy[float], st.SearchStrategy[float]]:
    v = VALIDITY[scenario]
    return (st.floats(*v.h_bs_m), st.floats(max(v.h_ut_m[0], 1.5), min(v.h_ut_m[1], 10.0)))


@st.composite
def cases(draw: st.DrawFn) -> dict:
    scenario = draw(st.sampled_from(["uma", "umi", "rma"]))
    hbs, hut = _heights(scenario)
    v = VALIDITY[scenario]
    return {
        "scenario": scenario,
        "fc_ghz": draw(st.floats(v.fc_ghz[0], v.fc_ghz[1] / 1.01)),
        "h_bs_m": draw(hbs),
        "h_ut_m": draw(hut),
        "d2d_m": draw(st.floats(10.0, 4900.0)),
    }


@settings(max_examples=300, deadline=None)
@given(cases(), st.floats(1.0, 1.5), st.booleans())
def test_loss_grows_with_distance(case: dict, factor: float, los: bool) -> None:
    near = path_loss_db(los=los, **case)
    case = case | {"d2d_m": min(case["d2d_m"] * factor, 5000.0)}
    assert path_loss_db(los=los, **case) >= near - 1e-9


@settings(max_examples=300, deadline=None)
@given(cases(), st.floats(1.0, 2.0), st.booleans())
def test_loss_grows_with_frequency(case: dict, factor: float, los: bool) -> None:
    low = path_loss_db(los=los, **case)
    top = VALIDITY[case["scenario"]].fc_ghz[1]
    case = case | {"fc_ghz": min(case["fc_ghz"] * factor, top)}
    assert path_loss_db(los=los, **case) >= low - 1e-9


@settings(max_examples=300, deadline=None)
@given(cases())
def test_nlos_never_below_los(case: dict) -> None:
    assert path_loss_db(los=False, **case) >= path_loss_db(los=True, **case)


# ------------------------------------------------------- LOS probability
@pytest.mark.parametrize(
    ("scenario", "d", "hut", "expected"),
    [
        ("umi", 18.0, 1.5, 1.0),
        # UMi: 18/d + exp(-d/36) (1 - 18/d)
        ("umi", 36.0, 1.5, 18 / 36 + math.exp(-36 / 36) * (1 - 18 / 36)),
        ("umi", 200.0, 1.5, 18 / 200 + math.exp(-200 / 36) * (1 - 18 / 200)),
        # UMa, hUT <= 13 m: 18/d + exp(-d/63) (1 - 18/d)
        ("uma", 100.0, 1.5, 18 / 100 + math.exp(-100 / 63) * (1 - 18 / 100)),
        # UMa, hUT = 20 m: times 1 + C'(hUT) 5/4 (d/100)^3 exp(-d/150), C' = ((20-13)/10)^1.5
        (
            "uma",
            100.0,
            20.0,
            (18 / 100 + math.exp(-100 / 63) * (1 - 18 / 100))
            * (1 + ((20 - 13) / 10) ** 1.5 * 1.25 * 1.0 * math.exp(-100 / 150)),
        ),
        # RMa: exp(-(d - 10)/1000)
        ("rma", 10.0, 1.5, 1.0),
        ("rma", 510.0, 1.5, math.exp(-0.5)),
    ],
)
def test_los_probability_by_hand(scenario: str, d: float, hut: float, expected: float) -> None:
    assert float(los_probability(scenario, d, h_ut_m=hut)) == pytest.approx(expected, abs=1e-12)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["uma", "umi", "rma"]), st.floats(0.0, 5000.0), st.floats(1.0, 3.0))
def test_los_probability_is_a_decreasing_probability(scenario: str, d: float, k: float) -> None:
    p = float(los_probability(scenario, d))
    assert 0.0 <= p <= 1.0
    assert float(los_probability(scenario, d * k)) <= p + 1e-12


# ------------------------------------------------------- shadow fading, O2I
@pytest.mark.parametrize(
    ("scenario", "d", "los", "sigma"),
    [
        ("uma", 100, True, 4.0),
        ("uma", 100, False, 6.0),
        ("umi", 100, False, 7.82),
        ("rma", 1000, True, 4.0),
        ("rma", 4000, True, 6.0),
        ("rma", 1000, False, 8.0),
    ],
)
def test_shadow_fading_sigma(scenario: str, d: float, los: bool, sigma: float) -> None:
    got = shadow_fading_std_db(scenario, d, los=los, fc_ghz=3.5, h_bs_m=35.0, h_ut_m=1.5)
    assert float(got) == sigma


def test_o2i_by_hand() -> None:
    # Table 7.4.3-1 at 3.5 GHz: L_glass = 2 + 0.2*3.5, L_IRR = 23 + 0.3*3.5, L_concrete = 5 + 4*3.5
    lg, lirr, lc = 2 + 0.2 * 3.5, 23 + 0.3 * 3.5, 5 + 4 * 3.5
    low = 5 - 10 * log10(0.3 * 10 ** (-lg / 10) + 0.7 * 10 ** (-lc / 10)) + 0.5 * 25 / 3
    high = 5 - 10 * log10(0.7 * 10 ** (-lirr / 10) + 0.3 * 10 ** (-lc / 10)) + 0.5 * 10.0
    assert float(o2i_loss_db(3.5)) == pytest.approx(low, abs=1e-12)
    assert float(o2i_loss_db(3.5, model="high", indoor_distance_m=10.0)) == pytest.approx(high)
    assert (o2i_std_db("low"), o2i_std_db("high")) == (4.4, 6.5)


def test_o2i_unknown_model() -> None:
    with pytest.raises(ConfigError, match=r"unknown O2I model 'medium'; choose one of \('low'"):
        o2i_loss_db(3.5, model="medium")
