"""The synthesis operator ``D`` of convolutional sparse coding and its adjoint ``Dᵀ``.

``D z = sum_k d_k * z_k`` maps coefficient maps ``z`` of shape ``(N, K, *spatial')`` to
images ``(N, C, *spatial)``; the filters ``(K, C, *k)`` are read in the library's
transposed-convolution layout ``(C_in=K, C_out=C, *k)``, which is also the convolution
layout ``(C_out=K, C_in=C, *k)`` of ``Dᵀ``. Two boundary models:

* ``"zero"``: ``D`` is exactly :func:`deconvkit.conv_transpose` with the spec (stride and
  padding allowed: padding crops the full output), ``Dᵀ`` is :func:`deconvkit.conv`;
* ``"circular"``: SPORCO's model. Filters are zero-padded to the image size with their
  first tap at the origin and convolved circularly; ``z`` has the image's spatial size.
  It equals the full ``conv_transpose`` (stride 1, no padding) wrapped periodically onto
  the image grid, and is computed with real FFTs, the ``K`` maps in blocks over
  deconvkit's threads (:mod:`deconvkit.sparse._maps`).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.fft

from .._checks import per_axis
from ..linop.conv import ConvOperator
from . import _maps
from ._checks import as_batch, check_geometry

__all__ = ["SynthesisOperator"]

POWER_ITERATIONS = 50
POWER_SAFETY = 1.02


class SynthesisOperator:
    """``D`` (coefficient maps to images) and ``Dᵀ`` for fixed filters and image shape.

    Parameters
    ----------
    filters : (K, C, *k) ndarray, float32 or float64
        One filter of ``C`` channels per coefficient map.
    image_shape : tuple of int
        ``(C, *spatial)``, the shape of one image.
    stride, padding : int or tuple
        The geometry of the forward convolution ``Dᵀ`` (``boundary="zero"`` only; the
        circular model has stride 1 and no padding).
    boundary : {"zero", "circular"}

    Attributes
    ----------
    code_shape : tuple of int
        ``(K, *spatial')`` of one sample's coefficient maps.
    image_shape : tuple of int

    Examples
    --------
    >>> import numpy as np
    >>> D = SynthesisOperator(np.ones((2, 1, 3)), (1, 5), boundary="circular")
    >>> z = np.zeros((1, 2, 5)); z[0, 0, 4] = 1.0
    >>> D.forward(z)[0, 0].round(12) + 0.0
    array([1., 1., 0., 0., 1.])
    >>> D.code_shape
    (2, 5)
    """

    def __init__(self, filters, image_shape, *, stride=1, padding=0, boundary="zero"):
        filters = as_batch(filters, "filters", "(K, C, *k)")
        image_shape = tuple(per_axis(image_shape, filters.ndim - 1, "image_shape", 1))
        if image_shape[0] != filters.shape[1]:
            raise ValueError(f"image_shape must be (C, *spatial) with C = {filters.shape[1]} "
                             f"for filters of shape {filters.shape}, got {image_shape}")
        self.boundary = check_geometry(filters, image_shape, stride, padding, boundary)
        self.filters = filters
        self.image_shape = image_shape
        self.dtype = filters.dtype
        self.axes = tuple(range(2, filters.ndim))
        if boundary == "zero":
            self._op = ConvOperator(filters, self.image_shape, stride=stride, padding=padding)
            self.code_shape = self._op.dimsd
        else:
            self.spatial = self.image_shape[1:]
            self.code_shape = (filters.shape[0],) + self.spatial
            self.spectrum = self.rfft(filters)          # (K, C, *F)
            self._spectrum_conj = self.spectrum.conj()
            self._gram = None
            self.map_bytes = self.spectrum[0, 0].nbytes

    # --- Fourier helpers (circular model) -------------------------------------------
    def rfft(self, a):
        """Real FFT of ``a`` over the spatial axes on the image grid (zero-padded)."""
        return scipy.fft.rfftn(a, s=self.spatial, axes=self.axes,
                               workers=_maps.threads())

    def irfft(self, a):
        """Inverse of :meth:`rfft`, in the operator's dtype (``a`` is left alone)."""
        a = np.array(a, dtype=np.result_type(a.dtype, np.complex64))
        return _maps.irfft(a, self.spatial, _maps.threads()).astype(self.dtype, copy=False)

    def forward_f(self, zf):
        """``D`` on spectra: ``(N, K, *F) -> (N, C, *F)``."""
        return np.einsum("kc...,nk...->nc...", self.spectrum, zf)

    def gram(self):
        """``M Mᴴ`` per frequency, ``(C, C, *F)``, ``M = spectrum[:, :, f].T`` (C x K)."""
        if self._gram is None:
            self._gram = np.einsum("kc...,kd...->cd...", self.spectrum, self._spectrum_conj)
        return self._gram

    # --- the operator ------------------------------------------------------------------
    def forward(self, z):
        """``D z``: ``(N, K, *spatial') -> (N, C, *spatial)``."""
        if self.boundary == "zero":
            return self._op.adjoint(z)

        def part(block, workers, zf, sums):
            ns, ks = block
            _maps.synthesize(self.spectrum[ks], _maps.rfft(z[ns, ks], self.spatial, workers),
                             zf[ns])
        zf, _ = _maps.accumulate(part, self.blocks(z.shape[0]),
                                 (z.shape[0],) + self.spectrum.shape[1:], self.spectrum.dtype)
        return self.irfft(zf)

    def adjoint(self, r):
        """``Dᵀ r``: ``(N, C, *spatial) -> (N, K, *spatial')``."""
        if self.boundary == "zero":
            return self._op.forward(r)
        rf = self.rfft(r)
        out = np.empty((r.shape[0],) + self.code_shape, self.dtype)

        def part(block, workers):
            ns, ks = block
            tmp = np.empty(rf[ns].shape[:1] + (ks.stop - ks.start,) + rf.shape[2:], rf.dtype)
            _maps.analyse(self._spectrum_conj[ks], rf[ns], tmp)
            out[ns, ks] = _maps.irfft(tmp, self.spatial, workers)
        _maps.run(part, self.blocks(r.shape[0]))
        return out

    def blocks(self, n):
        """The blocks of maps (:func:`deconvkit.sparse._maps.blocks`) of ``n`` samples."""
        return _maps.blocks(n, self.code_shape[0], self.map_bytes)

    def norm_squared(self, seed=0):
        """``||D||²``, the Lipschitz constant of the gradient of ``½||D z - y||²``.

        Exact for ``"circular"`` (the largest eigenvalue of ``M Mᴴ`` over the
        frequencies); a power-iteration estimate on ``Dᵀ D`` times 1.02 for ``"zero"``.
        """
        if self.boundary == "circular":
            g = np.moveaxis(self.gram().reshape(self.gram().shape[:2] + (-1,)), -1, 0)
            if g.shape[1] == 1:
                return float(g.real.max())
            return float(np.linalg.eigvalsh(g).max())
        rng = np.random.default_rng(seed)
        v = rng.standard_normal((1,) + self.code_shape).astype(self.dtype)
        estimate = 0.0
        for _ in range(POWER_ITERATIONS):
            v /= np.linalg.norm(v) or 1.0
            w = self.adjoint(self.forward(v))
            estimate = float(np.vdot(v, w))
            v = w
        return POWER_SAFETY * estimate


def circular_by_wrapping(z, filters):
    """The circular ``D z`` computed as the full ``conv_transpose`` wrapped onto the grid.

    The readable oracle of the FFT path (tests use it): N-d, any sizes.
    """
    from .. import functional as F
    full = F.conv_transpose(z, filters)
    spatial = z.shape[2:]
    out = np.zeros(full.shape[:2] + spatial, full.dtype)
    for index in np.ndindex(*(math.ceil(f / n) for f, n in zip(full.shape[2:], spatial))):
        src = tuple(slice(i * n, min((i + 1) * n, f))
                    for i, n, f in zip(index, spatial, full.shape[2:]))
        dst = tuple(slice(0, s.stop - s.start) for s in src)
        out[(...,) + dst] += full[(...,) + src]
    return out
