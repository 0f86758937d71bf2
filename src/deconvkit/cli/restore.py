"""``deconvkit restore``: restore an image file blurred by a known PSF, or ``--demo``.

The image is read with :func:`deconvkit.images.read_image` (integer images become floats
in [0, 1]), restored by :func:`deconvkit.restoration.deconvolve` and written with
:func:`deconvkit.images.write_image` (TIFF: float32 values as they are; PNG: 16-bit
grayscale or 8-bit colour, the scaling and any clipping stated). A colour image has each
colour channel restored separately with the same 2-D PSF; an alpha channel is copied as
it is. Every call into the restoration library goes through :func:`_library`.
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass
from pathlib import Path

from ..images import read_image, write_format, write_image
from . import restore_stream
from .common import check_output_path, parse_sizes, positive_int, write

__all__ = ["METHODS", "BOUNDARIES", "PSF_FORMS", "PsfSpec", "psf_spec", "parse_psf",
           "make_psf", "restore_image", "nonnegative_float"]

METHODS = {"regularized": "regularized", "wiener": "wiener", "tikhonov": "tikhonov",
           "landweber": "landweber", "rl": "richardson_lucy", "inverse": "inverse"}
"""The command's method names and the library's."""

ITERATIVE = ("tikhonov", "landweber", "richardson_lucy")
"""Library methods that iterate, and so take ``progress=``."""

BOUNDARIES = ("periodic", "reflect", "edgetaper", "none")

PSF_FORMS = ("gaussian:SIGMA[,SIGMA...], box:SIZE[,SIZE...], disk:RADIUS, "
             "motion:LENGTH[,ANGLE] or an image FILE")

OPTIONS = ("iterations", "noise", "nsr", "lam", "tv", "accelerate")
"""Options handed to the library as they are, when given."""


def nonnegative_float(text: str) -> float:
    """A finite number >= 0 (noise levels, regularization weights).

    >>> nonnegative_float("0"), nonnegative_float("1e-3")
    (0.0, 0.001)
    >>> nonnegative_float("-1")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: expected a finite number >= 0, got '-1'
    """
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text!r}")
    return value


@dataclass(frozen=True)
class PsfSpec:
    """A parsed ``--psf``: ``kind`` (gaussian, box, disk, motion, file) and its values."""

    kind: str
    values: tuple = ()
    path: str | None = None
    text: str = ""


def _numbers(text: str, count: tuple[int, int]) -> tuple[float, ...]:
    parts = text.split(",")
    values = tuple(float(p) for p in parts)  # ValueError for "", "a"
    if not count[0] <= len(values) <= count[1] or not all(map(math.isfinite, values)):
        raise ValueError(text)
    return values


def _values(kind: str, rest: str) -> tuple:
    """The numbers after ``kind:``, checked; ``ValueError`` if they do not fit ``kind``."""
    if kind == "box":
        try:
            return parse_sizes(rest)
        except argparse.ArgumentTypeError:
            raise ValueError(rest) from None
    values = _numbers(rest, {"gaussian": (1, 62), "disk": (1, 1), "motion": (1, 2)}[kind])
    positive = values[:1] if kind == "motion" else values  # a motion's angle has any sign
    if not all(v > 0 for v in positive):
        raise ValueError(rest)
    return values


def psf_spec(text: str) -> PsfSpec:
    """Parse a ``--psf`` value without building the PSF (the argparse type).

    >>> psf_spec("gaussian:2,1").values, psf_spec("box:5").values
    ((2.0, 1.0), (5,))
    >>> psf_spec("disk:0")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: expected gaussian:SIGMA... or an image FILE, got 'disk:0'
    """
    kind, sep, rest = text.partition(":")
    if sep and kind.strip().lower() in ("gaussian", "box", "disk", "motion"):
        kind = kind.strip().lower()
        try:
            return PsfSpec(kind, _values(kind, rest.strip()), text=text)
        except ValueError:
            pass
    elif Path(text).is_file():
        return PsfSpec("file", path=text, text=text)
    raise argparse.ArgumentTypeError(f"expected {PSF_FORMS}, got {text!r}")


def _library():
    """``deconvkit.restoration`` (deconvolve and the PSF constructors); one place, so
    that the tests can stand in for it."""
    from .. import restoration
    return restoration


def _per_axis(spec: PsfSpec, ndim: int) -> tuple:
    values = spec.values
    if len(values) == 1:
        return values * ndim
    if len(values) != ndim:
        raise ValueError(f"--psf {spec.text}: expected 1 or {ndim} values for a {ndim}-d "
                         f"image, got {len(values)}")
    return values


def make_psf(spec: PsfSpec, ndim: int = 2):
    """Build the PSF of ``spec`` for an image of ``ndim`` axes with the library's constructors.

    ``gaussian`` and ``box`` take one value for every axis or one per axis; ``disk`` and
    ``motion`` are 2-d; a file is read with :func:`read_image` and given to ``as_psf``
    (which normalises it). Raises ``ValueError`` naming ``--psf`` when they do not fit.
    """
    lib = _library()
    if spec.kind == "gaussian":
        sigma = _per_axis(spec, ndim)
        return lib.gaussian(sigma[0] if len(set(sigma)) == 1 else sigma, ndim=ndim)
    if spec.kind == "box":
        return lib.box(_per_axis(spec, ndim))
    if spec.kind in ("disk", "motion") and ndim != 2:
        raise ValueError(f"--psf {spec.text}: a {spec.kind} PSF is 2-d, the image is "
                         f"{ndim}-d")
    if spec.kind == "disk":
        return lib.disk(spec.values[0])
    if spec.kind == "motion":
        return lib.motion(spec.values[0], *spec.values[1:])
    psf, info = read_image(spec.path)
    if info["channel_axis"] is not None:
        raise ValueError(f"--psf {spec.text}: expected a grayscale PSF image, got colour "
                         f"of shape {info['shape']}")
    return lib.as_psf(psf, ndim=ndim)


def parse_psf(text: str, ndim: int = 2):
    """The PSF array of a ``--psf`` value for an image of ``ndim`` axes.

    ``text`` is one of :data:`PSF_FORMS`: ``gaussian:2`` (sigma 2 on every axis),
    ``gaussian:2,1`` (one sigma per axis), ``box:5`` or ``box:5,3``, ``disk:3`` (radius),
    ``motion:15,30`` (length 15 at 30 degrees; ``motion:15`` at 0), or an image file.
    Raises ``argparse.ArgumentTypeError`` for a value of none of these forms and
    ``ValueError`` for one that does not fit ``ndim``.
    """
    return make_psf(psf_spec(text), ndim)


def _deconvolve(g, psf, method: str, boundary, options: dict):
    """The one call into the library: ``(f, info)`` for one grayscale image or stack."""
    return _library().deconvolve(g, psf, method=method, boundary=boundary,
                                 full_output=True, **options)


def restore_image(image, channel_axis, psf, method: str, boundary, options: dict):
    """Restore ``image``, each colour channel separately: ``(f, [info per channel])``.

    With ``channel_axis=-1`` the first 1 (of 2) or 3 (of 3 or 4) channels are restored
    and an alpha channel is copied unchanged.
    """
    import numpy as np

    if channel_axis is None:
        f, info = _deconvolve(image, psf, method, boundary, options)
        return f, [info]
    channels = image.shape[-1]
    colours = 3 if channels >= 3 else 1
    results = [_deconvolve(image[..., c], psf, method, boundary, options)
               for c in range(colours)]
    alpha = [image[..., c].astype(results[0][0].dtype) for c in range(colours, channels)]
    return np.stack([f for f, _ in results] + alpha, axis=-1), [i for _, i in results]


def _library_options(args, method: str) -> dict:
    given = {name: getattr(args, name) for name in OPTIONS}
    options = {name: value for name, value in given.items()
               if value is not None and value is not False}  # 0.0 == False: test identity
    if method in ITERATIVE:
        options["progress"] = not args.quiet
    return options


def _describe(infos: list) -> str:
    """``boundary reflect, lam 0.0123, iterations 50``: what the library chose."""
    parts = []
    for key in ("boundary", "lam", "nsr", "noise", "iterations"):
        values = [info[key] for info in infos if info.get(key) is not None]
        if values:
            parts.append(f"{key} " + "/".join(f"{v:.4g}" if isinstance(v, float) else str(v)
                                               for v in values))
    return ", ".join(parts)


def _summary(args, method: str, image, infos: list, seconds: float) -> str:
    shape = "x".join(map(str, image.shape))
    chosen = _describe(infos)
    channels = f", {len(infos)} channels restored separately" if len(infos) > 1 else ""
    return (f"restored {args.input} ({shape}) with {method}{channels}"
            f"{', ' + chosen if chosen else ''} in {seconds:.2f} s -> {args.output}\n")


def _stored(info: dict) -> str:
    if info["format"] == "tiff":
        return f"wrote {info['path']}: {info['dtype']} TIFF, values as they are\n"
    top = 2 ** info["bits"] - 1
    clipped = f", {info['clipped']} values clipped" if info["clipped"] else ""
    return (f"wrote {info['path']}: {info['bits']}-bit PNG, stored = round(clip(value / "
            f"{info['scale']:.6g}, 0, {top})){clipped}\n")


def _check_arguments(args) -> None:
    if args.demo:
        given = [name for name, value in (("IN", args.input), ("OUT", args.output),
                                          ("--psf", args.psf), ("--bits", args.bits))
                 if value is not None]
        if given:
            raise ValueError(f"--demo takes only --out, --overwrite and --quiet, got "
                             f"{', '.join(given)}")
        return
    missing = [name for name, value in (("IN", args.input), ("OUT", args.output),
                                        ("--psf", args.psf)) if value is None]
    if missing:
        raise ValueError(f"expected IN OUT --psf PSF (or --demo), missing {', '.join(missing)}")
    if args.out is not None:
        raise ValueError("--out is the folder of --demo; give OUT as the second argument")
    if args.bits is not None and not restore_stream.streaming(args) and \
            write_format(args.output) != "png":
        raise ValueError(f"--bits applies to PNG output, got OUT {args.output!r}")


def run(args) -> int:
    from ..threads import keep_freed_memory

    _check_arguments(args)
    keep_freed_memory()   # the iterative methods' FFTs then reuse memory (no page faults)
    if args.demo:
        from .restore_demo import run_demo

        return run_demo(args)
    if restore_stream.streaming(args):
        return restore_stream.run_stream(args, _library(), make_psf,
                                         _library_options(args, METHODS[args.method]))
    try:  # an extension write_image writes, before any work
        write_format(args.output)
    except ValueError as exc:
        raise ValueError(f"OUT: {exc}") from None
    check_output_path(args.output, "OUT", overwrite=args.overwrite)
    image, info = read_image(args.input)
    ndim = image.ndim - (info["channel_axis"] is not None)
    psf = make_psf(args.psf, ndim)
    method = METHODS[args.method]
    start = time.perf_counter()
    f, infos = restore_image(image, info["channel_axis"], psf, method, args.boundary,
                             _library_options(args, method))
    seconds = time.perf_counter() - start
    stored = write_image(args.output, f, overwrite=args.overwrite, bits=args.bits)
    if not args.quiet:
        write(_summary(args, args.method, image, infos, seconds) + _stored(stored))
    return 0


def add(subparsers) -> None:
    p = subparsers.add_parser(
        "restore", help="restore an image blurred by a known PSF (g = h*f + noise)",
        description="Deconvolve an image file: read IN (PNG, TIFF stacks, any imageio "
                    "format; 8- and 16-bit images as floats in [0, 1]), restore it with "
                    "deconvkit.restoration.deconvolve and write OUT (.tif: float32 values "
                    "as they are; .png: 16-bit grayscale or 8-bit colour, [0, 1] scaled "
                    "to the integer range and clipped, as the summary says). Colour "
                    "channels are restored separately; alpha is copied. --demo compares "
                    "every method on a built-in image.",
        epilog="examples: deconvkit restore blurred.png sharp.tif --psf gaussian:2 "
               "--method wiener --noise 0.01 | deconvkit restore stack.tif out.tif "
               "--psf psf.tif --method rl --iterations 50 | deconvkit restore big.tif "
               "out.zarr --psf gaussian:2 --chunks 64,256,256 (streaming, chunk by "
               "chunk) | deconvkit restore --demo")
    p.add_argument("input", nargs="?", metavar="IN", help="the blurred image file")
    p.add_argument("output", nargs="?", metavar="OUT",
                   help="the restored image file, .tif/.tiff or .png")
    p.add_argument("--psf", type=psf_spec, metavar="PSF", help=f"the blur: {PSF_FORMS}")
    p.add_argument("--method", choices=tuple(METHODS), default="regularized",
                   help="default regularized; rl is Richardson-Lucy")
    p.add_argument("--iterations", type=positive_int, metavar="N",
                   help="iterations of tikhonov, landweber, rl")
    for name, text in (("noise", "noise standard deviation (default: estimated)"),
                       ("nsr", "noise-to-signal power ratio of wiener"),
                       ("lam", "regularization weight (default: chosen by the library)"),
                       ("tv", "total-variation weight of rl")):
        p.add_argument(f"--{name}", type=nonnegative_float, metavar="X", help=text)
    p.add_argument("--boundary", choices=BOUNDARIES,
                   help="how the image edges are treated (default: the method's)")
    p.add_argument("--accelerate", action="store_true", help="accelerated iterations")
    p.add_argument("--bits", type=int, choices=(8, 16),
                   help="PNG bit depth (default 16 for grayscale, 8 for colour)")
    p.add_argument("--demo", action="store_true",
                   help="blur and restore a built-in image with every method; one PNG")
    p.add_argument("--out", metavar="DIR",
                   help="folder of --demo's restore-demo.png (default demo-results)")
    restore_stream.add_arguments(p)
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    p.add_argument("--quiet", action="store_true", help="no progress bar, no summary")
    p.set_defaults(run=run)
