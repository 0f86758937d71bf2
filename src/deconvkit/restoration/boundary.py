"""What a blur sees outside the image frame: the boundary choices, and ``edgetaper``.

============  ==============================================================================
"periodic"    the image wraps around (circular convolution; what FFT filters assume)
"reflect"     the image is mirrored at its edges (edge sample repeated: Neumann)
"edgetaper"   periodic, after :func:`edgetaper` has blended the borders of the data
"none"        the image is the 'valid' part of the blur of an unknown larger scene
============  ==============================================================================
"""

from __future__ import annotations

import numpy as np
import scipy.fft

from .otf import psf2otf
from .psf import _real_array, as_psf

__all__ = ["BOUNDARIES", "check_boundary", "edgetaper", "data_for"]

BOUNDARIES = ("periodic", "reflect", "edgetaper", "none")
"""The boundary choices every restoration method takes as ``boundary=``."""


def check_boundary(boundary):
    """``boundary`` if it is one of :data:`BOUNDARIES`, else a ``ValueError`` listing them.

    Examples
    --------
    >>> check_boundary("reflect")
    'reflect'
    >>> check_boundary("zero")
    Traceback (most recent call last):
    ...
    ValueError: boundary must be one of 'periodic', 'reflect', 'edgetaper', 'none'; got 'zero'
    """
    if not isinstance(boundary, str) or boundary not in BOUNDARIES:
        choices = ", ".join(repr(b) for b in BOUNDARIES)
        raise ValueError(f"boundary must be one of {choices}; got {boundary!r}")
    return boundary


def edgetaper(g, psf):
    """Blend the borders of ``g`` with its circular blur, so that ``g`` looks periodic.

    Parameters
    ----------
    g : (*n) array_like, real
        The image (any number of axes).
    psf : (*k) array_like
        The blur; normalised here; at most half the image size on each axis where
        ``k > 1``.

    Returns
    -------
    (*n) ndarray
        ``w * g + (1 - w) * blur(g)``; float32 for float32 ``g``, else float64.

    Notes
    -----
    As MATLAB's ``edgetaper``: ``blur`` is the circular convolution with the PSF
    (centre ``k // 2``), and ``w = prod_n (1 - beta_n)`` where ``beta_n`` is the
    circular autocorrelation, of length ``n - 1``, of the PSF summed onto axis ``n``,
    normalised to maximum 1, with its first value repeated at the end (length ``n``).
    ``beta_n`` is 1 at both ends of the axis and 0 further in than the PSF width,
    so the interior of ``g`` is returned unchanged and the borders fade into the
    blurred image, which wraps smoothly. Axes where the PSF has length 1 are left
    alone (``beta = 0`` there).

    Examples
    --------
    >>> g = np.zeros((16, 16)); g[:, 8:] = 1.0
    >>> j = edgetaper(g, np.ones((3, 3)))
    >>> bool(np.array_equal(j[4:-4, 4:-4], g[4:-4, 4:-4])), float(j[8, 0]) > 0
    (True, True)
    """
    g = _real_array(g, "g")
    if g.ndim == 0:
        raise ValueError("g must have at least one axis, got a scalar")
    h = as_psf(psf, ndim=g.ndim).astype(g.dtype, copy=False)
    big = [(k, n) for k, n in zip(h.shape, g.shape) if k > 1 and 2 * k > n]
    if big:
        raise ValueError(f"the PSF of shape {h.shape} must be at most half the image "
                         f"{g.shape} on each axis it blurs (as MATLAB's edgetaper)")
    w = np.ones((1,) * g.ndim, g.dtype)
    for axis, (k, n) in enumerate(zip(h.shape, g.shape)):
        if k > 1:
            beta = _autocorrelation(h, axis, n).astype(g.dtype)
            w = w * (1 - beta).reshape((1,) * axis + (n,) + (1,) * (g.ndim - axis - 1))
    otf = psf2otf(h, g.shape)
    blurred = scipy.fft.irfftn(scipy.fft.rfftn(g, workers=-1) * otf, s=g.shape, workers=-1)
    return (w * g + (1 - w) * blurred).astype(g.dtype, copy=False)


def _autocorrelation(h, axis, n):
    """``beta`` of ``h`` along ``axis``: length ``n``, 1 at both ends, float64."""
    other = tuple(a for a in range(h.ndim) if a != axis)
    proj = h.sum(axis=other, dtype=np.float64)
    k, m = proj.size, n - 1
    z = scipy.fft.irfft(np.abs(scipy.fft.rfft(proj, m)) ** 2, m)
    z[k:m - k + 1] = 0.0          # lags the PSF does not reach: exactly 0, not FFT round-off
    z = np.append(z, z[0])
    return z / z.max()


def data_for(g, H):
    """The data an iterative method fits with the operator ``H``: ``g`` itself, or for
    ``boundary="edgetaper"`` (whose operator is periodic) ``g`` with its borders tapered,
    in ``g``'s dtype."""
    if H.boundary == "edgetaper":
        return edgetaper(g, H.psf).astype(g.dtype, copy=False)
    return g
