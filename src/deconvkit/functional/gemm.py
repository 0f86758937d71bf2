"""GEMM algorithm: im2col / col2im with one large matrix multiply per group (Caffe).

* ``conv``: ``y = W @ im2col(x_pad)``. The columns are gathered from strided views
  (``sliding_window_view``), with no Python loop over positions; the padded input is
  only materialized when the padding is actually read.
* ``conv_transpose``: ``cols = Wᵀ @ x`` (one GEMM per group), then col2im: the block of
  each kernel tap is added into the output with one strided slice add (``prod(k)``
  adds). Positions the padding crops are never written and the zero-inserted input
  is never built.

The GEMMs are batched across the samples when the per-sample matrices are small, and
the column buffer is built in chunks of samples to bound its memory (see
:func:`._layout.contract`).
"""

from __future__ import annotations

import numpy as np

from ._layout import contract, conv_source, scatter_slices, windows

NAME = "gemm"


def conv(x, w, spec):
    """Convolution: one GEMM per group of the weights with the im2col columns."""
    n, c_in, *size = x.shape
    out_size = spec.conv_output_size(size)
    c_out, cig, *k = w.shape
    g = spec.groups
    xs = conv_source(x, spec, out_size)
    win = windows(xs.reshape((n, g, cig) + xs.shape[2:]), k, spec.stride, spec.dilation, out_size)
    y = contract(w.reshape(g, c_out // g, -1), win, 1 + spec.ndim)
    return np.ascontiguousarray(y).reshape((n, c_out) + out_size)


def conv_transpose(x, w, spec):
    """Transposed convolution: ``cols = Wᵀ @ x`` per group, then col2im by tap."""
    n, c_in, *size = x.shape
    _, cog, *k = w.shape
    g = spec.groups
    out_size = spec.transpose_output_size(size)
    wt = w.reshape(g, c_in // g, -1).transpose(0, 2, 1)
    cols = contract(wt, x.reshape((n, g, c_in // g) + tuple(size)), 1)
    cols = cols.reshape((n, g, cog) + tuple(k) + tuple(size))
    y = np.zeros((n, g, cog) + out_size, x.dtype)
    for tap in np.ndindex(*k):
        sl = [scatter_slices(j * d, m, s, lo, o) for j, m, s, d, (lo, _), o in
              zip(tap, size, spec.stride, spec.dilation, spec.padding, out_size)]
        if None in sl:
            continue
        dst = y[(Ellipsis,) + tuple(o for _, o in sl)]
        np.add(dst, cols[(slice(None),) * 3 + tap + tuple(i for i, _ in sl)], out=dst)
    return y.reshape((n, g * cog) + out_size)
