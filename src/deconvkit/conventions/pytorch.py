"""PyTorch: ``F.conv_transposeNd`` and ``nn.ConvTransposeNd``.

PyTorch's ``padding`` is the forward convolution's, symmetric, ints only (no ``"same"``);
``output_padding`` (``< max(stride, dilation)``) or the module's ``output_size`` adds
size at the end. Weight ``(C_in, C_out/groups, *k)``, data ``(N, C, *spatial)``, which is
deconvkit's own layout: the window is ``(p, p - output_padding)`` per axis.
"""

from __future__ import annotations

import itertools

import numpy as np

from .._checks import MAX_INT, check_int, describe, is_int
from ..geometry import ConvSpec
from ._call import FrameworkCall
from ._window import (TransposeWindow, array, as_array, checked_call_args, layout_name, per_axis,
                      seq_len,
                      owned, run_transpose, spatial_sizes)

__all__ = ["torch_conv_transpose", "torch_window", "torch_call"]


def _tuple(value, ndim, name):
    """PyTorch's ``_ntuple``: an int for every axis or a sequence of ``ndim`` ints (any sign:
    the range checks are PyTorch's, in :func:`torch_window`)."""
    if isinstance(value, str) and name == "padding":
        raise ValueError(
            f"{name}={value!r}: PyTorch's transposed convolution takes ints only; "
            f"padding='same' and 'valid' are not supported for conv_transpose{ndim}d "
            "(use deconvkit.conventions.torch_call to get padding plus a crop)")
    if seq_len(value) not in (None, ndim):
        raise ValueError(f"expected {name} to be a single integer value or a list of {ndim} "
                         f"values to match the convolution dimensions, but got "
                         f"{name}={describe(value)}")
    return per_axis(value, ndim, name, -MAX_INT)


def torch_window(input_size, kernel_size, *, stride=1, padding=0, output_padding=0,
                 groups=1, dilation=1, output_size=None) -> TransposeWindow:
    """The window PyTorch computes, with PyTorch's argument checks.

    ``output_size`` (the module's ``forward(x, output_size)``, spatial or ``(N, C, *)``)
    overrides ``output_padding``, as in ``nn.ConvTransposeNd``.
    """
    input_size = spatial_sizes(input_size)
    ndim = len(input_size)
    k = _tuple(kernel_size, ndim, "kernel_size")
    s, p = _tuple(stride, ndim, "stride"), _tuple(padding, ndim, "padding")
    d, r = _tuple(dilation, ndim, "dilation"), _tuple(output_padding, ndim, "output_padding")
    if any(v <= 0 for v in s):
        raise ValueError(f"non-positive stride is not supported (stride={s})")
    if any(v <= 0 for v in d):
        raise ValueError(f"dilation should be greater than zero (dilation={d})")
    if any(v < 0 for v in p):
        raise ValueError(f"negative padding is not supported (padding={p})")
    if any(v < 1 for v in k):
        raise ValueError(f"kernel_size must be >= 1 on every axis, got {k}")
    unpadded = ConvSpec(k, s, p, d, groups)
    if output_size is not None:
        r = _output_padding_for(input_size, output_size, unpadded)
    if any(not 0 <= ri < max(si, di) for ri, si, di in zip(r, s, d)):
        raise ValueError(f"output padding must be smaller than either stride or dilation, but "
                         f"got output_padding={r}, stride={s}, dilation={d}")
    spec = unpadded.with_output_padding(r)
    try:
        spec.transpose_output_size(input_size)
    except ValueError:
        out = _sizes(spec, input_size)
        raise ValueError(f"Given input size per channel: {tuple(input_size)}. Calculated "
                         f"output size per channel: {out}. Output size is too small") from None
    return TransposeWindow.from_spec(spec)


def _sizes(spec, input_size):
    """PyTorch's output size ``(m-1)s - 2p + d(k-1) + 1 + output_padding``, of any sign."""
    return TransposeWindow.from_spec(spec).sizes(input_size)


def _output_padding_for(input_size, output_size, spec):
    """``nn.ConvTransposeNd._output_padding``: sizes from min to min + stride - 1."""
    ndim = len(input_size)
    if seq_len(output_size) == ndim + 2:
        output_size = tuple(output_size)[2:]
    elif seq_len(output_size) not in (None, ndim):
        raise ValueError(f"ConvTranspose{ndim}D: for {ndim + 2}D input, output_size must have "
                         f"{ndim} or {ndim + 2} elements (got {seq_len(output_size)})")
    size = per_axis(output_size, ndim, "output_size", -MAX_INT)
    lo = list(_sizes(spec, input_size))
    hi = [a + si - 1 for a, si in zip(lo, spec.stride)]
    if any(not a <= n <= b for n, a, b in zip(size, lo, hi)):
        raise ValueError(f"requested an output size of {list(size)}, but valid sizes range "
                         f"from {lo} to {hi} (for an input of {list(input_size)})")
    return tuple(n - a for n, a in zip(size, lo))


def torch_conv_transpose(x, weight, bias=None, stride=1, padding=0, output_padding=0,
                         groups=1, dilation=1, output_size=None):
    """PyTorch's ``F.conv_transposeNd`` / ``nn.ConvTransposeNd``, exactly.

    Parameters
    ----------
    x : (N, C_in, *spatial) or unbatched (C_in, *spatial) ndarray
    weight : (C_in, C_out/groups, *k) ndarray
    bias : (C_out,) ndarray, optional
    stride, padding, output_padding, dilation : int or tuple of int
        PyTorch's meaning: ``padding`` is the forward convolution's, on both sides.
    groups : int
    output_size : tuple of int, optional
        As in ``nn.ConvTransposeNd.forward(x, output_size)``; overrides ``output_padding``.

    Returns
    -------
    y : (N, C_out, *out) ndarray, ``out = (m-1)s - 2p + d(k-1) + output_padding + 1``

    Examples
    --------
    >>> x = np.array([[[1.0, 2.0, 3.0]]])
    >>> torch_conv_transpose(x, np.ones((1, 1, 3)), stride=2, padding=1, output_padding=1)
    array([[[1., 3., 2., 5., 3., 3.]]])
    """
    x, weight = as_array(x, "input"), as_array(weight, "weight")
    if x.ndim < 2:
        raise ValueError(f"expected input (N, C_in, *spatial) or (C_in, *spatial), got shape "
                         f"{x.shape}")
    dtype = np.result_type(x, weight)
    unbatched = x.ndim == weight.ndim - 1
    x = x[None] if unbatched else x
    if weight.ndim < 3 or x.ndim != weight.ndim:
        raise ValueError(f"expected weight of {x.ndim} dimensions (C_in, C_out/groups, *k) "
                         f"for input of shape {x.shape}, got weight of shape {weight.shape}")
    _check_channels(x.shape, weight.shape, groups, bias)
    win = torch_window(x.shape[2:], weight.shape[2:], stride=stride, padding=padding,
                       output_padding=output_padding, groups=groups, dilation=dilation,
                       output_size=output_size)
    y = run_transpose(x.astype(dtype), weight.astype(dtype), bias, win)
    return owned(y[0] if unbatched else y, x, weight)


def _check_channels(x_shape, w_shape, groups, bias):
    if is_int(groups) and groups < 1:
        raise ValueError(f"non-positive groups is not supported (groups={groups!r})")
    groups = check_int(groups, "groups")
    if w_shape[0] % groups:
        raise ValueError(f"Given groups={groups}, expected weight to be divisible by {groups} "
                         f"at dimension 0, but got weight of size {list(w_shape)} instead")
    if x_shape[1] != w_shape[0]:
        raise ValueError(f"Given transposed=1, weight of size {list(w_shape)}, expected "
                         f"input{list(x_shape)} to have {w_shape[0]} channels, but got "
                         f"{x_shape[1]} channels instead")
    c_out = w_shape[1] * groups
    shape = None if bias is None else array(bias, "bias").shape
    if bias is not None and shape != (c_out,):
        raise ValueError(f"Given transposed=1, weight of size {list(w_shape)}, expected bias "
                         f"to be 1-dimensional with {c_out} elements, but got bias of size "
                         f"{list(shape)} instead")


def _compact(values):
    values = tuple(values)
    return values[0] if len(set(values)) == 1 else values


def torch_call(window: TransposeWindow, input_size) -> FrameworkCall:
    """``F.conv_transposeNd`` arguments for a window, plus a crop or pad when needed.

    PyTorch crops ``p`` from both ends and adds ``output_padding < max(s, d)`` at the end,
    so a window ``(lo, hi)`` is exact only when ``lo >= 0`` and
    ``0 <= lo - hi < max(s, d)``; otherwise the call uses ``p = min(lo, hi)`` and the
    rest is a slice (asymmetric padding, TensorFlow's SAME with odd ``k - s``) or zeros.
    """
    window, input_size = checked_call_args(window, input_size)
    plans = []
    for (lo, hi), s, d in zip(window.crop, window.stride, window.dilation):
        if lo >= 0 and 0 <= lo - hi < max(s, d):
            plans.append((lo, lo - hi))
            continue
        p = max(min(lo, hi), 0)
        plans.append((p, min(max(p - hi, 0), max(s, d) - 1)))
    pad, out_pad = tuple(p for p, _ in plans), tuple(r for _, r in plans)
    fixup = tuple((lo - p, hi - p + r) for (lo, hi), (p, r) in zip(window.crop, plans))
    args = {"stride": _compact(window.stride), "padding": _compact(pad)}
    if any(out_pad):
        args["output_padding"] = _compact(out_pad)
    if window.groups != 1:
        args["groups"] = window.groups
    if any(d != 1 for d in window.dilation):
        args["dilation"] = _compact(window.dilation)
    size = ConvSpec(window.kernel_size, window.stride, pad, window.dilation, window.groups,
                    out_pad).transpose_output_size(input_size)
    notes = () if not any(a or b for a, b in fixup) else (
        "PyTorch's padding is symmetric and output_padding only adds at the end "
        f"(output_padding < max(stride, dilation)): this window needs crops {window.crop}, "
        "so the call is followed by a slice or pad",)
    return FrameworkCall("torch", f"torch.nn.functional.conv_transpose{window.ndim}d", args,
                         size, fixup, layout_name(window.ndim, channels_last=False),
                         notes=notes)


def torch_candidates(window: TransposeWindow, input_size):
    """Every ``(padding, output_padding)`` PyTorch call with this window's output size."""
    options = []
    for n, L, s, d in zip(window.output_size(input_size), window.full_size(input_size),
                          window.stride, window.dilation):
        low = max(n - L, 0)
        rs = range(low + (L - n + low) % 2, max(s, d), 2)  # L - n + r even and >= 0
        options.append([((L - n + r) // 2, r) for r in rs[:64]])  # 64 calls are tried at most
    for combo in itertools.islice(itertools.product(*options), 64):
        yield {"stride": window.stride, "padding": tuple(p for p, _ in combo),
               "output_padding": tuple(r for _, r in combo), "dilation": window.dilation,
               "groups": window.groups}
