"""Bad input gets a ValueError or TypeError naming what was expected and received."""

import numpy as np
import pytest

import deconvkit as dk

X = np.ones((2, 4, 6, 6))
W = np.ones((6, 2, 3, 3))       # conv: 4 -> 6 with groups=2
WT = np.ones((4, 3, 3, 3))      # transposed: 4 -> 6 with groups=2


@pytest.mark.parametrize("call, error, message", [
    (lambda: dk.conv(X, np.ones((6, 3, 3, 3))), ValueError, "expected 3 channels, got 4"),
    (lambda: dk.conv_transpose(np.ones((2, 5, 6, 6)), WT, groups=2), ValueError,
     "expected 4 channels, got 5"),
    (lambda: dk.conv(X, np.ones((5, 2, 3, 3)), groups=2), ValueError, "groups=2 must divide C_out=5"),
    (lambda: dk.conv_transpose(np.ones((2, 3, 6, 6)), np.ones((3, 1, 3, 3)), groups=2),
     ValueError, "groups=2 must divide C_in=3"),
    (lambda: dk.conv(X, W, groups=0), ValueError, "groups must be an int >= 1"),
    (lambda: dk.conv(X, W, groups=2, stride=0), ValueError, "stride must be >= 1"),
    (lambda: dk.conv(X, W, groups=2, dilation=(1, -1)), ValueError, "dilation must be >= 1"),
    (lambda: dk.conv(X, W, groups=2, padding=-1), ValueError, "padding must be >= 0"),
    (lambda: dk.conv(X, np.ones((6, 2, 9, 9)), groups=2), ValueError, "has no output"),
    (lambda: dk.conv_transpose(np.ones((1, 4, 1, 1)), WT, groups=2, padding=2), ValueError,
     "leaves no output"),
    (lambda: dk.conv_transpose(X, WT, groups=2, stride=2, output_size=20), ValueError,
     "requested output size 20, valid sizes for input 6 are 13..14"),
    (lambda: dk.conv_transpose(X, WT, groups=2, stride=2, output_padding=2), ValueError,
     "output_padding"),
    (lambda: dk.conv_transpose(X, WT, groups=2, output_padding=1, output_size=8), ValueError,
     "not both"),
    (lambda: dk.conv(np.ones((6,)), W), ValueError, "(N, C, *spatial)"),
    (lambda: dk.conv(np.ones((4, 6, 6)), W), ValueError, "add a batch axis: x[None]"),
    (lambda: dk.conv(X, np.ones((6, 2, 3))), ValueError, "as many spatial axes as x"),
    (lambda: dk.conv(X.astype(int), W), TypeError, "float32 or float64, got int64"),
    (lambda: dk.conv(X > 0, W), TypeError, "float32 or float64, got bool"),
    (lambda: dk.conv(X.astype(complex), W), TypeError, "float32 or float64, got complex128"),
    (lambda: dk.conv(X.astype(np.float32), W, groups=2), TypeError, "share one dtype"),
    (lambda: dk.conv(X, W, groups=2, stride=(1, 2, 3)), ValueError, "sequence of 2 ints"),
    (lambda: dk.conv(X, W, groups=2, padding=((1, 2),)), ValueError, "one entry per spatial axis (2)"),
    (lambda: dk.conv(X, W, groups=2, padding=((1, 2, 3), 1)), ValueError, "(lo, hi) pair"),
    (lambda: dk.conv(X, W, groups=2, padding="full"), ValueError, "'valid' or 'same'"),
    (lambda: dk.conv(X, W, groups=2, stride=1.5), TypeError, "stride must be an int"),
    (lambda: dk.conv(X, W, np.ones(5), groups=2), ValueError, "b must have shape (6,)"),
    (lambda: dk.conv(X, W, groups=2, method="fastest"), ValueError, "method must be 'auto' or one of"),
    (lambda: dk.conv_weight_grad(X, np.ones((2, 6, 5, 5)), 3, groups=2), ValueError,
     "dy must have spatial size (4, 4)"),
    (lambda: dk.conv_weight_grad(X, np.ones((3, 6, 4, 4)), 3, groups=2), ValueError,
     "same batch size"),
    (lambda: dk.conv_weight_grad(X, np.ones((2, 6, 4, 4)), (3, 3, 3)), ValueError,
     "kernel_size must have 2 entries"),
    (lambda: dk.conv_transpose_weight_grad(X, np.ones((2, 6, 20, 20)), 3, stride=2, groups=2),
     ValueError, "requested output size 20"),
    (lambda: dk.conv_matrix(W, (4, 6)), ValueError, "input_shape must be (C_in, *spatial)"),
])
def test_bad_input(call, error, message):
    with pytest.raises(error) as info:
        call()
    assert message in str(info.value)


def test_inputs_are_never_modified():
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((2, 4, 5, 5)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(6)
    copies = [a.copy() for a in (x, w, b)]
    for method in dk.available_methods():
        y = dk.conv_transpose(x, w, b, stride=2, groups=2, method=method)
        dk.conv(y, w, stride=2, groups=2, method=method)
        dk.conv_weight_grad(y, x, 3, stride=2, groups=2, method=method)
        dk.conv_transpose_weight_grad(x, y, 3, stride=2, groups=2, method=method)
    assert all(np.array_equal(a, c) for a, c in zip((x, w, b), copies))


def test_empty_batch_gives_empty_output():
    y = dk.conv_transpose(np.ones((0, 4, 3, 3)), np.ones((4, 2, 2, 2)), stride=2)
    assert y.shape == (0, 2, 6, 6)
