"""Polyphase algorithm: strided (transposed) convolution as stride-1 pieces, no zeros.

Per axis, tap ``j`` of a kernel with stride ``s`` and dilation ``d`` touches position
``i*s + j*d - shift = s*(i + c_j) + q_j`` with phase ``q_j = (j*d - shift) mod s`` and
offset ``c_j = (j*d - shift) div s``. Grouping the taps by phase:

* ``conv_transpose``: phase ``q`` of the full scatter (``shift = 0``, ``t = s*u + q``) is
  ``P_q[u] = sum_{j: q_j = q} x[u - c_j] w[j]``, a stride-1 correlation of the input
  with the sub-kernel of the taps that land on ``q``. Every phase reads the offsets
  ``c_min + l*step`` (``l < L``), so one im2col of the small input (``prod(L)`` strided
  copies) feeds one GEMM per group whose rows are all the phases' sub-kernels (a zero
  where a phase has no tap at an offset); the phases are then interleaved into the
  output (depth to space), cropped on the fly, in cache-sized blocks.
* Depthwise-like problems (few input channels per group, large stride) use the
  output-aligned phases (``shift = p_lo``, ``o = s*v + b``): the output, viewed as
  ``(..., V, s)`` blocks per axis, *is* a batch of small matrix products
  ``x-windows (V_last, R) @ sub-kernels (R, s_last)``, written in place with no copy.
* ``conv``: the adjoint. ``y[i] = sum_q sum_l W[q, l] X_q[i + c_min + l*step]`` where
  ``X_q[u] = x_pad[s*u + q]`` are the polyphase components of the input, gathered once
  (space to depth, zero padding included). ``y`` is then a sum over the offsets ``l``
  of shifted flat views of one GEMM of them with the offsets' weights stacked as rows
  (no im2col), or one GEMM with an im2col
  when the offsets are many and the phases few. When the output is tiny and the kernel
  big (weight gradients), one GEMM per output position reads the input's dilation
  phases as shifted flat views instead. Weight gradients have their own path
  (:mod:`._wgrad`) where it wastes little.

With ``d = 1`` every phase uses the offsets ``0..ceil(k/s)-1``, so nothing is multiplied
by an inserted zero unless ``s`` does not divide ``k``. Phases no tap reaches (``s > k``
or ``gcd(s, d) > 1``) are left out of the GEMM and are zero in the output.
"""

from __future__ import annotations

import functools
import itertools
import math

import numpy as np
from numpy.lib.stride_tricks import as_strided, sliding_window_view

from . import _layout
from ._layout import (batch_columns, batched_matmul, chunks, contract, multiply, scatter_slices,
                      space_to_depth)
from ._phases import _plans, phase_weights, transpose_matrix
from ._wgrad import applies as weight_grad_applies, weight_grad  # noqa: F401  (the method's own)

NAME = "polyphase"

FUSED_MAX_REDUCTION = 32   # output-aligned batched products when cig * prod(L) <= this ...
FUSED_MIN_STRIDE = 4       # ... and the last axis' stride is at least this
RUNS_MIN_STRIDE = 4        # depth to space by block copies when the last stride is this large
IMPLICIT_MIN_ROWS = 32     # conv: shifted-view GEMMs when cig * prod(phases) >= this ...
IMPLICIT_MAX_OFFSETS = 64  # ... and there are at most this many offsets
POSITION_MAX_OUT = 512     # conv: one GEMM per output position for outputs this small ...
POSITION_MAX_WASTE = 1.5   # ... when the kernel grid padded to the input phases is this tight


# ---------------------------------------------------------------- transposed convolution
def conv_transpose(x, w, spec):
    """Transposed convolution: every output phase from one GEMM, interleaved."""
    out_size = spec.transpose_output_size(x.shape[2:])
    if fused_applies(x.shape, spec, out_size):
        return conv_transpose_fused(x, w, spec, out_size)
    n, c_in, *size = x.shape
    cog, g, nd = w.shape[1], spec.groups, spec.ndim
    plans = _plans(spec)
    # full position t = s*(u0 + u) + q covers the output t = o + lo, o in [0, n_out)
    u0 = [lo // s for (lo, _), s in zip(spec.padding, spec.stride)]
    n_u = [(lo + o - 1) // s - b + 1
           for (lo, _), s, o, b in zip(spec.padding, spec.stride, out_size, u0)]
    wm = transpose_matrix(w, plans, g)
    every = all(p.complete for p in plans)
    y = (np.empty if every else np.zeros)((n, g, cog) + out_size, x.dtype)
    per_sample = c_in * math.prod(p.offsets for p in plans) * math.prod(n_u)
    step = max(1, _layout.COLS_BUDGET // per_sample)
    for a in range(0, n, step):
        part = x[a:a + step]
        layout = "batched" if batch_columns(part.shape[0], math.prod(n_u)) else "sample"
        cols = offset_columns(part.reshape((part.shape[0], g, c_in // g) + tuple(size)), plans,
                              [b - p.cmin for b, p in zip(u0, plans)], n_u, layout == "batched")
        y_ph = multiply(wm, cols, 1 + nd, layout)
        y_ph = y_ph.reshape((part.shape[0], g, cog) + tuple(len(p.phases) for p in plans)
                            + tuple(n_u))
        interleave(y[a:a + step], y_ph, plans, u0, spec)
    return y.reshape((n, g * cog) + out_size)


def offset_columns(x, plans, base, n_u, batched):
    """Columns ``cols[g, c, *l, n, *u] = x[n, g, c, base + u - l*step]`` (zero outside ``x``);
    ``(n, g, c, *l, *u)`` when not ``batched``. One strided copy per offset ``l``."""
    n, g, c, *size = x.shape
    offsets = tuple(p.offsets for p in plans)
    lead = (g, c) + offsets + (n,) if batched else (n, g, c) + offsets
    cols = np.zeros(lead + tuple(n_u), x.dtype)
    src_x = np.moveaxis(x, 0, 2) if batched else x
    for l in np.ndindex(*offsets):
        shift = [b - i * p.step for b, i, p in zip(base, l, plans)]
        lo = [max(0, -sh) for sh in shift]
        hi = [min(u, m - sh) for u, m, sh in zip(n_u, size, shift)]
        if any(a >= b for a, b in zip(lo, hi)):
            continue
        dst = tuple(slice(a, b) for a, b in zip(lo, hi))
        src = tuple(slice(a + sh, b + sh) for a, b, sh in zip(lo, hi, shift))
        at = (slice(None),) * 2 + l + (slice(None),) if batched else (slice(None),) * 3 + l
        cols[at + dst] = src_x[(slice(None),) * 3 + src]
    return cols


def interleave(y, y_ph, plans, u0, spec):
    """Depth to space into ``y``: phase ``q`` at ``u`` goes to ``o = s*(u0 + u) + q - lo``
    (``y`` must be zero where no phase lands)."""
    out_size = y.shape[3:]
    if (all(p.complete for p in plans) and spec.stride[-1] >= RUNS_MIN_STRIDE
            and not any(o % s for o, s in zip(out_size, spec.stride))):
        interleave_runs(y, y_ph, spec)
        return
    n_u = y_ph.shape[3 + len(plans):]
    for block in chunks(y.shape[:3], math.prod(out_size) * y.itemsize,
                        math.prod(len(p.phases) for p in plans)):
        yb, yp = y[block], y_ph[block]
        for idx in itertools.product(*(range(len(p.phases)) for p in plans)):
            sl = [scatter_slices(p.stride * b + p.phases[i], m, p.stride, lo, o) for i, p, b, m,
                  (lo, _), o in zip(idx, plans, u0, n_u, spec.padding, out_size)]
            if None not in sl:
                yb[(Ellipsis,) + tuple(o for _, o in sl)] = \
                    yp[(slice(None),) * 3 + idx + tuple(u for u, _ in sl)]


def interleave_runs(y, y_ph, spec):
    """Depth to space when every phase is present and ``s`` divides the output: the
    output viewed as ``(V, s)`` blocks per axis takes at most two block copies per axis
    (output phases ``b < s - off`` come from ``u = v``, the others from ``u = v + 1``)."""
    nd = spec.ndim
    n, g, cog = y.shape[:3]
    v = [o // s for o, s in zip(y.shape[3:], spec.stride)]
    blocks = y.reshape((n, g, cog) + sum(((a, s) for a, s in zip(v, spec.stride)), ()))
    src = y_ph.transpose((0, 1, 2) + sum(((3 + nd + a, 3 + a) for a in range(nd)), ()))
    pieces = []
    for a, s, (lo, _) in zip(v, spec.stride, spec.padding):
        off = lo % s
        axis = [((slice(None), slice(0, s - off)), (slice(0, a), slice(off, s)))]
        if off:
            axis.append(((slice(None), slice(s - off, s)), (slice(1, a + 1), slice(0, off))))
        pieces.append(axis)
    for combo in itertools.product(*pieces):
        blocks[(slice(None),) * 3 + sum((d for d, _ in combo), ())] = \
            src[(slice(None),) * 3 + sum((f for _, f in combo), ())]


def fused_applies(x_shape, spec, out_size):
    """Whether the output-aligned batched products suit this transposed convolution."""
    if spec.stride[-1] < FUSED_MIN_STRIDE or any(o % s for o, s in zip(out_size, spec.stride)):
        return False
    plans = _plans(spec, tuple(lo for lo, _ in spec.padding))
    cig = x_shape[1] // spec.groups
    return cig * math.prod(p.offsets for p in plans) <= FUSED_MAX_REDUCTION


def conv_transpose_fused(x, w, spec, out_size):
    """``out[s*v + b] = sum_l x[v - cmin - l*step] w[T[b, l]]`` as batched products.

    The output, viewed as ``(N, G, C', V_0, s_0, ..., V_last, s_last)``, is a batch of
    ``(V_last, R) @ (R, s_last)`` products (``R = cig * prod(L)``), written in place.
    """
    n, c_in = x.shape[:2]
    cog, g, nd = w.shape[1], spec.groups, spec.ndim
    cig = c_in // g
    plans = _plans(spec, tuple(lo for lo, _ in spec.padding))
    n_v = [o // s for o, s in zip(out_size, spec.stride)]
    xs = offset_columns(x.reshape((n, g, cig) + x.shape[2:]), plans,
                        [-p.cmin for p in plans], n_v, False)   # (n, g, cig, *L, *V)
    # a[n, g, *v, cig * prod(L)], broadcast over (C', b) of all axes but the last
    a = np.ascontiguousarray(np.moveaxis(xs, tuple(range(2, 3 + nd)), tuple(range(-1 - nd, 0))))
    a = a.reshape((n, g) + tuple(n_v) + (-1,))
    a = a[(slice(None), slice(None), None) + sum(((slice(None), None) for _ in n_v[:-1]), ())]
    # b[g, C', *b_first, cig * prod(L), b_last]
    wp = phase_weights(w, [p.all_phases() for p in plans])      # (c_in, cog, *S, *L)
    wp = wp.reshape((g, cig, cog) + wp.shape[2:])
    perm = ((0, 2) + tuple(range(3, 2 + nd)) + (1,) + tuple(range(3 + nd, 3 + 2 * nd))
            + (2 + nd,))
    b = np.ascontiguousarray(wp.transpose(perm))
    b = b.reshape((g, cog) + tuple(spec.stride[:-1]) + (-1, spec.stride[-1]))
    b = b[(None, slice(None), slice(None)) + sum(((None, slice(None)) for _ in n_v[:-1]), ())]
    y = np.empty((n, g * cog) + tuple(out_size), x.dtype)
    blocks = (n, g, cog) + sum(((v, s) for v, s in zip(n_v, spec.stride)), ())
    batched_matmul(a, b, y.reshape(blocks))
    return y


# ---------------------------------------------------------------- convolution
def conv(x, w, spec):
    """Convolution as a sum over input phases of stride-1 correlations."""
    n, c_in, *size = x.shape
    out_size = spec.conv_output_size(size)
    if by_position_applies(spec, out_size, size):
        return conv_by_position(x, w, spec, out_size)
    c_out, cig = w.shape[:2]
    g, nd = spec.groups, spec.ndim
    plans = _plans(spec)
    n_u = [m + p.span - 1 for m, p in zip(out_size, plans)]
    phases = [p.phases for p in plans]
    starts = [p.stride * p.cmin - lo for p, (lo, _) in zip(plans, spec.padding)]
    rows = cig * math.prod(len(p) for p in phases)
    offsets = math.prod(p.offsets for p in plans)
    wp = phase_weights(w, [p.taps for p in plans])              # (c_out, cig, *P, *L)
    if rows >= IMPLICIT_MIN_ROWS and offsets <= IMPLICIT_MAX_OFFSETS:
        # (c_in, *P, n, *n_u): channels and phases are the GEMM rows, (n, *u) its columns
        order = (1,) + tuple(range(2, 2 + nd)) + (0,) + tuple(range(2 + nd, 2 + 2 * nd))
        xsd = space_to_depth(x, spec.stride, phases, starts, n_u, order)
        y = _layout.shifted_gemms(wp.reshape((g, c_out // g, rows, offsets)),
                          xsd.reshape((g, rows, -1)), plans, n, n_u, out_size)
    else:
        xsd = space_to_depth(x, spec.stride, phases, starts, n_u, tuple(range(2 + 2 * nd)))
        win = sliding_window_view(xsd.reshape((n, g, rows) + tuple(n_u)),
                                  [p.span for p in plans], axis=tuple(range(3, 3 + nd)))
        win = win[(slice(None),) * 3 + tuple(slice(0, m) for m in out_size)
                  + tuple(slice(None, None, p.step) for p in plans)]
        win = np.moveaxis(win, tuple(range(3 + nd, 3 + 2 * nd)), tuple(range(3, 3 + nd)))
        y = contract(wp.reshape(g, c_out // g, -1), win, 1 + nd)
    return np.ascontiguousarray(y).reshape((n, c_out) + out_size)


# ---------------------------------------------------------------- small outputs
@functools.lru_cache(maxsize=256)
def _position_phases(spec, out_size):
    """Per axis, output ``i`` reads ``X_r[e + j]`` with ``X_r[u] = x_pad[d*u + r]``,
    ``r = (i*s) mod d``, ``e = (i*s) div d``. Returns, per axis, the distinct ``r`` and
    ``e``, the index of each output's ``r`` and ``e`` in them (read-only), and
    ``grid = max(e) + k``. Cached: a training loop asks for the same shapes every step."""
    out = []
    for m, k, s, d in zip(out_size, spec.kernel_size, spec.stride, spec.dilation):
        i = np.arange(m) * s
        r, r_idx = np.unique(i % d, return_inverse=True)
        e, e_idx = np.unique(i // d, return_inverse=True)
        r_idx.flags.writeable = e_idx.flags.writeable = False
        out.append((tuple(r.tolist()), tuple(e.tolist()), r_idx, e_idx, int(e.max()) + k))
    return tuple(out)


def by_position_applies(spec, out_size, size):
    """Small output, kernel nearly as large as the input's dilation phases, and few
    (phase, shift) pairs beyond the outputs: the weight gradients' shape."""
    if math.prod(out_size) > POSITION_MAX_OUT:
        return False
    axes = _position_phases(spec, out_size)
    grid = math.prod(a[4] for a in axes)
    pairs = math.prod(len(a[0]) * len(a[1]) for a in axes)
    return (grid <= POSITION_MAX_WASTE * math.prod(spec.kernel_size)
            and pairs <= 2 * math.prod(out_size))


def conv_by_position(x, w, spec, out_size):
    """Small output, big kernel (weight gradients) as one GEMM per group.

    Output ``i`` is ``sum_K W_e(i)[o, K] X_r(i)[n, K]`` where ``K`` runs over the
    flattened channels and grid of the input's dilation phase ``r`` and ``W_e`` is the
    kernel placed at shift ``e`` in a zero grid. Stacking the shifts as rows and the
    (phase, sample) pairs as columns gives ``(E * C_out/g, K) @ (K, R * N)``.
    """
    n, c_in = x.shape[:2]
    c_out, cig, *k = w.shape
    g, nd = spec.groups, spec.ndim
    cog = c_out // g
    axes = _position_phases(spec, out_size)
    grid = tuple(a[4] for a in axes)
    # (*R, n, c_in, *grid): the (phase, sample) pairs are uniformly strided columns
    xsd = space_to_depth(x, spec.dilation, [a[0] for a in axes], [-lo for lo, _ in spec.padding],
                         grid, tuple(range(2, 2 + nd)) + (0, 1) + tuple(range(2 + nd, 2 + 2 * nd)))
    shifts = list(itertools.product(*(a[1] for a in axes)))
    placed = np.zeros((g, len(shifts), cog, cig) + grid, w.dtype)
    wg = w.reshape((g, cog, cig) + tuple(k))
    for i, e in enumerate(shifts):
        placed[(slice(None), i, slice(None), slice(None))
               + tuple(slice(a, a + kk) for a, kk in zip(e, k))] = wg
    block = cig * math.prod(grid)
    item = xsd.itemsize
    cols = as_strided(xsd, (g, block, xsd.size // (g * block)),
                      (block * item, item, g * block * item), writeable=False)
    prod = np.matmul(placed.reshape(g, len(shifts) * cog, block), cols)
    prod = prod.reshape(g, len(shifts), cog, -1, n)
    e_idx = np.ravel_multi_index(np.meshgrid(*(a[3] for a in axes), indexing="ij"),
                                 tuple(len(a[1]) for a in axes)).ravel()
    r_idx = np.ravel_multi_index(np.meshgrid(*(a[2] for a in axes), indexing="ij"),
                                 tuple(len(a[0]) for a in axes)).ravel()
    y = prod[:, e_idx, :, r_idx, :]                            # (M, g, cog, n)
    return np.ascontiguousarray(y.transpose(3, 1, 2, 0)).reshape((n, c_out) + tuple(out_size))
