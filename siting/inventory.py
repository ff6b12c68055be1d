"""Tabular inventories: CSV and XLSX registries of poles and sites.

Street-lighting offices, the police and operators keep their assets in
spreadsheets: one row per pole or site, coordinates in two columns, headers
often in Chinese. :func:`read_inventory` turns such a table into a point layer:

- columns are renamed with the layer's ``columns:`` mapping;
- coordinate columns are the configured ``x:`` / ``y:``, or, when those are
  absent, the first recognised alias (:data:`X_ALIASES`, :data:`Y_ALIASES`:
  ``lon``, ``lng``, ``longitude``, ``经度``, ``东经`` ... and ``lat``,
  ``latitude``, ``纬度``, ``北纬`` ...);
- x/y are in the layer's ``crs:`` (default EPSG:4326 lon/lat);
- values that are not lon/lat degrees either way round are refused (lon/lat
  given the wrong way round are reported with the fix by the study-area check);
- duplicate rows (same ID, or same location) fail or are dropped with a count,
  per the layer's ``duplicates:`` setting;
- CSV files in UTF-8 (with or without BOM) and GB18030/GBK (common for
  spreadsheets exported in China) are read.

Points outside the study area are handled by :func:`siting.layers.load_layers`
(``outside: error|drop``).
"""

from __future__ import annotations

import logging
import warnings
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS

from siting._errors import LayerError
from siting.config import LayerSource

__all__ = [
    "INVENTORY_SUFFIXES",
    "X_ALIASES",
    "Y_ALIASES",
    "drop_duplicates",
    "read_inventory",
    "read_table",
]

log = logging.getLogger(__name__)

#: File suffixes read as tables.
INVENTORY_SUFFIXES: tuple[str, ...] = (".csv", ".txt", ".xlsx", ".xlsm")
#: Column names recognised as the x / longitude column (case-insensitive).
X_ALIASES: tuple[str, ...] = (
    "lon",
    "lng",
    "long",
    "longitude",
    "x",
    "经度",
    "东经",
    "经度(°)",
    "经度坐标",
    "gps经度",
)
#: Column names recognised as the y / latitude column (case-insensitive).
Y_ALIASES: tuple[str, ...] = (
    "lat",
    "latitude",
    "y",
    "纬度",
    "北纬",
    "纬度(°)",
    "纬度坐标",
    "gps纬度",
)
#: ID column of each point layer (for duplicate checks).
ID_COLUMNS: dict[str, str] = {"poles": "pole_id", "existing_sites": "site_id"}
_ENCODINGS = ("utf-8-sig", "gb18030")
#: Two points closer than this (degrees, about 1 cm) count as the same location.
_SAME_PLACE_DEG = 1e-7


def read_table(path: Path, *, sheet: str | int | None = None, name: str = "layer") -> pd.DataFrame:
    """Read a CSV or XLSX table.

    Parameters
    ----------
    path
        The file.
    sheet
        Worksheet name or 0-based position (XLSX only; default the first).
    name
        Layer name for messages.

    Returns
    -------
    pandas.DataFrame
        The rows, headers stripped of surrounding spaces.

    Raises
    ------
    LayerError
        If the file cannot be read, the sheet does not exist, or the table is empty.
    """
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        df = _read_xlsx(path, sheet=sheet, name=name)
    elif suffix in (".csv", ".txt"):
        if sheet is not None:
            raise LayerError(
                f"layer {name!r}: `sheet:` is set but {path} is a CSV file; remove `sheet:`"
            )
        df = _read_csv(path, name=name)
    else:
        raise LayerError(
            f"layer {name!r}: {path} is not a table format; use one of {list(INVENTORY_SUFFIXES)}"
        )
    if len(df) == 0:
        raise LayerError(f"layer {name!r}: {path} has no data rows")
    df.columns = [str(c).strip() for c in df.columns]
    return df


def _read_csv(path: Path, *, name: str) -> pd.DataFrame:
    """Read a CSV trying UTF-8 then GB18030."""
    last: Exception | None = None
    for encoding in _ENCODINGS:
        try:
            return pd.read_csv(path, encoding=encoding)
        except UnicodeDecodeError as exc:
            last = exc
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise LayerError(f"layer {name!r}: cannot read CSV {path}: {exc}") from exc
    raise LayerError(
        f"layer {name!r}: cannot decode CSV {path} as UTF-8 or GB18030 ({last}); save it as UTF-8"
    )


def _read_xlsx(path: Path, *, sheet: str | int | None, name: str) -> pd.DataFrame:
    """Read one worksheet, naming the available sheets when it is missing."""
    try:
        book = pd.ExcelFile(path, engine="openpyxl")
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
        raise LayerError(
            f"layer {name!r}: {path} is not a readable XLSX workbook ({exc}); re-save it "
            "from the spreadsheet program as .xlsx"
        ) from exc
    with book:
        sheets = list(book.sheet_names)
        target = 0 if sheet is None else sheet
        if isinstance(target, int) and not 0 <= target < len(sheets):
            raise LayerError(
                f"layer {name!r}: {path} has no sheet number {target}; it has {len(sheets)} "
                f"sheet(s) {sheets}; set `sheet:` to one of them"
            )
        if isinstance(target, str) and target not in sheets:
            raise LayerError(
                f"layer {name!r}: {path} has no sheet {target!r}; its sheets are {sheets}; "
                "set `sheet:` to one of them"
            )
        return book.parse(target)


def _find_column(df: pd.DataFrame, wanted: str, aliases: tuple[str, ...]) -> str | None:
    """The configured column if present, else the first alias present."""
    if wanted in df.columns:
        return wanted
    lower = {str(c).lower(): c for c in df.columns}
    for alias in aliases:
        if alias.lower() in lower:
            return str(lower[alias.lower()])
    return None


def _coordinates(
    df: pd.DataFrame, source: LayerSource, name: str
) -> tuple[str, str, np.ndarray, np.ndarray]:
    """Locate and parse the coordinate columns."""
    xcol = _find_column(df, source.x, X_ALIASES)
    ycol = _find_column(df, source.y, Y_ALIASES)
    if xcol is None or ycol is None:
        missing = [w for w, c in ((source.x, xcol), (source.y, ycol)) if c is None]
        raise LayerError(
            f"layer {name!r}: {source.path} has no coordinate column(s) {missing}; set `x:` and "
            f"`y:` of the layer in the config (columns are {list(df.columns)})"
        )
    x = pd.to_numeric(df[xcol], errors="coerce").to_numpy(dtype=float)
    y = pd.to_numeric(df[ycol], errors="coerce").to_numpy(dtype=float)
    bad = ~(np.isfinite(x) & np.isfinite(y))
    if bad.any():
        rows = (np.flatnonzero(bad)[:5] + 2).tolist()
        raise LayerError(
            f"layer {name!r}: {int(bad.sum())} row(s) of {source.path} have missing or "
            f"non-numeric coordinates in {xcol!r}/{ycol!r} (file lines {rows}...); fix or "
            "remove them"
        )
    return xcol, ycol, x, y


def _check_lonlat(x: np.ndarray, y: np.ndarray, *, xcol: str, ycol: str, name: str) -> None:
    """Refuse coordinates that are not lon/lat degrees either way round.

    Rows that become valid when lon and lat are swapped pass here: the study
    area check of :func:`siting.layers.load_layers` reports them with the fix.
    """
    bad = (np.abs(y) > 90) | (np.abs(x) > 180)
    impossible = bad & ((np.abs(x) > 90) | (np.abs(y) > 180))
    if impossible.any():
        raise LayerError(
            f"layer {name!r}: {int(impossible.sum())} of {len(x)} row(s) have coordinates that "
            f"are not lon/lat degrees (columns {xcol!r}/{ycol!r}, e.g. "
            f"({x[impossible][0]}, {y[impossible][0]})); if they are projected metres set "
            "`crs:` of the layer (e.g. 'EPSG:32651')"
        )


def drop_duplicates(
    gdf: gpd.GeoDataFrame, *, name: str, id_column: str | None, policy: str
) -> gpd.GeoDataFrame:
    """Find rows repeating an ID or a location; fail or drop them.

    Parameters
    ----------
    gdf
        Point layer.
    name
        Layer name for messages.
    id_column
        Column of IDs (``None`` or absent: only locations are checked).
    policy
        ``"error"`` raises, ``"drop"`` keeps the first row of each group and
        warns with the count.

    Returns
    -------
    geopandas.GeoDataFrame
        The layer without duplicates.

    Raises
    ------
    LayerError
        With ``policy="error"`` when duplicates exist.
    """
    if policy not in ("error", "drop"):
        raise LayerError(f"duplicates policy {policy!r} is not one of ['error', 'drop']")
    same_id = np.zeros(len(gdf), dtype=bool)
    if id_column is not None and id_column in gdf.columns:
        same_id = gdf[id_column].astype(str).duplicated(keep="first").to_numpy()
    xy = np.round(gdf.geometry.get_coordinates().to_numpy() / _SAME_PLACE_DEG)
    same_place = pd.DataFrame(xy).duplicated(keep="first").to_numpy()
    n_id, n_place = int(same_id.sum()), int((same_place & ~same_id).sum())
    if n_id + n_place == 0:
        return gdf
    what = f"{n_id} row(s) repeat an ID of column {id_column!r}" if n_id else ""
    what += ("; " if n_id and n_place else "") + (
        f"{n_place} row(s) repeat the location of an earlier row" if n_place else ""
    )
    if policy == "error":
        first = gdf.index[same_id | same_place][:5].tolist()
        raise LayerError(
            f"layer {name!r}: {what} (rows {first}...); remove them or set "
            "`duplicates: drop` to keep the first of each"
        )
    warnings.warn(f"layer {name!r}: dropped duplicates: {what}", UserWarning, stacklevel=3)
    return gdf[~(same_id | same_place)]


def read_inventory(source: LayerSource, name: str) -> gpd.GeoDataFrame:
    """Read a CSV/XLSX registry of points into a layer in its own CRS.

    Parameters
    ----------
    source
        The layer source (``path``, ``sheet``, ``x``, ``y``, ``crs``,
        ``columns``, ``duplicates``).
    name
        The layer's name in the config (for messages and the ID column).

    Returns
    -------
    geopandas.GeoDataFrame
        One point per row, the coordinate columns removed, columns renamed,
        duplicates handled; CRS ``source.crs`` or EPSG:4326.

    Raises
    ------
    LayerError
        For unreadable files, a missing sheet or coordinate column, non-numeric
        or impossible coordinates (with a hint when lon/lat look swapped), or
        duplicates under ``duplicates: error``.
    """
    path = Path(source.path)
    df = read_table(path, sheet=source.sheet, name=name).rename(columns=source.columns)
    xcol, ycol, x, y = _coordinates(df, source, name)
    crs = CRS.from_user_input(source.crs or "EPSG:4326")
    if crs.is_geographic:
        _check_lonlat(x, y, xcol=xcol, ycol=ycol, name=name)
    df = df.drop(columns=[xcol, ycol])
    gdf = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(x, y), crs=crs)
    gdf = drop_duplicates(gdf, name=name, id_column=ID_COLUMNS.get(name), policy=source.duplicates)
    log.info("layer %r: %d row(s) read from %s", name, len(gdf), path)
    return gdf
