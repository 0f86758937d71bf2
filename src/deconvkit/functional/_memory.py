"""Working memory of each method, estimated from shapes before anything is allocated.

The public functions check the estimate against a limit before they run: the output
must fit in the memory available, and the working set (buffers beyond the inputs and
the output) within ``max(WORK_FLOOR, WORK_RATIO x (inputs + output))``, capped by the
memory available. ``method="auto"`` takes the first method that fits, in the order of
:data:`FALLBACK`; a method asked for by name that does not fit is refused with its
estimate and the name of one that fits.

Each estimate mirrors its algorithm's allocations (im2col buffers, spectra, index
arrays), in bytes, as an upper bound; ``tests/test_memory.py`` checks it against the
peak that ``tracemalloc`` measures.
"""

from __future__ import annotations

import math

import numpy as np

from .. import _checks
from .._checks import available_bytes, format_bytes as fmt
from . import _layout, fft
from ._phases import _plans

WORK_FLOOR = 1 << 29     # bytes of working memory always allowed (if available)
WORK_RATIO = 8           # ... or this many times the inputs and output
FALLBACK = ("polyphase", "gemm", "fft", "direct", "matrix")
SMALL = 1 << 26          # inputs, output and working memory below this need no check
COMPLEX = 16             # bytes per complex128 element (spectra may be complex64); the
                         # matrix's int64 index arrays are counted in these units too


# ------------------------------------------------------------------ per algorithm
def _conv_terms(x_shape, w_shape, spec):
    n, c_in, *big = x_shape
    c_out, cig = w_shape[:2]
    small = spec.conv_output_size(big)
    return n, c_in, tuple(big), c_out, cig, c_out // spec.groups, spec.groups, small


def _source(n, c_in, big, small, spec):
    """The zero-padded input range ``conv`` reads, when padding is read (else a view)."""
    if not any(lo or hi for lo, hi in spec.padding):
        return 0
    return n * c_in * math.prod(spec.full_size(small))


def _chunked(n, per_sample):
    """Elements of a column buffer built in chunks of samples of ``COLS_BUDGET``."""
    chunk = max(1, min(n, _layout.COLS_BUDGET // max(1, per_sample)))
    return chunk * per_sample


def conv_elements(method, x_shape, w_shape, spec):
    """Working elements (real, of the data's dtype) and complex ones of ``conv``."""
    n, c_in, big, c_out, cig, cog, g, small = _conv_terms(x_shape, w_shape, spec)
    taps, m, out = math.prod(spec.kernel_size), math.prod(small), n * c_out * math.prod(small)
    if method == "matrix":
        nnz = c_out * cig * m * taps        # int64 index arrays: 80 bytes an entry
        return nnz + 2 * taps * m + 2 * n * (c_in * math.prod(big) + c_out * m), 5 * nnz
    if method == "direct":
        padded = n * c_in * math.prod(b + lo + hi for b, (lo, hi) in zip(big, spec.padding))
        return padded + 3 * out, 0
    if method == "gemm":
        return _source(n, c_in, big, small, spec) + _chunked(n, c_in * taps * m) + 3 * out, 0
    if method == "fft":
        full = spec.full_size(small)
        grid = [b + 2 for b in full]                      # next_fast_len rounds up a little
        half = math.prod(grid[:-1]) * (grid[-1] // 2 + 1)
        block = max((c_in + n * g) * half, fft.SPECTRUM_BUDGET)
        dilated = c_out * cig * math.prod(spec.kernel_extent)
        real = 2 * _source(n, c_in, big, small, spec) + 2 * dilated + 3 * out
        return real * 2, n * c_in * half + 3 * block     # float64 work: twice the bytes
    if method == "polyphase":
        return _polyphase_conv(n, c_in, big, c_out, cig, cog, g, small, spec, out), 0
    raise ValueError(method)


def _polyphase_conv(n, c_in, big, c_out, cig, cog, g, small, spec, out):
    from . import polyphase
    if polyphase.by_position_applies(spec, small, big):
        axes = polyphase._position_phases(spec, small)
        grid = math.prod(a[4] for a in axes)
        phases = math.prod(len(a[0]) for a in axes)
        shifts = math.prod(len(a[1]) for a in axes)
        return (n * c_in * phases * grid + 2 * g * shifts * cog * cig * grid
                + 2 * g * shifts * cog * phases * n + 2 * out)
    plans = _plans(spec)
    n_u = math.prod(m + p.span - 1 for m, p in zip(small, plans))
    phases = math.prod(len(p.phases) for p in plans)
    offsets = math.prod(p.offsets for p in plans)
    rows = cig * phases
    weights = c_out * rows * offsets
    xsd = n * c_in * phases * n_u
    if rows >= polyphase.IMPLICIT_MIN_ROWS and offsets <= polyphase.IMPLICIT_MAX_OFFSETS:
        total = n * n_u
        stack = max(_layout.STACK_BUDGET, g * cog * total) + g * cog * total
        return xsd + 2 * weights + stack + 3 * out
    return xsd + 2 * weights + _chunked(n, c_in * phases * offsets * math.prod(small)) + 3 * out


def conv_transpose_elements(method, x_shape, w_shape, spec):
    """Working elements (real) and complex ones of ``conv_transpose``."""
    n, c_in, *small = x_shape
    small = tuple(small)
    cog, g = w_shape[1], spec.groups
    c_out = cog * g
    big = spec.transpose_output_size(small)
    taps, m, out = math.prod(spec.kernel_size), math.prod(small), n * c_out * math.prod(big)
    if method == "matrix":
        nnz = c_out * (c_in // g) * m * taps
        return nnz + 2 * taps * m + 2 * n * (c_in * m + c_out * math.prod(big)), 5 * nnz
    if method == "direct":
        zeros = n * c_in * math.prod((a - 1) * s + 1 for a, s in zip(small, spec.stride))
        padded = n * c_in * math.prod(o + e - 1 for o, e in zip(big, spec.kernel_extent))
        return zeros + padded + c_in * cog * taps + 2 * out, 0
    if method == "gemm":
        return n * c_in * m + n * c_out * taps * m + out, 0
    if method == "fft":
        grid = [max(f, lo + o, e, (a - 1) * s + 1) + s
                for f, (lo, _), o, e, a, s in zip(spec.full_size(small), spec.padding, big,
                                                  spec.kernel_extent, small, spec.stride)]
        half = math.prod(grid[:-1]) * (grid[-1] // 2 + 1)
        sub = math.prod(-(-f // s) + 1 for f, s in zip(grid, spec.stride))
        block = max((c_in + n * g) * half, fft.SPECTRUM_BUDGET)
        dilated = c_in * cog * math.prod(spec.kernel_extent)
        return 2 * (2 * dilated + 2 * out), n * c_in * (sub + half) + 3 * block
    if method == "polyphase":
        return _polyphase_transpose(n, c_in, small, cog, g, big, spec, out), 0
    raise ValueError(method)


def _polyphase_transpose(n, c_in, small, cog, g, big, spec, out):
    from . import polyphase
    cig = c_in // g
    if polyphase.fused_applies((n, c_in) + small, spec, big):
        plans = _plans(spec, tuple(lo for lo, _ in spec.padding))
        n_v = math.prod(o // s for o, s in zip(big, spec.stride))
        offsets = math.prod(p.offsets for p in plans)
        return 2 * n * c_in * offsets * n_v + 2 * c_in * cog * math.prod(spec.stride) * offsets + out
    plans = _plans(spec)
    u0 = [lo // s for (lo, _), s in zip(spec.padding, spec.stride)]
    n_u = math.prod((lo + o - 1) // s - b + 1
                    for (lo, _), s, o, b in zip(spec.padding, spec.stride, big, u0))
    offsets = math.prod(p.offsets for p in plans)
    phases = math.prod(len(p.phases) for p in plans)
    per_sample = c_in * offsets * n_u
    chunk = max(1, min(n, _layout.COLS_BUDGET // max(1, per_sample)))
    weights = c_in * cog * phases * offsets
    return chunk * (per_sample + 2 * g * cog * phases * n_u) + 2 * weights + out + cig


def weight_grad_elements(method, x_shape, dy_shape, spec):
    """Working elements of the gradient of ``conv`` (input ``x_shape``, output gradient
    ``dy_shape``) with respect to its weights: the polyphase path of its own, else the
    role-swapped convolution (see :func:`._grads.weight_grad`)."""
    from . import _wgrad
    n, c_in, *size = x_shape
    c_out, g = dy_shape[1], spec.groups
    cig = c_in // g
    if method == "polyphase" and _wgrad.applies(x_shape, dy_shape, spec):
        plans, n_u, _ = _wgrad._grid(spec, dy_shape[2:])
        n_u = math.prod(n_u)
        rows = cig * math.prod(len(p.phases) for p in plans)
        shifts = math.prod(p.offsets for p in plans)
        total = n * n_u
        stack = max(_layout.STACK_BUDGET, (c_out // g) * total * g)
        return (n * c_in * math.prod(len(p.phases) for p in plans) * n_u + c_out * total
                + stack + 2 * g * shifts * (c_out // g) * rows + c_out * cig * math.prod(
                    spec.kernel_size)), 0
    from ..geometry import ConvSpec
    swapped = ConvSpec(dy_shape[2:], stride=spec.dilation, padding=spec.padding,
                       dilation=spec.stride, groups=g)
    xs = (cig, g * n) + tuple(size)
    ds = (c_out, n) + tuple(dy_shape[2:])
    real, cplx = conv_elements(method, xs, ds, swapped)
    out = cig * c_out * math.prod(swapped.conv_output_size(size))
    return real + 2 * (math.prod(x_shape) + math.prod(dy_shape)) + 2 * out, cplx


def working_bytes(method, operation, x_shape, w_shape, spec, itemsize, dy_shape=None) -> int:
    """Estimated bytes ``method`` allocates for ``operation`` beyond its inputs.

    For the weight gradients ``x_shape`` and ``dy_shape`` are the operation's input and
    output gradient, ``w_shape`` the weights' shape.
    """
    if operation == "conv":
        real, cplx = conv_elements(method, x_shape, w_shape, spec)
    elif operation == "conv_transpose":
        real, cplx = conv_transpose_elements(method, x_shape, w_shape, spec)
    elif operation == "conv_weight_grad":
        real, cplx = weight_grad_elements(method, x_shape, dy_shape, spec)
    else:   # the transposed convolution's weight gradient: conv's, operands swapped
        real, cplx = weight_grad_elements(method, dy_shape, x_shape, spec)
    return int(real * itemsize + cplx * COMPLEX)


def limit(io_bytes: int, available: int) -> int:
    """Working memory allowed for a call whose inputs and output take ``io_bytes``."""
    return min(max(WORK_FLOOR, WORK_RATIO * io_bytes), max(available - io_bytes, 0))


def plan(method, operation, x_shape, w_shape, spec, dtype, out_shape, dy_shape=None) -> str:
    """The method to run: ``method`` itself or, for ``"auto"``, the chosen one if it fits,
    else the first of :data:`FALLBACK` that fits. Raises ``ValueError`` stating the
    estimate when the output or the method's working memory does not fit."""
    itemsize = np.dtype(dtype).itemsize
    shapes = [x_shape, w_shape, out_shape] + ([dy_shape] if dy_shape is not None else [])
    io_bytes = itemsize * sum(math.prod(s) for s in shapes)

    def cost(m):
        return working_bytes(m, operation, x_shape, w_shape, spec, itemsize, dy_shape)

    if method == "auto":
        from . import _cost
        method = chosen = _cost.choose(operation, x_shape, w_shape, spec)
    else:
        chosen = None
    total = io_bytes + cost(method)
    if total <= SMALL and (_checks_limit() is None or total <= _checks_limit()):
        return method   # small problems skip reading the memory available (a file read)
    available = available_bytes()
    out_bytes = itemsize * math.prod(out_shape)
    if out_bytes > available:
        raise ValueError(
            f"the {operation} output of shape {tuple(out_shape)} would take "
            f"{fmt(out_bytes)}, more than the {fmt(available)} of memory available")
    allowed = limit(io_bytes, available)
    if chosen is None:
        need = cost(method)
        if need <= allowed:
            return method
        fits = next((m for m in FALLBACK if m != method and cost(m) <= allowed), None)
        hint = (f"; method={fits!r} needs about {fmt(cost(fits))}" if fits
                else "; no method fits: use smaller inputs or a smaller batch")
        raise ValueError(
            f"method={method!r} would need about {fmt(need)} of working memory for this "
            f"{operation}, more than the {fmt(allowed)} allowed (max({fmt(WORK_FLOOR)}, "
            f"{WORK_RATIO} x inputs and output), within the memory available){hint}")
    for m in (chosen,) + FALLBACK:
        if cost(m) <= allowed:
            return m
    raise ValueError(
        f"no method fits this {operation} in the {fmt(allowed)} of working memory allowed "
        f"(the smallest estimate is {fmt(min(cost(m) for m in FALLBACK))}); use smaller "
        f"inputs or a smaller batch")


def _checks_limit():
    """The cap of :func:`deconvkit.set_memory_limit`, or ``None``."""
    return _checks._LIMIT[0]
