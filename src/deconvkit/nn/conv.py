"""Convolution and transposed convolution ("deconvolution") layers, N-d.

Both layers are thin: their math is :mod:`deconvkit.functional`. The backward
pass of :class:`Conv` is ``conv_transpose`` plus ``conv_weight_grad``; the
backward pass of :class:`ConvTranspose` is ``conv`` plus
``conv_transpose_weight_grad`` -- Caffe's ``DeconvolutionLayer`` is its
``ConvolutionLayer`` with forward and backward exchanged, and so is this one.
"""

from __future__ import annotations

import math

import numpy as np

from .._checks import check_int
from .. import functional as F
from ..geometry import ConvSpec
from . import init as initializers
from .module import Module, Parameter, check_dtype

__all__ = ["Conv", "ConvTranspose", "Deconvolution", "upsampling_geometry"]


def _kernel_size(kernel_size, ndim):
    if isinstance(kernel_size, (int, np.integer)) and not isinstance(kernel_size, bool):
        return (int(kernel_size),) * (2 if ndim is None else ndim)
    values = tuple(kernel_size) if isinstance(kernel_size, (tuple, list)) else None
    if not values or any(isinstance(v, bool) or not isinstance(v, (int, np.integer))
                         for v in values):
        raise TypeError(f"kernel_size must be an int or a tuple of ints, got {kernel_size!r}")
    ks = tuple(int(v) for v in values)
    if ndim is not None and len(ks) != ndim:
        raise ValueError(f"kernel_size {kernel_size!r} has {len(ks)} axes but ndim={ndim}")
    return ks


def upsampling_geometry(factor):
    """Kernel size and padding of a transposed conv that upsamples by ``factor``:
    ``(2f, f/2)`` for even ``f``, ``(2f - 1, (f-1)/2)`` for odd ``f`` (output ``f`` times
    the input; the bilinear filter of that kernel is centred for both parities).

    >>> upsampling_geometry(2), upsampling_geometry(3)
    ((4, 1), (5, 1))
    """
    if factor % 2 == 0:
        return 2 * factor, factor // 2
    return 2 * factor - 1, (factor - 1) // 2


def _check_channels(in_channels, out_channels, groups):
    for name, c in (("in_channels", in_channels), ("out_channels", out_channels)):
        check_int(c, name)
        if isinstance(groups, (int, np.integer)) and groups >= 1 and c % groups:
            raise ValueError(f"groups={groups} must divide {name}={c}")


class _ConvLayer(Module):
    """Shared constructor of :class:`Conv` and :class:`ConvTranspose`."""

    transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, *, stride=1, padding=0,
                 dilation=1, groups=1, output_padding=0, bias=True, ndim=None, init="he",
                 method="auto", dtype=np.float32, rng=None):
        super().__init__()
        _check_channels(in_channels, out_channels, groups)
        if not self.transposed and np.any(np.asarray(output_padding) != 0):
            raise ValueError(f"output_padding applies to ConvTranspose only, got "
                             f"{output_padding!r} for Conv")
        ks = _kernel_size(kernel_size, ndim)
        # validate the geometry now; "same" is resolved per input size in forward
        if isinstance(padding, str) and padding.lower() not in ("same", "valid"):
            raise ValueError(f"padding string must be 'valid' or 'same', got {padding!r}")
        ConvSpec(ks, stride, 0 if isinstance(padding, str) else padding, dilation, groups,
                 output_padding)
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size, self.stride, self.padding = ks, stride, padding
        self.dilation, self.groups, self.method = dilation, groups, method
        self.needs_input_grad = True
        dtype = check_dtype(dtype)
        rng = np.random.default_rng(rng)  # returns a Generator unchanged
        first, second = (in_channels, out_channels) if self.transposed else (out_channels,
                                                                             in_channels)
        shape = (first, second // groups) + ks
        self.weight = Parameter(initializers.initialize(
            init, shape, groups=groups, rng=rng, dtype=dtype, **self._fans(shape)))
        self.bias = Parameter(np.zeros(out_channels, dtype)) if bias else None
        self._x = None

    def _fans(self, shape):
        taps = math.prod(self.kernel_size)
        stride = ConvSpec(self.kernel_size, self.stride).stride
        spread = shape[1] * taps, shape[1] * taps / math.prod(stride)
        return dict(zip(("fan_out", "fan_in") if self.transposed else ("fan_in", "fan_out"),
                        spread))

    def _kwargs(self):
        return dict(stride=self.stride, padding=self.padding, dilation=self.dilation,
                    groups=self.groups, method=self.method)

    def backward(self, dy):
        """Accumulate ``weight_grad`` and the bias sum; return ``input_grad`` (the other
        operation) unless ``needs_input_grad`` is false."""
        x, kw = self._input(), self._kwargs()
        if self.weight.requires_grad:
            self.weight.accumulate(self.weight_grad(x, dy, kw))
        self._accumulate_bias(dy)
        return self.input_grad(x, dy, kw) if self.needs_input_grad else None

    def _input(self):
        if self._x is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        return self._x

    def _accumulate_bias(self, dy):
        if self.bias is not None and self.bias.requires_grad:
            self.bias.accumulate(dy.sum(axis=(0,) + tuple(range(2, dy.ndim))))

    def extra_repr(self):
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}")
        if self.dilation != 1:
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        return text + ("" if self.bias is not None else ", bias=False")


class Conv(_ConvLayer):
    """N-d convolution layer (cross-correlation), :func:`deconvkit.conv` with a state.

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size : int or tuple of int
        An int means ``ndim`` equal sizes (default 2-D).
    stride, padding, dilation, groups
        As for :func:`deconvkit.conv`: padding may be an int, per-axis ints,
        per-axis ``(lo, hi)`` pairs, ``"valid"`` or ``"same"``.
    bias : bool
    ndim : int, optional
        Number of spatial axes when ``kernel_size`` is an int (default 2).
    init : str or callable
        Weight initializer name (see :func:`deconvkit.nn.init.initialize`) or
        ``init(shape, rng=..., dtype=...)``. Default He normal, ``fan_in = (C_in/g) prod(k)``.
    method : str
        Algorithm of :mod:`deconvkit.functional` (default ``"auto"``).
    dtype : float32 or float64
    rng : numpy Generator or int, optional

    Attributes
    ----------
    weight : Parameter ``(C_out, C_in/groups, *k)``
    bias : Parameter ``(C_out,)`` or None
    needs_input_grad : bool
        When false, :meth:`backward` skips the input gradient and returns None
        (for a network's first layer).

    Notes
    -----
    ``forward(x)`` keeps ``x``. ``backward(dy)`` returns
    ``conv_transpose(dy, w, output_size=x.shape[2:])`` and accumulates
    ``conv_weight_grad(x, dy)`` and ``dy.sum(axis=(0, 2, ...))``.

    Examples
    --------
    >>> import numpy as np
    >>> layer = Conv(3, 8, 3, padding="same", rng=0)
    >>> layer.forward(np.zeros((2, 3, 5, 5), np.float32)).shape
    (2, 8, 5, 5)
    """

    def forward(self, x):
        self._x = x
        b = None if self.bias is None else self.bias.data
        return F.conv(x, self.weight.data, b, **self._kwargs())

    def weight_grad(self, x, dy, kw):
        """``conv_weight_grad(x, dy)``."""
        return F.conv_weight_grad(x, dy, self.kernel_size, **kw)

    def input_grad(self, x, dy, kw):
        """``conv_transpose(dy, w)`` at the size of ``x``."""
        return F.conv_transpose(dy, self.weight.data, output_size=x.shape[2:], **kw)


class ConvTranspose(_ConvLayer):
    """N-d transposed convolution layer: the "deconvolution" layer that upsamples.

    ``Deconvolution`` is the same class under the name Caffe and the FCN paper use.
    It is the adjoint of :class:`Conv` with the same arguments, not an inverse.

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size : int or tuple of int
    stride, padding, dilation, groups
        Those of the *forward* convolution this layer is the transpose of, as for
        :func:`deconvkit.conv_transpose`; ``padding`` crops the output.
    output_padding : int or tuple of int
        Extra output size at the end, ``0 <= r < max(stride, dilation)``.
    bias : bool
    ndim : int, optional
        Number of spatial axes when ``kernel_size`` is an int (default 2).
    init : str or callable
        Default He normal with ``fan_in = (C_in/g) prod(k) / prod(s)``;
        ``"bilinear"`` gives the FCN upsampling filter (``in_channels ==
        out_channels`` and ``groups`` 1 or ``in_channels``).
    method, dtype, rng
        As for :class:`Conv`.

    Attributes
    ----------
    weight : Parameter ``(C_in, C_out/groups, *k)``
    bias : Parameter ``(C_out,)`` or None
    needs_input_grad : bool

    Notes
    -----
    ``forward(x, output_size=None)`` keeps ``x``; ``output_size`` picks the output
    size among the valid ones, as in PyTorch. ``backward(dy)`` returns
    ``conv(dy, w)`` (cropped to ``x``'s size when ``output_padding >= stride``) and
    accumulates ``conv_transpose_weight_grad(x, dy)`` and the bias sum.

    Examples
    --------
    >>> import numpy as np
    >>> up = ConvTranspose.bilinear(2, factor=2)
    >>> up.forward(np.ones((1, 2, 3, 3), np.float32)).shape
    (1, 2, 6, 6)
    """

    transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, *, stride=1, padding=0,
                 output_padding=0, dilation=1, groups=1, bias=True, ndim=None, init="he",
                 method="auto", dtype=np.float32, rng=None):
        super().__init__(in_channels, out_channels, kernel_size, stride=stride,
                         padding=padding, dilation=dilation, groups=groups,
                         output_padding=output_padding, bias=bias, ndim=ndim, init=init,
                         method=method, dtype=dtype, rng=rng)
        self.output_padding = output_padding

    @classmethod
    def bilinear(cls, channels, factor, *, ndim=2, groups=1, trainable=True, bias=False,
                 dtype=np.float32, method="auto"):
        """An upsampling layer by an integer ``factor``, initialized to bilinear.

        Kernel ``2f`` and padding ``f/2`` for even ``f``, kernel ``2f - 1`` and padding
        ``(f-1)/2`` for odd ``f``: the output is ``f`` times the input and equals
        ``interpolate(mode="bilinear", align_corners=False)`` away from the border.
        ``trainable=False`` freezes the weight (fixed bilinear upsampling).
        """
        check_int(factor, "factor")
        k, p = upsampling_geometry(factor)
        layer = cls(channels, channels, k, stride=factor, padding=p, groups=groups,
                    bias=bias, ndim=ndim, init="bilinear", dtype=dtype, method=method)
        layer.weight.requires_grad = bool(trainable)
        return layer

    def forward(self, x, output_size=None):
        self._x = x
        b = None if self.bias is None else self.bias.data
        r = self.output_padding if output_size is None else 0
        return F.conv_transpose(x, self.weight.data, b, output_padding=r,
                                output_size=output_size, **self._kwargs())

    def weight_grad(self, x, dy, kw):
        """``conv_transpose_weight_grad(x, dy)``."""
        return F.conv_transpose_weight_grad(x, dy, self.kernel_size, **kw)

    def input_grad(self, x, dy, kw):
        """``conv(dy, w)``, cropped to the size of ``x`` (it is larger when r >= s)."""
        dx = F.conv(dy, self.weight.data, **kw)
        return dx[(slice(None), slice(None)) + tuple(slice(0, n) for n in x.shape[2:])]


Deconvolution = ConvTranspose
"""Alias of :class:`ConvTranspose` (Caffe's and the FCN paper's name for it)."""
