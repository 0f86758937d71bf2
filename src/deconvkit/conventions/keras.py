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

from .._checks import MAX_INT, describe
from ..geometry import ConvSpec
from ._call import FrameworkCall
from ._window import (TransposeWindow, array, as_array, channels_back, channels_first,
                      checked_call_args, layout_name, owned, per_axis, run_transpose, seq_len,
                      spatial_sizes)

__all__ = ["keras_conv_transpose", "keras_window", "keras_call"]


def _tuple(value, n, name, minimum=1):
    """Keras' ``standardize_tuple`` (ints only: a float is a ``TypeError``)."""
    if seq_len(value) not in (None, n):
        raise ValueError(f"The `{name}` argument must be a tuple of {n} integers. "
                         f"Received {name}={describe(value)}")
    items = per_axis(value, n, name, -MAX_INT)
    if any(v < minimum for v in items):
        raise ValueError(f"The `{name}` argument must be a tuple of {n} positive integers. "
                         f"Received {name}={describe(value)}")
    return items


def keras_output_size(m, k, s, d, padding, op):
    """Keras' ``deconv_output_length`` for one axis, as a :class:`ConvSpec`'s size.

    ``valid``: no padding, ``op`` defaulting to ``max(e, s) - e``; ``same``: ``m * s`` when
    ``op`` is None, else padding ``e // 2`` on both sides and ``op``. The size may be 0
    (``same``, ``op = 0``, even ``e``, ``m = 1``), which Keras' JAX backend allows.
    """
    if padding == "same" and op is None:
        return m * s
    e = ConvSpec(k, s, 0, d).kernel_extent[0]
    if padding == "valid":
        spec = ConvSpec(k, s, 0, d, output_padding=max(e, s) - e if op is None else op)
    else:
        spec = ConvSpec(k, s, e // 2, d, output_padding=op)
    return TransposeWindow.from_spec(spec).sizes((m,))[0]


def _axis_crop(m, k, s, d, padding, op):
    """Crops ``(lo, hi)`` of the full scatter for one axis: ``lo`` from Keras' padding rule
    (its conversion for JAX), ``hi`` from :func:`keras_output_size`."""
    full = TransposeWindow(k, s, d, ((0, 0),))
    e = full.kernel_extent[0]
    if padding == "valid":
        left = e - 1
    else:
        pad_len = s + e - 2 if op is None else e + e % 2 - 2 + op
        left = min(pad_len // 2 + pad_len % 2, e - 1)
    lo = e - 1 - left
    return lo, full.full_size((m,))[0] - lo - keras_output_size(m, k, s, d, padding, op)


def keras_window(input_size, kernel_size, *, strides=1, padding="valid", output_padding=None,
                 dilation_rate=1) -> TransposeWindow:
    """The window Keras computes, with the ``ConvNDTranspose`` layers' checks."""
    input_size = spatial_sizes(input_size)
    n = len(input_size)
    k, s = _tuple(kernel_size, n, "kernel_size"), _tuple(strides, n, "strides")
    d = _tuple(dilation_rate, n, "dilation_rate")
    mode = padding.lower() if isinstance(padding, str) else None
    if mode not in ("valid", "same"):
        raise ValueError("The `padding` argument must be a list/tuple or one of "
                         f"{{'valid', 'same'}}. Received: {describe(padding)}")
    ops = (None,) * n
    if output_padding is not None:
        ops = _tuple(output_padding, n, "output_padding", -MAX_INT)
        for i, (op, si) in enumerate(zip(ops, s)):
            if not 0 <= op < si:
                raise ValueError(
                    "`output_padding` must be strictly less than `strides` for all "
                    f"dimensions. At dimension {i}, `output_padding` is {op} but `strides` "
                    f"is {si}. Received: output_padding={output_padding}, strides={s}")
    if max(s) > 1 and max(d) > 1:
        raise ValueError("`strides > 1` not supported in conjunction with `dilation_rate > 1`. "
                         f"Received: strides={s} and dilation_rate={d}")
    crop = tuple(_axis_crop(m, ki, si, di, mode, op)
                 for m, ki, si, di, op in zip(input_size, k, s, d, ops))
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
    if not isinstance(data_format, str) or data_format not in ("channels_last",
                                                               "channels_first"):
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
    shape = None if bias is None else array(bias, "bias").shape
    if bias is not None and shape != (f.shape[-2],):
        raise ValueError(f"bias must have shape ({f.shape[-2]},) (filters), got {shape}")
    n = f.ndim - 2
    win = keras_window(x.shape[2:], f.shape[:n], strides=strides, padding=padding,
                       output_padding=output_padding, dilation_rate=dilation_rate)
    w = np.moveaxis(f, (n + 1, n), (0, 1))  # (*k, out, in) -> (in, out, *k)
    dtype = np.result_type(x, f)
    y = run_transpose(x.astype(dtype), w.astype(dtype), bias, win, allow_empty=True)
    return owned(channels_back(y, last), x, f)


def _options(m, k, s, d, lo, hi):
    """(padding, output_padding) pairs that reach crops ``(lo, hi)`` on one axis.

    The size grows with ``output_padding``, so per padding at most one int reaches it.
    """
    n = TransposeWindow(k, s, d, ((lo, hi),)).sizes((m,))[0]
    found = []
    for mode in ("same", "valid"):
        for op in (None, n - keras_output_size(m, k, s, d, mode, 0)):
            if (op is None or 0 <= op < s) and _axis_crop(m, k, s, d, mode, op) == (lo, hi):
                found.append((mode, op))
    return found


def keras_call(window: TransposeWindow, input_size) -> FrameworkCall:
    """``ConvNDTranspose`` arguments for a window, or "valid" plus a slice or pad.

    Groups become a block-diagonal kernel; ``strides > 1`` with dilation becomes a kernel
    with zeros inserted (``dilation_rate=1``), both exact.
    """
    window, input_size = checked_call_args(window, input_size)
    n, notes = window.ndim, []
    d = window.dilation
    dilate = max(window.stride) > 1 and max(d) > 1
    k = window.kernel_extent if dilate else window.kernel_size
    d_eff = (1,) * n if dilate else d
    options = [_options(*a) for a in zip(input_size, k, window.stride, d_eff,
                                         *zip(*window.crop))]
    choice = _choose(options, k, d_eff)
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
                     "with zeros instead (exact for finite "
                     "inputs: a NaN or Inf also meets the inserted zeros)")
    if window.groups != 1:
        notes.append(f"Keras' ConvTranspose layers have no groups: the kernel is block "
                     f"diagonal (exact for finite inputs, {window.groups}x the "
                     f"multiplications; a NaN or Inf also meets the zero blocks)")
    win = TransposeWindow(k, window.stride, d_eff, tuple(
        (lo - a, hi - b) for (lo, hi), (a, b) in zip(window.crop, fixup)))
    size = win.output_size(input_size)
    return FrameworkCall("keras", "keras.ops.conv_transpose", args, size, fixup,
                         layout_name(n, channels_last=True), channels_last=True,
                         notes=tuple(notes), inputs=("x", "kernel"),
                         weight_groups=window.groups, weight_dilation=d if dilate else None,
                         weight_axes=tuple(range(2, n + 2)) + (1, 0))


def _choose(options, k, d):
    """One padding for all axes and output_padding None for all or ints for all, skipping
    what Keras' TensorFlow backend refuses (so the call runs on every backend)."""
    for mode in ("same", "valid"):
        opts = [[op for m, op in axis if m == mode] for axis in options]
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
    return mode != "same" or ConvSpec(k, 1, 0, d).kernel_extent[0] % 2 + op > 0


def _compact(values):
    values = tuple(values)
    return values[0] if len(set(values)) == 1 else values


def keras_candidates(window: TransposeWindow, input_size):
    """The plain "same" and "valid" calls (output_padding None) users try first."""
    for padding in ("same", "valid"):
        yield {"strides": window.stride, "padding": padding, "dilation_rate": window.dilation}
