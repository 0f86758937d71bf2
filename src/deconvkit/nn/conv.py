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

from .._checks import MAX_NDIM, check_int, describe, is_int, per_axis
from .. import functional as F
from ..geometry import ConvSpec
from . import init as initializers
from .module import Module, Parameter, as_rng, check_bool, check_dtype, check_parameter_size

__all__ = ["Conv", "ConvTranspose", "Deconvolution", "upsampling_geometry"]



def _kernel_size(kernel_size, ndim):
    """``kernel_size`` per spatial axis: an int means ``ndim`` equal sizes (default 2)."""
    if ndim is not None:
        ndim = check_int(ndim, "ndim", maximum=MAX_NDIM)
    if is_int(kernel_size):
        return per_axis(kernel_size, 2 if ndim is None else ndim, "kernel_size", 1)
    values = tuple(kernel_size) if isinstance(kernel_size, (tuple, list)) else ()
    if not values or not all(is_int(v) for v in values):
        raise TypeError(f"kernel_size must be an int or a tuple of ints, got "
                        f"{describe(kernel_size)}")
    if ndim is not None and len(values) != ndim:
        raise ValueError(f"kernel_size {kernel_size!r} has {len(values)} axes but ndim={ndim}")
    if len(values) > MAX_NDIM:
        raise ValueError(f"kernel_size must have at most {MAX_NDIM} axes, got {len(values)}")
    return per_axis(values, len(values), "kernel_size", 1)


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
    channels = []
    for name, c in (("in_channels", in_channels), ("out_channels", out_channels)):
        c = check_int(c, name)
        if c % groups:
            raise ValueError(f"groups={groups} must divide {name}={c}")
        channels.append(c)
    return channels


class _ConvLayer(Module):
    """Shared constructor and backward pass of :class:`Conv` and :class:`ConvTranspose`.

    The geometry is checked and built into a :class:`~deconvkit.ConvSpec` once, here:
    ``spec``. With ``padding="same"`` the padding depends on the input size, so ``spec``
    is ``None`` and :meth:`spec_for` resolves it through ``ConvSpec.create`` (cached per
    size).
    """

    transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, *, stride=1, padding=0,
                 dilation=1, groups=1, output_padding=0, bias=True, ndim=None, init="he",
                 method="auto", dtype=np.float32, rng=None):
        super().__init__()
        ks = _kernel_size(kernel_size, ndim)
        groups = check_int(groups, "groups")
        in_channels, out_channels = _check_channels(in_channels, out_channels, groups)
        r = per_axis(output_padding, len(ks), "output_padding")
        if not self.transposed and any(r):
            raise ValueError(f"output_padding applies to ConvTranspose only, got "
                             f"{output_padding!r} for Conv")
        self.spec, self._geometry = self._build_spec(ks, stride, padding, dilation, groups, r)
        self._specs = {}
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = ks, stride, padding
        self.dilation, self.groups, self.method = dilation, groups, F.check_method(method)
        self.needs_input_grad = True
        bias, dtype, rng = check_bool(bias, "bias"), check_dtype(dtype), as_rng(rng)
        first, second = (in_channels, out_channels) if self.transposed else (out_channels,
                                                                             in_channels)
        shape = check_parameter_size((first, second // groups) + ks, np.float64, "weight")
        self.weight = Parameter(initializers.initialize(
            init, shape, groups=groups, rng=rng, dtype=dtype, **self._fans(shape)))
        self.bias = Parameter(np.zeros(out_channels, dtype)) if bias else None
        self._x = self._y_shape = None

    def _build_spec(self, ks, stride, padding, dilation, groups, output_padding):
        """The spec (``None`` for ``"same"``) and the checked geometry to resolve it."""
        same = isinstance(padding, str) and padding.lower() == "same"
        # for "same", resolving it at size 1 checks every argument once, here
        spec = ConvSpec.create(len(ks), ks, stride=stride, padding=padding,
                               dilation=dilation, groups=groups, output_padding=output_padding,
                               input_size=(1,) * len(ks) if same else None,
                               transposed=self.transposed)
        geometry = dict(kernel_size=spec.kernel_size, stride=spec.stride,
                        padding="same" if same else spec.padding, dilation=spec.dilation,
                        groups=spec.groups, output_padding=tuple(output_padding))
        return (None if same else spec), geometry

    def spec_for(self, input_size, output_size=None) -> ConvSpec:
        """The spec of a forward pass on spatial ``input_size`` (and, for the transposed
        layer, a requested ``output_size``): :attr:`spec`, or with ``padding="same"`` the
        one ``ConvSpec.create`` resolves, cached per size."""
        ndim = len(self.kernel_size)
        input_size = per_axis(input_size, ndim, "input_size", 1)
        if output_size is not None:
            output_size = per_axis(output_size, ndim, "output_size", 1)
        if self.spec is not None:
            return (self.spec if output_size is None
                    else self.spec.with_output_size(input_size, output_size))
        key = (input_size, output_size)
        spec = self._specs.get(key)
        if spec is None:
            if len(self._specs) >= 64:
                self._specs.clear()
            geometry = dict(self._geometry)
            if output_size is not None:
                geometry["output_padding"] = 0
            spec = self._specs[key] = ConvSpec.create(
                ndim, input_size=input_size, transposed=self.transposed,
                output_size=output_size, **geometry)
        return spec

    def _spatial(self, x):
        """The spatial size of ``x``, which must have the layer's number of axes."""
        shape = np.shape(x)
        if len(shape) != len(self.kernel_size) + 2:
            raise ValueError(f"x must be (N, {self.in_channels}, *spatial) with "
                             f"{len(self.kernel_size)} spatial axes, got shape {shape}")
        return shape[2:]

    def _fans(self, shape):
        taps = math.prod(self.kernel_size)
        spread = shape[1] * taps, shape[1] * taps / math.prod(self._geometry["stride"])
        return dict(zip(("fan_out", "fan_in") if self.transposed else ("fan_in", "fan_out"),
                        spread))

    def _bias(self):
        return None if self.bias is None else self.bias.data

    def _keep(self, x, y, spec):
        self._x, self._y_shape, self._spec = np.asarray(x), y.shape, spec
        return y

    def backward(self, dy):
        """Accumulate ``weight_grad`` and the bias sum; return ``input_grad`` (the other
        operation) unless ``needs_input_grad`` is false."""
        if self._x is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        if np.shape(dy) != self._y_shape:
            raise ValueError(f"dy must have the output shape {self._y_shape}, "
                             f"got {np.shape(dy)}")
        x, spec, dy = self._x, self._spec, np.asarray(dy)
        if self.weight.requires_grad:
            self.weight.accumulate(self.weight_grad(x, dy, spec))
        self._accumulate_bias(dy)
        return self.input_grad(x, dy, spec) if self.needs_input_grad else None

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
    spec : ConvSpec or None
        The geometry, checked and built at construction and passed to every
        :mod:`~deconvkit.functional` call; ``None`` for ``padding="same"``, whose padding
        depends on the input size (:meth:`spec_for` resolves it, once per size).
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
        spec = self.spec if self.spec is not None else self.spec_for(self._spatial(x))
        return self._keep(x, F.conv(x, self.weight.data, self._bias(), spec=spec,
                                    method=self.method), spec)

    def weight_grad(self, x, dy, spec):
        """``conv_weight_grad(x, dy)``."""
        return F.conv_weight_grad(x, dy, spec=spec, method=self.method)

    def input_grad(self, x, dy, spec):
        """``conv_transpose(dy, w)`` at the size of ``x``."""
        return F.conv_transpose(dy, self.weight.data, spec=spec, output_size=x.shape[2:],
                                method=self.method)


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
    spec : ConvSpec or None
        As for :class:`Conv`; ``forward(x, output_size)`` uses
        ``spec.with_output_size`` (or, for ``"same"``, ``ConvSpec.create``).
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
        factor, trainable = check_int(factor, "factor"), check_bool(trainable, "trainable")
        k, p = upsampling_geometry(factor)
        layer = cls(channels, channels, k, stride=factor, padding=p, groups=groups,
                    bias=bias, ndim=ndim, init="bilinear", dtype=dtype, method=method)
        layer.weight.requires_grad = trainable
        return layer

    def forward(self, x, output_size=None):
        if self.spec is not None and output_size is None:
            spec = self.spec
        else:  # "same", or a requested size: ConvSpec resolves it from the sizes
            size = self._spatial(x)
            spec = self.spec_for(size, F.spatial_output_size(output_size, len(size)))
        return self._keep(x, F.conv_transpose(x, self.weight.data, self._bias(), spec=spec,
                                              method=self.method), spec)

    def weight_grad(self, x, dy, spec):
        """``conv_transpose_weight_grad(x, dy)``."""
        return F.conv_transpose_weight_grad(x, dy, spec=spec, method=self.method)

    def input_grad(self, x, dy, spec):
        """``conv(dy, w)``, cropped to the size of ``x`` (it is larger when r >= s)."""
        dx = F.conv(dy, self.weight.data, spec=spec, method=self.method)
        if dx.shape[2:] == x.shape[2:]:
            return dx
        return dx[(slice(None), slice(None)) + tuple(slice(0, n) for n in x.shape[2:])].copy()


Deconvolution = ConvTranspose
"""Alias of :class:`ConvTranspose` (Caffe's and the FCN paper's name for it)."""
