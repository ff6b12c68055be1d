"""Build the generated layers the real Jiading run needs, from the shared reference data.

The real run (data/jiading_real.yaml) reads the district boundary, townships,
WorldPop tiles, telecom sites and OSM traffic signals straight from
``../shared/data``. Two layers have no real source and are generated here into
an output folder (never into the repository):

- ``key_zones``: the real OSM outline of the Tongji University Jiading campus,
  plus circles of the stated area around the landmarks of ``landmarks.csv``
  that have coordinates (F1 circuit, Guyi Garden, Tongji ICV test base).
  Landmarks without coordinates (Ruijin Hospital North, the ICV pilot roads,
  Huilongtan Park, ...) are left out rather than guessed.
- ``tower_land``: one synthetic parcel (the whole district, land use
  ``other``) standing for public-utility land, so that the planner may propose
  new towers on a grid where no asset exists. It is clearly labelled synthetic.

Usage::

    python scripts/build_real_layers.py OUT_DIR [--shared ../shared/data]

writes ``OUT_DIR/generated.gpkg`` (layers ``key_zones`` and ``tower_land``).
"""

from __future__ import annotations

import argparse
import math
import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

CRS = "EPSG:32651"
DEFAULT_SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"

#: Landmarks used as key zones: name_en -> (zone_id, kind, service level, min coverage,
#: area in m2 when the table's figure is not what the zone should cover).
ZONES = {
    "Shanghai International Circuit": ("f1_circuit", "venue", "key", 0.9, None),
    "Guyi Garden": ("guyi_garden", "scenic", "key", 0.9, None),
    "Tongji ICV test base - structured road zone": (
        "icv_test_base",
        "icv_test_zone",
        "key",
        0.9,
        0.25e6,
    ),
}


def _area_m2(text: str) -> float | None:
    """Parse '5.3 km2 ...' or '~10 ha' into square metres."""
    m = re.search(r"([\d.]+)\s*(km2|ha)", str(text))
    if not m:
        return None
    value = float(m.group(1))
    return value * (1e6 if m.group(2) == "km2" else 1e4)


def key_zones(shared: Path) -> gpd.GeoDataFrame:
    """Key zones from the campus outline and the landmarks with coordinates."""
    lm = pd.read_csv(shared / "jiading" / "landmarks.csv")
    rows = []
    for _, row in lm[lm["name_en"].isin(ZONES)].iterrows():
        zone_id, kind, level, min_cov, area = ZONES[row["name_en"]]
        area = area or _area_m2(row["approx_radius_m_or_area"])
        centre = gpd.GeoSeries([shapely.Point(row["lon"], row["lat"])], crs=4326).to_crs(CRS)
        rows.append(
            {
                "zone_id": zone_id,
                "name": row["name_zh"],
                "name_en": row["name_en"],
                "kind": kind,
                "service_level": level,
                "min_coverage": min_cov,
                "source": "circle of the stated area around landmarks.csv coordinates",
                "geometry": centre.iloc[0].buffer(math.sqrt(area / math.pi)),
            }
        )
    campus = gpd.read_file(shared / "jiading" / "osm_tongji_jiading_campus_boundary.geojson")
    rows.append(
        {
            "zone_id": "tongji_jiading",
            "name": "同济大学嘉定校区",
            "name_en": "Tongji University Jiading Campus",
            "kind": "campus",
            "service_level": "key",
            "min_coverage": 0.9,
            "source": "OpenStreetMap way 384531657 (ODbL)",
            "geometry": campus.to_crs(CRS).geometry.iloc[0],
        }
    )
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS)


def tower_land(shared: Path) -> gpd.GeoDataFrame:
    """One synthetic public-utility parcel over the whole district."""
    district = gpd.read_file(shared / "jiading" / "district_boundary.gpkg").to_crs(CRS)
    return gpd.GeoDataFrame(
        {"parcel_id": ["synthetic-tower-land"], "land_use": ["other"], "synthetic": [True]},
        geometry=[shapely.union_all(district.geometry.values)],
        crs=CRS,
    )


def build(out: Path, *, shared: Path = DEFAULT_SHARED) -> Path:
    """Write ``generated.gpkg`` into ``out`` and return its path."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / "generated.gpkg"
    tmp = out / ".generated.tmp.gpkg"
    tmp.unlink(missing_ok=True)
    key_zones(shared).to_file(tmp, layer="key_zones", driver="GPKG", engine="pyogrio")
    tower_land(shared).to_file(tmp, layer="tower_land", driver="GPKG", engine="pyogrio")
    tmp.replace(path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="output folder (outside the repository)")
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help="shared data folder")
    args = parser.parse_args()
    path = build(args.out, shared=args.shared)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
