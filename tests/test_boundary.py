"""The public boundary of the functional API: each finding of the fuzz that led to
issue 10 as a regression test, the spec= form, and the non-finite contract."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given, strategies as st

import deconvkit as dk

ONE = np.ones((1, 1, 4))


@pytest.mark.parametrize("fn, args, shape", [
    (dk.conv_transpose_weight_grad, (np.ones((0, 1, 2)), np.ones((0, 1, 4)), 3), (1, 1, 3)),
    (dk.conv_weight_grad, (np.ones((0, 1, 4)), np.ones((0, 1, 2)), 3), (1, 1, 3)),
])
@pytest.mark.parametrize("method", ["auto"] + list(dk.available_methods()))
def test_empty_batch_weight_gradients_are_zeros(fn, args, shape, method):
    dw = fn(*args, method=method)
    assert dw.shape == shape and not dw.any()


def test_method_is_checked_even_for_an_empty_batch():
    with pytest.raises(ValueError, match="method must be"):
        dk.conv(np.ones((0, 1, 4)), np.ones((1, 1, 3)), method="bogus")
    with pytest.raises(ValueError, match="method must be"):
        dk.conv_weight_grad(np.ones((0, 1, 4)), np.ones((0, 1, 2)), 3, method="bogus")


@pytest.mark.parametrize("call, error, message", [
    (lambda: dk.conv(ONE, np.ones((1, 1, 3)), stride=0, padding="same"), ValueError,
     "stride must be >= 1"),
    (lambda: dk.conv(ONE, np.ones((1, 1, 3)), stride=2**63), ValueError, "stride must be <="),
    (lambda: dk.conv(np.ones((1, 1, 3)), np.arange(1., 4).reshape(1, 1, 3), dilation=2**63 - 1,
                     padding=(0, 2**64 - 2), method="matrix"), ValueError, "dilation must be <="),
    (lambda: dk.choose_method("conv", (1, 1, 4), (1, 1, 3), None), TypeError,
     "spec must be a ConvSpec"),
    (lambda: dk.choose_method("conv", (1,), (1, 1, 3), dk.ConvSpec(3)), ValueError,
     "x_shape must be 3 ints"),
    (lambda: dk.conv_transpose(np.ones((1, 1, 2)), np.ones((1, 1, 3)), output_size=6.0),
     TypeError, "output_size must be an int or a sequence of 1 ints, got 6.0"),
    (lambda: dk.ConvSpec(3, padding=2).transpose_output_size(1), ValueError, "leaves no output"),
    (lambda: dk.conv(ONE, np.ones((1, 1, 3)), spec=dk.ConvSpec(3), stride=2), TypeError,
     "not both"),
    (lambda: dk.conv(ONE, np.ones((1, 1, 3)), spec=(3,)), TypeError, "spec must be a ConvSpec"),
    (lambda: dk.conv(ONE, np.ones((1, 1, 3)), spec=dk.ConvSpec(2)), ValueError, "kernel size"),
    (lambda: dk.conv_weight_grad(ONE, np.ones((1, 1, 2))), TypeError, "kernel_size is required"),
    (lambda: dk.conv_matrix(np.ones((1, 1, 3)), 5), TypeError, "input_shape must be a tuple"),
])
def test_bad_input_is_a_clear_error(call, error, message):
    with pytest.raises(error, match=None) as info:
        call()
    assert message in str(info.value)


def test_the_wide_dilation_case_is_right_within_range():
    """The silent wrong result of issue 10 ([1,1,4] instead of [1,1,1]), in range now."""
    x, w = np.ones((1, 1, 3)), np.arange(1., 4).reshape(1, 1, 3)
    kw = dict(dilation=2**30, padding=(0, 2**31 - 1), stride=2**31 - 1)
    for method in ("matrix", "auto"):
        np.testing.assert_array_equal(dk.conv(x, w, method=method, **kw), [[[1.0]]])


def test_spec_form_equals_keyword_form():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 4, 7, 6)), rng.standard_normal((4, 3, 3, 2))
    kw = dict(stride=(2, 1), padding=((1, 0), (1, 1)), dilation=(1, 2), groups=2)
    spec = dk.ConvSpec((3, 2), **kw)
    y = dk.conv_transpose(x, w, output_padding=(1, 0), **kw)
    assert np.array_equal(dk.conv_transpose(x, w, spec=spec.with_output_padding((1, 0))), y)
    assert np.array_equal(dk.conv_transpose(x, w, spec=spec, output_size=y.shape[2:]), y)
    dy = rng.standard_normal(y.shape)
    assert np.array_equal(dk.conv_transpose_weight_grad(x, dy, spec=spec),
                          dk.conv_transpose_weight_grad(x, dy, (3, 2), **kw))
    xs = rng.standard_normal((2, 6, 7, 6))
    ws = rng.standard_normal((4, 3, 3, 2))
    dys = dk.conv(xs, ws, spec=spec)
    assert np.array_equal(dk.conv_weight_grad(xs, dys, spec=spec),
                          dk.conv_weight_grad(xs, dys, (3, 2), **kw))
    assert (dk.conv_matrix(ws, (6, 7, 6), spec=spec) != dk.conv_matrix(ws, (6, 7, 6), **kw)).nnz == 0


@pytest.mark.parametrize("method", list(dk.available_methods()) + ["auto"])
def test_results_are_owned_contiguous_and_leave_inputs_alone(method):
    x = np.ones((1, 2, 5))
    w = np.ones((2, 2, 1))
    before = x.copy(), w.copy()
    for y in (dk.conv(x, w, method=method), dk.conv_transpose(x, w, method=method)):
        assert y.flags.c_contiguous and y.flags.writeable and y.flags.owndata or y.base is not x
        assert not np.shares_memory(y, x) and not np.shares_memory(y, w)
    assert np.array_equal(x, before[0]) and np.array_equal(w, before[1])


@st.composite
def nonfinite_cases(draw):
    k, s = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    d, p = draw(st.integers(1, 2)), draw(st.integers(0, 2))
    n = draw(st.integers(max(1, -(-(d * (k - 1) + 1 - 2 * p) // 1)), 9))
    x = np.array(draw(st.lists(st.sampled_from([1.0, -2.0, 0.0, np.nan, np.inf, -np.inf]),
                               min_size=n, max_size=n)))
    w = np.array(draw(st.lists(st.sampled_from([1.0, 0.0, -0.5]), min_size=k, max_size=k)))
    return x.reshape(1, 1, n), w.reshape(1, 1, k), dict(stride=s, padding=p, dilation=d)


@given(nonfinite_cases(), st.sampled_from(list(dk.available_methods()) + ["auto"]))
def test_nonfinite_values_reach_what_they_reach_in_pytorch(case, method):
    """NaN and Inf in the input give PyTorch's pattern of NaN and Inf with every method
    (fft spread them everywhere, polyphase to outputs they do not reach)."""
    x, w, kw = case
    tx, tw = torch.from_numpy(x), torch.from_numpy(w)
    try:
        want = TF.conv_transpose1d(tx, tw, **kw).numpy()
    except RuntimeError:
        want = None
    if want is not None and want.shape[-1] >= 1:
        got = dk.conv_transpose(x, w, method=method, **kw)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        np.testing.assert_array_equal(np.isposinf(got), np.isposinf(want))
        np.testing.assert_array_equal(np.isneginf(got), np.isneginf(want))
    if x.shape[-1] + 2 * kw["padding"] >= kw["dilation"] * (w.shape[-1] - 1) + 1:
        want = TF.conv1d(tx, tw, **kw).numpy()
        got = dk.conv(x, w, method=method, **kw)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        np.testing.assert_array_equal(np.isinf(got), np.isinf(want))


def test_empty_batch_with_an_output_numpy_cannot_hold_is_a_clear_error():
    """Found by the soak: zeros((0, 1, 2**32 - 1, ...)) is NumPy's 'array is too big'."""
    with pytest.raises(ValueError, match="too large for an array"):
        dk.conv(np.ones((0, 1, 1, 1, 1)), np.ones((1, 1, 1, 1, 1)), padding=2**31 - 1)


def test_a_zero_d_array_as_a_geometry_int_is_refused_in_the_librarys_words():
    with pytest.raises(TypeError, match="stride must be an int or a sequence"):
        dk.ConvSpec(3, stride=np.array(2))


def test_an_input_shape_is_a_tuple_or_list_not_an_array():
    """Shapes are tuples or lists, as choose_method's (found by the soak: conv_matrix took
    np.array([1, 1, 1, 1]))."""
    from deconvkit.linop import ConvOperator
    w = np.ones((1, 1, 1, 1, 1), np.float32)
    for fn in (dk.conv_matrix, ConvOperator):
        with pytest.raises(TypeError, match="input_shape must be a tuple"):
            fn(w, np.array([1, 1, 1, 1]))
    assert dk.conv_matrix(w, [1, 1, 1, 1]).shape == (1, 1)
