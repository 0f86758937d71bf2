"""FISTA for ``min_z ½||D z - y||² + lam ||z||₁`` (optionally ``z >= 0``), on any ``D``.

Beck & Teboulle's accelerated proximal gradient with step ``1/L``, ``L >= ||D||²``, made
monotone by rejection: a step that raises the objective (beyond rounding) is not taken and the momentum
restarts (the next step is then a plain proximal-gradient step, which cannot raise it
when ``L`` is a true bound; if it does, ``L`` doubles). The momentum also restarts when
the step turns against it (O'Donoghue & Candès's gradient restart).

``D z - y`` is carried along with ``z``: the residual at the extrapolated point is the
same combination of the last two residuals, so each iteration costs one ``D`` and one
``Dᵀ``, and the objective at every iterate comes for free.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["fista", "shrink"]


def shrink(v, threshold, nonneg):
    """The proximal map of ``threshold ||.||₁`` (plus the indicator of ``v >= 0``); new array."""
    if nonneg:
        return np.maximum(v - threshold, 0)
    return np.sign(v) * np.maximum(np.abs(v) - threshold, 0)


def objective_terms(r, z, lam):
    """``½||r||² + lam ||z||₁`` as a float (accumulated in float64)."""
    return 0.5 * float(np.vdot(r, r).real) + lam * float(np.abs(z).sum(dtype=np.float64))


def fista(D, y, lam, *, L, iterations, tol, nonneg, bar, history, init=None):
    """Run FISTA from ``init`` (default ``z = 0``); returns ``z`` and appends to ``history``.

    ``D`` has ``forward`` and ``adjoint``; ``L >= ||D||²``; ``history`` gets
    ``objective``, ``sparsity``, ``residual`` after every iteration.
    """
    if init is None:
        z = np.zeros(y.shape[:1] + D.code_shape, y.dtype)
        r = -y                                    # D 0 - y, never written into
    else:
        z = init
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
            _record(history, f, z, r, scale)
            continue
        restart = float(np.vdot(w - z_new, z_new - z).real) > 0
        change = float(np.linalg.norm(z_new - z))
        z_prev, r_prev, z, r, f = z, r, z_new, r_new, f_new
        t = 1.0 if restart else t_next
        _record(history, f, z, r, scale)
        if change <= tol * (float(np.linalg.norm(z)) or 1.0):
            break
    history["L"] = L
    return z


def _record(history, f, z, r, scale):
    history["objective"].append(f)
    history["sparsity"].append(np.count_nonzero(z) / z.size)
    history["residual"].append(float(np.linalg.norm(r)) / scale)
