"""deconvkit.sparse: convolutional sparse coding on conv_transpose (Deconvolutional Networks)."""

import numpy as np
import pytest

from deconvkit import conv, conv_transpose
from deconvkit.sparse import SynthesisOperator, code, objective
from deconvkit.sparse.operators import circular_by_wrapping
from deconvkit.testing import dottest

LAM = 0.1


def unit_filters(rng, shape, dtype=np.float64):
    d = rng.standard_normal(shape)
    d /= np.linalg.norm(d.reshape(shape[0], -1), axis=1).reshape((-1,) + (1,) * (len(shape) - 1))
    return d.astype(dtype)


def problem(seed=0, *, n=2, c=2, k=3, size=(12, 10), ksize=(3, 4), dtype=np.float64):
    rng = np.random.default_rng(seed)
    y = rng.standard_normal((n, c) + size).astype(dtype)
    return y, unit_filters(rng, (k, c) + ksize, dtype)


# --- the operator ----------------------------------------------------------------------

@pytest.mark.parametrize("geometry", [dict(), dict(stride=2, padding=1),
                                      dict(stride=(2, 3), padding=((0, 2), (1, 0)))])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_zero_boundary_is_conv_transpose_and_dot_test(geometry, dtype):
    y, d = problem(dtype=dtype)
    D = SynthesisOperator(d, y.shape[1:], **geometry)
    z = np.random.default_rng(1).standard_normal((2,) + D.code_shape).astype(dtype)
    np.testing.assert_allclose(D.adjoint(y), conv(y, d, **geometry), rtol=1e-5)
    assert D.forward(z).shape == y.shape
    np.testing.assert_allclose(
        D.forward(z), conv_transpose(z, d, output_size=y.shape[2:], **geometry), rtol=1e-5)
    dottest(D.forward, D.adjoint, (2,) + D.code_shape, y.shape, dtype=dtype)


@pytest.mark.parametrize("size,ksize", [((9,), (4,)), ((8, 7), (3, 2)), ((5, 4, 6), (2, 3, 3))])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_circular_is_wrapped_conv_transpose_and_dot_test(size, ksize, dtype):
    y, d = problem(size=size, ksize=ksize, dtype=dtype)
    D = SynthesisOperator(d, y.shape[1:], boundary="circular")
    assert D.code_shape == (3,) + size
    z = np.random.default_rng(2).standard_normal((2,) + D.code_shape).astype(dtype)
    assert D.forward(z).dtype == dtype and D.adjoint(y).dtype == dtype
    np.testing.assert_allclose(D.forward(z), circular_by_wrapping(z, d),
                               rtol=1e-4, atol=1e-4 if dtype == np.float32 else 1e-12)
    dottest(D.forward, D.adjoint, (2,) + D.code_shape, y.shape, dtype=dtype)


@pytest.mark.parametrize("boundary", ["zero", "circular"])
def test_norm_squared_bounds_the_operator(boundary):
    y, d = problem()
    D = SynthesisOperator(d, y.shape[1:], boundary=boundary)
    dense = np.stack([D.forward(e.reshape((1,) + D.code_shape)).ravel()
                      for e in np.eye(int(np.prod(D.code_shape)))], axis=1)
    exact = np.linalg.norm(dense, 2) ** 2
    assert exact * (1 - 1e-12) <= D.norm_squared() <= 1.03 * exact


# --- the solution ----------------------------------------------------------------------

def gradient(y, d, z, **geometry):
    D = SynthesisOperator(d, y.shape[1:], **geometry)
    return D.adjoint(D.forward(z) - y)


@pytest.mark.parametrize("geometry", [dict(), dict(stride=2, padding=1),
                                      dict(boundary="circular"),
                                      dict(boundary="circular", method="admm")])
@pytest.mark.parametrize("nonneg", [False, True])
def test_optimality_conditions(geometry, nonneg):
    y, d = problem()
    z = code(y, d, LAM, iterations=3000, tol=1e-12, nonneg=nonneg, **geometry)
    geometry.pop("method", None)
    g = gradient(y, d, z, **geometry)
    on, off = z != 0, z == 0
    assert on.any() and off.any()
    np.testing.assert_allclose(g[on], -LAM * np.sign(z[on]), atol=1e-5)
    if nonneg:
        assert (z >= 0).all() and (g[off] >= -LAM - 1e-5).all()
    else:
        assert (np.abs(g[off]) <= LAM + 1e-5).all()


def test_large_lambda_gives_zero():
    y, d = problem()
    lam_max = np.abs(conv(y, d)).max()
    assert not code(y, d, 1.01 * lam_max).any()
    assert code(y, d, 0.9 * lam_max).any()


@pytest.mark.parametrize("geometry", [dict(), dict(stride=2), dict(boundary="circular")])
def test_recovers_planted_sparse_codes(geometry):
    rng = np.random.default_rng(3)
    d = unit_filters(rng, (4, 1, 9))
    D = SynthesisOperator(d, (1, 200), **geometry)
    z_true = np.zeros((1,) + D.code_shape)
    spots = rng.choice(D.code_shape[1] // 12, size=6, replace=False) * 12 + 6
    z_true[0, rng.integers(0, 4, size=6), spots] = rng.choice([-1, 1], 6) * rng.uniform(1, 2, 6)
    y = D.forward(z_true) + 0.01 * rng.standard_normal((1, 1, 200))
    z = code(y, d, 0.05, iterations=2000, tol=1e-10, **geometry)
    strong = np.abs(z) > 0.2
    np.testing.assert_array_equal(strong, z_true != 0)
    np.testing.assert_allclose(z[strong], z_true[strong], atol=0.1)


def test_fista_and_admm_reach_the_same_objective():
    y, d = problem(size=(16, 16), ksize=(4, 4))
    f = {m: code(y, d, LAM, boundary="circular", method=m, iterations=3000, tol=1e-12,
                 full_output=True)[1]["objective"][-1] for m in ("fista", "admm")}
    assert abs(f["fista"] - f["admm"]) <= 1e-7 * f["admm"]


def test_admm_single_channel_matches_fista():
    y, d = problem(c=1, k=5, size=(16, 16), ksize=(5, 5))
    f = {m: code(y, d, LAM, boundary="circular", method=m, iterations=3000, tol=1e-12,
                 full_output=True)[1]["objective"][-1] for m in ("fista", "admm")}
    assert abs(f["fista"] - f["admm"]) <= 1e-7 * f["admm"]


def test_fista_is_monotone_and_info_is_consistent():
    y, d = problem()
    z, info = code(y, d, LAM, stride=2, iterations=300, tol=0, full_output=True)
    h = np.array(info["objective"])
    assert info["iterations"] == len(h) <= 300 and info["method"] == "fista"
    assert (np.diff(h) <= 1e-14 * h[:-1]).all() and h[-1] < 0.5 * np.vdot(y, y)
    assert h[-1] == pytest.approx(objective(y, d, z, LAM, stride=2), rel=1e-12)
    assert info["sparsity"][-1] == pytest.approx(np.count_nonzero(z) / z.size)
    D = SynthesisOperator(d, y.shape[1:], stride=2)
    res = np.linalg.norm(D.forward(z) - y) / np.linalg.norm(y)
    assert info["residual"][-1] == pytest.approx(res)


def test_admm_info_and_tolerance_stops_early():
    y, d = problem()
    z, info = code(y, d, LAM, boundary="circular", method="admm", tol=1e-3, full_output=True)
    assert info["iterations"] < 200 and info["rho"] > 0 and info["boundary"] == "circular"
    assert info["objective"][-1] == pytest.approx(
        objective(y, d, z, LAM, boundary="circular"), rel=1e-12)


@pytest.mark.parametrize("kw", [dict(), dict(boundary="circular"),
                                dict(boundary="circular", method="admm")])
def test_float32_kept_and_inputs_unchanged(kw):
    y, d = problem(dtype=np.float32)
    y0, d0 = y.copy(), d.copy()
    z, info = code(y, d, LAM, iterations=50, full_output=True, **kw)
    assert z.dtype == np.float32
    np.testing.assert_array_equal(y, y0)
    np.testing.assert_array_equal(d, d0)
    z64 = code(y.astype(np.float64), d.astype(np.float64), LAM, iterations=50, **kw)
    assert abs(info["objective"][-1] - objective(y.astype(float), d.astype(float), z64, LAM,
                                                 boundary=kw.get("boundary", "zero"))) \
        <= 1e-3 * info["objective"][-1]


def test_one_and_three_spatial_axes():
    for size, ksize in [((20,), (3,)), ((6, 5, 7), (2, 2, 3))]:
        y, d = problem(size=size, ksize=ksize)
        for kw in (dict(), dict(boundary="circular", method="admm")):
            z = code(y, d, LAM, iterations=20, **kw)
            assert z.shape[:2] == (2, 3) and z.ndim == y.ndim


@pytest.mark.parametrize("kw", [dict(), dict(stride=2, padding=1),
                                dict(boundary="circular", method="admm"),
                                dict(boundary="circular", nonneg=True)])
def test_warm_start_continues_the_descent_and_leaves_init_alone(kw):
    y, d = problem(seed=3)
    z_cold, cold = code(y, d, LAM, iterations=400, tol=0, full_output=True, **kw)
    z_half = code(y, d, LAM, iterations=40, tol=0, **kw)
    start = z_half.copy()
    z_warm, warm = code(y, d, LAM, iterations=360, tol=0, init=z_half, full_output=True, **kw)
    np.testing.assert_array_equal(z_half, start)
    f_start = objective(y, d, z_half, LAM, **{k: v for k, v in kw.items()
                                             if k in ("stride", "padding", "boundary")})
    assert warm["objective"][0] <= f_start * (1 + 1e-9) or "admm" in kw.values()
    assert warm["objective"][-1] <= cold["objective"][39]
    assert warm["objective"][-1] == pytest.approx(cold["objective"][-1], rel=1e-3)


def test_warm_start_from_the_solution_stays_there():
    y, d = problem(seed=4)
    z = code(y, d, LAM, iterations=3000, tol=1e-12)
    z2, info = code(y, d, LAM, iterations=5, tol=0, init=z, full_output=True)
    np.testing.assert_allclose(z2, z, atol=1e-6)
    assert info["objective"][-1] <= objective(y, d, z, LAM) * (1 + 1e-12)


def test_init_of_the_wrong_shape_is_refused():
    y, d = problem()
    with pytest.raises(ValueError, match=r"init must have shape \(N, K, \*spatial'\) = "
                                         r"\(2, 3, 10, 7\) for this y and filters, got \(2, 3, 4, 4\)"):
        code(y, d, LAM, init=np.zeros((2, 3, 4, 4)))


# --- errors ----------------------------------------------------------------------------

@pytest.mark.parametrize("change,error,words", [
    (dict(lam=-1.0), ValueError, "lam must be a finite number >= 0, got -1.0"),
    (dict(lam="big"), TypeError, "lam must be a real number"),
    (dict(d=np.ones((3, 2, 13, 2))), ValueError, "must fit in the padded image"),
    (dict(d=np.ones((3, 2, 13, 2)), boundary="circular"), ValueError, "must fit in the image"),
    (dict(d=np.ones((3, 1, 3, 3))), ValueError, "filters must have C = 2 channels"),
    (dict(d=np.ones((3, 2, 3))), ValueError, "filters must have shape (K, C, *k) with 2"),
    (dict(y=np.ones((4, 4))), ValueError, "y must have shape (N, C, *spatial)"),
    (dict(method="ista"), ValueError, "method must be one of 'fista', 'admm', got 'ista'"),
    (dict(method=None), TypeError, "method must be one of"),
    (dict(boundary="periodic"), ValueError, "boundary must be one of 'zero', 'circular'"),
    (dict(method="admm"), ValueError, "method='admm' solves the circular model"),
    (dict(boundary="circular", stride=2), ValueError, "boundary='circular' has stride 1"),
    (dict(iterations=-1), ValueError, "iterations"),
    (dict(nonneg=1), TypeError, "nonneg must be True or False, got 1"),
])
def test_bad_input(change, error, words):
    y, d = problem()
    args = dict(y=y, d=d, lam=LAM)
    args.update(change)
    with pytest.raises(error) as e:
        code(args.pop("y"), args.pop("d"), args.pop("lam"), **args)
    assert words in str(e.value)


def test_objective_checks_the_code_shape():
    y, d = problem()
    with pytest.raises(ValueError, match=r"z must have shape \(N, K, \*spatial'\) = "
                                         r"\(2, 3, 10, 7\) for this y and filters, got"):
        objective(y, d, np.zeros((2, 3, 12, 10)), LAM)


# --- the peer: SPORCO ------------------------------------------------------------------

def sporco_solve(y, d, lam, iterations):
    """SPORCO's ConvBPDN on one single-channel image, its objective evaluated on ``Y``."""
    cbpdn = pytest.importorskip("sporco.admm.cbpdn")
    opt = cbpdn.ConvBPDN.Options({"MaxMainIter": iterations, "RelStopTol": 0.0,
                                  "AuxVarObj": True, "Verbose": False})
    solver = cbpdn.ConvBPDN(np.moveaxis(d[:, 0], 0, -1), y[0, 0], lam, opt)
    coef = solver.solve()
    z = np.moveaxis(coef.reshape(y.shape[2:] + (d.shape[0],)), -1, 0)[None]
    return z, solver.getitstat().ObjFun[-1]


def test_sporco_solves_the_same_problem():
    y, d = problem(n=1, c=1, k=6, size=(24, 24), ksize=(5, 5))
    z, reported = sporco_solve(y, d, LAM, 100)
    assert objective(y, d, z, LAM, boundary="circular") == pytest.approx(reported, rel=1e-12)
    ours, info = code(y, d, LAM, boundary="circular", method="admm", iterations=100, tol=0,
                      full_output=True)
    assert info["objective"][-1] == pytest.approx(reported, rel=1e-9)   # the same iterates


def test_reaches_sporcos_objective():
    y, d = problem(n=1, c=1, k=6, size=(24, 24), ksize=(5, 5))
    _, reported = sporco_solve(y, d, LAM, 500)
    for method in ("fista", "admm"):
        _, info = code(y, d, LAM, boundary="circular", method=method, iterations=500, tol=0,
                       full_output=True)
        assert info["objective"][-1] <= reported * (1 + 1e-3)


@pytest.mark.parametrize("boundary, method",
                         [("zero", "fista"), ("circular", "fista"), ("circular", "admm")])
@pytest.mark.parametrize("iterations", [0, 2])
def test_code_never_returns_or_writes_init(boundary, method, iterations):
    """The result is a new array whatever the path (zero steps, all steps rejected)."""
    rng = np.random.default_rng(0)
    y = rng.standard_normal((1, 1, 12, 12))
    d = rng.standard_normal((3, 1, 3, 3))
    shape = (1, 3, 10, 10) if boundary == "zero" else (1, 3, 12, 12)
    init = rng.standard_normal(shape) * 100          # far off: steps may be rejected
    saved = init.copy()
    z = code(y, d, 1e3, init=init, iterations=iterations, boundary=boundary, method=method)
    assert z is not init and not np.shares_memory(z, init)
    z[...] = 7.0
    np.testing.assert_array_equal(init, saved)
