"""What every framework's transposed convolution reduces to: a window of the full scatter.

Per spatial axis, with input size ``m``, kernel ``k``, stride ``s`` and dilation ``d``, the
uncropped transposed convolution is the scatter ``full[i*s + j*d] += x[i] * w[j]`` of length
``L = (m-1)s + d(k-1) + 1``. Every framework's output is a window ``full[lo : L - hi]`` of
that scatter extended by zeros on both sides: ``lo`` and ``hi`` are crops, and a negative
crop extends the output with zeros. A :class:`~deconvkit.ConvSpec` with padding
``(p_lo, p_hi)`` and output padding ``r`` is the window ``(p_lo, p_hi - r)``; frameworks
reach windows a ``ConvSpec`` cannot (JAX's explicit padding, ONNX's ``output_shape``), so
:func:`run_transpose` runs the core on the part of the window inside the scatter and pads
the rest with zeros, which is exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import math

from .. import _checks, geometry
from .._checks import MAX_INT, check_allocation, check_int, describe, is_int
from ..functional import conv_transpose, owned
from ..functional.direct import insert_zeros
from ..geometry import ConvSpec

__all__ = ["TransposeWindow", "run_transpose", "apply_fixup", "block_diagonal_weight",
           "dilated_weight"]


def seq_len(value):
    """``len(value)`` of a sequence of values (a tuple, a list, an array of at least one
    axis), ``None`` for anything else: a str or bytes, an int, a 0-d array, a scalar."""
    if isinstance(value, (str, bytes)) or is_int(value):
        return None
    if isinstance(value, np.ndarray):
        return len(value) if value.ndim else None
    if not hasattr(value, "__iter__"):
        return None
    try:
        return len(value)
    except TypeError:
        return None


def _not_zero_d(value, expected, name):
    if isinstance(value, np.ndarray) and value.ndim == 0:
        raise TypeError(f"{name} must be {expected}, got {describe(value)} (a 0-d array)")


def per_axis(value, ndim: int, name: str, minimum: int = 0, maximum: int = MAX_INT):
    """:func:`deconvkit._checks.per_axis`, a 0-d array refused in the library's words."""
    _not_zero_d(value, f"an int or a sequence of {ndim} ints", name)
    return _checks.per_axis(value, ndim, name, minimum, maximum)


def padding_pairs(value, ndim: int):
    """:func:`deconvkit.geometry.padding_pairs`, a 0-d array refused in the library's
    words."""
    _not_zero_d(value, f"an int, {ndim} ints or {ndim} (lo, hi) pairs", "padding")
    return geometry.padding_pairs(value, ndim)


def check_bytes(shape, itemsize, what: str) -> None:
    """``ValueError`` before allocating an array of ``shape`` that does not fit in the
    memory available (which counts the address-space limit, ``RLIMIT_AS``)."""
    check_allocation(math.prod(shape) * itemsize, f"{what} {tuple(shape)}")


def check_shape(shape, itemsize, what: str) -> None:
    """``ValueError`` for a shape NumPy cannot hold even when it is empty: the product of
    its non-zero sizes times ``itemsize`` beyond ``intp``."""
    if math.prod(max(v, 1) for v in shape) * itemsize > np.iinfo(np.intp).max:
        raise ValueError(f"{what} {tuple(shape)} is too large for an array (its non-zero "
                         f"sizes multiply beyond {np.iinfo(np.intp).max} bytes), even empty")


def spatial_sizes(value, ndim=None, name: str = "input_size") -> tuple[int, ...]:
    """Spatial sizes, each an int in ``[1, MAX_INT]``: ``ndim`` of them, or as many as given.

    An int is one size for every axis (for one axis when ``ndim`` is not known).
    """
    if ndim is None:
        if is_int(value):
            ndim = 1
        elif seq_len(value) is None:
            raise TypeError(f"{name} must be a sequence of spatial sizes (ints >= 1), "
                            f"got {describe(value)}")
        else:
            ndim = seq_len(value)
        if ndim < 1:
            raise ValueError(f"{name} must have at least one spatial axis, got {describe(value)}")
    return per_axis(value, ndim, name, 1)


def crop_pairs(crop, ndim: int, name: str = "crop") -> tuple[tuple[int, int], ...]:
    """``ndim`` pairs ``(lo, hi)`` of ints of either sign, bounded by ``MAX_INT``."""
    expected = f"{ndim} (lo, hi) pairs of ints (one per spatial axis)"
    if seq_len(crop) is None:
        raise TypeError(f"{name} must be {expected}, got {describe(crop)}")
    items = tuple(crop)
    if len(items) != ndim:
        raise ValueError(f"{name} must be {expected}, got {describe(crop)}")
    for pair in items:
        if seq_len(pair) is None:
            raise TypeError(f"{name} must be {expected}, got {describe(pair)} in "
                            f"{describe(crop)}")
    return tuple(per_axis(pair, 2, name, -MAX_INT) for pair in items)


def checked_call_args(window, input_size):
    """A ``*_call``'s arguments: a :class:`TransposeWindow` (or a ``ConvSpec``) and sizes.

    ``ValueError`` when the window has no output for ``input_size`` (as
    ``conv_transpose`` with the spec would raise): there is no call to reproduce.
    """
    if isinstance(window, ConvSpec):
        window = TransposeWindow.from_spec(window)
    elif not isinstance(window, TransposeWindow):
        raise TypeError(f"spec must be a ConvSpec or a TransposeWindow, got {describe(window)}")
    input_size = spatial_sizes(input_size, window.ndim)
    window.output_size(input_size)
    return window, input_size


@dataclass(frozen=True)
class TransposeWindow:
    """A transposed convolution as a window of its full scatter, per spatial axis.

    Parameters
    ----------
    kernel_size, stride, dilation : tuple of int
    crop : tuple of (lo, hi) pairs
        The output is ``full[lo : L - hi]`` of the zero-extended full scatter; a negative
        crop adds zeros (ONNX's oversized ``output_shape``, JAX's large explicit padding).
    groups : int

    Examples
    --------
    >>> win = TransposeWindow.from_spec(ConvSpec(3, stride=2, padding=1, output_padding=1))
    >>> win.crop, win.output_size((4,))
    (((1, 0),), (8,))
    >>> spec, extra = TransposeWindow((3,), (2,), (1,), ((0, -2),)).to_spec((4,))
    >>> spec.output_padding, extra
    ((1,), ((0, 1),))
    """

    kernel_size: tuple
    stride: tuple
    dilation: tuple
    crop: tuple
    groups: int = 1

    def __post_init__(self):
        k = (self.kernel_size,) if is_int(self.kernel_size) else self.kernel_size
        if not seq_len(k):
            raise TypeError(f"kernel_size must be an int or a tuple of ints, got {describe(k)}")
        ndim = len(k)
        fields = {"kernel_size": per_axis(k, ndim, "kernel_size", 1),
                  "stride": per_axis(self.stride, ndim, "stride", 1),
                  "dilation": per_axis(self.dilation, ndim, "dilation", 1),
                  "crop": crop_pairs(self.crop, ndim),
                  "groups": check_int(self.groups, "groups")}
        for name, value in fields.items():
            object.__setattr__(self, name, value)

    @classmethod
    def from_spec(cls, spec: ConvSpec) -> "TransposeWindow":
        """The window of ``conv_transpose`` with ``spec``: crops ``(p_lo, p_hi - r)``."""
        if not isinstance(spec, ConvSpec):
            raise TypeError(f"spec must be a ConvSpec, got {describe(spec)}")
        crop = tuple((lo, hi - r) for (lo, hi), r in zip(spec.padding, spec.output_padding))
        return cls(spec.kernel_size, spec.stride, spec.dilation, crop, spec.groups)

    @property
    def ndim(self) -> int:
        return len(self.kernel_size)

    def _uncropped(self) -> ConvSpec:
        # the sizes before cropping are ConvSpec's, which owns every size formula
        return ConvSpec(self.kernel_size, self.stride, 0, self.dilation, self.groups)

    @property
    def kernel_extent(self) -> tuple[int, ...]:
        return self._uncropped().kernel_extent

    def full_size(self, input_size) -> tuple[int, ...]:
        """``L = (m-1)s + d(k-1) + 1`` per axis."""
        return self._uncropped().full_size(input_size)

    def sizes(self, input_size) -> tuple[int, ...]:
        """``L - lo - hi`` per axis, unchecked (zero or negative when the crops meet)."""
        return tuple(L - lo - hi for L, (lo, hi) in zip(self.full_size(input_size), self.crop))

    def output_size(self, input_size) -> tuple[int, ...]:
        """``L - lo - hi`` per axis; ``ValueError`` when an axis has no output."""
        out = self.sizes(input_size)
        if any(n < 1 for n in out):
            raise ValueError(f"the transposed convolution of input {tuple(input_size)} has "
                             f"output size {out}: crops {self.crop} remove everything")
        return out

    def to_spec(self, input_size):
        """The core :class:`ConvSpec` and the zero padding that complete the window.

        Returns
        -------
        spec : ConvSpec or None
            ``None`` when the window lies outside the scatter on some axis (all zeros).
        extra : tuple of (before, after)
            Zeros to add around ``conv_transpose(x, w, spec)``; all zero when the
            window is exactly a ``ConvSpec``.
        """
        plans = [_axis_plan(L, lo, hi, s, d) for L, (lo, hi), s, d in
                 zip(self.full_size(input_size), self.crop, self.stride, self.dilation)]
        self.output_size(input_size)
        if any(p is None for p in plans):
            return None, tuple((n, 0) for n in self.output_size(input_size))
        spec = ConvSpec(self.kernel_size, self.stride, tuple(p[0] for p in plans),
                        self.dilation, self.groups, tuple(p[1] for p in plans))
        return spec, tuple(p[2] for p in plans)


def _axis_plan(L, lo, hi, s, d):
    """(padding pair, output_padding, extra zeros) for one axis, or None if outside."""
    n = L - lo - hi
    a, b = min(max(lo, 0), L), max(min(L - hi, L), 0)  # the window's part inside [0, L)
    if b <= a:
        return None
    r = min(-hi, max(s, d) - 1) if hi < 0 else 0
    before = a - lo
    return (a, L - b), r, (before, n - before - (b - a) - r)


def run_transpose(x, w, b, window: TransposeWindow, *, method="auto", allow_empty=False):
    """Compute a window with the core ``conv_transpose``, zeros around it, then the bias.

    Parameters
    ----------
    x : (N, C_in, *m) ndarray
    w : (C_in, C_out/groups, *k) ndarray
    b : (C_out,) ndarray or None
        Added everywhere, including the zero extension (as every framework does).
    window : TransposeWindow
    allow_empty : bool
        Return an empty array when an axis has output size 0, as JAX (and Keras on it)
        do, instead of raising.
    """
    spatial = x.shape[2:]
    sizes = window.sizes(spatial)
    dtype = np.result_type(x, w)
    if allow_empty and min(sizes) == 0:
        shape = (x.shape[0], w.shape[1] * window.groups) + sizes
        check_shape(shape, dtype.itemsize, "the output")
        return np.zeros(shape, dtype)
    out = window.output_size(spatial)
    c_out = w.shape[1] * window.groups
    check_shape((x.shape[0], c_out) + out, dtype.itemsize, "the output")
    check_bytes((x.shape[0], c_out) + out, dtype.itemsize, "the output")
    spec, extra = window.to_spec(spatial)
    if spec is None:
        y = np.zeros((x.shape[0], c_out) + out, dtype)
    else:
        y = conv_transpose(x, w, spec=spec, method=method)
        if any(a or b_ for a, b_ in extra):
            y = np.pad(y, ((0, 0), (0, 0)) + tuple(extra))
    if b is not None:
        y = y + np.asarray(b, y.dtype).reshape((1, -1) + (1,) * len(out))
    return y


def apply_fixup(y, fixup, *, spatial_axes=None):
    """Apply per-axis crops ``(lo, hi)`` to ``y``; a negative crop pads zeros.

    ``spatial_axes`` defaults to ``2 .. y.ndim - 1`` (channels-first).

    >>> apply_fixup(np.arange(5.0).reshape(1, 1, 5), ((1, -2),))
    array([[[1., 2., 3., 4., 0., 0.]]])
    """
    y = array(y, "y")
    if spatial_axes is None:
        axes = tuple(range(2, y.ndim))
    else:
        if seq_len(spatial_axes) is None:
            raise TypeError(f"spatial_axes must be a sequence of ints, got "
                            f"{describe(spatial_axes)}")
        axes = tuple(spatial_axes)
        axes = per_axis(axes, len(axes), "spatial_axes", -y.ndim, y.ndim - 1)
        axes = tuple(a % y.ndim for a in axes) if y.ndim else axes
    fixup = crop_pairs(fixup, len(axes), "fixup")
    index, pads = [slice(None)] * y.ndim, [(0, 0)] * y.ndim
    for axis, (lo, hi) in zip(axes, fixup):
        size = y.shape[axis]
        n = size - lo - hi
        a, b = min(max(lo, 0), size), max(min(size - hi, size), 0)
        if n < 0:
            raise ValueError(f"crops {(lo, hi)} exceed the size {size} of axis {axis}")
        if b <= a:  # the window misses the data: zeros only
            a = b = 0
        index[axis] = slice(a, b)
        before = min(a - lo, n) if b > a else n
        pads[axis] = (before, n - before - (b - a))
    shape = list(y.shape)
    for axis, (lo, hi) in zip(axes, fixup):
        shape[axis] -= lo + hi
    check_bytes(shape, y.dtype.itemsize, "the fixed-up array")
    return np.pad(y[tuple(index)], pads)


def block_diagonal_weight(w, groups: int):
    """A grouped transposed-conv weight as the equivalent dense one (zeros off the blocks).

    ``w`` of shape ``(C_in, C_out/groups, *k)`` becomes ``(C_in, C_out, *k)``: the way to
    express groups in a framework whose transposed convolution has none (TensorFlow,
    Keras, ``jax.lax.conv_transpose``).

    >>> block_diagonal_weight(np.ones((4, 1, 1)), 2)[:, :, 0]
    array([[1., 0.],
           [1., 0.],
           [0., 1.],
           [0., 1.]])
    """
    w = array(w, "w")
    groups = check_int(groups, "groups")
    if w.ndim < 2:
        raise ValueError(f"w must be (C_in, C_out/groups, *k), got shape {w.shape}")
    c_in, per = w.shape[0], w.shape[1]
    if c_in % groups:
        raise ValueError(f"groups must divide C_in={c_in}, got groups={groups}")
    check_bytes((c_in, per * groups) + w.shape[2:], w.dtype.itemsize,
                "the block-diagonal weight")
    dense = np.zeros((c_in, per * groups) + w.shape[2:], w.dtype)
    size = c_in // groups
    for g in range(groups):
        dense[g * size:(g + 1) * size, g * per:(g + 1) * per] = w[g * size:(g + 1) * size]
    return dense


def dilated_weight(w, dilation):
    """The kernel with ``d - 1`` zeros between taps: dilation for frameworks that lack it.

    >>> dilated_weight(np.array([[[1.0, 2.0, 3.0]]]), (2,))
    array([[[1., 0., 2., 0., 3.]]])
    """
    w = array(w, "w")
    if w.ndim < 3:
        raise ValueError(f"w must be (C_in, C_out, *k) with at least one spatial axis, "
                         f"got shape {w.shape}")
    d = per_axis(dilation, w.ndim - 2, "dilation", 1)
    if 0 in w.shape[2:]:  # an empty kernel stays empty
        return np.zeros(w.shape, w.dtype)
    check_bytes(w.shape[:2] + tuple((n - 1) * di + 1 for n, di in zip(w.shape[2:], d)),
                w.dtype.itemsize, "the dilated weight")
    return owned(insert_zeros(w, d), w)


def channels_first(x, channels_last: bool):
    """``(N, *spatial, C)`` to ``(N, C, *spatial)`` when ``channels_last``."""
    return np.moveaxis(x, -1, 1) if channels_last else x


def channels_back(y, channels_last: bool):
    """``(N, C, *spatial)`` back to ``(N, *spatial, C)`` when ``channels_last``."""
    return np.moveaxis(y, 1, -1) if channels_last else y


def layout_name(ndim: int, *, channels_last: bool) -> str:
    """``"NCHW"``-style name of a data layout (``"NWC"``, ``"NDHWC"``, ...)."""
    if ndim > 3:
        return "(N, *spatial, C)" if channels_last else "(N, C, *spatial)"
    spatial = "DHW"[3 - ndim:]
    return f"N{spatial}C" if channels_last else f"NC{spatial}"


def array(a, name: str):
    """``np.asarray(a)``, with a ragged or otherwise unreadable ``a`` a ``TypeError``
    naming ``name``."""
    try:
        return np.asarray(a)
    except (ValueError, TypeError) as exc:
        raise TypeError(f"{name} must be an array of numbers, got {describe(a)} "
                        f"({exc})") from None


def as_array(a, name: str):
    """A float32/float64 ndarray (ints become float64), else ``TypeError``."""
    arr = array(a, name)
    if arr.dtype.kind in "iub":
        arr = arr.astype(np.float64)
    if arr.dtype not in (np.float32, np.float64):
        raise TypeError(f"{name} must be a float32 or float64 array, got dtype {arr.dtype}")
    return arr
