"""``deconvkit sparse``: Deconvolutional Networks from the command line.

* ``deconvkit sparse learn --demo`` (or ``--images DIR``) learns convolutional sparse
  coding filters on built-in natural images (scikit-image's samples when installed,
  else the project's shapes), high-passed, and writes the filters (``filters.npz``) and
  a PNG of the filters, one image's strongest feature maps and its reconstruction.
* ``deconvkit sparse visualize MODEL.npz`` projects a trained network's strongest
  activations back to pixels (Zeiler & Fergus's deconvnet) next to the patches that
  caused them.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from .common import check_output_path, nonnegative_int, positive_float, positive_int, write

LEARN_PNG = "sparse-learn.png"
FILTERS = "filters.npz"


def add(subparsers) -> None:
    """Add ``deconvkit sparse`` with its ``learn`` and ``visualize`` subcommands."""
    p = subparsers.add_parser("sparse", help="Deconvolutional Networks: learn sparse-coding "
                                             "filters; project a trained net's features")
    sub = p.add_subparsers(dest="sparse_command", metavar="{learn,visualize}", required=True)
    _add_learn(sub)
    _add_visualize(sub)


def _add_learn(sub) -> None:
    p = sub.add_parser("learn", help="learn filters by convolutional sparse coding")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--demo", action="store_true",
                        help="built-in images: scikit-image's samples, else shapes")
    source.add_argument("--images", metavar="DIR", help="a folder of image files")
    p.add_argument("--source", choices=("natural", "shapes"),
                   help="with --demo: which built-in images (default natural when "
                        "scikit-image is installed)")
    p.add_argument("--n-images", type=positive_int, default=4, help="images (default 4)")
    p.add_argument("--size", type=positive_int, default=128,
                   help="side of the square images (default 128)")
    p.add_argument("--filters", type=positive_int, default=32, help="number of filters")
    p.add_argument("--kernel", type=positive_int, default=8, help="filter side (default 8)")
    p.add_argument("--lam", type=positive_float, default=0.1, help="l1 weight (default 0.1)")
    p.add_argument("--iterations", type=positive_int, default=30,
                   help="outer iterations: code, then filters (default 30)")
    p.add_argument("--method", choices=("admm", "fista"), default="admm",
                   help="the coding solver (default admm, circular boundary)")
    p.add_argument("--seed", type=nonnegative_int, default=0)
    p.add_argument("--out", default="deconvkit-sparse", metavar="DIR",
                   help=f"folder for {FILTERS} and {LEARN_PNG}")
    p.add_argument("--overwrite", action="store_true", help="replace existing files")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(run=run_learn)


def _add_visualize(sub) -> None:
    p = sub.add_parser("visualize", help="project a trained FCN's strongest activations "
                                         "back to pixels (deconvnet)")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("model", nargs="?", metavar="MODEL.npz",
                       help="a model saved by deconvkit train --save-model")
    which.add_argument("--pretrained", metavar="NAME", help="a shipped model, e.g. fcn8s")
    p.add_argument("--layer", help="the layer to project from (default: the deepest "
                                   "encoder stage)")
    p.add_argument("--channels", type=nonnegative_int, nargs="+", metavar="C",
                   help="channels to show (default: the strongest)")
    p.add_argument("--top", type=positive_int, default=9, help="projections per channel")
    p.add_argument("--mode", choices=("deconvnet", "guided", "gradient"), default="deconvnet")
    p.add_argument("--n-images", type=positive_int, default=64,
                   help="validation images searched for the strongest activations")
    p.add_argument("--seed", type=nonnegative_int, help="seed of the images")
    p.add_argument("--out", default="deconvnet.png", metavar="PNG", help="the picture")
    p.add_argument("--overwrite", action="store_true", help="replace an existing PNG")
    p.set_defaults(run=run_visualize)


def _images(args):
    from ..sparse import images as sample

    if args.images is not None:
        return sample.folder_images(args.images, args.size, limit=args.n_images), args.images
    source = args.source or ("natural" if importlib.util.find_spec("skimage") else "shapes")
    return sample.sample_images(source, args.n_images, args.size, seed=args.seed), source


def run_learn(args) -> int:
    """Learn filters, code the first image with them, write the filters and the PNG."""
    from .. import sparse
    from ..restoration.metrics import psnr
    from ..sparse.images import highpass
    from ..sparse.pictures import draw_learned

    if args.source is not None and not args.demo:
        raise ValueError("--source chooses the built-in images of --demo; it does not go "
                         "with --images")
    if args.kernel > args.size:
        raise ValueError(f"--kernel must be at most --size ({args.size}): the filters fit in "
                         f"the images, got --kernel {args.kernel}")
    out = Path(args.out)
    png, npz = out / LEARN_PNG, out / FILTERS
    for path in (png, npz):
        check_output_path(path, "--out", overwrite=args.overwrite, make_parents=True)
    images, source = _images(args)
    detail, smooth = highpass(images)
    filters, info = sparse.learn(detail, args.filters, args.kernel, args.lam,
                                 iterations=args.iterations, method=args.method,
                                 boundary="circular", seed=args.seed,
                                 progress=not args.no_progress, full_output=True)
    z = sparse.code(detail[:1], filters, args.lam, method=args.method, boundary="circular",
                    iterations=100)
    D = sparse.SynthesisOperator(filters, detail.shape[1:], boundary="circular")
    reconstruction = (D.forward(z) + smooth[:1])[0, 0]
    image = images[0, 0]
    quality = psnr(image, reconstruction, data_range=1.0)
    out.mkdir(parents=True, exist_ok=True)
    meta = dict(source=str(source), n_images=len(images), size=args.size, lam=args.lam,
                iterations=args.iterations, method=args.method, boundary="circular",
                seed=args.seed)
    sparse.save_filters(npz, filters, meta=meta, overwrite=args.overwrite)
    objective = info["objective"]
    title = (f"{args.filters} filters {args.kernel}x{args.kernel}, lam {args.lam:g}, "
             f"{len(images)} {source} images, {args.iterations} iterations")
    def part(k):
        one = sparse.SynthesisOperator(filters[k:k + 1], detail.shape[1:], boundary="circular")
        return one.forward(z[:, k:k + 1])[0, 0]

    draw_learned(png, filters, image, z[0], reconstruction, parts=part, title=title,
                 scores={"PSNR": f"{quality:.1f} dB"}, overwrite=args.overwrite)
    density = (z != 0).mean()
    write(f"learned {args.filters} filters {args.kernel}x{args.kernel} on {len(images)} "
          f"{source} images of {args.size}x{args.size} (high-passed), lam {args.lam:g}\n"
          f"objective {objective[0][0]:.4g} -> {objective[-1][-1]:.4g} over "
          f"{len(objective)} iterations\n"
          f"first image: {100 * density:.1f}% of coefficients nonzero, reconstruction PSNR "
          f"{quality:.1f} dB\n"
          f"wrote {npz} and {png}\n")
    return 0


def run_visualize(args) -> int:
    """Project the strongest activations of a layer of a trained model to pixels."""
    from ..explain.deconvnet import visualize

    check_output_path(Path(args.out), "--out", overwrite=args.overwrite, make_parents=True)
    if args.pretrained is not None:
        from ..nn import pretrained_path

        source = pretrained_path(args.pretrained)   # a path: its meta names the images
    else:
        source = args.model
    options = dict(channels=args.channels, top=args.top, n_images=args.n_images,
                   seed=args.seed, mode=args.mode, overwrite=args.overwrite)
    if args.layer is not None:
        options["layer"] = args.layer
    lines = visualize(source, args.out, **options)
    write("".join(f"{line}\n" for line in lines))
    return 0
