"""The sparse-coding benchmark's arithmetic and report, on made-up histories. No timings."""

import pytest

from deconvkit.bench import sparse
from deconvkit.cli import main


def made_up():
    hist = {"SPORCO ConvBPDN": ([10.0, 5.0, 2.004, 2.0003], [1.0, 2.0, 3.0, 4.0]),
            "ours ADMM": ([9.0, 2.001, 2.0001, 2.0], [0.5, 1.0, 1.5, 2.0]),
            "ours FISTA": ([9.0, 8.0], [0.1, 0.2])}
    return dict(size=512, equal=10, rounds=3, load=(1.5, 1.0, 0.5), kept=True, threads=2,
                sporco="0.2.2", per_iteration={"SPORCO ConvBPDN": 0.5, "ours ADMM": 0.125,
                                               "ours FISTA": 0.2},
                histories=hist, agreement=(3.0, 3.0 * (1 + 1e-13)), seconds=60.0)


def test_time_to_takes_the_first_iterate_at_or_below_the_target():
    h = ([5.0, 3.0, 2.0, 1.0], [0.1, 0.2, 0.3, 0.4])
    assert sparse.time_to(h, 2.0) == (3, 0.3)
    assert sparse.time_to(h, 0.5) is None


def test_report_has_the_ratios_against_sporco_and_the_load():
    text = sparse.report(made_up())
    assert "| ours ADMM | 0.1250 | 4.00x |" in text
    assert "1.50, 1.00, 0.50" in text
    assert "f* = 2.000000000" in text
    # rtol 1e-3 (target 2.002): SPORCO at 4.0 s (iteration 4), ours ADMM at 1.0 s
    # rtol 1e-4 (target 2.0002): SPORCO not there in its 4.0 s, ours ADMM at 1.5 s
    assert "| ours ADMM | 2, 1.00, 4.00x | 3, 1.50, > 2.67x |" in text
    assert "| SPORCO ConvBPDN | 4, 4.00, 1.00x | not in 4 it (4.0 s) |" in text
    assert "not in 2 it" in text                      # FISTA never got there
    assert "relative difference 1.0e-13" in text


@pytest.mark.parametrize("argv,words", [
    (["--sparse", "--training"], "--training and --sparse are separate benchmarks"),
    (["--sparse", "--cases", "S1"], "--cases does not apply to --sparse"),
])
def test_cli_refuses_options_that_do_not_apply(argv, words, capsys):
    assert main(["bench"] + argv) != 0
    assert words in capsys.readouterr().err
