"""The picture of a trained model's predictions (``deconvkit predict``).

:func:`predictions_picture` draws input / ground truth / prediction for a few images, a
legend of the classes, and for a model with a learned transposed convolution its final
upsampling kernel next to the bilinear kernel. Needs matplotlib
(``pip install "deconvkit[viz]"``), drawn with the Agg backend (no display).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import nn
from ..datasets import CLASSES, PALETTE, colorize

__all__ = ["require_matplotlib", "upsampling_kernel", "predictions_picture"]


def require_matplotlib():
    """``matplotlib.pyplot`` on the Agg backend, or ``ImportError`` naming the extra."""
    try:
        import matplotlib
    except ImportError as exc:
        raise ImportError('pictures need matplotlib: pip install "deconvkit[viz]"') from exc
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def upsampling_kernel(model):
    """The final learned upsampling kernel of ``model`` and the bilinear kernel of its size.

    Parameters
    ----------
    model : Module
        An FCN (:func:`deconvkit.nn.fcn`) or any module with :class:`~deconvkit.nn.ConvTranspose`
        children named ``up*``.

    Returns
    -------
    kernels : dict or None
        ``None`` when no trainable transposed convolution upsamples (fixed bilinear,
        resize-conv, pixel shuffle). Else ``"name"`` (the layer's dotted name),
        ``"learned"`` ``(*k)``: the mean over classes ``c`` of ``weight[c, c]`` (what
        maps a class score to itself), ``"bilinear"`` ``(*k)``: the bilinear kernel of
        the layer's size and stride (:func:`deconvkit.nn.init.bilinear_kernel`), and
        ``"started_bilinear"``: whether the model was initialized with it.

    Examples
    --------
    >>> from deconvkit import nn
    >>> k = upsampling_kernel(nn.fcn("fcn8s", "learned_bilinear", width=4))
    >>> k["name"], k["learned"].shape, bool(np.allclose(k["learned"], k["bilinear"]))
    ('up2', (4, 4), True)
    >>> upsampling_kernel(nn.fcn("fcn32s", "bilinear", width=4)) is None
    True
    """
    layers = [(name, m) for name, m in model.named_modules()
              if isinstance(m, nn.ConvTranspose) and name.startswith("up")
              and m.weight.requires_grad]
    if not layers:
        return None
    name, layer = layers[-1]
    w = layer.weight.data
    learned = w.mean(axis=(0, 1)) if w.shape[0] != w.shape[1] else np.diagonal(w).mean(axis=-1)
    return {"name": name, "learned": np.asarray(learned, np.float64),
            "bilinear": nn.init.bilinear_kernel(layer.kernel_size, layer.stride),
            "started_bilinear": getattr(model, "upsampling", None) == "learned_bilinear"}


def _kernel_panel(ax, kernel, title, vmax):
    ax.imshow(kernel, cmap="RdBu_r", vmin=-vmax, vmax=vmax, interpolation="nearest")
    if max(kernel.shape) <= 8:      # small kernels: print the values
        for (i, j), v in np.ndenumerate(kernel):
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=5.5,
                    color="white" if abs(v) > 0.6 * vmax else "black")
    ax.set_title(title, fontsize=7)
    ax.set_xticks([]), ax.set_yticks([])


def _kernel_panels(axes, kernels):
    """Learned, bilinear (one colour scale) and their difference (its own scale)."""
    learned, bilinear = kernels["learned"], kernels["bilinear"]
    scale = max(float(np.abs(learned).max()), float(np.abs(bilinear).max())) or 1.0
    start = "bilinear (its start)" if kernels["started_bilinear"] else "bilinear"
    panels = [(learned, f"learned {kernels['name']}", scale), (bilinear, start, scale)]
    change = learned - bilinear
    panels.append((change, "learned - bilinear", float(np.abs(change).max()) or 1.0))
    for ax, panel in zip(axes, panels):
        _kernel_panel(ax, *panel)
    for ax in axes[len(panels):]:
        ax.axis("off")


def predictions_picture(images, predictions, path, *, truth=None, captions=None,
                        kernels=None, title="", overwrite=False) -> Path:
    """Draw input, ground truth and prediction of every image to ``path`` (PNG).

    Parameters
    ----------
    images : (N, 3, H, W) ndarray
        Model inputs in [0, 1].
    predictions : (N, H, W) int ndarray
        Class indices into :data:`deconvkit.datasets.CLASSES`.
    path : str or Path
    truth : (N, H, W) int ndarray, optional
        Ground truth; without it the picture has no truth row.
    captions : list of str, optional
        One line under each prediction (e.g. its IoU).
    kernels : dict, optional
        :func:`upsampling_kernel` of the model: a column of kernel panels on the right.
    title : str
    overwrite : bool
        Replace an existing file; otherwise an existing ``path`` raises ``ValueError``.

    Returns
    -------
    path : Path

    Notes
    -----
    One column per image; rows input / ground truth / prediction, the classes'
    colours (:data:`deconvkit.datasets.PALETTE`) in a legend underneath.
    """
    from ..explain.pictures import check_target, write_figure

    path = check_target(path, overwrite)
    plt = require_matplotlib()
    from matplotlib.patches import Patch

    rows = [("input", [np.clip(x.transpose(1, 2, 0), 0, 1) for x in images])]
    if truth is not None:
        rows.append(("ground truth", [colorize(t) for t in truth]))
    rows.append(("prediction", [colorize(p) for p in predictions]))
    n, extra = len(images), int(kernels is not None)
    fig, axes = plt.subplots(len(rows), n + extra, squeeze=False,
                             figsize=(1.45 * (n + 1.3 * extra) + 0.5, 1.55 * len(rows) + 0.9),
                             gridspec_kw={"width_ratios": [1] * n + [1.3] * extra})
    for r, (label, panels) in enumerate(rows):
        for i, panel in enumerate(panels):
            ax = axes[r, i]
            ax.imshow(panel, interpolation="nearest")
            ax.set_xticks([]), ax.set_yticks([])
            if i == 0:
                ax.set_ylabel(label, fontsize=8)
            if label == "prediction" and captions is not None:
                ax.set_xlabel(captions[i], fontsize=6.5)
    if extra:
        _kernel_panels(axes[:, -1], kernels)
    handles = [Patch(facecolor=PALETTE[k] / 255, edgecolor="grey", label=name)
               for k, name in enumerate(CLASSES)]
    fig.legend(handles=handles, loc="lower center", ncol=len(CLASSES), fontsize=7,
               frameon=False)
    if title:
        fig.suptitle(title, fontsize=8.5)
    try:
        fig.tight_layout(rect=(0, 0.06, 1, 1))
        return write_figure(fig, path, overwrite, dpi=120)
    finally:
        plt.close(fig)
