"""Pixelwise softmax cross-entropy, the loss FCNs are trained with."""

from __future__ import annotations

import numpy as np

from .._checks import check_int, describe
from .module import Module

__all__ = ["SoftmaxCrossEntropy", "log_softmax"]


def log_softmax(logits, axis=1):
    """Numerically stable ``log(softmax(logits))`` along ``axis``.

    >>> log_softmax(np.array([[0.0, 0.0]])).round(4)
    array([[-0.6931, -0.6931]])
    """
    z = logits - logits.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


def _class_weights(weight):
    """``weight`` as a ``(C,)`` float64 array of finite values >= 0."""
    try:
        w = np.array(weight, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"weight must be None or (C,) numbers, got {describe(weight)}") from None
    if w.ndim != 1:
        raise ValueError(f"weight must be (C,), got shape {w.shape}")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError(f"weight must hold finite values >= 0, got {describe(weight)}")
    return w


class SoftmaxCrossEntropy(Module):
    """Softmax cross-entropy over the class axis of ``(N, C, *spatial)`` logits.

    Parameters
    ----------
    weight : (C,) array_like, optional
        Class weights: pixel ``i`` with label ``t_i`` counts ``weight[t_i]`` times.
    ignore_index : int
        Label value that contributes neither loss nor gradient (default -100 as in
        PyTorch; segmentation data often uses 255).
    reduction : {"mean", "sum"}
        ``"mean"`` divides by the total weight of the non-ignored pixels, as
        ``torch.nn.functional.cross_entropy`` does.

    Notes
    -----
    ``forward(logits, labels)`` returns the loss as a 0-d array of the logits'
    dtype; ``labels`` is ``(N, *spatial)`` of integers in ``[0, C)`` or
    ``ignore_index``. ``backward(dloss=1.0)`` returns ``dlogits``:
    ``dloss * w_i (softmax_i - onehot_i) / sum_i w_i``. When every pixel is ignored the
    mean loss is 0 with a zero gradient (PyTorch returns nan).

    Examples
    --------
    >>> import numpy as np
    >>> loss = SoftmaxCrossEntropy(ignore_index=255)
    >>> logits = np.zeros((1, 2, 1, 2))
    >>> float(loss.forward(logits, np.array([[[1, 255]]])).round(4))
    0.6931
    >>> loss.backward()[0, :, 0]
    array([[ 0.5,  0. ],
           [-0.5,  0. ]])
    """

    def __init__(self, weight=None, ignore_index: int = -100, reduction: str = "mean"):
        super().__init__()
        if not isinstance(reduction, str) or reduction not in ("mean", "sum"):
            raise ValueError(f"reduction must be 'mean' or 'sum', got {describe(reduction)}")
        self.weight = None if weight is None else _class_weights(weight)
        self.ignore_index = check_int(ignore_index, "ignore_index", -2**63, 2**63 - 1)
        self.reduction = reduction
        self._cache = None

    def _check(self, logits, labels):
        labels = np.asarray(labels)
        if not np.issubdtype(labels.dtype, np.integer):
            raise TypeError(f"labels must be integers, got dtype {labels.dtype}")
        if logits.ndim < 2 or labels.shape != logits.shape[:1] + logits.shape[2:]:
            raise ValueError(f"labels must have shape (N, *spatial) = "
                             f"{logits.shape[:1] + logits.shape[2:]} for logits of shape "
                             f"{logits.shape}, got {labels.shape}")
        c = logits.shape[1]
        if self.weight is not None and self.weight.shape != (c,):
            raise ValueError(f"weight must have shape ({c},) for {c} classes, "
                             f"got {self.weight.shape}")
        valid = labels != self.ignore_index
        bad = labels[valid & ((labels < 0) | (labels >= c))]
        if bad.size:
            raise ValueError(f"labels must be in [0, {c}) or ignore_index={self.ignore_index}, "
                             f"got {bad[0]}")
        return labels, valid

    def forward(self, logits, labels):
        labels, valid = self._check(logits, labels)
        z = np.subtract(logits, logits.max(axis=1, keepdims=True), order="C")
        target = np.where(valid, labels, 0)[:, None]
        z_target = np.take_along_axis(z, target, axis=1)[:, 0]
        p = np.exp(z, out=z)                        # z is ours: softmax in place
        total_exp = p.sum(axis=1, keepdims=True)
        nll = np.log(total_exp[:, 0]) - z_target    # -log softmax at the target
        p /= total_exp
        w = valid.astype(logits.dtype)
        if self.weight is not None:
            w = w * self.weight.astype(logits.dtype)[target[:, 0]]
        total = w.sum(dtype=np.float64)
        norm = total if self.reduction == "mean" else 1.0
        norm = norm if norm > 0 else 1.0
        self._cache = (p, target, w, norm)
        return np.asarray((w * nll).sum(dtype=np.float64) / norm, dtype=logits.dtype)

    def backward(self, dloss=1.0):
        if self._cache is None:
            raise RuntimeError("SoftmaxCrossEntropy.backward called before forward")
        p, target, w, norm = self._cache
        scale = (w * np.asarray(float(dloss) / norm, w.dtype))[:, None]
        dlogits = p * scale
        picked = np.take_along_axis(dlogits, target, axis=1) - scale
        np.put_along_axis(dlogits, target, picked, axis=1)
        return dlogits

    def extra_repr(self):
        return f"ignore_index={self.ignore_index}, reduction={self.reduction!r}"
