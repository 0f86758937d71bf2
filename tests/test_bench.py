"""The benchmark harness runs and checks agreement (no timing is asserted)."""

import io

import pytest

from deconvkit import bench
from deconvkit.bench import machine
from deconvkit.bench.cases import Case
from deconvkit.cli import main

TINY = (Case("T1", "tiny 2-D", 2, 4, 6, (5, 5), 4, 2, 1, groups=2),
        Case("T2", "tiny 1-D backward", 1, 3, 2, (7,), 3, 2, 1, backward=True))


def test_run_reports_every_case_and_agreement():
    pytest.importorskip("torch")
    out = io.StringIO()
    rows = bench.run(TINY, rounds=1, block_time=0.0, out=out)
    text = out.getvalue()
    assert [r["case"].name for r in rows] == ["T1", "T2"]
    assert all(err < 1e-5 for r in rows for err in r["errors"].values())
    assert "torch" in rows[0]["errors"]
    assert "geometric mean of torch / deconvkit" in text and "T1" in text
    md = bench.markdown_table(rows)
    assert md.count("\n| T") == 2


def test_flops_and_bytes():
    case = Case("X", "", 2, 4, 6, (5, 5), 3, 2, 0, groups=2)
    assert case.flops() == 2 * 2 * 4 * 3 * 9 * 25
    x, w, dy = case.arrays()
    assert w.shape == (4, 3, 3, 3) and dy.shape == (2, 6, 11, 11)
    assert case.nbytes() == x.nbytes + w.nbytes + dy.nbytes


def test_machine_measurements_are_positive():
    assert machine.gemm_gflops(n=64, repeats=1) > 0
    assert machine.bandwidth_gbs(mbytes=1, repeats=1) > 0


def test_cli_rejects_unknown_case(capsys):
    assert main(["bench", "--cases", "S9"]) == 2
    assert "unknown case" in capsys.readouterr().err
