"""Inspect ONNX model files: every ``Conv`` and ``ConvTranspose`` node, explained.

:func:`inspect_onnx` reads a model (a path, bytes or an ``onnx.ModelProto``), runs
``onnx.shape_inference`` and reports, per node, the attributes, the
:class:`~deconvkit.ConvSpec` they mean (via :mod:`deconvkit.conventions.onnx`, which
owns every ONNX formula), the spatial sizes, the overlap verdict of a transposed node
(:func:`~deconvkit.explain.checkerboard`), the spelling in PyTorch, TensorFlow, Keras,
Caffe and JAX, and the pitfalls that apply. Nodes inside subgraphs (``If``, ``Loop``,
``Scan`` bodies) are included, and so are nodes inside model-local functions (expanded
where they are called, ``onnx.inliner``; their ``graph`` names the call); ops of other
domains are listed as skipped. Needs the ``onnx`` package (the ``onnx`` extra).

``ModelReport.to_dict()`` (``deconvkit inspect --json``) is stable; its keys:

``schema`` (1), ``model`` (the path or ``"<model>"``), ``producer``, ``ir_version``,
``opset``, ``notes`` (model-level: failed shape inference ...), ``skipped`` (list of
``{name, op, graph, reason}``), and ``nodes``, one object per node with:

* ``name``, ``op`` (``"Conv"`` / ``"ConvTranspose"``), ``graph`` (``"main"`` or the path
  of a subgraph, ``"main/<node>.<attribute>"``), ``inputs``, ``outputs``;
* ``attributes``: the node's attributes as written (lists of ints, strings);
* ``kernel_shape`` and ``kernel_from`` (``"attribute"``, ``"weight"`` or ``null``),
  ``weight_shape``, ``channels`` (``{"in", "out"}``), ``group``;
* ``input_size``, ``output_size`` (spatial, ``null`` when unknown): the output by the
  ONNX spec (deconvkit); ``inferred_output_size`` (onnx shape inference) and
  ``onnxruntime_output_size`` (ONNX Runtime's, when known to differ from the spec; else
  equal to ``output_size``);
* ``spec``: ``{kernel_size, stride, padding, dilation, groups, output_padding}`` (padding
  as ``[lo, hi]`` pairs) or ``null``; ``spec_text``; ``extra_zeros`` (zeros a transposed
  node adds around ``conv_transpose(x, w, spec)``, per axis, usually all zero);
* ``verdict``: ``{kind, period, low, high, text}`` for a transposed node, else ``null``;
* ``frameworks``: ``{framework: {code, exact, notes}}``;
* ``pitfalls``: list of sentences; ``error``: why the node could not be read, or ``null``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..geometry import ConvSpec
from .overlap import checkerboard

__all__ = ["NodeReport", "ModelReport", "inspect_onnx", "load_onnx", "CONV_OPS"]

CONV_OPS = ("Conv", "ConvTranspose")
MAX_VERDICT_POSITIONS = 100_000
"""Largest transposed output the verdict is computed on; larger inputs use a smaller one."""


def _onnx():
    try:
        import onnx
    except ImportError:
        raise ImportError("reading ONNX models needs the onnx package: pip install "
                          "'deconvkit[onnx]'") from None
    return onnx


@dataclass
class NodeReport:
    """One ``Conv`` / ``ConvTranspose`` node (see the module notes for the fields)."""

    name: str
    op: str
    graph: str
    inputs: list
    outputs: list
    attributes: dict
    kernel_shape: tuple = None
    kernel_from: str = None
    weight_shape: tuple = None
    channels: dict = None
    group: int = 1
    input_size: tuple = None
    output_size: tuple = None
    inferred_output_size: tuple = None
    onnxruntime_output_size: tuple = None
    spec: ConvSpec = None
    extra_zeros: tuple = None
    verdict: object = None
    frameworks: dict = field(default_factory=dict)
    pitfalls: list = field(default_factory=list)
    error: str = None

    @property
    def transposed(self) -> bool:
        return self.op == "ConvTranspose"

    def to_dict(self) -> dict:
        """The node's JSON object (plain lists, ints and strings)."""
        out = {k: v for k, v in asdict(self).items()
               if k not in ("spec", "verdict", "frameworks")}
        spec = self.spec
        out["spec"] = None if spec is None else {
            "kernel_size": list(spec.kernel_size), "stride": list(spec.stride),
            "padding": [list(p) for p in spec.padding], "dilation": list(spec.dilation),
            "groups": spec.groups, "output_padding": list(spec.output_padding)}
        out["spec_text"] = None if spec is None else spec.describe()
        v = self.verdict
        out["verdict"] = None if v is None else {"kind": v.kind, "period": list(v.period),
                                                 "low": v.low, "high": v.high, "text": v.text}
        out["frameworks"] = {name: dict(call) for name, call in self.frameworks.items()}
        return _plain(out)


def _plain(value):
    """Tuples as lists, recursively (JSON's arrays)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


@dataclass
class ModelReport:
    """Every conv node of a model; iterating gives the :class:`NodeReport` s."""

    model: str
    producer: str
    ir_version: int
    opset: int
    nodes: list
    skipped: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    def __iter__(self):
        return iter(self.nodes)

    def __len__(self):
        return len(self.nodes)

    def __getitem__(self, index):
        return self.nodes[index]

    def to_dict(self) -> dict:
        """The ``--json`` document (see the module notes for the keys)."""
        return {"schema": 1, "model": self.model, "producer": self.producer,
                "ir_version": self.ir_version, "opset": self.opset, "notes": list(self.notes),
                "skipped": [dict(s) for s in self.skipped],
                "nodes": [n.to_dict() for n in self.nodes]}

    def text(self) -> str:
        """The plain-text report of ``deconvkit inspect``."""
        from .inspect_text import model_text

        return model_text(self)


# ---------------------------------------------------------------- reading the file
def load_onnx(source):
    """An ``onnx.ModelProto`` from a path, bytes or a model; ``ValueError`` if not ONNX."""
    onnx = _onnx()
    if isinstance(source, onnx.ModelProto):
        return source
    if isinstance(source, (bytes, bytearray)):
        data, name = bytes(source), "the bytes"
    elif isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise ValueError(f"{str(path)!r}: no such file" if not path.exists() else
                             f"{str(path)!r} is not a file")
        data, name = path.read_bytes(), repr(str(path))
    else:
        raise TypeError(f"expected a path, bytes or an onnx.ModelProto, got "
                        f"{type(source).__name__}")
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except Exception as exc:  # protobuf's DecodeError and friends
        raise ValueError(f"{name} is not an ONNX model (it does not parse as one: "
                         f"{' '.join(str(exc).split()) or type(exc).__name__})") from None
    if not model.ir_version or not model.HasField("graph"):
        raise ValueError(f"{name} is not an ONNX model (no IR version or no graph)")
    return model


def _dims(value_info):
    """Dimensions of a tensor ``ValueInfoProto``: ints, or None where unknown."""
    tensor = value_info.type.tensor_type
    if not value_info.type.HasField("tensor_type") or not tensor.HasField("shape"):
        return None
    return tuple(d.dim_value if d.HasField("dim_value") else None for d in tensor.shape.dim)


def _shapes(graph) -> dict:
    """Every tensor shape a graph (and its subgraphs) states: name -> dims."""
    shapes = {}
    for vi in list(graph.input) + list(graph.value_info) + list(graph.output):
        dims = _dims(vi)
        if dims is not None:
            shapes.setdefault(vi.name, dims)
    for init in graph.initializer:
        shapes[init.name] = tuple(init.dims)
    for node in graph.node:
        for sub in _subgraphs(node):
            shapes.update({k: v for k, v in _shapes(sub[1]).items() if k not in shapes})
    return shapes


def _subgraphs(node):
    """``(attribute name, graph)`` of a node's GRAPH / GRAPHS attributes."""
    for a in node.attribute:
        if a.HasField("g"):
            yield a.name, a.g
        for i, g in enumerate(a.graphs):
            yield f"{a.name}[{i}]", g


def _walk(graph, where="main", places=None):
    """``(node, graph path)`` for every node, depth first into subgraphs; ``places``, one
    per node of ``graph``, overrides the path of its nodes (where a function was called)."""
    for i, node in enumerate(graph.node):
        here = places[i] if places is not None else where
        yield node, here
        for attr, sub in _subgraphs(node):
            yield from _walk(sub, f"{here}/{node.name or node.op_type}.{attr}")


def _inline_functions(model, notes):
    """``model`` with its model-local functions expanded in place (``onnx.inliner``), and
    per node of the new main graph the path it is reported under: ``"main"``, or
    ``"main/<call>:<domain>.<function>"`` for the nodes a function call became.

    Without functions, or where the inliner is missing or fails (said in ``notes``), the
    model as it was and ``None``: its calls are then listed as skipped."""
    if not model.functions:
        return model, None
    try:
        from onnx.inliner import inline_local_functions
        inlined = inline_local_functions(model)
    except Exception as exc:   # an older onnx without the inliner, or one it cannot follow
        notes.append(f"model-local functions not expanded: {' '.join(str(exc).split())[:200]}")
        return model, None
    local = {(f.domain, f.name): f for f in model.functions}

    def size(node):   # how many nodes a call becomes (calls inside calls expanded too)
        f = local.get((node.domain, node.op_type))
        return 1 if f is None else sum(size(n) for n in f.node)

    places = []
    for node in model.graph.node:
        if (node.domain, node.op_type) in local:
            call = node.name or node.op_type
            places += [f"main/{call}:{node.domain}.{node.op_type}"] * size(node)
        else:
            places.append("main")
    if len(places) != len(inlined.graph.node):   # not the expansion counted: no places
        places = None
    names = sorted({f"{f.domain}.{f.name}" for f in model.functions})
    notes.append(f"model-local functions expanded: {', '.join(names)}")
    return inlined, places


def _inferred(model, notes):
    onnx = _onnx()
    infer = onnx.shape_inference.infer_shapes
    try:
        return infer(model, strict_mode=True, data_prop=True)
    except Exception as exc:  # strict: the first error; then what lenient inference finds
        notes.append(f"onnx shape inference: {' '.join(str(exc).split())[:300]}")
    try:
        return infer(model, data_prop=True)
    except Exception:  # a model shape inference cannot follow: keep what the file states
        return model


def _opset(model) -> int:
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)


def inspect_onnx(source) -> ModelReport:
    """Explain every ``Conv`` and ``ConvTranspose`` node of an ONNX model.

    Parameters
    ----------
    source : str, Path, bytes or onnx.ModelProto

    Returns
    -------
    report : ModelReport
        ``report.nodes`` (also ``list(report)``) holds one :class:`NodeReport` per node,
        in graph order, subgraphs after their node; ``report.text()`` and
        ``report.to_dict()`` are what ``deconvkit inspect`` prints.

    Raises
    ------
    ValueError
        A missing file, or one that is not an ONNX model.
    ImportError
        Without the ``onnx`` package.

    Notes
    -----
    A node whose attributes the ONNX spec rejects is still reported, with ``error`` set.
    """
    from .inspect_nodes import node_report

    model = load_onnx(source)
    notes = []
    model, places = _inline_functions(model, notes)
    shapes = _shapes(_inferred(model, notes).graph)
    local = {(f.domain, f.name) for f in model.functions}
    nodes, skipped = [], []
    for node, where in _walk(model.graph, places=places):
        name = node.name or f"{node.op_type}:{node.output[0] if node.output else '?'}"
        if node.op_type in CONV_OPS and node.domain in ("", "ai.onnx"):
            nodes.append(node_report(node, name, where, shapes))
        elif (node.domain, node.op_type) in local:
            skipped.append({"name": name, "op": node.op_type, "graph": where,
                            "reason": "model-local function: its nodes are not inspected"})
        elif "conv" in node.op_type.lower():
            skipped.append({"name": name, "op": f"{node.domain}.{node.op_type}", "graph": where,
                            "reason": "not the standard Conv/ConvTranspose (another op or "
                                      "domain)"})
    label = str(source) if isinstance(source, (str, Path)) else "<model>"
    return ModelReport(label, " ".join(filter(None, (model.producer_name,
                                                     model.producer_version))),
                       model.ir_version, _opset(model), nodes, skipped, notes)


def verdict_of(spec: ConvSpec, input_size):
    """The transposed map's verdict, on the node's input if small, else on a smaller one.

    The interior pattern depends on kernel, stride and dilation only, so a smaller input
    gives the same verdict.
    """
    core = ConvSpec(spec.kernel_size, spec.stride, spec.padding, spec.dilation, 1,
                    spec.output_padding)
    if input_size is None or math.prod(core.full_size(input_size)) > MAX_VERDICT_POSITIONS:
        input_size = tuple(2 * -(-e // s) + 4 + -(-(lo + hi) // s) for e, s, (lo, hi) in
                           zip(core.kernel_extent, core.stride, core.padding))
        while math.prod(core.full_size(input_size)) > MAX_VERDICT_POSITIONS and \
                max(input_size) > 1:
            input_size = tuple(max(m // 2, 1) for m in input_size)
    return checkerboard(core, input_size)["transposed"]
