"""The memory plan: each method's estimate bounds what it allocates, and calls that
would not fit are refused before any work, naming a method that fits."""

import math
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import deconvkit as dk
from deconvkit.functional import _memory

SLACK = 1 << 16        # Python objects and NumPy's small-array bookkeeping


@st.composite
def problems(draw):
    nd = draw(st.integers(1, 3))
    kmax, nmax = {1: (9, 48), 2: (7, 24), 3: (3, 9)}[nd]
    k = tuple(draw(st.lists(st.integers(1, kmax), min_size=nd, max_size=nd)))
    s = tuple(draw(st.lists(st.integers(1, 3), min_size=nd, max_size=nd)))
    d = tuple(draw(st.lists(st.integers(1, 2), min_size=nd, max_size=nd)))
    p = tuple(draw(st.lists(st.integers(0, 2), min_size=nd, max_size=nd)))
    g = draw(st.sampled_from([1, 2]))
    spec = dk.ConvSpec(k, s, p, d, g)
    size = tuple(draw(st.lists(st.integers(4, nmax), min_size=nd, max_size=nd)))
    op = draw(st.sampled_from(["conv", "conv_transpose", "conv_weight_grad",
                               "conv_transpose_weight_grad"]))
    try:
        out = (spec.conv_output_size(size) if op in ("conv", "conv_weight_grad")
               else spec.transpose_output_size(size))
    except ValueError:
        out = None
    n, cin, cout = draw(st.integers(1, 3)), g * draw(st.integers(1, 3)), g * draw(st.integers(1, 3))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    return op, spec, n, cin, cout, size, out, dtype, draw(st.sampled_from(dk.available_methods()))


def call(op, spec, n, cin, cout, size, out, dtype, method):
    """The call, its weights' shape, dy's shape and the result's shape."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, cin) + size).astype(dtype)
    g, k = spec.groups, spec.kernel_size
    if op in ("conv", "conv_transpose"):
        w_shape = (cout, cin // g) + k if op == "conv" else (cin, cout // g) + k
        w = rng.standard_normal(w_shape).astype(dtype)
        f = getattr(dk, op)
        return (lambda: f(x, w, spec=spec, method=method)), x.shape, w_shape, None, (n, cout) + out
    dy = rng.standard_normal((n, cout) + out).astype(dtype)
    w_shape = (cout, cin // g) + k if op == "conv_weight_grad" else (cin, cout // g) + k
    f = getattr(dk, op)
    return (lambda: f(x, dy, spec=spec, method=method)), x.shape, w_shape, dy.shape, w_shape


@settings(max_examples=150)
@given(problems())
def test_estimate_bounds_the_peak(problem):
    op, spec, *rest = problem
    if problem[6] is None:
        return
    f, x_shape, w_shape, dy_shape, out_shape = call(*problem)
    itemsize = np.dtype(problem[-2]).itemsize
    estimate = _memory.working_bytes(problem[-1], op, x_shape, w_shape, spec, itemsize, dy_shape)
    f()  # warm caches (plans, FFT twiddles) outside the measurement
    tracemalloc.start()
    try:
        f()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak - itemsize * math.prod(out_shape) <= 1.25 * estimate + SLACK, (problem, peak, estimate)


def test_large_stride_refused_up_front():
    """Regression: stride=10**12 ran into MemoryError for 7.28 TiB; 2**31 - 1 is in
    range, its output is not."""
    with pytest.raises(ValueError, match="stride must be <= 2147483647"):
        dk.conv_transpose(np.ones((1, 1, 2)), np.ones((1, 1, 2)), stride=10**12)
    with pytest.raises(ValueError, match="memory|GiB"):
        dk.conv_transpose(np.ones((64, 1, 2)), np.ones((1, 64, 2)), stride=2**31 - 1)


def test_named_method_that_does_not_fit_names_one_that_does():
    x = np.ones((1, 4, 64, 64), np.float32)
    w = np.ones((4, 4, 63, 63), np.float32)
    with pytest.raises(ValueError, match=r"method='matrix' would need about .* GiB.*"
                                         r"method='\w+' needs about"):
        dk.conv_transpose(x, w, method="matrix")
    y = dk.conv_transpose(x, w)          # auto takes one that fits
    assert y.shape == (1, 4, 126, 126)


def test_fft_finds_unreached_outputs_without_an_outputs_by_taps_index():
    """Regression: a 1-D transposed convolution with k = 4097 on 1000 inputs peaked at
    66 MiB for a 0.02 MiB output (an int64 index of outputs x taps)."""
    x = np.ones((1, 1, 1000), np.float32)
    w = np.ones((1, 1, 4097), np.float32)
    dk.conv_transpose(x, w, method="fft")
    tracemalloc.start()
    try:
        y = dk.conv_transpose(x, w, method="fft")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * 2**20
    np.testing.assert_allclose(y, dk.conv_transpose(x, w, method="direct"), rtol=1e-5)
