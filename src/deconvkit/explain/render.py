"""Text primitives of the explainer: numbers, symbolic names, headings, grids, matrices.

Everything here is a pure function returning a string (or an array of strings);
nothing prints. Arrays of strings are NumPy ``object`` arrays so that they can be
sliced, padded and flipped exactly like the numbers they stand for.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["LIMIT", "fmt_number", "size_str", "index_name", "symbolic_array", "compact",
           "wrap_sum", "heading",
           "vector", "table", "side_by_side", "too_large", "grid", "matrix_summary",
           "matrix_text", "too_large_note"]

LIMIT = 40
"""Largest number of rows or columns printed unless ``full=True``."""


def fmt_number(v) -> str:
    """Short text of a number: integers without a decimal point, others to 4 digits.

    >>> fmt_number(12.0), fmt_number(-0.0), fmt_number(0.125), fmt_number(1 / 3)
    ('12', '0', '0.125', '0.3333')
    """
    v = float(v)
    if v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return f"{v:.4g}"


def size_str(size) -> str:
    """``(4, 4)`` as ``"4x4"``.

    >>> size_str((3, 2, 2))
    '3x2x2'
    """
    return "x".join(str(int(n)) for n in size)


def index_name(prefix: str, index, shape, base: int = 0) -> str:
    """Name of entry ``index`` of an array of ``shape``, e.g. ``x12`` or ``x1,12``.

    Indices are written one digit per axis when that is unambiguous (1-D, or every
    index of ``shape`` below 10), and separated by commas otherwise.

    >>> index_name("x", (1, 2), (3, 3)), index_name("x", (1, 2), (3, 12))
    ('x12', 'x1,2')
    """
    sep = "" if len(shape) == 1 or max(shape) + base <= 10 else ","
    return prefix + sep.join(str(int(i) + base) for i in index)


def symbolic_array(prefix: str, shape, base: int = 0) -> np.ndarray:
    """Array of names ``prefix`` + index, e.g. ``w00 w01 ...`` for a 2x2 kernel.

    Parameters
    ----------
    prefix : str
        Name of the array, e.g. ``"x"``.
    shape : tuple of int
    base : int
        First index (0, or 1 for mathematical notation).

    Returns
    -------
    names : ndarray of str objects, shape ``shape``
        Named as by :func:`index_name`.

    Examples
    --------
    >>> symbolic_array("w", (2, 2), base=1).tolist()
    [['w11', 'w12'], ['w21', 'w22']]
    >>> symbolic_array("x", (12,))[-1]
    'x11'
    """
    shape = tuple(int(n) for n in shape)
    sep = "" if len(shape) <= 1 or max(shape) + base <= 10 else ","
    names = np.full(shape, prefix, dtype=object)
    for axis, n in enumerate(shape):  # as index_name, one axis at a time for all entries
        view = [1] * len(shape)
        view[axis] = n
        digits = np.array([str(i + base) for i in range(n)], dtype=object).reshape(view)
        names = names + (sep if axis else "") + digits
    return names


def compact(values) -> str:
    """A per-axis tuple as one value when all axes agree.

    >>> compact((2, 2)), compact((2, 1)), compact(((1, 0), (1, 0)))
    ('2', '(2, 1)', '(1, 0)')
    """
    values = tuple(values)
    return str(values[0]) if all(v == values[0] for v in values) else str(values)


def wrap_sum(lead: str, terms, width: int = 96) -> list:
    """``lead`` + ``terms`` joined by ``" + "``, as lines wrapped under the first term.

    >>> wrap_sum("y = ", ["a", "b", "c"], width=11)
    ['y = a + b +', '    c']
    """
    lines, line = [], lead + terms[0]
    for term in terms[1:]:
        if len(line) + 3 + len(term) + 2 > width:  # room for a trailing " +"
            lines.append(line + " +")
            line = " " * len(lead) + term
        else:
            line += " + " + term
    return lines + [line]


def heading(title: str, underline: str = "=") -> str:
    """``title`` underlined with ``underline`` characters."""
    return f"{title}\n{underline * len(title)}"


def vector(values) -> str:
    """A flat vector as ``[12 12 10 17]``."""
    return "[" + " ".join(fmt_number(v) for v in np.ravel(values)) + "]"


def _cell_text(v) -> str:
    return v if isinstance(v, str) else fmt_number(v)


def table(cells, row_labels=None, col_labels=None, indent: int = 2,
          uniform: bool = False) -> str:
    """Right-aligned columns of ``cells`` (a list of rows of str or numbers).

    With labels, column labels form a header line and row labels are followed by ``|``.
    ``uniform`` gives every column the same width.

    >>> print(table([[1, 0], [0, 1]], ["y0", "y1"], ["x0", "x1"]))
           x0 x1
      y0 |  1  0
      y1 |  0  1
    """
    rows = [[_cell_text(v) for v in row] for row in cells]
    widths = [max(len(v) for v in col) for col in zip(*rows)]
    if col_labels is not None:
        widths = [max(w, len(lab)) for w, lab in zip(widths, col_labels)]
    if uniform:
        widths = [max(widths)] * len(widths)
    pad = " " * indent
    lw = 0 if row_labels is None else max(len(lab) for lab in row_labels)
    lines = []
    if col_labels is not None:
        lead = " " * (lw + 3) if row_labels is not None else ""
        lines.append(pad + lead + " ".join(lab.rjust(w) for lab, w in zip(col_labels, widths)))
    for i, row in enumerate(rows):
        label = "" if row_labels is None else row_labels[i].rjust(lw) + " | "
        lines.append(pad + label + " ".join(v.rjust(w) for v, w in zip(row, widths)))
    return "\n".join(line.rstrip() for line in lines)


def side_by_side(blocks, gap: int = 4) -> str:
    """Multi-line strings next to each other, top-aligned.

    >>> print(side_by_side(["a\\nbb", "c"], gap=1))
    a  c
    bb
    """
    split = [b.split("\n") for b in blocks]
    widths = [max(len(line) for line in lines) for lines in split]
    height = max(len(lines) for lines in split)
    out = []
    for i in range(height):
        parts = [(lines[i] if i < len(lines) else "").ljust(w) for lines, w in zip(split, widths)]
        out.append((" " * gap).join(parts).rstrip())
    return "\n".join(out)


def too_large(shape, full: bool, limit: int = LIMIT) -> bool:
    """Whether a grid or matrix of ``shape`` is summarized instead of printed."""
    if full or not shape:
        return False
    return shape[-1] > limit or math.prod(shape[:-1]) > limit


def grid(arr, full: bool = False, limit: int = LIMIT, indent: int = 2) -> str:
    """An N-d array of numbers or names as a grid; 3-d and up as labelled 2-d slices.

    >>> print(grid(symbolic_array("x", (2, 2, 2))))
      [0, :, :]
        x000 x001
        x010 x011
      [1, :, :]
        x100 x101
        x110 x111
    """
    arr = np.asarray(arr, dtype=object)
    if too_large(arr.shape, full, limit):
        return " " * (indent - 2) + too_large_note(f"{size_str(arr.shape)} array", limit)
    text = np.vectorize(_cell_text, otypes=[object])(arr) if arr.size else arr
    width = max((len(v) for v in text.ravel()), default=1)
    text = np.vectorize(lambda v: v.rjust(width), otypes=[object])(text) if arr.size else arr
    if arr.ndim <= 2:
        return table(text.reshape(-1, arr.shape[-1]).tolist(), indent=indent)
    blocks = []
    for idx in np.ndindex(*arr.shape[:-2]):
        blocks.append(" " * indent + "[" + ", ".join(map(str, idx)) + ", :, :]")
        blocks.append(table(text[idx].tolist(), indent=indent + 2))
    return "\n".join(blocks)


def matrix_summary(rows: int, cols: int, nnz: int) -> str:
    """One line on the size and sparsity of a matrix with ``nnz`` structural nonzeros.

    >>> matrix_summary(4, 16, 25)
    '4 x 16 matrix; 25 of its 64 entries are kernel taps, the other 60.9% are always zero'
    """
    total = rows * cols
    zeros = 1 - nnz / total if total else 0.0
    return (f"{rows} x {cols} matrix; {nnz} of its {total} entries are kernel taps, "
            f"the other {100 * zeros:.1f}% are always zero")


def matrix_text(cells, row_labels, col_labels, nnz: int) -> str:
    """A labelled matrix under its one-line summary.

    Parameters
    ----------
    cells : (R, K) array-like of str or numbers
    row_labels, col_labels : sequence of str
    nnz : int
        Number of structural nonzeros, reported in the summary.
    """
    body = table(np.asarray(cells, dtype=object).tolist(), list(row_labels), list(col_labels))
    return f"  {matrix_summary(len(row_labels), len(col_labels), nnz)}:\n{body}"


def too_large_note(what: str, limit: int = LIMIT) -> str:
    """The note printed instead of something with more than ``limit`` rows or columns."""
    return f"  ({what}: more than {limit} rows or columns, not printed; use --full)"

