"""Pictures of a convolution geometry: the views as PNG and GIF files, and the overlap map.

:func:`picture_views` builds the frames (:mod:`.views`) for the same arguments as
:func:`~deconvkit.explain.explain` (the convolution's input size, kernel, stride, ...),
or for a seed's worked example; :func:`save_pictures` and :func:`save_checkerboard`
draw them (:mod:`.draw`, matplotlib). Files are never replaced unless
``overwrite=True``.
"""

from __future__ import annotations

import io
from pathlib import Path


from ..functional import conv
from .frames import VIEWS
from .render import size_str
from .overlap import checkerboard, checkerboard_frame
from .seeds import SEED_001_D, SEED_001_MASK
from .matrices import make_spec
from .text import _kernel_values
from .views import views

__all__ = ["picture_views", "picture_geometry", "summary_frames", "save_pictures", "save_checkerboard",
           "EXAMPLES", "MAX_GIF_FRAMES"]

EXAMPLES = {1: "seed 001: a 4x4 input, a 3x3 kernel, the 16x4 matrix (C transposed)",
            2: "seed 002: a 3x3 image, a 2x2 filter, the 4x9 matrix V"}
MAX_GIF_FRAMES = 240
"""Most frames in one GIF."""


def _example(number):
    if number == 1:
        spec = make_spec((4, 4), 3)
        y = conv(SEED_001_D.reshape(1, 1, 4, 4), SEED_001_MASK[None, None])[0, 0]
        return spec, y.shape, y, SEED_001_MASK
    if number == 2:
        spec = make_spec((3, 3), 2)
        return spec, spec.conv_output_size((3, 3)), None, None
    raise ValueError(f"example must be one of {sorted(EXAMPLES)}, got {number!r}")


def picture_views(input_size=None, kernel_size=3, *, stride=1, padding=0, dilation=1,
                  output_padding=None, weights=None, example=1, which=VIEWS) -> dict:
    """The frames of each view, for a geometry or (``input_size=None``) a seed's example.

    Parameters
    ----------
    input_size : tuple of int, optional
        Spatial input size ``n`` of the convolution (1 or 2 axes); the pictures show
        its transpose, from the conv output size ``m`` back to ``n``.
    kernel_size, stride, padding, dilation, output_padding
        As for :func:`~deconvkit.explain.make_spec`.
    weights : array-like, optional
        Kernel values in C order; default ``1, 2, 3, ...``.
    example : {1, 2}
        The seed example drawn when ``input_size`` is None (see :data:`EXAMPLES`).
    which : sequence of str
        Views among :data:`~deconvkit.explain.frames.VIEWS`.

    Returns
    -------
    views : dict of str to list of Frame

    Examples
    --------
    >>> v = picture_views(example=1, which=("matrix",))
    >>> v["matrix"][0].panels[1].values.shape
    (16, 4)
    >>> picture_views((5,), 3, stride=2, which=("scatter",))["scatter"][-1].title
    'Scatter, last step: crop to the output'
    """
    spec, m, y, w = picture_geometry(input_size, kernel_size, stride=stride, padding=padding,
                                     dilation=dilation, output_padding=output_padding,
                                     weights=weights, example=example)
    return views(spec, m, y, w, which=which)


def picture_geometry(input_size=None, kernel_size=3, *, stride=1, padding=0, dilation=1,
                     output_padding=None, weights=None, example=1):
    """The ``(spec, m, y, w)`` that :func:`picture_views` draws for the same arguments:
    the spec, the transposed convolution's input size ``m``, and its input ``y`` and
    kernel ``w`` (None for the default ``1, 2, 3, ...``)."""
    if input_size is None:
        return _example(example)
    spec = make_spec(input_size, kernel_size, stride=stride, padding=padding,
                     dilation=dilation, output_padding=output_padding)
    w = None if weights is None else _kernel_values(weights, spec)
    return spec, spec.conv_output_size(tuple(input_size)), None, w


def summary_frames(views_: dict) -> list:
    """One frame per view for a PNG: the middle step (and the scatter's crop)."""
    frames = []
    for name, frames_of in views_.items():
        frames.append(frames_of[(len(frames_of) - 1) // 2] if name != "scatter" else
                      frames_of[min(1, len(frames_of) - 2)])
        if name == "scatter":
            frames.append(frames_of[-1])
    return frames


def check_target(path, overwrite):
    path = Path(path)
    if path.exists() and not overwrite:
        raise overwrite_error(path)
    return path


def overwrite_error(path) -> ValueError:
    return ValueError(f"would overwrite {str(path)!r}; pass overwrite=True (--overwrite)")


def write_figure(fig, path, overwrite, **savefig):
    """A matplotlib figure as a PNG at ``path``, written whole
    (:func:`deconvkit._files.write_file`); a file there is replaced only with
    ``overwrite`` (:func:`overwrite_error` otherwise, even if it appeared meanwhile)."""
    from .._files import write_file

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", **savefig)
    write_file(path, lambda file: file.write(buffer.getvalue()), overwrite=overwrite,
               exists_error=lambda: overwrite_error(path))
    return path


def save_pictures(views_: dict, *, png=None, gif=None, overwrite=False, duration=900) -> list:
    """Draw ``views_`` (from :func:`picture_views`) as a PNG sheet and/or an animated GIF.

    Parameters
    ----------
    views_ : dict of str to list of Frame
    png, gif : str or Path, optional
        Files to write: the PNG holds :func:`summary_frames`, the GIF every frame.
    overwrite : bool
        Replace existing files; otherwise an existing file raises ``ValueError``.
    duration : int
        Milliseconds per GIF frame.

    Returns
    -------
    lines : list of str
        What was written, one line per file.
    """
    from .draw import require_matplotlib, save_gif, save_png

    if png is None and gif is None:
        raise ValueError("give png or gif (a path to write)")
    targets = [(p, kind) for p, kind in ((png, "png"), (gif, "gif")) if p is not None]
    targets = [(check_target(p, overwrite), kind) for p, kind in targets]
    require_matplotlib()
    frames = [f for frames_of in views_.values() for f in frames_of]
    if gif is not None and len(frames) > MAX_GIF_FRAMES:
        raise ValueError(f"the GIF would have {len(frames)} frames, more than {MAX_GIF_FRAMES} "
                         "(MAX_GIF_FRAMES); choose fewer views (--view) or a smaller --input")
    counts = ", ".join(f"{name} {len(f)}" for name, f in views_.items())
    lines = []
    for path, kind in targets:
        if kind == "png":
            width, height = save_png(summary_frames(views_), path)
            lines.append(f"wrote {path}: {width}x{height} PNG, one step of each view ({counts})")
        else:
            count = save_gif(frames, path, duration)
            lines.append(f"wrote {path}: GIF of {count} frames ({counts})")
    return lines


def save_checkerboard(spec, input_size, png=None, *, overwrite=False) -> list:
    """The verdict of every overlap map as lines of text, and the maps drawn into ``png``."""
    verdicts = checkerboard(spec, input_size)
    lines = [f"Overlap of {spec.describe()}, transposed-conv input {size_str(input_size)}:"]
    lines += [f"  {name:<16} {v.text}" for name, v in verdicts.items()]
    if png is not None:
        path = check_target(png, overwrite)
        frame = checkerboard_frame(spec, input_size)
        from .draw import save_png

        width, height = save_png([frame], path)
        lines.append(f"wrote {path}: {width}x{height} PNG of the maps")
    return lines
