"""The worked examples of the seed documents (shared/seeds)."""

import numpy as np
import pytest

import deconvkit as dk

METHODS = dk.available_methods()
# exact in floating point for small integers, except the FFT's rounding
EXACT = [m for m in METHODS if m != "fft"]


def check(got, expected, method):
    if method in EXACT:
        assert np.asarray(got).tolist() == np.asarray(expected).tolist()
    else:
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4)

# seed 001: 4x4 patch read left to right, top to bottom, and the 3x3 mask
PATCH = np.array([3, 3, 2, 1, 0, 0, 1, 3, 3, 1, 2, 2, 2, 0, 0, 2.0]).reshape(1, 1, 4, 4)
MASK = np.array([[0, 1, 2], [2, 2, 0], [0, 1, 2.0]]).reshape(1, 1, 3, 3)


@pytest.mark.parametrize("method", METHODS)
def test_seed001_conv_gives_12_12_10_17(method):
    check(dk.conv(PATCH, MASK, method=method).ravel(), [12, 12, 10, 17], method)


def test_seed001_matrix_c_is_16x4_and_its_transpose_upsamples():
    c = dk.conv_matrix(MASK, (1, 4, 4)).toarray()   # the seed's C is this matrix transposed
    assert c.shape == (4, 16)
    assert (PATCH.ravel() @ c.T).tolist() == [12, 12, 10, 17]     # D^T C
    # each column of the seed's C is the mask placed in a 4x4 array at one position
    for row, (i, j) in zip(c, [(0, 0), (0, 1), (1, 0), (1, 1)]):
        placed = np.zeros((4, 4))
        placed[i:i + 3, j:j + 3] = MASK[0, 0]
        assert np.array_equal(row.reshape(4, 4), placed)
    e = np.array([12, 12, 10, 17.0])
    up = dk.conv_transpose(e.reshape(1, 1, 2, 2), MASK)
    assert np.array_equal(up.ravel(), e @ c)                      # E C^T, 16 values


@pytest.mark.parametrize("method", METHODS)
def test_seed000_tensorflow_snippet(method):
    """tf.nn.conv2d_transpose of [[1,2],[3,4]], 3x3 ones, stride 2, SAME -> 4x4."""
    x = np.array([[[[1.0, 2.0], [3.0, 4.0]]]], dtype=np.float32)
    y = dk.conv_transpose(x, np.ones((1, 1, 3, 3), np.float32), stride=2, padding="same",
                          method=method)
    expected = [[1, 1, 3, 2], [1, 1, 3, 2], [4, 4, 10, 6], [3, 3, 7, 4]]
    assert y.dtype == np.float32
    check(y[0, 0], expected, method)


def test_seed002_matrix_v_pattern():
    """3x3 image, 2x2 filter: V is 4x9, rows are the filter shifted by 1, 1+2... ."""
    w = np.array([[11.0, 12.0], [21.0, 22.0]]).reshape(1, 1, 2, 2)
    v = dk.conv_matrix(w, (1, 3, 3)).toarray()
    expected = np.array([
        [11, 12, 0, 21, 22, 0, 0, 0, 0],
        [0, 11, 12, 0, 21, 22, 0, 0, 0],
        [0, 0, 0, 11, 12, 0, 21, 22, 0],
        [0, 0, 0, 0, 11, 12, 0, 21, 22]])
    assert np.array_equal(v, expected)
    z = np.arange(1.0, 5.0).reshape(1, 1, 2, 2)
    assert np.array_equal(dk.conv_transpose(z, w).ravel(), v.T @ z.ravel())


@pytest.mark.parametrize("method", METHODS)
def test_seed000_repeat_upsampling_is_a_transposed_convolution(method):
    """2x repeat upsampling then a size-3 kernel q == stride-2 transposed conv with
    the size-4 kernel (q0, q0+q1, q1+q2, q2)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 1, 9))
    q = rng.standard_normal(3)
    repeated = np.repeat(x, 2, axis=-1)
    # "full" convolution with q (flip for the framework's correlation)
    direct = dk.conv(repeated, q[::-1].reshape(1, 1, 3).copy(), padding=2)
    k4 = np.array([q[0], q[0] + q[1], q[1] + q[2], q[2]]).reshape(1, 1, 4)
    transposed = dk.conv_transpose(x, k4, stride=2, method=method)
    assert transposed.shape == (1, 1, 20)
    np.testing.assert_allclose(transposed[..., :direct.shape[-1]], direct, atol=1e-12)
