"""The explicit sparse convolution matrix C: the readable oracle.

Row ``(c_out, *o)`` of C holds, at column ``(c_in, *i)``, the weight tap ``j`` with
``i = o * s + j * d - p_lo`` on every axis (taps that land in the padding are
dropped). The convolution is ``C @ x`` and the transposed convolution ``C.T @ y``.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

NAME = "matrix"


def matrix_entries(spec, in_channels, in_size, out_channels, out_size):
    """Index arrays of the non-padding entries of C.

    Returns ``rows, cols, c_out, c_in, taps``: flat row and column of each entry,
    the weight indices it holds (output channel, input channel within its group,
    and flat kernel tap). ``out_size`` may be smaller than the conv output size:
    rows beyond it are left out (used when output_padding >= stride).
    """
    d_ax = spec.ndim
    in_flat = np.zeros((1,) * (2 * d_ax), dtype=np.int64)
    out_flat = np.zeros_like(in_flat)
    valid = np.ones((1,) * (2 * d_ax), dtype=bool)
    for a in range(d_ax):
        o = np.arange(out_size[a])
        j = np.arange(spec.kernel_size[a])
        idx = o[:, None] * spec.stride[a] + j[None, :] * spec.dilation[a] - spec.padding[a][0]
        view = [1] * (2 * d_ax)
        view[a], view[d_ax + a] = out_size[a], spec.kernel_size[a]
        idx = idx.reshape(view)
        in_flat = in_flat * in_size[a] + idx
        out_flat = out_flat * out_size[a] + o.reshape(view[:d_ax] + [1] * d_ax)
        valid = valid & (idx >= 0) & (idx < in_size[a])
    in_flat, out_flat, valid = np.broadcast_arrays(in_flat, out_flat, valid)
    sel = np.nonzero(valid.ravel())[0]
    n_out, n_tap = math.prod(out_size), math.prod(spec.kernel_size)
    pos_out, pos_in = out_flat.ravel()[sel], in_flat.ravel()[sel]
    taps = sel % n_tap
    cig = in_channels // spec.groups
    cog = out_channels // spec.groups
    c_out = np.arange(out_channels)[:, None, None]
    c_in = np.arange(cig)[None, :, None]
    group = c_out // cog
    rows = c_out * n_out + pos_out[None, None, :]
    cols = (group * cig + c_in) * math.prod(in_size) + pos_in[None, None, :]
    full = (out_channels, cig, sel.size)
    return (np.broadcast_to(rows, full).ravel(), np.broadcast_to(cols, full).ravel(),
            np.broadcast_to(c_out, full).ravel(), np.broadcast_to(c_in, full).ravel(),
            np.broadcast_to(taps, full).ravel())


def build(w, in_channels, in_size, spec, out_size=None):
    """Sparse C (CSR) for conv weights ``w`` of shape ``(C_out, C_in/groups, *k)``."""
    out_size = tuple(out_size or spec.conv_output_size(in_size))
    out_channels = w.shape[0]
    rows, cols, c_out, c_in, taps = matrix_entries(spec, in_channels, in_size,
                                                   out_channels, out_size)
    values = w.reshape(out_channels, w.shape[1], -1)[c_out, c_in, taps]
    shape = (out_channels * math.prod(out_size), in_channels * math.prod(in_size))
    return sp.csr_matrix((values, (rows, cols)), shape=shape, dtype=w.dtype)


def conv(x, w, spec):
    """Convolution as ``y[n] = C @ x[n]``."""
    n, c_in, *in_size = x.shape
    out_size = spec.conv_output_size(in_size)
    c = build(w, c_in, in_size, spec, out_size)
    y = (c @ x.reshape(n, -1).T).T
    return np.ascontiguousarray(y, dtype=x.dtype).reshape(n, w.shape[0], *out_size)


def conv_transpose(x, w, spec):
    """Transposed convolution as ``y[n] = C.T @ x[n]``, C built for the output size."""
    n, _, *in_size = x.shape
    out_size = spec.transpose_output_size(in_size)
    c_out = w.shape[1] * spec.groups
    c = build(w, c_out, out_size, spec, tuple(in_size))
    y = (c.T @ x.reshape(n, -1).T).T
    return np.ascontiguousarray(y, dtype=x.dtype).reshape(n, c_out, *out_size)
