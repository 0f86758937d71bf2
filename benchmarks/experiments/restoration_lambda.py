"""How should the automatic regularized filter choose lambda, and which boundary by default?

Standalone: numpy, scipy, scikit-image (0.26). Loads deconvkit's noise estimator by path.
Write-up and figures: restoration_lambda.md next to this file.

    python restoration_lambda.py            # all cases, tables on stdout, JSON next to this file
    python restoration_lambda.py --quick    # one case per setting

Filters (all Fourier-diagonal, f = ifft(conj(H) G / (|H|^2 + lam Q))):
  cls   Q = |L|^2, L the 5-point discrete Laplacian (skimage.restoration.wiener's default);
  pl    Q = |w|^alpha, alpha fitted from |G|^2 (a Wiener filter for a power-law spectrum).
Lambda rules, all from g and the estimated sigma only: disc (deconvreg: ||g - Hf||^2 = N
sigma^2), gcv, upre; for pl also "fit" (lam = N sigma^2 / c from the fitted spectrum c |w|^-alpha).
"oracle" is the truth-optimal lambda of the same filter and boundary (a bound, not a method).
Boundaries: none (periodic), edgetaper (MATLAB's), reflect (symmetric padding by the PSF
extent), cg (non-circulant model over the extended scene, solved by conjugate gradients).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path

import numpy as np
from scipy import optimize, signal
from skimage import data, img_as_float
from skimage.metrics import peak_signal_noise_ratio, structural_similarity
from skimage.restoration import unsupervised_wiener, wiener

HERE = Path(__file__).resolve().parent
NOISE_PY = HERE.parents[1] / "src" / "deconvkit" / "restoration" / "noise.py"
SIGMAS = (0.01, 0.05)
SEED = 1234
CG_ITERS = (0, 5, 10, 20, 40, 80)
CG_DEFAULT = 40


def load_estimate_noise():
    spec = importlib.util.spec_from_file_location("dk_noise", NOISE_PY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.estimate_noise


estimate_noise = load_estimate_noise()


# ----------------------------------------------------------------------------- cases

def make_psfs():
    y, x = np.mgrid[-6:7, -6:7]
    gauss = np.exp(-(x**2 + y**2) / (2 * 2.0**2))
    return {"box5": np.full((5, 5), 1 / 25), "gauss2": gauss / gauss.sum(),
            "motion15": np.full((1, 15), 1 / 15)}


def psf2otf(psf, shape):
    """rfft of the PSF zero-padded to shape with its centre k//2 moved to the origin."""
    padded = np.zeros(shape)
    padded[tuple(slice(0, k) for k in psf.shape)] = psf
    padded = np.roll(padded, [-(k // 2) for k in psf.shape], axis=(0, 1))
    return np.fft.rfft2(padded)


def make_case(truth, psf, sigma, setting, seed=SEED):
    """(g, truth_frame): circular blur of the whole image, or the 'valid' part of the scene."""
    rng = np.random.default_rng(seed)
    if setting == "circular":
        blurred = np.fft.irfft2(np.fft.rfft2(truth) * psf2otf(psf, truth.shape), truth.shape)
        frame = truth
    else:
        blurred = signal.fftconvolve(truth, psf, mode="valid")
        k0, k1 = psf.shape
        frame = truth[k0 // 2:k0 // 2 + blurred.shape[0], k1 // 2:k1 // 2 + blurred.shape[1]]
    return blurred + rng.normal(0.0, sigma, blurred.shape), frame


def scores(estimate, truth):
    return (float(peak_signal_noise_ratio(truth, estimate, data_range=1.0)),
            float(structural_similarity(truth, estimate, data_range=1.0)))


# ----------------------------------------------------------------------------- spectra

class Spectrum:
    """The Fourier-domain pieces of a periodic problem of shape `shape` (rfft layout)."""

    def __init__(self, g, psf):
        self.shape = g.shape
        self.n = g.size
        self.G = np.fft.rfft2(g)
        self.H = psf2otf(psf, g.shape)
        self.P = np.abs(self.H) ** 2
        self.Gp = np.abs(self.G) ** 2
        w0 = 2 * np.pi * np.fft.fftfreq(g.shape[0])[:, None]
        w1 = 2 * np.pi * np.fft.rfftfreq(g.shape[1])[None, :]
        self.radius = np.sqrt(w0**2 + w1**2)
        self.lap2 = (4 - 2 * np.cos(w0) - 2 * np.cos(w1)) ** 2
        wts = np.full(self.G.shape, 2.0)
        wts[:, 0] = 1
        if g.shape[1] % 2 == 0:
            wts[:, -1] = 1
        self.wts = wts

    def total(self, x):
        """sum over the full spectrum of a Hermitian-symmetric quantity given in rfft layout."""
        return float(np.sum(self.wts * x))

    def regulariser(self, kind, alpha=None):
        return self.lap2 if kind == "cls" else self.radius ** alpha

    def restore(self, lam, Q):
        return np.fft.irfft2(np.conj(self.H) * self.G / (self.P + lam * Q), self.shape)


# ----------------------------------------------------------------------------- lambda rules

LOG_LAM = np.linspace(-9, 4, 131)


def _residual_and_trace(sp, lam, Q):
    damp = lam * Q / (sp.P + lam * Q)
    r2 = sp.total(sp.Gp * damp**2) / sp.n        # ||g - H f_lam||^2 (Parseval)
    tr_a = sp.n - sp.total(damp)                 # trace of the influence matrix A
    return r2, tr_a


def gcv(sp, lam, Q, sigma):
    r2, tr_a = _residual_and_trace(sp, lam, Q)
    return sp.n * r2 / (sp.n - tr_a) ** 2


def upre(sp, lam, Q, sigma):
    r2, tr_a = _residual_and_trace(sp, lam, Q)
    return r2 + 2 * sigma**2 * tr_a - sp.n * sigma**2


def minimise_log(fun, grid=LOG_LAM):
    """argmin over log10(lam): a grid, then a bounded refinement around the best point."""
    values = [fun(10.0**t) for t in grid]
    i = int(np.argmin(values))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    res = optimize.minimize_scalar(lambda t: fun(10.0**t), bounds=(lo, hi), method="bounded",
                                   options={"xatol": 1e-3})
    return 10.0 ** res.x if res.fun <= values[i] else 10.0 ** grid[i]


def discrepancy(sp, Q, sigma, grid=LOG_LAM):
    """deconvreg's rule: the lam whose residual power equals the noise power N sigma^2."""
    target = sp.n * sigma**2
    f = lambda t: _residual_and_trace(sp, 10.0**t, Q)[0] - target
    lo, hi = grid[0], grid[-1]
    if f(lo) > 0:
        return 10.0**lo
    if f(hi) < 0:
        return 10.0**hi
    return 10.0 ** optimize.brentq(f, lo, hi, xtol=1e-4)


def fit_power_law(sp, sigma, min_gain=0.1, snr=3.0, nbins=40):
    """(alpha, c) of |F(w)|^2 ~ c |w|^-alpha from |G|^2 where the blur passes signal above noise."""
    noise = sp.n * sigma**2
    keep = (sp.P > min_gain) & (sp.radius > 0)
    r, est, gp = sp.radius[keep], (sp.Gp[keep] - noise) / sp.P[keep], sp.Gp[keep]
    edges = np.logspace(np.log10(r.min()), np.log10(r.max()), nbins + 1)
    idx = np.digitize(r, edges) - 1
    xs, ys = [], []
    for b in range(nbins):
        sel = idx == b
        if sel.sum() >= 8 and gp[sel].mean() > snr * noise and est[sel].mean() > 0:
            xs.append(np.log(r[sel]).mean())
            ys.append(np.log(est[sel].mean()))
    if len(xs) < 3:
        return 2.0, float(np.median(np.maximum(est, 0)) * np.median(r) ** 2)
    slope, intercept = np.polyfit(xs, ys, 1)
    return float(np.clip(-slope, 1.0, 4.0)), float(np.exp(intercept))


def solution_risk(sp, lam, Q, sigma, prior):
    """Expected ||f_lam - f||^2 if |F|^2 = prior (the fitted power law) and the noise is white."""
    denom = sp.P + lam * Q
    return sp.total((lam * Q / denom) ** 2 * prior + sp.n * sigma**2 * sp.P / denom**2) / sp.n


def choose(sp, sigma, filt, rule, truth_fn=None):
    """(lam, Q) for filter 'cls' or 'pl' by a rule; truth_fn(f) -> mse for the oracle.
    Rules ending in '-r' search only lam in [1e-5, 1e1] (a deconvreg-style 'lrange')."""
    alpha, c = fit_power_law(sp, sigma)
    Q = sp.regulariser("cls") if filt == "cls" else sp.regulariser("pl", alpha)
    if filt == "pl" and rule in ("fit", "risk"):
        return sp.n * sigma**2 / c, Q      # the Wiener filter of the fitted spectrum
    if rule == "risk":
        prior = c * np.maximum(sp.radius, sp.radius[sp.radius > 0].min()) ** -alpha
        return minimise_log(lambda lam: solution_risk(sp, lam, Q, sigma, prior)), Q
    grid = LOG_LAM
    if rule.endswith("-r"):
        rule, grid = rule[:-2], np.linspace(-5, 1, 61)
    if rule == "disc":
        return discrepancy(sp, Q, sigma, grid), Q
    if rule == "oracle":
        return minimise_log(lambda lam: truth_fn(sp.restore(lam, Q)), np.linspace(-9, 4, 53)), Q
    crit = {"gcv": gcv, "upre": upre}[rule]
    return minimise_log(lambda lam: crit(sp, lam, Q, sigma), grid), Q


# ----------------------------------------------------------------------------- boundaries

def edgetaper(g, psf):
    """MATLAB's edgetaper: w g + (1 - w) (h circ* g), w = prod_n (1 - beta_n)."""
    w = np.ones(g.shape)
    for axis in range(g.ndim):
        proj = psf.sum(axis=tuple(a for a in range(psf.ndim) if a != axis))
        z = np.fft.ifft(np.abs(np.fft.fft(proj, g.shape[axis])) ** 2).real
        beta = z / z.max()
        shape = [1] * g.ndim
        shape[axis] = -1
        w = w * (1 - beta).reshape(shape)
    blurred = np.fft.irfft2(np.fft.rfft2(g) * psf2otf(psf, g.shape), g.shape)
    return w * g + (1 - w) * blurred


def reflect_pad_width(psf, extra=1.0):
    return [int(np.ceil(extra * k)) for k in psf.shape]


def restore_periodic(g, psf, sigma, filt, rule, boundary, truth=None):
    """Periodic filter on g (none), on the tapered g, or on the padded g then cropped."""
    if boundary == "edgetaper":
        work, crop = edgetaper(g, psf), (slice(None), slice(None))
    elif boundary.startswith("reflect"):
        pads = reflect_pad_width(psf, 2.0 if boundary == "reflect2" else 1.0)
        work = np.pad(g, [(p, p) for p in pads], mode="symmetric")
        crop = tuple(slice(p, p + n) for p, n in zip(pads, g.shape))
    else:
        work, crop = g, (slice(None), slice(None))
    sp = Spectrum(work, psf)
    truth_fn = None if truth is None else (lambda f: np.mean((f[crop] - truth) ** 2))
    lam, Q = choose(sp, sigma, filt, rule, truth_fn)
    return sp.restore(lam, Q)[crop], lam


class ValidBlur:
    """A f = the 'valid' part of h * f over an extended scene f (shape = g.shape + k - 1),
    with its adjoint, both by rfft on the extended grid (no wrap reaches the valid part)."""

    def __init__(self, psf, g_shape):
        self.k = psf.shape
        self.ext = tuple(n + k - 1 for n, k in zip(g_shape, psf.shape))
        padded = np.zeros(self.ext)
        padded[:psf.shape[0], :psf.shape[1]] = psf
        self.H = np.fft.rfft2(padded)
        self.valid = tuple(slice(k - 1, None) for k in psf.shape)

    def embed(self, r):
        out = np.zeros(self.ext)
        out[self.valid] = r
        return out


def restore_cg(g, psf, sigma, filt, rule, iters=CG_ITERS, record=None):
    """min ||g - A f||^2 + lam ||R f||^2 over the extended scene by CG on the normal equations.
    lam and R come from the rule on the edgetapered periodic problem (the reflect-padded one
    misleads the rules, see the write-up); CG starts from the reflect-padded problem's
    solution with that lam. Returns {iterations: frame estimate} and lam."""
    op = ValidBlur(psf, g.shape)
    half = [k // 2 for k in psf.shape]
    tapered = Spectrum(edgetaper(g, psf), psf)
    lam, _ = choose(tapered, sigma, filt, rule)
    work = np.pad(g, [(h, k - 1 - h) for h, k in zip(half, psf.shape)], mode="symmetric")
    sp = Spectrum(work, psf)
    Q = sp.regulariser("cls") if filt == "cls" else sp.regulariser(
        "pl", fit_power_law(tapered, sigma)[0])
    x = sp.restore(lam, Q)          # the extended scene, aligned: x[i] is scene pixel i
    frame = tuple(slice(h, h + n) for h, n in zip(half, g.shape))

    def normal(v):
        V = np.fft.rfft2(v)
        Av = np.fft.irfft2(op.H * V, op.ext)[op.valid]
        return np.fft.irfft2(np.conj(op.H) * np.fft.rfft2(op.embed(Av)) + lam * Q * V, op.ext)

    b = np.fft.irfft2(np.conj(op.H) * np.fft.rfft2(op.embed(g)), op.ext)
    r = b - normal(x)
    p, rs = r.copy(), np.sum(r * r)
    out = {0: x[frame].copy()} if 0 in iters else {}
    for it in range(1, max(iters) + 1):
        Ap = normal(p)
        step = rs / np.sum(p * Ap)
        x += step * p
        r -= step * Ap
        rs_new = np.sum(r * r)
        p = r + (rs_new / rs) * p
        rs = rs_new
        if it in iters:
            out[it] = x[frame].copy()
    return out, lam


# ----------------------------------------------------------------------------- baselines

def wiener_best(g, psf, truth, grid=np.logspace(-4, 1, 40)):
    best = max(((peak_signal_noise_ratio(truth, wiener(g, psf, b), data_range=1.0), b)
                for b in grid))
    return wiener(g, psf, best[1]), float(best[1])


def unsup(g, psf):
    return unsupervised_wiener(g, psf, rng=np.random.default_rng(SEED))[0]


def skimage_sigma(g):
    try:
        from skimage.restoration import estimate_sigma
        return float(estimate_sigma(g))
    except ImportError:          # needs PyWavelets
        return None


# ----------------------------------------------------------------------------- driver

PERIODIC_METHODS = [("cls", "disc"), ("cls", "gcv"), ("cls", "upre"), ("cls", "disc-r"),
                    ("cls", "gcv-r"), ("cls", "upre-r"), ("cls", "risk"), ("cls", "oracle"),
                    ("pl", "fit"), ("pl", "gcv-r"), ("pl", "upre-r"), ("pl", "oracle")]
BOUNDARIES = ("none", "edgetaper", "reflect", "reflect2")
CG_METHODS = [("cls", "upre"), ("cls", "risk"), ("pl", "fit")]


def run_case(truth_img, psf_name, psf, sigma, setting):
    g, truth = make_case(truth_img, psf, sigma, setting)
    sig = estimate_noise(g)
    row = {"psf": psf_name, "sigma": sigma, "setting": setting, "sigma_hat": sig,
           "sigma_skimage": skimage_sigma(g), "blurred": scores(g, truth)}
    fw, bal = wiener_best(g, psf, truth)
    row["wiener_best"], row["wiener_balance"] = scores(fw, truth), bal
    row["unsupervised_wiener"] = scores(unsup(g, psf), truth)
    for boundary in BOUNDARIES:
        for filt, rule in PERIODIC_METHODS:
            f, lam = restore_periodic(g, psf, sig, filt, rule, boundary,
                                      truth if rule == "oracle" else None)
            row[f"{filt}-{rule}/{boundary}"] = scores(f, truth) + (lam,)
    for filt, rule in CG_METHODS:
        outs, lam = restore_cg(g, psf, sig, filt, rule)
        for it, f in outs.items():
            row[f"{filt}-{rule}/cg{it}"] = scores(f, truth) + (lam,)
    return row


def median_time(fn, repeats=5):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def run_timings(truth_img, psfs):
    g, _ = make_case(truth_img, psfs["gauss2"], 0.01, "circular")
    psf, sig = psfs["gauss2"], estimate_noise(g)
    t = {"estimate_noise": median_time(lambda: estimate_noise(g)),
         "skimage wiener (one balance)": median_time(lambda: wiener(g, psf, 0.01)),
         "skimage unsupervised_wiener": median_time(lambda: unsup(g, psf), repeats=3)}
    for filt, rule in [("cls", "disc"), ("cls", "gcv"), ("cls", "upre"), ("cls", "risk"),
                       ("pl", "fit")]:
        for boundary in ("none", "edgetaper", "reflect"):
            t[f"{filt}-{rule}/{boundary}"] = median_time(
                lambda: restore_periodic(g, psf, sig, filt, rule, boundary))
        for iters in (20, 40, 80):
            t[f"{filt}-{rule}/cg{iters}"] = median_time(
                lambda: restore_cg(g, psf, sig, filt, rule, iters=(iters,)))
    return t


def compare_noise_estimators(truth_img, psfs):
    """Ours vs skimage.restoration.estimate_sigma (needs PyWavelets) on every test case."""
    print("| setting | PSF | sigma | ours | skimage estimate_sigma |")
    print("| --- | --- | --- | --- | --- |")
    for setting in ("circular", "cropped"):
        for name, psf in psfs.items():
            for sigma in SIGMAS:
                g, _ = make_case(truth_img, psf, sigma, setting)
                theirs = skimage_sigma(g)
                theirs = "n/a" if theirs is None else f"{theirs:.5f}"
                print(f"| {setting} | {name} | {sigma} | {estimate_noise(g):.5f} | {theirs} |")
    g = truth_img + np.random.default_rng(SEED).normal(0, 0.01, truth_img.shape)
    print(f"| unblurred | none | 0.01 | {estimate_noise(g):.5f} | {skimage_sigma(g)} |")


# ----------------------------------------------------------------------------- tables

def _label(r):
    return f"{r['psf']} {r['sigma']}"


def _mean(rows, key, i=0):
    return float(np.mean([r[key][i] for r in rows]))


def print_tables(result):
    rows = result["rows"]
    for setting in ("circular", "cropped"):
        sub = [r for r in rows if r["setting"] == setting]
        if not sub:
            continue
        keys = [k for k in sub[0] if isinstance(sub[0][k], (list, tuple)) and "/cg" not in k]
        cg = [k for k in sub[0] if "/cg" in k]
        print(f"\n### {setting}: per case PSNR (dB)\n")
        cases = [_label(r) for r in sub]
        print("| method | " + " | ".join(cases) + " | mean PSNR | mean SSIM | mean vs wiener_best |")
        print("| --- " * (len(cases) + 4) + "|")
        wb = _mean(sub, "wiener_best")
        for k in keys + cg:
            if "/cg" in k and not k.endswith(("cg0", f"cg{CG_DEFAULT}")):
                continue
            vals = " | ".join(f"{r[k][0]:.2f}" for r in sub)
            print(f"| {k} | {vals} | {_mean(sub, k):.2f} | {_mean(sub, k, 1):.3f} | "
                  f"{_mean(sub, k) - wb:+.2f} |")
        print(f"\n### {setting}: mean PSNR vs CG iterations\n")
        methods = sorted({k.split('/')[0] for k in cg})
        print("| rule | " + " | ".join(str(i) for i in CG_ITERS) + " |")
        print("| --- " * (len(CG_ITERS) + 1) + "|")
        for m in methods:
            print(f"| {m} | " + " | ".join(f"{_mean(sub, f'{m}/cg{i}'):.2f}" for i in CG_ITERS) + " |")
        print("\nsigma estimates: " + ", ".join(f"{_label(r)}: {r['sigma_hat']:.4f}" for r in sub))
        print("wiener best balance: " + ", ".join(f"{_label(r)}: {r['wiener_balance']:.3g}" for r in sub))
    if "timings" in result:
        print("\n### timings (s, median of 5; unsupervised_wiener median of 3)\n")
        print("| candidate | seconds |\n| --- | --- |")
        for k, v in result["timings"].items():
            print(f"| {k} | {v:.3f} |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-timings", action="store_true")
    ap.add_argument("--noise", action="store_true", help="only compare noise estimators")
    ap.add_argument("--tables", metavar="JSON", help="only print the tables of a saved run")
    args = ap.parse_args()
    if args.tables:
        print_tables(json.loads(Path(args.tables).read_text()))
        return
    truth_img = img_as_float(data.camera())
    psfs = make_psfs()
    if args.noise:
        compare_noise_estimators(truth_img, psfs)
        return
    rows = []
    for setting in ("circular", "cropped"):
        for name, psf in psfs.items():
            for sigma in SIGMAS:
                if args.quick and (name != "gauss2" or sigma != 0.01):
                    continue
                t0 = time.perf_counter()
                rows.append(run_case(truth_img, name, psf, sigma, setting))
                print(f"{setting} {name} {sigma}: {time.perf_counter() - t0:.1f}s",
                      file=sys.stderr, flush=True)
    result = {"rows": rows}
    if not args.no_timings:
        result["timings"] = run_timings(truth_img, psfs)
    out = HERE / ("restoration_lambda_quick.json" if args.quick else "restoration_lambda.json")
    out.write_text(json.dumps(result, indent=1))
    print_tables(result)


if __name__ == "__main__":
    main()
