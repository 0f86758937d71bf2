"""estimate_noise: recovers a known sigma on smooth data, zero for a constant, checks its input."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from deconvkit.restoration.noise import estimate_noise

SHAPES = {1: (8192,), 2: (128, 128), 3: (32, 32, 32)}


def smooth(shape):
    """A smooth field of amplitude about 1: a product of slow sines, one per axis."""
    grids = np.meshgrid(*[np.linspace(0, 1, n) for n in shape], indexing="ij")
    out = np.ones(shape)
    for k, grid in enumerate(grids):
        out *= np.sin((3 + k) * grid + 0.5)
    return out


@pytest.mark.parametrize("ndim", [1, 2, 3])
@settings(max_examples=25, deadline=None)
@given(sigma=st.floats(0.01, 1.0), seed=st.integers(0, 2**32 - 1))
def test_recovers_known_sigma(ndim, sigma, seed):
    shape = SHAPES[ndim]
    g = smooth(shape) + np.random.default_rng(seed).normal(0.0, sigma, shape)
    assert estimate_noise(g) == pytest.approx(sigma, rel=0.1)


@pytest.mark.parametrize("shape", [(2,), (7, 3), (4, 5, 6)])
def test_constant_is_zero(shape):
    assert estimate_noise(np.full(shape, 3.25)) == 0.0


def test_integer_input_and_odd_sizes():
    rng = np.random.default_rng(1)
    g = np.round(100 + rng.normal(0, 10, (301, 257))).astype(np.int32)
    assert estimate_noise(g) == pytest.approx(10, rel=0.1)


def test_does_not_modify_input():
    g = np.random.default_rng(2).normal(size=(33, 40))
    before = g.copy()
    estimate_noise(g)
    np.testing.assert_array_equal(g, before)


def test_returns_python_float():
    assert type(estimate_noise([[0.0, 1.0], [2.0, 5.0]])) is float


@pytest.mark.parametrize("bad", [np.array(1.0), np.ones(1), np.ones((5, 1)), np.ones((0, 4))])
def test_too_small_is_value_error(bad):
    with pytest.raises(ValueError, match="g"):
        estimate_noise(bad)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_is_value_error(value):
    g = np.zeros((4, 4))
    g[1, 2] = value
    with pytest.raises(ValueError, match="g must be finite"):
        estimate_noise(g)


@pytest.mark.parametrize("bad", [np.ones((4, 4), complex), np.ones((4, 4), bool),
                                 np.array([["a", "b"], ["c", "d"]]), [[None, 1], [2, 3]]])
def test_non_numeric_is_type_error(bad):
    with pytest.raises(TypeError, match="g must be a real numeric array"):
        estimate_noise(bad)
