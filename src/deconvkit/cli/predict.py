"""``deconvkit predict``: a trained FCN's predictions, drawn and scored."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from .common import check_output_path, nonnegative_int, write

MAX_IMAGES = 32
"""Most images one picture shows (``--shapes`` or ``--images``)."""



def image_count(text: str) -> int:
    """A number of images from 1 to :data:`MAX_IMAGES`.

    >>> image_count("6")
    6
    >>> image_count("100")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: expected a number of images from 1 to 32, got '100'
    """
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_IMAGES:
        raise argparse.ArgumentTypeError(
            f"expected a number of images from 1 to {MAX_IMAGES}, got {text!r}")
    return value


def as_model_input(image, info, size: int) -> np.ndarray:
    """An image read by :func:`deconvkit.images.read_image` as a ``(3, size, size)`` input.

    Colour images keep their three colour channels (alpha dropped; the models were trained
    on colour), grey images are copied to the three channels; rescaled to [0, 1] when the
    values lie outside, the central square cropped and resized to ``size`` (linear
    interpolation).

    >>> x = as_model_input(np.linspace(0, 1, 40 * 60).reshape(40, 60), {}, 16)
    >>> x.shape, x.dtype, bool(np.allclose(x[0], x[2]))
    ((3, 16, 16), dtype('float32'), True)
    >>> rgb = np.zeros((20, 20, 4)); rgb[..., 0] = 1.0
    >>> as_model_input(rgb, {"channel_axis": -1}, 8)[:, 0, 0].tolist()
    [1.0, 0.0, 0.0]
    """
    from scipy import ndimage

    image = np.asarray(image, dtype=np.float64)
    if info.get("channel_axis") == -1:
        image = image[..., :3] if image.shape[-1] >= 3 else image[..., :1]
        image = np.moveaxis(image, -1, 0)
    elif image.ndim == 2:
        image = image[None]
    if image.ndim != 3:
        raise ValueError(f"--images: expected a 2-D grey or colour image, got "
                         f"{str(info.get('path'))!r} of shape {info.get('shape', image.shape)}")
    low, high = float(image.min()), float(image.max())
    if low < 0 or high > 1:
        image = (image - low) / (high - low) if high > low else np.zeros_like(image)
    side = min(image.shape[1:])
    top, left = (image.shape[1] - side) // 2, (image.shape[2] - side) // 2
    square = image[:, top:top + side, left:left + side]
    if side != size:
        square = ndimage.zoom(square, (1, size / side, size / side), order=1, mode="nearest",
                              grid_mode=True)
        square = square[:, :size, :size]
    square = np.clip(square, 0, 1).astype(np.float32)
    return np.repeat(square, 3, axis=0) if square.shape[0] == 1 else square


def _load(args):
    """The model and its meta: ``--model PATH`` or ``--pretrained NAME``."""
    from .. import nn

    if args.model is not None:
        path = Path(args.model)
        if not path.is_file():
            raise ValueError(f"--model: expected a model file (.npz of nn.save_model), got "
                             f"{str(path)!r} ({'a folder' if path.is_dir() else 'no such file'})")
        return nn.load_model(path)
    return nn.pretrained(args.pretrained or "fcn8s")


def _inputs(args, meta):
    """``(images, truth or None, description)`` of ``--shapes`` or ``--images``."""
    from ..datasets import shapes
    from ..images import read_image

    data = meta.get("data") or {}
    size = int(data.get("size", 64))
    if args.images:
        images = np.stack([as_model_input(*read_image(p), size) for p in args.images])
        return images, None, f"{len(images)} image file(s), {size}x{size}"
    seed = int(data.get("seed", 0)) if args.seed is None else args.seed
    split = data.get("val_split", "val")
    count = 6 if args.shapes is None else args.shapes
    images, labels = shapes(count, size=size, seed=seed, split=split)
    return images, labels, f"shapes {split} split, seed {seed}, {size}x{size}"


def _scores(predictions, truth, num_classes):
    """Per-image ``(pixel accuracy, mean IoU)`` and the pooled ones."""
    from ..train.metrics import confusion_matrix, mean_iou, pixel_accuracy

    per_image = []
    for p, t in zip(predictions, truth):
        c = confusion_matrix(p, t, num_classes)
        per_image.append((pixel_accuracy(c), mean_iou(c)[0]))
    c = confusion_matrix(predictions, truth, num_classes)
    return per_image, (pixel_accuracy(c), mean_iou(c)[0])


def run(args) -> int:
    from ..train.loop import predict
    from ..train.pictures import predictions_picture, require_matplotlib, upsampling_kernel

    if args.images and len(args.images) > MAX_IMAGES:
        raise ValueError(f"--images: expected at most {MAX_IMAGES} files, got "
                         f"{len(args.images)}")
    if args.images and args.seed is not None:
        raise ValueError("--seed chooses the --shapes images; it does not go with --images")
    out = check_output_path(Path(args.out) / "predict.png", "--out",
                            overwrite=args.overwrite, make_parents=True)
    require_matplotlib()
    model, meta = _load(args)
    images, truth, source = _inputs(args, meta)
    predictions = predict(model, images).argmax(axis=1)
    name = meta.get("name", f"{model.head}/{model.upsampling}")
    reported = (f"; reported mean IoU {meta['mean_iou']:.3f} on its {meta['data']['n_val']} "
                f"validation images" if "mean_iou" in meta and "data" in meta else "")
    write(f"{name}: {len(images)} images ({source}){reported}\n")
    captions = None
    if truth is not None:
        per_image, (acc, miou) = _scores(predictions, truth, model.num_classes)
        for i, (a, m) in enumerate(per_image):
            write(f"image {i}: pixel accuracy {a:.3f}, mean IoU {m:.3f}\n")
        write(f"all {len(images)}: pixel accuracy {acc:.3f}, mean IoU {miou:.3f}\n")
        captions = [f"IoU {m:.2f}, acc. {a:.2f}" for a, m in per_image]
    out.parent.mkdir(parents=True, exist_ok=True)
    predictions_picture(images, predictions, out, truth=truth, captions=captions,
                        kernels=upsampling_kernel(model), title=f"{name}: {source}",
                        overwrite=args.overwrite)
    write(f"wrote {out}\n")
    return 0


def add(subparsers) -> None:
    from ..nn.zoo import PRETRAINED

    p = subparsers.add_parser(
        "predict", help="segment images with a trained FCN and draw the predictions",
        description="Run a trained FCN (a shipped one, deconvkit.nn.pretrained, or a file "
                    "of deconvkit train --save-model) on shapes validation images, scored "
                    "against their ground truth, or on your image files (colour kept, grey "
                    "copied to three channels, the centre square resized to the model's input size). Writes DIR/predict.png: input, "
                    "truth and prediction of every image and, for a learned transposed "
                    "convolution, its final upsampling kernel next to bilinear (needs "
                    "matplotlib).",
        epilog="examples: deconvkit predict --shapes 6 | deconvkit predict --pretrained "
               "fcn32s-bilinear --out results | deconvkit predict --model model.npz "
               "--images a.png b.jpg")
    model = p.add_mutually_exclusive_group()
    model.add_argument("--pretrained", choices=tuple(PRETRAINED),
                       metavar="NAME",
                       help="a shipped model: " + "; ".join(
                           f"{k}: {v[1]}" for k, v in PRETRAINED.items())
                       + " (default fcn8s)")
    model.add_argument("--model", metavar="PATH", help="a model file (.npz) of "
                       "deconvkit train --save-model or nn.save_model")
    inputs = p.add_mutually_exclusive_group()
    inputs.add_argument("--shapes", type=image_count, metavar="N",
                        help=f"regenerate N images (at most {MAX_IMAGES}) of the validation "
                             "split the model was scored on, with their truth (default 6)")
    inputs.add_argument("--images", nargs="+", metavar="FILE",
                        help=f"image files instead (at most {MAX_IMAGES}; no truth)")
    p.add_argument("--seed", type=nonnegative_int,
                   help="seed of the --shapes data (default: the model's data seed, so "
                        "the images are its validation images; another seed gives new ones)")
    p.add_argument("--out", default="deconvkit-predict", metavar="DIR",
                   help="output folder (default ./deconvkit-predict)")
    p.add_argument("--overwrite", action="store_true", help="replace DIR/predict.png")
    p.set_defaults(run=run)
