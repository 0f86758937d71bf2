"""The whole stack against PyTorch: one small FCN, identical weights and batches, 5 SGD steps.

Each layer is tested on its own elsewhere; this checks that they compose: if any
gradient in the network were wrong, the losses would part after the first step.
Run ``python tests/test_nn_end_to_end.py`` to print the loss table.
"""

import numpy as np
import pytest

from deconvkit import nn
from deconvkit.datasets import iterate_batches, shapes

torch = pytest.importorskip("torch")
TNN, TF = torch.nn, torch.nn.functional

CLASSES, IGNORE = 6, 255
CLASS_WEIGHTS = np.array([0.5, 1.0, 1.5, 1.5, 2.0, 1.5])
SGD_ARGS = dict(lr=0.05, momentum=0.9, weight_decay=5e-4)


class TinyFCN(nn.Module):
    """Two conv stages, FCN-16s-style fusion of two score maps, learned bilinear upsampling."""

    def __init__(self, rng=0):
        super().__init__()
        rng = np.random.default_rng(rng)
        self.conv1 = nn.Conv(3, 8, 3, padding=1, bias=False, rng=rng)
        self.bn1 = nn.BatchNorm(8)
        self.relu1, self.pool1 = nn.ReLU(), nn.MaxPool(2)
        self.conv2 = nn.Conv(8, 16, 3, padding=1, rng=rng)
        self.relu2, self.pool2 = nn.ReLU(), nn.MaxPool(2)
        self.score2 = nn.Conv(16, CLASSES, 1, rng=rng)
        self.up2 = nn.ConvTranspose(CLASSES, CLASSES, 4, stride=2, bias=False, init="bilinear")
        self.crop = nn.Crop(1)
        self.score1 = nn.Conv(8, CLASSES, 1, init="zeros")
        self.fuse = nn.Add()
        self.up = nn.ConvTranspose(CLASSES, CLASSES, 4, stride=2, padding=1, bias=False,
                                   init="bilinear")
        self.conv1.needs_input_grad = False

    def forward(self, x):
        h1 = self.pool1.forward(self.relu1.forward(self.bn1.forward(self.conv1.forward(x))))
        h2 = self.pool2.forward(self.relu2.forward(self.conv2.forward(h1)))
        coarse = self.crop.forward(self.up2.forward(self.score2.forward(h2)), h1)
        return self.up.forward(self.fuse.forward(coarse, self.score1.forward(h1)))

    def backward(self, dy):
        d_coarse, d_skip = self.fuse.backward(self.up.backward(dy))
        dh1 = self.score1.backward(d_skip)
        dh2 = self.score2.backward(self.up2.backward(self.crop.backward(d_coarse)))
        dh1 = dh1 + self.conv2.backward(self.relu2.backward(self.pool2.backward(dh2)))
        return self.conv1.backward(self.bn1.backward(self.relu1.backward(
            self.pool1.backward(dh1))))


class TorchTinyFCN(TNN.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = TNN.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn1 = TNN.BatchNorm2d(8)
        self.conv2 = TNN.Conv2d(8, 16, 3, padding=1)
        self.score2 = TNN.Conv2d(16, CLASSES, 1)
        self.up2 = TNN.ConvTranspose2d(CLASSES, CLASSES, 4, stride=2, bias=False)
        self.score1 = TNN.Conv2d(8, CLASSES, 1)
        self.up = TNN.ConvTranspose2d(CLASSES, CLASSES, 4, stride=2, padding=1, bias=False)

    def forward(self, x):
        h1 = TF.max_pool2d(TF.relu(self.bn1(self.conv1(x))), 2)
        h2 = TF.max_pool2d(TF.relu(self.conv2(h1)), 2)
        coarse = self.up2(self.score2(h2))[:, :, 1:1 + h1.shape[2], 1:1 + h1.shape[3]]
        return self.up(coarse + self.score1(h1))


def batches(steps=5, batch_size=4, size=32):
    images, labels = shapes(steps * batch_size, size=size, seed=1)
    labels[:, :, :2] = IGNORE                   # an ignored band, as VOC's void borders
    return list(iterate_batches(images, labels, batch_size=batch_size, rng=0))


def train_both(steps=5):
    """Losses of deconvkit and PyTorch over ``steps`` SGD steps, and both models."""
    ours, theirs = TinyFCN(), TorchTinyFCN()
    with torch.no_grad():
        for name, p in theirs.named_parameters():
            p.copy_(torch.from_numpy(ours.parameter(name).data))
    loss_fn = nn.SoftmaxCrossEntropy(weight=CLASS_WEIGHTS, ignore_index=IGNORE)
    opt = nn.SGD(ours, **SGD_ARGS)
    topt = torch.optim.SGD(theirs.parameters(), **SGD_ARGS)
    weight = torch.tensor(CLASS_WEIGHTS, dtype=torch.float32)
    ours_losses, torch_losses = [], []
    for x, y in batches(steps):
        opt.zero_grad()
        loss = loss_fn.forward(ours.forward(x), y)
        ours.backward(loss_fn.backward())
        opt.step()
        ours_losses.append(float(loss))
        topt.zero_grad()
        tloss = TF.cross_entropy(theirs(torch.from_numpy(x)), torch.from_numpy(y),
                                 weight=weight, ignore_index=IGNORE)
        tloss.backward()
        topt.step()
        torch_losses.append(tloss.item())
    return np.array(ours_losses), np.array(torch_losses), ours, theirs


@pytest.fixture(scope="module")
def trained():
    return train_both()


def test_five_sgd_steps_give_the_same_losses_as_pytorch(trained):
    ours, ref, _, _ = trained
    assert len(ours) == 5
    assert np.all(np.abs(ours - ref) <= 1e-4 * np.abs(ref)), np.c_[ours, ref]
    assert ours[-1] < ours[0]                   # and it learns


def test_parameters_and_running_statistics_agree_after_training(trained):
    _, _, ours, theirs = trained
    for name, p in theirs.named_parameters():
        mine = ours.parameter(name).data
        scale = np.abs(p.detach().numpy()).max()
        assert np.abs(mine - p.detach().numpy()).max() <= 1e-4 * scale, name
    assert np.allclose(ours.bn1.running_var, theirs.bn1.running_var.numpy(), rtol=1e-4)
    assert ours.conv1.weight.dtype == np.float32


def loss_table(ours, ref):
    rows = ["| step | deconvkit | PyTorch | relative difference |", "|---|---|---|---|"]
    for i, (a, b) in enumerate(zip(ours, ref), start=1):
        rows.append(f"| {i} | {a:.7f} | {b:.7f} | {abs(a - b) / abs(b):.1e} |")
    return "\n".join(rows)


if __name__ == "__main__":
    ours, ref, _, _ = train_both()
    print(loss_table(ours, ref))
