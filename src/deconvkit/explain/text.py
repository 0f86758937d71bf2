"""What one convolution geometry does, as text: C, Cᵀ and the views of the transpose.

The convolution maps ``x`` (the input, size ``n``) to ``y = C x`` (size ``m``); the
transposed convolution maps ``y`` to ``z = Cᵀ y`` (size ``t``, by default ``n``).
The matrices and the fractionally strided input come from :mod:`.matrices`, whose
entries come from :mod:`deconvkit.functional.matrix` (its
``matrix_entries`` and the sparse builder ``build``), the zero insertion and the
pad-or-crop of the fractionally strided view from the library's own (those of the
direct algorithm),
every size from :class:`~deconvkit.geometry.ConvSpec`, and every explanation ends
with numerical checks against :func:`deconvkit.conv`, :func:`deconvkit.conv_transpose`
and :func:`deconvkit.conv_matrix`.

An explanation is for a small example: :func:`explain` refuses, before building
anything, a geometry whose arrays exceed :data:`MAX_POSITIONS` positions, whose
matrices hold more than :data:`MAX_PRODUCTS` kernel taps, or (with ``full=True``)
whose printed matrices exceed :data:`MAX_MATRIX_ENTRIES` entries.
"""

from __future__ import annotations

import math

import numpy as np

from ..functional import conv, conv_matrix, conv_transpose
from ..testing import rel_error
from ..functional._layout import insert_zeros
from .matrices import (MAX_MATRIX_ENTRIES, MAX_NDIM, MAX_POSITIONS, _check_count, _entries,
                       _place, _positions, _sparse, _view_positions, _view_sizes,
                       fractional_input, make_spec, numeric_matrix, symbolic_matrix)
from .render import (compact, fmt_number, grid, heading, index_name, matrix_summary,
                     matrix_text, size_str, symbolic_array, too_large, too_large_note,
                     wrap_sum)

__all__ = ["make_spec", "symbolic_matrix", "numeric_matrix", "fractional_input", "explain",
           "MAX_POSITIONS", "MAX_PRODUCTS", "MAX_MATRIX_ENTRIES", "MAX_NDIM"]

N_EQUATIONS = 4

MAX_PRODUCTS = 10_000_000
"""Largest number of kernel-tap products an explanation computes: the taps of C
(``prod(m) * prod(k)``) and the products of the stride-1 view of Cᵀ (``prod(t) * prod(k)``)."""
def _check_explainable(spec, n, m, t, full):
    """Refuse, before building anything, an explanation beyond the MAX_* limits."""
    for what, rows, cols in (("C", m, n), ("Cᵀ", t, m)) if full else ():
        count = math.prod(rows) * math.prod(cols)
        if count > MAX_MATRIX_ENTRIES:
            raise ValueError(
                f"input_size {size_str(n)} with full=True: {what} would be printed as a "
                f"{math.prod(rows):,} x {math.prod(cols):,} matrix of {count:,} entries, more "
                f"than {MAX_MATRIX_ENTRIES:,} (MAX_MATRIX_ENTRIES); drop full (--full) to "
                "summarize it, or give a smaller input_size (--input)")
    k = spec.kernel_size
    inserted, padded = _view_sizes(spec, m, t)
    arrays = [("the input x", n), ("the conv output y", m), ("the transposed output z", t),
              ("the kernel", k), ("the dilated kernel", spec.kernel_extent),
              ("the zero-inserted y", inserted), ("the padded zero-inserted y", padded)]
    checks = [(f"{what} ({size_str(shape)})", math.prod(shape), "positions", MAX_POSITIONS,
               "MAX_POSITIONS") for what, shape in arrays]
    checks += [("C", math.prod(m) * math.prod(k), "kernel taps", MAX_PRODUCTS, "MAX_PRODUCTS"),
               ("the stride-1 view of Cᵀ", math.prod(t) * math.prod(k), "kernel-tap products",
                MAX_PRODUCTS, "MAX_PRODUCTS")]
    for check in checks:
        _check_count(n, spec, *check)


def _per_axis_lines(spec, n, m, t):
    axes = list(zip(n, spec.kernel_size, spec.stride, spec.padding, spec.dilation,
                    spec.output_padding, m, t, spec.kernel_extent, spec.full_size(m),
                    *spec.transpose_output_range(m)))
    same = all(a == axes[0] for a in axes)
    lines = []
    for axis, (nn, k, s, (lo, hi), d, r, mm, tt, ext, full, t_lo, t_hi) in enumerate(
            axes[:1] if same else axes):
        e, top = ext - 1, max(s, d) - 1
        label = "every axis" if same and len(axes) > 1 else f"axis {axis}"
        lines += [
            f"  {label}: n = {nn}, k = {k}, s = {s}, p = ({lo}, {hi}), d = {d}",
            "    conv output   m = floor((n + p_lo + p_hi - d(k-1) - 1) / s) + 1",
            f"                    = floor(({nn} + {lo} + {hi} - {e} - 1) / {s}) + 1 = {mm}",
            f"    full scatter  L = (m-1)s + d(k-1) + 1 = {mm - 1}*{s} + {e} + 1 = {full}",
            f"    transposed    t = L - p_lo - p_hi + r = {full - lo - hi} + r,"
            f" 0 <= r <= max(s, d) - 1 = {top}",
            f"                    sizes {t_lo}..{t_hi};"
            f" r = {r} gives t = {tt}",
        ]
    return lines


def _sizes_section(spec, n, m, t, auto_r):
    lo, hi = spec.transpose_output_range(m)
    lines = [heading("Sizes", "-"),
             f"  convolution         x ({size_str(n)})  ->  y = C x ({size_str(m)})",
             f"  transposed conv.    y ({size_str(m)})  ->  z = Cᵀ y ({size_str(t)}),"
             " valid sizes " + " x ".join(f"{a}..{b}" for a, b in zip(lo, hi))]
    lines += _per_axis_lines(spec, n, m, t)
    if auto_r:
        lines.append(f"  output_padding {spec.output_padding} is chosen so that z has the size "
                     "of x; --output-padding picks another valid size.")
    elif t != n:
        lines += [f"  Note: z ({size_str(t)}) is not the size of x ({size_str(n)}), so Cᵀ below "
                  "is the transpose",
                  f"  of the matrix of the convolution of a {size_str(t)} input, not of C."]
    return "\n".join(lines)


def _kernel_section(spec, w, full):
    names = symbolic_array("w", spec.kernel_size)
    what = "symbolic; --weights gives numbers" if w is None else "values from --weights"
    lines = [heading("Kernel", "-"), f"  w ({size_str(spec.kernel_size)}, {what}):",
             grid(names if w is None else w, full, indent=4)]
    if any(d > 1 for d in spec.dilation):
        shown = names if w is None else w.astype(object)
        taps = insert_zeros(_positions(shown.shape), spec.dilation)[0, 0]
        dil = _place(shown, taps, "0" if w is None else 0)
        lines += [f"  with dilation {spec.dilation} the taps are spread over "
                  f"{size_str(spec.kernel_extent)} (holes are 0):", grid(dil, full, indent=4)]
    return "\n".join(lines)


def _matrix_block(spec, w, in_size, out_size, transpose, full):
    """C (or Cᵀ) for ``in_size -> out_size`` with labels, or its summary when too large."""
    in_size, out_size, rows, cols, taps = _entries(spec, in_size, out_size)
    shape = (math.prod(out_size), math.prod(in_size))
    shape = shape[::-1] if transpose else shape
    if too_large(shape, full):
        return f"  {matrix_summary(*shape, rows.size)}\n" + too_large_note("matrix")
    if w is None:
        cells = np.array(symbolic_matrix(spec, in_size, out_size), dtype=object)
    else:
        cells = numeric_matrix(spec, in_size, w, out_size)
    row_names = symbolic_array("y", out_size).ravel()
    col_names = symbolic_array("z" if transpose else "x", in_size).ravel()
    if transpose:
        return matrix_text(cells.T, col_names, row_names, rows.size)
    return matrix_text(cells, row_names, col_names, rows.size)


def _tap_words(spec, w):
    if w is not None:
        return "the entries are kernel values: row o holds the kernel at window o"
    letters = "abcdefgh"[:spec.ndim] if spec.ndim <= 8 else None
    if letters is None:
        return "entry w... names a kernel tap"
    tap = letters if spec.ndim == 1 else "(" + ", ".join(letters) + ")"
    return f"entry w{letters} is kernel tap {tap}; row o holds the kernel at window o"


def _matrix_section(spec, w, n, m, t, full):
    return "\n".join([
        heading("The matrix C", "-"),
        "  y = C x with x and y read row by row (C order); row = output, column = input;",
        f"  {_tap_words(spec, w)}.",
        _matrix_block(spec, w, n, m, False, full),
        "",
        heading("The matrix Cᵀ: the transposed convolution (the \"deconvolution layer\")", "-"),
        "  z = Cᵀ y. Column j of C becomes row j of Cᵀ: each y entry is spread back over",
        "  the inputs its window read, with the same weights.",
        _matrix_block(spec, w, t, m, True, full),
    ])


def _names_at(positions, prefix, shape, full):
    """The names of ``y`` (``"0"`` for position 0) at ``positions``, if they are printed."""
    if too_large(positions.shape, full):  # only the shape is printed
        return positions
    name = np.frompyfunc(
        lambda p: index_name(prefix, np.unravel_index(p - 1, shape), shape) if p else "0", 1, 1)
    return name(positions)


def _fractional_section(spec, m, t, full):
    pads = spec.transposed_padding()
    inserted, padded = (_names_at(p, "y", m, full) for p in _view_positions(spec, m))
    flipped = symbolic_array("w", spec.kernel_size)[(slice(None, None, -1),) * spec.ndim]
    pad_text = compact(pads) + (" on every axis" if len(set(pads)) == 1 and spec.ndim > 1 else "")
    extent = spec.kernel_extent
    return "\n".join([
        heading("Cᵀ as a stride-1 convolution (the \"fractionally strided\" view)", "-"),
        f"  1. insert s - 1 zeros between neighbouring entries of y (s = {compact(spec.stride)}),"
        f" size {size_str(inserted.shape)}:",
        grid(inserted, full, indent=4),
        "  2. pad by d(k-1) - p_lo at the start and d(k-1) - p_hi + r at the end of each axis,",
        f"     here {pad_text} (a negative amount crops), size {size_str(padded.shape)}:",
        grid(padded, full, indent=4),
        "  3. slide the kernel rotated by 180 degrees over it at stride 1"
        + (f", dilation {compact(spec.dilation)}" if any(d > 1 for d in spec.dilation) else "")
        + f": {size_str(padded.shape)} - {size_str(extent)} + 1\n"
        f"     = {size_str(t)} positions, one per entry of z:",
        grid(flipped, full, indent=4),
    ])


def _equations(spec, w, in_size, out_size, transpose, count=N_EQUATIONS):
    in_size, out_size, rows, cols, taps = _entries(spec, in_size, out_size)
    lhs, rhs, lhs_size, rhs_size = ("z", "y", in_size, out_size) if transpose else \
        ("y", "x", out_size, in_size)
    left, right = (cols, rows) if transpose else (rows, cols)
    names = symbolic_array("w", spec.kernel_size).ravel()
    lines = []
    for i in range(min(count, math.prod(lhs_size))):
        sel = np.nonzero(left == i)[0]
        sel = sel[np.argsort(right[sel], kind="stable")]
        terms = [(names[taps[j]] if w is None else fmt_number(w.ravel()[taps[j]])) + "·"
                 + index_name(rhs, np.unravel_index(right[j], rhs_size), rhs_size) for j in sel]
        name = index_name(lhs, np.unravel_index(i, lhs_size), lhs_size)
        lines += wrap_sum(f"    {name} = ", terms or ["0"])
    if math.prod(lhs_size) > count:
        lines.append(f"    ... ({math.prod(lhs_size) - count} more)")
    return lines


def _sliding_section(spec, w, n, m, t):
    e, s, p = spec.kernel_extent, spec.stride, [lo for lo, _ in spec.padding]
    lines = [heading("Sliding windows", "-"),
             f"  Convolution: a window of size {size_str(e)} moves in steps of s = {compact(s)}"
             f" over x padded by p = {compact(spec.padding)};",
             "  window o starts at o*s - p_lo and each y entry is the weighted sum of its window:"]
    lines += _equations(spec, w, n, m, False)
    lines += [f"  Transposed: each y entry stamps a copy of w, scaled by itself, into z at"
              f" o*s - p_lo = o*{compact(s)} - {compact(p)};",
              "  overlapping stamps add up (z is cropped to its size). Equivalently, rows of Cᵀ:"]
    lines += _equations(spec, w, t, m, True)
    return "\n".join(lines)


def _check_lines(spec, w, n, m, t):
    """Numerical checks of everything printed, against the public functions."""
    rng = np.random.default_rng(0)
    w = rng.standard_normal(spec.kernel_size) if w is None else w
    x, y = rng.standard_normal((1, 1) + n), rng.standard_normal((1, 1) + m)
    w4 = w[None, None]
    c, ct = _sparse(spec, w, n), _sparse(spec, w, t, m).T
    z = conv_transpose(y, w4, spec=spec)
    padded = fractional_input(spec, y[0, 0])[1]
    flipped = w4[(Ellipsis,) + (slice(None, None, -1),) * spec.ndim]
    checks = [
        ("C equals deconvkit.conv_matrix",
         abs(c - conv_matrix(w4, (1,) + n, spec=spec)).max() / max(abs(w).max(), 1e-300)),
        ("C x equals deconvkit.conv(x)", rel_error(c @ x.ravel(), conv(x, w4, spec=spec).ravel())),
        ("Cᵀ y equals deconvkit.conv_transpose(y)", rel_error(ct @ y.ravel(), z.ravel())),
        ("the fractionally strided view equals it too",
         rel_error(conv(padded[None, None], flipped, dilation=spec.dilation), z)),
    ]
    if t == n:
        dot = abs(np.vdot(conv(x, w4, spec=spec), y) - np.vdot(x, z))
        checks.append(("<conv(x), y> equals <x, conv_transpose(y)>",
                       dot / (np.linalg.norm(x) * np.linalg.norm(z) + 1e-300)))
    lines = []
    for text, err in checks:
        ok = "ok" if err < 1e-12 else "MISMATCH"
        lines.append(f"  {text:<46} {ok} (error {err:.1e})")
    return lines


def _kernel_values(weights, spec):
    w = np.asarray(weights, dtype=np.float64).ravel()
    if w.size != math.prod(spec.kernel_size):
        raise ValueError(f"weights has {w.size} values, the {size_str(spec.kernel_size)} "
                         f"kernel needs {math.prod(spec.kernel_size)}")
    return w.reshape(spec.kernel_size)


def explain(input_size, kernel_size=3, *, stride=1, padding=0, dilation=1, output_padding=None,
            weights=None, full=False, title=None) -> str:
    """Explain one convolution geometry and its transpose, as text.

    Parameters
    ----------
    input_size : tuple of int
        Spatial size of the convolution's input (1, 2 or 3 axes, or more).
    kernel_size, stride, padding, dilation, output_padding
        As for :func:`make_spec`.
    weights : array-like of float, optional
        Kernel values, ``prod(kernel_size)`` of them in C order; default symbolic names.
    full : bool
        Print grids and matrices of any size (default: summarize above
        :data:`~deconvkit.explain.render.LIMIT` rows or columns).
    title : str, optional
        Heading of the explanation.

    Returns
    -------
    text : str
        Spec, sizes, kernel, C, Cᵀ, the fractionally strided view, sliding windows
        and numerical checks.

    Raises
    ------
    ValueError, TypeError
        For arguments with no valid geometry, and, before any work, for a geometry
        too large to explain: an array of more than :data:`MAX_POSITIONS` positions,
        more than :data:`MAX_PRODUCTS` kernel-tap products, or with ``full=True`` a
        printed matrix of more than :data:`MAX_MATRIX_ENTRIES` entries.

    Examples
    --------
    >>> print(explain((3,), 2).splitlines()[0])
    Convolution 3 -> 2 and its transpose
    >>> explain((100_000_000,))
    Traceback (most recent call last):
    ...
    ValueError: input_size 100000000 with ... is too large to explain: the input x ... (MAX_POSITIONS); ...
    """
    spec = make_spec(input_size, kernel_size, stride=stride, padding=padding,
                     dilation=dilation, output_padding=output_padding)
    n = tuple(int(v) for v in input_size)
    m = spec.conv_output_size(n)
    t = spec.transpose_output_size(m)
    _check_explainable(spec, n, m, t, full)
    w = None if weights is None else _kernel_values(weights, spec)
    title = title or f"Convolution {size_str(n)} -> {size_str(m)} and its transpose"
    parts = [
        heading(title) + f"\n  {spec.describe()}\n  one channel, groups 1, input x of size "
        f"{size_str(n)}",
        _sizes_section(spec, n, m, t, output_padding is None),
        _kernel_section(spec, w, full),
        _matrix_section(spec, w, n, m, t, full),
        _fractional_section(spec, m, t, full),
        _sliding_section(spec, w, n, m, t),
        heading("Checks", "-") + "\n" + "\n".join(_check_lines(spec, w, n, m, t)),
    ]
    return "\n\n".join(parts) + "\n"
