"""Tests of the demand grid."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from siting.config import load_config
from siting.demand import DEMAND_COLUMNS, build_demand, zone_membership
from siting.layers import load_layers
from tests.conftest import X0, Y0


@pytest.fixture
def grid(case_config: Path):
    cfg = load_config(case_config)
    layers = load_layers(cfg)
    return build_demand(layers, cfg), layers, cfg


def test_contract_and_population_preserved(grid) -> None:
    g, layers, _ = grid
    cells = g.cells
    assert list(cells.columns) == [*DEMAND_COLUMNS, "geometry"]
    assert len(cells) == 900
    assert cells["cell_id"].is_unique and cells["cell_id"].is_monotonic_increasing
    assert cells["population"].sum() == pytest.approx(layers.buildings["population"].sum())
    assert (cells["weight"] >= cells["population"]).all()
    assert set(cells["town_id"]) == {"west", "east"}


def test_zone_levels(grid) -> None:
    g, _, cfg = grid
    cells = g.cells
    core = g.zone_cells["core"]
    road = g.zone_cells["road"]
    assert len(core) == 36  # 600 m x 600 m of 100 m cells
    assert (cells.loc[core, "service_level"] == "key").all()
    assert (cells.loc[road, "k"] == 2).all()
    assert (cells.loc[road, "service_level"] == "icv").all()
    other = np.setdiff1d(np.arange(len(cells)), np.concatenate([core, road]))
    assert (cells.loc[other, "service_level"] == "ordinary").all()
    key = cfg.demand.service_levels["key"]
    c = cells.loc[core[0]]
    assert c["weight"] == pytest.approx((c["population"] + cfg.demand.area_weight) * key.priority)


def test_line_zone_takes_every_crossed_cell() -> None:
    xy = np.array([[X0 + 50 + 100 * i, Y0 + 50] for i in range(10)], dtype=float)
    zones = gpd.GeoDataFrame(
        {"zone_id": ["r", "tiny"]},
        geometry=[
            shapely.LineString([(X0 + 120, Y0 + 50), (X0 + 480, Y0 + 50)]),
            shapely.box(X0 + 905, Y0 + 45, X0 + 910, Y0 + 50),
        ],
        crs="EPSG:32651",
    )
    members = zone_membership(zones, xy, cell_size_m=100)
    assert members["r"].tolist() == [1, 2, 3, 4]
    assert members["tiny"].tolist() == [9]  # smaller than a cell: the nearest cell
