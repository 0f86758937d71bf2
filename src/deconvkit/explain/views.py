"""The five views of a transposed convolution as lists of :class:`~.frames.Frame`.

Each function takes the spec, the layer input ``y`` (spatial shape ``m``) and the
kernel ``w`` (shape ``spec.kernel_size``), single channel, 1-D or 2-D, and computes its
numbers with the library (see :mod:`deconvkit.explain.frames`).
"""

from __future__ import annotations

import math

import numpy as np

from ..functional import conv, conv_transpose
from ..functional.matrix import matrix_entries
from .frames import (VIEWS, Frame, Panel, _blank_except, _canvas_shape, _cells, _grid,
                     _index_text, _nonzero_cells, _on_canvas, _outline, _single, _uncropped,
                     check_drawable, default_arrays)
from .render import compact, fmt_number, size_str
from .matrices import _view_positions, fractional_input, numeric_matrix

__all__ = ["scatter_frames", "zeros_frames", "matrix_frames", "polyphase_frames",
           "sizes_frames", "views", "full_scatter"]


def _stamp(spec, y, w, index):
    """conv_transpose of ``y[index]`` at ``index`` (zeros elsewhere) over the full scatter."""
    one = np.zeros(y.shape)
    one[index] = y[index]
    support = np.zeros(y.shape)
    support[index] = 1.0
    full = _uncropped(spec)
    stamp = conv_transpose(_single(one), _single(w), spec=full)[0, 0]
    reach = conv_transpose(_single(support), np.ones((1, 1) + spec.kernel_size), spec=full)[0, 0]
    return stamp, reach > 0


def full_scatter(spec, y, w):
    """The uncropped transposed convolution on the canvas (full size plus output_padding)."""
    full = conv_transpose(_single(y), _single(w), spec=_uncropped(spec))[0, 0]
    return _on_canvas(full, _canvas_shape(spec, y.shape))


def _crop_frame(spec, y, w, total, step):
    m = y.shape
    z = conv_transpose(_single(y), _single(w), spec=spec)[0, 0]
    extra = np.zeros(total.shape, dtype=bool)
    extra[tuple(slice(f, None) for f in spec.full_size(m))] = True  # past the scatter's end
    extra = extra if spec.ndim == 1 else extra | _past_end(spec, m, total.shape)
    lo_hi = ", ".join(f"{lo} at the start, {hi - r} at the end" for (lo, hi), r in
                      zip(spec.padding, spec.output_padding))
    caption = (f"crop the full {size_str(spec.full_size(m))} scatter by padding: {lo_hi} "
               f"(per axis) -> z {size_str(z.shape)}.")
    if any(spec.output_padding):
        caption += f" output_padding {compact(spec.output_padding)} adds the grey cells (zeros)."
    return Frame("scatter", step, "Scatter, last step: crop to the output", caption, (
        Panel("full scatter, crop outlined", _grid(total), marks=_nonzero_cells(extra),
              outline=_outline(spec, m)),
        Panel(f"z = conv_transpose(y, w)  {size_str(z.shape)}", _grid(z))))


def _past_end(spec, m, shape):
    mask = np.zeros(shape, dtype=bool)
    for axis, f in enumerate(spec.full_size(m)):
        index = [slice(None)] * len(shape)
        index[axis] = slice(f, None)
        mask[tuple(index)] = True
    return mask


def scatter_frames(spec, y, w) -> list:
    """One frame per input position: ``y[i]`` stamps ``y[i] * w`` at ``i * s``; then the crop."""
    total = np.zeros(_canvas_shape(spec, y.shape))
    frames = []
    for step, index in enumerate(np.ndindex(*y.shape)):
        stamp, reach = _stamp(spec, y, w, index)
        stamp, reach = _on_canvas(stamp, total.shape), _on_canvas(reach, total.shape) > 0
        total = total + stamp
        start = compact(tuple(i * s for i, s in zip(index, spec.stride)))
        frames.append(Frame("scatter", step, f"Scatter: input {_index_text(index)} of "
                            f"{size_str(y.shape)}",
                            f"y{_index_text(index)} = {fmt_number(y[index])} stamps "
                            f"{fmt_number(y[index])}·w (w not flipped) at {start} = index·stride;"
                            " overlapping stamps add up.", (
                                Panel("y (layer input)", _grid(y), highlight=_cells(
                                    y.shape, [index])),
                                Panel("w (kernel)", _grid(w)),
                                Panel(f"stamp y{_index_text(index)}·w", _grid(
                                    np.where(reach, stamp, np.nan)),
                                      highlight=_nonzero_cells(reach)),
                                Panel("running sum (crop outlined)", _grid(total),
                                      highlight=_nonzero_cells(reach),
                                      outline=_outline(spec, y.shape)))))
    frames.append(_crop_frame(spec, y, w, total, len(frames)))
    return frames


def _window_cells(spec, index):
    taps = np.ndindex(*spec.kernel_size)
    return [tuple(o + j * d for o, j, d in zip(index, tap, spec.dilation)) for tap in taps]


def zeros_frames(spec, y, w) -> list:
    """One frame per output position of the fractionally strided view."""
    _, padded = fractional_input(spec, y)
    _, where = _view_positions(spec, y.shape)
    flipped = w[(slice(None, None, -1),) * spec.ndim]
    z = conv(_single(padded), _single(flipped), dilation=spec.dilation)[0, 0]
    pads = compact(spec.transposed_padding())
    frames = []
    for step, index in enumerate(np.ndindex(*z.shape)):
        cells = _window_cells(spec, index)
        terms = [f"{fmt_number(padded[c])}·{fmt_number(flipped[j])}"
                 for c, j in zip(cells, np.ndindex(*w.shape)) if padded[c] != 0]
        done = np.zeros(z.shape, dtype=bool)
        done.ravel()[:step + 1] = True
        frames.append(Frame(
            "zeros", step, f"Zero insertion: output {_index_text(index)} of {size_str(z.shape)}",
            f"{compact(spec.stride)} - 1 zeros between inputs, padding d(k-1) - p = {pads} "
            f"(grey); the FLIPPED kernel slides at stride 1: z{_index_text(index)} = "
            + (" + ".join(terms[:6]) + (" + ..." if len(terms) > 6 else "") if terms else "0")
            + f" = {fmt_number(z[index])}", (
                Panel("y, zeros inserted, padded", _grid(padded),
                      marks=_nonzero_cells(where == 0), highlight=_cells(padded.shape, cells)),
                Panel("w flipped (rotated 180°)", _grid(flipped)),
                Panel("z", _grid(_blank_except(z, done)),
                      highlight=_cells(z.shape, [index])))))
    return frames


def matrix_frames(spec, y, w) -> list:
    """One frame per output position: row ``o`` of Cᵀ times ``y`` (column ``o`` of C)."""
    m = y.shape
    t = spec.transpose_output_size(m)
    c = numeric_matrix(spec, t, w, m)  # prod(m) x prod(t), built by functional.matrix
    z = c.T @ y.ravel()
    frames = []
    for o in range(z.size):
        done = np.arange(z.size) <= o
        col = tuple((r, o) for r in range(c.shape[0]))
        frames.append(Frame(
            "matrix", o, f"Matrix: z = Cᵀ y, row {o} of {z.size}",
            f"C is {c.shape[0]}x{c.shape[1]} (y = C x); Cᵀ is {c.shape[1]}x{c.shape[0]}. "
            f"z[{o}] = row {o} of Cᵀ (column {o} of C) · y = {fmt_number(z[o])}", (
                Panel(f"C ({c.shape[0]}x{c.shape[1]}), column {o}", c, highlight=col,
                      kind="matrix"),
                Panel(f"Cᵀ ({c.shape[1]}x{c.shape[0]}), row {o}", c.T,
                      highlight=tuple((o, r) for r in range(c.shape[0])), kind="matrix"),
                Panel("y", y.reshape(-1, 1), kind="vector"),
                Panel("z = Cᵀ y", np.where(done, z, np.nan).reshape(-1, 1),
                      highlight=((o, 0),), kind="vector"))))
    return frames


def _phase_taps(spec, m):
    """Per output phase ``q`` (full-scatter position mod stride): the kernel taps that reach
    it, from the explicit matrix's entries (flat tap indices, a boolean kernel mask)."""
    full = _uncropped(spec)
    size = full.full_size(m)
    _, cols, _, _, taps = matrix_entries(full, 1, size, 1, m)
    phase = np.stack(np.unravel_index(cols, size), axis=1) % np.array(spec.stride)
    out = {}
    for q in np.ndindex(*spec.stride):
        mask = np.zeros(math.prod(spec.kernel_size), dtype=bool)
        mask[taps[np.all(phase == q, axis=1)]] = True
        out[q] = mask.reshape(spec.kernel_size)
    return out


def _phase_slice(spec, q):
    return tuple(slice(a, None, s) for a, s in zip(q, spec.stride))


def polyphase_frames(spec, y, w) -> list:
    """One frame per output phase ``q``: a stride-1 conv of ``y`` with the sub-kernel
    ``w[q::s]`` (for dilation 1; in general the taps ``j`` with ``j*d ≡ q mod s``)."""
    m = y.shape
    total = full_scatter(spec, y, w)
    z = conv_transpose(_single(y), _single(w), spec=spec)[0, 0]
    crop = spec.transpose_crop(m)
    frames = []
    for step, (q, mask) in enumerate(_phase_taps(spec, m).items()):
        sub = conv_transpose(_single(y), _single(np.where(mask, w, 0.0)),
                             spec=_uncropped(spec))[0, 0]
        part = _on_canvas(sub, total.shape)[_phase_slice(spec, q)]
        on = np.zeros(total.shape, dtype=bool)
        on[_phase_slice(spec, q)] = True
        name = ", ".join(f"{a}::{s}" for a, s in zip(q, spec.stride))
        frames.append(Frame(
            "polyphase", step, f"Polyphase: phase {_index_text(q)} of {math.prod(spec.stride)}",
            f"outputs at full positions ≡ {_index_text(q)} (mod stride) come from the "
            f"sub-kernel w[{name}] ({int(mask.sum())} taps) only: a stride-1 convolution "
            "of y, no multiplications by inserted zeros.", (
                Panel(f"w, taps of w[{name}]", _grid(w), highlight=_nonzero_cells(mask)),
                Panel(f"phase output {size_str(part.shape)}", _grid(part)),
                Panel("full scatter, phase cells", _grid(total), highlight=_nonzero_cells(on),
                      outline=_outline(spec, m)),
                Panel("z (cropped)", _grid(z),
                      highlight=_nonzero_cells(on[crop])))))
    return frames


def _axis_lines(spec, m):
    t = spec.transpose_output_size(m)
    lo, hi = spec.transpose_output_range(m)
    lines = []
    for a, (k, s, (pl, ph), d, r) in enumerate(zip(spec.kernel_size, spec.stride, spec.padding,
                                                    spec.dilation, spec.output_padding)):
        full = spec.full_size(m)[a]
        lines += [f"axis {a}: input m = {m[a]}, k = {k}, s = {s}, p = ({pl}, {ph}), d = {d}, "
                  f"r = {r}",
                  f"  full scatter L = (m-1)s + d(k-1) + 1 = {full}",
                  f"  crop {pl} at the start and p_hi - r = {ph - r} at the end -> t = {t[a]}"
                  + (f" (r = {r} zeros past the scatter's end)" if r > ph else ""),
                  f"  valid output sizes {lo[a]}..{hi[a]} (output_padding 0..{hi[a] - lo[a]});"
                  f" the conv of a {t[a]} input has output {m[a]}"]
    return lines


def _framework_lines(spec, m):
    from ..conventions import FRAMEWORKS, framework_call  # the spellings live there

    lines = []
    for name in FRAMEWORKS:
        try:
            code = framework_call(name, spec, m).code().splitlines()
        except (ValueError, TypeError) as exc:
            code = [f"(not expressible: {exc})"]
        lines += [f"{name}:"] + [f"  {line}" for line in code]
    return lines


def _strip(spec, m, axis):
    """Axis ``axis`` of the full scatter: kept cells highlighted, output_padding cells marked."""
    crop = spec.transpose_crop(m)[axis]
    full = spec.full_size(m)[axis]
    n = max(full, crop.stop)
    kept = tuple((0, i) for i in range(crop.start, crop.stop) if i < full)
    extra = tuple((0, i) for i in range(full, n))
    return Panel(f"axis {axis}: full scatter, kept = z",
                 np.arange(n, dtype=np.float64)[None, :], highlight=kept, marks=extra,
                 outline=(0, crop.start, 1, crop.stop))


def sizes_frames(spec, y, w) -> list:
    """One frame: sizes, the crop and the valid output sizes per axis, and the spec spelled
    in each framework (:func:`deconvkit.conventions.framework_call`)."""
    m = y.shape
    t = spec.transpose_output_size(m)
    conv_n = spec.conv_output_size(t)
    text = [f"conv_transpose: y {size_str(m)} -> z {size_str(t)}   "
            f"(the conv of a {size_str(t)} input gives {size_str(conv_n)})"]
    text += _axis_lines(spec, m) + [""] + _framework_lines(spec, m)
    strips = tuple(_strip(spec, m, a) for a in range(spec.ndim))
    return [Frame("sizes", 0, "Sizes: conv output, full scatter, crop, output_padding",
                  spec.describe(), (Panel("sizes and spellings", kind="text",
                                          lines=tuple(text)),) + strips)]


_MAKERS = {"sizes": sizes_frames, "scatter": scatter_frames, "zeros": zeros_frames,
           "matrix": matrix_frames, "polyphase": polyphase_frames}


def views(spec, input_size, y=None, w=None, *, which=VIEWS) -> dict:
    """The frames of each view of ``conv_transpose(y, w, spec)``, with one ``y`` and ``w``.

    Parameters
    ----------
    spec : ConvSpec
        1-D or 2-D, ``groups == 1``.
    input_size : tuple of int
        Spatial size ``m`` of the transposed convolution's input ``y``.
    y, w : array-like, optional
        Layer input and kernel; default ``1, 2, 3, ...`` in C order.
    which : sequence of str
        Views among :data:`~deconvkit.explain.frames.VIEWS`.

    Returns
    -------
    views : dict of str to list of Frame

    Raises
    ------
    ValueError
        For an unknown view, a 3-D or larger spec, or a geometry beyond the
        drawing limits (see :func:`~deconvkit.explain.frames.check_drawable`).

    Examples
    --------
    >>> from deconvkit.geometry import ConvSpec
    >>> v = views(ConvSpec(3, stride=2), (2,))
    >>> [len(v[name]) for name in v]
    [1, 3, 5, 5, 2]
    >>> v["scatter"][-1].panels[-1].values.tolist()
    [[1.0, 2.0, 5.0, 4.0, 6.0]]
    """
    unknown = [name for name in which if name not in _MAKERS]
    if unknown or not which:
        raise ValueError(f"which must name views among {VIEWS}, got {tuple(which)}")
    m = tuple(int(v) for v in input_size)
    if len(m) != spec.ndim:
        raise ValueError(f"input_size must have {spec.ndim} axes for {spec.describe()}, got {m}")
    check_drawable(spec, m)
    y, w = default_arrays(spec, m, y, w)
    return {name: _MAKERS[name](spec, y, w) for name in VIEWS if name in which}
