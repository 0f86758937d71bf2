"""Max pooling with its argmax "switches", and max unpooling that uses them, N-d.

:class:`MaxPool` keeps, for every output, the flat index of the chosen input
within its ``(n, c)`` plane -- PyTorch's ``return_indices`` convention -- so that
:class:`MaxUnpool` (Zeiler & Fergus's "switches", SegNet's decoder) can put values
back where the maxima came from. Window geometry is a :class:`~deconvkit.ConvSpec`.
"""

from __future__ import annotations

import math

import numpy as np

from .._checks import check_allocation, per_axis
from ..geometry import ConvSpec
from .. import functional as F
from .conv import _kernel_size
from .module import FLOAT_DTYPES, Module, check_bool

__all__ = ["MaxPool", "MaxUnpool"]


def scatter_to_planes(values, indices, shape):
    """Array of ``shape`` that is zero except ``values`` put at plane ``indices``."""
    planes = shape[0] * shape[1]
    out = np.zeros((planes, math.prod(shape[2:])), values.dtype)
    np.put_along_axis(out, indices.reshape(planes, -1), values.reshape(planes, -1), axis=1)
    return out.reshape(shape)


def _tap_windows(spec, out):
    """For each kernel tap in window order, the index of the strided view of the padded
    input that holds that tap of every window."""
    for tap in np.ndindex(*spec.kernel_size):
        yield (slice(None),) * 2 + tuple(slice(j * d, j * d + (m - 1) * s + 1, s) for j, d, m, s
                                         in zip(tap, spec.dilation, out, spec.stride))


def _select(better, new, old):
    """``np.where(better, new, old)`` for unsigned ints, by wrap-around arithmetic
    (several times faster than ``np.where``)."""
    return old + better.view(np.uint8) * (new - old)


def _block_max(x, k, out, dtype):
    """Max and window-order tap of non-overlapping windows, an axis at a time.

    ``x`` (cropped to ``out * k``) is viewed as ``(N, C, m0, k0, m1, k1, ...)`` and the
    ``k`` axes are reduced from the last to the first, keeping the first maximum: that
    is the first maximum in row-major window order, as the tap-by-tap loop finds it.
    """
    crop = x[(slice(None),) * 2 + tuple(slice(0, m * kk) for m, kk in zip(out, k))]
    z = crop.reshape(x.shape[:2] + tuple(v for m, kk in zip(out, k) for v in (m, kk)))
    arg, inner = None, 1
    for a in reversed(range(len(k))):
        at = (slice(None),) * (3 + 2 * a)
        y = best = None
        for j in range(k[a]):
            tap = dtype.type(j * inner)
            candidate = tap if arg is None else arg[at + (j,)] + tap
            if y is None:
                y, best = z[at + (j,)].copy(), candidate
                continue
            better = z[at + (j,)] > y
            np.maximum(y, z[at + (j,)], out=y)
            best = _select(better, candidate, best)
        z, arg, inner = y, np.broadcast_to(best, y.shape), inner * k[a]
    return z, np.ascontiguousarray(arg, dtype)


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
        self.ceil_mode = check_bool(ceil_mode, "ceil_mode")
        self._arg = self._indices = self._geometry = self._x_shape = None

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
        if x.ndim != self.spec.ndim + 2:
            raise ValueError(f"x must be (N, C, *spatial) with {self.spec.ndim} spatial axes, "
                             f"got shape {x.shape}")
        out, pads = self.output_geometry(x.shape[2:])
        padded = any(lo or hi for lo, hi in pads)
        xp = np.pad(x, ((0, 0), (0, 0)) + pads, constant_values=-np.inf) if padded else x
        has_nan = bool(np.isnan(np.sum(x)))  # one fast reduction; NaN also for inf - inf
        if self.tiles_input() and not padded and not has_nan:
            y, arg = _block_max(x, self.spec.kernel_size, out, self._tap_dtype())
        else:
            y, arg = self._running_max(xp, out, has_nan)
        self._arg, self._geometry, self._indices = arg, (out, pads, xp.shape), None
        self._x_shape = x.shape
        return y

    def tiles_input(self) -> bool:
        """Whether the windows do not overlap and have no holes (stride == kernel, no
        dilation): then every input value is in at most one window."""
        s = self.spec
        return s.stride == s.kernel_size and all(d == 1 for d in s.dilation)

    def _tap_dtype(self):
        return np.dtype(np.min_scalar_type(math.prod(self.spec.kernel_size) - 1))

    def _running_max(self, xp, out, has_nan):
        """Max over the taps and the tap that gave it: the first maximum in window order,
        the last NaN when there is one (PyTorch's rule), one tap view at a time."""
        dtype = self._tap_dtype()
        y = arg = None
        for t, window in enumerate(_tap_windows(self.spec, out)):
            view = xp[window]
            if y is None:
                y, arg = view.copy(), np.zeros(view.shape, dtype)
                continue
            better = view > y
            if has_nan:
                better |= np.isnan(view)
            np.maximum(y, view, out=y)
            arg = _select(better, dtype.type(t), arg)
        return y, arg

    @property
    def indices(self):
        """``(N, C, *out)`` int64: the flat index in ``x[n, c]`` of each maximum."""
        if self._arg is None:
            return None
        if self._indices is None:
            self._indices = self._switches()
        return self._indices

    def _switches(self):
        """Flat plane index of each window's maximum: a per-position base plus the offset
        of the chosen tap."""
        out, pads, _ = self._geometry
        spec, size = self.spec, self._x_shape[2:]
        plane_strides = [math.prod(size[a + 1:]) for a in range(len(size))]
        base = np.zeros((1, 1) + (1,) * len(out), np.int64)
        for a, (m, s, (lo, _), step) in enumerate(zip(out, spec.stride, pads, plane_strides)):
            pos = np.arange(m, dtype=np.int64).reshape((m,) + (1,) * (len(out) - 1 - a))
            base = base + (pos * s - lo) * step
        offsets = np.array([sum(j * d * step for j, d, step in
                                zip(tap, spec.dilation, plane_strides))
                            for tap in np.ndindex(*spec.kernel_size)], np.int64)
        return base + offsets[self._arg]

    def backward(self, dy):
        if self._arg is None:
            raise RuntimeError("MaxPool.backward called before forward")
        out, pads, padded_shape = self._geometry
        if dy.shape != self._arg.shape:
            raise ValueError(f"dy must have the output shape {self._arg.shape}, got {dy.shape}")
        arg, tiles = self._arg, self.tiles_input()
        covered = tiles and all(m * k == n for m, k, n in
                                zip(out, self.spec.kernel_size, padded_shape[2:]))
        dxp = (np.empty if covered else np.zeros)(padded_shape, dy.dtype)
        for t, window in enumerate(_tap_windows(self.spec, out)):
            view = dxp[window]
            if tiles:  # the taps' views are disjoint
                np.multiply(dy, arg == t, out=view)
            else:
                view += dy * (arg == t)
        if not any(lo or hi for lo, hi in pads):
            return dxp
        crop = tuple(slice(lo, lo + n) for (lo, _), n in zip(pads, self._x_shape[2:]))
        return np.ascontiguousarray(dxp[(slice(None),) * 2 + crop])

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
        if pool is not None:
            self.spec = pool.spec
        else:
            ks = _kernel_size(kernel_size, ndim)
            self.spec = ConvSpec(ks, ks if stride is None else stride, padding)
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
        else:  # spatial, or PyTorch's full (N, C, *spatial)
            output_size = F.spatial_output_size(output_size, self.spec.ndim)
        shape = x.shape[:2] + per_axis(output_size, self.spec.ndim, "output_size", 1)
        size = math.prod(shape[2:])
        check_allocation(math.prod(shape) * x.dtype.itemsize, f"MaxUnpool output {shape}")
        if indices.size and (indices.min() < 0 or indices.max() >= size):
            raise ValueError(f"indices must lie in [0, {size}) for output size {shape[2:]}, "
                             f"got {indices.min()}..{indices.max()}")
        self._indices, self._x_shape = indices, x.shape
        return scatter_to_planes(x, indices, shape)

    def backward(self, dy):
        if self._indices is None:
            raise RuntimeError("MaxUnpool.backward called before forward")
        planes = dy.shape[0] * dy.shape[1]
        dx = np.take_along_axis(dy.reshape(planes, -1), self._indices.reshape(planes, -1), 1)
        return dx.reshape(self._x_shape)

    def extra_repr(self):
        return f"kernel_size={self.spec.kernel_size}, stride={self.spec.stride}"
