"""The cost model behind ``method="auto"``: estimates from shapes, no timing.

Two candidates are priced in seconds on a 2-core CPU (constants measured with
``deconvkit bench`` on such a machine; only their ratios matter):

* ``polyphase`` is GEMM work at the BLAS rate, derated when the per-group matrices are
  thin (depthwise layers), plus the traffic of its im2col buffer, plus a small
  fixed overhead. It is the choice for every strided problem and small kernels.
* ``fft`` is real-FFT work on every input and output channel plus complex
  channel mixing on half of the spectrum, at a much lower rate and with a larger
  fixed overhead. It pays for large dense stride-1 kernels, where polyphase's
  im2col grows with ``prod(k)``.

``gemm`` wins on dense (stride 1, no dilation, ungrouped) problems whose per-tap
products are thin, where polyphase makes ``prod(k)`` products of ``C_in x C_out`` outputs
and gemm one product with ``prod(k)`` times more: every such weight gradient, and
transposed convolutions (input gradients) with fewer than 64 channels on a side. Measured
on 2 cores, N=16, 3x3, padding 1, ms per call, polyphase / gemm: weight gradient
3->16 at 64x64 9.3 / 2.3, 16->32 at 32x32 3.7 / 2.4, 32->64 at 16x16 2.3 / 1.7,
64->64 at 8x8 1.1 / 1.1, 256->256 at 14x14 (N=2) 3.1 / 3.2; input gradient 16->3 at 64x64
7.7 / 2.3, 32->16 3.7 / 3.0, 64->32 2.3 / 2.0, 64->64 1.0 / 1.4, 128->128 at 16x16 (N=4)
2.3 / 2.5. These are the 3x3 layers of the FCN encoders in ``deconvkit.nn.models``.

``direct`` and ``matrix`` are never chosen automatically: in every measured case one of
the others was faster. They remain available by name.
"""

from __future__ import annotations

import math

GEMM_RATE = 2.0e11        # float32 flop/s of a large, well-shaped GEMM on 2 cores
FFT_RATE = 2.5e9          # flop/s of scipy.fft plus the per-frequency channel products
BANDWIDTH = 1.0e10        # bytes/s of the im2col traffic (written then read)
POLY_OVERHEAD = 1e-4      # seconds of Python-level work per call
FFT_OVERHEAD = 2e-3


def problem_size(operation, x_shape, w_shape, spec):
    """Batch, channels per group on each side and spatial sizes of the forward conv."""
    n, groups = x_shape[0], spec.groups
    if operation in ("conv", "conv_weight_grad"):
        c_in, c_out = x_shape[1], w_shape[0]
        big = tuple(x_shape[2:])
        small = spec.conv_output_size(big)
    else:
        c_in, c_out = x_shape[1], w_shape[1] * groups
        small = tuple(x_shape[2:])
        big = spec.transpose_output_size(small)
    return n, c_in // groups, c_out // groups, groups, big, small


def polyphase_seconds(operation, x_shape, w_shape, spec, itemsize=4):
    n, cig, cog, groups, big, small = problem_size(operation, x_shape, w_shape, spec)
    if operation in ("conv", "conv_weight_grad"):
        rows, cols = cog, cig
    else:
        rows, cols = cig, cog
    taps = math.prod(spec.kernel_size)
    macs = n * groups * cig * cog * taps * math.prod(small)
    efficiency = min(1.0, max(rows * cols, 1) / 64)
    im2col = itemsize * macs / max(rows, 1)
    return 2 * macs / (GEMM_RATE * efficiency) + im2col / BANDWIDTH + POLY_OVERHEAD


def fft_seconds(operation, x_shape, w_shape, spec):
    n, cig, cog, groups, big, small = problem_size(operation, x_shape, w_shape, spec)
    size = math.prod(b + e - 1 for b, e in zip(big, spec.kernel_extent))
    transforms = n * groups * (cig + cog) * 2.5 * size * math.log2(max(size, 2))
    mixing = 4 * n * groups * cig * cog * size
    return (transforms + mixing) / FFT_RATE + FFT_OVERHEAD


THIN_CHANNELS = 64        # dense transposed convolutions below this use gemm (see above)


def choose(operation, x_shape, w_shape, spec) -> str:
    """``"fft"`` for large dense stride-1 kernels where it is estimated faster, ``"gemm"``
    for dense ungrouped problems with thin per-tap products, ``"polyphase"`` otherwise."""
    dense = all(s == 1 for s in spec.stride) and all(d == 1 for d in spec.dilation)
    if dense and math.prod(spec.kernel_size) >= 16:
        itemsize = 4
        if fft_seconds(operation, x_shape, w_shape, spec) < \
                polyphase_seconds(operation, x_shape, w_shape, spec, itemsize):
            return "fft"
    if dense and spec.groups == 1:
        _, cig, cog, _, _, _ = problem_size(operation, x_shape, w_shape, spec)
        if operation == "conv_weight_grad" or (
                operation == "conv_transpose" and min(cig, cog) < THIN_CHANNELS):
            return "gemm"
    return "polyphase"
