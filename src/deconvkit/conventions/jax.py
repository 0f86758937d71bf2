"""JAX: ``jax.lax.conv_transpose`` (a fractionally strided convolution, not a gradient).

JAX inserts ``s - 1`` zeros between inputs, pads by ``(a, b)`` and correlates with ``rhs``
at stride 1: the window is ``(e - 1 - a, e - 1 - b)`` with ``e = d(k-1) + 1``. ``padding``:

* "SAME" / "VALID" mean the forward convolution's (output ``m * s`` / ``(m-1)s + max(e, s)``);
* pairs are ``(a, b)`` themselves (the transposed convolution's padding) unless
  ``use_consistent_padding=True``, when they are the forward convolution's, as in PyTorch;
* any other string is handed to the stride-1 convolution (only allowed when every stride
  is 1).

The kernel is *not* flipped unless ``transpose_kernel=True``, which also swaps its I and O
axes: then ``rhs`` is TensorFlow's filter ``[*k, out, in]`` (default HWIO numbers) and the
result is the gradient-based transposed convolution. Default layouts NWC/NHWC/NHWDC.
"""

from __future__ import annotations

import numpy as np

from .._checks import MAX_INT, describe
from ._call import FrameworkCall
from ._window import (TransposeWindow, as_array, checked_call_args, layout_name, per_axis, seq_len,
                      owned, run_transpose, spatial_sizes)

__all__ = ["jax_conv_transpose", "jax_window", "jax_call"]

DEFAULT_NUMBERS = {1: ("NHC", "HIO", "NHC"), 2: ("NHWC", "HWIO", "NHWC"),
                   3: ("NHWDC", "HWDIO", "NHWDC")}


def _permutations(dimension_numbers, ndim):
    """``(lhs_perm, rhs_perm, out_perm)``: each (batch/out, feature/in, *spatial) axes."""
    if dimension_numbers is None:
        if ndim - 2 not in DEFAULT_NUMBERS:
            raise ValueError(f"No default dimension_numbers for rank {ndim}: pass them")
        dimension_numbers = DEFAULT_NUMBERS[ndim - 2]
    if seq_len(dimension_numbers) is None:
        raise TypeError(f"convolution dimension_numbers must be a list/tuple of 3 strings or "
                        f"of 3 axis permutations, got {describe(dimension_numbers)}.")
    specs = tuple(dimension_numbers)
    if len(specs) != 3:
        raise TypeError(f"convolution dimension_numbers list/tuple must be length 3, "
                        f"got {len(specs)}.")
    if not all(isinstance(sp, str) for sp in specs):  # ConvDimensionNumbers of int tuples
        perms = tuple(per_axis(sp, ndim, "dimension_numbers", 0, ndim - 1)
                      if seq_len(sp) is not None else sp
                      for sp in specs)
        if any(not isinstance(p, tuple) or sorted(p) != list(range(ndim)) for p in perms):
            raise TypeError(f"convolution dimension_numbers must be 3 strings or 3 "
                            f"permutations of range({ndim}), got {describe(dimension_numbers)}.")
        return perms
    pairs = (("N", "C"), ("O", "I"), ("N", "C"))
    for i, (spec, (a, b)) in enumerate(zip(specs, pairs)):
        if len(spec) != ndim or spec.count(a) != 1 or spec.count(b) != 1 or \
                len(set(spec)) != len(spec):
            raise TypeError(f"convolution dimension_numbers[{i}] must have length {ndim} and "
                            f"contain '{a}' and '{b}' exactly once, got {spec}.")
    if not set(specs[0]) - {"N", "C"} == set(specs[1]) - {"O", "I"} == set(specs[2]) - {"N", "C"}:
        raise TypeError("convolution dimension_numbers elements must each have the same set of "
                        f"spatial characters, got {specs}.")
    rhs = specs[1]

    def perm(spec, pair):
        spatial = [i for i, c in enumerate(spec) if c not in pair]
        if spec is not rhs:
            spatial.sort(key=lambda i: rhs.index(spec[i]))
        return (spec.index(pair[0]), spec.index(pair[1])) + tuple(spatial)

    return tuple(perm(sp, pair) for sp, pair in zip(specs, pairs))


def _pads(e, s, padding, consistent):
    """JAX's ``(a, b)`` padding of the zero-inserted input for one axis."""
    mode = padding if isinstance(padding, str) else None   # explicit pairs may be an array
    if mode in ("SAME", "VALID") or consistent and mode is None:
        if mode == "SAME":
            pad_len = e + s - 2
            a = e - 1 if s > e - 1 else -(-pad_len // 2)
        elif mode == "VALID":
            pad_len, a = e + s - 2 + max(e - s, 0), e - 1
        else:
            a, b = (e - 1 - p for p in padding)
            pad_len = a + b
        return a, pad_len - a
    if isinstance(padding, str):  # handed to the stride-1 convolution on the dilated input
        total = e - 1
        lo = total - total // 2 if padding.upper() == "SAME_LOWER" else total // 2
        return {"SAME": (lo, total - lo), "SAME_LOWER": (lo, total - lo),
                "VALID": (0, 0)}[padding.upper()]
    return tuple(padding)


def jax_window(input_size, kernel_size, *, strides, padding, rhs_dilation=None,
               use_consistent_padding=False) -> TransposeWindow:
    """The window ``jax.lax.conv_transpose`` computes (spatial axes in rhs order).

    JAX refuses padding that makes the dilated input negative and returns an empty
    output when the kernel does not fit; :meth:`TransposeWindow.output_size` raises then.
    """
    input_size = spatial_sizes(input_size)
    n = len(input_size)
    d = (1,) * n if rhs_dilation is None else rhs_dilation
    for name, value in (("strides", strides), ("rhs_dilation", rhs_dilation)):
        if value is not None and seq_len(value) is None:
            raise TypeError(f"{name} must be a sequence of {n} ints (jax.lax.conv_transpose "
                            f"takes Sequence[int], not one int for every axis), got "
                            f"{describe(value)}")
    if any(seq_len(v) != n for v in (strides, d)):
        raise ValueError(f"strides and rhs_dilation need {n} entries (one per spatial "
                         f"dimension), got strides={describe(strides)}, "
                         f"rhs_dilation={describe(rhs_dilation)}")
    s, d = per_axis(strides, n, "strides", 1), per_axis(d, n, "rhs_dilation", 1)
    k = per_axis(kernel_size, n, "kernel_size", 1)
    if isinstance(padding, str):
        if padding not in ("SAME", "VALID") and max(s) > 1:
            raise ValueError("String padding is not implemented for transposed convolution "
                             "using this op. Please either exactly specify the required padding "
                             f"or use conv_transpose. (padding={padding!r}; only 'SAME' and "
                             "'VALID' mean the forward convolution's)")
        if padding.upper() not in ("SAME", "VALID", "SAME_LOWER"):
            raise ValueError("Unrecognized padding type: expected 'VALID', 'SAME', or "
                             f"'SAME_LOWER', got {padding}.")
        pairs = [padding] * n
    else:
        pairs = padding
        if seq_len(pairs) is None or any(seq_len(p) is None for p in pairs):
            raise TypeError(f"padding must be 'SAME', 'VALID' or {n} (low, high) pairs of ints, "
                            f"got {describe(padding)}")
        if len(pairs) != n or any(len(p) != 2 for p in pairs):
            raise ValueError(f"padding must be 'SAME', 'VALID' or {n} (low, high) pairs, "
                             f"got {describe(padding)}")
        pairs = [per_axis(p, 2, "padding", -MAX_INT) for p in pairs]
    crop = []
    extent = TransposeWindow(k, s, d, ((0, 0),) * n).kernel_extent
    for m, e, si, pad in zip(input_size, extent, s, pairs):
        a, b = _pads(e, si, pad, use_consistent_padding)
        size = (m - 1) * si + 1
        if size + a + b < 0:
            raise ValueError("Negative padding is larger than the size of the corresponding "
                             f"dimension: got padding ({a}, {b}) for the dilated input of "
                             f"size {size}")
        crop.append((e - 1 - a, e - 1 - b))
    return TransposeWindow(k, s, d, tuple(crop))


def jax_conv_transpose(lhs, rhs, strides, padding, rhs_dilation=None, dimension_numbers=None,
                       transpose_kernel=False, use_consistent_padding=False):
    """``jax.lax.conv_transpose``, exactly, on NumPy arrays.

    Parameters
    ----------
    lhs : ndarray
        Input, NWC/NHWC/NHWDC by default.
    rhs : ndarray
        Kernel, WIO/HWIO/HWDIO by default; with ``transpose_kernel=True`` its I axis holds
        the output channels and O the input channels (TensorFlow's filter layout).
    strides : sequence of int
    padding : "SAME", "VALID" or sequence of (low, high)
        See the module notes: pairs are the transposed convolution's padding unless
        ``use_consistent_padding``.
    rhs_dilation : sequence of int, optional
    dimension_numbers : (lhs, rhs, out) strings such as ("NCHW", "OIHW", "NCHW"), optional
    transpose_kernel : bool
        Flip the kernel spatially and swap I/O (what TensorFlow and Keras do).
    use_consistent_padding : bool

    Examples
    --------
    >>> x = np.array([1.0, 2.0, 3.0]).reshape(1, 3, 1)
    >>> k = np.array([1.0, 10.0, 100.0]).reshape(3, 1, 1)
    >>> jax_conv_transpose(x, k, (2,), "SAME", transpose_kernel=True)[0, :, 0]
    array([  1.,  10., 102.,  20., 203.,  30.])
    >>> jax_conv_transpose(x, k, (2,), "SAME")[0, :, 0]  # kernel not flipped
    array([100.,  10., 201.,  20., 302.,  30.])
    """
    x, r = as_array(lhs, "lhs"), as_array(rhs, "rhs")
    if x.ndim != r.ndim or x.ndim < 3:
        raise TypeError(f"convolution requires lhs and rhs ndim to be equal (>= 3), got "
                        f"{x.ndim} and {r.ndim}.")
    lhs_perm, rhs_perm, out_perm = _permutations(dimension_numbers, x.ndim)
    x = np.transpose(x, lhs_perm)
    kern = np.transpose(r, rhs_perm)  # (O, I, *spatial)
    if transpose_kernel:
        w = kern  # flipped and I/O-swapped by JAX, then flipped again by the scatter
    else:
        w = np.flip(np.swapaxes(kern, 0, 1), axis=tuple(range(2, kern.ndim)))
    if x.shape[1] != w.shape[0]:
        raise ValueError("conv_general_dilated lhs feature dimension size divided by "
                         "feature_group_count must equal the rhs input feature dimension size, "
                         f"but {x.shape[1]} // 1 != {w.shape[0]}.")
    win = jax_window(x.shape[2:], w.shape[2:], strides=strides, padding=padding,
                     rhs_dilation=rhs_dilation, use_consistent_padding=use_consistent_padding)
    dtype = np.result_type(x, w)
    out = win.sizes(x.shape[2:])
    if min(out) < 0:  # JAX clips the size at 0: an empty array when the kernel does not fit
        win = TransposeWindow(win.kernel_size, win.stride, win.dilation, tuple(
            (lo, hi + min(n, 0)) for (lo, hi), n in zip(win.crop, out)))
    y = run_transpose(x.astype(dtype), w.astype(dtype), None, win, allow_empty=True)
    return owned(np.transpose(y, np.argsort(out_perm)), x, r)


def jax_call(window: TransposeWindow, input_size) -> FrameworkCall:
    """``jax.lax.conv_transpose`` arguments: exact (explicit pairs reach any window that
    overlaps the full scatter).

    Uses ``transpose_kernel=True`` so the kernel is TensorFlow's ``[*k, out, in]``;
    groups become a block-diagonal kernel.
    """
    window, input_size = checked_call_args(window, input_size)
    n, full = window.ndim, window.full_size(input_size)
    crop = tuple((min(lo, L), min(hi, L)) for (lo, hi), L in zip(window.crop, full))
    fixup = tuple((lo - a, hi - b) for (lo, hi), (a, b) in zip(window.crop, crop))
    window = TransposeWindow(window.kernel_size, window.stride, window.dilation, crop,
                             window.groups)  # JAX refuses to crop beyond the scatter
    pads = [(e - 1 - lo, e - 1 - hi) for e, (lo, hi) in zip(window.kernel_extent, crop)]
    padding = pads
    for mode in ("SAME", "VALID"):
        try:
            if jax_window(input_size, window.kernel_size, strides=window.stride, padding=mode,
                          rhs_dilation=window.dilation).crop == window.crop:
                padding = mode
                break
        except ValueError:
            continue
    args = {"strides": window.stride, "padding": padding}
    if any(d != 1 for d in window.dilation):
        args["rhs_dilation"] = window.dilation
    args["transpose_kernel"] = True
    notes = [f"pairs are the transposed convolution's padding (JAX's default); with "
             f"use_consistent_padding=True pass the forward padding {list(window.crop)}"] \
        if padding is pads else []
    if window.groups != 1:
        notes.append("lax.conv_transpose has no groups: the kernel is block diagonal (exact for "
                     "finite inputs: a NaN or Inf also meets the zero blocks)")
    return FrameworkCall("jax", "jax.lax.conv_transpose", args, window.output_size(input_size),
                         fixup, layout_name(n, channels_last=True), channels_last=True,
                         notes=tuple(notes), inputs=("x", "rhs"), weight_groups=window.groups,
                         weight_axes=tuple(range(2, n + 2)) + (1, 0))


def jax_candidates(window: TransposeWindow, input_size):
    """SAME and VALID, and the crops passed as pairs without ``use_consistent_padding``."""
    for padding in ("SAME", "VALID", list(window.crop)):
        yield {"strides": window.stride, "padding": padding, "rhs_dilation": window.dilation}
