"""Drawing of :class:`~deconvkit.explain.frames.Frame` with matplotlib: images, PNG, GIF.

matplotlib (the ``viz`` extra) is imported when a frame is drawn, never at import
time; no pyplot, no global state: each frame is its own ``Figure`` on an Agg canvas.
GIFs are written with Pillow (a dependency of matplotlib).
"""

from __future__ import annotations

import textwrap

import numpy as np

from .render import fmt_number

__all__ = ["require_matplotlib", "frame_image", "save_png", "save_gif", "CELL", "DPI"]

CELL = 0.42
"""Side of a grid cell, in inches (matrices shrink theirs to fit :data:`MAX_PANEL_HEIGHT`)."""
DPI = 100
MAX_PANEL_HEIGHT = 8.0
"""Tallest panel, in inches."""
GAP, MARGIN, TITLE, PANEL_TITLE = 0.55, 0.3, 0.45, 0.35
COLORS = {"cell": "#ffffff", "highlight": "#ffb347", "mark": "#d0d0d0", "edge": "#9a9a9a",
          "outline": "#1f4e9e", "empty": "#f4f4f4"}
INSTALL = 'pip install "deconvkit[viz]"'


def require_matplotlib():
    """The matplotlib ``Figure`` class and Agg canvas, or an ImportError naming the extra."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError(f"drawing pictures needs matplotlib, which is not installed: "
                          f"{INSTALL}") from exc
    return Figure, FigureCanvasAgg


def tile(tiles, columns, gap=1, fill=np.nan):
    """``(k, h, w, ...)`` tiles in a grid of ``columns`` per row, ``gap`` pixels apart; the
    gaps and the empty places of the last row hold ``fill``.

    >>> tile(np.ones((3, 2, 2)), 2, fill=0.0).shape
    (5, 5)
    """
    k, h, w = tiles.shape[:3]
    rows = -(-k // columns)
    out = np.full((rows * (h + gap) - gap, columns * (w + gap) - gap) + tiles.shape[3:], fill)
    for i, one in enumerate(tiles):
        r, c = divmod(i, columns)
        out[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = one
    return out


def _pillow():
    try:
        from PIL import Image
    except ImportError as exc:
        raise ImportError(f"writing PNG and GIF files needs Pillow: {INSTALL}") from exc
    return Image


# ---------------------------------------------------------------------- layout
def _cell_size(panel) -> float:
    rows, cols = panel.values.shape
    if panel.kind in ("matrix", "vector"):
        return min(CELL, MAX_PANEL_HEIGHT / rows, 14.0 / cols)
    return CELL


def _panel_size(panel):
    """Width and height of a panel's drawing area, in inches."""
    if panel.kind == "text":
        width = max((len(line) for line in panel.lines), default=10)
        return 0.073 * width + 0.2, 0.17 * len(panel.lines) + 0.1
    rows, cols = panel.values.shape
    cell = _cell_size(panel)
    return max(cols * cell, 0.4), rows * cell


def _layout(frame):
    sizes = [_panel_size(p) for p in frame.panels]
    slots = [max(w, 0.075 * max(map(len, p.name.split("\n")))) for p, (w, _) in
             zip(frame.panels, sizes)]
    width = max(sum(slots) + GAP * (len(sizes) - 1) + 2 * MARGIN, 7.0)
    caption = textwrap.wrap(frame.caption, int((width - 2 * MARGIN) / 0.08)) or [""]
    body = max(h for _, h in sizes)
    height = TITLE + 0.2 * len(caption) + 0.15 + PANEL_TITLE + body + MARGIN
    return sizes, slots, width, height, caption


# ---------------------------------------------------------------------- panels
def _colors(panel):
    """RGB cell colours: white, grey marks, orange highlight, or a heat map."""
    from matplotlib.colors import to_rgb

    values = panel.values
    rgb = np.empty(values.shape + (3,))
    if panel.kind == "map":
        from matplotlib import colormaps

        finite = values[np.isfinite(values)]
        top = finite.max() if finite.size and finite.max() > 0 else 1.0
        rgb[:] = colormaps["YlOrRd"](0.05 + 0.55 * values / top)[..., :3]
    else:
        rgb[:] = to_rgb(COLORS["cell"])
    rgb[np.isnan(values)] = to_rgb(COLORS["empty"])
    for key, cells in (("mark", panel.marks), ("highlight", panel.highlight)):
        for r, c in cells:
            rgb[r, c] = to_rgb(COLORS[key])
    return rgb


def _cell_texts(panel):
    texts = {}
    for (r, c), v in np.ndenumerate(panel.values):
        if np.isnan(v):
            continue
        texts[r, c] = "·" if panel.kind == "matrix" and v == 0 else fmt_number(round(v, 3))
    return texts


def _draw_grid(ax, panel):
    rows, cols = panel.values.shape
    ax.imshow(_colors(panel), extent=(0, cols, rows, 0), interpolation="nearest")
    ax.set_xlim(0, cols)
    ax.set_ylim(rows, 0)
    ax.hlines(np.arange(rows + 1), 0, cols, color=COLORS["edge"], linewidth=0.6, clip_on=False)
    ax.vlines(np.arange(cols + 1), 0, rows, color=COLORS["edge"], linewidth=0.6, clip_on=False)
    texts = _cell_texts(panel)
    chars = max((len(t) for t in texts.values()), default=1)
    points = _cell_size(panel) * 72
    size = max(4.0, min(11.0, 0.45 * points, 1.5 * points / max(chars, 1)))
    for (r, c), text in texts.items():
        ax.text(c + 0.5, r + 0.5, text, ha="center", va="center", fontsize=size,
                color="#777777" if text == "·" else "black")
    if panel.outline is not None:
        from matplotlib.patches import Rectangle

        r0, c0, r1, c1 = panel.outline
        ax.add_patch(Rectangle((c0, r0), c1 - c0, r1 - r0, fill=False,
                               edgecolor=COLORS["outline"], linewidth=2.5, clip_on=False))


def _draw_text(ax, panel):
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.text(0.0, 1.0, "\n".join(panel.lines), ha="left", va="top", family="monospace",
            fontsize=8.5, linespacing=1.25)


def frame_figure(frame):
    """A matplotlib ``Figure`` of one frame: title, caption, panels side by side."""
    Figure, _ = require_matplotlib()
    sizes, slots, width, height, caption = _layout(frame)
    fig = Figure(figsize=(width, height), dpi=DPI, facecolor="white")
    fig.text(MARGIN / width, 1 - 0.3 / height, frame.title, fontsize=13, weight="bold",
             va="baseline")
    fig.text(MARGIN / width, 1 - (TITLE + 0.1) / height, "\n".join(caption), fontsize=10,
             va="top", linespacing=1.3)
    top = height - TITLE - 0.2 * len(caption) - 0.15 - PANEL_TITLE
    x = MARGIN
    for panel, (w, h), slot in zip(frame.panels, sizes, slots):
        ax = fig.add_axes((x / width, (top - h) / height, w / width, h / height))
        ax.set_axis_off()
        ax.set_title(panel.name, fontsize=9.5, loc="left", pad=5)
        (_draw_text if panel.kind == "text" else _draw_grid)(ax, panel)
        x += slot + GAP
    return fig


def frame_image(frame):
    """One frame as an RGB ``PIL.Image``."""
    _, Canvas = require_matplotlib()
    Image = _pillow()
    fig = frame_figure(frame)
    canvas = Canvas(fig)
    canvas.draw()
    return Image.fromarray(np.asarray(canvas.buffer_rgba())[..., :3].copy())


def _padded(images, size):
    Image = _pillow()
    out = []
    for img in images:
        canvas = Image.new("RGB", size, "white")
        canvas.paste(img, (0, 0))
        out.append(canvas)
    return out


def save_png(frames, path) -> tuple:
    """Draw ``frames`` one under another into one PNG; returns its (width, height)."""
    Image = _pillow()
    images = [frame_image(f) for f in frames]
    width = max(i.width for i in images)
    sheet = Image.new("RGB", (width, sum(i.height for i in images)), "white")
    y = 0
    for img in images:
        sheet.paste(img, (0, y))
        y += img.height
    sheet.save(path, format="PNG", optimize=True)
    return sheet.size


def save_gif(frames, path, duration=900) -> int:
    """Draw ``frames`` as an animated GIF (``duration`` ms each, the last held 3x, looping);
    returns the number of frames."""
    images = [frame_image(f) for f in frames]
    size = (max(i.width for i in images), max(i.height for i in images))
    Image = _pillow()
    paletted = [img.convert("P", palette=Image.ADAPTIVE, colors=128)
                for img in _padded(images, size)]
    durations = [duration] * len(paletted)
    durations[-1] = 3 * duration
    paletted[0].save(path, format="GIF", save_all=True, append_images=paletted[1:],
                     duration=durations, loop=0, disposal=1, optimize=False)
    return len(paletted)
