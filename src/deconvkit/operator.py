"""The convolution C and its adjoint Cᵀ as one linear operator.

:class:`ConvOperator` is a :class:`scipy.sparse.linalg.LinearOperator` on flattened
samples, so SciPy's solvers (``cg``, ``lsqr``, ``lsmr``...) can use it, and it keeps the
array view: ``op.forward(x)`` is ``conv``, ``op.adjoint(y)`` is ``conv_transpose``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.sparse.linalg import LinearOperator

from . import functional as F
from .functional._grads import sample_spec

__all__ = ["ConvOperator"]


class ConvOperator(LinearOperator):
    """C for fixed weights and input shape; ``op.T`` / ``op.H`` is the transposed convolution.

    Parameters
    ----------
    w : (C_out, C_in/groups, *k) ndarray
    input_shape : tuple of int
        ``(C_in, *spatial)`` of one sample.
    stride, padding, dilation, groups
        As for :func:`deconvkit.conv`.
    method : str
        Algorithm for both directions.

    Examples
    --------
    >>> import numpy as np
    >>> op = ConvOperator(np.ones((1, 1, 3)), (1, 5), padding="same")
    >>> op.shape
    (5, 5)
    >>> op.matvec(np.arange(5.0))
    array([1., 3., 6., 9., 7.])
    >>> op.rmatvec(np.ones(5))
    array([2., 3., 3., 3., 2.])
    """

    def __init__(self, w, input_shape, *, stride=1, padding=0, dilation=1, groups=1,
                 method="auto"):
        self.w, self.input_shape, self.spec = sample_spec(
            w, input_shape, stride=stride, padding=padding, dilation=dilation, groups=groups)
        self.method = method
        self.output_shape = (w.shape[0],) + self.spec.conv_output_size(self.input_shape[1:])
        shape = (math.prod(self.output_shape), math.prod(self.input_shape))
        super().__init__(dtype=self.w.dtype, shape=shape)

    def _kwargs(self):
        s = self.spec
        return dict(stride=s.stride, padding=s.padding, dilation=s.dilation, groups=s.groups,
                    method=self.method)

    def forward(self, x):
        """``conv`` of ``x`` of shape ``(N, *input_shape)``."""
        return F.conv(x, self.w, **self._kwargs())

    def adjoint(self, y):
        """``conv_transpose`` of ``y`` of shape ``(N, *output_shape)``, back to the input shape."""
        return F.conv_transpose(y, self.w, output_size=self.input_shape[1:], **self._kwargs())

    def _matvec(self, v):
        x = np.asarray(v, dtype=self.dtype).reshape((1,) + self.input_shape)
        return self.forward(x).reshape(-1)

    def _rmatvec(self, v):
        y = np.asarray(v, dtype=self.dtype).reshape((1,) + self.output_shape)
        return self.adjoint(y).reshape(-1)

    def _matmat(self, m):
        return np.column_stack([self._matvec(c) for c in np.asarray(m).T])

    def _rmatmat(self, m):
        return np.column_stack([self._rmatvec(c) for c in np.asarray(m).T])
