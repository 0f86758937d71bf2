"""Layers that join branches: :class:`Add` (FCN's skip fusion) and :class:`Concat` (U-Net's).

Both take several inputs, so ``backward(dy)`` returns a tuple with one gradient
per input, in the order of ``forward``'s arguments.
"""

from __future__ import annotations

import numpy as np

from .._checks import describe, is_int
from .module import Module, fresh

__all__ = ["Add", "Concat"]


class Add(Module):
    """Elementwise sum of inputs of one shape (no broadcasting).

    Examples
    --------
    >>> import numpy as np
    >>> add = Add()
    >>> add.forward(np.ones(2), np.arange(2.0))
    array([1., 2.])
    >>> add.backward(np.array([3.0, 4.0]))
    (array([3., 4.]), array([3., 4.]))
    """

    def __init__(self):
        super().__init__()
        self._count = None

    def forward(self, *xs):
        if len(xs) < 2:
            raise ValueError(f"Add needs at least two inputs, got {len(xs)}")
        shapes = {x.shape for x in xs}
        if len(shapes) != 1:
            raise ValueError(f"Add needs inputs of one shape, got {[x.shape for x in xs]}; "
                             f"align branches with Crop first")
        self._count = len(xs)
        y = np.add(xs[0], xs[1], order="C")
        for x in xs[2:]:
            y += x
        return y

    def backward(self, dy):
        if self._count is None:
            raise RuntimeError("Add.backward called before forward")
        return tuple(np.array(dy, order="C", copy=True) for _ in range(self._count))


class Concat(Module):
    """Concatenation along ``axis`` (default 1, the channels).

    Examples
    --------
    >>> import numpy as np
    >>> cat = Concat()
    >>> cat.forward(np.zeros((1, 2, 3)), np.ones((1, 1, 3))).shape
    (1, 3, 3)
    >>> [g.shape for g in cat.backward(np.zeros((1, 3, 3)))]
    [(1, 2, 3), (1, 1, 3)]
    """

    def __init__(self, axis: int = 1):
        super().__init__()
        if not is_int(axis):
            raise TypeError(f"axis must be an int, got {describe(axis)}")
        self.axis = int(axis)
        self._splits = None

    def forward(self, *xs):
        if len(xs) < 1:
            raise ValueError("Concat needs at least one input")
        self._splits = np.cumsum([x.shape[self.axis] for x in xs])[:-1]
        return fresh(np.concatenate(xs, axis=self.axis))  # C order for inputs of any layout

    def backward(self, dy):
        if self._splits is None:
            raise RuntimeError("Concat.backward called before forward")
        return tuple(part.copy() for part in np.split(dy, self._splits, axis=self.axis))

    def extra_repr(self):
        return f"axis={self.axis}"
