"""Weight gradients, by one code path with the roles swapped, and the matrix C.

The gradient of ``conv`` with respect to ``w`` is itself a convolution: the input
``x`` (batch and channels exchanged) correlated with ``dy`` used as the kernel,
at stride ``d`` and dilation ``s`` (the two exchange roles too). The gradient of
``conv_transpose`` with respect to its ``w`` is the same function with ``x`` and
``dy`` swapped, because ``conv_transpose(x, w)`` is the adjoint of ``conv(·, w)``.
An algorithm may bring its own weight gradient for the problems it suits
(``polyphase``: shifted-view GEMMs over the input's phase components, see
:mod:`._wgrad`); the role swap remains the path of every other case.
"""

from __future__ import annotations

import numpy as np

from ..geometry import ConvSpec
from . import _args, matrix
from ._dispatch import algorithm as _algorithm, check_method, owned


def weight_grad(x, dy, spec, algorithm):
    """``dw[o, c, j] = sum_{n, i} dy[n, o, i] * x_pad[n, g*C_in/groups + c, i*s + j*d]``.

    ``x (N, C_in, *n)`` is the convolution's input, ``dy (N, C_out, *m)`` the
    gradient of its output (``m`` may be smaller than the conv output size).
    An algorithm may compute this itself (``weight_grad(x, dy, spec)``, used where its
    ``weight_grad_applies(x.shape, dy.shape, spec)``); otherwise its ``conv`` runs on
    the role-swapped problem.
    """
    applies = getattr(algorithm, "weight_grad_applies", None)
    if applies is not None and applies(x.shape, dy.shape, spec):
        return algorithm.weight_grad(x, dy, spec)
    n, c_in, *size = x.shape
    groups = spec.groups
    cig = c_in // groups
    # batch of the swapped problem: channels within a group; its channels: (group, n)
    xs = x.reshape(n, groups, cig, *size).swapaxes(0, 2).reshape(cig, groups * n, *size)
    ds = dy.swapaxes(0, 1)
    swapped = ConvSpec(kernel_size=dy.shape[2:], stride=spec.dilation, padding=spec.padding,
                       dilation=spec.stride, groups=groups)
    out = algorithm.conv(np.ascontiguousarray(xs), np.ascontiguousarray(ds), swapped)
    crop = tuple(slice(0, k) for k in spec.kernel_size)
    return np.ascontiguousarray(out[(slice(None), slice(None)) + crop].swapaxes(0, 1))


def _grad_inputs(x, dy, kernel_size, groups, spec, method, geometry):
    """Checked arrays, the spec given (or ``None``), the kernel size and the groups."""
    from . import given_spec
    x, dy = _args.as_float_array(x, "x"), _args.as_float_array(dy, "dy")
    _args.same_dtype(x=x, dy=dy)
    ndim = _args.check_batched(x, "x")
    if _args.check_batched(dy, "dy") != ndim:
        raise ValueError(f"x and dy must have the same number of axes, got shapes {x.shape} and {dy.shape}")
    if x.shape[0] != dy.shape[0]:
        raise ValueError(f"x and dy must have the same batch size, got {x.shape[0]} and {dy.shape[0]}")
    check_method(method)
    if spec is not None:
        ks = None if kernel_size is None else _args.check_kernel_size(kernel_size, ndim)
        spec = given_spec(spec, ndim, ks, groups=groups, **geometry)
        ks, groups = spec.kernel_size, spec.groups
    elif kernel_size is None:
        raise TypeError("kernel_size is required unless spec= is given")
    else:
        ks = _args.check_kernel_size(kernel_size, ndim)
    _args.check_groups(groups, **{"channels of x": x.shape[1], "channels of dy": dy.shape[1]})
    return x, dy, ndim, ks, groups, spec


def conv_weight_grad(x, dy, kernel_size=None, *, stride=1, padding=0, dilation=1, groups=1,
                     method="auto", spec=None):
    """Gradient of :func:`~deconvkit.conv` with respect to its weights.

    Parameters
    ----------
    x : (N, C_in, *spatial) ndarray
        The convolution's input.
    dy : (N, C_out, *out) ndarray
        Gradient of the loss with respect to the convolution's output.
    kernel_size : int or tuple of int
        Required unless ``spec`` is given.
    stride, padding, dilation, groups, method
        As for :func:`~deconvkit.conv`.
    spec : ConvSpec, optional
        The geometry as one object, instead of the keywords.

    Returns
    -------
    dw : (C_out, C_in/groups, *k) ndarray
        A new array; zeros for an empty batch.

    Notes
    -----
    ``dw[o, c, j] = sum_{n, i} dy[n, o, i] * x_pad[n, g*C_in/groups + c, i*s + j*d]``,
    computed as a convolution of ``x`` with ``dy`` as the kernel (stride and
    dilation exchanged). The bias gradient is ``dy.sum(axis=(0, 2, 3, ...))``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(9.0).reshape(1, 1, 3, 3)
    >>> conv_weight_grad(x, np.ones((1, 1, 2, 2)), 2)[0, 0]
    array([[ 8., 12.],
           [20., 24.]])
    """
    x, dy, ndim, ks, groups, spec = _grad_inputs(
        x, dy, kernel_size, groups, spec, method,
        dict(stride=stride, padding=padding, dilation=dilation))
    if spec is None:
        spec = ConvSpec.create(ndim, ks, stride=stride, padding=padding, dilation=dilation,
                               groups=groups, input_size=x.shape[2:])
    expected = spec.conv_output_size(x.shape[2:])
    if tuple(dy.shape[2:]) != expected:
        raise ValueError(f"dy must have spatial size {expected} (the conv output for x of "
                         f"size {x.shape[2:]}), got {dy.shape[2:]}")
    w_shape = (dy.shape[1], x.shape[1] // groups) + spec.kernel_size
    if x.shape[0] == 0:
        return np.zeros(w_shape, x.dtype)
    algo = _algorithm(method, "conv_weight_grad", (x, dy), w_shape, spec, w_shape, dy.shape)
    with np.errstate(invalid="ignore"):     # NaN from Inf operands is the contract
        return owned(weight_grad(x, dy, spec, algo), x, dy)


def conv_transpose_weight_grad(x, dy, kernel_size=None, *, stride=1, padding=0, dilation=1,
                               groups=1, method="auto", spec=None):
    """Gradient of :func:`~deconvkit.conv_transpose` with respect to its weights.

    Parameters
    ----------
    x : (N, C_in, *spatial) ndarray
        The transposed convolution's input.
    dy : (N, C_out, *out) ndarray
        Gradient of the loss with respect to its output; ``out`` implies the
        output_padding (it must be a valid transposed output size for ``x``).
    kernel_size : int or tuple of int
        Required unless ``spec`` is given.
    stride, padding, dilation, groups, method
        As for :func:`~deconvkit.conv_transpose`.
    spec : ConvSpec, optional
        The geometry as one object, instead of the keywords (its ``output_padding`` is
        replaced by the one ``dy``'s size implies).

    Returns
    -------
    dw : (C_in, C_out/groups, *k) ndarray
        A new array; zeros for an empty batch.

    Notes
    -----
    Because ``conv_transpose(x, w)`` is the adjoint of ``conv(·, w)``, this is
    ``conv_weight_grad(dy, x, ...)``: the same function, operands swapped. The
    bias gradient is ``dy.sum(axis=(0, 2, 3, ...))``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.ones((1, 1, 2))
    >>> dy = np.arange(5.0).reshape(1, 1, 5)
    >>> conv_transpose_weight_grad(x, dy, 3, stride=2)[0, 0]
    array([2., 4., 6.])
    """
    x, dy, ndim, ks, groups, spec = _grad_inputs(
        x, dy, kernel_size, groups, spec, method,
        dict(stride=stride, padding=padding, dilation=dilation))
    if spec is None:
        spec = ConvSpec.create(ndim, ks, stride=stride, padding=padding, dilation=dilation,
                               groups=groups, input_size=x.shape[2:], transposed=True,
                               output_size=dy.shape[2:])
    else:
        spec = spec.with_output_size(x.shape[2:], dy.shape[2:])
    w_shape = (x.shape[1], dy.shape[1] // groups) + spec.kernel_size
    if x.shape[0] == 0:
        return np.zeros(w_shape, x.dtype)
    algo = _algorithm(method, "conv_transpose_weight_grad", (x, dy), w_shape, spec, w_shape,
                      dy.shape)
    with np.errstate(invalid="ignore"):
        return owned(weight_grad(dy, x, spec, algo), x, dy)


def conv_matrix(w, input_shape, *, stride=1, padding=0, dilation=1, groups=1, spec=None):
    """The convolution as an explicit sparse matrix C.

    Parameters
    ----------
    w : (C_out, C_in/groups, *k) ndarray
    input_shape : tuple of int
        ``(C_in, *spatial)`` of one sample.
    stride, padding, dilation, groups
        As for :func:`~deconvkit.conv`.
    spec : ConvSpec, optional
        The geometry as one object, instead of the keywords.

    Returns
    -------
    C : scipy.sparse.csr_matrix of shape ``(C_out * prod(out), C_in * prod(spatial))``
        ``conv(x)[n].ravel() == C @ x[n].ravel()``; ``C.T`` is the transposed
        convolution, ``conv_transpose(y)[n].ravel() == C.T @ y[n].ravel()``.

    Examples
    --------
    >>> import numpy as np
    >>> conv_matrix(np.array([[[1.0, 2.0]]]), (1, 3)).toarray()
    array([[1., 2., 0.],
           [0., 1., 2.]])
    """
    w, input_shape, spec = sample_spec(w, input_shape, stride=stride, padding=padding,
                                       dilation=dilation, groups=groups, spec=spec)
    from ._memory import plan
    out_shape = (w.shape[0],) + spec.conv_output_size(input_shape[1:])
    plan("matrix", "conv", (1,) + input_shape, w.shape, spec, w.dtype, out_shape)
    return matrix.build(w, input_shape[0], input_shape[1:], spec)


def sample_spec(w, input_shape, *, stride=1, padding=0, dilation=1, groups=1, spec=None):
    """Check conv weights ``w`` against one sample's ``input_shape = (C_in, *spatial)``.

    Returns ``w`` (as a float array), ``input_shape`` (a tuple) and the ``ConvSpec``.
    """
    from . import given_spec
    from .._checks import describe, per_axis
    w = _args.as_float_array(w, "w")
    if w.ndim < 3 or 0 in w.shape:
        raise ValueError(f"w must have shape (C_out, C_in/groups, *k) with at least one "
                         f"spatial axis and no empty axis, got {w.shape}")
    if not isinstance(input_shape, (tuple, list)):   # a shape, as choose_method's shapes
        raise TypeError(f"input_shape must be a tuple (C_in, *spatial), got {describe(input_shape)}")
    if len(input_shape) != w.ndim - 1:
        raise ValueError(f"input_shape must be (C_in, *spatial) with {w.ndim - 2} spatial axes "
                         f"for w of shape {w.shape}, got {tuple(input_shape)}")
    input_shape = per_axis(input_shape, w.ndim - 1, "input_shape", 1)
    spec = given_spec(spec, w.ndim - 2, w.shape[2:], stride=stride, padding=padding,
                      dilation=dilation, groups=groups)
    groups = spec.groups if spec is not None else groups
    _args.check_groups(groups, C_out=w.shape[0])
    _args.check_channels(w.shape[1] * groups, input_shape[0],
                         f"input_shape for w of shape {w.shape} with groups={groups}")
    if spec is None:
        spec = ConvSpec.create(w.ndim - 2, w.shape[2:], stride=stride, padding=padding,
                               dilation=dilation, groups=groups, input_size=input_shape[1:])
    return w, input_shape, spec
