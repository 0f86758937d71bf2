"""Convolutional sparse coding: the inference of a Deconvolutional Network (Zeiler et al. 2010).

Given images ``y`` and filters ``d_k``, find coefficient maps ``z`` minimising
``½||D z - y||² + lam ||z||₁`` with ``D z = sum_k d_k * z_k`` the transposed convolution
(:mod:`deconvkit.sparse.operators`).
"""

from __future__ import annotations

import numpy as np

from ..restoration._common import (check_flag, check_iterations, check_real, finish,
                                  progress as progress_bar)
from ._checks import METHODS, check_arrays, check_choice, check_code
from .admm import admm
from .fista import fista, objective_terms
from .operators import SynthesisOperator

__all__ = ["code", "objective"]


def code(y, filters, lam, *, stride=1, padding=0, method="fista", iterations=200, tol=1e-4,
         nonneg=False, boundary="zero", init=None, full_output=False, progress=False):
    """Sparse coefficient maps ``z`` with ``D z ≈ y``: ``min ½||D z - y||² + lam ||z||₁``.

    Parameters
    ----------
    y : (N, C, *spatial) ndarray
        Images; float32 stays float32, other real dtypes compute in float64.
    filters : (K, C, *k) ndarray
        The dictionary, in the transposed-convolution layout ``(C_in=K, C_out=C, *k)``.
    lam : float >= 0
        The weight of the ``l1`` term.
    stride, padding : int or tuple
        The geometry of the convolution ``Dᵀ`` (``boundary="zero"``); ``D`` is
        :func:`deconvkit.conv_transpose` with it.
    method : {"fista", "admm"}
        FISTA (any boundary) or ADMM in the Fourier domain (``boundary="circular"``).
    iterations : int
        Most iterations (each: one ``D`` and one ``Dᵀ``).
    tol : float >= 0
        FISTA stops when ``||z_new - z|| <= tol ||z_new||``; ADMM when both relative
        residuals (primal ``||x - u|| / max(||x||, ||u||)``, dual
        ``||u - u_prev|| / ||v||``) are ``<= tol``. ``0`` runs every iteration.
    nonneg : bool
        Constrain ``z >= 0``.
    boundary : {"zero", "circular"}
        ``"zero"``: ``z`` has the size ``conv`` of ``y`` gives, ``D`` crops the full
        transposed convolution by the padding. ``"circular"``: SPORCO's model, ``z`` has
        the image's size, filters wrap around (stride 1, no padding).
    init : (N, K, *spatial') ndarray, optional
        A starting code (a warm start, e.g. the previous solve's during dictionary
        learning); default zeros. Not modified (with ``nonneg``, clipped at 0 in a copy).
    full_output : bool
        Also return ``info``: ``objective``, ``sparsity`` (fraction nonzero) and
        ``residual`` (``||D z - y|| / ||y||``) after each iteration, ``iterations`` run,
        and ``L`` (FISTA's ``||D||²`` bound, final) or ``rho`` (ADMM's, final).
    progress : bool
        Show a progress bar.

    Returns
    -------
    z : (N, K, *spatial') ndarray
        The coefficient maps, ``y``'s float dtype; exactly sparse.
    info : dict
        Only with ``full_output``.

    Raises
    ------
    ValueError, TypeError
        Naming the argument, what was expected and what was received; ``ValueError``
        for ``method="admm"`` with ``boundary="zero"`` (see Notes).

    Notes
    -----
    Both start from ``init`` (default ``z = 0``). FISTA's step is ``1/L`` with ``L`` the exact ``||D||²``
    for the circular model (the largest eigenvalue of the filter spectra's ``C x C``
    Gram matrix over the frequencies) and a power-iteration estimate (x1.02) for the
    zero boundary; it is monotone (:mod:`deconvkit.sparse.fista`).

    ADMM needs ``DᵀD + rho I`` to be diagonal in the Fourier domain up to rank ``C``
    per frequency, which holds only for the circular model. With the zero boundary
    ``D`` crops, so ``DᵀD`` is not a convolution; that case would need a further split
    of the data term (SPORCO's ``ConvBPDNMaskDcpl``) and is refused: use FISTA, or the
    circular model on a padded image.

    Examples
    --------
    >>> import numpy as np
    >>> d = np.zeros((2, 1, 3)); d[0, 0] = [1, 2, 1]; d[1, 0] = [1, -1, 0]
    >>> z_true = np.zeros((1, 2, 16)); z_true[0, 0, 4] = 2.0; z_true[0, 1, 10] = -1.0
    >>> y = SynthesisOperator(d, (1, 18)).forward(z_true)
    >>> z = code(y, d, 0.01, iterations=500)
    >>> np.round(z[0][:, [4, 10]], 2) + 0.0
    array([[ 2.,  0.],
           [ 0., -1.]])
    """
    y, filters = check_arrays(y, filters)
    lam = check_real(lam, "lam")
    method = check_choice(method, "method", METHODS)
    iterations = check_iterations(iterations)
    tol = check_real(tol, "tol")
    nonneg, full_output = check_flag(nonneg, "nonneg"), check_flag(full_output, "full_output")
    D = SynthesisOperator(filters, y.shape[1:], stride=stride, padding=padding,
                          boundary=boundary)
    if method == "admm" and D.boundary != "circular":
        raise ValueError("method='admm' solves the circular model in the Fourier domain: "
                         "give boundary='circular', or use method='fista' for "
                         f"boundary={D.boundary!r}")
    z0 = None if init is None else check_code(init, y.dtype, D.code_shape, y.shape[0], "init")
    if z0 is not None and nonneg:
        z0 = np.maximum(z0, 0)
    history = {"objective": [], "sparsity": [], "residual": []}
    with progress_bar(iterations, check_flag(progress, "progress"), f"sparse {method}") as bar:
        if method == "fista":
            z = fista(D, y, lam, L=D.norm_squared(), iterations=iterations, tol=tol,
                      nonneg=nonneg, bar=bar, history=history, init=z0)
        else:
            z = admm(D, y, lam, iterations=iterations, tol=tol, nonneg=nonneg, bar=bar,
                     history=history, init=z0)
    info = dict(history, method=method, boundary=D.boundary, lam=lam,
                iterations=len(history["objective"]))
    return finish(z, info, full_output)


def objective(y, filters, z, lam, *, stride=1, padding=0, boundary="zero"):
    """``½||D z - y||² + lam ||z||₁``, summed over the batch, as a float.

    Parameters
    ----------
    y : (N, C, *spatial) ndarray
    filters : (K, C, *k) ndarray
    z : (N, K, *spatial') ndarray
    lam : float >= 0
    stride, padding, boundary
        As for :func:`code`.

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> y = np.ones((1, 1, 4)); d = np.ones((1, 1, 1)); z = np.ones((1, 1, 4))
    >>> objective(y, d, z, 0.5)
    2.0
    """
    y, filters = check_arrays(y, filters)
    lam = check_real(lam, "lam")
    D = SynthesisOperator(filters, y.shape[1:], stride=stride, padding=padding,
                          boundary=boundary)
    z = check_code(z, y.dtype, D.code_shape, y.shape[0])
    return objective_terms(D.forward(z) - y, z, lam)
