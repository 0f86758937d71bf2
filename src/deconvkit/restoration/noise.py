"""Noise level estimation from the observed data alone.

Restoration filters need the noise standard deviation ``sigma`` of ``g = h * f + n``
(the discrepancy and risk rules that choose the regularisation parameter depend on it).
:func:`estimate_noise` estimates it from ``g`` without the truth.
"""

from __future__ import annotations

import numpy as np

__all__ = ["estimate_noise"]

_MAD_TO_SIGMA = 0.6744897501960817
"""The median of ``|z|`` for ``z ~ N(0, 1)`` (the 0.75 quantile of the standard normal)."""


def _haar_detail(x: np.ndarray) -> np.ndarray:
    """Finest-scale orthonormal Haar coefficients that are high-pass along every axis.

    Along each axis, pairs ``(x[2i], x[2i+1])`` map to ``(x[2i] - x[2i+1]) / sqrt(2)``;
    a trailing odd sample is dropped. The transform is orthonormal, so white noise of
    standard deviation ``sigma`` gives coefficients of standard deviation ``sigma``.
    """
    d = x
    for axis in range(d.ndim):
        n = d.shape[axis] - d.shape[axis] % 2
        even = np.take(d, np.arange(0, n, 2), axis=axis)
        odd = np.take(d, np.arange(1, n, 2), axis=axis)
        d = (even - odd) / np.sqrt(2.0)
    return d


def _check_image(g) -> np.ndarray:
    """``g`` as a float64 array, or a TypeError/ValueError naming ``g``."""
    arr = np.asarray(g)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.integer)
                                   or np.issubdtype(arr.dtype, np.floating)):
        raise TypeError(f"g must be a real numeric array (integer or float); "
                        f"received dtype {arr.dtype}")
    if arr.ndim == 0:
        raise ValueError("g must have at least one axis; received a 0-d array")
    if min(arr.shape) < 2:
        raise ValueError(f"g must have at least 2 samples along every axis; "
                         f"received shape {arr.shape}")
    arr = arr.astype(np.float64, copy=False)
    if not np.all(np.isfinite(arr)):
        raise ValueError("g must be finite; it contains NaN or infinity")
    return arr


def estimate_noise(g) -> float:
    """Estimate the standard deviation of additive white Gaussian noise in ``g``.

    Donoho's wavelet estimator: ``median(|d|) / 0.6745``, where ``d`` are the
    finest-scale orthonormal Haar detail coefficients that are high-pass along every
    axis (the "HH...H" band, one coefficient per ``2 x 2 x ... x 2`` block).

    Why this estimator: the all-axes high-pass band of a smooth (for instance blurred)
    image holds almost no signal, and the median of absolute values ignores the few
    coefficients that edges leave there, so the estimate is close to the noise alone.
    It is computed in NumPy for any number of axes, needs no wavelet package, works
    from 2 samples per axis and returns 0 for a constant. On the 12 blurred, noisy
    camera test images of benchmarks/experiments/restoration_lambda.md it is within
    3% of the true ``sigma`` (0.0101-0.0103 for 0.01, 0.0498-0.0501 for 0.05).
    :func:`skimage.restoration.estimate_sigma` is the same estimator with a
    Daubechies-2 wavelet through PyWavelets (two vanishing moments, so it also
    ignores linear trends); it was within 1% on those images (0.0100-0.0101 for 0.01)
    and is not used here to avoid the PyWavelets dependency; the difference moves
    the chosen regularisation parameter by a few percent only.

    Parameters
    ----------
    g : array_like
        Observed data, real (integer or float), any number of axes, at least 2
        samples along each axis, finite. It is not modified.

    Returns
    -------
    float
        The estimated noise standard deviation, in the units of ``g``; 0 for a
        constant (or locally linear along any one axis) array.

    Raises
    ------
    TypeError
        If ``g`` is not a real numeric array (complex, bool, object, strings).
    ValueError
        If ``g`` is 0-d, has fewer than 2 samples along an axis, or holds NaN or infinity.

    Notes
    -----
    The estimate is biased upward when ``g`` has fine texture at the pixel scale
    (unblurred images) and by the signal for very low noise; it assumes white,
    signal-independent noise.

    References
    ----------
    D. L. Donoho and I. M. Johnstone, "Ideal spatial adaptation by wavelet shrinkage",
    Biometrika 81 (1994), 425-455.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y, x = np.mgrid[:256, :256] / 256
    >>> g = np.sin(4 * x) * np.cos(3 * y) + rng.normal(0, 0.05, (256, 256))
    >>> round(estimate_noise(g), 2)
    0.05
    """
    arr = _check_image(g)
    d = _haar_detail(arr)
    return float(np.median(np.abs(d)) / _MAD_TO_SIGMA)
