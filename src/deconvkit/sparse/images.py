"""Training images for convolutional sparse coding: natural images, grey, high-passed.

Convolutional sparse coding models the detail of an image, not its smooth part: the
``l1`` term would spend coefficients on a slowly varying background. The usual
preparation (SPORCO's examples; Zeiler et al. work on contrast-normalised images) splits
each image into a low-pass part and the rest, and codes the rest. :func:`highpass` does
that with a periodic Gaussian blur; :func:`sample_images` picks built-in images.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter, zoom

from .._checks import check_int

__all__ = ["NATURAL", "sample_images", "folder_images", "highpass", "grey"]

NATURAL = ("camera", "moon", "coins", "astronaut", "coffee", "chelsea", "brick", "grass",
           "gravel", "clock")
"""scikit-image sample images (in its wheel, no download) used by ``source="natural"``."""


def grey(image) -> np.ndarray:
    """``(H, W)`` float64: an image scaled to [0, 1] (integers by their range) and averaged
    over a last colour axis of 3 or 4 (the alpha channel dropped)."""
    from ..images import _as_float

    image = _as_float(np.asarray(image))[0].astype(np.float64, copy=False)
    if image.ndim == 3 and image.shape[-1] in (3, 4):
        image = image[..., :3].mean(axis=-1)
    if image.ndim != 2:
        raise ValueError(f"expected a grey (H, W) or colour (H, W, 3|4) image, got shape "
                         f"{image.shape}")
    return image


def _fit(image, size):
    """Scale the shorter side to ``size`` and crop the centre to ``size x size``."""
    scale = size / min(image.shape)
    if scale != 1.0:
        image = zoom(image, scale, order=1, grid_mode=True, mode="nearest")
    top, left = ((s - size) // 2 for s in image.shape)
    return image[top:top + size, left:left + size]


def sample_images(source="natural", n=4, size=128, *, seed=0) -> np.ndarray:
    """``n`` grey images ``(n, 1, size, size)`` in [0, 1], float64.

    Parameters
    ----------
    source : {"natural", "shapes"}
        ``"natural"``: the first ``n`` of :data:`NATURAL` (scikit-image, the ``restore``
        extra; ``ImportError`` naming it when absent); ``"shapes"``: the project's own
        textured shapes (:func:`deconvkit.datasets.shapes`, no dependency).
    n : int
        1 to ``len(NATURAL)`` for natural images.
    size : int
        Side of the square images (8 to 4096); natural images are scaled so the shorter
        side fits, then centre-cropped.
    seed : int
        The shapes' seed.
    """
    n, size = check_int(n, "n", 1), check_int(size, "size", 8, 4096)
    if source == "shapes":
        from ..datasets import shapes
        images, _ = shapes(n, size=size - size % 8 or 8, seed=seed)
        images = images.mean(axis=1, dtype=np.float64)
        return np.stack([_fit(im, size) for im in images])[:, None]
    if source != "natural":
        raise ValueError(f"source must be 'natural' or 'shapes', got {source!r}")
    if n > len(NATURAL):
        raise ValueError(f"n must be at most {len(NATURAL)} for natural images, got {n}")
    try:
        from skimage import data
    except ImportError as exc:
        raise ImportError("natural sample images need scikit-image: pip install "
                          "'deconvkit[restore]' (or use source='shapes')") from exc
    return np.stack([_fit(grey(getattr(data, name)()), size) for name in NATURAL[:n]])[:, None]


def folder_images(folder, size=128, *, limit=64) -> np.ndarray:
    """The image files in ``folder`` (PNG, JPEG, TIFF, ...) as ``(n, 1, size, size)`` grey
    float64 in [0, 1], sorted by name, at most ``limit``; ``ValueError`` when none."""
    from ..images import read_image

    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"images must be a folder of image files, got {str(folder)!r}")
    size, limit = check_int(size, "size", 8, 4096), check_int(limit, "limit", 1)
    suffixes = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif", ".webp"}
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in suffixes)[:limit]
    if not paths:
        raise ValueError(f"images: no image files ({', '.join(sorted(suffixes))}) in "
                         f"{str(folder)!r}")
    return np.stack([_fit(grey(read_image(p)[0]), size) for p in paths])[:, None]


def highpass(images, sigma=4.0):
    """``(detail, smooth)``: ``images`` minus a periodic Gaussian blur of ``sigma`` pixels,
    and that blur, over the spatial axes of ``(N, C, *spatial)``; ``detail + smooth`` is
    ``images``. The input is not modified."""
    images = np.asarray(images)
    if images.ndim < 3:
        raise ValueError(f"images must be (N, C, *spatial), got shape {images.shape}")
    sigma = float(sigma)
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0, got {sigma}")
    smooth = gaussian_filter(images, [0, 0] + [sigma] * (images.ndim - 2), mode="wrap")
    return images - smooth, smooth
