"""Comparisons of upsampling variants and FCN heads under one seed and one budget.

:func:`comparison_configs` lists the runs of ``deconvkit train --compare``: every
way of upsampling (:data:`deconvkit.nn.UPSAMPLINGS`) on one head, then the other
heads with one upsampling, so both questions of the FCN paper are asked with
everything else fixed: does a learned upsampling beat a fixed one, and does skip
fusion beat a single upsampling step?
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .._checks import check_int
from .. import nn
from ..datasets import shapes_splits
from .loop import RunConfig, run

__all__ = ["DataConfig", "comparison_configs", "compare", "QUICK", "FULL", "load_data"]


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """Which ``shapes`` images a run trains and is validated on."""

    n_train: int = 1000
    n_val: int = 200
    size: int = 64
    seed: int = 0

    def __post_init__(self):
        for name in ("n_train", "n_val"):
            check_int(getattr(self, name), name)
        if isinstance(self.size, bool) or not isinstance(self.size, (int, np.integer)) \
                or self.size < 8 or self.size % 8:
            raise ValueError(f"size must be a positive multiple of 8 (the FCN output stride), "
                             f"got {self.size!r}")


def load_data(data: DataConfig):
    """``(train, val)`` pairs of ``(images, labels)`` from :func:`deconvkit.datasets.shapes`."""
    return shapes_splits(data.n_train, data.n_val, size=data.size, seed=data.seed)


QUICK = dict(data=DataConfig(n_train=512, n_val=64), epochs=6,
             upsamplings=("bilinear", "learned_bilinear", "learned_random", "deconv_stack"),
             heads=("fcn8s",))
"""``--quick``: four variants on FCN-32s, then FCN-8s; 6 epochs of 512 images, about a
minute on 2 cores. Too short to rank the variants (see :data:`FULL`), long enough to see
the pipeline work and a randomly initialized deconvolution's checkerboard."""

FULL = dict(data=DataConfig(), epochs=12, upsamplings=nn.UPSAMPLINGS,
            heads=("fcn16s", "fcn8s"))
"""``--compare``: every variant on FCN-32s, then FCN-16s and FCN-8s (learned bilinear);
12 epochs of 1000 images each, about 8 minutes on 2 cores."""


def comparison_configs(base: RunConfig, upsamplings=nn.UPSAMPLINGS,
                       heads=("fcn16s", "fcn8s")) -> list[RunConfig]:
    """Every upsampling of ``upsamplings`` on ``base.head``, then ``base.upsampling`` on
    every other head of ``heads``; all other settings from ``base``.

    >>> [c.name for c in comparison_configs(RunConfig("fcn32s", "learned_bilinear"),
    ...                                     ("bilinear", "learned_bilinear"), ("fcn8s",))]
    ['fcn32s/bilinear', 'fcn32s/learned_bilinear', 'fcn8s/learned_bilinear']
    """
    configs = [dataclasses.replace(base, upsampling=u) for u in upsamplings]
    configs += [dataclasses.replace(base, head=h) for h in heads if h != base.head]
    return configs


def compare(configs, train, val, *, num_classes: int = 6, progress=True, on_result=None,
            curve=False):
    """:func:`~deconvkit.train.loop.run` every config on the same data; list of results.

    ``on_result(result)`` is called after each run (e.g. to print a line); ``curve``
    records the validation metrics after every epoch.
    """
    results = []
    for config in configs:
        result = run(config, train, val, num_classes=num_classes, progress=progress,
                     curve=curve)
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results
