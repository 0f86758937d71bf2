"""FISTA for ``min_z ½||D z - y||² + lam ||z||₁`` (optionally ``z >= 0``), on any ``D``.

Beck & Teboulle's accelerated proximal gradient with step ``1/L``, ``L >= ||D||²``, made
monotone by rejection: a step that raises the objective (beyond rounding) is not taken and
the momentum restarts (the next step is then a plain proximal-gradient step, which cannot raise it
when ``L`` is a true bound; if it does, ``L`` doubles). The momentum also restarts when
the step turns against it (O'Donoghue & Candès's gradient restart).

``D z - y`` is carried along with ``z``: the residual at the extrapolated point is the
same combination of the last two residuals, so each iteration costs one ``D`` and one
``Dᵀ``, and the objective at every iterate comes for free.

On the circular model the iteration runs block by block over the ``K`` maps
(:mod:`deconvkit.sparse._maps`): per block, the inverse FFT of ``Dᵀ`` of the residual's
spectrum, the extrapolation, the gradient step, the shrinkage, the sums the tests need
and the forward FFT of the new maps, in cache and on the pool's threads.
"""

from __future__ import annotations

import math

import numpy as np

from . import _maps

__all__ = ["fista", "shrink"]


def shrink(v, threshold, nonneg):
    """The proximal map of ``threshold ||.||₁`` (plus the indicator of ``v >= 0``); new array."""
    return _maps.shrink_into(v, threshold, nonneg, np.empty_like(v))


def objective_terms(r, z, lam):
    """``½||r||² + lam ||z||₁`` as a float (accumulated in float64)."""
    return 0.5 * _maps.sum_squares(r) + lam * float(np.abs(z).sum(dtype=np.float64))


def fista(D, y, lam, *, L, iterations, tol, nonneg, bar, history, init=None):
    """Run FISTA from ``init`` (default ``z = 0``); returns ``z`` and appends to ``history``.

    ``D`` has ``forward`` and ``adjoint``; ``L >= ||D||²``; ``history`` gets
    ``objective``, ``sparsity``, ``residual`` after every iteration.
    """
    if getattr(D, "boundary", None) == "circular":
        return _fista_circular(D, y, lam, L=L, iterations=iterations, tol=tol,
                               nonneg=nonneg, bar=bar, history=history, init=init)
    if init is None:
        z = np.zeros(y.shape[:1] + D.code_shape, y.dtype)
        r = -y                                    # D 0 - y, never written into
    else:
        z = init.copy()                           # never the caller's array
        r = D.forward(z) - y
    z_prev, r_prev = z, r
    f = objective_terms(r, z, lam)
    t, scale = 1.0, float(np.linalg.norm(y)) or 1.0
    slack = 16 * float(np.finfo(y.dtype).eps)    # rounding in the objective is no increase
    for _ in range(iterations):
        t_next = (1.0 + math.sqrt(1.0 + 4.0 * t * t)) / 2.0
        beta = (t - 1.0) / t_next
        w = z + beta * (z - z_prev) if beta else z
        rw = r + beta * (r - r_prev) if beta else r
        z_new = shrink(w - D.adjoint(rw) * (1.0 / L), lam / L, nonneg).astype(y.dtype, copy=False)
        r_new = D.forward(z_new) - y
        f_new = objective_terms(r_new, z_new, lam)
        bar.update()
        if f_new > f * (1.0 + slack):             # reject, restart the momentum
            if not beta:
                L *= 2.0                          # a plain step went up: L was too small
            z_prev, r_prev, t = z, r, 1.0
            _record(history, f, np.count_nonzero(z) / z.size, r, scale)
            continue
        restart = float(np.vdot(w - z_new, z_new - z).real) > 0
        change = float(np.linalg.norm(z_new - z))
        z_prev, r_prev, z, r, f = z, r, z_new, r_new, f_new
        t = 1.0 if restart else t_next
        _record(history, f, np.count_nonzero(z) / z.size, r, scale)
        if change <= tol * (float(np.linalg.norm(z)) or 1.0):
            break
    history["L"] = L
    return z


def _fista_circular(D, y, lam, *, L, iterations, tol, nonneg, bar, history, init):
    """:func:`fista` on a circular operator, block by block (the same iterates)."""
    bufs = [np.zeros((y.shape[0],) + D.code_shape, y.dtype) for _ in range(3)]
    z, z_prev, z_new = bufs                       # z_prev is read only when beta != 0
    if init is None:
        r = -y
    else:
        z[...] = init
        r = D.forward(z) - y
    r_prev, nonzero = r, np.count_nonzero(z)
    f = 0.5 * _maps.sum_squares(r) + lam * float(np.abs(z).sum(dtype=np.float64))
    t, scale = 1.0, math.sqrt(_maps.sum_squares(y)) or 1.0
    slack = 16 * float(np.finfo(y.dtype).eps)
    for _ in range(iterations):
        t_next = (1.0 + math.sqrt(1.0 + 4.0 * t * t)) / 2.0
        beta = (t - 1.0) / t_next
        rw = r + beta * (r - r_prev) if beta else r
        zf, sums = _circular_step(D, D.rfft(rw), (z, z_prev, z_new), beta, L, lam, nonneg)
        r_new = D.irfft(zf)
        r_new -= y
        f_new = 0.5 * _maps.sum_squares(r_new) + lam * sums[3]
        bar.update()
        if f_new > f * (1.0 + slack):             # reject, restart the momentum
            if not beta:
                L *= 2.0
            r_prev, t = r, 1.0
            _record(history, f, nonzero / z.size, r, scale)
            continue
        z_prev, z, z_new = z, z_new, z_prev
        r_prev, r, f, nonzero = r, r_new, f_new, sums[4]
        t = 1.0 if sums[0] > 0 else t_next
        _record(history, f, nonzero / z.size, r, scale)
        if math.sqrt(sums[1]) <= tol * (math.sqrt(sums[2]) or 1.0):
            break
    history["L"] = L
    return z


def _circular_step(D, rwf, arrays, beta, L, lam, nonneg):
    """The new maps (into ``arrays[2]``) from ``z``, ``z_prev`` and the spectrum of the
    residual at the extrapolated point; returns the spectrum of ``D z_new`` and the sums
    (restart test, ``||z_new - z||²``, ``||z_new||²``, ``l1``, nonzeros)."""
    def part(block, workers, zf, sums):
        _fista_block(D, block, rwf, arrays, beta, L, lam, nonneg, workers, zf, sums)
    zf, sums = _maps.accumulate(part, D.blocks(rwf.shape[0]), rwf.shape,
                                D.spectrum.dtype, 5)
    return zf, sums.tolist()


def _fista_block(D, block, rwf, arrays, beta, L, lam, nonneg, workers, zf, sums):
    ns, ks = block
    z, z_prev, z_new = (a[ns, ks] for a in arrays)
    gf = _maps.analyse(D._spectrum_conj[ks], rwf[ns],
                       _maps.scratch("gf", z.shape[:2] + rwf.shape[2:], rwf.dtype))
    step = _maps.irfft(gf, D.spatial, workers)            # Dᵀ r_w
    step *= -1.0 / L
    if beta:
        w = np.subtract(z, z_prev, out=_maps.scratch("w", z.shape, z.dtype))
        w *= beta
        w += z                                            # the extrapolated point
    else:
        w = z
    step += w
    _maps.shrink_into(step, lam / L, nonneg, z_new)
    work = _maps.scratch("work", z.shape, z.dtype)
    np.subtract(w, z_new, out=step)
    np.subtract(z_new, z, out=work)
    sums[0] += _maps.dot(step, work)
    sums[1] += _maps.sum_squares(work)
    sums[2] += _maps.sum_squares(z_new)
    sums[3] += float(np.abs(z_new, out=work).sum(dtype=np.float64))
    sums[4] += np.count_nonzero(z_new)
    _maps.synthesize(D.spectrum[ks], _maps.rfft(z_new, D.spatial, workers), zf[ns])


def _record(history, f, sparsity, r, scale):
    """Append the objective, the fraction of nonzeros and ``||r|| / scale``."""
    history["objective"].append(f)
    history["sparsity"].append(sparsity)
    history["residual"].append(math.sqrt(_maps.sum_squares(r)) / scale)
