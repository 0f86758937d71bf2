"""The HTML report of ``deconvkit explain --html``: the views and the overlap maps of one
geometry on one self-contained page (:func:`~deconvkit.explain.html.page`).

Every number on the page is the frame model's (:mod:`.views`, :mod:`.overlap`), written
as table text; the words say what each view shows.
"""

from __future__ import annotations

from .frames import VIEWS, MAX_CELLS
from .html import Section, page
from .overlap import NAMES, checkerboard, checkerboard_frame
from .pictures import check_target
from .render import size_str
from .views import views

__all__ = ["WORDS", "view_sections", "overlap_section", "explain_page", "checkerboard_page",
           "save_html"]

WORDS = {
    "sizes": ("Sizes and spellings",
              "How big everything is. A transposed convolution takes the convolution's output "
              "size m back to its input size: the full scatter has length (m-1)s + d(k-1) + 1, "
              "the padding crops it, and output_padding picks one of the stride's possible "
              "sizes (all of which the convolution maps back to m). Below: the same layer "
              "spelled in each framework."),
    "scatter": ("Scatter: stamp and add",
                "Each input value y[i] multiplies the whole kernel (not flipped) and is added "
                "into the output starting at i·stride: a stamp. Where stamps overlap they add "
                "up. The last step crops the full scatter by the padding (outlined in blue)."),
    "zeros": ("Zero insertion: a stride-1 convolution with the flipped kernel",
              "The same output as an ordinary convolution: insert stride - 1 zeros between "
              "the inputs, pad by d(k-1) - p (grey cells), and slide the kernel flipped "
              "(rotated 180°) at stride 1. This is the \"fractionally strided\" view: easy to "
              "picture, but most products are with inserted zeros."),
    "matrix": ("Matrix: the transpose of the convolution",
               "A convolution is a matrix C, one row per output (y = C x). The transposed "
               "convolution multiplies by Cᵀ: z[o] is row o of Cᵀ, that is column o of C, "
               "times y. That is why it is the convolution's gradient and why a "
               "\"deconvolution\" layer is the adjoint of C, not its inverse."),
    "polyphase": ("Polyphase: one sub-kernel per output phase",
                  "Group the outputs by position modulo the stride. Each group (phase) is a "
                  "stride-1 convolution of y with a sub-kernel w[q::s], the taps that land "
                  "on that phase: no multiplications by zeros (the sub-pixel view). "
                  "Sub-kernels of different sizes are where checkerboard patterns come from."),
}

OVERLAP_WORDS = (
    "How many kernel taps reach each output position, computed with the library on "
    "all-ones arrays. For the transposed convolution the count is uneven, a checkerboard, "
    "when the kernel extent is not a multiple of the stride (Odena, Dumoulin and Olah, "
    "\"Deconvolution and Checkerboard Artifacts\", Distill 2016). Beside it: its input "
    "gradient (the strided convolution) and the usual alternatives, resize then convolve "
    "and convolve then pixel-shuffle (ICNR init). The verdict reads each map's interior.")


def view_sections(views_: dict) -> list:
    """One :class:`~.html.Section` per view (from :func:`~.views.views`), with its words."""
    return [Section(WORDS[name][0], tuple(frames), WORDS[name][1], key=name)
            for name, frames in views_.items()]


def overlap_section(spec, m) -> Section:
    """The overlap maps of ``spec`` for input size ``m`` with their verdicts; the maps are
    left out (the verdicts kept) when a map is wider than MAX_CELLS."""
    verdicts = checkerboard(spec, m)
    notes = tuple(f"{NAMES[name]}: {v.text}" for name, v in verdicts.items())
    try:
        frames = (checkerboard_frame(spec, m),)
    except ValueError as exc:  # too large to draw: keep the verdicts
        frames, notes = (), notes + (f"(maps not drawn: {exc})",)
    text = OVERLAP_WORDS + f"\n\nVerdict for the layer: {verdicts['transposed'].text}."
    return Section("Overlap and checkerboard", frames, text, key="overlap", notes=notes)


def explain_page(spec, m, y=None, w=None, *, which=VIEWS, title=None) -> str:
    """The HTML report of ``conv_transpose`` for ``spec`` and input size ``m``: the views
    ``which`` step by step, then the overlap maps and their verdict.

    Parameters
    ----------
    spec : ConvSpec
        1-D or 2-D, single channel (the limits of :func:`~.frames.check_drawable`).
    m : tuple of int
        Spatial size of the transposed convolution's input.
    y, w : array-like, optional
        Its input and kernel; default ``1, 2, 3, ...``.
    which : sequence of str
        Views among :data:`~.frames.VIEWS`.
    title : str, optional

    Returns
    -------
    html : str

    Examples
    --------
    >>> from deconvkit.geometry import ConvSpec
    >>> html = explain_page(ConvSpec(3, stride=2), (4,))
    >>> 'id="scatter-4"' in html and "periodic with period 2" in html
    True
    """
    v = views(spec, m, y, w, which=which)
    t = spec.transpose_output_size(m)
    title = title or f"Transposed convolution, {size_str(m)} -> {size_str(t)}"
    intro = (f"{spec.describe()}. The layer's input y is {size_str(m)}, its output z "
             f"{size_str(t)}: conv_transpose(y, w), the adjoint of the convolution that maps "
             f"{size_str(t)} to {size_str(m)}. Every number below is computed by deconvkit. "
             "Each view is one way to see the same result; step through it with the "
             "buttons or the arrow keys (without JavaScript every step is listed).")
    return page(title, view_sections(v) + [overlap_section(spec, m)], intro=intro)


def checkerboard_page(spec, m) -> str:
    """The overlap maps and verdicts of ``spec`` for input size ``m`` as an HTML page."""
    title = f"Overlap maps, {spec.describe()}"
    intro = (f"The transposed convolution's input is {size_str(m)}; at most {MAX_CELLS} cells "
             "per axis are drawn.")
    return page(title, [overlap_section(spec, m)], intro=intro)


def save_html(html: str, path, *, overwrite=False) -> str:
    """Write ``html`` to ``path`` (UTF-8); an existing file raises ``ValueError`` unless
    ``overwrite``. Returns the line to print."""
    path = check_target(path, overwrite)
    path.write_text(html, encoding="utf-8")
    return f"wrote {path}: HTML page, {len(html.encode('utf-8')) / 1024:.0f} KB, self-contained"
