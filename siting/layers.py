"""Stage 1: input layers, their schemas, reading and validation.

Every layer has a written schema (:data:`SCHEMAS`): required and optional
columns with their kinds, allowed geometry types and the ID column. Layers are
read from GeoPackage, GeoJSON, Shapefile, FlatGeobuf or CSV (points from
coordinate columns), checked against the schema, and reprojected to the
working CRS. Validation collects every problem of every layer and reports them
together.

Schemas (working CRS, metres)
-----------------------------
study_area
    Polygon/MultiPolygon; ``name`` (str).
towns
    Polygon/MultiPolygon; ``town_id`` (str, unique), ``name`` (str), optional
    ``name_en`` (str).
parcels
    Polygon/MultiPolygon; ``parcel_id`` (str, unique), ``land_use`` (str, one of
    :data:`LAND_USES`).
buildings
    Polygon/MultiPolygon; ``building_id`` (str, unique), ``height_m`` (float) or
    ``levels`` (int), optional ``use`` (str), ``population`` (float >= 0),
    ``owner`` (str).
poles
    Point; ``pole_id`` (str, unique), ``kind`` (one of
    :data:`siting.config.POLE_KINDS`), optional ``owner`` (str), ``height_m``
    (float), ``has_power`` (bool).
existing_sites
    Point; ``site_id`` (str, unique), optional ``operator`` (str),
    ``height_m`` (float).
key_zones
    Polygon/LineString (or Multi*); ``zone_id`` (str, unique), ``name`` (str),
    ``kind`` (str), ``service_level`` (str: a name in the config's
    ``demand.service_levels``), optional ``min_coverage`` (float in (0, 1],
    default 1.0), ``name_en`` (str).
"""

from __future__ import annotations

import hashlib
import logging
import warnings
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from siting._errors import LayerError
from siting.config import POLE_KINDS, Config, LayerSource
from siting.coords import convert_frame, gcj02_to_wgs84, in_china
from siting.inventory import INVENTORY_SUFFIXES, read_inventory

if TYPE_CHECKING:
    from siting.population import Raster, Surface

__all__ = [
    "LAND_USES",
    "SCHEMAS",
    "LayerSchema",
    "Layers",
    "load_layers",
    "read_layer",
    "validate_layer",
]

log = logging.getLogger(__name__)

LAND_USES: tuple[str, ...] = (
    "residential",
    "commercial",
    "industrial",
    "public",
    "education",
    "health",
    "park",
    "agricultural",
    "water",
    "transport",
    "other",
)

Kind = Literal["str", "float", "int", "bool"]
POLYGONAL = ("Polygon", "MultiPolygon")
LINEAR = ("LineString", "MultiLineString")


@dataclass(frozen=True)
class LayerSchema:
    """The contract of one input layer.

    Attributes
    ----------
    name
        Layer name as used in the config.
    geometry
        Allowed geometry types.
    id_column
        Column of unique IDs (``None`` when the layer has none).
    required
        Required columns and their kinds.
    optional
        Optional columns, their kinds and the default filled in when absent.
    allowed
        Allowed values of categorical columns.
    """

    name: str
    geometry: tuple[str, ...]
    id_column: str | None
    required: dict[str, Kind]
    optional: dict[str, tuple[Kind, object]] = field(default_factory=dict)
    allowed: dict[str, tuple[str, ...]] = field(default_factory=dict)


SCHEMAS: dict[str, LayerSchema] = {
    s.name: s
    for s in (
        LayerSchema("study_area", POLYGONAL, None, {}, {"name": ("str", "study area")}),
        LayerSchema(
            "towns",
            POLYGONAL,
            "town_id",
            {"town_id": "str", "name": "str"},
            {"name_en": ("str", "")},
        ),
        LayerSchema(
            "parcels",
            POLYGONAL,
            "parcel_id",
            {"parcel_id": "str", "land_use": "str"},
            allowed={"land_use": LAND_USES},
        ),
        LayerSchema(
            "buildings",
            POLYGONAL,
            "building_id",
            {"building_id": "str"},
            {
                "height_m": ("float", np.nan),
                "levels": ("float", np.nan),
                "use": ("str", "other"),
                "population": ("float", 0.0),
                "owner": ("str", ""),
            },
        ),
        LayerSchema(
            "poles",
            ("Point",),
            "pole_id",
            {"pole_id": "str", "kind": "str"},
            {
                "owner": ("str", ""),
                "height_m": ("float", np.nan),
                "has_power": ("bool", True),
                "name": ("str", ""),
            },
            allowed={"kind": POLE_KINDS},
        ),
        LayerSchema(
            "existing_sites",
            ("Point",),
            "site_id",
            {"site_id": "str"},
            {"operator": ("str", ""), "height_m": ("float", np.nan), "name": ("str", "")},
        ),
        LayerSchema(
            "key_zones",
            POLYGONAL + LINEAR,
            "zone_id",
            {"zone_id": "str", "name": "str", "kind": "str", "service_level": "str"},
            {"min_coverage": ("float", 1.0), "name_en": ("str", "")},
        ),
    )
}

POINT_LAYERS = ("poles", "existing_sites")
#: File suffixes read as OpenStreetMap data.
OSM_SUFFIXES: tuple[str, ...] = (".pbf", ".osm")
METRES_PER_LEVEL = 3.0


@dataclass
class Layers:
    """Every input layer of a run, validated and in the working CRS.

    Attributes
    ----------
    study_area
        One (dissolved) polygon row.
    towns, parcels, buildings, poles, existing_sites, key_zones
        The optional layers; an absent layer is an empty GeoDataFrame with the
        schema's columns.
    sources
        SHA-256 of every file read, keyed by layer name.
    population
        People on pixels or tiles over the study area (``None`` without a
        ``population`` layer: building populations are used).
    dem
        Elevation in the working CRS (``None`` without a ``dem`` layer).
    """

    study_area: gpd.GeoDataFrame
    towns: gpd.GeoDataFrame
    parcels: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    poles: gpd.GeoDataFrame
    existing_sites: gpd.GeoDataFrame
    key_zones: gpd.GeoDataFrame
    sources: dict[str, str] = field(default_factory=dict)
    population: Surface | None = None
    dem: Raster | None = None

    @property
    def crs(self) -> CRS:
        """The working CRS shared by every layer."""
        return self.study_area.crs


def file_sha256(path: Path) -> str:
    """Return the SHA-256 hex digest of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _read_vector(source: LayerSource, name: str) -> gpd.GeoDataFrame:
    """Read a vector file with pyogrio; translate its errors to LayerError."""
    from pyogrio.errors import DataLayerError, DataSourceError

    try:
        gdf = gpd.read_file(source.path, layer=source.layer, engine="pyogrio")
    except (DataSourceError, DataLayerError) as exc:
        raise LayerError(
            f"layer {name!r}: cannot read {source.path}: {exc}; give a GeoPackage, GeoJSON, "
            "Shapefile, FlatGeobuf, CSV/XLSX table or OSM (.osm.pbf/.osm) file"
        ) from exc
    if gdf.crs is None:
        if source.crs is None:
            raise LayerError(
                f"layer {name!r} ({source.path}) has no CRS; set `crs:` of the layer in the "
                "config (e.g. 'EPSG:4326') or call gdf.set_crs(...)"
            )
        gdf = gdf.set_crs(source.crs)
    elif source.crs is not None and not CRS.from_user_input(source.crs).equals(gdf.crs):
        raise LayerError(
            f"layer {name!r}: CRS mismatch: the config declares {source.crs} but "
            f"{source.path} is in {gdf.crs.to_string()}; remove `crs:` or fix the file"
        )
    return gdf.rename(columns=source.columns)


def read_layer(source: LayerSource, name: str, *, crs: str | CRS | None) -> gpd.GeoDataFrame:
    """Read one layer and reproject it to the working CRS.

    Parameters
    ----------
    source
        Where the layer comes from.
    name
        The layer's name in the config (for messages).
    crs
        The working CRS; ``None`` keeps the layer's own CRS.

    Returns
    -------
    geopandas.GeoDataFrame
        The layer as read, columns renamed, in ``crs``; not yet validated.

    Raises
    ------
    LayerError
        If the file is missing, unreadable or has no CRS.
    """
    path = Path(source.path)
    if not path.exists():
        raise LayerError(f"layer {name!r}: file {path} does not exist; check `path:` in the config")
    suffix = path.suffix.lower()
    if suffix in INVENTORY_SUFFIXES:
        gdf = read_inventory(source, name)
    elif suffix in OSM_SUFFIXES:
        from siting.osm import read_osm_layer

        gdf = read_osm_layer(source, name)
    else:
        gdf = _read_vector(source, name)
    _check_fits_crs(gdf, name, path)
    for col, value in source.defaults.items():
        if col not in gdf.columns:
            gdf[col] = value
    if source.coords != "wgs84":
        gdf = convert_frame(gdf, src=source.coords, dst="wgs84")
    return gdf if crs is None else gdf.to_crs(crs)


def _check_fits_crs(gdf: gpd.GeoDataFrame, name: str, path: Path) -> None:
    """Refuse coordinates that cannot be in the layer's CRS (mixed or wrong CRS)."""
    if gdf.crs is None or len(gdf) == 0:
        return
    xy = shapely.get_coordinates(gdf.geometry.values)
    if gdf.crs.is_geographic:
        # Rows that fit once lon/lat are swapped are left to the study-area check.
        bad = (np.abs(xy[:, 0]) > 180) | (np.abs(xy[:, 1]) > 180)
        bad |= (np.abs(xy[:, 1]) > 90) & (np.abs(xy[:, 0]) > 90)
    else:
        geo = gpd.GeoSeries(shapely.points(xy), crs=gdf.crs).to_crs(4326)
        gxy = shapely.get_coordinates(geo.values)
        bad = ~np.isfinite(gxy).all(axis=1) | (np.abs(gxy[:, 0]) > 180) | (np.abs(gxy[:, 1]) > 90)
    if not bad.any():
        return
    mixed = "the file mixes coordinate systems or " if not bad.all() else ""
    raise LayerError(
        f"layer {name!r}: {int(bad.sum())} of {len(xy)} coordinate(s) of {path} cannot be in "
        f"its CRS {gdf.crs.to_string()} (e.g. {tuple(xy[bad][0].tolist())}): {mixed}the CRS is wrong; "
        "reproject every feature to one CRS and declare it with `crs:`"
    )


def _coerce(gdf: gpd.GeoDataFrame, schema: LayerSchema, problems: list[str]) -> gpd.GeoDataFrame:
    """Check and coerce the schema's columns, filling optional defaults."""
    kinds = {**schema.required, **{k: v[0] for k, v in schema.optional.items()}}
    missing = [c for c in schema.required if c not in gdf.columns]
    if missing:
        problems.append(
            f"layer {schema.name!r} is missing required column(s) {missing}; it has "
            f"{[c for c in gdf.columns if c != 'geometry']} (rename with `columns:` in the config)"
        )
    for col, (_kind, default) in schema.optional.items():
        if col not in gdf.columns:
            gdf[col] = default
    for col, kind in kinds.items():
        if col not in gdf.columns:
            continue
        gdf[col] = _as_kind(gdf[col], kind, col=col, layer=schema.name, problems=problems)
    return gdf


def _as_kind(
    values: pd.Series, kind: Kind, *, col: str, layer: str, problems: list[str]
) -> pd.Series:
    """Convert a column to its schema kind, recording values that cannot be."""
    if kind == "str":
        return values.fillna("").astype(str)
    if kind == "bool":
        return values.fillna(True).astype(bool)
    numeric = pd.to_numeric(values, errors="coerce")
    bad = numeric.isna() & values.notna()
    if bad.any():
        problems.append(
            f"layer {layer!r}: column {col!r} must be numeric; {int(bad.sum())} value(s) are "
            f"not (first: {values[bad].iloc[0]!r} at row {bad.to_numpy().nonzero()[0][0]})"
        )
    return numeric.astype("float64")


def _check_geometry(
    gdf: gpd.GeoDataFrame, schema: LayerSchema, problems: list[str]
) -> gpd.GeoDataFrame:
    """Check geometry types; repair invalid polygons with a warning."""
    missing = gdf.geometry.isna() | gdf.geometry.is_empty
    if missing.any():
        problems.append(
            f"layer {schema.name!r}: {int(missing.sum())} feature(s) have no geometry "
            f"(first at row {int(np.flatnonzero(missing.to_numpy())[0])}); remove them"
        )
        return gdf
    types = gdf.geom_type.to_numpy()
    wrong = ~np.isin(types, schema.geometry)
    if wrong.any():
        found = sorted(set(types[wrong]))
        problems.append(
            f"layer {schema.name!r} must hold {'/'.join(schema.geometry)} geometries; "
            f"{int(wrong.sum())} feature(s) are {found}"
        )
        return gdf
    if schema.geometry == ("Point",):
        return gdf
    invalid = ~gdf.geometry.is_valid.to_numpy()
    if invalid.any():
        repaired = shapely.make_valid(gdf.geometry.values[invalid])
        if schema.geometry == POLYGONAL:
            repaired = _polygonal_part(repaired)
        gdf.loc[invalid, gdf.geometry.name] = repaired
        warnings.warn(
            f"layer {schema.name!r}: repaired {int(invalid.sum())} invalid geometr"
            f"{'y' if invalid.sum() == 1 else 'ies'} with shapely.make_valid",
            UserWarning,
            stacklevel=3,
        )
    return gdf


def _polygonal_part(geoms: np.ndarray) -> np.ndarray:
    """Keep only the polygonal part of repaired geometries."""
    parts = shapely.get_parts(geoms, return_index=True)
    poly = np.isin(shapely.get_type_id(parts[0]), [3, 6])
    out = np.full(len(geoms), None, dtype=object)
    merged = gpd.GeoSeries(parts[0][poly]).groupby(parts[1][poly]).agg(shapely.union_all)
    out[merged.index.to_numpy()] = merged.to_numpy()
    return out


def _check_ids(gdf: gpd.GeoDataFrame, schema: LayerSchema, problems: list[str]) -> None:
    """Record duplicate or empty IDs."""
    col = schema.id_column
    if col is None or col not in gdf.columns:
        return
    ids = gdf[col]
    dup = ids[ids.duplicated(keep=False)]
    if len(dup):
        problems.append(
            f"layer {schema.name!r}: {dup.nunique()} duplicate {col} value(s), e.g. "
            f"{sorted(dup.unique())[:5]}; IDs must be unique"
        )
    empty = ids == ""
    if empty.any():
        problems.append(f"layer {schema.name!r}: {int(empty.sum())} row(s) have an empty {col}")


def _check_allowed(gdf: gpd.GeoDataFrame, schema: LayerSchema, problems: list[str]) -> None:
    """Record categorical values outside their allowed set."""
    for col, allowed in schema.allowed.items():
        if col not in gdf.columns:
            continue
        bad = ~gdf[col].isin(allowed)
        if bad.any():
            problems.append(
                f"layer {schema.name!r}: column {col!r} has {int(bad.sum())} unknown value(s) "
                f"{sorted(gdf.loc[bad, col].unique())[:5]}; allowed: {list(allowed)}"
            )


def _covers_finite(poly: shapely.Geometry, points: np.ndarray) -> np.ndarray:
    """``covers`` for points whose coordinates may be infinite after reprojection."""
    xy = shapely.get_coordinates(points)
    out = np.zeros(len(points), dtype=bool)
    finite = np.isfinite(xy).all(axis=1)
    out[finite] = shapely.contains_xy(poly, xy[finite, 0], xy[finite, 1]) | shapely.intersects_xy(
        poly.boundary, xy[finite, 0], xy[finite, 1]
    )
    return out


def _check_inside(
    gdf: gpd.GeoDataFrame,
    area: gpd.GeoDataFrame,
    name: str,
    problems: list[str],
    *,
    outside: str = "error",
) -> gpd.GeoDataFrame:
    """Handle points outside the study area, spotting swapped x/y (lon/lat).

    The test runs in the layer's own CRS (the study area is reprojected to it),
    so points whose coordinates are nonsense in the working CRS still get a
    useful message. With ``outside="drop"`` the points outside are removed with
    a warning giving the count, unless none is inside or swapping x/y would put
    most of them inside (then it is an error either way).
    """
    poly = shapely.union_all(area.to_crs(gdf.crs).geometry.values)
    out_mask = ~_covers_finite(poly, gdf.geometry.values)
    if not out_mask.any():
        _hint_offset(gdf, poly, name, n_outside=0)
        return gdf
    n_out = int(out_mask.sum())
    xy = shapely.get_coordinates(gdf.geometry.values[out_mask])
    hits = int(_covers_finite(poly, shapely.points(xy[:, ::-1])).sum())
    first = gdf.index[out_mask][:3].tolist()
    if outside == "drop" and n_out < len(gdf) and hits * 2 < n_out:
        warnings.warn(
            f"layer {name!r}: dropped {n_out} of {len(gdf)} point(s) outside the study area "
            f"(rows {first}...)",
            UserWarning,
            stacklevel=3,
        )
        _hint_offset(gdf, poly, name, n_outside=n_out)
        return gdf[~out_mask]
    hint = (
        f"; swapping lon/lat puts {hits} of them inside: swap `x:`/`y:` in the config"
        if hits
        else "; check their coordinates, CRS and `coords:` (GCJ-02/BD-09), or remove them"
        + ("" if outside == "drop" else " (or set `outside: drop`)")
    )
    if n_out == len(gdf) and not hits:
        problems.append(
            f"layer {name!r}: none of its {len(gdf)} point(s) lie in the study area{hint}"
        )
        return gdf
    problems.append(
        f"layer {name!r}: {n_out} of {len(gdf)} point(s) lie outside the study "
        f"area (rows {first}...){hint}"
    )
    return gdf


def _hint_offset(
    gdf: gpd.GeoDataFrame, poly: shapely.Geometry, name: str, *, n_outside: int
) -> None:
    """Warn when a WGS84 layer fits the study area better read as GCJ-02.

    ``gdf`` is the whole layer and ``n_outside`` the number of its points
    outside the study area.

    A GCJ-02 (Amap) layer declared as WGS84 sits about 500 m off in China; its
    points near the boundary then fall on the wrong side. When converting
    GCJ-02 -> WGS84 would clearly reduce the points outside, say so.
    """
    if not (gdf.crs is not None and gdf.crs.is_geographic and len(gdf) >= 20):
        return
    xy = shapely.get_coordinates(gdf.geometry.values)
    china = in_china(xy[:, 0], xy[:, 1])
    if not china.any():
        return
    lon, lat = gcj02_to_wgs84(xy[china, 0], xy[china, 1])
    shifted_out = int((~_covers_finite(poly, shapely.points(lon, lat))).sum())
    gained = n_outside - shifted_out
    if gained >= 5 and shifted_out * 2 < n_outside:
        warnings.warn(
            f"layer {name!r}: {n_outside} point(s) lie outside the study area as WGS84, but "
            f"only {shifted_out} would if the layer were GCJ-02 (Amap/Tencent coordinates sit "
            "~500 m off in China); if it was geocoded with a Chinese web map set "
            "`coords: gcj02` (or `bd09` for Baidu)",
            UserWarning,
            stacklevel=4,
        )


def _check_overlap(gdf: gpd.GeoDataFrame, area: gpd.GeoDataFrame, name: str) -> list[str]:
    """A layer must have at least one feature touching the study area."""
    if gdf.crs is None or len(gdf) == 0:
        return []
    poly = shapely.union_all(area.to_crs(gdf.crs).geometry.values)
    if shapely.intersects(gdf.geometry.values, poly).any():
        return []
    box = tuple(round(float(v), 4) for v in gdf.total_bounds)
    return [
        f"layer {name!r}: none of its {len(gdf)} feature(s) lie in the study area (layer bounds "
        f"{box} in {gdf.crs.to_string()}); check the file, its CRS and `coords:`"
    ]


def validate_layer(
    gdf: gpd.GeoDataFrame,
    name: str,
    *,
    study_area: gpd.GeoDataFrame | None = None,
    outside: Literal["error", "drop"] = "error",
    metres_per_level: float = METRES_PER_LEVEL,
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Check a layer against its schema and report every problem.

    Parameters
    ----------
    gdf
        The layer, in the working CRS.
    name
        Its schema name (a key of :data:`SCHEMAS`).
    study_area
        When given, points of point layers must lie inside it.
    outside
        Points outside the study area: ``"error"`` reports them, ``"drop"``
        removes them with a warning (a layer with none inside is still an error).
    metres_per_level
        Storey height used when a building has levels but no height.

    Returns
    -------
    tuple of (geopandas.GeoDataFrame, list of str)
        The layer with columns coerced to their kinds, optional columns filled and
        invalid polygons repaired; and the problems found (empty when valid).
    """
    schema = SCHEMAS[name]
    problems: list[str] = []
    if gdf.crs is None:
        problems.append(
            f"layer {name!r} has no CRS; set `crs:` in the config or call gdf.set_crs(...)"
        )
    if len(gdf) == 0:
        problems.append(f"layer {name!r} is empty; give it features or remove it from the config")
        return gdf, problems
    gdf = _coerce(gdf.copy(), schema, problems)
    gdf = _check_geometry(gdf, schema, problems)
    _check_ids(gdf, schema, problems)
    _check_allowed(gdf, schema, problems)
    if name == "buildings" and {"height_m", "levels"} <= set(gdf.columns):
        gdf["height_m"] = gdf["height_m"].fillna(gdf["levels"] * metres_per_level)
    if study_area is not None and not problems:
        if name in POINT_LAYERS:
            gdf = _check_inside(gdf, study_area, name, problems, outside=outside)
        elif name != "study_area":
            problems.extend(_check_overlap(gdf, study_area, name))
    return gdf, problems


def _empty(name: str, crs: CRS) -> gpd.GeoDataFrame:
    """An empty layer with the schema's columns."""
    schema = SCHEMAS[name]
    cols = list(schema.required) + list(schema.optional)
    return gpd.GeoDataFrame({c: [] for c in cols}, geometry=[], crs=crs)


def load_layers(cfg: Config) -> Layers:
    """Read and validate every layer of a configuration.

    Parameters
    ----------
    cfg
        The run configuration (layer paths absolute).

    Returns
    -------
    Layers
        Every layer in the working CRS.

    Raises
    ------
    LayerError
        Listing every problem of every layer at once.
    """
    problems: list[str] = []
    out: dict[str, gpd.GeoDataFrame] = {}
    sources: dict[str, str] = {}
    order = ["study_area"] + [
        f.name
        for f in fields(Layers)
        if f.name not in ("study_area", "sources", "population", "dem")
    ]
    for name in order:
        source: LayerSource | None = getattr(cfg.layers, name)
        if source is None:
            out[name] = _empty(name, CRS.from_user_input(cfg.crs))
            continue
        try:
            gdf = read_layer(source, name, crs=None)
        except LayerError as exc:
            problems.append(str(exc))
            continue
        sources[name] = file_sha256(Path(source.path))
        gdf, found = validate_layer(
            gdf,
            name,
            study_area=out.get("study_area"),
            outside=source.outside,
            metres_per_level=source.metres_per_level,
        )
        problems.extend(found)
        out[name] = gdf.to_crs(cfg.crs) if not found else gdf
    if "study_area" in out and not problems:
        problems.extend(_check_zone_levels(out["key_zones"], cfg))
    rasters = _load_rasters(cfg, out.get("study_area"), problems, sources)
    if problems:
        raise LayerError("invalid input layers:\n" + "\n".join(f"  - {p}" for p in problems))
    out["study_area"] = _dissolve(out["study_area"])
    return Layers(**out, sources=sources, **rasters)


def _load_rasters(
    cfg: Config,
    area: gpd.GeoDataFrame | None,
    problems: list[str],
    sources: dict[str, str],
) -> dict[str, object]:
    """Read the optional population and DEM sources over the study area."""
    from siting.population import read_dem, read_population

    out: dict[str, object] = {}
    if area is None:
        return out
    area = area.to_crs(cfg.crs)
    readers = {
        "population": lambda path: read_population(path, area=area),
        "dem": lambda path: read_dem(path, area=area),
    }
    for name, reader in readers.items():
        source: LayerSource | None = getattr(cfg.layers, name)
        if source is None:
            continue
        try:
            out[name] = reader(Path(source.path))
        except LayerError as exc:
            problems.append(str(exc))
            continue
        sources[name] = file_sha256(Path(source.path))
    return out


def _check_zone_levels(zones: gpd.GeoDataFrame, cfg: Config) -> list[str]:
    """Key zones must name a configured service level and a valid min_coverage."""
    problems = []
    levels = cfg.demand.service_levels
    bad = ~zones["service_level"].isin(list(levels))
    if bad.any():
        problems.append(
            f"layer 'key_zones': {int(bad.sum())} zone(s) name unknown service level(s) "
            f"{sorted(zones.loc[bad, 'service_level'].unique())}; configured levels: {sorted(levels)}"
        )
    cov = zones["min_coverage"]
    bad_cov = ~((cov > 0) & (cov <= 1))
    if bad_cov.any():
        problems.append(
            f"layer 'key_zones': min_coverage must be in (0, 1]; zone(s) "
            f"{zones.loc[bad_cov, 'zone_id'].tolist()[:5]} are not"
        )
    return problems


def _dissolve(area: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Merge the study area into one row."""
    geom = shapely.union_all(area.geometry.values)
    name = str(area["name"].iloc[0]) if "name" in area else "study area"
    return gpd.GeoDataFrame({"name": [name]}, geometry=[geom], crs=area.crs)
