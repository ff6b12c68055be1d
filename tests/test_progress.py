"""Tests of the status round trip, next year's plan and progress reports."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from siting._errors import LayerError, OutputError
from siting.cli import main
from siting.config import load_config
from siting.outputs import load_plan, write_plan
from siting.plan import make_plan
from siting.progress import apply_status, progress_report, read_returned_sheet
from tests.conftest import write_case

ID, STATUS = "站点编号 Site ID", "状态 Status"


@pytest.fixture(scope="module")
def plan_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("year")
    cfg = load_config(write_case(folder / "case", targets={2020: 20, 2021: 40}))
    return write_plan(make_plan(cfg), folder / "plan2020")


def _returned(plan_dir: Path, tmp_path: Path, changes: dict[str, str]) -> Path:
    """Edit the plan's sites.xlsx as an operator would and save it elsewhere."""
    sheets = pd.read_excel(plan_dir / "sites.xlsx", sheet_name=None)
    out = tmp_path / "returned.xlsx"
    with pd.ExcelWriter(out) as xw:
        for name, df in sheets.items():
            if ID in df.columns:
                new = df[ID].map(changes)
                df[STATUS] = new.astype(object).where(new.notna(), df[STATUS])
            df.to_excel(xw, sheet_name=name, index=False)
    return out


def test_round_trip_keeps_ids_and_updates_status(plan_dir: Path, tmp_path: Path) -> None:
    ids = load_plan(plan_dir).sites["candidate_id"].tolist()
    changes = {ids[3]: "built", ids[4]: "已建成", ids[5]: "rejected", ids[6]: "在建"}
    returned = _returned(plan_dir, tmp_path, changes)
    table = read_returned_sheet(returned)
    assert set(table["candidate_id"]) == set(ids)
    updated = apply_status(plan_dir, returned, out=tmp_path / "updated")
    assert updated.sites["candidate_id"].tolist() == ids
    back = load_plan(tmp_path / "updated")
    status = back.sites.set_index("candidate_id")["status"]
    assert status[ids[3]] == status[ids[4]] == "built"
    assert status[ids[5]] == "rejected" and status[ids[6]] == "under_construction"
    assert (status.drop(ids[3:7]) == "proposed").all()
    # the original plan folder is untouched
    assert (load_plan(plan_dir).sites["status"] == "proposed").all()


def test_unknown_ids_are_listed(plan_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"candidate_id": ["P-nope", "R-ghost"], "status": ["built", "built"]}).to_csv(
        bad, index=False
    )
    with pytest.raises(
        LayerError, match=r"2 site ID\(s\) are not in the plan .*'P-nope', 'R-ghost'"
    ):
        apply_status(plan_dir, bad, out=tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_backwards_status_refused(plan_dir: Path, tmp_path: Path) -> None:
    ids = load_plan(plan_dir).sites["candidate_id"].tolist()
    first = apply_status(
        plan_dir, _returned(plan_dir, tmp_path, {ids[0]: "built"}), out=tmp_path / "a"
    )
    assert first.sites.loc[0, "status"] == "built"
    back = tmp_path / "back.csv"
    pd.DataFrame({"candidate_id": [ids[0]], "status": ["proposed"]}).to_csv(back, index=False)
    with pytest.raises(LayerError, match=rf"go backwards: \['{ids[0]}: built -> proposed'\]"):
        apply_status(tmp_path / "a", back, out=tmp_path / "b")
    again = apply_status(tmp_path / "a", back, out=tmp_path / "b", allow_backwards=True)
    assert again.sites.loc[0, "status"] == "proposed"


def test_nothing_overwritten_unless_asked(plan_dir: Path, tmp_path: Path) -> None:
    returned = _returned(plan_dir, tmp_path, {})
    with pytest.raises(OutputError, match="--out DIR or --in-place"):
        apply_status(plan_dir, returned)
    with pytest.raises(OutputError, match="exists and is not empty"):
        apply_status(plan_dir, returned, out=plan_dir)


def test_unknown_status_value(plan_dir: Path, tmp_path: Path) -> None:
    ids = load_plan(plan_dir).sites["candidate_id"].tolist()
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"candidate_id": [ids[0]], "status": ["finished"]}).to_csv(bad, index=False)
    with pytest.raises(LayerError, match=r"unknown status values \['finished'\]"):
        read_returned_sheet(bad)


def test_progress_counts_and_built_coverage(plan_dir: Path, tmp_path: Path) -> None:
    plan = load_plan(plan_dir)
    ids = plan.sites["candidate_id"].tolist()
    built = ids[:22]
    updated = apply_status(
        plan_dir, _returned(plan_dir, tmp_path, dict.fromkeys(built, "built")), out=tmp_path / "u"
    )
    report = progress_report(tmp_path / "u", as_of=dt.date(2021, 3, 1))
    t = report.totals
    assert t["sites_built"] == 22 and t["sites_planned"] == len(ids)
    row2020 = report.targets.set_index("year").loc[2020]
    assert row2020["due"] and row2020["met"]  # 22 built >= 20 by end of 2020
    row2021 = report.targets.set_index("year").loc[2021]
    assert not row2021["due"] and row2021["remaining"] == 18
    # coverage by built sites recounted from the per-site matrix
    cov = updated.site_coverage.tocsc()
    k = updated.demand["k"].to_numpy()
    covered = np.asarray(cov[:, :22].sum(axis=1)).ravel() >= k
    pop = updated.demand["population"].to_numpy()
    assert t["built_coverage"] == pytest.approx(pop[covered].sum() / pop.sum())
    assert t["built_coverage"] < t["planned_coverage"]
    assert report.towns["built"].sum() == 22
    assert report.units["built"].sum() == 22


def test_progress_cli_and_next_year(plan_dir: Path, tmp_path: Path) -> None:
    ids = load_plan(plan_dir).sites["candidate_id"].tolist()
    returned = _returned(plan_dir, tmp_path, {ids[0]: "built", ids[25]: "rejected"})
    runner = CliRunner()
    res = runner.invoke(
        main, ["status", str(plan_dir), str(returned), "--out", str(tmp_path / "u")]
    )
    assert res.exit_code == 0, res.output
    res = runner.invoke(
        main,
        ["progress", str(tmp_path / "u"), "--as-of", "2021-01-15", "--out", str(tmp_path / "prog")],
    )
    assert res.exit_code == 0, res.output
    assert "1 built" in res.output
    assert {p.name for p in (tmp_path / "prog").iterdir()} >= {
        "progress.html",
        "progress.png",
        "progress_towns.csv",
        "progress_targets.csv",
        "progress_units.csv",
    }
    config = plan_dir.parent / "case" / "config.yaml"
    res = runner.invoke(
        main,
        ["plan", str(config), "--out", str(tmp_path / "y2021"), "--from-plan", str(tmp_path / "u")],
    )
    assert res.exit_code == 0, res.output
    nxt = load_plan(tmp_path / "y2021").sites.set_index("candidate_id")
    assert nxt.loc[ids[0], "status"] == "built"
    assert ids[25] not in nxt.index
