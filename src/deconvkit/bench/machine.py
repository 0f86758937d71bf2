"""What this machine can do: float32 GEMM rate and memory bandwidth, measured now."""

from __future__ import annotations

import time

import numpy as np


def _best(fn, repeats):
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def gemm_gflops(n=1024, repeats=7) -> float:
    """Best float32 ``n x n @ n x n`` rate of NumPy's BLAS, in GFLOP/s."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    out = np.empty((n, n), np.float32)
    return 2 * n ** 3 / _best(lambda: np.matmul(a, b, out=out), repeats) / 1e9


def bandwidth_gbs(mbytes=256, repeats=5) -> float:
    """Best copy bandwidth (bytes read + written) of a large float32 array, in GB/s."""
    a = np.ones(mbytes * 2 ** 20 // 4, np.float32)
    b = np.empty_like(a)
    return 2 * a.nbytes / _best(lambda: np.copyto(b, a), repeats) / 1e9
