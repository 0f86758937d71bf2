"""Augmentation of ``(images, labels)`` batches that keeps every mask aligned with its image.

``shapes`` is a square image of shapes at random angles on a texture, so its
labels do not care which way up the image is: the eight flips and quarter turns
of the square (the dihedral group) and small shifts make new training images
from old ones, and each moves the label map exactly as it moves the pixels.
"""

from __future__ import annotations

import numpy as np

from .._checks import check_int

__all__ = ["flip_shift", "dihedral", "shift"]


def dihedral(x, code: int):
    """One of the 8 symmetries of the square on the last two axes of ``x``.

    ``code`` in ``0..7``: bit 0 flips the rows (up-down), bit 1 the columns
    (left-right), bit 2 swaps the two axes (a transpose, which with the flips
    gives the quarter turns). Needs a square ``x`` when ``code & 4``.

    >>> dihedral(np.array([[1, 2], [3, 4]]), 4).tolist()
    [[1, 3], [2, 4]]
    """
    if code & 1:
        x = x[..., ::-1, :]
    if code & 2:
        x = x[..., :, ::-1]
    if code & 4:
        x = np.swapaxes(x, -1, -2)
    return x


def shift(x, dy: int, dx: int):
    """``x`` moved by ``(dy, dx)`` pixels on its last two axes, the gap filled by reflection.

    Pixel ``[i, j]`` of the result is pixel ``[i - dy, j - dx]`` of ``x`` where that
    exists; the rows and columns shifted in mirror the edge (``mode="reflect"`` of
    :func:`numpy.pad`), for an image and its labels alike.

    >>> shift(np.array([[1, 2, 3]]), 0, 1).tolist()
    [[2, 1, 2]]
    """
    h, w = x.shape[-2:]
    if abs(dy) >= h or abs(dx) >= w:
        raise ValueError(f"a shift must be smaller than the image, got ({dy}, {dx}) "
                         f"for {h}x{w}")
    pad = [(0, 0)] * (x.ndim - 2) + [(max(dy, 0), max(-dy, 0)), (max(dx, 0), max(-dx, 0))]
    padded = np.pad(x, pad, mode="reflect")
    return padded[..., max(-dy, 0):max(-dy, 0) + h, max(-dx, 0):max(-dx, 0) + w]


def flip_shift(images, labels, rng, *, max_shift: int = 8, turns: bool = True):
    """A random symmetry and shift of every image of a batch, applied to its labels too.

    Parameters
    ----------
    images : (N, C, H, W) ndarray
    labels : (N, H, W) int ndarray
    rng : numpy Generator or int
        Draws, per image, a symmetry (:func:`dihedral`) and a shift (:func:`shift`).
    max_shift : int
        Shifts are uniform in ``-max_shift..max_shift`` per axis (0: none).
    turns : bool
        All 8 symmetries of the square (needs ``H == W``); ``False``: only the 4 flips.

    Returns
    -------
    images, labels : new arrays of the same shapes and dtypes; the inputs are not modified.

    Examples
    --------
    >>> x = np.arange(32, dtype=np.float32).reshape(2, 1, 4, 4)
    >>> xa, ya = flip_shift(x, x[:, 0].astype(int), 0, max_shift=1)
    >>> bool((xa[:, 0] == ya).all())
    True
    """
    images, labels = np.asarray(images), np.asarray(labels)
    if images.ndim != 4 or labels.shape != images.shape[:1] + images.shape[2:]:
        raise ValueError(f"need images (N, C, H, W) and labels (N, H, W), got "
                         f"{images.shape} and {labels.shape}")
    check_int(max_shift, "max_shift", 0)
    if turns and images.shape[2] != images.shape[3]:
        raise ValueError(f"turns=True needs square images, got {images.shape[2:]}")
    rng = np.random.default_rng(rng)
    n = len(images)
    codes = rng.integers(8 if turns else 4, size=n)
    shifts = rng.integers(-max_shift, max_shift + 1, size=(n, 2))
    out_x, out_y = np.empty_like(images), np.empty_like(labels)
    for i in range(n):
        out_x[i] = shift(dihedral(images[i], codes[i]), *shifts[i])
        out_y[i] = shift(dihedral(labels[i], codes[i]), *shifts[i])
    return out_x, out_y
