"""Learning-rate schedules for training runs: linear warm-up, then cosine decay.

Adam at a high learning rate on freshly initialized BatchNorm statistics can
take a few wild steps; a linear warm-up from a small fraction of the rate to the
full rate over the first steps avoids that and lets the peak rate be higher.
"""

from __future__ import annotations

import math

from .._checks import check_int
from ..nn import LRSchedule

__all__ = ["WarmupCosineLR", "warmup_cosine"]


def warmup_cosine(step: int, total: int, warmup: int = 0, start: float = 0.1,
                  final: float = 0.0) -> float:
    """The factor of the base learning rate after ``step`` of ``total`` steps.

    Rises linearly from ``start`` (step 0) to 1 at step ``warmup``, then falls as a
    half cosine to ``final`` at step ``total``, and stays there.

    >>> [round(warmup_cosine(s, 10, 2), 3) for s in (0, 1, 2, 6, 10, 12)]
    [0.1, 0.55, 1.0, 0.5, 0.0, 0.0]
    """
    if step < warmup:
        return start + (1 - start) * step / warmup
    t = min(step - warmup, total - warmup) / max(total - warmup, 1)
    return final + (1 - final) * (1 + math.cos(math.pi * t)) / 2


class WarmupCosineLR(LRSchedule):
    """:func:`warmup_cosine` as a schedule: call :meth:`step` after every optimizer step.

    Parameters
    ----------
    optimizer : deconvkit.nn.Optimizer
        Its ``lr`` at creation is the peak rate; it is set to the warm-up's first
        rate at once, so the first step already runs warmed down.
    total_steps, warmup_steps : int
        ``warmup_steps < total_steps``; 0 is a plain cosine decay.
    start, final : float
        Fractions of the peak rate at step 0 and at the end.

    Examples
    --------
    >>> import numpy as np
    >>> from deconvkit import nn
    >>> opt = nn.SGD([nn.Parameter(np.zeros(1))], lr=1.0)
    >>> schedule = WarmupCosineLR(opt, total_steps=10, warmup_steps=2)
    >>> opt.lr, schedule.step(), schedule.step(), schedule.lr_at(6)
    (0.1, 0.55, 1.0, 0.5)
    """

    def __init__(self, optimizer, total_steps, warmup_steps=0, start=0.1, final=0.0):
        super().__init__(optimizer)
        self.total_steps = check_int(total_steps, "total_steps")
        self.warmup_steps = check_int(warmup_steps, "warmup_steps", 0, self.total_steps - 1)
        if not 0 <= start <= 1 or not 0 <= final <= 1:
            raise ValueError(f"start and final must be in [0, 1], got {start} and {final}")
        self.start, self.final = float(start), float(final)
        optimizer.lr = self.lr_at(0)

    def factor(self, step):
        return warmup_cosine(step, self.total_steps, self.warmup_steps, self.start,
                             self.final)
