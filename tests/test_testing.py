"""The test tools themselves: the strategy is not degenerate, the checks can fail."""

import numpy as np
import pytest
from hypothesis import find, given

import deconvkit as dk
from deconvkit.testing import conv_cases, dottest, numerical_grad, random_arrays, rel_error


@pytest.mark.parametrize("name, condition", [
    ("grouped, >= 2 channels per group each side, C_in != C_out",
     lambda c: c.spec.groups >= 2 and c.in_channels != c.out_channels
     and min(c.in_channels, c.out_channels) >= 2 * c.spec.groups),
    ("even, non-square 2-D kernel", lambda c: c.spec.ndim == 2 and c.spec.kernel_size[0] % 2 == 0
     and c.spec.kernel_size[0] != c.spec.kernel_size[1]),
    ("asymmetric padding", lambda c: any(lo != hi for lo, hi in c.spec.padding)),
    ("stride != dilation, both > 1", lambda c: any(s != d and s > 1 and d > 1 for s, d in
                                                    zip(c.spec.stride, c.spec.dilation))),
    ("stride > kernel", lambda c: any(s > k for s, k in zip(c.spec.stride, c.spec.kernel_size))),
    ("output_padding >= stride", lambda c: any(r >= s for r, s in
                                               zip(c.spec.output_padding, c.spec.stride))),
    ("3-D, batch 2, float32", lambda c: c.spec.ndim == 3 and c.batch == 2
     and c.dtype == np.float32),
])
def test_strategy_reaches(name, condition):
    assert condition(find(conv_cases(), condition))


def test_dottest_catches_a_wrong_adjoint():
    """The flip + 'same' adjoint of a 'same' convolution is wrong for even kernels."""
    w = np.array([1.0, 2.0, 3.0, 4.0]).reshape(1, 1, 4)
    conv_same = lambda x: dk.conv(x, w, padding="same")
    flipped = w[..., ::-1].copy()
    wrong_adjoint = lambda y: dk.conv(y, flipped, padding="same")
    right_adjoint = lambda y: dk.conv_transpose(y, w, padding="same")
    dottest(conv_same, right_adjoint, (1, 1, 9), (1, 1, 9))
    with pytest.raises(AssertionError, match="dot test failed"):
        dottest(conv_same, wrong_adjoint, (1, 1, 9), (1, 1, 9))


def test_numerical_grad_and_rel_error():
    x = np.array([0.5, -1.0, 2.0])
    g = numerical_grad(lambda v: np.sin(v), x, np.array([1.0, 2.0, 3.0]))
    assert rel_error(g, np.cos(x) * [1, 2, 3]) < 1e-8
    assert rel_error([0.0], [0.0]) == 0.0
    with pytest.raises(ValueError):
        rel_error([1.0], [1.0, 2.0])


@given(case=conv_cases(max_size=3))
def test_case_keywords_are_its_spec(case):
    """conv_kwargs() passes the spec; its keyword spelling gives the same results (the
    grids that use conv_kwargs() run the spec form, this one runs the keyword form too)."""
    x, w, y = random_arrays(case)
    kw, kw_t = case.geometry_keywords(), case.geometry_keywords(transposed=True)
    assert case.conv_kwargs() == case.transpose_kwargs() == dict(spec=case.spec)
    assert dk.ConvSpec(case.spec.kernel_size, **kw_t) == case.spec
    yc = dk.conv(x, w, **case.conv_kwargs())
    assert np.array_equal(yc, dk.conv(x, w, **kw))
    xt = dk.conv_transpose(y, w, **case.transpose_kwargs())
    assert xt.shape == case.x_shape and np.array_equal(xt, dk.conv_transpose(y, w, **kw_t))
    k = case.spec.kernel_size
    assert np.array_equal(dk.conv_weight_grad(x, yc, **case.conv_kwargs()),
                          dk.conv_weight_grad(x, yc, k, **kw))
    assert np.array_equal(dk.conv_transpose_weight_grad(y, x, **case.transpose_kwargs()),
                          dk.conv_transpose_weight_grad(y, x, k, **kw))
    shape = case.x_shape[1:]
    assert (dk.conv_matrix(w, shape, **case.conv_kwargs())
            != dk.conv_matrix(w, shape, **kw)).nnz == 0
