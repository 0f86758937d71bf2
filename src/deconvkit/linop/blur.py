"""The blur H of image restoration (g = H f + noise) with its exact adjoint, per boundary."""

from __future__ import annotations

import math

import numpy as np
import scipy.fft
from scipy.sparse.linalg import LinearOperator

from .._checks import MAX_NDIM, check_allocation, per_axis
from .conv import _array

__all__ = ["BlurOperator"]


class BlurOperator(LinearOperator):
    """Convolution with a PSF on one image, under a boundary rule; ``op.H`` is its adjoint.

    Parameters
    ----------
    psf : (*k) array_like
        The blur, checked and normalised by :func:`deconvkit.restoration.as_psf` (fewer
        axes than ``shape`` get length-1 axes prepended). Its centre is index ``k // 2``.
    shape : int or tuple of int
        Shape ``(*n)`` of the observed image ``g``.
    boundary : {"periodic", "reflect", "edgetaper", "none"}
        What the blur sees outside the frame (see Notes).
    dtype : {None, float64, float32}
        Precision of the arithmetic and the results (default float64).

    Attributes
    ----------
    dims : tuple of int
        Shape of the unknown ``x``: ``shape``, or ``shape + k - 1`` for ``"none"``.
    dimsd : tuple of int
        Shape of the data ``y``: ``shape``.
    fft_shape : tuple of int
        The grid of the FFTs.
    otf : (*fft_shape[:-1], fft_shape[-1]//2 + 1) ndarray, complex
        The PSF's transfer function on that grid (arranged for the boundary).
    psf : (*k) ndarray
        The normalised PSF, in ``dtype``.

    Notes
    -----
    Per axis, ``y[i] = sum_j h[j] x[i + k//2 - j]`` (a convolution centred at ``k//2``);
    ``boundary`` decides what ``x`` is outside the frame:

    * ``"periodic"`` (and ``"edgetaper"``, which tapers the data, not the operator):
      ``x`` wraps around; ``fft_shape = shape``; ``H`` is circulant.
    * ``"reflect"``: ``x`` is extended symmetrically (edge sample repeated, as
      ``np.pad(mode="symmetric")``); ``H`` pads, convolves on ``fft_shape`` (the next
      fast size of ``n + k - 1``) and crops. ``H.T`` folds the padding back.
    * ``"none"``: ``x`` is the larger scene (``dims = n + k - 1``) of which ``g`` is the
      'valid' blur (``scipy.signal.fftconvolve(x, h, mode="valid")``); scene index
      ``i + (k - 1 - k//2)`` lies under image index ``i``. ``H.T`` is the full correlation.

    Cost per ``forward`` or ``adjoint``: one ``rfftn`` and one ``irfftn`` on
    ``fft_shape`` (about ``5 P log2 P`` flops, ``P = prod(fft_shape)``, on all cores),
    plus, for ``"reflect"``, a pad or a fold (one pass over ``P`` values). The OTF is
    computed once, here.

    Examples
    --------
    >>> import numpy as np
    >>> op = BlurOperator([1.0, 2.0, 1.0], (5,))
    >>> op.forward(np.arange(5.0))
    array([1.25, 1.  , 2.  , 3.  , 2.75])
    >>> op = BlurOperator([1.0, 2.0, 1.0], 5, boundary="none")
    >>> op.dims, op.extend(np.arange(5.0)), op.ones_adjoint()
    ((7,), array([0., 0., 1., 2., 3., 4., 4.]), array([0.25, 0.75, 1.  , 1.  , 1.  , 0.75, 0.25]))
    >>> op.crop(op.extend(np.arange(5.0)))
    array([0., 1., 2., 3., 4.])
    >>> BlurOperator([1.0, 2.0], 5, boundary="reflect").adjoint(np.ones(5)).round(6)
    array([0.666667, 1.      , 1.      , 1.      , 1.333333])
    """

    def __init__(self, psf, shape, boundary="periodic", dtype=None):
        from ..restoration.boundary import check_boundary   # restoration sits above linop:
        from ..restoration.otf import place                 # import it on use, not at load
        from ..restoration.psf import as_psf
        shape = _shape(shape)
        self.boundary = check_boundary(boundary)
        dtype = _dtype(dtype)
        self.psf = as_psf(psf, ndim=len(shape)).astype(dtype, copy=False)
        k = self.psf.shape
        self.image_shape = shape
        self._before = tuple(kn - 1 - kn // 2 for kn in k)
        if self.boundary in ("periodic", "edgetaper"):
            if any(kn > n for kn, n in zip(k, shape)):
                raise ValueError(f"the PSF of shape {k} must fit in the image {shape} for "
                                 f"boundary {self.boundary!r} (use 'reflect' or 'none')")
            dims, self.fft_shape, offset = shape, shape, [kn // 2 for kn in k]
        else:
            full = tuple(n + kn - 1 for n, kn in zip(shape, k))
            self.fft_shape = tuple(scipy.fft.next_fast_len(m, real=True) for m in full)
            dims, offset = (full if self.boundary == "none" else shape), [kn - 1 for kn in k]
        check_allocation(4 * dtype.itemsize * math.prod(self.fft_shape),
                         f"a blur operator on the FFT grid {self.fft_shape}")
        self.dims, self.dimsd = dims, shape
        self._axes = tuple(range(len(shape)))
        self.otf = scipy.fft.rfftn(place(self.psf, self.fft_shape, offset), workers=-1)
        self._otf_conj = None
        self._ones_adjoint = None
        self._folds = None
        if self.boundary == "reflect":
            self._pads = [(b, m - n - b) for b, m, n in zip(self._before, self.fft_shape, shape)]
            self._folds = [_fold_runs(n, p) for n, p in zip(shape, self._pads)]
        super().__init__(dtype=dtype, shape=(math.prod(self.dimsd), math.prod(self.dims)))

    def forward(self, x):
        """``H x``: blur ``x`` of shape ``dims``; returns shape ``dimsd``, in ``dtype``."""
        return np.ascontiguousarray(self.apply(self._input(x, "dims", "x")))

    def adjoint(self, y):
        """``H.T y`` for ``y`` of shape ``dimsd``; returns shape ``dims``, in ``dtype``."""
        return np.ascontiguousarray(self.apply_adjoint(self._input(y, "dimsd", "y")))

    def apply(self, x):
        """:meth:`forward` without its checks, for solvers' inner loops: ``x`` must be a
        ``dtype`` array of shape ``dims``; the result is a new array, possibly a strided
        view of a larger one (no crop copy)."""
        if self.boundary == "reflect":
            x = np.pad(x, self._pads, mode="symmetric")
        return self._filter(x, self.otf, self.dimsd)

    def apply_adjoint(self, y):
        """:meth:`adjoint` without its checks (see :meth:`apply`)."""
        if self._otf_conj is None:
            self._otf_conj = np.conj(self.otf)
        if self.boundary != "reflect":
            return self._filter(y, self._otf_conj, self.dims)
        z = self._filter(y, self._otf_conj, None)       # our own array: fold it in place
        for axis, runs in enumerate(self._folds):
            z = _fold(z, axis, self._pads[axis][0], self.dims[axis], runs)
        return z

    def _filter(self, a, otf, crop):
        """``irfftn(rfftn(a, fft_shape) * otf)``, its leading ``crop`` corner (if not None)."""
        spec = scipy.fft.rfftn(a, s=self.fft_shape, axes=self._axes, workers=-1)
        spec *= otf
        out = scipy.fft.irfftn(spec, s=self.fft_shape, axes=self._axes, workers=-1,
                               overwrite_x=True)
        if crop is None or tuple(crop) == out.shape:
            return out
        return out[tuple(slice(0, m) for m in crop)]

    def ones_adjoint(self):
        """``H.T 1`` (shape ``dims``), cached and read-only: Richardson–Lucy's normaliser.

        Exactly 1 for ``"periodic"`` and ``"edgetaper"`` (the PSF sums to 1); for
        ``"none"`` it falls towards the scene's border, where fewer image pixels see it.
        """
        if self._ones_adjoint is None:
            if self.boundary in ("periodic", "edgetaper"):
                ones = np.ones(self.dims, self.dtype)
            else:
                ones = self.adjoint(np.ones(self.dimsd, self.dtype))
            ones.flags.writeable = False
            self._ones_adjoint = ones
        return self._ones_adjoint

    def crop(self, x):
        """The part of ``x`` (shape ``dims``) inside the image frame, shape ``dimsd``; a copy.

        For ``"none"`` the scene ``x[k-1-k//2 : k-1-k//2 + n]`` per axis; otherwise ``x``.
        """
        x = self._input(x, "dims", "x")
        if self.boundary == "none":
            x = x[tuple(slice(b, b + n) for b, n in zip(self._before, self.dimsd))]
        return np.array(x, dtype=self.dtype)

    def extend(self, g):
        """A starting guess of shape ``dims`` from the image ``g`` (shape ``dimsd``); a copy.

        For ``"none"``, ``g`` padded symmetrically by ``k-1-k//2`` before and ``k//2``
        after each axis; otherwise a copy of ``g``.
        """
        g = self._input(g, "dimsd", "g")
        if self.boundary == "none":
            pads = [(b, kn // 2) for b, kn in zip(self._before, self.psf.shape)]
            return np.pad(g, pads, mode="symmetric")
        return np.array(g, dtype=self.dtype)

    def _input(self, a, which, name):
        """``a`` as a real array of shape ``self.<which>`` in ``dtype`` (no copy if it is)."""
        shape = getattr(self, which)
        a = _array(a, name)
        if np.iscomplexobj(a):
            raise TypeError(f"{name} must be real, got dtype {a.dtype} (matvec takes complex)")
        if a.shape != tuple(shape):
            raise ValueError(f"{name} must have shape {tuple(shape)} (the operator's {which}), "
                             f"got shape {a.shape}")
        return np.asarray(a, dtype=self.dtype)

    def _apply(self, fn, v, shape):
        v = np.asarray(v)
        if np.iscomplexobj(v):
            return self._apply(fn, v.real, shape) + 1j * self._apply(fn, v.imag, shape)
        return fn(v.reshape(shape)).reshape(-1)

    def matvec(self, x):
        return super().matvec(_array(x, "x"))

    def rmatvec(self, x):
        return super().rmatvec(_array(x, "x"))

    def _matvec(self, v):
        return self._apply(self.forward, v, self.dims)

    def _rmatvec(self, v):
        return self._apply(self.adjoint, v, self.dimsd)

    def _adjoint(self):
        return _BlurAdjoint(self)


class _BlurAdjoint(LinearOperator):
    """``H.T`` of a :class:`BlurOperator` (so that ``op.H.matvec`` uses ``adjoint``)."""

    def __init__(self, op):
        self.op = op
        super().__init__(dtype=op.dtype, shape=(op.shape[1], op.shape[0]))

    def _matvec(self, v):
        return self.op._rmatvec(v)

    def _rmatvec(self, v):
        return self.op._matvec(v)

    def _adjoint(self):
        return self.op


def _shape(shape):
    """The image shape as a tuple of ints >= 1 (an int is a 1-D shape)."""
    if hasattr(shape, "__len__") and not isinstance(shape, (str, bytes)):
        if not 1 <= len(shape) <= MAX_NDIM:
            raise ValueError(f"shape must have 1 to {MAX_NDIM} axes, got {shape!r}")
        return per_axis(tuple(shape), len(shape), "shape", 1)
    return per_axis(shape, 1, "shape", 1)


def _dtype(dtype):
    """float64 (the default) or float32, else a ``ValueError``."""
    try:
        dt = np.dtype(np.float64 if dtype is None else dtype)
    except TypeError:
        raise TypeError(f"dtype must be float32 or float64, got {dtype!r}") from None
    if dt not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dt}")
    return dt


def _fold_runs(n, pad):
    """The symmetric padding of ``arange(n)`` by ``pad`` as runs ``(start, stop, to, step)``:
    padded ``[start:stop]`` holds original indices ``to, to+step, ...`` (step +1 or -1)."""
    idx = np.pad(np.arange(n), pad, mode="symmetric")
    runs, i = [], 0
    while i < idx.size:
        j = i + 1
        step = int(idx[j] - idx[i]) if j < idx.size else 1
        if step in (1, -1):
            while j < idx.size and idx[j] - idx[j - 1] == step:
                j += 1
        else:
            step = 1
        runs.append((i, j, int(idx[i]), step))
        i = j
    return runs


def _fold(z, axis, before, n, runs):
    """The adjoint of the symmetric padding along ``axis``: add every run of ``z`` outside
    ``[before, before + n)`` onto that interior, in place; returns the interior (a view)."""
    lead = (slice(None),) * axis
    if n == 1:
        return z.sum(axis=axis, keepdims=True)
    inner = z[lead + (slice(before, before + n),)]
    for start, stop, to, step in runs:
        if start == before and stop - start == n:
            continue                                   # the interior itself
        src = z[lead + (slice(start, stop),)]
        if step == 1:
            inner[lead + (slice(to, to + stop - start),)] += src
        else:
            inner[lead + (slice(to - (stop - start) + 1, to + 1),)] += np.flip(src, axis)
    return inner
