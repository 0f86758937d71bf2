"""Initializers: the FCN bilinear filter, bilinear deconvolution as interpolation, ICNR,
He and Glorot."""

import functools

import numpy as np
import pytest

from deconvkit import nn
from deconvkit.nn import init
from deconvkit.testing import rel_error

torch = pytest.importorskip("torch")


def upsample_filt(size):
    """FCN's surgery.upsample_filt, verbatim."""
    factor = (size + 1) // 2
    if size % 2 == 1:
        center = factor - 1
    else:
        center = factor - 0.5
    og = np.ogrid[:size, :size]
    return (1 - abs(og[0] - center) / factor) * (1 - abs(og[1] - center) / factor)


@pytest.mark.parametrize("k", range(1, 11))
def test_bilinear_kernel_is_fcn_upsample_filt(k):
    assert np.allclose(init.bilinear_kernel(k), upsample_filt(k), atol=0, rtol=1e-15)


def test_bilinear_kernel_nd_and_explicit_factor():
    k3 = init.bilinear_kernel((4, 3, 2))
    assert k3.shape == (4, 3, 2)
    assert np.allclose(k3, np.einsum("i,j,k->ijk", init.bilinear_kernel((4,)),
                                     init.bilinear_kernel((3,)), init.bilinear_kernel((2,))))
    wide = init.bilinear_kernel((7,), factor=2)      # kernel wider than 2f: zeros at the ends
    assert np.allclose(wide, [0, 0, 0.5, 1, 0.5, 0, 0])
    with pytest.raises(ValueError, match="one positive int per axis"):
        init.bilinear_kernel(4, factor=(2, 2, 2))


def test_bilinear_weight_layouts():
    w = init.bilinear((3, 3, 4, 4))
    filt = init.bilinear_kernel(4, dtype=np.float32)
    for i in range(3):
        for j in range(3):
            assert np.array_equal(w[i, j], filt if i == j else np.zeros_like(filt))
    d = init.bilinear((3, 1, 4, 4), groups=3)
    assert all(np.array_equal(d[i, 0], filt) for i in range(3))
    with pytest.raises(ValueError, match="square weight"):
        init.bilinear((3, 2, 4, 4))
    with pytest.raises(ValueError, match=r"groups == C and a weight \(C, 1, \*k\)"):
        init.bilinear((3, 3, 4, 4), groups=3)


def _interior(a, margin):
    return a[..., margin:-margin, margin:-margin]


@pytest.mark.parametrize("factor", [2, 3, 4, 8])
@pytest.mark.parametrize("groups", [1, 3])
def test_bilinear_deconvolution_is_bilinear_interpolation(factor, groups):
    """k = 2f, stride f, padding f/2 (f even; k = 2f - 1, padding (f-1)/2 for odd f),
    initialized bilinear, equals F.interpolate(bilinear, align_corners=False) inside."""
    up = nn.ConvTranspose.bilinear(3, factor, groups=groups, dtype=np.float64)
    k = 2 * factor if factor % 2 == 0 else 2 * factor - 1
    assert up.kernel_size == (k, k) and up.stride == factor
    x = np.random.default_rng(0).standard_normal((2, 3, 5, 6))
    y = up.forward(x)
    ref = torch.nn.functional.interpolate(torch.tensor(x), scale_factor=factor,
                                          mode="bilinear", align_corners=False).numpy()
    assert y.shape == ref.shape == (2, 3, 5 * factor, 6 * factor)
    assert rel_error(_interior(y, factor), _interior(ref, factor)) < 1e-12
    assert rel_error(y, ref) > 1e-3                 # the border differs: zeros vs clamping
    layer_up = nn.Upsample(factor, mode="bilinear")
    assert rel_error(_interior(layer_up.forward(x), factor), _interior(y, factor)) < 1e-12


def test_bilinear_even_kernel_for_odd_factor_is_off_by_half_a_pixel():
    """Why odd factors use k = 2f - 1: with k = 2f the filter's centre is not an output pixel."""
    up = nn.ConvTranspose(1, 1, 6, stride=3, padding=((2, 1), (2, 1)), init="bilinear", bias=False,
                          dtype=np.float64)
    x = np.random.default_rng(0).standard_normal((1, 1, 5, 5))
    ref = torch.nn.functional.interpolate(torch.tensor(x), scale_factor=3, mode="bilinear")
    assert rel_error(_interior(up.forward(x), 3), _interior(ref.numpy(), 3)) > 1e-2


def test_fixed_bilinear_is_frozen_and_skipped_by_the_optimizer():
    up = nn.ConvTranspose.bilinear(2, 2, trainable=False)
    w0 = up.weight.data.copy()
    y = up.forward(np.ones((1, 2, 3, 3), np.float32))
    up.backward(np.ones_like(y))
    assert not up.weight.requires_grad and not up.weight.grad.any()
    up.weight.grad[:] = 1.0
    nn.SGD(up, lr=1.0).step()
    assert np.array_equal(up.weight.data, w0)
    assert nn.ConvTranspose.bilinear(2, 2).weight.requires_grad


@pytest.mark.parametrize("scale,ndim", [(2, 2), (3, 2), (2, 1)])
def test_icnr_pixel_shuffle_starts_as_nearest_upsampling(scale, ndim):
    c_in, c, k = 3, 2, 3
    conv = nn.Conv(c_in, c * scale ** ndim, k, padding=1, ndim=ndim, bias=False,
                   init=functools.partial(init.icnr, scale=scale), dtype=np.float64, rng=0)
    sub = nn.Conv(c_in, c, k, padding=1, ndim=ndim, bias=False, dtype=np.float64)
    sub.weight.data[...] = conv.weight.data[::scale ** ndim]
    x = np.random.default_rng(1).standard_normal((2, c_in) + (4,) * ndim)
    shuffled = nn.PixelShuffle(scale).forward(conv.forward(x))
    nearest = nn.Upsample(scale).forward(sub.forward(x))
    assert np.allclose(shuffled, nearest, rtol=1e-14, atol=0)


def test_icnr_sub_kernel_is_he_initialized():
    w = init.icnr((16 * 4, 64, 3, 3), scale=2, rng=0)
    std = np.sqrt(2 / (64 * 9))                       # He on the sub-kernel's fan-in
    assert abs(w.std() - std) < 0.03 * std
    assert np.array_equal(w[0::4], w[3::4])


def test_icnr_bad_channels():
    with pytest.raises(ValueError, match="multiple of scale\\*\\*ndim = 4"):
        init.icnr((6, 2, 3, 3), scale=2)


@pytest.mark.parametrize("name,fn,std", [
    ("he", init.he_normal, np.sqrt(2 / 288)),
    ("he_uniform", init.he_uniform, np.sqrt(2 / 288)),
    ("glorot", init.glorot_uniform, np.sqrt(2 / (288 + 576))),
    ("glorot_normal", init.glorot_normal, np.sqrt(2 / (288 + 576))),
])
def test_random_initializers_have_their_variance(name, fn, std):
    shape = (64, 32, 3, 3)
    w = fn(shape, rng=0)
    assert w.shape == shape and w.dtype == np.float32
    assert abs(w.std() - std) < 0.02 * std and abs(w.mean()) < 0.02 * std
    assert np.array_equal(init.initialize(name, shape, fan_in=288, fan_out=576, rng=0), w)
    assert np.array_equal(fn(shape, rng=0), fn(shape, rng=np.random.default_rng(0)))
    if "uniform" in fn.__name__:
        assert np.abs(w).max() <= np.sqrt(3) * std * (1 + 1e-6)


def test_initialize_callable_and_errors():
    w = init.initialize(lambda shape, rng, dtype: np.full(shape, 0.5, dtype), (2, 3),
                        fan_in=3, fan_out=2, dtype=np.float64)
    assert w.dtype == np.float64 and (w == 0.5).all()
    with pytest.raises(ValueError, match=r"init returned shape \(1,\), expected \(2, 3\)"):
        init.initialize(lambda shape, rng, dtype: np.zeros(1), (2, 3), fan_in=3, fan_out=2)
    with pytest.raises(TypeError, match="float32 or float64"):
        init.he_normal((2, 2), dtype=np.int32)
    assert not init.zeros((2, 2)).any()
