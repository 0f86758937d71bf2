"""End-to-end training of small FCNs on ``shapes``, and comparisons of their upsampling.

* :class:`RunConfig`, :func:`run`, :func:`fit`, :func:`evaluate`: one training run;
* :class:`DataConfig`, :func:`comparison_configs`, :func:`compare`, :data:`QUICK`,
  :data:`FULL`: the upsampling variants and heads under one seed and budget;
* :mod:`~deconvkit.train.metrics`: mean IoU, pixel accuracy, boundary F1 and a
  checkerboard-artifact score;
* :func:`train_and_report`: what ``deconvkit train`` does: train, then write a
  JSON report, a Markdown table and PNG figures;
* :data:`RECIPES`, :func:`get_recipe`: named recipes (``"converge"``: trained until
  the validation IoU flattens), with :mod:`~deconvkit.train.augment` (flips, turns,
  shifts) and :mod:`~deconvkit.train.schedule` (warm-up, then cosine decay).

Example
-------
>>> from deconvkit.train import RunConfig, run
>>> from deconvkit.datasets import shapes_splits
>>> train, val = shapes_splits(8, 4, size=32)
>>> result = run(RunConfig("fcn32s", "learned_bilinear", epochs=1, batch_size=4, width=4),
...              train, val, progress=False)
>>> sorted(result.metrics)
['boundary_f1', 'checkerboard', 'iou_per_class', 'mean_iou', 'pixel_accuracy']
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from .. import nn
from .compare import FULL, QUICK, DataConfig, compare, comparison_configs, load_data
from .loop import RunConfig, RunResult, evaluate, fit, run
from .recipes import RECIPES, Recipe, get_recipe
from .metrics import (boundary_f1, checkerboard_score, confusion_matrix, mean_iou,
                      pixel_accuracy, segmentation_metrics)
from .report import have_matplotlib, markdown_table, report_dict, write_figures, write_json

__all__ = ["RunConfig", "RunResult", "DataConfig", "run", "fit", "evaluate", "compare",
           "comparison_configs", "load_data", "QUICK", "FULL", "train_and_report",
           "output_paths", "confusion_matrix", "mean_iou", "pixel_accuracy", "boundary_f1",
           "checkerboard_score", "segmentation_metrics", "markdown_table", "report_dict",
           "RECIPES", "Recipe", "get_recipe"]

FIGURES = ("predictions.png", "kernels.png", "losses.png")


def output_paths(out, report=None) -> dict:
    """Where :func:`train_and_report` writes: ``json``, ``markdown`` and figure ``prefix``.

    The JSON report is ``report`` (default ``out/report.json``); the Markdown table and
    the figures go next to it, named after it (``report.md``, ``report-kernels.png``...).
    """
    json_path = Path(out) / "report.json" if report is None else Path(report)
    if json_path.suffix.lower() != ".json":
        raise ValueError(f"the report must be a .json path, got {str(json_path)!r}")
    stem = json_path.with_suffix("")
    return {"json": json_path, "markdown": json_path.with_suffix(".md"),
            "prefix": Path(f"{stem}-")}


def _check_writable(paths, overwrite):
    files = [paths["json"], paths["markdown"]] + [Path(f"{paths['prefix']}{f}") for f in FIGURES]
    existing = [str(p) for p in files if p.exists()]
    if existing and not overwrite:
        raise ValueError(f"would overwrite {', '.join(existing)}; pass --overwrite "
                         f"(overwrite=True) or choose another --out / --report")
    paths["json"].parent.mkdir(parents=True, exist_ok=True)


def train_and_report(configs, data: DataConfig, *, out="deconvkit-train", report=None,
                     overwrite=False, progress=True, figures=True, log=print, curve=False,
                     save_model=None):
    """Train every config on ``data``, then write the report files.

    Checks the output paths before any training (nothing is overwritten unless
    ``overwrite``), trains the runs one after another (one tqdm bar each), and
    writes the JSON report, the Markdown table and, with matplotlib, the figures.
    With ``curve``, every run is also validated after every epoch (one line logged
    per epoch; the points are in the JSON report under ``"curve"``).
    With ``save_model`` (a path; one config only), the trained model is written by
    :func:`deconvkit.nn.save_model` with its config, data and validation metrics as
    ``meta`` (what :func:`deconvkit.nn.pretrained` reports).

    Returns
    -------
    results : list of RunResult
    written : list of Path
    """
    paths = output_paths(out, report)
    _check_writable(paths, overwrite)
    if save_model is not None:
        if len(configs) != 1:
            raise ValueError(f"save_model needs exactly one config, got {len(configs)}")
        if Path(save_model).exists() and not overwrite:
            raise FileExistsError(f"{save_model} exists; pass overwrite=True to replace it")
    train, val = load_data(data)
    log(f"shapes: {data.n_train} training and {data.n_val} validation images of "
        f"{data.size}x{data.size} (seed {data.seed}); {len(configs)} run(s)")
    results = compare(configs, train, val, progress=progress,
                      on_result=lambda r: log(_one_line(r)), curve=curve)
    for r in results if curve else []:
        log("\n".join(f"{r.config.name} epoch {p['epoch']}: val mean IoU {p['mean_iou']:.3f}, "
                      f"per class {' '.join(_iou(v) for v in p['iou_per_class'])}"
                      for p in r.curve))
    table = markdown_table(results)
    report_data = report_dict(results, dataclasses.asdict(data) | {"val_split": "val"})
    write_json(report_data, paths["json"])
    paths["markdown"].write_text(table, encoding="utf-8")
    written = [paths["json"], paths["markdown"]]
    if save_model is not None:
        Path(save_model).parent.mkdir(parents=True, exist_ok=True)
        nn.save_model(results[0].model, save_model, overwrite=overwrite,
                      meta=results[0].model_meta(report_data["data"]))
        written.append(Path(save_model))
    if figures:
        if have_matplotlib():
            written += write_figures(results, val, paths["prefix"])
        else:
            log('no figures: matplotlib is not installed (pip install "deconvkit[viz]")')
    log("\n" + table)
    log("wrote " + ", ".join(str(p) for p in written))
    return results, written


def _iou(value) -> str:
    return "-" if value is None else f"{value:.2f}"


def _one_line(r: RunResult) -> str:
    m = r.metrics
    return (f"{r.config.name}: val mean IoU {m['mean_iou']:.3f}, pixel acc. "
            f"{m['pixel_accuracy']:.3f}, boundary F1 {m['boundary_f1']:.3f}, checkerboard "
            f"{m['checkerboard']:.4f} ({r.train_seconds:.0f} s, {r.images_per_second:.0f} img/s)")
