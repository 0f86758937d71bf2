"""Pictures of convolutional sparse coding: the learned filters, one image's feature maps
and its reconstruction ``D z`` (the ``viz`` extra, matplotlib)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

__all__ = ["filter_mosaic", "strongest_maps", "draw_learned"]


def filter_mosaic(filters, *, columns=None, gap=1) -> np.ndarray:
    """The filters side by side in one grey ``(H, W)`` image, each scaled to [-1, 1].

    Parameters
    ----------
    filters : (K, C, kh, kw) ndarray
        Two spatial axes; the channels are averaged (a grey picture of each filter).
    columns : int, optional
        Tiles per row; default about ``sqrt(K)``.
    gap : int
        Pixels between tiles (shown as 0, the middle grey).

    Returns
    -------
    (rows * (kh + gap) - gap, columns * (kw + gap) - gap) ndarray
        ``0`` is the middle of the colour scale, each filter's largest magnitude ``±1``.

    Examples
    --------
    >>> filter_mosaic(np.ones((4, 1, 3, 3))).shape
    (7, 7)
    """
    filters = np.asarray(filters, dtype=np.float64)
    if filters.ndim != 4:
        raise ValueError(f"filters must have shape (K, C, kh, kw) for a picture, got shape "
                         f"{filters.shape}")
    tiles = filters.mean(axis=1)
    k, kh, kw = tiles.shape
    columns = columns or math.ceil(math.sqrt(k))
    rows = math.ceil(k / columns)
    mosaic = np.zeros((rows * (kh + gap) - gap, columns * (kw + gap) - gap))
    for i, tile in enumerate(tiles):
        r, c = divmod(i, columns)
        peak = np.abs(tile).max() or 1.0
        mosaic[r * (kh + gap):r * (kh + gap) + kh, c * (kw + gap):c * (kw + gap) + kw] = \
            tile / peak
    return mosaic


def strongest_maps(z, count=8) -> list:
    """Indices of the ``count`` feature maps of one code ``(K, *spatial)`` with the largest
    ``l1`` norm, strongest first.

    >>> strongest_maps(np.array([[[0.0]], [[3.0]], [[-2.0]]]), 2)
    [1, 2]
    """
    z = np.asarray(z)
    norms = np.abs(z.reshape(z.shape[0], -1)).sum(axis=1)
    return [int(i) for i in np.argsort(-norms, kind="stable")[:count]]


def draw_learned(path, filters, image, z, reconstruction, *, title="", scores=None,
                 maps=8, overwrite=False) -> Path:
    """One PNG: the filter mosaic, an image, its strongest feature maps and ``D z``.

    Parameters
    ----------
    path : str or Path
        The PNG to write; an existing file is refused unless ``overwrite``.
    filters : (K, C, kh, kw) ndarray
    image : (H, W) ndarray
        What was coded (e.g. the high-passed image plus its smooth part).
    z : (K, H', W') ndarray
        The image's coefficient maps.
    reconstruction : (H, W) ndarray
        ``D z`` (plus the same smooth part as ``image``).
    title : str
    scores : dict, optional
        Shown under the reconstruction, e.g. ``{"PSNR": "31.2 dB"}``.
    maps : int
        How many feature maps to show (the strongest).
    overwrite : bool

    Returns
    -------
    Path
    """
    from ..explain.draw import require_matplotlib

    path = Path(path)
    if path.exists() and not overwrite:
        raise ValueError(f"path: {str(path)!r} exists; give overwrite=True to replace it")
    Figure, Canvas = require_matplotlib()
    z = np.asarray(z)
    chosen = strongest_maps(z, maps)
    fig = Figure(figsize=(3.2 * 3 + 1.6 * math.ceil(len(chosen) / 2), 3.6), dpi=100)
    Canvas(fig)
    columns = 3 + math.ceil(len(chosen) / 2)
    grid = fig.add_gridspec(2, columns)
    panels = [(grid[:, 0], filter_mosaic(filters), f"{len(filters)} filters", "RdBu_r"),
              (grid[:, 1], image, "image", "gray"),
              (grid[:, 2], reconstruction, "reconstruction D z" + _scores(scores), "gray")]
    for place, values, label, cmap in panels:
        ax = fig.add_subplot(place)
        limit = np.abs(values).max() or 1.0
        kw = dict(vmin=-limit, vmax=limit) if cmap == "RdBu_r" else {}
        ax.imshow(values, cmap=cmap, interpolation="nearest", **kw)
        ax.set_title(label, fontsize=9)
        ax.set_axis_off()
    for i, k in enumerate(chosen):
        ax = fig.add_subplot(grid[i % 2, 3 + i // 2])
        limit = np.abs(z[k]).max() or 1.0
        ax.imshow(z[k], cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
        density = np.count_nonzero(z[k]) / z[k].size
        ax.set_title(f"z[{k}]  {100 * density:.1f}% nonzero", fontsize=7)
        ax.set_axis_off()
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path


def _scores(scores) -> str:
    if not scores:
        return ""
    return "\n" + ", ".join(f"{k} {v}" for k, v in scores.items())
