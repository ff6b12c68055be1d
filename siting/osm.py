"""OpenStreetMap in: .osm.pbf, .osm XML or a live download, mapped to siting layers.

Reading
-------
- ``.osm.pbf``: GDAL's OSM driver through pyogrio (``points`` and
  ``multipolygons`` layers; tags outside GDAL's default columns are parsed from
  ``other_tags``). Real OSM has broken rings: such features are read with
  ``on_invalid="ignore"`` and dropped with a count.
- ``.osm`` XML: :func:`osmnx.features_from_xml`.
- Live: :func:`download_osm` with osmnx for a place name or polygon when online
  (answers are cached in ``cache_folder``); offline it raises a
  :class:`~siting._errors.LayerError` saying so.

Tag mapping
-----------
Features are sent to layers by a table of rules
(:class:`siting.config.OSMTagRule`: ``layer``, ``key``, ``value``, ``kind``).
For each layer the first matching rule wins; a feature may go to several
layers (an ``amenity=school`` area is an education parcel and a school POI).
``value`` is ``"*"`` (any value but ``no``) or alternatives separated by ``|``.
Users put extra rules in a layer's ``osm_tags:`` in the config; they are
tried before the built-in table :data:`DEFAULT_TAG_RULES`:

==============  ==========================================================  ==================
layer           tags                                                        kind
==============  ==========================================================  ==================
buildings       building=apartments|residential|house|detached|...          residential
buildings       building=commercial|retail|office|hotel|supermarket        commercial
buildings       building=industrial|warehouse|factory|manufacture          industrial
buildings       building=school|university|college|kindergarten            education
buildings       building=hospital|clinic                                   health
buildings       building=public|civic|government|train_station|...         public
buildings       building=*                                                  other
parcels         landuse=residential / commercial|retail / industrial        same
parcels         landuse=farmland|farmyard|orchard|meadow|...                agricultural
parcels         landuse=forest|grass|recreation_ground|village_green       park
parcels         leisure=park|garden|nature_reserve|pitch|playground|...    park
parcels         amenity=school|university|college|kindergarten|childcare   education
parcels         amenity=hospital|clinic                                    health
parcels         amenity=parking, landuse=railway|garages                   transport
parcels         natural=water, landuse=basin|reservoir                     water
parcels         landuse=*                                                   other
poles           highway=street_lamp                                         street_lamp
poles           power=pole|tower                                            utility
poles           highway=traffic_signals                                     traffic_signal
poles           man_made=surveillance                                       cctv
poles           highway=bus_stop                                            other
existing_sites  man_made=mast|communications_tower, tower:type=communication
pois            amenity=school|kindergarten|college|university              school
pois            amenity=hospital|clinic                                     hospital
pois            leisure=park|garden                                         park
pois            tourism=attraction|theme_park|zoo                           scenic
pois            leisure=stadium|sports_centre, highway=raceway               venue
==============  ==========================================================  ==================

Building heights come from ``height`` (metres; ``ft`` and ``'`` are converted),
else ``building:levels`` x ``metres_per_level``; ``min_height`` is kept.

Layers written (EPSG:4326)
--------------------------
buildings (``building_id``, ``use``, ``height_m``, ``levels``, ``min_height_m``,
``name``), parcels (``parcel_id``, ``land_use``, ``name``), poles (``pole_id``,
``kind``, ``owner``, ``height_m``, ``name``), existing_sites (``site_id``,
``operator``, ``height_m``, ``name``), pois (``poi_id``, ``kind``, ``name``;
points or polygons). Every layer also has ``osm_tag`` (the matching
``key=value``). IDs are ``n<id>``, ``w<id>``, ``r<id>`` for nodes, ways and
relations.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import tempfile
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from siting._errors import LayerError, OutputError
from siting.config import OSM_LAYERS, LayerSource, OSMTagRule

__all__ = [
    "DEFAULT_TAG_RULES",
    "OSMLayers",
    "clip_layers",
    "download_osm",
    "map_features",
    "read_osm",
    "read_osm_features",
    "read_osm_layer",
    "write_osm_layers",
]

log = logging.getLogger(__name__)


def _rules(layer: str, rows: Iterable[tuple[str, str, str | None]]) -> list[OSMTagRule]:
    return [OSMTagRule(layer=layer, key=k, value=v, kind=kind) for k, v, kind in rows]


#: The built-in tag-mapping table (see the module docstring).
DEFAULT_TAG_RULES: tuple[OSMTagRule, ...] = (
    *_rules(
        "buildings",
        [
            (
                "building",
                "apartments|residential|house|detached|terrace|dormitory|semidetached_house",
                "residential",
            ),
            ("building", "commercial|retail|office|hotel|supermarket", "commercial"),
            ("building", "industrial|warehouse|factory|manufacture", "industrial"),
            ("building", "school|university|college|kindergarten", "education"),
            ("building", "hospital|clinic", "health"),
            (
                "building",
                "public|civic|government|train_station|transportation|fire_station",
                "public",
            ),
            ("building", "*", "other"),
        ],
    ),
    *_rules(
        "parcels",
        [
            ("landuse", "residential", "residential"),
            ("landuse", "commercial|retail", "commercial"),
            ("landuse", "industrial", "industrial"),
            (
                "landuse",
                "farmland|farmyard|orchard|meadow|vineyard|greenhouse_horticulture|aquaculture",
                "agricultural",
            ),
            ("landuse", "forest|grass|recreation_ground|village_green", "park"),
            ("landuse", "education", "education"),
            ("landuse", "railway|garages", "transport"),
            ("landuse", "basin|reservoir", "water"),
            (
                "leisure",
                "park|garden|nature_reserve|pitch|playground|dog_park|sports_centre|stadium",
                "park",
            ),
            ("amenity", "school|university|college|kindergarten|childcare", "education"),
            ("amenity", "hospital|clinic", "health"),
            ("amenity", "parking", "transport"),
            ("natural", "water", "water"),
            ("landuse", "*", "other"),
        ],
    ),
    *_rules(
        "poles",
        [
            ("highway", "street_lamp", "street_lamp"),
            ("power", "pole|tower", "utility"),
            ("highway", "traffic_signals", "traffic_signal"),
            ("man_made", "surveillance", "cctv"),
            ("highway", "bus_stop", "other"),
        ],
    ),
    *_rules(
        "existing_sites",
        [
            ("man_made", "mast|communications_tower", None),
            ("tower:type", "communication", None),
        ],
    ),
    *_rules(
        "pois",
        [
            ("amenity", "school|kindergarten|college|university", "school"),
            ("amenity", "hospital|clinic", "hospital"),
            ("leisure", "park|garden", "park"),
            ("tourism", "attraction|theme_park|zoo", "scenic"),
            ("leisure", "stadium|sports_centre", "venue"),
            ("highway", "raceway", "venue"),
        ],
    ),
)

#: Tags read besides those named by the rules.
EXTRA_KEYS: tuple[str, ...] = ("name", "height", "building:levels", "min_height", "operator")
_ID_COLUMNS = {
    "buildings": "building_id",
    "parcels": "parcel_id",
    "poles": "pole_id",
    "existing_sites": "site_id",
    "pois": "poi_id",
}
_POLYGONAL = ("Polygon", "MultiPolygon")
_NUMBER = re.compile(r"^\s*([-+]?\d+(?:[.,]\d+)?)\s*(m|meters?|metres?|ft|feet|')?\s*$")

#: Reasons features are dropped, as reported.
DROP_BROKEN = "broken geometry (invalid rings)"
DROP_UNMAPPED = "no tag in the mapping table"
DROP_OUTSIDE = "outside the area"
DROP_GEOMETRY = "wrong geometry type for the layer"
DROP_RELATIONS = "relations other than multipolygons"
DROP_DUPLICATE = "duplicate OSM ids"


@dataclass
class OSMLayers:
    """OSM features mapped to siting layers.

    Attributes
    ----------
    layers
        Layer name -> GeoDataFrame in EPSG:4326 (see the module docstring).
    dropped
        Reason -> number of features left out.
    n_read
        Features read from the source.
    """

    layers: dict[str, gpd.GeoDataFrame]
    dropped: dict[str, int] = field(default_factory=dict)
    n_read: int = 0

    def counts(self) -> dict[str, int]:
        """Features per layer."""
        return {name: len(gdf) for name, gdf in self.layers.items()}

    def summary(self) -> str:
        """Counts per layer and of what was dropped, one line each."""
        lines = [f"{self.n_read} OSM feature(s) read"]
        lines += [f"  {name}: {n}" for name, n in self.counts().items()]
        dropped = {k: v for k, v in self.dropped.items() if v}
        if dropped:
            lines.append("dropped:")
            lines += [f"  {reason}: {n}" for reason, n in dropped.items()]
        return "\n".join(lines)


def _rule_keys(rules: Sequence[OSMTagRule]) -> list[str]:
    keys = dict.fromkeys([r.key for r in rules] + list(EXTRA_KEYS))
    return list(keys)


def _hstore(other: pd.Series, key: str) -> pd.Series:
    """Extract one key from GDAL's ``other_tags`` hstore strings."""
    pattern = '"' + re.escape(key) + r'"=>"((?:[^"\\]|\\.)*)"'
    return other.astype("string").str.extract(pattern, expand=False)


def _pbf_layer(path: Path, layer: str, keys: list[str]) -> tuple[gpd.GeoDataFrame, int]:
    """Read one layer of the GDAL OSM driver; return it and its broken-geometry count."""
    import pyogrio

    df = pyogrio.read_dataframe(path, layer=layer, on_invalid="ignore")
    broken = df.geometry.isna().to_numpy()
    df = df[~broken]
    other = df["other_tags"] if "other_tags" in df.columns else pd.Series(pd.NA, index=df.index)
    tags = pd.DataFrame(index=df.index)
    for key in keys:
        tags[key] = df[key] if key in df.columns else _hstore(other, key)
    if layer == "points":
        ids = "n" + df["osm_id"].astype(str)
    else:
        way = df["osm_way_id"]
        ids = np.where(way.notna(), "w" + way.astype(str), "r" + df["osm_id"].astype(str))
    tags.insert(0, "osm_id", np.asarray(ids, dtype=object))
    return gpd.GeoDataFrame(tags, geometry=df.geometry.values, crs="EPSG:4326"), int(broken.sum())


def _read_pbf(path: Path, keys: list[str]) -> tuple[gpd.GeoDataFrame, dict[str, int]]:
    """Read points and (multi)polygons of a PBF."""
    import pyogrio
    from pyogrio.errors import DataLayerError, DataSourceError

    try:
        available = {str(n) for n, _ in pyogrio.list_layers(path)}
        if not {"points", "multipolygons"} <= available:
            raise LayerError(
                f"{path} is not an OSM file GDAL's OSM driver reads (layers {sorted(available)})"
            )
        points, broken_p = _pbf_layer(path, "points", keys)
        polys, broken_m = _pbf_layer(path, "multipolygons", keys)
        relations = pyogrio.read_dataframe(path, layer="other_relations", read_geometry=False)
    except (DataSourceError, DataLayerError) as exc:
        raise LayerError(
            f"cannot read OSM file {path}: {exc}; the file is corrupt, truncated or not "
            "OSM PBF (re-download the extract)"
        ) from exc
    features = pd.concat([points, polys], ignore_index=True)
    dropped = {DROP_BROKEN: broken_p + broken_m, DROP_RELATIONS: len(relations)}
    return gpd.GeoDataFrame(features, geometry="geometry", crs="EPSG:4326"), dropped


def _tag_frame(gdf: gpd.GeoDataFrame, keys: list[str]) -> gpd.GeoDataFrame:
    """Normalise an osmnx features frame to ``osm_id`` + tag columns."""
    idx = gdf.index
    if isinstance(idx, pd.MultiIndex):
        element = idx.get_level_values(0).astype(str).str[0]
        ids = element + idx.get_level_values(1).astype(str)
    else:
        ids = pd.Index(idx.astype(str))
    tags = pd.DataFrame({"osm_id": np.asarray(ids, dtype=object)})
    for key in keys:
        tags[key] = gdf[key].to_numpy() if key in gdf.columns else pd.NA
    return gpd.GeoDataFrame(tags, geometry=gdf.geometry.to_numpy(), crs="EPSG:4326")


def _read_xml(path: Path, keys: list[str]) -> tuple[gpd.GeoDataFrame, dict[str, int]]:
    """Read an .osm XML file with osmnx."""
    import xml.etree.ElementTree as ET

    import osmnx as ox
    from osmnx._errors import InsufficientResponseError

    try:
        gdf = ox.features_from_xml(path)
    except ET.ParseError as exc:
        raise LayerError(
            f"cannot read OSM XML {path}: {exc}; the file is corrupt or truncated"
        ) from exc
    except InsufficientResponseError as exc:
        raise LayerError(f"OSM XML {path} holds no tagged features ({exc})") from exc
    gdf = gdf.to_crs("EPSG:4326") if gdf.crs is not None else gdf.set_crs("EPSG:4326")
    empty = gdf.geometry.isna() | gdf.geometry.is_empty
    return _tag_frame(gdf[~empty], keys), {DROP_BROKEN: int(empty.sum())}


def read_osm_features(
    path: str | Path, *, rules: Sequence[OSMTagRule] = DEFAULT_TAG_RULES
) -> tuple[gpd.GeoDataFrame, dict[str, int]]:
    """Read the tagged features of an OSM file.

    Parameters
    ----------
    path
        ``.osm.pbf`` or ``.osm`` XML.
    rules
        Tag rules whose keys are read.

    Returns
    -------
    tuple of (geopandas.GeoDataFrame, dict)
        ``osm_id`` plus one column per tag key, EPSG:4326; and the features
        dropped while reading, by reason.

    Raises
    ------
    LayerError
        If the file is missing, of another format, corrupt or truncated.
    """
    path = Path(path)
    if not path.is_file():
        raise LayerError(f"OSM file {path} does not exist; check the path")
    keys = _rule_keys(rules)
    name = path.name.lower()
    if name.endswith(".pbf"):
        return _read_pbf(path, keys)
    if name.endswith(".osm") or name.endswith(".xml"):
        return _read_xml(path, keys)
    raise LayerError(f"{path} is not an OSM file; give a .osm.pbf or .osm (XML) file")


def _match(values: pd.Series, value: str) -> np.ndarray:
    """Rows whose tag matches a rule value (``*`` or ``a|b|c``)."""
    s = values.astype("string")
    if value == "*":
        return (s.notna() & (s != "no")).to_numpy(dtype=bool)
    return s.isin(value.split("|")).fillna(False).to_numpy(dtype=bool)


def _parse_metres(values: pd.Series) -> np.ndarray:
    """Parse OSM lengths ("12", "12.5 m", "40 ft", "40'") to metres (NaN if not)."""
    parts = values.astype("string").str.extract(_NUMBER)
    number = pd.to_numeric(parts[0].str.replace(",", ".", regex=False), errors="coerce")
    feet = parts[1].isin(["ft", "feet", "'"]).fillna(False).to_numpy(dtype=bool)
    out = number.to_numpy(dtype=float, na_value=np.nan)
    return np.where(feet, out * 0.3048, out)


def _assign(
    features: gpd.GeoDataFrame, rules: Sequence[OSMTagRule], layer: str
) -> tuple[np.ndarray, np.ndarray]:
    """First matching rule per feature for one layer: kinds and ``key=value`` labels."""
    n = len(features)
    kind = np.full(n, None, dtype=object)
    label = np.full(n, None, dtype=object)
    for rule in rules:
        if rule.layer != layer or rule.key not in features.columns:
            continue
        hit = _match(features[rule.key], rule.value) & (kind == None)  # noqa: E711
        if not hit.any():
            continue
        values = features[rule.key].astype("string").to_numpy(dtype=object, na_value=None)
        kind[hit] = rule.kind if rule.kind is not None else values[hit]
        label[hit] = rule.key + "=" + values[hit].astype(str)
    return kind, label


def _text(features: gpd.GeoDataFrame, key: str) -> np.ndarray:
    col = features[key] if key in features.columns else pd.Series(pd.NA, index=features.index)
    return col.astype("string").fillna("").to_numpy(dtype=object)


def _layer_frame(
    features: gpd.GeoDataFrame,
    layer: str,
    hit: np.ndarray,
    kind: np.ndarray,
    label: np.ndarray,
    *,
    metres_per_level: float,
) -> gpd.GeoDataFrame:
    """Build one output layer from the features assigned to it."""
    f = features[hit]
    cols: dict[str, Any] = {_ID_COLUMNS[layer]: f["osm_id"].to_numpy(dtype=object)}
    height = _parse_metres(f["height"]) if "height" in f.columns else np.full(len(f), np.nan)
    if layer == "buildings":
        levels = _parse_metres(f["building:levels"])
        cols["use"] = kind[hit]
        cols["height_m"] = np.where(np.isfinite(height), height, levels * metres_per_level)
        cols["levels"] = levels
        cols["min_height_m"] = _parse_metres(f["min_height"])
    elif layer == "parcels":
        cols["land_use"] = kind[hit]
    elif layer == "poles":
        cols["kind"] = kind[hit]
        cols["owner"] = _text(f, "operator")
        cols["height_m"] = height
    elif layer == "existing_sites":
        cols["operator"] = _text(f, "operator")
        cols["height_m"] = height
    else:
        cols["kind"] = kind[hit]
    cols["name"] = _text(f, "name")
    cols["osm_tag"] = label[hit]
    geoms = f.geometry.to_numpy()
    if layer in ("poles", "existing_sites"):
        geoms = shapely.point_on_surface(geoms)
    return gpd.GeoDataFrame(cols, geometry=geoms, crs="EPSG:4326")


def map_features(
    features: gpd.GeoDataFrame,
    *,
    rules: Sequence[OSMTagRule] = DEFAULT_TAG_RULES,
    area: gpd.GeoDataFrame | None = None,
    metres_per_level: float = 3.0,
    dropped: dict[str, int] | None = None,
) -> OSMLayers:
    """Send OSM features to siting layers with a tag-mapping table.

    Parameters
    ----------
    features
        ``osm_id`` plus tag columns, EPSG:4326 (see :func:`read_osm_features`).
    rules
        The tag-mapping table, first match wins per layer.
    area
        Keep only features intersecting this polygon layer (any CRS).
    metres_per_level
        Storey height for buildings with levels but no height.
    dropped
        Counts already dropped while reading (added to).

    Returns
    -------
    OSMLayers
        The layers and the counts of what was dropped.
    """
    dropped = dict(dropped or {})
    n_read = len(features) + sum(dropped.values())
    dup = features["osm_id"].duplicated().to_numpy()
    dropped[DROP_DUPLICATE] = int(dup.sum())
    features = features[~dup]
    if area is not None:
        if area.crs is None:
            raise LayerError("the area polygon has no CRS; set one (e.g. EPSG:4326)")
        poly = shapely.union_all(area.to_crs("EPSG:4326").geometry.values)
        inside = shapely.intersects(features.geometry.values, poly)
        dropped[DROP_OUTSIDE] = int((~inside).sum())
        features = features[inside]
    polygonal = np.isin(features.geom_type.to_numpy(), _POLYGONAL)
    used = np.zeros(len(features), dtype=bool)
    wrong = np.zeros(len(features), dtype=bool)
    layers: dict[str, gpd.GeoDataFrame] = {}
    for layer in OSM_LAYERS:
        kind, label = _assign(features, rules, layer)
        hit = kind != None  # noqa: E711
        if layer in ("buildings", "parcels"):
            wrong |= hit & ~polygonal
            hit &= polygonal
        used |= hit
        layers[layer] = _layer_frame(
            features, layer, hit, kind, label, metres_per_level=metres_per_level
        )
    dropped[DROP_GEOMETRY] = int((wrong & ~used).sum())
    dropped[DROP_UNMAPPED] = int((~used & ~wrong).sum())
    return OSMLayers(layers=layers, dropped=dropped, n_read=n_read)


def read_osm(
    path: str | Path,
    *,
    rules: Sequence[OSMTagRule] = DEFAULT_TAG_RULES,
    area: gpd.GeoDataFrame | None = None,
    metres_per_level: float = 3.0,
) -> OSMLayers:
    """Read an OSM file and map it to siting layers.

    Parameters
    ----------
    path
        ``.osm.pbf`` or ``.osm`` XML file.
    rules
        The tag-mapping table (user rules first, then :data:`DEFAULT_TAG_RULES`).
    area
        Keep only features intersecting this polygon layer.
    metres_per_level
        Storey height for buildings with levels but no height.

    Returns
    -------
    OSMLayers
        The layers and what was dropped, with counts.
    """
    features, dropped = read_osm_features(path, rules=rules)
    result = map_features(
        features, rules=rules, area=area, metres_per_level=metres_per_level, dropped=dropped
    )
    log.info("OSM %s: %s", path, result.counts())
    return result


def download_osm(
    *,
    place: str | None = None,
    polygon: shapely.Geometry | None = None,
    rules: Sequence[OSMTagRule] = DEFAULT_TAG_RULES,
    cache_folder: str | Path | None = None,
    timeout_s: float = 60.0,
    metres_per_level: float = 3.0,
) -> OSMLayers:
    """Download OSM features for a place name or a polygon (osmnx, cached).

    Parameters
    ----------
    place
        A place name Nominatim knows, e.g. ``"Jiading District, Shanghai"``.
    polygon
        Or a lon/lat (EPSG:4326) polygon.
    rules
        The tag-mapping table; only its keys are requested.
    cache_folder
        Folder where osmnx caches answers (default osmnx's ``./cache``).
    timeout_s
        Network timeout per request.
    metres_per_level
        Storey height for buildings with levels but no height.

    Returns
    -------
    OSMLayers
        The mapped layers.

    Raises
    ------
    LayerError
        When neither or both of place/polygon are given, or the download fails
        (e.g. offline), saying what to do instead.
    """
    import osmnx as ox
    import requests
    from osmnx._errors import InsufficientResponseError

    if (place is None) == (polygon is None):
        raise LayerError("download_osm needs exactly one of `place` or `polygon`")
    tags: dict[str, bool | str | list[str]] = {r.key: True for r in rules}
    saved = (ox.settings.use_cache, ox.settings.cache_folder, ox.settings.requests_timeout)
    ox.settings.use_cache = True
    if cache_folder is not None:
        ox.settings.cache_folder = Path(cache_folder)
    ox.settings.requests_timeout = timeout_s
    try:
        if place is not None:
            gdf = ox.features_from_place(place, tags)
        else:
            gdf = ox.features_from_polygon(polygon, tags)
    except (requests.exceptions.RequestException, OSError) as exc:
        what = f"place {place!r}" if place else "the polygon"
        raise LayerError(
            f"cannot download OSM data for {what}: the network is unreachable or refused "
            f"({type(exc).__name__}); work offline with an extract: download a .osm.pbf "
            "(e.g. from Geofabrik) and run `siting import-osm FILE --out LAYERS.gpkg`"
        ) from exc
    except InsufficientResponseError as exc:
        raise LayerError(f"OSM returned no features for {place or 'the polygon'}: {exc}") from exc
    finally:
        ox.settings.use_cache, ox.settings.cache_folder, ox.settings.requests_timeout = saved
    return map_features(
        _tag_frame(gdf, _rule_keys(rules)), rules=rules, metres_per_level=metres_per_level
    )


def clip_layers(result: OSMLayers, area: gpd.GeoDataFrame) -> OSMLayers:
    """Keep the features of mapped layers that intersect an area.

    Parameters
    ----------
    result
        Mapped layers.
    area
        Polygon layer (any CRS).

    Returns
    -------
    OSMLayers
        The clipped layers; features left out are added to the ``outside the
        area`` count.
    """
    poly = shapely.union_all(area.to_crs("EPSG:4326").geometry.values)
    layers, n_out = {}, 0
    for name, gdf in result.layers.items():
        inside = shapely.intersects(gdf.geometry.values, poly)
        n_out += int((~inside).sum())
        layers[name] = gdf[inside]
    dropped = dict(result.dropped)
    dropped[DROP_OUTSIDE] = dropped.get(DROP_OUTSIDE, 0) + n_out
    return OSMLayers(layers=layers, dropped=dropped, n_read=result.n_read)


def write_osm_layers(result: OSMLayers, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write the mapped layers into one GeoPackage, atomically.

    The file is written under a temporary name in the same folder and renamed
    at the end, so a failure leaves nothing half-written. Empty layers are left
    out.

    Parameters
    ----------
    result
        The mapped layers.
    path
        The GeoPackage to write.
    overwrite
        Replace an existing file.

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    OutputError
        If the file exists (without ``overwrite``), nothing is to be written, or
        writing fails.
    """
    path = Path(path)
    if path.suffix.lower() != ".gpkg":
        raise OutputError(f"output {path} must be a GeoPackage (.gpkg)")
    if path.exists() and not overwrite:
        raise OutputError(f"{path} exists; choose another file or pass overwrite (--overwrite)")
    if not path.parent.is_dir():
        raise OutputError(f"folder {path.parent} does not exist; create it first")
    layers = {name: gdf for name, gdf in result.layers.items() if len(gdf)}
    if not layers:
        raise OutputError("no OSM feature was mapped to any layer; nothing written")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".gpkg", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()
    try:
        for name, gdf in layers.items():
            geometry_type = "Unknown" if name == "pois" else None
            gdf.to_file(
                tmp, layer=name, driver="GPKG", engine="pyogrio", geometry_type=geometry_type
            )
        os.replace(tmp, path)
    except Exception as exc:
        tmp.unlink(missing_ok=True)
        raise OutputError(f"cannot write {path}: {exc}") from exc
    return path


@functools.lru_cache(maxsize=4)
def _cached_read(
    path: str,
    mtime: float,
    size: int,
    rules: tuple[tuple[str, str, str, str | None], ...],
    mpl: float,
) -> OSMLayers:
    table = [OSMTagRule(layer=r[0], key=r[1], value=r[2], kind=r[3]) for r in rules]
    return read_osm(path, rules=table, metres_per_level=mpl)


def read_osm_layer(source: LayerSource, name: str) -> gpd.GeoDataFrame:
    """Read one layer of an OSM source of the config (used by :func:`siting.layers.read_layer`).

    Parameters
    ----------
    source
        The layer source; ``layer`` names the mapped layer to take (default
        ``name``); ``osm_tags`` are tried before the built-in rules.
    name
        The layer's name in the config.

    Returns
    -------
    geopandas.GeoDataFrame
        The mapped layer in EPSG:4326 (a copy).

    Raises
    ------
    LayerError
        If the file cannot be read or maps no feature to the layer.
    """
    path = Path(source.path)
    rules = (*source.osm_tags, *DEFAULT_TAG_RULES)
    key = tuple((r.layer, r.key, r.value, r.kind) for r in rules)
    stat = path.stat()
    try:
        result = _cached_read(
            str(path), stat.st_mtime, stat.st_size, key, float(source.metres_per_level)
        )
    except LayerError as exc:
        raise LayerError(f"layer {name!r}: {exc}") from exc
    target = source.layer or name
    if target not in result.layers:
        raise LayerError(
            f"layer {name!r}: OSM sources map to layers {list(OSM_LAYERS)}, not {target!r}; "
            "fix `layer:`"
        )
    gdf = result.layers[target].copy()
    if len(gdf) == 0:
        tags = sorted({f"{r.key}={r.value}" for r in rules if r.layer == target})
        raise LayerError(
            f"layer {name!r}: no feature of {path} maps to {target!r} (tags looked for: "
            f"{', '.join(tags[:8])}...); remove the layer or add `osm_tags:` rules"
        )
    dropped = {k: v for k, v in result.dropped.items() if v}
    if dropped:
        warnings.warn(
            f"layer {name!r}: OSM {path.name}: {len(gdf)} feature(s) mapped; left out of all "
            f"layers: {dropped}",
            UserWarning,
            stacklevel=3,
        )
    return gdf
