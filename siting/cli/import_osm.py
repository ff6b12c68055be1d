"""``siting import-osm FILE --out LAYERS.gpkg``: map an OSM extract to siting layers."""

from __future__ import annotations

from pathlib import Path

import click
import geopandas as gpd

from siting.osm import OSMLayers, clip_layers, download_osm, read_osm, write_osm_layers


def _read_area(path: Path | None) -> gpd.GeoDataFrame | None:
    """Read the optional area polygon file."""
    if path is None:
        return None
    from pyogrio.errors import DataLayerError, DataSourceError

    try:
        area = gpd.read_file(path, engine="pyogrio")
    except (DataSourceError, DataLayerError) as exc:
        raise click.BadParameter(f"cannot read {path}: {exc}", param_hint="--area") from exc
    if area.crs is None:
        raise click.BadParameter(f"{path} has no CRS; assign one", param_hint="--area")
    if len(area) == 0 or not area.geom_type.isin(["Polygon", "MultiPolygon"]).all():
        raise click.BadParameter(f"{path} must hold polygons", param_hint="--area")
    return area


@click.command("import-osm")
@click.argument(
    "file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="GeoPackage to write (one table per layer).",
)
@click.option(
    "--area",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Polygon file: keep only features intersecting it.",
)
@click.option("--place", default=None, help="Download this place from OSM instead of FILE.")
@click.option(
    "--cache",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Cache folder of downloads (with --place).",
)
@click.option("--overwrite", is_flag=True, help="Replace --out if it exists.")
def import_osm(
    file: Path | None,
    out: Path,
    area: Path | None,
    place: str | None,
    cache: Path | None,
    overwrite: bool,
) -> None:
    """Map FILE (.osm.pbf or .osm XML) to buildings, parcels, poles, existing_sites and pois.

    Prints the features per layer and what was dropped, with counts.
    """
    if (file is None) == (place is None):
        raise click.UsageError("give either FILE or --place (not both)")
    area_gdf = _read_area(area)
    if out.suffix.lower() != ".gpkg":
        raise click.BadParameter("must end in .gpkg", param_hint="--out")
    if out.exists() and not overwrite:
        raise click.BadParameter(
            f"{out} exists; pass --overwrite to replace it", param_hint="--out"
        )
    result: OSMLayers
    if place is not None:
        result = download_osm(place=place, cache_folder=cache)
        if area_gdf is not None:
            result = clip_layers(result, area_gdf)
    else:
        result = read_osm(file, area=area_gdf)
    write_osm_layers(result, out, overwrite=overwrite)
    click.echo(result.summary())
    click.echo(f"layers written to {out.resolve()}")
