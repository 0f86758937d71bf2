"""PSFs, psf2otf/otf2psf and edgetaper of deconvkit.restoration."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deconvkit.restoration import (BOUNDARIES, as_psf, box, check_boundary, disk, edgetaper,
                                   gaussian, motion, otf2psf, psf2otf)

uft = pytest.importorskip("skimage.restoration.uft")


def centroid(h):
    """First moments of ``h`` per axis (in index units)."""
    idx = np.indices(h.shape)
    return [float((i * h).sum() / h.sum()) for i in idx]


def variance(h, axis):
    other = tuple(a for a in range(h.ndim) if a != axis)
    p = h.sum(axis=other)
    x = np.arange(p.size) - p.size // 2
    return float((p * x * x).sum() - (p * x).sum() ** 2)


# --- PSFs --------------------------------------------------------------------------------

@pytest.mark.parametrize("psf", [gaussian(1.3), gaussian((0.7, 2.0, 1.0)), box(3), box((5, 3)),
                                 disk(2.5), disk(0.4), motion(7, 0), motion(9, 90),
                                 motion(6, 45), motion(11, 135)])
def test_psfs_sum_to_one_odd_and_centred(psf):
    assert psf.dtype == np.float64
    assert abs(psf.sum() - 1) < 1e-12
    assert (psf >= 0).all()
    assert all(k % 2 == 1 for k in psf.shape)
    np.testing.assert_allclose(centroid(psf), [k // 2 for k in psf.shape], atol=1e-9)


def test_gaussian_shapes_and_variance():
    assert gaussian(2.0).shape == (13, 13)
    assert gaussian(1.0, ndim=3).shape == (7, 7, 7)
    assert gaussian(1.0, shape=(4, 9)).shape == (4, 9)
    assert gaussian(1.0, shape=5).shape == (5, 5)
    h = gaussian((1.5, 4.0))
    assert h.shape == (11, 25)
    for axis, s in enumerate((1.5, 4.0)):   # pixel-integrated: sigma^2 + 1/12
        assert abs(variance(h, axis) - (s * s + 1 / 12)) < 0.02 * s * s
    assert np.array_equal(gaussian((0.0, 1.0))[0], gaussian(1.0, ndim=1))


def test_gaussian_small_sigma_is_integrated_not_sampled():
    h = gaussian(0.3, ndim=1)     # sampled at the centres the variance would be 0.008
    assert h.shape == (3,)
    assert abs(variance(h[None], 1) - 0.09) < 0.01


def test_even_shape_centre_is_k_half():
    h = gaussian(1.0, shape=(6, 6))
    assert np.unravel_index(h.argmax(), h.shape) == (3, 3)


def test_box_and_disk_areas():
    assert np.allclose(box((2, 3, 4)), 1 / 24)
    assert box(4).shape == (4, 4)
    h = disk(5.0)
    assert h.shape == (11, 11)
    inside = h * np.pi * 25           # weights are pixel areas / total area pi r^2
    assert abs(inside[5, 5] - 1) < 1e-12 and abs(inside.sum() - np.pi * 25) < 1e-9
    assert np.allclose(h, h.T) and np.allclose(h, h[::-1])
    assert disk(1.5).shape == (5, 5)


def test_disk_areas_match_supersampling():
    r = 2.3
    n = 400
    edges = (np.arange(7 * n) + 0.5) / n - 3.5
    inside = (edges[:, None] ** 2 + edges[None, :] ** 2 <= r * r).astype(float)
    area = inside.reshape(7, n, 7, n).sum(axis=(1, 3)) / n ** 2
    np.testing.assert_allclose(disk(r) * np.pi * r * r, area, atol=5e-3)


def test_motion_lines():
    np.testing.assert_allclose(motion(5), np.full((1, 5), 0.2))
    np.testing.assert_allclose(motion(5, 90), np.full((5, 1), 0.2))
    np.testing.assert_allclose(motion(4), [[0.125, 0.25, 0.25, 0.25, 0.125]])
    d = motion(5, 45)
    assert d.shape == (5, 5) and d[0, -1] > 0 and d[-1, 0] > 0 and d[0, 0] == 0
    assert np.allclose(motion(7, 30), motion(7, 210))
    assert np.allclose(motion(7, 30), np.fliplr(motion(7, 150)))
    assert motion(1).shape == (1, 1)


@pytest.mark.parametrize("call, error", [
    (lambda: gaussian(-1.0), ValueError), (lambda: gaussian(np.nan), ValueError),
    (lambda: gaussian("1"), TypeError), (lambda: gaussian((1.0, 2.0), ndim=3), ValueError),
    (lambda: gaussian(1e9), ValueError), (lambda: gaussian(1.0, shape=0), ValueError),
    (lambda: gaussian(1e5, ndim=3), ValueError), (lambda: box((10**5,) * 3), ValueError),
    (lambda: box(0), ValueError), (lambda: box(2.5), TypeError),
    (lambda: disk(0), ValueError), (lambda: disk(True), TypeError),
    (lambda: motion(0.5), ValueError), (lambda: motion(3, np.inf), ValueError),
])
def test_generator_errors(call, error):
    with pytest.raises(error):
        call()


# --- as_psf --------------------------------------------------------------------------------

def test_as_psf_normalises_a_copy_and_keeps_float32():
    a = np.array([[1.0, 3.0]])
    out = as_psf(a, ndim=3)
    assert out.shape == (1, 1, 2) and np.allclose(out.sum(), 1)
    assert a[0, 1] == 3.0
    assert as_psf(np.ones(3, np.float32)).dtype == np.float32
    assert as_psf(np.ones(3, np.int64)).dtype == np.float64


@pytest.mark.parametrize("psf, error, words", [
    ([[np.nan, 1.0]], ValueError, "finite"),
    ([1.0, -2.0], ValueError, "positive sum"),
    ([1.0, -1.0], ValueError, "positive sum"),
    (np.ones((2, 2, 2)), ValueError, "the PSF has 3 dimensions, the image 2"),
    ([], ValueError, "empty"),
    ([1 + 1j], TypeError, "real"),
    (["a"], TypeError, "real numbers"),
])
def test_as_psf_errors(psf, error, words):
    with pytest.raises(error, match=words):
        as_psf(psf, ndim=2)


# --- psf2otf / otf2psf -------------------------------------------------------------------

@settings(max_examples=60)
@given(st.lists(st.tuples(st.integers(1, 5), st.integers(0, 4)), min_size=1, max_size=3),
       st.booleans(), st.integers(0, 2**31))
def test_psf2otf_matches_skimage_and_round_trips(axes, real, seed):
    k = tuple(a for a, _ in axes)
    shape = tuple(a + b for a, b in axes)
    h = np.random.default_rng(seed).standard_normal(k)
    otf = psf2otf(h, shape, real=real)
    np.testing.assert_allclose(otf, uft.ir2tf(h, shape, is_real=real), atol=1e-12)
    back = otf2psf(otf, k, shape=shape if real else None)
    np.testing.assert_allclose(back, h, atol=1e-12)


def test_psf2otf_blurs_without_shift_and_keeps_float32():
    x = np.zeros(8)
    x[3] = 1.0
    y = np.fft.irfft(np.fft.rfft(x) * psf2otf([1.0, 2.0, 3.0, 4.0], 8), 8)
    np.testing.assert_allclose(y, [0, 1, 2, 3, 4, 0, 0, 0], atol=1e-12)   # centre index 2
    assert psf2otf(np.ones((2, 2), np.float32), (4, 4)).dtype == np.complex64
    assert psf2otf([1.0, -2.0, 1.0], (2, 5)).shape == (2, 3)   # not normalised, fewer axes


def test_psf2otf_errors():
    with pytest.raises(ValueError, match="must fit"):
        psf2otf(np.ones(5), 4)
    with pytest.raises(ValueError, match="3 dimensions"):
        psf2otf(np.ones((2, 2, 2)), (4, 4))
    with pytest.raises(ValueError, match="half spectrum"):
        otf2psf(np.ones((4, 4)), 2, shape=(4, 4))


# --- boundaries and edgetaper ------------------------------------------------------------

def test_check_boundary():
    for b in BOUNDARIES:
        assert check_boundary(b) == b
    with pytest.raises(ValueError, match="'periodic', 'reflect', 'edgetaper', 'none'"):
        check_boundary("zeros")
    with pytest.raises(ValueError):
        check_boundary(None)


def wrap_jump(a, axis):
    return float(np.abs(np.take(a, 0, axis) - np.take(a, -1, axis)).mean())


def test_edgetaper_keeps_interior_and_smooths_the_wrap():
    rng = np.random.default_rng(0)
    g = np.add.outer(np.linspace(0, 10, 64), np.linspace(0, 5, 48)) + rng.random((64, 48))
    g0 = g.copy()
    h = gaussian(3.0)                          # 19 x 19
    j = edgetaper(g, h)
    assert np.array_equal(g, g0)
    assert j.shape == g.shape and j.dtype == np.float64
    np.testing.assert_array_equal(j[19:-19, 19:-19], g[19:-19, 19:-19])
    assert not np.allclose(j[:3], g[:3])
    for axis in (0, 1):
        assert wrap_jump(j, axis) < 0.2 * wrap_jump(g, axis)
    assert edgetaper(g.astype(np.float32), h).dtype == np.float32


def test_edgetaper_weight_is_one_minus_autocorrelation():
    g = np.zeros(16)
    h = np.array([1.0, 1.0, 1.0])
    j = edgetaper(g + 1.0, h)                    # blur of a constant is the constant
    np.testing.assert_allclose(j, 1.0)
    x = np.arange(16.0)
    j = edgetaper(x, h)
    blurred = np.convolve(np.r_[x[-1], x, x[0]], h / 3, "valid")
    # beta over length 15 = [1, 2/3, 1/3, 0, ..., 0, 1/3, 2/3] then 1 repeated at the end
    beta = np.zeros(16)
    beta[[0, 1, 2, 13, 14, 15]] = [1, 2 / 3, 1 / 3, 1 / 3, 2 / 3, 1]
    np.testing.assert_allclose(j, (1 - beta) * x + beta * blurred, atol=1e-12)


def test_edgetaper_errors_and_one_axis_psf():
    with pytest.raises(ValueError, match="half the image"):
        edgetaper(np.ones((10, 10)), np.ones((6, 3)))
    g = np.random.default_rng(1).random((12, 12))
    j = edgetaper(g, np.ones((1, 3)))                # blurs along columns only
    assert not np.allclose(j[:, 0], g[:, 0])
    np.testing.assert_array_equal(j[:, 4:-4], g[:, 4:-4])
