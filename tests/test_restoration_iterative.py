"""Richardson–Lucy, Tikhonov-CG and Landweber recover known signals, on every boundary."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy import ndimage

from deconvkit.linop import BlurOperator
from deconvkit.restoration import box, gaussian
from deconvkit.restoration.iterative import conjugate_gradient, landweber, tikhonov
from deconvkit.restoration.lucy import richardson_lucy

BOUNDARIES = ("periodic", "reflect", "edgetaper", "none")


def scene(ndim, n, rng):
    """A piecewise-constant non-negative scene: blocks and points."""
    f = np.full((n,) * ndim, 0.1)
    f[(slice(n // 4, n // 2),) * ndim] = 1.0
    idx = tuple(rng.integers(0, n, 3) for _ in range(ndim))
    f[idx] = 2.0
    return f


def observe(truth, psf, boundary, sigma, rng):
    """``g`` as ``boundary`` models it: for "none", the valid blur of a larger scene."""
    H = BlurOperator(psf, truth.shape, boundary=boundary)
    x = np.pad(truth, [(k - 1 - k // 2, k // 2) for k in H.psf.shape], mode="reflect") \
        if boundary == "none" else truth
    g = H.forward(x)
    return g + sigma * rng.standard_normal(g.shape)


def error(f, truth):
    return float(np.sqrt(np.mean((f - truth) ** 2)))


@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("ndim,n,sigma", [(1, 96, 1.5), (2, 48, 1.5), (3, 20, 1.0)])
@pytest.mark.parametrize("method", ["rl", "rl_accelerated", "tikhonov", "landweber"])
def test_each_method_restores_better_than_the_blurred_input(method, ndim, n, sigma, boundary):
    rng = np.random.default_rng(ndim)
    truth = scene(ndim, n, rng)
    psf = gaussian(sigma, ndim=ndim)
    g = observe(truth, psf, "periodic" if boundary == "edgetaper" else boundary, 0.005, rng)
    if method.startswith("rl"):
        f = richardson_lucy(g, psf, 30, boundary=boundary, accelerate=method.endswith("ated"))
    elif method == "tikhonov":
        f = tikhonov(g, psf, lam=1e-3, boundary=boundary)
    else:
        f = landweber(g, psf, 60, boundary=boundary)
    assert f.shape == g.shape and f.dtype == g.dtype
    assert error(f, truth) < 0.9 * error(g, truth)


def test_richardson_lucy_keeps_flux_and_positivity():
    rng = np.random.default_rng(1)
    truth = scene(2, 40, rng)
    psf = box((3, 4))  # even: the adjoint is not the flipped 'same' convolution
    H = BlurOperator(psf, truth.shape)
    g = H.forward(truth)
    f = richardson_lucy(g, psf, 20, boundary="periodic")
    assert f.min() >= 0
    np.testing.assert_allclose(H.forward(f).sum(), g.sum(), rtol=1e-10)


def test_richardson_lucy_divergence_falls_and_acceleration_gets_there_sooner():
    rng = np.random.default_rng(2)
    truth = scene(2, 64, rng)
    psf = gaussian(2.0)
    g = BlurOperator(psf, truth.shape).forward(truth)
    _, plain = richardson_lucy(g, psf, 40, boundary="periodic", full_output=True)
    _, fast = richardson_lucy(g, psf, 40, boundary="periodic", accelerate=True,
                              full_output=True)
    d = plain["divergence"]
    assert all(b <= a * (1 + 1e-9) for a, b in zip(d, d[1:]))
    assert fast["divergence"][-1] < 0.5 * d[-1]


def test_richardson_lucy_with_tv_is_smoother_on_noise():
    rng = np.random.default_rng(3)
    truth = scene(2, 48, rng)
    psf = gaussian(1.5)
    g = np.abs(observe(truth, psf, "periodic", 0.05, rng))
    plain = richardson_lucy(g, psf, 40, boundary="periodic")
    tv = richardson_lucy(g, psf, 40, boundary="periodic", tv=0.01)
    assert np.abs(np.diff(tv, axis=1)).mean() < np.abs(np.diff(plain, axis=1)).mean()
    assert error(tv, truth) < error(g, truth)


def test_richardson_lucy_does_not_damage_the_borders_with_boundary_none():
    """The valid-blur model: the 8-px border band improves (or holds) from 10 to 100
    iterations, where a periodic model of the same data loses it."""
    rng = np.random.default_rng(4)
    big = scene(2, 96, rng) + 3 * ndimage.gaussian_filter(rng.random((96, 96)), 2)
    psf = gaussian(2.0)
    g = BlurOperator(psf, (96 - 12, 96 - 12), boundary="none").forward(big)
    truth = big[6:-6, 6:-6]
    band = np.ones(truth.shape, bool)
    band[8:-8, 8:-8] = False

    def band_error(f):
        return error(f[band], truth[band])
    nc = [band_error(richardson_lucy(g, psf, it, boundary="none")) for it in (10, 100)]
    pe = [band_error(richardson_lucy(g, psf, it, boundary="periodic")) for it in (10, 100)]
    assert nc[1] <= nc[0] * 1.02
    assert pe[1] > pe[0] and nc[1] < 0.5 * pe[1]


@settings(max_examples=20, deadline=None)
@given(n=st.integers(4, 30), seed=st.integers(0, 2**16))
def test_conjugate_gradient_solves_a_positive_definite_system(n, seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, n))
    a = a @ a.T + n * np.eye(n)
    b = rng.standard_normal(n)
    x, history = conjugate_gradient(lambda v: a @ v, b, np.zeros(n), 4 * n, tol=1e-12)
    np.testing.assert_allclose(a @ x, b, atol=1e-8 * np.linalg.norm(b))
    assert len(history) <= 4 * n


@pytest.mark.parametrize("fn", [richardson_lucy, landweber, tikhonov])
def test_inputs_unchanged_and_float32_kept(fn):
    rng = np.random.default_rng(5)
    g = rng.random((24, 24)).astype(np.float32)
    psf = gaussian(1.0).astype(np.float32)
    g0, psf0 = g.copy(), psf.copy()
    kwargs = {"lam": 1e-2} if fn is tikhonov else {}
    f = fn(g, psf, **kwargs)
    assert f.dtype == np.float32 and f is not g
    np.testing.assert_array_equal(g, g0)
    np.testing.assert_array_equal(psf, psf0)


def test_integer_images_are_computed_in_float64_without_rescaling():
    g = np.full((16, 16), 200, np.uint8)
    f = richardson_lucy(g, box(3), 5, boundary="periodic")
    assert f.dtype == np.float64
    np.testing.assert_allclose(f, 200.0)


@pytest.mark.parametrize("kwargs,error_type,words", [
    ({"iterations": -1}, ValueError, "iterations"),
    ({"iterations": 2.5}, TypeError, "iterations"),
    ({"boundary": "wrap"}, ValueError, "boundary"),
    ({"tv": -0.1}, ValueError, "tv"),
    ({"accelerate": "yes"}, TypeError, "accelerate"),
    ({"eps": 0.0}, ValueError, "eps"),
])
def test_richardson_lucy_rejects_bad_parameters(kwargs, error_type, words):
    with pytest.raises(error_type, match=words):
        richardson_lucy(np.ones((8, 8)), box(3), **kwargs)


@pytest.mark.parametrize("g,error_type,words", [
    (np.array([[1.0, np.nan]]), ValueError, "finite"),
    (np.ones((0, 4)), ValueError, "empty"),
    (np.ones((4, 4), complex), TypeError, "real"),
    ("image", TypeError, "real numbers"),
])
def test_bad_observations_are_rejected(g, error_type, words):
    for fn, kwargs in ((richardson_lucy, {}), (landweber, {}), (tikhonov, {"lam": 1.0})):
        with pytest.raises(error_type, match=words):
            fn(g, box(1), **kwargs)


def test_a_psf_with_more_axes_than_the_image_is_rejected():
    with pytest.raises(ValueError, match="dimensions"):
        richardson_lucy(np.ones((8, 8)), np.ones((3, 3, 3)))


@pytest.mark.parametrize("fn,kwargs", [(richardson_lucy, {"iterations": 5}),
                                       (landweber, {"iterations": 5}),
                                       (tikhonov, {"lam": 1e-2, "iterations": 5})])
def test_edgetaper_is_the_periodic_model_on_tapered_data(fn, kwargs):
    from deconvkit.restoration import edgetaper
    rng = np.random.default_rng(6)
    g = rng.random((32, 40)) + 1.0
    psf = gaussian(1.5)
    np.testing.assert_allclose(fn(g, psf, boundary="edgetaper", **kwargs),
                               fn(edgetaper(g, psf), psf, boundary="periodic", **kwargs),
                               rtol=1e-10, atol=1e-12)
