"""The FCN family of :mod:`deconvkit.nn.models`: shapes, gradients, frozen upsampling, training."""

import itertools

import numpy as np
import pytest

from deconvkit import nn
from deconvkit.datasets import shapes
from deconvkit.nn.models import upsampler

COMBOS = list(itertools.product(nn.HEADS, nn.UPSAMPLINGS))


def test_names_are_exported():
    assert nn.HEADS == ("fcn32s", "fcn16s", "fcn8s")
    assert nn.UPSAMPLINGS == ("bilinear", "learned_bilinear", "learned_random",
                              "deconv_stack", "resize_conv", "pixel_shuffle")
    assert {"fcn", "HEADS", "UPSAMPLINGS"} <= set(nn.__all__)


@pytest.mark.parametrize("head, upsampling", COMBOS)
@pytest.mark.parametrize("batch", [1, 2])
def test_output_has_the_input_size_and_num_classes(head, upsampling, batch):
    net = nn.fcn(head, upsampling, num_classes=5, width=4, seed=1)
    x = np.random.default_rng(0).standard_normal((batch, 3, 16, 24)).astype(np.float32)
    y = net.forward(x)
    assert y.shape == (batch, 5, 16, 24) and y.dtype == np.float32
    assert np.all(np.isfinite(y))
    dx = net.backward(np.ones_like(y))
    assert dx.shape == x.shape and dx.dtype == np.float32


@pytest.mark.parametrize("kind", nn.UPSAMPLINGS)
@pytest.mark.parametrize("factor", [2, 4, 8])
def test_every_upsampling_step_multiplies_the_size(kind, factor):
    up = upsampler(kind, 3, factor, rng=0, dtype=np.float64)
    y = up.forward(np.ones((1, 3, 2, 3)))
    assert y.shape == (1, 3, 2 * factor, 3 * factor)


def test_bilinear_steps_interpolate_a_constant_exactly_inside():
    up = upsampler("bilinear", 2, 4, dtype=np.float64)
    y = up.forward(np.full((1, 2, 4, 4), 3.0))
    assert np.allclose(y[:, :, 2:-2, 2:-2], 3.0)


def _randomize_zero_parameters(net, rng):
    """Give the zero-initialized skip scores values, so every path carries gradient."""
    for p in net.parameters():
        if p.requires_grad and not p.data.any():
            p.data = rng.standard_normal(p.shape) * 0.3


def _directional_errors(net, x, rng, per_tensor=3, eps=1e-6):
    """Finite-difference errors at a few random entries of the input and each parameter."""
    y = net.forward(x)
    dy = rng.standard_normal(y.shape)
    net.zero_grad()
    dx = net.backward(dy)
    arrays = [("input", x, dx)] + [(n, p.data, p.grad.copy()) for n, p in
                                   net.named_parameters() if p.requires_grad]
    errors = {}
    for name, array, grad in arrays:
        scale = max(np.abs(grad).max(), 1e-8)
        for i in rng.choice(array.size, size=min(per_tensor, array.size), replace=False):
            old = array.flat[i]
            array.flat[i] = old + eps
            up = np.vdot(net.forward(x), dy)
            array.flat[i] = old - eps
            down = np.vdot(net.forward(x), dy)
            array.flat[i] = old
            numeric = (up - down) / (2 * eps)
            errors[f"{name}[{i}]"] = abs(numeric - grad.flat[i]) / scale
    return errors


@pytest.mark.parametrize("head, upsampling", COMBOS)
def test_gradients_match_finite_differences(head, upsampling):
    rng = np.random.default_rng(7)
    net = nn.fcn(head, upsampling, num_classes=3, width=2, seed=3, dtype=np.float64)
    _randomize_zero_parameters(net, rng)
    x = rng.standard_normal((2, 3, 16, 16))
    errors = _directional_errors(net, x, rng)
    trainable = sum(p.requires_grad for p in net.parameters())
    assert len(errors) >= 1 + 2 * trainable
    worst = max(errors, key=errors.get)
    assert errors[worst] < 1e-5, (worst, errors[worst])


def _upsampling_parameters(net):
    return [p for name, p in net.named_parameters() if name.startswith("up")]


@pytest.mark.parametrize("head", nn.HEADS)
def test_fixed_bilinear_has_no_trainable_upsampling_parameters(head):
    params = _upsampling_parameters(nn.fcn(head, "bilinear", width=2))
    assert all(not p.requires_grad for p in params)
    assert len(params) == {"fcn32s": 1, "fcn16s": 2, "fcn8s": 3}[head]


@pytest.mark.parametrize("head, upsampling",
                         [c for c in COMBOS if c[1] != "bilinear"])
def test_learned_upsampling_has_trainable_parameters(head, upsampling):
    params = _upsampling_parameters(nn.fcn(head, upsampling, width=2))
    assert params and all(p.requires_grad for p in params)


def test_frozen_upsampling_keeps_its_weights_through_training():
    net = nn.fcn("fcn16s", "bilinear", width=2)
    before = [p.data.copy() for p in _upsampling_parameters(net)]
    x, y = shapes(2, size=16, seed=0)
    loss = nn.SoftmaxCrossEntropy()
    opt = nn.SGD(net, lr=0.1)
    loss.forward(net.forward(x), y)
    net.backward(loss.backward())
    opt.step()
    after = [p.data for p in _upsampling_parameters(net)]
    assert all(np.array_equal(a, b) for a, b in zip(before, after))


def test_learned_bilinear_starts_as_the_fixed_one():
    x = np.random.default_rng(0).standard_normal((1, 3, 32, 32)).astype(np.float32)
    fixed, learned = nn.fcn("fcn8s", "bilinear"), nn.fcn("fcn8s", "learned_bilinear")
    np.testing.assert_array_equal(fixed.forward(x), learned.forward(x))


def test_seed_and_dtype():
    a, b = nn.fcn(seed=4), nn.fcn(seed=4)
    assert all(np.array_equal(p.data, q.data) for p, q in zip(a.parameters(), b.parameters()))
    c = nn.fcn(seed=5)
    assert not np.array_equal(a.parameter("score8.weight").data,
                              c.parameter("score8.weight").data)
    assert all(p.dtype == np.float64 for p in nn.fcn(dtype=np.float64).parameters())


@pytest.mark.parametrize("kwargs, match", [
    (dict(head="fcn4s"), "unknown head 'fcn4s'"),
    (dict(upsampling="cubic"), "unknown upsampling 'cubic'"),
    (dict(num_classes=0), "num_classes must be an int >= 1"),
    (dict(width=1.5), "width must be an int >= 1"),
])
def test_bad_arguments_raise_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        nn.fcn(**kwargs)


@pytest.mark.parametrize("shape", [(1, 3, 20, 16), (1, 3, 16, 12), (1, 4, 16, 16),
                                   (3, 16, 16)])
def test_bad_input_shapes_raise_clear_errors(shape):
    net = nn.fcn(width=2)
    with pytest.raises(ValueError, match="multiples of 8|must be \\(N, 3, H, W\\)"):
        net.forward(np.zeros(shape, np.float32))


def train_losses(seed=0, steps=30, lr=0.05):
    """Losses of fcn8s / learned_bilinear over ``steps`` full-batch SGD steps on 16 images."""
    x, y = shapes(16, size=32, seed=seed)
    net = nn.fcn("fcn8s", "learned_bilinear", seed=seed)
    loss_fn = nn.SoftmaxCrossEntropy()
    opt = nn.SGD(net, lr=lr, momentum=0.9)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        losses.append(float(loss_fn.forward(net.forward(x), y)))
        net.backward(loss_fn.backward())
        opt.step()
    return np.array(losses)


def test_thirty_sgd_steps_reduce_the_loss():
    losses = train_losses()
    assert np.all(np.isfinite(losses))
    assert losses[-1] < 0.8 * losses[0], losses


if __name__ == "__main__":
    for s in range(3):
        losses = train_losses(seed=s)
        print(f"seed {s}: initial {losses[0]:.4f}, final {losses[-1]:.4f}, "
              f"ratio {losses[-1] / losses[0]:.3f}")


def test_fcn_without_input_grad_returns_none_and_the_same_parameter_gradients():
    x = np.random.default_rng(0).standard_normal((2, 3, 16, 16)).astype(np.float32)
    dy = np.random.default_rng(1).standard_normal((2, 6, 16, 16)).astype(np.float32)
    grads = []
    for input_grad in (True, False):
        net = nn.fcn("fcn16s", "learned_bilinear", width=4, input_grad=input_grad)
        net.forward(x)
        dx = net.backward(dy)
        assert (dx is None) == (not input_grad)
        grads.append({k: p.grad.copy() for k, p in net.named_parameters()})
    for name in grads[0]:
        np.testing.assert_array_equal(grads[0][name], grads[1][name])


def _assert_fcn8s_gradients_right(rng_seed, **kwargs):
    """A float64 FCN-8s built with ``kwargs``: every parameter's gradient against finite
    differences (zero-initialized parameters randomized first)."""
    rng = np.random.default_rng(rng_seed)
    net = nn.fcn("fcn8s", "learned_bilinear", num_classes=3, width=2, dtype=np.float64,
                 **kwargs)
    _randomize_zero_parameters(net, rng)
    errors = _directional_errors(net, rng.standard_normal((2, 3, 16, 16)), rng)
    assert max(errors.values()) < 1e-5


def test_depth_adds_blocks_at_stride_8_only_and_keeps_gradients_right():
    shallow, deep = nn.fcn(width=2, seed=0), nn.fcn(width=2, seed=0, depth=3)
    names = {n for n, _ in shallow.named_parameters()}
    deep_names = {n for n, _ in deep.named_parameters()}
    assert names - deep_names == {n for n in names if n.startswith("encoder.stage4")}
    added = {n.split(".")[2] for n in deep_names - names}
    assert added == {"0", "1", "2"}             # encoder.stage4.{0,1,2}.*
    x = np.random.default_rng(0).standard_normal((2, 3, 16, 16)).astype(np.float32)
    assert deep.forward(x).shape == (2, 6, 16, 16)
    _assert_fcn8s_gradients_right(5, seed=3, depth=2)
    with pytest.raises(ValueError, match="depth must be an int >= 1"):
        nn.fcn(depth=0)


def test_blocks_add_a_block_before_every_pool_and_keep_gradients_right():
    one, two = nn.fcn(width=2, seed=0), nn.fcn(width=2, seed=0, blocks=2)
    for stage in ("stage1", "stage2", "stage3"):
        convs = [m for m in getattr(two.encoder, stage) if not isinstance(m, nn.MaxPool)]
        assert len(convs) == 2
        assert len(getattr(one.encoder, stage)) == 2          # one block + the pool
    assert two.encoder.stage3[1][0].weight.data.shape == (8, 8, 3, 3)
    x = np.random.default_rng(0).standard_normal((2, 3, 16, 16)).astype(np.float32)
    assert two.forward(x).shape == (2, 6, 16, 16)
    _assert_fcn8s_gradients_right(6, seed=4, blocks=2)
    with pytest.raises(ValueError, match="blocks must be an int >= 1"):
        nn.fcn(blocks=0)
