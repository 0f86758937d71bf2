"""Reports of training runs: a JSON file, a Markdown table and PNG figures.

The figures need matplotlib (``pip install "deconvkit[viz]"``); without it
:func:`write_figures` returns no paths and says why, everything else still works.
"""

from __future__ import annotations

import importlib.util
import json
import platform
from pathlib import Path

import numpy as np

from .. import nn
from ..datasets import CLASSES, colorize

__all__ = ["report_dict", "markdown_table", "write_figures", "have_matplotlib"]

COLUMNS = ("model", "upsampling", "mean IoU", "pixel acc.", "boundary F1", "checkerboard",
           "train time", "images/s")


def report_dict(results, data: dict) -> dict:
    """A JSON-ready dict of every run's summary, the data description and the machine."""
    from .. import __version__
    from ..threads import get_num_threads

    return {"deconvkit": __version__, "python": platform.python_version(),
            "numpy": np.__version__, "threads": get_num_threads(), "data": data,
            "classes": list(CLASSES), "runs": [r.summary() for r in results]}


def markdown_table(results) -> str:
    """One row per run: validation metrics, training time and throughput."""
    lines = ["| " + " | ".join(COLUMNS) + " |",
             "|" + "|".join(["---"] * 2 + ["---:"] * (len(COLUMNS) - 2)) + "|"]
    for r in results:
        m = r.metrics
        lines.append(f"| {r.config.head} | {r.config.upsampling} | {m['mean_iou']:.3f} | "
                     f"{m['pixel_accuracy']:.3f} | {m['boundary_f1']:.3f} | "
                     f"{m['checkerboard']:.4f} | {_seconds(r.train_seconds)} | "
                     f"{r.images_per_second:.0f} |")
    return "\n".join(lines) + "\n"


def _seconds(t: float) -> str:
    return f"{t:.1f} s" if t < 10 else f"{t:.0f} s" if t < 600 else f"{t / 60:.1f} min"


def write_json(report: dict, path: Path) -> None:
    path.write_text(json.dumps(report, indent=2, allow_nan=True) + "\n", encoding="utf-8")


def have_matplotlib() -> bool:
    return importlib.util.find_spec("matplotlib") is not None


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _transposed_layers(model):
    """``(name, ConvTranspose)`` of every transposed convolution in the upsampling path."""
    return [(name, m) for name, m in model.named_modules()
            if isinstance(m, nn.ConvTranspose) and name.startswith("up")]


def _diagonal_kernel(layer):
    """The mean over channels ``c`` of ``weight[c, c]``: what maps a class score to itself."""
    w = layer.weight.data
    if w.shape[0] != w.shape[1]:          # grouped: one kernel per channel
        return w.mean(axis=(0, 1))
    return np.diagonal(w).mean(axis=-1)   # np.diagonal puts the channel axis last


def predictions_figure(results, images, labels, path: Path, count: int = 4) -> Path:
    """Input, ground truth and each run's prediction for the first ``count`` images."""
    plt = _pyplot()
    count = min(count, len(images))
    cols = 2 + len(results)
    fig, axes = plt.subplots(count, cols, figsize=(1.6 * cols, 1.7 * count + 0.4),
                             squeeze=False)
    titles = ["input", "ground truth"] + [r.config.name.replace("/", "\n") for r in results]
    for i in range(count):
        panels = [np.clip(images[i].transpose(1, 2, 0), 0, 1), colorize(labels[i])]
        panels += [colorize(r.predictions[i]) for r in results]
        for j, (ax, panel) in enumerate(zip(axes[i], panels)):
            ax.imshow(panel, interpolation="nearest")
            ax.set_xticks([]), ax.set_yticks([])
            if i == 0:
                ax.set_title(titles[j], fontsize=7)
    fig.suptitle("validation images: each variant's prediction", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def kernels_figure(results, path: Path) -> Path | None:
    """Each run's learned transposed-convolution kernels next to the bilinear kernel.

    A row per run with trainable transposed convolutions in its upsampling path:
    the bilinear kernel of the first layer's size, the learned kernel of every layer
    (the mean over classes of the class-to-itself kernel ``weight[c, c]``) on the
    same colour scale, and for a bilinear-initialized run the change from bilinear
    on its own scale (training moves such kernels little, the change shows how).
    ``None`` when no run has such a layer.
    """
    rows = []
    for r in results:
        layers = [(n, m) for n, m in _transposed_layers(r.model) if m.weight.requires_grad]
        if layers:
            rows.append((r, layers))
    if not rows:
        return None
    plt = _pyplot()
    cols = 2 + max(len(layers) for _, layers in rows)
    fig, axes = plt.subplots(len(rows), cols, figsize=(1.9 * cols, 2.0 * len(rows) + 0.5),
                             squeeze=False)
    for (r, layers), row in zip(rows, axes):
        for ax in row:
            ax.axis("off")
        first = layers[0][1]
        reference = nn.init.bilinear_kernel(first.kernel_size, first.stride)
        kernels = [reference] + [_diagonal_kernel(layer) for _, layer in layers]
        names = ["bilinear"] + [f"learned {name}" for name, _ in layers]
        scale = max(float(np.abs(k).max()) for k in kernels) or 1.0
        panels = [(k, name, scale) for k, name in zip(kernels, names)]
        if r.config.upsampling == "learned_bilinear":
            change = kernels[1] - reference
            panels.append((change, f"{layers[0][0]} - bilinear",
                           float(np.abs(change).max()) or 1.0))
        for ax, (k, name, vmax) in zip(row, panels):
            ax.imshow(k, cmap="RdBu_r", vmin=-vmax, vmax=vmax, interpolation="nearest")
            ax.set_title(name, fontsize=7)
            ax.axis("on"), ax.set_xticks([]), ax.set_yticks([])
        row[0].set_ylabel(r.config.name.replace("/", "\n"), fontsize=7)
    fig.suptitle("upsampling kernels: mean of weight[c, c] (red > 0 > blue)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def losses_figure(results, path: Path) -> Path:
    """Training loss per step of every run (a moving average over an epoch's steps)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for r in results:
        losses = np.asarray(r.losses)
        window = max(1, min(len(losses) // r.config.epochs, len(losses)))
        smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
        ax.plot(np.arange(window, len(losses) + 1), smooth, label=r.config.name, lw=1.2)
    ax.set_xlabel("step"), ax.set_ylabel("training loss"), ax.set_yscale("log")
    ax.legend(fontsize=7), ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_figures(results, val, prefix: Path) -> list[Path]:
    """``<prefix>predictions.png``, ``<prefix>kernels.png`` and ``<prefix>losses.png``."""
    if not have_matplotlib():
        return []
    images, labels = val
    paths = [predictions_figure(results, images, labels, Path(f"{prefix}predictions.png")),
             kernels_figure(results, Path(f"{prefix}kernels.png")),
             losses_figure(results, Path(f"{prefix}losses.png"))]
    return [p for p in paths if p is not None]
