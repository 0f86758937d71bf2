"""`deconvkit translate`: every pair of frameworks, sizes on both sides, shift warnings."""

import itertools
import re

import numpy as np
import pytest

import deconvkit as dk
from deconvkit.conventions import (FRAMEWORKS, framework_call, framework_window, run_call,
                                   translate, window_args)
from deconvkit.testing import rel_error
from cli_helpers import run

# per source framework: padding in its own vocabulary, for a 4x5 input, kernel 4, stride 2
SOURCE_PADDING = {"torch": "1", "caffe": "1", "onnx": "same_lower", "tensorflow": "SAME",
                  "keras": "same", "jax": "SAME"}
PAIRS = list(itertools.product(FRAMEWORKS, FRAMEWORKS))


def sizes(out):
    """(source output, target final) sizes from the report."""
    source = re.search(r"input \S+ -> output (\S+)", out).group(1)
    final = re.search(r"final (\S+) \(", out).group(1)
    return source, final


def test_the_issue_example(capsys):
    status, out, err = run(capsys, "translate", "--from", "tensorflow", "--to", "torch",
                           "--input", "5x5", "--kernel", "3", "--stride", "2",
                           "--padding", "SAME")
    assert status == 0 and err == ""
    assert "output_shape=[N, 10, 10, C_out], strides=[2, 2], padding='SAME'" in out
    assert "conv_transpose2d(x, w, stride=2, padding=0)" in out
    assert "y = y[:, :, :-1, :-1]" in out
    assert sizes(out) == ("10x10", "10x10")
    assert "call output 11x11" in out
    assert re.search(r"warning: torch with stride=2, padding=1, output_padding=1.*same output "
                     r"size 10x10 but shifted values", out)


@pytest.mark.parametrize("source, target", PAIRS)
def test_every_pair_translates_and_keeps_the_size(capsys, source, target):
    status, out, err = run(capsys, "translate", "--from", source, "--to", target, "--input",
                           "4x5", "--kernel", "4", "--stride", "2", "--padding",
                           SOURCE_PADDING[source])
    assert status == 0, err
    src, final = sizes(out)
    assert src == final


@pytest.mark.parametrize("source, target", PAIRS)
def test_every_pair_computes_the_same_values(source, target):
    """The translated call, run through the target's adapter, equals the source's result."""
    m, k = (4, 5), (4, 3)
    args = window_args(source, m, k, stride=(2, 3), padding=SOURCE_PADDING[source].lower()
                       if source != "torch" and source != "caffe" else 1)
    t = translate(source, target, m, k, **args)
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 3) + m), rng.standard_normal((3, 2) + k)
    expected = run_call(framework_call(source, framework_window(source, m, k, **dict(args)), m),
                        x, w)
    assert rel_error(run_call(t.call, x, w), expected) < 1e-12


def test_output_padding_dilation_groups_and_1d(capsys):
    status, out, _ = run(capsys, "translate", "--from", "torch", "--to", "onnx", "--input", "6",
                         "--kernel", "3", "--stride", "2", "--padding", "1",
                         "--output-padding", "1", "--dilation", "2", "--groups", "2")
    assert status == 0
    assert "pads=[1, 0]" in out and "group=2" in out and "dilations=[2]" in out
    assert sizes(out) == ("14", "14") and "exact" in out


def test_onnx_same_upper_to_lower_warns(capsys):
    status, out, _ = run(capsys, "translate", "--from", "onnx", "--to", "onnx", "--input", "3",
                         "--kernel", "3", "--stride", "2", "--padding", "same_upper")
    assert status == 0
    assert "pads=[0, 1]" in out
    assert "auto_pad='SAME_LOWER' gives the same output size 6 but shifted values" in out


def test_groups_become_block_diagonal_where_there_are_none(capsys):
    status, out, _ = run(capsys, "translate", "--from", "torch", "--to", "keras", "--input",
                         "4", "--groups", "3", "--stride", "2")
    assert status == 0
    assert "block_diagonal_weight(w, 3)" in out and "no groups" in out


def test_tensorflow_output_size_and_explicit_padding(capsys):
    status, out, _ = run(capsys, "translate", "--from", "tf", "--to", "pytorch", "--input",
                         "3x3", "--stride", "2", "--padding", "1:0,1:0", "--output-size", "6x6")
    assert status == 0
    assert "padding=[[0, 0], [1, 0], [1, 0], [0, 0]]" in out
    assert "stride=2, padding=1, output_padding=1" in out and "exact" in out


def test_jax_consistent_padding_flag(capsys):
    base = ["translate", "--from", "jax", "--to", "torch", "--input", "3", "--stride", "2",
            "--padding", "1:1"]
    _, plain, _ = run(capsys, *base)
    _, consistent, _ = run(capsys, *base, "--consistent-padding")
    assert sizes(plain) == ("5", "5") and "padding=1)" in plain
    assert sizes(consistent) == ("5", "5") and "padding=1)" in consistent
    _, zero, _ = run(capsys, *base[:-1], "0:0")
    _, zero_c, _ = run(capsys, *base[:-1], "0:0", "--consistent-padding")
    assert sizes(zero) == ("3", "3") and sizes(zero_c) == ("7", "7")


@pytest.mark.parametrize("argv, reason", [
    (["--from", "mxnet", "--to", "torch"], "framework must be one of"),
    (["--from", "torch", "--to", "tf", "--padding", "same"], "symmetric ints only"),
    (["--from", "tf", "--to", "torch", "--output-padding", "1"], "has no output_padding"),
    (["--from", "tf", "--to", "torch", "--output-size", "7"], "Size of out_backprop"),
    (["--from", "keras", "--to", "torch", "--padding", "1"], "'valid' or 'same'"),
    (["--from", "jax", "--to", "torch"], "needs padding"),
    (["--from", "keras", "--to", "torch", "--groups", "2"], "has no groups"),
    (["--from", "tf", "--to", "torch", "--padding", "1"], "only supported by conv2d"),
])
def test_bad_arguments_are_one_line_errors(capsys, argv, reason):
    status, out, err = run(capsys, "translate", "--input", "3", "--stride", "2", *argv)
    assert status == 2 and out == ""
    assert reason in err and err.count("\n") == 1


def test_help_lists_translate(capsys):
    status, out, _ = run(capsys, "--help")
    assert status == 0 and "translate" in out
    assert dk.conv_transpose  # the package imports cleanly with the subcommand
