"""``deconvkit inspect MODEL``: every Conv / ConvTranspose node of an ONNX model, explained.

A file that is missing or is not an ONNX model is a one-line error and exit status 2. A
model without Conv/ConvTranspose nodes is not an error: the report says "no
Conv/ConvTranspose nodes" (``"nodes": []`` in JSON) and the exit status is 0.
"""

from __future__ import annotations

import json

from .common import check_output_path, write


def run(args) -> int:
    from ..explain.inspect import inspect_onnx

    if args.html is not None:
        check_output_path(args.html, "--html", overwrite=args.overwrite)
    report = inspect_onnx(args.model)
    if args.json:
        write(json.dumps(report.to_dict(), indent=2) + "\n")
    else:
        write(report.text())
    if args.html is not None:
        from ..explain.inspect_html import inspect_page
        from ..explain.report import save_html

        line = save_html(inspect_page(report), args.html, overwrite=args.overwrite)
        if not args.json:  # stdout stays one JSON document
            write(line + "\n")
    return 0


def add(subparsers) -> None:
    p = subparsers.add_parser(
        "inspect", help="explain every Conv / ConvTranspose node of an ONNX model",
        description="Read an ONNX model and explain each Conv and ConvTranspose node "
                    "(subgraphs included): its attributes, the ConvSpec they mean, the "
                    "input and output sizes (onnx shape inference), the overlap verdict of a "
                    "transposed node, the same layer in PyTorch, TensorFlow, Keras, Caffe and "
                    "JAX, and the pitfalls that apply (ONNX Runtime's SAME corners, "
                    "output_padding >= stride, asymmetric pads). Needs the onnx package.",
        epilog="--json keys: schema, model, producer, ir_version, opset, notes, skipped, "
               "nodes[] with name, op, graph, inputs, outputs, attributes, kernel_shape, "
               "kernel_from, weight_shape, channels, group, input_size, output_size, "
               "inferred_output_size, onnxruntime_output_size, spec, spec_text, extra_zeros, "
               "verdict, frameworks, pitfalls, error (see deconvkit.explain.inspect). Exit "
               "status 0 also when the model has no Conv/ConvTranspose nodes; 2 for a "
               "missing file or one that is not an ONNX model.")
    p.add_argument("model", metavar="MODEL", help="an ONNX model file (.onnx)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--html", metavar="PATH",
                   help="also write the report as one self-contained HTML page, with the "
                        "overlap maps of each transposed node")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --html file")
    p.set_defaults(run=run)
