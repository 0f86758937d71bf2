"""``deconvkit restore`` in streaming mode: TIFF stacks and Zarr stores larger than
memory, restored chunk by chunk by :func:`deconvkit.restoration.tiled` and written chunk
by chunk. Chosen with ``--chunks``, or when IN or OUT is a ``.zarr`` store."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from .common import parse_sizes, write

__all__ = ["streaming", "run_stream", "scheduler_name", "add_arguments"]

SCHEDULERS = ("threads", "processes", "synchronous", "distributed")


def scheduler_name(text: str) -> str:
    """A ``--scheduler`` value: one of :data:`SCHEDULERS` or ``distributed:ADDRESS``.

    >>> scheduler_name("threads"), scheduler_name("distributed:tcp://127.0.0.1:8786")
    ('threads', 'distributed:tcp://127.0.0.1:8786')
    >>> scheduler_name("gpu")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: expected threads, processes, synchronous, distributed or distributed:ADDRESS, got 'gpu'
    """
    head, sep, address = text.partition(":")
    if (text in SCHEDULERS) or (head == "distributed" and sep and address):
        return text
    raise argparse.ArgumentTypeError(f"expected {', '.join(SCHEDULERS)} or "
                                     f"distributed:ADDRESS, got {text!r}")


def _depth(text: str):
    values = parse_sizes(text, 0)
    return values[0] if len(values) == 1 else values


def add_arguments(p) -> None:
    """The streaming options of ``deconvkit restore``."""
    p.add_argument("--chunks", type=parse_sizes, metavar="SIZES",
                   help="stream IN chunk by chunk in chunks of this shape, e.g. 64,256,256 "
                        "(also the mode for .zarr IN or OUT; OUT .zarr, .tif or .tiff)")
    p.add_argument("--depth", type=_depth, metavar="N",
                   help="halo of each chunk, one N or one per axis (default: from the PSF "
                        "and the method)")
    p.add_argument("--scheduler", type=scheduler_name, metavar="NAME",
                   help="threads (default), processes, synchronous, distributed "
                        "(a local cluster) or distributed:ADDRESS")


def _is_zarr(path) -> bool:
    return path is not None and Path(str(path).rstrip("/")).suffix.lower() == ".zarr"


def streaming(args) -> bool:
    """Whether ``args`` ask for streaming mode."""
    return (args.chunks is not None or _is_zarr(args.input) or _is_zarr(args.output)
            or args.depth is not None or args.scheduler is not None)


def _check_output(args) -> None:
    from ..volumes import volume_format

    try:
        volume_format(args.output)
    except ValueError as exc:
        raise ValueError(f"OUT: {exc} in streaming mode") from None
    out = Path(args.output)
    if not out.parent.is_dir():
        raise ValueError(f"OUT: expected a path in an existing folder, got {args.output!r}")
    if out.exists() and not args.overwrite:
        raise ValueError(f"would overwrite {args.output!r}; pass --overwrite or choose "
                         "another OUT")
    if args.bits is not None:
        raise ValueError("--bits applies to PNG output, not to streaming mode")


def run_stream(args, library, make_psf, options: dict) -> int:
    """Restore IN to OUT through ``library.tiled``; a summary unless ``--quiet``."""
    from ..volumes import open_volume

    _check_output(args)
    x, _ = open_volume(args.input, "IN")
    psf = make_psf(args.psf, x.ndim)
    options = {k: v for k, v in options.items() if k != "progress"}
    if args.boundary is not None:
        options["boundary"] = args.boundary
    start = time.perf_counter()
    f, info = library.tiled(args.input, psf, args.method, chunks=args.chunks, depth=args.depth,
                            out=args.output, overwrite=args.overwrite,
                            scheduler=args.scheduler, progress=not args.quiet,
                            full_output=True, **options)
    if not args.quiet:
        chosen = ", ".join(f"{k} {v:.4g}" for k, v in info["options"].items()
                           if isinstance(v, float))
        chunks = "x".join(str(max(c)) for c in info["chunks"])
        write(f"restored {args.input} ({'x'.join(map(str, x.shape))}) with {args.method} in "
              f"chunks of {chunks}, halo {','.join(map(str, info['depth']))}"
              f"{', ' + chosen if chosen else ''} ({_origin(info['parameters_from'])}) in {time.perf_counter() - start:.2f} s -> "
              f"{args.output} ({info['out']['dtype']})\n")
    return 0


def _origin(where: str) -> str:
    return "parameters given" if where == "given" else f"parameters chosen on the {where}"
