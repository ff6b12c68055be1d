"""``siting coords IN OUT --from gcj02 --to wgs84``: convert a vector file's coordinates."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import click
import geopandas as gpd

from siting._errors import LayerError, OutputError
from siting.coords import COORD_SYSTEMS, convert_frame


def _read(path: Path) -> gpd.GeoDataFrame:
    from pyogrio.errors import DataLayerError, DataSourceError

    try:
        gdf = gpd.read_file(path, engine="pyogrio")
    except (DataSourceError, DataLayerError) as exc:
        raise LayerError(f"cannot read {path}: {exc}; give a vector file GDAL reads") from exc
    if gdf.crs is None:
        raise LayerError(f"{path} has no CRS; lon/lat files need EPSG:4326 declared")
    return gdf


@click.command("coords")
@click.argument("src", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("dst", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--from",
    "from_",
    required=True,
    type=click.Choice(COORD_SYSTEMS, case_sensitive=False),
    help="Coordinate system of SRC.",
)
@click.option(
    "--to",
    "to",
    required=True,
    type=click.Choice(COORD_SYSTEMS, case_sensitive=False),
    help="Coordinate system to write.",
)
@click.option("--overwrite", is_flag=True, help="Replace DST if it exists.")
def coords(src: Path, dst: Path, from_: str, to: str, overwrite: bool) -> None:
    """Convert SRC between WGS84, GCJ-02 (Amap) and BD-09 (Baidu) and write DST.

    DST's format follows its extension (.gpkg, .geojson, .shp, .fgb, ...); it is
    written in EPSG:4326.
    """
    if dst.exists() and not overwrite:
        raise click.BadParameter(f"{dst} exists; pass --overwrite to replace it", param_hint="DST")
    if not dst.parent.is_dir():
        raise click.BadParameter(f"folder {dst.parent} does not exist", param_hint="DST")
    if dst.resolve() == src.resolve():
        raise click.BadParameter("DST must differ from SRC", param_hint="DST")
    gdf = _read(src)
    out = convert_frame(gdf, src=from_.lower(), dst=to.lower())
    folder = Path(tempfile.mkdtemp(prefix=".coords-", dir=dst.parent))
    try:
        out.to_file(folder / dst.name, engine="pyogrio")
        for part in folder.iterdir():  # a Shapefile is several files
            part.replace(dst.parent / part.name)
    except Exception as exc:
        raise OutputError(f"cannot write {dst}: {exc}") from exc
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    click.echo(f"{len(out)} feature(s) converted from {from_} to {to}: {dst.resolve()}")
