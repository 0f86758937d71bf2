"""One ``Conv`` / ``ConvTranspose`` node of an ONNX graph as a :class:`NodeReport`.

Every formula is :mod:`deconvkit.conventions.onnx`'s (``onnx_window``,
``onnx_conv_pads``) and :class:`~deconvkit.ConvSpec`'s; this module only gathers the
node's attributes and shapes, and words the pitfalls the tests pin
(tests/test_conventions_onnxruntime.py).
"""

from __future__ import annotations

from ..geometry import ConvSpec
from .inspect import NodeReport, verdict_of

__all__ = ["node_report"]

ORT_SWAP = ("ONNX Runtime before 1.13 swapped SAME_UPPER and SAME_LOWER for ConvTranspose "
            "(onnxruntime PR #12537; onnx issue #1609)")


def _attributes(node) -> dict:
    from onnx import helper

    out = {}
    for a in node.attribute:
        value = helper.get_attribute_value(a)
        if isinstance(value, bytes):
            value = value.decode(errors="replace")
        elif isinstance(value, (list, tuple)):
            value = [v.decode(errors="replace") if isinstance(v, bytes) else v for v in value]
        out[a.name] = value if isinstance(value, (int, float, str, list)) else repr(value)
    return out


def _known(dims):
    """Spatial sizes when every one is a known positive int, else None."""
    if dims is None or len(dims) < 3 or any(d is None or d < 1 for d in dims[2:]):
        return None
    return tuple(dims[2:])


def node_report(node, name, where, shapes) -> NodeReport:
    """The report of one node; ``shapes`` maps tensor names to dims (None: unknown)."""
    attrs = _attributes(node)
    report = NodeReport(name, node.op_type, where, list(node.input), list(node.output), attrs,
                        group=attrs.get("group", 1))
    weight = shapes.get(node.input[1]) if len(node.input) > 1 else None
    if weight is not None and None not in weight and len(weight) >= 3:
        report.weight_shape = tuple(weight)
        g = report.group
        c_in, c_out = (weight[0], weight[1] * g) if report.transposed else \
            (weight[1] * g, weight[0])
        report.channels = {"in": c_in, "out": c_out}
    if "kernel_shape" in attrs:
        report.kernel_shape, report.kernel_from = tuple(attrs["kernel_shape"]), "attribute"
    elif report.weight_shape is not None:
        report.kernel_shape, report.kernel_from = report.weight_shape[2:], "weight"
    report.input_size = _known(shapes.get(node.input[0]) if node.input else None)
    report.inferred_output_size = _known(shapes.get(node.output[0]) if node.output else None)
    if report.kernel_shape is None:
        report.error = ("kernel_shape unknown: no kernel_shape attribute and no known weight "
                        "shape")
        return report
    try:
        (_transposed if report.transposed else _forward)(report, attrs)
    except (ValueError, TypeError) as exc:
        report.error = " ".join(str(exc).split())
    return report


def _window_args(attrs):
    keys = ("auto_pad", "dilations", "group", "output_padding", "output_shape", "pads",
            "strides")
    return {k: attrs[k] for k in keys if k in attrs}


def _nominal_input(attrs, k):
    """An input size for which a NOTSET/VALID node's window is defined (it does not
    depend on the size)."""
    pads = attrs.get("pads") or [0] * (2 * len(k))
    d = attrs.get("dilations") or [1] * len(k)
    return tuple(pads[i] + pads[i + len(k)] + d[i] * (k[i] - 1) + 1 for i in range(len(k)))


def _transposed(report, attrs):
    from ..conventions import FRAMEWORKS, framework_call, onnx_spec, onnx_window

    k, m = report.kernel_shape, report.input_size
    mode = attrs.get("auto_pad", "NOTSET")
    sized = mode in ("SAME_UPPER", "SAME_LOWER") or "output_shape" in attrs
    if m is None and sized:
        what = "output_shape" if "output_shape" in attrs else f"auto_pad {mode}"
        report.pitfalls.append(f"the padding depends on the input size ({what}), which the "
                               "file does not state: no spec")
        return
    size = m if m is not None else _nominal_input(attrs, k)
    window = onnx_window(size, k, **_window_args(attrs))
    spec, extra = onnx_spec(size, k, **_window_args(attrs))
    report.spec = spec
    report.extra_zeros = extra if m is not None else None
    if spec is not None:
        try:
            report.verdict = verdict_of(spec, m)
        except ValueError as exc:
            report.pitfalls.append(f"no overlap verdict: {exc}")
    if m is None:
        report.pitfalls.append("input spatial size unknown: no sizes and no framework "
                               "spellings (they need it: TensorFlow's output_shape)")
        _output_padding_pitfall(report, attrs, window)
        return
    report.output_size = window.output_size(m)
    report.onnxruntime_output_size = _ort_size(report, attrs, window, mode)
    for fw in FRAMEWORKS:
        try:
            call = framework_call(fw, window, m)
        except (ValueError, TypeError) as exc:
            report.frameworks[fw] = {"code": None, "exact": False,
                                     "notes": [" ".join(str(exc).split())]}
            continue
        report.frameworks[fw] = {"code": call.code(), "exact": call.exact,
                                 "notes": list(call.notes)}
    _transposed_pitfalls(report, attrs, window, mode)


def _ort_size(report, attrs, window, mode):
    """ONNX Runtime's output size: with auto_pad SAME, no output_shape and
    ``d(k-1) + 1 + output_padding < stride``, the full scatter plus output_padding."""
    if mode not in ("SAME_UPPER", "SAME_LOWER") or "output_shape" in attrs:
        return report.output_size
    r = attrs.get("output_padding") or [0] * window.ndim
    full = window.full_size(report.input_size)
    return tuple(min(n, L + ri) for n, L, ri in zip(report.output_size, full, r))


def _output_padding_pitfall(report, attrs, window):
    r = attrs.get("output_padding") or [0] * window.ndim
    if any(ri >= s for ri, s in zip(r, window.stride)):
        report.pitfalls.append(
            f"output_padding {list(r)} >= stride {list(window.stride)} on some axis: the ONNX "
            "spec allows up to max(stride, dilation) - 1, but ONNX Runtime rejects it (it "
            "wants the forward conv of the output to give back the input size)")


def _transposed_pitfalls(report, attrs, window, mode):
    out, m = report.output_size, report.input_size
    r = attrs.get("output_padding") or [0] * window.ndim
    full = window.full_size(m)
    if report.onnxruntime_output_size != out:
        report.pitfalls.append(
            f"auto_pad {mode} with d(k-1) + 1 + output_padding < stride: the spec's output is "
            f"input * stride = {_x(out)} (zeros past the scatter), but ONNX Runtime and onnx "
            f"shape inference give {_x(report.onnxruntime_output_size)} (the full scatter "
            "plus output_padding)")
    if mode in ("SAME_UPPER", "SAME_LOWER") or "output_shape" in attrs:
        odd = [a for a, (L, ri, n) in enumerate(zip(full, r, out)) if (L + ri - n) % 2]
        if odd:
            report.pitfalls.append(
                f"{ORT_SWAP}: the total padding is odd on axis {_list(odd)}, so older "
                "runtimes shift this node's output by one pixel there")
        over = [a for a, (L, ri, n) in enumerate(zip(full, r, out)) if n > L + ri]
        if "output_shape" in attrs and over:
            report.pitfalls.append(
                f"output_shape exceeds the full scatter on axis {_list(over)}: ONNX Runtime and "
                "deconvkit add the extra zeros at the end; the ONNX reference implementation "
                "puts SAME_UPPER's at the start")
    if "output_shape" in attrs and "pads" in attrs:
        report.pitfalls.append("output_shape is given, so pads are ignored (ONNX Runtime "
                               "agrees)")
    _output_padding_pitfall(report, attrs, window)
    _framework_pitfalls(report, window)


def _framework_pitfalls(report, window):
    for fw, call in report.frameworks.items():
        if call["code"] is None:
            report.pitfalls.append(f"{fw}: not expressible: {call['notes'][0]}")
        elif not call["exact"]:
            why = f" ({call['notes'][0]})" if call["notes"] else ""
            report.pitfalls.append(
                f"{fw}: no single call crops the scatter by {list(window.crop)} (lo, hi per "
                f"axis); its code adds a slice or pad after the call{why}")


def _forward(report, attrs):
    from ..conventions import FORWARD_FRAMEWORKS, conv_spelling, onnx_conv_pads

    k, m = report.kernel_shape, report.input_size
    mode = attrs.get("auto_pad", "NOTSET")
    args = {key: attrs[key] for key in ("auto_pad", "pads", "strides", "dilations")
            if key in attrs}
    same = mode in ("SAME_UPPER", "SAME_LOWER")
    if m is None and same:
        report.pitfalls.append(f"auto_pad {mode}: the padding depends on the input size, "
                               "which the file does not state: no spec")
        return
    pads = onnx_conv_pads(m if m is not None else _nominal_input(attrs, k), k, **args)
    spec = ConvSpec(k, attrs.get("strides") or 1, pads, attrs.get("dilations") or 1,
                    report.group)
    report.spec, report.extra_zeros = spec, None
    if m is not None:
        report.output_size = report.onnxruntime_output_size = spec.conv_output_size(m)
    for fw in FORWARD_FRAMEWORKS:
        call = conv_spelling(fw, spec, m)
        report.frameworks[fw] = {"code": call.code, "exact": call.exact,
                                 "notes": list(call.notes)}
    if same and any(d != 1 for d in spec.dilation):
        report.pitfalls.append(f"auto_pad {mode} with dilations {list(spec.dilation)}: ONNX "
                               "Runtime's Conv refuses it (\"Dilation not supported for "
                               "AutoPadType::SAME_UPPER\"); the spec and deconvkit allow it")
    if same:
        report.pitfalls.append(f"auto_pad {mode}: the pads {list(spec.padding)} hold for "
                               "this input size only")
    if mode == "SAME_LOWER" and any(lo != hi for lo, hi in spec.padding):
        report.pitfalls.append("SAME_LOWER puts the odd pixel at the start; TensorFlow's and "
                               "Keras' 'SAME' put it at the end (SAME_UPPER)")
    if any(lo != hi for lo, hi in spec.padding):
        report.pitfalls.append(f"asymmetric pads {list(spec.padding)}: PyTorch needs F.pad "
                               "first, Caffe's Convolution cannot express them")
    for fw, call in report.frameworks.items():
        if not call["exact"] and fw != "caffe":
            report.pitfalls.append(f"{fw}: {call['notes'][-1]}")


def _x(size):
    return "x".join(map(str, size))


def _list(axes):
    return ", ".join(map(str, axes))
