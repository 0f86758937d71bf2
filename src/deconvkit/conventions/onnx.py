"""ONNX: the ``ConvTranspose`` and ``Conv`` operators (opset >= 11 semantics).

``pads`` are the forward convolution's ``[x1_begin, x2_begin, ..., x1_end, x2_end, ...]``;
``output_padding`` (``< max(stride, dilation)``) adds at the end. ``output_shape`` (or
``auto_pad`` SAME_UPPER / SAME_LOWER, which mean ``output_shape = input * stride``)
replaces ``pads`` by::

    total_padding = stride * (input - 1) + output_padding + d(k-1) + 1 - output_shape
    SAME_UPPER: pads = (total // 2, total - total // 2)       odd pixel at the end
    otherwise:  pads = (total - total // 2, total // 2)       odd pixel at the start

A negative ``total_padding`` (``output_shape`` beyond the full output) would need negative
pads, which ONNX does not allow: the extra size is added at the end, as ``output_padding``
would (ONNX Runtime does the same; the reference implementation's floor division puts it
at the start for SAME_UPPER). Weight ``(C, M/group, *k)``, data ``(N, C, *spatial)``.
"""

from __future__ import annotations

import numpy as np

from .._checks import MAX_INT, check_int, describe, is_int
from ..functional import conv
from ..geometry import ConvSpec, same_padding
from ._call import Code, FrameworkCall
from ._window import (TransposeWindow, array, as_array, checked_call_args, layout_name, per_axis,
                      owned, run_transpose, spatial_sizes)

__all__ = ["onnx_conv_transpose", "onnx_conv", "onnx_window", "onnx_conv_pads", "onnx_call",
           "onnx_spec"]

AUTO_PADS = ("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID")


def _attr(value, length, name, default, lengths=()):
    """An ``INTS`` attribute: a list of ``length`` ints (or of one of ``lengths``)."""
    if value is None:
        return (default,) * length
    items = value.tolist() if isinstance(value, np.ndarray) else value
    if is_int(items) or isinstance(items, (str, bytes)) or not hasattr(items, "__len__") or \
            not all(is_int(v) for v in items):
        raise TypeError(f"attribute {name} must be a list of {length} ints, "
                        f"got {describe(value)}")
    if len(items) not in (length,) + tuple(lengths):
        raise ValueError(f"attribute {name} must be a list of {length} ints, "
                         f"got {describe(value)}")
    return per_axis(items, len(items), name, -MAX_INT)


def _auto_pad(auto_pad):
    mode = auto_pad.decode(errors="replace") if isinstance(auto_pad, bytes) else auto_pad
    if not isinstance(mode, str) or mode not in AUTO_PADS:
        raise ValueError(f"auto_pad must be one of {AUTO_PADS}, got {auto_pad!r}")
    return mode


def _common(input_size, kernel_shape, auto_pad, pads, strides, dilations):
    input_size = spatial_sizes(input_size)
    ndim = len(input_size)
    k = _attr(kernel_shape, ndim, "kernel_shape", 1)
    s, d = _attr(strides, ndim, "strides", 1), _attr(dilations, ndim, "dilations", 1)
    mode = _auto_pad(auto_pad)
    if pads is not None and mode != "NOTSET":
        raise ValueError(f"pads {describe(pads)} cannot be used simultaneously with "
                         f"auto_pad={mode!r}")
    flat = _attr(pads, 2 * ndim, "pads", 0)
    pairs = tuple(zip(flat[:ndim], flat[ndim:]))
    if any(v < 1 for v in s + d + k):
        raise ValueError(f"strides, dilations and kernel_shape must be >= 1, got strides={s}, "
                         f"dilations={d}, kernel_shape={k}")
    if any(v < 0 for v in flat):
        raise ValueError(f"pads must be >= 0, got {list(flat)}")
    return input_size, k, s, d, mode, pairs


def onnx_window(input_size, kernel_shape, *, auto_pad="NOTSET", dilations=None, group=1,
                output_padding=None, output_shape=None, pads=None,
                strides=None) -> TransposeWindow:
    """The window ONNX ``ConvTranspose`` computes (spec formulas, see the module notes)."""
    input_size, k, s, d, mode, pairs = _common(input_size, kernel_shape, auto_pad, pads,
                                               strides, dilations)
    ndim = len(input_size)
    r = _attr(output_padding, ndim, "output_padding", 0)
    for axis, (ri, si, di) in enumerate(zip(r, s, d)):
        if not 0 <= ri < max(si, di):
            raise ValueError(f"output_padding[{axis}] ({ri}) must be less than max(stride, "
                             f"dilation) ({max(si, di)}): output_padding={list(r)}")
    if output_shape is not None:
        n = _attr(output_shape, ndim, "output_shape", 1, lengths=(ndim + 2,))
        n = n[2:] if len(n) == ndim + 2 else n
        if any(v < 1 for v in n):
            raise ValueError(f"output_shape must have {ndim} positive spatial sizes, "
                             f"got {describe(output_shape)}")
    elif mode in ("SAME_UPPER", "SAME_LOWER"):
        n = tuple(m * si for m, si in zip(input_size, s))
    else:
        n = None
    spec = ConvSpec(k, s, 0 if mode == "VALID" else pairs, d, group, r)
    if n is None:
        win = TransposeWindow.from_spec(spec)
    else:
        full = spec.full_size(input_size)
        win = TransposeWindow(k, s, d, tuple(
            _auto_crop(axis, full[axis], n[axis], r[axis], s[axis], d[axis], mode)
            for axis in range(ndim)), group)
    out = win.sizes(input_size)
    if any(v < 1 for v in out):
        raise ValueError(f"pads {list(pairs)} leave no output: output size {out} for input "
                         f"{tuple(input_size)}")
    return win


def onnx_spec(input_size, kernel_shape, *, auto_pad="NOTSET", dilations=None, group=1,
              output_padding=None, output_shape=None, pads=None, strides=None):
    """The :class:`~deconvkit.ConvSpec` a ``ConvTranspose`` node means for an input size.

    Its ``pads`` (given, or computed from ``auto_pad`` / ``output_shape`` by the spec
    formulas) and ``output_padding`` as they are, so that ``conv_transpose(x, w, spec)``
    is the node. Only an ``output_shape`` beyond the full scatter needs zeros after it.

    Returns
    -------
    spec : ConvSpec or None
        None when the output lies entirely outside the scatter (all zeros).
    extra : tuple of (before, after)
        Zeros around ``conv_transpose(x, w, spec)`` per axis; all zero but in that case.

    >>> spec, extra = onnx_spec((4,), (3,), strides=[2], auto_pad="SAME_LOWER")
    >>> spec.padding, spec.output_padding, extra
    (((1, 0),), (0,), ((0, 0),))
    """
    window = onnx_window(input_size, kernel_shape, auto_pad=auto_pad, dilations=dilations,
                         group=group, output_padding=output_padding, output_shape=output_shape,
                         pads=pads, strides=strides)
    r = _attr(output_padding, window.ndim, "output_padding", 0)
    pairs = tuple((lo, hi + ri) for (lo, hi), ri in zip(window.crop, r))
    if all(lo >= 0 and hi >= 0 for lo, hi in pairs):
        spec = ConvSpec(window.kernel_size, window.stride, pairs, window.dilation,
                        window.groups, r)
        return spec, ((0, 0),) * window.ndim
    return window.to_spec(input_size)


def _auto_crop(axis, L, n, r, s, d, mode):
    """Crops of the full output for a requested output size ``n`` (spec formulas)."""
    total = L + r - n
    if total >= 0:
        lo = total // 2 if mode == "SAME_UPPER" else total - total // 2
        return lo, total - lo - r
    if n - L >= max(s, d):
        raise ValueError(
            f"output_shape {n} on axis {axis} needs total_padding {total}: the output can "
            f"exceed the full size {L} by at most max(stride, dilation) - 1 = {max(s, d) - 1} "
            f"(valid sizes 1..{L + max(s, d) - 1})")
    return 0, L - n


def _check_xw(X, W, B, group, kernel_shape, transposed):
    if X.ndim < 3 or W.ndim != X.ndim:
        raise ValueError(f"X must be (N, C, *spatial) and W of the same rank, got X of shape "
                         f"{X.shape} and W of shape {W.shape}")
    check_int(group, "group")
    if kernel_shape is not None and _attr(kernel_shape, W.ndim - 2, "kernel_shape",
                                          1) != W.shape[2:]:
        raise ValueError(f"kernel_shape {describe(kernel_shape)} does not match W's spatial shape "
                         f"{list(W.shape[2:])}")
    c_in = W.shape[0] if transposed else W.shape[1] * group
    if X.shape[1] != c_in or W.shape[0] % group:
        layout = "(C, M/group, *k)" if transposed else "(M, C/group, *k)"
        raise ValueError(f"X has {X.shape[1]} channels; W {layout} of shape {W.shape} with "
                         f"group={group} expects {c_in} and M divisible by group")
    c_out = W.shape[1] * group if transposed else W.shape[0]
    shape = None if B is None else array(B, "B").shape
    if B is not None and shape != (c_out,):
        raise ValueError(f"B must have shape ({c_out},) (the output channels), "
                         f"got {shape}")


def onnx_conv_transpose(X, W, B=None, *, auto_pad="NOTSET", dilations=None, group=1,
                        kernel_shape=None, output_padding=None, output_shape=None, pads=None,
                        strides=None):
    """The ONNX ``ConvTranspose`` operator, exactly as the current spec defines it.

    Parameters
    ----------
    X : (N, C, *spatial) ndarray
    W : (C, M/group, *k) ndarray
    B : (M,) ndarray, optional
    auto_pad : {"NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"}
    dilations, kernel_shape, output_padding, output_shape, strides : list of int, optional
    pads : list of 2 * ndim ints, optional
        ``[x1_begin, x2_begin, ..., x1_end, x2_end, ...]``; ignored when ``output_shape``
        is given.
    group : int

    Returns
    -------
    Y : (N, M, *out) ndarray

    Examples
    --------
    >>> X = np.array([[[0.0, 1.0, 2.0]]])
    >>> onnx_conv_transpose(X, np.ones((1, 1, 3)), strides=[2], auto_pad="SAME_UPPER")
    array([[[0., 0., 1., 1., 3., 2.]]])
    >>> onnx_conv_transpose(X, np.ones((1, 1, 3)), strides=[2], auto_pad="SAME_LOWER")
    array([[[0., 1., 1., 3., 2., 2.]]])
    """
    X, W = as_array(X, "X"), as_array(W, "W")
    _check_xw(X, W, B, group, kernel_shape, transposed=True)
    win = onnx_window(X.shape[2:], W.shape[2:], auto_pad=auto_pad, dilations=dilations,
                      group=group, output_padding=output_padding, output_shape=output_shape,
                      pads=pads, strides=strides)
    dtype = np.result_type(X, W)
    return owned(run_transpose(X.astype(dtype), W.astype(dtype), B, win), X, W)


def onnx_conv_pads(input_size, kernel_shape, *, auto_pad="NOTSET", pads=None, strides=None,
                   dilations=None):
    """``(begin, end)`` padding per axis of ONNX ``Conv``.

    SAME_UPPER / SAME_LOWER give output ``ceil(n / s)`` with the odd pixel at the end /
    start; VALID is no padding.

    >>> onnx_conv_pads((5,), (3,), auto_pad="SAME_LOWER", strides=[2])
    ((1, 1),)
    >>> [onnx_conv_pads((4,), (2,), auto_pad=mode) for mode in ("SAME_LOWER", "SAME_UPPER")]
    [((1, 0),), ((0, 1),)]
    """
    input_size, k, s, d, mode, pairs = _common(input_size, kernel_shape, auto_pad, pads,
                                               strides, dilations)
    if mode == "VALID":
        return ((0, 0),) * len(input_size)
    if mode == "NOTSET":
        return pairs
    upper = [same_padding(n, ki, si, di) for n, ki, si, di in zip(input_size, k, s, d)]
    return tuple(upper) if mode == "SAME_UPPER" else tuple(p[::-1] for p in upper)


def onnx_conv(X, W, B=None, *, auto_pad="NOTSET", dilations=None, group=1, kernel_shape=None,
              pads=None, strides=None):
    """The ONNX ``Conv`` operator: ``X (N, C, *n)``, ``W (M, C/group, *k)`` -> ``(N, M, *out)``.

    >>> onnx_conv(np.arange(5.0).reshape(1, 1, 5), np.ones((1, 1, 3)), pads=[1, 1])
    array([[[1., 3., 6., 9., 7.]]])
    """
    X, W = as_array(X, "X"), as_array(W, "W")
    _check_xw(X, W, B, group, kernel_shape, transposed=False)
    padding = onnx_conv_pads(X.shape[2:], W.shape[2:], auto_pad=auto_pad, pads=pads,
                             strides=strides, dilations=dilations)
    dtype = np.result_type(X, W)
    ndim = X.ndim - 2
    return owned(conv(X.astype(dtype), W.astype(dtype),
                      None if B is None else np.asarray(B, dtype),
                      stride=_attr(strides, ndim, "strides", 1), padding=padding,
                      dilation=_attr(dilations, ndim, "dilations", 1), groups=group), X, W)


def onnx_call(window: TransposeWindow, input_size) -> FrameworkCall:
    """ONNX ``ConvTranspose`` attributes for a window (explicit ``pads``, never auto_pad).

    Exact whenever ``lo >= 0`` and ``hi > -max(s, d)``; a negative ``lo`` (zeros before
    the output) is a pad after the node.
    """
    window, input_size = checked_call_args(window, input_size)
    plans = []
    for (lo, hi), s, d, L in zip(window.crop, window.stride, window.dilation,
                                 window.full_size(input_size)):
        r = min(max(-hi, 0), max(s, d) - 1)
        a = min(max(lo, 0), L - 1)  # a window outside the scatter: keep one pixel, fix up
        plans.append((a, min(max(hi, 0), L - 1 - a + r), r))
    fixup = tuple((lo - a, hi - b + r) for (lo, hi), (a, b, r) in zip(window.crop, plans))
    args = {"strides": list(window.stride),
            "pads": [a for a, _, _ in plans] + [b for _, b, _ in plans]}
    notes = []
    if any(r for _, _, r in plans):
        args["output_padding"] = [r for _, _, r in plans]
        if any(r >= s for (_, _, r), s in zip(plans, window.stride)):
            notes.append("ONNX Runtime rejects output_padding >= stride (it requires the "
                         "forward conv of the output to give back the input size); the spec "
                         "allows up to max(stride, dilation) - 1")
    if any(d != 1 for d in window.dilation):
        args["dilations"] = list(window.dilation)
    if window.groups != 1:
        args["group"] = window.groups
    if any(lo < 0 for lo, _ in window.crop):
        notes.append("ONNX pads are >= 0, so zeros before the output are a pad after the node")
    if any(a != lo or b - r != hi for (lo, hi), (a, b, r) in zip(window.crop, plans)):
        notes.append("y below is the node's output Y")
    size = ConvSpec(window.kernel_size, window.stride, [(a, b) for a, b, _ in plans],
                    window.dilation, window.groups,
                    [r for _, _, r in plans]).transpose_output_size(input_size)
    return FrameworkCall("onnx", "onnx.helper.make_node", args, size, fixup,
                         layout_name(window.ndim, channels_last=False), notes=tuple(notes),
                         inputs=(Code('"ConvTranspose"'), Code('["X", "W"]'), Code('["Y"]')),
                         result="node")


def onnx_candidates(window: TransposeWindow, input_size):
    """ConvTranspose attributes users reach for: auto_pad and output_shape variants."""
    n = list(window.output_size(input_size))
    base = {"strides": list(window.stride), "dilations": list(window.dilation),
            "group": window.groups}
    for mode in ("SAME_UPPER", "SAME_LOWER"):
        yield dict(base, auto_pad=mode)
        yield dict(base, auto_pad=mode, output_shape=n)
    yield dict(base, output_shape=n)
