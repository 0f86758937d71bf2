"""The ``deconvkit`` command.

Each subcommand is one ``_add_<name>(subparsers)`` function that declares its options
and sets ``run``, a function ``(args) -> int``; add a new one to :data:`COMMANDS`.
Arguments are parsed into Python values here and handed to the library, which
canonicalizes them; its ``ValueError``/``TypeError`` become a one-line error and
exit status 2, like argparse's own usage errors.
"""

from __future__ import annotations

import argparse
import os
import sys

__all__ = ["main", "build_parser", "parse_sizes", "parse_ints", "parse_padding",
           "parse_weights", "parse_translate_padding"]

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr (exit status 2)."""

    def error(self, message):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


# ---------------------------------------------------------------- argument types
def _int(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer {what}, got {text!r}") from None


def _split(text: str) -> list[str]:
    sep = "x" if "x" in text.lower() else ","
    parts = [p.strip() for p in text.lower().split(sep)]
    if not text.strip() or any(not p for p in parts):
        raise argparse.ArgumentTypeError(f"expected sizes like 5, 4x4 or 3x3x3, got {text!r}")
    return parts


def parse_sizes(text: str) -> tuple[int, ...]:
    """``"4x4"`` (or ``"4,4"``) as ``(4, 4)``; ``"5"`` as ``(5,)``.

    >>> parse_sizes("3x3x3"), parse_sizes("5")
    ((3, 3, 3), (5,))
    """
    return tuple(_int(p, "size") for p in _split(text))


def parse_ints(text: str):
    """One int for every axis (``"2"`` -> ``2``) or one per axis (``"2x1"`` -> ``(2, 1)``).

    >>> parse_ints("2"), parse_ints("2x1")
    (2, (2, 1))
    """
    values = parse_sizes(text)
    return values[0] if len(values) == 1 else values


def parse_padding(text: str):
    """Padding: ``"1"``, ``"same"``, ``"valid"``, per axis ``"1,0"``, or pairs ``"1:0,0:1"``.

    >>> parse_padding("same"), parse_padding("1"), parse_padding("1,0"), parse_padding("1:0,0:1")
    ('same', 1, (1, 0), ((1, 0), (0, 1)))
    >>> parse_padding("2:1")
    ((2, 1),)
    """
    word = text.strip().lower()
    if word in ("same", "valid"):
        return word
    try:
        if ":" not in word:
            return parse_ints(word)
        pairs = []
        for item in word.split(","):
            lo, sep, hi = item.partition(":")
            pairs.append((_int(lo, "padding"), _int(hi, "padding")) if sep else _int(lo, ""))
        return tuple(pairs)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected padding like 1, same, valid, 1,0 or 1:0,0:1, got {text!r}") from None


def parse_weights(text: str) -> tuple[float, ...]:
    """Kernel values in C order, separated by commas or spaces: ``"0,1,2"``.

    >>> parse_weights("0, 1 2.5")
    (0.0, 1.0, 2.5)
    """
    parts = text.replace(",", " ").split()
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers like 0,1,2, got {text!r}") from None
    if not values:
        raise argparse.ArgumentTypeError("expected at least one number")
    return values


def _write(text: str) -> None:
    """Write to stdout, replacing characters its encoding lacks; quiet on a closed pipe."""
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    text = text.encode(encoding, "replace").decode(encoding)
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:  # e.g. `deconvkit explain | head`
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


# ---------------------------------------------------------------- explain
def _run_explain(args) -> int:
    from .explain import explain, worked_examples

    geometry = ("input", "kernel", "stride", "padding", "dilation", "output_padding", "weights")
    if args.input is None:
        given = [f"--{name.replace('_', '-')}" for name in geometry if getattr(args, name)
                 is not None]
        if given:
            raise ValueError(f"{', '.join(given)} needs --input (or give no options for the "
                             "worked examples)")
        text = worked_examples(full=args.full)
    else:
        padding = 0 if args.padding is None else args.padding
        if isinstance(padding, tuple) and len(padding) == 1 and len(args.input) > 1:
            padding = padding * len(args.input)  # one lo:hi pair for every axis
        text = explain(args.input, 3 if args.kernel is None else args.kernel,
                       stride=1 if args.stride is None else args.stride,
                       padding=padding,
                       dilation=1 if args.dilation is None else args.dilation,
                       output_padding=args.output_padding, weights=args.weights,
                       full=args.full)
    _write(text)
    return 0


def _add_explain(subparsers) -> None:
    p = subparsers.add_parser(
        "explain", help="show what a convolution and its transpose do, step by step",
        description="Explain a convolution C and its transpose Cᵀ (the deconvolution layer): "
                    "sizes, the matrices C and Cᵀ, the fractionally strided view and the "
                    "sliding windows. With no options: the worked examples.",
        epilog="example: deconvkit explain --input 4x4 --kernel 3 --stride 2 --padding 1")
    p.add_argument("--input", type=parse_sizes, metavar="SIZE",
                   help="spatial input size of the convolution: 5, 4x4, 3x3x3")
    p.add_argument("--kernel", type=parse_ints, metavar="SIZE", help="kernel size (default 3)")
    p.add_argument("--stride", type=parse_ints, metavar="S", help="stride (default 1)")
    p.add_argument("--padding", type=parse_padding, metavar="P",
                   help="int, same, valid, per axis 1,0, or lo:hi pairs 1:0,0:1; one pair "
                        "applies to every axis (default 0)")
    p.add_argument("--dilation", type=parse_ints, metavar="D", help="dilation (default 1)")
    p.add_argument("--output-padding", type=parse_ints, metavar="R",
                   help="output padding of the transposed convolution (default: the one that "
                        "gives back the input size)")
    p.add_argument("--weights", type=parse_weights, metavar="W",
                   help="kernel values in row-major order, e.g. 0,1,2,2,2,0,0,1,2 "
                        "(default: symbolic names w00, w01, ...)")
    p.add_argument("--full", action="store_true",
                   help="print matrices and grids of any size")
    p.set_defaults(run=_run_explain)


# ---------------------------------------------------------------- bench
def _run_training_bench(args) -> int:
    from .bench import training

    result = training.run(batch=args.batch or 16, size=args.size or 64, rounds=args.rounds,
                          block_time=args.block_time, method=args.method,
                          threads=args.threads)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as f:
            f.write(training.report(result) + "\n")
        print(f"wrote {args.markdown}")
    return 0


def _run_bench(args) -> int:
    from . import bench

    if args.training:
        if args.cases:
            raise ValueError("--cases does not apply to --training")
        return _run_training_bench(args)
    if (args.batch, args.size, args.threads) != (None, None, None):
        raise ValueError("--batch, --size and --threads apply to --training only")
    names = [n.strip().upper() for n in args.cases.split(",")] if args.cases else None
    known = [c.name for c in bench.CASES]
    if names and not set(names) <= set(known):
        raise ValueError(f"unknown case(s) {sorted(set(names) - set(known))}; known: {known}")
    cases = [c for c in bench.CASES if names is None or c.name in names]
    rows = bench.run(cases, rounds=args.rounds, block_time=args.block_time, method=args.method)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as f:
            f.write(bench.markdown_table(rows))
        print(f"wrote {args.markdown}")
    return 0


def _add_bench(subparsers) -> None:
    p = subparsers.add_parser(
        "bench", help="time deconvkit against PyTorch and ONNX Runtime",
        description="Time the transposed-convolution cases S1-S6 and the backward passes "
                    "B1, B5 with deconvkit, PyTorch CPU and ONNX Runtime, interleaved in "
                    "one process; print medians, ratios, GFLOP/s, the fraction of this "
                    "machine's GEMM rate or bandwidth, extra memory and agreement.",
        epilog="examples: deconvkit bench --cases S1,S3 --rounds 9; deconvkit bench --training")
    p.add_argument("--cases", metavar="NAMES", help="comma-separated case names (default: all)")
    p.add_argument("--method", default="auto", help="deconvkit method (default auto)")
    p.add_argument("--rounds", type=int, default=5,
                   help="rounds; each runner times one block of calls per round (default 5)")
    p.add_argument("--block-time", type=float, default=0.5, metavar="SECONDS",
                   help="length of one runner's block of consecutive calls (default 0.5)")
    p.add_argument("--markdown", metavar="PATH", help="also write the table as Markdown")
    p.add_argument("--training", action="store_true",
                   help="instead: training throughput (images/s) of the FCN-8s-like model "
                        "against the same model in PyTorch, and where deconvkit's time goes")
    p.add_argument("--batch", type=int, help="--training batch size (default 16)")
    p.add_argument("--size", type=int,
                   help="--training image size, a multiple of 8 (default 64)")
    p.add_argument("--threads", type=int, metavar="N",
                   help="--training threads of deconvkit and PyTorch (default: deconvkit's)")
    p.set_defaults(run=_run_bench)


# ---------------------------------------------------------------- translate
def parse_translate_padding(text: str):
    """Like :func:`parse_padding`, plus the words same_upper, same_lower and notset (ONNX).

    >>> parse_translate_padding("SAME_LOWER"), parse_translate_padding("SAME"), parse_translate_padding("1:0")
    ('same_lower', 'same', ((1, 0),))
    """
    word = text.strip().lower()
    return word if word in ("same_upper", "same_lower", "notset") else parse_padding(text)


def _run_translate(args) -> int:
    from .conventions import translate, window_args

    ndim = len(args.input)
    kernel = args.kernel if isinstance(args.kernel, tuple) else (args.kernel,) * ndim
    padding = args.padding
    if isinstance(padding, tuple) and len(padding) == 1 and ndim > 1:
        padding = padding * ndim  # one lo:hi pair for every axis
    kwargs = window_args(args.source, args.input, kernel, stride=args.stride, padding=padding,
                         dilation=args.dilation, output_padding=args.output_padding,
                         output_size=args.output_size, groups=args.groups,
                         consistent_padding=args.consistent_padding)
    _write(translate(args.source, args.target, args.input, kernel, **kwargs).text())
    return 0


def _add_translate(subparsers) -> None:
    from .conventions import FRAMEWORKS

    p = subparsers.add_parser(
        "translate", help="translate a transposed convolution between frameworks",
        description="Translate one framework's transposed-convolution arguments into "
                    "another's: the equivalent call (or the call plus the slice or pad that "
                    "completes it), the output size on both sides, and a warning where a "
                    f"plausible call gives the same shape with shifted values. Frameworks: "
                    f"{', '.join(FRAMEWORKS)} (aliases pytorch, tf).",
        epilog="example: deconvkit translate --from tensorflow --to torch --input 5x5 "
               "--kernel 3 --stride 2 --padding SAME")
    p.add_argument("--from", dest="source", required=True, metavar="FRAMEWORK")
    p.add_argument("--to", dest="target", required=True, metavar="FRAMEWORK")
    p.add_argument("--input", type=parse_sizes, required=True, metavar="SIZE",
                   help="spatial input size of the transposed convolution: 5, 4x4, 3x3x3")
    p.add_argument("--kernel", type=parse_ints, default=3, metavar="SIZE",
                   help="kernel size (default 3)")
    p.add_argument("--stride", type=parse_ints, default=1, metavar="S", help="default 1")
    p.add_argument("--padding", type=parse_translate_padding, metavar="P",
                   help="in the source framework's meaning: an int, per axis 1,0, lo:hi "
                        "pairs, same, valid, same_upper, same_lower (default: the "
                        "framework's own)")
    p.add_argument("--dilation", type=parse_ints, default=1, metavar="D", help="default 1")
    p.add_argument("--output-padding", type=parse_ints, metavar="R",
                   help="PyTorch, ONNX and Keras output_padding")
    p.add_argument("--output-size", type=parse_sizes, metavar="SIZE",
                   help="TensorFlow output_shape, ONNX output_shape or PyTorch output_size "
                        "(spatial)")
    p.add_argument("--groups", type=int, default=1, help="default 1")
    p.add_argument("--consistent-padding", action="store_true",
                   help="JAX: pairs are the forward convolution's padding "
                        "(use_consistent_padding=True)")
    p.set_defaults(run=_run_translate)


# ---------------------------------------------------------------- train
def _run_train(args) -> int:
    import dataclasses

    from . import train

    preset = train.QUICK if args.quick else train.FULL
    data = dataclasses.replace(preset["data"], **{k: v for k, v in dict(
        n_train=args.n_train, n_val=args.n_val, size=args.size, seed=args.data_seed).items()
        if v is not None})
    compare = args.compare or args.quick
    epochs = args.epochs if args.epochs is not None else preset["epochs"]
    head = args.head or ("fcn32s" if compare else "fcn8s")
    optional = {"lr": args.lr} if args.lr is not None else {}
    base = train.RunConfig(head, args.upsampling, epochs=epochs, batch_size=args.batch_size,
                           optimizer=args.optimizer, width=args.width, seed=args.seed,
                           **optional)
    configs = (train.comparison_configs(base, preset["upsamplings"], preset["heads"])
               if compare else [base])
    train.train_and_report(configs, data, out=args.out, report=args.report,
                           overwrite=args.overwrite, progress=not args.no_progress,
                           figures=not args.no_figures,
                           log=lambda text: _write(text + "\n"))
    return 0


def _add_train(subparsers) -> None:
    from .nn import HEADS, UPSAMPLINGS

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
    p.add_argument("--head", choices=HEADS,
                   help="FCN head (default fcn8s; fcn32s with --compare/--quick)")
    p.add_argument("--upsampling", choices=UPSAMPLINGS, default="learned_bilinear",
                   help="upsampling variant (default learned_bilinear)")
    p.add_argument("--epochs", type=int, help="epochs per run (default 12; 6 with --quick)")
    p.add_argument("--batch-size", type=int, default=16, help="default 16")
    p.add_argument("--optimizer", choices=("adam", "sgd"), default="adam",
                   help="adam, or sgd with momentum 0.9; cosine decay (default adam)")
    p.add_argument("--lr", type=float, help="learning rate (default 3e-3)")
    p.add_argument("--width", type=int, default=16, help="encoder width (default 16)")
    p.add_argument("--seed", type=int, default=0, help="initial weights and batch order")
    p.add_argument("--n-train", type=int, help="training images (default 1000; quick 512)")
    p.add_argument("--n-val", type=int, help="validation images (default 200; quick 64)")
    p.add_argument("--size", type=int, help="image size, a multiple of 8 (default 64)")
    p.add_argument("--data-seed", type=int, help="seed of the shapes data (default 0)")
    p.add_argument("--out", default="deconvkit-train", metavar="DIR",
                   help="output folder (default ./deconvkit-train)")
    p.add_argument("--report", metavar="PATH",
                   help="JSON report path (default DIR/report.json); the Markdown table "
                        "and figures are written next to it")
    p.add_argument("--overwrite", action="store_true", help="replace existing report files")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    p.set_defaults(run=_run_train)


COMMANDS = (_add_explain, _add_bench, _add_translate, _add_train)
"""One function per subcommand; each adds its parser and sets ``run``."""


def build_parser() -> argparse.ArgumentParser:
    """The ``deconvkit`` argument parser with every subcommand of :data:`COMMANDS`."""
    parser = _Parser(prog="deconvkit",
                     description="Deconvolution in both senses: transposed convolution "
                                 "and restoration.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in COMMANDS:
        add(subparsers)
    return parser


def main(argv=None) -> int:
    """Run the ``deconvkit`` command.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name; default ``sys.argv[1:]``.

    Returns
    -------
    status : int
        0 on success, 2 for bad arguments (a one-line message on stderr).
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse reports usage errors and --help this way
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if args.command is None:
        commands = ", ".join(parser._subparsers._group_actions[0].choices)
        sys.stderr.write(f"deconvkit: error: choose a command: {commands} "
                         "(see deconvkit --help)\n")
        return EXIT_USAGE
    try:
        return args.run(args)
    except (ValueError, TypeError) as exc:
        sys.stderr.write(f"deconvkit {args.command}: error: {exc}\n")
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
