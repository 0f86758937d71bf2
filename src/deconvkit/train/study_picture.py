"""The comparison at convergence as a picture: the validation curves of every variant, and
each seed's final mean IoU next to the others'.

Needs matplotlib (``pip install "deconvkit[viz]"``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .study import load_study

__all__ = ["study_picture"]


def study_picture(folder, path, *, title=None, overwrite=False) -> Path:
    """Draw the runs in ``folder`` (:func:`~deconvkit.train.study.run_study`) into ``path``.

    Left: validation mean IoU after every epoch, the mean over seeds as a line and the
    range of the seeds as a band. Right: each seed's final mean IoU as a dot, the mean
    over seeds as a bar, variants sorted by that mean; a difference is worth reading
    only where the dots of two rows do not overlap.

    Parameters
    ----------
    folder : str or Path
        Holds the run files (``*-seed*.json``) of a study.
    path : str or Path
        The PNG to write (parent folders are created).
    title : str, optional
        Default: the recipe and the number of runs.
    overwrite : bool
        Replace an existing ``path``; otherwise ``ValueError`` before drawing.

    Returns
    -------
    Path
    """
    from ..explain.pictures import check_target, write_figure
    from .pictures import require_matplotlib

    path = check_target(path, overwrite)
    runs = load_study(folder)
    if not runs:
        raise ValueError(f"folder: no study runs (*-seed*.json) in {str(folder)!r}")
    plt = require_matplotlib()
    order = sorted(runs, key=lambda name: np.mean([r["mean_iou"] for r in runs[name]]))
    colours = {name: plt.get_cmap("tab10")(i % 10) for i, name in enumerate(sorted(runs))}
    fig, (curves, finals) = plt.subplots(1, 2, figsize=(11, 4.6),
                                         gridspec_kw={"width_ratios": [1.15, 1]})
    try:
        for name in reversed(order):
            _curve(curves, runs[name], name, colours[name])
        curves.set(xlabel="epoch", ylabel="validation mean IoU")
        curves.set_title("after every epoch: mean over seeds, band = their range", fontsize=9)
        curves.grid(alpha=0.3)
        curves.legend(fontsize=7, loc="lower right", title="variant (seeds)", title_fontsize=7)
        _finals(finals, runs, order, colours)
        count = sum(len(r) for r in runs.values())
        recipe = next(iter(runs.values()))[0].get("recipe", "")
        fig.suptitle(title or f"{count} runs of the {recipe} recipe: validation mean IoU",
                     fontsize=10)
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        return write_figure(fig, path, overwrite, dpi=110)
    finally:
        plt.close(fig)


def _curve(ax, runs, name, colour):
    """Mean over seeds per epoch (line) and the seeds' range (band), on the epochs that
    every run of ``name`` has."""
    curves = [[point["mean_iou"] for point in r.get("curve", [])] for r in runs]
    length = min(len(c) for c in curves)
    if length == 0:
        return
    values = np.array([c[:length] for c in curves])
    epochs = np.arange(1, length + 1)
    ax.plot(epochs, values.mean(axis=0), color=colour, lw=1.4,
            label=f"{name} ({len(runs)})")
    if len(runs) > 1:
        ax.fill_between(epochs, values.min(axis=0), values.max(axis=0), color=colour,
                        alpha=0.18, lw=0)


def _finals(ax, runs, order, colours):
    """One row per variant: a dot per seed, a bar at the mean, the mean written out."""
    for row, name in enumerate(order):
        values = np.array([r["mean_iou"] for r in runs[name]])
        mean = values.mean()
        ax.plot([mean, mean], [row - 0.3, row + 0.3], color=colours[name], lw=2.5)
        ax.scatter(values, np.full(values.shape, row), s=22, color=colours[name],
                   edgecolor="black", linewidth=0.5, zorder=3)
        ax.annotate(f"{mean:.3f}", (values.max(), row), xytext=(6, -3),
                    textcoords="offset points", fontsize=7.5)
    ax.set_yticks(range(len(order)), [f"{name} ({len(runs[name])})" for name in order],
                  fontsize=8)
    low = min(r["mean_iou"] for rs in runs.values() for r in rs)
    high = max(r["mean_iou"] for rs in runs.values() for r in rs)
    ax.set_xlim(low - 0.01, high + 0.03)
    ax.set_xlabel("final mean IoU (200 validation images)")
    ax.set_title("each seed a dot, the bar at their mean", fontsize=9)
    ax.grid(axis="x", alpha=0.3)
