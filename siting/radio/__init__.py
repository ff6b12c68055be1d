"""Radio coverage: link budgets, 3GPP TR 38.901 path loss, obstruction, RSRP maps.

Modules
-------
pathloss
    TR 38.901 path loss (UMa, UMi-Street Canyon, RMa; LOS and NLOS), LOS
    probability and O2I loss, vectorised.
linkbudget
    :class:`RadioConfig`, per class and band link budgets, RSRP and reach.
obstruction
    Building / terrain height grid and vectorised line of sight.
model
    :class:`RadioModel` (the coverage model) and the RSRP GeoTIFF writer.
"""

from siting.radio.linkbudget import (
    BandConfig,
    LinkBudget,
    RadioConfig,
    SiteClassConfig,
    link_budget,
    max_range_m,
    rsrp_dbm,
)
from siting.radio.model import RadioModel, best_server, write_rsrp_geotiff
from siting.radio.obstruction import HeightGrid, build_height_grid, line_of_sight
from siting.radio.pathloss import (
    SCENARIOS,
    VALIDITY,
    breakpoint_distance_m,
    free_space_loss_db,
    los_probability,
    o2i_loss_db,
    path_loss_db,
)

__all__ = [
    "SCENARIOS",
    "VALIDITY",
    "BandConfig",
    "HeightGrid",
    "LinkBudget",
    "RadioConfig",
    "RadioModel",
    "SiteClassConfig",
    "best_server",
    "breakpoint_distance_m",
    "build_height_grid",
    "free_space_loss_db",
    "line_of_sight",
    "link_budget",
    "los_probability",
    "max_range_m",
    "o2i_loss_db",
    "path_loss_db",
    "rsrp_dbm",
    "write_rsrp_geotiff",
]
