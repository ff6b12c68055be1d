"""Tests of siting.maps: the self-contained HTML map, checked as text and in a real browser."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Transformer
from scipy.spatial import cKDTree

from siting import maps
from siting._errors import ConfigError, LayerError, OutputError

CRS = "EPSG:32651"
HOSTILE = "<img src=x onerror=alert(1)>"
CLASSES = (
    "macro_rooftop", "macro_tower", "colocation", "small_cell_lamp", "small_cell_signal",
    "small_cell_cctv", "small_cell_utility", "small_cell_smart_pole",
)  # fmt: skip


# ----------------------------------------------------------------------------------------------
# a small plan following the Plan contract (shared with the other output tests)


@dataclass
class FakePlan:
    """The Plan contract of siting.plan, built here so the output tests stand alone."""

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
    targets: dict = field(default_factory=dict)
    rsrp_path: Path | None = None


def make_plan(
    *,
    n_candidates: int = 300,
    n_sites: int = 40,
    size_m: float = 4000.0,
    cell_size_m: float = 100.0,
    seed: int = 0,
    name: str = "测试方案 test plan",
    years: tuple[int, ...] = (2020, 2021),
    radius_m: float = 350.0,
) -> FakePlan:
    """A synthetic plan in Anting (Jiading) with Chinese and hostile names."""
    rng = np.random.default_rng(seed)
    x0, y0 = Transformer.from_crs("EPSG:4326", CRS, always_xy=True).transform(121.17, 31.28)
    x1, y1 = x0 + size_m, y0 + size_m
    study = gpd.GeoDataFrame(geometry=[shapely.box(x0, y0, x1, y1)], crs=CRS)
    xm, ym = (x0 + x1) / 2, (y0 + y1) / 2

    town_boxes = [shapely.box(x0, y0, xm, y1), shapely.box(xm, y0, x1, y1)]
    town_ids = np.array(["T01", "T02"])

    # candidates
    cx = rng.uniform(x0, x1, n_candidates)
    cy = rng.uniform(y0, y1, n_candidates)
    cls = rng.choice(CLASSES, n_candidates)
    source = np.where(
        np.char.startswith(cls.astype(str), "small"), "pole",
        np.where(cls == "colocation", "existing", "rooftop"),
    )  # fmt: skip
    ids = np.char.add("C", np.char.zfill(np.arange(n_candidates).astype(str), 5))
    names = np.char.add("安亭路灯 ", np.arange(n_candidates).astype(str)).astype(object)
    names[1] = HOSTILE
    cand = gpd.GeoDataFrame(
        {
            "candidate_id": ids,
            "site_class": cls,
            "source": source,
            "name": names,
            "owner": rng.choice(["嘉定区路灯所", "Shanghai Tower Co.", HOSTILE], n_candidates),
            "responsible_unit": rng.choice(["区建管委", "安亭镇", "Operator A"], n_candidates),
            "height_m": rng.uniform(6, 40, n_candidates).round(1),
            "band": "n78",
            "cost": rng.uniform(5e4, 5e5, n_candidates).round(0),
            "town_id": np.where(cx < xm, town_ids[0], town_ids[1]),
            "existing": cls == "colocation",
            "selected": False,
        },
        geometry=gpd.points_from_xy(cx, cy),
        crs=CRS,
    )
    pick = np.r_[1, rng.choice(np.arange(2, n_candidates), n_sites - 1, replace=False)]
    cand.loc[pick, "selected"] = True

    sites = cand.iloc[pick].drop(columns="selected").reset_index(drop=True)
    sites["rollout_year"] = np.resize(np.asarray(years), len(sites)).astype(int)
    sites["marginal_gain"] = np.sort(rng.uniform(1, 500, len(sites)))[::-1].round(1)
    sites["population_new"] = (sites["marginal_gain"] * 3).round(0)
    sites["status"] = "proposed"

    # demand grid
    gx, gy = np.meshgrid(
        np.arange(x0 + cell_size_m / 2, x1, cell_size_m),
        np.arange(y0 + cell_size_m / 2, y1, cell_size_m),
    )
    gx, gy = gx.ravel(), gy.ravel()
    tree = cKDTree(np.c_[sites.geometry.x, sites.geometry.y])
    n_serv = tree.query_ball_point(np.c_[gx, gy], radius_m, return_length=True)
    zone_poly = shapely.box(x0 + 300, y0 + 300, x0 + 1500, y0 + 1200)
    road = shapely.LineString([(x0 + 200, ym), (x1 - 200, ym + 300)])
    in_zone = shapely.contains_xy(zone_poly, gx, gy)
    pop = rng.gamma(2.0, 20.0, gx.size).round(1)
    demand = gpd.GeoDataFrame(
        {
            "cell_id": np.arange(gx.size, dtype="int64"),
            "population": pop,
            "weight": pop * np.where(in_zone, 3.0, 1.0),
            "town_id": np.where(gx < xm, town_ids[0], town_ids[1]),
            "zone_id": np.where(in_zone, "Z1", ""),
            "service_level": np.where(in_zone, "hotspot", "basic"),
            "k": np.where(in_zone, 1, 1),
            "covered": n_serv > 0,
            "n_serving": n_serv,
            "best_rsrp_dbm": np.full(gx.size, np.nan, dtype="float32"),
        },
        geometry=gpd.points_from_xy(gx, gy),
        crs=CRS,
    )

    zone_frac = float(demand.loc[in_zone, "covered"].mean())
    zones = gpd.GeoDataFrame(
        {
            "zone_id": ["Z1", "Z2"],
            "name": ["汽车城核心区 " + HOSTILE, "智能网联汽车测试道路"],
            "name_en": ["Automobile City core", "ICV test road"],
            "kind": ["industrial", "icv_road"],
            "service_level": ["hotspot", "v2x"],
            "min_coverage": [0.95, 1.0],
            "n_cells": [int(in_zone.sum()), 30],
            "covered_fraction": [zone_frac, 1.0],
            "met": [zone_frac >= 0.95, True],
            "sites_serving": [7, 4],
        },
        geometry=[zone_poly, road],
        crs=CRS,
    )

    town_cov = demand.groupby("town_id").apply(
        lambda d: (d["population"] * d["covered"]).sum(), include_groups=False
    )
    town_pop = demand.groupby("town_id")["population"].sum()
    town_sites = sites.groupby("town_id").size().reindex(town_ids, fill_value=0)
    town_cost = sites.groupby("town_id")["cost"].sum().reindex(town_ids, fill_value=0.0)
    towns = gpd.GeoDataFrame(
        {
            "town_id": town_ids,
            "name": ["安亭镇", "嘉定工业区 " + HOSTILE],
            "name_en": ["Anting", "Jiading Industrial Zone"],
            "population": town_pop.reindex(town_ids).to_numpy(),
            "covered_population": town_cov.reindex(town_ids).to_numpy(),
            "coverage": (town_cov / town_pop).reindex(town_ids).to_numpy(),
            "n_sites": town_sites.to_numpy(),
            "cost": town_cost.to_numpy(),
        },
        geometry=town_boxes,
        crs=CRS,
    )
    covered_pop = float((demand["population"] * demand["covered"]).sum())
    stats = {
        "n_sites": len(sites),
        "n_new_sites": int((~sites["existing"]).sum()),
        "cost": float(sites["cost"].sum()),
        "population": float(demand["population"].sum()),
        "covered_population": covered_pop,
        "coverage": covered_pop / float(demand["population"].sum()),
        "weighted_coverage": float((demand["weight"] * demand["covered"]).sum())
        / float(demand["weight"].sum()),
        "sites_by_class": sites["site_class"].value_counts().to_dict(),
        "sites_by_year": sites["rollout_year"].value_counts().sort_index().to_dict(),
    }
    solve = {
        "status": "feasible", "stop_reason": "time_limit", "objective": 1234.5, "bound": 1300.0,
        "bound_source": "lp_relaxation", "gap": 0.05, "solver": "cbc", "message": "ok",
    }  # fmt: skip
    return FakePlan(
        name=name, sites=sites, candidates=cand, demand=demand, zones=zones, towns=towns,
        study_area=study, stats=stats, solve=solve, cell_size_m=cell_size_m,
        targets={2020: 2000, 2021: 3000},
    )  # fmt: skip


@pytest.fixture(scope="module")
def plan() -> FakePlan:
    return make_plan()


@pytest.fixture(scope="module")
def map_html(plan: FakePlan, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return maps.write_map(plan, tmp_path_factory.mktemp("map") / "map.html")


# ----------------------------------------------------------------------------------------------
# the page as text


def _external_urls(text: str) -> set[str]:
    """URLs the page would load: src/href attributes and CSS url(), not tile templates."""
    found = set(re.findall(r"""(?:src|href)\s*=\s*["']?(https?:)?//[^"'\s>]+""", text))
    found |= set(re.findall(r"url\(\s*['\"]?(?:https?:)?//[^)]+\)", text))
    return {u for u in found if u}


def test_map_is_self_contained(map_html: Path) -> None:
    text = map_html.read_text(encoding="utf-8")
    assert "cdn.jsdelivr.net" not in text
    assert "cdnjs.cloudflare.com" not in text
    assert "code.jquery.com" not in text
    assert not re.findall(r"<script[^>]+src=", text)
    assert not re.findall(r"<link[^>]+stylesheet", text)
    assert "L.map(" in text and "SitingMap" in text


def test_hostile_names_never_reach_the_page_as_markup(map_html: Path, plan: FakePlan) -> None:
    text = map_html.read_text(encoding="utf-8")
    assert HOSTILE not in text
    assert "onerror=alert(1)" in text  # present, but only inside JSON strings as text
    assert "\\u003cimg src=x onerror=alert(1)\\u003e" in text


def test_chinese_text_is_kept_as_utf8(map_html: Path) -> None:
    text = map_html.read_text(encoding="utf-8")
    assert "安亭镇" in text and "智能网联汽车测试道路" in text
    assert "charset=UTF-8" in text


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"base": "google"}, "unknown base layer 'google'.*amap.*osm"),
        ({"max_uncovered": -1}, "max_uncovered must be an integer"),
        ({"overlay_opacity": 2.0}, "overlay_opacity must be between 0 and 1"),
    ],
)
def test_bad_options_are_refused(plan: FakePlan, options: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        maps.make_map(plan, **options)


def test_missing_columns_and_crs_are_all_reported(plan: FakePlan) -> None:
    bad = make_plan(n_candidates=20, n_sites=5)
    bad.sites = bad.sites.drop(columns=["owner", "band"])
    bad.towns = bad.towns.set_crs(None, allow_override=True)
    with pytest.raises(LayerError, match=r"plan.sites lacks column\(s\) \['owner', 'band'\].*"
                       r"plan.towns has no CRS"):
        maps.make_map(bad)


def test_write_map_refuses_unwritable_place(plan: FakePlan, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError, match="cannot write the map"):
        maps.write_map(plan, blocker / "map.html")
    assert list(tmp_path.iterdir()) == [blocker]


def _layer_names(text: str) -> list[str]:
    """Names in the layer control script (JSON strings before a layer variable)."""
    block = re.search(r"_layers = \{\s*base_layers : \{(.*?)\},\s*overlays : \{(.*?)\},\s*\};",
                      text, re.S)
    assert block, "no layer control in the page"
    pairs = re.findall(r'("(?:[^"\\]|\\.)*"): [a-z_0-9]+', block.group(1) + block.group(2))
    return [json.loads(p) for p in pairs]


def test_layer_control_lists_classes_years_and_layers(map_html: Path, plan: FakePlan) -> None:
    names = _layer_names(map_html.read_text(encoding="utf-8"))
    assert "OpenStreetMap" in names and "Amap 高德地图 (China)" in names
    for cls in plan.sites["site_class"].unique():
        label = maps.SITE_CLASSES[cls][0]
        assert any(n.startswith(f"Sites: {label} (") for n in names), label
    assert any(n.startswith("Sites rolled out in 2020") for n in names)
    assert any(n.startswith("Sites rolled out in 2021") for n in names)
    for prefix in ("Candidate sites", "Key zones", "Towns", "Uncovered demand",
                   "Coverage overlay"):
        assert any(n.startswith(prefix) for n in names), prefix


def test_uncovered_layer_is_capped(plan: FakePlan) -> None:
    m = maps.make_map(plan, max_uncovered=10)
    text = m.get_root().render()
    unc = ~plan.demand["covered"]
    if (plan.demand.loc[unc, "population"] > 0).any():
        unc &= plan.demand["population"] > 0
    n_unc = int(unc.sum())
    assert f"heaviest 10 of {n_unc:,}" in text


def test_overlay_uses_rsrp_when_present(tmp_path: Path) -> None:
    p = make_plan(n_candidates=30, n_sites=6)
    rsrp = np.linspace(-130, -70, len(p.demand)).astype("float32")
    p.demand["best_rsrp_dbm"] = rsrp
    names = _layer_names(maps.make_map(p).get_root().render())
    assert "RSRP overlay 信号强度" in names


def test_overlay_reads_geotiff(tmp_path: Path) -> None:
    import rasterio
    from affine import Affine

    p = make_plan(n_candidates=30, n_sites=6)
    x0, _, _, y1 = p.study_area.total_bounds
    arr = np.linspace(-130, -70, 40 * 40, dtype="float32").reshape(40, 40)
    tif = tmp_path / "rsrp.tif"
    with rasterio.open(tif, "w", driver="GTiff", width=40, height=40, count=1,
                       dtype="float32", crs=CRS, transform=Affine(100.0, 0.0, x0, 0.0, -100.0, y1),
                       nodata=np.nan) as dst:
        dst.write(arr, 1)
    p.rsrp_path = tif
    names = _layer_names(maps.make_map(p).get_root().render())
    assert "RSRP overlay 信号强度 (GeoTIFF)" in names


def test_overlay_image_is_warped_to_web_mercator() -> None:
    """A UTM grid of known cells lands inside the right lat/lon bounds."""
    p = make_plan(n_candidates=30, n_sites=6)
    img = maps._overlay_image(p)
    assert img is not None and img.data_url.startswith("data:image/png;base64,")
    lon0, lat0, lon1, lat1 = p.study_area.to_crs(4326).total_bounds
    (s, w), (n, e) = img.bounds
    assert s == pytest.approx(lat0, abs=2e-3) and n == pytest.approx(lat1, abs=2e-3)
    assert w == pytest.approx(lon0, abs=2e-3) and e == pytest.approx(lon1, abs=2e-3)


def test_empty_plan_layers_still_draw() -> None:
    p = make_plan(n_candidates=20, n_sites=5)
    p.sites = p.sites.iloc[:0]
    p.candidates = p.candidates.iloc[:0]
    p.zones = p.zones.iloc[:0]
    text = maps.make_map(p).get_root().render()
    assert "L.map(" in text


def test_same_plan_same_page(plan: FakePlan) -> None:
    a = maps.make_map(plan).get_root().render()
    b = maps.make_map(plan).get_root().render()
    strip = re.compile(r"_[0-9a-f]{32}")
    assert strip.sub("_", a) == strip.sub("_", b)


# ----------------------------------------------------------------------------------------------
# the page in a real browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory):
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    driver_path = "/usr/bin/chromedriver"
    if not (Path(chromium).exists() and Path(driver_path).exists()):
        if os.environ.get("CI") == "true":
            pytest.fail("chromium and chromedriver are required in CI (apt install chromium "
                        "chromium-driver)")
        pytest.skip("chromium or chromedriver not installed (apt install chromium "
                    "chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1280,900",
                f"--user-data-dir={tmp_path_factory.mktemp('chrome-profile')}",
                f"--proxy-server=http://127.0.0.1:{_free_port()}",
                "--proxy-bypass-list=<-loopback>"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service(executable_path=driver_path), options=opts)
    drv.set_page_load_timeout(30)
    yield drv
    drv.quit()


_TILE_HOSTS = ("tile.openstreetmap.org", "autonavi.com")


def _js_errors(drv) -> list[str]:
    errors = []
    for entry in drv.get_log("browser"):
        if entry["level"] != "SEVERE":
            continue
        msg = entry["message"]
        if "Failed to load resource" in msg or "net::ERR_" in msg:
            if any(h in msg for h in _TILE_HOSTS):
                continue
        errors.append(msg)
    return errors


@pytest.mark.browser
def test_map_in_headless_chromium(browser, map_html: Path, plan: FakePlan,
                                  tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    drv = browser
    drv.get(map_html.as_uri())
    WebDriverWait(drv, 20).until(
        lambda d: d.execute_script("return !!document.querySelector('.leaflet-control-layers')")
    )
    # the layer control lists the expected layers
    labels = [e.text for e in drv.find_elements(By.CSS_SELECTOR, ".leaflet-control-layers label")]
    assert any(t.startswith("Key zones") for t in labels)
    assert any(t.startswith("Candidate sites") for t in labels)
    assert any(t.startswith("Sites rolled out in 2020") for t in labels)
    # clicking the hostile-named site opens its popup, which shows the name as text
    hostile_id = plan.sites.loc[plan.sites["name"] == HOSTILE, "candidate_id"].iloc[0]
    drv.execute_script(
        """
        var map = Object.values(window).find(v => v instanceof L.Map);
        var m = SitingMap.siteGroup._sitingMarkers.find(
            mk => mk.getTooltip().getContent() === arguments[0]);
        map.setView(m.getLatLng(), 17, {animate: false});
        window.__alerted = false;
        window.alert = function () { window.__alerted = true; };
        """,
        hostile_id,
    )
    WebDriverWait(drv, 5).until(lambda d: d.execute_script(
        "var map = Object.values(window).find(v => v instanceof L.Map);"
        "return map.getZoom() === 17;"))
    point = drv.execute_script(
        """
        var map = Object.values(window).find(v => v instanceof L.Map);
        var m = SitingMap.siteGroup._sitingMarkers.find(
            mk => mk.getTooltip().getContent() === arguments[0]);
        var p = map.latLngToContainerPoint(m.getLatLng());
        var r = map.getContainer().getBoundingClientRect();
        return [r.left + p.x, r.top + p.y];
        """,
        hostile_id,
    )
    from selenium.webdriver.common.action_chains import ActionChains

    body = drv.find_element(By.TAG_NAME, "body")
    ActionChains(drv).move_to_element_with_offset(
        body, int(point[0] - body.size["width"] / 2), int(point[1] - body.size["height"] / 2)
    ).click().perform()
    WebDriverWait(drv, 5).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, ".leaflet-popup-content .siting-site")
    )
    popup = drv.find_element(By.CSS_SELECTOR, ".leaflet-popup-content")
    # the popup pans the map to fit itself; its title is visible text once the pan ends
    WebDriverWait(drv, 5).until(lambda d: hostile_id in popup.text)
    assert HOSTILE in popup.text  # shown as text
    assert not popup.find_elements(By.TAG_NAME, "img")
    assert drv.execute_script("return document.querySelectorAll('img[src=\"x\"]').length") == 0
    assert drv.execute_script("return window.__alerted") is False
    assert "Marginal gain" in popup.text and "Chosen because" in popup.text
    drv.save_screenshot(str(tmp_path / "map.png"))
    assert (tmp_path / "map.png").stat().st_size > 10_000
    errors = _js_errors(drv)
    assert not errors, errors
