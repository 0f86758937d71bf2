"""``inspect_onnx`` and ``deconvkit inspect`` on models built with onnx.helper and exported
by torch: the reported spec reproduces the node (deconvkit and ONNX Runtime agree on the
values), the reported sizes are ONNX Runtime's, the verdicts, the JSON keys, the errors."""

import json
import sys

import numpy as np
import pytest

import deconvkit as dk
from deconvkit.cli import main
from deconvkit.conventions import onnx_conv, onnx_conv_transpose
from deconvkit.explain import inspect_onnx

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
helper, TensorProto, numpy_helper = onnx.helper, onnx.TensorProto, onnx.numpy_helper

NODE_KEYS = {"name", "op", "graph", "inputs", "outputs", "attributes", "kernel_shape",
             "kernel_from", "weight_shape", "channels", "group", "input_size", "output_size",
             "inferred_output_size", "onnxruntime_output_size", "spec", "spec_text",
             "extra_zeros", "verdict", "frameworks", "pitfalls", "error"}
MODEL_KEYS = {"schema", "model", "producer", "ir_version", "opset", "notes", "skipped", "nodes"}


def one_node_model(op, x_shape, w, opset=22, **attrs):
    """X (graph input) -> op with W (an initializer) -> Y."""
    graph = helper.make_graph(
        [helper.make_node(op, ["X", "W"], ["Y"], name="n", **attrs)], "g",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, x_shape)],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(w, "W")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def run_ort(model, x):
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    options.log_severity_level = 3
    session = ort.InferenceSession(model.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def arrays(x_shape, w_shape, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(x_shape).astype(np.float32),
            rng.standard_normal(w_shape).astype(np.float32))


def from_spec(node, x, w):
    """What the reported spec means: conv_transpose(x, w, spec), zeros around it."""
    y = dk.conv_transpose(x, w, spec=node.spec)
    return np.pad(y, ((0, 0), (0, 0)) + tuple(node.extra_zeros))


TRANSPOSED = {
    "pads-strides": ((1, 2, 5, 4), (2, 3, 3, 3), dict(strides=[2, 3], pads=[1, 0, 2, 1])),
    "dilation-output-padding": ((1, 2, 4, 3), (2, 2, 3, 2),
                                dict(strides=[2, 3], dilations=[2, 1], output_padding=[1, 2],
                                     pads=[0, 1, 1, 0])),
    "group": ((1, 4, 3, 3), (4, 3, 2, 3), dict(strides=[2, 2], group=2, kernel_shape=[2, 3])),
    "same-upper": ((1, 1, 5, 4), (1, 2, 3, 3), dict(strides=[2, 2], auto_pad="SAME_UPPER")),
    "same-lower": ((1, 1, 5, 4), (1, 2, 3, 4), dict(strides=[2, 3], auto_pad="SAME_LOWER")),
    "output-shape": ((1, 2, 3, 3), (2, 1, 3, 3), dict(strides=[2, 2], output_shape=[6, 7])),
    "output-shape-pads": ((1, 1, 4), (1, 1, 3), dict(strides=[2], pads=[2, 0],
                                                     output_shape=[8])),
    "valid-3d": ((1, 1, 2, 3, 2), (1, 1, 2, 2, 3), dict(strides=[2, 1, 2], auto_pad="VALID")),
}


@pytest.mark.parametrize("case", sorted(TRANSPOSED))
def test_conv_transpose_spec_and_sizes_match_onnxruntime(case):
    x_shape, w_shape, attrs = TRANSPOSED[case]
    x, w = arrays(x_shape, w_shape)
    model = one_node_model("ConvTranspose", x_shape, w, **attrs)
    (node,) = inspect_onnx(model)
    expected = run_ort(model, x)
    assert node.op == "ConvTranspose" and node.error is None
    assert node.input_size == x_shape[2:]
    assert node.output_size == node.onnxruntime_output_size == expected.shape[2:]
    assert node.inferred_output_size == expected.shape[2:]
    assert node.kernel_shape == w_shape[2:]
    assert node.channels == {"in": w_shape[0], "out": w_shape[1] * attrs.get("group", 1)}
    np.testing.assert_allclose(from_spec(node, x, w), expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(onnx_conv_transpose(x, w, **attrs), expected, rtol=1e-4,
                               atol=1e-4)
    assert set(node.frameworks) == {"torch", "tensorflow", "keras", "onnx", "caffe", "jax"}
    assert node.verdict is not None


def test_asymmetric_and_odd_same_pitfalls():
    _, _, attrs = TRANSPOSED["same-lower"]
    x, w = arrays((1, 1, 5, 4), (1, 2, 3, 4))
    (node,) = inspect_onnx(one_node_model("ConvTranspose", x.shape, w, **attrs))
    assert node.spec.padding == ((1, 0), (1, 0))  # SAME_LOWER: the odd pixel at the start
    text = " ".join(node.pitfalls)
    assert "before 1.13 swapped SAME_UPPER and SAME_LOWER" in text
    assert "caffe: no single call" in text


def test_same_corner_reports_the_onnxruntime_size_and_the_spec_size():
    """d(k-1) + 1 + output_padding < stride: the spec says input * stride, ORT the full size."""
    x, w = arrays((1, 1, 3), (1, 1, 1))
    model = one_node_model("ConvTranspose", x.shape, w, strides=[2], auto_pad="SAME_UPPER")
    (node,) = inspect_onnx(model)
    assert node.output_size == (6,)
    assert node.onnxruntime_output_size == node.inferred_output_size == \
        run_ort(model, x).shape[2:] == (5,)
    assert any("ONNX Runtime and onnx shape inference give 5" in p for p in node.pitfalls)


def test_output_padding_at_least_stride_is_flagged():
    x, w = arrays((1, 1, 3), (1, 1, 3))
    model = one_node_model("ConvTranspose", x.shape, w, strides=[2], dilations=[3],
                           output_padding=[2])
    (node,) = inspect_onnx(model)
    assert node.output_size == (13,) and node.spec.output_padding == (2,)
    assert any("ONNX Runtime rejects it" in p for p in node.pitfalls)
    with pytest.raises(Exception, match="output_padding"):
        run_ort(model, x)


CONVS = {
    "pads-dilation-group": ((1, 4, 9, 8), (6, 2, 3, 2),
                            dict(strides=[2, 1], pads=[1, 0, 0, 1], dilations=[1, 2], group=2)),
    "same-lower": ((1, 1, 8, 7), (2, 1, 4, 3), dict(strides=[2, 2], auto_pad="SAME_LOWER")),
    "same-upper": ((1, 1, 7), (2, 1, 4), dict(strides=[3], auto_pad="SAME_UPPER")),
}


@pytest.mark.parametrize("case", sorted(CONVS))
def test_conv_spec_and_sizes_match_onnxruntime(case):
    x_shape, w_shape, attrs = CONVS[case]
    x, w = arrays(x_shape, w_shape)
    model = one_node_model("Conv", x_shape, w, **attrs)
    (node,) = inspect_onnx(model)
    expected = run_ort(model, x)
    assert node.output_size == node.inferred_output_size == expected.shape[2:]
    np.testing.assert_allclose(dk.conv(x, w, spec=node.spec), expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(onnx_conv(x, w, **attrs), expected, rtol=1e-4, atol=1e-4)
    assert node.verdict is None and node.kernel_from == "weight"
    assert set(node.frameworks) == {"torch", "tensorflow", "keras", "caffe", "jax"}


def test_conv_same_with_dilation_pitfall():
    x, w = arrays((1, 1, 5), (1, 1, 2))
    (node,) = inspect_onnx(one_node_model("Conv", x.shape, w, auto_pad="SAME_LOWER",
                                          dilations=[2]))
    assert node.output_size == (5,)
    assert any("Dilation not supported" in p for p in node.pitfalls)


def test_unknown_input_size():
    w = np.ones((1, 1, 3, 3), np.float32)
    (fixed,) = inspect_onnx(one_node_model("ConvTranspose", ["N", 1, "H", "W"], w,
                                           strides=[2, 2], pads=[1, 1, 1, 1]))
    assert fixed.spec == dk.ConvSpec((3, 3), 2, 1) and fixed.output_size is None
    assert fixed.verdict.kind == "periodic" and not fixed.frameworks
    (same,) = inspect_onnx(one_node_model("ConvTranspose", ["N", 1, "H", "W"], w,
                                          strides=[2, 2], auto_pad="SAME_UPPER"))
    assert same.spec is None and "depends on the input size" in same.pitfalls[0]


def test_verdicts():
    for k, kind in ((3, "periodic"), (4, "uniform")):
        w = np.ones((1, 1, k, k), np.float32)
        (node,) = inspect_onnx(one_node_model("ConvTranspose", [1, 1, 6, 6], w,
                                              strides=[2, 2], pads=[1, 1, 1, 1]))
        assert node.verdict.kind == kind


def test_subgraph_nodes_are_reported():
    w = numpy_helper.from_array(np.ones((1, 1, 2, 2), np.float32), "W")

    def branch(name, stride):
        node = helper.make_node("ConvTranspose", ["X", "W"], [f"Y{name}"], name=f"up_{name}",
                                strides=[stride, stride])
        return helper.make_graph([node], name, [], [
            helper.make_tensor_value_info(f"Y{name}", TensorProto.FLOAT, None)])

    cond = helper.make_tensor_value_info("c", TensorProto.BOOL, [])
    node = helper.make_node("If", ["c"], ["Y"], name="choose", then_branch=branch("a", 2),
                            else_branch=branch("b", 1))
    graph = helper.make_graph([node], "g", [cond, helper.make_tensor_value_info(
        "X", TensorProto.FLOAT, [1, 1, 3, 3])], [helper.make_tensor_value_info(
            "Y", TensorProto.FLOAT, None)], [w])
    report = inspect_onnx(helper.make_model(graph, opset_imports=[
        helper.make_opsetid("", 22)]))
    assert sorted((n.name, n.graph, n.output_size) for n in report) == [
        ("up_a", "main/choose.then_branch", (6, 6)), ("up_b", "main/choose.else_branch", (4, 4))]


def test_other_domains_are_skipped():
    w = numpy_helper.from_array(np.ones((1, 1, 3), np.float32), "W")
    graph = helper.make_graph(
        [helper.make_node("FusedConv", ["X", "W"], ["Y"], name="fused", domain="com.microsoft")],
        "g", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 1, 5])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)], [w])
    report = inspect_onnx(helper.make_model(graph, opset_imports=[
        helper.make_opsetid("", 22), helper.make_opsetid("com.microsoft", 1)]))
    assert len(report) == 0
    assert report.skipped[0]["op"] == "com.microsoft.FusedConv"
    assert "skipped:" in report.text() and "no Conv/ConvTranspose nodes" in report.text()


def function_model(nested=False):
    """X -> up1 -> up2 -> Y, each a call of the model-local function ``custom.Up`` (a
    stride-2 ConvTranspose; with ``nested``, ``custom.Up`` calls ``custom.Inner``, which
    holds the ConvTranspose, after a Relu)."""
    deconv = helper.make_node("ConvTranspose", ["x", "w"], ["y"], name="deconv",
                              strides=[2, 2], kernel_shape=[3, 3])
    opsets = [helper.make_opsetid("", 22), helper.make_opsetid("custom", 1)]
    functions = [helper.make_function("custom", "Up", ["x", "w"], ["y"], [deconv],
                                      opset_imports=opsets)]
    if nested:
        functions = [
            helper.make_function("custom", "Inner", ["x", "w"], ["y"], [deconv],
                                 opset_imports=opsets),
            helper.make_function("custom", "Up", ["x", "w"], ["y"], [
                helper.make_node("Relu", ["x"], ["r"], name="relu"),
                helper.make_node("Inner", ["r", "w"], ["y"], name="inner", domain="custom")],
                opset_imports=opsets)]
    rng = np.random.default_rng(0)
    graph = helper.make_graph(
        [helper.make_node("Up", ["X", "W1"], ["H"], name="up1", domain="custom"),
         helper.make_node("Up", ["H", "W2"], ["Y"], name="up2", domain="custom")], "g",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 4, 5, 5])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(rng.standard_normal(s).astype(np.float32), name)
         for name, s in (("W1", (4, 3, 3, 3)), ("W2", (3, 2, 3, 3)))])
    return helper.make_model(graph, opset_imports=opsets, functions=functions)


@pytest.mark.parametrize("nested", [False, True])
def test_nodes_inside_model_local_functions_are_reported_where_called(nested):
    model = function_model(nested)
    report = inspect_onnx(model)
    assert [(n.op, n.graph, n.input_size, n.output_size, n.weight_shape) for n in report] == [
        ("ConvTranspose", "main/up1:custom.Up", (5, 5), (11, 11), (4, 3, 3, 3)),
        ("ConvTranspose", "main/up2:custom.Up", (11, 11), (23, 23), (3, 2, 3, 3))]
    assert report.skipped == [] and "model-local functions expanded" in report.notes[0]
    x = np.random.default_rng(1).standard_normal((1, 4, 5, 5)).astype(np.float32)
    w1, w2 = (numpy_helper.to_array(i) for i in model.graph.initializer)
    first = from_spec(report.nodes[0], np.maximum(x, 0) if nested else x, w1)
    second = from_spec(report.nodes[1], np.maximum(first, 0) if nested else first, w2)
    np.testing.assert_allclose(second, run_ort(model, x), rtol=1e-4, atol=1e-4)


def test_functions_the_inliner_cannot_expand_are_listed_as_skipped(monkeypatch):
    import onnx.inliner

    def fail(model):
        raise RuntimeError("cannot inline this")
    monkeypatch.setattr(onnx.inliner, "inline_local_functions", fail)
    report = inspect_onnx(function_model())
    assert len(report) == 0 and "not expanded: cannot inline this" in report.notes[0]
    assert [(s["name"], s["op"]) for s in report.skipped] == [("up1", "Up"), ("up2", "Up")]
    assert "model-local function" in report.skipped[0]["reason"]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_torch_export(tmp_path):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, stride=2, padding=1),
        torch.nn.ReLU(),
        torch.nn.ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1, groups=2),
        torch.nn.ConvTranspose2d(4, 2, 4, stride=2, padding=1, dilation=1)).eval()
    x = torch.randn(1, 3, 11, 10)
    path = tmp_path / "net.onnx"
    torch.onnx.export(net, (x,), str(path), dynamo=False, input_names=["x"],
                      output_names=["y"], opset_version=17)
    report = inspect_onnx(path)
    assert [n.op for n in report] == ["Conv", "ConvTranspose", "ConvTranspose"]
    conv, up1, up2 = report
    assert conv.spec == dk.ConvSpec((3, 3), 2, 1) and conv.output_size == (6, 5)
    assert up1.spec == dk.ConvSpec((3, 3), 2, 1, groups=2, output_padding=1)
    assert up1.output_size == (12, 10) and up1.verdict.kind == "periodic"
    assert up2.verdict.kind == "uniform"
    y = run_ort(onnx.load(str(path)), x.numpy())
    with torch.no_grad():
        np.testing.assert_allclose(y, net(x).numpy(), rtol=1e-4, atol=1e-4)
    assert up2.output_size == up2.onnxruntime_output_size == y.shape[2:] == (24, 20)
    with torch.no_grad():
        mid = net[:3](x).numpy()
    w = net[3].weight.detach().numpy()
    np.testing.assert_allclose(from_spec(up2, mid, w) + net[3].bias.detach().numpy()[:, None,
                                                                                     None],
                               y, rtol=1e-4, atol=1e-4)
    assert up1.frameworks["torch"]["code"].endswith(
        "conv_transpose2d(x, w, stride=2, padding=1, output_padding=1, groups=2)")


# ---------------------------------------------------------------- the command
def test_cli_text_and_json(tmp_path, capsys):
    x_shape, w_shape, attrs = TRANSPOSED["same-upper"]
    path = tmp_path / "m.onnx"
    onnx.save(one_node_model("ConvTranspose", x_shape, np.ones(w_shape, np.float32), **attrs),
              str(path))
    assert main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert "ConvTranspose 'n'" in out and "sizes: input 5x4 -> output 10x8" in out
    assert "overlap: periodic" in out and "torch" in out
    assert main(["inspect", str(path), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) == MODEL_KEYS and doc["schema"] == 1
    (node,) = doc["nodes"]
    assert set(node) == NODE_KEYS
    assert node["output_size"] == [10, 8] and node["spec"]["padding"] == [[0, 1], [0, 1]]
    assert set(node["verdict"]) == {"kind", "period", "low", "high", "text"}
    assert set(node["frameworks"]["torch"]) == {"code", "exact", "notes"}


@pytest.mark.parametrize("content", [b"", b"not an onnx model \x00\xff" * 10, None])
def test_cli_refuses_garbage_and_missing_files(tmp_path, capsys, content):
    path = tmp_path / "bad.onnx"
    if content is not None:
        path.write_bytes(content)
    assert main(["inspect", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert ("no such file" if content is None else "not an ONNX model") in err


def test_cli_model_without_conv_nodes(tmp_path, capsys):
    graph = helper.make_graph([helper.make_node("Relu", ["X"], ["Y"])], "g",
                              [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 2])],
                              [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, 2])])
    path = tmp_path / "relu.onnx"
    onnx.save(helper.make_model(graph), str(path))
    assert main(["inspect", str(path)]) == 0
    assert "no Conv/ConvTranspose nodes" in capsys.readouterr().out
    assert main(["inspect", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["nodes"] == []


def test_cli_without_onnx_names_the_extra(tmp_path, capsys, monkeypatch):
    path = tmp_path / "m.onnx"
    path.write_bytes(b"x")
    monkeypatch.setitem(sys.modules, "onnx", None)
    assert main(["inspect", str(path)]) == 2
    assert "deconvkit[onnx]" in capsys.readouterr().err


def test_invalid_attributes_are_a_node_error():
    x, w = arrays((1, 1, 3), (1, 1, 3))
    (node,) = inspect_onnx(one_node_model("ConvTranspose", x.shape, w, strides=[2],
                                          pads=[5, 5]))
    assert node.error is not None and "no output" in node.error


def test_cli_html_report(tmp_path, capsys):
    x_shape, w_shape, attrs = TRANSPOSED["same-upper"]
    path, html = tmp_path / "m.onnx", tmp_path / "m.html"
    onnx.save(one_node_model("ConvTranspose", x_shape, np.ones(w_shape, np.float32), **attrs),
              str(path))
    assert main(["inspect", str(path), "--json", "--html", str(html)]) == 0
    assert json.loads(capsys.readouterr().out)["nodes"][0]["name"] == "n"  # stdout stays JSON
    text = html.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and 'id="node-0"' in text
    assert "ConvTranspose n" in text and "periodic with period 2" in text and "<td" in text
    assert main(["inspect", str(path), "--html", str(html)]) == 2  # no --overwrite
    assert "would overwrite" in capsys.readouterr().err
    assert main(["inspect", str(path), "--html", str(html), "--overwrite"]) == 0
    assert "wrote" in capsys.readouterr().out
