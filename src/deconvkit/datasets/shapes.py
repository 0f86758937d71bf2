"""A synthetic segmentation dataset that ships with the code: textured shapes.

Every image has a textured background and 2-4 shapes of random class, scale,
rotation and colour, painted in order so later shapes occlude earlier ones,
sometimes crossed by a background bar that occludes them too. The classes are
chosen so that upsampling quality shows: triangles and stars have sharp corners,
stars thin spikes, crosses thin arms and rings a thin band, all of which a
coarse prediction upsampled naively loses.

Images and labels depend only on ``(seed, split, index)``, so the first ``k``
images of ``shapes(n)`` are ``shapes(k)`` and the splits never share an image.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

from .._checks import check_allocation, check_int

__all__ = ["CLASSES", "PALETTE", "SPLITS", "shapes", "shapes_splits", "colorize"]

CLASSES = ("background", "ellipse", "triangle", "star", "cross", "ring")
"""Class names; the label of a pixel is the index into this tuple."""

PALETTE = np.array([[0, 0, 0], [230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200],
                    [245, 130, 48]], dtype=np.uint8)
"""An RGB colour per class, for pictures of labels."""

SPLITS = ("train", "val", "test")


def _texture(rng, xx, yy, size):
    """A two-colour pattern in [0, 1]: a grating, stripes, or smooth noise."""
    kind = rng.integers(3)
    if kind == 0:
        freq, angle = rng.uniform(1.0, 6.0) / size, rng.uniform(0, np.pi)
        t = np.cos(angle) * xx + np.sin(angle) * yy
        return 0.5 + 0.5 * np.sin(2 * np.pi * freq * t + rng.uniform(0, 2 * np.pi))
    if kind == 1:
        period, angle = rng.uniform(4.0, size / 3), rng.uniform(0, np.pi)
        t = np.cos(angle) * xx + np.sin(angle) * yy
        return ((t // period) % 2).astype(np.float64)
    noise = gaussian_filter(rng.standard_normal(xx.shape), sigma=rng.uniform(1.5, size / 8),
                            mode="wrap")
    return (noise - noise.min()) / max(np.ptp(noise), 1e-12)


def _fill(rng, xx, yy, size, base, contrast):
    """An RGB image ``(3, H, W)``: colour ``base`` modulated by a random texture."""
    other = rng.uniform(0, 1, 3)
    p = _texture(rng, xx, yy, size) * contrast
    return base[:, None, None] * (1 - p) + other[:, None, None] * p


def _polygon(vx, vy, xx, yy):
    """Even-odd point-in-polygon test of every pixel centre."""
    inside = np.zeros(xx.shape, bool)
    for i in range(len(vx)):
        j = i - 1
        crosses = (vy[i] > yy) != (vy[j] > yy)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_at = vx[i] + (vx[j] - vx[i]) * (yy - vy[i]) / (vy[j] - vy[i])
        inside ^= crosses & (xx < x_at)
    return inside


def _rotated(xx, yy, cx, cy, angle):
    c, s = np.cos(angle), np.sin(angle)
    return c * (xx - cx) + s * (yy - cy), -s * (xx - cx) + c * (yy - cy)


def _bar(u, v, length, width):
    return (np.abs(u) <= length / 2) & (np.abs(v) <= width / 2)


def _shape_mask(cls, rng, xx, yy, size):
    """Boolean mask of one shape of class ``cls`` at a random place, scale and angle."""
    r = rng.uniform(0.12, 0.3) * size
    cx, cy = rng.uniform(0.15 * size, 0.85 * size, 2)
    angle = rng.uniform(0, 2 * np.pi)
    u, v = _rotated(xx, yy, cx, cy, angle)
    name = CLASSES[cls]
    if name == "ellipse":
        return (u / r) ** 2 + (v / (r * rng.uniform(0.4, 1.0))) ** 2 <= 1
    if name == "ring":
        thickness = max(1.5, r * rng.uniform(0.12, 0.3))
        rho = np.hypot(u, v)
        return (rho <= r) & (rho >= r - thickness)
    if name == "cross":
        width = max(1.5, r * rng.uniform(0.12, 0.3))
        u2, v2 = _rotated(xx, yy, cx, cy, angle + rng.uniform(np.pi / 3, np.pi / 2))
        return _bar(u, v, 2 * r, width) | _bar(u2, v2, 2 * r * rng.uniform(0.6, 1.0), width)
    if name == "triangle":
        theta = angle + 2 * np.pi * np.arange(3) / 3 + rng.uniform(-0.4, 0.4, 3)
        radius = r * rng.uniform(0.7, 1.1, 3)
    else:  # star: alternating outer and inner vertices, thin spikes
        spikes = int(rng.integers(4, 7))
        theta = angle + np.pi * np.arange(2 * spikes) / spikes
        radius = np.where(np.arange(2 * spikes) % 2 == 0, r, r * rng.uniform(0.25, 0.45))
    return _polygon(cx + radius * np.cos(theta), cy + radius * np.sin(theta), xx, yy)


def _contrasting(rng, background, minimum=0.35, tries=20):
    """A random colour at least ``minimum`` (Euclidean RGB) from ``background``."""
    for _ in range(tries):
        colour = rng.uniform(0, 1, 3)
        if np.linalg.norm(colour - background) >= minimum:
            break
    return colour


def _render(rng, size, max_shapes, noise):
    """One image ``(3, size, size)`` and its labels ``(size, size)``."""
    yy, xx = np.mgrid[0:size, 0:size] + 0.5
    bg_colour = rng.uniform(0, 1, 3)
    image = _fill(rng, xx, yy, size, bg_colour, contrast=rng.uniform(0.3, 0.8))
    labels = np.zeros((size, size), np.int64)
    for _ in range(int(rng.integers(2, max_shapes + 1))):
        cls = int(rng.integers(1, len(CLASSES)))
        mask = _shape_mask(cls, rng, xx, yy, size)
        colour = _contrasting(rng, bg_colour)
        image[:, mask] = _fill(rng, xx, yy, size, colour, rng.uniform(0.0, 0.3))[:, mask]
        labels[mask] = cls
    if rng.random() < 0.5:  # an occluding bar that belongs to the background
        u, v = _rotated(xx, yy, *rng.uniform(0.2 * size, 0.8 * size, 2), rng.uniform(0, np.pi))
        mask = _bar(u, v, 2 * size, rng.uniform(0.04, 0.1) * size)
        image[:, mask] = _fill(rng, xx, yy, size, rng.uniform(0, 1, 3), 0.5)[:, mask]
        labels[mask] = 0
    image += noise * rng.standard_normal(image.shape)
    return np.clip(image, 0.0, 1.0), labels


def shapes(n, size=64, seed=0, split="train", *, max_shapes=4, noise=0.03):
    """Generate ``n`` textured-shape images and their pixel labels.

    Parameters
    ----------
    n : int
        Number of images.
    size : int
        Height and width (>= 8).
    seed : int
        Dataset seed; with ``split`` and the image index it determines each image.
    split : {"train", "val", "test"}
        Independent streams of images for the same seed.
    max_shapes : int
        Each image has between 2 and ``max_shapes`` shapes.
    noise : float
        Standard deviation of additive Gaussian pixel noise.

    Returns
    -------
    images : (n, 3, size, size) float32 ndarray in [0, 1]
    labels : (n, size, size) int64 ndarray of class indices into :data:`CLASSES`

    Examples
    --------
    >>> images, labels = shapes(4, size=32)
    >>> images.shape, images.dtype, labels.shape, labels.dtype
    ((4, 3, 32, 32), dtype('float32'), (4, 32, 32), dtype('int64'))
    >>> bool((shapes(2, size=32)[1] == labels[:2]).all())
    True
    """
    check_int(n, "n", 0)
    check_int(size, "size", 8)
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    check_int(max_shapes, "max_shapes", 2, 64)
    check_allocation(n * size * size * (3 * 4 + 8), f"shapes(n={n}, size={size})")
    images = np.empty((n, 3, size, size), np.float32)
    labels = np.empty((n, size, size), np.int64)
    for i in range(n):
        rng = np.random.default_rng([int(seed), SPLITS.index(split), i])
        images[i], labels[i] = _render(rng, int(size), int(max_shapes), float(noise))
    return images, labels


def shapes_splits(n_train, n_val, size=64, seed=0, **kwargs):
    """``(train_images, train_labels), (val_images, val_labels)`` from :func:`shapes`."""
    return (shapes(n_train, size, seed, "train", **kwargs),
            shapes(n_val, size, seed, "val", **kwargs))


def colorize(labels):
    """RGB ``uint8`` picture ``(*labels.shape, 3)`` of labels, with :data:`PALETTE`."""
    labels = np.asarray(labels)
    if labels.size and (labels.min() < 0 or labels.max() >= len(PALETTE)):
        raise ValueError(f"labels must be in [0, {len(PALETTE)}), "
                         f"got {labels.min()}..{labels.max()}")
    return PALETTE[labels]
