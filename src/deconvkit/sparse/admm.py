"""ADMM for the circular model, in the Fourier domain (Wohlberg 2016, SPORCO's ConvBPDN).

Split ``z = x`` (data term) ``= u`` (the ``l1`` term), scaled dual ``v``::

    x  <- argmin ½||D x - y||² + rho/2 ||x - u + v||²    (per frequency, closed form)
    x' <- alpha x + (1 - alpha) u                           (over-relaxation, alpha = 1.8)
    u  <- shrink(x' + v, lam / rho)
    v  <- v + x' - u

The x-step is, at each frequency ``f``, a ``K x K`` system ``(Mᴴ M + rho I) x = b`` with
``M`` the ``C x K`` matrix of filter spectra: rank ``C``. By the Woodbury identity
``x = (b - Mᴴ (rho I_C + M Mᴴ)⁻¹ M b) / rho``; for one channel this is Sherman–Morrison,
``x = (b - conj(m) (m · b) / (rho + |m|²)) / rho``. The ``C x C`` inverses are computed
once per value of ``rho``.

``rho`` starts at ``50 lam + 1`` and follows residual balancing (Wohlberg 2015, SPORCO's
defaults: ratio 1.2, target ``1 + 18.3^(log10(lam) + 1)``, factor up to 1000) for the
first 100 iterations, then stays fixed. The first 100 iterates are SPORCO's; SPORCO goes on
adapting, and on long runs its objective can climb again (by 0.3 to 4 % after 1000
iterations on small test problems), whereas with ``rho`` fixed ADMM converges. The
returned code is ``u`` (exactly sparse); the objective history is evaluated on ``u``.
The spectra of ``u`` and ``v`` are carried along (``v``'s update is linear), so an
iteration costs one forward and one inverse real FFT of the ``K`` maps, as SPORCO's.
"""

from __future__ import annotations

import math

import numpy as np

from . import _maps

__all__ = ["admm"]

RELAX = 1.8
RATIO = 1.2
MAX_FACTOR = 1000.0
ADAPT = 100


def admm(D, y, lam, *, iterations, tol, nonneg, bar, history, rho=None, init=None):
    """Run ADMM from ``u = init`` (default 0, dual 0) on a circular
    :class:`SynthesisOperator`; returns ``z``."""
    state = _State(D, y, init)
    rho = float(50.0 * lam + 1.0) if rho is None else float(rho)
    xi = 1.0 + 18.3 ** (math.log10(lam) + 1.0) if lam > 0 else 1.0
    inverse = _woodbury(D, rho)
    scale, rescale = math.sqrt(_maps.sum_squares(y)) or 1.0, 1.0
    for k in range(iterations):
        tests = tol > 0 or 0 < k < ADAPT                  # are the residuals read?
        sums = state.step(_x_data(D, state, rho, inverse), lam / rho, nonneg, rescale,
                          tests)
        r = D.irfft(state.mu - state.yf)
        squares = _maps.sum_squares(r)
        f = 0.5 * squares + lam * sums["l1"]
        history["objective"].append(f)
        history["sparsity"].append(sums["nonzero"] / state.u.size)
        history["residual"].append(math.sqrt(squares) / scale)
        bar.update()
        if not tests:
            rescale = 1.0
            continue
        primal = math.sqrt(sums["x_u"]) / (math.sqrt(max(sums["x"], sums["u"])) or 1.0)
        dual = math.sqrt(sums["du"]) / (math.sqrt(sums["v"]) or 1.0)
        if primal <= tol and dual <= tol:
            break
        factor = _rho_factor(primal, dual, xi) if 0 < k < ADAPT else 1.0
        rescale = 1.0 / factor
        if factor != 1.0:
            rho *= factor
            state.mv /= factor                            # v and v̂: in the next step
            inverse = _woodbury(D, rho)
    history["rho"] = rho
    return state.u


def _x_data(D, state, rho, inverse):
    """``a = (ŷ - w) / rho`` with ``w = (rho I + M Mᴴ)⁻¹ M b``, ``b = Mᴴ ŷ + rho (û - v̂)``,
    so that the x-step is ``x̂ = Mᴴ a + û - v̂`` (Woodbury); ``(N, C, *F)``.

    ``M b = G ŷ + rho (M û - M v̂)`` with ``G = M Mᴴ``: only ``C``-channel spectra here.
    """
    mb = state.gy + rho * (state.mu - state.mv)
    w = mb * inverse if inverse.shape[0] == 1 else np.einsum("cd...,nd...->nc...",
                                                             inverse, mb)
    return (state.yf - w) * (1.0 / rho)


def _gram_apply(gram, a):
    if gram.shape[0] == 1:
        return gram * a
    return np.einsum("cd...,nd...->nc...", gram, a)


class _State:
    """``u``, ``v`` and their spectra ``û``, ``v̂`` (updated in place, block by block),
    with the channel sums ``M û`` and ``M v̂`` (``mu``, ``mv``)."""

    def __init__(self, D, y, init):
        self.D, self.yf = D, D.rfft(y)
        n = y.shape[0]
        if init is None:
            self.u = np.zeros((n,) + D.code_shape, y.dtype)
            self.uf = np.zeros((n,) + D.code_shape[:1] + self.yf.shape[2:], self.yf.dtype)
            self.mu = np.zeros_like(self.yf)
        else:
            self.u = init.copy()
            self.uf = D.rfft(self.u)
            self.mu = D.forward_f(self.uf)
        self.v, self.vf = np.zeros_like(self.u), np.zeros_like(self.uf)
        self.mv = np.zeros_like(self.mu)
        self.gy = _gram_apply(D.gram(), self.yf)          # M Mᴴ ŷ

    def step(self, a, threshold, nonneg, rescale, tests):
        """One iteration on all blocks; returns the sums (``l1``, nonzeros and, with
        ``tests``, the norms of the residuals) and leaves the new ``M û`` and ``M v̂`` in
        ``mu`` and ``mv``."""
        def part(block, workers, mu, sums):
            _block_step(self, block, a, threshold, nonneg, rescale, tests, workers, mu, sums)
        mu, sums = _maps.accumulate(part, self.D.blocks(self.u.shape[0]), self.mu.shape,
                                    self.mu.dtype, len(SUMS))
        # M v̂ follows from channel sums alone: v̂' = v̂ + R x̂ + (1 - R) û - û' with
        # M x̂ = G a + M û - M v̂ gives M v̂' = (1 - R) M v̂ + R G a + M û - M û'
        # (the factor 1 - R = -0.8 damps rounding).
        self.mv *= 1.0 - RELAX
        self.mv += RELAX * _gram_apply(self.D.gram(), a)
        self.mv += self.mu
        self.mv -= mu
        self.mu = mu
        return dict(zip(SUMS, sums.tolist()))


SUMS = ("x", "u", "x_u", "du", "v", "l1", "nonzero")


def _block_step(state, block, a, threshold, nonneg, rescale, tests, workers, mu, sums):
    """The x, relaxation, u and v steps on one block of maps, in place; adds the block's
    ``M û`` to ``mu`` and its :data:`SUMS` (the norms only with ``tests``) to ``sums``."""
    D, (ns, ks) = state.D, block
    u, v, uf, vf = (arr[ns, ks] for arr in (state.u, state.v, state.uf, state.vf))
    if rescale != 1.0:
        v *= rescale
        vf *= rescale
    xf = _maps.analyse(D._spectrum_conj[ks], a[ns], _maps.scratch("xf", uf.shape, uf.dtype))
    xf += uf
    xf -= vf                                              # x̂ = Mᴴ a + û - v̂
    cwork = _maps.scratch("cwork", uf.shape, uf.dtype)
    vf += np.multiply(xf, RELAX, out=cwork)
    vf += np.multiply(uf, 1.0 - RELAX, out=cwork)        # v̂ + relaxed x̂ ...
    x = _maps.irfft(xf, D.spatial, workers)               # (xf is overwritten)
    t, work = (_maps.scratch(name, u.shape, u.dtype) for name in ("t", "work"))
    np.multiply(x, RELAX, out=t)
    t += np.multiply(u, 1.0 - RELAX, out=work)            # relaxed x
    t += v                                                # relaxed x + v
    if tests:
        u_new = _maps.shrink_into(t, threshold, nonneg, _maps.scratch("u", u.shape, u.dtype),
                                  rest=v)                 # v + relaxed x - u
        sums[0] += _maps.sum_squares(x)
        sums[1] += _maps.sum_squares(u_new)
        sums[2] += _maps.sum_squares(np.subtract(x, u_new, out=work))
        sums[3] += _maps.sum_squares(np.subtract(u_new, u, out=work))
        u[...] = u_new
    else:
        _maps.shrink_into(t, threshold, nonneg, u, rest=v)
    if tests:
        sums[4] += _maps.sum_squares(v)
    sums[5] += float(np.abs(u, out=work).sum(dtype=np.float64))
    sums[6] += np.count_nonzero(u)
    uf[...] = _maps.rfft(u, D.spatial, workers)
    vf -= uf                                              # ... - û
    _maps.synthesize(D.spectrum[ks], uf, mu[ns])


def _rho_factor(primal, dual, xi):
    """SPORCO's residual balancing: the factor to multiply ``rho`` by (1 for none)."""
    if primal == 0.0 or dual == 0.0:
        step = MAX_FACTOR
    else:
        step = min(math.sqrt(primal / (dual * xi) if primal > dual * xi
                             else dual * xi / primal), MAX_FACTOR)
    if primal > xi * RATIO * dual:
        return step
    if dual > (RATIO / xi) * primal:
        return 1.0 / step
    return 1.0


def _woodbury(D, rho):
    """``(rho I_C + M Mᴴ)⁻¹`` per frequency, ``(C, C, *F)``."""
    gram = D.gram()
    c = gram.shape[0]
    if c == 1:
        return 1.0 / (rho + gram.real)
    g = np.moveaxis(gram, (0, 1), (-2, -1)) + rho * np.eye(c, dtype=gram.real.dtype)
    return np.moveaxis(np.linalg.inv(g), (-2, -1), (0, 1))
