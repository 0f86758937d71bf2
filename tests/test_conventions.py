"""deconvkit.conventions without any framework installed: windows, round trips, seeds.

* every window (including ones no ConvSpec reaches) against a readable scatter oracle;
* the reverse direction: for random specs and windows, each framework's emitted call, run
  through that framework's adapter and fixed up, equals ``conv_transpose``;
* the seed's TensorFlow snippet; FCN's crop offsets; the pitfalls in the README.
"""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import deconvkit as dk
from deconvkit.conventions import (FRAMEWORKS, TransposeWindow, apply_fixup,
                                   block_diagonal_weight, caffe_deconvolution, dilated_weight,
                                   fcn_crop_offset, framework_call, jax_conv_transpose,
                                   keras_conv_transpose, onnx_conv_transpose, run_call,
                                   tf_conv_transpose, torch_conv_transpose, translate)
from deconvkit.testing import conv_cases, random_arrays, rel_error


def scatter_oracle(x, w, window):
    """full[i*s + j*d] += x[i] w[j] per axis and group, then the window with zeros outside."""
    g, s, d = window.groups, window.stride, window.dilation
    m, k = x.shape[2:], w.shape[2:]
    full = np.zeros((x.shape[0], w.shape[1] * g) + window.full_size(m))
    cin, cout = x.shape[1] // g, w.shape[1]
    for grp, j in itertools.product(range(g), itertools.product(*map(range, k))):
        part = np.einsum("nc...,co->no...", x[:, grp * cin:(grp + 1) * cin],
                         w[grp * cin:(grp + 1) * cin, :, *j])
        idx = tuple(slice(ji * di, ji * di + (mi - 1) * si + 1, si)
                    for ji, di, mi, si in zip(j, d, m, s))
        full[(slice(None), slice(grp * cout, (grp + 1) * cout)) + idx] += part
    return apply_fixup(full, window.crop)


@st.composite
def windows(draw, ndims=(1, 2, 3)):
    """Random windows, crops from -3 to beyond the kernel extent, with random arrays."""
    ndim = draw(st.sampled_from(ndims))
    k = tuple(draw(st.integers(1, 3 if ndim == 3 else 4)) for _ in range(ndim))
    s = tuple(draw(st.integers(1, 3)) for _ in range(ndim))
    d = tuple(draw(st.integers(1, 2)) for _ in range(ndim))
    m = tuple(draw(st.integers(1, 2 if ndim == 3 else 4)) for _ in range(ndim))
    g = draw(st.integers(1, 2))
    crop = []
    for ki, si, di, mi in zip(k, s, d, m):
        L = (mi - 1) * si + di * (ki - 1) + 1
        lo = draw(st.integers(-3, L))
        crop.append((lo, draw(st.integers(-3, L - lo - 1))))
    win = TransposeWindow(k, s, d, tuple(crop), g)
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    x = rng.standard_normal((draw(st.integers(1, 2)), g * draw(st.integers(1, 3))) + m)
    w = rng.standard_normal((x.shape[1], draw(st.integers(1, 3))) + k)
    return win, x, w


@given(windows())
def test_every_window_matches_the_scatter_oracle(case):
    from deconvkit.conventions._window import run_transpose

    win, x, w = case
    b = np.arange(w.shape[1] * win.groups, dtype=float)
    expected = scatter_oracle(x, w, win) + b.reshape((1, -1) + (1,) * win.ndim)
    assert rel_error(run_transpose(x, w, b, win), expected) < 1e-12


def test_the_oracle_is_conv_transpose_on_a_spec():
    spec = dk.ConvSpec((3, 2), stride=(2, 3), padding=((1, 0), (2, 1)), dilation=(1, 2),
                       groups=2, output_padding=(1, 2))
    x, w = np.random.default_rng(0).standard_normal((2, 4, 3, 2)), np.ones((4, 3, 3, 2))
    expected = dk.conv_transpose(x, w, stride=spec.stride, padding=spec.padding,
                                 dilation=spec.dilation, groups=2,
                                 output_padding=spec.output_padding)
    assert rel_error(scatter_oracle(x, w, TransposeWindow.from_spec(spec)), expected) < 1e-12


@pytest.mark.parametrize("framework", FRAMEWORKS)
@given(case=conv_cases(dtypes=(np.float64,)))
def test_framework_call_reproduces_every_spec(framework, case):
    """Reverse direction: the emitted call (plus its fix-up) is conv_transpose exactly."""
    _, w, y = random_arrays(case)
    call = framework_call(framework, case.spec, case.input_size)
    expected = dk.conv_transpose(y, w, **case.transpose_kwargs())
    got = run_call(call, y, w)
    assert got.shape == expected.shape
    assert rel_error(got, expected) < 1e-12
    assert call.final_size == expected.shape[2:]


@pytest.mark.parametrize("framework", FRAMEWORKS)
@settings(max_examples=100)
@given(case=windows())
def test_framework_call_reproduces_windows_beyond_specs(framework, case):
    win, x, w = case
    assert rel_error(run_call(framework_call(framework, win, x.shape[2:]), x, w),
                     scatter_oracle(x, w, win)) < 1e-12


def test_exact_calls_need_no_fixup():
    """ONNX and JAX reach every spec without a fix-up; PyTorch and Caffe symmetric ones."""
    spec = dk.ConvSpec((3, 3), stride=2, padding=((0, 1), (2, 0)), output_padding=1)
    for fw in ("onnx", "jax"):
        assert framework_call(fw, spec, (4, 4)).exact
    sym = dk.ConvSpec((3, 3), stride=2, padding=1)
    for fw in FRAMEWORKS:
        assert framework_call(fw, sym, (4, 4)).exact, fw


# ------------------------------------------------------------------ seeds and goldens
def test_seed_tensorflow_snippet():
    """Seed 000: tf.nn.conv2d_transpose of a 2x2 NHWC image with a [3, 3, 1, 1] filter."""
    x = np.array([[[[1], [2]], [[3], [4]]]], dtype=np.float32)  # (1, 2, 2, 1) NHWC
    f = np.array([[[[1]], [[1]], [[1]]]] * 3, dtype=np.float32)  # (3, 3, 1, 1) [k, k, out, in]
    y = tf_conv_transpose(x, f, output_shape=(1, 4, 4, 1), strides=[1, 2, 2, 1],
                          padding="SAME")
    expected = np.array([[[[1.0], [1.0], [3.0], [2.0]], [[1.0], [1.0], [3.0], [2.0]],
                          [[4.0], [4.0], [10.0], [6.0]], [[3.0], [3.0], [7.0], [4.0]]]])
    assert y.dtype == np.float32 and y.shape == (1, 4, 4, 1)
    assert (y == expected).all()


def test_seed_snippet_with_more_channels_uses_filter_out_in_order():
    """[k, k, C_out, C_in]: swapping the last two filter axes changes the result."""
    rng = np.random.default_rng(3)
    x, f = rng.standard_normal((1, 2, 2, 3)), rng.standard_normal((3, 3, 5, 3))
    y = tf_conv_transpose(x, f, (1, 4, 4, 5), 2, "SAME")
    w = f.transpose(3, 2, 0, 1)  # (C_in, C_out, k, k)
    core = dk.conv_transpose(np.moveaxis(x, -1, 1), w, stride=2, padding="same")
    assert rel_error(np.moveaxis(y, -1, 1), core) < 1e-12


@pytest.mark.parametrize("cropped, reference, offset", [
    ("score_fr+upscore32", "data", 19),            # FCN-32s
    ("pool4+score", "score_fr+upscore2", 5),       # FCN-16s score_pool4c
    ("score_fr+upscore2+upscore16", "data", 27),   # FCN-16s
    ("pool3+score", "score_fr+upscore2+up4", 9),   # FCN-8s score_pool3c
    ("score_fr+upscore2+up4+upscore8", "data", 31),
])
def test_fcn_crop_offsets(cropped, reference, offset):
    """The offsets of the published FCN prototxts, from the VGG16 layer parameters."""
    conv, pool = ("Convolution", 3, 1, 1), ("Pooling", 2, 2, 0)
    paths = {"pool3": [("Convolution", 3, 1, 100), ("ReLU",), conv, pool, conv, conv, pool,
                       conv, conv, conv, pool], "data": []}
    paths["pool4"] = paths["pool3"] + [conv] * 3 + [pool]
    paths["score_fr"] = paths["pool4"] + [conv] * 3 + [pool, ("Convolution", 7, 1, 0),
                                                       ("Convolution", 1, 1, 0),
                                                       ("Convolution", 1, 1, 0)]
    parts = {"score": ("Convolution", 1, 1, 0), "upscore32": ("Deconvolution", 64, 32, 0),
             "upscore2": ("Deconvolution", 4, 2, 0), "up4": ("Deconvolution", 4, 2, 0),
             "upscore16": ("Deconvolution", 32, 16, 0), "upscore8": ("Deconvolution", 16, 8, 0)}

    def path(text):
        head, *rest = text.split("+")
        return paths[head] + [parts[p] for p in rest]

    assert fcn_crop_offset(path(cropped), path(reference)) == offset


def test_fcn_crop_offset_refuses_what_fcn_refuses():
    with pytest.raises(ValueError, match="scale mismatch"):
        fcn_crop_offset([("Pooling", 2, 2, 0)])
    with pytest.raises(ValueError, match="negative offset"):
        fcn_crop_offset([("Convolution", 3, 1, 0)])  # smaller than data: nothing to crop
    with pytest.raises(ValueError, match="noninteger"):
        fcn_crop_offset([("Pooling", 2, 2, 0), ("Deconvolution", 3, 2, 0)])


# ------------------------------------------------------------------ helpers
def test_block_diagonal_weight_is_the_grouped_operation():
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((1, 4, 3)), rng.standard_normal((4, 3, 2))
    grouped = dk.conv_transpose(x, w, stride=2, groups=2)
    assert rel_error(dk.conv_transpose(x, block_diagonal_weight(w, 2), stride=2), grouped) < 1e-12


def test_dilated_weight_is_dilation():
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((1, 2, 3, 3)), rng.standard_normal((2, 2, 2, 3))
    dilated = dk.conv_transpose(x, w, stride=2, dilation=(2, 3))
    assert rel_error(dk.conv_transpose(x, dilated_weight(w, (2, 3)), stride=2), dilated) < 1e-12


def test_apply_fixup_crops_and_pads():
    y = np.arange(12.0).reshape(1, 1, 3, 4)
    out = apply_fixup(y, ((1, -1), (-2, 1)))
    assert out.shape == (1, 1, 3, 5)
    assert (out[0, 0, :2, 2:] == y[0, 0, 1:, :3]).all() and not out[0, 0, 2].any()
    assert not out[0, 0, :, :2].any()


def test_integer_inputs_become_float64():
    y = torch_conv_transpose(np.ones((1, 1, 2), int), np.ones((1, 1, 2), int), stride=2)
    assert y.dtype == np.float64


def test_float32_is_kept_everywhere():
    x32, w32 = np.ones((1, 1, 3), np.float32), np.ones((1, 1, 3), np.float32)
    outs = [torch_conv_transpose(x32, w32, stride=2),
            onnx_conv_transpose(x32, w32, strides=[2]),
            caffe_deconvolution(x32, w32, kernel_size=3, stride=2),
            tf_conv_transpose(x32.reshape(1, 3, 1), w32.reshape(3, 1, 1), (1, 6, 1), 2),
            keras_conv_transpose(x32.reshape(1, 3, 1), w32.reshape(3, 1, 1), strides=2),
            jax_conv_transpose(x32.reshape(1, 3, 1), w32.reshape(3, 1, 1), (2,), "SAME")]
    assert all(o.dtype == np.float32 for o in outs)


def test_translate_round_trips_between_every_pair():
    """From TensorFlow's SAME to each framework and back through its own adapter."""
    x = np.random.default_rng(4).standard_normal((1, 2, 5, 5))
    w = np.random.default_rng(5).standard_normal((2, 3, 3, 3))
    expected = dk.conv_transpose(x, w, stride=2, padding="same")
    for target in FRAMEWORKS:
        t = translate("tf", target, (5, 5), (3, 3), output_size=(10, 10), strides=2,
                      padding="SAME")
        assert rel_error(run_call(t.call, x, w), expected) < 1e-12, target


def test_docs_table_names_only_existing_tests():
    """Every line of the README's conventions tables is backed by a test that exists."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    refs = re.findall(r"`(tests/[\w/]+\.py)::(\w+)`", (root / "README.md").read_text())
    assert len(refs) >= 25
    for path, name in refs:
        assert re.search(rf"^def {name}\(", (root / path).read_text(), re.M), (path, name)
