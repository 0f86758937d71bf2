"""FFT algorithm: for large kernels, per group, channel mixing in the frequency domain.

* ``conv_transpose``: the full scatter ``full[i*s + j*d] += x[i] w[j]`` is the linear
  convolution of the zero-upsampled input with the dilated kernel. The upsampled
  input is never built: its spectrum at size ``F = s*F'`` is the spectrum of ``x`` at
  size ``F'`` repeated ``s`` times (zero insertion periodizes the spectrum), gathered
  straight into the half spectrum the inverse real FFT needs. The circular size is
  just large enough that no wrap-around reaches the cropped output
  (``F >= max(L - p_lo, p_lo + n_out)``), and the crop is read from the result.
* ``conv``: the correlation of the padded input with the dilated kernel at stride 1
  (``X * conj(W)``), subsampled by the stride.

Outputs no product can reach (all their taps fall in the padding) are set to exact
zeros, as the other methods give, instead of the FFT's round-off; small float32
problems are transformed in float64 (``DOUBLE_BELOW``), so their results round like the
direct methods' (exact on integer-valued data).

Channels are mixed per frequency: ``Y[n, o, f] = sum_c X[n, c, f] W[c, o, f]``, by a
loop over input channels of broadcast complex multiply-adds when there are few, else by
a matrix product batched over frequencies. Output channels are processed in blocks so
the kernel and output spectra stay within ``SPECTRUM_BUDGET`` elements. The FFTs use
``scipy.fft`` with ``next_fast_len`` sizes and all cores (``workers=-1``).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.fft as sfft

from ._layout import conv_source, insert_zeros, scatter_slices

NAME = "fft"

SPECTRUM_BUDGET = 1 << 22  # complex elements of kernel and output spectra per channel block
LOOP_MAX_CHANNELS = 8      # mix by a loop over input channels up to this many per group
DOUBLE_BELOW = 1 << 20     # float32 problems with fewer spectrum elements run in float64


def working_dtype(x, w, grid):
    """float64 for small float32 problems (results then round like the direct methods',
    e.g. exact on integer data, at little cost), else the data's own precision."""
    size = math.prod(grid) * (x.shape[0] * x.shape[1] + w.shape[0] * w.shape[1])
    return np.dtype(np.float64) if size <= DOUBLE_BELOW else x.dtype


def mix(xf, wf, conjugate=False):
    """``y[n, g, o, *f] = sum_c xf[n, g, c, *f] * wf[g, c, o, *f]`` (``conj(wf)`` if asked)."""
    n, g, c = xf.shape[:3]
    o = wf.shape[2]
    freq = np.broadcast_shapes(xf.shape[3:], wf.shape[3:])
    if conjugate:
        wf = np.conjugate(wf)
    if c <= LOOP_MAX_CHANNELS:
        y = xf[:, :, 0, None] * wf[None, :, 0]
        for ci in range(1, c):
            y += xf[:, :, ci, None] * wf[None, :, ci]
        return y
    # frequencies as the batch of small products (N, c) @ (c, o)
    xf = np.broadcast_to(xf, (n, g, c) + freq)
    wf = np.broadcast_to(wf, (g, c, o) + freq)
    xt = np.moveaxis(xf.reshape(n, g, c, -1), (0, 2), (2, 3))        # (g, F, n, c)
    wt = np.moveaxis(wf.reshape(g, c, o, -1), 3, 1)                  # (g, F, c, o)
    y = np.matmul(np.ascontiguousarray(xt), np.ascontiguousarray(wt))   # (g, F, n, o)
    return np.moveaxis(y, (2, 3), (0, 2)).reshape((n, g, o) + freq)


def reached_conv(spec, size, out_size):
    """Per axis, the outputs of ``conv`` some tap reads a sample of ``x`` for.

    Output ``o`` reads ``x[o*s - lo + j*d]``, ``0 <= j < k``: it reaches ``x`` when the
    taps ``j`` in ``[ceil((lo - o*s) / d), floor((n - 1 + lo - o*s) / d)]`` meet ``[0, k)``.
    O(outputs) memory.
    """
    out = []
    for n, m, k, s, d, (lo, _) in zip(size, out_size, spec.kernel_size, spec.stride,
                                     spec.dilation, spec.padding):
        a = np.arange(m, dtype=np.int64) * s - lo
        first = np.maximum(0, -(a // d))
        last = np.minimum(k - 1, (n - 1 - a) // d)
        out.append(first <= last)
    return out


def reached_transpose(spec, size, out_size):
    """Per axis, the outputs of ``conv_transpose`` some input sample reaches.

    Output ``o`` is full position ``o + lo = i*s + j*d``: one strided slice per tap ``j``
    (or per input ``i`` when there are fewer inputs than taps). O(outputs) memory.
    """
    out = []
    for m, n, k, s, d, (lo, _) in zip(size, out_size, spec.kernel_size, spec.stride,
                                     spec.dilation, spec.padding):
        hit = np.zeros(n, bool)
        count, step, other, other_step = (k, d, m, s) if k <= m else (m, s, k, d)
        for a in range(count):
            sl = scatter_slices(a * step, other, other_step, lo, n)
            if sl is not None:
                hit[sl[1]] = True
        out.append(hit)
    return out


def zero_unreached(y, masks):
    """Exact zeros where no product lands (the FFT leaves round-off there)."""
    for a, mask in enumerate(masks):
        if not mask.all():
            y[(slice(None),) * (2 + a) + (~mask,)] = 0
    return y


def _blocks(total, per_channel):
    step = max(1, SPECTRUM_BUDGET // max(1, per_channel))
    return [slice(a, min(total, a + step)) for a in range(0, total, step)]


def rfft_padded(a, shape, axes):
    """``rfftn(a, s=shape)`` of a small ``a``, one axis at a time, last axis first, so the
    zero padding is transformed only along the axes already done (pruned FFT)."""
    out = sfft.rfft(a, n=shape[-1], axis=axes[-1], workers=-1)
    for ax, size in zip(axes[-2::-1], shape[-2::-1]):
        out = sfft.fft(out, n=size, axis=ax, workers=-1)
    return out


def irfft_cropped(spec_, shape, axes, crop):
    """``irfftn(spec_, s=shape)[crop]``, cropping each axis as soon as it is transformed."""
    out = spec_
    for ax, size, sl in zip(axes[:-1], shape[:-1], crop[:-1]):
        out = sfft.ifft(out, n=size, axis=ax, workers=-1)
        out = out[(slice(None),) * (out.ndim + ax) + (sl,)]
    out = sfft.irfft(out, n=shape[-1], axis=axes[-1], workers=-1)
    return out[(Ellipsis, crop[-1])]


def conv_transpose(x, w, spec):
    """Transposed convolution by FFT of the input at size ``F' = F / s`` (tiled)."""
    n, c_in, *size = x.shape
    cog, g, nd = w.shape[1], spec.groups, spec.ndim
    cig, dtype = c_in // g, x.dtype
    out_size = spec.transpose_output_size(size)
    axes = tuple(range(-nd, 0))
    small = []
    for m, L, (lo, _), o, s, e in zip(size, spec.full_size(size), spec.padding, out_size,
                                      spec.stride, spec.kernel_extent):
        need = max(L - lo, lo + o, e, (m - 1) * s + 1)
        small.append(sfft.next_fast_len(max(-(-need // s), m)))
    big = [s * f for s, f in zip(spec.stride, small)]
    work = working_dtype(x, w, big)
    x, w = x.astype(work, copy=False), w.astype(work, copy=False)
    # spectrum of the zero-upsampled input at size F is X[f mod F']: gathered on the last
    # (half-spectrum) axis, broadcast over the s repetitions of the others
    xf = sfft.fftn(x, s=small, axes=axes, workers=-1)
    xf = xf[..., np.arange(big[-1] // 2 + 1) % small[-1]]
    xf = xf.reshape((n, g, cig) + sum(((1, f) for f in small[:-1]), ()) + xf.shape[-1:])
    wd = insert_zeros(w, spec.dilation).reshape((g, cig, cog) + spec.kernel_extent)
    split = sum(((s, f) for s, f in zip(spec.stride[:-1], small[:-1])), ())
    y = np.empty((n, g, cog) + out_size, dtype)
    crop = tuple(slice(lo, lo + o) for (lo, _), o in zip(spec.padding, out_size))
    for blk in _blocks(cog, (c_in + n * g) * math.prod(big[:-1]) * (big[-1] // 2 + 1)):
        wf = rfft_padded(wd[:, :, blk], big, axes)
        wf = wf.reshape(wf.shape[:3] + split + wf.shape[-1:])
        yf = mix(xf, wf)
        y[:, :, blk] = irfft_cropped(yf.reshape(yf.shape[:3] + tuple(big[:-1]) + yf.shape[-1:]),
                                     big, axes, crop)
    y = y.reshape((n, g * cog) + out_size)
    return zero_unreached(y, reached_transpose(spec, size, out_size))


def conv(x, w, spec):
    """Convolution by FFT correlation at stride 1, subsampled by the stride."""
    n, c_in, *size = x.shape
    c_out, cig, *k = w.shape
    g, nd = spec.groups, spec.ndim
    out_size = spec.conv_output_size(size)
    axes = tuple(range(-nd, 0))
    fsize = [sfft.next_fast_len(v, real=True) for v in spec.full_size(out_size)]
    dtype, work = x.dtype, working_dtype(x, w, fsize)
    x, w = x.astype(work, copy=False), w.astype(work, copy=False)
    xs = conv_source(x, spec, out_size)
    xf = sfft.rfftn(xs, s=fsize, axes=axes, workers=-1)
    xf = xf.reshape((n, g, cig) + xf.shape[2:])
    wd = np.moveaxis(insert_zeros(w, spec.dilation).reshape((g, c_out // g, cig) + spec.kernel_extent),
                     1, 2)                                       # (g, cig, cog, *e)
    y = np.empty((n, g, c_out // g) + out_size, dtype)
    take = tuple(slice(0, (m - 1) * s + 1, s) for m, s in zip(out_size, spec.stride))
    for blk in _blocks(c_out // g, (c_in + n * g) * math.prod(xf.shape[3:])):
        wf = rfft_padded(wd[:, :, blk], fsize, axes)
        y[:, :, blk] = irfft_cropped(mix(xf, wf, conjugate=True), fsize, axes, take)
    y = y.reshape((n, c_out) + out_size)
    return zero_unreached(y, reached_conv(spec, size, out_size))
