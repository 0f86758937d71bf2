"""Finite-difference checks of every gradient, contracted with a random upstream gradient."""

import numpy as np
from hypothesis import given

import deconvkit as dk
from deconvkit.testing import conv_cases, numerical_grad, random_arrays, rel_error

SMALL = conv_cases(ndims=(1, 2), dtypes=(np.float64,), max_size=3)
TOL = 1e-7


def matches_fd(analytic, f, x, dy):
    """``analytic`` equals the central difference of ``<f(x), dy>`` to ``TOL``, or to the
    difference's own rounding floor where the gradient is a near-cancelling sum (each
    quotient carries about ``1e-16 / eps * sum|f(x) dy|``, ``eps = 1e-6 max(1, |x|)``)."""
    numeric = numerical_grad(f, x, dy)
    terms = float(np.abs(np.asarray(f(x), np.float64) * dy).sum())
    floor = 1e-9 * terms / max(1.0, float(np.abs(x).max(initial=0.0)))
    return rel_error(analytic, numeric) < TOL or np.abs(analytic - numeric).max() < floor


@given(case=SMALL)
def test_conv_gradients(case):
    x, w, _ = random_arrays(case)
    kw = case.conv_kwargs()
    b = np.random.default_rng(3).standard_normal(case.out_channels)
    dy = np.random.default_rng(4).standard_normal(dk.conv(x, w, **kw).shape)
    dx = dk.conv_transpose(dy, w, output_size=x.shape[2:], **kw)
    assert matches_fd(dx, lambda v: dk.conv(v, w, b, **kw), x, dy)
    dw = dk.conv_weight_grad(x, dy, case.spec.kernel_size, **kw)
    assert matches_fd(dw, lambda v: dk.conv(x, v, b, **kw), w, dy)
    db = numerical_grad(lambda v: dk.conv(x, w, v, **kw), b, dy)
    assert rel_error(dy.sum(axis=(0,) + tuple(range(2, dy.ndim))), db) < TOL


@given(case=SMALL)
def test_conv_transpose_gradients(case):
    _, w, y = random_arrays(case)
    kw, conv_kw = case.transpose_kwargs(), case.conv_kwargs()
    dout = np.random.default_rng(5).standard_normal(case.x_shape)
    dx = case.crop(dk.conv(dout, w, **conv_kw))
    assert matches_fd(dx, lambda v: dk.conv_transpose(v, w, **kw), y, dout)
    dw = dk.conv_transpose_weight_grad(y, dout, case.spec.kernel_size, **conv_kw)
    assert matches_fd(dw, lambda v: dk.conv_transpose(y, v, **kw), w, dout)
