"""``deconvkit explain``: the matrix, the grids and the checks of one convolution."""

from __future__ import annotations

from .common import (parse_ints, parse_output_padding, parse_padding, parse_sizes,
                     parse_weights, write)

def run(args) -> int:
    from ..explain import explain, worked_examples

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
    write(text)
    return 0


def add(subparsers) -> None:
    p = subparsers.add_parser(
        "explain", help="show what a convolution and its transpose do, step by step",
        description="Explain a convolution C and its transpose Cᵀ (the deconvolution layer): "
                    "sizes, the matrices C and Cᵀ, the fractionally strided view and the "
                    "sliding windows. With no options: the worked examples.",
        epilog="example: deconvkit explain --input 4x4 --kernel 3 --stride 2 --padding 1. "
               "Meant for small examples: arrays of up to a million positions.")
    p.add_argument("--input", type=parse_sizes, metavar="SIZE",
                   help="spatial input size of the convolution: 5, 4x4, 3x3x3")
    p.add_argument("--kernel", type=parse_ints, metavar="SIZE", help="kernel size (default 3)")
    p.add_argument("--stride", type=parse_ints, metavar="S", help="stride (default 1)")
    p.add_argument("--padding", type=parse_padding, metavar="P",
                   help="int, same, valid, per axis 1,0, or lo:hi pairs 1:0,0:1; one pair "
                        "applies to every axis (default 0)")
    p.add_argument("--dilation", type=parse_ints, metavar="D", help="dilation (default 1)")
    p.add_argument("--output-padding", type=parse_output_padding, metavar="R",
                   help="output padding of the transposed convolution (default: the one that "
                        "gives back the input size)")
    p.add_argument("--weights", type=parse_weights, metavar="W",
                   help="kernel values in row-major order, e.g. 0,1,2,2,2,0,0,1,2 "
                        "(default: symbolic names w00, w01, ...)")
    p.add_argument("--full", action="store_true",
                   help="print matrices and grids of any size (up to a million entries)")
    p.set_defaults(run=run)
