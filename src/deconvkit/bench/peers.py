"""Runners: deconvkit and the peers it is measured against (each optional)."""

from __future__ import annotations

import numpy as np

import deconvkit as dk


def deconvkit_runner(case, x, w, dy, method="auto"):
    """Forward: conv_transpose. Backward: input gradient (conv) + weight gradient."""
    spec = case.spec
    if not case.backward:
        return lambda: dk.conv_transpose(x, w, method=method, spec=spec)

    def backward():
        return (dk.conv(dy, w, method=method, spec=spec),
                dk.conv_transpose_weight_grad(x, dy, method=method, spec=spec))
    return backward


def torch_runner(case, x, w, dy):
    """PyTorch CPU ``torch.nn.functional.conv_transposeNd``; backward by autograd."""
    try:
        import torch
    except ImportError:
        return None, "torch not installed (pip install torch==2.13.0)"
    torch.set_num_threads(_threads())
    fn = getattr(torch.nn.functional, f"conv_transpose{case.ndim}d")
    tx, tw = torch.from_numpy(x), torch.from_numpy(w)
    kw = case.kwargs()
    if not case.backward:
        def forward():
            with torch.no_grad():
                return fn(tx, tw, **kw).numpy()
        return forward, None
    tx.requires_grad_(True)
    tw.requires_grad_(True)
    out = fn(tx, tw, **kw)
    tdy = torch.from_numpy(dy)

    def backward():
        gx, gw = torch.autograd.grad(out, (tx, tw), tdy, retain_graph=True)
        return gx.numpy(), gw.numpy()
    return backward, None


def onnxruntime_runner(case, x, w, dy):
    """ONNX Runtime's ``ConvTranspose`` (forward only), weights as an initializer."""
    if case.backward:
        return None, "forward only"
    try:
        import onnxruntime as ort
        from onnx import TensorProto, helper, numpy_helper
    except ImportError:
        return None, "onnxruntime/onnx not installed (pip install onnx onnxruntime)"
    nd = case.ndim
    node = helper.make_node("ConvTranspose", ["X", "W"], ["Y"], strides=[case.stride] * nd,
                            pads=[case.padding] * (2 * nd), group=case.groups,
                            kernel_shape=list(w.shape[2:]))
    graph = helper.make_graph(
        [node], "deconv", [helper.make_tensor_value_info("X", TensorProto.FLOAT, x.shape)],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)],
        initializer=[numpy_helper.from_array(w, "W")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    options = ort.SessionOptions()
    options.intra_op_num_threads = _threads()
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    return (lambda: session.run(None, {"X": x})[0]), None


def _threads():
    import os
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


PEERS = {"torch": torch_runner, "onnxruntime": onnxruntime_runner}


def first(result):
    """The output array of a runner's result (the input gradient for backward)."""
    return np.asarray(result[0] if isinstance(result, tuple) else result)
