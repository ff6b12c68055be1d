"""Benchmark of the HTML map at district scale: build time, file size, browser load time.

Usage: python scripts/bench_map.py [--sites 3000] [--candidates 50000] [--size-km 21]
       [--cell 50] [--out DIR]

Builds a synthetic plan (the test fixture of tests/test_maps.py, scaled up), writes map.html
and opens it in headless Chromium with no network, printing:
  build s, file MB, time until the page is interactive (layer control present and the
  overlays drawn), time to open a site popup and to show the 50,000 clustered candidates.
"""

from __future__ import annotations

import socket
import sys
import tempfile
import time
from pathlib import Path

import click

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from siting import maps
from tests.test_maps import make_plan


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _browser_times(html: Path) -> dict[str, float]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait

    with tempfile.TemporaryDirectory(prefix="chrome-profile-") as profile:
        opts = webdriver.ChromeOptions()
        opts.binary_location = "/usr/bin/chromium"
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--window-size=1280,900",
                    f"--user-data-dir={profile}",
                    f"--proxy-server=http://127.0.0.1:{_free_port()}"):
            opts.add_argument(arg)
        drv = webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"),
                               options=opts)
        try:
            t0 = time.perf_counter()
            drv.get(html.as_uri())  # returns after the load event: all scripts have run
            WebDriverWait(drv, 60).until(lambda d: d.execute_script(
                "return !!document.querySelector('.leaflet-control-layers')"))
            # one animation frame after load: the canvas layers are painted
            drv.execute_async_script(
                "var done = arguments[0]; requestAnimationFrame(() => setTimeout(done, 0));")
            interactive = time.perf_counter() - t0
            nav = drv.execute_script(
                "var e = performance.getEntriesByType('navigation')[0];"
                "return [e.domContentLoadedEventEnd, e.loadEventEnd];")
            t1 = time.perf_counter()
            drv.execute_script(
                "var m = SitingMap.siteGroup._sitingMarkers[0]; m.openPopup();")
            popup = time.perf_counter() - t1
            t2 = time.perf_counter()
            drv.execute_async_script(
                """
                var done = arguments[0];
                var map = Object.values(window).find(v => v instanceof L.Map);
                var lc = Object.values(window).find(v => v instanceof L.Control.Layers);
                var cand = lc._layers.find(l => l.name.startsWith('Candidate')).layer;
                map.addLayer(cand);
                requestAnimationFrame(() => setTimeout(done, 0));
                """)
            candidates = time.perf_counter() - t2
        finally:
            drv.quit()
    return {"interactive_s": interactive, "dom_ms": nav[0], "load_ms": nav[1],
            "popup_s": popup, "candidates_on_s": candidates}


@click.command()
@click.option("--sites", default=3000, show_default=True)
@click.option("--candidates", default=50_000, show_default=True)
@click.option("--size-km", default=21.0, show_default=True)
@click.option("--cell", default=50.0, show_default=True, help="Demand cell size (m).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None)
def main(sites: int, candidates: int, size_km: float, cell: float, out: Path | None) -> None:
    """Print build time, size and browser timings of a district-scale map."""
    t = time.perf_counter()
    plan = make_plan(n_candidates=candidates, n_sites=sites, size_m=size_km * 1000,
                     cell_size_m=cell, radius_m=300.0)
    click.echo(f"plan: {len(plan.sites):,} sites, {len(plan.candidates):,} candidates, "
               f"{len(plan.demand):,} demand cells "
               f"({int((~plan.demand['covered']).sum()):,} uncovered) "
               f"in {time.perf_counter() - t:.1f} s")
    with tempfile.TemporaryDirectory() as tmp:
        path = (out or Path(tmp)) / "map.html"
        t = time.perf_counter()
        maps.write_map(plan, path)
        build = time.perf_counter() - t
        size = path.stat().st_size / 1e6
        click.echo(f"build + write: {build:.2f} s; map.html: {size:.2f} MB")
        times = _browser_times(path)
    click.echo(
        f"headless Chromium, no network: interactive after {times['interactive_s']:.2f} s "
        f"(DOMContentLoaded {times['dom_ms'] / 1000:.2f} s, load {times['load_ms'] / 1000:.2f} s); "
        f"site popup {times['popup_s'] * 1000:.0f} ms; "
        f"show {len(plan.candidates):,} clustered candidates {times['candidates_on_s']:.2f} s"
    )


if __name__ == "__main__":
    main()
