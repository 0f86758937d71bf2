"""``deconvkit restore --demo``: every method on one blurred, noisy image, in one PNG.

The image is scikit-image's ``camera`` (downscaled to 256 x 256) when scikit-image is
installed, else a grayscale picture from :func:`deconvkit.datasets.shapes`. It is blurred
with a Gaussian PSF (sigma 2, reflecting edges, by :func:`scipy.ndimage.convolve`) and
gets Gaussian noise of sigma 0.01 (seed 0); each method of ``deconvkit restore`` then
restores it with the library's defaults. The figure shows truth, blurred and every
result, titled with PSNR, SSIM (when scikit-image is there) and time.
"""

from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np

from ..restoration.metrics import psnr, ssim
from .._files import write_file
from .common import check_output_path, write
from . import restore
from .restore import ITERATIVE, METHODS, _describe

__all__ = ["run_demo", "demo_image", "DEFAULT_DIR", "FILENAME", "SIGMA", "NOISE"]

DEFAULT_DIR = "demo-results"
FILENAME = "restore-demo.png"
SIGMA = 2.0
NOISE = 0.01


def demo_image():
    """``(image, name)``: a (H, W) float64 image in [0, 1] and where it comes from."""
    try:
        from skimage import data, transform
    except ImportError:
        from ..datasets import shapes

        images, _ = shapes(1, size=128, seed=0, noise=0.0)
        return images[0].mean(axis=0).astype(np.float64), "deconvkit.datasets.shapes"
    camera = data.camera() / 255.0
    return transform.downscale_local_mean(camera, (2, 2)), "skimage.data.camera"


def _blurred(truth, psf):
    from scipy import ndimage

    rng = np.random.default_rng(0)
    return ndimage.convolve(truth, psf, mode="reflect") + rng.normal(0, NOISE, truth.shape)


def _scores(truth, estimate, seconds=None) -> dict:
    try:
        similarity = ssim(truth, estimate, data_range=1.0)
    except ImportError:
        similarity = None
    return {"psnr": psnr(truth, estimate, data_range=1.0), "ssim": similarity,
            "seconds": seconds}


def _restore_all(blurred, psf, quiet: bool) -> list:
    """One row per method: name, result, scores and what the library chose."""
    rows = []
    for name, method in METHODS.items():
        options = {"progress": not quiet} if method in ITERATIVE else {}
        start = time.perf_counter()
        f, info = restore._deconvolve(blurred, psf, method, None, options)
        rows.append({"name": name, "image": f, "info": info,
                     "seconds": time.perf_counter() - start})
    return rows


def _title(name: str, scores: dict) -> str:
    if scores is None:
        return name
    text = f"{name}\nPSNR {scores['psnr']:.2f} dB"
    if scores["ssim"] is not None:
        text += f", SSIM {scores['ssim']:.3f}"
    if scores["seconds"] is not None:
        text += f"\n{scores['seconds']:.2f} s"
    return text


def _figure(panels: list) -> bytes:
    """PNG bytes of ``(title, image)`` panels side by side in rows of 4 (matplotlib, Agg)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError("--demo needs matplotlib: pip install 'deconvkit[restore]'") from exc
    cols = 4
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 3.9 * rows), squeeze=False,
                             layout="constrained")  # room for three-line titles
    for ax in axes.ravel():
        ax.axis("off")
    for ax, (title, image) in zip(axes.ravel(), panels):
        ax.imshow(np.clip(image, 0, 1), cmap="gray", vmin=0, vmax=1)
        ax.set_title(title, fontsize=9)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return buffer.getvalue()


def _table(rows: list, blurred_scores: dict) -> str:
    lines = [f"{'method':<12} {'PSNR dB':>8} {'SSIM':>6} {'time s':>7}  chosen"]
    for name, scores, info in [("blurred", blurred_scores, {})] + [
            (r["name"], r["scores"], r["info"]) for r in rows]:
        similarity = "-" if scores["ssim"] is None else f"{scores['ssim']:.3f}"
        seconds = "-" if scores["seconds"] is None else f"{scores['seconds']:.2f}"
        lines.append(f"{name:<12} {scores['psnr']:>8.2f} {similarity:>6} {seconds:>7}  "
                     f"{_describe([info])}".rstrip())
    return "\n".join(lines) + "\n"


def run_demo(args) -> int:
    """Blur, restore with every method, write DIR/restore-demo.png and print a table."""
    folder = Path(DEFAULT_DIR if args.out is None else args.out)
    path = check_output_path(folder / FILENAME, "--out", overwrite=args.overwrite,
                             make_parents=True)
    psf = np.asarray(restore._library().gaussian(SIGMA, ndim=2))
    truth, source = demo_image()
    blurred = _blurred(truth, psf)
    rows = _restore_all(blurred, psf, args.quiet)
    for row in rows:
        row["scores"] = _scores(truth, row["image"], row["seconds"])
    blurred_scores = _scores(truth, blurred)
    panels = [("truth", truth, None), ("blurred", blurred, blurred_scores)] + [
        (r["name"], r["image"], r["scores"]) for r in rows]
    png = _figure([(_title(name, scores), image) for name, image, scores in panels])
    path.parent.mkdir(parents=True, exist_ok=True)
    write_file(path, lambda file: file.write(png), overwrite=args.overwrite,
               exists_error=lambda: FileExistsError(f"{path} exists; pass --overwrite"))
    if not args.quiet:
        write(f"{source} {truth.shape[0]}x{truth.shape[1]}, gaussian PSF sigma {SIGMA:g}, "
              f"noise sigma {NOISE:g}\n" + _table(rows, blurred_scores) + f"wrote {path}\n")
    return 0
