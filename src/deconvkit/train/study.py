"""The comparison at convergence: every variant, several seeds, one JSON file per run.

A *study* trains the variants of :func:`~deconvkit.train.compare.comparison_configs`
on a recipe's data and budget, once per seed, and writes each run to its own file
(``<head>-<upsampling>-seed<k>.json`` in one folder). A run whose file exists is not
trained again, so a study can be stopped, resumed, and split over processes (one per
core, each with its own seeds or variants). :func:`study_table` summarises whatever
runs are there: per variant the mean over seeds and the range, and for each pair that
the FCN paper compares, whether the gap is larger than the seed-to-seed spread.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from .. import nn
from ..datasets import CLASSES
from .compare import comparison_configs, load_data
from .loop import run
from .recipes import Recipe, get_recipe
from .report import write_json

__all__ = ["study_configs", "run_study", "load_study", "study_table", "PAIRS"]

PAIRS = (("fcn32s/learned_bilinear", "fcn32s/bilinear", "learning the bilinear kernel"),
         ("fcn32s/learned_bilinear", "fcn32s/learned_random", "bilinear vs random start"),
         ("fcn32s/learned_bilinear", "fcn32s/deconv_stack", "one x8 step vs three x2"),
         ("fcn32s/learned_bilinear", "fcn32s/resize_conv", "deconvolution vs resize-conv"),
         ("fcn32s/learned_bilinear", "fcn32s/pixel_shuffle", "deconvolution vs pixel shuffle"),
         ("fcn16s/learned_bilinear", "fcn32s/learned_bilinear", "one skip vs none"),
         ("fcn8s/learned_bilinear", "fcn16s/learned_bilinear", "two skips vs one"))
"""``(a, b, question)``: the differences :func:`study_table` calls won, lost or tied."""


def study_configs(recipe="converge", seeds=(0, 1, 2)):
    """Every ``(config, data)`` of the study: the six upsamplings on FCN-32s, then FCN-16s
    and FCN-8s with learned bilinear upsampling, each with every seed, on ``recipe``'s
    data and budget (its model settings other than head and upsampling)."""
    r = recipe if isinstance(recipe, Recipe) else get_recipe(recipe)
    base = dataclasses.replace(r.config, head="fcn32s", upsampling="learned_bilinear")
    variants = comparison_configs(base, nn.UPSAMPLINGS, ("fcn16s", "fcn8s"))
    return [(dataclasses.replace(c, seed=int(s)), r.data) for c in variants for s in seeds]


def _file(folder: Path, config) -> Path:
    return folder / f"{config.head}-{config.upsampling}-seed{config.seed}.json"


def run_study(folder, recipe="converge", seeds=(0, 1, 2), *, only=None, progress=True,
              log=print, save_models=False):
    """Train every run of :func:`study_configs` that has no file in ``folder`` yet.

    Parameters
    ----------
    folder : str or Path
        Created if missing; one JSON per run (its summary with the per-epoch curve).
    recipe : str or Recipe
        A name of :data:`~deconvkit.train.recipes.RECIPES`, or a recipe.
    seeds : sequence of int
    only : sequence of str, optional
        Variant names (``"fcn32s/bilinear"``...) to run; default all.
    progress : bool
    log : callable
    save_models : bool
        Also write each trained model next to its JSON (``.npz``,
        :func:`deconvkit.nn.save_model`, with the summary's scores as ``meta``).

    Returns
    -------
    list of Path
        The JSON files written by this call.
    """
    folder = Path(folder)
    configs = study_configs(recipe, seeds)
    names = list(dict.fromkeys(c.name for c, _ in configs))
    unknown = sorted(set(only or ()) - set(names))
    if unknown:
        raise ValueError(f"only: unknown variants {unknown}; choose from {names}")
    folder.mkdir(parents=True, exist_ok=True)
    todo = [(c, d) for c, d in configs
            if (only is None or c.name in only) and not _file(folder, c).exists()]
    written, data_cache = [], {}
    for config, data in todo:
        if data not in data_cache:
            data_cache.clear()
            data_cache[data] = load_data(data)
        train, val = data_cache[data]
        result = run(config, train, val, progress=progress, curve=True)
        name = recipe.name if isinstance(recipe, Recipe) else recipe
        report = result.summary() | {"recipe": name, "data": dataclasses.asdict(data)}
        path = _file(folder, config)
        if save_models:
            meta = result.model_meta(report["data"]) | {"recipe": name}
            nn.save_model(result.model, path.with_suffix(".npz"), meta=meta, overwrite=True)
        write_json(report, path)
        written.append(path)
        log(f"{config.name} seed {config.seed}: mean IoU {result.metrics['mean_iou']:.3f} "
            f"in {result.train_seconds:.0f} s -> {path}")
    return written


def load_study(folder) -> dict:
    """``{variant name: [run summary, ...]}`` of the run files in ``folder``, by seed."""
    runs = {}
    for path in sorted(Path(folder).glob("*-seed*.json")):
        summary = json.loads(path.read_text(encoding="utf-8"))
        runs.setdefault(summary["name"], []).append(summary)
    for name in runs:
        runs[name].sort(key=lambda s: s["config"]["seed"])
    return runs


def _stats(runs, key):
    values = np.array([r[key] for r in runs], float)
    return values.mean(), values.min(), values.max()


def _verdict(a, b) -> str:
    """``a`` against ``b`` (lists of mean IoUs): a win or loss only when the ranges are
    apart; with one seed a side there is no spread to compare with."""
    if min(len(a), len(b)) < 2:
        return "one seed: no spread yet"
    if min(a) > max(b):
        return "**better** (ranges apart)"
    if max(a) < min(b):
        return "**worse** (ranges apart)"
    return "tie (ranges overlap)"


def study_table(folder) -> str:
    """Markdown: one row per variant (seeds, mean IoU mean and range, per-class means,
    boundary F1, checkerboard, minutes per run), then the verdict for :data:`PAIRS`."""
    runs = load_study(folder)
    head = ["variant", "seeds", "mean IoU: mean [min, max]", *CLASSES[1:], "boundary F1",
            "checkerboard", "min / run"]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for name, rs in runs.items():
        mean, lo, hi = _stats(rs, "mean_iou")
        per_class = np.nanmean([[np.nan if v is None else v for v in r["iou_per_class"]]
                                for r in rs], axis=0)
        lines.append(
            f"| {name} | {len(rs)} | **{mean:.3f}** [{lo:.3f}, {hi:.3f}] | "
            + " | ".join(f"{v:.2f}" for v in per_class[1:])
            + f" | {_stats(rs, 'boundary_f1')[0]:.3f} | {_stats(rs, 'checkerboard')[0]:.4f}"
            f" | {_stats(rs, 'train_seconds')[0] / 60:.1f} |")
    lines += ["", "| comparison | question | gap in mean IoU | verdict |", "|---|---|---:|---|"]
    for a, b, question in PAIRS:
        if a in runs and b in runs:
            ia = [r["mean_iou"] for r in runs[a]]
            ib = [r["mean_iou"] for r in runs[b]]
            lines.append(f"| {a} vs {b} | {question} | {np.mean(ia) - np.mean(ib):+.3f} | "
                         f"{_verdict(ia, ib)} |")
    return "\n".join(lines) + "\n"
