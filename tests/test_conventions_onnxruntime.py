"""onnx_conv_transpose / onnx_conv / onnx_call against ONNX Runtime, and where runtimes differ.

ONNX Runtime follows the spec's formulas except in two corners, pinned below so that a
change in either runtime shows up: ``auto_pad`` SAME with ``d(k-1) + 1 + output_padding <
stride`` (ORT returns the full size instead of ``input * stride``), and
``output_padding >= stride`` (ORT requires the forward conv of the output to give back
the input size). The property tests draw from the domain where the spec and ORT agree.
"""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import deconvkit as dk
from deconvkit.conventions import framework_call, onnx_conv, onnx_conv_transpose
from deconvkit.testing import conv_cases, random_arrays, rel_error

ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")
helper = onnx.helper


def run_ort(op, inputs, **attrs):
    """One-node model, run by ONNX Runtime's CPU provider (opset 22)."""
    names = ["X", "W", "B"][:len(inputs)]
    elem = helper.np_dtype_to_tensor_dtype(inputs[0].dtype)
    graph = helper.make_graph(
        [helper.make_node(op, names, ["Y"], **attrs)], "g",
        [helper.make_tensor_value_info(n, elem, a.shape) for n, a in zip(names, inputs)],
        [helper.make_tensor_value_info("Y", elem, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 22)])
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    options.log_severity_level = 3
    session = ort.InferenceSession(model.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    return session.run(None, dict(zip(names, inputs)))[0]


@st.composite
def onnx_problems(draw):
    """ConvTranspose attributes in the domain where the spec and ONNX Runtime agree."""
    ndim = draw(st.sampled_from((1, 2, 3)))
    small = ndim == 3
    k = [draw(st.integers(1, 3 if small else 4)) for _ in range(ndim)]
    s = [draw(st.integers(1, 3)) for _ in range(ndim)]
    d = [draw(st.integers(1, 2)) for _ in range(ndim)]
    r = [draw(st.integers(0, si - 1)) for si in s]
    m = [draw(st.integers(1, 2 if small else 4)) for _ in range(ndim)]
    e = [di * (ki - 1) + 1 for ki, di in zip(k, d)]
    full = [(mi - 1) * si + ei for mi, si, ei in zip(m, s, e)]
    mode = draw(st.sampled_from(("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID", "shape")))
    attrs = {"strides": s, "dilations": d, "output_padding": r}
    if mode == "NOTSET":
        attrs["pads"] = [draw(st.integers(0, ei)) for ei in e] + \
            [draw(st.integers(0, ei)) for ei in e]
        assume(all(L - a - b + ri >= 1 for L, a, b, ri in
                   zip(full, attrs["pads"][:ndim], attrs["pads"][ndim:], r)))
    elif mode == "shape":
        attrs["output_shape"] = [draw(st.integers(1, L + si - 1)) for L, si in zip(full, s)]
        attrs["auto_pad"] = draw(st.sampled_from(("NOTSET", "SAME_UPPER", "SAME_LOWER")))
    else:
        attrs["auto_pad"] = mode
        if mode != "VALID":  # ORT's corner: no zeros beyond the full size without output_shape
            assume(all(ei + ri >= si for ei, ri, si in zip(e, r, s)))
    g = draw(st.integers(1, 3))
    attrs["group"] = g
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    dtype = np.float32  # ONNX Runtime's CPU provider has no float64 Conv/ConvTranspose
    c_in, c_out = g * draw(st.integers(1, 3)), g * draw(st.integers(1, 3))
    x = rng.standard_normal([draw(st.integers(1, 2)), c_in] + m).astype(dtype)
    w = rng.standard_normal([c_in, c_out // g] + k).astype(dtype)
    return x, w, rng.standard_normal(c_out).astype(dtype), attrs


def tol(dtype):
    return 2e-5 if dtype == np.float32 else 1e-12


@given(onnx_problems())
def test_onnx_conv_transpose_matches_onnxruntime(problem):
    x, w, b, attrs = problem
    expected = run_ort("ConvTranspose", [x, w, b], **attrs)
    got = onnx_conv_transpose(x, w, b, **attrs)
    assert got.shape == expected.shape and got.dtype == expected.dtype
    assert rel_error(got, expected) < tol(x.dtype)


@given(case=conv_cases(dtypes=(np.float32,)))
def test_onnx_call_runs_in_onnxruntime(case):
    """Reverse direction: explicit pads and output_padding reproduce every spec (r < s)."""
    assume(all(r < s for r, s in zip(case.spec.output_padding, case.spec.stride)))
    _, w, y = random_arrays(case)
    call = framework_call("onnx", case.spec, case.input_size)
    out = call.finish(run_ort("ConvTranspose", [y, w], **call.args))
    assert rel_error(out, dk.conv_transpose(y, w, **case.transpose_kwargs())) < tol(case.dtype)


@st.composite
def conv_problems(draw):
    ndim = draw(st.sampled_from((1, 2, 3)))
    k = [draw(st.integers(1, 3)) for _ in range(ndim)]
    s = [draw(st.integers(1, 3)) for _ in range(ndim)]
    d = [draw(st.integers(1, 2)) for _ in range(ndim)]
    n = [di * (ki - 1) + 1 + draw(st.integers(0, 3)) for ki, di in zip(k, d)]
    mode = draw(st.sampled_from(("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID")))
    attrs = {"strides": s, "dilations": d, "auto_pad": mode}
    if mode == "NOTSET":
        attrs["pads"] = [draw(st.integers(0, 2)) for _ in range(2 * ndim)]
    elif mode.startswith("SAME"):  # ORT: "Dilation not supported for AutoPadType::SAME_UPPER"
        attrs["dilations"] = [1] * ndim
    g = draw(st.integers(1, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    x = rng.standard_normal([1, g * draw(st.integers(1, 3))] + n).astype(np.float32)
    w = rng.standard_normal([g * draw(st.integers(1, 3)), x.shape[1] // g] + k).astype(x.dtype)
    return x, w, rng.standard_normal(w.shape[0]).astype(x.dtype), dict(attrs, group=g)


@given(conv_problems())
def test_onnx_conv_matches_onnxruntime(problem):
    x, w, b, attrs = problem
    expected = run_ort("Conv", [x, w, b], **attrs)
    assert rel_error(onnx_conv(x, w, b, **attrs), expected) < tol(x.dtype)


# ---------------------------------------------------------------- SAME_UPPER / SAME_LOWER
def test_same_upper_and_lower_put_the_odd_pixel_at_opposite_ends():
    x = np.array([[[1.0, 2.0, 3.0]]], np.float32)
    w = np.array([[[1.0, 10.0, 100.0]]], np.float32)  # full: 1 10 102 20 203 30 300
    for mode, expected in (("SAME_UPPER", [1, 10, 102, 20, 203, 30]),
                           ("SAME_LOWER", [10, 102, 20, 203, 30, 300])):
        assert onnx_conv_transpose(x, w, auto_pad=mode, strides=[2]).ravel().tolist() == expected
        assert run_ort("ConvTranspose", [x, w], auto_pad=mode, strides=[2]).ravel().tolist() \
            == expected


# ---------------------------------------------------------------- where runtimes disagree
def test_disagreement_same_when_kernel_plus_output_padding_is_below_stride():
    """Spec: SAME output is input * stride (zeros after the full output); ORT: full size."""
    x, w = np.array([[[1.0, 2.0, 3.0]]], np.float32), np.ones((1, 1, 1), np.float32)
    ours = onnx_conv_transpose(x, w, auto_pad="SAME_UPPER", strides=[2])
    assert ours.ravel().tolist() == [1, 0, 2, 0, 3, 0]
    assert run_ort("ConvTranspose", [x, w], auto_pad="SAME_UPPER",
                   strides=[2]).ravel().tolist() == [1, 0, 2, 0, 3]


def test_disagreement_reference_puts_same_upper_extension_first():
    """output_shape beyond the full size: ORT and deconvkit add zeros at the end; the ONNX
    reference implementation's floor division (-1 // 2 = -1) puts SAME_UPPER's at the start."""
    from onnx.reference import ReferenceEvaluator

    x = np.array([[[1.0, 2.0, 3.0]]], np.float32)
    w = np.array([[[1.0, 10.0, 100.0]]], np.float32)
    attrs = dict(auto_pad="SAME_UPPER", strides=[2], output_shape=[8])
    ours = onnx_conv_transpose(x, w, **attrs).ravel().tolist()
    assert ours == [1, 10, 102, 20, 203, 30, 300, 0]
    assert run_ort("ConvTranspose", [x, w], **attrs).ravel().tolist() == ours
    node = helper.make_node("ConvTranspose", ["X", "W"], ["Y"], **attrs)
    graph = helper.make_graph([node], "g", [
        helper.make_tensor_value_info("X", onnx.TensorProto.FLOAT, x.shape),
        helper.make_tensor_value_info("W", onnx.TensorProto.FLOAT, w.shape)],
        [helper.make_tensor_value_info("Y", onnx.TensorProto.FLOAT, None)])
    ref = ReferenceEvaluator(helper.make_model(graph)).run(None, {"X": x, "W": w})[0]
    assert ref.ravel().tolist() == [0, 1, 10, 102, 20, 203, 30, 300]


def test_disagreement_onnxruntime_needs_output_padding_below_stride():
    """The spec allows output_padding < max(stride, dilation); ORT also wants < stride."""
    x, w = np.ones((1, 1, 3), np.float32), np.ones((1, 1, 3), np.float32)
    assert onnx_conv_transpose(x, w, strides=[2], dilations=[3],
                               output_padding=[2]).shape[-1] == 13
    with pytest.raises(Exception, match="output_padding"):
        run_ort("ConvTranspose", [x, w], strides=[2], dilations=[3], output_padding=[2])


def test_output_shape_overrides_pads_like_onnxruntime():
    x, w = np.array([[[1.0, 2.0, 3.0]]], np.float32), np.ones((1, 1, 3), np.float32)
    expected = run_ort("ConvTranspose", [x, w], strides=[2], pads=[2, 0], output_shape=[6])
    got = onnx_conv_transpose(x, w, strides=[2], pads=[2, 0], output_shape=[6])
    assert got.tolist() == expected.tolist()


def test_onnxruntime_conv_has_no_dilation_with_same_auto_pad():
    """ORT's Conv refuses dilations with SAME_UPPER/SAME_LOWER; the spec and deconvkit don't."""
    x, w = np.ones((1, 1, 5), np.float32), np.ones((1, 1, 2), np.float32)
    assert onnx_conv(x, w, auto_pad="SAME_UPPER", dilations=[2]).ravel().tolist() == \
        [1, 2, 2, 2, 1]
    with pytest.raises(Exception, match="Dilation not supported"):
        run_ort("Conv", [x, w], auto_pad="SAME_UPPER", dilations=[2])
