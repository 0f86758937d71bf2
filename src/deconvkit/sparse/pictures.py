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
        Pixels between tiles, and the empty tiles of the last row: NaN (drawn in the
        colour map's "bad" colour).

    Returns
    -------
    (rows * (kh + gap) - gap, columns * (kw + gap) - gap) ndarray
        Each filter scaled so that its largest magnitude is ``±1``.

    Examples
    --------
    >>> filter_mosaic(np.ones((4, 1, 3, 3))).shape
    (7, 7)
    """
    filters = np.asarray(filters, dtype=np.float64)
    if filters.ndim != 4:
        raise ValueError(f"filters must have shape (K, C, kh, kw) for a picture, got shape "
                         f"{filters.shape}")
    from ..explain.draw import tile

    tiles = filters.mean(axis=1)
    peaks = np.abs(tiles).max(axis=(1, 2), keepdims=True)
    tiles = tiles / np.where(peaks > 0, peaks, 1.0)
    return tile(tiles, columns or math.ceil(math.sqrt(len(tiles))), gap)


def strongest_maps(z, count=8) -> list:
    """Indices of the ``count`` feature maps of one code ``(K, *spatial)`` with the largest
    ``l1`` norm, strongest first.

    >>> strongest_maps(np.array([[[0.0]], [[3.0]], [[-2.0]]]), 2)
    [1, 2]
    """
    z = np.asarray(z)
    norms = np.abs(z.reshape(z.shape[0], -1)).sum(axis=1)
    return [int(i) for i in np.argsort(-norms, kind="stable")[:count]]


def draw_learned(path, filters, image, z, reconstruction, *, parts=None, title="",
                 scores=None, maps=4, overwrite=False) -> Path:
    """One PNG: the filter mosaic, an image, ``D z``, and the strongest feature maps
    ``z_k`` each over its part ``d_k ∗ z_k`` of the reconstruction.

    Parameters
    ----------
    path : str or Path
        The PNG to write; an existing file is refused (``ValueError``) unless
        ``overwrite``.
    filters : (K, C, kh, kw) ndarray
    image : (H, W) ndarray
        What was coded (e.g. the high-passed image plus its smooth part).
    z : (K, H', W') ndarray
        The image's coefficient maps.
    reconstruction : (H, W) ndarray
        ``D z`` (plus the same smooth part as ``image``).
    parts : callable, optional
        ``parts(k)`` -> ``(H, W)``: filter ``k``'s part ``d_k ∗ z_k`` of ``D z``, drawn
        under ``z_k``; without it only the maps are drawn.
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
    from ..explain.pictures import check_target, write_figure

    path = check_target(path, overwrite)
    Figure, Canvas = require_matplotlib()
    z = np.asarray(z)
    chosen = strongest_maps(z, maps)
    fig = Figure(figsize=(4.2 + 2.6 * 2 + 2.0 * len(chosen), 4.6), dpi=100)
    Canvas(fig)
    grid = fig.add_gridspec(2, 3 + len(chosen), width_ratios=[1.6, 1.3, 1.3] + [1] * len(chosen))
    mosaic = filter_mosaic(filters)
    _show(fig.add_subplot(grid[:, 0]), mosaic, f"{len(filters)} filters d_k", signed=True)
    _show(fig.add_subplot(grid[:, 1]), image, "image", signed=False)
    _show(fig.add_subplot(grid[:, 2]), reconstruction, "D z" + _scores(scores), signed=False)
    for i, k in enumerate(chosen):
        density = np.count_nonzero(z[k]) / z[k].size
        _show(fig.add_subplot(grid[0, 3 + i]), z[k], f"z_{k}: {100 * density:.1f}% nonzero",
              signed=True)
        if parts is not None:
            _show(fig.add_subplot(grid[1, 3 + i]), parts(k), f"d_{k} ∗ z_{k}", signed=True)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_figure(fig, path, overwrite)


def _show(ax, values, label, *, signed):
    """``values`` on ``ax``: signed data on a symmetric blue-red scale (NaN dark grey)."""
    import matplotlib

    if signed:
        cmap = matplotlib.colormaps["RdBu_r"].with_extremes(bad="0.3")
        limit = float(np.nanmax(np.abs(values))) or 1.0
        ax.imshow(values, cmap=cmap, vmin=-limit, vmax=limit, interpolation="nearest")
    else:
        ax.imshow(values, cmap="gray", interpolation="nearest")
    ax.set_title(label, fontsize=8)
    ax.set_axis_off()


def _scores(scores) -> str:
    if not scores:
        return ""
    return "\n" + ", ".join(f"{k} {v}" for k, v in scores.items())
