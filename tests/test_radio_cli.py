"""``siting radio`` through click's CliRunner."""

from __future__ import annotations

import math
import re

import pytest
from click.testing import CliRunner

from siting.cli.radio import radio


def run(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(radio, list(args))
    return res.exit_code, res.output


def test_one_path_loss() -> None:
    code, out = run(
        "--fc", "3.5", "--d", "200", "--hbs", "25", "--hut", "1.5", "--scenario", "uma", "--los"
    )
    # UMa PL1 (d < d'BP = 560 m): 28.0 + 22 log10(d3D) + 20 log10(fc)
    expected = 28.0 + 22 * math.log10(math.hypot(200, 23.5)) + 20 * math.log10(3.5)
    assert code == 0
    assert out.strip() == f"{expected:.2f} dB"


def test_one_path_loss_nlos_and_both() -> None:
    code, out = run("--fc", "3.5", "--d", "100", "--scenario", "UMi", "--nlos")
    # UMi NLOS: 35.3 log10(d3D) + 22.4 + 21.3 log10(fc), hBS defaults to 10 m
    expected = 35.3 * math.log10(math.hypot(100, 8.5)) + 22.4 + 21.3 * math.log10(3.5)
    assert (code, out.strip()) == (0, f"{expected:.2f} dB")
    code, out = run("--fc", "3.5", "--d", "100", "--scenario", "rma")
    assert code == 0 and out.startswith("LOS ") and "\nNLOS " in out


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--fc", "150", "--d", "100", "--scenario", "uma"], "Invalid value for --fc: .* 0.5-100"),
        (["--fc", "3.5", "--d", "100", "--scenario", "rma", "--hut", "12"], "--hut: .* 1-10"),
        (["--fc", "3.5", "--d", "9000", "--scenario", "umi"], "--d: .* 0-5000"),
        (["--fc", "3.5", "--d", "100", "--scenario", "uma", "--hbs", "300"], "--hbs: .* 10-150"),
        (["--fc", "3.5", "--scenario", "uma"], "needs --d as well"),
        (["--fc", "3.5", "--d", "10", "--scenario", "xyz"], "'xyz' is not one of"),
        (["--class", "zeppelin"], "unknown class 'zeppelin'"),
        (["--band", "n5"], "unknown band 'n5'"),
        (["--distances", "100,abc"], "not a comma-separated list"),
    ],
)
def test_bad_flags(args: list[str], match: str) -> None:
    code, out = run(*args)
    assert code == 2
    assert re.search(match, out), out


def test_link_budget_table() -> None:
    code, out = run(
        "--class", "macro_tower", "--class", "small_cell_lamp", "--distances", "100,500"
    )
    assert code == 0, out
    lines = out.splitlines()
    # the budget table lists every (class, band) with a budget: small cells carry no n28
    assert any(line.startswith("macro_tower            n28") for line in lines)
    assert not any(line.startswith("small_cell_lamp        n28") for line in lines)
    assert "PL@100m" in out and "ordinary/out" in out and "key/in" in out
    rows = [line for line in lines if line.startswith("small_cell_lamp        n78  NLOS")]
    assert len(rows) == 1
    # UMi NLOS at 100 m with the class's 10 m mast, as in test_one_path_loss_nlos_and_both
    expected = 35.3 * math.log10(math.hypot(100, 8.5)) + 22.4 + 21.3 * math.log10(3.5)
    assert rows[0].split()[3] == f"{expected:.1f}"


def test_rural_table_uses_rma_for_macros() -> None:
    code, out = run("--class", "macro_tower", "--band", "n28", "--env", "rural")
    assert code == 0
    assert "macro_tower            n28  rma" in out
