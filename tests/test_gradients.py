"""Finite-difference checks of every gradient, contracted with a random upstream gradient."""

import numpy as np
from hypothesis import given

import deconvkit as dk
from deconvkit.testing import conv_cases, numerical_grad, random_arrays, rel_error

SMALL = conv_cases(ndims=(1, 2), dtypes=(np.float64,), max_size=3)
TOL = 1e-7


@given(case=SMALL)
def test_conv_gradients(case):
    x, w, _ = random_arrays(case)
    kw = case.conv_kwargs()
    b = np.random.default_rng(3).standard_normal(case.out_channels)
    dy = np.random.default_rng(4).standard_normal(dk.conv(x, w, **kw).shape)
    dx = dk.conv_transpose(dy, w, output_size=x.shape[2:], **kw)
    assert rel_error(dx, numerical_grad(lambda v: dk.conv(v, w, b, **kw), x, dy)) < TOL
    dw = dk.conv_weight_grad(x, dy, case.spec.kernel_size, **kw)
    assert rel_error(dw, numerical_grad(lambda v: dk.conv(x, v, b, **kw), w, dy)) < TOL
    db = numerical_grad(lambda v: dk.conv(x, w, v, **kw), b, dy)
    assert rel_error(dy.sum(axis=(0,) + tuple(range(2, dy.ndim))), db) < TOL


@given(case=SMALL)
def test_conv_transpose_gradients(case):
    _, w, y = random_arrays(case)
    kw, conv_kw = case.transpose_kwargs(), case.conv_kwargs()
    dout = np.random.default_rng(5).standard_normal(case.x_shape)
    dx = case.crop(dk.conv(dout, w, **conv_kw))
    assert rel_error(dx, numerical_grad(lambda v: dk.conv_transpose(v, w, **kw), y, dout)) < TOL
    dw = dk.conv_transpose_weight_grad(y, dout, case.spec.kernel_size, **conv_kw)
    assert rel_error(dw, numerical_grad(lambda v: dk.conv_transpose(y, v, **kw), w, dout)) < TOL
