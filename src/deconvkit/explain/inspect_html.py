"""``deconvkit inspect --html``: the model report as one self-contained HTML page
(:func:`~deconvkit.explain.html.page`), one section per node, with the overlap maps of each
transposed node drawn small (the verdict holds for any input size)."""

from __future__ import annotations

from ..geometry import ConvSpec
from .frames import MAX_CELLS
from .html import Section, page
from .overlap import checkerboard_frame

__all__ = ["inspect_page"]


def _small_input(spec: ConvSpec):
    """An input whose overlap maps fit in MAX_CELLS per axis, or None."""
    m = tuple(max(2 * -(-e // s) + 2, 3) for e, s in zip(spec.kernel_extent, spec.stride))
    ok = all(L <= MAX_CELLS for L in spec.full_size(m))
    return m if ok else None


def _frames(node):
    if node.spec is None or not node.transposed or node.spec.ndim > 2:
        return ()
    core = ConvSpec(node.spec.kernel_size, node.spec.stride, 0, node.spec.dilation)
    m = _small_input(core)
    try:
        return () if m is None else (checkerboard_frame(core, m),)
    except ValueError:  # too large to draw: the verdict is in the words
        return ()


def _section(index, node, draw) -> Section:
    from .inspect_text import _attr_text, _sizes_text

    words = [f"Inputs {', '.join(i for i in node.inputs if i)}; outputs "
             f"{', '.join(node.outputs)}; graph {node.graph}.",
             f"Attributes: {_attr_text(node)}."]
    if node.error:
        words.append(f"Error: {node.error}")
    if node.spec is not None:
        words.append(("The transposed convolution (adjoint) of the conv with " if
                      node.transposed else "The conv with ") + node.spec.describe() + ".")
    words.append(f"Sizes: {_sizes_text(node)}.")
    if node.verdict is not None:
        words.append(f"Overlap (maps drawn on a small input): {node.verdict.text}.")
    notes = []
    for fw, call in node.frameworks.items():
        code = "; ".join((call["code"] or "not expressible").splitlines())
        notes.append(f"{fw}{'' if call['exact'] else ' (not exact)'}: {code}")
    notes += [f"pitfall: {p}" for p in node.pitfalls]
    return Section(f"{node.op} {node.name}", _frames(node) if draw else (),
                   "\n\n".join(words), key=f"node-{index}", notes=tuple(notes))


def inspect_page(report) -> str:
    """The HTML page of a :class:`~deconvkit.explain.inspect.ModelReport`.

    Maps are left out (the words kept) when all of them would not fit on one page.
    """
    from .inspect_text import NO_CONV

    intro = (f"{report.model}: ONNX IR {report.ir_version}, opset {report.opset}"
             + (f", from {report.producer}" if report.producer else "") + ". "
             + (f"{len(report.nodes)} Conv/ConvTranspose nodes." if report.nodes else
                f"{NO_CONV}.")
             + "".join(f"\n\nNote: {n}" for n in report.notes)
             + "".join(f"\n\nSkipped {s['op']} {s['name']} in {s['graph']}: {s['reason']}"
                       for s in report.skipped))
    title = f"deconvkit inspect: {report.model}"
    try:
        return page(title, [_section(i, n, True) for i, n in enumerate(report.nodes)],
                    intro=intro)
    except ValueError:  # too many cells: words only
        return page(title, [_section(i, n, False) for i, n in enumerate(report.nodes)],
                    intro=intro)
