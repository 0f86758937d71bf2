"""Polyphase weight gradient: shifted-view GEMMs over the input's phase components.

``dw[o, c, j] = sum_{n, i} dy[n, o, i] * x_pad[n, c, i*s + j*d - lo]``. With the taps
grouped by phase as in :mod:`.polyphase` (``j*d = s*(cmin + l*step) + q``), tap ``j``
reads the phase component ``X_q[u] = x_pad[s*u + q + s*cmin - lo]`` at ``u = i + l*step``.
Laying ``dy`` on the grid of the components (zero past its size), every offset ``l``
is a GEMM of flat views, ``X[(c, q), sh_l : sh_l + W] @ DY[o, : W]ᵀ``, that produces
the taps of all phases at once; the offsets are stacked into one GEMM (no im2col: the reduction runs over samples and
positions, and the shift ``sh_l`` of a flat view moves ``u`` by ``l*step``). The rows
``(q, l)`` that are no tap are computed and dropped.

:func:`._grads.weight_grad` calls :func:`weight_grad` when :func:`applies` (few such
wasted rows and little grid padding), else the role-swapped convolution.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from . import _layout, _phases

MAX_WASTE = 2.0   # computed products per needed product (zero taps x grid padding)


def _grid(spec, m):
    """Plans, component grid ``n_u`` and the waste of the shifted GEMMs for ``dy`` of size ``m``."""
    plans = _phases._plans(spec)
    n_u = [mm + p.span - 1 for mm, p in zip(m, plans)]
    rows = math.prod(len(p.phases) * p.offsets for p in plans)
    waste = rows / math.prod(spec.kernel_size) * math.prod(n_u) / max(1, math.prod(m))
    return plans, n_u, waste


def applies(x_shape, dy_shape, spec):
    """Whether the shifted GEMMs waste at most ``MAX_WASTE`` times the needed products."""
    return _grid(spec, dy_shape[2:])[2] <= MAX_WASTE


def _is_regular(plan):
    """Whether tap ``j`` of the plan is ``q + s*l`` at phase ``q``, offset ``l`` (all hit)."""
    p, l = plan.taps.shape
    return plan.taps.size == plan.size and np.array_equal(plan.taps.ravel(),
                                                          _phases._regular(p, l))


@functools.lru_cache(maxsize=128)
def _tap_index(k, s, d):
    """Per tap ``j``: its phase row ``p`` and offset ``l`` in the taps table of the plan."""
    plan = _phases.axis_plan(k, s, d)
    p_of, l_of = np.empty(plan.size, int), np.empty(plan.size, int)
    for (p, l), j in np.ndenumerate(plan.taps):
        if j < plan.size:
            p_of[j], l_of[j] = p, l
    return p_of, l_of


def weight_grad(x, dy, spec):
    """``dw (C_out, C_in/groups, *k)`` of ``conv`` from its input ``x (N, C_in, *n)`` and
    output gradient ``dy (N, C_out, *m)`` (``m`` at most the conv output size)."""
    n, c_in, *size = x.shape
    c_out, g, nd = dy.shape[1], spec.groups, spec.ndim
    m = tuple(dy.shape[2:])
    plans, n_u, _ = _grid(spec, m)
    phases = [p.phases for p in plans]
    starts = [p.stride * p.cmin - lo for p, (lo, _) in zip(plans, spec.padding)]
    rows = c_in // g * math.prod(len(p) for p in phases)
    # X: (c_in, *P, n, *n_u) = (G, rows, N * prod(n_u)); DY on the same grid: (G, C'/g, ...)
    order = (1,) + tuple(range(2, 2 + nd)) + (0,) + tuple(range(2 + nd, 2 + 2 * nd))
    xsd = _layout.space_to_depth(x, spec.stride, phases, starts, n_u, order)
    xsd = xsd.reshape(g, rows, -1)
    dyg = np.zeros((c_out, n) + tuple(n_u), x.dtype)
    dyg[(slice(None),) * 2 + tuple(slice(0, a) for a in m)] = dy.swapaxes(0, 1)
    dyg = dyg.reshape(g, c_out // g, -1)
    prod = _shifted_products(xsd, dyg, plans, n_u)              # (G, rows, *L, C'/g)
    return _gather_taps(prod, plans, spec, c_in // g)


def _shifted_products(xsd, dyg, plans, n_u):
    """``out[g, *l, :, :] = DY[g, :, :W] @ X[g, :, sh_l : sh_l + W]ᵀ`` for every offset ``l``.

    Computed as ``S[g] @ Xᵀ`` with ``S[(l, o), f] = DY[o, f - sh_l]``: the shifted copies of
    the small operand stacked as the GEMM's rows (one well-shaped GEMM, not one thin
    GEMM per offset), in batches of at most ``STACK_BUDGET`` elements of ``S``.
    Returns ``(G, *L, C'/g, rows)``.
    """
    g, rows, total = xsd.shape
    cog = dyg.shape[1]
    pitches = [math.prod(n_u[a + 1:]) for a in range(len(n_u))]
    offsets = tuple(p.offsets for p in plans)
    shifts = [sum(i * p.step * pitch for i, p, pitch in zip(l, plans, pitches))
              for l in np.ndindex(*offsets)]
    width = total - max(shifts)
    step = max(1, _layout.STACK_BUDGET // (g * cog * total))
    out = np.empty((g, len(shifts), cog, rows), xsd.dtype)
    for a in range(0, len(shifts), step):
        part = shifts[a:a + step]
        stack = np.empty((g, len(part), cog, total), xsd.dtype)
        for i, sh in enumerate(part):
            stack[:, i, :, :sh] = 0
            stack[:, i, :, sh:sh + width] = dyg[..., :width]
            stack[:, i, :, sh + width:] = 0
        np.matmul(stack.reshape(g, -1, total), xsd.transpose(0, 2, 1),
                  out=out[:, a:a + len(part)].reshape(g, -1, rows))
    return out.reshape((g,) + offsets + (cog, rows))


def _gather_taps(prod, plans, spec, cig):
    """``dw[g*C'/g + o, c, *j] = prod[g, *l(j), o, (c, *p(j))]``."""
    nd = len(plans)
    g, cog = prod.shape[0], prod.shape[1 + nd]
    prod = prod.reshape(prod.shape[:2 + nd] + (cig,) + tuple(len(p.phases) for p in plans))
    if all(_is_regular(p) for p in plans):
        # tap j = l*s + p: interleave the (L, P) axes and the taps are a reshape
        perm = (0, 1 + nd, 2 + nd) + sum(((1 + a, 3 + nd + a) for a in range(nd)), ())
        dw = prod.transpose(perm)
    else:
        index = [_tap_index(*a) for a in zip(spec.kernel_size, spec.stride, spec.dilation)]
        taps = np.ix_(*(p for p, _ in index)) + np.ix_(*(l for _, l in index))
        perm = (0, 1 + nd, 2 + nd) + tuple(range(3 + nd, 3 + 2 * nd)) + tuple(range(1, 1 + nd))
        dw = prod.transpose(perm)[(slice(None),) * 3 + taps]      # (G, C'/g, cig, *k)
    return np.ascontiguousarray(dw).reshape((g * cog, cig) + tuple(spec.kernel_size))
