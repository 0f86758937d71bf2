"""The `deconvkit` command: explain, argument parsing, clean errors."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import deconvkit as dk
from deconvkit.cli import parse_padding, parse_sizes, parse_weights
from cli_helpers import run


def test_explain_without_arguments_gives_the_worked_examples(capsys):
    status, out, err = run(capsys, "explain")
    assert status == 0 and err == ""
    y = dk.conv(np.array([3, 3, 2, 1, 0, 0, 1, 3, 3, 1, 2, 2, 2, 0, 0, 2.0]).reshape(1, 1, 4, 4),
                np.array([[[[0, 1, 2], [2, 2, 0], [0, 1, 2.0]]]]))
    assert "[" + " ".join(f"{v:g}" for v in y.ravel()) + "]" in out  # [12 12 10 17]
    assert "z11 | w11 w12   0 w21 w22   0   0   0   0" in out
    assert "Worked example 1" in out and "Worked example 2" in out and "MISMATCH" not in out


def test_explain_2d_with_options(capsys):
    status, out, _ = run(capsys, "explain", "--input", "4x4", "--kernel", "3", "--stride", "2",
                         "--padding", "1", "--dilation", "1")
    assert status == 0
    assert "x (4x4)  ->  y = C x (2x2)" in out and "valid sizes 3..4 x 3..4" in out
    assert "y00 | w11 w12" in out


def test_explain_1d_and_3d(capsys):
    status, out, _ = run(capsys, "explain", "--input", "5", "--kernel", "2", "--stride", "2")
    assert status == 0 and "x (5)  ->  y = C x (2)" in out and "MISMATCH" not in out
    status, out, _ = run(capsys, "explain", "--input", "3x3x3", "--kernel", "2",
                         "--padding", "1:0,0:1,1:1")
    assert status == 0 and "[0, :, :]" in out and "MISMATCH" not in out


def test_explain_numeric_weights(capsys):
    status, out, _ = run(capsys, "explain", "--input", "4x4", "--weights", "0,1,2,2,2,0,0,1,2")
    assert status == 0
    assert "values from --weights" in out and "y00 = 0·x00 + 1·x01 + 2·x02" in out


def test_explain_output_padding_and_full(capsys):
    status, out, _ = run(capsys, "explain", "--input", "4x4", "--stride", "2", "--padding", "1",
                         "--output-padding", "0")
    assert status == 0 and "z = Cᵀ y (3x3)" in out and "Note: z (3x3)" in out
    status, out, _ = run(capsys, "explain", "--input", "8x8", "--full")
    assert status == 0 and "use --full" not in out


@pytest.mark.parametrize("argv", [
    ["explain", "--input", "4x4", "--kernel", "3x3x3"],
    ["explain", "--input", "4x4", "--stride", "0"],
    ["explain", "--input", "2", "--kernel", "5"],  # the padded input is smaller than the kernel
    ["explain", "--input", "1", "--kernel", "1", "--stride", "3", "--padding", "0:2",
     "--output-padding", "0"],  # cropping leaves no transposed output
    ["explain", "--input", "4x4", "--padding", "foo"],
    ["explain", "--input", "4x4", "--padding", "1,2,3"],
    ["explain", "--input", "4xx4"],
    ["explain", "--input", "4x4", "--weights", "1,2"],
    ["explain", "--input", "4x4", "--weights", "a,b"],
    ["explain", "--input", "4", "--output-padding", "1"],
    ["explain", "--stride", "2"],
    ["explain", "--bogus"],
    [],
])
def test_bad_arguments_exit_2_with_one_line(capsys, argv):
    status, out, err = run(capsys, *argv)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and "error:" in err and "Traceback" not in err


def test_help_exits_0(capsys):
    status, out, _ = run(capsys, "explain", "--help")
    assert status == 0 and "--padding" in out


def test_parsers():
    assert parse_sizes("4x4") == (4, 4) and parse_sizes("3,3,3") == (3, 3, 3)
    assert parse_padding("valid") == "valid" and parse_padding("2") == 2
    assert parse_padding("1:0,0:1") == ((1, 0), (0, 1)) and parse_padding("1,2") == (1, 2)
    assert parse_weights("0,1,2 2") == (0.0, 1.0, 2.0, 2.0)


def test_console_script_exit_status():
    """The installed entry point returns main's status to the shell."""
    script = Path(sys.executable).with_name("deconvkit")
    if not script.exists():
        pytest.skip("console script not installed")
    ok = subprocess.run([script, "explain", "--input", "3"], capture_output=True, text=True)
    assert ok.returncode == 0 and "Checks" in ok.stdout
    bad = subprocess.run([script, "explain", "--input", "4x4", "--stride", "0"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.startswith("deconvkit explain: error:")
