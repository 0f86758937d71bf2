"""The filters (inverse, Wiener, regularized) and the front door: they recover known
images, agree with scikit-image's filter at equal parameters, and choose their parameter
near the truth-optimal one."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from deconvkit.linop import BlurOperator
from deconvkit.restoration import (box, deconvolve, estimate_noise, gaussian, inverse,
                                   motion, regularized, wiener)
from deconvkit.restoration.spectra import Spectra, choose_lam
from deconvkit.restoration.regularizers import laplacian_otf

skimage = pytest.importorskip("skimage")
from skimage import data  # noqa: E402
from skimage.restoration import wiener as sk_wiener  # noqa: E402


def camera(n=128):
    return data.camera()[128:128 + n, 160:160 + n].astype(np.float64) / 255


def observe(truth, psf, sigma, seed=0, cropped=False):
    """``(g, frame truth)``: a periodic blur, or the valid blur of ``truth`` (cropped)."""
    if cropped:
        shape = tuple(n - k + 1 for n, k in zip(truth.shape, psf.shape))
        H = BlurOperator(psf, shape, boundary="none")
        g, truth = H.forward(truth), H.crop(truth)
    else:
        g = BlurOperator(psf, truth.shape).forward(truth)
    return g + sigma * np.random.default_rng(seed).standard_normal(g.shape), truth


def rms(a, b):
    return float(np.sqrt(np.mean((a - b) ** 2)))


def smooth_scene(ndim, n, seed):
    from scipy import ndimage
    rng = np.random.default_rng(seed)
    f = ndimage.gaussian_filter(rng.random((n,) * ndim), 1.0)
    f[(slice(n // 4, n // 2),) * ndim] += 1.0
    return f


@pytest.mark.parametrize("boundary", ["edgetaper", "periodic", "reflect", "none"])
@pytest.mark.parametrize("ndim,n", [(1, 256), (2, 64), (3, 24)])
@pytest.mark.parametrize("method", ["regularized", "wiener"])
def test_filters_restore_better_than_the_blurred_input(method, ndim, n, boundary):
    truth = smooth_scene(ndim, n, ndim)
    psf = gaussian(1.5, ndim=ndim)
    g, truth = observe(truth, psf, 0.01, cropped=boundary == "none")
    f = deconvolve(g, psf, method, boundary=boundary)
    assert f.shape == g.shape and f.dtype == g.dtype
    assert rms(f, truth) < 0.9 * rms(g, truth)


@pytest.mark.parametrize("psf", [box((4, 6)), gaussian(1.5), motion(9, 30)])
def test_inverse_is_exact_on_noise_free_periodic_data_even_psfs_too(psf):
    truth = camera(64)
    g, _ = observe(truth, psf, 0.0)
    f = inverse(g, psf, 1e-9, boundary="periodic")
    keep = np.abs(Spectra(g, psf).H) > 1e-9
    if keep.all():
        np.testing.assert_allclose(f, truth, atol=1e-8)
    else:  # frequencies the blur removes cannot come back; the rest does
        assert rms(f, truth) < 0.5 * rms(g, truth)


@pytest.mark.parametrize("psf", [box(5), box((4, 6)), gaussian(2.0)])
def test_regularized_with_a_given_lam_is_scikit_images_wiener_with_that_balance(psf):
    g, _ = observe(camera(96), psf, 0.02)
    ours = regularized(g, psf, lam=0.05, boundary="periodic")
    theirs = sk_wiener(g, psf, 0.05, clip=False)
    np.testing.assert_allclose(ours, theirs, atol=1e-10)


@pytest.mark.parametrize("psf,sigma", [(box(5), 0.01), (gaussian(2.0), 0.05),
                                       (motion(15, 0), 0.02)])
def test_the_automatic_lam_is_within_a_few_times_the_truth_optimal_lam(psf, sigma):
    truth = camera(256)
    g, _ = observe(truth, psf, sigma)
    _, info = regularized(g, psf, boundary="periodic", full_output=True)
    grid = np.logspace(-5, 1, 61)
    best = grid[int(np.argmin([rms(regularized(g, psf, lam=lam, boundary="periodic"),
                                   truth) for lam in grid]))]
    assert best / 4 < info["lam"] < best * 4
    assert abs(info["noise"] - sigma) < 0.1 * sigma


def test_the_discrepancy_rule_fits_the_residual_to_the_noise_power():
    truth = camera(128)
    psf = gaussian(1.5)
    g, _ = observe(truth, psf, 0.02)
    sp = Spectra(g, psf)
    q = laplacian_otf(g.shape) ** 2
    lam = choose_lam(sp, q, 0.02, "discrepancy")
    f = regularized(g, psf, lam=lam, boundary="periodic")
    residual = BlurOperator(psf, g.shape).forward(f) - g
    assert np.mean(residual ** 2) == pytest.approx(0.02 ** 2, rel=1e-3)


def test_on_a_cropped_photo_the_default_boundary_beats_the_periodic_model():
    g, truth = observe(camera(160), gaussian(2.0), 0.01, cropped=True)
    tapered = regularized(g, gaussian(2.0))
    periodic = regularized(g, gaussian(2.0), boundary="periodic")
    assert rms(tapered, truth) < 0.7 * rms(periodic, truth)
    assert rms(tapered, truth) < rms(g, truth)


@settings(max_examples=15, deadline=None)
@given(sigma=st.floats(0.005, 0.08), seed=st.integers(0, 1000))
def test_estimate_noise_feeds_the_filter_and_the_result_always_improves(sigma, seed):
    truth = camera(96)
    g, _ = observe(truth, gaussian(1.5), sigma, seed)
    assert abs(estimate_noise(g) - sigma) < 0.1 * sigma + 0.001  # detail left by the blur
    assert rms(regularized(g, gaussian(1.5), boundary="periodic"), truth) < rms(g, truth)


def test_wiener_scalar_nsr_is_the_identity_regularizer():
    g, _ = observe(camera(64), box(3), 0.01)
    a = wiener(g, box(3), nsr=0.03, boundary="periodic")
    b = regularized(g, box(3), lam=0.03, regularizer="identity", boundary="periodic")
    np.testing.assert_allclose(a, b, atol=1e-12)


def test_wiener_takes_a_per_frequency_nsr_on_the_images_grid():
    g, _ = observe(camera(64), box(3), 0.01)
    nsr = np.full((64, 33), 0.03)
    np.testing.assert_allclose(wiener(g, box(3), nsr=nsr, boundary="periodic"),
                               wiener(g, box(3), nsr=0.03, boundary="periodic"), atol=1e-12)
    with pytest.raises(ValueError, match="shape"):
        wiener(g, box(3), nsr=np.ones((64, 64)), boundary="periodic")


@pytest.mark.parametrize("method", ["regularized", "wiener", "inverse", "tikhonov",
                                    "landweber", "richardson_lucy"])
def test_every_method_keeps_float32_and_leaves_its_inputs_alone(method):
    g = np.abs(observe(camera(48), gaussian(1.0), 0.01)[0]).astype(np.float32)
    psf = gaussian(1.0).astype(np.float32)
    g0, psf0 = g.copy(), psf.copy()
    f, info = deconvolve(g, psf, method, full_output=True)
    assert f.dtype == np.float32 and np.isfinite(f).all() and info["method"] == method
    np.testing.assert_array_equal(g, g0)
    np.testing.assert_array_equal(psf, psf0)


def test_deconvolve_names_aliases_and_defaults():
    g = observe(camera(48), box(3), 0.01)[0]
    np.testing.assert_array_equal(deconvolve(g, box(3), "rl", iterations=3),
                                  deconvolve(g, box(3), "richardson_lucy", iterations=3))
    np.testing.assert_array_equal(deconvolve(g, box(3), boundary=None), regularized(g, box(3)))
    with pytest.raises(ValueError, match="method must be one of"):
        deconvolve(g, box(3), "blind")
    with pytest.raises(TypeError, match="method must be a string"):
        deconvolve(g, box(3), 3)


@pytest.mark.parametrize("call,error_type,words", [
    (lambda g: regularized(g, box(3), lam=-1.0), ValueError, "lam"),
    (lambda g: regularized(g, box(3), noise=float("nan")), ValueError, "noise"),
    (lambda g: regularized(g, box(3), rule="lcurve"), ValueError, "rule"),
    (lambda g: regularized(g, box(3), regularizer="tv"), ValueError, "regularizer"),
    (lambda g: regularized(g, box(3), boundary="zero"), ValueError, "boundary"),
    (lambda g: wiener(g, box(3), nsr="auto"), TypeError, "nsr"),
    (lambda g: inverse(g, box(3), boundary="none"), ValueError, "none"),
    (lambda g: inverse(g, box(3), threshold=2.0), ValueError, "threshold"),
    (lambda g: regularized(g, np.full((3, 3), np.nan)), ValueError, "finite|NaN"),
    (lambda g: regularized(g, -np.ones((3, 3))), ValueError, "sum"),
    (lambda g: regularized(g[0], box(3)), ValueError, "dimensions"),
])
def test_bad_parameters_are_rejected_naming_them(call, error_type, words):
    with pytest.raises(error_type, match=words):
        call(np.ones((32, 32)))


def _normal_equations_solution(g, psf, lam):
    """The exact minimiser of ``||H f - g||² + lam ||L f||²`` on the scene (``H`` the valid
    blur, ``L`` the periodic Laplacian of the scene's grid), by a dense solve, cropped."""
    H = BlurOperator(psf, g.shape, boundary="none")
    m = H.dims[0]
    columns = np.eye(m)
    Hd = np.stack([H.forward(e) for e in columns], axis=1)
    power = lam * laplacian_otf((m,)) ** 2
    C = np.stack([np.fft.irfft(power * np.fft.rfft(e), m) for e in columns], axis=1)
    return H.crop(np.linalg.solve(Hd.T @ Hd + C, Hd.T @ g))


@pytest.mark.parametrize("method", ["regularized", "wiener"])
def test_boundary_none_solves_its_normal_equations_to_tol_and_says_how_far(method):
    g = np.random.default_rng(3).random(48)
    psf, lam = gaussian(1.5, ndim=1), 1e-2
    run = (lambda **kw: regularized(g, psf, lam, 0.01, boundary="none", full_output=True,
                                    **kw)) if method == "regularized" else (
        lambda **kw: wiener(g, psf, lam, boundary="none", full_output=True, **kw))
    if method == "wiener":   # a flat NSR is the identity regulariser
        H = BlurOperator(psf, g.shape, boundary="none")
        m = H.dims[0]
        Hd = np.stack([H.forward(e) for e in np.eye(m)], axis=1)
        exact = H.crop(np.linalg.solve(Hd.T @ Hd + lam * np.eye(m), Hd.T @ g))
    else:
        exact = _normal_equations_solution(g, psf, lam)
    tight, tight_info = run(tol=1e-12, iterations=1000)
    loose, loose_info = run(tol=1e-3, iterations=1000)
    assert tight_info["cg_residual"] <= 1e-12 and loose_info["cg_residual"] <= 1e-3
    assert tight_info["cg_iterations"] > loose_info["cg_iterations"] >= 1
    np.testing.assert_allclose(tight, exact, atol=1e-9 * np.abs(exact).max())
    assert np.abs(loose - exact).max() > np.abs(tight - exact).max()
    capped, info = run(tol=1e-12, iterations=2)       # out of steps: the residual says so
    assert info["cg_iterations"] == 2 and info["cg_residual"] > 1e-12
    _, info = run(tol=0.5, iterations=10)              # the start is close enough already
    assert info["cg_iterations"] == 0 and 0 < info["cg_residual"] <= 0.5


@pytest.mark.parametrize("tol, error", [(0, ValueError), (-1e-3, ValueError),
                                        (float("nan"), ValueError), ("1e-6", TypeError)])
def test_tol_is_checked_at_the_boundary(tol, error):
    g = np.random.default_rng(0).random((16, 16))
    with pytest.raises(error, match="tol must be"):
        regularized(g, gaussian(1.0), 1e-2, 0.01, boundary="none", tol=tol)
    with pytest.raises(error, match="tol must be"):     # on every boundary, not only "none"
        wiener(g, gaussian(1.0), 1e-2, boundary="reflect", tol=tol)
