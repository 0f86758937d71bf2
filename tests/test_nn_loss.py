"""Pixelwise softmax cross-entropy against torch.nn.functional.cross_entropy."""

import numpy as np
import pytest

from deconvkit import nn
from deconvkit.testing import rel_error

torch = pytest.importorskip("torch")


def problem(shape=(2, 4, 5, 3), seed=0, dtype=np.float64, ignore=255, frac_ignored=0.2):
    rng = np.random.default_rng(seed)
    logits = (3 * rng.standard_normal(shape)).astype(dtype)
    labels = rng.integers(0, shape[1], shape[:1] + shape[2:])
    labels[rng.random(labels.shape) < frac_ignored] = ignore
    return logits, labels


@pytest.mark.parametrize("dtype,tol", [(np.float32, 1e-5), (np.float64, 1e-12)])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("shape", [(2, 4, 5, 3), (6, 3), (2, 3, 2, 3, 2)])
def test_matches_torch_cross_entropy(shape, weighted, reduction, dtype, tol):
    logits, labels = problem(shape, dtype=dtype)
    weight = np.linspace(0.5, 2.0, shape[1]) if weighted else None
    loss = nn.SoftmaxCrossEntropy(weight=weight, ignore_index=255, reduction=reduction)
    value = loss.forward(logits, labels)
    dloss = 0.7
    dlogits = loss.backward(dloss)
    tl = torch.tensor(logits, requires_grad=True)
    tw = None if weight is None else torch.tensor(weight, dtype=tl.dtype)
    ref = torch.nn.functional.cross_entropy(tl, torch.tensor(labels), weight=tw,
                                            ignore_index=255, reduction=reduction)
    ref.backward(torch.tensor(dloss, dtype=tl.dtype))
    assert value.shape == () and value.dtype == dtype and dlogits.dtype == dtype
    assert rel_error(value, ref.item()) < tol
    assert rel_error(dlogits, tl.grad.numpy()) < tol


@pytest.mark.parametrize("weighted", [False, True])
def test_finite_differences(weighted):
    logits, labels = problem(seed=3)
    loss = nn.SoftmaxCrossEntropy(weight=[1.0, 2.0, 0.5, 3.0] if weighted else None,
                                  ignore_index=255)
    errors = nn.check_gradients(loss, logits, labels)
    assert list(errors) == ["input0"] and errors["input0"] < 1e-8


def test_ignored_pixels_get_no_gradient_and_all_ignored_is_zero():
    logits, labels = problem(ignore=-100)
    loss = nn.SoftmaxCrossEntropy()
    loss.forward(logits, labels)
    g = loss.backward()
    assert not g.transpose(0, 2, 3, 1)[labels == -100].any()
    assert np.allclose(g.sum(axis=1), 0)
    everything = np.full_like(labels, -100)
    assert float(loss.forward(logits, everything)) == 0.0
    assert not loss.backward().any()


def test_large_logits_are_stable():
    logits = np.array([[[1000.0], [-1000.0]]])
    loss = nn.SoftmaxCrossEntropy()
    assert float(loss.forward(logits, np.array([[1]]))) == pytest.approx(2000.0)
    assert np.isfinite(loss.backward()).all()


def test_bad_labels():
    logits, labels = problem()
    loss = nn.SoftmaxCrossEntropy(ignore_index=255)
    with pytest.raises(TypeError, match="labels must be integers, got dtype float64"):
        loss.forward(logits, labels.astype(np.float64))
    with pytest.raises(ValueError, match=r"labels must have shape \(N, \*spatial\) = \(2, 5, 3\)"):
        loss.forward(logits, labels[:, :4])
    labels[0, 0, 0] = 7
    with pytest.raises(ValueError, match=r"labels must be in \[0, 4\) or ignore_index=255, got 7"):
        loss.forward(logits, labels)
    with pytest.raises(ValueError, match=r"weight must have shape \(4,\) for 4 classes"):
        nn.SoftmaxCrossEntropy(weight=[1.0, 2.0]).forward(*problem(ignore=0))
    with pytest.raises(ValueError, match="reduction must be"):
        nn.SoftmaxCrossEntropy(reduction="none")
    with pytest.raises(RuntimeError, match="before forward"):
        nn.SoftmaxCrossEntropy().backward()
