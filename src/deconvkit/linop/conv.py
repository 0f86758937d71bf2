"""The convolution C and its adjoint Cᵀ as one linear operator."""

from __future__ import annotations

import math

import numpy as np
from scipy.sparse.linalg import LinearOperator

from .. import functional as F
from ..functional._grads import sample_spec

__all__ = ["ConvOperator"]


class ConvOperator(LinearOperator):
    """C for fixed weights and input shape; ``op.H`` (= ``op.T``) is the transposed convolution.

    Parameters
    ----------
    w : (C_out, C_in/groups, *k) ndarray, float32 or float64
    input_shape : tuple of int
        ``(C_in, *spatial)`` of one sample: the operator's ``dims``.
    stride, padding, dilation, groups
        As for :func:`deconvkit.conv`.
    method : str
        Algorithm for both directions (``"auto"`` or one of
        :func:`deconvkit.available_methods`).
    spec : ConvSpec, optional
        The geometry as one object, instead of the keywords.

    Attributes
    ----------
    dims : tuple of int
        ``(C_in, *spatial)``, the shape of one model sample.
    dimsd : tuple of int
        ``(C_out, *out)``, the shape of one data sample.
    spec : ConvSpec
        The convolution's geometry; the adjoint uses it with the ``output_padding`` that
        gives back ``dims``.
    shape : (prod(dimsd), prod(dims))

    Notes
    -----
    ``matmat(M)`` with ``M`` of shape ``(prod(dims), K)`` runs one call on a batch of
    ``K`` samples, not ``K`` calls. Complex vectors (some SciPy solvers use them) are
    applied to their real and imaginary parts.

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
    >>> op.matmat(np.eye(5)).shape, op.H.shape
    ((5, 5), (5, 5))
    """

    def __init__(self, w, input_shape, *, stride=1, padding=0, dilation=1, groups=1,
                 method="auto", spec=None):
        self.w, dims, self.spec = sample_spec(w, input_shape, stride=stride, padding=padding,
                                              dilation=dilation, groups=groups, spec=spec)
        self.method = F._dispatch.check_method(method)
        self.dims = dims
        self.dimsd = (self.w.shape[0],) + self.spec.conv_output_size(dims[1:])
        self._adjoint_spec = self.spec.with_output_size(self.dimsd[1:], dims[1:])
        if self.method != "auto":  # a named method that cannot run is refused here, not
            self._check_memory()   # at the first matvec
        super().__init__(dtype=self.w.dtype, shape=(math.prod(self.dimsd), math.prod(dims)))

    def _check_memory(self):
        """``ValueError`` now if the named method would not fit one sample's conv or
        transposed conv in memory (``"auto"`` picks a method that fits at each call)."""
        one_x, one_y = (1,) + self.dims, (1,) + self.dimsd
        F._memory.plan(self.method, "conv", one_x, self.w.shape, self.spec, self.w.dtype,
                       one_y)
        F._memory.plan(self.method, "conv_transpose", one_y, self.w.shape,
                       self._adjoint_spec, self.w.dtype, one_x)

    @property
    def input_shape(self):
        """The same as :attr:`dims`."""
        return self.dims

    @property
    def output_shape(self):
        """The same as :attr:`dimsd`."""
        return self.dimsd

    def forward(self, x):
        """``conv`` of ``x`` of shape ``(N, *dims)``; returns ``(N, *dimsd)``."""
        return F.conv(x, self.w, spec=self.spec, method=self.method)

    def adjoint(self, y):
        """``conv_transpose`` of ``y`` of shape ``(N, *dimsd)``; returns ``(N, *dims)``."""
        return F.conv_transpose(y, self.w, spec=self._adjoint_spec, method=self.method)

    def _apply(self, fn, m, shape):
        """``fn`` on the columns of ``m`` (``(size, K)``) as one batch of ``K`` samples."""
        m = np.asarray(m)
        if np.iscomplexobj(m):
            return self._apply(fn, m.real, shape) + 1j * self._apply(fn, m.imag, shape)
        k = m.shape[1]
        if k == 0:
            return np.zeros((math.prod(self.dimsd if shape == self.dims else self.dims), 0),
                            self.dtype)
        batch = np.ascontiguousarray(m.T, dtype=self.dtype).reshape((k,) + shape)
        return np.ascontiguousarray(fn(batch).reshape(k, -1).T)

    def matvec(self, x):
        return super().matvec(_array(x, "x"))

    def rmatvec(self, x):
        return super().rmatvec(_array(x, "x"))

    def matmat(self, X):
        return super().matmat(_array(X, "X"))

    def rmatmat(self, X):
        return super().rmatmat(_array(X, "X"))

    def _matvec(self, v):
        return self._apply(self.forward, np.reshape(v, (-1, 1)), self.dims).reshape(-1)

    def _rmatvec(self, v):
        return self._apply(self.adjoint, np.reshape(v, (-1, 1)), self.dimsd).reshape(-1)

    def _matmat(self, m):
        return self._apply(self.forward, m, self.dims)

    def _rmatmat(self, m):
        return self._apply(self.adjoint, m, self.dimsd)


def _array(a, name):
    """``a`` as an array of numbers, or a ``TypeError`` in the library's words."""
    try:
        a = np.asarray(a)
    except (ValueError, TypeError):
        raise TypeError(f"{name} must be an array of numbers, got a ragged or mixed "
                        f"{type(a).__name__}") from None
    if not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        raise TypeError(f"{name} must be an array of numbers, got dtype {a.dtype}")
    return a
