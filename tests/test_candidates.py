"""Tests of candidate generation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from siting._errors import ConfigError
from siting.candidates import CANDIDATE_COLUMNS, build_candidates, validate_candidates
from siting.config import load_config
from siting.layers import load_layers


@pytest.fixture
def layers_cfg(case_config: Path):
    cfg = load_config(case_config)
    return load_layers(cfg), cfg


def test_contract(layers_cfg) -> None:
    layers, cfg = layers_cfg
    cand = build_candidates(layers, cfg)
    assert validate_candidates(cand) == []
    assert list(cand.columns) == [*CANDIDATE_COLUMNS, "geometry"]
    assert cand["candidate_id"].is_monotonic_increasing
    assert set(cand["source"]) == {"pole", "rooftop", "existing"}
    # every pole becomes a candidate, with its class from its kind
    poles = cand[cand["source"] == "pole"]
    assert len(poles) == len(layers.poles)
    lamp = poles[poles["kind"] == "street_lamp"]
    assert (lamp["site_class"] == "small_cell_lamp").all()
    assert (lamp["cost"] == cfg.candidates.classes["small_cell_lamp"].cost).all()
    # existing sites are kept (fixed) by default
    assert cand.loc[cand["existing"], "fixed"].all()
    assert not cand.loc[~cand["existing"], "fixed"].any()
    assert set(cand["town_id"]) <= {"west", "east"}


def test_rooftops_filtered_and_thinned(layers_cfg) -> None:
    layers, cfg = layers_cfg
    cand = build_candidates(layers, cfg)
    roof = cand[cand["source"] == "rooftop"]
    b = layers.buildings.set_index("building_id")
    ids = roof["candidate_id"].str.removeprefix("R-")
    assert (b.loc[ids, "height_m"] >= cfg.candidates.rooftop_min_height_m).all()
    assert b.loc[ids, "use"].isin(cfg.candidates.rooftop_uses).all()
    xy = np.column_stack([roof.geometry.x, roof.geometry.y])
    d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    np.fill_diagonal(d, np.inf)
    assert d.min() >= cfg.candidates.rooftop_min_spacing_m / 2


def test_allowed_classes(layers_cfg) -> None:
    layers, cfg = layers_cfg
    cfg.candidates.allowed_classes = ["small_cell_lamp"]
    cand = build_candidates(layers, cfg)
    assert set(cand["site_class"]) == {"small_cell_lamp", "colocation"}


def test_no_candidates_is_an_error(layers_cfg) -> None:
    layers, cfg = layers_cfg
    cfg.candidates.allowed_classes = ["macro_tower"]
    cfg.candidates.existing = "ignore"
    with pytest.raises(ConfigError, match="no candidate sites left"):
        build_candidates(layers, cfg)
