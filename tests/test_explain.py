"""The explainer: symbolic and numeric matrices, the seeds' worked examples, any geometry."""

import numpy as np
import pytest

import deconvkit as dk
from deconvkit.explain import (explain, fractional_input, make_spec, numeric_matrix,
                               symbolic_matrix, worked_examples)
from deconvkit.explain import matrices as explain_matrices
from deconvkit.explain import text as explain_text
from deconvkit.explain.render import grid, index_name, symbolic_array, vector
from deconvkit.explain.seeds import SEED_001_D, SEED_001_MASK
from deconvkit.functional import matrix as library_matrix
from deconvkit.geometry import ConvSpec

# Seed 002's V, written out by hand (1-based names), with the typo corrected.
V_EXPECTED = [
    ["w11", "w12", "0", "w21", "w22", "0", "0", "0", "0"],
    ["0", "w11", "w12", "0", "w21", "w22", "0", "0", "0"],
    ["0", "0", "0", "w11", "w12", "0", "w21", "w22", "0"],
    ["0", "0", "0", "0", "w11", "w12", "0", "w21", "w22"],
]

SPECS = [  # (input size, make_spec keyword arguments): 1-D, 2-D, 3-D, awkward geometry
    ((7,), dict(kernel_size=3, stride=2, padding=((1, 0),), dilation=2)),
    ((5,), dict(kernel_size=2, stride=3, padding=((0, 1),), output_padding=2)),
    ((4, 4), dict(kernel_size=3, stride=2, padding=1)),
    ((5, 6), dict(kernel_size=(2, 3), stride=(2, 1), padding=((1, 0), (0, 2)), dilation=(1, 2))),
    ((4, 3), dict(kernel_size=(3, 2), padding="same", stride=2)),
    ((6,), dict(kernel_size=3, padding=((4, 4),))),  # transposed padding crops
    ((3, 3, 3), dict(kernel_size=2, stride=(1, 2, 1), padding=(0, 1, 0))),
]


@pytest.fixture(scope="module")
def examples():
    return worked_examples()


def test_seed_001_result_is_printed(examples):
    y = dk.conv(SEED_001_D.reshape(1, 1, 4, 4), SEED_001_MASK[None, None]).ravel()
    assert y.tolist() == [12, 12, 10, 17]  # the seed's D^T C
    assert f"Dᵀ C = {vector(y)}" in examples
    e = y.reshape(1, 1, 2, 2)
    back = dk.conv_transpose(e, SEED_001_MASK[None, None]).ravel()
    assert f"E Cᵀ = {vector(back)}" in examples
    assert "MISMATCH" not in examples


def test_seed_001_matrix_is_16_by_4_and_transposed(examples):
    c = dk.conv_matrix(SEED_001_MASK[None, None], (1, 4, 4)).toarray()
    assert c.shape == (4, 16)
    assert "16 x 4 matrix" in examples and "conv_matrix *transposed*" in examples
    seed_c = numeric_matrix(make_spec((4, 4), 3), (4, 4), SEED_001_MASK).T
    assert SEED_001_D @ seed_c == pytest.approx([12, 12, 10, 17])


def test_seed_002_symbolic_matrix_entries():
    assert symbolic_matrix(make_spec((3, 3), 2), (3, 3), base=1) == V_EXPECTED
    assert symbolic_matrix(make_spec((3, 3), 2), (3, 3))[0][:5] == ["w00", "w01", "0", "w10",
                                                                    "w11"]


def _printed_matrix(text, header_start, n_rows):
    """Rows of the first labelled matrix whose header line starts with header_start."""
    lines = text.splitlines()
    top = next(i for i, line in enumerate(lines[:-1])
               if line.split()[:1] == [header_start] and "|" not in line and "|" in lines[i + 1])
    rows = [lines[top + 1 + i].split("|") for i in range(n_rows)]
    return [label.strip() for label, _ in rows], [body.split() for _, body in rows]


def test_seed_002_printed_v_is_corrected(examples):
    part = examples[examples.index("Worked example 2"):]
    labels, cells = _printed_matrix(part, "x11", 4)
    assert labels == ["z11", "z12", "z21", "z22"]
    assert cells == V_EXPECTED
    labels, cells = _printed_matrix(part, "z11", 9)
    assert cells == [list(col) for col in zip(*V_EXPECTED)]
    assert "seed:      w11 w12   0 w21 w21" in part  # the typo, shown once as such
    assert "the second one is" in part and "w_{2,2}" in part


@pytest.mark.parametrize("size, kw", SPECS)
def test_numeric_matrix_equals_conv_matrix(size, kw):
    spec = make_spec(size, **kw)
    w = np.random.default_rng(1).standard_normal(spec.kernel_size)
    want = dk.conv_matrix(w[None, None], (1,) + size, stride=spec.stride,
                          padding=spec.padding, dilation=spec.dilation).toarray()
    np.testing.assert_array_equal(numeric_matrix(spec, size, w), want)


@pytest.mark.parametrize("size, kw", SPECS)
def test_symbolic_matrix_names_the_numeric_taps(size, kw):
    spec = make_spec(size, **kw)
    taps = np.arange(1.0, np.prod(spec.kernel_size) + 1).reshape(spec.kernel_size)
    numeric = numeric_matrix(spec, size, taps)
    names = {name: i + 1.0 for i, name in enumerate(symbolic_array("w", spec.kernel_size).ravel())}
    symbolic = [[names.get(cell, 0.0) for cell in row] for row in symbolic_matrix(spec, size)]
    np.testing.assert_array_equal(symbolic, numeric)


@pytest.mark.parametrize("size, kw", SPECS)
def test_fractional_view_is_the_transposed_convolution(size, kw):
    spec = make_spec(size, **kw)
    m, t = spec.conv_output_size(size), spec.transpose_output_size(spec.conv_output_size(size))
    rng = np.random.default_rng(2)
    y, w = rng.standard_normal(m), rng.standard_normal(spec.kernel_size)
    padded = fractional_input(spec, y)[1]
    flipped = w[(slice(None, None, -1),) * spec.ndim]
    got = dk.conv(padded[None, None], flipped[None, None], dilation=spec.dilation)[0, 0]
    want = dk.conv_transpose(y[None, None], w[None, None], stride=spec.stride,
                             padding=spec.padding, dilation=spec.dilation,
                             output_padding=spec.output_padding)[0, 0]
    assert got.shape == t
    np.testing.assert_allclose(got, want, atol=1e-12)


def test_fractional_view_symbolic():
    spec = make_spec((4, 4), 3, stride=2, padding=1)
    inserted, padded = fractional_input(spec, symbolic_array("y", (2, 2)))
    assert inserted.tolist() == [["y00", "0", "y01"], ["0", "0", "0"], ["y10", "0", "y11"]]
    assert spec.transposed_padding() == ((1, 2), (1, 2)) and padded.shape == (6, 6)
    assert padded[1, 1] == "y00" and padded[3, 3] == "y11" and padded[0, 0] == "0"


def test_default_output_padding_gives_back_the_input_size():
    for size, kw in SPECS:
        kw = {k: v for k, v in kw.items() if k != "output_padding"}
        spec = make_spec(size, **kw)
        assert spec.transpose_output_size(spec.conv_output_size(size)) == size


@pytest.mark.parametrize("size, kw", SPECS)
def test_explain_runs_and_checks_pass(size, kw):
    text = explain(size, **kw)
    assert "MISMATCH" not in text and text.count(" ok (error") >= 4
    assert f"y = C x ({'x'.join(map(str, make_spec(size, **kw).conv_output_size(size)))})" in text


def test_explain_numeric_weights_are_printed():
    text = explain((3, 3), 2, weights=[1, 2, 3, 4])
    labels, cells = _printed_matrix(text, "x00", 4)
    want = dk.conv_matrix(np.array([[[[1.0, 2], [3, 4]]]]), (1, 3, 3)).toarray()
    np.testing.assert_array_equal(np.array(cells, dtype=float), want)
    assert "y00 = 1·x00 + 2·x01 + 3·x10 + 4·x11" in text


def test_large_matrices_are_summarized_unless_full():
    text = explain((8, 8), 3)
    assert "36 x 64 matrix; 324 of its 2304 entries are kernel taps" in text
    assert "use --full" in text and "x77" not in text
    full = explain((8, 8), 3, full=True)
    assert "x77" in full and "use --full" not in full


def test_grid_of_3d_array_shows_slices():
    text = grid(symbolic_array("x", (2, 2, 2)))
    assert "[1, :, :]" in text and "x111" in text


@pytest.mark.parametrize("kw, match", [
    (dict(input_size=(4, 4), kernel_size=(3, 3, 3)), "3 axes"),
    (dict(input_size=(4, 4), stride=0), "stride"),
    (dict(input_size=(2,), kernel_size=5), "no output"),
    (dict(input_size=(4, 4), weights=[1, 2]), "needs 9"),
    (dict(input_size=(4,), output_padding=1), "output_padding"),
])
def test_explain_rejects_bad_geometry(kw, match):
    with pytest.raises(ValueError, match=match):
        explain(**kw)


# ---------------------------------------------------------------------- boundary
@pytest.mark.parametrize("kw, words", [
    (dict(input_size=(100_000_000,)), ["the input x", "MAX_POSITIONS", "input_size"]),
    (dict(input_size=(3000, 3000)), ["the input x", "MAX_POSITIONS"]),
    (dict(input_size=(5,), kernel_size=2, dilation=2**31 - 1, padding=2**31 - 1),
     ["the conv output y", "MAX_POSITIONS"]),
    (dict(input_size=(1,), kernel_size=1, stride=2**31 - 1, padding=2**31 - 1),
     ["the zero-inserted y", "MAX_POSITIONS"]),
    (dict(input_size=(5,), kernel_size=1, stride=2**31 - 1, output_padding=2**31 - 2),
     ["the transposed output z", "MAX_POSITIONS"]),
    (dict(input_size=(1, 1), kernel_size=(1001, 1001), padding=500), ["the kernel"]),
    (dict(input_size=(300, 300), kernel_size=11), ["C would have", "MAX_PRODUCTS"]),
    (dict(input_size=(3000, 3000), full=True), ["the input x", "MAX_POSITIONS"]),
    (dict(input_size=(40, 40), full=True), ["full=True", "MAX_MATRIX_ENTRIES", "--full"]),
    (dict(input_size=(1,) * 17, kernel_size=1), ["at most 16 axes"]),
])
def test_explain_refuses_what_it_cannot_print_before_building_it(kw, words):
    with pytest.raises(ValueError, match="input_size") as info:
        explain(**kw)
    for word in words:
        assert word in str(info.value)


def test_explain_limits_are_the_documented_constants():
    assert explain_text.MAX_POSITIONS == 1_000_000 and explain_text.MAX_NDIM == 16
    assert explain_text.MAX_PRODUCTS == 10_000_000
    assert explain_text.MAX_MATRIX_ENTRIES == 1_000_000
    explain((30, 30), full=True)  # 784 x 900 entries: printed
    explain((1,) * 16, kernel_size=1)


def test_dense_matrices_are_bounded():
    spec = make_spec((1001,), 1)
    with pytest.raises(ValueError, match="MAX_MATRIX_ENTRIES"):
        numeric_matrix(spec, (1001,), [1.0])
    with pytest.raises(ValueError, match="MAX_MATRIX_ENTRIES"):
        symbolic_matrix(spec, (1001,))
    assert numeric_matrix(make_spec((1000,), 1), (1000,), [2.0]).shape == (1000, 1000)


def test_fractional_input_is_bounded_and_checks_its_rank():
    spec = ConvSpec(1, stride=2**31 - 1)
    with pytest.raises(ValueError, match="MAX_POSITIONS"):
        fractional_input(spec, np.ones(3))
    with pytest.raises(ValueError, match="spatial axes"):
        fractional_input(ConvSpec((2, 2)), np.ones(3))


@pytest.mark.parametrize("size, kw", [
    ((4,), dict(kernel_size=3, padding=800)),  # y large, the padded view small
    ((1,), dict(kernel_size=1, stride=5, padding=((2, 0),), output_padding=4)),  # crop > array
    ((5,), dict(stride=2**31 - 1)),
])
def test_explain_awkward_geometry_is_printed_and_checked(size, kw):
    text = explain(size, **kw)
    assert "MISMATCH" not in text and text.count(" ok (error") >= 4
    spec = make_spec(size, **kw)
    m = spec.conv_output_size(size)
    t = spec.transpose_output_size(m)
    for y in (np.arange(1.0, np.prod(m) + 1).reshape(m), symbolic_array("y", m)):
        inserted, padded = fractional_input(spec, y)
        assert padded.shape == tuple(a + e - 1 for a, e in zip(t, spec.kernel_extent))
        assert inserted.dtype == padded.dtype == y.dtype


@pytest.mark.parametrize("size, kw", SPECS)
def test_explain_draws_c_from_the_library_builder(size, kw, monkeypatch):
    """The explainer builds no C of its own: counting the library builder's calls."""
    calls = []
    build = library_matrix.build

    def counted(*args, **kwargs):
        calls.append(args[2])
        return build(*args, **kwargs)

    monkeypatch.setattr(explain_matrices, "build", counted)
    spec = make_spec(size, **kw)
    w = np.random.default_rng(3).standard_normal(spec.kernel_size)
    assert "MISMATCH" not in explain(size, weights=w.ravel(), **kw)
    assert size in calls
    calls.clear()
    numeric_matrix(spec, size, w)
    assert calls == [size]


def test_symbolic_array_names_match_index_name():
    for shape in [(3,), (12,), (3, 3), (3, 12), (2, 2, 2), (9, 9), (10, 10), (2, 0, 3)]:
        for base in (0, 1):
            names = symbolic_array("w", shape, base)
            assert names.shape == shape and names.dtype == object
            for idx in np.ndindex(*shape):
                assert names[idx] == index_name("w", idx, shape, base)
