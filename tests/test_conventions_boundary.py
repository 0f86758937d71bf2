"""deconvkit.conventions at its public boundary: bad arguments are ValueError/TypeError
naming the parameter, results are owned C-contiguous arrays, and a fuzz keeps it so."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import deconvkit as dk
from deconvkit import conventions as cv
from deconvkit._checks import MAX_INT
from deconvkit.conventions import (FRAMEWORKS, TransposeWindow, apply_fixup,
                                   block_diagonal_weight, caffe_deconvolution, dilated_weight,
                                   framework_call, framework_window, jax_conv_transpose,
                                   keras_conv_transpose, onnx_conv, onnx_conv_transpose,
                                   run_call, tf_conv_transpose, torch_conv_transpose, translate,
                                   window_args)

RNG = np.random.default_rng(0)
XL = RNG.standard_normal((2, 3, 4, 2))        # NHWC, 2 channels
FL = RNG.standard_normal((3, 3, 5, 2))        # [k, k, out, in]
XC = RNG.standard_normal((2, 2, 3, 4))        # NCHW, 2 channels
WC = RNG.standard_normal((2, 5, 3, 3))        # (C_in, C_out, k, k)
SPEC = dk.ConvSpec((3, 3), stride=2, padding=((0, 1), (1, 1)), output_padding=(1, 0))

ADAPTERS = {
    "torch": lambda: torch_conv_transpose(XC, WC, stride=2, padding=1, output_padding=1),
    "torch unbatched": lambda: torch_conv_transpose(XC[0], WC, stride=2),
    "tf": lambda: tf_conv_transpose(XL, FL, (2, 6, 8, 5), 2, "SAME"),
    "tf NCHW": lambda: tf_conv_transpose(XC, FL, (2, 5, 6, 8), 2, "SAME", "NCHW"),
    "keras": lambda: keras_conv_transpose(XL, FL, strides=2, padding="same"),
    "keras channels_first": lambda: keras_conv_transpose(XC, FL, strides=2,
                                                         data_format="channels_first"),
    "jax": lambda: jax_conv_transpose(XL, FL, (2, 2), "SAME", transpose_kernel=True),
    "jax NCHW": lambda: jax_conv_transpose(XC, np.moveaxis(WC, (0, 1), (1, 0)), (1, 2),
                                           [(1, 1), (0, 2)],
                                           dimension_numbers=("NCHW", "OIHW", "NCHW")),
    "onnx": lambda: onnx_conv_transpose(XC, WC, strides=[2, 2], auto_pad="SAME_UPPER"),
    "onnx conv": lambda: onnx_conv(XC, np.moveaxis(WC, 0, 1), pads=[1, 1, 1, 1]),
    "caffe": lambda: caffe_deconvolution(XC, WC, kernel_size=3, stride=2, pad=1),
    **{f"run_call {fw}": (lambda fw=fw: run_call(framework_call(fw, SPEC, (3, 4)), XC, WC))
       for fw in FRAMEWORKS},
    "dilated_weight": lambda: dilated_weight(WC, (2, 1)),
    "dilated_weight of ones": lambda: dilated_weight(WC, (1, 1)),
    "block_diagonal_weight": lambda: block_diagonal_weight(WC, 1),
    "apply_fixup": lambda: apply_fixup(XC, ((0, 0), (0, 0))),
    "apply_fixup channels last": lambda: apply_fixup(XL, ((1, -1), (0, 0)),
                                                     spatial_axes=(1, 2)),
}
INPUTS = (XL, FL, XC, WC)


def assert_owned(y):
    """A writable, C-contiguous array sharing no memory with the inputs."""
    assert isinstance(y, np.ndarray)
    assert y.flags.c_contiguous and y.flags.writeable
    assert not any(np.shares_memory(y, a) for a in INPUTS)


@pytest.mark.parametrize("name", ADAPTERS)
def test_every_adapter_returns_an_owned_contiguous_array(name):
    before = [a.copy() for a in INPUTS]
    assert_owned(ADAPTERS[name]())
    assert all((a == b).all() for a, b in zip(INPUTS, before))  # inputs unchanged


def test_dilated_weight_of_ones_is_a_copy():
    a = np.ones((1, 1, 3))
    out = dilated_weight(a, (1,))
    assert out is not a and not np.shares_memory(out, a) and (out == a).all()


# ------------------------------------------------------------------ the reproducers
def test_framework_call_rejects_what_is_not_a_spec():
    with pytest.raises(TypeError, match=r"spec must be a ConvSpec or a TransposeWindow, got 3"):
        framework_call("tf", 3, (2,))
    with pytest.raises(TypeError, match="spec must be"):
        framework_call("torch", None, (2,))
    with pytest.raises(TypeError, match="framework must be a str"):
        framework_call(3, SPEC, (2, 2))


def test_translate_from_tensorflow_needs_output_size():
    with pytest.raises(ValueError, match="tensorflow needs output_size"):
        translate("tensorflow", "torch", (5,), (3,), strides=2)
    with pytest.raises(ValueError, match="output_shape is required"):
        framework_window("tf", (5,), (3,), strides=2)
    # window_args gives TensorFlow's output size (what Keras asks for) when none is given
    t = translate("tensorflow", "torch", (5,), (3,), **window_args("tf", (5,), (3,), stride=2))
    assert t.source_output_size == (10,)


def test_explicit_padding_given_as_an_array_is_read_or_refused_in_our_words():
    # found by make test's fuzz: an array was compared with "SAME" (NumPy's truth-value error)
    t = translate("tensorflow", "torch", (1,), (1,), output_size=1, strides=1,
                  padding=np.array([0, 0]))
    assert t.call == translate("tensorflow", "torch", (1,), (1,), output_size=1, strides=1,
                               padding=[0, 0]).call
    with pytest.raises(ValueError, match="each padding entry must be an int or a"):
        translate("tensorflow", "torch", (4,), (3,), output_size=7, strides=2,
                  padding=np.array([[1, 1]]))
    for padding in (np.array([1, 1]), np.array([[1, 1]])):
        try:      # read as the same pairs given as a list, or refused in our words
            window = framework_window("jax", (4,), (3,), strides=(2,), padding=padding,
                                      use_consistent_padding=True)
        except (TypeError, ValueError) as exc:
            assert "padding" in str(exc) and "truth value" not in str(exc)
        else:
            assert window == framework_window("jax", (4,), (3,), strides=(2,),
                                              padding=padding.tolist(),
                                              use_consistent_padding=True)


@pytest.mark.parametrize("bad", [float("inf"), float("nan"), 2.0, "2", None, True])
def test_tf_float_or_odd_strides_are_type_errors(bad):
    x, f = np.ones((1, 3, 1)), np.ones((3, 1, 1))
    with pytest.raises(TypeError, match="strides"):
        tf_conv_transpose(x, f, (1, 6, 1), bad if bad is not None else [None])
    with pytest.raises(TypeError, match="output_shape"):
        tf_conv_transpose(x, f, (1, bad, 1), 2)


@pytest.mark.parametrize("size", [0, -1, 2**63, 10**30, MAX_INT + 1])
def test_input_sizes_are_ints_from_1_to_max_int(size):
    with pytest.raises(ValueError, match="input_size"):
        framework_call("torch", SPEC, (size, 3))
    with pytest.raises(ValueError, match="input_size"):
        translate("torch", "onnx", (size,), (3,), stride=2)
    with pytest.raises(ValueError, match="input_size"):
        framework_window("onnx", (size,), (3,))
    with pytest.raises(ValueError, match="input_size"):
        cv.shift_warnings("torch", TransposeWindow.from_spec(SPEC), (3, size))


@pytest.mark.parametrize("huge", [2**63, 10**30, -(2**63)])
@pytest.mark.parametrize("name", ["torch", "tf", "keras", "jax", "onnx", "caffe", "window",
                                  "translate", "dilated_weight", "block_diagonal_weight"])
def test_huge_ints_are_clean_value_errors(name, huge):
    x1, f1, c1 = np.ones((1, 3, 1)), np.ones((3, 1, 1)), np.ones((1, 1, 3))
    call = {
        "torch": lambda: torch_conv_transpose(c1, c1, stride=2, padding=huge),
        "tf": lambda: tf_conv_transpose(x1, f1, (1, huge, 1), 2),
        "keras": lambda: keras_conv_transpose(x1, f1, strides=huge),
        "jax": lambda: jax_conv_transpose(x1, f1, (2,), [(huge, 0)]),
        "onnx": lambda: onnx_conv_transpose(c1, c1, pads=[huge, 0]),
        "caffe": lambda: caffe_deconvolution(c1, c1, kernel_size=3, dilation=huge),
        "window": lambda: TransposeWindow((3,), (2,), (1,), ((huge, 0),)),
        "translate": lambda: translate("torch", "keras", (3,), (3,), stride=2, padding=huge),
        "dilated_weight": lambda: dilated_weight(c1, (huge,)),
        "block_diagonal_weight": lambda: block_diagonal_weight(c1, huge),
    }[name]
    with pytest.raises(ValueError):
        call()


def test_large_strides_do_not_enumerate_every_output_padding():
    """Translation tries candidate calls per output padding: bounded, not 2**31 of them."""
    t = translate("torch", "keras", (3,), (3,), stride=MAX_INT, padding=1)
    assert t.call.final_size == t.source_output_size
    assert len(cv.shift_warnings("torch", t.window, (3,))) <= 64


def test_windows_check_their_fields():
    with pytest.raises(ValueError, match="stride"):
        TransposeWindow((3,), (0,), (1,), ((0, 0),))
    with pytest.raises(TypeError, match="crop"):
        TransposeWindow((3,), (2,), (1,), (1,))
    with pytest.raises(ValueError, match="crop"):
        TransposeWindow((3, 3), (2, 2), (1, 1), ((0, 0),))
    with pytest.raises(TypeError, match="groups"):
        TransposeWindow((3,), (2,), (1,), ((0, 0),), 1.0)
    win = TransposeWindow(3, 2, 1, [[1, -1]])
    assert win.kernel_size == (3,) and win.crop == ((1, -1),)


# ------------------------------------------------------------------ the fuzz
FINITE_ODD = st.one_of(st.integers(-3, 6), st.sampled_from([2**63, 10**30, -(2**63)]),
                       st.sampled_from([0.5, 2.0, float("nan"), float("inf"), -1.0]),
                       st.booleans(), st.none(), st.sampled_from(["", "same", "SAME", "x"]),
                       st.just(np.int64(2)), st.just(np.float64(2.0)))
ODD = st.one_of(FINITE_ODD, st.lists(FINITE_ODD, max_size=4).map(tuple),
                st.lists(st.lists(FINITE_ODD, max_size=3), max_size=3))
X1, F1, C1 = np.ones((1, 3, 2)), np.ones((3, 2, 2)), np.ones((1, 2, 3))
ARRAYS = (X1, F1, C1)

# name -> (function of keyword arguments, valid keyword arguments to start from)
TARGETS = {
    "torch_conv_transpose": (lambda **a: torch_conv_transpose(**a), dict(
        x=C1, weight=np.ones((2, 1, 3)), stride=2, padding=1, output_padding=1, groups=1,
        dilation=1, output_size=None)),
    "tf_conv_transpose": (lambda **a: tf_conv_transpose(**a), dict(
        input=X1, filters=F1, output_shape=(1, 6, 2), strides=2, padding="SAME",
        data_format=None, dilations=None)),
    "keras_conv_transpose": (lambda **a: keras_conv_transpose(**a), dict(
        inputs=X1, kernel=F1, bias=None, strides=2, padding="same", output_padding=None,
        dilation_rate=1, data_format="channels_last")),
    "jax_conv_transpose": (lambda **a: jax_conv_transpose(**a), dict(
        lhs=X1, rhs=F1, strides=(2,), padding="SAME", rhs_dilation=None,
        dimension_numbers=None, transpose_kernel=False, use_consistent_padding=False)),
    "onnx_conv_transpose": (lambda **a: onnx_conv_transpose(**a), dict(
        X=C1, W=np.ones((2, 1, 3)), auto_pad="NOTSET", dilations=None, group=1,
        kernel_shape=None, output_padding=[1], output_shape=None, pads=[1, 0], strides=[2])),
    "onnx_conv": (lambda **a: onnx_conv(**a), dict(
        X=C1, W=np.ones((1, 2, 2)), auto_pad="SAME_LOWER", dilations=[1], group=1, strides=[2])),
    "onnx_conv_pads": (lambda **a: cv.onnx_conv_pads(**a), dict(
        input_size=(5,), kernel_shape=(3,), auto_pad="NOTSET", pads=[1, 1], strides=[2],
        dilations=None)),
    "caffe_deconvolution": (lambda **a: caffe_deconvolution(**a), dict(
        bottom=C1, weight=np.ones((2, 1, 3)), kernel_size=3, stride=2, pad=1, dilation=1,
        group=1)),
    "fcn_crop_offset": (lambda a, b: cv.fcn_crop_offset([("Pooling", 2, 2, 0), a], [b]), dict(
        a=("Deconvolution", 4, 2, 1), b=("Convolution", 1, 1, 0))),
    "framework_call": (lambda **a: framework_call(**a), dict(
        framework="keras", spec=SPEC, input_size=(3, 4))),
    "window": (lambda fw, **a: framework_call(fw, TransposeWindow(**a), (3,)), dict(
        fw="jax", kernel_size=(3,), stride=(2,), dilation=(1,), crop=((1, -1),), groups=1)),
    "framework_window": (lambda **a: framework_window(**a), dict(
        framework="torch", input_size=(3,), kernel_size=(3,), stride=2, padding=1,
        output_padding=1)),
    "window_args": (lambda **a: window_args(**a), dict(
        framework="tf", input_size=(3, 3), kernel_size=3, stride=2, padding="same",
        dilation=1, output_padding=None, output_size=None, groups=1)),
    "translate": (lambda s, t, m, k, **a: translate(s, t, m, k, **a), dict(
        s="onnx", t="torch", m=(3,), k=(3,), strides=[2], pads=[1, 1], output_padding=[1])),
    "shift_warnings": (lambda **a: cv.shift_warnings(**a), dict(
        framework="torch", window=TransposeWindow.from_spec(SPEC), input_size=(3, 4))),
    "run_call": (lambda call, x, w, b: run_call(call, x, w, b), dict(
        call=framework_call("tf", SPEC, (3, 4)), x=XC, w=WC, b=None)),
    "apply_fixup": (lambda **a: apply_fixup(**a), dict(
        y=XC, fixup=((1, -1), (0, 2)), spatial_axes=None)),
    "dilated_weight": (lambda **a: dilated_weight(**a), dict(w=WC, dilation=(2, 1))),
    "block_diagonal_weight": (lambda **a: block_diagonal_weight(**a), dict(w=WC, groups=2)),
    "canonical_name": (lambda **a: cv.canonical_name(**a), dict(framework="pytorch")),
    **{f"{fw}_window": (lambda fw=fw, **a: getattr(cv, f"{fw}_window")(**a), dict(
        input_size=(3,), kernel_size=(3,), **args)) for fw, args in {
        "torch": dict(stride=2, padding=1, output_padding=1, groups=1, dilation=1),
        "keras": dict(strides=2, padding="valid", output_padding=1, dilation_rate=1),
        "jax": dict(strides=(2,), padding=[(1, 1)], rhs_dilation=(1,)),
        "caffe": dict(stride=2, pad=1, dilation=1, group=1)}.items()},
    "tf_window": (lambda **a: cv.tf_window(**a), dict(
        input_size=(3,), kernel_size=(3,), output_size=(6,), strides=2, padding="SAME",
        dilations=None)),
    "onnx_window": (lambda **a: cv.onnx_window(**a), dict(
        input_size=(3,), kernel_shape=(3,), strides=[2], output_shape=[6], auto_pad="NOTSET")),
    **{f"{fw}_call": (lambda fw=fw, **a: getattr(cv, f"{fw}_call")(**a), dict(
        window=TransposeWindow.from_spec(SPEC), input_size=(3, 4)))
       for fw in ("torch", "tf", "keras", "onnx", "caffe", "jax")},
}


def test_the_fuzz_starts_from_valid_calls():
    for name, (fn, base) in TARGETS.items():
        fn(**base)


def _check_result(value):
    if isinstance(value, np.ndarray):
        assert value.flags.c_contiguous and value.flags.writeable
        assert not any(np.shares_memory(value, a) for a in ARRAYS + INPUTS)
    elif isinstance(value, cv.Translation):
        value.text()
    elif isinstance(value, cv.FrameworkCall):
        value.code()
        assert all(isinstance(n, int) and 1 <= n for n in value.final_size)
    elif isinstance(value, TransposeWindow):
        assert all(isinstance(v, int) and abs(v) <= MAX_INT for pair in value.crop
                   for v in pair)


@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_fuzz_only_value_and_type_errors_escape(data):
    """Odd values (negative, zero, huge, float, NaN, bool, None, str, wrong-length) in one
    or two arguments of a valid call: ValueError/TypeError, or a well-formed result."""
    name = data.draw(st.sampled_from(sorted(TARGETS)), label="target")
    fn, base = TARGETS[name]
    keys = data.draw(st.lists(st.sampled_from(sorted(base)), min_size=1, max_size=2,
                              unique=True), label="replaced")
    kwargs = dict(base)
    for key in keys:
        kwargs[key] = data.draw(ODD, label=key)
    before = [a.copy() for a in ARRAYS + INPUTS]
    try:
        result = fn(**kwargs)
    except (ValueError, TypeError):
        pass
    else:
        _check_result(result)
    assert all((a == b).all() for a, b in zip(ARRAYS + INPUTS, before))


@settings(max_examples=150, deadline=None)
@given(m=st.integers(1, MAX_INT), k=st.integers(1, MAX_INT), s=st.integers(1, MAX_INT),
       p=st.integers(0, MAX_INT), d=st.integers(1, 3), fw=st.sampled_from(FRAMEWORKS))
def test_large_geometry_translates_without_arrays(m, k, s, p, d, fw):
    """No arrays: sizes near MAX_INT either translate exactly in size or are ValueErrors."""
    try:
        spec = dk.ConvSpec((k,), s, p, d)
        n = spec.transpose_output_size((m,))
    except ValueError:
        return
    try:
        call = framework_call(fw, spec, (m,))
    except ValueError:
        return
    assert call.final_size == n
    assert math.prod(n) >= 1
