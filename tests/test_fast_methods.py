"""The fast methods (gemm, polyphase, fft) equal the explicit-matrix oracle.

Every code path of every method is exercised on a grid that is not degenerate
(1-D/2-D/3-D, groups with 2+ channels per side and C_in != C_out, even and non-square
kernels, asymmetric padding, stride != dilation, stride > kernel, output_padding up to
max(stride, dilation) - 1, batch > 1, float32 and float64): the thresholds that choose
between a method's internal paths are forced each way in turn.
"""

import contextlib
import importlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import deconvkit as dk
from deconvkit.geometry import ConvSpec
from deconvkit.testing import rel_error

METHODS = ("gemm", "polyphase", "fft")

# per method: named settings of module constants that steer its internal paths
PATHS = {
    "gemm": {
        "default": {},
        "samples-in-gemm+chunks": {"_layout.BATCH_BELOW": 1 << 30, "_layout.COLS_BUDGET": 64},
        "per-sample+tiny-blocks": {"_layout.BATCH_BELOW": 0, "_layout.CHUNK_BYTES": 1},
    },
    "polyphase": {
        "default": {},
        "fused+runs+shifted+by-position": {
            "polyphase.FUSED_MIN_STRIDE": 1, "polyphase.FUSED_MAX_REDUCTION": 1 << 30,
            "polyphase.RUNS_MIN_STRIDE": 1, "polyphase.IMPLICIT_MIN_ROWS": 1,
            "polyphase.IMPLICIT_MAX_OFFSETS": 1 << 30, "polyphase.POSITION_MAX_OUT": 1 << 30,
            "polyphase.POSITION_MAX_WASTE": 1e9, "_layout.BATCH_BELOW": 1 << 30,
            "_layout.PARALLEL_BYTES": 0, "_wgrad.MAX_WASTE": 0},
        "runs+shifted": {
            "polyphase.FUSED_MIN_STRIDE": 1 << 30, "polyphase.RUNS_MIN_STRIDE": 1,
            "polyphase.IMPLICIT_MIN_ROWS": 1, "polyphase.POSITION_MAX_OUT": 0,
            "_wgrad.MAX_WASTE": 1e9, "_layout.STACK_BUDGET": 1, "_layout.BLOCKS_MIN_STRIDE": 1},
        "by-phase+im2col": {
            "polyphase.FUSED_MIN_STRIDE": 1 << 30, "polyphase.RUNS_MIN_STRIDE": 1 << 30,
            "polyphase.IMPLICIT_MIN_ROWS": 1 << 30, "polyphase.POSITION_MAX_OUT": 0,
            "_layout.BATCH_BELOW": 0, "_layout.CHUNK_BYTES": 1, "_layout.COLS_BUDGET": 64,
            "_wgrad.MAX_WASTE": 0, "_layout.BLOCKS_MIN_STRIDE": 1 << 30,
            "_phases.TAKE_MAX": 0},
    },
    "fft": {
        "default": {},
        "loop-mixing+blocks": {"fft.LOOP_MAX_CHANNELS": 1 << 30, "fft.SPECTRUM_BUDGET": 1},
        "matmul-mixing+own-precision": {"fft.LOOP_MAX_CHANNELS": 0, "fft.DOUBLE_BELOW": 0},
    },
}


@contextlib.contextmanager
def configured(values):
    """Set ``module.NAME`` constants of ``deconvkit.functional`` for the duration."""
    old = []
    try:
        for key, value in values.items():
            module_name, attr = key.split(".")
            module = importlib.import_module(f"deconvkit.functional.{module_name}")
            old.append((module, attr, getattr(module, attr)))
            setattr(module, attr, value)
        yield
    finally:
        for module, attr, value in reversed(old):
            setattr(module, attr, value)


@st.composite
def cases(draw):
    """``(spec, batch, C_in, C_out, m, dtype)``: a transposed convolution of input
    ``(batch, C_out, *m)`` (the conv maps ``C_in`` to ``C_out`` channels)."""
    nd = draw(st.sampled_from((1, 2, 3)))
    small = nd == 3
    k = tuple(draw(st.integers(1, 3 if small else 4)) for _ in range(nd))
    s = tuple(draw(st.integers(1, 3 if small else 5)) for _ in range(nd))
    d = tuple(draw(st.integers(1, 2 if small else 3)) for _ in range(nd))
    ext = [di * (ki - 1) + 1 for ki, di in zip(k, d)]
    pad = tuple((draw(st.integers(0, e)), draw(st.integers(0, e))) for e in ext)
    r = tuple(draw(st.integers(0, max(si, di) - 1)) for si, di in zip(s, d))
    m = tuple(draw(st.integers(1, 2 if small else 4)) for _ in range(nd))
    g = draw(st.integers(1, 3))
    spec = ConvSpec(k, s, pad, d, g, r)
    full = spec.full_size(m)
    if any(f - lo - hi + ri < 1 for f, (lo, hi), ri in zip(full, pad, r)):
        spec = ConvSpec(k, s, 0, d, g, r)
    return (spec, draw(st.integers(1, 3)), g * draw(st.integers(1, 3)), g * draw(st.integers(1, 3)),
            m, np.dtype(draw(st.sampled_from((np.float32, np.float64)))))


def tol(dtype):
    return 1e-4 if dtype == np.float32 else 1e-10


def check_all(method, case):
    spec, batch, c_in, c_out, m, dtype = case
    rng = np.random.default_rng(0)
    n = spec.transpose_output_size(m)
    x = rng.standard_normal((batch, c_in) + n).astype(dtype)        # conv input
    y = rng.standard_normal((batch, c_out) + m).astype(dtype)       # conv_transpose input
    w = rng.standard_normal((c_out, c_in // spec.groups) + spec.kernel_size).astype(dtype)
    kw = dict(stride=spec.stride, padding=spec.padding, dilation=spec.dilation,
              groups=spec.groups)
    tkw = dict(kw, output_padding=spec.output_padding)
    results = {}
    for name in ("matrix", method):
        dy = dk.conv(x, w, method="matrix", **kw)
        results[name] = (
            dk.conv(x, w, method=name, **kw),
            dk.conv_transpose(y, w, method=name, **tkw),
            dk.conv_weight_grad(x, dy, spec.kernel_size, method=name, **kw),
            dk.conv_transpose_weight_grad(y, x, spec.kernel_size, method=name, **kw),
        )
    for what, want, got in zip(("conv", "conv_transpose", "conv_weight_grad",
                                "conv_transpose_weight_grad"), results["matrix"], results[method]):
        assert got.shape == want.shape and got.dtype == dtype, what
        assert rel_error(got, want) < tol(dtype), (what, rel_error(got, want))


@pytest.mark.parametrize("method,path", [(m, p) for m in METHODS for p in PATHS[m]])
@settings(max_examples=300, deadline=None)
@given(case=cases())
def test_method_equals_matrix(method, path, case):
    with configured(PATHS[method][path]):
        check_all(method, case)


EDGE_CASES = [
    # depthwise, k = 2s (FCN bilinear upsampling), asymmetric padding
    (ConvSpec((8, 8), 4, ((2, 3), (2, 2)), 1, 3), 2, 3, 3, (3, 2)),
    # 1-D, large stride, stride and padding not multiples of each other
    (ConvSpec((12,), 5, 3, 1, 1), 2, 4, 6, (5,)),
    # output_padding >= stride (dilation > stride), stride > kernel on another axis
    (ConvSpec((3, 1), (2, 3), ((1, 0), (0, 0)), (3, 1), 2, (2, 1)), 2, 4, 6, (3, 4)),
    # 3-D, even non-cubic kernel, padding 1 (the U-Net decoder shape)
    (ConvSpec((4, 2, 3), 2, 1, 1, 2), 1, 4, 6, (3, 2, 2)),
]


@pytest.mark.parametrize("method,path", [(m, p) for m in METHODS for p in PATHS[m]])
@pytest.mark.parametrize("edge", range(len(EDGE_CASES)))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_edge_cases(method, path, edge, dtype):
    spec, batch, c_in, c_out, m = EDGE_CASES[edge]
    with configured(PATHS[method][path]):
        check_all(method, (spec, batch, c_in, c_out, m, np.dtype(dtype)))


@pytest.mark.parametrize("method", METHODS)
def test_named_method_runs(method, monkeypatch):
    """The requested method is the one that ran (weight gradients run its ``conv``, or
    its own ``weight_grad`` where it has one)."""
    module = importlib.import_module(f"deconvkit.functional.{method}")
    calls = []
    wg = "weight_grad" if hasattr(module, "weight_grad") else "conv"
    for name in ("conv", "conv_transpose", "weight_grad")[:3 if wg == "weight_grad" else 2]:
        real = getattr(module, name)
        monkeypatch.setattr(module, name, lambda *a, _r=real, _n=name: calls.append(_n) or _r(*a))
    x, w = np.ones((2, 4, 7, 6), np.float32), np.ones((4, 3, 4, 3), np.float32)
    y = dk.conv_transpose(x, w, stride=2, padding=1, groups=2, method=method)
    dk.conv(y, w, stride=2, padding=1, groups=2, method=method)
    dk.conv_weight_grad(y, x, (4, 3), stride=2, padding=1, groups=2, method=method)
    dk.conv_transpose_weight_grad(x, y, (4, 3), stride=2, padding=1, groups=2, method=method)
    assert calls == ["conv_transpose", "conv", wg, wg]


@pytest.mark.parametrize("method", METHODS)
def test_inputs_unchanged_and_output_fresh(method):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 4, 5, 6)).astype(np.float32)
    w = rng.standard_normal((4, 3, 4, 4)).astype(np.float32)
    x0, w0 = x.copy(), w.copy()
    y = dk.conv_transpose(x, w, stride=2, padding=1, method=method)
    back = dk.conv(y, w, stride=2, padding=1, method=method)
    assert back.shape == x.shape
    assert np.array_equal(x, x0) and np.array_equal(w, w0)
    assert y.flags.c_contiguous and back.flags.c_contiguous
    assert not np.shares_memory(y, x) and not np.shares_memory(back, y)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_space_to_depth_blocks_equal_phases(data):
    """The block copies write every element (margins included) as the phase-by-phase fill."""
    from deconvkit.functional import _layout, polyphase
    nd = data.draw(st.integers(1, 3))
    s = [data.draw(st.integers(1, 4)) for _ in range(nd)]
    size = [si * data.draw(st.integers(1, 3)) for si in s]
    starts = [data.draw(st.integers(-2 * si - 1, si + 1)) for si in s]
    n_u = [data.draw(st.integers(1, m // si + 3)) for m, si in zip(size, s)]
    x = np.random.default_rng(0).standard_normal([2, 3] + size)
    phases = [tuple(range(si)) for si in s]
    with configured({"_layout.BLOCKS_MIN_STRIDE": 1 << 30}):
        want = polyphase.space_to_depth(x, s, phases, starts, n_u, tuple(range(2 + 2 * nd)))
    got = np.full(want.shape, np.nan)
    _layout.space_to_depth_blocks(got, x, s, starts)
    assert np.array_equal(got, want)


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_transpose_matrix_gather_equals_copy(data):
    """The cached-index gather of the transposed GEMM weights equals the transposing copy,
    zero taps (s not dividing k, gcd(s, d) > 1) and groups included."""
    from deconvkit.functional import _phases
    nd = data.draw(st.integers(1, 3))
    g = data.draw(st.integers(1, 3))
    k = [data.draw(st.integers(1, 5)) for _ in range(nd)]
    s = [data.draw(st.integers(1, 4)) for _ in range(nd)]
    d = [data.draw(st.integers(1, 3)) for _ in range(nd)]
    w = np.random.default_rng(0).standard_normal([2 * g, 3] + k)
    plans = [_phases.axis_plan(*a) for a in zip(k, s, d)]
    want = _phases._transpose_matrix(w, [p.taps for p in plans], g)
    got = _phases.transpose_matrix(w, plans, g)
    assert np.array_equal(got, want)
    with configured({"_phases.TAKE_MAX": 0}):
        assert np.array_equal(_phases.transpose_matrix(w, plans, g), want)


@pytest.mark.parametrize("operation, x_shape, w_shape, stride, groups, expected", [
    # dense, ungrouped weight gradients: one im2col product beats prod(k) thin ones
    ("conv_weight_grad", (16, 3, 64, 64), (16, 3, 3, 3), 1, 1, "gemm"),
    ("conv_weight_grad", (2, 256, 14, 14), (256, 256, 3, 3), 1, 1, "gemm"),
    # dense transposed convolution: gemm only while a side has fewer than 64 channels
    ("conv_transpose", (16, 16, 64, 64), (16, 3, 3, 3), 1, 1, "gemm"),
    ("conv_transpose", (4, 128, 16, 16), (128, 128, 3, 3), 1, 1, "polyphase"),
    # strided or grouped problems stay polyphase
    ("conv_weight_grad", (16, 3, 64, 64), (16, 3, 3, 3), 2, 1, "polyphase"),
    ("conv_weight_grad", (16, 8, 64, 64), (8, 1, 3, 3), 1, 8, "polyphase"),
    ("conv_transpose", (8, 64, 32, 32), (64, 64, 4, 4), 2, 1, "polyphase"),
])
def test_auto_choice_follows_the_measured_cost_rules(operation, x_shape, w_shape, stride,
                                                      groups, expected):
    spec = ConvSpec(w_shape[2:], stride, 1, 1, groups)
    assert dk.functional.choose_method(operation, x_shape, w_shape, spec) == expected
