"""BlurOperator: exact adjoints for every boundary, against independent oracles."""

import itertools

import numpy as np
import pytest
import scipy.ndimage
import scipy.signal
from hypothesis import given, settings
from hypothesis import strategies as st

import deconvkit
from deconvkit.linop import BlurOperator
from deconvkit.restoration import BOUNDARIES, gaussian, psf2otf
from deconvkit.testing import dottest, rel_error

CASES = [((9,), (3,)), ((10,), (4,)), ((7, 8), (3, 3)), ((8, 9), (4, 2)),
         ((6, 5, 7), (3, 2, 3)), ((6, 6, 5), (2, 4, 1))]


def rng_psf(k, seed=0):
    return np.random.default_rng(seed).random(k) + 0.1


@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("shape, k", CASES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_dot_test(boundary, shape, k, dtype):
    op = BlurOperator(rng_psf(k), shape, boundary, dtype=dtype)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    dottest(op.forward, op.adjoint, op.dims, op.dimsd, dtype=dtype, rtol=rtol)
    assert op.forward(np.zeros(op.dims, dtype)).dtype == dtype
    assert op.adjoint(np.zeros(op.dimsd, dtype)).dtype == dtype


@settings(max_examples=80)
@given(st.sampled_from(["reflect", "none"]),
       st.lists(st.tuples(st.integers(1, 7), st.integers(1, 12)), min_size=1, max_size=3),
       st.integers(0, 2**31))
def test_dot_test_property_psf_larger_than_image(boundary, axes, seed):
    k = tuple(a for a, _ in axes)
    shape = tuple(b for _, b in axes)
    op = BlurOperator(rng_psf(k, seed), shape, boundary)
    dottest(op.forward, op.adjoint, op.dims, op.dimsd, seed=seed, rtol=1e-11)


def wrapped_oracle(x, h):
    """``y[i] = sum_j h[j] x[(i + k//2 - j) mod n]`` by an explicit sum."""
    y = np.zeros_like(x)
    for j in itertools.product(*map(range, h.shape)):
        shift = [kn // 2 - jn for kn, jn in zip(h.shape, j)]
        y += h[j] * np.roll(x, [-s for s in shift], axis=tuple(range(x.ndim)))
    return y


@pytest.mark.parametrize("shape, k", CASES)
def test_periodic_forward_vs_oracles(shape, k):
    h = rng_psf(k)
    h /= h.sum()
    x = np.random.default_rng(2).standard_normal(shape)
    y = BlurOperator(h, shape).forward(x)
    assert rel_error(y, wrapped_oracle(x, h)) < 1e-12
    # ndimage.convolve flips the kernel about its centre: with origin 0 that is the same
    # y[i] = sum_j h[j] x[i + k//2 - j] for even sizes too (a nonzero origin would shift it)
    ref = scipy.ndimage.convolve(x, h, mode="wrap", origin=0)
    assert rel_error(y, ref) < 1e-12


@pytest.mark.parametrize("shape, k", CASES + [((3, 4), (7, 9))])
def test_none_forward_is_valid_convolution_and_conv(shape, k):
    h = rng_psf(k)
    h /= h.sum()
    op = BlurOperator(h, shape, "none")
    assert op.dims == tuple(n + kn - 1 for n, kn in zip(shape, k)) and op.dimsd == shape
    x = np.random.default_rng(3).standard_normal(op.dims)
    y = op.forward(x)
    assert rel_error(y, scipy.signal.fftconvolve(x, h, mode="valid")) < 1e-12
    flipped = h[(slice(None, None, -1),) * h.ndim]
    layer = deconvkit.conv(x[None, None], flipped[None, None])[0, 0]
    assert rel_error(y, layer) < 1e-12
    g = np.random.default_rng(4).standard_normal(shape)
    assert rel_error(op.adjoint(g), scipy.signal.correlate(g, h, mode="full")) < 1e-12


@pytest.mark.parametrize("shape, k", CASES + [((3, 2), (8, 7)), ((1, 5), (4, 3))])
def test_reflect_forward_vs_pad_and_convolve(shape, k):
    h = rng_psf(k)
    h /= h.sum()
    x = np.random.default_rng(5).standard_normal(shape)
    y = BlurOperator(h, shape, "reflect").forward(x)
    pads = [(kn - 1 - kn // 2, kn // 2) for kn in k]
    ref = scipy.signal.convolve(np.pad(x, pads, mode="symmetric"), h, mode="valid")
    assert ref.shape == shape and rel_error(y, ref) < 1e-12


def test_reflect_adjoint_vs_explicit_matrix():
    h = rng_psf((3, 4))
    op = BlurOperator(h, (5, 3), "reflect")
    dense = op.matmat(np.eye(15))
    np.testing.assert_allclose(op.rmatmat(np.eye(15)), dense.T, atol=1e-13)
    np.testing.assert_allclose(op.H.matmat(np.eye(15)), dense.T, atol=1e-13)


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_delta_psf_is_identity(boundary):
    x = np.random.default_rng(6).standard_normal((6, 7))
    for k in [(1, 1), (3, 3), (2, 4)]:
        delta = np.zeros(k)
        delta[tuple(kn // 2 for kn in k)] = 1.0
        op = BlurOperator(delta, x.shape, boundary)
        scene = op.extend(x)
        np.testing.assert_allclose(op.forward(scene), x, atol=1e-13)
        np.testing.assert_allclose(op.crop(op.adjoint(x)), x, atol=1e-13)


def test_crop_extend_and_ones_adjoint():
    h = np.ones((3, 4))
    op = BlurOperator(h, (6, 8), "none")
    g = np.arange(48.0).reshape(6, 8)
    scene = op.extend(g)
    assert scene.shape == op.dims == (8, 11)
    np.testing.assert_array_equal(op.crop(scene), g)
    np.testing.assert_array_equal(scene[:2, 1:-2], g[[0, 0], :])   # symmetric: edge repeated
    ones = op.ones_adjoint()
    assert ones is op.ones_adjoint() and not ones.flags.writeable
    np.testing.assert_allclose(ones[2:6, 3:8], 1.0)        # seen by all of h: scene k-1..n-1
    assert ones[0, 0] == pytest.approx(1 / 12) and ones[1, 0] == pytest.approx(2 / 12)
    assert ones[1:7, 2:9].min() < 1 - 0.1
    for b in ("periodic", "reflect", "edgetaper"):
        other = BlurOperator(h, (6, 8), b)
        if b == "reflect":        # rows of H sum to 1, so its columns sum to 48 in all
            assert other.ones_adjoint().sum() == pytest.approx(48)
            np.testing.assert_allclose(BlurOperator(np.ones((3, 3)), (6, 8), b).ones_adjoint(),
                                       1.0, atol=1e-12)   # odd symmetric PSF: the mirror is fair
        else:
            assert np.array_equal(other.ones_adjoint(), np.ones((6, 8)))
        e = other.extend(g)
        assert e is not g and np.array_equal(e, g) and np.array_equal(other.crop(g), g)


def test_attributes_and_linear_operator():
    op = BlurOperator(gaussian(1.0), (32, 20), "reflect", dtype=np.float32)
    assert op.fft_shape[0] >= 38 and op.fft_shape[1] >= 26
    assert op.otf.shape == op.fft_shape[:-1] + (op.fft_shape[1] // 2 + 1,)
    assert op.otf.dtype == np.complex64 and op.psf.dtype == np.float32
    assert op.shape == (640, 640) and op.dtype == np.float32
    v = np.random.default_rng(7).standard_normal(640)
    np.testing.assert_allclose(op.matvec(v), op.forward(v.reshape(32, 20)).ravel(), rtol=1e-6)
    np.testing.assert_allclose(op.H.matvec(v), op.rmatvec(v), rtol=1e-6)
    z = op.matvec(v + 2j * v)
    np.testing.assert_allclose(z.imag, 2 * z.real, rtol=1e-5)
    h = gaussian((1.0, 2.0), shape=(4, 7))
    np.testing.assert_allclose(BlurOperator(h, (9, 12)).otf, psf2otf(h, (9, 12)), atol=1e-15)
    assert BlurOperator(np.ones(3), 7).boundary == "periodic"
    assert BlurOperator([1.0], (4, 4)).psf.shape == (1, 1)
    assert BlurOperator(np.ones(3), 7, "edgetaper").boundary == "edgetaper"


def test_float32_in_float64_operator_and_inputs_unchanged():
    h = gaussian(1.0)
    x = np.random.default_rng(8).standard_normal((16, 16)).astype(np.float32)
    x0, h0 = x.copy(), h.copy()
    for b in BOUNDARIES:
        op = BlurOperator(h, x.shape, b, dtype=np.float32)
        y = op.forward(op.extend(x))
        assert y.dtype == np.float32
        op.adjoint(x)
        assert BlurOperator(h, x.shape, b).forward(op.extend(x)).dtype == np.float64
    assert np.array_equal(x, x0) and np.array_equal(h, h0)


@pytest.mark.parametrize("make, error, words", [
    (lambda: BlurOperator(np.ones(3), (5,), "zero"), ValueError, "one of 'periodic'"),
    (lambda: BlurOperator([np.nan, 1.0], (5,)), ValueError, "finite"),
    (lambda: BlurOperator([1.0, -2.0], (5,)), ValueError, "positive sum"),
    (lambda: BlurOperator(np.ones((2, 2, 2)), (5, 5)), ValueError, "3 dimensions, the image 2"),
    (lambda: BlurOperator(np.ones(7), (5,)), ValueError, "must fit"),
    (lambda: BlurOperator(np.ones(3), (5, 0)), ValueError, "shape"),
    (lambda: BlurOperator(np.ones(3), (5.0,)), TypeError, "shape"),
    (lambda: BlurOperator(np.ones(3), (5,), dtype=np.int32), ValueError, "dtype"),
])
def test_constructor_errors(make, error, words):
    with pytest.raises(error, match=words):
        make()


def test_call_errors():
    op = BlurOperator(np.ones((3, 3)), (6, 6), "none")
    with pytest.raises(ValueError, match=r"x must have shape \(8, 8\) .*got shape \(6, 6\)"):
        op.forward(np.ones((6, 6)))
    with pytest.raises(ValueError, match=r"y must have shape \(6, 6\)"):
        op.adjoint(np.ones((8, 8)))
    with pytest.raises(TypeError, match="real"):
        op.forward(np.ones((8, 8), complex))
    with pytest.raises(TypeError, match="numbers"):
        op.forward(np.full((8, 8), "a"))
