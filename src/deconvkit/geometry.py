"""Convolution geometry: one frozen :class:`ConvSpec` and all size arithmetic.

A ``ConvSpec`` always describes a *forward* convolution C. The transposed
convolution ("deconvolution layer") with the same spec is exactly Cᵀ. Per axis,
with kernel ``k``, stride ``s``, padding ``(p_lo, p_hi)``, dilation ``d`` and
output padding ``r``::

    conv output          m = floor((n + p_lo + p_hi - d(k-1) - 1) / s) + 1
    "full" scatter       L = (m - 1) s + d(k-1) + 1
    transposed output    n = L - p_lo - p_hi + r,   0 <= r < max(s, d)

Every size in the package is computed here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._checks import MAX_INT, MAX_NDIM, check_int, describe, is_int, per_axis

__all__ = ["ConvSpec", "same_padding", "padding_pairs", "MAX_INT"]


def padding_pairs(value, ndim: int) -> tuple[tuple[int, int], ...]:
    """Canonicalize int / per-axis ints / per-axis ``(lo, hi)`` pairs, each in ``[0, MAX_INT]``.

    In 1-D a pair of ints ``(lo, hi)`` is read as the two sides of the one axis.

    >>> padding_pairs(1, 2)
    ((1, 1), (1, 1))
    >>> padding_pairs((0, 2), 1)
    ((0, 2),)
    >>> padding_pairs(((0, 1), 2), 2)
    ((0, 1), (2, 2))
    """
    expected = f"an int, 'valid', 'same', {ndim} ints or {ndim} (lo, hi) pairs"
    if is_int(value):
        v = per_axis(value, 1, "padding", 0)[0]
        return ((v, v),) * ndim
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise TypeError(f"padding must be {expected}, got {describe(value)}")
    items = tuple(value)
    if ndim == 1 and len(items) == 2 and all(is_int(v) for v in items):
        return (per_axis(items, 2, "padding", 0),)  # 1-D: (lo, hi)
    if len(items) != ndim:
        raise ValueError(f"padding must be {expected}: one entry per spatial axis ({ndim}), "
                         f"got {len(items)}: {describe(value)}")
    pairs = []
    for item in items:
        if is_int(item):
            v = per_axis(item, 1, "padding", 0)[0]
            pairs.append((v, v))
        elif isinstance(item, (tuple, list)) and len(item) == 2:
            pairs.append(per_axis(item, 2, "padding", 0))
        else:
            raise ValueError(f"each padding entry must be an int or a (lo, hi) pair of ints, "
                            f"got {describe(item)} in {describe(value)}")
    return tuple(pairs)


def _sizes(value, ndim: int, name: str) -> tuple[int, ...]:
    """Spatial sizes: ``ndim`` ints >= 1 (an int is broadcast)."""
    return per_axis(value, ndim, name, 1)


def same_padding(n: int, k: int, s: int, d: int) -> tuple[int, int]:
    """SAME_UPPER padding of one axis for a forward convolution of input size ``n``.

    The conv output is ``ceil(n / s)``; the odd pixel of padding goes at the end,
    as in TensorFlow's ``"SAME"`` and ONNX's ``SAME_UPPER``.

    >>> same_padding(5, 3, 2, 1)
    (1, 1)
    >>> same_padding(4, 4, 2, 1)
    (1, 1)
    >>> same_padding(4, 2, 1, 1)
    (0, 1)
    """
    m = -(-n // s)
    total = max((m - 1) * s + d * (k - 1) + 1 - n, 0)
    return total // 2, total - total // 2


@dataclass(frozen=True)
class ConvSpec:
    """Geometry of a forward N-d convolution; its transpose shares it.

    Parameters
    ----------
    kernel_size : tuple of int
        Kernel size per spatial axis; its length sets the number of spatial axes.
        An int means a 1-D convolution.
    stride, dilation : int or tuple of int
        Per axis, >= 1.
    padding : int, tuple of int, or tuple of (lo, hi)
        Zero padding of the forward convolution's input, per axis, >= 0. In 1-D a
        pair of ints ``(lo, hi)`` is read as the two sides of the one axis.
        Use :meth:`create` for ``"same"`` and ``"valid"``.
    groups : int
        Number of channel groups, >= 1.
    output_padding : int or tuple of int
        Only for the transposed convolution: extra output size ``r`` per axis,
        ``0 <= r < max(stride, dilation)``. It selects which of the input sizes
        that give the same conv output the transposed output takes.

    Examples
    --------
    >>> spec = ConvSpec((3, 3), stride=2, padding=1)
    >>> spec.conv_output_size((5, 5))
    (3, 3)
    >>> spec.transpose_output_size((3, 3))
    (5, 5)
    >>> spec.transpose_output_range((3, 3))
    ((5, 5), (6, 6))
    """

    kernel_size: tuple
    stride: tuple = 1
    padding: tuple = 0
    dilation: tuple = 1
    groups: int = 1
    output_padding: tuple = 0

    def __post_init__(self):
        k = self.kernel_size
        k = (k,) if is_int(k) else k
        if isinstance(k, (str, bytes)) or not hasattr(k, "__len__"):
            raise TypeError(f"kernel_size must be an int or a tuple of ints, got {describe(k)}")
        ndim = len(k)
        if not 1 <= ndim <= MAX_NDIM:
            raise ValueError(f"kernel_size must have 1 to {MAX_NDIM} spatial axes, got {ndim}")
        fields = {
            "kernel_size": per_axis(k, ndim, "kernel_size", 1),
            "stride": per_axis(self.stride, ndim, "stride", 1),
            "padding": padding_pairs(self.padding, ndim),
            "dilation": per_axis(self.dilation, ndim, "dilation", 1),
            "groups": check_int(self.groups, "groups"),
            "output_padding": per_axis(self.output_padding, ndim, "output_padding", 0),
        }
        for name, value in fields.items():
            object.__setattr__(self, name, value)
        self._validate()

    def _validate(self):
        for r, s, d in zip(self.output_padding, self.stride, self.dilation):
            if not 0 <= r < max(s, d):
                raise ValueError(
                    f"output_padding must satisfy 0 <= output_padding < max(stride, dilation) "
                    f"on every axis; got output_padding={self.output_padding}, "
                    f"stride={self.stride}, dilation={self.dilation}"
                )

    # ------------------------------------------------------------------ factories
    @classmethod
    def create(cls, ndim, kernel_size, *, stride=1, padding=0, dilation=1, groups=1,
               output_padding=0, input_size=None, transposed=False, output_size=None):
        """Canonicalize user arguments, including ``"same"``, ``"valid"`` and ``output_size``.

        Parameters
        ----------
        ndim : int
            Number of spatial axes.
        kernel_size, stride, padding, dilation, groups, output_padding
            As for :class:`ConvSpec`; ``padding`` may also be ``"valid"`` or ``"same"``.
        input_size : tuple of int, optional
            Spatial input size of the operation being set up (of the convolution if
            ``transposed`` is false, of the transposed convolution otherwise). Needed
            for ``"same"`` and ``output_size``.
        transposed : bool
            Whether the spec is for a transposed convolution.
        output_size : int or tuple of int, optional
            Transposed only: the requested output size; turned into ``output_padding``.

        Notes
        -----
        ``"same"`` is SAME_UPPER. For a convolution it gives output ``ceil(n / s)``;
        for a transposed convolution of input size ``m`` the padding is that of the
        forward convolution whose input has size ``output_size`` (default ``m * s``).
        """
        ndim = check_int(ndim, "ndim", 1, MAX_NDIM)
        output_padding = per_axis(output_padding, ndim, "output_padding", 0)
        kernel_size = per_axis(kernel_size, ndim, "kernel_size", 1)
        stride = per_axis(stride, ndim, "stride", 1)
        dilation = per_axis(dilation, ndim, "dilation", 1)
        if input_size is not None:
            input_size = _sizes(input_size, ndim, "input_size")
        if output_size is not None and not transposed:
            raise ValueError("output_size applies to the transposed convolution only")
        if output_size is not None and any(output_padding):
            raise ValueError("give output_padding or output_size, not both")
        if output_size is not None:
            output_size = _sizes(output_size, ndim, "output_size")
        elif transposed and isinstance(padding, str) and padding.lower() == "same":
            if any(output_padding):
                raise ValueError("padding='same' sets the transposed output size to "
                                 "input * stride; pass output_size instead of output_padding")
            if input_size is None:
                raise ValueError("padding='same' needs the input size to resolve")
            output_size = tuple(m * s for m, s in zip(input_size, stride))
        pad = _resolve_padding_string(padding, ndim, kernel_size, stride, dilation,
                                      input_size, transposed, output_size)
        spec = cls(kernel_size, stride, pad, dilation, groups, output_padding)
        if output_size is not None:
            spec = spec.with_output_size(input_size, output_size)
        return spec

    def with_output_size(self, input_size, output_size) -> "ConvSpec":
        """The spec whose transposed output for ``input_size`` is ``output_size``.

        Raises ``ValueError`` naming the valid sizes when the request is outside
        ``transpose_output_range(input_size)``.
        """
        input_size = _sizes(input_size, self.ndim, "input_size")
        output_size = _sizes(output_size, self.ndim, "output_size")
        lo, hi = self.transpose_output_range(input_size)
        base = self._transpose_sizes(input_size, (0,) * self.ndim)
        for axis, (want, a, b, m) in enumerate(zip(output_size, lo, hi, input_size)):
            if not a <= want <= b:
                raise ValueError(
                    f"requested output size {want}, valid sizes for input {m} are "
                    f"{a}..{b} (axis {axis}: kernel {self.kernel_size[axis]}, "
                    f"stride {self.stride[axis]}, padding {self.padding[axis]}, "
                    f"dilation {self.dilation[axis]})"
                )
        return self.with_output_padding(tuple(w - b for w, b in zip(output_size, base)))

    def with_output_padding(self, output_padding) -> "ConvSpec":
        """A copy with another ``output_padding``."""
        return ConvSpec(self.kernel_size, self.stride, self.padding, self.dilation,
                        self.groups, output_padding)

    # ------------------------------------------------------------------ sizes
    @property
    def ndim(self) -> int:
        """Number of spatial axes."""
        return len(self.kernel_size)

    @property
    def kernel_extent(self) -> tuple[int, ...]:
        """Dilated kernel size ``d(k-1) + 1`` per axis."""
        return tuple(d * (k - 1) + 1 for k, d in zip(self.kernel_size, self.dilation))

    def conv_output_size(self, input_size) -> tuple[int, ...]:
        """Spatial output size of the convolution for spatial ``input_size``.

        Raises ``ValueError`` when the padded input is smaller than the kernel extent.
        """
        input_size = _sizes(input_size, self.ndim, "input_size")
        out = []
        for axis, (n, (lo, hi), e, s) in enumerate(
                zip(input_size, self.padding, self.kernel_extent, self.stride)):
            if n < 1 or n + lo + hi < e:
                raise ValueError(
                    f"input size {n} with padding ({lo}, {hi}) on axis {axis} is smaller "
                    f"than the dilated kernel extent {e}: the convolution has no output"
                )
            out.append((n + lo + hi - e) // s + 1)
        return tuple(out)

    def full_size(self, input_size) -> tuple[int, ...]:
        """Length ``(m-1)s + d(k-1) + 1`` of the uncropped transposed scatter."""
        input_size = _sizes(input_size, self.ndim, "input_size")
        return tuple((m - 1) * s + e for m, s, e in
                     zip(input_size, self.stride, self.kernel_extent))

    def transpose_output_size(self, input_size) -> tuple[int, ...]:
        """Spatial output size of the transposed convolution for spatial ``input_size``."""
        input_size = _sizes(input_size, self.ndim, "input_size")
        out = self._transpose_sizes(input_size, self.output_padding)
        if any(n < 1 for n in out):
            raise ValueError(
                f"padding {self.padding} leaves no output: the transposed convolution of "
                f"input {input_size} has full size {self.full_size(input_size)} "
                f"before cropping"
            )
        return out

    def transpose_output_range(self, input_size):
        """Smallest and largest valid transposed output sizes, per axis.

        All sizes in ``[min, min + max(s, d) - 1]`` (and >= 1) are reachable by
        ``output_padding``.
        """
        input_size = _sizes(input_size, self.ndim, "input_size")
        base = self._transpose_sizes(input_size, (0,) * self.ndim)
        top = tuple(n + max(s, d) - 1 for n, s, d in zip(base, self.stride, self.dilation))
        if any(t < 1 for t in top):
            self.with_output_padding(0).transpose_output_size(input_size)  # raises
        return tuple(max(b, 1) for b in base), top

    def _transpose_sizes(self, input_size, output_padding):
        full = self.full_size(input_size)
        return tuple(f - lo - hi + r for f, (lo, hi), r in
                     zip(full, self.padding, output_padding))

    def transpose_crop(self, input_size) -> tuple[slice, ...]:
        """Where the transposed output lies in the full scatter, per axis.

        ``slice(p_lo, p_lo + out)``: the output is ``full[p_lo : p_lo + out]`` with zeros
        where the slice runs past the scatter's length (by at most ``output_padding``).

        >>> ConvSpec(3, stride=2, padding=(1, 0), output_padding=1).transpose_crop(4)
        (slice(1, 10, None),)
        >>> ConvSpec(3, stride=2, padding=(1, 0), output_padding=1).full_size(4)
        (9,)
        """
        out = self.transpose_output_size(input_size)
        return tuple(slice(lo, lo + o) for (lo, _), o in zip(self.padding, out))

    def transposed_padding(self) -> tuple[tuple[int, int], ...]:
        """Padding of the zero-inserted input in the "fractionally strided" view.

        ``(d(k-1) - p_lo, d(k-1) - p_hi + r)`` per axis; a negative value crops.
        """
        return tuple((e - 1 - lo, e - 1 - hi + r) for e, (lo, hi), r in
                     zip(self.kernel_extent, self.padding, self.output_padding))

    def describe(self) -> str:
        """One line, e.g. ``kernel (3, 3), stride (2, 2), padding ((1, 1), (1, 1))``."""
        text = (f"kernel {self.kernel_size}, stride {self.stride}, padding {self.padding}, "
                f"dilation {self.dilation}")
        if self.groups != 1:
            text += f", groups {self.groups}"
        if any(self.output_padding):
            text += f", output_padding {self.output_padding}"
        return text


def _resolve_padding_string(padding, ndim, kernel_size, stride, dilation,
                            input_size, transposed, output_size):
    if not isinstance(padding, str):
        return padding
    mode = padding.lower()
    if mode == "valid":
        return 0
    if mode != "same":
        raise ValueError(f"padding string must be 'valid' or 'same', got {padding!r}")
    if input_size is None:
        raise ValueError("padding='same' needs the input size to resolve")
    if transposed:
        # the forward convolution's input is the transposed output
        n_fwd = output_size
        for axis, (n, m, s) in enumerate(zip(n_fwd, input_size, stride)):
            if -(-n // s) != m:
                lo, hi = (m - 1) * s + 1, m * s
                raise ValueError(
                    f"requested output size {n}, valid sizes for input {m} with "
                    f"padding='same' are {lo}..{hi} (axis {axis}, stride {s})"
                )
    else:
        n_fwd = input_size
    return tuple(same_padding(n, k, s, d) for n, k, s, d in
                 zip(n_fwd, kernel_size, stride, dilation))
