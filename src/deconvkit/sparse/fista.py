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
    circular = getattr(D, "boundary", None) == "circular"
    steps = (_CircularSteps if circular else _Steps)(D, y, lam, nonneg, init)
    f = objective_terms(steps.r, steps.z, lam)
    t, scale = 1.0, math.sqrt(_maps.sum_squares(y)) or 1.0
    slack = 16 * float(np.finfo(y.dtype).eps)    # rounding in the objective is no increase
    for _ in range(iterations):
        t_next = (1.0 + math.sqrt(1.0 + 4.0 * t * t)) / 2.0
        beta = (t - 1.0) / t_next
        r_new, sums = steps.propose(beta, L)
        f_new = 0.5 * _maps.sum_squares(r_new) + lam * sums[3]
        bar.update()
        if f_new > f * (1.0 + slack):             # reject, restart the momentum
            if not beta:
                L *= 2.0                          # a plain step went up: L was too small
            t = 1.0                               # so the next beta is 0: z_prev unread
            _record(history, f, steps.nonzero / steps.z.size, steps.r, scale)
            continue
        steps.accept(r_new, sums[4])
        f = f_new
        t = 1.0 if sums[0] > 0 else t_next        # the step turned against the momentum
        _record(history, f, steps.nonzero / steps.z.size, steps.r, scale)
        if math.sqrt(sums[1]) <= tol * (math.sqrt(sums[2]) or 1.0):
            break
    history["L"] = L
    return steps.z


class _Steps:
    """FISTA's iterates on any ``D``: ``z``, ``z_prev``, their residuals ``D z - y``, and
    the proposed step. :meth:`propose` returns the new residual and the sums the loop
    tests: ``<w - z_new, z_new - z>`` (restart), ``||z_new - z||²``, ``||z_new||²``,
    ``||z_new||₁`` and the nonzeros of ``z_new``."""

    def __init__(self, D, y, lam, nonneg, init):
        self.D, self.y, self.lam, self.nonneg = D, y, lam, nonneg
        self.z = self._start(init)
        self.r = -y if init is None else D.forward(self.z) - y   # -y is never written into
        self.z_prev, self.r_prev = self.z, self.r
        self.nonzero = np.count_nonzero(self.z)

    def _start(self, init):
        if init is None:
            return np.zeros(self.y.shape[:1] + self.D.code_shape, self.y.dtype)
        return init.copy()                        # never the caller's array

    def _extrapolated_residual(self, beta):
        return self.r + beta * (self.r - self.r_prev) if beta else self.r

    def propose(self, beta, L):
        z, D = self.z, self.D
        w = z + beta * (z - self.z_prev) if beta else z
        step = w - D.adjoint(self._extrapolated_residual(beta)) * (1.0 / L)
        z_new = shrink(step, self.lam / L, self.nonneg).astype(self.y.dtype, copy=False)
        change = z_new - z
        self.z_new = z_new
        sums = [_maps.dot(w - z_new, change), _maps.sum_squares(change),
                _maps.sum_squares(z_new), float(np.abs(z_new).sum(dtype=np.float64)),
                np.count_nonzero(z_new)]
        return D.forward(z_new) - self.y, sums

    def accept(self, r_new, nonzero):
        self.z_prev, self.z = self.z, self.z_new
        self.r_prev, self.r, self.nonzero = self.r, r_new, nonzero


class _CircularSteps(_Steps):
    """:class:`_Steps` on a circular operator, block by block over the maps, in three
    buffers that rotate (the same iterates, with the sums fused into the pass)."""

    def _start(self, init):
        shape = self.y.shape[:1] + self.D.code_shape
        self.buffers = [np.zeros(shape, self.y.dtype) for _ in range(3)]
        if init is not None:
            self.buffers[0][...] = init           # copied: never the caller's array
        return self.buffers[0]

    def propose(self, beta, L):
        rwf = self.D.rfft(self._extrapolated_residual(beta))
        z, z_prev, z_new = self.buffers
        zf, sums = _circular_step(self.D, rwf, (z, z_prev, z_new), beta, L, self.lam,
                                  self.nonneg)
        r_new = self.D.irfft(zf)
        r_new -= self.y
        return r_new, sums

    def accept(self, r_new, nonzero):
        z, z_prev, z_new = self.buffers
        self.buffers = [z_new, z, z_prev]
        self.z, self.z_prev = z_new, z
        self.r_prev, self.r, self.nonzero = self.r, r_new, nonzero


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
