"""Fixed upsampling (:class:`Upsample`), sub-pixel upsampling (:class:`PixelShuffle`),
resize-convolution (:class:`ResizeConv`) and :class:`Crop`, N-d.

Interpolation is separable: along each spatial axis it is a fixed linear map A
(a sparse ``(n_out, n_in)`` matrix, or a repeat for integer nearest upsampling),
and the backward pass applies ``A.T``. Maps on different axes commute, so the
repeats are done together in one copy.
"""

from __future__ import annotations

import functools
import math
import numbers

import numpy as np
import scipy.sparse

from .._checks import MAX_INT, check_allocation, check_int, describe, is_int, per_axis
from .conv import Conv
from .module import Module, check_bool, check_real, fresh

__all__ = ["Upsample", "PixelShuffle", "ResizeConv", "Crop", "interpolation_matrix"]

_LINEAR = ("linear", "bilinear", "trilinear")


def interpolation_matrix(n_in, n_out, mode="linear", align_corners=False, scale=None):
    """The ``(n_out, n_in)`` sparse matrix of 1-D interpolation, as PyTorch computes it.

    Parameters
    ----------
    n_in, n_out : int
    mode : {"nearest", "linear"}
    align_corners : bool
        Linear only: map the corner samples onto each other.
    scale : float, optional
        The scale factor the user gave; PyTorch then uses ``1 / scale`` as the
        source step instead of ``n_in / n_out``.

    Notes
    -----
    Nearest: ``src = min(floor(dst * step), n_in - 1)``. Linear, ``align_corners=False``:
    ``src = max((dst + 0.5) step - 0.5, 0)``; with ``align_corners``:
    ``src = dst (n_in - 1) / (n_out - 1)``; weights ``1 - frac`` and ``frac`` on
    ``floor(src)`` and its right neighbour (clamped at the end).

    Examples
    --------
    >>> interpolation_matrix(2, 4).toarray()
    array([[1.  , 0.  ],
           [0.75, 0.25],
           [0.25, 0.75],
           [0.  , 1.  ]])
    """
    dst = np.arange(n_out, dtype=np.float64)
    if mode == "nearest":
        step = np.float32(1.0 / scale if scale else n_in / n_out)
        src = np.floor(dst.astype(np.float32) * step).astype(np.int64)
        rows, cols, vals = dst, np.minimum(src, n_in - 1), np.ones(n_out)
    else:
        if align_corners:
            src = dst * ((n_in - 1) / (n_out - 1) if n_out > 1 else 0.0)
        else:
            step = 1.0 / scale if scale else n_in / n_out
            src = np.maximum((dst + 0.5) * step - 0.5, 0.0)
        i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
        i1 = np.minimum(i0 + 1, n_in - 1)
        frac = np.clip(src - i0, 0.0, 1.0)
        rows, cols, vals = np.r_[dst, dst], np.r_[i0, i1], np.r_[1.0 - frac, frac]
    return scipy.sparse.csr_matrix((vals, (rows.astype(np.int64), cols)), shape=(n_out, n_in))


@functools.lru_cache(maxsize=64)
def _matrix_pair(n_in, n_out, mode, align_corners, scale, dtype):
    """``(A, A.T)`` of :func:`interpolation_matrix` as CSR matrices of ``dtype``, built
    once per geometry (the layers only multiply by them, never modify them)."""
    a = interpolation_matrix(n_in, n_out, mode, align_corners, scale).astype(dtype)
    return a, a.T.tocsr()


def _axes(value, name):
    """How many spatial axes a per-axis argument gives: 1 for a number, else its length."""
    if isinstance(value, numbers.Number) or isinstance(value, np.generic):
        return 1
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
        raise TypeError(f"{name} must be a number or a sequence of numbers, got "
                        f"{describe(value)}")
    if len(value) == 0:
        raise ValueError(f"{name} must have at least one entry, got {describe(value)}")
    return len(value)


def _scales(value, ndim):
    """``scale_factor`` as ``ndim`` positive finite floats (a number is broadcast)."""
    if isinstance(value, numbers.Real):
        values = (value,) * ndim
    elif isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
        raise TypeError(f"scale_factor must be a number or a sequence of numbers, got "
                        f"{describe(value)}")
    else:
        values = tuple(value)
    if len(values) != ndim:
        raise ValueError(f"scale_factor needs {ndim} entries for {ndim} spatial axes, "
                         f"got {values}")
    scales = tuple(check_real(v, "scale_factor", 0, MAX_INT) for v in values)
    if any(v == 0 for v in scales):
        raise ValueError(f"scale_factor must be > 0, got {describe(value)}")
    return scales


def _along(x, axis, fn):
    """Apply ``fn`` to ``x`` reshaped so ``axis`` comes first as ``(n, rest)``."""
    xm = np.moveaxis(x, axis, 0)
    y = fn(xm.reshape(xm.shape[0], -1))
    return np.moveaxis(y.reshape((y.shape[0],) + xm.shape[1:]), 0, axis)


def _repeat(x, factors):
    """Nearest upsampling by integer ``factors`` of every spatial axis, in one copy."""
    if all(f == 1 for f in factors):
        return x
    n, c, *size = x.shape
    view = x.reshape((n, c) + tuple(v for m in size for v in (m, 1)))
    full = (n, c) + tuple(v for m, f in zip(size, factors) for v in (m, f))
    return np.broadcast_to(view, full).reshape((n, c) + tuple(m * f for m, f in
                                                              zip(size, factors)))


def _fold(dy, factors):
    """Adjoint of :func:`_repeat`: the sum over each block, as a sum of strided views."""
    if all(f == 1 for f in factors):
        return dy
    out = None
    for offsets in np.ndindex(*factors):
        view = dy[(slice(None),) * 2 + tuple(slice(o, None, f) for o, f in zip(offsets, factors))]
        out = view.copy() if out is None else np.add(out, view, out=out)
    return out


class Upsample(Module):
    """Fixed (not learned) nearest or multilinear upsampling, N-d.

    Parameters
    ----------
    scale_factor : float or tuple of float, optional
        Output size ``floor(n * scale_factor)`` per axis.
    size : int or tuple of int, optional
        Output spatial size, instead of ``scale_factor``.
    mode : {"nearest", "linear", "bilinear", "trilinear"}
        The linear modes are all multilinear over every spatial axis.
    align_corners : bool
        Linear modes only; default False.

    Notes
    -----
    Matches ``torch.nn.functional.interpolate`` with the same arguments. The
    backward pass applies the transposed interpolation along each axis.

    Examples
    --------
    >>> import numpy as np
    >>> Upsample(2).forward(np.array([[[1.0, 2.0]]]))
    array([[[1., 1., 2., 2.]]])
    >>> Upsample(2, mode="linear").forward(np.array([[[1.0, 2.0]]]))
    array([[[1.  , 1.25, 1.75, 2.  ]]])
    """

    def __init__(self, scale_factor=None, size=None, mode="nearest", align_corners=False):
        super().__init__()
        if (scale_factor is None) == (size is None):
            raise ValueError("give exactly one of scale_factor and size")
        if not isinstance(mode, str) or (mode != "nearest" and mode not in _LINEAR):
            raise ValueError(f"mode must be 'nearest' or one of {_LINEAR}, got {describe(mode)}")
        align_corners = check_bool(align_corners, "align_corners")
        if align_corners and mode == "nearest":
            raise ValueError("align_corners applies to the linear modes only")
        if isinstance(size, (numbers.Number, np.generic)):
            check_int(size, "size")
        elif size is not None:
            per_axis(size, _axes(size, "size"), "size", 1)
        else:
            _scales(scale_factor, _axes(scale_factor, "scale_factor"))
        self.scale_factor, self.size = scale_factor, size
        self.mode, self.align_corners = mode, align_corners
        self._ops = None

    def _axis_ops(self, size):
        ndim = len(size)
        if self.size is not None:
            scales = (None,) * ndim
            out = per_axis(self.size, ndim, "size", 1)
        else:
            scales = _scales(self.scale_factor, ndim)
            out = tuple(int(math.floor(n * s)) for n, s in zip(size, scales))
        if any(m < 1 for m in out):
            raise ValueError(f"output size {out} for input size {size} must be >= 1")
        per_axis(out, ndim, "output size", 1)
        ops = []
        for n, m, s in zip(size, out, scales):
            if self.mode == "nearest" and m % n == 0 and (s is None or s == m // n):
                ops.append(m // n)  # integer nearest upsampling: a repeat
            else:
                mode = "nearest" if self.mode == "nearest" else "linear"
                ops.append((n, m, mode, self.align_corners, s))
        return ops

    def forward(self, x):
        if x.ndim < 3:
            raise ValueError(f"x must be (N, C, *spatial), got shape {x.shape}")
        ops = self._axis_ops(x.shape[2:])
        out = tuple(n * op if isinstance(op, int) else op[1] for n, op in zip(x.shape[2:], ops))
        check_allocation(2 * math.prod(x.shape[:2] + out) * x.dtype.itemsize,
                         f"Upsample of {x.shape} to spatial size {out}")
        self._ops = ops
        y = _repeat(x, [op if isinstance(op, int) else 1 for op in self._ops])
        for axis, op in enumerate(self._ops, start=2):
            if not isinstance(op, int):
                mat, _ = _matrix_pair(*op, y.dtype)
                y = _along(y, axis, lambda v: mat @ v)
        return fresh(y, x)

    def backward(self, dy):
        if self._ops is None:
            raise RuntimeError("Upsample.backward called before forward")
        dx = dy
        for axis, op in enumerate(self._ops, start=2):
            if not isinstance(op, int):
                _, mat_t = _matrix_pair(*op, dx.dtype)
                dx = _along(dx, axis, lambda v: mat_t @ v)
        return fresh(_fold(dx, [op if isinstance(op, int) else 1 for op in self._ops]), dy)

    def extra_repr(self):
        what = (f"size={self.size}" if self.size is not None
                else f"scale_factor={self.scale_factor}")
        return f"{what}, mode={self.mode!r}" + (", align_corners=True" if self.align_corners
                                                 else "")


class PixelShuffle(Module):
    """Sub-pixel rearrangement ``(N, C r^d, *S) -> (N, C, *(S r))``, N-d.

    Input channel ``c r^d + q`` (``q`` the row-major index of the sub-pixel offset)
    goes to output channel ``c`` at offset ``q``, as ``torch.nn.PixelShuffle``.
    A conv to ``C r^d`` channels followed by this layer is a learned upsampling
    (Shi et al. 2016); initialize the conv with :func:`~deconvkit.nn.init.icnr`.

    Examples
    --------
    >>> import numpy as np
    >>> PixelShuffle(2).forward(np.arange(4.0).reshape(1, 4, 1, 1))[0, 0]
    array([[0., 1.],
           [2., 3.]])
    """

    def __init__(self, upscale_factor: int):
        super().__init__()
        self.upscale_factor = check_int(upscale_factor, "upscale_factor")
        self._x_shape = None

    def forward(self, x):
        r, d = self.upscale_factor, x.ndim - 2
        n, c, *size = x.shape
        if d < 1 or c % r ** d:
            raise ValueError(f"x must be (N, C * {r}**{d}, *spatial); got shape {x.shape}, "
                             f"whose {c} channels are not a multiple of {r ** d}")
        self._x_shape = x.shape
        y = x.reshape((n, c // r ** d) + (r,) * d + tuple(size))
        order = [0, 1] + [i for a in range(d) for i in (2 + d + a, 2 + a)]
        return fresh(y.transpose(order).reshape((n, c // r ** d) + tuple(m * r for m in size)),
                     x)

    def backward(self, dy):
        if self._x_shape is None:
            raise RuntimeError("PixelShuffle.backward called before forward")
        r, d = self.upscale_factor, dy.ndim - 2
        n, c, *size = self._x_shape
        split = (n, dy.shape[1]) + tuple(v for m in size for v in (m, r))
        order = [0, 1] + [3 + 2 * a for a in range(d)] + [2 + 2 * a for a in range(d)]
        return fresh(dy.reshape(split).transpose(order).reshape(self._x_shape), dy)

    def extra_repr(self):
        return f"upscale_factor={self.upscale_factor}"


class ResizeConv(Module):
    """Resize-convolution: nearest (or linear) upsampling, then a convolution.

    The alternative to a strided transposed convolution that cannot produce
    checkerboard artifacts (Odena, Dumoulin & Olah 2016).

    Parameters
    ----------
    in_channels, out_channels : int
    scale_factor : int or float
    kernel_size : int or tuple of int
    mode : str
        :class:`Upsample` mode.
    padding : default ``"same"``; other keywords go to :class:`Conv`.

    Examples
    --------
    >>> import numpy as np
    >>> up = ResizeConv(4, 2, scale_factor=2, rng=0)
    >>> up.forward(np.ones((1, 4, 3, 3), np.float32)).shape
    (1, 2, 6, 6)
    """

    def __init__(self, in_channels, out_channels, scale_factor=2, kernel_size=3, *,
                 mode="nearest", padding="same", **conv_kwargs):
        super().__init__()
        self.upsample = Upsample(scale_factor, mode=mode)
        self.conv = Conv(in_channels, out_channels, kernel_size, padding=padding, **conv_kwargs)

    def forward(self, x):
        return self.conv.forward(self.upsample.forward(x))

    def backward(self, dy):
        return self.upsample.backward(self.conv.backward(dy))


class Crop(Module):
    """Crop the spatial axes of ``x`` to the size of a reference, as FCN aligns a skip.

    Parameters
    ----------
    offset : int, tuple of int, or "center"
        Start of the crop per spatial axis (Caffe's ``crop_param.offset``).

    Notes
    -----
    ``forward(x, reference)``: ``reference`` is an array ``(N, C, *size)`` or the
    spatial ``size`` itself. ``backward(dy)`` returns ``dx`` (zero outside the crop);
    the reference gets no gradient.

    Examples
    --------
    >>> import numpy as np
    >>> Crop(1).forward(np.arange(5.0).reshape(1, 1, 5), (3,))
    array([[[1., 2., 3.]]])
    """

    def __init__(self, offset=0):
        super().__init__()
        if isinstance(offset, str):
            if offset != "center":
                raise ValueError(f"offset must be an int, ints or 'center', got {offset!r}")
        elif isinstance(offset, (numbers.Number, np.generic)):
            offset = check_int(offset, "offset", minimum=0)
        else:
            per_axis(offset, _axes(offset, "offset"), "offset")
        self.offset = offset
        self._x_shape = self._window = None

    def _starts(self, size, want):
        if isinstance(self.offset, str):
            return tuple((n - m) // 2 for n, m in zip(size, want))
        if not is_int(self.offset) and len(self.offset) != len(size):
            raise ValueError(f"offset needs {len(size)} entries, got {self.offset!r}")
        return per_axis(self.offset, len(size), "offset")

    def forward(self, x, reference):
        size = x.shape[2:]
        if isinstance(reference, np.ndarray):
            want = tuple(reference.shape[2:])
        else:
            axes = len(size) if is_int(reference) else _axes(reference, "reference")
            want = per_axis(reference, axes, "reference")
        if len(want) != len(size):
            raise ValueError(f"reference size {want} and x {x.shape} differ in spatial axes")
        starts = self._starts(size, want)
        if any(o < 0 or o + m > n for o, m, n in zip(starts, want, size)):
            raise ValueError(f"cannot crop size {want} at offset {starts} from x of spatial "
                             f"size {size}")
        self._x_shape = x.shape
        self._window = (slice(None),) * 2 + tuple(slice(o, o + m) for o, m in zip(starts, want))
        return x[self._window].copy()

    def backward(self, dy):
        if self._x_shape is None:
            raise RuntimeError("Crop.backward called before forward")
        dx = np.zeros(self._x_shape, dy.dtype)
        dx[self._window] = dy
        return dx

    def extra_repr(self):
        return f"offset={self.offset!r}"
