"""Convolution, transposed convolution and their gradients: pure functions, N-d.

All four functions canonicalize their arguments once into a
:class:`~deconvkit.geometry.ConvSpec` and hand ``(x, w, spec)`` to one algorithm,
chosen by ``method``. The transposed convolution is exactly the adjoint of the
convolution with the same spec; the weight gradients are one function with the
operands swapped.
"""

from __future__ import annotations

import math

import numpy as np

from .._checks import describe, is_int
from ..geometry import ConvSpec
from . import _args
from ._dispatch import OPERATIONS, algorithm, available_methods, check_method, choose_method, owned  # noqa: F401

__all__ = ["conv", "conv_transpose", "conv_weight_grad", "conv_transpose_weight_grad",
           "conv_matrix", "available_methods", "choose_method"]

GEOMETRY_DEFAULTS = dict(stride=1, padding=0, dilation=1, groups=1, output_padding=0)


def given_spec(spec, ndim, kernel_size, **geometry):
    """``spec`` checked against the data, or ``None`` when the keywords are to be used.

    ``geometry`` holds the geometry keywords as passed; with a ``spec`` they must keep
    their defaults (``TypeError`` naming the ones that do not)."""
    if spec is None:
        return None
    if not isinstance(spec, ConvSpec):
        raise TypeError(f"spec must be a ConvSpec, got {describe(spec)}")
    clash = [k for k, v in geometry.items() if not _is_default(v, GEOMETRY_DEFAULTS[k])]
    if clash:
        raise TypeError(f"give spec= or the geometry keywords, not both: got spec and "
                        f"{', '.join(f'{k}={geometry[k]!r}' for k in clash)}")
    if spec.ndim != ndim:
        raise ValueError(f"spec has {spec.ndim} spatial axes, the data has {ndim}")
    if kernel_size is not None and spec.kernel_size != tuple(kernel_size):
        raise ValueError(f"spec has kernel size {spec.kernel_size}, the weights have "
                         f"{tuple(kernel_size)}")
    return spec


def _is_default(value, default):
    return type(value) is int and value == default


def empty_result(shape, dtype):
    """Zeros of ``shape`` for an empty batch, or a ``ValueError`` when NumPy could not hold
    an array of that shape (the sizes beyond the empty axis multiply past its index type)."""
    if math.prod(v for v in shape if v) * np.dtype(dtype).itemsize > np.iinfo(np.intp).max:
        raise ValueError(f"the output shape {tuple(shape)} is too large for an array, even "
                         f"with an empty batch")
    return np.zeros(shape, dtype)


def _add_bias(y, b):
    if b is not None:
        with np.errstate(invalid="ignore"):      # inf + -inf is NaN, as in PyTorch
            y += b.reshape((1, -1) + (1,) * (y.ndim - 2))
    return y


def conv(x, w, b=None, *, stride=1, padding=0, dilation=1, groups=1, method="auto",
         spec=None):
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
    spec : ConvSpec, optional
        The geometry as one object, instead of ``stride``, ``padding``, ``dilation`` and
        ``groups`` (which must then keep their defaults).

    Returns
    -------
    y : (N, C_out, *out) ndarray, dtype of ``x``
        A new array (C-contiguous, writable).

    Raises
    ------
    ValueError, TypeError
        For any argument outside its documented range or type, naming it; a
        ``ValueError`` stating the estimate when the output or the chosen method's
        working memory would not fit (see :func:`choose_method`).

    Notes
    -----
    An empty batch gives an empty result. A NaN or Inf in ``x`` or ``w`` gives PyTorch's
    pattern: each output is the sum of ``w * x_pad`` over every tap, zero padding
    included. Such calls run by ``"gemm"``, whatever ``method`` says, when it fits in
    memory (FFTs would spread a NaN everywhere).

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
    method = check_method(method)
    spec = given_spec(spec, ndim, w.shape[2:], stride=stride, padding=padding,
                      dilation=dilation, groups=groups)
    groups = spec.groups if spec is not None else groups
    _args.check_groups(groups, C_out=w.shape[0])
    _args.check_channels(w.shape[1] * groups, x.shape[1],
                         f"x for w of shape {w.shape} with groups={groups}")
    b = _args.check_bias(b, w.shape[0], dtype)
    if spec is None:
        spec = ConvSpec.create(ndim, w.shape[2:], stride=stride, padding=padding,
                               dilation=dilation, groups=groups, input_size=x.shape[2:])
    out_shape = (x.shape[0], w.shape[0]) + spec.conv_output_size(x.shape[2:])
    if x.shape[0] == 0:
        return empty_result(out_shape, dtype)
    with np.errstate(invalid="ignore"):     # NaN from Inf operands is the contract
        y = algorithm(method, "conv", (x, w), w.shape, spec, out_shape).conv(x, w, spec)
    assert y.shape == out_shape and y.dtype == dtype
    return _add_bias(owned(y, x, w), b)


def conv_transpose(x, w, b=None, *, stride=1, padding=0, output_padding=0, output_size=None,
                   dilation=1, groups=1, method="auto", spec=None):
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
    spec : ConvSpec, optional
        The geometry as one object, instead of ``stride``, ``padding``,
        ``output_padding``, ``dilation`` and ``groups`` (which must then keep their
        defaults). ``output_size`` may still be given: it replaces the spec's
        ``output_padding``.

    Returns
    -------
    y : (N, C_out, *out) ndarray, dtype of ``x``
        A new array (C-contiguous, writable).

    Raises
    ------
    ValueError, TypeError
        As for :func:`conv`.

    Notes
    -----
    Empty batches and NaN or Inf values behave as for :func:`conv`.

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
    method = check_method(method)
    spec = given_spec(spec, ndim, w.shape[2:], stride=stride, padding=padding,
                      dilation=dilation, groups=groups, output_padding=output_padding)
    groups = spec.groups if spec is not None else groups
    _args.check_groups(groups, C_in=w.shape[0])
    _args.check_channels(w.shape[0], x.shape[1], f"x for w of shape {w.shape}")
    b = _args.check_bias(b, w.shape[1] * groups, dtype)
    if spec is None:
        spec = ConvSpec.create(ndim, w.shape[2:], stride=stride, padding=padding,
                               dilation=dilation, groups=groups, output_padding=output_padding,
                               input_size=x.shape[2:], transposed=True,
                               output_size=spatial_output_size(output_size, ndim))
    elif output_size is not None:
        spec = spec.with_output_size(x.shape[2:], spatial_output_size(output_size, ndim))
    out_shape = (x.shape[0], w.shape[1] * groups) + spec.transpose_output_size(x.shape[2:])
    if x.shape[0] == 0:
        return empty_result(out_shape, dtype)
    with np.errstate(invalid="ignore"):
        y = algorithm(method, "conv_transpose", (x, w), w.shape, spec,
                      out_shape).conv_transpose(x, w, spec)
    assert y.shape == out_shape and y.dtype == dtype
    return _add_bias(owned(y, x, w), b)


def spatial_output_size(output_size, ndim):
    """Accept PyTorch's full ``(N, C, *spatial)`` output_size as well as the spatial one."""
    if output_size is None or is_int(output_size):
        return output_size
    if isinstance(output_size, (str, bytes)) or not hasattr(output_size, "__len__"):
        raise TypeError(f"output_size must be an int or a sequence of {ndim} ints, "
                        f"got {describe(output_size)}")
    output_size = tuple(output_size)
    return output_size[2:] if len(output_size) == ndim + 2 else output_size


from ._grads import conv_weight_grad, conv_transpose_weight_grad, conv_matrix  # noqa: E402
