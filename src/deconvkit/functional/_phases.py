"""Phase structure of a strided kernel, and the weights laid out by phase.

Per axis, tap ``j`` of a kernel with stride ``s`` and dilation ``d`` touches position
``s*(i + c_j) + q_j`` (phase ``q_j``, offset ``c_j``; see :mod:`.polyphase`).
:func:`axis_plan` groups the taps by phase into a table, :func:`phase_weights` gathers
the weights by that table, and :func:`transpose_matrix` lays them out as the GEMM
weights of ``polyphase.conv_transpose``.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

TAKE_MAX = 1 << 18   # transposed GEMM weights through a cached index up to this size


@dataclass(frozen=True)
class AxisPlan:
    """Phase structure of one axis: hit phases, shared offsets, and the tap table.

    ``taps[p, l]`` is the tap ``j`` with phase ``phases[p]`` and offset
    ``cmin + l*step``, or ``size`` (a zero tap) when there is none.
    """

    size: int
    stride: int
    phases: tuple
    cmin: int
    step: int
    taps: np.ndarray

    @property
    def offsets(self) -> int:
        return self.taps.shape[1]

    @property
    def span(self) -> int:
        return (self.offsets - 1) * self.step + 1

    @property
    def complete(self) -> bool:
        return len(self.phases) == self.stride

    def all_phases(self) -> np.ndarray:
        """The tap table with a row for every phase ``0..s-1`` (zero taps where unhit)."""
        table = np.full((self.stride, self.offsets), self.size)
        table[list(self.phases)] = self.taps
        return table


@functools.lru_cache(maxsize=256)
def axis_plan(k, s, d, shift=0) -> AxisPlan:
    """Phases ``(j*d - shift) mod s`` and offsets ``(j*d - shift) div s`` of taps ``0..k-1``."""
    j = np.arange(k)
    c, q = (j * d - shift) // s, (j * d - shift) % s
    cmin = int(c.min())
    step = int(np.gcd.reduce(c - cmin)) or 1
    phases = np.unique(q)
    taps = np.full((phases.size, (int(c.max()) - cmin) // step + 1), k)
    taps[np.searchsorted(phases, q), (c - cmin) // step] = j
    taps.flags.writeable = False
    return AxisPlan(k, s, tuple(int(p) for p in phases), cmin, step, taps)


@functools.lru_cache(maxsize=64)
def _regular(p, l):
    """The tap table ``T[q, l] = q + p*l`` of ``d = 1`` with ``s = p`` dividing ``k``."""
    return (np.arange(p)[:, None] + p * np.arange(l)[None, :]).ravel()


def phase_weights(w, tables):
    """``w (C, C', *k)`` gathered to ``(C, C', *P, *L)``: ``[..., p, l] = w[..., T[p, l]]``,
    where a table entry ``k`` (one past the last tap) is a zero. A view when it can be."""
    nd = len(tables)
    for a, table in enumerate(tables):
        axis = 2 + 2 * a
        p, l = table.shape
        if table.size == w.shape[axis] and np.array_equal(table.ravel(), _regular(p, l)):
            w = w.reshape(w.shape[:axis] + (l, p) + w.shape[axis + 1:]).swapaxes(axis, axis + 1)
            continue
        if table.max() >= w.shape[axis]:
            w = np.concatenate([w, np.zeros_like(w[(slice(None),) * axis + (slice(0, 1),)])],
                               axis=axis)
        w = w.take(table.ravel(), axis=axis)
        w = w.reshape(w.shape[:axis] + table.shape + w.shape[axis + 1:])
    return w.transpose((0, 1) + tuple(range(2, 2 + 2 * nd, 2)) + tuple(range(3, 3 + 2 * nd, 2)))


def _plans(spec, shifts=None):
    shifts = shifts or (0,) * spec.ndim
    return [axis_plan(k, s, d, sh) for k, s, d, sh in
            zip(spec.kernel_size, spec.stride, spec.dilation, shifts)]


def transpose_matrix(w, plans, g):
    """GEMM weights ``(G, C'/g * prod(P), cig * prod(L))``: rows (C', *P), reduction (cig, *L).

    A view of ``w`` where the axes allow it (``s = k``). Otherwise, for C-contiguous
    weights of up to ``TAKE_MAX`` elements, a gather through a cached index: the
    transposing copy's inner loops are only one or two taps long (S1's 64x64x4x4
    weights: 126 us as a copy, 37 us as a gather; S4's: 22 us and 4 us).
    """
    tables = [p.taps for p in plans]
    if w.size > TAKE_MAX or not w.flags.c_contiguous:
        return _transpose_matrix(w, tables, g)
    index, zero_taps = _transpose_index(w.shape, g, tuple((t.shape, t.dtype.str, t.tobytes())
                                                             for t in tables))
    if index is None:
        return _transpose_matrix(w, tables, g)
    flat = w.reshape(-1)
    if zero_taps:                                   # index -1: the appended zero
        flat = np.concatenate([flat, np.zeros(1, w.dtype)])
    return flat.take(index)


def _transpose_matrix(w, tables, g):
    c_in, cog, nd = w.shape[0], w.shape[1], len(tables)
    wp = phase_weights(w, tables)                               # (c_in, cog, *P, *L)
    wp = wp.reshape((g, c_in // g, cog) + wp.shape[2:])
    perm = (0, 2) + tuple(range(3, 3 + nd)) + (1,) + tuple(range(3 + nd, 3 + 2 * nd))
    return wp.transpose(perm).reshape(g, math.prod(t.shape[0] for t in tables) * cog, -1)


@functools.lru_cache(maxsize=16)
def _transpose_index(shape, g, tables_key):
    """Flat positions in a C-contiguous ``w`` of :func:`transpose_matrix`'s entries (``-1``:
    a zero tap) and whether there are zero taps; ``(None, False)`` when the result is a
    view of ``w`` (no copy to save)."""
    tables = [np.frombuffer(b, dtype=d).reshape(s) for s, d, b in tables_key]
    positions = np.arange(1, math.prod(shape) + 1).reshape(shape)
    at = _transpose_matrix(positions, tables, g)
    if np.shares_memory(at, positions):
        return None, False
    at = at - 1
    at.flags.writeable = False
    return at, bool((at < 0).any())
