"""``deconvkit train``: train FCNs on ``shapes`` and compare their upsampling."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from .common import (check_output_path, nonnegative_int, positive_float, positive_int,
                     write)

QUICK_NOTE = ("\nnote: a 1-minute run is too short to rank the upsamplings. The comparison "
              "at convergence is in benchmarks/train/converged/study.md, and `deconvkit "
              "predict` shows a converged FCN-8s segmenting.\n")
"""What ``--quick`` prints after its table."""


def _check_outputs(train, args) -> None:
    """Every file train_and_report writes can be written: checked before any training.

    Existing files are left to :func:`deconvkit.train.train_and_report`, which refuses
    them all at once unless ``--overwrite``; missing folders are created by it.
    """
    option = "--report" if args.report is not None else "--out"
    paths = train.output_paths(args.out, args.report)
    figures = [] if args.no_figures else [Path(f"{paths['prefix']}{f}") for f in train.FIGURES]
    for path in [paths["json"], paths["markdown"], *figures]:
        check_output_path(path, option, overwrite=True, make_parents=True)
    if args.save_model is not None:
        if args.compare or args.quick:
            raise ValueError("--save-model saves one trained model; it does not go with "
                             "--compare or --quick")
        check_output_path(Path(args.save_model), "--save-model", overwrite=args.overwrite,
                          make_parents=True)


def _preset(train, args) -> dict:
    """``data`` and ``epochs`` of ``--recipe``, ``--quick`` or the default (``--compare``)."""
    if args.recipe:
        recipe = train.get_recipe(args.recipe)
        return dict(data=recipe.data, epochs=recipe.config.epochs, base=recipe.config)
    return train.QUICK if args.quick else train.FULL


def _base_config(train, args, preset, compare):
    """The recipe's (or the default) RunConfig with every option given on the command line."""
    base = preset.get("base") or train.RunConfig("fcn32s" if compare else "fcn8s",
                                                 epochs=preset["epochs"])
    options = dict(head=args.head, upsampling=args.upsampling, epochs=args.epochs,
                   batch_size=args.batch_size, optimizer=args.optimizer, lr=args.lr,
                   width=args.width, depth=args.depth, blocks=args.blocks, seed=args.seed,
                   class_weights=args.class_weights)
    return dataclasses.replace(base, **{k: v for k, v in options.items() if v is not None})


def run_study(args) -> int:
    """``--study RECIPE``: the runs of the comparison at convergence that are missing."""
    from ..train import study

    if args.save_model is not None:
        raise ValueError("--save-model saves one trained model; it does not go with --study")
    out = Path(args.out)
    table = out / "study.md"
    check_output_path(table, "--out", overwrite=True, make_parents=True)
    study.run_study(out, args.study, args.seeds, only=args.only,
                    progress=not args.no_progress, log=lambda text: write(text + "\n"),
                    save_models=args.save_models)
    text = study.study_table(out)
    table.write_text(text, encoding="utf-8")
    write(text + f"wrote {table}\n")
    if not args.no_figures:
        from ..train import have_matplotlib
        from ..train.study_picture import study_picture

        if have_matplotlib():
            write(f"wrote {study_picture(out, out / 'study.png', overwrite=True)}\n")
        else:
            write('no picture: matplotlib is not installed (pip install "deconvkit[viz]")\n')
    return 0


def run(args) -> int:
    from .. import train

    if args.study:
        return run_study(args)

    _check_outputs(train, args)
    preset = _preset(train, args)
    data = dataclasses.replace(preset["data"], **{k: v for k, v in dict(
        n_train=args.n_train, n_val=args.n_val, size=args.size, seed=args.data_seed).items()
        if v is not None})
    compare = args.compare or args.quick
    base = _base_config(train, args, preset, compare)
    configs = (train.comparison_configs(base, preset["upsamplings"], preset["heads"])
               if compare else [base])
    train.train_and_report(configs, data, out=args.out, report=args.report,
                           overwrite=args.overwrite, progress=not args.no_progress,
                           figures=not args.no_figures,
                           log=lambda text: write(text + "\n"), curve=bool(args.recipe),
                           save_model=args.save_model)
    if args.quick:
        write(QUICK_NOTE)
    return 0


def add(subparsers) -> None:
    from ..nn import HEADS, UPSAMPLINGS
    from ..train.recipes import RECIPES

    p = subparsers.add_parser(
        "train", help="train small FCNs on the shapes data and compare their upsampling",
        description="Train an FCN (deconvkit.nn.fcn) on the generated shapes data and "
                    "score it on the validation split: mean IoU, pixel accuracy, boundary "
                    "F1 and a checkerboard-artifact score. --compare trains every "
                    "upsampling variant on --head (default fcn32s), then fcn16s and fcn8s "
                    "with --upsampling, all with the same seed and budget. Writes a JSON "
                    "report, a Markdown table and PNG figures (with matplotlib).",
        epilog="examples: deconvkit train --quick | deconvkit train --compare --report "
               "results/compare.json | deconvkit train --head fcn8s --upsampling "
               "deconv_stack --epochs 20")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--compare", action="store_true",
                      help="compare all variants (about 8 runs; see the README for times)")
    mode.add_argument("--quick", action="store_true",
                      help="a reduced comparison that takes under 2 minutes on 2 cores")
    mode.add_argument("--recipe", choices=tuple(RECIPES),
                      help="train one model with a named recipe (epochs, data, width, "
                           "augmentation, schedule; other options override it) and report "
                           "the validation curve; converge: FCN-8s until its IoU flattens "
                           "(see benchmarks/train/convergence.md)")
    mode.add_argument("--study", choices=tuple(RECIPES), metavar="RECIPE",
                      help="the comparison at convergence: every variant of --compare on "
                           "RECIPE's data and budget, once per --seeds, one JSON per run in "
                           "--out (runs already there are skipped: resume, or split over "
                           "processes), then DIR/study.md: means, ranges, and which "
                           "differences exceed the seed spread, and DIR/study.png: the "
                           "curves and every seed's score")
    p.add_argument("--seeds", type=nonnegative_int, nargs="+", default=[0, 1, 2],
                   metavar="K", help="seeds of --study (default 0 1 2)")
    p.add_argument("--save-models", action="store_true",
                   help="with --study: also write each trained model next to its JSON")
    p.add_argument("--only", nargs="+", metavar="VARIANT",
                   help="with --study: only these variants, e.g. fcn32s/bilinear")
    p.add_argument("--head", choices=HEADS,
                   help="FCN head (default fcn8s; fcn32s with --compare/--quick)")
    p.add_argument("--upsampling", choices=UPSAMPLINGS,
                   help="upsampling variant (default learned_bilinear)")
    p.add_argument("--epochs", type=positive_int,
                   help="epochs per run (default 12; 6 with --quick)")
    p.add_argument("--batch-size", type=positive_int, help="default 16")
    p.add_argument("--optimizer", choices=("adam", "sgd"),
                   help="adam, or sgd with momentum 0.9; cosine decay (default adam)")
    p.add_argument("--lr", type=positive_float, help="learning rate (default 3e-3)")
    p.add_argument("--width", type=positive_int, help="encoder width (default 16)")
    p.add_argument("--depth", type=positive_int,
                   help="encoder blocks at stride 8 (default 1)")
    p.add_argument("--blocks", type=positive_int,
                   help="encoder blocks before each of the three pools (default 1)")
    p.add_argument("--class-weights", choices=("sqrt", "balanced", "none"),
                   help="loss weight per class from its pixel frequency f: sqrt(median/f) "
                        "(default), median/f, or none")
    p.add_argument("--seed", type=nonnegative_int,
                   help="initial weights and batch order")
    p.add_argument("--n-train", type=positive_int,
                   help="training images (default 1000; quick 512)")
    p.add_argument("--n-val", type=positive_int,
                   help="validation images (default 200; quick 64)")
    p.add_argument("--size", type=positive_int,
                   help="image size, a multiple of 8 (default 64)")
    p.add_argument("--data-seed", type=nonnegative_int,
                   help="seed of the shapes data (default 0)")
    p.add_argument("--out", default="deconvkit-train", metavar="DIR",
                   help="output folder (default ./deconvkit-train)")
    p.add_argument("--report", metavar="PATH",
                   help="JSON report path (default DIR/report.json); the Markdown table "
                        "and figures are written next to it")
    p.add_argument("--save-model", metavar="PATH",
                   help="also write the trained model (weights, architecture, scores) to "
                        "PATH (.npz; nn.load_model reads it); one run only")
    p.add_argument("--overwrite", action="store_true", help="replace existing report files")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    p.set_defaults(run=run)
