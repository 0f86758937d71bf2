"""The K coefficient maps, worked on in blocks over deconvkit's pool of threads.

A solver's iteration on the circular model is, map by map, a short chain: an inverse
FFT, a few elementwise operations, a shrinkage, a forward FFT. Done on the whole
``(N, K, *spatial)`` array at once, every step of the chain is a pass over tens of
megabytes of memory; done block by block (a block of maps of about :data:`BLOCK_BYTES`),
the chain runs in cache and the blocks spread over the pool's threads (NumPy and
``scipy.fft`` release the GIL). The only couplings between the maps are sums over ``k``
(``D z = sum_k d_k * z_k``), which each block returns as a partial sum.

Small problems (all maps within one block) run inline on the calling thread, with the
FFTs given all the pool's threads.
"""

from __future__ import annotations

import threading

import numpy as np
import scipy.fft

from ..functional._layout import POOL, on_pool

__all__ = ["BLOCK_BYTES", "SCRATCH_BYTES", "blocks", "threads", "run", "accumulate", "scratch", "sum_squares", "dot",
           "rfft", "irfft", "synthesize", "analyse",
           "shrink_into"]

BLOCK_BYTES = 1 << 21
"""Spectrum bytes of one block: about one 512 x 512 complex128 map (L2 is 2 MiB here)."""

SCRATCH_BYTES = 4 * BLOCK_BYTES
"""The largest work array :func:`scratch` keeps for the next call; larger ones (a block
of one map larger than a block) are allocated afresh each time, not held by the thread."""


def blocks(n, k, map_bytes):
    """``(n_slice, k_slice)`` pairs covering ``n`` samples of ``k`` maps, in blocks of
    about :data:`BLOCK_BYTES` (``map_bytes`` per map); one block when all fit."""
    if n * k * map_bytes <= BLOCK_BYTES:
        return [(slice(0, n), slice(0, k))]
    per_k = max(1, BLOCK_BYTES // (n * map_bytes))
    if per_k >= 2 or n * map_bytes <= BLOCK_BYTES:
        return [(slice(0, n), slice(j, min(j + per_k, k))) for j in range(0, k, per_k)]
    per_n = max(1, BLOCK_BYTES // map_bytes)
    return [(slice(i, min(i + per_n, n)), slice(j, j + 1))
            for j in range(k) for i in range(0, n, per_n)]


def threads():
    """The threads of deconvkit's pool (:func:`deconvkit.get_num_threads`)."""
    return POOL.threads


def run(fn, parts):
    """``[fn(part, workers) for part in parts]``, on the pool's threads when there are
    several parts; ``workers`` is the FFT workers ``fn`` may use (the pool's threads when
    inline, else 1). Inline, on one thread, when called from a thread of the pool itself
    (a solve inside a pooled task must not wait for the pool)."""
    threads, executor = POOL.take()
    if on_pool():
        threads, executor = 1, None              # already on the pool: no nested waits
    if executor is None or len(parts) == 1:
        return [fn(part, threads) for part in parts]
    jobs = [executor.submit(fn, part, 1) for part in parts]
    return [job.result() for job in jobs]


def accumulate(fn, parts, shape, dtype, n_sums=0):
    """Run ``fn(part, workers, acc, sums)`` on every part and return the total
    ``(acc, sums)``: ``acc`` of ``shape`` and ``dtype``, ``sums`` float64 of ``n_sums``,
    each part adding its share into them.

    The same bits on every call: the parts are dealt in turn to a fixed number of groups
    (one per thread of the pool, one inline), each group adds its parts in order into its
    own zeroed ``acc`` and ``sums``, and the groups' totals are added in group order, not
    in the order the threads finish. Memory: one ``acc`` per thread.
    """
    threads, executor = POOL.take()
    groups = 1 if executor is None or on_pool() else max(1, min(threads, len(parts)))

    def group(j, workers):
        acc, sums = np.zeros(shape, dtype), np.zeros(n_sums)
        for part in parts[j::groups]:
            fn(part, workers, acc, sums)
        return acc, sums
    totals = run(group, list(range(groups)))
    acc, sums = totals[0]
    for more, more_sums in totals[1:]:
        acc += more
        sums += more_sums
    return acc, sums


_LOCAL = threading.local()


def scratch(name, shape, dtype):
    """A work array of this thread (uninitialised), kept between calls when no larger
    than :data:`SCRATCH_BYTES`. Saves the page faults of a fresh allocation per block
    (most costly in a virtual machine); the bound keeps a thread from holding on to a
    large array after the solve."""
    store = getattr(_LOCAL, "arrays", None)
    if store is None:
        store = _LOCAL.arrays = {}
    a = store.get(name)
    if a is None or a.shape != tuple(shape) or a.dtype != dtype:
        store.pop(name, None)
        a = np.empty(shape, dtype)
        if a.nbytes <= SCRATCH_BYTES:
            store[name] = a
    return a


def sum_squares(a):
    """``sum(a**2)`` of a real array as a float, accumulated in float64.

    Not ``np.vdot``: that is the BLAS's, whose threads sleep between the calls of a
    solver and, on a loaded machine, take a scheduler slice (up to tens of ms) to wake.
    """
    flat = a.reshape(-1)
    if flat.dtype == np.float64:
        return float(np.einsum("i,i->", flat, flat))
    return float(np.einsum("i,i->", flat, flat, dtype=np.float64))


def dot(a, b):
    """``sum(a * b)`` of two real arrays of one shape, as :func:`sum_squares` does it."""
    fa, fb = a.reshape(-1), b.reshape(-1)
    if fa.dtype == np.float64:
        return float(np.einsum("i,i->", fa, fb))
    return float(np.einsum("i,i->", fa, fb, dtype=np.float64))


def rfft(a, spatial, workers):
    """Real FFT over the trailing ``len(spatial)`` axes on the grid ``spatial``."""
    axes = tuple(range(a.ndim - len(spatial), a.ndim))
    return scipy.fft.rfftn(a, s=spatial, axes=axes, workers=workers)


def irfft(a, spatial, workers):
    """Inverse of :func:`rfft` (complex64 gives float32); overwrites ``a``.

    Done as the complex inverse over the leading axes in place, then the real inverse
    over the last: ``scipy.fft.irfftn`` on several axes works in a fresh temporary,
    whose page faults made it 4 to 6 times slower here (512 x 512, float64).
    """
    axes = tuple(range(a.ndim - len(spatial), a.ndim))
    if len(axes) > 1:
        a = scipy.fft.ifftn(a, s=spatial[:-1], axes=axes[:-1], workers=workers,
                            overwrite_x=True)
    return scipy.fft.irfft(a, n=spatial[-1], axis=-1, workers=workers, overwrite_x=True)


def synthesize(spectrum, zf, out):
    """``out[n, c] += sum_k spectrum[k, c] zf[n, k]`` (``D`` on spectra, one block of k).

    ``spectrum`` (k, C, *F), ``zf`` (n, k, *F), ``out`` (n, C, *F), all complex.
    """
    tmp = np.empty_like(zf[:, 0])
    for j in range(zf.shape[1]):
        for c in range(spectrum.shape[1]):
            np.multiply(zf[:, j], spectrum[j, c], out=tmp)
            out[:, c] += tmp
    return out


def analyse(spectrum_conj, rf, out):
    """``out[n, k] = sum_c conj(spectrum[k, c]) rf[n, c]`` (``Dᵀ`` on spectra, one block).

    ``spectrum_conj`` (k, C, *F), ``rf`` (n, C, *F), ``out`` (n, k, *F).
    """
    tmp = np.empty_like(out[:, 0]) if spectrum_conj.shape[1] > 1 else None
    for j in range(out.shape[1]):
        np.multiply(rf[:, 0], spectrum_conj[j, 0], out=out[:, j])
        for c in range(1, spectrum_conj.shape[1]):
            np.multiply(rf[:, c], spectrum_conj[j, c], out=tmp)
            out[:, j] += tmp
    return out


def shrink_into(v, threshold, nonneg, out, rest=None):
    """The proximal map of ``threshold ||.||₁`` (with ``nonneg``, plus the indicator of
    ``>= 0``) of ``v``, written into ``out`` (not ``v``); with ``rest``, ``v`` minus it
    written there (ADMM's next dual).

    Two passes: ``rest = clip(v, -threshold, threshold)`` (``min(v, threshold)`` with
    ``nonneg``) and ``out = v - rest``, which rounds as ``sign(v) (|v| - threshold)``
    does (``copysign`` and ``maximum`` cost three times a ``clip`` here).
    """
    rest = out if rest is None else rest
    np.clip(v, -np.inf if nonneg else -threshold, threshold, out=rest)
    return np.subtract(v, rest, out=out)
