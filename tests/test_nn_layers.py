"""Activations, pooling and unpooling, BatchNorm, Dropout: finite differences and PyTorch."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from deconvkit import nn
from deconvkit.testing import numerical_grad, rel_error

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def rand(shape, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def torch_grads(fn, *arrays, dy):
    """Output of ``fn`` on leaf tensors and the leaves' gradients for upstream ``dy``."""
    leaves = [torch.tensor(a, requires_grad=True) for a in arrays]
    y = fn(*leaves)
    y.backward(torch.tensor(dy))
    return y.detach().numpy(), [leaf.grad.numpy() for leaf in leaves]


# ---------------------------------------------------------------- activations
@pytest.mark.parametrize("layer", [nn.ReLU(), nn.LeakyReLU(0.2), nn.Identity()])
def test_activation_finite_differences(layer):
    x = rand((2, 3, 4, 5)) + 0.05          # keep away from the kink at 0
    x[np.abs(x) < 1e-3] = 0.5
    assert max(nn.check_gradients(layer, x).values()) < 1e-8


@pytest.mark.parametrize("layer,fn", [(nn.ReLU(), TF.relu),
                                      (nn.LeakyReLU(0.1), lambda t: TF.leaky_relu(t, 0.1)),
                                      (nn.LeakyReLU(), TF.leaky_relu)])
def test_activation_matches_torch(layer, fn):
    x = rand((2, 3, 4, 4), dtype=np.float32)
    x[0, 0, 0, :2] = 0.0                    # the gradient at 0 is 0 for ReLU, slope for leaky
    dy = rand(x.shape, 1, np.float32)
    ty, (gx,) = torch_grads(fn, x, dy=dy)
    assert np.array_equal(layer.forward(x), ty)
    assert np.array_equal(layer.backward(dy), gx)


# ---------------------------------------------------------------- pooling
POOL_CASES = [  # (ndim, kernel, stride, padding, dilation, ceil_mode, size)
    (2, 2, None, 0, 1, False, (6, 8)),
    (2, 3, 2, 1, 1, False, (7, 6)),
    (2, 3, 2, 1, 1, True, (6, 7)),
    (2, (3, 2), (1, 2), (1, 0), (2, 1), False, (7, 5)),
    (1, 3, 2, 1, 1, True, (8,)),
    (3, 2, 2, 0, 1, True, (3, 4, 5)),
]
POOL_FN = {1: TF.max_pool1d, 2: TF.max_pool2d, 3: TF.max_pool3d}
UNPOOL_FN = {1: TF.max_unpool1d, 2: TF.max_unpool2d, 3: TF.max_unpool3d}


@pytest.mark.parametrize("case", POOL_CASES)
def test_max_pool_finite_differences(case):
    ndim, k, s, p, d, ceil, size = case
    layer = nn.MaxPool(k, s, p, d, ceil, ndim=ndim)
    assert max(nn.check_gradients(layer, rand((2, 3) + size)).values()) < 1e-8


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", POOL_CASES)
def test_max_pool_and_unpool_match_torch(case, dtype):
    ndim, k, s, p, d, ceil, size = case
    pool = nn.MaxPool(k, s, p, d, ceil, ndim=ndim)
    x = rand((2, 3) + size, dtype=dtype)
    y = pool.forward(x)
    dy = rand(y.shape, 1, dtype)
    kw = dict(kernel_size=k, stride=s, padding=p, dilation=d, ceil_mode=ceil)
    tx = torch.tensor(x, requires_grad=True)
    ty, ti = POOL_FN[ndim](tx, return_indices=True, **kw)
    ty.backward(torch.tensor(dy))
    assert np.array_equal(y, ty.detach().numpy())
    assert np.array_equal(pool.indices, ti.numpy())
    # overlapping windows add gradients: float32 sums may round differently
    assert rel_error(pool.backward(dy), tx.grad.numpy()) < 1e-6
    if d == 1:  # torch's max_unpool has no dilation
        unpool = nn.MaxUnpool(pool)
        z = unpool.forward(y)
        tz = UNPOOL_FN[ndim](ty.detach(), ti, k, s, p, output_size=size)
        assert np.array_equal(z, tz.numpy())
        dz = rand(z.shape, 2, dtype)
        tyl = ty.detach().requires_grad_(True)
        UNPOOL_FN[ndim](tyl, ti, k, s, p, output_size=size).backward(torch.tensor(dz))
        assert np.array_equal(unpool.backward(dz), tyl.grad.numpy())


@given(n=st.integers(2, 9), m=st.integers(2, 9), k=st.integers(1, 3), s=st.integers(1, 3),
       ceil=st.booleans(), seed=st.integers(0, 3))
def test_max_pool_matches_torch_on_a_grid(n, m, k, s, ceil, seed):
    p = k // 2
    x = np.random.default_rng(seed).integers(-3, 4, (1, 2, n, m)).astype(np.float32)  # ties
    if n + 2 * p < k or m + 2 * p < k:
        return
    pool = nn.MaxPool(k, s, p, ceil_mode=ceil)
    ty, ti = TF.max_pool2d(torch.tensor(x), k, s, p, ceil_mode=ceil, return_indices=True)
    assert np.array_equal(pool.forward(x), ty.numpy())
    assert np.array_equal(pool.indices, ti.numpy())


def test_max_unpool_finite_differences_and_default_size():
    pool = nn.MaxPool(2)
    x = rand((1, 2, 4, 6))
    y = pool.forward(x)
    unpool = nn.MaxUnpool(kernel_size=2)
    errors = nn.check_gradients(unpool, y, pool.indices)
    assert errors["input0"] < 1e-8
    z = unpool.forward(y, pool.indices)
    tz = TF.max_unpool2d(torch.tensor(y), torch.tensor(pool.indices), 2)
    assert np.array_equal(z, tz.numpy())


def test_max_pool_bad_arguments():
    with pytest.raises(ValueError, match="at most half"):
        nn.MaxPool(2, padding=2)
    with pytest.raises(ValueError, match="2 spatial axes"):
        nn.MaxPool(2).forward(np.zeros((1, 1, 4)))
    with pytest.raises(TypeError, match="float32 or float64"):
        nn.MaxPool(2).forward(np.zeros((1, 1, 4, 4), np.int32))
    with pytest.raises(ValueError, match="run the paired MaxPool first"):
        nn.MaxUnpool(nn.MaxPool(2)).forward(np.zeros((1, 1, 2, 2)))
    with pytest.raises(ValueError, match=r"indices must lie in \[0, 16\)"):
        nn.MaxUnpool(kernel_size=2).forward(np.zeros((1, 1, 2, 2)), np.full((1, 1, 2, 2), 99))


# ---------------------------------------------------------------- BatchNorm
@pytest.mark.parametrize("shape", [(4, 3, 5, 4), (3, 2, 6), (2, 2, 3, 2, 3)])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_finite_differences(shape, training):
    layer = nn.BatchNorm(shape[1], dtype=np.float64)
    layer.weight.data[:] = rand(shape[1], 5) + 1
    layer.bias.data[:] = rand(shape[1], 6)
    layer.running_mean[:], layer.running_var[:] = rand(shape[1], 7), np.exp(rand(shape[1], 8))
    layer.train(training)
    assert max(nn.check_gradients(layer, rand(shape) * 3 + 1).values()) < 1e-7


@pytest.mark.parametrize("dtype,tol", [(np.float32, 1e-5), (np.float64, 1e-10)])
def test_batch_norm_matches_torch_train_then_eval(dtype, tol):
    c = 3
    ours = nn.BatchNorm(c, momentum=0.2, dtype=dtype)
    ref = torch.nn.BatchNorm2d(c, momentum=0.2).to(torch.float64 if dtype == np.float64
                                                     else torch.float32)
    gamma, beta = rand(c, 1, dtype) + 1, rand(c, 2, dtype)
    ours.weight.data[:], ours.bias.data[:] = gamma, beta
    with torch.no_grad():
        ref.weight.copy_(torch.tensor(gamma))
        ref.bias.copy_(torch.tensor(beta))
    for step in range(3):
        x = rand((4, c, 5, 6), 10 + step, dtype) * 2 + 0.5
        dy = rand(x.shape, 20 + step, dtype)
        tx = torch.tensor(x, requires_grad=True)
        ty = ref(tx)
        ty.backward(torch.tensor(dy))
        y = ours.forward(x)
        assert rel_error(y, ty.detach().numpy()) < tol
        assert rel_error(ours.backward(dy), tx.grad.numpy()) < tol
        assert rel_error(ours.weight.grad, ref.weight.grad.numpy()) < tol
        assert rel_error(ours.bias.grad, ref.bias.grad.numpy()) < tol
        ours.zero_grad()
        ref.zero_grad()
    assert rel_error(ours.running_mean, ref.running_mean.numpy()) < tol
    assert rel_error(ours.running_var, ref.running_var.numpy()) < tol
    ours.eval()
    ref.eval()
    x = rand((2, c, 3, 3), 99, dtype)
    dy = rand(x.shape, 98, dtype)
    tx = torch.tensor(x, requires_grad=True)
    ty = ref(tx)
    ty.backward(torch.tensor(dy))
    assert rel_error(ours.forward(x), ty.detach().numpy()) < tol
    assert rel_error(ours.backward(dy), tx.grad.numpy()) < tol
    assert rel_error(ours.weight.grad, ref.weight.grad.numpy()) < tol


def test_batch_norm_state_and_errors():
    bn = nn.BatchNorm(2)
    assert sorted(bn.state_dict()) == ["bias", "running_mean", "running_var", "weight"]
    with pytest.raises(ValueError, match=r"x must be \(N, 2, \*spatial\)"):
        bn.forward(np.zeros((2, 3, 4, 4), np.float32))
    with pytest.raises(ValueError, match="more than one value per channel"):
        bn.forward(np.zeros((1, 2, 1, 1), np.float32))
    plain = nn.BatchNorm(2, affine=False, dtype=np.float64)
    assert plain.parameters() == []
    assert nn.check_gradients(plain, rand((3, 2, 2, 2)))["input0"] < 1e-7


# ---------------------------------------------------------------- Dropout
def test_dropout_train_statistics_and_eval_identity():
    drop = nn.Dropout(0.3, rng=0)
    x = np.ones((200, 500), np.float32)
    y = drop.forward(x)
    assert y.dtype == np.float32
    assert abs((y == 0).mean() - 0.3) < 0.01
    assert np.allclose(y[y != 0], 1 / 0.7)
    dy = rand(x.shape, 1, np.float32)
    assert np.allclose(drop.backward(dy), dy * (y != 0) / np.float32(0.7), rtol=1e-6, atol=0)
    drop.eval()
    assert drop.forward(x) is x and drop.backward(dy) is dy


def test_dropout_finite_differences_with_a_fixed_mask():
    drop = nn.Dropout(0.5)
    x, dy = rand((2, 3, 4)), rand((2, 3, 4), 1)

    def forward(v):
        drop.rng = np.random.default_rng(7)
        return drop.forward(v)

    forward(x)
    assert rel_error(drop.backward(dy), numerical_grad(forward, x, dy)) < 1e-8


def test_dropout_bad_probability():
    with pytest.raises(ValueError, match="0 <= p < 1"):
        nn.Dropout(1.0)


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1)])
def test_max_pool_propagates_nan_as_torch(kw):
    x = rand((1, 2, 6, 6), 3, np.float32)
    x[0, 0, 0, 1] = x[0, 0, 1, 0] = x[0, 1, 4, 4] = np.nan
    pool = nn.MaxPool(**kw)
    ty, ti = TF.max_pool2d(torch.tensor(x), return_indices=True, **kw)
    assert np.array_equal(pool.forward(x), ty.numpy(), equal_nan=True)
    assert np.array_equal(pool.indices, ti.numpy())
