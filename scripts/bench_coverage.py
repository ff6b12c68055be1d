"""Benchmark: the radio RSRP matrix at district scale, buildings included.

Builds a synthetic district (a 50 m demand grid, three built-up cores with
buildings, small cells on poles, rooftop macros, towers and co-located sites),
then times the radio model behind ``siting.coverage.build_coverage``: candidate
reach, the k-d tree pair query, the building grid and the RSRP / LOS evaluation.
Prints time, peak memory and nnz per size, the largest size last.

Usage::

    python scripts/bench_coverage.py            # 4 sizes up to 202,500 cells x 50,000 sites
    python scripts/bench_coverage.py --sizes 0.25 0.5
"""

from __future__ import annotations

import argparse
import resource
import time

import geopandas as gpd
import numpy as np
import shapely

from siting.coverage import build_coverage
from siting.radio import RadioModel

CRS = "EPSG:32651"
X0, Y0 = 300_000.0, 3_460_000.0
SIDE_M = 22_500.0  # 450 x 450 cells of 50 m = 202,500 cells
CELL_M = 50.0
N_CANDIDATES = 50_000
N_BUILDINGS = 150_000
CORES = np.array([[0.3, 0.35, 2_500.0], [0.7, 0.6, 3_500.0], [0.45, 0.8, 1_800.0]])


def _core_density(xy: np.ndarray) -> np.ndarray:
    """0-1 built-up intensity from three Gaussian cores (relative to the full district)."""
    d = np.zeros(len(xy))
    for cx, cy, sigma in CORES:
        r2 = (xy[:, 0] - cx * SIDE_M) ** 2 + (xy[:, 1] - cy * SIDE_M) ** 2
        d = np.maximum(d, np.exp(-r2 / (2 * sigma**2)))
    return d


def _sample(rng: np.random.Generator, n: int, urban_share: float) -> np.ndarray:
    """``n`` points over the whole district, ``urban_share`` of them around the cores."""
    n_urban = int(n * urban_share)
    core = rng.integers(0, len(CORES), n_urban)
    urban = CORES[core, :2] * SIDE_M + rng.normal(size=(n_urban, 2)) * CORES[core, 2:3]
    rural = rng.uniform(0, SIDE_M, (n - n_urban, 2))
    return np.clip(np.vstack([urban, rural]), 1.0, SIDE_M - 1.0)


def _env(xy: np.ndarray) -> np.ndarray:
    dens = _core_density(xy)
    return np.where(dens > 0.5, "urban", np.where(dens > 0.15, "suburban", "rural"))


def make_district(scale: float, seed: int = 0) -> tuple[gpd.GeoDataFrame, ...]:
    """Demand, candidates and buildings over the south-west ``scale`` share of the area.

    The full district is drawn first (the same for every scale), then cropped.
    """
    rng = np.random.default_rng(seed)
    side = SIDE_M * np.sqrt(scale)
    g = np.arange(CELL_M / 2, side, CELL_M)
    gx, gy = np.meshgrid(g, g)
    dxy = np.column_stack([gx.ravel(), gy.ravel()])
    env = _env(dxy)
    n = len(dxy)
    level = rng.choice(["ordinary", "key"], n, p=[0.93, 0.07])
    demand = gpd.GeoDataFrame(
        {
            "cell_id": np.arange(n, dtype="int64"),
            "service_level": level,
            "rsrp_min_dbm": np.where(level == "key", -100.0, -110.0).astype("float32"),
            "indoor_share": np.where(env == "rural", 0.3, 0.8),
            "env": env,
        },
        geometry=shapely.points(dxy[:, 0] + X0, dxy[:, 1] + Y0),
        crs=CRS,
    )
    bxy = _sample(rng, N_BUILDINGS, 0.85)
    bxy = bxy[(bxy < side - 40).all(axis=1)]
    w, d = rng.uniform(12, 40, len(bxy)), rng.uniform(10, 25, len(bxy))
    height = np.clip(rng.lognormal(np.log(12), 0.6, len(bxy)), 4, 120)
    buildings = gpd.GeoDataFrame(
        {"building_id": [f"b{i}" for i in range(len(bxy))], "height_m": height},
        geometry=shapely.box(
            bxy[:, 0] + X0, bxy[:, 1] + Y0, bxy[:, 0] + w + X0, bxy[:, 1] + d + Y0
        ),
        crs=CRS,
    )
    cxy = _sample(rng, N_CANDIDATES, 0.7)
    cxy = cxy[(cxy < side).all(axis=1)]
    m = len(cxy)
    cls = rng.choice(
        [
            "small_cell_lamp",
            "small_cell_utility",
            "small_cell_smart_pole",
            "small_cell_signal",
            "macro_rooftop",
            "macro_tower",
            "colocation",
        ],
        m,
        p=[0.45, 0.15, 0.1, 0.1, 0.1, 0.04, 0.06],
    )
    macro = np.isin(cls, ["macro_rooftop", "macro_tower", "colocation"])
    candidates = gpd.GeoDataFrame(
        {
            "candidate_id": [f"c{i}" for i in range(m)],
            "site_class": cls,
            "height_m": np.where(macro, rng.uniform(25, 40, m), rng.uniform(6, 12, m)),
            "env": _env(cxy),
            "band": np.where(macro & (rng.uniform(size=m) < 0.2), "n28", "n78"),
        },
        geometry=shapely.points(cxy[:, 0] + X0, cxy[:, 1] + Y0),
        crs=CRS,
    )
    return demand, candidates, buildings


def peak_rss_gb() -> float:
    """Peak resident memory of this process so far (GB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def run(scale: float) -> None:
    t0 = time.perf_counter()
    demand, candidates, buildings = make_district(scale)
    t_make = time.perf_counter() - t0
    model = RadioModel(buildings=buildings)
    t0 = time.perf_counter()
    cm = build_coverage(demand, candidates, model)
    total = time.perf_counter() - t0
    n_pairs = int(cm.A.nnz)
    print(
        f"{len(demand):>8,d} cells x {len(candidates):>6,d} sites, {len(buildings):>7,d} "
        f"buildings | build {total:6.1f} s (data {t_make:4.1f} s) | nnz {n_pairs:>11,d} "
        f"({n_pairs / len(candidates):6.0f}/site) | peak RSS {peak_rss_gb():5.2f} GB",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        type=float,
        nargs="+",
        default=[0.125, 0.25, 0.5, 1.0],
        help="Shares of the full district (area) to run, in order.",
    )
    args = parser.parse_args()
    print("radio RSRP matrix (link budget + TR 38.901 + 2.5D building LOS), 50 m demand grid")
    for scale in args.sizes:
        run(scale)


if __name__ == "__main__":
    main()
