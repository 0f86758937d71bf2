"""Restoration quality: deconvkit against scikit-image on the camera image, PSNR and SSIM.

Cases: three PSFs (box 5x5, Gaussian sigma 2 on 13x13, horizontal motion 15 px) times two
noise levels (Gaussian, sigma 0.01 and 0.05, one fixed seed per case) times two settings:

* ``circular``: ``g`` is the periodic blur of the truth (the model every FFT filter
  assumes), plus noise;
* ``cropped``: as in a real photograph, the scene extends past the frame: ``g`` is the
  'valid' blur of the 512x512 truth (``BlurOperator(boundary="none")``, i.e.
  ``scipy.signal.fftconvolve(mode="valid")``), plus noise, and the truth it is scored
  against is the scene's crop under the frame (offset ``k - 1 - k//2`` per axis).

Every estimate is scored on the full frame with ``data_range=1``. scikit-image's
``wiener`` gets its best possible case: ``balance`` is chosen on a log grid by PSNR
against the truth, which no user can do.
"""

from __future__ import annotations

import inspect
import sys
import zlib
from dataclasses import dataclass

import numpy as np

from ..linop.blur import BlurOperator
from ..restoration.lucy import richardson_lucy
from ..restoration.metrics import psnr, ssim
from ..restoration.psf import box, gaussian, motion

__all__ = ["PSFS", "NOISES", "SETTINGS", "RL_ITERATIONS", "BALANCES", "QualityCase",
           "camera", "cases", "methods", "run", "averages", "targets"]

PSFS = {"box 5x5": lambda: box((5, 5)),
        "gaussian s=2 (13x13)": lambda: gaussian(2.0),
        "motion 15 px": lambda: motion(15, 0.0)}
NOISES = (0.01, 0.05)
SETTINGS = ("circular", "cropped")
RL_ITERATIONS = 20
BALANCES = np.logspace(-4, 1, 36)
"""The grid of scikit-image ``wiener``'s ``balance``: 36 log-spaced values, 1e-4 to 10."""

BLURRED, OURS, OURS_PERIODIC = "blurred input", "ours regularized, auto", \
    "ours regularized, auto, boundary=periodic"
WIENER, UNSUPERVISED = "skimage wiener, balance tuned on truth", "skimage unsupervised_wiener"
OURS_RL, SKIMAGE_RL = f"ours richardson_lucy, {RL_ITERATIONS} it", \
    f"skimage richardson_lucy, {RL_ITERATIONS} it, clip=False"
SKIMAGE_RL_POS = SKIMAGE_RL + ", on max(g, 0)"
"""Ours counts negative samples as 0; scikit-image divides by whatever it gets, and on
noisy dark pixels its ratio ``g / conv`` changes sign and grows without bound. This row
gives it the data ours effectively sees."""


def camera(size=512) -> np.ndarray:
    """scikit-image's camera as float64 in [0, 1], ``size`` x ``size`` (block means of the
    512x512 original; ``size`` divides 512)."""
    from skimage.data import camera as load
    if 512 % size:
        raise ValueError(f"size must divide 512, got {size}")
    f = load().astype(np.float64) / 255.0
    r = 512 // size
    return f.reshape(size, r, size, r).mean(axis=(1, 3))


def seed_of(*parts) -> int:
    """A fixed seed per case, from its name (the same on every run and machine)."""
    return zlib.crc32("/".join(map(str, parts)).encode())


@dataclass
class QualityCase:
    """One observation ``g`` of ``truth`` through ``psf`` with noise ``sigma``."""

    setting: str
    psf_name: str
    sigma: float
    psf: np.ndarray
    truth: np.ndarray
    g: np.ndarray


def make_case(setting, psf_name, sigma, scene) -> QualityCase:
    psf = PSFS[psf_name]()
    rng = np.random.default_rng(seed_of(setting, psf_name, sigma, scene.shape))
    if setting == "circular":
        truth, g = scene, BlurOperator(psf, scene.shape, boundary="periodic").forward(scene)
    else:
        k = psf.shape
        shape = tuple(n - kn + 1 for n, kn in zip(scene.shape, k))
        g = BlurOperator(psf, shape, boundary="none").forward(scene)
        truth = scene[tuple(slice(kn - 1 - kn // 2, kn - 1 - kn // 2 + n)
                            for kn, n in zip(k, shape))]
    return QualityCase(setting, psf_name, sigma, psf, truth,
                       g + sigma * rng.standard_normal(g.shape))


def cases(size=512, psfs=None, noises=NOISES, settings=SETTINGS):
    """Every case, in table order (setting, PSF, noise)."""
    scene = camera(size)
    return [make_case(s, p, n, scene) for s in settings for p in (psfs or list(PSFS))
            for n in noises]


def _regularized():
    """deconvkit's automatic regularized filter and its default boundary, or ``(None,
    why)`` on a branch that does not have it yet."""
    try:
        from ..restoration.filters import regularized
    except ImportError as e:
        return None, f"deconvkit.restoration.filters.regularized not available ({e})"
    default = inspect.signature(regularized).parameters["boundary"].default
    return regularized, default


def _tuned_wiener(case):
    """scikit-image ``wiener`` at the grid balance of best PSNR against the truth."""
    from skimage.restoration import wiener
    scores = [psnr(case.truth, wiener(case.g, case.psf, b, clip=False), data_range=1.0)
              for b in BALANCES]
    best = int(np.argmax(scores))
    f = wiener(case.g, case.psf, BALANCES[best], clip=False)
    return f, dict(balance=float(BALANCES[best]), grid_psnr=scores)


def _unsupervised(case):
    from skimage.restoration import unsupervised_wiener
    f, _ = unsupervised_wiener(case.g, case.psf, clip=False,
                               rng=seed_of("unsupervised", case.setting, case.psf_name,
                                           case.sigma))
    return f, {}


def _skimage_rl(g, psf):
    from skimage.restoration import richardson_lucy as sk_rl
    return sk_rl(g, psf, num_iter=RL_ITERATIONS, clip=False), {}


def methods(case, regularized=None, default_boundary=None):
    """``{label: fn}``; each ``fn()`` returns ``(estimate, info)`` for this case."""
    out = {BLURRED: lambda: (case.g, {})}
    if regularized is not None:
        def ours(**kw):
            f, info = regularized(case.g, case.psf, full_output=True, **kw)
            return f, {"lam": info.get("lam")}
        out[f"{OURS} (default boundary={default_boundary})"] = ours
        if case.setting == "circular":
            out[OURS_PERIODIC] = lambda: ours(boundary="periodic")
    out[WIENER] = lambda: _tuned_wiener(case)
    out[UNSUPERVISED] = lambda: _unsupervised(case)
    out[f"{OURS_RL} (default boundary=reflect)"] = \
        lambda: (richardson_lucy(case.g, case.psf, RL_ITERATIONS), {})
    out[SKIMAGE_RL] = lambda: _skimage_rl(case.g, case.psf)
    out[SKIMAGE_RL_POS] = lambda: _skimage_rl(np.maximum(case.g, 0), case.psf)
    return out


def run(size=512, psfs=None, noises=NOISES, log=sys.stderr):
    """Score every method on every case; returns ``(rows, note)``: one dict per
    (case, method) with ``psnr``, ``ssim`` and ``info``; ``note`` says what was skipped."""
    regularized, default = _regularized()
    note = None if regularized is not None else default
    rows = []
    all_cases = cases(size, psfs, noises)
    for i, case in enumerate(all_cases, 1):
        print(f"quality {i}/{len(all_cases)}: {case.setting}, {case.psf_name}, "
              f"noise {case.sigma}", file=log, flush=True)
        for label, fn in methods(case, regularized, default).items():
            rows.append(dict(setting=case.setting, psf=case.psf_name, sigma=case.sigma,
                             method=label, **score(case.truth, *fn())))
    return rows, note


def score(truth, f, info):
    """PSNR and SSIM (``data_range=1``, full frame); NaN, said in ``info``, for an
    estimate with NaN or infinite values."""
    if not np.isfinite(f).all():
        return dict(psnr=float("nan"), ssim=float("nan"), info={**info, "non-finite": True})
    return dict(psnr=psnr(truth, f, data_range=1.0), ssim=ssim(truth, f, data_range=1.0),
                info=info)


def averages(rows):
    """``{(setting, method): (mean PSNR, mean SSIM, cases)}``, in first-seen order."""
    groups = {}
    for r in rows:
        groups.setdefault((r["setting"], r["method"]), []).append(r)
    return {key: (float(np.mean([r["psnr"] for r in rs])),
                  float(np.mean([r["ssim"] for r in rs])), len(rs))
            for key, rs in groups.items()}


def _mean(avg, setting, prefix):
    hits = [v[0] for (s, m), v in avg.items() if s == setting and m.startswith(prefix)]
    return hits[0] if hits else None


def _ours_default(method):
    return method.startswith(OURS) and method != OURS_PERIODIC


def targets(rows):
    """``[(text, met or None, measured)]``: the quality targets (None: not measured)."""
    avg = averages(rows)
    out = []
    wiener_c, unsup_c = _mean(avg, "circular", WIENER), _mean(avg, "circular", UNSUPERVISED)
    for label, prefix in (("default boundary", OURS + " (default"),
                          ("boundary=periodic", OURS_PERIODIC)):
        ours = _mean(avg, "circular", prefix)
        text = f"circular: ours automatic regularized ({label}) at most 0.2 dB below " \
               "truth-tuned wiener on average"
        out.append(_target(text, ours, wiener_c, -0.2))
        out.append(_target(f"circular: ours automatic regularized ({label}) above "
                           "unsupervised_wiener on average", ours, unsup_c, 0.0, strict=True))
    ours_x = _mean(avg, "cropped", OURS + " (default")
    out.append(_target("cropped: ours automatic regularized (default boundary) at least "
                       "0.5 dB above truth-tuned wiener on average", ours_x,
                       _mean(avg, "cropped", WIENER), 0.5))
    out.append(_above_blurred(rows))
    return out


def _target(text, ours, peer, margin, strict=False):
    if ours is None or peer is None:
        return text, None, "not measured"
    diff = ours - peer
    met = diff > margin if strict else diff >= margin
    return text, met, f"{ours:.2f} vs {peer:.2f} dB ({diff:+.2f} dB)"


def _above_blurred(rows):
    text = "cropped: ours automatic regularized (default boundary) above the blurred " \
           "input in every case"
    blurred = {(r["psf"], r["sigma"]): r["psnr"] for r in rows
               if r["setting"] == "cropped" and r["method"] == BLURRED}
    gains = [r["psnr"] - blurred[(r["psf"], r["sigma"])] for r in rows
             if r["setting"] == "cropped" and _ours_default(r["method"])]
    if not gains:
        return text, None, "not measured"
    return text, min(gains) > 0, f"smallest gain {min(gains):+.2f} dB over {len(gains)} cases"
