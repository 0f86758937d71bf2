"""Array plumbing shared by the GEMM-based algorithms (:mod:`.gemm`, :mod:`.polyphase`).

* :func:`window_source`: the one pad-or-crop (a range of positions, zero outside);
  :func:`insert_zeros`: the one zero insertion (strides, dilations);
* :func:`windows`: im2col as a strided view;
* :func:`contract`: gather the columns of a window view and multiply them with one GEMM
  per group, batching the samples into the GEMM and bounding the column buffer;
* :func:`shifted_gemms`: a sum of GEMMs with shifted flat views (no im2col);
* :func:`scatter_slices`, :func:`chunks`: the slices of strided scatters and gathers
  (col2im, depth to space, space to depth), and cache-sized blocks to run them in.
"""

from __future__ import annotations

import itertools
import math
import os
import threading

import numpy as np
from numpy.lib.stride_tricks import as_strided, sliding_window_view

COLS_BUDGET = 1 << 25   # elements of one column buffer before chunking over the batch
BATCH_BELOW = 4096      # fold the samples into the GEMM when a sample has fewer columns
CHUNK_BYTES = 1 << 19   # strided copies run in blocks of about this many bytes ...
MAX_COPIES = 4096       # ... unless that takes more than this many copies
PARALLEL_BYTES = 1 << 22  # batches of small products run on POOL's threads above this output
STACK_BUDGET = 1 << 24  # elements of the stacked products of the shifted-view GEMMs
BLOCKS_MIN_STRIDE = 2   # space to depth by block copies when every stride is at least this


def window_source(x, start, length):
    """Positions ``[start, start + length)`` of the last ``len(start)`` axes of ``x``.

    Zero outside ``x``. A view of ``x`` when the range lies inside it, else a new
    zero-padded array (one copy of the overlapping part).
    """
    nd = len(start)
    size = x.shape[x.ndim - nd:]
    if all(0 <= b and b + n <= m for b, n, m in zip(start, length, size)):
        return x[(Ellipsis,) + tuple(slice(b, b + n) for b, n in zip(start, length))]
    buf = np.zeros(x.shape[:x.ndim - nd] + tuple(length), x.dtype)
    lo = [min(max(b, 0), m) for b, m in zip(start, size)]
    hi = [max(min(b + n, m), a) for b, n, m, a in zip(start, length, size, lo)]
    src = tuple(slice(a, c) for a, c in zip(lo, hi))
    dst = tuple(slice(a - b, c - b) for a, c, b in zip(lo, hi, start))
    buf[(Ellipsis,) + dst] = x[(Ellipsis,) + src]
    return buf


def insert_zeros(x, stride):
    """Put ``s - 1`` zeros between neighbouring samples on each of the last ``len(stride)``
    axes (a new array; ``x`` itself when every stride is 1)."""
    if all(s == 1 for s in stride):
        return x
    nd = len(stride)
    size = tuple((n - 1) * s + 1 for n, s in zip(x.shape[x.ndim - nd:], stride))
    z = np.zeros(x.shape[:x.ndim - nd] + size, dtype=x.dtype)
    z[(Ellipsis,) + tuple(slice(None, None, s) for s in stride)] = x
    return z


def conv_source(x, spec, out_size):
    """The part of the zero-padded input that ``conv`` reads for ``out_size`` outputs:
    positions ``[-p_lo, -p_lo + spec.full_size(out_size))`` (see :func:`window_source`)."""
    return window_source(x, tuple(-lo for lo, _ in spec.padding), spec.full_size(out_size))


def windows(xs, kernel, stride, dilation, out_size):
    """im2col as a view: ``(*lead, *k, *out)`` with ``[..., j, i] = xs[..., i*s + j*d]``.

    ``xs`` must cover ``(out - 1) * s + d * (k - 1) + 1`` positions per spatial axis.
    """
    nd = len(kernel)
    ext = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    v = sliding_window_view(xs, ext, axis=tuple(range(xs.ndim - nd, xs.ndim)))
    pos = tuple(slice(0, (m - 1) * s + 1, s) for m, s in zip(out_size, stride))
    v = v[(Ellipsis,) + pos + tuple(slice(None, None, d) for d in dilation)]
    return np.moveaxis(v, tuple(range(-nd, 0)), tuple(range(-2 * nd, -nd)))


def batch_columns(n, m):
    """Whether to fold the samples into the GEMM's columns (``m`` columns per sample)."""
    return n > 1 and m < BATCH_BELOW


def contract(wm, win, n_red):
    """``y[n, g, o, *pos] = sum_r wm[g, o, r] * win[n, g, *red, *pos]`` (``red`` flattened).

    ``win (N, G, *red, *pos)`` is any (strided) view; its columns are copied into one
    buffer per chunk of samples and multiplied with one GEMM per group. The buffer is
    laid out so that the copy's inner loop is long: positions inside (``(R, M)``, the
    usual im2col) or, when the last kernel axis is longer than the last position axis
    (weight gradients: big kernel, small output), taps inside (``(M, R)``). Returns
    ``(N, G, rows, *pos)``, possibly a non-contiguous view.
    """
    n, g = win.shape[:2]
    red, pos = win.shape[2:2 + n_red], win.shape[2 + n_red:]
    r, m = math.prod(red), math.prod(pos)
    layout = ("taps" if pos and len(red) > 1 and red[-1] > pos[-1]
              else "batched" if batch_columns(n, m) else "sample")
    chunk = max(1, min(n, COLS_BUDGET // max(1, g * r * m)))
    if chunk >= n:
        return multiply(wm, gather(win, n_red, layout), n_red, layout)
    y = np.empty((n, g, wm.shape[1]) + pos, win.dtype)
    for a in range(0, n, chunk):
        part = win[a:a + chunk]
        y[a:a + chunk] = multiply(wm, gather(part, n_red, layout), n_red, layout)
    return y


def gather(win, n_red, layout):
    """The columns of ``win (N, G, *red, *pos)`` in one contiguous buffer laid out as
    ``(G, *red, N, *pos)`` ("batched"), ``(N, G, *red, *pos)`` ("sample") or
    ``(G, N, *pos, *red)`` ("taps")."""
    if layout == "batched":
        win = np.moveaxis(win, 0, 1 + n_red)
    elif layout == "taps":
        win = win.transpose((1, 0) + tuple(range(2 + n_red, win.ndim))
                            + tuple(range(2, 2 + n_red)))
    cols = np.empty(win.shape, win.dtype)
    np.copyto(cols, win)
    return cols


def multiply(wm, cols, n_red, layout):
    """GEMM of ``wm (G, rows, R)`` with columns laid out as by :func:`gather`;
    returns ``(N, G, rows, *pos)`` (a view unless the layout is "sample")."""
    if layout == "batched":
        g, red = cols.shape[0], cols.shape[1:1 + n_red]
        n, pos = cols.shape[1 + n_red], cols.shape[2 + n_red:]
        y = np.matmul(wm, cols.reshape(g, math.prod(red), -1)).reshape((g, -1, n) + pos)
        return np.moveaxis(y, 2, 0)
    if layout == "taps":
        g, n = cols.shape[:2]
        pos, red = cols.shape[2:cols.ndim - n_red], cols.shape[cols.ndim - n_red:]
        y = np.matmul(cols.reshape(g, -1, math.prod(red)), wm.transpose(0, 2, 1))
        return np.moveaxis(y.reshape((g, n) + pos + (-1,)), (0, -1), (1, 2))
    n, g, red, pos = cols.shape[0], cols.shape[1], cols.shape[2:2 + n_red], cols.shape[2 + n_red:]
    y = np.matmul(wm, cols.reshape(n, g, math.prod(red), -1))
    return y.reshape((n, g, -1) + pos)


def shifted_gemms(wm, xsd, plans, n, n_u, out_size):
    """``y[n, g, o, i] = sum_l wm[g, o, :, l] @ X[g, :, n, i + cmin + l*step]`` with shifted
    flat views of ``X (G, rows, N * prod(n_u))`` (columns that straddle rows or samples are
    computed and dropped): the offsets' weights stacked as the rows of one GEMM (in
    batches of ``STACK_BUDGET`` elements of its output), then the shifted sum."""
    g, rows, total = xsd.shape
    cog = wm.shape[1]
    pitches = [math.prod(n_u[a + 1:]) for a in range(len(n_u))]
    shifts = [sum(i * p.step * pitch for i, p, pitch in zip(l, plans, pitches))
              for l in np.ndindex(*(p.offsets for p in plans))]
    width = total - max(shifts)
    step = max(1, STACK_BUDGET // (g * cog * total))
    y = None
    for a in range(0, len(shifts), step):
        part = shifts[a:a + step]
        ws = np.ascontiguousarray(np.moveaxis(wm[..., a:a + len(part)], 3, 1))
        z = np.matmul(ws.reshape(g, -1, rows), xsd).reshape(g, len(part), cog, total)
        for i, sh in enumerate(part):
            if y is None:
                y = z[:, i, :, sh:sh + width].copy()
            else:
                y += z[:, i, :, sh:sh + width]
    item = y.itemsize
    view = as_strided(y, (g, y.shape[1], n) + tuple(out_size),
                      y.strides[:2] + (math.prod(n_u) * item,) + tuple(p * item for p in pitches),
                      writeable=False)
    return np.moveaxis(view, 2, 0)


def scatter_slices(offset, m, s, lo, n_out):
    """Slices of ``i`` in ``[0, m)`` and ``o = i*s + offset - lo`` in ``[0, n_out)``.

    ``None`` when no ``i`` lands inside ``[0, n_out)``.
    """
    first = max(0, -((offset - lo) // s))             # ceil((lo - offset) / s)
    last = min(m - 1, (n_out - 1 + lo - offset) // s)
    if first > last:
        return None
    o = first * s + offset - lo
    return slice(first, last + 1), slice(o, o + (last - first) * s + 1, s)


def blocks_apply(size, strides, phases):
    """Whether :func:`space_to_depth_blocks` can fill these phases of an input of ``size``."""
    return (min(strides) >= BLOCKS_MIN_STRIDE and not any(m % s for m, s in zip(size, strides))
            and all(tuple(p) == tuple(range(s)) for p, s in zip(phases, strides)))


def space_to_depth_blocks(view, x, strides, starts):
    """``view[n, c, *q, *u] = x[n, c, s*u + q + start]`` for every phase ``q`` (zero where
    that is outside ``x``; ``s`` divides the size of ``x``). With
    ``start = s*a + b``, the input viewed as ``(V, s)`` blocks per axis gives the phases
    ``q < s - b`` from block ``u + a`` and the others from block ``u + a + 1``: at most two
    block copies per axis, run in cache-sized blocks of ``(n, c)``."""
    n, c, *size = x.shape
    nd = len(size)
    split = x.reshape((n, c) + sum(((m // s, s) for m, s in zip(size, strides)), ()))
    src = split.transpose((0, 1) + tuple(range(3, 2 + 2 * nd, 2)) + tuple(range(2, 2 + 2 * nd, 2)))
    pieces = []
    for m, s, start, u in zip(size, strides, starts, view.shape[2 + nd:]):
        a, b = divmod(start, s)
        axis = []
        for q0, q1, src_q, shift in ((0, s - b, b, a), (s - b, s, 0, a + 1)):
            lo = min(max(0, -shift), u)
            hi = max(min(u, m // s - shift), lo)
            if q0 < q1:                     # an empty u range only has margins
                axis.append((slice(q0, q1), slice(lo, hi),
                             slice(src_q, src_q + q1 - q0), slice(lo + shift, hi + shift)))
        pieces.append(axis)
    for a, axis in enumerate(pieces):      # the margins: outside x along axis a
        for q, u, _, _ in axis:
            at = (slice(None),) * (2 + a) + (q,) + (slice(None),) * (nd - 1)
            view[at + (slice(0, u.start),)] = 0
            view[at + (slice(u.stop, None),)] = 0
    combos = list(itertools.product(*pieces))
    for block in chunks((n, c), math.prod(size) * x.itemsize, len(combos)):
        vb, sb = view[block], src[block]
        for combo in combos:
            vb[(slice(None),) * 2 + tuple(p[0] for p in combo) + tuple(p[1] for p in combo)] = \
                sb[(slice(None),) * 2 + tuple(p[2] for p in combo) + tuple(p[3] for p in combo)]


def space_to_depth(x, strides, phases, starts, n_u, layout):
    """``xsd[n, c, *p, *u] = x[n, c, s*u + phases[p] + start]`` (zero outside ``x``).

    Returned in the physical axis order ``layout`` (a permutation of the logical axes
    ``(n, c, *p, *u)``); filled phase by phase in cache-sized blocks of ``(n, c)``, or by
    :func:`.space_to_depth_blocks` when every phase is wanted.
    """
    n, c, *size = x.shape
    shape = (n, c) + tuple(len(p) for p in phases) + tuple(n_u)
    blocks = blocks_apply(size, strides, phases)
    out = (np.empty if blocks else np.zeros)([shape[a] for a in layout], x.dtype)
    view = out.transpose(np.argsort(layout))
    if blocks:
        space_to_depth_blocks(view, x, strides, starts)
        return out
    for block in chunks((n, c), math.prod(size) * x.itemsize, math.prod(map(len, phases))):
        vb, xb = view[block], x[block]
        for idx in itertools.product(*(range(len(p)) for p in phases)):
            sl = [scatter_slices(ph[i] + b, u, s, 0, m)
                  for i, ph, b, u, s, m in zip(idx, phases, starts, n_u, strides, size)]
            if None not in sl:
                vb[(slice(None),) * 2 + idx + tuple(u for u, _ in sl)] = \
                    xb[(slice(None),) * 2 + tuple(o for _, o in sl)]
    return out


def chunks(outer, inner_bytes, copies):
    """Index tuples over the leading axes ``outer`` of blocks of about ``CHUNK_BYTES``
    (``inner_bytes`` per leading index), so that a strided copy done phase by phase
    finishes each block while it is in cache. ``[()]`` (one block) when the blocks
    would take more than ``MAX_COPIES`` copies of ``copies`` each."""
    fit = max(1, CHUNK_BYTES // max(1, inner_bytes))
    a, inner = len(outer), 1
    while a > 0 and inner * outer[a - 1] <= fit:
        inner *= outer[a - 1]
        a -= 1
    if a == 0:
        return [()]
    step = max(1, fit // inner)
    blocks = [tuple(slice(i, i + 1) for i in idx) + (slice(b, b + step),)
              for idx in np.ndindex(*outer[:a - 1]) for b in range(0, outer[a - 1], step)]
    return blocks if len(blocks) * copies <= MAX_COPIES else [()]


class _Pool:
    """The shared pool of Python threads, safe to resize while other threads use it.

    A resize replaces the executor instead of shutting it down: calls already running
    keep the one they took, and its threads exit once it is no longer referenced.
    """

    def __init__(self, threads):
        self._lock = threading.Lock()
        self._threads, self._executor = threads, None

    @property
    def threads(self) -> int:
        return self._threads

    def resize(self, threads: int) -> None:
        with self._lock:
            if threads != self._threads:
                self._threads, self._executor = threads, None

    def take(self):
        """``(threads, executor)`` for one call (the executor made on first use)."""
        with self._lock:
            if self._executor is None and self._threads > 1:
                from concurrent.futures import ThreadPoolExecutor
                self._executor = ThreadPoolExecutor(self._threads, "deconvkit",
                                                    initializer=_mark_worker)
            return self._threads, self._executor


_WORKER = threading.local()


def _mark_worker():
    _WORKER.on_pool = True


def on_pool():
    """Whether the calling thread is one of the pool's workers (a task of the pool must
    not wait for the pool)."""
    return getattr(_WORKER, "on_pool", False)


POOL = _Pool(min(2, os.cpu_count() or 1))


def batched_matmul(a, b, out):
    """``np.matmul(a, b, out=out)`` for a large batch of small products (which BLAS runs
    on one thread), split over the :data:`POOL`'s threads along the first batch axis of
    ``out`` that has several entries (NumPy releases the GIL in ``matmul``)."""
    threads = POOL.threads
    axis = next((i for i, size in enumerate(out.shape[:-2]) if size >= threads), None)
    if threads < 2 or axis is None or out.nbytes < PARALLEL_BYTES:
        np.matmul(a, b, out=out)
        return out
    threads, executor = POOL.take()
    if executor is None:
        np.matmul(a, b, out=out)
        return out
    bounds = np.linspace(0, out.shape[axis], threads + 1).astype(int)

    def part(lo, hi):
        def cut(arr):
            k = axis - (out.ndim - arr.ndim)
            if k < 0 or arr.shape[k] == 1:
                return arr
            return arr[(slice(None),) * k + (slice(lo, hi),)]
        np.matmul(cut(a), cut(b), out=cut(out))
    for job in [executor.submit(part, lo, hi) for lo, hi in zip(bounds[:-1], bounds[1:])]:
        job.result()
    return out
