"""torch_conv_transpose and torch_call against PyTorch itself."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import deconvkit as dk
from deconvkit.conventions import (framework_call, tf_conv_transpose, torch_call,
                                   torch_conv_transpose, torch_window)
from deconvkit.testing import conv_cases, random_arrays, rel_error

torch = pytest.importorskip("torch")
F = torch.nn.functional


@st.composite
def torch_problems(draw):
    """PyTorch arguments: grouped (>= 2 channels per group), dilated, output_padding/size."""
    ndim = draw(st.sampled_from((1, 2, 3)))
    small = ndim == 3
    k = tuple(draw(st.integers(1, 3 if small else 4)) for _ in range(ndim))
    s = tuple(draw(st.integers(1, 3)) for _ in range(ndim))
    d = tuple(draw(st.integers(1, 2 if small else 3)) for _ in range(ndim))
    p = tuple(draw(st.integers(0, di * (ki - 1))) for ki, di in zip(k, d))
    r = tuple(draw(st.integers(0, max(si, di) - 1)) for si, di in zip(s, d))
    m = tuple(draw(st.integers(1, 2 if small else 4)) for _ in range(ndim))
    g = draw(st.integers(1, 3))
    c_in, c_out = g * draw(st.integers(1, 3)), g * draw(st.integers(1, 3))
    use_size = draw(st.booleans())
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    x = rng.standard_normal((draw(st.integers(1, 2)), c_in) + m)
    w = rng.standard_normal((c_in, c_out // g) + k)
    kwargs = dict(stride=s, padding=p, output_padding=r, groups=g, dilation=d)
    if use_size:  # nn.ConvTransposeNd(...)(x, output_size): only min..min+s-1
        r = tuple(min(ri, si - 1) for ri, si in zip(r, s))
        kwargs["output_padding"] = 0
        kwargs["output_size"] = tuple((mi - 1) * si - 2 * pi + di * (ki - 1) + 1 + ri
                                      for mi, si, pi, di, ki, ri in zip(m, s, p, d, k, r))
    return x, w, rng.standard_normal(c_out), kwargs


def real_torch(x, w, b, kwargs):
    kwargs = dict(kwargs)
    size = kwargs.pop("output_size", None)
    cls = (torch.nn.ConvTranspose1d, torch.nn.ConvTranspose2d, torch.nn.ConvTranspose3d)
    layer = cls[x.ndim - 3](x.shape[1], b.shape[0], w.shape[2:], **kwargs).double()
    layer.weight.data, layer.bias.data = torch.tensor(w), torch.tensor(b)
    with torch.no_grad():
        y = layer(torch.tensor(x), output_size=size)
    return y.numpy()


@given(torch_problems())
def test_torch_conv_transpose_matches_pytorch(problem):
    x, w, b, kwargs = problem
    try:
        expected = real_torch(x, w, b, kwargs)
    except (RuntimeError, ValueError) as exc:  # e.g. "Output size is too small": so do we
        reason = next(r for r in ("Output size is too small", "valid sizes range") if r in str(exc))
        with pytest.raises(ValueError, match=reason):
            torch_conv_transpose(x, w, b, **kwargs)
        return
    got = torch_conv_transpose(x, w, b, **kwargs)
    assert got.shape == expected.shape
    assert rel_error(got, expected) < 1e-12


@given(case=conv_cases(dtypes=(np.float64,)))
def test_torch_call_plus_fixup_in_pytorch_is_the_spec(case):
    """Reverse direction in real PyTorch, including asymmetric padding (a crop)."""
    _, w, y = random_arrays(case)
    call = framework_call("torch", case.spec, case.input_size)
    fn = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)[case.spec.ndim - 1]
    out = call.finish(fn(torch.tensor(y), torch.tensor(w), **call.args).numpy())
    assert rel_error(out, dk.conv_transpose(y, w, **case.transpose_kwargs())) < 1e-12


def test_unbatched_input_like_pytorch():
    x, w = np.random.default_rng(0).standard_normal((2, 3, 3)), np.ones((2, 1, 2, 2))
    expected = F.conv_transpose2d(torch.tensor(x), torch.tensor(w), stride=2).numpy()
    assert rel_error(torch_conv_transpose(x, w, stride=2), expected) < 1e-12


def test_pitfall_tf_same_is_torch_padding_1_output_padding_1_shifted():
    """k=3, s=2: TF SAME and torch padding=1, output_padding=1 both give 2m, shifted by one."""
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((1, 1, 5, 5)), rng.standard_normal((1, 1, 3, 3))
    torch_y = F.conv_transpose2d(torch.tensor(x), torch.tensor(w), stride=2, padding=1,
                                 output_padding=1).numpy()
    tf_y = tf_conv_transpose(np.moveaxis(x, 1, -1), w.transpose(2, 3, 1, 0), (1, 10, 10, 1),
                             2, "SAME")
    tf_y = np.moveaxis(tf_y, -1, 1)
    assert torch_y.shape == tf_y.shape == (1, 1, 10, 10)
    assert rel_error(torch_y[..., :-1, :-1], tf_y[..., 1:, 1:]) < 1e-12  # shifted by one
    assert rel_error(torch_y, tf_y) > 0.1
    call = torch_call(torch_window((5, 5), (3, 3), stride=2, padding=1, output_padding=1),
                      (5, 5))
    assert call.exact
    tf_in_torch = framework_call("torch", dk.ConvSpec((3, 3), 2, ((0, 1), (0, 1))), (5, 5))
    assert tf_in_torch.args == {"stride": 2, "padding": 0}
    fixed = tf_in_torch.finish(F.conv_transpose2d(torch.tensor(x), torch.tensor(w),
                                                  **tf_in_torch.args).numpy())
    assert rel_error(fixed, tf_y) < 1e-12


def test_pitfall_output_size_range_uses_stride_only():
    """output_padding may reach max(s, d) - 1, output_size only min + s - 1 (as PyTorch)."""
    x, w = np.ones((1, 1, 3)), np.ones((1, 1, 3))
    layer = torch.nn.ConvTranspose1d(1, 1, 3, stride=1, dilation=3)
    with pytest.raises(ValueError, match=r"valid sizes range from \[9\] to \[9\]"):
        layer(torch.ones(1, 1, 3), output_size=[10])
    with pytest.raises(ValueError, match=r"valid sizes range from \[9\] to \[9\]"):
        torch_conv_transpose(x, w, dilation=3, output_size=(10,))
    assert F.conv_transpose1d(torch.ones(1, 1, 3), torch.ones(1, 1, 3), dilation=3,
                              output_padding=2).shape[-1] == 11
    assert torch_conv_transpose(x, w, dilation=3, output_padding=2).shape[-1] == 11


@pytest.mark.parametrize("kwargs, match", [
    (dict(stride=2, padding="same"), "ints only"),
    (dict(stride=2, output_padding=2), "output padding must be smaller"),
    (dict(padding=-1), "negative padding"),
    (dict(stride=0), "non-positive stride"),
    (dict(groups=3), "divisible by 3"),
    (dict(padding=3), "Output size is too small"),
])
def test_rejects_what_pytorch_rejects(kwargs, match):
    x, w = np.ones((1, 4, 3)), np.ones((4, 2, 3))
    with pytest.raises((RuntimeError, TypeError, ValueError)):
        F.conv_transpose1d(torch.tensor(x), torch.tensor(w), **kwargs)
    with pytest.raises(ValueError, match=match):
        torch_conv_transpose(x, w, **kwargs)


def test_rejects_channel_and_bias_mismatch_like_pytorch():
    with pytest.raises(ValueError, match="to have 4 channels, but got 3"):
        torch_conv_transpose(np.ones((1, 3, 3)), np.ones((4, 2, 3)))
    with pytest.raises(ValueError, match="expected bias to be 1-dimensional with 2"):
        torch_conv_transpose(np.ones((1, 4, 3)), np.ones((4, 2, 3)), np.ones(3))


@st.composite
def caffe_problems(draw):
    ndim = draw(st.sampled_from((1, 2, 3)))
    k = tuple(draw(st.integers(1, 4)) for _ in range(ndim))
    s = tuple(draw(st.integers(1, 3)) for _ in range(ndim))
    d = tuple(draw(st.integers(1, 2)) for _ in range(ndim))
    pad = tuple(draw(st.integers(0, (di * (ki - 1)) // 2)) for ki, di in zip(k, d))
    g = draw(st.integers(1, 2))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    x = rng.standard_normal((1, 2 * g) + tuple(draw(st.integers(1, 3)) for _ in range(ndim)))
    w = rng.standard_normal((2 * g, draw(st.integers(1, 3))) + k)
    return x, w, rng.standard_normal(w.shape[1] * g), dict(stride=s, pad=pad, dilation=d, group=g)


@given(caffe_problems())
def test_caffe_deconvolution_is_pytorch_without_output_padding(problem):
    """Caffe's Deconvolution (conv backward, top = s(m-1) + e - 2 pad) against PyTorch."""
    from deconvkit.conventions import caffe_deconvolution

    x, w, b, p = problem
    fn = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)[x.ndim - 3]
    expected = fn(torch.tensor(x), torch.tensor(w), torch.tensor(b), stride=p["stride"],
                  padding=p["pad"], dilation=p["dilation"], groups=p["group"]).numpy()
    got = caffe_deconvolution(x, w, b, kernel_size=w.shape[2:], **p)
    assert rel_error(got, expected) < 1e-12


def test_fcn_bilinear_upsampling_layer():
    """FCN's 2x upsampling: kernel 4, stride 2, bilinear weights; interior pixels interpolate."""
    from deconvkit.conventions import caffe_deconvolution

    f = np.array([0.25, 0.75, 0.75, 0.25])
    w = np.outer(f, f)[None, None]
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    top = caffe_deconvolution(x, w, kernel_size=4, stride=2, pad=1)
    assert top.shape == (1, 1, 6, 6)
    expected = F.conv_transpose2d(torch.tensor(x), torch.tensor(w), stride=2, padding=1)
    assert rel_error(top, expected.numpy()) < 1e-12
    assert top[0, 0, 2, 2] == 0.75 * 0.75 * 4 + 0.75 * 0.25 * (1 + 3) + 0.25 * 0.25 * 0


@given(case=conv_cases(dtypes=(np.float64,)))
def test_the_forward_spelling_runs_in_torch(case):
    """conv_spelling("torch") as written (asymmetric pads as F.pad first) computes conv."""
    from deconvkit.conventions import conv_spelling
    x, w, _ = random_arrays(case)
    spelling = conv_spelling("torch", case.spec, case.x_shape[2:])
    assert spelling.exact
    namespace = {"torch": torch, "x": torch.from_numpy(x), "w": torch.from_numpy(w)}
    exec(spelling.code, namespace)
    expected = dk.conv(x, w, **case.conv_kwargs())
    assert rel_error(namespace["y"].numpy(), expected) < 1e-12
