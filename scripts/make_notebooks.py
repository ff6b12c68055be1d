"""Write the notebooks in notebooks/ (stored without outputs; the test suite runs them).

Usage: python scripts/make_notebooks.py
"""

from __future__ import annotations

from pathlib import Path

import nbformat as nbf

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
md, code = nbf.v4.new_markdown_cell, nbf.v4.new_code_cell

SETUP = """import siting
from siting.plan import make_plan, prepare

cfg = siting.load_config(siting.demo_config_path())
cfg.optimize.time_limit_s = 10   # quicker than the annual batch run's 60 s
"""
SETUP_PREPARE = SETUP.replace("make_plan, prepare", "prepare")

QUICKSTART = [
    md("""# Quickstart: plan the Jiading demo

This notebook loads the embedded Jiading demo (the real district outline with synthetic parcels,
buildings, poles and existing sites, and the key zones at their real places), plans the
district's 5G sites, shows the plan on a map and compares two budgets.

What you are looking at: every demand cell is a 100 m square weighted by its residents and by the
priority of the key zone it lies in; every candidate is a pole, a rooftop, a plot for a new tower
or an existing site; the optimiser picks the sites that cover the most weighted demand for the
budget while every key zone meets its service level."""),
    code(
        SETUP
        + """inputs = prepare(cfg)   # layers -> candidates -> demand -> coverage, built once
print(f"{len(inputs.grid.cells):,} demand cells x {len(inputs.candidates):,} candidates, "
      f"{inputs.coverage.nnz:,} covering pairs")"""
    ),
    md("""## Plan for a budget of 400 M CNY

The status line is the solver's honest verdict: `optimal` (within the requested gap), or
`feasible` with the proven bound and the gap between the plan and that bound."""),
    code("""plan = make_plan(cfg, inputs=inputs)
s, v = plan.stats, plan.solve
print(f"{s['n_sites']:,} sites, cost {s['cost'] / 1e6:,.1f} M CNY, population covered {s['coverage']:.1%}")
print(f"status {v['status']} ({v['stop_reason']}), bound {v['bound']:,.0f} from {v['bound_source']}, gap {v['gap']:.2%}")
plan.zones[["name", "name_en", "service_level", "min_coverage", "covered_fraction", "met", "sites_serving"]]"""),
    md("Coverage and sites per town: the figures the district assesses progress by."),
    code(
        """plan.towns[["name", "name_en", "population", "coverage", "n_sites", "cost"]].sort_values("n_sites", ascending=False)"""
    ),
    md("""## The map

Sites by class and rollout year, key zones coloured by achieved coverage, uncovered demand,
towns. Use the layer control at the top right; click a site for why it was chosen."""),
    code("""from siting.maps import make_map

make_map(plan)"""),
    md("""## Change the budget and compare

Plan again with 300 M CNY. The layers, candidates, demand and coverage matrix are reused: only
the optimisation runs again."""),
    code("""import pandas as pd

small = cfg.model_copy(deep=True)
small.optimize.budget = 300e6
plan_300 = make_plan(small, inputs=inputs)
pd.DataFrame([
    {"sites": p.stats["n_sites"], "cost (M CNY)": p.stats["cost"] / 1e6,
     "population covered": p.stats["coverage"], "weighted coverage": p.stats["weighted_coverage"],
     "key zones met": int(p.zones["met"].sum()), "status": p.solve["status"], "gap": p.solve["gap"]}
    for p in (plan_300, plan)
], index=["300 M CNY", "400 M CNY"])"""),
    md("""The extra budget mostly buys coverage in the rural towns; the key zones are met in both
plans because they are hard constraints. Write a plan folder (sites, statistics, map, report,
spreadsheets, manifest) with `siting.write_plan(plan, "out/my-plan")`."""),
]

WHAT_IF = [
    md("""# What if? Budgets, asset classes and service levels

Planners rarely run one plan. This notebook answers four questions on the Jiading demo:
how coverage grows with the budget, what is lost if CCTV poles are not opened, what the
two-site (k = 2) service level of the ICV test roads costs, and where two plans differ on a map."""),
    code(SETUP_PREPARE + """inputs = prepare(cfg)"""),
    md("""## The coverage vs cost curve

Each point is an optimised plan for that budget, warm-started from the previous one. `bound` is
the proven best coverage for that budget: the plan is within `gap` of it."""),
    code("""from siting.plan import coverage_curve

curve = coverage_curve(inputs, cfg, budgets=[250e6, 325e6, 400e6])
curve.assign(cost_m=curve["cost"] / 1e6)[["limit", "cost_m", "n_sites", "coverage", "population_coverage", "bound", "status", "gap"]]"""),
    code("""ax = curve.plot(x="cost", y="coverage", marker="o", legend=False, figsize=(6, 3.5))
ax.set_xlabel("cost (CNY)")
ax.set_ylabel("weighted coverage")
ax.set_title("Coverage vs cost");"""),
    md("""## No CCTV poles, and ICV roads covered once

Both are scenarios of the demo configuration (`scenarios:` in `data/jiading_demo.yaml`). Changing
the allowed classes or a service level changes the candidates or the demand, so their coverage
matrix is built anew; scenarios that only change optimisation settings reuse it."""),
    code("""from siting.config import scenario_configs
from siting.scenarios import comparison_table, run_scenarios

configs = scenario_configs(siting.demo_config_path())
for c in configs.values():
    c.optimize.time_limit_s = 10
plans = run_scenarios(configs, names=["base", "no_cctv", "icv_k1"])
comparison_table(plans)"""),
    code("""import pandas as pd

icv = {name: p.zones.set_index("zone_id").loc["icv_open_test_roads", ["covered_fraction", "sites_serving"]]
       for name, p in plans.items()}
pd.DataFrame(icv).T"""),
    md("""With k = 1 the test roads need fewer sites; the budget goes elsewhere. Without CCTV poles other
small cells take their place at a slightly higher cost.

## Two plans on one map

Sites only in the CCTV-free plan are green, sites it drops are red, kept sites grey."""),
    code("""import tempfile
from pathlib import Path

from siting.compare import compare_plans, comparison_map

tmp = Path(tempfile.mkdtemp())
for name in ("base", "no_cctv"):
    siting.write_plan(plans[name], tmp / name, writers=[])
cmp = compare_plans(tmp / "base", tmp / "no_cctv")
print(cmp.counts(), f"cost delta {cmp.cost_delta / 1e6:,.1f} M CNY")
comparison_map(cmp)"""),
]

ANNUAL = [
    md("""# The annual plan: 2,000 sites by end 2020, 3,000 by end 2021

The district plans year by year and assesses progress per town. This notebook plans 2020, marks
sites built from the spreadsheet the operators return, plans 2021 from there and reports progress
against the cumulative targets."""),
    code(
        """import tempfile
from pathlib import Path

"""
        + SETUP
        + """
work = Path(tempfile.mkdtemp())
cfg.optimize.max_sites = 2000
cfg.optimize.budget = 330e6
cfg.optimize.targets = {2020: 2000}
inputs = prepare(cfg)
plan_2020 = make_plan(cfg, inputs=inputs)
print(plan_2020.stats["n_sites"], "sites for 2020, status", plan_2020.solve["status"])"""
    ),
    md("""## The operators' spreadsheet

`sites.xlsx` has a sheet per rollout year and a summary, with bilingual headers. Here we play the
operators: most sites are built (`已建成`), a few are still under construction (`在建`) and some
were rejected (`否决`) by their owners. Reading it back keeps the site IDs."""),
    code("""import pandas as pd

from siting.export import write_sites_xlsx
from siting.progress import apply_status

folder_2020 = siting.write_plan(plan_2020, work / "plan-2020", writers=[lambda p, d: write_sites_xlsx(p, d / "sites.xlsx")])
sheets = pd.read_excel(folder_2020 / "sites.xlsx", sheet_name=None)
year = sheets["2020年 2020"]
year.loc[:1799, "状态 Status"] = "已建成"
year.loc[1800:1899, "状态 Status"] = "在建"
year.loc[1900:1949, "状态 Status"] = "否决"
with pd.ExcelWriter(work / "returned.xlsx") as xw:
    for name, df in sheets.items():
        df.to_excel(xw, sheet_name=name, index=False)
updated = apply_status(folder_2020, work / "returned.xlsx", out=work / "plan-2020-updated")
updated.sites["status"].value_counts()"""),
    md("""## Plan 2021 from there

Built and under-construction sites are kept, rejected sites are excluded, and the cap rises to the
end-2021 target of 3,000 sites."""),
    code("""cfg_2021 = cfg.model_copy(deep=True)
cfg_2021.optimize.max_sites = 3000
cfg_2021.optimize.budget = 450e6
cfg_2021.optimize.targets = {2020: 2000, 2021: 3000}
cfg_2021.optimize.year = 2021
plan_2021 = make_plan(cfg_2021, inputs=inputs, previous=updated)
plan_2021.sites.groupby(["rollout_year", "status"]).size()"""),
    md("""## Progress per town

The regular assessment: sites by status per town and the population actually covered by the
sites already built, against the whole plan."""),
    code("""import datetime as dt

from siting.progress import progress_report

folder_2021 = siting.write_plan(plan_2021, work / "plan-2021", writers=[])
report = progress_report(folder_2021, as_of=dt.date(2021, 6, 30))
print(report.totals)
report.targets"""),
    code(
        """report.towns[["name", "name_en", "built", "under_construction", "proposed", "rejected", "built_coverage", "planned_coverage"]]"""
    ),
]

OWN_DATA = [
    md("""# Your own data: OpenStreetMap and a pole spreadsheet in GCJ-02

Planners bring their own layers. This notebook reads a real OpenStreetMap extract and plans on it,
then loads a street-lighting office's pole spreadsheet with Chinese headers and Amap (GCJ-02)
coordinates, validates it and plans with it. The real files live in `../shared/data` beside the
checkout (see `data/README.md`)."""),
    code("""import tempfile
from pathlib import Path

import geopandas as gpd
import shapely
import yaml

import siting
from siting.osm import read_osm, write_osm_layers

SHARED = Path("..").resolve().parent / "shared" / "data"
work = Path(tempfile.mkdtemp())
osm = read_osm(SHARED / "osm" / "karhula_finland.osm.pbf")
print(osm.summary())"""),
    md("""Real OSM is messy: broken rings are dropped and counted, untagged nodes ignored. The tag-mapping
table (`siting.osm.DEFAULT_TAG_RULES`) turns tags into layers; extend it with `osm_tags:` in the
config. Write the layers to one GeoPackage and plan 20 sites in the local UTM zone."""),
    code("""layers = write_osm_layers(osm, work / "karhula.gpkg", overwrite=True)
buildings = osm.layers["buildings"]
area = gpd.GeoDataFrame({"name": ["Karhula"]}, geometry=[shapely.box(*buildings.total_bounds)], crs=4326)
area.to_file(work / "karhula_area.gpkg", engine="pyogrio")
config = {
    "name": "karhula",
    "crs": buildings.estimate_utm_crs().to_string(),
    "layers": {
        "study_area": {"path": "karhula_area.gpkg"},
        "towns": {"path": "karhula_area.gpkg", "defaults": {"town_id": "karhula"}},
        "buildings": {"path": "karhula.gpkg", "layer": "buildings"},
        "parcels": {"path": "karhula.gpkg", "layer": "parcels"},
        "poles": {"path": "karhula.gpkg", "layer": "poles"},
    },
    "candidates": {"rooftop_min_height_m": 3, "rooftop_uses": ["residential", "public", "commercial", "education", "other"]},
    "optimize": {"objective": "max_cover", "max_sites": 20, "time_limit_s": 10},
}
(work / "karhula.yaml").write_text(yaml.safe_dump(config))
plan = siting.make_plan(siting.load_config(work / "karhula.yaml"))
print(plan.stats["n_sites"], "sites, population coverage", f"{plan.stats['coverage']:.1%}", plan.solve["status"])"""),
    md("""## A pole spreadsheet with Chinese headers in GCJ-02

Street-lighting offices keep lamp registries as spreadsheets geocoded with Amap, in GCJ-02
("Mars coordinates"), several hundred metres off WGS84. Here we make such a sheet from part of the
demo's lamps, shifted into GCJ-02, with the headers such offices use (编号, 类型, 经度, 纬度)."""),
    code("""import pandas as pd

from siting.coords import convert_frame

demo = siting.load_config(siting.demo_config_path())
lamps = gpd.read_file(demo.layers.poles.path, layer="poles", engine="pyogrio")
lamps = lamps[lamps["kind"] == "street_lamp"].iloc[::4]
gcj = convert_frame(lamps, src="wgs84", dst="gcj02")
sheet = pd.DataFrame({"编号": lamps["pole_id"].to_numpy(), "类型": "street_lamp", "权属": "区绿化市容局",
                      "经度": gcj.geometry.x.round(6), "纬度": gcj.geometry.y.round(6)})
sheet.to_excel(work / "路灯杆台账.xlsx", index=False)
sheet.head()"""),
    md("""Declare the columns and the coordinate system in the config: `coords: gcj02` converts the points to
WGS84 before anything else. Declared as WGS84 instead, the lamps would sit ~500 m off their
streets; siting warns when a layer fits the study area better as GCJ-02."""),
    code("""from siting.config import LayerSource
from siting.layers import load_layers

own = demo.model_copy(deep=True)
own.name = "jiading-own-poles"
own.layers.poles = LayerSource(
    path=work / "路灯杆台账.xlsx", x="经度", y="纬度", coords="gcj02",
    columns={"编号": "pole_id", "类型": "kind", "权属": "owner"},
)
own.optimize.time_limit_s = 10
layers = load_layers(own)
moved = layers.poles.set_index("pole_id").geometry.distance(lamps.to_crs(own.crs).set_index("pole_id").geometry)
print(f"{len(layers.poles):,} lamps loaded; distance to their true position after conversion: median {moved.median():.2f} m, max {moved.max():.2f} m")"""),
    code("""from siting import InfeasibleError

try:
    plan = siting.make_plan(own)
except InfeasibleError as exc:
    print(exc)"""),
    md("""With only a quarter of the lamps and no other poles, the ICV test roads may not get two sites
on every cell: the error names the zone, how many of its cells cannot be reached and what to do.
Here we accept single coverage on the test roads for this what-if and plan again."""),
    code("""own.demand.service_levels["icv"].k = 1
plan = siting.make_plan(own)
print(plan.stats["n_sites"], "sites", plan.stats["sites_by_class"], plan.solve["status"])"""),
]


def write(name: str, cells: list) -> None:
    """Write one notebook without outputs."""
    nb = nbf.v4.new_notebook()
    nb.cells = cells
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbf.write(nb, NOTEBOOKS / name)


if __name__ == "__main__":
    write("01_quickstart.ipynb", QUICKSTART)
    write("02_what_if.ipynb", WHAT_IF)
    write("03_annual_plan.ipynb", ANNUAL)
    write("04_your_own_data.ipynb", OWN_DATA)
