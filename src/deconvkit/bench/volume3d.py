"""The 3-D Richardson–Lucy case and its runners, shared by the 3-D benchmark and its
memory measurements (which rebuild a runner by name in a fresh process).

The scene is synthetic and deterministic: cells (a smooth random field, thresholded
softly) under beads (points blurred by sigma 0.8), on a faint background, values in
[0, 1], axes (z, y, x). The observation is the 'valid' blur of a scene larger by the
PSF (no wrap-around: what a microscope records), plus Gaussian noise, clipped at 0,
float32; the truth is the scene under the frame.
"""

from __future__ import annotations

import numpy as np

from ..restoration.psf import gaussian
from .restoration_quality import seed_of

__all__ = ["SHAPE", "QUICK_SHAPE", "SIGMA", "NOISE", "ITERATIONS", "RUNNERS", "make_psf",
           "scene", "observe", "runner", "interior", "redlionfish_available",
           "tiled_available"]

SHAPE = (64, 256, 256)          # (z, y, x): 256x256 pixels, 64 slices
QUICK_SHAPE = (40, 40, 48)
SIGMA = (2.5, 1.5, 1.5)         # (z, y, x): a widefield PSF is longer along the optical axis
NOISE = 0.01
ITERATIONS = 20
CHUNKS, QUICK_CHUNKS = (64, 128, 128), (40, 24, 24)
RUNNERS = ("ours", "ours, periodic", "ours, tiled", "skimage", "RedLionfish CPU")


def make_psf(sigma=SIGMA):
    """The Gaussian PSF (integrated over each voxel), ``2 ceil(3 sigma) + 1`` per axis."""
    return gaussian(sigma)


def scene(shape, seed):
    """``(shape)`` float32 in [0, 1]: background 0.05, cells 0.3, beads up to 1."""
    from scipy import ndimage
    rng = np.random.default_rng(seed)
    field = ndimage.gaussian_filter(rng.standard_normal(shape, dtype=np.float32), 5.0)
    field /= field.std()
    cells = 0.5 * (1 + np.tanh(4 * (field - 1.0)))      # about 16% of the volume
    points = np.zeros(shape, np.float32)
    n = max(8, int(np.prod(shape)) // 4000)
    where = tuple(rng.integers(0, s, n) for s in shape)
    points[where] = rng.uniform(0.4, 1.0, n)
    beads = ndimage.gaussian_filter(points, 0.8)
    beads *= 1 / (ndimage.gaussian_filter(_impulse(), 0.8).max())
    out = 0.05 + 0.3 * cells + beads
    return np.clip(out, 0, 1, out=out).astype(np.float32, copy=False)


def _impulse():
    a = np.zeros((9, 9, 9), np.float32)
    a[4, 4, 4] = 1
    return a


def observe(shape, psf, name="volume"):
    """``(g, truth)``: the valid blur of a scene ``shape + k - 1``, noise, clipped at 0."""
    from scipy.signal import fftconvolve
    big = tuple(n + k - 1 for n, k in zip(shape, psf.shape))
    s = scene(big, seed_of("3d", name, shape))
    g = fftconvolve(s, psf.astype(np.float32), mode="valid")
    rng = np.random.default_rng(seed_of("3d noise", name, shape))
    g += NOISE * rng.standard_normal(g.shape, dtype=np.float32)
    np.maximum(g, 0, out=g)
    lo = tuple(k - 1 - k // 2 for k in psf.shape)        # scene index under image index 0
    truth = s[tuple(slice(a, a + n) for a, n in zip(lo, shape))]
    return g.astype(np.float32, copy=False), np.ascontiguousarray(truth)


def interior(shape, psf):
    """Slices leaving out twice the PSF's half-width on every side."""
    return tuple(slice(2 * (k // 2), n - 2 * (k // 2)) for n, k in zip(shape, psf.shape))


def tiled_available():
    try:
        from ..restoration import tiled  # noqa: F401
    except ImportError:
        return False
    return True


def redlionfish_available():
    try:
        import RedLionfishDeconv  # noqa: F401
    except ImportError:
        return False
    return True


def redlionfish_psf(psf):
    """The PSF as RedLionfish's CPU path centres it: on an even-sized axis of the data its
    ``change3DSizeTo`` + ``circulify3D`` put index ``k // 2`` of an even ``k`` at the
    origin, and shift an odd ``k`` by one voxel; a zero plane before each odd axis keeps
    our centre (``k // 2``) where it expects it."""
    pad = [(k % 2, 0) for k in psf.shape]
    return np.pad(psf, pad).astype(np.float32)


def _redlionfish(g, psf, iterations):
    from RedLionfishDeconv import doRLDeconvolutionFromNpArrays
    f = doRLDeconvolutionFromNpArrays(g, psf, niter=iterations, method="cpu")
    if f is None:     # it logs and returns None on any error
        raise RuntimeError("RedLionfish's CPU path returned None (an error, logged)")
    if f.shape != g.shape:   # an odd last axis comes back padded by one zero plane
        f = f[tuple(slice(0, n) for n in g.shape)]
    return f


def _tiled(g, psf, iterations, chunks, scheduler, out, overwrite):
    """Tiled Richardson–Lucy computed into memory, or written to ``out`` (then the stored
    array is returned unread)."""
    from ..restoration import tiled
    chunks = None if chunks is None else tuple(chunks)
    f = tiled(g, psf, "richardson_lucy", chunks=chunks, scheduler=scheduler, out=out,
              overwrite=overwrite, iterations=iterations)
    if out is not None:
        import zarr
        return zarr.open_array(str(out), mode="r") if str(out).endswith(".zarr") else f
    if isinstance(scheduler, str) and scheduler in ("threads", "processes", "synchronous"):
        return f.compute(scheduler=scheduler)
    return f.compute()      # a Client or "distributed...": the client tiled set up


def runner(name, g, psf, iterations=ITERATIONS, chunks=None, scheduler=None, out=None,
           overwrite=False):
    """The call ``fn()`` that restores ``g`` with runner ``name`` (one of :data:`RUNNERS`);
    ``chunks``, ``scheduler``, ``out`` and ``overwrite`` go to the tiled runner."""
    from ..restoration.lucy import richardson_lucy
    if name == "ours":
        return lambda: richardson_lucy(g, psf, iterations)
    if name == "ours, periodic":
        return lambda: richardson_lucy(g, psf, iterations, boundary="periodic")
    if name == "ours, tiled":
        return lambda: _tiled(g, psf, iterations, chunks, scheduler, out, overwrite)
    if name == "skimage":
        from skimage.restoration import richardson_lucy as sk_rl
        psf32 = psf.astype(np.float32)
        return lambda: sk_rl(g, psf32, num_iter=iterations, clip=False)
    if name == "RedLionfish CPU":
        rpsf = redlionfish_psf(psf)
        return lambda: _redlionfish(g, rpsf, iterations)
    raise ValueError(f"unknown runner {name!r}; known: {RUNNERS}")
