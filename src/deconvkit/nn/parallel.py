"""Elementwise work of the layers, split along the batch axis over deconvkit's threads.

NumPy runs one ufunc on one thread but releases the GIL inside it, so a large
elementwise pass (ReLU, BatchNorm's normalization, pooling's tap loop) split into a
chunk of samples per thread runs on every core. The threads are the shared pool of
:mod:`deconvkit.threads` (``set_num_threads`` applies); small arrays stay on the
calling thread.
"""

from __future__ import annotations

import numpy as np

from ..functional import _layout

__all__ = ["over_batch", "PARALLEL_BYTES"]

PARALLEL_BYTES = 1 << 20   # split only when the batch's arrays hold at least this many bytes


def over_batch(fn, *arrays):
    """Run ``fn(*chunks)`` on chunks of samples of ``arrays``, one chunk per thread.

    Parameters
    ----------
    fn : callable
        Writes its results into its arguments (``out=`` views) and/or returns a value.
        Per-channel values and other constants go in through a closure.
    *arrays : ndarray
        Arrays with the same first (batch) axis, all cut at the same samples. Threads
        are used when the largest holds at least :data:`PARALLEL_BYTES`.

    Returns
    -------
    list
        ``fn``'s return values, one per chunk, in batch order.

    Examples
    --------
    >>> x = np.arange(6.0).reshape(3, 2)
    >>> y = np.empty_like(x)
    >>> _ = over_batch(lambda a, out: np.multiply(a, 2, out=out), x, y)
    >>> y[:, 0]
    array([0., 4., 8.])
    """
    n = arrays[0].shape[0] if arrays[0].ndim else 1
    if any(a.shape[:1] != arrays[0].shape[:1] for a in arrays):
        raise ValueError(f"arrays must share their first axis, got {[a.shape for a in arrays]}")
    threads = min(_layout.THREADS, n)
    if threads < 2 or max(a.nbytes for a in arrays) < PARALLEL_BYTES:
        return [fn(*arrays)]
    bounds = np.linspace(0, n, threads + 1).astype(int)
    jobs = [_layout._pool().submit(fn, *(a[lo:hi] for a in arrays))
            for lo, hi in zip(bounds[:-1], bounds[1:])]
    return [job.result() for job in jobs]
