"""The Fourier-domain view of a periodic restoration problem, and the rules that choose
the regularization parameter from the data alone.

For the filter ``F = conj(H) G / (|H|^2 + lam Q)`` (``Q`` the regulariser's power, e.g.
``|Laplacian|^2``):

================  =========================================================================
``"risk"``        (default) the ``lam`` minimising the expected error ``E||f_lam - f||^2``
                  under white noise of the estimated ``sigma`` and a power-law signal
                  spectrum ``c |w|^-alpha`` fitted to ``|G|^2`` where the blur passes signal
                  above the noise
``"discrepancy"`` MATLAB ``deconvreg``'s rule: the residual ``||g - H f||^2`` equals the
                  noise power ``N sigma^2``
``"gcv"``         generalised cross-validation, ``N ||(I - A) g||^2 / tr(I - A)^2``
================  =========================================================================

Why ``"risk"``: the other two judge ``lam`` by how well ``H f`` fits ``g``, which
over-smooths (discrepancy: 0.5 dB below the truth-tuned filter on ``camera``) or, when
the data do not fit the periodic model (an image cropped from a larger scene), picks a
``lam`` near zero and amplifies noise by tens of dB; the risk in the solution domain stays
within 0.02 dB of the truth-tuned filter on circular blurs and never collapses
(``benchmarks/experiments/restoration_lambda.md``).
"""

from __future__ import annotations

import numpy as np
import scipy.fft
from scipy import optimize

from .otf import psf2otf

__all__ = ["Spectra", "RULES", "choose_lam", "fit_power_law", "frequency_radius"]

RULES = ("risk", "discrepancy", "gcv")
LOG_LAM = np.linspace(-9.0, 4.0, 53)
"""The search grid of ``log10(lam)``, refined by a bounded search around its best point."""


class Spectra:
    """``G``, ``H``, ``|H|^2`` and ``|w|`` of ``data`` blurred periodically by ``psf``
    (real-FFT layout), with sums over the whole Hermitian spectrum."""

    def __init__(self, data, psf):
        self.shape, self.n = data.shape, data.size
        self.G = scipy.fft.rfftn(data, workers=-1)
        self.H = psf2otf(psf, data.shape).astype(self.G.dtype, copy=False)
        # the parameter search runs in float64 whatever the data's precision
        self.P = np.abs(self.H).astype(np.float64) ** 2
        self.Gp = np.abs(self.G).astype(np.float64) ** 2
        self.radius = frequency_radius(data.shape, np.float64)
        last = data.shape[-1]
        self.weights = np.full(self.G.shape[-1], 2.0)
        self.weights[0] = 1
        if last % 2 == 0:
            self.weights[-1] = 1

    def total(self, x) -> float:
        """Sum over the full spectrum of a Hermitian quantity given on the half spectrum."""
        return float(np.sum(x @ self.weights))

    def restore(self, reg):
        """``irfftn(conj(H) G / (|H|^2 + reg))``, ``reg`` broadcastable to the spectrum,
        in the data's precision."""
        denom = (self.P + reg).astype(self.G.real.dtype, copy=False)
        return scipy.fft.irfftn(np.conj(self.H) * self.G / denom, self.shape, workers=-1)


def frequency_radius(shape, dtype=np.float64):
    """``|w|`` (radians per sample) on the half-spectrum grid of ``shape``."""
    r2 = np.zeros(shape[:-1] + (shape[-1] // 2 + 1,), dtype)
    for axis, m in enumerate(shape):
        w = 2 * np.pi * (scipy.fft.rfftfreq(m) if axis == len(shape) - 1
                         else scipy.fft.fftfreq(m))
        r2 += (w ** 2).astype(dtype).reshape((-1,) + (1,) * (len(shape) - axis - 1))
    return np.sqrt(r2)


def fit_power_law(sp: Spectra, sigma: float, min_gain=0.1, snr=3.0, bins=40):
    """``(alpha, c)`` of ``|F(w)|^2 ~ c |w|^-alpha`` fitted (least squares in log-log, on
    radial bins) to ``(|G|^2 - N sigma^2) / |H|^2`` where ``|H|^2 > min_gain`` and
    ``|G|^2 > snr N sigma^2``; ``alpha`` is kept in [1, 4] (natural images: about 2).
    With fewer than 3 usable bins (small or very sparse spectra), ``alpha = 2`` and ``c``
    matches the total power there."""
    noise = sp.n * sigma ** 2
    keep = (sp.P > min_gain) & (sp.radius > 0)
    r, gp = sp.radius[keep], sp.Gp[keep]
    if r.size == 0:
        return 2.0, float(max(sp.Gp.mean(), 1e-30))
    est = (gp - noise) / sp.P[keep]
    bins = int(np.clip(np.sqrt(r.size) / 4, 4, bins))
    edges = np.logspace(np.log10(r.min()), np.log10(r.max()) + 1e-9, bins + 1)
    idx = np.clip(np.digitize(r, edges) - 1, 0, bins - 1)
    count = np.maximum(np.bincount(idx, minlength=bins), 1)
    mean_gp, mean_est, mean_logr = (np.bincount(idx, v, minlength=bins) / count
                                    for v in (gp, est, np.log(r)))
    ok = (count >= 8) & (mean_gp > snr * noise) & (mean_est > 0)
    if ok.sum() >= 3:
        slope, intercept = np.polyfit(mean_logr[ok], np.log(mean_est[ok]), 1)
        return float(np.clip(-slope, 1.0, 4.0)), float(np.exp(intercept))
    strong = gp > snr * noise
    strong = strong if strong.any() else np.ones_like(strong)
    c = np.maximum(est[strong], 0).sum() / (r[strong] ** -2.0).sum()
    return 2.0, float(max(c, 1e-30))


def choose_lam(sp: Spectra, Q, sigma: float, rule: str = "risk") -> float:
    """The ``lam`` of the filter ``conj(H) / (|H|^2 + lam Q)`` chosen by ``rule``."""
    if rule == "discrepancy":
        return _discrepancy(sp, Q, sigma)
    if rule == "gcv":
        return _minimise_log(lambda lam: _gcv(sp, lam, Q))
    alpha, c = fit_power_law(sp, sigma)
    prior = c * np.maximum(sp.radius, sp.radius[sp.radius > 0].min(initial=1.0)) ** -alpha
    return _minimise_log(lambda lam: _risk(sp, lam, Q, sigma, prior))


def _risk(sp, lam, Q, sigma, prior):
    """Expected ``||f_lam - f||^2 / N`` for signal spectrum ``prior`` and white noise."""
    denom = sp.P + lam * Q
    bias = (lam * Q / denom) ** 2 * prior
    return sp.total(bias + sp.n * sigma ** 2 * sp.P / denom ** 2) / sp.n


def _residual_and_trace(sp, lam, Q):
    damp = lam * Q / (sp.P + lam * Q)
    return sp.total(sp.Gp * damp ** 2) / sp.n, sp.n - sp.total(damp)


def _gcv(sp, lam, Q):
    r2, trace = _residual_and_trace(sp, lam, Q)
    return sp.n * r2 / max(sp.n - trace, 1e-30) ** 2


def _discrepancy(sp, Q, sigma):
    """deconvreg's rule in ``log10(lam)`` over the grid's range (its ends if no root)."""
    target = sp.n * sigma ** 2

    def gap(t):
        return _residual_and_trace(sp, 10.0 ** t, Q)[0] - target
    lo, hi = LOG_LAM[0], LOG_LAM[-1]
    if gap(lo) > 0:
        return 10.0 ** lo
    if gap(hi) < 0:
        return 10.0 ** hi
    return 10.0 ** optimize.brentq(gap, lo, hi, xtol=1e-4)


def _minimise_log(fun):
    """argmin over ``log10(lam)``: the grid, then a bounded search next to its best."""
    values = [fun(10.0 ** t) for t in LOG_LAM]
    i = int(np.argmin(values))
    lo, hi = LOG_LAM[max(i - 1, 0)], LOG_LAM[min(i + 1, len(LOG_LAM) - 1)]
    res = optimize.minimize_scalar(lambda t: fun(10.0 ** t), bounds=(lo, hi),
                                   method="bounded", options={"xatol": 1e-3})
    return float(10.0 ** res.x) if res.fun <= values[i] else float(10.0 ** LOG_LAM[i])
