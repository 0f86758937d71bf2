"""The front door: :func:`deconvolve` and the table of methods."""

from __future__ import annotations

from .._checks import describe
from .filters import inverse, regularized, wiener
from .iterative import landweber, tikhonov
from .lucy import richardson_lucy

__all__ = ["deconvolve", "method_name", "METHODS"]

METHODS = {
    "regularized": regularized,
    "wiener": wiener,
    "inverse": inverse,
    "tikhonov": tikhonov,
    "landweber": landweber,
    "richardson_lucy": richardson_lucy,
}
"""Every restoration method by name; :func:`deconvolve` dispatches on it."""

ALIASES = {"rl": "richardson_lucy", "lucy": "richardson_lucy", "cls": "regularized"}


def deconvolve(g, psf, method: str = "regularized", **options):
    """Restore ``f`` from ``g = h * f + noise``: one entry point for every method.

    Parameters
    ----------
    g : (*shape) ndarray
        The observation, any number of axes. float32 stays float32; other real dtypes
        are computed in float64 with their values unchanged (no rescaling).
    psf : ndarray
        The point-spread function ``h`` (centre at ``k // 2`` per axis), at most
        ``g.ndim`` axes, normalised to sum 1 (see :mod:`deconvkit.restoration.psf`).
    method : str
        One of :data:`METHODS` (``"rl"`` is ``"richardson_lucy"``). The default, the
        regularized filter, chooses its parameter and the noise level from ``g``.
    **options
        Passed to the method: ``boundary``, ``iterations``, ``lam``, ``nsr``,
        ``noise``, ``accelerate``, ``tv``, ``full_output``, ``progress``...
        ``boundary=None`` means the method's default.

    Returns
    -------
    f : (*shape) ndarray
        The estimate; ``(f, info)`` with ``full_output=True``.

    Examples
    --------
    >>> import numpy as np
    >>> from deconvkit.restoration import gaussian
    >>> from deconvkit.linop import BlurOperator
    >>> from scipy import ndimage
    >>> rng = np.random.default_rng(0)
    >>> truth = 10 * ndimage.gaussian_filter(rng.random((64, 64)), 2.0)
    >>> g = BlurOperator(gaussian(2.0), truth.shape).forward(truth)
    >>> g = g + 0.01 * rng.standard_normal(g.shape)
    >>> f, info = deconvolve(g, gaussian(2.0), full_output=True)
    >>> bool(np.abs(f - truth).mean() < np.abs(g - truth).mean())
    True
    """
    name = method_name(method)
    if "boundary" in options and options["boundary"] is None:
        del options["boundary"]
    return METHODS[name](g, psf, **options)


def method_name(method) -> str:
    """The key of :data:`METHODS` that ``method`` names (aliases and case allowed), or a
    ``TypeError``/``ValueError`` listing the choices.

    >>> method_name("RL")
    'richardson_lucy'
    """
    if not isinstance(method, str):
        raise TypeError(f"method must be a string, one of {', '.join(METHODS)}; got "
                        f"{describe(method)}")
    name = ALIASES.get(method.lower(), method.lower())
    if name not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)} (or 'rl'), got "
                         f"{method!r}")
    return name
