"""keras_conv_transpose against Keras 3 on its JAX backend, whose padding rule deconvkit follows.

Runs only when Keras is imported with the JAX backend, which must be chosen before Keras is
first imported, so in its own process::

    KERAS_BACKEND=jax python -m pytest tests/test_conventions_keras_jax.py

It covers what Keras' TensorFlow backend refuses: an even kernel with ``padding="same"``
and ``output_padding=0``, and the size-0 outputs that gives for one input pixel.
"""

import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deconvkit.conventions import keras_conv_transpose
from deconvkit.testing import rel_error

if os.environ.get("KERAS_BACKEND") != "jax":
    pytest.skip("needs KERAS_BACKEND=jax (see the module docstring)", allow_module_level=True)
pytest.importorskip("jax")
keras = pytest.importorskip("keras")


@st.composite
def problems(draw):
    ndim = draw(st.sampled_from((1, 2)))
    k = [draw(st.integers(1, 5)) for _ in range(ndim)]
    s = [draw(st.integers(1, 3)) for _ in range(ndim)]
    d = [1] * ndim if max(s) > 1 else [draw(st.integers(1, 3)) for _ in range(ndim)]
    op = None if draw(st.booleans()) else [draw(st.integers(0, si - 1)) for si in s]
    m = [draw(st.integers(1, 4)) for _ in range(ndim)]
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    x = rng.standard_normal([1] + m + [2]).astype(np.float32)
    kernel = rng.standard_normal(k + [3, 2]).astype(np.float32)
    return x, kernel, dict(strides=tuple(s), padding=draw(st.sampled_from(("valid", "same"))),
                           output_padding=op, dilation_rate=tuple(d))


@settings(max_examples=100)
@given(problems())
def test_keras_jax_backend(problem):
    x, kernel, kwargs = problem
    assert keras.backend.backend() == "jax"
    expected = np.asarray(keras.ops.conv_transpose(x, kernel, **kwargs))
    got = keras_conv_transpose(x, kernel, **kwargs)
    assert got.shape == expected.shape
    assert rel_error(got, expected) < 2e-5
