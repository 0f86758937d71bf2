"""The smoothness operator of the regularized methods: the discrete Laplacian, N-d.

The regularized filter and Tikhonov's method penalise ``||L f||^2`` with ``L`` the
``2N + 1``-point Laplacian (``[0 1 0; 1 -4 1; 0 1 0]`` in 2-D, the operator of the
constrained-least-squares filter and of MATLAB's ``deconvreg``). Two views of one
operator:

* :func:`laplacian_otf`: its transfer function on a periodic grid, for the filters;
* :func:`laplacian`: applied in space with a periodic or a symmetric (Neumann) boundary,
  for the iterative solvers. Both are self-adjoint, so ``L^T L = L L``.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

__all__ = ["laplacian", "laplacian_otf"]


def laplacian_otf(shape, real: bool = True, dtype=np.float64) -> np.ndarray:
    """Eigenvalues of the periodic Laplacian on a grid of ``shape``.

    Parameters
    ----------
    shape : tuple of int
        The grid, ``(M_1, ..., M_N)``.
    real : bool
        Half spectrum along the last axis (the layout of ``scipy.fft.rfftn``).
    dtype : float dtype

    Returns
    -------
    otf : ndarray, ``shape`` (last axis ``M_N // 2 + 1`` when ``real``)
        ``sum_n (2 cos(2 pi k_n / M_n) - 2)``: real and <= 0, zero only at the origin.

    Examples
    --------
    >>> laplacian_otf((4,), real=False)
    array([ 0., -2., -4., -2.])
    """
    shape = tuple(int(m) for m in shape)
    otf = np.zeros(shape[:-1] + ((shape[-1] // 2 + 1) if real else shape[-1],), dtype)
    for axis, m in enumerate(shape):
        k = np.arange(otf.shape[axis])
        term = (2 * np.cos(2 * np.pi * k / m) - 2).astype(dtype)
        otf += term.reshape((-1,) + (1,) * (len(shape) - axis - 1))
    return otf


def laplacian(x: np.ndarray, periodic: bool = False) -> np.ndarray:
    """The ``2N + 1``-point Laplacian of ``x``: wrapped when ``periodic``, else with
    the symmetric (zero-flux, Neumann) boundary ``x[-1] = x[0]``.

    Examples
    --------
    >>> laplacian(np.array([0., 1., 4.]))
    array([ 1.,  2., -3.])
    """
    return ndimage.laplace(x, mode="wrap" if periodic else "reflect")
