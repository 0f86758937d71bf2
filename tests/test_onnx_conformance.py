"""Every ConvTranspose and Conv node test case that the ``onnx`` package ships passes.

Inputs, attributes and expected outputs come from
``onnx.backend.test.case.node.collect_testcases()``; the node's attributes are handed to
:func:`onnx_conv_transpose` / :func:`onnx_conv` unchanged.
"""

import warnings

import numpy as np
import pytest

from deconvkit.conventions import onnx_conv, onnx_conv_transpose

onnx = pytest.importorskip("onnx")
PREFIXES = ("test_convtranspose", "test_basic_conv_", "test_conv_with_")


def _load_cases():
    from onnx.backend.test.case.node import collect_testcases

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        cases = collect_testcases()
    return {c.name: c for c in cases if c.name.startswith(PREFIXES)}


CASES = _load_cases()


def test_the_expected_cases_are_shipped():
    """A guard: the loader found the node tests (17 in onnx 1.23) and no name is new to us."""
    names = set(CASES)
    assert {"test_convtranspose", "test_convtranspose_autopad_same", "test_convtranspose_pads",
            "test_convtranspose_output_shape", "test_convtranspose_group_2_image_3",
            "test_basic_conv_with_padding", "test_conv_with_autopad_same"} <= names
    assert len(names) >= 17


def _node(case):
    (node,) = case.model.graph.node
    return node


@pytest.mark.parametrize("name", sorted(CASES))
def test_node_case(name):
    case = CASES[name]
    node = _node(case)
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    if isinstance(attrs.get("auto_pad"), bytes):
        attrs["auto_pad"] = attrs["auto_pad"].decode()
    fn = {"ConvTranspose": onnx_conv_transpose, "Conv": onnx_conv}[node.op_type]
    for inputs, outputs in case.data_sets:
        (expected,) = outputs
        got = fn(*inputs, **attrs)
        assert got.shape == expected.shape
        assert got.dtype == expected.dtype
        np.testing.assert_allclose(got, expected, rtol=case.rtol, atol=case.atol)
