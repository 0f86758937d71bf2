"""Convolutional sparse coding: Deconvolutional Networks (Zeiler et al. 2010).

The synthesis operator of a Deconvolutional Network is exactly the transposed
convolution: ``y ≈ D z = conv_transpose(z, filters)`` with coefficient maps ``z`` and
filters ``(K, C, *k)``; its adjoint is ``conv``. This package infers sparse ``z``:

* :func:`code`: ``min_z ½||D z - y||² + lam ||z||₁`` by FISTA (any boundary, stride,
  padding) or by ADMM in the Fourier domain (the circular model, SPORCO's ConvBPDN);
* :func:`objective`: that objective for given ``z``;
* :class:`SynthesisOperator`: ``D`` and ``Dᵀ`` for the ``"zero"`` and ``"circular"``
  boundary models;
* :func:`learn`: the filters themselves (dictionary learning), :func:`save_filters` and
  :func:`load_filters`;
* :func:`max_pool` / :func:`max_unpool`: pooling by magnitude with switches;
* :class:`DeconvNet`: stacked layers, each coding the pooled maps of the one below, and
  the reconstruction of an image from the top layer's maps.
"""

from .code import code, objective
from .dictionary import load_filters, save_filters
from .learn import learn
from .operators import SynthesisOperator
from .pooling import max_pool, max_unpool
from .stack import DeconvNet

__all__ = ["code", "objective", "SynthesisOperator", "learn", "save_filters", "load_filters",
           "max_pool", "max_unpool", "DeconvNet"]
