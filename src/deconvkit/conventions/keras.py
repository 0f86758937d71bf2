"""Keras 3: ``Conv1DTranspose``, ``Conv2DTranspose``, ``Conv3DTranspose``, ``ops.conv_transpose``.

Keras computes the output size itself (``e = d(k-1) + 1``)::

    valid:  (m-1)s + e + output_padding      output_padding defaults to max(e, s) - e
    same:   m * s                             when output_padding is None
            (m-1)s + e % 2 + output_padding   otherwise

and places it as its backend-independent padding rule does (the conversion Keras uses
for JAX; the TensorFlow backend hands the same output size to ``tf.nn.conv_transpose``
with SAME/VALID and agrees wherever TensorFlow accepts it; with an even kernel,
``padding="same"`` and ``output_padding=0`` TensorFlow rejects the size). Kernels are
``(*k, filters, in_channels)``; data channels-last by default; no groups; the layers
reject ``output_padding >= strides`` and ``strides > 1`` together with ``dilation_rate > 1``.
"""

from __future__ import annotations

import numpy as np

from ._call import FrameworkCall
from ._window import (TransposeWindow, as_array, channels_back, channels_first, layout_name,
                      run_transpose)

__all__ = ["keras_conv_transpose", "keras_window", "keras_call"]


def _tuple(value, n, name):
    """Keras' ``standardize_tuple``."""
    items = (value,) * n if isinstance(value, (int, np.integer)) else tuple(value)
    if len(items) != n or not all(isinstance(v, (int, np.integer)) for v in items):
        raise ValueError(f"The `{name}` argument must be a tuple of {n} integers. "
                         f"Received {name}={value}")
    if any(v <= 0 for v in items):
        raise ValueError(f"The `{name}` argument must be a tuple of {n} positive integers. "
                         f"Received {name}={value}")
    return tuple(int(v) for v in items)


def _axis_crop(k, s, d, padding, op):
    """Crops ``(lo, hi)`` of the full output for one axis (Keras' padding rule)."""
    e = d * (k - 1) + 1
    if padding == "valid":
        op = max(e, s) - e if op is None else op
        return 0, -op
    pad_len = s + e - 2 if op is None else e + e % 2 - 2 + op
    left = min(pad_len // 2 + pad_len % 2, e - 1)
    return e - 1 - left, e - 1 - (pad_len - left)


def keras_window(input_size, kernel_size, *, strides=1, padding="valid", output_padding=None,
                 dilation_rate=1) -> TransposeWindow:
    """The window Keras computes, with the ``ConvNDTranspose`` layers' checks."""
    n = len(input_size)
    k, s = _tuple(kernel_size, n, "kernel_size"), _tuple(strides, n, "strides")
    d = _tuple(dilation_rate, n, "dilation_rate")
    mode = padding.lower() if isinstance(padding, str) else padding
    if mode not in ("valid", "same"):
        raise ValueError("The `padding` argument must be a list/tuple or one of "
                         f"{{'valid', 'same'}}. Received: {padding}")
    ops = (None,) * n
    if output_padding is not None:
        ops = (output_padding,) * n if isinstance(output_padding, (int, np.integer)) \
            else tuple(output_padding)
        if len(ops) != n:
            raise ValueError(f"The `output_padding` argument must be a tuple of {n} integers. "
                             f"Received output_padding={output_padding}")
        for i, (op, si) in enumerate(zip(ops, s)):
            if not 0 <= op < si:
                raise ValueError(
                    "`output_padding` must be strictly less than `strides` for all "
                    f"dimensions. At dimension {i}, `output_padding` is {op} but `strides` "
                    f"is {si}. Received: output_padding={output_padding}, strides={s}")
    if max(s) > 1 and max(d) > 1:
        raise ValueError("`strides > 1` not supported in conjunction with `dilation_rate > 1`. "
                         f"Received: strides={s} and dilation_rate={d}")
    crop = tuple(_axis_crop(ki, si, di, mode, op) for ki, si, di, op in zip(k, s, d, ops))
    return TransposeWindow(k, s, d, crop)


def keras_conv_transpose(inputs, kernel, bias=None, strides=1, padding="valid",
                         output_padding=None, dilation_rate=1, data_format="channels_last"):
    """Keras 3's ``ConvNDTranspose`` layer output (``ops.conv_transpose`` plus bias).

    A size-0 output (``padding="same"``, ``output_padding=0``, even kernel, one input
    pixel) is an empty array, as on Keras' JAX backend.

    Parameters
    ----------
    inputs : (N, *spatial, C_in) ndarray, or (N, C_in, *spatial) for "channels_first"
    kernel : (*k, filters, C_in) ndarray
    bias : (filters,) ndarray, optional
    strides, dilation_rate : int or tuple of int
    padding : {"valid", "same"}
    output_padding : int or tuple of int, optional
        ``< strides``; changes the output size, see the module notes.
    data_format : {"channels_last", "channels_first"}

    Examples
    --------
    >>> x = np.array([1.0, 2.0, 3.0]).reshape(1, 3, 1)
    >>> keras_conv_transpose(x, np.ones((3, 1, 1)), strides=2, padding="same")[0, :, 0]
    array([1., 1., 3., 2., 5., 3.])
    """
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError("The `data_format` argument must be one of {'channels_first', "
                         f"'channels_last'}}. Received: data_format={data_format}")
    last = data_format == "channels_last"
    x, f = as_array(inputs, "inputs"), as_array(kernel, "kernel")
    if f.ndim < 3 or x.ndim != f.ndim:
        raise ValueError(f"inputs and kernel must have the same rank >= 3, got shapes "
                         f"{x.shape} and {f.shape}")
    x = channels_first(x, last)
    if x.shape[1] != f.shape[-1]:
        raise ValueError("The number of input channels must match the kernel's input channels. "
                         f"Received: input channels={x.shape[1]}, kernel input "
                         f"channels={f.shape[-1]}, data_format='{data_format}'.")
    if bias is not None and np.shape(bias) != (f.shape[-2],):
        raise ValueError(f"bias must have shape ({f.shape[-2]},) (filters), got {np.shape(bias)}")
    n = f.ndim - 2
    win = keras_window(x.shape[2:], f.shape[:n], strides=strides, padding=padding,
                       output_padding=output_padding, dilation_rate=dilation_rate)
    w = np.moveaxis(f, (n + 1, n), (0, 1))  # (*k, out, in) -> (in, out, *k)
    dtype = np.result_type(x, f)
    y = run_transpose(x.astype(dtype), w.astype(dtype), bias, win, allow_empty=True)
    return channels_back(y, last)


def _options(k, s, d, lo, hi):
    """(padding, output_padding) pairs that reach crops ``(lo, hi)`` on one axis."""
    found = []
    for mode in ("same", "valid"):
        for op in (None,) + tuple(range(s)):
            if _axis_crop(k, s, d, mode, op) == (lo, hi):
                found.append((mode, op))
    return found


def keras_call(window: TransposeWindow, input_size) -> FrameworkCall:
    """``ConvNDTranspose`` arguments for a window, or "valid" plus a slice or pad.

    Groups become a block-diagonal kernel; ``strides > 1`` with dilation becomes a kernel
    with zeros inserted (``dilation_rate=1``), both exact.
    """
    n, notes = window.ndim, []
    d = window.dilation
    dilate = max(window.stride) > 1 and max(d) > 1
    k = window.kernel_extent if dilate else window.kernel_size
    d_eff = (1,) * n if dilate else d
    per_axis = [_options(*a) for a in zip(k, window.stride, d_eff, *zip(*window.crop))]
    choice = _choose(per_axis, k, d_eff)
    fixup = ((0, 0),) * n
    if choice is None:
        ops = [min(max(-hi, 0), s - 1) for (_, hi), s in zip(window.crop, window.stride)]
        choice = ("valid", tuple(ops))
        fixup = tuple((lo, hi + op) for (lo, hi), op in zip(window.crop, ops))
        notes.append("Keras cannot place this window (its padding is 'valid' or 'same' only): "
                     "'valid' with output_padding, then a slice or pad")
    args = {"strides": _compact(window.stride), "padding": choice[0]}
    if choice[1] is not None:
        args["output_padding"] = _compact(choice[1])
    if any(v != 1 for v in d_eff):
        args["dilation_rate"] = _compact(d_eff)
    if dilate:
        notes.append("Keras rejects strides > 1 with dilation_rate > 1: the kernel is dilated "
                     "with zeros instead (exact)")
    if window.groups != 1:
        notes.append(f"Keras' ConvTranspose layers have no groups: the kernel is block "
                     f"diagonal (exact, {window.groups}x the multiplications)")
    win = TransposeWindow(k, window.stride, d_eff, tuple(
        (lo - a, hi - b) for (lo, hi), (a, b) in zip(window.crop, fixup)))
    size = win.output_size(input_size)
    return FrameworkCall("keras", "keras.ops.conv_transpose", args, size, fixup,
                         layout_name(n, channels_last=True), channels_last=True,
                         notes=tuple(notes), inputs=("x", "kernel"),
                         weight_groups=window.groups, weight_dilation=d if dilate else None,
                         weight_axes=tuple(range(2, n + 2)) + (1, 0))


def _choose(per_axis, k, d):
    """One padding for all axes and output_padding None for all or ints for all, skipping
    what Keras' TensorFlow backend refuses (so the call runs on every backend)."""
    for mode in ("same", "valid"):
        opts = [[op for m, op in axis if m == mode] for axis in per_axis]
        if not all(opts):
            continue
        if all(None in o for o in opts):
            return mode, None
        ints = [[op for op in o if op is not None and _tf_ok(mode, ki, di, op)]
                for o, ki, di in zip(opts, k, d)]
        if all(ints):
            return mode, tuple(o[0] for o in ints)
    return None


def _tf_ok(mode, k, d, op):
    """Whether the TensorFlow backend accepts this axis (even kernel, same, op 0: it does not)."""
    return mode != "same" or (d * (k - 1) + 1) % 2 + op > 0


def _compact(values):
    values = tuple(values)
    return values[0] if len(set(values)) == 1 else values


def keras_candidates(window: TransposeWindow, input_size):
    """The plain "same" and "valid" calls (output_padding None) users try first."""
    for padding in ("same", "valid"):
        yield {"strides": window.stride, "padding": padding, "dilation_rate": window.dilation}
