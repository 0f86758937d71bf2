"""Pictures of what a trained network's features respond to, as in Zeiler & Fergus (2014), Fig. 2.

:func:`visualize` takes a model saved by ``deconvkit train --save-model`` (or a
:mod:`deconvkit.nn` model), finds the strongest activations of a layer's channels
over a set of images, projects each back to pixel space with the deconvnet
(:mod:`deconvkit.nn.deconvnet`), and draws, for every channel, the grid of
projections next to the grid of image patches that caused them (each cropped to
the unit's receptive field). :func:`draw_projections` draws such grids from arrays.
matplotlib (the ``viz`` extra) is imported only when drawing.
"""

from __future__ import annotations

import math
import os

import numpy as np

from .._checks import check_int, describe
from ..nn import deconvnet as dn
from .draw import require_matplotlib, tile
from .pictures import check_target

__all__ = ["visualize", "draw_projections", "crop", "DEFAULT_CHANNELS"]

DEFAULT_CHANNELS = 6
"""Channels drawn when none are chosen: the strongest ones (mean of their top activations)."""
OUTSIDE = 0.88
"""Grey shown where a patch's receptive field reaches past the image."""


def crop(image, box, fill):
    """The part of ``image (C, *spatial)`` inside ``box`` (``(start, stop)`` per axis),
    with ``fill`` where the box reaches past the image.

    >>> crop(np.arange(4.0).reshape(1, 2, 2), ((-1, 1), (1, 3)), 9.0)[0]
    array([[9., 9.],
           [1., 9.]])
    """
    out = np.full((image.shape[0],) + tuple(b - a for a, b in box), fill, image.dtype)
    src, dst = [slice(None)], [slice(None)]
    for (a, b), n in zip(box, image.shape[1:]):
        lo, hi = max(a, 0), min(b, n)
        src.append(slice(lo, max(hi, lo)))
        dst.append(slice(lo - a, lo - a + max(hi - lo, 0)))
    out[tuple(dst)] = image[tuple(src)]
    return out


def _rgb(x):
    """``(C, h, w)`` as an ``(h, w, 3)`` picture: RGB when ``C == 3``, else the channel mean."""
    if x.shape[0] == 3:
        return np.moveaxis(x, 0, -1)
    return np.repeat(x.mean(axis=0)[..., None], 3, axis=-1)


def _signed(p):
    """A projection on a symmetric scale: 0 is mid-grey, the largest magnitude 0 or 1."""
    peak = np.abs(p).max()
    return 0.5 + 0.5 * (p / peak if peak > 0 else p)


def draw_projections(panels, out_png, *, title="", overwrite=False):
    """Draw grids of projections next to grids of the patches that caused them.

    Parameters
    ----------
    panels : list of (str, (k, C, h, w) ndarray, (k, C, h, w) ndarray)
        Per channel: a label, the projections (signed, any scale: each is shown on
        its own symmetric scale, zero mid-grey) and the image patches (values in
        [0, 1]), in the same order.
    out_png : str or os.PathLike
    title : str
    overwrite : bool
        Replace an existing file (otherwise ``ValueError``).

    Returns
    -------
    (width, height) : tuple of int
        Pixels of the PNG written.
    """
    path = check_target(out_png, overwrite)
    if not panels:
        raise ValueError("panels must hold at least one (label, projections, patches)")
    Figure, Canvas = require_matplotlib()
    columns = 2 if len(panels) > 1 else 1
    rows = math.ceil(len(panels) / columns)
    fig = Figure(figsize=(5.2 * columns, 2.9 * rows + 0.5), dpi=100)
    canvas = Canvas(fig)
    for i, (label, proj, patches) in enumerate(panels):
        grid = math.ceil(math.sqrt(len(proj)))
        left = tile(np.stack([_rgb(_signed(p)) for p in proj]), grid, gap=2, fill=1.0)
        right = tile(np.stack([_rgb(np.clip(q, 0, 1)) for q in patches]), grid, gap=2, fill=1.0)
        both = np.concatenate([left, np.ones((left.shape[0], max(left.shape[1] // 12, 3),
                                                3)), right], axis=1)
        ax = fig.add_subplot(rows, columns, i + 1)
        ax.imshow(both, interpolation="nearest")
        ax.set_title(label, fontsize=9)
        ax.set_axis_off()
    fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.97 if title else 1))
    canvas.print_png(os.fspath(path))
    width, height = canvas.get_width_height()
    return width, height


def _load(model_or_path):
    """``(model, meta, description)``: a model as given, or read with ``nn.load_model``."""
    if isinstance(model_or_path, (str, os.PathLike)):
        from ..nn import load_model

        model, meta = load_model(model_or_path)
        return model, meta, f"{os.fspath(model_or_path)}"
    dn.layer_names(model_or_path)  # TypeError for anything that is not a chain
    return model_or_path, {}, type(model_or_path).__name__


def _default_images(meta, n_images, seed):
    """The model's validation images (its ``meta["data"]``), or fresh shapes images."""
    from ..datasets import shapes

    data = dict(meta.get("data", {}))
    size = int(data.get("size", 64))
    dataset_seed = int(data.get("seed", 0)) if seed is None else seed
    split = data.get("val_split", "val")
    images, _ = shapes(n_images, size=size, seed=dataset_seed, split=split)
    source = "images of the model's validation split" if seed is None and data else \
        "shapes images"
    return images, f"{n_images} {source} ({split!r}, seed {dataset_seed}, {size}x{size})"


def _deepest_fitting(model, spatial):
    """The deepest layer whose receptive field fits inside the images."""
    names = dn.layer_names(model)
    fitting = [n for n in names if all(s <= m for s, m in
                                        zip(dn.receptive_field(model, n).size, spatial))]
    return fitting[-1] if fitting else names[0]


def _strongest(tops, count):
    """Channels by the mean of their top activations, strongest first."""
    score = {c: np.mean([a.value for a in acts]) for c, acts in tops.items()}
    return sorted(score, key=lambda c: (-score[c], c))[:count]


def _check_images(images):
    if not isinstance(images, np.ndarray) or images.ndim != 4:
        raise ValueError(f"images must be an (N, C, H, W) ndarray, got "
                         f"{getattr(images, 'shape', describe(images))}")
    return images


def _panels(model, images, layer, tops, mode):
    """Per channel: a label, the projections and the patches, cropped to the unit's box."""
    rf = dn.receptive_field(model, layer)
    lo, hi = float(np.min(images)), float(np.max(images))
    out = []
    for c, (acts, proj) in dn.project_activations(model, images, layer, tops, mode).items():
        boxes = [rf.box(a.position) for a in acts]
        patches = np.stack([crop((images[a.image] - lo) / max(hi - lo, 1e-12), box,
                                 OUTSIDE) for a, box in zip(acts, boxes)])
        crops = np.stack([crop(p, box, 0.0) for p, box in zip(proj, boxes)])
        label = (f"channel {c}: top {len(acts)} activations "
                 f"{acts[0].value:.3g} .. {acts[-1].value:.3g}")
        out.append((label, crops, patches))
    return out, rf


def visualize(model_or_path, out_png, *, layer=None, channels=None, top=9, images=None,
              n_images=64, seed=None, mode="deconvnet", overwrite=False) -> list:
    """Draw the deconvnet projections of a layer's strongest activations next to the
    image patches that caused them (Zeiler & Fergus 2014, Fig. 2) into ``out_png``.

    Parameters
    ----------
    model_or_path : str, os.PathLike or model
        A model file written by :func:`deconvkit.nn.save_model` (``deconvkit train
        --save-model``), or an FCN, Encoder or Sequential.
    out_png : str or os.PathLike
    layer : str, optional
        One of :func:`deconvkit.nn.deconvnet.layer_names` or a group (``"stage3"``);
        default the deepest layer whose receptive field fits inside the images.
    channels : int or sequence of int, optional
        Default the :data:`DEFAULT_CHANNELS` strongest (mean of their top activations).
    top : int
        Activations per channel, each from a different image.
    images : (N, C, H, W) ndarray, optional
        Default ``n_images`` of the model's validation images (regenerated from the
        dataset settings stored with the model) or, without those, fresh ``shapes``
        images. Not modified.
    n_images : int
        How many default images (ignored when ``images`` are given).
    seed : int, optional
        A ``shapes`` dataset seed to use instead of the model's.
    mode : {"deconvnet", "guided", "gradient"}
    overwrite : bool
        Replace an existing ``out_png`` (otherwise ``ValueError``).

    Returns
    -------
    list of str
        A summary: the layer, its receptive field, the channels shown, the images,
        and the file written.
    """
    parent = os.path.dirname(os.path.abspath(os.fspath(check_target(out_png, overwrite))))
    if not os.path.isdir(parent):
        raise ValueError(f"out_png must be in an existing directory, got {os.fspath(out_png)!r}")
    top = check_int(top, "top")
    if mode not in dn.MODES:
        raise ValueError(f"mode must be one of {dn.MODES}, got {mode!r}")
    require_matplotlib()
    model, meta, described = _load(model_or_path)
    images, source = _images(images, meta, n_images, seed)
    name, count, tops, how = _choose(model, images, layer, channels, top)
    panels, rf = _panels(model, images, name, tops, mode)
    size = "x".join(map(str, rf.size))
    title = (f"{meta.get('name', described)}: {name}, {mode} projections (left) and the "
             f"image patches that caused them (right), receptive field {size} px")
    width, height = draw_projections(panels, out_png, title=title, overwrite=overwrite)
    shown = max(len(acts) for acts in tops.values())
    return [f"model: {described}",
            f"layer: {name} ({count} channels, receptive field {size} pixels, "
            f"stride {'x'.join(map(str, rf.stride))})",
            f"channels ({how}): {', '.join(map(str, tops))}; top {shown} each",
            f"images: {source}; mode: {mode}",
            f"wrote {os.fspath(out_png)}: {width}x{height} PNG"]


def _images(images, meta, n_images, seed):
    """The images to search and a description of them."""
    if images is not None:
        return _check_images(images), f"{len(images)} given images"
    n_images = check_int(n_images, "n_images")
    seed = None if seed is None else check_int(seed, "seed", 0)
    return _default_images(meta, n_images, seed)


def _choose(model, images, layer, channels, top):
    """The layer's name, its channel count, the top activations of the channels to draw
    (chosen, or the strongest), and which of the two."""
    layer = _deepest_fitting(model, images.shape[2:]) if layer is None else layer
    acts = dn.activations(model, images, layer)  # checks the layer and the images
    name = dn._resolve(model, layer)[1]
    how = "strongest" if channels is None else "chosen"
    if channels is None:
        channels = _strongest(dn._top(acts, range(acts.shape[1]), top, True),
                              DEFAULT_CHANNELS)
    else:
        channels = dn._check_channels(channels, acts.shape[1])
    return name, acts.shape[1], dn._top(acts, channels, top, True), how
