"""Linear operators on flattened arrays: SciPy's ``LinearOperator`` with the array view kept.

Each operator has ``dims`` (the shape of one model sample) and ``dimsd`` (the shape of
one data sample), ``matvec``/``rmatvec`` on flattened samples, batched ``matmat`` /
``rmatmat`` (the columns become one batch of the underlying algorithm), ``.H`` its
adjoint, and ``forward``/``adjoint`` on arrays of shape ``(N, *dims)`` / ``(N, *dimsd)``.

=========================  ==========================================================
:class:`ConvOperator`      the convolution C (and Cᵀ, the transposed convolution)
:class:`BlurOperator`      the blur H of restoration on one image, with ``boundary=``
=========================  ==========================================================

:class:`BlurOperator` acts on one image (no batch or channel axis): ``forward`` and
``adjoint`` take arrays of shape ``dims`` / ``dimsd``.
"""

from .blur import BlurOperator
from .conv import ConvOperator

__all__ = ["ConvOperator", "BlurOperator"]
