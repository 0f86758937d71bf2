"""Image quality of a restoration against the truth: PSNR (NumPy) and SSIM (scikit-image)."""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["psnr", "ssim"]


def _pair(truth, estimate):
    """``truth`` and ``estimate`` as float64 arrays (copies), checked to be comparable."""
    arrays = []
    for name, value in (("truth", truth), ("estimate", estimate)):
        array = np.asarray(value)
        if array.dtype.kind not in "buif":
            raise TypeError(f"{name}: expected an array of real numbers, got dtype "
                            f"{array.dtype}")
        array = array.astype(np.float64)
        if array.size == 0:
            raise ValueError(f"{name}: expected a non-empty array, got shape {array.shape}")
        if not np.isfinite(array).all():
            raise ValueError(f"{name}: expected finite values, got NaN or infinity")
        arrays.append(array)
    if arrays[0].shape != arrays[1].shape:
        raise ValueError(f"estimate: expected the shape of truth {arrays[0].shape}, got "
                         f"{arrays[1].shape}")
    return arrays


def _data_range(truth: np.ndarray, data_range) -> float:
    if data_range is None:
        data_range = float(truth.max() - truth.min())
        if data_range == 0:
            raise ValueError("data_range: truth is constant (max - min = 0), so it has no "
                             "range; pass data_range")
        return data_range
    if isinstance(data_range, (bool, np.bool_)) or not isinstance(data_range, numbers.Real):
        raise TypeError(f"data_range: expected a number, got {data_range!r}")
    if not (np.isfinite(data_range) and data_range > 0):
        raise ValueError(f"data_range: expected a finite number > 0, got {data_range!r}")
    return float(data_range)


def psnr(truth, estimate, data_range=None) -> float:
    """Peak signal-to-noise ratio of ``estimate`` against ``truth``, in decibels.

    Parameters
    ----------
    truth, estimate : (*shape) array_like
        Real arrays of one shape, finite; any dtype (computed in float64).
    data_range : float, optional
        The peak: the range the values can span. Default ``truth.max() - truth.min()``.

    Returns
    -------
    psnr : float
        ``10 log10(data_range**2 / mean((truth - estimate)**2))``; ``inf`` when they are equal.

    Raises
    ------
    ValueError
        Shapes differ, an array is empty or not finite, ``data_range`` is not > 0, or
        ``truth`` is constant and no ``data_range`` is given.
    TypeError
        A non-real array or a non-number ``data_range``.

    Notes
    -----
    :func:`skimage.metrics.peak_signal_noise_ratio` defaults to the range of the dtype
    (1 for floats in [0, 1], 255 for uint8) instead; pass ``data_range`` to compare.

    Examples
    --------
    >>> truth = np.array([0.0, 0.5, 1.0, 1.0])
    >>> round(psnr(truth, truth + 0.1), 6)  # MSE 0.01, range 1
    20.0
    >>> psnr(truth, truth)
    inf
    """
    truth, estimate = _pair(truth, estimate)
    data_range = _data_range(truth, data_range)
    error = truth - estimate
    peak = np.abs(error).max()
    if peak == 0:
        return float("inf")
    # 10 log10(range**2 / mse) with mse = peak**2 * mean((error / peak)**2): in logarithms,
    # so that no square under- or overflows, whatever the magnitudes
    return float(20 * (np.log10(data_range) - np.log10(peak))
                 - 10 * np.log10(np.mean((error / peak) ** 2)))


def ssim(truth, estimate, data_range=None) -> float:
    """Mean structural similarity of ``estimate`` to ``truth`` (scikit-image's).

    Parameters
    ----------
    truth, estimate : (*shape) array_like
        Real arrays of one shape, finite, at least 7 along every axis (the window).
    data_range : float, optional
        Default ``truth.max() - truth.min()``, as for :func:`psnr`.

    Returns
    -------
    ssim : float
        :func:`skimage.metrics.structural_similarity` with its default 7-wide uniform
        window, computed in float64; 1 for identical arrays.

    Raises
    ------
    ImportError
        scikit-image is not installed (``pip install 'deconvkit[restore]'``).
    ValueError, TypeError
        As for :func:`psnr`; also an axis shorter than the window.

    Examples
    --------
    >>> truth = np.add.outer(np.arange(8.0), np.arange(8.0))
    >>> ssim(truth, truth)
    1.0
    """
    try:
        from skimage.metrics import structural_similarity
    except ImportError as exc:
        raise ImportError("ssim needs scikit-image: pip install 'deconvkit[restore]'") from exc
    truth, estimate = _pair(truth, estimate)
    data_range = _data_range(truth, data_range)
    if min(truth.shape) < 7:
        raise ValueError(f"truth: expected at least 7 values along every axis for the SSIM "
                         f"window, got shape {truth.shape}")
    return float(structural_similarity(truth, estimate, data_range=data_range))
