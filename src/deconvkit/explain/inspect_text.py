"""The plain-text report of :func:`~deconvkit.explain.inspect_onnx`."""

from __future__ import annotations

__all__ = ["model_text", "node_text", "NO_CONV"]

NO_CONV = "no Conv/ConvTranspose nodes"


def _x(size):
    return "?" if size is None else "x".join(map(str, size))


def _attr_text(node) -> str:
    parts = [f"{k}={v}" for k, v in node.attributes.items() if k != "kernel_shape"]
    if node.kernel_shape is not None:
        source = "" if node.kernel_from == "attribute" else " (from the weight)"
        parts.insert(0, f"kernel_shape={list(node.kernel_shape)}{source}")
    return ", ".join(parts) or "(none)"


def _sizes_text(node) -> str:
    text = f"input {_x(node.input_size)} -> output {_x(node.output_size)}"
    extra = []
    if node.inferred_output_size is not None:
        extra.append(f"onnx shape inference: {_x(node.inferred_output_size)}")
    if node.onnxruntime_output_size not in (None, node.output_size):
        extra.append(f"ONNX Runtime: {_x(node.onnxruntime_output_size)}")
    return text + (f" ({'; '.join(extra)})" if extra else "")


def node_text(node) -> str:
    """A few indented lines about one node."""
    io = f"{', '.join(i for i in node.inputs if i)} -> {', '.join(node.outputs)}"
    where = "" if node.graph == "main" else f" in {node.graph}"
    lines = [f"{node.op} {node.name!r}{where}: {io}",
             f"  attributes: {_attr_text(node)}"]
    if node.weight_shape is not None:
        lines.append(f"  weight {tuple(node.weight_shape)}: {node.channels['in']} -> "
                     f"{node.channels['out']} channels, group {node.group}")
    if node.error is not None:
        lines.append(f"  error: {node.error}")
    if node.spec is not None:
        kind = "the transposed convolution (adjoint) of" if node.transposed else "the"
        lines.append(f"  means: {kind} conv with {node.spec.describe()}")
        if node.extra_zeros and any(a or b for a, b in node.extra_zeros):
            lines.append(f"    plus zeros around conv_transpose's output: "
                         f"{list(node.extra_zeros)} (before, after) per axis")
    lines.append(f"  sizes: {_sizes_text(node)}")
    if node.verdict is not None:
        lines.append(f"  overlap: {node.verdict.text}")
    if node.frameworks:
        lines.append("  in other frameworks:")
        for fw, call in node.frameworks.items():
            if call["code"] is None:
                lines.append(f"    {fw}: not expressible: {call['notes'][0]}")
                continue
            lines.append(f"    {fw}{'' if call['exact'] else ' (not exact)'}:")
            lines += [f"      {line}" for line in call["code"].splitlines()]
            lines += [f"      # {note}" for note in call["notes"]]
    if node.pitfalls:
        lines.append("  pitfalls:")
        lines += [f"    - {p}" for p in node.pitfalls]
    return "\n".join(lines)


def model_text(report) -> str:
    """The whole report: a header, one block per node, the skipped nodes."""
    head = (f"{report.model}: ONNX IR {report.ir_version}, opset {report.opset}"
            + (f", from {report.producer}" if report.producer else ""))
    counts = {op: sum(n.op == op for n in report.nodes) for op in ("Conv", "ConvTranspose")}
    blocks = [head, f"{counts['Conv']} Conv, {counts['ConvTranspose']} ConvTranspose"
              if report.nodes else f"{NO_CONV} in {report.model}"]
    blocks += [f"note: {n}" for n in report.notes]
    text = "\n".join(blocks) + "\n"
    for node in report.nodes:
        text += "\n" + node_text(node) + "\n"
    if report.skipped:
        text += "\nskipped:\n" + "".join(f"  {s['op']} {s['name']!r} in {s['graph']}: "
                                          f"{s['reason']}\n" for s in report.skipped)
    return text
