"""Forward and both gradients equal PyTorch wherever PyTorch can express the spec.

Asymmetric padding is compared against PyTorch run with the smaller padding on each
axis and its output cropped by the difference.
"""

import numpy as np
import pytest
from hypothesis import given

import deconvkit as dk
from deconvkit.testing import conv_cases, random_arrays, rel_error

torch = pytest.importorskip("torch")
F = torch.nn.functional
METHODS = dk.available_methods()


def tol(dtype):
    return 1e-5 if dtype == np.float32 else 1e-10


def torch_conv(x, w, spec):
    """PyTorch conv with asymmetric padding applied by F.pad."""
    pad = [v for lo_hi in reversed(spec.padding) for v in lo_hi]
    xp = F.pad(x, pad)
    fn = (F.conv1d, F.conv2d, F.conv3d)[spec.ndim - 1]
    return fn(xp, w, stride=spec.stride, dilation=spec.dilation, groups=spec.groups)


def torch_conv_transpose(x, w, spec):
    """PyTorch conv_transpose with the symmetric part of the padding, then cropped."""
    sym = tuple(min(lo, hi) for lo, hi in spec.padding)
    fn = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)[spec.ndim - 1]
    y = fn(x, w, stride=spec.stride, padding=sym, output_padding=spec.output_padding,
           dilation=spec.dilation, groups=spec.groups)
    crop = tuple(slice(lo - p, y.shape[2 + a] - (hi - p))
                 for a, ((lo, hi), p) in enumerate(zip(spec.padding, sym)))
    return y[(slice(None), slice(None)) + crop]


def leaf(a):
    return torch.tensor(a, requires_grad=True)


@pytest.mark.parametrize("method", METHODS)
@given(case=conv_cases())
def test_conv_and_gradients_match_torch(method, case):
    x, w, _ = random_arrays(case)
    kw = case.conv_kwargs()
    tx, tw = leaf(x), leaf(w)
    ty = torch_conv(tx, tw, case.spec)
    dy = np.random.default_rng(1).standard_normal(tuple(ty.shape)).astype(case.dtype)
    ty.backward(torch.tensor(dy))
    t = tol(case.dtype)
    assert rel_error(dk.conv(x, w, method=method, **kw), ty.detach().numpy()) < t
    dx = dk.conv_transpose(dy, w, output_size=x.shape[2:], method=method, **kw)
    assert rel_error(dx, tx.grad.numpy()) < t
    dw = dk.conv_weight_grad(x, dy, case.spec.kernel_size, method=method, **kw)
    assert rel_error(dw, tw.grad.numpy()) < t


@pytest.mark.parametrize("method", METHODS)
@given(case=conv_cases())
def test_conv_transpose_and_gradients_match_torch(method, case):
    _, w, y = random_arrays(case)
    kw = case.transpose_kwargs()
    ty_in, tw = leaf(y), leaf(w)
    out = torch_conv_transpose(ty_in, tw, case.spec)
    assert tuple(out.shape) == case.x_shape
    dout = np.random.default_rng(2).standard_normal(case.x_shape).astype(case.dtype)
    out.backward(torch.tensor(dout))
    t = tol(case.dtype)
    assert rel_error(dk.conv_transpose(y, w, method=method, **kw), out.detach().numpy()) < t
    conv_kw = case.conv_kwargs()
    dx = case.crop(dk.conv(dout, w, method=method, **conv_kw))
    assert rel_error(dx, ty_in.grad.numpy()) < t
    dw = dk.conv_transpose_weight_grad(y, dout, case.spec.kernel_size, method=method, **conv_kw)
    assert rel_error(dw, tw.grad.numpy()) < t


@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_same_padding_matches_torch_conv(ndim):
    """PyTorch's conv padding='same' (stride 1) puts the odd pixel at the end too."""
    rng = np.random.default_rng(ndim)
    x = rng.standard_normal((2, 4) + (7,) * ndim)
    w = rng.standard_normal((6, 2) + (4,) * ndim)
    fn = (F.conv1d, F.conv2d, F.conv3d)[ndim - 1]
    want = fn(torch.tensor(x), torch.tensor(w), padding="same", dilation=2, groups=2).numpy()
    got = dk.conv(x, w, padding="same", dilation=2, groups=2)
    assert got.shape == want.shape and rel_error(got, want) < 1e-12


def test_bias_matches_torch():
    rng = np.random.default_rng(0)
    x, w, b = (rng.standard_normal(s).astype(np.float32) for s in [(2, 4, 5, 6), (4, 3, 3, 2), (6,)])
    want = F.conv_transpose2d(torch.tensor(x), torch.tensor(w), torch.tensor(b), stride=2, groups=2)
    got = dk.conv_transpose(x, w, b, stride=2, groups=2)
    assert got.dtype == np.float32 and rel_error(got, want.numpy()) < 1e-5
