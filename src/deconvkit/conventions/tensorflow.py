"""TensorFlow: ``tf.nn.conv_transpose`` (and ``conv1d/2d/3d_transpose``).

TensorFlow's transposed convolution is the input gradient of ``tf.nn.conv`` on an input of
``output_shape``: ``padding`` ("SAME", "VALID", or explicit pairs in 2-D) is that forward
convolution's, and ``output_shape`` must map back to the input size under it. SAME puts
the odd padding pixel at the end. Filters are ``[*k, out_channels, in_channels]``; data is
NWC/NHWC/NDHWC unless ``data_format`` starts with "NC". No groups.
"""

from __future__ import annotations

import numpy as np

from .._checks import MAX_INT, describe
from ..geometry import ConvSpec, same_padding
from ._call import FrameworkCall, OutputShape
from ._window import (TransposeWindow, as_array, channels_back, channels_first,
                      checked_call_args, layout_name, owned, padding_pairs, per_axis,
                      run_transpose, seq_len, spatial_sizes)

__all__ = ["tf_conv_transpose", "tf_window", "tf_call"]

DATA_FORMATS = {1: ("NWC", "NCW"), 2: ("NHWC", "NCHW"), 3: ("NDHWC", "NCDHW")}


def _sequence(value, n, channels_last, name):
    """TensorFlow's ``_get_sequence``: 1, N or N+2 values; the N+2 form must be 1 at N, C."""
    value = value.tolist() if isinstance(value, np.ndarray) else value
    items = [1] if value is None else (list(value) if isinstance(value, (list, tuple))
                                       else [value])
    if len(items) == 1:
        return per_axis(items[0], n, name, 1)
    if len(items) == n:
        return per_axis(items, n, name, 1)
    if len(items) == n + 2:
        per_axis(items, n + 2, name, 1)
        outer = (items[0], items[-1]) if channels_last else (items[0], items[1])
        if any(v != 1 for v in outer):
            raise ValueError(f"Current implementation does not yet support {name} in the batch "
                             f"and depth dimensions ({name}={items})")
        return per_axis(items[1:-1] if channels_last else items[2:], n, name, 1)
    raise ValueError(f"{name} should be of length 1, {n} or {n + 2}. Received: "
                     f"{name}={items} of length {len(items)}")


def _padding(padding, n, channels_last):
    """"SAME", "VALID" or the spatial (lo, hi) pairs of explicit padding (2-D only)."""
    if isinstance(padding, str):
        if padding not in ("SAME", "VALID"):
            raise ValueError(f'Value for attr \'padding\' of "{padding}" is not in the list of '
                             'allowed values: "SAME", "VALID", "EXPLICIT" (TensorFlow is '
                             'case-sensitive)')
        return padding
    if n != 2:
        raise ValueError(f"explicit padding is only supported by conv2d_transpose; "
                         f"conv{n}d_transpose expects 'SAME' or 'VALID', got {describe(padding)}")
    expected = f"{n + 2} [before, after] pairs in data_format order"
    if seq_len(padding) is None or any(seq_len(p) is None for p in padding):
        raise TypeError(f"padding must be 'SAME', 'VALID' or {expected}, got {describe(padding)}")
    pairs = list(padding)
    if len(pairs) != n + 2 or any(len(p) != 2 for p in pairs):
        raise ValueError(f"explicit padding must be {expected}, got {describe(padding)}")
    pairs = [per_axis(p, 2, "padding", -MAX_INT) for p in pairs]
    outer = (pairs[0], pairs[-1]) if channels_last else (pairs[0], pairs[1])
    if any(v for pair in outer for v in pair):
        raise ValueError("Nonzero explicit padding in the batch or depth dimensions is not "
                         f"supported (padding={padding!r})")
    if any(v < 0 for pair in pairs for v in pair):
        raise ValueError(f"All elements of explicit_paddings must be nonnegative, got {padding!r}")
    return tuple(pairs[1:-1] if channels_last else pairs[2:])


def tf_window(input_size, kernel_size, output_size, strides, padding="SAME",
              dilations=None) -> TransposeWindow:
    """The window TensorFlow computes, with its consistency check.

    ``output_size`` is the spatial part of ``output_shape``; ``strides`` and ``dilations``
    are spatial; ``padding`` is "SAME", "VALID" or spatial ``(lo, hi)`` pairs.
    """
    input_size = spatial_sizes(input_size)
    n = len(input_size)
    k = per_axis(kernel_size, n, "kernel_size", 1)
    out = spatial_sizes(output_size, n, "output_size")
    s, d = _sequence(strides, n, True, "strides"), _sequence(dilations, n, True, "dilations")
    mode = padding if isinstance(padding, str) else None   # explicit pairs may be an array
    if mode is not None and mode not in ("SAME", "VALID"):
        _padding(padding, n, True)  # raises TensorFlow's error
    if mode == "SAME":
        pads = tuple(same_padding(no, ki, si, di) for no, ki, si, di in zip(out, k, s, d))
    else:
        pads = 0 if mode == "VALID" else padding_pairs(padding, n)
    forward = ConvSpec(k, s, pads, d)
    for axis, (m, no) in enumerate(zip(input_size, out)):
        computed = _forward_size(forward, axis, no)
        if computed != m:
            raise ValueError(
                f"Size of out_backprop doesn't match computed: actual = {m}, computed = "
                f"{computed} spatial_dim: {axis} input: {no} filter: {k[axis]} output: {m} "
                f"stride: {s[axis]} dilation: {d[axis]} (output_shape is inconsistent with "
                f"the input under padding {padding!r})")
    return TransposeWindow.from_spec(forward.with_output_size(input_size, out))


def _forward_size(forward, axis, n):
    """TensorFlow's rule: the forward convolution of ``output_shape`` must give the input
    size back (0 when the kernel does not fit)."""
    one = ConvSpec(forward.kernel_size[axis], forward.stride[axis], (forward.padding[axis],),
                   forward.dilation[axis])
    try:
        return one.conv_output_size((n,))[0]
    except ValueError:
        return 0


def tf_conv_transpose(input, filters, output_shape, strides, padding="SAME", data_format=None,
                      dilations=None):
    """TensorFlow's ``tf.nn.conv_transpose``, exactly, on NumPy arrays.

    Parameters
    ----------
    input : (N, *spatial, C_in) ndarray, or (N, C_in, *spatial) for "NC..." data_format
    filters : [*k, C_out, C_in] ndarray
    output_shape : sequence of N + 2 ints
        The full output shape, batch and channels included, in data_format order.
    strides, dilations : int or list of 1, N or N + 2 ints
    padding : "SAME", "VALID" or N + 2 [before, after] pairs (2-D only)
        The padding of the forward convolution whose input gradient this is.
    data_format : str, optional
        "NWC"/"NHWC"/"NDHWC" (default) or "NCW"/"NCHW"/"NCDHW".

    Examples
    --------
    The seed's snippet, 2x2 -> 4x4 with a 3x3 filter of ones:

    >>> x = np.array([1.0, 2.0, 3.0, 4.0]).reshape(1, 2, 2, 1)
    >>> y = tf_conv_transpose(x, np.ones((3, 3, 1, 1)), (1, 4, 4, 1), [1, 2, 2, 1], "SAME")
    >>> y[0, :, :, 0]
    array([[ 1.,  1.,  3.,  2.],
           [ 1.,  1.,  3.,  2.],
           [ 4.,  4., 10.,  6.],
           [ 3.,  3.,  7.,  4.]])
    """
    shape = output_shape.tolist() if isinstance(output_shape, np.ndarray) else output_shape
    if seq_len(shape) is None:
        raise TypeError(f"output_shape must be a sequence of 3, 4 or 5 ints, got "
                        f"{describe(output_shape)}")
    n = len(shape) - 2
    if not 1 <= n <= 3:
        raise ValueError(f"`output_shape` must be of length 3, 4 or 5. Received: "
                         f"output_shape={describe(output_shape)} of length {n + 2}.")
    shape = list(per_axis(shape, n + 2, "output_shape", 0))  # batch and channels may be 0
    fmt = DATA_FORMATS[n][0] if data_format is None else data_format
    if not isinstance(fmt, str) or fmt not in DATA_FORMATS[n]:
        raise ValueError(f"data_format must be one of {DATA_FORMATS[n]} for {n}-D, got {fmt!r}")
    last = not fmt.startswith("NC")
    x, f = as_array(input, "input"), as_array(filters, "filters")
    if x.ndim != n + 2 or f.ndim != n + 2:
        raise ValueError(f"input and filters must have rank {n + 2} for output_shape "
                         f"{shape}, got shapes {x.shape} and {f.shape}")
    x = channels_first(x, last)
    out_c, out_n = (shape[-1], shape[1:-1]) if last else (shape[1], shape[2:])
    if min(out_n) < 1:
        raise ValueError(f"output_shape's spatial sizes must be >= 1, got output_shape={shape} "
                         f"({fmt})")
    _check_channels(x.shape, f.shape, shape[0], out_c)
    win = tf_window(x.shape[2:], f.shape[:n], out_n, _sequence(strides, n, last, "strides"),
                    _padding(padding, n, last), _sequence(dilations, n, last, "dilations"))
    w = np.moveaxis(f, (n + 1, n), (0, 1))  # [*k, out, in] -> (in, out, *k)
    dtype = np.result_type(x, f)
    y = run_transpose(x.astype(dtype), w.astype(dtype), None, win)
    return owned(channels_back(y, last), x, f)


def _check_channels(x_shape, f_shape, batch, out_c):
    if x_shape[1] != f_shape[-1]:
        raise ValueError(f"filter and out_backprop must have the same out_depth: input has "
                         f"{x_shape[1]} channels, filters [*k, out, in] {list(f_shape)} "
                         f"expect {f_shape[-1]}")
    if out_c != f_shape[-2]:
        raise ValueError(f"Computed input depth {out_c} doesn't match filter input depth "
                         f"{f_shape[-2]} (output_shape's channels must be filters.shape[-2]; "
                         "tf.nn.conv_transpose has no groups)")
    if batch != x_shape[0]:
        raise ValueError(f"input and out_backprop must have the same batch size. Input batch: "
                         f"{batch}, outbackprop batch: {x_shape[0]}")


def _axis_option(m, n, lo, hi, k, s, d, ndim):
    """("SAME"|"VALID"|"EXPLICIT", pair) ways TF reaches the window ``(lo, hi)`` of output
    size ``n`` exactly: those for which :func:`tf_window` gives that window back."""
    options = set()
    if n < 1:
        return options
    tries = [("SAME", None, "SAME"), ("VALID", None, "VALID")]
    if ndim == 2 and lo >= 0:
        tries.append(("EXPLICIT", (lo, max(hi, 0)), ((lo, max(hi, 0)),)))
    for mode, pair, padding in tries:
        try:
            crop = tf_window((m,), (k,), (n,), (s,), padding, (d,)).crop
        except ValueError:
            continue
        if crop == ((lo, hi),):
            options.add((mode, pair))
    return options


def _tf_padding(window, input_size):
    """(padding, call output size, fix-up, notes): SAME, VALID, explicit, or VALID + slice."""
    full = window.full_size(input_size)
    axes = [_axis_option(m, n, lo, hi, k, s, d, window.ndim) for m, n, (lo, hi), k, s, d in
            zip(input_size, window.sizes(input_size), window.crop, window.kernel_size,
                window.stride, window.dilation)]
    exact = ((0, 0),) * window.ndim
    for mode in ("SAME", "VALID"):
        if all((mode, None) in opts for opts in axes):
            return mode, window.output_size(input_size), exact, []
    if all(any(m == "EXPLICIT" for m, _ in opts) for opts in axes):
        pairs = [next(p for m, p in opts if m == "EXPLICIT") for opts in axes]
        return [[0, 0]] + [list(p) for p in pairs] + [[0, 0]], \
            window.output_size(input_size), exact, []
    ext = [min(max(-hi, 0), s - 1) for (_, hi), s in zip(window.crop, window.stride)]
    fixup = tuple((lo, hi + r) for (lo, hi), r in zip(window.crop, ext))
    return "VALID", tuple(L + r for L, r in zip(full, ext)), fixup, [
        "TensorFlow cannot express this window (explicit padding exists only in 2-D and "
        "must be >= 0): VALID gives the full output, then a slice or pad"]


def tf_call(window: TransposeWindow, input_size) -> FrameworkCall:
    """``tf.nn.conv_transpose`` arguments for a window (SAME/VALID/explicit), or VALID plus
    a slice or pad. Groups become a block-diagonal filter."""
    window, input_size = checked_call_args(window, input_size)
    padding, size, fixup, notes = _tf_padding(window, input_size)
    args = {"output_shape": OutputShape(size), "strides": list(window.stride),
            "padding": padding}
    dilate = any(d != 1 for d in window.dilation)
    if dilate and isinstance(padding, list):
        notes.append("TensorFlow's CPU kernel for explicit padding has no dilation: the "
                     "filter is dilated with zeros instead (exact for finite "
                     "inputs: a NaN or Inf also meets the inserted zeros)")
    elif dilate:
        args["dilations"] = list(window.dilation)
    if window.groups != 1:
        notes.append(f"tf.nn.conv_transpose has no groups: the filter is block diagonal "
                     f"(exact for finite inputs, {window.groups}x the "
                     f"multiplications; a NaN or Inf also meets the zero blocks)")
    n = window.ndim
    return FrameworkCall("tensorflow", "tf.nn.conv_transpose", args, size, fixup,
                         layout_name(n, channels_last=True), channels_last=True,
                         notes=tuple(notes), inputs=("x", "filters"),
                         weight_groups=window.groups,
                         weight_dilation=window.dilation if dilate and "dilations" not in args
                         else None, weight_axes=tuple(range(2, n + 2)) + (1, 0))


def tf_candidates(window: TransposeWindow, input_size):
    """SAME and VALID calls with this window's output size (may be inconsistent: skipped)."""
    size = window.output_size(input_size)
    for padding in ("SAME", "VALID"):
        yield {"output_size": size, "strides": window.stride, "padding": padding,
               "dilations": window.dilation}
