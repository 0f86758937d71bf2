"""The deconvnet (nn.deconvnet): projections against PyTorch autograd, adjointness,
switches, top activations against brute force, receptive fields against perturbation."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from deconvkit import nn
from deconvkit.nn import deconvnet as dn
from deconvkit.nn.backproject import Trace, unpool
from deconvkit.nn.layerpath import chain

torch = pytest.importorskip("torch")
TF = torch.nn.functional


# ---------------------------------------------------------------------- models
def _randomize_bn(model, rng):
    """Batch norms with non-trivial running statistics and affine parameters."""
    for _, m in model.named_modules():
        if isinstance(m, nn.BatchNorm):
            c = m.num_features
            m.running_mean[...] = rng.normal(0, 0.3, c)
            m.running_var[...] = rng.uniform(0.5, 2.0, c)
            m.weight.data[...] = rng.uniform(0.5, 1.5, c) * rng.choice([-1, 1], c)
            m.bias.data[...] = rng.normal(0, 0.2, c)
    return model


def small_fcn(seed=0):
    """An FCN-8s with two blocks per stage and two at stride 8, float64, random BN."""
    model = nn.fcn("fcn8s", "bilinear", width=2, depth=2, blocks=2, seed=seed,
                   dtype=np.float64)
    return _randomize_bn(model, np.random.default_rng(seed)).eval()


def overlapping_net(seed=0, dtype=np.float64):
    """Strided and asymmetric-padding convs, an overlapping pool, batch norm."""
    rng = np.random.default_rng(seed)
    model = nn.Sequential(
        nn.Conv(3, 4, 3, padding=1, rng=rng, dtype=dtype), nn.ReLU(),
        nn.MaxPool(3, stride=2, padding=1),
        nn.Conv(4, 5, (3, 2), stride=(2, 1), padding=((1, 0), (0, 1)), rng=rng, dtype=dtype),
        nn.BatchNorm(5, dtype=dtype), nn.ReLU(), nn.MaxPool(2),
        nn.Conv(5, 3, 1, rng=rng, dtype=dtype))
    for p in model.parameters():
        if p.data.ndim == 1:
            p.data[...] = rng.normal(0, 0.1, p.shape)
    return _randomize_bn(model, rng).eval()


# ---------------------------------------------------------------------- torch peer
class _Rectified(torch.autograd.Function):
    """ReLU whose backward pass is the deconvnet's or guided backprop's."""

    @staticmethod
    def forward(ctx, x, mode):
        ctx.save_for_backward(x)
        ctx.mode = mode
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, d):
        (x,) = ctx.saved_tensors
        if ctx.mode == "gradient":
            return d * (x > 0), None
        d = d.clamp(min=0)
        return (d * (x > 0) if ctx.mode == "guided" else d), None


def torch_forward(links, x, mode):
    """The chain, rebuilt in PyTorch from the same weights."""
    t = lambda a: torch.from_numpy(np.asarray(a, np.float64))  # noqa: E731
    for link in links:
        m = link.module
        if link.kind == "conv":
            spec = m.spec
            pads = [v for lo_hi in reversed(spec.padding) for v in lo_hi]
            conv = getattr(TF, f"conv{x.dim() - 2}d")
            x = conv(TF.pad(x, pads), t(m.weight.data),
                          None if m.bias is None else t(m.bias.data), stride=spec.stride,
                          dilation=spec.dilation)
        elif link.kind == "bn":
            x = TF.batch_norm(x, t(m.running_mean), t(m.running_var), t(m.weight.data),
                              t(m.bias.data), training=False, eps=m.eps)
        elif link.kind == "relu":
            x = _Rectified.apply(x, mode)
        elif link.kind == "pool":
            s = m.spec
            pool = getattr(TF, f"max_pool{x.dim() - 2}d")
            x = pool(x, s.kernel_size, s.stride, [lo for lo, _ in s.padding],
                              s.dilation, ceil_mode=m.ceil_mode)
    return x


def torch_projection(model, x, layer, channel, positions, mode):
    links = chain(model)
    names = [link.name for link in links]
    links = links[:names.index(layer) + 1]
    xt = torch.from_numpy(x.copy()).requires_grad_(True)
    out = torch_forward(links, xt, mode)
    signal = torch.zeros_like(out)
    for n, pos in enumerate(positions):
        index = (n, channel) + tuple(int(p) for p in pos)
        signal[index] = out[index].detach()
    out.backward(signal)
    return out.detach().numpy(), xt.grad.numpy()


# ---------------------------------------------------------------------- projections
def net_nd(ndim):
    """Conv, BatchNorm, ReLU, an overlapping pool and a strided conv with 1 or 3 axes."""
    rng, f64 = np.random.default_rng(ndim), np.float64
    model = nn.Sequential(nn.Conv(3, 3, 3, padding=1, ndim=ndim, rng=rng, dtype=f64),
                          nn.BatchNorm(3, dtype=f64), nn.ReLU(),
                          nn.MaxPool(3, stride=2, padding=1, ndim=ndim),
                          nn.Conv(3, 2, 2, stride=2, ndim=ndim, rng=rng, dtype=f64), nn.ReLU())
    return _randomize_bn(model, rng).eval()


CASES = [(small_fcn, (24, 24), ["stage1.conv1", "stage2.relu2", "stage3.pool",
                                "stage4.relu2"]),
         (overlapping_net, (13, 13), ["relu1", "pool1", "conv2", "pool2", "conv3"]),
         (lambda: net_nd(1), (17,), ["pool", "relu2"]),
         (lambda: net_nd(3), (7, 6, 5), ["pool", "relu2"])]


@pytest.mark.parametrize("mode", dn.MODES)
@pytest.mark.parametrize("build, size, layers", CASES)
def test_projection_equals_torch_autograd(build, size, layers, mode):
    """Gradient mode is the true gradient (times the activation); deconvnet and guided
    equal autograd through a ReLU with the rectified backward pass."""
    model = build()
    x = np.random.default_rng(1).normal(size=(3, 3) + size)
    x_before = x.copy()
    for layer in layers:
        a = dn.activations(model, x, layer)
        channel = a.shape[1] - 1
        pos = np.array([np.unravel_index(np.argmax(a[n, channel]), a.shape[2:])
                        for n in range(len(x))])
        out, expected = torch_projection(model, x, layer, channel, pos, mode)
        np.testing.assert_allclose(a, out, rtol=1e-10, atol=1e-10)
        got = dn.project(model, x, layer, channel, mode=mode)  # default: argmax position
        assert got.shape == x.shape and got.dtype == np.float64
        assert np.abs(expected).max() > 0
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(x, x_before)


def test_batches_give_the_results_of_one_pass(monkeypatch):
    model = overlapping_net(6)
    x = np.random.default_rng(4).normal(size=(5, 3, 13, 13))
    whole = [dn.activations(model, x, "pool2"), dn.project(model, x, "pool2", 1),
             dn.project(model, x, "conv2", 2, position=np.arange(10).reshape(5, 2) % 3)]
    monkeypatch.setattr(dn, "BATCH", 2)
    parts = [dn.activations(model, x, "pool2"), dn.project(model, x, "pool2", 1),
             dn.project(model, x, "conv2", 2, position=np.arange(10).reshape(5, 2) % 3)]
    for a, b in zip(whole, parts):
        np.testing.assert_array_equal(a, b)


def test_gradient_mode_equals_nn_backward():
    """The model's own backward pass, from an encoder feature, gives the same gradient."""
    model = small_fcn(3)
    x = np.random.default_rng(2).normal(size=(2, 3, 16, 16))
    f2, f4, f8 = model.encoder.forward(x)
    d8 = np.zeros_like(f8)
    d8[:, 5, 1, 0] = f8[:, 5, 1, 0]
    expected = model.encoder.backward(None, None, d8)
    got = dn.project(model, x, "stage4", 5, position=(1, 0), mode="gradient")
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(dn.activations(model, x, "stage2"), f4, rtol=1e-12)


def test_modes_differ_where_relus_are():
    model = small_fcn(4)
    x = np.random.default_rng(5).normal(size=(2, 3, 16, 16))
    p = {m: dn.project(model, x, "stage2.relu2", 1, mode=m) for m in dn.MODES}
    assert not np.allclose(p["deconvnet"], p["gradient"])
    assert not np.allclose(p["guided"], p["gradient"])
    # below the first ReLU only convolutions: every mode agrees
    q = {m: dn.project(model, x, "stage1.conv1", 1, mode=m) for m in dn.MODES}
    np.testing.assert_allclose(q["deconvnet"], q["gradient"])


def test_dot_test_without_relu_or_pool():
    """With only convs and batch norm on the path, the projection is the adjoint of the
    linear part of the forward map: <P e, x> = <e, A x>, A x = f(x) - f(0)."""
    rng = np.random.default_rng(7)
    model = _randomize_bn(nn.Sequential(
        nn.Conv(3, 4, 3, stride=2, padding=(1, 2), rng=rng, dtype=np.float64),
        nn.BatchNorm(4, dtype=np.float64),
        nn.Conv(4, 2, (2, 3), dilation=(2, 1), rng=rng, dtype=np.float64)), rng).eval()
    for p in model.parameters():
        if p.data.ndim == 1:
            p.data[...] = rng.normal(size=p.shape)
    links = chain(model)
    x = rng.normal(size=(2, 3, 11, 9))
    linear = Trace(links, x).output - Trace(links, np.zeros_like(x)).output
    for mode in dn.MODES:
        e = rng.normal(size=linear.shape)
        back = Trace(links, rng.normal(size=x.shape)).project(e, mode)
        assert np.vdot(back, x) == pytest.approx(np.vdot(e, linear), rel=1e-11)
    # project() is the adjoint applied to one activation times its value
    a = dn.activations(model, x, "conv2")
    got = dn.project(model, x, "conv2", 1, position=(2, 1))
    assert np.vdot(got, x) == pytest.approx(a[:, 1, 2, 1] @ linear[:, 1, 2, 1], rel=1e-11)


# ---------------------------------------------------------------------- switches
def test_switches_are_the_forward_pass():
    """Projecting a pool unit equals projecting the conv unit its switch chose; another
    input moves the switches and the projection; the model's pool is left alone."""
    rng = np.random.default_rng(11)
    model = nn.Sequential(nn.Conv(1, 2, 3, padding=1, rng=rng, dtype=np.float64), nn.ReLU(),
                          nn.MaxPool(2))
    x1 = rng.normal(size=(1, 1, 8, 8))
    x2 = np.roll(x1, 1, axis=3)
    s1, s2 = (Trace(chain(model), x).switches[0] for x in (x1, x2))
    assert not np.array_equal(s1, s2)
    assert model[2].indices is None  # the model's own layer recorded nothing
    for x, s in ((x1, s1), (x2, s2)):
        a = dn.activations(model, x, "pool")
        c, i, j = np.unravel_index(np.argmax(a[0]), a.shape[1:])
        flat = int(s[0, c, i, j])
        conv_pos = divmod(flat, 8)
        assert 2 * i <= conv_pos[0] < 2 * i + 2 and 2 * j <= conv_pos[1] < 2 * j + 2
        by_pool = dn.project(model, x, "pool", c, position=(i, j))
        by_conv = dn.project(model, x, "conv", c, position=conv_pos)
        np.testing.assert_allclose(by_pool, by_conv)
    assert not np.allclose(dn.project(model, x1, "pool", 0, position=(1, 1)),
                           dn.project(model, x2, "pool", 0, position=(1, 1)))


def test_unpool_adds_values_of_overlapping_windows():
    d = np.array([[[[1.0, 2.0, 4.0]]]])
    np.testing.assert_array_equal(unpool(d, np.array([[[[0, 2, 2]]]]), (1, 1, 1, 4)),
                                  [[[[1.0, 0.0, 6.0, 0.0]]]])


# ---------------------------------------------------------------------- top activations
def _brute_force(a, top, distinct):
    out = {}
    for c in range(a.shape[1]):
        flat = a[:, c].reshape(len(a), -1)
        if distinct:
            best = [(-flat[n].max(), n, int(np.argmax(flat[n]))) for n in range(len(a))]
        else:
            best = [(-flat[n, k], n, k) for n in range(len(a)) for k in range(flat.shape[1])]
        best.sort()
        out[c] = [(n, np.unravel_index(k, a.shape[2:]), -v) for v, n, k in best[:top]]
    return out


@pytest.mark.parametrize("distinct", [True, False])
def test_top_activations_match_brute_force(distinct):
    model = overlapping_net(2)
    x = np.random.default_rng(3).normal(size=(7, 3, 13, 13))
    for layer in ("relu1", "conv2", "pool2"):
        a = dn.activations(model, x, layer)
        got = dn.top_activations(model, x, layer, top=5, distinct=distinct)
        expected = _brute_force(a, 5, distinct)
        assert sorted(got) == list(range(a.shape[1]))
        for c, acts in got.items():
            assert [(t.image, t.position) for t in acts] == \
                [(n, tuple(int(v) for v in p)) for n, p, _ in expected[c]]
            assert [t.value for t in acts] == [v for _, _, v in expected[c]]
            for t in acts:
                assert a[(t.image, c) + t.position] == t.value
            if distinct:
                assert len({t.image for t in acts}) == len(acts)


def test_top_activations_ties_and_limits():
    model = nn.Sequential(nn.ReLU())
    x = np.zeros((3, 1, 2, 2))
    got = dn.top_activations(model, x, "relu", top=4, distinct=False)[0]
    assert [(t.image, t.position) for t in got] == [(0, (0, 0)), (0, (0, 1)), (0, (1, 0)),
                                                    (0, (1, 1))]
    assert len(dn.top_activations(model, x, "relu", top=50)[0]) == 3
    assert list(dn.top_activations(model, x, "relu", channels=[0])) == [0]


def test_top_projections_project_the_top_activations():
    model = overlapping_net(5)
    x = np.random.default_rng(6).normal(size=(6, 3, 13, 13))
    out = dn.top_projections(model, x, "pool2", channels=[2, 0], top=3, mode="guided")
    assert list(out) == [2, 0]
    for c, (acts, proj) in out.items():
        assert proj.shape == (3, 3, 13, 13)
        for act, p in zip(acts, proj):
            one = dn.project(model, x[act.image:act.image + 1], "pool2", c,
                             position=act.position, mode="guided")
            np.testing.assert_allclose(p, one[0])


# ---------------------------------------------------------------------- receptive field
def _positive(model, rng):
    for name, p in model.named_parameters():
        p.data[...] = rng.uniform(0.5, 1.0, p.shape) if p.data.ndim > 1 else 0.0
    for _, m in model.named_modules():
        if isinstance(m, nn.BatchNorm):
            m.weight.data[...] = 1.0
    return model.eval()


def _empirical_boxes(model, layer, size, rng):
    """Which input pixels change each output unit (perturbing one pixel at a time)."""
    x = rng.uniform(0, 0.01, (1, 3, size, size))
    base = dn.activations(model, x, layer)
    seen = np.zeros(base.shape[2:] + (size, size), bool)
    for r in range(size):
        for c in range(size):
            xp = x.copy()
            xp[0, :, r, c] += 1e6
            seen[..., r, c] = (np.abs(dn.activations(model, xp, layer) - base) > 0).any(
                axis=(0, 1))
    return seen


@pytest.mark.parametrize("which", ["sequential", "fcn"])
def test_receptive_field_matches_perturbation(which):
    rng = np.random.default_rng(8)
    if which == "fcn":
        model, size = nn.fcn("fcn32s", "bilinear", width=1, blocks=2, seed=1,
                             dtype=np.float64), 24
        layers = ["stage1.relu1", "stage2.pool", "stage3.conv2", "stage4"]
    else:
        model, size = nn.Sequential(
            nn.Conv(3, 2, 3, padding=1, dtype=np.float64), nn.ReLU(),
            nn.MaxPool(3, stride=2, padding=1),
            nn.Conv(2, 2, (3, 5), stride=2, padding=(1, 2), dtype=np.float64),
            nn.ReLU(), nn.MaxPool(2)), 20
        layers = ["pool1", "conv2", "pool2"]
    _positive(model, rng)
    for layer in layers:
        seen = _empirical_boxes(model, layer, size, rng)
        rf = dn.receptive_field(model, layer)
        for pos in np.ndindex(*seen.shape[:2]):
            expected = np.zeros((size, size), bool)
            (r0, r1), (c0, c1) = rf.box(pos)
            expected[max(r0, 0):max(r1, 0), max(c0, 0):max(c1, 0)] = True
            assert np.array_equal(seen[pos], expected), (layer, pos, rf)


# ---------------------------------------------------------------------- boundary
def test_layer_names_and_errors():
    model = nn.fcn(width=2, blocks=2)
    names = dn.layer_names(model)
    assert names[:4] == ["stage1.conv1", "stage1.relu1", "stage1.conv2", "stage1.relu2"]
    assert names[-1] == "stage4.relu" and "stage3.pool" in names
    x = np.zeros((1, 3, 16, 16), np.float32)
    np.testing.assert_array_equal(dn.activations(model, x, "stage3"),
                                  dn.activations(model, x, "stage3.pool"))
    with pytest.raises(ValueError, match=r"layer must be one of \[.*'stage1.conv1'.*got 'x'"):
        dn.activations(model, x, "x")
    with pytest.raises(ValueError, match="channel must be an int <= 3, got 4"):
        dn.project(model, x, "stage2", 4)
    with pytest.raises(ValueError, match="top must be an int >= 1, got 0"):
        dn.top_activations(model, x, "stage2", top=0)
    with pytest.raises(ValueError, match=r"images must be \(N, 3, \*spatial\).*got shape"):
        dn.activations(model, np.zeros((1, 2, 8, 8)), "stage2")
    with pytest.raises(ValueError, match="mode must be one of"):
        dn.project(model, x, "stage2", 0, mode="saliency")
    with pytest.raises(ValueError, match="position must lie in"):
        dn.project(model, x, "stage2", 0, position=(4, 0))
    with pytest.raises(TypeError, match="model must be an FCN"):
        dn.layer_names(nn.Conv(1, 1, 1))
    with pytest.raises(TypeError, match="Upsample"):
        dn.layer_names(nn.Sequential(nn.Conv(1, 1, 1), nn.Upsample(2)))


def test_the_model_is_only_read():
    model = small_fcn(9)
    model.train()
    state = {k: v.copy() for k, v in model.state_dict().items()}
    x = np.random.default_rng(0).normal(size=(2, 3, 16, 16))
    dn.top_projections(model, x, "stage4", top=2, mode="gradient")
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, state[k])
    assert all(not p.grad.any() for p in model.parameters())
    assert model.training


# ---------------------------------------------------------------------- pictures
needs_matplotlib = pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None,
                                      reason="the pictures need matplotlib")


def _tiny_images(n=6, size=32):
    from deconvkit.datasets import shapes

    return shapes(n, size=size, seed=4, split="val")[0]


@needs_matplotlib
def test_visualize_writes_a_picture_and_refuses_to_overwrite(tmp_path):
    from PIL import Image

    from deconvkit.explain.deconvnet import visualize

    model = nn.fcn(width=2, seed=3)
    images = _tiny_images()
    before = images.copy()
    out = tmp_path / "projections.png"
    lines = visualize(model, out, layer="stage2", top=4, images=images)
    np.testing.assert_array_equal(images, before)
    picture = np.asarray(Image.open(out).convert("RGB"), np.float64)
    assert picture.shape[0] > 200 and picture.shape[1] > 200
    assert picture.std() > 10 and len(np.unique(picture.reshape(-1, 3), axis=0)) > 100
    assert lines[1].startswith("layer: stage2.pool (4 channels, receptive field 10x10")
    assert "channels (strongest)" in lines[2] and lines[-1].startswith(f"wrote {out}")
    with pytest.raises(ValueError, match="would overwrite"):
        visualize(model, out, layer="stage2", images=images)
    lines = visualize(model, out, layer="stage2", channels=[1, 0], top=2, images=images,
                      mode="guided", overwrite=True)
    assert "channels (chosen): 1, 0; top 2 each" in lines[2] and "guided" in lines[3]


@needs_matplotlib
def test_visualize_a_saved_model_on_its_validation_images(tmp_path):
    from deconvkit.explain.deconvnet import visualize

    path = tmp_path / "model.npz"
    nn.save_model(nn.fcn("fcn16s", width=2, seed=1), path,
                  meta={"name": "fcn16s/tiny", "data": {"size": 24, "seed": 3, "n_val": 4,
                                                         "val_split": "val"}})
    lines = visualize(path, tmp_path / "a.png", n_images=5, top=3)
    assert "5 images of the model's validation split ('val', seed 3, 24x24)" in lines[3]
    # the default layer is the deepest whose receptive field fits in 24 pixels
    assert lines[1].startswith("layer: stage3.pool") and "22x22" in lines[1]
    lines = visualize(path, tmp_path / "b.png", n_images=2, top=1, seed=7, layer="stage1")
    assert "2 shapes images ('val', seed 7, 24x24)" in lines[3]


@needs_matplotlib
def test_visualize_errors_name_expected_and_received(tmp_path, monkeypatch):
    import sys

    from deconvkit.explain.deconvnet import visualize

    model, images, out = nn.fcn(width=2), _tiny_images(2), tmp_path / "x.png"
    with pytest.raises(ValueError, match=r"layer must be one of \[.*'stage3.pool'.*got 'fc7'"):
        visualize(model, out, layer="fc7", images=images)
    with pytest.raises(ValueError, match="channel must be an int <= 7, got 8"):
        visualize(model, out, layer="stage3", channels=[0, 8], images=images)
    with pytest.raises(ValueError, match="top must be an int >= 1, got 0"):
        visualize(model, out, top=0, images=images)
    with pytest.raises(ValueError, match=r"images must be \(N, 3, \*spatial\).*\(2, 1, 32, 32\)"):
        visualize(model, out, images=images[:, :1])
    with pytest.raises(ValueError, match="mode must be one of"):
        visualize(model, out, images=images, mode="cam")
    with pytest.raises(ValueError, match="out_png must be in an existing directory"):
        visualize(model, tmp_path / "no" / "x.png", images=images)
    assert not out.exists()
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r"deconvkit\[viz\]"):
        visualize(model, out, images=images)
