"""Each adapter rejects what its framework rejects, in a ValueError giving the framework's reason.

The reasons are the frameworks' own wording where they have one (checked against the real
frameworks in the test_conventions_<framework>.py files where those are installed).
"""

import numpy as np
import pytest

from deconvkit.conventions import (caffe_deconvolution, framework_call, jax_conv_transpose,
                                   keras_conv_transpose, onnx_conv, onnx_conv_transpose,
                                   tf_conv_transpose, torch_conv_transpose, translate)

X1 = np.ones((1, 3, 1))            # NWC, 3 pixels, 1 channel
F1 = np.ones((3, 1, 1))            # [k, out, in]
XC = np.ones((1, 1, 3))            # NCW
WC = np.ones((1, 1, 3))            # (C_in, C_out, k)


@pytest.mark.parametrize("kwargs, reason", [
    (dict(output_shape=[1, 7, 1], strides=2), "Size of out_backprop doesn't match computed: "
                                              "actual = 3, computed = 4"),
    (dict(output_shape=[1, 6, 1], strides=2, padding="same"), "case-sensitive"),
    (dict(output_shape=[1, 5, 1], strides=2, padding=[[0, 0], [1, 1], [0, 0]]),
     "only supported by conv2d_transpose"),
    (dict(output_shape=[6], strides=2), "must be of length 3, 4 or 5"),
    (dict(output_shape=[1, 6, 1], strides=[2, 2, 2]), "batch and depth dimensions"),
    (dict(output_shape=[1, 6, 1], strides=[2, 2]), "should be of length 1, 1 or 3"),
    (dict(output_shape=[1, 6, 1], strides=2, data_format="NHWC"), "data_format must be one of"),
    (dict(output_shape=[1, 6, 2], strides=2), "Computed input depth 2 doesn't match"),
    (dict(output_shape=[2, 6, 1], strides=2), "same batch size"),
])
def test_tensorflow_rejections(kwargs, reason):
    with pytest.raises(ValueError, match=reason):
        tf_conv_transpose(X1, F1, **kwargs)


def test_tensorflow_explicit_padding_rejections():
    x, f = np.ones((1, 3, 3, 1)), np.ones((3, 3, 1, 1))
    with pytest.raises(ValueError, match="Nonzero explicit padding in the batch or depth"):
        tf_conv_transpose(x, f, [1, 5, 5, 1], 2, [[1, 0], [1, 1], [1, 1], [0, 0]])
    with pytest.raises(ValueError, match="must be nonnegative"):
        tf_conv_transpose(x, f, [1, 7, 7, 1], 2, [[0, 0], [-1, 1], [0, 0], [0, 0]])
    with pytest.raises(ValueError, match="filter and out_backprop must have the same out_depth"):
        tf_conv_transpose(np.ones((1, 3, 3, 2)), f, [1, 6, 6, 1], 2, "SAME")


@pytest.mark.parametrize("kwargs, reason", [
    (dict(strides=2, output_padding=2), "must be strictly less than `strides`"),
    (dict(strides=2, dilation_rate=2), "not supported in conjunction with `dilation_rate > 1`"),
    (dict(padding="full"), "one of {'valid', 'same'}"),
    (dict(strides=(2, 2)), "must be a tuple of 1 integers"),
    (dict(data_format="NWC"), "`data_format` argument must be one of"),
])
def test_keras_rejections(kwargs, reason):
    with pytest.raises(ValueError, match=reason):
        keras_conv_transpose(X1, F1, **kwargs)


def test_keras_channel_mismatch():
    with pytest.raises(ValueError, match="number of input channels must match the kernel"):
        keras_conv_transpose(np.ones((1, 3, 2)), F1)


@pytest.mark.parametrize("kwargs, reason", [
    (dict(strides=[2], output_padding=[2]), r"output_padding\[0\] \(2\) must be less than"),
    (dict(auto_pad="SAME_UPPER", pads=[1, 1]), "cannot be used simultaneously with auto_pad"),
    (dict(auto_pad="same"), "auto_pad must be one of"),
    (dict(strides=[2], output_shape=[9]), "at most max.stride, dilation. - 1 = 1"),
    (dict(kernel_shape=[2]), "does not match W's spatial shape"),
    (dict(pads=[3, 3]), "leave no output"),
    (dict(pads=[1]), "pads must be a list of 2 ints"),
    (dict(strides=[0]), "must be >= 1"),
    (dict(group=2), "with group=2 expects"),
])
def test_onnx_conv_transpose_rejections(kwargs, reason):
    with pytest.raises(ValueError, match=reason):
        onnx_conv_transpose(XC, WC, **kwargs)


def test_onnx_bias_and_conv_rejections():
    with pytest.raises(ValueError, match=r"B must have shape \(1,\)"):
        onnx_conv_transpose(XC, WC, np.ones(2))
    with pytest.raises(ValueError, match="expects 2"):
        onnx_conv(XC, np.ones((1, 2, 3)))
    with pytest.raises(ValueError, match="smaller than the dilated kernel extent"):
        onnx_conv(XC, np.ones((1, 1, 5)))


@pytest.mark.parametrize("kwargs, reason", [
    (dict(kernel_size=(3, 3, 3)), "specified once, or once per spatial dimension"),
    (dict(kernel_size=2), "does not match kernel_size"),
    (dict(kernel_size=3, pad=3), "leaves no output"),
    (dict(kernel_size=3, group=2), "multiple of group"),
    (dict(kernel_size=3, stride=0), "must be > 0"),
])
def test_caffe_rejections(kwargs, reason):
    with pytest.raises(ValueError, match=reason):
        caffe_deconvolution(XC, WC, **kwargs)


@pytest.mark.parametrize("args, kwargs, reason", [
    (((2,), "same"), {}, "String padding is not implemented for transposed convolution"),
    (((1,), "FULL"), {}, "Unrecognized padding type"),
    (((2, 2), "SAME"), {}, "strides and rhs_dilation need 1 entries"),
    (((2,), [(-9, 0)]), {}, "Negative padding is larger than the size"),
    (((2,), "SAME"), dict(dimension_numbers=("NCH", "OIH")), "must be length 3"),
    (((2,), "SAME"), dict(dimension_numbers=("NCH", "OOH", "NCH")), "exactly once"),
])
def test_jax_rejections(args, kwargs, reason):
    with pytest.raises((ValueError, TypeError), match=reason):
        jax_conv_transpose(X1, F1, *args, **kwargs)


def test_jax_channel_mismatch():
    with pytest.raises(ValueError, match="must equal the rhs input feature dimension size"):
        jax_conv_transpose(np.ones((1, 3, 2)), F1, (2,), "SAME")


@pytest.mark.parametrize("kwargs, reason", [
    (dict(stride=2, padding="same"), "ints only"),
    (dict(stride=2, output_padding=2), "output padding must be smaller than either stride"),
    (dict(padding=-1), "negative padding is not supported"),
    (dict(stride=0), "non-positive stride is not supported"),
    (dict(dilation=0), "dilation should be greater than zero"),
    (dict(stride=(1, 2)), "a list of 1 values to match the convolution dimensions"),
    (dict(padding=3), "Output size is too small"),
    (dict(stride=2, padding=1, output_size=(7,)), "valid sizes range from"),
])
def test_torch_rejections(kwargs, reason):
    with pytest.raises(ValueError, match=reason):
        torch_conv_transpose(XC, WC, **kwargs)


def test_unknown_framework_and_float_types():
    with pytest.raises(ValueError, match="framework must be one of"):
        translate("mxnet", "torch", (3,), (3,), stride=2)
    with pytest.raises(ValueError, match="framework must be one of"):
        framework_call("theano", None, (3,))
    with pytest.raises(TypeError, match="float32 or float64"):
        torch_conv_transpose(XC.astype(np.complex128), WC)
