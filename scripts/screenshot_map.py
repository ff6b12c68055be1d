"""Screenshot a map.html in headless Chromium (no network: base tiles stay blank).

Usage: python scripts/screenshot_map.py MAP_HTML OUT.png [--width 1280] [--height 860]
       [--wait 2.0] [--online]

Uses the system chromium and chromedriver (Debian packages ``chromium`` and
``chromium-driver``); nothing is downloaded. With ``--online`` base tiles are fetched.
"""

from __future__ import annotations

import socket
import sys
import tempfile
import time
from pathlib import Path

import click

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def screenshot(
    map_html: Path, out_png: Path, *, width: int = 1280, height: int = 860, wait: float = 2.0,
    online: bool = False,
) -> Path:
    """Open ``map_html`` in headless Chromium and save a PNG screenshot to ``out_png``."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait

    with tempfile.TemporaryDirectory(prefix="chrome-profile-") as profile:
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        args = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                f"--window-size={width},{height}", f"--user-data-dir={profile}"]
        if not online:
            args.append(f"--proxy-server=http://127.0.0.1:{_free_port()}")
        for arg in args:
            opts.add_argument(arg)
        drv = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)
        try:
            drv.get(Path(map_html).resolve().as_uri())
            WebDriverWait(drv, 30).until(lambda d: d.execute_script(
                "return !!document.querySelector('.leaflet-control-layers')"))
            time.sleep(wait)
            out_png.parent.mkdir(parents=True, exist_ok=True)
            drv.save_screenshot(str(out_png))
        finally:
            drv.quit()
    return out_png


@click.command()
@click.argument("map_html", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("out_png", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--width", default=1280, show_default=True)
@click.option("--height", default=860, show_default=True)
@click.option("--wait", default=2.0, show_default=True, help="Seconds to wait after load.")
@click.option("--online", is_flag=True, help="Allow network access (base tiles).")
def main(map_html: Path, out_png: Path, width: int, height: int, wait: float,
         online: bool) -> None:
    """Save a screenshot of MAP_HTML to OUT_PNG."""
    out = screenshot(map_html, out_png, width=width, height=height, wait=wait, online=online)
    click.echo(f"wrote {out}")


if __name__ == "__main__":
    sys.exit(main())
