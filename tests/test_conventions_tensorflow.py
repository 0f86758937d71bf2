"""tf_conv_transpose / keras_conv_transpose against TensorFlow and Keras 3 (skipped without).

TensorFlow is not in the test extra; these run where it is installed (they were run with
tensorflow-cpu 2.21 and Keras 3.15 on its TensorFlow backend). float32: TensorFlow's CPU
kernels for dilated and channels-first transposed convolutions are oneDNN's.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import deconvkit as dk
from deconvkit.conventions import framework_call, keras_conv_transpose, tf_conv_transpose
from deconvkit.geometry import same_padding
from deconvkit.testing import conv_cases, random_arrays, rel_error

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")
TOL = 2e-5


@st.composite
def tf_problems(draw):
    """tf.nn.conv_transpose arguments with a consistent output_shape."""
    ndim = draw(st.sampled_from((1, 2, 3)))
    small = ndim == 3
    k = [draw(st.integers(1, 3 if small else 4)) for _ in range(ndim)]
    s = [draw(st.integers(1, 3)) for _ in range(ndim)]
    d = [draw(st.integers(1, 2)) for _ in range(ndim)]
    m = [draw(st.integers(1, 2 if small else 4)) for _ in range(ndim)]
    kinds = ["SAME", "VALID"] + (["explicit"] if ndim == 2 else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "explicit":  # TensorFlow's explicit-padding CPU kernel: NHWC, no dilation
        d = [1] * ndim
    e = [di * (ki - 1) + 1 for ki, di in zip(k, d)]
    out, pads = [], []
    for mi, si, ei, ki, di in zip(m, s, e, k, d):
        if kind == "SAME":
            out.append(draw(st.integers((mi - 1) * si + 1, mi * si)))
        else:
            lo, hi = (draw(st.integers(0, ei - 1)), draw(st.integers(0, ei - 1))) \
                if kind == "explicit" else (0, 0)
            base = (mi - 1) * si + ei - lo - hi
            if base < 1:
                lo = hi = 0
                base = (mi - 1) * si + ei
            pads.append([lo, hi])
            out.append(base + draw(st.integers(0, si - 1)))
    padding = kind if kind != "explicit" else [[0, 0]] + pads + [[0, 0]]
    channels_first = draw(st.booleans()) and ndim == 2 and kind != "explicit"
    c_in, c_out, batch = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 2))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    if channels_first:
        x = rng.standard_normal([batch, c_in] + m)
        shape, fmt = [batch, c_out] + out, "NCHW"
    else:
        x = rng.standard_normal([batch] + m + [c_in])
        shape, fmt = [batch] + out + [c_out], None
    f = rng.standard_normal(k + [c_out, c_in])
    kwargs = dict(output_shape=shape, strides=s, padding=padding, data_format=fmt, dilations=d)
    return x.astype(np.float32), f.astype(np.float32), kwargs


@settings(max_examples=150)
@given(tf_problems())
def test_tf_conv_transpose_matches_tensorflow(problem):
    x, f, kwargs = problem
    expected = tf.nn.conv_transpose(x, f, **kwargs).numpy()
    got = tf_conv_transpose(x, f, **kwargs)
    assert got.shape == expected.shape and got.dtype == expected.dtype
    assert rel_error(got, expected) < TOL


@settings(max_examples=100)
@given(case=conv_cases(dtypes=(np.float32,)))
def test_tf_call_runs_in_tensorflow(case):
    """Reverse direction: SAME/VALID/explicit or VALID plus a slice; groups block diagonal."""
    _, w, y = random_arrays(case)
    call = framework_call("tensorflow", case.spec, case.input_size)
    args = dict(call.args, output_shape=call.args["output_shape"].resolve(
        y.shape[0], w.shape[1] * case.spec.groups))
    out = tf.nn.conv_transpose(call.convert_input(y), call.convert_weight(w), **args).numpy()
    assert rel_error(call.finish(out), dk.conv_transpose(y, w, **case.transpose_kwargs())) < TOL


def test_seed_snippet_in_tensorflow():
    x = np.array([[[[1], [2]], [[3], [4]]]], dtype=np.float32)
    f = np.ones((3, 3, 1, 1), np.float32)
    expected = tf.nn.conv2d_transpose(x, f, output_shape=(1, 4, 4, 1), strides=[1, 2, 2, 1],
                                      padding="SAME").numpy()
    got = tf_conv_transpose(x, f, (1, 4, 4, 1), [1, 2, 2, 1], "SAME")
    assert (got == expected).all()
    assert expected[0, :, :, 0].tolist() == [[1, 1, 3, 2], [1, 1, 3, 2], [4, 4, 10, 6],
                                             [3, 3, 7, 4]]


def test_same_puts_the_odd_pixel_at_the_end():
    assert same_padding(10, 3, 2, 1) == (0, 1)
    x, f = np.ones((1, 5, 1), np.float32), np.arange(1.0, 4.0, dtype=np.float32)[:, None, None]
    expected = tf.nn.conv_transpose(x, f, [1, 10, 1], 2, "SAME").numpy()
    assert rel_error(tf_conv_transpose(x, f, [1, 10, 1], 2, "SAME"), expected) < TOL


def test_rejects_inconsistent_output_shape_like_tensorflow():
    x, f = np.ones((1, 3, 1), np.float32), np.ones((3, 1, 1), np.float32)
    with pytest.raises(Exception):
        tf.nn.conv_transpose(x, f, [1, 7, 1], 2, "SAME")
    with pytest.raises(ValueError, match="Size of out_backprop doesn't match computed"):
        tf_conv_transpose(x, f, [1, 7, 1], 2, "SAME")


@st.composite
def keras_problems(draw):
    ndim = draw(st.sampled_from((1, 2, 3)))
    small = ndim == 3
    k = [draw(st.integers(1, 3 if small else 4)) for _ in range(ndim)]
    s = [draw(st.integers(1, 3)) for _ in range(ndim)]
    d = [1] * ndim if max(s) > 1 else [draw(st.integers(1, 2)) for _ in range(ndim)]
    op = None if draw(st.booleans()) else [draw(st.integers(0, si - 1)) for si in s]
    m = [draw(st.integers(1, 2 if small else 4)) for _ in range(ndim)]
    padding = draw(st.sampled_from(("valid", "same")))
    if padding == "same" and op is not None:  # the TensorFlow backend refuses e % 2 + op == 0
        op = [max(o, 1 - (di * (ki - 1) + 1) % 2) for o, ki, di in zip(op, k, d)]
        if any(o >= si for o, si in zip(op, s)):
            op = None
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    c_in, c_out = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    x = rng.standard_normal([draw(st.integers(1, 2))] + m + [c_in]).astype(np.float32)
    kernel = rng.standard_normal(k + [c_out, c_in]).astype(np.float32)
    kwargs = dict(strides=tuple(s), padding=padding, output_padding=op, dilation_rate=tuple(d))
    return x, kernel, rng.standard_normal(c_out).astype(np.float32), kwargs


@settings(max_examples=100)
@given(keras_problems())
def test_keras_layer_matches_keras(problem):
    x, kernel, bias, kwargs = problem
    ndim = x.ndim - 2
    cls = (keras.layers.Conv1DTranspose, keras.layers.Conv2DTranspose,
           keras.layers.Conv3DTranspose)[ndim - 1]
    layer = cls(kernel.shape[-2], kernel.shape[:ndim], **kwargs)
    layer.build(x.shape)
    layer.set_weights([kernel, bias])
    expected = np.asarray(layer(x))
    got = keras_conv_transpose(x, kernel, bias, **kwargs)
    assert got.shape == expected.shape
    assert rel_error(got, expected) < TOL


@settings(max_examples=100)
@given(case=conv_cases(dtypes=(np.float32,)))
def test_keras_call_runs_in_keras(case):
    _, w, y = random_arrays(case)
    call = framework_call("keras", case.spec, case.input_size)
    out = np.asarray(keras.ops.conv_transpose(call.convert_input(y), call.convert_weight(w),
                                              **call.args))
    assert rel_error(call.finish(out), dk.conv_transpose(y, w, **case.transpose_kwargs())) < TOL


def test_pitfall_keras_even_kernel_same_output_padding_zero():
    """Keras' size rule gives (m-1)s; the TensorFlow backend rejects it, deconvkit follows
    Keras' backend-independent padding rule (the JAX backend's)."""
    x, kernel = np.ones((1, 3, 1), np.float32), np.ones((4, 1, 1), np.float32)
    with pytest.raises(Exception):
        keras.ops.conv_transpose(x, kernel, 2, "same", output_padding=0)
    assert keras_conv_transpose(x, kernel, strides=2, padding="same",
                                output_padding=0).shape == (1, 4, 1)


def test_keras_rejects_strides_with_dilation_like_keras():
    with pytest.raises(ValueError, match="not supported in conjunction"):
        keras.layers.Conv1DTranspose(1, 3, strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match="not supported in conjunction"):
        keras_conv_transpose(np.ones((1, 3, 1)), np.ones((3, 1, 1)), strides=2, dilation_rate=2)


@settings(max_examples=60, deadline=None)
@given(case=conv_cases(dtypes=(np.float64,)))
def test_the_forward_spelling_runs_in_tensorflow(case):
    """conv_spelling("tensorflow") as written computes conv on every spec: explicit pads in
    1-D and 3-D (tf.pad), groups (one convolution each: TensorFlow's CPU kernels have
    none), strides with dilations (which TensorFlow refuses together)."""
    from deconvkit.conventions import conv_spelling
    x, w, _ = random_arrays(case)
    spelling = conv_spelling("tensorflow", case.spec, case.x_shape[2:])
    assert spelling.exact
    namespace = {"tf": tf, "np": np, "x": np.moveaxis(x, 1, -1), "w": w}
    exec(spelling.code, namespace)
    expected = dk.conv(x, w, **case.conv_kwargs())
    assert rel_error(np.moveaxis(np.asarray(namespace["y"]), -1, 1), expected) < 1e-12


def _keras_with_kernel(w, axes):
    """A stand-in for ``keras`` in the spelled code: its Conv layers get the kernel the
    spelling's comment names (``np.transpose(w, axes)``) and ``C_out`` is ``w``'s."""
    import types

    def conv(cls):
        def make(**kwargs):
            layer = cls(**kwargs)

            def call(x):
                layer.build(tuple(x.shape))
                layer.kernel.assign(np.transpose(w, axes))
                return layer(x)
            return call
        return make
    layers = types.SimpleNamespace(**{name: getattr(keras.layers, name) for name in
                                      ("ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D")})
    for n in (1, 2, 3):
        setattr(layers, f"Conv{n}D", conv(getattr(keras.layers, f"Conv{n}D")))
    return types.SimpleNamespace(layers=layers)


@settings(max_examples=40, deadline=None)
@given(case=conv_cases(dtypes=(np.float64,)))
def test_the_forward_spelling_runs_in_keras(case):
    """conv_spelling("keras") as written (ZeroPadding for other pads) computes conv where it
    says it is exact; where it says not, Keras refuses the call."""
    from deconvkit.conventions import conv_spelling
    x, w, _ = random_arrays(case)
    spelling = conv_spelling("keras", case.spec, case.x_shape[2:])
    axes = tuple(range(2, 2 + case.spec.ndim)) + (1, 0)
    namespace = {"keras": _keras_with_kernel(w, axes), "np": np, "C_out": w.shape[0],
                 "x": np.moveaxis(x, 1, -1)}
    if not spelling.exact:
        with pytest.raises(Exception):
            exec(spelling.code, namespace)
        return
    exec(spelling.code, namespace)
    expected = dk.conv(x, w, **case.conv_kwargs())
    assert rel_error(np.moveaxis(np.asarray(namespace["y"]), -1, 1), expected) < 1e-5
