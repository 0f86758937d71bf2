"""The dictionary half of convolutional dictionary learning: filters for fixed codes.

For fixed coefficient maps ``z`` the data term ``½||D(d) z - y||²`` is a least-squares
problem in the filters ``d`` (``D(d) z = sum_k d_k * z_k`` is linear in ``d`` too). Its
gradient is the correlation of the residual with the codes, which is the weight
gradient of the convolution ``Dᵀ``: :func:`deconvkit.functional.conv_weight_grad` with
the residual as the input and the codes as the output gradient (``"zero"`` boundary),
or its Fourier form ``sum_n conj(Z_nk) R_nc`` cropped to the filter support
(``"circular"``). :func:`update_filters` runs projected gradient on it with each filter
kept in the unit ball ``||d_k|| <= 1`` (Zeiler et al. 2010; SPORCO's ``ConvCnstrMOD``
normalises to the unit sphere instead, the ball is its convex hull).

Also here: the initial filters (:func:`initial_filters`) and the ``.npz`` file format
(:func:`save_filters`, :func:`load_filters`).
"""

from __future__ import annotations

import json
import os

import numpy as np
import scipy.fft

from .. import functional as F
from .._files import write_npz
from ..geometry import ConvSpec
from ._maps import threads
from .operators import SynthesisOperator

__all__ = ["project_filters", "initial_filters", "update_filters", "filter_lipschitz",
           "save_filters", "load_filters"]

META_KEY = "__meta__"
INIT_CHOICES = ("patches", "random")


def project_filters(d):
    """Each filter ``d[k]`` scaled into the unit ball ``||d[k]|| <= 1`` (a new array).

    Examples
    --------
    >>> d = np.array([[[3.0, 4.0]], [[0.3, 0.4]]])
    >>> project_filters(d)[:, 0]
    array([[0.6, 0.8],
           [0.3, 0.4]])
    """
    norms = np.sqrt(np.sum(np.square(d, dtype=np.float64).reshape(d.shape[0], -1), axis=1))
    scale = 1.0 / np.maximum(norms, 1.0)
    return d * scale.astype(d.dtype).reshape((-1,) + (1,) * (d.ndim - 1))


def _unit(d, rng):
    """Filters normalised to unit norm; an all-zero filter becomes a random unit one."""
    flat = d.reshape(d.shape[0], -1)
    norms = np.linalg.norm(flat, axis=1)
    for k in np.flatnonzero(norms <= 1e-12 * max(1.0, norms.max(initial=0.0))):
        flat[k] = rng.standard_normal(flat.shape[1])
        norms[k] = np.linalg.norm(flat[k])
    return (flat / norms[:, None]).reshape(d.shape)


def initial_filters(images, num_filters, kernel_size, init, rng):
    """``(K, C, *k)`` unit-norm starting filters in ``images``' dtype.

    ``"patches"``: ``K`` patches of ``images`` at random places (any image, inside it),
    each channel's mean removed (the patch's high-pass) and scaled to unit norm;
    ``"random"``: standard normal, unit norm.
    """
    n, c, *spatial = images.shape
    shape = (num_filters, c) + tuple(kernel_size)
    if init == "random":
        return _unit(rng.standard_normal(shape), rng).astype(images.dtype)
    d = np.empty(shape)
    for k in range(num_filters):
        i = int(rng.integers(n))
        corner = [int(rng.integers(s - kk + 1)) for s, kk in zip(spatial, kernel_size)]
        window = tuple(slice(a, a + kk) for a, kk in zip(corner, kernel_size))
        patch = images[(i, slice(None)) + window].astype(np.float64)
        axes = tuple(range(1, patch.ndim))
        d[k] = patch - patch.mean(axis=axes, keepdims=True)
    return _unit(d, rng).astype(images.dtype)


# --- the filter update ---------------------------------------------------------------

def _spectrum_bound(zf):
    """``max_f ||A_f||²`` for ``A_f[n, k] = zf[n, k, f]``: the largest eigenvalue of the
    smaller of ``A Aᴴ`` and ``Aᴴ A`` over the frequencies."""
    n, k = zf.shape[:2]
    a = np.moveaxis(zf.reshape(n, k, -1), -1, 0)          # (F, N, K)
    gram = a @ a.conj().swapaxes(1, 2) if n <= k else a.conj().swapaxes(1, 2) @ a
    if gram.shape[1] == 1:
        return float(gram.real.max(initial=0.0))
    return float(np.linalg.eigvalsh(gram).max(initial=0.0))


def filter_lipschitz(z, kernel_size, image_spatial, *, stride=1, boundary="circular"):
    """A bound ``L`` on the Lipschitz constant of the filter gradient for codes ``z``.

    ``d -> D(d) z`` is, per frequency, the ``N x K`` matrix of the codes' spectra, so
    ``L = max_f ||Z_f||²``: exact for the circular model on the image grid. For the zero
    boundary the codes are spread by the stride (zeros between) and transformed on the
    grid of the full transposed convolution, where the circular product is the linear
    one without wrap-around; the crop by the padding only lowers the norm, so it is an
    upper bound.
    """
    axes = tuple(range(2, z.ndim))
    if boundary == "circular":
        return _spectrum_bound(scipy.fft.rfftn(z, s=image_spatial, axes=axes, workers=threads()))
    stride = tuple(stride)
    spread_shape = tuple((m - 1) * s + 1 for m, s in zip(z.shape[2:], stride))
    spread = np.zeros(z.shape[:2] + spread_shape, z.dtype)
    spread[(Ellipsis,) + tuple(slice(None, None, s) for s in stride)] = z
    grid = tuple(n + k - 1 for n, k in zip(spread_shape, kernel_size))
    return _spectrum_bound(scipy.fft.rfftn(spread, s=grid, axes=axes, workers=threads()))


class _Circular:
    """The data term and its filter gradient for the circular model, in Fourier."""

    def __init__(self, z, y, kernel_size):
        self.spatial, self.axes = y.shape[2:], tuple(range(2, y.ndim))
        self.kernel_size, self.dtype = tuple(kernel_size), y.dtype
        self.zf = scipy.fft.rfftn(z, axes=self.axes, workers=threads())      # (N, K, *F)
        self.yf = scipy.fft.rfftn(y, axes=self.axes, workers=threads())      # (N, C, *F)

    def gradient(self, d):
        df = scipy.fft.rfftn(d, s=self.spatial, axes=self.axes, workers=threads())
        rf = np.einsum("kc...,nk...->nc...", df, self.zf) - self.yf
        gf = np.einsum("nk...,nc...->kc...", self.zf.conj(), rf)
        g = scipy.fft.irfftn(gf, s=self.spatial, axes=self.axes, workers=threads())
        return g[(Ellipsis,) + tuple(slice(0, k) for k in self.kernel_size)].astype(self.dtype)


class _Zero:
    """The data term and its filter gradient for the zero boundary, by the core's
    convolution weight gradient."""

    def __init__(self, z, y, kernel_size, stride, padding):
        self.z, self.y, self.stride, self.padding = z, y, stride, padding
        self.spec = ConvSpec.create(y.ndim - 2, tuple(kernel_size), stride=stride,
                                    padding=padding, input_size=y.shape[2:])

    def gradient(self, d):
        D = SynthesisOperator(d, self.y.shape[1:], stride=self.stride, padding=self.padding)
        r = D.forward(self.z) - self.y
        return F.conv_weight_grad(r, self.z, spec=self.spec).astype(self.y.dtype, copy=False)


def update_filters(d, z, y, *, iterations, boundary="circular", stride=1, padding=0):
    """``iterations`` projected-gradient steps on ``½||D(d) z - y||²``, ``||d_k|| <= 1``.

    Parameters
    ----------
    d : (K, C, *k) ndarray
        Current filters (not modified).
    z : (N, K, *spatial') ndarray
        Codes, fixed.
    y : (N, C, *spatial) ndarray
        Images.
    iterations : int
    boundary, stride, padding
        The model of :func:`deconvkit.sparse.code`.

    Returns
    -------
    d : (K, C, *k) ndarray
        New filters, each in the unit ball.
    L : float
        The step's Lipschitz bound (step ``1/L``).

    Notes
    -----
    With ``L`` at least the gradient's Lipschitz constant (:func:`filter_lipschitz`)
    each projected step onto the convex unit ball lowers the objective or keeps it.
    """
    kernel_size = d.shape[2:]
    strides = (1,) * (y.ndim - 2) if boundary == "circular" else \
        ConvSpec.create(y.ndim - 2, kernel_size, stride=stride, padding=padding,
                        input_size=y.shape[2:]).stride
    L = filter_lipschitz(z, kernel_size, y.shape[2:], stride=strides, boundary=boundary)
    if L <= 0 or iterations == 0:            # all codes zero: the data term ignores d
        return project_filters(d), L
    term = _Circular(z, y, kernel_size) if boundary == "circular" else \
        _Zero(z, y, kernel_size, stride, padding)
    step = d.dtype.type(1.0 / L)
    for _ in range(iterations):
        d = project_filters(d - step * term.gradient(d))
    return d, L


# --- files --------------------------------------------------------------------------

def save_filters(path, filters, meta=None, overwrite=False) -> None:
    """Write ``filters`` and ``meta`` to ``path`` (a NumPy ``.npz`` archive).

    Parameters
    ----------
    path : str or os.PathLike
        Written exactly as given (no ``.npz`` is appended).
    filters : (K, C, *k) ndarray
    meta : dict, optional
        JSON-serialisable facts kept with the filters (how they were learned).
    overwrite : bool
        Replace an existing file only when ``True`` (``FileExistsError`` otherwise).

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "filters")
    >>> save_filters(path, np.ones((2, 1, 3, 3)), meta={"lam": 0.1})
    >>> d, meta = load_filters(path)
    >>> d.shape, meta
    ((2, 1, 3, 3), {'lam': 0.1})
    """
    from ._checks import as_batch

    filters = as_batch(filters, "filters", "(K, C, *k)")
    if meta is not None and not isinstance(meta, dict):
        raise TypeError(f"meta must be a dict or None, got {type(meta).__name__}")
    header = json.dumps(meta or {}, sort_keys=True)
    write_npz(path, {"filters": filters, META_KEY: np.array(header)}, overwrite)


def load_filters(path):
    """The filters and ``meta`` written by :func:`save_filters`.

    Returns
    -------
    filters : (K, C, *k) ndarray
    meta : dict

    Raises
    ------
    ValueError
        When ``path`` holds no ``filters`` entry.
    """
    path = os.fspath(path)
    with np.load(path, allow_pickle=False) as archive:
        if "filters" not in archive.files:
            raise ValueError(f"{path} is not a filters file written by save_filters (no "
                             f"'filters' entry; it has {sorted(archive.files)})")
        filters = archive["filters"]
        meta = json.loads(str(archive[META_KEY])) if META_KEY in archive.files else {}
    return filters, meta
