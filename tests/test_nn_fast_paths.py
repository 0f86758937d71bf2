"""Fast paths of the nn layers against their general N-d paths, and float32 kept throughout."""

import numpy as np
import pytest

from deconvkit import nn
from deconvkit.nn import pooling

BLOCK_CASES = [  # (kernel, size): windows that tile the input, some with a leftover border
    ((2,), (9,)),
    ((2, 2), (6, 8)),
    ((3, 2), (7, 5)),
    ((2, 3, 2), (4, 7, 5)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kernel, size", BLOCK_CASES)
def test_block_max_pool_matches_the_tap_loop(kernel, size, dtype):
    rng = np.random.default_rng(len(size))
    x = rng.integers(-2, 3, (2, 3) + size).astype(dtype)     # many ties
    pool = nn.MaxPool(kernel)
    assert pool.tiles_input()
    y = pool.forward(x)
    out, _ = pool.output_geometry(size)
    y_loop, arg_loop = pool._running_max(x, out, has_nan=False)
    assert np.array_equal(y, y_loop) and y.dtype == dtype
    assert np.array_equal(pool._arg, arg_loop)
    dy = rng.standard_normal(y.shape).astype(dtype)
    dx = pool.backward(dy)
    expected = np.zeros(x.size, dtype)
    planes = x.shape[0] * x.shape[1]
    flat = pool.indices.reshape(planes, -1) + np.arange(planes)[:, None] * np.prod(size)
    np.add.at(expected, flat.ravel(), dy.ravel())
    assert np.array_equal(dx, expected.reshape(x.shape))


def test_max_pool_leaves_its_input_alone_and_checks_dy():
    x = np.random.default_rng(0).standard_normal((1, 2, 4, 4)).astype(np.float32)
    before = x.copy()
    pool = nn.MaxPool(2)
    pool.forward(x)
    assert np.array_equal(x, before)
    with pytest.raises(ValueError, match="output shape"):
        pool.backward(np.zeros((1, 2, 3, 3), np.float32))


def test_tap_dtype_grows_with_the_window():
    assert nn.MaxPool(2)._tap_dtype() == np.uint8
    assert nn.MaxPool(17)._tap_dtype() == np.uint16


@pytest.mark.parametrize("layer", [nn.BatchNorm(3), nn.ReLU(), nn.MaxPool(2)])
def test_layers_keep_float32_and_do_not_modify_arrays(layer):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 3, 6, 6)).astype(np.float32)
    x_before = x.copy()
    y = layer.forward(x)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    dy_before = dy.copy()
    dx = layer.backward(dy)
    assert y.dtype == dx.dtype == np.float32
    assert np.array_equal(x, x_before) and np.array_equal(dy, dy_before)


def test_fcn_training_step_stays_float32():
    net = nn.fcn("fcn8s", "learned_bilinear", width=4)
    seen = []

    def recording(method):
        def call(*args, **kwargs):
            result = method(*args, **kwargs)
            for r in result if isinstance(result, tuple) else (result,):
                seen.append((type(method.__self__).__name__, r.dtype))
            return result
        return call

    leaves = [m for _, m in net.named_modules() if not list(m.named_children())]
    for m in leaves:
        m.forward, m.backward = recording(m.forward), recording(m.backward)
    x = np.random.default_rng(2).random((2, 3, 16, 16), dtype=np.float32)
    y = net.forward(x)
    dx = net.backward(np.ones_like(y))
    assert y.dtype == dx.dtype == np.float32
    assert len(seen) == 2 * len(leaves) + 2                   # Add returns two gradients
    assert all(dtype == np.float32 for _, dtype in seen), seen
    assert all(p.grad.dtype == np.float32 for p in net.parameters())
    assert all(b.dtype == np.float32 for _, b in net.named_buffers())


def test_scatter_to_planes_puts_values():
    out = pooling.scatter_to_planes(np.array([[[5.0]]]), np.array([[[2]]]), (1, 1, 4))
    assert out.tolist() == [[[0.0, 0.0, 5.0, 0.0]]]


def test_upsample_builds_each_interpolation_matrix_once():
    from deconvkit.nn import resample
    resample._matrix_pair.cache_clear()
    up = nn.Upsample(2, mode="bilinear")
    x = np.random.default_rng(4).standard_normal((2, 3, 5, 5)).astype(np.float32)
    y = up.forward(x)
    dx = up.backward(np.ones_like(y))
    up.forward(x)
    info = resample._matrix_pair.cache_info()
    assert info.misses == 1 and info.hits == 5      # both axes share one 5 -> 10 geometry
    assert y.dtype == dx.dtype == np.float32
