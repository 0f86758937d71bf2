"""How many threads deconvkit uses, and how to change it.

deconvkit's work runs in two places:

* NumPy's BLAS (OpenBLAS or MKL) for the matrix products, with its own thread pool:
  by default one thread per core. Set ``OPENBLAS_NUM_THREADS`` / ``MKL_NUM_THREADS`` /
  ``OMP_NUM_THREADS`` before NumPy is imported, or call :func:`set_num_threads`
  (it uses ``threadpoolctl`` for the BLAS when that package is installed).
* one shared pool of Python threads that splits large batches of tiny products (the
  depthwise, large-stride path of ``polyphase``, which BLAS would run on one thread).

Calling deconvkit from several threads at once does not multiply the threads: every
call shares the one pool (callers wait for it), and the BLAS serializes or shares its
own pool. For throughput on many small independent problems, batch them (the batch
axis ``N``) rather than calling from many threads.
"""

from __future__ import annotations

import os

from ._checks import check_int
from .functional import _layout

__all__ = ["get_num_threads", "set_num_threads", "available_cores"]

MAX_THREADS = 1024


def available_cores() -> int:
    """Cores this process may run on (the CPU affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def get_num_threads() -> int:
    """Threads of deconvkit's own pool (the BLAS has its own setting).

    >>> get_num_threads() >= 1
    True
    """
    return _layout.POOL.threads


def set_num_threads(n: int) -> None:
    """Use ``n`` threads in deconvkit's pool and, with ``threadpoolctl``, in the BLAS.

    Parameters
    ----------
    n : int
        At least 1. ``set_num_threads(1)`` makes every call single-threaded when
        ``threadpoolctl`` is installed (otherwise set ``OPENBLAS_NUM_THREADS=1``
        before importing NumPy).
    """
    n = check_int(n, "the number of threads", 1, MAX_THREADS)
    _layout.POOL.resize(n)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(n, user_api="blas")
