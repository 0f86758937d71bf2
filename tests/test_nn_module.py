"""The Module contract: names, modes, state, save/load, Sequential, a skip architecture."""

import numpy as np
import pytest

from deconvkit import nn
from deconvkit.testing import rel_error


class Skip(nn.Module):
    """A tiny FCN-style network with a skip: two paths from one tensor, summed."""

    def __init__(self, dtype=np.float64):
        super().__init__()
        self.conv = nn.Conv(2, 3, 3, padding=1, bias=False, dtype=dtype, rng=0)
        self.bn = nn.BatchNorm(3, dtype=dtype)
        self.relu = nn.ReLU()
        self.pool = nn.MaxPool(2)
        self.score = nn.Conv(3, 2, 1, dtype=dtype, rng=1)
        self.up = nn.ConvTranspose(2, 2, 4, stride=2, dtype=dtype, rng=2)
        self.crop = nn.Crop(1)
        self.skip = nn.Conv(3, 2, 1, dtype=dtype, rng=3)
        self.add = nn.Add()

    def forward(self, x):
        h = self.relu.forward(self.bn.forward(self.conv.forward(x)))
        coarse = self.up.forward(self.score.forward(self.pool.forward(h)))
        return self.add.forward(self.crop.forward(coarse, h), self.skip.forward(h))

    def backward(self, dy):
        d_coarse, d_skip = self.add.backward(dy)
        dh = self.skip.backward(d_skip)
        dh = dh + self.pool.backward(self.score.backward(self.up.backward(
            self.crop.backward(d_coarse))))
        return self.conv.backward(self.bn.backward(self.relu.backward(dh)))


def test_a_skip_architecture_is_a_module_with_its_own_backward():
    net = Skip()
    x = np.random.default_rng(5).standard_normal((2, 2, 6, 6))
    errors = nn.check_gradients(net, x)
    assert len(errors) == 1 + 1 + 2 + 2 * 3      # input, conv, bn gamma/beta, 3 convs with bias
    assert max(errors.values()) < 1e-6, errors


def test_names_and_lookup():
    net = Skip()
    names = [n for n, _ in net.named_parameters()]
    assert names[:4] == ["conv.weight", "bn.weight", "bn.bias", "score.weight"]
    assert names[-2:] == ["skip.weight", "skip.bias"]
    assert net.parameter("up.weight") is net.up.weight
    with pytest.raises(KeyError, match="no parameter 'up.kernel'"):
        net.parameter("up.kernel")
    assert [n for n, _ in net.named_buffers()] == ["bn.running_mean", "bn.running_var"]
    assert [n for n, _ in net.named_children()][:3] == ["conv", "bn", "relu"]


def test_train_eval_freeze_and_astype():
    net = nn.Sequential(nn.Conv(1, 2, 3), nn.BatchNorm(2), nn.Dropout(0.5))
    assert all(m.training for _, m in net.named_modules())
    net.eval()
    assert not any(m.training for _, m in net.named_modules())
    net.train()
    assert net[2].training
    net.freeze()
    assert not any(p.requires_grad for p in net.parameters())
    net.freeze(False)
    net.astype(np.float64)
    assert all(p.dtype == np.float64 and p.grad.dtype == np.float64 for p in net.parameters())
    assert net[1].running_var.dtype == np.float64
    y = net.eval().forward(np.ones((1, 1, 4, 4)))
    assert y.dtype == np.float64
    with pytest.raises(TypeError, match="float32 or float64, got int64"):
        net.astype(np.int64)


def test_state_dict_save_and_load_round_trip(tmp_path):
    net = Skip(np.float32)
    x = np.random.default_rng(0).standard_normal((2, 2, 6, 6)).astype(np.float32)
    net.forward(x)                                  # moves the running statistics
    path = tmp_path / "skip.npz"
    nn.save(net, path)
    other = Skip(np.float32)
    for p in other.parameters():
        p.data[...] = 0
    nn.load(other, path)
    for (name, a), (_, b) in zip(net.state_dict().items(), other.state_dict().items()):
        assert np.array_equal(a, b), name
    net.eval(), other.eval()
    assert np.array_equal(net.forward(x), other.forward(x))


def test_load_errors_name_what_is_wrong(tmp_path):
    net = nn.Sequential(nn.Conv(1, 2, 3))
    state = net.state_dict()
    with pytest.raises(ValueError, match=r"missing \['0.bias'\], unexpected \['0.b'\]"):
        net.load_state_dict({"0.weight": state["0.weight"], "0.b": state["0.bias"]})
    net.load_state_dict({"0.weight": state["0.weight"]}, strict=False)
    with pytest.raises(ValueError, match=r"0.weight: expected shape \(2, 1, 3, 3\), got \(2, 1\)"):
        net.load_state_dict({"0.weight": np.zeros((2, 1)), "0.bias": state["0.bias"]})
    with pytest.raises(TypeError, match="save needs a Module"):
        nn.save(state, tmp_path / "x.npz")


def test_state_dict_returns_copies():
    net = nn.Conv(1, 1, 3)
    state = net.state_dict()
    state["weight"][...] = 7
    assert not (net.weight.data == 7).any()


def test_sequential_is_the_composition():
    layers = [nn.Conv(2, 3, 3, padding=1, dtype=np.float64, rng=0), nn.LeakyReLU(0.1),
              nn.ConvTranspose(3, 2, 2, stride=2, dtype=np.float64, rng=1)]
    net = nn.Sequential(*layers)
    assert len(net) == 3 and net[1] is layers[1] and list(net) == layers
    assert [n for n, _ in net.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    x = np.random.default_rng(0).standard_normal((1, 2, 3, 3))
    y = net.forward(x)
    manual = layers[2].forward(layers[1].forward(layers[0].forward(x)))
    assert np.array_equal(y, manual)
    assert max(nn.check_gradients(net, x).values()) < 1e-7
    with pytest.raises(TypeError, match="Module instances, got builtin_function_or_method"):
        net.append(len)


def test_repr_lists_children():
    text = repr(nn.Sequential(nn.Conv(1, 2, 3), nn.ReLU()))
    assert text.startswith("Sequential(\n  (0): Conv(1, 2, kernel_size=(3, 3)")
    assert "(1): ReLU()" in text


def test_module_without_backward_says_so():
    class Half(nn.Module):
        def forward(self, x):
            return x / 2

    with pytest.raises(NotImplementedError, match="Half must implement backward"):
        Half().backward(np.ones(1))
    assert rel_error(Half()(np.ones(2)), np.full(2, 0.5)) == 0


def test_parameter_rejects_integers():
    with pytest.raises(TypeError, match="float32 or float64, got int64"):
        nn.Parameter(np.arange(3))


@pytest.mark.parametrize("args", [dict(head="fcn8s", upsampling="learned_bilinear", width=2,
                                       depth=2, blocks=2),
                                  dict(head="fcn32s", upsampling="pixel_shuffle", width=3,
                                       num_classes=4, dtype=np.float64)])
def test_save_model_rebuilds_the_architecture_and_the_outputs(tmp_path, args):
    net = nn.fcn(seed=1, **args)
    x = np.random.default_rng(0).random((2, 3, 16, 16)).astype(net.config["dtype"])
    net.train()
    net.forward(x)                      # moves the BatchNorm running statistics
    net.eval()
    want = net.forward(x)
    path = tmp_path / "model.npz"
    nn.save_model(net, path, meta={"mean_iou": 0.5})
    before = path.read_bytes()
    other, meta = nn.load_model(path)
    assert meta == {"mean_iou": 0.5}
    assert other.config == net.config
    assert not other.training
    np.testing.assert_array_equal(other.forward(x), want)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        nn.save_model(net, path)
    assert path.read_bytes() == before
    nn.load(nn.fcn(seed=2, **args), path)          # the weights alone load as before
    with pytest.raises(TypeError, match="model must be an FCN"):
        nn.save_model(nn.Conv(1, 1, 1), tmp_path / "c.npz")
    nn.save(net, tmp_path / "weights.npz")
    with pytest.raises(ValueError, match="not a model file"):
        nn.load_model(tmp_path / "weights.npz")


def test_save_model_writes_exactly_the_path_given(tmp_path):
    net = nn.fcn(width=2, seed=0)
    (tmp_path / "model.npz").write_bytes(b"keep")
    nn.save_model(net, tmp_path / "model")            # no suffix: nothing is appended
    assert (tmp_path / "model.npz").read_bytes() == b"keep"
    assert nn.load_model(tmp_path / "model")[0].config == net.config
    with pytest.raises(FileExistsError):
        nn.save_model(net, tmp_path / "model")
