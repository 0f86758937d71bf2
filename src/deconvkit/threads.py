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

__all__ = ["get_num_threads", "set_num_threads", "available_cores", "keep_freed_memory"]

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


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3   # glibc's mallopt parameters
MAX_KEEP = 2**31 - 1


def keep_freed_memory(nbytes: int = 256 * 2**20) -> bool:
    """Keep up to ``nbytes`` of freed memory in the process instead of returning it to the
    operating system (glibc ``mallopt``); returns whether it could be set.

    glibc gives a freed block back to the OS when it is large (``mmap`` threshold) or sits
    at the top of the heap with more than a trim threshold free, and maps fresh pages on
    the next allocation: each first touch of a page is then a page fault (expensive in a
    virtual machine). The FFTs of the restoration loops allocate and free a few
    megabytes per iteration, so on this project's 2-core VM Richardson–Lucy spent up to
    40% of its time in those faults (512x512, ``boundary="reflect"``: 238 ms for 30
    iterations, 139 ms with this set). The setting is process-wide and lasts until the
    process ends; the price is a resident size that does not shrink by up to ``nbytes``
    after large temporaries are freed. ``deconvkit restore`` and ``deconvkit bench`` set
    it; the library never does on its own. Setting ``MALLOC_TRIM_THRESHOLD_`` and
    ``MALLOC_MMAP_THRESHOLD_`` in the environment has the same effect.

    Parameters
    ----------
    nbytes : int
        Freed memory to keep (the trim threshold), and the smallest block size that is
        mapped on its own rather than taken from the heap; 1 MiB to 2 GiB.

    Returns
    -------
    bool
        ``False`` where glibc's ``mallopt`` is not available (other C libraries, other
        systems): nothing changed.
    """
    nbytes = check_int(nbytes, "nbytes", 2**20, MAX_KEEP)
    try:
        import ctypes
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    ok = mallopt(_M_MMAP_THRESHOLD, min(nbytes, 2**25))  # glibc caps it at 32 MiB
    return bool(mallopt(_M_TRIM_THRESHOLD, nbytes) and ok)
