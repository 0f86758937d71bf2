"""Every method equals the explicit-matrix oracle, and conv_transpose is conv's adjoint."""

import numpy as np
import pytest
from hypothesis import given

import deconvkit as dk
from deconvkit.testing import conv_cases, dottest, random_arrays, rel_error

METHODS = dk.available_methods()
OTHERS = [m for m in METHODS if m != "matrix"]


def tol(dtype):
    return 1e-5 if dtype == np.float32 else 1e-10


@pytest.mark.parametrize("method", OTHERS)
@given(case=conv_cases())
def test_conv_equals_matrix(method, case):
    x, w, _ = random_arrays(case)
    want = dk.conv(x, w, method="matrix", **case.conv_kwargs())
    got = dk.conv(x, w, method=method, **case.conv_kwargs())
    assert got.dtype == case.dtype and got.shape == want.shape
    assert rel_error(got, want) < tol(case.dtype)


@pytest.mark.parametrize("method", OTHERS)
@given(case=conv_cases())
def test_conv_transpose_equals_matrix(method, case):
    _, w, y = random_arrays(case)
    want = dk.conv_transpose(y, w, method="matrix", **case.transpose_kwargs())
    got = dk.conv_transpose(y, w, method=method, **case.transpose_kwargs())
    assert got.dtype == case.dtype and got.shape == case.x_shape == want.shape
    assert rel_error(got, want) < tol(case.dtype)


@pytest.mark.parametrize("method", OTHERS)
@given(case=conv_cases())
def test_weight_grads_equal_matrix(method, case):
    x, w, y = random_arrays(case)
    k = case.spec.kernel_size
    kw = case.conv_kwargs()
    dy = dk.conv(x, w, method="matrix", **kw)  # any array of the conv output shape
    want = dk.conv_weight_grad(x, dy, k, method="matrix", **kw)
    got = dk.conv_weight_grad(x, dy, k, method=method, **kw)
    assert got.shape == w.shape and rel_error(got, want) < tol(case.dtype)
    want_t = dk.conv_transpose_weight_grad(y, x, k, method="matrix", **kw)
    got_t = dk.conv_transpose_weight_grad(y, x, k, method=method, **kw)
    assert got_t.shape == w.shape and rel_error(got_t, want_t) < tol(case.dtype)


@pytest.mark.parametrize("method", METHODS)
@given(case=conv_cases())
def test_dot_test(method, case):
    """<conv(x), y> == <x, conv_transpose(y)> for every spec and method."""
    _, w, _ = random_arrays(case)
    dottest(lambda x: case.crop(dk.conv(x, w, method=method, **case.conv_kwargs())),
            lambda y: dk.conv_transpose(y, w, method=method, **case.transpose_kwargs()),
            case.x_shape, case.y_shape, dtype=case.dtype)


@given(case=conv_cases(dtypes=(np.float64,)))
def test_conv_matrix_is_conv_and_its_transpose(case):
    x, w, y = random_arrays(case)
    c = dk.conv_matrix(w, case.x_shape[1:], **case.conv_kwargs())
    full = dk.conv(x, w, method="direct", **case.conv_kwargs())
    assert rel_error((c @ x[0].ravel()), full[0].ravel()) < 1e-12
    if case.spec.output_padding == tuple(0 for _ in case.spec.output_padding):
        ct = dk.conv_transpose(y, w, method="direct", **case.transpose_kwargs())
        assert rel_error(c.T @ y[0].ravel(), ct[0].ravel()) < 1e-12


@pytest.mark.parametrize("method", METHODS)
def test_named_method_runs(method, monkeypatch):
    """The requested method is the one that ran: no silent fallback."""
    import deconvkit.functional as F
    module = F._dispatch.ALGORITHMS[method]
    calls = []
    for name in ("conv", "conv_transpose"):
        real = getattr(module, name)
        monkeypatch.setattr(module, name, lambda *a, _r=real, _n=name: calls.append(_n) or _r(*a))
    x = np.ones((1, 2, 5, 5))
    w = np.ones((2, 2, 3, 3))
    dk.conv(x, w, stride=2, method=method)
    dk.conv_transpose(x, w, stride=2, method=method)
    dk.conv_weight_grad(x, np.ones((1, 2, 3, 3)), 3, method=method)
    assert calls == ["conv", "conv_transpose", "conv"]


def test_auto_runs_the_chosen_method(monkeypatch):
    import deconvkit.functional as F
    x, w = np.ones((1, 2, 6, 6)), np.ones((2, 3, 4, 4))
    spec = dk.ConvSpec((4, 4), stride=2, padding=1)
    chosen = dk.choose_method("conv_transpose", x.shape, w.shape, spec)
    calls = []
    real = F._dispatch.ALGORITHMS[chosen].conv_transpose
    monkeypatch.setattr(F._dispatch.ALGORITHMS[chosen], "conv_transpose",
                        lambda *a: calls.append(chosen) or real(*a))
    dk.conv_transpose(x, w, stride=2, padding=1)
    assert calls == [chosen]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("batch", [1, 2])
def test_results_are_writable_contiguous_arrays(method, batch):
    """Algorithms may compute into views of their buffers; users always get owned arrays."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, 64, 4, 4)).astype(np.float32)
    w1 = rng.standard_normal((6, 64, 1, 1)).astype(np.float32)
    y = dk.conv(x, w1, np.ones(6, np.float32), method=method)       # bias added in place
    wt = rng.standard_normal((64, 3, 4, 4)).astype(np.float32)
    results = [y, dk.conv_transpose(x, wt, stride=2, padding=1, method=method),
               dk.conv(x, rng.standard_normal((8, 64, 3, 3)).astype(np.float32), stride=2,
                       method=method),
               dk.conv_weight_grad(x, y, 1, method=method),
               dk.conv_transpose_weight_grad(y, x, 1, method=method)]
    for r in results:
        assert r.flags.writeable and r.flags.c_contiguous
        r[...] = 0  # and writing to it is allowed
