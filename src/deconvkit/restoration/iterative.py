"""Iterative least-squares restoration on the blur operator: Tikhonov by conjugate
gradients, and projected Landweber.

Both are written against :class:`deconvkit.linop.BlurOperator` (``H.forward``,
``H.adjoint``), so they work for every boundary, including ``"none"`` (the observation
is the valid part of the blur of a larger unknown scene: the estimate lives on that
scene and is cropped to the image's frame at the end).
"""

from __future__ import annotations

import numpy as np

from ..linop.blur import BlurOperator
from ._common import (as_image, check_flag, check_iterations, check_real, finish,
                      progress as progress_bar)
from .boundary import check_boundary, data_for
from .regularizers import laplacian

__all__ = ["tikhonov", "landweber", "conjugate_gradient"]


def conjugate_gradient(apply, b, x0, iterations, tol=1e-6, bar=None):
    """Solve ``apply(x) = b`` for a symmetric positive (semi-)definite ``apply``.

    Stops after ``iterations`` steps or when ``||r|| <= tol ||b||``. Returns ``(x,
    history)``, ``history`` the relative residual norm after each step.
    """
    x = x0.copy()
    r = b - apply(x)
    p = r.copy()
    rr = float(np.vdot(r, r))
    scale = float(np.linalg.norm(b)) or 1.0
    history = []
    for _ in range(iterations):
        if np.sqrt(rr) <= tol * scale:
            break
        ap = apply(p)
        alpha = rr / float(np.vdot(p, ap))
        x += alpha * p
        r -= alpha * ap
        rr_new = float(np.vdot(r, r))
        p *= rr_new / rr
        p += r
        rr = rr_new
        history.append(np.sqrt(rr) / scale)
        if bar is not None:
            bar.update()
    return x, history


def tikhonov(g, psf, lam=None, *, boundary="reflect", regularizer="laplacian",
             iterations=200, tol=1e-5, noise=None, full_output=False, progress=False):
    """Regularized least squares ``min ||g - H f||^2 + lam ||L f||^2`` by conjugate
    gradients on the normal equations.

    Parameters
    ----------
    g : (*shape) ndarray
        The observation, any number of axes; float32 stays float32.
    psf : ndarray
        The point-spread function (centre at ``k // 2`` per axis), at most ``g.ndim``
        axes; normalised to sum 1.
    lam : float >= 0, optional
        The weight of the regulariser. ``None`` chooses it as :func:`regularized` does
        (on the periodic model of the same data), then solves the ``boundary`` model.
    boundary : {"reflect", "periodic", "edgetaper", "none"}
        The model of the image's borders (:class:`deconvkit.linop.BlurOperator`).
    regularizer : {"laplacian", "identity"}
        ``L``: the Laplacian (smoothness, the constrained-least-squares filter's) or the
        identity (classical Tikhonov, small energy).
    iterations : int
        Most conjugate-gradient steps.
    tol : float
        Stop when the normal-equation residual falls below ``tol`` times its start.
    noise : float, optional
        The noise standard deviation for the automatic ``lam``; estimated when ``None``.
    full_output : bool
        Also return ``info``: ``lam``, ``iterations`` run, ``residual`` history.
    progress : bool
        Show a progress bar.

    Returns
    -------
    f : (*shape) ndarray
        The estimate, ``g``'s float dtype.
    info : dict
        Only with ``full_output``.

    Notes
    -----
    Solves ``(H^T H + lam L^T L) f = H^T g`` from ``f_0 = g`` (extended by symmetry for
    ``boundary="none"``). Each step costs one ``H`` and one ``H^T`` (two real FFTs each).

    Examples
    --------
    >>> import numpy as np
    >>> from deconvkit.restoration import gaussian
    >>> truth = np.zeros(64); truth[20:40] = 1.0
    >>> H = BlurOperator(gaussian(2.0, ndim=1), truth.shape, boundary="none")
    >>> g = H.forward(np.pad(truth, 6))
    >>> f = tikhonov(g, gaussian(2.0, ndim=1), lam=1e-4, boundary="none")
    >>> bool(np.abs(f - truth).mean() < np.abs(g - truth).mean())
    True
    """
    g = as_image(g)
    boundary = check_boundary(boundary)
    H = BlurOperator(psf, g.shape, boundary=boundary, dtype=g.dtype)
    iterations = check_iterations(iterations)
    tol = check_real(tol, "tol")
    if regularizer not in ("laplacian", "identity"):
        raise ValueError(f"regularizer must be 'laplacian' or 'identity', got {regularizer!r}")
    info = {"method": "tikhonov", "boundary": boundary, "regularizer": regularizer}
    if lam is None:
        lam, auto = _automatic_lam(g, H.psf, noise, regularizer)
        info.update(auto)
    lam = check_real(lam, "lam")
    periodic = boundary in ("periodic", "edgetaper")
    if regularizer == "laplacian":
        def normal(f):
            return H.adjoint(H.forward(f)) + lam * laplacian(laplacian(f, periodic), periodic)
    else:
        def normal(f):
            return H.adjoint(H.forward(f)) + lam * f
    data = data_for(g, H)
    with progress_bar(iterations, check_flag(progress, "progress"), "tikhonov") as bar:
        f, history = conjugate_gradient(normal, H.adjoint(data), H.extend(data), iterations,
                                        tol, bar)
    info.update(lam=lam, iterations=len(history), residual=history)
    return finish(H.crop(f).astype(g.dtype, copy=False), info, full_output)


def landweber(g, psf, iterations=100, *, boundary="reflect", step=1.0, positive=True,
              full_output=False, progress=False):
    """Projected Landweber iteration ``f <- P(f + step H^T (g - H f))``.

    Parameters
    ----------
    g : (*shape) ndarray
        The observation; float32 stays float32.
    psf : ndarray
        The point-spread function, normalised to sum 1.
    iterations : int
        Steps; the iteration count is the regulariser (stop early on noisy data).
    boundary : {"reflect", "periodic", "edgetaper", "none"}
    step : float in (0, 2)
        The step size; the iteration converges for ``0 < step < 2 / ||H||^2`` and
        ``||H|| <= 1`` for a normalised non-negative PSF.
    positive : bool
        Project onto ``f >= 0`` after each step (projected Landweber).
    full_output, progress : bool
        As for :func:`tikhonov`; ``info["residual"]`` holds ``||g - H f|| / ||g||``.

    Returns
    -------
    f : (*shape) ndarray
        The estimate, ``g``'s float dtype.

    Examples
    --------
    >>> import numpy as np
    >>> from deconvkit.restoration import box
    >>> truth = np.zeros(32); truth[10:20] = 1.0
    >>> g = BlurOperator(box((5,)), truth.shape).forward(truth)
    >>> f = landweber(g, box((5,)), 200)
    >>> bool(np.abs(f - truth).sum() < np.abs(g - truth).sum())
    True
    """
    g = as_image(g)
    boundary = check_boundary(boundary)
    H = BlurOperator(psf, g.shape, boundary=boundary, dtype=g.dtype)
    iterations = check_iterations(iterations)
    step = check_real(step, "step", allow_zero=False, maximum=2.0)
    positive = check_flag(positive, "positive")
    data = data_for(g, H)
    f = H.extend(data)
    scale = float(np.linalg.norm(data)) or 1.0
    history = []
    with progress_bar(iterations, check_flag(progress, "progress"), "landweber") as bar:
        for _ in range(iterations):
            r = data - H.forward(f)
            history.append(float(np.linalg.norm(r)) / scale)
            f += step * H.adjoint(r)
            if positive:
                np.maximum(f, 0, out=f)
            bar.update()
    info = {"method": "landweber", "boundary": boundary, "iterations": iterations,
            "residual": history, "step": step}
    return finish(H.crop(f).astype(g.dtype, copy=False), info, full_output)


def _automatic_lam(g, psf, noise, regularizer):
    """``lam`` chosen by the regularized filter's rule; returns ``(lam, info)``."""
    from .filters import regularized
    _, info = regularized(g, psf, noise=noise, boundary="periodic", full_output=True,
                          regularizer=regularizer)
    return info["lam"], {"noise": info.get("noise"), "lam_rule": info.get("lam_rule")}
