"""Named training recipes: a model, an optimizer, a schedule, augmentation and data, chosen together.

``RECIPES["converge"]`` trains FCN-8s with learned bilinear upsampling on
``shapes`` far longer than the comparison (4x the data, 24 epochs, augmented,
with warm-up, two conv blocks before each pool and three at stride 8). It reaches
mean IoU 0.673 with every class at least 0.51, short of the 0.75 aimed for;
``benchmarks/train/convergence.md`` has what was tried, the curves and times.
"""

from __future__ import annotations

import dataclasses

from .compare import DataConfig
from .loop import RunConfig

__all__ = ["Recipe", "RECIPES", "get_recipe"]


@dataclasses.dataclass(frozen=True)
class Recipe:
    """A :class:`RunConfig` and the :class:`DataConfig` it was measured with.

    Attributes
    ----------
    name : str
    config : RunConfig
    data : DataConfig
    description : str
        One line: what the recipe is for and what it reached.
    """

    name: str
    config: RunConfig
    data: DataConfig
    description: str = ""


RECIPES = {
    "converge": Recipe(
        "converge",
        RunConfig("fcn8s", "learned_bilinear", epochs=24, batch_size=16, lr=3e-3,
                  width=16, depth=3, blocks=2, augment=True, max_shift=8,
                  warmup_epochs=1.0),
        DataConfig(n_train=4000, n_val=200, size=64, seed=0),
        "FCN-8s, learned bilinear, width 16, two blocks before each pool and three at "
        "stride 8: 24 epochs of 4000 images, flips, turns and shifts, 1 epoch of warm-up "
        "then cosine decay"),
}
"""The named recipes; ``deconvkit train --recipe NAME`` trains one."""


def get_recipe(name: str) -> Recipe:
    """The recipe called ``name`` (a key of :data:`RECIPES`).

    >>> get_recipe("converge").config.head
    'fcn8s'
    """
    if name not in RECIPES:
        raise ValueError(f"unknown recipe {name!r}; choose one of {tuple(RECIPES)}")
    return RECIPES[name]
