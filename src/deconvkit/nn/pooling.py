"""Max pooling with its argmax "switches", and max unpooling that uses them, N-d.

:class:`MaxPool` keeps, for every output, the flat index of the chosen input
within its ``(n, c)`` plane -- PyTorch's ``return_indices`` convention -- so that
:class:`MaxUnpool` (Zeiler & Fergus's "switches", SegNet's decoder) can put values
back where the maxima came from. Window geometry is a :class:`~deconvkit.ConvSpec`.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..geometry import ConvSpec
from .conv import _kernel_size
from .module import FLOAT_DTYPES, Module

__all__ = ["MaxPool", "MaxUnpool"]


def _plane_offsets(shape):
    """``(N*C, 1)`` offsets of each ``(n, c)`` plane in the flattened array."""
    planes, size = shape[0] * shape[1], math.prod(shape[2:])
    return (np.arange(planes, dtype=np.int64) * size)[:, None]


def scatter_to_planes(values, indices, shape, unique):
    """Array of ``shape`` that is zero except ``values`` added at plane ``indices``."""
    planes = shape[0] * shape[1]
    idx, vals = indices.reshape(planes, -1), values.reshape(planes, -1)
    if unique:
        out = np.zeros((planes, math.prod(shape[2:])), values.dtype)
        np.put_along_axis(out, idx, vals, axis=1)
        return out.reshape(shape)
    flat = (idx + _plane_offsets(shape)).ravel()
    out = np.bincount(flat, weights=vals.ravel(), minlength=planes * math.prod(shape[2:]))
    return out.astype(values.dtype).reshape(shape)


class MaxPool(Module):
    """N-d max pooling that keeps the argmax switches.

    Parameters
    ----------
    kernel_size : int or tuple of int
        An int means ``ndim`` equal sizes (default 2-D).
    stride : int or tuple of int, optional
        Default ``kernel_size``.
    padding : int, tuple of int or (lo, hi) pairs
        Implicit ``-inf`` padding, at most half the dilated kernel on each side.
    dilation : int or tuple of int
    ceil_mode : bool
        Round the output size up, as PyTorch does (the last window must start
        inside the input or the low padding).
    ndim : int, optional

    Attributes
    ----------
    indices : (N, C, *out) int64 ndarray
        After ``forward``, the flat index in ``x[n, c]`` of each maximum (the
        first one in window order on ties), as ``F.max_pool2d(return_indices=True)``.

    Examples
    --------
    >>> import numpy as np
    >>> pool = MaxPool(2)
    >>> x = np.array([[[[1.0, 5.0], [3.0, 2.0]]]])
    >>> pool.forward(x), pool.indices
    (array([[[[5.]]]]), array([[[[1]]]]))
    >>> pool.backward(np.array([[[[7.0]]]]))
    array([[[[0., 7.],
             [0., 0.]]]])
    """

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                 ndim=None):
        super().__init__()
        ks = _kernel_size(kernel_size, ndim)
        self.spec = ConvSpec(ks, ks if stride is None else stride, padding, dilation)
        for (lo, hi), e in zip(self.spec.padding, self.spec.kernel_extent):
            if 2 * max(lo, hi) > e:
                raise ValueError(f"padding must be at most half the dilated kernel size, got "
                                 f"padding {self.spec.padding} for kernel extent "
                                 f"{self.spec.kernel_extent}")
        self.ceil_mode = bool(ceil_mode)
        self.indices = None
        self._x_shape = None

    def output_geometry(self, size):
        """Spatial output size and the ``(lo, hi)`` padding applied (ceil mode adds to hi)."""
        spec, out = self.spec, []
        floor = spec.conv_output_size(size)
        for n, m, e, s, (lo, hi) in zip(size, floor, spec.kernel_extent, spec.stride,
                                        spec.padding):
            if self.ceil_mode:
                m = -(-(n + lo + hi - e) // s) + 1
                m -= (m - 1) * s >= n + lo
            out.append(m)
        out = tuple(out)
        pads = tuple((lo, max(hi, full - n - lo)) for n, full, (lo, hi) in
                     zip(size, spec.full_size(out), spec.padding))
        return out, pads

    def forward(self, x):
        if x.dtype not in FLOAT_DTYPES:
            raise TypeError(f"x must be float32 or float64, got {x.dtype}")
        spec, axes = self.spec, tuple(range(2, x.ndim))
        if len(axes) != spec.ndim:
            raise ValueError(f"x must be (N, C, *spatial) with {spec.ndim} spatial axes, "
                             f"got shape {x.shape}")
        out, pads = self.output_geometry(x.shape[2:])
        padded = any(lo or hi for lo, hi in pads)
        xp = np.pad(x, ((0, 0), (0, 0)) + pads, constant_values=-np.inf) if padded else x
        win = sliding_window_view(xp, spec.kernel_extent, axis=axes)
        win = win[(slice(None),) * 2 + tuple(slice(0, (m - 1) * s + 1, s) for m, s in
                                             zip(out, spec.stride))
                  + tuple(slice(None, None, d) for d in spec.dilation)]
        flat = win.reshape(x.shape[:2] + out + (-1,))
        arg = flat.argmax(axis=-1)
        y = np.take_along_axis(flat, arg[..., None], axis=-1)[..., 0]
        self.indices = self._switches(arg, x.shape[2:], out, pads)
        self._x_shape = x.shape
        return y

    def _switches(self, arg, size, out, pads):
        """Flat plane index of each window's argmax."""
        taps = np.unravel_index(arg, self.spec.kernel_size)
        flat = np.zeros(arg.shape, np.int64)
        for a, (j, m, s, d, (lo, _)) in enumerate(zip(taps, out, self.spec.stride,
                                                      self.spec.dilation, pads)):
            pos = np.arange(m).reshape((m,) + (1,) * (len(out) - 1 - a))
            flat = flat * size[a] + (pos * s + j * d - lo)
        return flat

    def backward(self, dy):
        if self.indices is None:
            raise RuntimeError("MaxPool.backward called before forward")
        unique = all(s >= e for s, e in zip(self.spec.stride, self.spec.kernel_extent))
        return scatter_to_planes(dy, self.indices, self._x_shape, unique)

    def extra_repr(self):
        s = self.spec
        return (f"kernel_size={s.kernel_size}, stride={s.stride}, padding={s.padding}"
                + (", ceil_mode=True" if self.ceil_mode else ""))


class MaxUnpool(Module):
    """Partial inverse of :class:`MaxPool`: values go back to their argmax positions.

    Parameters
    ----------
    pool : MaxPool, optional
        The pooling layer whose switches to use: ``forward(x)`` then takes its
        ``indices`` and restores its input size. (Not a child module.)
    kernel_size, stride, padding : optional
        Without ``pool``: the pooling geometry, for the default output size
        ``(n - 1) s - p_lo - p_hi + k``, as ``F.max_unpool2d``.
    ndim : int, optional

    Notes
    -----
    ``forward(x, indices=None, output_size=None)``: ``y[n, c].flat[indices] = x``;
    ``backward(dy)`` gathers ``dy[n, c].flat[indices]``, as PyTorch does.

    Examples
    --------
    >>> import numpy as np
    >>> pool = MaxPool(2)
    >>> _ = pool.forward(np.array([[[[1.0, 5.0], [3.0, 2.0]]]]))
    >>> MaxUnpool(pool).forward(np.array([[[[9.0]]]]))
    array([[[[0., 9.],
             [0., 0.]]]])
    """

    def __init__(self, pool=None, *, kernel_size=None, stride=None, padding=0, ndim=None):
        super().__init__()
        if pool is not None and not isinstance(pool, MaxPool):
            raise TypeError(f"pool must be a MaxPool layer, got {type(pool).__name__}")
        if pool is None and kernel_size is None:
            raise ValueError("give the MaxPool layer whose switches to use, or kernel_size")
        self._pool = pool
        self.spec = pool.spec if pool is not None else ConvSpec(
            _kernel_size(kernel_size, ndim), stride or _kernel_size(kernel_size, ndim), padding)
        self._indices = self._x_shape = None

    def forward(self, x, indices=None, output_size=None):
        if indices is None:
            if self._pool is None or self._pool.indices is None:
                raise ValueError("no indices: pass them or run the paired MaxPool first")
            indices = self._pool.indices
            if output_size is None:
                output_size = self._pool._x_shape[2:]
        if indices.shape != x.shape:
            raise ValueError(f"indices must have the shape of x {x.shape}, got {indices.shape}")
        if output_size is None:
            output_size = self.spec.transpose_output_size(x.shape[2:])
        shape = x.shape[:2] + tuple(output_size)[-self.spec.ndim:]
        size = math.prod(shape[2:])
        if indices.size and (indices.min() < 0 or indices.max() >= size):
            raise ValueError(f"indices must lie in [0, {size}) for output size {shape[2:]}, "
                             f"got {indices.min()}..{indices.max()}")
        self._indices, self._x_shape = indices, x.shape
        return scatter_to_planes(x, indices, shape, unique=True)

    def backward(self, dy):
        if self._indices is None:
            raise RuntimeError("MaxUnpool.backward called before forward")
        planes = dy.shape[0] * dy.shape[1]
        dx = np.take_along_axis(dy.reshape(planes, -1), self._indices.reshape(planes, -1), 1)
        return dx.reshape(self._x_shape)

    def extra_repr(self):
        return f"kernel_size={self.spec.kernel_size}, stride={self.spec.stride}"
