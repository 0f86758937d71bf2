"""Pointwise activations: :class:`ReLU`, :class:`LeakyReLU`, :class:`Identity`."""

from __future__ import annotations

import numpy as np

from .module import Module, check_real

__all__ = ["ReLU", "LeakyReLU", "Identity"]


class _Pointwise(Module):
    def __init__(self):
        super().__init__()
        self._slope = None

    def _saved(self):
        if self._slope is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        return self._slope


class ReLU(_Pointwise):
    """``max(x, 0)``; the gradient at 0 is 0, as in PyTorch.

    Examples
    --------
    >>> import numpy as np
    >>> relu = ReLU()
    >>> relu.forward(np.array([-1.0, 0.0, 2.0]))
    array([0., 0., 2.])
    >>> relu.backward(np.ones(3))
    array([0., 0., 1.])
    """

    def forward(self, x):
        zero = np.zeros((), x.dtype)
        self._slope = np.greater(x, zero, order="C")
        return np.maximum(x, zero, order="C")

    def backward(self, dy):
        mask = self._saved()
        if dy.shape != mask.shape:
            raise ValueError(f"dy must have the output shape {mask.shape}, got {dy.shape}")
        # a product with the 0/1 bytes of the mask: several times faster than np.where
        return np.multiply(dy, mask.view(np.uint8), order="C")


class LeakyReLU(_Pointwise):
    """``x`` for ``x > 0``, ``negative_slope * x`` otherwise.

    Parameters
    ----------
    negative_slope : float
        Default 0.01, as in PyTorch.

    Examples
    --------
    >>> import numpy as np
    >>> LeakyReLU(0.1).forward(np.array([-2.0, 3.0]))
    array([-0.2,  3. ])
    """

    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        self.negative_slope = check_real(negative_slope, "negative_slope")

    def forward(self, x):
        self._slope = np.where(x > 0, 1.0, self.negative_slope).astype(x.dtype, order="C")
        return np.multiply(x, self._slope, order="C")

    def backward(self, dy):
        return np.multiply(dy, self._saved(), order="C")

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class Identity(Module):
    """``y = x`` (a copy); useful as a placeholder branch."""

    def forward(self, x):
        return np.array(x, order="C", copy=True)

    def backward(self, dy):
        return np.array(dy, order="C", copy=True)
