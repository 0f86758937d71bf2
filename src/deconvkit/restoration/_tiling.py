"""What :func:`deconvkit.restoration.tiled` supplies to Dask: the halo rule, the
parameters fixed once for the whole volume, and the function run on every chunk.

The halo (``depth``) rule, per axis (measured in ``tests/test_tiled.py`` and the
commit that added it):

* linear methods (``regularized``, ``wiener``, ``inverse``, ``tikhonov``): the reach of
  the restoration filter's impulse response ``conj(H) / (|H|^2 + P)`` (``P`` the
  regulariser power with the parameter chosen for the volume), i.e. the distance beyond
  which it stays below :data:`TOL` of its peak, plus the PSF half-width (the taper or
  the reflection at a chunk's edge). Measured on 3-D Gaussian PSFs (sigma 1 and 1.5,
  lam 1e-2 to 1e-4): a reach of 3.3-3.6 PSF extents, and tiled results within 4e-8
  (sigma 1) to 2e-5 (sigma 1.5, lam 1e-4) of the whole volume's where the chunks had
  that halo, the rest being the whole volume's own border reaching in.
* iterative methods (``richardson_lucy``, ``landweber``): the exact halo is the light
  cone ``2 * iterations * (k // 2)``; the influence decays like a diffusion, so the
  rule is ``ceil(RL_FACTOR * sqrt(iterations) * (k // 2))``, capped by the light cone.
  Measured for Richardson-Lucy on smooth 3-D data with Gaussian PSFs (sigma 1, 1.5, 2;
  10 and 30 iterations): a halo of 10, 17 and 20 gives a largest relative error of
  about 1e-4, 3e-5 and 1e-4 at 30 iterations. Noisy or sharp data converge more slowly
  and may need more: pass ``depth=``.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.fft

from ._common import as_image
from .filters import (CG_TOL, _inputs, _lam_data, _noise, _radius_power, _regularizer_power,
                      _solve)
from .iterative import _automatic_lam
from .methods import METHODS
from .otf import psf2otf
from .spectra import Spectra, fit_power_law

__all__ = ["halo", "fixed_parameters", "restore_block", "LINEAR", "ITERATIVE", "TOL",
           "RL_FACTOR"]

LINEAR = ("regularized", "wiener", "inverse", "tikhonov")
ITERATIVE = ("richardson_lucy", "landweber")
DEFAULT_ITERATIONS = {"richardson_lucy": 30, "landweber": 100}
DEFAULT_BOUNDARY = {"regularized": "edgetaper", "wiener": "edgetaper", "inverse": "edgetaper",
                    "tikhonov": "reflect", "richardson_lucy": "reflect", "landweber": "reflect"}

TOL = 1e-7
"""Relative level below which the filter's impulse response counts as decayed."""

RL_FACTOR = 0.6
"""The iterative methods' halo: ``RL_FACTOR * sqrt(iterations)`` PSF half-widths."""

GRID_POINTS = 2**22
"""Most points of the grid the impulse response is measured on (32 MiB in float64)."""

WHOLE_BYTES = 256 * 2**20
"""Parameters are chosen on the whole volume when it takes at most this (in float64)."""

SAMPLE_BYTES = 64 * 2**20
"""... else on the central block of at most this many bytes (in float64)."""


def halo(psf, method, options, shape):
    """The halo per axis for ``method`` with its (fixed) ``options`` on a volume of
    ``shape``; ``(depth, capped)``, ``capped`` true when the filter had not decayed on
    the grid it was measured on (the halo is then a lower bound)."""
    k = psf.shape
    if method in ITERATIVE:
        n = options.get("iterations", DEFAULT_ITERATIONS[method])
        depth = tuple(min(math.ceil(RL_FACTOR * math.sqrt(n) * (kn // 2)), 2 * n * (kn // 2))
                      for kn in k)
        return tuple(min(d, s) for d, s in zip(depth, shape)), False
    grid = _grid(k)
    H = psf2otf(psf.astype(np.float64), grid)
    R = _response(H, method, options, grid)
    r = np.abs(scipy.fft.irfftn(R, grid, workers=-1))
    level = TOL * r.max()
    depth, capped = [], False
    for axis, m in enumerate(grid):
        p = r.max(axis=tuple(a for a in range(r.ndim) if a != axis))
        q = np.maximum(p[:m // 2 + 1], np.roll(p[::-1], 1)[:m // 2 + 1])
        above = np.nonzero(q > level)[0]
        reach = int(above.max()) + 1 if above.size else 0
        capped |= reach >= m // 2
        depth.append(min(reach + k[axis] // 2, shape[axis]))
    return tuple(depth), capped


def _grid(k):
    """At least ``8 k`` and 64 points per axis, halving the largest until small enough."""
    grid = [scipy.fft.next_fast_len(max(8 * kn, 64), real=True) for kn in k]
    while math.prod(grid) > GRID_POINTS:
        i = int(np.argmax(grid))
        grid[i] //= 2
    return tuple(grid)


def _response(H, method, options, grid):
    """The filter ``R`` on the real-FFT ``grid`` for a linear method."""
    ndim = len(grid)
    if method == "inverse":
        keep = np.abs(H) > options.get("threshold", 1e-2)
        return np.where(keep, 1 / np.where(keep, H, 1), 0)
    if method == "wiener":
        if "spectrum" in options:
            alpha, scale = options["spectrum"]
            power = scale * _radius_power(grid, alpha)
        else:
            power = options["nsr"]
    else:
        regularizer = options.get("regularizer", "laplacian")
        power = options["lam"] * _regularizer_power(regularizer, ndim)(grid)
    return np.conj(H) / (np.abs(H) ** 2 + power + 1e-300)


def fixed_parameters(x, psf, method, options, compute):
    """``(options, spectrum, where)``: ``options`` with every parameter the method would
    choose from the data chosen once on the whole volume (or its central block),
    ``spectrum`` Wiener's fitted ``(alpha, scale)`` or ``None``, and ``where`` says on
    what they were chosen."""
    opts = dict(options)
    boundary = opts.get("boundary") or DEFAULT_BOUNDARY[method]
    need = {"regularized": opts.get("lam") is None, "wiener": opts.get("nsr") is None,
            "tikhonov": opts.get("lam") is None,
            "richardson_lucy": opts.get("eps") is None}.get(method, False)
    if not need:
        return opts, None, "given"
    sample, where = _sample(x, compute)
    taper = "periodic" if boundary == "periodic" else "edgetaper"
    spectrum = None
    if method == "regularized":
        from .filters import regularized
        keep = {k: opts[k] for k in ("regularizer", "rule") if k in opts}
        _, info = regularized(sample, psf, None, opts.get("noise"), boundary=taper,
                              full_output=True, **keep)
        opts.update(lam=info["lam"], noise=info["noise"])
    elif method == "tikhonov":
        opts["lam"] = _automatic_lam(sample, psf, opts.get("noise"),
                                     opts.get("regularizer", "laplacian"))[0]
    elif method == "wiener":
        g, h, _ = _inputs(sample, psf, taper)
        sigma = _noise(g, opts.get("noise"))
        sp = Spectra(_lam_data(g, h, taper), h)
        alpha, c = fit_power_law(sp, sigma)
        spectrum = (alpha, sp.n * sigma ** 2 / c)
    else:
        top = float(np.max(sample)) if where == "whole volume" else float(compute(x.max())[0])
        single = np.dtype(x.dtype) == np.float32
        opts["eps"] = (1e-6 if single else 1e-12) * max(top, 1e-30)
    return opts, spectrum, where


def _sample(x, compute):
    """The whole volume as an array if it is small, else its central block."""
    from .._checks import available_bytes
    if x.size * 8 <= min(WHOLE_BYTES, available_bytes() // 4):
        return as_image(compute(x)[0]), "whole volume"
    size = list(x.shape)
    while math.prod(size) * 8 > SAMPLE_BYTES:
        i = int(np.argmax(size))
        size[i] = (size[i] + 1) // 2
    index = tuple(slice((n - s) // 2, (n - s) // 2 + s) for n, s in zip(x.shape, size))
    block = as_image(compute(x[index])[0])
    return block, "central block of shape " + "x".join(map(str, size))


def restore_block(block, psf, method, options, spectrum):
    """The per-chunk function: ``method`` on one block (with its halo) with the fixed
    ``options``; Wiener with the volume's fitted ``spectrum`` when given."""
    if spectrum is None:
        return METHODS[method](block, psf, **options)
    g, h, boundary = _inputs(block, psf, options.get("boundary", "edgetaper"))
    alpha, scale = spectrum
    f = _solve(g, h, boundary, lambda shape: scale * _radius_power(shape, alpha),
               options.get("iterations", 80), options.get("tol", CG_TOL))
    return f.astype(g.dtype, copy=False)
