"""The matrices of one convolution geometry: C and Cᵀ as names or numbers, and the
input of the fractionally strided view, for the explanations.

Every entry comes from :mod:`deconvkit.functional.matrix` (its ``matrix_entries`` and the
sparse builder ``build``), the zero insertion and pad-or-crop from the library's own (those
of the direct algorithm), every size from :class:`~deconvkit.geometry.ConvSpec`.
"""

from __future__ import annotations

import math

import numpy as np

from ..functional._layout import insert_zeros
from ..functional.direct import pad_or_crop
from ..functional.matrix import build, matrix_entries
from ..geometry import ConvSpec
from .render import size_str, symbolic_array

__all__ = ["make_spec", "symbolic_matrix", "numeric_matrix", "fractional_input",
           "MAX_POSITIONS", "MAX_MATRIX_ENTRIES", "MAX_NDIM"]

MAX_POSITIONS = 1_000_000
"""Largest array an explanation builds, in positions: x, y, z, the kernel, the dilated
kernel and the two arrays of the fractionally strided view."""
MAX_MATRIX_ENTRIES = 1_000_000
"""Largest dense matrix built: printed with ``full=True``, or returned by
:func:`symbolic_matrix` and :func:`numeric_matrix` (rows times columns)."""
MAX_NDIM = 16
"""Most spatial axes explained (the index arrays of C have two NumPy axes per axis)."""


def make_spec(input_size, kernel_size=3, *, stride=1, padding=0, dilation=1,
              output_padding=None) -> ConvSpec:
    """The single-channel :class:`ConvSpec` of the explain view.

    Parameters
    ----------
    input_size : tuple of int
        Spatial size ``n`` of the convolution's input; its length (1 to
        :data:`MAX_NDIM`) sets the rank.
    kernel_size, stride, dilation : int or tuple of int
    padding : int, tuple of int, tuple of (lo, hi) pairs, "valid" or "same"
    output_padding : int or tuple of int, optional
        Default: the value that makes the transposed output size equal ``input_size``.

    Returns
    -------
    spec : ConvSpec
        Raises ``ValueError`` or ``TypeError`` for arguments with no valid geometry,
        or whose input or conv output has more than :data:`MAX_POSITIONS` positions.

    Examples
    --------
    >>> make_spec((4, 4), 3, stride=2, padding=1).output_padding
    (1, 1)
    """
    input_size = tuple(input_size)
    ndim = len(input_size)
    if ndim > MAX_NDIM:
        raise ValueError(f"input_size must have at most {MAX_NDIM} axes, got {ndim}")
    if not isinstance(kernel_size, int) and len(tuple(kernel_size)) != ndim:
        raise ValueError(f"kernel {size_str(kernel_size)} has {len(tuple(kernel_size))} axes "
                         f"but input {size_str(input_size)} has {ndim}")
    spec = ConvSpec.create(ndim, kernel_size, stride=stride, padding=padding,
                           dilation=dilation, output_padding=output_padding or 0,
                           input_size=input_size)
    m = spec.conv_output_size(input_size)
    for what, size in (("the input x", input_size), ("the conv output y", m)):
        _check_count(input_size, spec, f"{what} ({size_str(size)})", math.prod(size),
                     "positions", MAX_POSITIONS, "MAX_POSITIONS")
    if output_padding is None:
        return spec.with_output_size(m, input_size)
    spec.transpose_output_size(m)  # raises when the padding leaves no output
    return spec


def _single_channel(spec):
    if spec.groups != 1:
        raise ValueError(f"the explain view is single-channel with groups=1, got {spec.groups}")


def _entries(spec, in_size, out_size):
    _single_channel(spec)
    in_size = tuple(in_size)
    out_size = tuple(out_size) if out_size is not None else spec.conv_output_size(in_size)
    rows, cols, _, _, taps = matrix_entries(spec, 1, in_size, 1, out_size)
    return in_size, out_size, rows, cols, taps


def _check_dense(spec, in_size, out_size):
    """Refuse a dense ``prod(out_size) x prod(in_size)`` matrix beyond MAX_MATRIX_ENTRIES."""
    in_size = tuple(in_size)
    out_size = tuple(out_size) if out_size is not None else spec.conv_output_size(in_size)
    rows, cols = math.prod(out_size), math.prod(in_size)
    if rows * cols > MAX_MATRIX_ENTRIES:
        raise ValueError(
            f"in_size {size_str(in_size)} gives a dense {rows:,} x {cols:,} matrix of "
            f"{rows * cols:,} entries, more than {MAX_MATRIX_ENTRIES:,} (MAX_MATRIX_ENTRIES); "
            "give a smaller in_size")


def symbolic_matrix(spec, in_size, out_size=None, *, name="w", base=0) -> list:
    """The convolution matrix C with kernel-tap names as entries and ``"0"`` elsewhere.

    Parameters
    ----------
    spec : ConvSpec
        Single channel, ``groups == 1``.
    in_size : tuple of int
        Spatial input size of the convolution (columns of C).
    out_size : tuple of int, optional
        Rows kept; default the conv output size.
    name : str
        Kernel name; entry ``w12`` is tap ``(1, 2)``.
    base : int
        First tap index in the names (0, or 1 for mathematical notation).

    Returns
    -------
    cells : list of list of str, shape ``(prod(out_size), prod(in_size))``
        Raises ``ValueError`` above :data:`MAX_MATRIX_ENTRIES` cells.

    Examples
    --------
    >>> symbolic_matrix(ConvSpec(2), (3,))
    [['w0', 'w1', '0'], ['0', 'w0', 'w1']]
    """
    _check_dense(spec, in_size, out_size)
    in_size, out_size, rows, cols, taps = _entries(spec, in_size, out_size)
    names = symbolic_array(name, spec.kernel_size, base).ravel()
    cells = np.full((math.prod(out_size), math.prod(in_size)), "0", dtype=object)
    cells[rows, cols] = names[taps]
    return cells.tolist()


def _sparse(spec, w, in_size, out_size=None):
    """C as built by the library (:func:`deconvkit.functional.matrix.build`)."""
    _single_channel(spec)
    w = np.asarray(w, dtype=np.float64).reshape((1, 1) + spec.kernel_size)
    return build(w, 1, tuple(in_size), spec, out_size)


def numeric_matrix(spec, in_size, w, out_size=None) -> np.ndarray:
    """The convolution matrix C for kernel values ``w`` (shape ``spec.kernel_size``).

    Same layout as :func:`symbolic_matrix` (and the same limit); for ``out_size=None``
    it equals ``deconvkit.conv_matrix(w[None, None], (1, *in_size), ...)`` as a dense
    array.

    >>> numeric_matrix(ConvSpec(2), (3,), [1.0, 2.0])
    array([[1., 2., 0.],
           [0., 1., 2.]])
    """
    _check_dense(spec, in_size, out_size)
    return _sparse(spec, w, in_size, out_size).toarray()


def _view_positions(spec, shape):
    """Where each entry of a ``shape`` array ``y`` lands in the fractionally strided view.

    The library's own zero insertion and pad-or-crop (those of the direct
    algorithm's transposed convolution) applied to the 1-based flat positions of
    ``y``: ``(inserted, padded)`` int arrays in which 0 marks an inserted or padded
    zero. Arrays of names and of numbers go through them alike.
    """
    inserted = insert_zeros(_positions(shape), spec.stride)
    padded = pad_or_crop(inserted, spec.transposed_padding())
    return inserted[0, 0], padded[0, 0]


def _positions(shape):
    """The 1-based flat positions of a ``shape`` array, as one sample of one channel."""
    return np.arange(1, math.prod(shape) + 1).reshape((1, 1) + tuple(shape))


def _place(values, positions, fill):
    """``values.ravel()[p - 1]`` where a position ``p`` is > 0 and ``fill`` where it is 0."""
    values = np.asarray(values)
    out = np.full(positions.shape, fill, dtype=values.dtype)
    hit = positions > 0
    out[hit] = values.ravel()[positions[hit] - 1]
    return out


def _view_sizes(spec, m, t):
    """Shapes of the zero-inserted ``y`` (the full scatter less ``d(k-1)``) and of it
    padded (``t`` stride-1 positions of the dilated kernel)."""
    e = spec.kernel_extent
    return (tuple(f - k + 1 for f, k in zip(spec.full_size(m), e)),
            tuple(n + k - 1 for n, k in zip(t, e)))


def fractional_input(spec, y):
    """The zero-inserted and padded (or cropped) ``y`` of the "fractionally strided" view.

    Parameters
    ----------
    spec : ConvSpec
    y : ndarray of numbers or of names (object), spatial shape only

    Returns
    -------
    inserted, padded : ndarray
        ``y`` with ``s - 1`` zeros (``"0"`` for names) between neighbours, and that
        array padded by ``spec.transposed_padding()`` (negative values crop).
        Correlating ``padded`` at stride 1 with the flipped, dilated kernel gives the
        transposed convolution of ``y``. Raises ``ValueError`` when either has more
        than :data:`MAX_POSITIONS` positions.

    Examples
    --------
    >>> inserted, padded = fractional_input(ConvSpec(2, stride=2), np.array([1, 2]))
    >>> inserted.tolist(), padded.tolist()
    ([1, 0, 2], [0, 1, 0, 2, 0])
    """
    y = np.asarray(y)
    if y.ndim != spec.ndim:
        raise ValueError(f"y must have {spec.ndim} spatial axes for {spec.describe()}, "
                         f"got shape {y.shape}")
    inserted, padded = _view_sizes(spec, y.shape, spec.transpose_output_size(y.shape))
    for what, shape in (("the zero-inserted y", inserted), ("the padded y", padded)):
        if math.prod(shape) > MAX_POSITIONS:
            raise ValueError(f"y of shape {y.shape} with stride {spec.stride}: {what} would "
                             f"have {math.prod(shape):,} positions, more than "
                             f"{MAX_POSITIONS:,} (MAX_POSITIONS)")
    fill = "0" if y.dtype == object else 0
    return tuple(_place(y, p, fill) for p in _view_positions(spec, y.shape))


def _check_count(n, spec, what, count, unit, limit, name):
    if count > limit:
        raise ValueError(
            f"input_size {size_str(n)} with {spec.describe()} is too large to explain: "
            f"{what} would have {count:,} {unit}, more than {limit:,} ({name}); give a "
            "smaller input_size (--input), kernel_size, stride, padding or dilation")


# ---------------------------------------------------------------------- sections
