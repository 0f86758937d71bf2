"""Training and evaluation of an FCN on the ``shapes`` data: one run, start to end.

:func:`fit` trains any :class:`~deconvkit.nn.Module` mapping images to class
scores with pixelwise softmax cross-entropy; :func:`evaluate` scores it on held-out
images; :func:`run` does both for one :class:`RunConfig` (a head and an upsampling
variant of :func:`deconvkit.nn.fcn`) and returns a :class:`RunResult`.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from .._checks import check_int
from .. import nn
from ..datasets import iterate_batches
from .metrics import checkerboard_score, segmentation_metrics

__all__ = ["RunConfig", "RunResult", "fit", "evaluate", "run", "make_optimizer",
           "class_weights", "predict"]

OPTIMIZERS = ("adam", "sgd")
CLASS_WEIGHTS = ("sqrt", "balanced", "none")


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """What one training run builds and how long it trains.

    Attributes
    ----------
    head, upsampling : str
        The model, :func:`deconvkit.nn.fcn` ``(head, upsampling)``.
    epochs : int
        Passes over the training images.
    batch_size : int
    optimizer : {"adam", "sgd"}
        Adam, or SGD with momentum 0.9 (FCN's choice); both with a cosine decay
        of the learning rate to 0 over the run.
    lr : float
    weight_decay : float
    width : int
        Encoder width of :func:`deconvkit.nn.fcn`.
    class_weights : {"sqrt", "balanced", "none"}
        Loss weight of each class from its pixel frequency ``f_c`` in the training
        labels (see :func:`class_weights`): ``sqrt(median(f) / f_c)``,
        ``median(f) / f_c`` (median-frequency balancing) or 1. Background covers most
        pixels of ``shapes``; unweighted, a short run learns little beyond it.
    seed : int
        Seeds the initial weights and the order of the batches.
    """

    head: str = "fcn8s"
    upsampling: str = "learned_bilinear"
    epochs: int = 8
    batch_size: int = 16
    optimizer: str = "adam"
    lr: float = 3e-3
    weight_decay: float = 1e-4
    width: int = 16
    class_weights: str = "sqrt"
    seed: int = 0

    def __post_init__(self):
        if self.head not in nn.HEADS:
            raise ValueError(f"head must be one of {nn.HEADS}, got {self.head!r}")
        if self.upsampling not in nn.UPSAMPLINGS:
            raise ValueError(f"upsampling must be one of {nn.UPSAMPLINGS}, "
                             f"got {self.upsampling!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.class_weights not in CLASS_WEIGHTS:
            raise ValueError(f"class_weights must be one of {CLASS_WEIGHTS}, "
                             f"got {self.class_weights!r}")
        for name in ("epochs", "batch_size", "width"):
            check_int(getattr(self, name), name)
        if not self.lr > 0 or self.weight_decay < 0:
            raise ValueError(f"lr must be > 0 and weight_decay >= 0, got {self.lr} and "
                             f"{self.weight_decay}")

    @property
    def name(self) -> str:
        return f"{self.head}/{self.upsampling}"


@dataclasses.dataclass
class RunResult:
    """What :func:`run` measured. ``metrics`` are on the validation images."""

    config: RunConfig
    metrics: dict
    losses: list
    train_seconds: float
    train_images: int
    images_per_second: float
    model: nn.Module = dataclasses.field(repr=False)
    predictions: np.ndarray = dataclasses.field(repr=False)

    def summary(self) -> dict:
        """A JSON-ready dict: the config, metrics, timing and the loss curve."""
        return {"name": self.config.name, "config": dataclasses.asdict(self.config),
                **self.metrics, "train_seconds": round(self.train_seconds, 2),
                "train_images": self.train_images,
                "images_per_second": round(self.images_per_second, 1),
                "final_loss": self.losses[-1] if self.losses else None,
                "losses": self.losses}


def class_weights(labels, num_classes: int, kind: str = "sqrt") -> np.ndarray | None:
    """Per-class loss weights from the pixel frequencies of ``labels`` (``None`` for "none").

    Classes absent from ``labels`` get the largest weight of the present ones.

    >>> class_weights(np.array([0, 0, 0, 1]), 2, "balanced").tolist()
    [0.6666666666666666, 2.0]
    """
    if kind not in CLASS_WEIGHTS:
        raise ValueError(f"kind must be one of {CLASS_WEIGHTS}, got {kind!r}")
    if kind == "none":
        return None
    freq = np.bincount(np.asarray(labels).ravel(), minlength=num_classes)[:num_classes]
    freq = freq / max(freq.sum(), 1)
    present = freq > 0
    if not present.any():
        return np.ones(num_classes)
    weights = np.zeros(num_classes)
    weights[present] = np.median(freq[present]) / freq[present]
    weights[~present] = weights[present].max()
    return np.sqrt(weights) if kind == "sqrt" else weights


def make_optimizer(model, config: RunConfig, total_steps: int):
    """The optimizer and cosine learning-rate schedule of ``config``."""
    if config.optimizer == "adam":
        opt = nn.Adam(model, lr=config.lr, weight_decay=config.weight_decay)
    else:
        opt = nn.SGD(model, lr=config.lr, momentum=0.9, weight_decay=config.weight_decay)
    return opt, nn.CosineLR(opt, total_steps)


def _progress(total, desc, enabled):
    """A tqdm bar counting images, or a silent stand-in when disabled."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="img", disable=not enabled, leave=True,
                dynamic_ncols=True)


def fit(model, images, labels, config: RunConfig, *, loss=None, progress=True):
    """Train ``model`` in place on ``(images, labels)``; return the per-step losses.

    Parameters
    ----------
    model : Module
        Maps ``(N, 3, H, W)`` images to ``(N, C, H, W)`` scores.
    images, labels : ndarray
        ``(N, 3, H, W)`` float and ``(N, H, W)`` int, e.g. from
        :func:`deconvkit.datasets.shapes`. Neither is modified.
    config : RunConfig
        Epochs, batch size, optimizer, learning rate and the seed of the batch order.
    loss : Module, optional
        Default :class:`~deconvkit.nn.SoftmaxCrossEntropy`.
    progress : bool
        Show a tqdm bar with the loss and images/s.

    Returns
    -------
    list of float
        The training loss of every step.
    """
    if len(images) != len(labels) or len(images) == 0:
        raise ValueError(f"need the same, non-zero number of images and labels, got "
                         f"{len(images)} and {len(labels)}")
    loss = nn.SoftmaxCrossEntropy() if loss is None else loss
    steps_per_epoch = -(-len(images) // config.batch_size)
    opt, schedule = make_optimizer(model, config, config.epochs * steps_per_epoch)
    rng = np.random.default_rng(config.seed)
    losses = []
    model.train()
    with _progress(config.epochs * len(images), config.name, progress) as bar:
        for epoch in range(config.epochs):
            for x, y in iterate_batches(images, labels, batch_size=config.batch_size, rng=rng):
                opt.zero_grad()
                value = float(loss.forward(model.forward(x), y))
                if not np.isfinite(value):
                    raise FloatingPointError(f"{config.name}: the loss became {value} at step "
                                             f"{len(losses) + 1}; lower the learning rate")
                model.backward(loss.backward())
                opt.step()
                schedule.step()
                losses.append(value)
                bar.set_postfix(epoch=epoch + 1, loss=f"{value:.3f}", refresh=False)
                bar.update(len(x))
    return losses


def predict(model, images, batch_size=32):
    """Class scores ``(N, C, H, W)`` of ``images`` in eval mode, batch by batch."""
    model.eval()
    out = [model.forward(images[i:i + batch_size]) for i in range(0, len(images), batch_size)]
    return np.concatenate(out)


def evaluate(model, images, labels, num_classes: int, *, period: int = 8,
             batch_size: int = 32) -> tuple[dict, np.ndarray]:
    """Validation metrics of ``model`` and its predicted labels.

    Returns
    -------
    metrics : dict
        ``mean_iou``, ``iou_per_class``, ``pixel_accuracy``, ``boundary_f1`` (see
        :mod:`~deconvkit.train.metrics`) and ``checkerboard`` (of the scores, with the
        model's output stride ``period``).
    predictions : (N, H, W) int ndarray
    """
    scores = predict(model, images, batch_size)
    predictions = scores.argmax(axis=1)
    metrics = segmentation_metrics(predictions, labels, num_classes)
    metrics["checkerboard"] = checkerboard_score(scores, period)
    return metrics, predictions


def run(config: RunConfig, train, val, *, num_classes: int = 6, progress=True) -> RunResult:
    """Build ``fcn(config.head, config.upsampling)``, train it on ``train``, score it on ``val``.

    ``train`` and ``val`` are ``(images, labels)`` pairs.
    """
    model = nn.fcn(config.head, config.upsampling, num_classes=num_classes,
                   width=config.width, seed=config.seed, input_grad=False)
    weights = class_weights(train[1], num_classes, config.class_weights)
    t0 = time.perf_counter()
    losses = fit(model, *train, config, loss=nn.SoftmaxCrossEntropy(weight=weights),
                 progress=progress)
    seconds = time.perf_counter() - t0
    metrics, predictions = evaluate(model, *val, num_classes)
    n = config.epochs * len(train[0])
    return RunResult(config, metrics, losses, seconds, n, n / seconds, model, predictions)
