"""Convolutional sparse coding: Deconvolutional Networks (Zeiler et al. 2010).

The synthesis operator of a Deconvolutional Network is exactly the transposed
convolution: ``y ≈ D z = conv_transpose(z, filters)`` with coefficient maps ``z`` and
filters ``(K, C, *k)``; its adjoint is ``conv``. This package infers sparse ``z``:

* :func:`code`: ``min_z ½||D z - y||² + lam ||z||₁`` by FISTA (any boundary, stride,
  padding) or by ADMM in the Fourier domain (the circular model, SPORCO's ConvBPDN);
* :func:`objective`: that objective for given ``z``;
* :class:`SynthesisOperator`: ``D`` and ``Dᵀ`` for the ``"zero"`` and ``"circular"``
  boundary models.
"""

from .code import code, objective
from .operators import SynthesisOperator

__all__ = ["code", "objective", "SynthesisOperator"]
