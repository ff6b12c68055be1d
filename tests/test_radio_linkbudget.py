"""Link budgets, the radio configuration, RSRP and maximum range."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from siting._errors import ConfigError
from siting.radio.linkbudget import RadioConfig, link_budget, max_range_m, rsrp_dbm
from siting.radio.pathloss import los_probability, o2i_loss_db, path_loss_db

log10 = math.log10
Z90 = 1.2815515655446004  # standard normal quantile of 0.9


def test_macro_n78_budget_by_hand() -> None:
    b = link_budget(RadioConfig(), "macro_rooftop", "n78")
    # 53 dBm over 273 RB x 12 subcarriers
    assert b.power_per_re_dbm == pytest.approx(53 - 10 * log10(273 * 12))
    # P_RE + G_tx 24 - feeder 0.5 - pattern 3.4 + G_UE 0 - body 3
    assert b.gain_db == pytest.approx(53 - 10 * log10(3276) + 24 - 0.5 - 3.4 + 0 - 3)
    # -174 dBm/Hz + 10 log10(30 kHz) + NF 7 dB
    assert b.noise_per_re_dbm == pytest.approx(-174 + 10 * log10(30e3) + 7)


def test_n28_uses_its_own_carrier() -> None:
    b = link_budget(RadioConfig(), "macro_tower", "n28")
    assert (b.fc_ghz, b.n_rb, b.scs_khz) == (0.7, 160, 15.0)
    assert b.power_per_re_dbm == pytest.approx(53 - 10 * log10(160 * 12))


def test_default_band_used_when_none() -> None:
    assert link_budget(RadioConfig(default_band="n41"), "macro_tower").band == "n41"


def test_rsrp_outdoor_nlos_by_hand() -> None:
    cfg = RadioConfig()
    b = link_budget(cfg, "macro_tower", "n78")
    d3 = math.hypot(300, 35 - 1.5)
    pl = max(
        float(path_loss_db("uma", 300, fc_ghz=3.5, h_bs_m=35, h_ut_m=1.5, los=True)),
        13.54 + 39.08 * log10(d3) + 20 * log10(3.5),
    )
    got = rsrp_dbm(cfg, b, "uma", 300.0, h_bs_m=35.0, los=False)
    # RSRP = gain - PL - z(0.9) * sigma_SF(UMa NLOS = 6 dB)
    assert float(got) == pytest.approx(b.gain_db - pl - Z90 * 6.0, abs=1e-9)


def test_rsrp_indoor_adds_o2i_and_its_spread() -> None:
    cfg = RadioConfig()
    b = link_budget(cfg, "small_cell_lamp", "n78")
    pl = float(path_loss_db("umi", 80, fc_ghz=3.5, h_bs_m=10, h_ut_m=1.5, los=True))
    o2i = float(o2i_loss_db(3.5, model="low", indoor_distance_m=25 / 3))
    got = rsrp_dbm(cfg, b, "umi", 80.0, h_bs_m=10.0, los=True, indoor=True)
    # margin = z * sqrt(sigma_SF^2 + sigma_P^2) = z * sqrt(4^2 + 4.4^2)
    expected = b.gain_db - pl - o2i - Z90 * math.sqrt(4.0**2 + 4.4**2)
    assert float(got) == pytest.approx(expected, abs=1e-9)


def test_fixed_margin_and_penetration_override() -> None:
    cfg = RadioConfig.model_validate(
        {"classes": {"macro_tower": {"shadow_fading_margin_db": 8.0, "penetration_loss_db": 20.0}}}
    )
    b = link_budget(cfg, "macro_tower", "n78")
    pl = float(path_loss_db("uma", 300, fc_ghz=3.5, h_bs_m=35, h_ut_m=1.5, los=False))
    got = rsrp_dbm(cfg, b, "uma", 300.0, h_bs_m=35.0, los=False, indoor=True)
    assert float(got) == pytest.approx(b.gain_db - pl - 20.0 - 8.0)


@pytest.mark.parametrize("d", [30.0, 60.0, 150.0])
def test_los_modes(d: float) -> None:
    base = {"classes": {"small_cell_lamp": {"shadow_fading_margin_db": 0.0}}}
    cfgs = {
        m: RadioConfig.model_validate(base | {"los_mode": m})
        for m in ("threshold", "expected", "nlos")
    }
    b = link_budget(cfgs["nlos"], "small_cell_lamp", "n78")
    kw = {"fc_ghz": 3.5, "h_bs_m": 10.0, "h_ut_m": 1.5}
    los_pl = float(path_loss_db("umi", d, los=True, **kw))
    nlos_pl = float(path_loss_db("umi", d, los=False, **kw))
    p = float(los_probability("umi", d))
    got = {m: float(rsrp_dbm(c, b, "umi", d, h_bs_m=10.0)) for m, c in cfgs.items()}
    assert got["nlos"] == pytest.approx(b.gain_db - nlos_pl)
    # expected loss in dB: p PL_LOS + (1 - p) PL_NLOS
    assert got["expected"] == pytest.approx(b.gain_db - (p * los_pl + (1 - p) * nlos_pl))
    # threshold: LOS where p >= 0.5
    assert got["threshold"] == pytest.approx(b.gain_db - (los_pl if p >= 0.5 else nlos_pl))


def test_partial_override_keeps_other_defaults() -> None:
    cfg = RadioConfig.model_validate({"classes": {"macro_tower": {"tx_power_dbm": 50.0}}})
    assert cfg.classes["macro_tower"].tx_power_dbm == 50.0
    assert cfg.classes["macro_tower"].antenna_gain_dbi == 24.0
    assert cfg.classes["macro_rooftop"].tx_power_dbm == 53.0
    assert set(cfg.bands) == {"n78", "n41", "n79", "n28"}


def test_new_band_and_class() -> None:
    cfg = RadioConfig.model_validate(
        {
            "bands": {"n1": {"fc_ghz": 2.1, "bandwidth_mhz": 20, "scs_khz": 15, "n_rb": 106}},
            "classes": {"small_cell_lamp": {"bands": ["n78", "n1"]}},
        }
    )
    assert link_budget(cfg, "small_cell_lamp", "n1").fc_ghz == 2.1


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ({"los_mode": "maybe"}, "los_mode"),
        ({"o2i_model": "medium"}, "o2i_model"),
        ({"colour": "red"}, "colour"),
        ({"classes": {"macro_tower": {"tx_powr_dbm": 50}}}, "tx_powr_dbm"),
        ({"default_band": "n257"}, r"default_band 'n257' is not one of the bands"),
        ({"classes": {"macro_tower": {"bands": ["n78", "n99"]}}}, r"unknown band\(s\) \['n99'\]"),
        ({"bands": {"n78": {"n_rb": 300}}}, r"n_rb=300 at 30 kHz occupies 108 MHz"),
        ({"classes": {"macro_tower": {"scenarios": {"urban": "uma"}}}}, r"lacks environment"),
        ({"cell_edge_probability": 1.0}, "cell_edge_probability"),
    ],
)
def test_bad_config(raw: dict, match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        RadioConfig.model_validate(raw)


@pytest.mark.parametrize(
    ("site_class", "band", "match"),
    [
        ("small_cell_lamp", "n28", r"'small_cell_lamp' has no link budget on band 'n28'.*carries"),
        ("balloon", "n78", r"site class 'balloon' has no link budget; known classes are"),
        ("macro_tower", "n5", r"band 'n5' is unknown; known bands are"),
    ],
)
def test_no_link_budget(site_class: str, band: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        link_budget(RadioConfig(), site_class, band)


@pytest.mark.parametrize(
    ("site_class", "scenario", "los", "indoor"),
    [
        ("macro_tower", "uma", False, False),
        ("macro_tower", "uma", False, True),
        ("macro_rooftop", "rma", False, True),
        ("small_cell_lamp", "umi", False, False),
        ("small_cell_lamp", "umi", True, True),
        ("small_cell_lamp", "umi", None, False),
    ],
)
def test_max_range_is_tight(site_class: str, scenario: str, los: bool | None, indoor: bool) -> None:
    cfg = RadioConfig()
    b = link_budget(cfg, site_class, "n78")
    h = b.params.height_m
    r = float(
        max_range_m(cfg, b, scenario, h_bs_m=h, threshold_dbm=-110.0, los=los, indoor=indoor)[0]
    )
    assert 10.0 < r < b.params.max_range_m

    def rsrp(d: float) -> float:
        return float(rsrp_dbm(cfg, b, scenario, d, h_bs_m=h, los=los, indoor=indoor))

    assert rsrp(r / 1.011) >= -110.0  # one grid step inside: covered
    assert rsrp(r * 1.0001) < -110.0  # just beyond: not covered


def test_max_range_capped_by_class_limit() -> None:
    cfg = RadioConfig()
    b = link_budget(cfg, "macro_tower", "n78")
    # LOS at 3.5 GHz would carry a macro past 5 km; the class limit is 1 km
    assert float(max_range_m(cfg, b, "uma", h_bs_m=35.0, threshold_dbm=-110.0, los=True)[0]) == 1000
    cfg = RadioConfig.model_validate({"classes": {"macro_tower": {"max_range_m": None}}})
    b = link_budget(cfg, "macro_tower", "n78")
    assert float(max_range_m(cfg, b, "uma", h_bs_m=35.0, threshold_dbm=-110.0, los=True)[0]) == 5000


def test_max_range_zero_when_unreachable() -> None:
    cfg = RadioConfig()
    b = link_budget(cfg, "small_cell_lamp", "n78")
    assert float(max_range_m(cfg, b, "umi", h_bs_m=10.0, threshold_dbm=-20.0)[0]) == 0.0


@settings(max_examples=60, deadline=None)
@given(st.floats(-120.0, -80.0), st.floats(-10.0, 10.0))
def test_stricter_threshold_never_reaches_further(thr: float, delta: float) -> None:
    cfg = RadioConfig()
    b = link_budget(cfg, "macro_tower", "n78")
    heights = np.array([25.0, 35.0, 45.0])
    a = max_range_m(cfg, b, "uma", h_bs_m=heights, threshold_dbm=thr, los=False)
    c = max_range_m(cfg, b, "uma", h_bs_m=heights, threshold_dbm=thr + abs(delta), los=False)
    assert np.all(c <= a + 1e-9)
