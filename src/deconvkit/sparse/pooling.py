"""Max pooling by magnitude with switches, and unpooling by them (Zeiler et al. 2010, 2011).

Between the layers of a Deconvolutional Network the feature maps are pooled over
non-overlapping windows: each window keeps its entry of largest magnitude (with its
sign) and records where it was, the *switch*. Unpooling puts each value back at its
switch and zeros elsewhere, so ``max_unpool(*max_pool(z, s), z.shape)`` keeps the
maxima of ``z`` and nothing else; for fixed switches, unpooling is the adjoint of
reading ``z`` at the switches.
"""

from __future__ import annotations

import math

import numpy as np

from .._checks import check_allocation, per_axis
from ..restoration._common import as_image

__all__ = ["max_pool", "max_unpool"]


def _windows(shape, size):
    """Pooled spatial shape (``ceil``) and the padded spatial shape."""
    pooled = tuple(-(-n // s) for n, s in zip(shape, size))
    return pooled, tuple(p * s for p, s in zip(pooled, size))


def _blocked_axes(nd):
    """The transpose from ``(N, C, p1, s1, p2, s2, ...)`` to ``(N, C, p1, p2, ..., s1, ...)``."""
    return (0, 1) + tuple(2 + 2 * i for i in range(nd)) + tuple(3 + 2 * i for i in range(nd))


def max_pool(z, size):
    """Largest-magnitude entry of each non-overlapping window, and where it was.

    Parameters
    ----------
    z : (N, C, *spatial) ndarray
        Feature maps (any number of spatial axes).
    size : int or tuple of int
        The window, per spatial axis. A spatial size that ``size`` does not divide
        ends in a partial window (``pooled = ceil(n / size)``); a window larger than
        the map is the whole map.

    Returns
    -------
    pooled : (N, C, *pooled) ndarray
        The entry of largest ``|z|`` of each window, with its sign, ``z``'s dtype.
    switches : (N, C, *pooled) ndarray of int
        Its flat position in the spatial plane of ``z`` (C order over ``spatial``, as
        PyTorch's ``return_indices``); the first such entry of the window on ties.

    Examples
    --------
    >>> z = np.array([[[1.0, -3.0, 2.0, 0.5, 4.0]]])
    >>> pooled, switches = max_pool(z, 2)
    >>> pooled, switches
    (array([[[-3.,  2.,  4.]]]), array([[[1, 2, 4]]]))
    >>> max_unpool(pooled, switches, z.shape)
    array([[[ 0., -3.,  2.,  0.,  4.]]])
    """
    z = as_image(z, "z")
    if z.ndim < 3:
        raise ValueError(f"z must have shape (N, C, *spatial), got shape {z.shape}")
    nd = z.ndim - 2
    spatial = z.shape[2:]
    # a window beyond the map is the whole map (same result, and no padding to its size)
    size = tuple(min(s, n) for s, n in zip(per_axis(size, nd, "size", 1), spatial))
    pooled_shape, padded = _windows(spatial, size)
    if padded != z.shape[2:]:
        pad = [(0, 0), (0, 0)] + [(0, p - n) for p, n in zip(padded, z.shape[2:])]
        z = np.pad(z, pad)
    blocks = z.reshape(z.shape[:2] + tuple(x for ps in zip(pooled_shape, size) for x in ps))
    blocks = blocks.transpose(_blocked_axes(nd)).reshape(z.shape[:2] + pooled_shape + (-1,))
    within = np.argmax(np.abs(blocks), axis=-1)
    pooled = np.take_along_axis(blocks, within[..., None], axis=-1)[..., 0]
    offsets = np.unravel_index(within, size)
    origins = np.indices(pooled_shape, sparse=True)
    position = tuple(o * s + off for o, s, off in zip(origins, size, offsets))
    return pooled, np.ravel_multi_index(position, spatial)


def max_unpool(pooled, switches, shape):
    """Each pooled value at its switch, zeros elsewhere: the inverse of :func:`max_pool`
    on the maxima.

    Parameters
    ----------
    pooled : (N, C, *pooled) ndarray
    switches : (N, C, *pooled) ndarray of int
        From :func:`max_pool`.
    shape : tuple of int
        The shape of the maps that were pooled, ``(N, C, *spatial)`` or the spatial
        part ``spatial``.

    Returns
    -------
    z : (N, C, *spatial) ndarray
        ``pooled``'s dtype.
    """
    pooled = as_image(pooled, "pooled")
    if pooled.ndim < 3:
        raise ValueError(f"pooled must have shape (N, C, *pooled), got shape {pooled.shape}")
    switches = np.asarray(switches)
    if switches.shape != pooled.shape or not np.issubdtype(switches.dtype, np.integer):
        raise ValueError(f"switches must be integers of pooled's shape {pooled.shape}, got "
                         f"{switches.dtype} of shape {switches.shape}")
    nd = pooled.ndim - 2
    spatial = _spatial(shape, pooled.shape, nd)
    plane = math.prod(spatial)
    if switches.size and (switches.min() < 0 or switches.max() >= plane):
        raise ValueError(f"switches must be positions in the spatial plane {spatial}, in "
                         f"[0, {plane - 1}], got values in [{switches.min()}, "
                         f"{switches.max()}]")
    check_allocation(math.prod(pooled.shape[:2]) * plane * pooled.dtype.itemsize,
                     f"the unpooled maps of shape {pooled.shape[:2] + spatial} (shape={shape!r})")
    flat = np.zeros(pooled.shape[:2] + (plane,), pooled.dtype)
    np.put_along_axis(flat, switches.reshape(pooled.shape[:2] + (-1,)),
                      pooled.reshape(pooled.shape[:2] + (-1,)), axis=-1)
    return flat.reshape(pooled.shape[:2] + spatial)


def _spatial(shape, pooled_shape, nd):
    """The spatial part of ``shape`` (full ``(N, C, *spatial)`` or spatial only)."""
    try:
        shape = tuple(int(s) for s in shape)
    except TypeError:
        raise TypeError(f"shape must be a tuple of ints, got {shape!r}") from None
    if len(shape) == nd + 2:
        if shape[:2] != tuple(pooled_shape[:2]):
            raise ValueError(f"shape must have (N, C) = {tuple(pooled_shape[:2])} like pooled, "
                             f"got {shape}")
        shape = shape[2:]
    if len(shape) != nd or min(shape) < 1:
        raise ValueError(f"shape must be (N, C, *spatial) or spatial with {nd} axes of size "
                         f">= 1, got {shape}")
    return shape
