"""Caffe: the ``Deconvolution`` layer, and the crop offsets FCN computes for it.

Caffe's deconvolution is its convolution layer with forward and backward swapped: output
``s(m-1) + d(k-1) + 1 - 2 pad``, ``pad`` on both sides, no output padding. Weights are
``(C_in, num_output/group, *k)``, data ``(N, C, *spatial)``. FCN aligns the upsampled
scores with the input by a ``Crop`` layer whose offset follows from each layer's
coordinate map (``surgery``/``coord_map`` in the FCN code).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from .._checks import MAX_INT, check_int, describe, is_int
from ..geometry import ConvSpec
from ._call import Code, FrameworkCall
from ._window import (TransposeWindow, array, as_array, checked_call_args, layout_name, per_axis,
                      seq_len,
                      owned, run_transpose, spatial_sizes)

__all__ = ["caffe_deconvolution", "caffe_window", "caffe_call", "fcn_crop_offset"]


def _repeated(value, n, name):
    """Caffe's repeated fields: given once for every axis or once per spatial axis."""
    if is_int(value):
        value = (value,)
    if seq_len(value) is None:
        raise TypeError(f"{name} must be an int or a sequence of ints (once, or once per "
                        f"spatial dimension), got {describe(value)}")
    items = tuple(value)
    if len(items) not in (1, n):
        raise ValueError(f"{name} must be specified once, or once per spatial dimension "
                         f"({name} specified {len(items)} times; {n} spatial dims)")
    return per_axis(items * n if len(items) == 1 else items, n, name, -MAX_INT)


def caffe_window(input_size, kernel_size, *, stride=1, pad=0, dilation=1,
                 group=1) -> TransposeWindow:
    """The window Caffe's ``Deconvolution`` computes: crops ``(pad, pad)``."""
    input_size = spatial_sizes(input_size)
    n = len(input_size)
    k, s = _repeated(kernel_size, n, "kernel_size"), _repeated(stride, n, "stride")
    p, d = _repeated(pad, n, "pad"), _repeated(dilation, n, "dilation")
    if any(v < 1 for v in k + s + d) or any(v < 0 for v in p):
        raise ValueError(f"kernel_size, stride and dilation must be > 0 and pad >= 0, got "
                         f"kernel_size={k}, stride={s}, dilation={d}, pad={p}")
    spec = ConvSpec(k, s, p, d, group)
    try:
        spec.transpose_output_size(input_size)
    except ValueError:
        out = TransposeWindow.from_spec(spec).sizes(input_size)
        raise ValueError(f"pad {p} leaves no output: top size {out} for bottom "
                         f"{input_size}") from None
    return TransposeWindow.from_spec(spec)


def caffe_deconvolution(bottom, weight, bias=None, *, kernel_size, stride=1, pad=0,
                        dilation=1, group=1):
    """Caffe's ``Deconvolution`` layer forward pass.

    Parameters
    ----------
    bottom : (N, C_in, *spatial) ndarray
    weight : (C_in, num_output/group, *k) ndarray
    bias : (num_output,) ndarray, optional
    kernel_size, stride, pad, dilation : int or sequence of int (once or once per axis)
    group : int

    Examples
    --------
    >>> top = caffe_deconvolution(np.ones((1, 1, 2)), np.ones((1, 1, 4)), kernel_size=4,
    ...                           stride=2, pad=1)
    >>> top[0, 0]
    array([1., 2., 2., 1.])
    """
    x, w = as_array(bottom, "bottom"), as_array(weight, "weight")
    n = x.ndim - 2
    if n < 1 or w.ndim != x.ndim:
        raise ValueError(f"bottom must be (N, C, *spatial) and weight of the same rank, got "
                         f"{x.shape} and {w.shape}")
    k = _repeated(kernel_size, n, "kernel_size")
    if w.shape[2:] != k:
        raise ValueError(f"weight shape {w.shape} does not match kernel_size {k}")
    if check_int(group, "group") and x.shape[1] % group:
        raise ValueError(f"channels ({x.shape[1]}) must be a multiple of group ({group})")
    if x.shape[1] != w.shape[0]:
        raise ValueError(f"weight (C_in, num_output/group, *k) of shape {w.shape} expects "
                         f"{w.shape[0]} bottom channels, got {x.shape[1]}")
    num_output = w.shape[1] * group
    shape = None if bias is None else array(bias, "bias").shape
    if bias is not None and shape != (num_output,):
        raise ValueError(f"bias must have shape ({num_output},) (num_output), got "
                         f"{shape}")
    win = caffe_window(x.shape[2:], k, stride=stride, pad=pad, dilation=dilation, group=group)
    dtype = np.result_type(x, w)
    return owned(run_transpose(x.astype(dtype), w.astype(dtype), bias, win), x, w)


def caffe_call(window: TransposeWindow, input_size) -> FrameworkCall:
    """``Deconvolution`` parameters for a window: exact when ``lo == hi >= 0``, otherwise
    ``pad = min(lo, hi)`` and a ``Crop`` (or zero pad) of the rest."""
    window, input_size = checked_call_args(window, input_size)
    pads = tuple(max(min(lo, hi), 0) for lo, hi in window.crop)
    fixup = tuple((lo - p, hi - p) for (lo, hi), p in zip(window.crop, pads))
    param = {"num_output": Code("C_out"), "kernel_size": _compact(window.kernel_size),
             "stride": _compact(window.stride)}
    if any(pads):
        param["pad"] = _compact(pads)
    if any(d != 1 for d in window.dilation):
        param["dilation"] = _compact(window.dilation)
    if window.groups != 1:
        param["group"] = window.groups
    notes = []
    if any(a or b for a, b in fixup):
        notes.append("Caffe pads both sides equally and has no output padding: follow the "
                     "layer with a Crop (offset = the start crop) or pad")
    size = ConvSpec(window.kernel_size, window.stride, pads, window.dilation,
                    window.groups).transpose_output_size(input_size)
    return FrameworkCall("caffe", "L.Deconvolution", {"convolution_param": param}, size, fixup,
                         layout_name(window.ndim, channels_last=False), notes=tuple(notes),
                         inputs=("bottom",))


def caffe_candidates(window: TransposeWindow, input_size):
    """The symmetric ``pad`` with this window's output size, if there is one."""
    diff = [L - n for L, n in zip(window.full_size(input_size), window.output_size(input_size))]
    if all(v >= 0 and v % 2 == 0 for v in diff):
        yield {"stride": window.stride, "pad": tuple(v // 2 for v in diff),
               "dilation": window.dilation, "group": window.groups}


def _compact(values):
    values = tuple(values)
    return values[0] if len(set(values)) == 1 else list(values)


def _coord_map(layer):
    """``(a, b)`` with input coordinate ``= a * output coordinate + b`` for one layer."""
    if not isinstance(layer, (tuple, list)) or not layer or not isinstance(layer[0], str):
        raise TypeError(f"a layer must be a tuple (type, kernel_size, stride, pad[, dilation]) "
                        f"or (type,) with type a str, got {describe(layer)}")
    kind, *params = layer
    if kind in ("Convolution", "Pooling", "Deconvolution") and len(params) in (3, 4):
        k, s, p, d = (params + [1])[:4]
        k, s, d = (check_int(v, f"{kind} {name}") for v, name in
                   ((k, "kernel_size"), (s, "stride"), (d, "dilation")))
        p = check_int(p, f"{kind} pad", 0)
        half = Fraction(d * (k - 1), 2) - p  # (kernel extent - 1) / 2 - pad
        if kind == "Deconvolution":
            return Fraction(1, s), -half / s
        return Fraction(s), half
    if len(params) == 0:
        return Fraction(1), Fraction(0)  # pointwise layers: ReLU, Dropout, ...
    raise ValueError(f"unknown layer {layer!r}: use ('Convolution'|'Pooling'|'Deconvolution', "
                     "kernel_size, stride, pad[, dilation]) or a pointwise ('ReLU',)")


def _to_ancestor(layers, name):
    if not isinstance(layers, (tuple, list)):
        raise TypeError(f"{name} must be a list of layers, each (type, kernel_size, stride, "
                        f"pad[, dilation]) or (type,), got {describe(layers)}")
    a, b = Fraction(1), Fraction(0)
    for layer in layers:
        la, lb = _coord_map(layer)
        a, b = a * la, a * lb + b
    return a, b


def fcn_crop_offset(cropped, reference=()) -> int:
    """The ``Crop`` offset that aligns one blob with another, as FCN computes it.

    Parameters
    ----------
    cropped, reference : sequence of layers
        Paths from a common ancestor blob (e.g. ``data``) to the blob being cropped and
        to the reference blob; each layer is ``(type, kernel_size, stride, pad[,
        dilation])`` with type "Convolution", "Pooling" or "Deconvolution", or a
        pointwise ``("ReLU",)``.

    Returns
    -------
    offset : int
        ``cropped[offset + i]`` is at the same place as ``reference[i]``.

    Examples
    --------
    Upsampling by 2 (kernel 4, no pad) after 2x2 pooling overshoots by one pixel; FCN-32s'
    ``upscore`` is cropped by 19:

    >>> fcn_crop_offset([("Convolution", 3, 1, 1), ("Pooling", 2, 2, 0),
    ...                  ("Deconvolution", 4, 2, 0)])
    1
    """
    a1, b1 = _to_ancestor(cropped, "cropped")
    a2, b2 = _to_ancestor(reference, "reference")
    if a1 != a2:
        raise ValueError(f"scale mismatch on crop (a = {a1 / a2})")
    offset = (b2 - b1) / a1
    if offset < 0:
        raise ValueError(f"cannot crop negative offset (b = {-offset})")
    if offset.denominator != 1:
        raise ValueError(f"cannot crop noninteger offset (b = {-offset})")
    return int(offset)
