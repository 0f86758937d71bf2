"""PSF <-> OTF: the transfer function of a blur on an FFT grid, and back.

The PSF's centre is its index ``k // 2`` on each axis. :func:`psf2otf` pads the PSF
to the grid and shifts that centre circularly to index 0, so that multiplying the
FFT of an image by the OTF blurs it without moving it.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.fft

from .._checks import MAX_NDIM, check_allocation, per_axis
from .psf import _real_array

__all__ = ["psf2otf", "otf2psf"]


def _grid(shape, name="shape"):
    """``shape`` (an int or a sequence) as a tuple of ints >= 1."""
    if hasattr(shape, "__len__") and not isinstance(shape, (str, bytes)):
        n = len(shape)
        if not 1 <= n <= MAX_NDIM:
            raise ValueError(f"{name} must have 1 to {MAX_NDIM} axes, got {shape!r}")
        return per_axis(tuple(shape), n, name, 1)
    return per_axis(shape, 1, name, 1)


def place(psf, shape, offset):
    """``psf`` on a zero grid of ``shape``, its index ``offset`` circularly at index 0.

    ``psf`` is an ndarray with ``psf.ndim == len(shape)`` and ``psf.shape <= shape``
    per axis; ``offset`` has one int per axis. The result has ``psf``'s dtype.

    >>> place(np.array([1.0, 2.0, 3.0]), (5,), [1])
    array([2., 3., 0., 0., 1.])
    """
    out = np.zeros(shape, psf.dtype)
    index = np.ix_(*[(np.arange(k) - c) % n for k, c, n in zip(psf.shape, offset, shape)])
    out[index] = psf
    return out


def _fits(psf_shape, shape, what):
    if any(k > n for k, n in zip(psf_shape, shape)):
        raise ValueError(f"the PSF of shape {tuple(psf_shape)} must fit in {what} {shape}")


def psf2otf(psf, shape, real=True):
    """The optical transfer function of ``psf`` on an FFT grid of ``shape``.

    Parameters
    ----------
    psf : (*k) array_like, real
        Not normalised (a regularisation kernel such as a Laplacian, of sum 0, is
        fine); fewer axes than ``shape`` are prepended with length 1.
    shape : int or tuple of int
        The grid (image) shape, ``>= k`` per axis.
    real : bool
        ``True``: the half spectrum (``rfftn``, last axis ``shape[-1]//2 + 1``);
        ``False``: the full spectrum (``fftn``).

    Returns
    -------
    (*shape[:-1], shape[-1]//2 + 1) or (*shape) ndarray, complex
        complex64 for a float32 PSF, else complex128.

    Notes
    -----
    The PSF's index ``k // 2`` (its centre) goes to index 0: with
    ``X = rfftn(x)``, ``irfftn(X * psf2otf(h, x.shape), x.shape)`` is the circular
    convolution ``y[i] = sum_j h[j] x[(i + k//2 - j) mod n]``. As MATLAB's ``psf2otf``
    and scikit-image's ``uft.ir2tf`` (even sizes included).

    Examples
    --------
    >>> otf = psf2otf([1, 2, 1], 8)
    >>> otf.shape, float(otf[0].real)
    ((5,), 4.0)
    """
    shape = _grid(shape)
    h = _real_array(psf, "psf")
    if h.ndim > len(shape):
        raise ValueError(f"psf has more axes than shape: the PSF has {h.ndim} dimensions, "
                         f"the image {len(shape)}")
    h = h.reshape((1,) * (len(shape) - h.ndim) + h.shape)
    _fits(h.shape, shape, "shape")
    if not np.isfinite(h).all():
        raise ValueError("psf must be finite, got NaN or inf values")
    check_allocation(2 * h.itemsize * math.prod(shape), f"an OTF of shape {shape}")
    padded = place(h, shape, [k // 2 for k in h.shape])
    fft = scipy.fft.rfftn if real else scipy.fft.fftn
    return fft(padded, workers=-1)


def otf2psf(otf, psf_shape, shape=None):
    """The PSF of ``psf_shape`` whose OTF is ``otf``: the inverse of :func:`psf2otf`.

    Parameters
    ----------
    otf : array_like, complex
        A full spectrum (``fftn``), or with ``shape`` a half spectrum (``rfftn``) of a
        real array of that shape.
    psf_shape : int or tuple of int
        Size of the PSF to cut out, per axis of the grid.
    shape : int or tuple of int, optional
        The real grid shape of a half spectrum.

    Returns
    -------
    (*psf_shape) ndarray, real
        float32 for a complex64 OTF, else float64; the centre at ``k // 2``.

    Examples
    --------
    >>> otf2psf(psf2otf([1.0, 2.0, 1.0], 8), 3, shape=8).round(12)
    array([1., 2., 1.])
    """
    try:
        o = np.asarray(otf)
    except (ValueError, TypeError):
        raise TypeError("otf must be an array of numbers") from None
    if not np.issubdtype(o.dtype, np.number) or o.ndim == 0:
        raise TypeError(f"otf must be an array of numbers with >= 1 axis, got {o.dtype} "
                        f"of {o.ndim} axes")
    if shape is None:
        grid = o.shape
        psf = scipy.fft.ifftn(o, workers=-1).real
    else:
        grid = _grid(shape)
        half = grid[:-1] + (grid[-1] // 2 + 1,)
        if o.shape != half:
            raise ValueError(f"otf must be the half spectrum of shape {half} of a real array "
                             f"of shape {grid}, got shape {o.shape}")
        psf = scipy.fft.irfftn(o, s=grid, workers=-1)
    k = per_axis(psf_shape, len(grid), "psf_shape", 1)
    _fits(k, grid, "the OTF grid")
    index = np.ix_(*[(np.arange(kn) - kn // 2) % n for kn, n in zip(k, grid)])
    return np.ascontiguousarray(psf[index])
