"""Direct algorithm: padding and correlation; for the transpose, the "fractionally
strided" view: insert ``s - 1`` zeros between input samples, pad by ``d(k-1) - p``
(a negative amount crops), and correlate with the flipped kernel at stride 1.
"""

from __future__ import annotations

import math

import numpy as np

from ._layout import insert_zeros, window_source

NAME = "direct"


def pad_or_crop(x, pairs):
    """Pad (positive) or crop (negative) the spatial axes of ``(N, C, *spatial)``."""
    start = tuple(-lo for lo, _ in pairs)
    length = tuple(n + lo + hi for n, (lo, hi) in zip(x.shape[2:], pairs))
    return window_source(x, start, length)


def correlate(xp, w, stride, dilation, groups, out_size):
    """Cross-correlate padded ``xp (N, C_in, *n)`` with ``w (C_out, C_in/g, *k)``.

    Loops over kernel taps or over output positions, whichever is fewer.
    """
    n, c_in = xp.shape[:2]
    c_out, cig, *k = w.shape
    cog = c_out // groups
    xg = xp.reshape(n, groups, cig, *xp.shape[2:])
    wg = w.reshape(groups, cog, cig, *k)
    y = np.zeros((n, groups, cog) + tuple(out_size), dtype=xp.dtype)
    lead = (slice(None),) * 3
    if math.prod(k) <= math.prod(out_size):
        for tap in np.ndindex(*k):
            win = tuple(slice(j * d, j * d + s * (m - 1) + 1, s)
                        for j, d, s, m in zip(tap, dilation, stride, out_size))
            y += np.einsum("ngc...,goc->ngo...", xg[lead + win], wg[lead + tap])
    else:
        wf = wg.reshape(groups, cog, cig, -1)
        for pos in np.ndindex(*out_size):
            win = tuple(slice(o * s, o * s + d * (kk - 1) + 1, d)
                        for o, s, d, kk in zip(pos, stride, dilation, k))
            patch = xg[lead + win].reshape(n, groups, cig, -1)
            y[lead + pos] = np.einsum("ngck,gock->ngo", patch, wf)
    return y.reshape(n, c_out, *out_size)


def conv(x, w, spec):
    """Convolution: pad, then strided and dilated correlation."""
    out_size = spec.conv_output_size(x.shape[2:])
    xp = pad_or_crop(x, spec.padding)
    return correlate(xp, w, spec.stride, spec.dilation, spec.groups, out_size)


def flip_transpose_weights(w, groups):
    """Turn transposed weights ``(C_in, C_out/g, *k)`` into the flipped conv weights
    ``(C_out, C_in/g, *k)`` of the equivalent stride-1 correlation."""
    c_in, cog, *k = w.shape
    cig = c_in // groups
    wt = w.reshape(groups, cig, cog, *k).swapaxes(1, 2).reshape(groups * cog, cig, *k)
    return wt[(slice(None), slice(None)) + (slice(None, None, -1),) * len(k)]


def conv_transpose(x, w, spec):
    """Transposed convolution by zero insertion, padding and flipped-kernel correlation."""
    out_size = spec.transpose_output_size(x.shape[2:])
    z = pad_or_crop(insert_zeros(x, spec.stride), spec.transposed_padding())
    wt = np.ascontiguousarray(flip_transpose_weights(w, spec.groups))
    return correlate(z, wt, (1,) * spec.ndim, spec.dilation, spec.groups, out_size)
