"""``siting validate CONFIG``: check the config and every layer, report all problems."""

from __future__ import annotations

from pathlib import Path

import click

from siting.cli._options import config_argument
from siting.config import load_config
from siting.layers import load_layers


@click.command()
@config_argument
def validate(config: Path) -> None:
    """Check CONFIG and its layers; exit 1 listing every problem found."""
    cfg = load_config(config)
    layers = load_layers(cfg)
    counts = {
        name: len(getattr(layers, name))
        for name in ("towns", "parcels", "buildings", "poles", "existing_sites", "key_zones")
    }
    click.echo(f"{config}: configuration and layers are valid")
    for name, n in counts.items():
        click.echo(f"  {name:15s} {n:>8,d}")
