"""Weight initializers: He, Glorot, the FCN bilinear upsampling filter, and ICNR.

Every initializer returns a new array of the requested shape and dtype. Random
ones take ``rng``: a :class:`numpy.random.Generator`, an int seed, or ``None``
(fresh entropy).

Fan-in and fan-out follow the number of terms summed per output and per input.
For a convolution with weight ``(C_out, C_in/g, *k)`` and stride ``s``:
``fan_in = (C_in/g) prod(k)`` and ``fan_out = (C_out/g) prod(k) / prod(s)``. A
transposed convolution is the adjoint, so the two exchange roles: with weight
``(C_in, C_out/g, *k)``, ``fan_in = (C_in/g) prod(k) / prod(s)`` (an output pixel
sees on average ``prod(k) / prod(s)`` taps of each input channel) and
``fan_out = (C_out/g) prod(k)``.
"""

from __future__ import annotations

import math

import numpy as np

from .._checks import check_int, describe, is_int, per_axis
from .module import as_rng, check_dtype

__all__ = ["he_normal", "he_uniform", "glorot_normal", "glorot_uniform", "zeros",
           "bilinear_kernel", "bilinear", "icnr", "initialize"]




def _fan_in(shape) -> int:
    return int(math.prod(shape[1:]))


def he_normal(shape, fan_in=None, fan_out=None, *, rng=None, dtype=np.float32):
    """Normal with standard deviation ``sqrt(2 / fan_in)`` (He et al. 2015, for ReLU).

    ``fan_in`` defaults to ``prod(shape[1:])``.

    >>> round(float(he_normal((64, 32, 3, 3), rng=0).std()), 2)
    0.08
    """
    fan_in = fan_in or _fan_in(shape)
    w = as_rng(rng).standard_normal(shape) * math.sqrt(2.0 / fan_in)
    return w.astype(check_dtype(dtype))


def he_uniform(shape, fan_in=None, fan_out=None, *, rng=None, dtype=np.float32):
    """Uniform on ``[-b, b]``, ``b = sqrt(6 / fan_in)``: the variance of :func:`he_normal`."""
    bound = math.sqrt(6.0 / (fan_in or _fan_in(shape)))
    return as_rng(rng).uniform(-bound, bound, shape).astype(check_dtype(dtype))


def glorot_normal(shape, fan_in=None, fan_out=None, *, rng=None, dtype=np.float32):
    """Normal with standard deviation ``sqrt(2 / (fan_in + fan_out))`` (Glorot & Bengio 2010).

    ``fan_in`` defaults to ``prod(shape[1:])``, ``fan_out`` to ``shape[0] * prod(shape[2:])``.
    """
    fan_in = fan_in or _fan_in(shape)
    fan_out = fan_out or int(shape[0] * math.prod(shape[2:]))
    w = as_rng(rng).standard_normal(shape) * math.sqrt(2.0 / (fan_in + fan_out))
    return w.astype(check_dtype(dtype))


def glorot_uniform(shape, fan_in=None, fan_out=None, *, rng=None, dtype=np.float32):
    """Uniform on ``[-b, b]``, ``b = sqrt(6 / (fan_in + fan_out))`` (Xavier)."""
    fan_in = fan_in or _fan_in(shape)
    fan_out = fan_out or int(shape[0] * math.prod(shape[2:]))
    bound = math.sqrt(6.0 / (fan_in + fan_out))
    return as_rng(rng).uniform(-bound, bound, shape).astype(check_dtype(dtype))


def zeros(shape, fan_in=None, fan_out=None, *, rng=None, dtype=np.float32):
    """All zeros."""
    return np.zeros(shape, dtype=check_dtype(dtype))


def _sequence(value) -> bool:
    return not isinstance(value, (str, bytes)) and hasattr(value, "__len__")


def bilinear_kernel(kernel_size, factor=None, *, dtype=np.float64):
    """The FCN bilinear upsampling filter, N-d (Caffe/FCN ``upsample_filt``).

    Parameters
    ----------
    kernel_size : int or tuple of int
        Kernel size per axis; an int means 2-D ``(k, k)``.
    factor : int or tuple of int, optional
        Upsampling factor per axis; default ``ceil(k / 2)`` (FCN's choice).

    Returns
    -------
    filt : (*k) ndarray
        ``prod_a max(0, 1 - |i_a - c_a| / f_a)`` with ``c = (k - 1) / 2``: FCN's
        ``center = f - 1`` for odd ``k`` and ``f - 0.5`` for even ``k``.

    Notes
    -----
    A transposed convolution with kernel ``2f``, stride ``f`` and padding ``f / 2``
    (even ``f``), or kernel ``2f - 1`` and padding ``(f - 1) / 2`` (odd ``f``), with this
    filter is bilinear interpolation with PyTorch's ``align_corners=False`` away from
    the border.

    Examples
    --------
    >>> bilinear_kernel(4)
    array([[0.0625, 0.1875, 0.1875, 0.0625],
           [0.1875, 0.5625, 0.5625, 0.1875],
           [0.1875, 0.5625, 0.5625, 0.1875],
           [0.0625, 0.1875, 0.1875, 0.0625]])
    """
    if is_int(kernel_size):
        kernel_size = (kernel_size,) * 2
    if not _sequence(kernel_size) or not len(kernel_size):
        raise ValueError(f"kernel_size must be positive ints, got {describe(kernel_size)}")
    k = per_axis(kernel_size, len(kernel_size), "kernel_size", 1)
    if factor is not None and not is_int(factor) and (
            not _sequence(factor) or len(factor) != len(k)):
        raise ValueError(f"factor must be one positive int per axis of kernel {k}, "
                         f"got {describe(factor)}")
    f = tuple((v + 1) // 2 for v in k) if factor is None else per_axis(factor, len(k),
                                                                       "factor", 1)
    filt = np.ones((), dtype=np.float64)
    for size, fa in zip(k, f):
        axis = np.maximum(0.0, 1.0 - np.abs(np.arange(size) - (size - 1) / 2.0) / fa)
        filt = np.multiply.outer(filt, axis)
    return filt.astype(check_dtype(dtype))


def bilinear(shape, fan_in=None, fan_out=None, *, groups=1, factor=None, rng=None,
             dtype=np.float32):
    """Transposed-convolution weight that upsamples every channel bilinearly.

    Parameters
    ----------
    shape : tuple of int
        ``(C, C, *k)`` for ``groups=1`` (the filter on the channel diagonal, zero
        elsewhere) or ``(C, 1, *k)`` for ``groups=C`` (one filter per channel).
    groups : int
    factor : int or tuple of int, optional
        As for :func:`bilinear_kernel`.

    Examples
    --------
    >>> w = bilinear((2, 2, 4, 4))
    >>> float(w[0, 1].max()), float(w[1, 1].sum())
    (0.0, 4.0)
    """
    shape = tuple(shape)
    c = shape[0]
    if groups == 1 and shape[1] != c:
        raise ValueError(f"bilinear with groups=1 needs a square weight (C, C, *k), got {shape}")
    if groups != 1 and (groups != c or shape[1] != 1):
        raise ValueError(f"bilinear with groups={groups} needs groups == C and a weight "
                         f"(C, 1, *k), got {shape}")
    w = np.zeros(shape, dtype=check_dtype(dtype))
    filt = bilinear_kernel(shape[2:], factor, dtype=dtype)
    idx = np.arange(c)
    w[idx, 0 if groups != 1 else idx] = filt
    return w


def icnr(shape, fan_in=None, fan_out=None, *, scale=2, init=he_normal, rng=None,
         dtype=np.float32):
    """ICNR weight for a convolution followed by :class:`~deconvkit.nn.PixelShuffle`.

    Parameters
    ----------
    shape : tuple of int
        Conv weight ``(C * r**d, C_in/g, *k)``, ``d`` spatial axes, ``r = scale``.
    scale : int
        The pixel shuffle's upscale factor.
    init : callable
        ``init(shape, rng=..., dtype=...)``, the initializer of the ``(C, C_in/g, *k)``
        sub-kernel (default :func:`he_normal`).

    Notes
    -----
    Each of the ``r**d`` output channels of one group gets the same sub-kernel,
    so at initialization the conv + pixel shuffle equals a conv followed by
    nearest-neighbour upsampling: no checkerboard (Aitken et al. 2017).
    """
    shape = tuple(shape)
    phases = check_int(scale, "scale") ** (len(shape) - 2)
    if shape[0] % phases:
        raise ValueError(f"icnr: output channels {shape[0]} must be a multiple of "
                         f"scale**ndim = {phases}")
    sub = init((shape[0] // phases,) + shape[1:], rng=rng, dtype=dtype)
    return np.repeat(sub, phases, axis=0)


_NAMED = {"he": he_normal, "he_normal": he_normal, "he_uniform": he_uniform,
          "glorot": glorot_uniform, "glorot_uniform": glorot_uniform,
          "glorot_normal": glorot_normal, "zeros": zeros}


def initialize(init, shape, *, fan_in, fan_out, groups=1, rng=None, dtype=np.float32):
    """Weights from ``init``: a name, or a callable ``init(shape, rng=..., dtype=...)``.

    Names: ``"he"`` (normal), ``"he_uniform"``, ``"glorot"`` (uniform),
    ``"glorot_normal"``, ``"zeros"``, ``"bilinear"`` (square or depthwise weights).
    """
    if callable(init):
        w = np.asarray(init(tuple(shape), rng=rng, dtype=dtype))
        if w.shape != tuple(shape):
            raise ValueError(f"init returned shape {w.shape}, expected {tuple(shape)}")
        return w.astype(check_dtype(dtype), copy=False)
    if init == "bilinear":
        return bilinear(shape, groups=groups, dtype=dtype)
    if not isinstance(init, str) or init not in _NAMED:
        raise ValueError(f"init must be a callable or one of {sorted(_NAMED) + ['bilinear']}, "
                         f"got {describe(init)}")
    return _NAMED[init](tuple(shape), fan_in, fan_out, rng=rng, dtype=dtype)
