"""Point spread functions: Gaussian, box, disk, motion, and the check every PSF passes.

Every PSF here sums to 1 and has its centre at index ``k // 2`` on each axis (the
convention of :func:`psf2otf` and :class:`deconvkit.linop.BlurOperator`), so that a PSF
of odd size is centred in its array and one of even size sits just after the middle.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import erf

from .._checks import MAX_NDIM, check_allocation, check_int, describe, is_int, per_axis

__all__ = ["gaussian", "box", "disk", "motion", "as_psf"]

_MAX_SIDE = 2**20
"""Largest PSF side the generators make (a larger one is surely a mistake in sigma)."""


def as_psf(psf, ndim=None, name="psf"):
    """Check a PSF and return a normalised float copy with ``ndim`` axes.

    Parameters
    ----------
    psf : array_like, real, finite, with a positive sum
    ndim : int, optional
        Number of axes of the image the PSF blurs; length-1 axes are prepended up to it.
    name : str
        Name of the argument in error messages.

    Returns
    -------
    (*k) ndarray
        ``psf / psf.sum()``; float32 stays float32, anything else becomes float64.

    Raises
    ------
    TypeError
        For a non-numeric or complex array.
    ValueError
        For an empty PSF, NaN or inf, a sum <= 0, or more axes than ``ndim``.

    Examples
    --------
    >>> as_psf([1, 3], ndim=2)
    array([[0.25, 0.75]])
    """
    a = _real_array(psf, name)
    if ndim is not None:
        ndim = check_int(ndim, "ndim", 1, MAX_NDIM)
        if a.ndim > ndim:
            raise ValueError(f"{name} has more axes than the image: the PSF has {a.ndim} "
                             f"dimensions, the image {ndim}")
        a = a.reshape((1,) * (ndim - a.ndim) + a.shape)
    if a.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} must be finite, got NaN or inf values")
    total = a.sum(dtype=np.float64)
    if not total > 0:
        raise ValueError(f"{name} must have a positive sum (it is normalised to sum 1), "
                         f"got sum {total!r}")
    return (a / a.dtype.type(total)).astype(a.dtype, copy=False)


def _real_array(a, name):
    """``a`` as a float32 or float64 array (ndim >= 0), or a ``TypeError``."""
    try:
        arr = np.asarray(a)
    except (ValueError, TypeError):
        raise TypeError(f"{name} must be an array of real numbers, got {describe(a)}") from None
    if np.iscomplexobj(arr):
        raise TypeError(f"{name} must be real, got dtype {arr.dtype}")
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{name} must be an array of real numbers, got dtype {arr.dtype}")
    return arr.astype(np.float32 if arr.dtype == np.float32 else np.float64, copy=False)


def _number(value, name):
    """``value`` as a finite float, or a ``TypeError``/``ValueError`` naming ``name``."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        raise TypeError(f"{name} must be a real number, got {describe(value)}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return v


def _positive(value, name, minimum=0.0, inclusive=False):
    """``value`` as a finite float > ``minimum`` (>= with ``inclusive``), or an error."""
    v = _number(value, name)
    if not (v >= minimum if inclusive else v > minimum):
        sign = ">=" if inclusive else ">"
        raise ValueError(f"{name} must be a number {sign} {minimum:g}, got {value!r}")
    return v


def _side(extent, name):
    """``2*ceil(extent)+1``, bounded so that an absurd sigma or radius is a ValueError."""
    side = 2 * math.ceil(extent) + 1
    if side > _MAX_SIDE:
        raise ValueError(f"{name} gives a PSF side of {side} pixels, more than {_MAX_SIDE}")
    return side


def gaussian(sigma, shape=None, ndim=None):
    """Gaussian PSF, isotropic or with one ``sigma`` per axis, integrated over each pixel.

    Parameters
    ----------
    sigma : float or sequence of float
        Standard deviation in pixels (>= 0; 0 on an axis means no blur along it).
    shape : int or tuple of int, optional
        Size per axis; default ``2*ceil(3*sigma)+1``.
    ndim : int, optional
        Number of axes: ``len(sigma)`` for a sequence, else ``len(shape)``, else 2.

    Returns
    -------
    (*shape) ndarray, float64
        Sums to 1, centred at ``k // 2`` per axis.

    Notes
    -----
    Each value is the Gaussian's integral over its pixel, a product over the axes of
    ``(erf((x + 1/2)/(sqrt(2) sigma)) - erf((x - 1/2)/(sqrt(2) sigma))) / 2`` with ``x``
    the offset from the centre, rather than the density sampled at pixel centres: for
    a small sigma (below about 1) sampling gives a PSF of far too small a variance
    (0.008 instead of about 0.09 for sigma 0.3). For sigma above about 1 the variance
    per axis is close to ``sigma**2 + 1/12`` (Sheppard's correction for the pixel width).

    Examples
    --------
    >>> h = gaussian(1.0)
    >>> h.shape, round(float(h.sum()), 12)
    ((7, 7), 1.0)
    >>> gaussian((0.0, 2.0)).shape
    (1, 13)
    """
    sigmas, ndim = _sigmas(sigma, shape, ndim)
    if shape is None:
        shape = tuple(_side(3 * s, "sigma") for s in sigmas)
    else:
        shape = per_axis(shape, ndim, "shape", 1, _MAX_SIDE)
    check_allocation(8 * math.prod(shape), f"a Gaussian PSF of shape {shape}")
    h = np.ones((1,) * ndim)
    for axis, (s, k) in enumerate(zip(sigmas, shape)):
        w = _gauss_1d(s, k).reshape((1,) * axis + (k,) + (1,) * (ndim - axis - 1))
        h = h * w
    return h / h.sum()


def _sigmas(sigma, shape, ndim):
    """The per-axis sigmas and the number of axes, checked."""
    if isinstance(sigma, (list, tuple)) or (isinstance(sigma, np.ndarray) and sigma.ndim):
        sigmas = tuple(_positive(s, "sigma", inclusive=True) for s in np.ravel(sigma).tolist())
        if ndim is not None and check_int(ndim, "ndim", 1, MAX_NDIM) != len(sigmas):
            raise ValueError(f"sigma has {len(sigmas)} values, ndim is {ndim}")
        if not sigmas:
            raise ValueError("sigma must not be empty")
        return sigmas, len(sigmas)
    s = _positive(sigma, "sigma", inclusive=True)
    if ndim is None:
        ndim = 2 if shape is None or is_int(shape) else len(tuple(shape))
    ndim = check_int(ndim, "ndim", 1, MAX_NDIM)
    return (s,) * ndim, ndim


def _gauss_1d(sigma, k):
    """The pixel-integrated Gaussian of ``k`` samples centred at ``k // 2``."""
    x = np.arange(k) - k // 2
    if sigma == 0:
        return (x == 0).astype(np.float64)
    c = 1.0 / (math.sqrt(2.0) * sigma)
    w = 0.5 * (erf((x + 0.5) * c) - erf((x - 0.5) * c))
    if w.sum() == 0:  # sigma tiny compared with an even-size offset: fall back to the centre
        w[k // 2] = 1.0
    return w


def box(shape):
    """Uniform (box, "average") PSF.

    Parameters
    ----------
    shape : int or tuple of int
        An int gives a square 2-D box; a tuple gives that N-d shape.

    Returns
    -------
    (*shape) ndarray, float64
        ``1 / prod(shape)`` everywhere.

    Examples
    --------
    >>> box(2)
    array([[0.25, 0.25],
           [0.25, 0.25]])
    >>> box((3,)).shape
    (3,)
    """
    if is_int(shape):
        shape = (check_int(shape, "shape", 1, _MAX_SIDE),) * 2
    else:
        n = len(shape) if hasattr(shape, "__len__") else 0
        shape = per_axis(shape, max(n, 1), "shape", 1, _MAX_SIDE)
    size = math.prod(shape)
    check_allocation(8 * size, f"a box PSF of shape {shape}")
    return np.full(shape, 1.0 / size)


def disk(radius):
    """Anti-aliased disk (pill-box, defocus) PSF of the given radius, as ``fspecial('disk')``.

    Parameters
    ----------
    radius : float
        Radius in pixels, > 0.

    Returns
    -------
    (2*ceil(radius)+1, 2*ceil(radius)+1) ndarray, float64
        Each pixel weighted by the exact area of its square inside the circle, then
        normalised to sum 1.

    Notes
    -----
    The areas are exact (the integral of the circle over each pixel, in closed form).
    MATLAB approximates the area of the pixels the circle cuts, so the two differ by a
    little on the rim.

    Examples
    --------
    >>> h = disk(1.0)
    >>> h.shape, bool(h[1, 1] > h[0, 1] > h[0, 0] > 0)
    ((3, 3), True)
    """
    r = _positive(radius, "radius")
    k = _side(r, "radius")
    check_allocation(8 * k * k, f"a disk PSF of radius {r}")
    edges = np.arange(k + 1) - k // 2 - 0.5
    y, x = edges[:, None], edges[None, :]
    q = _quadrant_area(x, y, r)
    h = q[1:, 1:] - q[:-1, 1:] - q[1:, :-1] + q[:-1, :-1]
    h = np.maximum(h, 0.0)
    return h / h.sum()


def _quadrant_area(x, y, r):
    """Signed area of the disk of radius ``r`` in the rectangle from (0, 0) to (x, y)."""
    ax, ay = np.minimum(np.abs(x), r), np.minimum(np.abs(y), r)
    ax, ay = np.broadcast_arrays(ax, ay)
    cut = np.sqrt(np.maximum(r * r - ay * ay, 0.0))   # where the circle crosses height ay

    def under(t):  # integral of sqrt(r^2 - u^2) from 0 to t
        return 0.5 * (t * np.sqrt(np.maximum(r * r - t * t, 0.0)) + r * r * np.arcsin(t / r))

    area = np.where(ax <= cut, ax * ay, cut * ay + under(ax) - under(np.minimum(cut, ax)))
    return np.sign(x) * np.sign(y) * area


def motion(length, angle=0.0):
    """Linear motion blur: a line of ``length`` pixels at ``angle`` degrees, anti-aliased.

    Parameters
    ----------
    length : float
        Length of the motion in pixels, >= 1 (1 is no blur).
    angle : float
        Direction in degrees, counter-clockwise from the x axis (the columns; rows grow
        downwards, so 90 points up).

    Returns
    -------
    (rows, cols) ndarray, float64
        Odd sizes, centred, sums to 1.

    Notes
    -----
    The line is the segment of length ``length - 1`` through the centre (so its ends
    fall on pixel centres when horizontal, and ``length`` pixels are lit); each pixel is
    weighted by ``max(0, 1 - d)`` with ``d`` its centre's distance to the segment, then
    the PSF is normalised. MATLAB's ``fspecial('motion')`` is built on the same
    idea (weights falling linearly with the distance to the line) but its own end
    treatment. Horizontal and vertical lines of odd length are ``1/length`` on
    ``length`` pixels in both; an even length here gives ``length + 1`` pixels with
    half-weight ends. Other angles may differ a little near the ends (not checked
    against MATLAB's numbers).

    Examples
    --------
    >>> motion(3)
    array([[0.33333333, 0.33333333, 0.33333333]])
    >>> motion(3, 90).shape
    (3, 1)
    """
    n = _positive(length, "length", 1.0, inclusive=True)
    theta = math.radians(_number(angle, "angle") % 360.0)
    c, s = math.cos(theta), math.sin(theta)
    half = (n - 1) / 2
    reach = _side(half + 1, "length") // 2
    check_allocation(8 * (2 * reach + 1) ** 2, f"a motion PSF of length {n}")
    offs = np.arange(-reach, reach + 1, dtype=np.float64)
    row, col = offs[:, None], offs[None, :]
    along = col * c - row * s                 # coordinate along the line (rows point down)
    across = col * s + row * c
    beyond = np.maximum(np.abs(along) - half, 0.0)
    h = np.maximum(1.0 - np.hypot(beyond, across), 0.0)
    h[np.abs(h) < 1e-12] = 0.0
    return _trim(h) / h.sum()


def _trim(h):
    """``h`` without its all-zero outer rows and columns, kept symmetric about the centre."""
    out = []
    for axis in range(h.ndim):
        other = tuple(a for a in range(h.ndim) if a != axis)
        used = np.flatnonzero(np.abs(h).sum(axis=other) > 0)
        mid = h.shape[axis] // 2
        r = int(max(mid - used[0], used[-1] - mid))
        out.append(slice(mid - r, mid + r + 1))
    return h[tuple(out)]
