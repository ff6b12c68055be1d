"""The embedded Jiading demo: where its configuration lives."""

from __future__ import annotations

from pathlib import Path

from siting._errors import ConfigError

__all__ = ["DEMO_CONFIG", "demo_config_path"]

DEMO_CONFIG = "jiading_demo.yaml"


def demo_config_path() -> Path:
    """Path of the demo configuration in the source checkout's ``data/`` folder.

    Returns
    -------
    pathlib.Path
        ``data/jiading_demo.yaml``.

    Raises
    ------
    ConfigError
        When siting runs from an installation without the source checkout.
    """
    path = Path(__file__).resolve().parents[1] / "data" / DEMO_CONFIG
    if not path.is_file():
        raise ConfigError(
            f"demo configuration {path} not found: the demo data ships with the source "
            "checkout; install siting with `pip install -e .` from a clone"
        )
    return path
