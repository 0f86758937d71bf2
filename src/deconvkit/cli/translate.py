"""``deconvkit translate``: one transposed convolution in another framework's terms."""

from __future__ import annotations

from .common import (MAX_INT, parse_ints, parse_output_padding, parse_padding, parse_sizes,
                     positive_int, write)

def parse_translate_padding(text: str):
    """Like :func:`parse_padding`, plus the words same_upper, same_lower and notset (ONNX).

    Amounts may be negative (JAX's padding pairs); the framework checks its own rule.

    >>> parse_translate_padding("SAME_LOWER"), parse_translate_padding("SAME"), parse_translate_padding("1:0")
    ('same_lower', 'same', ((1, 0),))
    >>> parse_translate_padding("-1:-1")
    ((-1, -1),)
    """
    word = text.strip().lower()
    if word in ("same_upper", "same_lower", "notset"):
        return word
    return parse_padding(text, -MAX_INT)


def run(args) -> int:
    from ..conventions import translate, window_args

    ndim = len(args.input)
    kernel = args.kernel if isinstance(args.kernel, tuple) else (args.kernel,) * ndim
    padding = args.padding
    if isinstance(padding, tuple) and len(padding) == 1 and ndim > 1:
        padding = padding * ndim  # one lo:hi pair for every axis
    kwargs = window_args(args.source, args.input, kernel, stride=args.stride, padding=padding,
                         dilation=args.dilation, output_padding=args.output_padding,
                         output_size=args.output_size, groups=args.groups,
                         consistent_padding=args.consistent_padding)
    write(translate(args.source, args.target, args.input, kernel, **kwargs).text())
    return 0


def add(subparsers) -> None:
    from ..conventions import FRAMEWORKS

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
                        "framework's own); negative amounts as --padding=-1:-1")
    p.add_argument("--dilation", type=parse_ints, default=1, metavar="D", help="default 1")
    p.add_argument("--output-padding", type=parse_output_padding, metavar="R",
                   help="PyTorch, ONNX and Keras output_padding")
    p.add_argument("--output-size", type=parse_sizes, metavar="SIZE",
                   help="TensorFlow output_shape, ONNX output_shape or PyTorch output_size "
                        "(spatial)")
    p.add_argument("--groups", type=positive_int, default=1, help="default 1")
    p.add_argument("--consistent-padding", action="store_true",
                   help="JAX: pairs are the forward convolution's padding "
                        "(use_consistent_padding=True)")
    p.set_defaults(run=run)
