"""The interactive HTML map of a plan: one self-contained file for operators and bureaus.

:func:`make_map` builds a :class:`folium.Map` from a plan and :func:`write_map` saves it.
The page carries every script and style it needs inline (Leaflet, Leaflet.markercluster,
Leaflet.fullscreen, Leaflet.PolylineMeasure and the small ``siting`` runtime, see
``siting/assets/README.md``), so it works with no network at all: base tiles are the only
thing fetched, and every overlay still shows without them.

Layers
------
* selected sites, switchable per class and per rollout year (a site shows when both its
  class and its year are on), with a popup (ID, class, owner, responsible unit, height,
  band, cost, rollout year, population newly covered and its marginal gain);
* every candidate, clustered, off by default;
* key zones coloured by achieved coverage, with a tooltip (zone, service level, % covered,
  sites serving it);
* towns with their statistics;
* uncovered demand hot spots (cells with residents) as light canvas circles (the
  heaviest cells first);
* the coverage or RSRP overlay as one PNG image layer (from the plan's GeoTIFF
  ``rsrp_path`` when there is one, else rendered from the demand grid).

Plan values reach the page only as JSON data and are inserted as text nodes by the runtime,
never parsed as HTML: a name like ``<img src=x onerror=alert(1)>`` shows as text.

Base layers and datums
----------------------
Two base layers are offered: OpenStreetMap (WGS84, the default) and Amap (高德), which is
reachable in mainland China. Amap tiles, like other Chinese web maps, are drawn in GCJ-02,
whose coordinates are offset from WGS84 by several hundred metres in Shanghai. The plan is
in WGS84, so the Amap layer places every tile where its content lies in WGS84 (the tile
corner is converted GCJ-02 -> WGS84 in the browser); the overlays are never shifted and
stay true.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, MacroElement
from folium.elements import ElementAddToElement
from folium.map import Layer

from siting._errors import LayerError, OutputError

__all__ = [
    "BASE_LAYERS",
    "SITE_CLASSES",
    "MapPlan",
    "make_map",
    "write_map",
]

logger = logging.getLogger(__name__)

ASSETS_DIR = Path(__file__).resolve().parent / "assets"
MAP_CRS = "EPSG:4326"

#: Label (English and Chinese) and colour of each site class, in the order of the legend.
SITE_CLASSES: dict[str, tuple[str, str]] = {
    "macro_rooftop": ("Macro, rooftop 楼顶宏站", "#1f4e9c"),
    "macro_tower": ("Macro, tower 铁塔宏站", "#6a3d9a"),
    "colocation": ("Co-location 共址站", "#4d4d4d"),
    "small_cell_lamp": ("Small cell, street lamp 路灯杆微站", "#ff7f0e"),
    "small_cell_signal": ("Small cell, traffic signal 信号灯杆微站", "#e377c2"),
    "small_cell_cctv": ("Small cell, CCTV pole 监控杆微站", "#17becf"),
    "small_cell_utility": ("Small cell, utility pole 电力杆微站", "#8c564b"),
    "small_cell_smart_pole": ("Small cell, smart pole 智慧杆微站", "#2ca02c"),
    "small_cell_other": ("Small cell, other 其他微站", "#bcbd22"),
}
_OTHER_CLASS_COLOUR = "#999999"
_UNCOVERED_COLOUR = "#d62728"

#: Base layers: name -> (tile URL, attribution, subdomains, datum).
BASE_LAYERS: dict[str, tuple[str, str, str, str]] = {
    "osm": (
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors',
        "abc",
        "WGS84",
    ),
    "amap": (
        "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8"
        "&x={x}&y={y}&z={z}",
        "&copy; 高德地图 Amap (GCJ-02, tiles placed in WGS84)",
        "1234",
        "GCJ-02",
    ),
}
_BASE_NAMES = {"osm": "OpenStreetMap", "amap": "Amap 高德地图 (China)"}

_SITE_COLUMNS = (
    "candidate_id", "site_class", "source", "name", "owner", "responsible_unit", "height_m",
    "band", "cost", "town_id", "existing", "rollout_year", "marginal_gain", "population_new",
)  # fmt: skip
_CANDIDATE_COLUMNS = (
    "candidate_id", "site_class", "source", "name", "owner", "responsible_unit", "height_m",
    "band", "cost", "town_id", "existing", "selected",
)  # fmt: skip
_DEMAND_COLUMNS = ("cell_id", "population", "weight", "town_id", "zone_id", "covered")
_ZONE_COLUMNS = ("zone_id", "name", "service_level", "min_coverage", "covered_fraction", "met")
_TOWN_COLUMNS = ("town_id", "name", "population", "covered_population", "coverage", "n_sites")
_REQUIRED = {
    "sites": _SITE_COLUMNS,
    "candidates": _CANDIDATE_COLUMNS,
    "demand": _DEMAND_COLUMNS,
    "zones": _ZONE_COLUMNS,
    "towns": _TOWN_COLUMNS,
    "study_area": (),
}

# Popup / tooltip fields: (label, column, format). Formats are those of the JS runtime.
_SITE_FIELDS = [
    ("Name 名称", "name", "text"),
    ("Class 类型", "class_label", "text"),
    ("Source 来源", "source", "text"),
    ("Owner 产权单位", "owner", "text"),
    ("Responsible unit 责任单位", "responsible_unit", "text"),
    ("Height 挂高", "height_m", "m"),
    ("Band 频段", "band", "text"),
    ("Cost 造价", "cost", "cny"),
    ("Rollout year 建设年份", "rollout_year", "text"),
    ("Town 街镇", "town", "text"),
    ("Existing site 现有站", "existing", "bool"),
    ("Population newly covered 新增覆盖人口", "population_new", "int"),
    ("Marginal gain 边际增益", "marginal_gain", "float1"),
]
_CANDIDATE_FIELDS = [
    ("Name 名称", "name", "text"),
    ("Class 类型", "class_label", "text"),
    ("Source 来源", "source", "text"),
    ("Owner 产权单位", "owner", "text"),
    ("Responsible unit 责任单位", "responsible_unit", "text"),
    ("Height 挂高", "height_m", "m"),
    ("Cost 造价", "cost", "cny"),
    ("Town 街镇", "town", "text"),
    ("Selected 入选", "selected", "bool"),
]
_DEMAND_FIELDS = [
    ("Uncovered demand cell 未覆盖", "cell_id", "text"),
    ("Population 人口", "population", "float1"),
    ("Weight 权重", "weight", "float1"),
    ("Town 街镇", "town", "text"),
    ("Key zone 重点区域", "zone_id", "text"),
    ("Service level 服务等级", "service_level", "text"),
]
_ZONE_FIELDS = [
    ("English name", "name_en", "text"),
    ("Kind 类型", "kind", "text"),
    ("Service level 服务等级", "service_level", "text"),
    ("Covered 覆盖率", "covered_fraction", "pct"),
    ("Required 要求", "min_coverage", "pct"),
    ("Met 达标", "met", "bool"),
    ("Sites serving 服务站点", "sites_serving", "int"),
    ("Demand cells 需求单元", "n_cells", "int"),
]
_TOWN_FIELDS = [
    ("English name", "name_en", "text"),
    ("Population 人口", "population", "int"),
    ("Covered population 覆盖人口", "covered_population", "int"),
    ("Coverage 覆盖率", "coverage", "pct"),
    ("Sites 站点数", "n_sites", "int"),
    ("Cost 造价", "cost", "cny"),
]

# Coverage colour ramp (0 -> 1), shared by key zones, towns and the legend.
_RAMP = ["#d73027", "#fc8d59", "#fee08b", "#d9ef8b", "#91cf60", "#1a9850"]
_RSRP_RANGE = (-125.0, -75.0)


class MapPlan(Protocol):
    """What the map reads from a plan (see ``siting.plan.Plan`` for the full contract)."""

    name: str
    sites: gpd.GeoDataFrame
    candidates: gpd.GeoDataFrame
    demand: gpd.GeoDataFrame
    zones: gpd.GeoDataFrame
    towns: gpd.GeoDataFrame
    study_area: gpd.GeoDataFrame
    stats: dict
    solve: dict
    cell_size_m: float
    rsrp_path: Path | None


# ----------------------------------------------------------------------------------------------
# public API


def make_map(
    plan: MapPlan,
    *,
    base: str = "osm",
    max_uncovered: int = 20_000,
    overlay_opacity: float = 0.55,
) -> folium.Map:
    """Build the interactive map of a plan.

    Parameters
    ----------
    plan
        The plan (``siting.plan.Plan`` or anything with the same attributes), its layers in
        a projected CRS; they are reprojected to EPSG:4326 here.
    base
        Base layer shown on opening: ``"osm"`` (OpenStreetMap, WGS84) or ``"amap"`` (Amap,
        GCJ-02 tiles placed in WGS84, reachable in China). Both are offered in the layer
        control either way.
    max_uncovered
        At most this many uncovered demand cells are drawn (the heaviest first); the layer
        name says how many of how many are shown.
    overlay_opacity
        Opacity of the coverage / RSRP image layer, between 0 and 1.

    Returns
    -------
    folium.Map
        A map whose page needs no network except for base tiles.

    Raises
    ------
    LayerError
        When a layer of the plan lacks a CRS or required columns (all problems are listed).
    siting.ConfigError
        When ``base`` or another option has an invalid value.
    """
    _check_options(base=base, max_uncovered=max_uncovered, overlay_opacity=overlay_opacity)
    layers = _map_layers(plan)
    m = _base_map(layers["study_area"], base=base)
    _add_overlay(m, plan, opacity=overlay_opacity)
    _add_towns(m, layers["towns"])
    _add_zones(m, layers["zones"])
    _add_uncovered(m, layers["demand"], layers["towns"], max_points=max_uncovered)
    _add_candidates(m, layers["candidates"], layers["towns"])
    sites = _add_sites(m, layers["sites"], layers["towns"])
    _add_study_area(m, layers["study_area"])
    _LayerControl(collapsed=False, position="topright").add_to(m)
    _add_controls(m, plan, sites)
    return m


def write_map(plan: MapPlan, path: str | os.PathLike[str], **options: Any) -> Path:
    """Write the map of a plan to one self-contained HTML file.

    The file is written to a temporary name beside ``path`` and renamed at the end, so a
    failure never leaves a half-written map.

    Parameters
    ----------
    plan
        The plan, as for :func:`make_map`.
    path
        Where to write, usually ``<plan folder>/map.html``; missing parent folders are made.
    **options
        Keyword options of :func:`make_map`.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    OutputError
        When the file cannot be written.
    """
    path = Path(path)
    m = make_map(plan, **options)
    html = m.get_root().render()
    return _write_atomic(path, html.encode("utf-8"))


# ----------------------------------------------------------------------------------------------
# options and inputs


def _check_options(*, base: str, max_uncovered: int, overlay_opacity: float) -> None:
    from siting._errors import ConfigError

    if base not in BASE_LAYERS:
        raise ConfigError(
            f"unknown base layer {base!r} for the map; use one of {sorted(BASE_LAYERS)}"
        )
    if not isinstance(max_uncovered, int | np.integer) or max_uncovered < 0:
        raise ConfigError(f"max_uncovered must be an integer >= 0, got {max_uncovered!r}")
    if not 0.0 <= float(overlay_opacity) <= 1.0:
        raise ConfigError(f"overlay_opacity must be between 0 and 1, got {overlay_opacity!r}")


def _map_layers(plan: MapPlan) -> dict[str, gpd.GeoDataFrame]:
    """Check the plan's layers (all problems at once) and reproject them to EPSG:4326."""
    problems: list[str] = []
    out: dict[str, gpd.GeoDataFrame] = {}
    for name, required in _REQUIRED.items():
        gdf = getattr(plan, name, None)
        if not isinstance(gdf, gpd.GeoDataFrame):
            problems.append(f"plan.{name} is {type(gdf).__name__}, not a GeoDataFrame")
            continue
        if gdf.crs is None:
            problems.append(f"plan.{name} has no CRS; set it with gdf.set_crs('EPSG:32651')")
            continue
        missing = [c for c in required if c not in gdf.columns]
        if missing:
            problems.append(f"plan.{name} lacks column(s) {missing}")
            continue
        out[name] = gdf.to_crs(MAP_CRS)
    if problems:
        raise LayerError(
            "cannot draw the map of this plan: " + "; ".join(problems)
            + ". Build the plan with siting.plan or add the columns named above."
        )
    if out["study_area"].empty:
        raise LayerError("cannot draw the map: plan.study_area is empty; it needs 1 polygon")
    return out


# ----------------------------------------------------------------------------------------------
# JSON data for the runtime


def _js_json(obj: Any) -> str:
    """JSON safe to put inside a <script> element (no '<', '>' or '&' left raw)."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _plain(values: pd.Series | np.ndarray) -> list[Any]:
    """A column as a JSON-ready list: NaN/None -> null, numpy scalars -> Python."""
    s = pd.Series(values)
    if pd.api.types.is_bool_dtype(s):
        return s.astype(int).tolist()
    if pd.api.types.is_numeric_dtype(s):
        arr = s.to_numpy(dtype="float64", na_value=np.nan)
        rounded = np.round(arr, 2)
        out = np.where(np.isfinite(rounded), rounded, np.nan)
        lst = out.tolist()
        return [None if v != v else (int(v) if v.is_integer() else v) for v in lst]
    return [None if pd.isna(v) else str(v) for v in s.tolist()]


def _encoded(values: pd.Series) -> dict[str, list[Any]]:
    """Dictionary-encode a text column: {"codes": [...], "values": [...]}."""
    codes, uniques = pd.factorize(values.astype("string"), use_na_sentinel=True)
    return {"codes": codes.tolist(), "values": [str(u) for u in uniques]}


def _point_data(
    gdf: gpd.GeoDataFrame, *, plain: Iterable[str] = (), encoded: Iterable[str] = ()
) -> dict[str, Any]:
    """Column data of a point layer in EPSG:4326 (lat/lon rounded to ~0.1 m)."""
    xy = shapely.get_coordinates(gdf.geometry.to_numpy()) if len(gdf) else np.empty((0, 2))
    cols: dict[str, Any] = {}
    for c in plain:
        cols[c] = _plain(gdf[c]) if c in gdf.columns else [None] * len(gdf)
    for c in encoded:
        src = gdf[c] if c in gdf.columns else pd.Series([None] * len(gdf), dtype="string")
        cols[c] = _encoded(src)
    return {
        "n": len(gdf),
        "lat": np.round(xy[:, 1], 6).tolist(),
        "lon": np.round(xy[:, 0], 6).tolist(),
        "cols": cols,
    }


def _town_labels(ids: pd.Series, towns: gpd.GeoDataFrame) -> pd.Series:
    """'name (id)' for each town id, the id itself when the town is unknown."""
    names = pd.Series(towns["name"].astype(str).to_numpy(), index=towns["town_id"].astype(str))
    ids = ids.astype(str)
    label = ids.map(names).astype(object)
    known = label.notna()
    out = ids.astype(object).copy()
    out[known] = label[known].astype(str) + " (" + ids[known] + ")"
    return out


def _class_label(classes: pd.Series) -> pd.Series:
    labels = {k: v[0] for k, v in SITE_CLASSES.items()}
    return classes.astype(str).map(labels).fillna(classes.astype(str))


def _class_styles(classes: Iterable[str]) -> dict[str, dict[str, Any]]:
    styles = {
        k: {"color": col, "radius": 7 if k.startswith("macro") else 5}
        for k, (_, col) in SITE_CLASSES.items()
    }
    for k in classes:
        styles.setdefault(k, {"color": _OTHER_CLASS_COLOUR, "radius": 5})
    styles["_default"] = {"color": _OTHER_CLASS_COLOUR, "radius": 5}
    return styles


def _ramp_colour(frac: pd.Series) -> pd.Series:
    """Colour of a coverage fraction (0..1) on the shared ramp; grey when unknown."""
    f = pd.to_numeric(frac, errors="coerce").to_numpy(dtype="float64")
    idx = np.clip(np.floor(np.nan_to_num(f, nan=0.0) * (len(_RAMP) - 1) + 0.5), 0, len(_RAMP) - 1)
    colours = np.asarray(_RAMP)[idx.astype(int)]
    return pd.Series(np.where(np.isfinite(f), colours, "#aaaaaa"), index=frac.index)


def _feature_collection(
    gdf: gpd.GeoDataFrame, props: pd.DataFrame, styles: list[dict[str, Any]]
) -> dict[str, Any]:
    """A GeoJSON FeatureCollection with rounded coordinates and JSON-safe properties."""
    geoms = shapely.transform(gdf.geometry.to_numpy(), lambda c: np.round(c, 6))
    records = json.loads(props.to_json(orient="records", force_ascii=False))
    features = [
        {
            "type": "Feature",
            "geometry": json.loads(g) if g is not None else None,
            "properties": {**rec, "_style": st},
        }
        for g, rec, st in zip(shapely.to_geojson(geoms).tolist(), records, styles, strict=True)
    ]
    return {"type": "FeatureCollection", "features": features}


# ----------------------------------------------------------------------------------------------
# folium elements


class _Raw(Element):
    """Text put into the page verbatim (branca would read an Element's text as a template)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self._text = text

    def render(self, **kwargs: Any) -> str:
        return self._text


def _render_raw(el: MacroElement, *, header: str | None, script: str | None) -> None:
    """Render a macro element from plain strings: plan data never meets the template engine."""
    figure = el.get_root()
    if header:
        figure.header.add_child(_Raw(header), name=el.get_name())
    if script:
        figure.script.add_child(_Raw(script), name=el.get_name())
    for child in list(el._children.values()):
        child.render()


class _Assets(MacroElement):
    """Every script and style of the page, inlined into the document head."""

    _CSS = (
        "leaflet/leaflet.css",
        "markercluster/MarkerCluster.css",
        "markercluster/MarkerCluster.Default.css",
        "fullscreen/Control.FullScreen.css",
        "polylinemeasure/Leaflet.PolylineMeasure.css",
        "siting/siting_map.css",
    )
    _JS = (
        "leaflet/leaflet.js",
        "markercluster/leaflet.markercluster.js",
        "fullscreen/Control.FullScreen.umd.js",
        "polylinemeasure/Leaflet.PolylineMeasure.js",
        "siting/siting_map.js",
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "SitingAssets"

    def render(self, **kwargs: Any) -> None:
        _render_raw(self, header=_assets_html(self._CSS, self._JS), script=None)


def _assets_html(css: Iterable[str], js: Iterable[str]) -> str:
    parts: list[str] = []
    for rel in css:
        text = (ASSETS_DIR / rel).read_text(encoding="utf-8")
        if rel == "leaflet/leaflet.css":
            text = _inline_css_images(text, ASSETS_DIR / "leaflet")
        parts.append(f"<style>/* {rel} */\n{text}\n</style>")
    for rel in js:
        text = (ASSETS_DIR / rel).read_text(encoding="utf-8")
        text = text.replace("</script", "<\\/script")
        parts.append(f"<script>/* {rel} */\n{text}\n</script>")
    return "\n".join(parts)


def _inline_css_images(css: str, root: Path) -> str:
    """Replace url(images/x.png) by data URIs for the images we ship; drop the others."""
    for name in ("layers.png", "layers-2x.png"):
        data = base64.b64encode((root / "images" / name).read_bytes()).decode("ascii")
        css = css.replace(f"url(images/{name})", f"url(data:image/png;base64,{data})")
    return css.replace("url(images/marker-icon.png)", "none")


class _RawLayer(Layer):
    """A layer whose script is built as a plain string (see :func:`_render_raw`)."""

    def _script(self) -> str:
        raise NotImplementedError

    def render(self, **kwargs: Any) -> None:
        if self.show:
            self.add_child(
                ElementAddToElement(
                    element_name=self.get_name(), element_parent_name=self._parent.get_name()
                ),
                name=self.get_name() + "_add",
            )
        _render_raw(self, header=None, script=self._script())


class _JsLayer(_RawLayer):
    """A layer made by the siting runtime from JSON data: ``SitingMap.<fn>(data, spec)``."""

    def __init__(
        self, fn: str, data: Any, spec: Mapping[str, Any], *, name: str, show: bool = True,
        control: bool = True,
    ) -> None:
        super().__init__(name=name, overlay=True, control=control, show=show)
        self._name = "SitingLayer"
        self.fn = fn
        self.data_json = _js_json(data)
        self.spec_json = _js_json(dict(spec))

    def _script(self) -> str:
        return (
            f"var {self.get_name()} = SitingMap.{self.fn}(\n"
            f"{self.data_json},\n{self.spec_json});\n"
        )


class _SiteFilter(_RawLayer):
    """A layer-control entry that shows or hides the sites of one class or one year."""

    def __init__(self, sites: _JsLayer, kind: str, value: str, *, name: str) -> None:
        super().__init__(name=name, overlay=True, control=True, show=True)
        self._name = "SiteFilter"
        self.sites = sites.get_name()
        self.kind_json = _js_json(kind)
        self.value_json = _js_json(str(value))

    def _script(self) -> str:
        return (
            f"var {self.get_name()} = SitingMap.siteFilter("
            f"{self.sites}, {self.kind_json}, {self.value_json});\n"
        )


class _GcjTiles(_RawLayer):
    """A base layer of GCJ-02 tiles, each tile placed where its content is in WGS84."""

    def __init__(self, url: str, *, name: str, attribution: str, subdomains: str,
                 show: bool) -> None:
        super().__init__(name=name, overlay=False, control=True, show=show)
        self._name = "GcjTiles"
        self.url_json = _js_json(url)
        self.options_json = _js_json(
            {"attribution": attribution, "subdomains": subdomains, "maxZoom": 18}
        )

    def _script(self) -> str:
        return (
            f"var {self.get_name()} = SitingMap.gcjTileLayer("
            f"{self.url_json}, {self.options_json});\n"
        )


class _LayerControl(folium.LayerControl):
    """folium's layer control, written with JSON-escaped layer names."""

    def render(self, **kwargs: Any) -> None:
        self.reset()
        for item in self._parent._children.values():
            if isinstance(item, Layer) and item.control:
                target = self.overlays if item.overlay else self.base_layers
                target[item.layer_name] = item.get_name()
        base = ",".join(f"{_js_json(k)}: {v}" for k, v in self.base_layers.items())
        over = ",".join(f"{_js_json(k)}: {v}" for k, v in self.overlays.items())
        script = (
            f"var {self.get_name()}_layers = {{\n base_layers : {{{base}}},\n"
            f" overlays : {{{over}}},\n}};\n"
            f"var {self.get_name()} = L.control.layers({self.get_name()}_layers.base_layers, "
            f"{self.get_name()}_layers.overlays, {_js_json(self.options)})"
            f".addTo({self._parent.get_name()});\n"
        )
        _render_raw(self, header=None, script=script)


class _Controls(MacroElement):
    """Fullscreen, measure, search, legend and the headline box."""

    def __init__(self, *, title: str, info: list[list[str]], legend: list[dict[str, Any]]):
        super().__init__()
        self._name = "SitingControls"
        self.title_json = _js_json(title)
        self.info_json = _js_json(info)
        self.legend_json = _js_json(legend)

    def render(self, **kwargs: Any) -> None:
        script = f"""(function (map) {{
    map.addControl(new L.Control.FullScreen({{position: 'topleft'}}));
    L.control.polylineMeasure({{position: 'topleft', unit: 'kilometres', showBearings: false,
        clearMeasurementsOnStop: false, showClearControl: true}}).addTo(map);
    SitingMap.search(map);
    SitingMap.info(map, {self.title_json}, {self.info_json});
    SitingMap.legend(map, {self.legend_json}, 'Legend 图例');
}}({self._parent.get_name()}));
"""
        _render_raw(self, header=None, script=script)


# ----------------------------------------------------------------------------------------------
# building the map


def _base_map(study_area: gpd.GeoDataFrame, *, base: str) -> folium.Map:
    minx, miny, maxx, maxy = study_area.total_bounds
    m = folium.Map(
        location=[(miny + maxy) / 2, (minx + maxx) / 2],
        zoom_start=11,
        tiles=None,
        prefer_canvas=True,
        control_scale=True,
    )
    # No CDN: folium's default scripts and styles are replaced by the inlined assets.
    m.default_js = []
    m.default_css = []
    m.get_root().header.add_child(
        Element('<meta name="referrer" content="strict-origin-when-cross-origin">'),
        name="referrer",
    )
    _Assets().add_to(m)
    for key in ("osm", "amap"):
        url, attr, sub, datum = BASE_LAYERS[key]
        if datum == "GCJ-02":
            _GcjTiles(url, name=_BASE_NAMES[key], attribution=attr, subdomains=sub,
                      show=key == base).add_to(m)
        else:
            folium.TileLayer(url, name=_BASE_NAMES[key], attr=attr, subdomains=sub,
                             max_zoom=19, show=key == base).add_to(m)
    m.fit_bounds([[miny, minx], [maxy, maxx]])
    return m


def _add_sites(m: folium.Map, sites: gpd.GeoDataFrame, towns: gpd.GeoDataFrame) -> _JsLayer:
    sites = sites.copy()
    sites["class_label"] = _class_label(sites["site_class"])
    sites["town"] = _town_labels(sites["town_id"], towns)
    gain = pd.to_numeric(sites["marginal_gain"], errors="coerce")
    sites["gain_rank"] = gain.rank(ascending=False, method="min")
    years = pd.to_numeric(sites["rollout_year"], errors="coerce").astype("Int64").astype("string")
    sites["rollout_year"] = years.fillna("unscheduled")
    data = _point_data(
        sites,
        plain=("candidate_id", "name", "height_m", "cost", "existing", "marginal_gain",
               "population_new", "gain_rank"),
        encoded=("site_class", "class_label", "source", "owner", "responsible_unit", "band",
                 "rollout_year", "town"),
    )  # fmt: skip
    present = sites["site_class"].astype(str)
    spec = {"styles": _class_styles(present.unique()), "fields": _SITE_FIELDS}
    layer = _JsLayer("sites", data, spec, name="Selected sites 规划站点", control=False)
    layer.add_to(m)
    counts = present.value_counts()
    order = [c for c in SITE_CLASSES if c in counts.index]
    order += sorted(c for c in counts.index if c not in SITE_CLASSES)
    for cls in order:
        label = SITE_CLASSES.get(cls, (cls, ""))[0]
        _SiteFilter(layer, "cls", cls, name=f"Sites: {label} ({counts[cls]:,})").add_to(m)
    ycounts = sites["rollout_year"].value_counts().sort_index()
    for year, n in ycounts.items():
        _SiteFilter(layer, "year", str(year), name=f"Sites rolled out in {year} ({n:,})").add_to(m)
    return layer


def _add_candidates(
    m: folium.Map, candidates: gpd.GeoDataFrame, towns: gpd.GeoDataFrame
) -> None:
    cands = candidates.copy()
    cands["class_label"] = _class_label(cands["site_class"])
    cands["town"] = _town_labels(cands["town_id"], towns)
    data = _point_data(
        cands,
        plain=("candidate_id", "name", "height_m", "cost", "selected"),
        encoded=("site_class", "class_label", "source", "owner", "responsible_unit", "town"),
    )
    spec = {
        "styles": _class_styles(cands["site_class"].astype(str).unique()),
        "fields": _CANDIDATE_FIELDS,
    }
    name = f"Candidate sites 候选站址 ({len(cands):,}, clustered)"
    _JsLayer("candidates", data, spec, name=name, show=False).add_to(m)


def _add_uncovered(
    m: folium.Map, demand: gpd.GeoDataFrame, towns: gpd.GeoDataFrame, *, max_points: int
) -> None:
    covered = demand["covered"].fillna(False).astype(bool).to_numpy()
    unc = demand.loc[~covered]
    if "population" in unc and (unc["population"] > 0).any():
        unc = unc.loc[unc["population"] > 0]  # hot spots: where people are left uncovered
    n_all = len(unc)
    unc = unc.sort_values("weight", ascending=False, kind="stable").head(max_points).copy()
    unc["town"] = _town_labels(unc["town_id"], towns)
    w = pd.to_numeric(unc["weight"], errors="coerce").fillna(0.0).to_numpy()
    radius = _radius(w)
    data = _point_data(
        unc, plain=("cell_id", "population", "weight"),
        encoded=("town", "zone_id", "service_level"),
    )
    data["r"] = radius.tolist()
    shown = f"{len(unc):,}" if len(unc) == n_all else f"heaviest {len(unc):,} of {n_all:,}"
    name = f"Uncovered demand 未覆盖需求 ({shown} cells)"
    spec = {"color": _UNCOVERED_COLOUR, "fields": _DEMAND_FIELDS}
    _JsLayer("points", data, spec, name=name, show=True).add_to(m)


def _radius(weight: np.ndarray) -> np.ndarray:
    """Circle radius 1.5..4.5 px by weight rank (robust to any weight scale)."""
    if weight.size == 0:
        return np.empty(0)
    ranks = pd.Series(weight).rank(pct=True).to_numpy()
    return np.round(1.5 + 3.0 * ranks, 1)


def _add_zones(m: folium.Map, zones: gpd.GeoDataFrame) -> None:
    z = zones.reset_index(drop=True)
    colour = _ramp_colour(z["covered_fraction"])
    met = z["met"].fillna(False).astype(bool)
    lines = z.geometry.geom_type.str.contains("Line").fillna(False)
    styles = [
        {
            "color": c if ln else ("#1a9850" if ok else "#b2182b"),
            "weight": 6 if ln else 2.5,
            "dashArray": None if ok else "6 4",
            "fillColor": c,
            "fillOpacity": 0.45,
            "opacity": 0.95,
        }
        for c, ok, ln in zip(colour, met, lines, strict=True)
    ]
    cols = [c for c in ("zone_id", "name", "name_en", "kind", "service_level", "min_coverage",
                        "covered_fraction", "met", "sites_serving", "n_cells") if c in z.columns]
    fc = _feature_collection(z, z[cols], styles)
    spec = {"title": "name", "fields": _ZONE_FIELDS, "search": "name", "search_alt": "zone_id",
            "kind": "zone"}
    n_met = int(met.sum())
    name = f"Key zones 重点区域 ({n_met} of {len(z)} met)"
    _JsLayer("geo", fc, spec, name=name, show=True).add_to(m)


def _add_towns(m: folium.Map, towns: gpd.GeoDataFrame) -> None:
    t = towns.reset_index(drop=True)
    colour = _ramp_colour(t["coverage"])
    styles = [
        {"color": "#555555", "weight": 1.2, "fillColor": c, "fillOpacity": 0.12, "opacity": 0.8}
        for c in colour
    ]
    cols = [c for c in ("town_id", "name", "name_en", "population", "covered_population",
                        "coverage", "n_sites", "cost") if c in t.columns]
    fc = _feature_collection(t, t[cols], styles)
    spec = {"title": "name", "fields": _TOWN_FIELDS, "search": "name", "search_alt": "name_en",
            "kind": "town"}
    _JsLayer("geo", fc, spec, name=f"Towns 街镇 ({len(t)})", show=True).add_to(m)


def _add_study_area(m: folium.Map, study_area: gpd.GeoDataFrame) -> None:
    folium.GeoJson(
        study_area[["geometry"]].__geo_interface__,
        name="Study area 规划范围",
        style_function=lambda _f: {
            "color": "#222222", "weight": 2, "dashArray": "8 6", "fill": False,
        },
        interactive=False,
        control=False,
    ).add_to(m)


def _add_overlay(m: folium.Map, plan: MapPlan, *, opacity: float) -> None:
    img = _overlay_image(plan)
    if img is None:
        return
    folium.raster_layers.ImageOverlay(
        image=img.data_url,
        bounds=img.bounds,
        name=img.name,
        opacity=opacity,
        interactive=False,
        zindex=1,
        show=True,
    ).add_to(m)


def _add_controls(m: folium.Map, plan: MapPlan, sites: _JsLayer) -> None:
    stats = dict(getattr(plan, "stats", {}) or {})
    solve = dict(getattr(plan, "solve", {}) or {})
    info = [
        ["Sites 站点", _fmt_int(stats.get("n_sites", len(plan.sites)))],
        ["New sites 新建", _fmt_int(stats.get("n_new_sites"))],
        ["Cost 造价", "CNY " + _fmt_int(stats.get("cost"))],
        ["Coverage 人口覆盖率", _fmt_pct(stats.get("coverage"))],
        ["Status 求解状态", _solve_text(solve)],
    ]
    legend = _legend_items(plan)
    _Controls(title=str(plan.name), info=info, legend=legend).add_to(m)


def _fmt_int(v: Any) -> str:
    try:
        return f"{float(v):,.0f}"
    except (TypeError, ValueError):
        return "–"


def _fmt_pct(v: Any) -> str:
    try:
        return f"{100 * float(v):.1f} %"
    except (TypeError, ValueError):
        return "–"


def _solve_text(solve: Mapping[str, Any]) -> str:
    status = str(solve.get("status", "–"))
    gap = solve.get("gap")
    try:
        return f"{status}, gap {100 * float(gap):.2f} %" if gap is not None else status
    except (TypeError, ValueError):
        return status


def _legend_items(plan: MapPlan) -> list[dict[str, Any]]:
    present = set(plan.sites["site_class"].astype(str)) | set(
        plan.candidates["site_class"].astype(str)
    )
    items: list[dict[str, Any]] = [{"type": "head", "label": "Site classes 站点类型"}]
    for cls, (label, colour) in SITE_CLASSES.items():
        if cls in present:
            items.append({"type": "dot", "color": colour, "label": label})
    for cls in sorted(present - set(SITE_CLASSES)):
        items.append({"type": "dot", "color": _OTHER_CLASS_COLOUR, "label": cls})
    items += [
        {"type": "dot", "color": "#999999", "stroke": "#000000",
         "label": "black ring: existing site 现有站"},
        {"type": "dot", "color": _UNCOVERED_COLOUR, "label": "Uncovered demand 未覆盖需求"},
        {"type": "head", "label": "Key zones and towns: share covered 覆盖率"},
        {"type": "ramp", "colors": _RAMP, "lo": "0 %", "hi": "100 %"},
        {"type": "line", "color": "#1a9850", "label": "zone target met 达标"},
        {"type": "line", "color": "#b2182b", "dash": True, "label": "zone target not met 未达标"},
    ]  # fmt: skip
    overlay = _overlay_legend(plan)
    if overlay:
        items += overlay
    return items


# ----------------------------------------------------------------------------------------------
# coverage / RSRP image


@dataclass(frozen=True)
class _Image:
    data_url: str
    bounds: list[list[float]]
    name: str


def _overlay_mode(plan: MapPlan) -> str | None:
    rsrp_path = getattr(plan, "rsrp_path", None)
    if rsrp_path is not None:
        return "rsrp_tif"
    if plan.demand.empty:
        return None
    if "best_rsrp_dbm" in plan.demand.columns and np.isfinite(
        pd.to_numeric(plan.demand["best_rsrp_dbm"], errors="coerce")
    ).any():
        return "rsrp"
    return "coverage"


def _overlay_legend(plan: MapPlan) -> list[dict[str, Any]]:
    mode = _overlay_mode(plan)
    if mode is None:
        return []
    if mode == "coverage":
        return [
            {"type": "head", "label": "Coverage overlay 覆盖图层"},
            {"type": "dot", "color": _COVER_COLOURS[2], "label": "served by 2+ sites"},
            {"type": "dot", "color": _COVER_COLOURS[1], "label": "served by 1 site"},
            {"type": "dot", "color": _COVER_COLOURS[0], "label": "not covered"},
        ]
    lo, hi = _RSRP_RANGE
    return [
        {"type": "head", "label": "Best-server RSRP 最强参考信号接收功率"},
        {"type": "ramp", "colors": list(_RSRP_COLOURS), "lo": f"{lo:.0f} dBm",
         "hi": f"{hi:.0f} dBm"},
    ]


_COVER_COLOURS = ("#d73027", "#a6d96a", "#1a9850")
_RSRP_COLOURS = ("#d73027", "#fc8d59", "#fee08b", "#91cf60", "#1a9850", "#006837")


def _overlay_image(plan: MapPlan) -> _Image | None:
    mode = _overlay_mode(plan)
    if mode is None:
        return None
    if mode == "rsrp_tif":
        grid, transform, crs = _read_rsrp(Path(plan.rsrp_path))
        rgba_fn, name = _rsrp_rgba, "RSRP overlay 信号强度 (GeoTIFF)"
    else:
        column = "best_rsrp_dbm" if mode == "rsrp" else "n_serving"
        grid, transform, crs = _grid_from_demand(plan.demand, column, plan.cell_size_m)
        if mode == "rsrp":
            rgba_fn, name = _rsrp_rgba, "RSRP overlay 信号强度"
        else:
            rgba_fn, name = _coverage_rgba, "Coverage overlay 覆盖图层"
    merc, bounds = _to_web_mercator(grid, transform, crs)
    png = _png_bytes(rgba_fn(merc))
    url = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    return _Image(url, bounds, name)


_MAX_GRID = 4000  # pixels per side of the rendered overlay


def _grid_from_demand(
    demand: gpd.GeoDataFrame, column: str, cell_size: float
) -> tuple[np.ndarray, Any, Any]:
    """Rasterise demand cell centres (a regular grid) into a float32 array (NaN = no cell)."""
    from affine import Affine

    if demand.crs is None or not demand.crs.is_projected:
        raise LayerError(
            f"plan.demand must be in a projected CRS to draw the overlay, got {demand.crs}"
        )
    xy = shapely.get_coordinates(demand.geometry.to_numpy())
    size = float(cell_size) if cell_size and cell_size > 0 else 100.0
    x0, y1 = xy[:, 0].min() - size / 2, xy[:, 1].max() + size / 2
    span = max(xy[:, 0].max() - x0, y1 - xy[:, 1].min()) + size
    size = max(size, span / _MAX_GRID)
    col = np.floor((xy[:, 0] - x0) / size).astype(np.int64)
    row = np.floor((y1 - xy[:, 1]) / size).astype(np.int64)
    grid = np.full((row.max() + 1, col.max() + 1), np.nan, dtype=np.float32)
    vals = pd.to_numeric(demand[column], errors="coerce").to_numpy(dtype="float32")
    order = np.argsort(vals, kind="stable")  # the best value wins where cells share a pixel
    grid[row[order], col[order]] = vals[order]
    return grid, Affine(size, 0.0, x0, 0.0, -size, y1), demand.crs


def _read_rsrp(path: Path) -> tuple[np.ndarray, Any, Any]:
    import rasterio
    from affine import Affine

    try:
        with rasterio.open(path) as src:
            factor = max(1, int(np.ceil(max(src.width, src.height) / _MAX_GRID)))
            shape = (max(1, src.height // factor), max(1, src.width // factor))
            band = src.read(1, out_shape=shape, masked=True).astype("float32")
            west, south, east, north = src.bounds
            transform = Affine((east - west) / shape[1], 0.0, west,
                               0.0, -(north - south) / shape[0], north)
            crs = src.crs
    except rasterio.errors.RasterioIOError as exc:
        raise LayerError(
            f"cannot read the RSRP GeoTIFF {path}: {exc}; check plan.rsrp_path"
        ) from exc
    if crs is None:
        raise LayerError(f"the RSRP GeoTIFF {path} has no CRS; write it with its CRS")
    return band.filled(np.nan), transform, crs


def _to_web_mercator(grid: np.ndarray, transform: Any, crs: Any) -> tuple[np.ndarray, list]:
    """Warp a grid to EPSG:3857 (what Leaflet stretches an image overlay in)."""
    from rasterio.transform import array_bounds
    from rasterio.warp import Resampling, calculate_default_transform, reproject

    h, w = grid.shape
    left, bottom, right, top = array_bounds(h, w, transform)
    dst_tf, dw, dh = calculate_default_transform(
        crs, "EPSG:3857", w, h, left=left, bottom=bottom, right=right, top=top
    )
    out = np.full((dh, dw), np.nan, dtype=np.float32)
    reproject(
        grid, out, src_transform=transform, src_crs=crs, dst_transform=dst_tf,
        dst_crs="EPSG:3857", resampling=Resampling.nearest, src_nodata=np.nan, dst_nodata=np.nan,
    )  # fmt: skip
    from pyproj import Transformer

    tr = Transformer.from_crs("EPSG:3857", MAP_CRS, always_xy=True)
    x0, y1, x1, y0 = array_bounds(dh, dw, dst_tf)
    lon0, lat0 = tr.transform(x0, y0)
    lon1, lat1 = tr.transform(x1, y1)
    return out, [[min(lat0, lat1), min(lon0, lon1)], [max(lat0, lat1), max(lon0, lon1)]]


def _hex_rgb(colours: Iterable[str]) -> np.ndarray:
    return np.array([[int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in colours], dtype=np.uint8)


def _coverage_rgba(grid: np.ndarray) -> np.ndarray:
    """n_serving -> colour: 0 red, 1 light green, 2+ green; NaN transparent."""
    rgba = np.zeros((*grid.shape, 4), dtype=np.uint8)
    ok = np.isfinite(grid)
    level = np.clip(np.nan_to_num(grid, nan=0.0), 0, 2).astype(int)
    rgba[..., :3] = _hex_rgb(_COVER_COLOURS)[level]
    rgba[..., 3] = np.where(ok, np.where(level == 0, 150, 170), 0)
    return rgba


def _rsrp_rgba(grid: np.ndarray) -> np.ndarray:
    """RSRP in dBm -> colour ramp over _RSRP_RANGE; NaN transparent."""
    lo, hi = _RSRP_RANGE
    ok = np.isfinite(grid)
    t = np.clip((np.nan_to_num(grid, nan=lo) - lo) / (hi - lo), 0.0, 1.0)
    stops = _hex_rgb(_RSRP_COLOURS).astype(np.float64)
    pos = t * (len(stops) - 1)
    i0 = np.floor(pos).astype(int).clip(0, len(stops) - 2)
    frac = (pos - i0)[..., None]
    rgb = stops[i0] * (1 - frac) + stops[i0 + 1] * frac
    rgba = np.zeros((*grid.shape, 4), dtype=np.uint8)
    rgba[..., :3] = np.round(rgb).astype(np.uint8)
    rgba[..., 3] = np.where(ok, 170, 0)
    return rgba


def _png_bytes(rgba: np.ndarray) -> bytes:
    from matplotlib import image as mpimg

    buf = io.BytesIO()
    mpimg.imsave(buf, rgba, format="png")
    return buf.getvalue()


# ----------------------------------------------------------------------------------------------
# writing


def _write_atomic(path: Path, data: bytes) -> Path:
    """Write bytes to a temporary file beside ``path`` and rename it into place."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise OutputError(
            f"cannot write the map to {path}: {exc}; choose a writable folder"
        ) from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OutputError(
            f"cannot write the map to {path}: {exc}; choose a writable folder"
        ) from exc
    logger.info("wrote map %s (%.1f MB)", path, len(data) / 1e6)
    return path
