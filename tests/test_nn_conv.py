"""Conv and ConvTranspose layers: finite differences, PyTorch, delegation to functional."""

import numpy as np
import pytest

import deconvkit.functional as F
from deconvkit import nn
from deconvkit.geometry import ConvSpec
from deconvkit.testing import rel_error

torch = pytest.importorskip("torch")
TF = torch.nn.functional

CONV_CASES = [  # (ndim, c_in, c_out, k, stride, padding, dilation, groups, size)
    (1, 4, 6, 3, 2, 1, 1, 2, (7,)),
    (2, 2, 3, (3, 2), (2, 1), ((1, 0), (0, 1)), 1, 1, (5, 4)),
    (2, 4, 6, 3, 1, "same", 2, 2, (5, 5)),
    (2, 3, 2, 4, 3, "valid", 1, 1, (8, 7)),
    (3, 2, 4, 2, 2, 0, 1, 2, (3, 4, 3)),
]
# (ndim, c_in, c_out, k, stride, padding, output_padding, dilation, groups, size)
TRANSPOSE_CASES = [
    (1, 4, 6, 3, 2, 1, 1, 1, 2, (4,)),
    (2, 2, 3, (4, 3), (2, 3), ((1, 2), (0, 1)), (1, 0), 1, 1, (3, 2)),
    (2, 4, 2, 3, 2, "same", 0, 1, 2, (3, 3)),
    (2, 3, 3, 2, 1, 0, 1, 2, 1, (3, 4)),       # output_padding >= stride (dilation 2)
    (3, 2, 4, 2, 2, 0, 0, 1, 2, (2, 3, 2)),
]


def _conv_layer(case, dtype=np.float64):
    ndim, c_in, c_out, k, s, p, d, g, size = case
    layer = nn.Conv(c_in, c_out, k, stride=s, padding=p, dilation=d, groups=g, ndim=ndim,
                    dtype=dtype, rng=1)
    layer.bias.data[:] = np.random.default_rng(2).standard_normal(c_out)
    x = np.random.default_rng(3).standard_normal((2, c_in) + size).astype(dtype)
    return layer, x


def _transpose_layer(case, dtype=np.float64):
    ndim, c_in, c_out, k, s, p, r, d, g, size = case
    layer = nn.ConvTranspose(c_in, c_out, k, stride=s, padding=p, output_padding=r,
                             dilation=d, groups=g, ndim=ndim, dtype=dtype, rng=1)
    layer.bias.data[:] = np.random.default_rng(2).standard_normal(c_out)
    x = np.random.default_rng(3).standard_normal((2, c_in) + size).astype(dtype)
    return layer, x


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_finite_differences(case):
    layer, x = _conv_layer(case)
    errors = nn.check_gradients(layer, x)
    assert set(errors) == {"input0", "weight", "bias"}
    assert max(errors.values()) < 1e-7, errors


@pytest.mark.parametrize("case", TRANSPOSE_CASES)
def test_conv_transpose_finite_differences(case):
    layer, x = _transpose_layer(case)
    errors = nn.check_gradients(layer, x)
    assert set(errors) == {"input0", "weight", "bias"}
    assert max(errors.values()) < 1e-7, errors


def _torch_pad(padding, ndim, size, k, s, d):
    """The (lo, hi) pairs of ``padding``, resolved as deconvkit does."""
    spec = ConvSpec.create(ndim, k, stride=s, padding=padding, dilation=d, input_size=size)
    return spec.padding


def _torch_backward(y, dy, *leaves):
    y.backward(torch.tensor(dy))
    return [leaf.grad.numpy() for leaf in leaves]


@pytest.mark.parametrize("dtype,tol", [(np.float32, 1e-5), (np.float64, 1e-10)])
@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_matches_torch(case, dtype, tol):
    layer, x = _conv_layer(case, dtype)
    ndim = case[0]
    pairs = _torch_pad(case[5], ndim, x.shape[2:], layer.kernel_size, case[4], case[6])
    tx, tw, tb = (torch.tensor(a, requires_grad=True)
                  for a in (x, layer.weight.data, layer.bias.data))
    xp = TF.pad(tx, [v for pair in reversed(pairs) for v in pair])
    conv = (TF.conv1d, TF.conv2d, TF.conv3d)[ndim - 1]
    ty = conv(xp, tw, tb, stride=case[4], dilation=case[6], groups=case[7])
    y = layer.forward(x)
    dy = np.random.default_rng(4).standard_normal(y.shape).astype(dtype)
    dx = layer.backward(dy)
    gx, gw, gb = _torch_backward(ty, dy, tx, tw, tb)
    assert rel_error(y, ty.detach().numpy()) < tol
    assert rel_error(dx, gx) < tol
    assert rel_error(layer.weight.grad, gw) < tol
    assert rel_error(layer.bias.grad, gb) < tol
    assert y.dtype == dx.dtype == layer.weight.grad.dtype == dtype


@pytest.mark.parametrize("dtype,tol", [(np.float32, 1e-5), (np.float64, 1e-10)])
@pytest.mark.parametrize("case", [c for c in TRANSPOSE_CASES if not isinstance(c[5], str)])
def test_conv_transpose_matches_torch(case, dtype, tol):
    layer, x = _transpose_layer(case, dtype)
    ndim = case[0]
    pairs = ConvSpec(layer.kernel_size, padding=case[5]).padding
    sym = tuple(min(p) for p in pairs)
    tx, tw, tb = (torch.tensor(a, requires_grad=True)
                  for a in (x, layer.weight.data, layer.bias.data))
    fn = (TF.conv_transpose1d, TF.conv_transpose2d, TF.conv_transpose3d)[ndim - 1]
    full = fn(tx, tw, tb, stride=case[4], padding=sym, output_padding=case[6],
              dilation=case[7], groups=case[8])
    crop = tuple(slice(lo - q, full.shape[2 + a] - (hi - q))
                 for a, ((lo, hi), q) in enumerate(zip(pairs, sym)))
    ty = full[(slice(None), slice(None)) + crop]
    y = layer.forward(x)
    dy = np.random.default_rng(4).standard_normal(y.shape).astype(dtype)
    dx = layer.backward(dy)
    gx, gw, gb = _torch_backward(ty, dy, tx, tw, tb)
    assert y.shape == tuple(ty.shape)
    assert rel_error(y, ty.detach().numpy()) < tol
    assert rel_error(dx, gx) < tol
    assert rel_error(layer.weight.grad, gw) < tol
    assert rel_error(layer.bias.grad, gb) < tol


def test_conv_transpose_output_size_argument_matches_torch():
    layer = nn.ConvTranspose(2, 3, 3, stride=2, padding=1, rng=0)
    x = np.random.default_rng(0).standard_normal((1, 2, 4, 4)).astype(np.float32)
    y = layer.forward(x, output_size=(8, 7))
    ty = torch.nn.functional.conv_transpose2d(
        torch.tensor(x), torch.tensor(layer.weight.data), torch.tensor(layer.bias.data),
        stride=2, padding=1, output_padding=(1, 0))
    assert y.shape == (1, 3, 8, 7)
    assert rel_error(y, ty.numpy()) < 1e-5
    assert layer.backward(np.ones_like(y)).shape == x.shape


def test_transpose_backward_is_conv_and_weight_grad(monkeypatch):
    """ConvTranspose's backward calls the core's conv and weight gradient, nothing else."""
    calls = []
    for name in ("conv", "conv_transpose", "conv_weight_grad", "conv_transpose_weight_grad"):
        original = getattr(F, name)
        def spy(*a, _name=name, _original=original, **k):
            calls.append((_name, k.get("method")))
            return _original(*a, **k)
        monkeypatch.setattr(F, name, spy)
    layer, x = _transpose_layer(TRANSPOSE_CASES[1])
    layer.forward(x)
    assert calls == [("conv_transpose", "auto")]
    calls.clear()
    layer.backward(np.ones(layer.forward(x).shape))
    assert calls[1:] == [("conv_transpose_weight_grad", "auto"), ("conv", "auto")]
    conv, x = _conv_layer(CONV_CASES[1])
    calls.clear()
    conv.backward(np.ones(conv.forward(x).shape))
    assert calls == [("conv", "auto"), ("conv_weight_grad", "auto"), ("conv_transpose", "auto")]


def test_gradients_accumulate_and_zero_grad():
    layer, x = _conv_layer(CONV_CASES[0])
    dy = np.ones(layer.forward(x).shape)
    layer.backward(dy)
    once = layer.weight.grad.copy()
    layer.forward(x)
    layer.backward(dy)
    assert np.allclose(layer.weight.grad, 2 * once)
    layer.zero_grad()
    assert not layer.weight.grad.any() and not layer.bias.grad.any()


def test_frozen_weight_and_no_input_grad():
    layer, x = _transpose_layer(TRANSPOSE_CASES[0])
    layer.weight.requires_grad = False
    layer.needs_input_grad = False
    y = layer.forward(x)
    assert layer.backward(np.ones_like(y)) is None
    assert not layer.weight.grad.any() and layer.bias.grad.any()


def test_deconvolution_is_conv_transpose():
    assert nn.Deconvolution is nn.ConvTranspose
    assert "alias" in nn.ConvTranspose.__doc__.lower() or "same class" in nn.ConvTranspose.__doc__


def test_weight_layouts_and_names():
    conv = nn.Conv(4, 6, (3, 2), groups=2, rng=0)
    up = nn.ConvTranspose(4, 6, 3, groups=2, ndim=3, rng=0)
    assert conv.weight.shape == (6, 2, 3, 2) and conv.bias.shape == (6,)
    assert up.weight.shape == (4, 3, 3, 3, 3) and up.bias.shape == (6,)
    assert [n for n, _ in up.named_parameters()] == ["weight", "bias"]
    assert nn.Conv(1, 1, 3, bias=False).bias is None
    assert nn.Conv(1, 1, 3, ndim=1).weight.shape == (1, 1, 3)


def test_he_fan_in_of_both_layouts():
    conv = nn.Conv(64, 64, 3, rng=0)
    up = nn.ConvTranspose(64, 64, 4, stride=2, rng=0)
    assert abs(conv.weight.data.std() - np.sqrt(2 / (64 * 9))) < 0.02 * np.sqrt(2 / (64 * 9))
    want = np.sqrt(2 / (64 * 16 / 4))
    assert abs(up.weight.data.std() - want) < 0.02 * want


@pytest.mark.parametrize("kwargs,message", [
    (dict(in_channels=3, out_channels=4, kernel_size=3, groups=2), "groups=2 must divide"),
    (dict(in_channels=0, out_channels=4, kernel_size=3), "in_channels must be an int >= 1"),
    (dict(in_channels=2, out_channels=2, kernel_size=(3, 3), ndim=3), "has 2 axes but ndim=3"),
    (dict(in_channels=2, out_channels=2, kernel_size=3, stride=0), "stride must be >= 1"),
    (dict(in_channels=2, out_channels=2, kernel_size=3, init="nope"), "init must be"),
    (dict(in_channels=2, out_channels=2, kernel_size=3, padding="full"), "'valid' or 'same'"),
    (dict(in_channels=2, out_channels=2, kernel_size=3, stride=2, output_padding=1),
     "output_padding applies to ConvTranspose only"),
])
def test_bad_construction(kwargs, message):
    with pytest.raises(ValueError, match=message):
        nn.Conv(**kwargs)


@pytest.mark.parametrize("kernel_size", [2.5, (3, 2.0), "3", (), True])
def test_kernel_size_must_be_ints(kernel_size):
    for layer in (nn.Conv, nn.ConvTranspose):
        with pytest.raises(TypeError, match="kernel_size must be an int or a tuple of ints"):
            layer(2, 2, kernel_size)


def test_bad_use():
    layer = nn.Conv(2, 3, 3)
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(np.zeros((1, 3, 2, 2), np.float32))
    with pytest.raises(ValueError, match="expected 2 channels, got 3"):
        layer.forward(np.zeros((1, 3, 5, 5), np.float32))
    with pytest.raises(TypeError, match="share one dtype"):
        layer.forward(np.zeros((1, 2, 5, 5), np.float64))
    with pytest.raises(ValueError, match="valid sizes"):
        nn.ConvTranspose(2, 2, 3, stride=2).forward(np.zeros((1, 2, 4, 4), np.float32),
                                                      output_size=(12, 12))
