"""The picture model: what a transposed convolution does, as frames of numbers.

A *view* is a list of :class:`Frame`; a frame is a title, a caption and a few
:class:`Panel` (grids of numbers with highlighted cells, or lines of text). Nothing
here draws: :mod:`deconvkit.explain.draw` turns frames into PNG and GIF, and any other
renderer (an HTML page) can read the same frames, or their :meth:`Frame.to_dict`.

Every number comes from the library: stamps are :func:`deconvkit.conv_transpose` of
one-hot inputs, the fractionally strided view is :func:`fractional_input` and
:func:`deconvkit.conv`, the matrices are :func:`numeric_matrix` (the explicit C of
:mod:`deconvkit.functional.matrix`), the polyphase taps come from its ``matrix_entries``
and every size from :class:`~deconvkit.geometry.ConvSpec`. The views of one call share
one ``y`` and one ``w``.

The views are, for the layer's input ``y`` (size ``m``) and output ``z`` (size ``t``):

* ``scatter``: one frame per input position, then the crop;
* ``zeros``: one frame per output position (zero insertion, padding, flipped kernel);
* ``matrix``: one frame per output position (row of Cᵀ, column of C);
* ``polyphase``: one frame per output phase (``prod(stride)`` of them);
* ``sizes``: one frame of sizes, crop, output-size range and framework spellings.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..geometry import ConvSpec
from .render import size_str

__all__ = ["Panel", "Frame", "VIEWS", "MAX_CELLS", "MAX_MATRIX", "MAX_FRAMES", "check_drawable",
           "default_arrays"]

VIEWS = ("sizes", "scatter", "zeros", "matrix", "polyphase")
"""The views, in the order a GIF shows them."""
MAX_CELLS = 24
"""Most cells drawn along one axis of a grid (input, kernel, full scatter, output)."""
MAX_MATRIX = 64
"""Most rows or columns of a drawn matrix (``prod(t)`` and ``prod(m)``)."""
MAX_FRAMES = 200
"""Most frames of one view (the scatter has ``prod(m) + 1``, the sliding window ``prod(t)``)."""


@dataclass(frozen=True)
class Panel:
    """One picture inside a frame: a 2-D grid of numbers, a heat map, or text.

    Attributes
    ----------
    name : str
        Title of the panel.
    values : (R, K) float ndarray or None
        Cell values; NaN is an empty cell. 1-D arrays are one row. None for text.
    highlight : tuple of (row, col)
        Cells in focus in this frame.
    marks : tuple of (row, col)
        Cells of a second kind (inserted or padded zeros, output_padding cells).
    outline : (r0, c0, r1, c1) or None
        A half-open rectangle drawn around cells (the crop).
    kind : {"grid", "matrix", "vector", "map", "text"}
        ``"matrix"`` prints zeros as dots; ``"vector"`` is a column beside a matrix.
    lines : tuple of str
        The text of a ``"text"`` panel.
    """

    name: str
    values: np.ndarray = None
    highlight: tuple = ()
    marks: tuple = ()
    outline: tuple = None
    kind: str = "grid"
    lines: tuple = ()

    def to_dict(self) -> dict:
        """JSON-ready: values as nested lists with None for empty cells."""
        values = None
        if self.values is not None:
            values = [[None if np.isnan(v) else float(v) for v in row] for row in self.values]
        return {"name": self.name, "kind": self.kind, "values": values,
                "highlight": [list(c) for c in self.highlight],
                "marks": [list(c) for c in self.marks],
                "outline": None if self.outline is None else list(self.outline),
                "lines": list(self.lines)}


@dataclass(frozen=True)
class Frame:
    """One step of a view: its panels side by side under a title and a caption."""

    view: str
    step: int
    title: str
    caption: str
    panels: tuple = field(default_factory=tuple)

    def to_dict(self) -> dict:
        """JSON-ready form of the frame (for an HTML page)."""
        return {"view": self.view, "step": self.step, "title": self.title,
                "caption": self.caption, "panels": [p.to_dict() for p in self.panels]}


# ---------------------------------------------------------------------- helpers
def _grid(a) -> np.ndarray:
    """A 1-D or 2-D array as a 2-D float grid (1-D is one row)."""
    a = np.asarray(a, dtype=np.float64)
    return a[None, :] if a.ndim == 1 else a


def _cells(shape, indices) -> tuple:
    """N-d indices (1-D or 2-D) of an array of ``shape`` as (row, col) grid cells."""
    return tuple((0, int(i[0])) if len(shape) == 1 else (int(i[0]), int(i[1]))
                 for i in indices)


def _nonzero_cells(mask) -> tuple:
    return _cells(mask.shape, zip(*np.nonzero(mask)))


def _single(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)[None, None]


def _uncropped(spec: ConvSpec) -> ConvSpec:
    """The spec of the full scatter: no padding, no output_padding."""
    return ConvSpec(spec.kernel_size, spec.stride, 0, spec.dilation)


def _canvas_shape(spec, m):
    """Full scatter size, extended to hold the output_padding cells past its end."""
    crop = spec.transpose_crop(m)
    return tuple(max(f, c.stop) for f, c in zip(spec.full_size(m), crop))


def _on_canvas(a, shape):
    out = np.zeros(shape)
    out[tuple(slice(0, n) for n in a.shape)] = a
    return out


def _outline(spec, m):
    crop = spec.transpose_crop(m)
    if spec.ndim == 1:
        return (0, crop[0].start, 1, crop[0].stop)
    return (crop[0].start, crop[1].start, crop[0].stop, crop[1].stop)


def _blank_except(values, done):
    out = np.full(values.shape, np.nan)
    out[done] = values[done]
    return out


def _index_text(index) -> str:
    return "[" + ", ".join(str(int(i)) for i in index) + "]"


def check_drawable(spec: ConvSpec, m) -> None:
    """Refuse, before any work, a geometry whose pictures would be unreadable.

    Parameters
    ----------
    spec : ConvSpec
        Single channel (``groups == 1``), 1 or 2 spatial axes.
    m : tuple of int
        Spatial size of the transposed convolution's input.

    Raises
    ------
    ValueError
        Naming the limit (:data:`MAX_CELLS`, :data:`MAX_MATRIX`, :data:`MAX_FRAMES`).
    """
    if spec.groups != 1:
        raise ValueError(f"pictures are single-channel: groups must be 1, got {spec.groups}")
    if spec.ndim > 2:
        raise ValueError(
            f"pictures are drawn for 1-D and 2-D specs; this one has {spec.ndim} spatial axes "
            "(a 2-D slice of a 3-D scatter would hide the taps that land in other slices). "
            "Draw one or two of its axes by giving a 1-D or 2-D --input, or use the text "
            "explanation (no --png/--gif), which handles any number of axes")
    t = spec.transpose_output_size(m)
    sizes = {"the input y": m, "the kernel": spec.kernel_extent,
             "the full scatter": _canvas_shape(spec, m), "the output z": t,
             "the padded zero-inserted y": tuple(a + e - 1 for a, e in zip(t, spec.kernel_extent))}
    for what, size in sizes.items():
        if max(size) > MAX_CELLS:
            raise ValueError(f"{what} ({size_str(size)}) is too large to draw readably: at most "
                             f"{MAX_CELLS} cells per axis (MAX_CELLS); give a smaller --input, "
                             "kernel, stride or dilation")
    for what, count, limit, name in (("Cᵀ", max(math.prod(t), math.prod(m)), MAX_MATRIX,
                                      "MAX_MATRIX"),
                                     ("the scatter", math.prod(m) + 1, MAX_FRAMES, "MAX_FRAMES"),
                                     ("the sliding window", math.prod(t), MAX_FRAMES,
                                      "MAX_FRAMES")):
        if count > limit:
            unit = "rows" if name == "MAX_MATRIX" else "frames"
            raise ValueError(f"{what} would need {count} {unit}, more than {limit} ({name}); "
                             "give a smaller --input")


def default_arrays(spec: ConvSpec, m, y=None, w=None):
    """The layer input ``y`` (default ``1, 2, ...``) and kernel ``w`` (default ``1, 2, ...``).

    Raises ``ValueError`` naming ``y`` or ``w`` when a given array has another shape.

    >>> y, w = default_arrays(ConvSpec(2), (3,))
    >>> y.tolist(), w.tolist()
    ([1.0, 2.0, 3.0], [1.0, 2.0])
    """
    m = tuple(m)
    out = []
    for name, a, shape in (("y", y, m), ("w", w, spec.kernel_size)):
        if a is None:
            a = np.arange(1, math.prod(shape) + 1, dtype=np.float64).reshape(shape)
        a = np.asarray(a, dtype=np.float64)
        if a.size != math.prod(shape):
            raise ValueError(f"{name} must have {math.prod(shape)} values (shape "
                             f"{size_str(shape)}), got shape {a.shape}")
        out.append(a.reshape(shape))
    return tuple(out)
