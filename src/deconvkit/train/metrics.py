"""Segmentation metrics: confusion matrix, mean IoU, pixel accuracy, boundary F1,
and a checkerboard-artifact score of upsampled score maps.

All take integer label maps ``(N, H, W)`` (prediction and ground truth) except
:func:`checkerboard_score`, which looks at the network's real-valued output.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from .._checks import check_int

__all__ = ["confusion_matrix", "mean_iou", "pixel_accuracy", "boundary_f1",
           "checkerboard_score", "segmentation_metrics"]


def _check_labels(pred, target, num_classes=None):
    pred, target = np.asarray(pred), np.asarray(target)
    for name, a in (("pred", pred), ("target", target)):
        if not np.issubdtype(a.dtype, np.integer):
            raise TypeError(f"{name} must hold integer labels, got dtype {a.dtype}")
    if pred.shape != target.shape:
        raise ValueError(f"pred and target must have the same shape, got {pred.shape} "
                         f"and {target.shape}")
    if num_classes is not None:
        for name, a in (("pred", pred), ("target", target)):
            if a.size and (a.min() < 0 or a.max() >= num_classes):
                raise ValueError(f"{name} labels must be in [0, {num_classes}), got "
                                 f"{a.min()}..{a.max()}")
    return pred, target


def confusion_matrix(pred, target, num_classes: int) -> np.ndarray:
    """``(C, C)`` int64 counts: row = true class, column = predicted class.

    >>> confusion_matrix(np.array([0, 1, 1]), np.array([0, 0, 1]), 2)
    array([[1, 1],
           [0, 1]])
    """
    pred, target = _check_labels(pred, target, num_classes)
    index = target.ravel().astype(np.int64) * num_classes + pred.ravel()
    return np.bincount(index, minlength=num_classes ** 2).reshape(num_classes, num_classes)


def mean_iou(confusion: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean and per-class intersection over union from a confusion matrix.

    Classes absent from both prediction and ground truth are left out of the mean
    (their IoU is ``nan``).

    >>> miou, per_class = mean_iou(np.array([[1, 1], [0, 1]]))
    >>> round(miou, 4), per_class.round(3).tolist()
    (0.5, [0.5, 0.5])
    """
    confusion = np.asarray(confusion, dtype=np.float64)
    tp = np.diag(confusion)
    union = confusion.sum(0) + confusion.sum(1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(union > 0, tp / union, np.nan)
    return float(np.nanmean(iou)) if np.isfinite(iou).any() else float("nan"), iou


def pixel_accuracy(confusion: np.ndarray) -> float:
    """Fraction of pixels labelled correctly.

    >>> pixel_accuracy(np.array([[1, 1], [0, 1]]))
    0.6666666666666666
    """
    confusion = np.asarray(confusion)
    total = confusion.sum()
    return float(np.trace(confusion) / total) if total else float("nan")


def _boundaries(labels):
    """Pixels whose right or lower neighbour has another label, and those neighbours."""
    edge = np.zeros(labels.shape, bool)
    dy = labels[..., 1:, :] != labels[..., :-1, :]
    dx = labels[..., :, 1:] != labels[..., :, :-1]
    edge[..., 1:, :] |= dy
    edge[..., :-1, :] |= dy
    edge[..., :, 1:] |= dx
    edge[..., :, :-1] |= dx
    return edge


def _near(edges, tolerance):
    """Pixels within ``tolerance`` (chessboard distance) of an edge pixel, per image."""
    size = (1,) * (edges.ndim - 2) + (2 * tolerance + 1,) * 2
    return ndimage.maximum_filter(edges, size=size, mode="constant")


def boundary_f1(pred, target, tolerance: int = 2) -> float:
    """Mean over classes of the F1 score of each class's boundary, within ``tolerance`` pixels.

    For every class ``k`` present in ``pred`` or ``target``, the boundary of the mask
    ``== k`` is compared in both: a predicted boundary pixel counts as correct
    (precision) if a true one lies within ``tolerance`` (chessboard distance), a
    true one as found (recall) if a predicted one does; counts are pooled over the
    images. This is the boundary F-measure of contour benchmarks, per class: unlike
    IoU it rewards sharp, well-placed edges of the right class, which is where
    upsampling shows, and punishes speckle.

    >>> t = np.zeros((1, 8, 8), int); t[0, 2:6, 2:6] = 1
    >>> boundary_f1(t, t)
    1.0
    >>> boundary_f1(np.zeros_like(t), t)
    0.0
    """
    pred, target = _check_labels(pred, target)
    check_int(tolerance, "tolerance", 0)
    if pred.ndim < 2:
        raise ValueError(f"pred and target must be label maps (..., H, W), got {pred.shape}")
    scores = []
    for k in np.union1d(np.unique(pred), np.unique(target)):
        pe, te = _boundaries(pred == k), _boundaries(target == k)
        n_pred, n_true = pe.sum(), te.sum()
        if n_pred == 0 and n_true == 0:
            continue            # the class fills every image in both: no boundary to find
        precision = (pe & _near(te, tolerance)).sum() / n_pred if n_pred else 0.0
        recall = (te & _near(pe, tolerance)).sum() / n_true if n_true else 0.0
        total = precision + recall
        scores.append(2 * precision * recall / total if total else 0.0)
    return float(np.mean(scores)) if scores else 1.0


def checkerboard_score(scores, period: int) -> float:
    """Share of the variance of ``scores`` explained by the position modulo ``period``.

    ``scores`` is ``(N, C, H, W)``, e.g. a network's upsampled class scores, with
    ``H`` and ``W`` multiples of ``period`` (the total upsampling factor). Every
    map is cut into ``period x period`` blocks; the score is the variance of the
    mean block (the average over all blocks, images and channels after removing
    each map's mean) divided by the variance of the maps. Content at random
    positions averages out of the mean block, so the score is near 0 for an
    upsampling that treats every output phase alike (bilinear, ideally) and grows
    with the periodic "checkerboard" pattern that uneven kernel overlap in a
    transposed convolution produces (Odena et al., 2016).

    >>> y = np.random.default_rng(0).normal(size=(8, 2, 32, 32))
    >>> checkerboard_score(y, 2) < 0.01
    True
    >>> y[..., ::2, ::2] += 3.0
    >>> checkerboard_score(y, 2) > 0.5
    True
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 4:
        raise ValueError(f"scores must be (N, C, H, W), got shape {scores.shape}")
    check_int(period, "period")
    n, c, h, w = scores.shape
    if h % period or w % period:
        raise ValueError(f"H and W must be multiples of period={period}, got {h}x{w}")
    centred = scores - scores.mean(axis=(2, 3), keepdims=True)
    total = centred.var()
    if total == 0:
        return 0.0
    blocks = centred.reshape(n * c, h // period, period, w // period, period)
    mean_block = blocks.mean(axis=(0, 1, 3))
    return float(mean_block.var() / total)


def segmentation_metrics(pred, target, num_classes: int, tolerance: int = 2) -> dict:
    """Mean IoU, per-class IoU, pixel accuracy and boundary F1 as a JSON-ready dict."""
    confusion = confusion_matrix(pred, target, num_classes)
    miou, per_class = mean_iou(confusion)
    return {"mean_iou": miou,
            "iou_per_class": [None if np.isnan(v) else float(v) for v in per_class],
            "pixel_accuracy": pixel_accuracy(confusion),
            "boundary_f1": boundary_f1(pred, target, tolerance)}
