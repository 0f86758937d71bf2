"""Convolution, transposed convolution and their gradients: pure functions, N-d.

All four functions canonicalize their arguments once into a
:class:`~deconvkit.geometry.ConvSpec` and hand ``(x, w, spec)`` to one algorithm,
chosen by ``method``. The transposed convolution is exactly the adjoint of the
convolution with the same spec; the weight gradients are one function with the
operands swapped.
"""

from __future__ import annotations

import numpy as np

from ..geometry import ConvSpec
from . import _args, _cost, direct, fft, gemm, matrix, polyphase

__all__ = ["conv", "conv_transpose", "conv_weight_grad", "conv_transpose_weight_grad",
           "conv_matrix", "available_methods", "choose_method"]

_ALGORITHMS = {m.NAME: m for m in (matrix, direct, gemm, polyphase, fft)}
OPERATIONS = ("conv", "conv_transpose", "conv_weight_grad", "conv_transpose_weight_grad")


def available_methods() -> tuple[str, ...]:
    """Names accepted by ``method=`` (besides ``"auto"``)."""
    return tuple(_ALGORITHMS)


def choose_method(operation: str, x_shape, w_shape, spec: ConvSpec) -> str:
    """The method ``method="auto"`` runs for this problem (no timing, no trial runs).

    Parameters
    ----------
    operation : {"conv", "conv_transpose", "conv_weight_grad", "conv_transpose_weight_grad"}
    x_shape, w_shape : tuple of int
        Shapes of the operation's input and weights (for weight gradients, of the
        input and of the weights being differentiated).
    spec : ConvSpec

    Notes
    -----
    ``"polyphase"`` for strided problems and small kernels; ``"fft"`` for large dense
    stride-1 kernels when its estimated time is lower. The estimates and their
    constants are in ``deconvkit.functional._cost``.

    Examples
    --------
    >>> choose_method("conv_transpose", (8, 64, 32, 32), (64, 64, 4, 4),
    ...               ConvSpec((4, 4), stride=2, padding=1))
    'polyphase'
    >>> choose_method("conv", (1, 8, 128, 128), (8, 8, 31, 31), ConvSpec((31, 31)))
    'fft'
    """
    if operation not in OPERATIONS:
        raise ValueError(f"operation must be one of {OPERATIONS}, got {operation!r}")
    return _cost.choose(operation, tuple(x_shape), tuple(w_shape), spec)


def _algorithm(method, operation, x_shape, w_shape, spec):
    if method == "auto":
        method = choose_method(operation, x_shape, w_shape, spec)
    if not isinstance(method, str) or method not in _ALGORITHMS:
        raise ValueError(f"method must be 'auto' or one of {available_methods()}, got {method!r}")
    module = _ALGORITHMS[method]
    unsupported = getattr(module, "unsupported", None)
    reason = unsupported(operation, x_shape, w_shape, spec) if unsupported else None
    if reason:
        raise ValueError(f"method {method!r} cannot compute this {operation}: {reason}")
    return module


def _owned(y):
    """The result as a writable C-contiguous array: algorithms may return views of
    their work buffers (read-only strided views among them), users get arrays."""
    if not (y.flags.writeable and y.flags.c_contiguous):
        y = np.array(y, order="C")
    return y


def _add_bias(y, b):
    if b is not None:
        y += b.reshape((1, -1) + (1,) * (y.ndim - 2))
    return y


def conv(x, w, b=None, *, stride=1, padding=0, dilation=1, groups=1, method="auto"):
    """N-d convolution (cross-correlation, as in deep learning frameworks).

    Parameters
    ----------
    x : (N, C_in, *spatial) ndarray, float32 or float64
    w : (C_out, C_in/groups, *k) ndarray, same dtype
    b : (C_out,) ndarray, optional
    stride, dilation : int or tuple of int
    padding : int, tuple of int, tuple of (lo, hi) pairs, "valid" or "same"
        Zero padding of ``x``. ``"same"`` gives output ``ceil(n / stride)`` with the
        odd padding pixel at the end (TensorFlow SAME, ONNX SAME_UPPER).
    groups : int
    method : str
        ``"auto"`` or one of :func:`available_methods`.

    Returns
    -------
    y : (N, C_out, *out) ndarray, dtype of ``x``

    Notes
    -----
    ``y[n, o, i] = b[o] + sum_{c, j} w[o, c, j] * x_pad[n, g*C_in/groups + c, i*s + j*d]``
    and ``out = floor((n + p_lo + p_hi - d(k-1) - 1) / s) + 1`` per axis.
    Its input gradient is :func:`conv_transpose` with the same arguments, its weight
    gradient :func:`conv_weight_grad`, its bias gradient ``dy.sum(axis=(0, 2, 3, ...))``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> conv(x, np.ones((1, 1, 3, 3)))[0, 0]
    array([[45., 54.],
           [81., 90.]])
    """
    x, w = _args.as_float_array(x, "x"), _args.as_float_array(w, "w")
    dtype = _args.same_dtype(x=x, w=w)
    ndim = _args.check_batched(x, "x")
    _args.check_weight(w, x.shape, "(C_out, C_in/groups, *k)")
    _args.check_groups(groups, C_out=w.shape[0])
    _args.check_channels(w.shape[1] * groups, x.shape[1],
                         f"x for w of shape {w.shape} with groups={groups}")
    b = _args.check_bias(b, w.shape[0], dtype)
    spec = ConvSpec.create(ndim, w.shape[2:], stride=stride, padding=padding,
                           dilation=dilation, groups=groups, input_size=x.shape[2:])
    out_shape = (x.shape[0], w.shape[0]) + spec.conv_output_size(x.shape[2:])
    if x.shape[0] == 0:
        return np.zeros(out_shape, dtype)
    y = _algorithm(method, "conv", x.shape, w.shape, spec).conv(x, w, spec)
    assert y.shape == out_shape and y.dtype == dtype
    return _add_bias(_owned(y), b)


def conv_transpose(x, w, b=None, *, stride=1, padding=0, output_padding=0, output_size=None,
                   dilation=1, groups=1, method="auto"):
    """N-d transposed convolution (the "deconvolution layer"): the adjoint of :func:`conv`.

    Parameters
    ----------
    x : (N, C_in, *spatial) ndarray, float32 or float64
    w : (C_in, C_out/groups, *k) ndarray, same dtype (PyTorch, ONNX and Caffe layout)
    b : (C_out,) ndarray, optional
    stride, dilation : int or tuple of int
    padding : int, tuple of int, tuple of (lo, hi) pairs, "valid" or "same"
        The padding of the *forward* convolution this is the transpose of: it crops
        ``p_lo`` and ``p_hi`` from the full output. ``"same"`` gives ``n * stride``.
    output_padding : int or tuple of int
        Extra size at the end, ``0 <= r < max(stride, dilation)``.
    output_size : int or tuple of int, optional
        Requested spatial output size, instead of ``output_padding``.
    groups : int
    method : str
        ``"auto"`` or one of :func:`available_methods`.

    Returns
    -------
    y : (N, C_out, *out) ndarray, dtype of ``x``

    Notes
    -----
    Per axis, ``full[i*s + j*d] += x[i] * w[j]`` has length ``(n-1)s + d(k-1) + 1``;
    the output is ``full[p_lo : len(full) - p_hi + r]`` (zero beyond ``full``), so
    ``out = (n-1)s + d(k-1) + 1 - p_lo - p_hi + r``. With ``r = 0`` it is
    ``conv``'s input gradient; :func:`conv` is its input gradient (cropped to the
    input size when ``r >= s``) and :func:`conv_transpose_weight_grad` its weight
    gradient; its bias gradient is ``dy.sum(axis=(0, 2, 3, ...))``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    >>> conv_transpose(x, np.ones((1, 1, 3, 3)), stride=2, padding="same")[0, 0]
    array([[ 1.,  1.,  3.,  2.],
           [ 1.,  1.,  3.,  2.],
           [ 4.,  4., 10.,  6.],
           [ 3.,  3.,  7.,  4.]])
    """
    x, w = _args.as_float_array(x, "x"), _args.as_float_array(w, "w")
    dtype = _args.same_dtype(x=x, w=w)
    ndim = _args.check_batched(x, "x")
    _args.check_weight(w, x.shape, "(C_in, C_out/groups, *k)")
    _args.check_groups(groups, C_in=w.shape[0])
    _args.check_channels(w.shape[0], x.shape[1], f"x for w of shape {w.shape}")
    b = _args.check_bias(b, w.shape[1] * groups, dtype)
    spec = ConvSpec.create(ndim, w.shape[2:], stride=stride, padding=padding,
                           dilation=dilation, groups=groups, output_padding=output_padding,
                           input_size=x.shape[2:], transposed=True,
                           output_size=_spatial(output_size, ndim))
    out_shape = (x.shape[0], w.shape[1] * groups) + spec.transpose_output_size(x.shape[2:])
    if x.shape[0] == 0:
        return np.zeros(out_shape, dtype)
    y = _algorithm(method, "conv_transpose", x.shape, w.shape, spec).conv_transpose(x, w, spec)
    assert y.shape == out_shape and y.dtype == dtype
    return _add_bias(_owned(y), b)


def _spatial(output_size, ndim):
    """Accept PyTorch's full ``(N, C, *spatial)`` output_size as well as the spatial one."""
    if output_size is None or isinstance(output_size, (int, np.integer)):
        return output_size
    output_size = tuple(output_size)
    return output_size[2:] if len(output_size) == ndim + 2 else output_size


from ._grads import conv_weight_grad, conv_transpose_weight_grad, conv_matrix  # noqa: E402
