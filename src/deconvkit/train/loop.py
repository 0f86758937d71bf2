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
from .augment import flip_shift
from .metrics import checkerboard_score, segmentation_metrics
from .schedule import WarmupCosineLR

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
    width, depth, blocks : int
        Encoder width, blocks at stride 8 and blocks before each pool of
        :func:`deconvkit.nn.fcn`.
    class_weights : {"sqrt", "balanced", "none"}
        Loss weight of each class from its pixel frequency ``f_c`` in the training
        labels (see :func:`class_weights`): ``sqrt(median(f) / f_c)``,
        ``median(f) / f_c`` (median-frequency balancing) or 1. Background covers most
        pixels of ``shapes``; unweighted, a short run learns little beyond it.
    seed : int
        Seeds the initial weights, the order of the batches and the augmentation.
    augment : bool
        Train on a random symmetry of the square and a shift of up to ``max_shift``
        pixels of every image and its labels (:func:`~deconvkit.train.augment.flip_shift`),
        drawn anew for every batch.
    max_shift : int
    warmup_epochs : float
        Raise the learning rate linearly from a tenth of ``lr`` over this many epochs
        before the cosine decay (:class:`~deconvkit.train.schedule.WarmupCosineLR`).
    """

    head: str = "fcn8s"
    upsampling: str = "learned_bilinear"
    epochs: int = 8
    batch_size: int = 16
    optimizer: str = "adam"
    lr: float = 3e-3
    weight_decay: float = 1e-4
    width: int = 16
    depth: int = 1
    blocks: int = 1
    class_weights: str = "sqrt"
    seed: int = 0
    augment: bool = False
    max_shift: int = 8
    warmup_epochs: float = 0.0

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
        for name in ("epochs", "batch_size", "width", "depth", "blocks"):
            check_int(getattr(self, name), name)
        check_int(self.max_shift, "max_shift", 0)
        if not isinstance(self.augment, bool):
            raise TypeError(f"augment must be a bool, got {self.augment!r}")
        if not 0 <= self.warmup_epochs < self.epochs:
            raise ValueError(f"warmup_epochs must be in [0, epochs), got {self.warmup_epochs}")
        if not self.lr > 0 or self.weight_decay < 0:
            raise ValueError(f"lr must be > 0 and weight_decay >= 0, got {self.lr} and "
                             f"{self.weight_decay}")

    @property
    def name(self) -> str:
        return f"{self.head}/{self.upsampling}"


@dataclasses.dataclass
class RunResult:
    """What :func:`run` measured. ``metrics`` are on the validation images; ``curve``
    lists them after every epoch when :func:`run` was asked to record it."""

    config: RunConfig
    metrics: dict
    losses: list
    train_seconds: float
    train_images: int
    images_per_second: float
    model: nn.Module = dataclasses.field(repr=False)
    predictions: np.ndarray = dataclasses.field(repr=False)
    curve: list = dataclasses.field(default_factory=list, repr=False)

    def summary(self) -> dict:
        """A JSON-ready dict: the config, metrics, timing, the loss curve and, when
        recorded, the validation curve (metrics after every epoch)."""
        extra = {"curve": self.curve} if self.curve else {}
        return {"name": self.config.name, "config": dataclasses.asdict(self.config),
                **self.metrics, "train_seconds": round(self.train_seconds, 2),
                "train_images": self.train_images,
                "images_per_second": round(self.images_per_second, 1),
                "final_loss": self.losses[-1] if self.losses else None,
                "losses": self.losses, **extra}

    def model_meta(self, data: dict) -> dict:
        """What a saved model keeps of this run (:func:`deconvkit.nn.save_model`'s
        ``meta``): the config and scores of :meth:`summary`, and ``data`` (the
        :class:`DataConfig` as a dict) with the validation split named."""
        summary = self.summary()
        keep = ("name", "config", "mean_iou", "iou_per_class", "pixel_accuracy", "boundary_f1",
                "checkerboard", "train_seconds", "train_images", "images_per_second")
        return {k: summary[k] for k in keep} | {"data": {"val_split": "val"} | dict(data)}


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


def make_optimizer(model, config: RunConfig, total_steps: int, warmup_steps: int = 0):
    """The optimizer and learning-rate schedule of ``config``: cosine decay to 0 after
    ``warmup_steps`` of linear warm-up (none: :class:`~deconvkit.nn.CosineLR`)."""
    if config.optimizer == "adam":
        opt = nn.Adam(model, lr=config.lr, weight_decay=config.weight_decay)
    else:
        opt = nn.SGD(model, lr=config.lr, momentum=0.9, weight_decay=config.weight_decay)
    if warmup_steps == 0:
        return opt, nn.CosineLR(opt, total_steps)
    return opt, WarmupCosineLR(opt, total_steps, warmup_steps)


def _progress(total, desc, enabled):
    """A tqdm bar counting images, or a silent stand-in when disabled."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="img", disable=not enabled, leave=True,
                dynamic_ncols=True)


def _batches(images, labels, config: RunConfig, rng):
    """One epoch of shuffled batches, augmented when ``config.augment``."""
    for x, y in iterate_batches(images, labels, batch_size=config.batch_size, rng=rng):
        if config.augment:
            x, y = flip_shift(x, y, rng, max_shift=config.max_shift)
        yield x, y


def fit(model, images, labels, config: RunConfig, *, loss=None, progress=True,
        on_epoch=None):
    """Train ``model`` in place on ``(images, labels)``; return the per-step losses.

    Parameters
    ----------
    model : Module
        Maps ``(N, 3, H, W)`` images to ``(N, C, H, W)`` scores.
    images, labels : ndarray
        ``(N, 3, H, W)`` float and ``(N, H, W)`` int, e.g. from
        :func:`deconvkit.datasets.shapes`. Neither is modified.
    config : RunConfig
        Epochs, batch size, optimizer, learning rate, warm-up, augmentation and the
        seed of the batch order and the augmentation.
    loss : Module, optional
        Default :class:`~deconvkit.nn.SoftmaxCrossEntropy`.
    progress : bool
        Show a tqdm bar with the loss and images/s.
    on_epoch : callable, optional
        ``on_epoch(epoch, model)`` after every epoch (1-based), e.g. to validate; the
        model is back in training mode afterwards.

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
    opt, schedule = make_optimizer(model, config, config.epochs * steps_per_epoch,
                                   round(config.warmup_epochs * steps_per_epoch))
    rng = np.random.default_rng(config.seed)
    losses = []
    model.train()
    with _progress(config.epochs * len(images), config.name, progress) as bar:
        for epoch in range(config.epochs):
            for x, y in _batches(images, labels, config, rng):
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
            if on_epoch is not None:
                on_epoch(epoch + 1, model)
                model.train()
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


def _curve_recorder(val, num_classes, curve):
    """An ``on_epoch`` callback appending validation metrics to ``curve``; it returns
    the seconds spent validating so far."""
    spent = [0.0]

    def on_epoch(epoch, model):
        t0 = time.perf_counter()
        metrics, _ = evaluate(model, *val, num_classes)
        spent[0] += time.perf_counter() - t0
        curve.append({"epoch": epoch, "mean_iou": round(metrics["mean_iou"], 4),
                      "iou_per_class": [None if v is None else round(v, 4)
                                        for v in metrics["iou_per_class"]],
                      "pixel_accuracy": round(metrics["pixel_accuracy"], 4)})

    return on_epoch, spent


def run(config: RunConfig, train, val, *, num_classes: int = 6, progress=True,
        curve=False) -> RunResult:
    """Build ``fcn(config.head, config.upsampling)``, train it on ``train``, score it on ``val``.

    ``train`` and ``val`` are ``(images, labels)`` pairs. With ``curve``, the model is
    also scored on ``val`` after every epoch (``RunResult.curve``); that time is not
    counted in ``train_seconds``.
    """
    model = nn.fcn(config.head, config.upsampling, num_classes=num_classes,
                   width=config.width, depth=config.depth, blocks=config.blocks,
                   seed=config.seed, input_grad=False)
    weights = class_weights(train[1], num_classes, config.class_weights)
    points = []
    on_epoch, spent = _curve_recorder(val, num_classes, points) if curve else (None, [0.0])
    t0 = time.perf_counter()
    losses = fit(model, *train, config, loss=nn.SoftmaxCrossEntropy(weight=weights),
                 progress=progress, on_epoch=on_epoch)
    seconds = time.perf_counter() - t0 - spent[0]
    metrics, predictions = evaluate(model, *val, num_classes)
    n = config.epochs * len(train[0])
    return RunResult(config, metrics, losses, seconds, n, n / seconds, model, predictions,
                     points)
