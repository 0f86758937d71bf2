"""``deconvkit explain``: the matrix, the grids and the checks of one convolution, as text,
pictures (``--png``, ``--gif``) or overlap maps (``--checkerboard``)."""

from __future__ import annotations

import argparse

from .common import (check_output_path, parse_ints, parse_output_padding, parse_padding,
                     parse_sizes, parse_weights, positive_int, write)

GEOMETRY = ("input", "kernel", "stride", "padding", "dilation", "output_padding", "weights")
CHECKERBOARD_DEFAULT = {"input": (12, 12), "kernel": 3, "stride": 2}


def _padding(args):
    padding = 0 if args.padding is None else args.padding
    if isinstance(padding, tuple) and len(padding) == 1 and len(args.input) > 1:
        padding = padding * len(args.input)  # one lo:hi pair for every axis
    return padding


def _geometry(args):
    """Keyword arguments of explain / picture_views from the options."""
    return dict(kernel_size=3 if args.kernel is None else args.kernel,
                stride=1 if args.stride is None else args.stride, padding=_padding(args),
                dilation=1 if args.dilation is None else args.dilation,
                output_padding=args.output_padding, weights=args.weights)


def _views(value: str):
    from ..explain.frames import VIEWS

    names = tuple(v.strip() for v in value.split(",") if v.strip())
    unknown = [v for v in names if v not in VIEWS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"expected views among {', '.join(VIEWS)} "
                                         f"(comma-separated), got {value!r}")
    return names


def _check_options(args):
    picture = args.png is not None or args.gif is not None
    if args.view is not None and not picture:
        raise ValueError("--view needs --png or --gif")
    if args.example is not None and (args.input is not None or not picture):
        raise ValueError("--example draws a seed's example: give it with --png or --gif and "
                         "without --input")
    if args.checkerboard and (args.gif is not None or args.view or args.example):
        raise ValueError("--checkerboard draws one map: give --png, not --gif, --view or "
                         "--example")
    for path, option in ((args.png, "--png"), (args.gif, "--gif")):
        if path is not None:
            check_output_path(path, option, overwrite=args.overwrite)


def _checkerboard(args):
    from ..explain import make_spec
    from ..explain.pictures import save_checkerboard

    if args.input is None:
        given = [f"--{n.replace('_', '-')}" for n in GEOMETRY if getattr(args, n) is not None]
        if given:
            raise ValueError(f"{', '.join(given)} needs --input")
        for name, value in CHECKERBOARD_DEFAULT.items():
            setattr(args, name, value)
    geometry = _geometry(args)
    geometry.pop("weights")
    spec = make_spec(args.input, geometry.pop("kernel_size"), **geometry)
    m = spec.conv_output_size(args.input)
    return "\n".join(save_checkerboard(spec, m, args.png, overwrite=args.overwrite)) + "\n"


def _pictures(args):
    from ..explain.frames import VIEWS
    from ..explain.pictures import picture_views, save_pictures

    which = args.view or VIEWS
    if args.input is None:
        views = picture_views(example=args.example or 1, which=which)
    else:
        views = picture_views(args.input, **_geometry(args), which=which)
    return "\n".join(save_pictures(views, png=args.png, gif=args.gif, overwrite=args.overwrite,
                                   duration=args.frame_ms)) + "\n"


def run(args) -> int:
    from ..explain import explain, worked_examples

    _check_options(args)
    if args.checkerboard:
        text = _checkerboard(args)
    elif args.png is not None or args.gif is not None:
        text = _pictures(args)
    elif args.input is None:
        given = [f"--{name.replace('_', '-')}" for name in GEOMETRY if getattr(args, name)
                 is not None]
        if given:
            raise ValueError(f"{', '.join(given)} needs --input (or give no options for the "
                             "worked examples)")
        text = worked_examples(full=args.full)
    else:
        text = explain(args.input, **_geometry(args), full=args.full)
    write(text)
    return 0


def _add_picture_options(p) -> None:
    p.add_argument("--png", metavar="PATH",
                   help="draw one step of each view (or the overlap maps) into a PNG")
    p.add_argument("--gif", metavar="PATH", help="draw every step of each view as an animated GIF")
    p.add_argument("--view", type=_views, metavar="VIEWS",
                   help="views to draw, comma-separated: sizes, scatter, zeros, matrix, "
                        "polyphase (default all)")
    p.add_argument("--example", type=int, choices=(1, 2),
                   help="without --input: draw seed 1 (4x4 input, 3x3 kernel, the 16x4 "
                        "matrix; the default) or seed 2 (3x3 image, 2x2 filter, the 4x9 V)")
    p.add_argument("--checkerboard", action="store_true",
                   help="overlap maps: how many kernel taps reach each output of the "
                        "transposed conv, its gradient, resize-conv and pixel shuffle (ICNR), "
                        "with a verdict; default geometry 12x12, kernel 3, stride 2")
    p.add_argument("--frame-ms", type=positive_int, default=900, metavar="MS",
                   help="milliseconds per GIF frame (default 900)")
    p.add_argument("--overwrite", action="store_true", help="replace existing picture files")


def add(subparsers) -> None:
    p = subparsers.add_parser(
        "explain", help="show what a convolution and its transpose do, step by step",
        description="Explain a convolution C and its transpose Cᵀ (the deconvolution layer): "
                    "sizes, the matrices C and Cᵀ, the fractionally strided view and the "
                    "sliding windows. With no options: the worked examples. With --png or "
                    "--gif: pictures of the transposed convolution, step by step (1-D and "
                    "2-D). With --checkerboard: the overlap maps and their verdict.",
        epilog="example: deconvkit explain --input 4x4 --kernel 3 --stride 2 --padding 1 "
               "--gif steps.gif. Meant for small examples: arrays of up to a million "
               "positions, pictures of up to 24 cells per axis.")
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
                        "(default: symbolic names w00, w01, ...; 1, 2, 3, ... in pictures)")
    p.add_argument("--full", action="store_true",
                   help="print matrices and grids of any size (up to a million entries)")
    _add_picture_options(p)
    p.set_defaults(run=run)
