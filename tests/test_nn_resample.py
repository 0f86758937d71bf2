"""Upsample, PixelShuffle, ResizeConv, Crop, Add, Concat: finite differences and PyTorch."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from deconvkit import nn
from deconvkit.testing import dottest, rel_error

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def rand(shape, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def torch_grads(fn, x, dy):
    tx = torch.tensor(x, requires_grad=True)
    ty = fn(tx)
    ty.backward(torch.tensor(dy))
    return ty.detach().numpy(), tx.grad.numpy()


UPSAMPLE_CASES = [  # (input size, kwargs for both)
    ((4, 5), dict(scale_factor=2, mode="nearest")),
    ((3, 4), dict(scale_factor=(3, 2), mode="nearest")),
    ((5, 4), dict(size=(7, 9), mode="nearest")),
    ((4, 6), dict(scale_factor=1.5, mode="nearest")),
    ((4, 5), dict(scale_factor=2, mode="bilinear")),
    ((3, 3), dict(scale_factor=8, mode="bilinear")),
    ((4, 6), dict(scale_factor=1.5, mode="bilinear")),
    ((4, 5), dict(size=(9, 7), mode="bilinear", align_corners=True)),
    ((4, 5), dict(scale_factor=3, mode="bilinear", align_corners=True)),
    ((6,), dict(scale_factor=2, mode="linear")),
    ((2, 3, 2), dict(scale_factor=2, mode="trilinear")),
    ((2, 3, 2), dict(scale_factor=2, mode="nearest")),
]


@pytest.mark.parametrize("dtype,tol", [(np.float32, 2e-6), (np.float64, 1e-12)])
@pytest.mark.parametrize("size,kwargs", UPSAMPLE_CASES)
def test_upsample_matches_torch_interpolate(size, kwargs, dtype, tol):
    layer = nn.Upsample(**kwargs)
    x = rand((2, 3) + size, dtype=dtype)
    y = layer.forward(x)
    dy = rand(y.shape, 1, dtype)
    ty, gx = torch_grads(lambda t: TF.interpolate(t, **kwargs), x, dy)
    assert y.shape == ty.shape and y.dtype == dtype
    assert rel_error(y, ty) < tol
    assert rel_error(layer.backward(dy), gx) < tol


@given(n=st.integers(1, 7), m=st.integers(1, 7), out_n=st.integers(1, 16),
       out_m=st.integers(1, 16), mode=st.sampled_from(["nearest", "bilinear"]),
       corners=st.booleans())
def test_upsample_any_size_matches_torch(n, m, out_n, out_m, mode, corners):
    x = np.random.default_rng(n * 7 + m).standard_normal((1, 1, n, m))
    kw = dict(size=(out_n, out_m), mode=mode)
    if mode == "bilinear":
        kw["align_corners"] = corners
    y = nn.Upsample(**kw).forward(x)
    assert rel_error(y, TF.interpolate(torch.tensor(x), **kw).numpy()) < 1e-12


@pytest.mark.parametrize("size,kwargs", UPSAMPLE_CASES[::2])
def test_upsample_backward_is_the_adjoint_and_the_gradient(size, kwargs):
    layer = nn.Upsample(**kwargs)
    x_shape = (1, 2) + size
    y_shape = layer.forward(np.zeros(x_shape)).shape
    dottest(layer.forward, layer.backward, x_shape, y_shape)
    x = np.random.default_rng(1).standard_normal(x_shape)
    assert nn.check_gradients(layer, x)["input0"] < 1e-9


def test_interpolation_matrix_rows_sum_to_one():
    for mode in ("nearest", "linear"):
        for corners in (False, True) if mode == "linear" else (False,):
            a = nn.interpolation_matrix(5, 13, mode, corners)
            assert np.allclose(np.asarray(a.sum(axis=1)).ravel(), 1.0)


def test_upsample_bad_arguments():
    with pytest.raises(ValueError, match="exactly one of scale_factor and size"):
        nn.Upsample()
    with pytest.raises(ValueError, match="mode must be"):
        nn.Upsample(2, mode="cubic")
    with pytest.raises(ValueError, match="linear modes only"):
        nn.Upsample(2, align_corners=True)
    with pytest.raises(ValueError, match="needs 2 entries"):
        nn.Upsample((2, 2, 2)).forward(np.zeros((1, 1, 3, 3)))


@pytest.mark.parametrize("r", [1, 2, 3])
def test_pixel_shuffle_matches_torch(r):
    x = rand((2, 2 * r * r, 3, 4), dtype=np.float32)
    layer = nn.PixelShuffle(r)
    y = layer.forward(x)
    dy = rand(y.shape, 1, np.float32)
    ty, gx = torch_grads(lambda t: TF.pixel_shuffle(t, r), x, dy)
    assert np.array_equal(y, ty)
    assert np.array_equal(layer.backward(dy), gx)


@pytest.mark.parametrize("shape,r", [((2, 6, 5), 3), ((1, 16, 2, 3, 2), 2)])
def test_pixel_shuffle_nd(shape, r):
    layer = nn.PixelShuffle(r)
    x = rand(shape)
    y = layer.forward(x)
    d = len(shape) - 2
    assert y.shape == (shape[0], shape[1] // r ** d) + tuple(m * r for m in shape[2:])
    # channel c * r^d + q lands at sub-pixel offset q of output channel c
    q = np.unravel_index(r ** d - 1, (r,) * d)
    picked = y[(slice(None), 0) + tuple(slice(o, None, r) for o in q)]
    assert np.array_equal(picked, x[:, r ** d - 1])
    dottest(layer.forward, layer.backward, shape, y.shape)
    assert max(nn.check_gradients(layer, x).values()) < 1e-9


def test_pixel_shuffle_bad_channels():
    with pytest.raises(ValueError, match="not a multiple of 4"):
        nn.PixelShuffle(2).forward(np.zeros((1, 6, 2, 2)))
    with pytest.raises(ValueError, match="upscale_factor must be an int >= 1"):
        nn.PixelShuffle(0)


@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_resize_conv_finite_differences_and_torch(mode):
    layer = nn.ResizeConv(3, 2, scale_factor=2, kernel_size=3, mode=mode, dtype=np.float64,
                          rng=0)
    x = rand((2, 3, 3, 4))
    errors = nn.check_gradients(layer, x)
    assert set(errors) == {"input0", "conv.weight", "conv.bias"}
    assert max(errors.values()) < 1e-7
    layer.zero_grad()
    y = layer.forward(x)
    dy = rand(y.shape, 1)
    dx = layer.backward(dy)
    tx = torch.tensor(x, requires_grad=True)
    tw = torch.tensor(layer.conv.weight.data, requires_grad=True)
    ty = TF.conv2d(TF.interpolate(tx, scale_factor=2, mode=mode), tw, padding=1)
    ty.backward(torch.tensor(dy))
    assert rel_error(y, ty.detach().numpy()) < 1e-12
    assert rel_error(dx, tx.grad.numpy()) < 1e-12
    assert rel_error(layer.conv.weight.grad, tw.grad.numpy()) < 1e-12


def test_crop_offsets_and_gradient():
    x = rand((2, 3, 7, 6))
    crop = nn.Crop(offset=(2, 1))
    y = crop.forward(x, np.zeros((1, 1, 4, 4)))
    assert np.array_equal(y, x[:, :, 2:6, 1:5])
    assert nn.check_gradients(crop, x, (4, 4))["input0"] < 1e-9
    dx = crop.backward(np.ones_like(y))
    assert dx.sum() == y.size and dx[:, :, :2].sum() == 0
    assert np.array_equal(nn.Crop("center").forward(x, (3, 4)), x[:, :, 2:5, 1:5])
    assert np.array_equal(nn.Crop(1).forward(x, 5), x[:, :, 1:6, 1:6])


def test_crop_bad_arguments():
    with pytest.raises(ValueError, match=r"cannot crop size \(4, 4\) at offset \(4, 4\)"):
        nn.Crop(4).forward(np.zeros((1, 1, 6, 6)), (4, 4))
    with pytest.raises(ValueError, match="differ in spatial axes"):
        nn.Crop().forward(np.zeros((1, 1, 6, 6)), (4,))
    with pytest.raises(ValueError, match="'center'"):
        nn.Crop("middle").forward(np.zeros((1, 1, 6, 6)), (4, 4))


def test_add_and_concat_finite_differences():
    a, b, c = rand((2, 3, 4), 0), rand((2, 3, 4), 1), rand((2, 1, 4), 2)
    errors = nn.check_gradients(nn.Add(), a, b, a)
    assert set(errors) == {"input0", "input1", "input2"} and max(errors.values()) < 1e-9
    errors = nn.check_gradients(nn.Concat(axis=1), a, c, b)
    assert set(errors) == {"input0", "input1", "input2"} and max(errors.values()) < 1e-9
    assert nn.check_gradients(nn.Concat(axis=-1), a, b)["input1"] < 1e-9


def test_add_does_not_modify_its_inputs_and_checks_shapes():
    a, b = rand((2, 3)), rand((2, 3), 1)
    a0 = a.copy()
    y = nn.Add().forward(a, b, b)
    assert np.array_equal(a, a0) and np.allclose(y, a + 2 * b)
    with pytest.raises(ValueError, match="align branches with Crop"):
        nn.Add().forward(a, rand((2, 4)))
    with pytest.raises(ValueError, match="at least two inputs"):
        nn.Add().forward(a)
