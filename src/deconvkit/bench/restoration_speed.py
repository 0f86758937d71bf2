"""Richardson–Lucy speed: deconvkit against scikit-image in one process, and the borders.

Three measurements, all on float32 data clipped at 0 (as a sensor records it; scikit-image
divides by negative values otherwise):

* equal iterations: 30 steps of each on the camera (512x512, Gaussian sigma 2 PSF, noise
  0.01) and on a 256x256x32 volume (32 copies of the camera subsampled by 2, as
  scikit-image's own ASV benchmark builds it; 5x5x5 Gaussian sigma 1 PSF, noise 0.01),
  both blurred periodically, a model neither method assumes. Timed interleaved in blocks
  of consecutive calls (:func:`deconvkit.bench._time_interleaved`); medians and the ratio.
* accelerated: scikit-image's best PSNR over iterations 1..100 on the camera case, its
  iteration count, and the fewest Biggs–Andrews iterations of ours that reach that PSNR;
  both timed as above. Scored on the full frame, and again 32 px in from the edges.
* border band: PSNR in a band along the frame of a cropped case (the 'valid' blur of a
  larger scene), after 10 and 100 iterations, for ours with ``boundary="reflect"`` and
  ``"none"`` and for scikit-image.

Ours runs twice: with its default boundary (``"reflect"``, which pads by the PSF and
folds back: FFTs on a larger grid) and with ``"periodic"`` (the model the data were made
with; FFTs on the image's own grid), with ``scipy.fft`` ``workers=-1`` (all cores) inside
the blur operator; scikit-image's ``scipy.signal.convolve`` runs its FFTs on one thread.
The run keeps freed memory in the process (:func:`deconvkit.threads.keep_freed_memory`)
for both libraries alike.
"""

from __future__ import annotations

import sys

import numpy as np

from ..linop.blur import BlurOperator
from ..restoration.lucy import richardson_lucy
from ..restoration.metrics import psnr
from ..restoration.psf import gaussian
from . import _time_interleaved
from .restoration_quality import camera, make_case, seed_of

__all__ = ["SPEED_ITERATIONS", "MAX_ITERATIONS", "BAND_ITERATIONS", "speed_case",
           "equal_iterations", "accelerated", "border_band", "skimage_rl_psnrs"]

SPEED_ITERATIONS = 30
MAX_ITERATIONS = 100
BAND_ITERATIONS = (10, 100)
BOUNDARIES = ("reflect", "periodic")
NOISE = 0.01
INTERIOR, INTERIOR_QUICK = 32, 8
"""Margin of the interior score: scikit-image's zero padding brightens its borders within
a few iterations, so its full-frame PSNR peaks at once; 32 px in, it peaks where its
interior stops sharpening and starts amplifying noise."""


def _observe(truth, psf, name):
    """Periodic blur of ``truth`` plus noise ``NOISE``, clipped at 0, float32."""
    rng = np.random.default_rng(seed_of("speed", name, truth.shape))
    g = BlurOperator(psf, truth.shape, boundary="periodic").forward(truth)
    g = np.maximum(g + NOISE * rng.standard_normal(g.shape), 0)
    return g.astype(np.float32), truth.astype(np.float32)


def speed_case(kind, quick=False):
    """``(name, g, psf, truth)`` for ``kind`` "image" or "volume"."""
    if kind == "image":
        size = 128 if quick else 512
        name = f"camera {size}x{size}, gaussian s=2 13x13"
        psf = gaussian(2.0)
        g, truth = _observe(camera(size), psf, name)
        return name, g, psf, truth
    side, depth = (64, 8) if quick else (256, 32)
    name = f"volume {side}x{side}x{depth}, gaussian s=1 5x5x5"
    psf = gaussian(1.0, shape=(5, 5, 5))
    step = 512 // side
    from skimage.data import camera as load
    volume = np.stack([load()[::step, ::step]] * depth, axis=-1).astype(np.float64) / 255
    g, truth = _observe(volume, psf, name)
    return name, g, psf, truth


def _skimage(g, psf, n):
    from skimage.restoration import richardson_lucy as sk_rl
    return sk_rl(g, psf, num_iter=n, clip=False)


def equal_iterations(name, g, psf, truth, rounds, block_time, iterations=SPEED_ITERATIONS,
                     boundary="reflect"):
    """One row: median seconds of ``iterations`` steps of each, and their PSNRs."""
    psf32 = psf.astype(np.float32)
    runners = {"ours": lambda: richardson_lucy(g, psf, iterations, boundary=boundary),
               "skimage": lambda: _skimage(g, psf32, iterations)}
    scores = {n: psnr(truth, fn(), data_range=1.0) for n, fn in runners.items()}
    times = _time_interleaved(runners, rounds, block_time)
    return dict(case=name, iterations=iterations, times=times, psnr=scores,
                boundary=boundary)


def _inner(shape, margin):
    """The slices that leave out ``margin`` samples along every edge (all for 0)."""
    return tuple(slice(margin, n - margin) for n in shape)


def skimage_rl_psnrs(g, psf, truth, n, margin=0):
    """PSNR (``margin`` px in from the edges) after each of ``n`` scikit-image
    Richardson–Lucy steps, and the best iterate.

    The loop of ``skimage.restoration.richardson_lucy`` (0.26), one step at a time, so the
    ``n`` PSNRs cost ``n`` steps rather than ``n (n + 1) / 2``; the caller checks the
    best iterate against scikit-image's own function.
    """
    from scipy.signal import convolve
    psf, inner = psf.astype(g.dtype), _inner(g.shape, margin)
    mirror = np.flip(psf)
    f = np.full(g.shape, 0.5, dtype=g.dtype)
    scores, best = [], None
    for _ in range(n):
        conv = convolve(f, psf, mode="same") + 1e-12
        f *= convolve(g / conv, mirror, mode="same")
        scores.append(psnr(truth[inner], f[inner], data_range=1.0))
        if scores[-1] == max(scores):
            best = f.copy()
    return scores, best


def fewest_accelerated(g, psf, truth, goal, margin=0, limit=MAX_ITERATIONS,
                       boundary="reflect"):
    """The fewest ``accelerate=True`` iterations of ours whose PSNR (``margin`` px in)
    reaches ``goal`` and that PSNR, or ``(None, best PSNR, its iterations)`` when
    ``limit`` iterations do not reach it."""
    best, best_n, inner = -np.inf, None, _inner(g.shape, margin)
    for n in range(1, limit + 1):
        f = richardson_lucy(g, psf, n, accelerate=True, boundary=boundary)
        score = psnr(truth[inner], f[inner], data_range=1.0)
        if score >= goal:
            return n, score, n
        if score > best:
            best, best_n = score, n
    return None, best, best_n


def accelerated(name, g, psf, truth, rounds, block_time, margin=0, boundary="reflect",
                skimage_trace=None):
    """Wall time of scikit-image to its best PSNR (iterations 1..100, scored ``margin``
    px in from the edges) against ours, accelerated, to the same PSNR; when ours does
    not reach it, the times of both to their own best (``ours_best_iterations``)."""
    psf32 = psf.astype(np.float32)
    scores, best_iterate = skimage_trace or skimage_rl_psnrs(g, psf32, truth, MAX_ITERATIONS,
                                                             margin)
    n_sk = int(np.argmax(scores)) + 1
    check = _skimage(g, psf32, n_sk)
    replica_error = float(np.max(np.abs(check - best_iterate)) / np.max(np.abs(check)))
    goal = max(scores)
    n_ours, reached, n_run = fewest_accelerated(g, psf, truth, goal, margin,
                                                boundary=boundary)
    times = _time_interleaved(
        {"ours": lambda: richardson_lucy(g, psf, n_run, accelerate=True, boundary=boundary),
         "skimage": lambda: _skimage(g, psf32, n_sk)}, rounds, block_time)
    return dict(case=name, margin=margin, skimage_iterations=n_sk, skimage_psnr=goal,
                replica_error=replica_error, ours_iterations=n_ours, ours_psnr=reached,
                ours_best_iterations=n_run, times=times, boundary=boundary,
                trace=(scores, best_iterate))


def band_mask(shape, width):
    """True within ``width`` samples of the frame's edge."""
    mask = np.ones(shape, dtype=bool)
    mask[tuple(slice(width, n - width) for n in shape)] = False
    return mask


def border_band(size=512, width=16, iterations=BAND_ITERATIONS):
    """Rows ``{method, iterations, band, full}``: PSNR in the border band and on the full
    frame of a cropped case (Gaussian sigma 2, noise 0.01, clipped at 0, float32)."""
    case = make_case("cropped", "gaussian s=2 (13x13)", NOISE, camera(size))
    g = np.maximum(case.g, 0).astype(np.float32)
    mask = band_mask(g.shape, width)
    runners = {"ours, boundary=reflect": lambda n: richardson_lucy(g, case.psf, n),
               "ours, boundary=none": lambda n: richardson_lucy(g, case.psf, n, boundary="none"),
               "skimage (zero padding)": lambda n: _skimage(g, case.psf.astype(np.float32), n)}
    rows = []
    for name, fn in runners.items():
        for n in iterations:
            f = fn(n)
            rows.append(dict(method=name, iterations=n, width=width, shape=g.shape,
                             band=psnr(case.truth[mask], f[mask], data_range=1.0),
                             full=psnr(case.truth, f, data_range=1.0)))
    return rows


def run(quick=False, rounds=5, block_time=1.0, log=sys.stderr):
    """Every speed measurement; ``quick`` shrinks the images and the timing."""
    if quick:
        rounds, block_time = 1, 0.0
    out = dict(equal=[], accelerated=[], band=None)
    for kind in ("image", "volume"):
        name, g, psf, truth = speed_case(kind, quick)
        print(f"speed: {name}, {SPEED_ITERATIONS} iterations", file=log, flush=True)
        # the volume's skimage call takes seconds: the shortest blocks, fewer rounds
        r, b = (rounds, block_time) if kind == "image" else (max(1, rounds - 2), 0.0)
        for boundary in BOUNDARIES:
            out["equal"].append(equal_iterations(name, g, psf, truth, r, b,
                                                 boundary=boundary))
        if kind == "image":
            for margin in (0, INTERIOR_QUICK if quick else INTERIOR):
                print(f"speed: accelerated, to scikit-image's best PSNR ({margin} px in)",
                      file=log, flush=True)
                trace = None
                for boundary in BOUNDARIES:
                    row = accelerated(name, g, psf, truth, rounds, block_time, margin,
                                      boundary, trace)
                    trace = row.pop("trace")
                    out["accelerated"].append(row)
    print("speed: border band", file=log, flush=True)
    out["band"] = border_band(128 if quick else 512, 4 if quick else 16)
    return out
